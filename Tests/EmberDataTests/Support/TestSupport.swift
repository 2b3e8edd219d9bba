@_exported import EmberTestSupport
import Foundation
import Testing

@testable import EmberData

/// A fixture file's URL (Tests/EmberDataTests/Fixtures, copied into the test bundle).
func fixtureURL(_ name: String) -> URL {
  let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + name)
  precondition(FileManager.default.fileExists(atPath: url.path), "missing fixture \(name)")
  return url
}

/// A fresh empty folder under the temporary directory.
func temporaryFolder(_ label: String = #function) -> URL {
  let name = label.filter { $0.isLetter || $0.isNumber }
  let url = FileManager.default.temporaryDirectory.appendingPathComponent(
    "ember-data-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
  try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Writes bytes to a file.
func writeBytes(_ bytes: [UInt8], to url: URL) {
  try! Data(bytes).write(to: url)
}

/// A file's bytes.
func readBytes(_ url: URL) -> [UInt8] {
  [UInt8](try! Data(contentsOf: url))
}

/// A gzip stream of stored (uncompressed) deflate blocks, for building bad files in tests.
func gzipStored(_ bytes: [UInt8]) -> [UInt8] {
  var out: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]
  var rest = bytes[...]
  repeat {
    let chunk = rest.prefix(65535)
    rest = rest.dropFirst(chunk.count)
    let len = UInt16(chunk.count)
    out.append(rest.isEmpty ? 1 : 0)
    out += [UInt8(len & 0xff), UInt8(len >> 8), UInt8(~len & 0xff), UInt8(~len >> 8)]
    out += chunk
  } while !rest.isEmpty
  let crc = CRC32.checksum(bytes)
  let size = UInt32(truncatingIfNeeded: bytes.count)
  for v in [crc, size] { out += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
  return out
}

/// The values of a tensor as Doubles (exact for float32, float64, bool and int64 up to 2^53).
func values(_ t: Tensor) -> [Double] { t.toArray() }
