// matmul: C = A @ B, C.sum().backward() for float32 n x n, GFLOP/s counting 6 n^3 per
// forward+backward (torch_bench.matmul), once per GEMM backend (each in a child process:
// EMBER_BLAS fixes the backend per process), against numpy's OpenBLAS sgemm ceiling.
import Ember

/// One backend, in this process.
func matmulOneBackend() -> [String: Any] {
  _ = manualSeed(UInt64(seed))  // torch_bench seeds the default generator at import
  var out: [String: Any] = ["unit": "GFLOP/s (6n^3 per fwd+bwd)"]
  let (_, foreign) = measuringForeignLoad {
    for n in mmSizes {
      let a = try! Tensor.randn([n, n]).setRequiresGrad()
      let b = try! Tensor.randn([n, n]).setRequiresGrad()
      let ts = timeCalls(warmup: mmWarmup, iters: mmIters) {
        a.grad = nil
        b.grad = nil
        let c = a.matmul(b)
        try! c.sum().backward()
      }
      let flop = Double(n * n * n)
      out["gflops_\(n)"] = 6 * flop / median(ts) / 1e9
      out["ms_\(n)"] = stats(ts.map { $0 * 1e3 })
      // sanity variant: backward with a random upstream gradient
      let grad = Tensor.randn([n, n])
      let tr = timeCalls(warmup: mmWarmup, iters: mmIters) {
        a.grad = nil
        b.grad = nil
        try! a.matmul(b).backward(gradient: grad)
      }
      out["randgrad_gflops_\(n)"] = 6 * flop / median(tr) / 1e9
      let fwd = withNoGrad { timeCalls(warmup: mmWarmup, iters: mmIters) { _ = a.matmul(b) } }
      out["fwd_only_gflops_\(n)"] = 2 * flop / median(fwd) / 1e9
    }
  }
  out["value"] = out["gflops_1024"]
  out["foreign_cpu"] = orNull(foreign)
  out["blas_library"] = MatmulBackend.blasLibraryName ?? "none"
  return out
}

/// numpy's float32 2048^3 matmul (its bundled OpenBLAS, 2 threads, OPENBLAS_CORETYPE unset so
/// OpenBLAS picks its native kernels): median GFLOP/s of 10 calls after 3 warm-up calls.
let sgemmCeilingScript = """
  import json, os, time, statistics
  import numpy as np
  n = 2048
  r = np.random.RandomState(0)
  a = r.rand(n, n).astype(np.float32); b = r.rand(n, n).astype(np.float32)
  for _ in range(3): a @ b
  ts = []
  for _ in range(10):
      t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
  cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
  blas = cfg.get("Build Dependencies", {}).get("blas", {}) if isinstance(cfg, dict) else {}
  print(json.dumps({"gflops": 2 * n ** 3 / statistics.median(ts) / 1e9, "n": n,
                    "numpy": np.__version__, "blas": blas.get("name", "?"),
                    "blas_version": blas.get("version", "?")}))
  """

func sgemmCeiling() -> [String: Any]? {
  guard numpyAvailable else { return nil }
  let threads = environment["PEER_THREADS"] ?? "2"
  let r = spawn(
    ["python3", "-c", sgemmCeilingScript],
    env: ["OPENBLAS_CORETYPE": nil, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads])
  return r?.lines.last
}

/// Both backends and the ceiling; `value` is the best backend's 1024 figure.
func matmulWorkload() -> [String: Any] {
  var out: [String: Any] = ["unit": "GFLOP/s (6n^3 per fwd+bwd)"]
  let ceiling = sgemmCeiling()
  if let ceiling {
    out["sgemm_ceiling_gflops"] = ceiling["gflops"]
    out["sgemm_ceiling"] =
      "numpy \(ceiling["numpy"] ?? "?") \(ceiling["blas"] ?? "?") \(ceiling["blas_version"] ?? "") sgemm 2048^3, same run"
  }
  var best: Double?
  for backend in ["native", "blas"] {
    guard
      let r = spawn([selfExecutable, "_matmul-child"], env: ["EMBER_BLAS": backend])?.lines.last
    else { continue }
    guard (r["matmul_backend"] as? String) == backend else {
      out["\(backend)_unavailable"] = "EMBER_BLAS=\(backend) ran \(r["matmul_backend"] ?? "?")"
      continue
    }
    for (k, v) in r
    where k.hasPrefix("gflops_") || k.hasPrefix("fwd_only_") || k.hasPrefix("randgrad_") {
      out["\(backend)_\(k)"] = v
    }
    out["\(backend)_foreign_cpu"] = r["foreign_cpu"]
    if backend == "blas" { out["blas_library"] = r["blas_library"] }
    if let g = r["gflops_1024"] as? Double {
      best = max(best ?? 0, g)
      if let c = ceiling?["gflops"] as? Double { out["\(backend)_ceiling_fraction"] = g / c }
    }
  }
  out["value"] = orNull(best)
  return out
}
