import EmberData
import EmberFuzzSupport
import EmberOptim
import Foundation

/// Checkpoints: the input is either a whole file (first byte even) or, to reach the metadata
/// parsers without breaking the safetensors layer, the text of the metadata entries (first byte
/// odd; fields separated by 0x00: epoch, step, optimizer JSON, scheduler JSON, generator JSON,
/// format version) put into a valid checkpoint's file. Loading and restoring into a training
/// setup either succeeds (and training goes on) or throws and changes nothing.
func checkpointBody(_ data: UnsafeRawBufferPointer) -> String {
  guard let mode = data.first else { return "empty input" }
  let rest = UnsafeRawBufferPointer(rebasing: data[1...])
  if mode & 1 == 0 {
    FuzzSupport.writeScratch(rest)
  } else {
    let fields = rest.split(separator: 0, omittingEmptySubsequences: false).map {
      String(decoding: $0, as: UTF8.self)
    }
    let base = FuzzTraining().checkpoint()
    var tensors = StateDict()
    for (k, t) in base.model { tensors["model." + k] = t }
    for (k, t) in base.optimizer!.tensors { tensors["optimizer." + k] = t }
    tensors["generator.words"] = Tensor(
      shape: [624], scalars: base.generator!.words.map(Int64.init))
    let keys = ["epoch", "step", "optimizer", "scheduler", "generator", "ember.checkpoint"]
    var metadata = ["ember.checkpoint": "1", "epoch": "1", "step": "2"]
    for (k, v) in zip(keys, fields) { metadata[k] = v }
    try! SafeTensors.save(
      tensors, to: URL(fileURLWithPath: FuzzSupport.scratchPath), metadata: metadata)
  }
  let path = FuzzSupport.scratchPath
  let checkpoint: Checkpoint
  do {
    checkpoint = try Checkpoint.load(from: URL(fileURLWithPath: path))
  } catch {
    precondition("\(error)".hasPrefix(path), "unnamed error: \(error)")
    return "refused: \(error)"
  }
  let setup = FuzzTraining()
  let before = setup.fingerprint()
  let generatorBefore = Generator.default.state
  do {
    try checkpoint.restore(
      model: setup.model, optimizer: setup.optimizer, scheduler: setup.scheduler, file: path)
  } catch {
    precondition(setup.fingerprint() == before, "a refused restore changed the setup: \(error)")
    precondition(Generator.default.state == generatorBefore, "a refused restore set the generator")
    return "restore refused: \(error)"
  }
  Generator.default.state = generatorBefore
  do {
    try setup.step()
  } catch {
    return "restored; the step threw \(error)"
  }
  return "restored and stepped"
}

/// libFuzzer's entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  _ = checkpointBody(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}

/// Seeds: a whole checkpoint of the training setup (mode 0) and its metadata fields (mode 1).
func checkpointSeeds() -> [String: [UInt8]] {
  let c = FuzzTraining().checkpoint()
  let path = FuzzSupport.scratchPath + ".seed"
  try! c.save(to: URL(fileURLWithPath: path))
  let file = FuzzSupport.readFile(path)!
  let meta = try! SafeTensors.metadata(of: URL(fileURLWithPath: path))
  unlink(path)
  let fields = ["epoch", "step", "optimizer", "scheduler", "generator", "ember.checkpoint"].map {
    Array(meta[$0]!.utf8)
  }
  return [
    "checkpoint-file": [0] + file,
    "checkpoint-fields": [1] + Array(fields.joined(separator: [0])),
  ]
}

@main struct CheckpointFuzzMain {
  static func main() {
    FuzzSupport.main(
      "ember-fuzz-checkpoint", checkpointBody, entry: fuzzOne, seeds: checkpointSeeds)
  }
}
