// elementwise and reduce: ten 1000x1000 float32 kernels each, median ms per call and their
// geometric mean (torch_bench.elementwise, torch_bench.reduce); grain: the thread-split check.
import Ember

/// Median ms per call of each named kernel (warm-up, then timed calls), `<name>_ms` keys, and the
/// geometric mean of the medians as `value` (torch_bench._time_ops).
func timeKernels(_ ops: [(String, () -> Void)]) -> [String: Any] {
  var out: [String: Any] = ["unit": "ms/call, geometric mean (1000x1000 float32)"]
  var medians: [Double] = []
  let (_, foreign) = measuringForeignLoad {
    for (name, f) in ops {
      let ms = median(timeCalls(warmup: ewWarmup, iters: ewIters, f)) * 1e3
      out[name + "_ms"] = ms
      medians.append(ms)
    }
  }
  out["value"] = geometricMean(medians)
  out["kernels"] = ops.map(\.0)
  out["foreign_cpu"] = orNull(foreign)
  return out
}

func elementwiseWorkload() -> [String: Any] {
  let g = Generator(seed: UInt64(seed))
  let a = Tensor.randn([ewN, ewN], generator: g)
  let b = Tensor.randn([ewN, ewN], generator: g)
  let row = Tensor.randn([ewN], generator: g)
  let at = a.t()
  return timeKernels([
    ("add", { _ = a + b }), ("mul", { _ = a * b }), ("mul_scalar", { _ = a * 2.0 }),
    ("exp", { _ = a.exp() }), ("relu", { _ = a.relu() }), ("sigmoid", { _ = a.sigmoid() }),
    ("tanh", { _ = a.tanh() }), ("add_broadcast_row", { _ = a + row }),
    ("add_transposed", { _ = at + b }), ("where", { _ = Tensor.where(a .> 0, a, b) }),
  ])
}

func reduceWorkload() -> [String: Any] {
  let g = Generator(seed: UInt64(seed))
  let a = Tensor.randn([ewN, ewN], generator: g)
  return timeKernels([
    ("sum", { _ = a.sum() }), ("sum_dim0", { _ = a.sum(dim: 0) }),
    ("sum_dim1", { _ = a.sum(dim: 1) }), ("mean_dim1", { _ = a.mean(dim: 1) }),
    ("max_dim1", { _ = a.max(dim: 1) }), ("argmax", { _ = a.argmax() }),
    ("var_dim1", { _ = a.var(dim: 1) }), ("softmax_dim1", { _ = a.softmax(dim: 1) }),
    ("log_softmax_dim1", { _ = a.logSoftmax(dim: 1) }), ("norm", { _ = a.norm() }),
  ])
}

/// a + b and a.exp() on float32 vectors of several sizes (us per call), to check the grain size
/// (compare runs with EMBER_NUM_THREADS=1 and 2). Not part of `all`; Ember only.
func grainWorkload() -> [String: Any] {
  var out: [String: Any] = ["unit": "us/call"]
  for n in [8_192, 32_768, 65_536, 131_072, 262_144, 1_048_576] {
    let a = Tensor.randn([n])
    let b = Tensor.randn([n])
    let iters = max(50, 20_000_000 / n)
    out["add_\(n)_us"] = median(timeCalls(warmup: 20, iters: iters) { _ = a + b }) * 1e6
    out["exp_\(n)_us"] = median(timeCalls(warmup: 20, iters: iters) { _ = a.exp() }) * 1e6
  }
  out["value"] = out["add_1048576_us"]
  return out
}
