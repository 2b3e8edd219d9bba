import Foundation
import Testing

@testable import EmberData

@Suite struct GzipTests {
  struct Case: Codable, Sendable, CustomTestStringConvertible {
    let file: String
    let length: Int
    let crc32: UInt32
    let first: [UInt8]
    var testDescription: String { file }

    static let all: [Case] = {
      struct File: Codable { let cases: [Case] }
      return try! JSONDecoder().decode(
        File.self, from: Data(contentsOf: fixtureURL("gzip/cases.json"))
      ).cases
    }()
  }

  /// Streams made by Python's gzip module: fixed, stored and dynamic Huffman blocks, two members,
  /// a header with a file name.
  @Test(arguments: Case.all)
  func decodesPythonsGzip(_ c: Case) throws {
    let out = try Gzip.decompress(readBytes(fixtureURL("gzip/" + c.file)))
    #expect(out.count == c.length)
    #expect(CRC32.checksum(out) == c.crc32)
    #expect(Array(out.prefix(16)) == c.first)
  }

  @Test func crc32OfKnownStrings() {
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xcbf4_3926)
    #expect(CRC32.checksum([]) == 0)
  }

  @Test func storedStreamsBuiltHereRoundTrip() throws {
    let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 7) }
    #expect(try Gzip.decompress(gzipStored(data)) == data)
    #expect(try Gzip.decompress(gzipStored([])) == [])
  }

  @Test func corruptStreamsThrowTheirProblem() {
    let good = readBytes(fixtureURL("gzip/dynamic.gz"))
    #expect(throws: Gzip.Problem.notGzip) { try Gzip.decompress([1, 2, 3]) }
    #expect(throws: Gzip.Problem.truncated) { try Gzip.decompress(Array(good.prefix(5000))) }
    #expect(throws: Gzip.Problem.truncated) { try Gzip.decompress(Array(good.dropLast(3))) }
    var badMethod = good
    badMethod[2] = 7
    #expect(throws: Gzip.Problem.unsupportedMethod(7)) { try Gzip.decompress(badMethod) }
    // a flipped bit in the CRC-32 trailer
    var badCRC = good
    badCRC[badCRC.count - 8] ^= 1
    #expect(throws: (any Error).self) { try Gzip.decompress(badCRC) }
    do {
      _ = try Gzip.decompress(badCRC)
    } catch {
      guard case .checksumMismatch = error else {
        Issue.record("expected a CRC mismatch, got \(error)")
        return
      }
    }
    var badSize = good
    badSize[badSize.count - 4] ^= 1
    #expect(throws: (any Error).self) { try Gzip.decompress(badSize) }
    // garbage after the member
    #expect(throws: Gzip.Problem.trailingGarbage(offset: good.count)) {
      try Gzip.decompress(good + [0, 0])
    }
    // a block of type 3
    var stored = gzipStored([1, 2, 3])
    stored[10] = 0x07
    #expect(throws: Gzip.Problem.invalidDeflate("invalid block type 3")) {
      try Gzip.decompress(stored)
    }
  }

  @Test func bitFlipsInsideTheDataNeverGoUnnoticed() {
    let good = readBytes(fixtureURL("gzip/dynamic.gz"))
    for position in stride(from: 12, to: good.count - 8, by: 997) {
      var bad = good
      bad[position] ^= 0x10
      #expect(throws: (any Error).self, "flip at \(position)") { try Gzip.decompress(bad) }
    }
  }

  @Test func theOutputLimitHolds() {
    let data = [UInt8](repeating: 7, count: 100_000)
    #expect(throws: Gzip.Problem.outputLimitExceeded(limit: 1000)) {
      try Gzip.decompress(gzipStored(data), limit: 1000)
    }
  }
}
