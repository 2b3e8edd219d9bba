import EmberData
import EmberFuzzSupport
import EmberNN
import Foundation

/// safetensors, header and data: any file either loads (every tensor's element count matching
/// its shape, and a save of what loaded reading back bit for bit) or throws a SafeTensorsError
/// naming the file; loading it into a module either fits or leaves the module unchanged.
func safeTensorsBody(_ data: UnsafeRawBufferPointer) -> String {
  let path = FuzzSupport.writeScratch(data)
  let file: SafeTensors.File
  do {
    file = try SafeTensors.File(contentsOf: URL(fileURLWithPath: path))
  } catch {
    precondition(error.file == path && "\(error)".hasPrefix(path), "unnamed error: \(error)")
    return "\(error.problem)"
  }
  let loaded: StateDict
  do {
    loaded = try file.stateDict(convertingHalfTo: .float32, convertingIntegersTo: .int64)
  } catch {
    precondition(error.file == path, "unnamed error: \(error)")
    return "header accepted, tensors refused: \(error.problem)"
  }
  for (name, t) in loaded {
    precondition(t.count == t.shape.reduce(1, *), "\(name): count \(t.count) for \(t.shape)")
  }
  // what loaded saves and reads back identically
  let bytes = try! SafeTensors.serialize(loaded, metadata: file.metadata)
  let again = bytes.withUnsafeBytes { FuzzSupport.writeScratch($0) }
  let back = try! SafeTensors.load(from: URL(fileURLWithPath: again))
  precondition(back.keys.sorted() == loaded.keys.sorted(), "round trip changed the names")
  for (name, t) in loaded {
    let u = back[name]!
    precondition(u.shape == t.shape && u.dtype == t.dtype, "\(name): round trip changed it")
    precondition(FuzzModel.bits(u) == FuzzModel.bits(t), "\(name): round trip changed values")
  }
  // into a module: fits, or changes nothing
  let model = FuzzModel()
  let before = model.snapshot()
  do {
    try model.net.loadStateDict(loaded, strict: false)
  } catch {
    precondition(model.snapshot() == before, "a refused load changed the model: \(error)")
  }
  return "accepted: \(loaded.count) tensors"
}

/// A two-layer model whose keys (`0.weight`, `0.bias`, `1.weight`, ...) fuzzed headers can hit.
struct FuzzModel {
  let net = Sequential(Linear(2, 2), Linear(2, 1))

  static func bits(_ t: Tensor) -> [UInt64] {
    switch t.dtype {
    case .float32: return t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
    case .float64: return t.scalars(as: Double.self).map(\.bitPattern)
    case .int64: return t.scalars(as: Int64.self).map { UInt64(bitPattern: $0) }
    case .bool: return t.scalars(as: Bool.self).map { $0 ? 1 : 0 }
    }
  }

  func snapshot() -> [String: [UInt64]] {
    Dictionary(uniqueKeysWithValues: net.stateDict().map { ($0.0, FuzzModel.bits($0.1)) })
  }
}

/// libFuzzer's entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  _ = safeTensorsBody(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}

@main struct SafeTensorsFuzzMain {
  static func main() { FuzzSupport.main("ember-fuzz-safetensors", safeTensorsBody, entry: fuzzOne) }
}
