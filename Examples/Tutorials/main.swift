import Ember

do {
  let x = try Tensor(1.0, requiresGrad: true)
  let y = x ** 2 + 2 * x + 3
  try y.backward()
  print(x.grad!, y)
  let a = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
  let b = a ** 2 + 2 * a + 5
  print(b)
  let s = b.sum()
  try s.backward()
  print(a.grad!)
  let m = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
  let z = (m ** 2 + 3 * m + 5).mean()
  try z.backward()
  print(m.grad!)
  // double backward
  let p = try Tensor(2.0, requiresGrad: true)
  let q = p ** 3
  let g = try grad(of: q, withRespectTo: p, createGraph: true)
  let g2 = try grad(of: g, withRespectTo: p)
  print(g, g2)
  // in-place error
  let c = try Tensor([1.0, 2.0], requiresGrad: true)
  let d = c * 2
  let e = d ** 2
  try d.addInPlace(Tensor(1.0))
  do { try e.sum().backward() } catch { print("error:", error) }
  // views and in-place
  let mm = try Tensor([2.0, 3.0], requiresGrad: true)
  let n = Tensor.zeros([2])
  try n.select(0, 0).copy(from: mm.select(0, 0) ** 2)
  try n.select(0, 1).copy(from: mm.select(0, 1) ** 3)
  try n.backward(gradient: Tensor([1.0, 1.0]))
  print(mm.grad!, n)
  // long chain
  var t = try Tensor(1.0, requiresGrad: true)
  let leaf = t
  for _ in 0..<100_000 { t = t * 1.0 }
  try t.backward()
  print(leaf.grad!)
  print(Tensor.eye(3), Tensor.arange(5), Tensor([[1.5, 2.25], [3, 4]], dtype: .float64))
} catch {
  print("error: \(error)")
}
