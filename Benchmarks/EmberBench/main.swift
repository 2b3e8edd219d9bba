// ember-bench: Ember's side of the PyTorch benchmarks, PyTorch's side run in the same process
// tree (Benchmarks/pytorch/torch_bench.py, the project's copy of ../shared/bench).
//
// usage: swift run -c release ember-bench [WORKLOAD ...|all]
//        ember-bench summarize FILE...   (the summary table from saved JSON lines)
//
// Workloads as torch_bench.py: scalar mlp cnn matmul mnist gradcheck elementwise reduce lstm;
// also `grain` (thread-split check, Ember only), `layers` (per-layer forward and backward times
// of the cnn and mlp models, Ember only) and `randomcheck` (the numpy RandomState port
// against numpy). Each prints Ember's JSON line; when `python3 -c "import torch"` works and
// EMBER_BENCH_NO_TORCH is unset, then PyTorch's line for the same workload and a `ratio` line:
// Ember's cost / PyTorch's cost, below 1 = Ember faster. `all` runs each workload's Ember side in
// a child process of its own (so one workload's memory does not count in the next) and ends with
// the summary table in Markdown. `EMBER_BENCH_ROUNDS=N` runs each workload N times on each side,
// alternating, and compares each side's best round (see `rounds` below).
import Ember

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#endif

nonisolated(unsafe) let workloads: [(String, () -> [String: Any])] = [
  ("scalar", scalarWorkload), ("mlp", mlpWorkload), ("cnn", cnnWorkload),
  ("matmul", matmulWorkload), ("mnist", mnistWorkload), ("gradcheck", gradcheckWorkload),
  ("elementwise", elementwiseWorkload), ("reduce", reduceWorkload), ("lstm", lstmWorkload),
  ("grain", grainWorkload), ("randomcheck", randomCheckWorkload), ("layers", layersWorkload),
]
/// The workloads torch_bench.py has, in its order (what `all` runs).
let torchWorkloads = [
  "scalar", "mlp", "cnn", "matmul", "mnist", "gradcheck", "elementwise", "reduce", "lstm",
]
let noTorch = environment["EMBER_BENCH_NO_TORCH"].map { !$0.isEmpty && $0 != "0" } ?? false

/// PyTorch's line for `workload` from the project's script, with its process's peak memory.
func runTorch(_ workload: String) -> [String: Any]? {
  guard !noTorch, torchAvailable, torchWorkloads.contains(workload) else { return nil }
  guard let r = spawn(["python3", "\(torchBenchDir)/torch_bench.py", workload]),
    var line = r.lines.last
  else { return nil }
  line["peak_rss_mb"] = round4(r.peakRSSMegabytes)
  line["peak_rss_source"] = "wait4 ru_maxrss of the python process"
  return line
}

/// Ember's line for `workload`: in this process, or in a child process of its own.
func runEmber(_ workload: String, inChild: Bool) -> [String: Any] {
  if !inChild, let (_, run) = workloads.first(where: { $0.0 == workload }) {
    return emberLine(workload, run())
  }
  // the child runs the workload once: with the parent's EMBER_BENCH_ROUNDS it ran every round
  // in one process and reported the last, whose memory included the earlier round's buffers
  guard
    let r = spawn(
      [selfExecutable, workload], env: ["EMBER_BENCH_NO_TORCH": "1", "EMBER_BENCH_ROUNDS": "1"]),
    var line = r.lines.last(where: { ($0["lib"] as? String) == "ember" })
  else {
    return emberLine(workload, ["status": "error", "reason": "the child process failed"])
  }
  line["process_peak_rss_mb"] = round4(r.peakRSSMegabytes)
  return line
}

/// Rounds per workload (`EMBER_BENCH_ROUNDS`, default 1). This VM's speed drifts by up to 40%
/// within minutes, so one Ember run and one PyTorch run a minute apart can land in different
/// phases; with N rounds the two sides alternate (Ember, PyTorch, Ember, ...) and the ratio is
/// taken between each side's best round (lowest cost; for matmul each figure's best round, see
/// ``bestMatmulRounds``). Every round's lines are printed.
let rounds = max(1, Int(environment["EMBER_BENCH_ROUNDS"] ?? "") ?? 1)

/// The better of two lines of one side: the lower `value` (a cost), or for matmul the higher
/// GFLOP/s (Ember's lines: ``bestMatmulRounds``); a line without a value loses.
func better(_ a: [String: Any]?, _ b: [String: Any]?, workload: String) -> [String: Any]? {
  guard let a else { return b }
  guard let b else { return a }
  if workload == "matmul" && (a["lib"] as? String) == "ember" { return bestMatmulRounds(a, b) }
  let key = "value"
  guard let x = a[key] as? Double else { return b }
  guard let y = b[key] as? Double else { return a }
  return (workload == "matmul" ? y > x : y < x) ? b : a
}

/// Ember's matmul over two rounds: each figure from its best round (the highest native and BLAS
/// GFLOP/s, and the highest sgemm ceiling, which every round measures again) and the fractions
/// from those. Taking the round with the highest fraction instead rewarded a round whose
/// ceiling measurement was slowed: 1.7 "of the ceiling" against a ceiling of 106.8 GFLOP/s
/// where the other rounds measured 190.
func bestMatmulRounds(_ a: [String: Any], _ b: [String: Any]) -> [String: Any] {
  var out = ((b["value"] as? Double) ?? 0) > ((a["value"] as? Double) ?? 0) ? b : a
  let ceiling = [a, b].compactMap { $0["sgemm_ceiling_gflops"] as? Double }.max()
  out["sgemm_ceiling_gflops"] = orNull(ceiling)
  for backend in ["native", "blas"] {
    guard let g = [a, b].compactMap({ $0["\(backend)_gflops_1024"] as? Double }).max() else {
      continue
    }
    out["\(backend)_gflops_1024"] = g
    if let ceiling { out["\(backend)_ceiling_fraction"] = g / ceiling }
  }
  return out
}

/// Runs one workload on both sides (`rounds` times, alternating) and prints its lines; returns
/// the best of each side and their ratio for the summary.
func run(_ workload: String, inChild: Bool) -> (
  String, [String: Any]?, [String: Any]?, [String: Any]?
) {
  var bestEmber: [String: Any]?
  var bestTorch: [String: Any]?
  for round in 1...rounds {
    var e = runEmber(workload, inChild: inChild)
    if rounds > 1 { e["round"] = round }
    printLine(jsonLine(e))
    bestEmber = better(bestEmber, e, workload: workload)
    if var t = runTorch(workload) {
      if rounds > 1 { t["round"] = round }
      printLine(jsonLine(t))
      bestTorch = better(bestTorch, t, workload: workload)
    }
  }
  let ember = bestEmber!
  let torch = bestTorch
  var ratio = ratioLine(workload, ember: ember, torch: torch)
  if rounds > 1 { ratio?["rounds"] = "best of \(rounds) alternating rounds per side" }
  if let ratio { printLine(jsonLine(ratio)) }
  return (workload, ember, torch, ratio)
}

func usage() -> Never {
  warn(
    "usage: ember-bench [\(workloads.map(\.0).joined(separator: "|"))|all ...] | summarize FILE...")
  exit(2)
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "_matmul-child":
  printLine(jsonLine(emberLine("matmul", matmulOneBackend())))
case "summarize":
  var lines: [[String: Any]] = []
  for path in args.dropFirst() {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      warn("cannot read \(path)")
      exit(1)
    }
    lines += text.split(separator: "\n").compactMap { parseJSONObject($0) }
  }
  print(summarize(lines: lines), terminator: "")
case nil, "all":
  let check = runEmber("randomcheck", inChild: false)
  printLine(jsonLine(check))
  if (check["status"] as? String) == "error" { warn("randomcheck: numpy's draws differ") }
  let results = torchWorkloads.map { run($0, inChild: true) }
  print(
    "\n# Summary: ratio = Ember's cost / PyTorch's cost, same run (below 1: Ember faster); "
      + "matmul: Ember's GFLOP/s / numpy's OpenBLAS sgemm ceiling; GEMM floor: the workload's "
      + "matrix-product FLOPs at that ceiling, and that time / PyTorch's")
  print(
    "# \(isoTimeNow()), load average \(loadAverage()), "
      + (torchAvailable && !noTorch ? "PyTorch in the same run" : "PyTorch not run"))
  print(markdownTable(summaryRows(results)), terminator: "")
default:
  for name in args {
    guard workloads.contains(where: { $0.0 == name }) else { usage() }
    _ = run(name, inChild: false)
  }
}
