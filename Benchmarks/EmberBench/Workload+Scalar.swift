// scalar: the seed tutorials' loop y = x*x + 2x + 3, backward, read and zero the grad
// (torch_bench.scalar).
import Ember

func scalarWorkload() -> [String: Any] {
  let x = try! Tensor(1.0, requiresGrad: true)
  let n = w1Iters
  func loop() -> (Double, Double) {
    var g = 0.0
    let t0 = now()
    for _ in 0..<n {
      let y = x * x + 2 * x + 3
      try! y.backward()
      g = x.grad!.item()
      try! x.grad!.zero()
    }
    return ((now() - t0) / Double(n) * 1e6, g)
  }
  _ = loop()
  let (runs, foreign) = measuringForeignLoad { (0..<w1Repeats).map { _ in loop() } }
  precondition(abs(runs.last!.1 - 4) < 1e-6, "scalar: wrong gradient \(runs.last!.1)")
  // variant: grad = nil instead of zero() (what optimizer.zeroGrad() does by default)
  func loopNone() -> Double {
    let t0 = now()
    for _ in 0..<n {
      let y = x * x + 2 * x + 3
      try! y.backward()
      _ = x.grad!.item()
      x.grad = nil
    }
    return (now() - t0) / Double(n) * 1e6
  }
  _ = loopNone()
  let noneUs = median((0..<3).map { _ in loopNone() })
  let us = runs.map(\.0)
  return [
    "value": median(us), "unit": "us/iter", "stats": stats(us), "iters": n,
    "repeats": w1Repeats, "grad_check_value": runs.last!.1, "variant_grad_none_us": noneUs,
    "foreign_cpu": orNull(foreign),
  ]
}
