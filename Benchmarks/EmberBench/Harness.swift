// Timing, statistics, load and memory figures, and the JSON output, as common.py has them.
import Ember

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

#if canImport(Glibc)
  import Glibc
#endif

// MARK: - shared settings (common.py)

let environment = ProcessInfo.processInfo.environment
let w1Iters = Int(environment["PEER_W1_ITERS"] ?? "") ?? 20_000
let w1Repeats = 5
let mlpSizes = [784, 512, 256, 10]
let (mlpBatch, mlpWarmup, mlpSteps, mlpLR, momentum) = (128, 10, 100, 0.01, 0.9)
let (cnnBatch, cnnWarmup, cnnSteps, cnnLR) = (64, 5, 30, 0.01)
let (mmSizes, mmWarmup, mmIters) = ([1024, 256], 3, 20)
let (mnistBatch, mnistLR, mnistEpochs, seed) = (128, 0.05, 2, 0)
let (ewN, ewWarmup, ewIters) = (1000, 10, 200)
let (lstmVocab, lstmHidden, lstmSeq, lstmBatch, lstmLR, lstmWarmup, lstmSteps) =
  (64, 256, 50, 32, 0.1, 3, 20)

// MARK: - clocks

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

/// Share of the machine's cores other processes used while `body` ran (common.LoadMonitor).
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

// MARK: - statistics (common.stats, common.rnd)

/// median, min, max, p10, p90 and n, with p10/p90 by common.stats' rounding of the index.
func stats(_ xs: [Double]) -> [String: Any] {
  let s = xs.sorted()
  let n = s.count
  func q(_ p: Double) -> Double { s[min(n - 1, max(0, Int((p * Double(n - 1)).rounded())))] }
  return [
    "median": round4(median(xs)), "min": round4(s[0]), "max": round4(s[n - 1]),
    "p10": round4(q(0.1)), "p90": round4(q(0.9)), "n": n,
  ]
}

/// statistics.median: the middle value, or the mean of the two middle ones.
func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  let n = s.count
  return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

func geometricMean(_ xs: [Double]) -> Double {
  exp(xs.map { log($0) }.reduce(0, +) / Double(xs.count))
}

/// Four significant digits, as common.rnd prints floats.
func round4(_ x: Double) -> Double {
  guard x.isFinite, x != 0 else { return x }
  let digits = 4 - Int(floor(log10(abs(x)))) - 1
  let scale = pow(10.0, Double(digits))
  return (x * scale).rounded() / scale
}

/// `round4` through dictionaries and arrays (common.rnd).
func rounded(_ v: Any) -> Any {
  switch v {
  case let d as Double: return round4(d)
  case let a as [Any]: return a.map(rounded)
  case let m as [String: Any]: return m.mapValues(rounded)
  default: return v
  }
}

func loadAverage() -> Double {
  var l = [Double](repeating: 0, count: 3)
  _ = getloadavg(&l, 3)
  return (l[0] * 100).rounded() / 100
}

// MARK: - memory

/// This process's peak resident set so far (getrusage ru_maxrss, KiB on Linux), in MB.
func peakRSSMegabytes() -> Double {
  var u = rusage()
  getrusage(Int32(RUSAGE_SELF.rawValue), &u)
  return Double(u.ru_maxrss) / 1024
}

/// This process's resident set now (VmRSS of /proc/self/status), in MB.
func currentRSSMegabytes() -> Double? {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
    let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
  else { return nil }
  return kb / 1024
}

// MARK: - output

func printLine(_ s: String) {
  print(s)
  fflush(nil)
}

func warn(_ s: String) {
  let bytes = Array((s + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Ember's JSON line for `workload` (common.emit's fields; keys sorted).
func emberLine(_ workload: String, _ result: [String: Any]) -> [String: Any] {
  var out: [String: Any] = [
    "lib": "ember", "workload": workload, "threads": Parallel.threadCount,
    "matmul_backend": matmulBackend.description, "loadavg1": loadAverage(),
    "time": isoTimeNow(),
    "env": environment.filter {
      ["EMBER_NUM_THREADS", "EMBER_BLAS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE"].contains(
        $0.key)
    },
  ]
  for (k, v) in result { out[k] = rounded(v) }
  out["status"] = out["status"] ?? "ok"
  return out
}

/// A JSON value for an optional number (null when absent, as Python's None).
func orNull(_ v: Double?) -> Any { v.map { $0 as Any } ?? JSONNull() }
