// Ember's side of the peer benchmarks (../shared/bench/torch_bench.py is PyTorch's side).
//
// usage: swift run -c release ember-bench [scalar|matmul|elementwise|reduce|all]
//
// Prints one JSON line per workload (lib, workload, value, unit, stats, foreign_cpu, ...). When
// `python3 -c "import torch"` works, PyTorch's figure for the same workload is measured in the same
// run and printed as a second JSON line, followed by a `ratio` line (torch time / ember time, so
// above 1 means Ember is faster). Sizes and iteration counts follow ../shared/bench/common.py.
import Dispatch
import Ember
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - shared settings (as common.py)

let w1Iters = Int(ProcessInfo.processInfo.environment["PEER_W1_ITERS"] ?? "") ?? 20_000
let w1Repeats = 5
let mmSizes = [1024, 256]
let mmWarmup = 3
let mmIters = 20
let benchDir: String = {
  if let d = ProcessInfo.processInfo.environment["EMBER_TORCH_BENCH_DIR"] { return d }
  // the shared folder sits beside the repository (../shared/bench)
  let cwd = FileManager.default.currentDirectoryPath
  return URL(fileURLWithPath: cwd).deletingLastPathComponent().appendingPathComponent(
    "shared/bench"
  ).path
}()

// MARK: - timing helpers

func now() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func processCPU() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Busy CPU-seconds of all cores from /proc/stat (nil where unavailable).
func systemBusy() -> Double? {
  guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
    let line = text.split(separator: "\n").first
  else { return nil }
  let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
  guard v.count >= 5 else { return nil }
  let idle = v[3] + v[4]
  return (v.prefix(8).reduce(0, +) - idle) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Share of the machine's cores other processes used while `body` ran (as common.LoadMonitor).
func measuringForeignLoad<R>(_ body: () throws -> R) rethrows -> (R, Double?) {
  let t0 = now()
  let b0 = systemBusy()
  let o0 = processCPU()
  let r = try body()
  let wall = now() - t0
  let o1 = processCPU()
  guard let b0, let b1 = systemBusy(), wall > 0 else { return (r, nil) }
  let ncpu = Double(ProcessInfo.processInfo.activeProcessorCount)
  return (r, max(0, ((b1 - b0) - (o1 - o0)) / (wall * ncpu)))
}

func stats(_ xs: [Double]) -> [String: Any] {
  let s = xs.sorted()
  let n = s.count
  let median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
  func q(_ p: Double) -> Double { s[min(n - 1, max(0, Int((p * Double(n - 1)).rounded())))] }
  return [
    "median": round4(median), "min": round4(s[0]), "max": round4(s[n - 1]), "p10": round4(q(0.1)),
    "p90": round4(q(0.9)), "n": n,
  ]
}

func median(_ xs: [Double]) -> Double { (stats(xs)["median"] as! Double) }

func round4(_ x: Double) -> Double {
  guard x.isFinite, x != 0 else { return x }
  let digits = 4 - Int(floor(log10(abs(x)))) - 1
  let scale = pow(10.0, Double(digits))
  return (x * scale).rounded() / scale
}

func loadAverage() -> Double {
  var l = [Double](repeating: 0, count: 3)
  _ = getloadavg(&l, 3)
  return round4(l[0])
}

/// Prints one JSON line (keys sorted for stable output).
func emit(_ workload: String, _ result: [String: Any]) {
  var out: [String: Any] = [
    "lib": "ember", "workload": workload, "threads": Parallel.threadCount,
    "matmul_backend": matmulBackend.description, "loadavg1": loadAverage(),
  ]
  for (k, v) in result { out[k] = v }
  let data = try! JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
  print(String(decoding: data, as: UTF8.self))
  fflush(nil)
}

/// Times `body` `iters` times after `warmup` runs; returns per-call seconds.
func timeCalls(warmup: Int, iters: Int, _ body: () -> Void) -> [Double] {
  for _ in 0..<warmup { body() }
  var ts: [Double] = []
  ts.reserveCapacity(iters)
  for _ in 0..<iters {
    let t0 = now()
    body()
    ts.append(now() - t0)
  }
  return ts
}

// MARK: - workloads

/// The seed tutorials' scalar loop: y = x*x + 2x + 3, backward, read and zero the grad.
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
    "value": round4(median(us)), "unit": "us/iter", "stats": stats(us), "iters": n,
    "repeats": w1Repeats, "grad_check_value": runs.last!.1, "variant_grad_none_us": round4(noneUs),
    "foreign_cpu": foreign.map(round4) as Any,
  ]
}

/// C = A @ B, C.sum().backward() for float32 n x n; GFLOP/s counts 6 n^3 per forward+backward.
/// Runs with the backend chosen by EMBER_BLAS (the parent runs one child per backend).
func matmulOneBackend() -> [String: Any] {
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
      let nn = Double(n)
      out["gflops_\(n)"] = round4(6 * nn * nn * nn / median(ts) / 1e9)
      out["ms_\(n)"] = stats(ts.map { $0 * 1e3 })
      let fwd = withNoGrad { timeCalls(warmup: mmWarmup, iters: mmIters) { _ = a.matmul(b) } }
      out["fwd_only_gflops_\(n)"] = round4(2 * nn * nn * nn / median(fwd) / 1e9)
    }
  }
  out["value"] = out["gflops_1024"]
  out["foreign_cpu"] = foreign.map(round4) as Any
  out["blas_library"] = MatmulBackend.blasLibraryName ?? "none"
  return out
}

/// Runs this executable again with extra environment variables and returns its JSON lines.
func runChild(_ args: [String], env: [String: String]) -> [[String: Any]] {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
  if !FileManager.default.isExecutableFile(atPath: p.executableURL!.path) {
    p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
  }
  p.arguments = args
  var e = ProcessInfo.processInfo.environment
  for (k, v) in env { e[k] = v }
  p.environment = e
  return collectJSON(p)
}

func collectJSON(_ p: Process) -> [[String: Any]] {
  let pipe = Pipe()
  p.standardOutput = pipe
  do { try p.run() } catch {
    FileHandle.standardError.write(
      "could not run \(p.executableURL?.path ?? "?"): \(error)\n".data(using: .utf8)!)
    return []
  }
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
  }
}

/// matmul with the native GEMM and with the system BLAS (each in a child process, since the
/// backend is fixed per process by EMBER_BLAS).
func matmulWorkload() -> [String: Any] {
  var out: [String: Any] = ["unit": "GFLOP/s (6n^3 per fwd+bwd)"]
  for backend in ["native", "blas"] {
    guard let r = runChild(["_matmul-child"], env: ["EMBER_BLAS": backend]).first else { continue }
    for (k, v) in r where k.hasPrefix("gflops_") || k.hasPrefix("fwd_only_") {
      out["\(backend)_\(k)"] = v
    }
    out["\(backend)_foreign_cpu"] = r["foreign_cpu"]
    if backend == "blas" { out["blas_library"] = r["blas_library"] }
  }
  out["value"] = out["blas_gflops_1024"] ?? out["native_gflops_1024"]
  return out
}

let elementwiseSize = [1000, 1000]
let elementwiseIters = 200

/// a + b, a * b, a.exp() and a * 2 on contiguous 1000x1000 float32 tensors (ms per call).
func elementwiseWorkload() -> [String: Any] {
  let a = Tensor.randn(elementwiseSize)
  let b = Tensor.randn(elementwiseSize)
  var out: [String: Any] = ["unit": "ms/call (1000x1000 float32)"]
  let (_, foreign) = measuringForeignLoad {
    out["add_ms"] = round4(
      median(timeCalls(warmup: 10, iters: elementwiseIters) { _ = a + b }) * 1e3)
    out["mul_ms"] = round4(
      median(timeCalls(warmup: 10, iters: elementwiseIters) { _ = a * b }) * 1e3)
    out["exp_ms"] = round4(
      median(timeCalls(warmup: 10, iters: elementwiseIters) { _ = a.exp() }) * 1e3)
    out["mul_scalar_ms"] = round4(
      median(timeCalls(warmup: 10, iters: elementwiseIters) { _ = a * 2.0 }) * 1e3)
  }
  out["value"] = out["add_ms"]
  out["foreign_cpu"] = foreign.map(round4) as Any
  return out
}

/// sum() and sum(dim: 1) of a contiguous 1000x1000 float32 tensor (ms per call).
func reduceWorkload() -> [String: Any] {
  let a = Tensor.randn(elementwiseSize)
  var out: [String: Any] = ["unit": "ms/call (1000x1000 float32)"]
  let (_, foreign) = measuringForeignLoad {
    out["sum_ms"] = round4(
      median(timeCalls(warmup: 10, iters: elementwiseIters) { _ = a.sum() }) * 1e3)
    out["sum_dim1_ms"] = round4(
      median(timeCalls(warmup: 10, iters: elementwiseIters) { _ = a.sum(dim: 1) }) * 1e3)
    out["sum_dim0_ms"] = round4(
      median(timeCalls(warmup: 10, iters: elementwiseIters) { _ = a.sum(dim: 0) }) * 1e3)
  }
  out["value"] = out["sum_ms"]
  out["foreign_cpu"] = foreign.map(round4) as Any
  return out
}

/// a + b and a.exp() on float32 vectors of several sizes (us per call), to check the grain size
/// (compare runs with EMBER_NUM_THREADS=1 and 2).
func grainWorkload() -> [String: Any] {
  var out: [String: Any] = ["unit": "us/call"]
  for n in [8_192, 32_768, 65_536, 131_072, 262_144, 1_048_576] {
    let a = Tensor.randn([n])
    let b = Tensor.randn([n])
    let iters = max(50, 20_000_000 / n)
    out["add_\(n)_us"] = round4(median(timeCalls(warmup: 20, iters: iters) { _ = a + b }) * 1e6)
    out["exp_\(n)_us"] = round4(median(timeCalls(warmup: 20, iters: iters) { _ = a.exp() }) * 1e6)
  }
  out["value"] = out["add_1048576_us"]
  return out
}

// MARK: - PyTorch side

let torchAvailable: Bool = {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  p.arguments = ["python3", "-c", "import torch"]
  p.standardOutput = FileHandle.nullDevice
  p.standardError = FileHandle.nullDevice
  guard (try? p.run()) != nil else { return false }
  p.waitUntilExit()
  return p.terminationStatus == 0
}()

/// PyTorch timing of the elementwise and reduce workloads (torch_bench.py has no such workloads),
/// with the same sizes, iterations and 2 threads.
let torchInlineScript = """
  import sys, time, json, statistics, torch
  torch.set_num_threads(2)
  w = sys.argv[1]
  a = torch.randn(1000, 1000); b = torch.randn(1000, 1000)
  def t(f, iters=200, warm=10):
      for _ in range(warm): f()
      ts = []
      for _ in range(iters):
          t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
      return round(statistics.median(ts) * 1e3, 5)
  if w == 'elementwise':
      r = {'add_ms': t(lambda: a + b), 'mul_ms': t(lambda: a * b), 'exp_ms': t(lambda: a.exp()),
           'mul_scalar_ms': t(lambda: a * 2.0)}
      r['value'] = r['add_ms']
  else:
      r = {'sum_ms': t(lambda: a.sum()), 'sum_dim1_ms': t(lambda: a.sum(dim=1)),
           'sum_dim0_ms': t(lambda: a.sum(dim=0))}
      r['value'] = r['sum_ms']
  r.update({'lib': 'torch', 'version': torch.__version__, 'workload': w, 'threads': 2,
            'unit': 'ms/call (1000x1000 float32)'})
  print(json.dumps(r))
  """

func runTorch(_ workload: String) -> [String: Any]? {
  guard torchAvailable else { return nil }
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  if workload == "elementwise" || workload == "reduce" {
    p.arguments = ["python3", "-c", torchInlineScript, workload]
  } else {
    p.arguments = ["python3", "\(benchDir)/torch_bench.py", workload]
    p.currentDirectoryURL = URL(fileURLWithPath: benchDir)
  }
  return collectJSON(p).last
}

/// torch / ember for every shared key: times (ms, us) give torch_time/ember_time, rates (GFLOP/s)
/// give ember_rate/torch_rate, so above 1 always means Ember is faster.
func ratios(_ workload: String, ember: [String: Any], torch: [String: Any]) -> [String: Any] {
  var out: [String: Any] = [
    "lib": "ratio", "workload": workload, "meaning": "torch/ember speed (>1: Ember faster)",
  ]
  if workload == "matmul" {
    for n in mmSizes {
      guard let t = torch["gflops_\(n)"] as? Double else { continue }
      for backend in ["native", "blas"] {
        if let e = ember["\(backend)_gflops_\(n)"] as? Double {
          out["\(backend)_gflops_\(n)"] = round4(e / t)
        }
      }
    }
    return out
  }
  for (k, v) in ember {
    guard k == "value" || k.hasSuffix("_ms") || k.hasSuffix("_us"), let e = v as? Double,
      let t = torch[k] as? Double, e > 0
    else { continue }
    out[k] = round4(t / e)
  }
  return out
}

// MARK: - main

let workloads: [(String, () -> [String: Any])] = [
  ("scalar", scalarWorkload), ("matmul", matmulWorkload), ("elementwise", elementwiseWorkload),
  ("reduce", reduceWorkload), ("grain", grainWorkload),
]

let args = Array(CommandLine.arguments.dropFirst())
if args.first == "_matmul-child" {
  emit("matmul", matmulOneBackend())
  exit(0)
}
let wanted =
  args.isEmpty || args.first == "all" ? workloads.map(\.0).filter { $0 != "grain" } : args
let noTorch = ProcessInfo.processInfo.environment["EMBER_BENCH_NO_TORCH"] != nil
for name in wanted {
  guard let (_, run) = workloads.first(where: { $0.0 == name }) else {
    FileHandle.standardError.write(
      "usage: ember-bench [\(workloads.map(\.0).joined(separator: "|"))|all]\n".data(using: .utf8)!)
    exit(2)
  }
  let ember = run()
  emit(name, ember)
  if !noTorch, let torch = runTorch(name) {
    let data = try! JSONSerialization.data(withJSONObject: torch, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    let r = ratios(name, ember: ember, torch: torch)
    print(
      String(
        decoding: try! JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]),
        as: UTF8.self))
    fflush(nil)
  }
}
