import EmberData
import EmberFuzzSupport
import EmberOptim
import Foundation

/// An optimizer's state dict from a file: the input is either a safetensors file whose tensors
/// and `optimizer` metadata entry are the state (first byte even), or the metadata JSON alone put
/// beside a valid state's tensors (first byte odd). Loading into Adam either fits (and a step
/// runs) or throws and leaves the optimizer unchanged.
func optimizerStateBody(_ data: UnsafeRawBufferPointer) -> String {
  guard let mode = data.first else { return "empty input" }
  let rest = UnsafeRawBufferPointer(rebasing: data[1...])
  let setup = FuzzTraining()
  let dict: OptimizerStateDict
  if mode & 1 == 0 {
    let path = FuzzSupport.writeScratch(rest)
    let file: SafeTensors.File
    let tensors: StateDict
    do {
      file = try SafeTensors.File(contentsOf: URL(fileURLWithPath: path))
      tensors = try file.stateDict()
    } catch {
      return "not safetensors: \(error.problem)"
    }
    guard let json = file.metadata["optimizer"] else { return "no optimizer metadata" }
    do {
      dict = try OptimizerStateDict(tensors: tensors, metadataJSON: json)
    } catch {
      return "refused: \(error)"
    }
  } else {
    let json = String(decoding: rest, as: UTF8.self)
    do {
      dict = try OptimizerStateDict(
        tensors: setup.optimizer.stateDict().tensors, metadataJSON: json)
    } catch {
      return "refused: \(error)"
    }
  }
  let before = setup.fingerprint()
  do {
    try setup.optimizer.loadStateDict(dict)
  } catch {
    precondition(setup.fingerprint() == before, "a refused load changed the optimizer: \(error)")
    return "load refused: \(error)"
  }
  do {
    try setup.step()
  } catch {
    return "loaded; the step threw \(error)"
  }
  return "loaded and stepped"
}

/// libFuzzer's entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  _ = optimizerStateBody(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}

/// Seeds: the training setup's Adam state as a file (mode 0) and as its JSON alone (mode 1).
func optimizerStateSeeds() -> [String: [UInt8]] {
  let state = FuzzTraining().optimizer.stateDict()
  let json = state.metadataJSON()
  let file = try! SafeTensors.serialize(state.tensors, metadata: ["optimizer": json])
  return ["adam-file": [0] + file, "adam-json": [1] + Array(json.utf8)]
}

@main struct OptimizerStateFuzzMain {
  static func main() {
    FuzzSupport.main(
      "ember-fuzz-optimizer-state", optimizerStateBody, entry: fuzzOne,
      seeds: optimizerStateSeeds)
  }
}
