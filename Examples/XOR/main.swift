// ember-xor: the seeds' XOR problem (seed 002) two ways, printing the predictions.
// 1. By hand with tensors: a linear model w x + b fitted with gradients and a manual update,
//    which cannot separate XOR (its loss stays at 0.25).
// 2. With nn + optim: Sequential(Linear(2, 8), Tanh(), Linear(8, 1)) trained with Adam, which
//    solves it. Both use manualSeed(0), so the numbers equal PyTorch's for the same script.
import EmberNN
import EmberOptim

let x = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype: .float32)
let y = Tensor([[0], [1], [1], [0]], dtype: .float32)

func predictions(_ t: Tensor) -> String {
  t.flatten().toArray().map { String(format4($0)) }.joined(separator: ", ")
}

func format4(_ v: Double) -> String {
  let r = (v * 10_000).rounded() / 10_000
  return "\(r)"
}

do {
  // by hand: tensors, backward, an update under no-grad
  manualSeed(0)
  let w = try Tensor.randn(1, 2).setRequiresGrad()
  let b = try Tensor.randn(1).setRequiresGrad()
  var loss = Tensor(0.0)
  for _ in 0..<1000 {
    loss = ((x.matmul(w.t()) + b - y) ** 2).mean()
    try loss.backward()
    try withNoGrad {
      try w.subInPlace(0.01 * w.grad!)
      try b.subInPlace(0.01 * b.grad!)
    }
    w.grad = nil
    b.grad = nil
  }
  let out = withNoGrad { x.matmul(w.t()) + b }
  print("linear by hand: loss \(format4(loss.item())), predictions [\(predictions(out))]")

  // nn + optim
  manualSeed(0)
  let net = Sequential(Linear(2, 8), Tanh(), Linear(8, 1))
  let opt = Adam(net.parameters(), lr: 0.05)
  for _ in 0..<500 {
    loss = F.mseLoss(net(x), y)
    opt.zeroGrad()
    try loss.backward()
    try opt.step()
  }
  let mlp = withNoGrad { net(x) }
  print("mlp with Adam: loss \(format4(loss.item())), predictions [\(predictions(mlp))]")
  print("mlp rounded: [\(predictions(mlp.round()))]")
} catch {
  print("ember-xor: error: \(error)")
}
