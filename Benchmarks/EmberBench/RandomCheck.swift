// randomcheck: NumPyRandomState and the data built with it against numpy itself, bit for bit
// (Benchmarks/pytorch/check_random_state.py prints numpy's side).
import Ember

/// Ember's side of check_random_state.py, as the same decimal strings.
func randomCheckValues() -> [String: Any] {
  func bits(_ xs: [Double]) -> [String] { xs.map { String($0.bitPattern) } }
  func ints(_ xs: [Int64]) -> [String] { xs.map { String($0) } }
  var out: [String: Any] = [:]
  var r = NumPyRandomState(seed: 0)
  out["random_sample_seed0"] = bits((0..<8).map { _ in r.nextDouble() })
  r = NumPyRandomState(seed: 1)
  out["randn7_then_sample_seed1"] = bits(r.randn(count: 7) + [r.nextDouble()])
  r = NumPyRandomState(seed: 4_294_967_295)
  out["uniform_seed_max"] = bits(r.uniform(-0.5, 0.5, count: 5))
  r = NumPyRandomState(seed: 2)
  out["randint_0_10_seed2"] = ints(r.randint(0, 10, count: 50))
  out["randint_3_1000_seed2_next"] = ints(r.randint(3, 1000, count: 20))
  r = NumPyRandomState(seed: 1000)
  out["permutation20_seed1000"] = ints(r.permutation(20).map { Int64($0) })
  for (i, p) in mlpInit().enumerated() { out["mlp_init_\(i)"] = String(checksum(p)) }
  for (i, p) in cnnInit().enumerated() { out["cnn_init_\(i)"] = String(checksum(p)) }
  var (x, y) = mlpBatchData()
  out["mlp_batch_x"] = String(checksum(x))
  out["mlp_batch_y"] = String(checksum(ints: y.scalars(as: Int64.self)))
  (x, y) = cnnBatchData()
  out["cnn_batch_x"] = String(checksum(x))
  out["cnn_batch_y"] = String(checksum(ints: y.scalars(as: Int64.self)))
  for epoch in 0..<mnistEpochs {
    let all = mnistEpochBatches(epoch).flatMap { $0.scalars(as: Int64.self) }
    out["mnist_epoch_\(epoch)"] = String(checksum(ints: all))
  }
  return out
}

func randomCheckWorkload() -> [String: Any] {
  let mine = randomCheckValues()
  guard numpyAvailable,
    let reference = spawn(["python3", "\(torchBenchDir)/check_random_state.py"])?.lines.last
  else {
    return ["status": "skipped", "reason": "numpy not available", "value": 0, "unit": "mismatches"]
  }
  func strings(_ v: Any?) -> [String]? { (v as? [String]) ?? (v as? String).map { [$0] } }
  let mismatches = mine.keys.sorted().filter { strings(mine[$0]) != strings(reference[$0]) }
  return [
    "value": mismatches.count, "unit": "mismatches", "checked": mine.count,
    "passed": mismatches.isEmpty, "mismatched": mismatches,
    "status": mismatches.isEmpty ? "ok" : "error",
  ]
}
