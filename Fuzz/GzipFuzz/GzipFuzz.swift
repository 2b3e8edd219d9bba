import EmberData
import EmberFuzzSupport

/// gzip inflate: any bytes either decompress (CRC-32 and length checked) or throw a
/// `Gzip.Problem`; the output stays under the limit.
func gzipBody(_ data: UnsafeRawBufferPointer) -> String {
  let bytes = [UInt8](data)
  let limit = 1 << 24
  do {
    let out = try Gzip.decompress(bytes, limit: limit)
    precondition(out.count <= limit, "Gzip: output of \(out.count) bytes passed the limit")
    return "accepted: \(out.count) bytes"
  } catch {
    return "\(error)"
  }
}

/// libFuzzer's entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  _ = gzipBody(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}

@main struct GzipFuzzMain {
  static func main() { FuzzSupport.main("ember-fuzz-gzip", gzipBody, entry: fuzzOne) }
}
