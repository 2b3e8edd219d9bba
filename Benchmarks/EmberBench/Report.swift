// Ember against PyTorch: the ratio line per workload and the summary table, with the targets of
// the performance issue (issue 8). Every ratio is Ember's cost / PyTorch's cost, so below 1 means
// Ember is faster; matmul's target is a fraction of the sgemm ceiling instead.
#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// The target for each workload: the highest allowed ember/torch cost ratio.
let costTargets: [String: Double] = [
  "scalar": 0.05, "mlp": 0.5, "cnn": 0.5, "mnist": 0.5, "lstm": 0.5, "elementwise": 0.7,
  "reduce": 0.7, "gradcheck": 0.2,
]
/// matmul: Ember's 1024 fwd+bwd GFLOP/s at least this fraction of numpy's sgemm ceiling.
let matmulCeilingTarget = 0.90
/// mnist: Ember's peak resident memory at most this fraction of PyTorch's process.
let peakRSSTarget = 0.5
/// mnist: the test accuracies may differ by this much.
let accuracyTolerance = 0.005

let ratioMeaning = "ember/torch cost (below 1: Ember faster)"

func double(_ v: Any?) -> Double? { (v as? Double) ?? (v as? Int).map(Double.init) }

/// The ratio line of one workload (nil without a PyTorch figure, except matmul's ceiling).
func ratioLine(_ workload: String, ember: [String: Any], torch: [String: Any]?) -> [String: Any]? {
  var out: [String: Any] = ["lib": "ratio", "workload": workload, "meaning": ratioMeaning]
  if workload == "matmul" {
    for backend in ["native", "blas"] {
      if let f = double(ember["\(backend)_ceiling_fraction"]) {
        out["\(backend)_ceiling_fraction"] = f
      }
      for n in mmSizes {
        if let e = double(ember["\(backend)_gflops_\(n)"]),
          let t = double(torch?["gflops_\(n)"])
        {
          out["\(backend)_cost_ratio_\(n)"] = t / e
        }
      }
    }
    if let e = double(ember["value"]), let t = double(torch?["value"]) { out["value"] = t / e }
    let fractions = ["native", "blas"].compactMap { double(ember["\($0)_ceiling_fraction"]) }
    guard !fractions.isEmpty || out["value"] != nil else { return nil }
    out["target"] = ">= \(matmulCeilingTarget) of the sgemm ceiling (every backend)"
    if !fractions.isEmpty { out["met"] = fractions.allSatisfy { $0 >= matmulCeilingTarget } }
    return rounded(out) as? [String: Any]
  }
  guard let torch, let e = double(ember["value"]), let t = double(torch["value"]), t > 0 else {
    return nil
  }
  let ratio = e / t
  out["value"] = ratio
  for (k, v) in ember where k.hasSuffix("_ms") {
    if let e = double(v), let t = double(torch[k]), t > 0 { out[k] = e / t }
  }
  var met = costTargets[workload].map { ratio <= $0 }
  if let target = costTargets[workload] { out["target"] = "<= \(target)" }
  if let el = double(ember["final_loss"]), let tl = double(torch["final_loss"]) {
    out["final_loss_ember"] = el
    out["final_loss_torch"] = tl
  }
  if workload == "mnist" {
    let ea = (ember["test_acc"] as? [Any])?.compactMap(double) ?? []
    let ta = (torch["test_acc"] as? [Any])?.compactMap(double) ?? []
    let diffs = zip(ea, ta).map { $0 - $1 }
    out["test_acc_diff"] = diffs
    let same = !diffs.isEmpty && diffs.allSatisfy { abs($0) <= accuracyTolerance }
    out["same_test_acc"] = same
    met = met.map { $0 && same }
    if let er = double(ember["peak_rss_mb"]), let tr = double(torch["peak_rss_mb"]), tr > 0 {
      out["peak_rss_ratio"] = er / tr
      out["peak_rss_target"] = "<= \(peakRSSTarget)"
      out["peak_rss_met"] = er / tr <= peakRSSTarget
    }
  }
  if let met { out["met"] = met }
  return rounded(out) as? [String: Any]
}

// MARK: - summary table

/// One row of the table.
struct SummaryRow {
  var workload: String
  var torch: String
  var ember: String
  var ratio: String
  var target: String
  var met: String
  /// foreign_cpu of Ember's and PyTorch's measurement (above 0.1: disturbed by other processes).
  var foreign = "-"
  /// The time of the workload's matrix products alone at the run's sgemm ceiling
  /// (``gemmFloor(_:ceiling:)``) and, in parentheses, that floor / PyTorch's time: the lowest
  /// ratio the products allow on this machine.
  var floor = "-"
}

func format(_ v: Double?, unit: String = "") -> String {
  guard let v else { return "-" }
  let s = v >= 100 ? formatted("%.1f", v) : formatted("%.3g", v)
  return unit.isEmpty ? s : "\(s) \(unit)"
}

func metText(_ v: Any?) -> String {
  guard let b = v as? Bool else { return "-" }
  return b ? "yes" : "no"
}

/// The rows, from the Ember line, PyTorch's line and the ratio line of each workload.
func summaryRows(_ results: [(String, [String: Any]?, [String: Any]?, [String: Any]?)])
  -> [SummaryRow]
{
  var rows: [SummaryRow] = []
  let ceiling = results.first { $0.0 == "matmul" }.flatMap { double($0.1?["sgemm_ceiling_gflops"]) }
  for (workload, ember, torch, ratio) in results {
    let foreign = [ember, torch].map { d -> String in
      let f =
        workload == "matmul"
        ? ["native", "blas"].compactMap { double(d?["\($0)_foreign_cpu"]) }.max()
          ?? double(d?["foreign_cpu"]) : double(d?["foreign_cpu"])
      return f.map { formatted("%.2f", $0) } ?? "-"
    }.joined(separator: " / ")
    let first = rows.count
    defer { for i in first..<rows.count { rows[i].foreign = foreign } }
    let unit = (ember?["unit"] as? String ?? torch?["unit"] as? String ?? "")
    let shortUnit = String(unit.prefix { $0 != " " && $0 != "," })
    if workload == "matmul" {
      var emberText = ["native", "blas"].compactMap { b in
        double(ember?["\(b)_gflops_1024"]).map { "\(format($0)) (\(b))" }
      }.joined(separator: ", ")
      if emberText.isEmpty { emberText = "-" }
      let fractions = ["native", "blas"].compactMap { b in
        double(ratio?["\(b)_ceiling_fraction"]).map { "\(format($0)) (\(b))" }
      }.joined(separator: ", ")
      let ceiling = format(double(ember?["sgemm_ceiling_gflops"]))
      rows.append(
        SummaryRow(
          workload: "matmul 1024 fwd+bwd (GFLOP/s; ratio = Ember / sgemm ceiling \(ceiling))",
          torch: format(double(torch?["gflops_1024"])), ember: emberText,
          ratio: fractions.isEmpty ? "-" : fractions, target: ">= \(matmulCeilingTarget)",
          met: metText(ratio?["met"])))
      continue
    }
    var name = "\(workload) (\(shortUnit))"
    var emberText = format(double(ember?["value"]))
    var torchText = format(double(torch?["value"]))
    if workload == "mnist" {
      let acc = { (d: [String: Any]?) -> String in
        let a = (d?["test_acc"] as? [Any])?.compactMap(double).last
        return a.map { formatted(", acc %.4f", $0) } ?? ""
      }
      emberText += acc(ember)
      torchText += acc(torch)
      name = "mnist, 2 epochs (s)"
    }
    if ["mlp", "cnn", "lstm"].contains(workload) {
      if let l = double(ember?["final_loss"]) { emberText += formatted(", loss %.4f", l) }
      if let l = double(torch?["final_loss"]) { torchText += formatted(", loss %.4f", l) }
    }
    var floor = "-"
    if let f = gemmFloor(ember, ceiling: ceiling) {
      floor = format(f) + (double(torch?["value"]).map { " (\(format(f / $0)))" } ?? "")
    }
    rows.append(
      SummaryRow(
        workload: name, torch: torchText, ember: emberText, ratio: format(double(ratio?["value"])),
        target: costTargets[workload].map { "<= \($0)" } ?? "-", met: metText(ratio?["met"]),
        floor: floor))
    if workload == "mnist" {
      let e = double(ember?["peak_rss_mb"])
      let growth = (ember?["rss_after_epoch_mb"] as? [Any])?.compactMap(double)
      let flat = growth.flatMap { g in g.count > 1 ? g.last! - g.first! : nil }
      rows.append(
        SummaryRow(
          workload: "mnist peak RSS (MB)", torch: format(double(torch?["peak_rss_mb"])),
          ember: format(e)
            + (flat.map { formatted(", epoch 2 - epoch 1: %+.1f MB", $0) } ?? ""),
          ratio: format(double(ratio?["peak_rss_ratio"])), target: "<= \(peakRSSTarget)",
          met: metText(ratio?["peak_rss_met"])))
    }
  }
  return rows
}

func markdownTable(_ rows: [SummaryRow]) -> String {
  var s = "| workload | PyTorch | Ember | ratio | target | met? | GEMM floor (ratio) "
  s += "| foreign_cpu Ember / PyTorch |\n"
  s += "|---|---|---|---|---|---|---|---|\n"
  for r in rows {
    s += "| \(r.workload) | \(r.torch) | \(r.ember) | \(r.ratio) | \(r.target) | \(r.met) "
    s += "| \(r.floor) | \(r.foreign) |\n"
  }
  return s
}

/// Rebuilds the table from saved JSON lines (`ember-bench summarize FILE`): the last Ember and
/// PyTorch line of each workload.
func summarize(lines: [[String: Any]]) -> String {
  var ember: [String: [String: Any]] = [:]
  var torch: [String: [String: Any]] = [:]
  var order: [String] = []
  for l in lines {
    guard let w = l["workload"] as? String, let lib = l["lib"] as? String else { continue }
    // with several rounds (EMBER_BENCH_ROUNDS), each side's best, as `all` compares them
    if lib == "ember" {
      ember[w] = better(ember[w], l, workload: w)
    } else if lib == "torch" {
      torch[w] = better(torch[w], l, workload: w)
    } else {
      continue
    }
    if !order.contains(w) { order.append(w) }
  }
  let results = order.filter { $0 != "randomcheck" && $0 != "grain" }.map { w in
    (w, ember[w], torch[w], ember[w].flatMap { ratioLine(w, ember: $0, torch: torch[w]) })
  }
  return markdownTable(summaryRows(results))
}
