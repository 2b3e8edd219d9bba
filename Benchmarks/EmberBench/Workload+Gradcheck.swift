// gradcheck: finite-difference check of (x @ w).tanh().sum() for float64 x 8x16, w 16x4
// (torch_bench.gradcheck).
import Ember

func gradcheckWorkload() -> [String: Any] {
  let g = Generator(seed: UInt64(seed))
  let x = try! Tensor.randn([8, 16], dtype: .float64, generator: g).setRequiresGrad()
  let w = try! Tensor.randn([16, 4], dtype: .float64, generator: g).setRequiresGrad()
  let f: ([Tensor]) throws -> Tensor = { ($0[0].matmul($0[1])).tanh().sum() }
  for _ in 0..<3 { precondition(try! gradcheck(f, inputs: [x, w]), "gradcheck failed") }
  var ok = true
  var ts: [Double] = []
  let (_, foreign) = measuringForeignLoad {
    for _ in 0..<20 {
      let t0 = now()
      ok = (try? gradcheck(f, inputs: [x, w])) ?? false
      ts.append((now() - t0) * 1e3)
    }
  }
  return [
    "value": median(ts), "unit": "ms/gradcheck", "stats": stats(ts), "passed": ok,
    "fn": "(x@w).tanh().sum(), x 8x16, w 16x4, float64", "foreign_cpu": orNull(foreign),
  ]
}
