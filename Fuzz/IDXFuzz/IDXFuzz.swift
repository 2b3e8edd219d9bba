import EmberData
import EmberFuzzSupport

/// IDX, raw or gzipped (inputs starting 1f 8b are decompressed first): any bytes either parse
/// into an array whose payload holds exactly its shape's elements, or throw an IDXError naming
/// the file.
func idxBody(_ data: UnsafeRawBufferPointer) -> String {
  let name = "fuzz-input.idx"
  do {
    let a = try IDXArray(bytes: [UInt8](data), file: name)
    let count = a.shape.reduce(1, *)
    precondition(a.payload.count == count * a.elementType.byteSize, "payload size")
    let t = a.tensor()
    precondition(t.shape == a.shape && t.count == count, "tensor shape")
    return "accepted: \(a.elementType) \(a.shape)"
  } catch {
    precondition(error.file == name && "\(error)".hasPrefix(name), "unnamed error: \(error)")
    return "\(error.problem)"
  }
}

/// libFuzzer's entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  _ = idxBody(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}

@main struct IDXFuzzMain {
  static func main() { FuzzSupport.main("ember-fuzz-idx", idxBody, entry: fuzzOne) }
}
