import Foundation
import Testing

@testable import EmberData

/// mnist.json (made by Fixtures/make_fixtures.py with PyTorch 2.15 from the repository's
/// Data/mnist): every pixel value's normalization and checksums of the normalized sets.
struct MNISTFixture: Codable {
  struct Set: Codable {
    let count: Int
    let shape: [Int]
    let labelsFirst: [Int]
    let labelCounts: [Int]
    let pixelChecksum: UInt64
    let pixelSum: Double
    let image0Row14: [Double]
  }
  let table: [Double]
  let sets: [String: Set]

  static let value: MNISTFixture = {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try! decoder.decode(MNISTFixture.self, from: Data(contentsOf: fixtureURL("mnist.json")))
  }()
}

/// `sum(bits(x[i]) * (i % 65521 + 1)) mod 2^64`, the script's checksum.
func weightedBits(_ t: Tensor) -> UInt64 {
  t.scalars(as: Float.self).withUnsafeBufferPointer { p in
    p.withMemoryRebound(to: UInt32.self) { bits in
      var total: UInt64 = 0
      var weight: UInt64 = 1
      for i in 0..<bits.count {
        total &+= UInt64(bits[i]) &* weight
        weight = weight == 65521 ? 1 : weight &+ 1
      }
      return total
    }
  }
}

@Suite struct MNISTTests {
  @Test func everyPixelValueNormalizesAsPyTorchInFloat32() {
    // ((torch.arange(256, dtype=torch.uint8).float() / 255 - 0.1307) / 0.3081), bit for bit
    let table = MNISTFixture.value.table
    #expect(table.count == 256)
    for b in 0...255 {
      #expect(MNIST.normalize(UInt8(b)) == Float(table[b]), "pixel \(b)")
    }
  }

  @Test(arguments: [true, false])
  func theRepositorysCopyLoadsWithPyTorchsValues(train: Bool) throws {
    let expected = MNISTFixture.value.sets[train ? "train" : "test"]!
    let mnist = try MNIST(root: MNIST.bundledRoot, train: train)
    #expect(mnist.count == expected.count)
    #expect(mnist.images.shape == expected.shape && mnist.images.dtype == .float32)
    #expect(mnist.labels.dtype == .int64 && mnist.labels.shape == [expected.count])
    #expect(mnist.labels.scalars(as: Int64.self).prefix(20).map { Int($0) } == expected.labelsFirst)
    var counts = [Int](repeating: 0, count: 10)
    for l in mnist.labels.scalars(as: Int64.self) { counts[Int(l)] += 1 }
    #expect(counts == expected.labelCounts)
    #expect(weightedBits(mnist.images) == expected.pixelChecksum)
    #expect(values(mnist.images[0, 0, 14]) == expected.image0Row14)
    let (image, label) = mnist[0]
    #expect(image.shape == [1, 28, 28] && label == expected.labelsFirst[0])
    // batches through the default collate: float32 images, int64 labels
    let (x, y) = DataLoader(mnist, batchSize: 64).makeIterator().next()!
    #expect(x.shape == [64, 1, 28, 28] && y.dtype == .int64)
    #expect(y.scalars(as: Int64.self).prefix(20).map { Int($0) } == expected.labelsFirst)
  }

  @Test func uncompressedFilesAndTorchvisionsLayoutWork() throws {
    let root = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    let raw = root.appendingPathComponent("MNIST/raw")
    try FileManager.default.createDirectory(at: raw, withIntermediateDirectories: true)
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
      let gz = readBytes(MNIST.bundledRoot.appendingPathComponent(name + ".gz"))
      writeBytes(try Gzip.decompress(gz), to: raw.appendingPathComponent(name))
    }
    let test = try MNIST(root: root, train: false)
    #expect(test.count == 10000)
    #expect(weightedBits(test.images) == MNISTFixture.value.sets["test"]!.pixelChecksum)
    let scaled = try MNIST(root: root, train: false, normalize: false)
    #expect(scaled.images.max().item() == 1 && scaled.images.min().item() == 0)
  }
}

@Suite struct IDXTests {
  /// An IDX header for `type` and `dims`, then `payload`.
  func idx(_ type: UInt8, _ dims: [UInt32], _ payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for d in dims {
      out += [UInt8(d >> 24), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)]
    }
    return out + payload
  }

  func problem(_ bytes: [UInt8], gzipped: Bool = false) -> IDXError.Problem? {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent(gzipped ? "bad.idx.gz" : "bad.idx")
    writeBytes(gzipped ? gzipStored(bytes) : bytes, to: url)
    do {
      _ = try IDXArray(contentsOf: url)
      return nil
    } catch {
      #expect(error.file == url.path)
      #expect(error.description.hasPrefix(url.path + ": "))
      return error.problem
    }
  }

  @Test func readsEveryElementTypeBigEndian() throws {
    let a = try IDXArray(bytes: idx(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]), file: "x")
    #expect(
      a.elementType == .int16 && a.shape == [2] && a.tensor().scalars(as: Int64.self) == [258, -2])
    let f = try IDXArray(bytes: idx(0x0d, [1], [0x3f, 0xc0, 0, 0]), file: "x")
    #expect(f.tensor().dtype == .float32 && values(f.tensor()) == [1.5])
    let d = try IDXArray(
      bytes: idx(0x0e, [1], [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]), file: "x")
    #expect(values(d.tensor()) == [Double.pi])
    let s = try IDXArray(bytes: idx(0x09, [2, 1], [0x80, 0x7f]), file: "x")
    #expect(s.tensor().shape == [2, 1] && s.tensor().scalars(as: Int64.self) == [-128, 127])
    let i = try IDXArray(bytes: idx(0x0c, [1], [0xff, 0xff, 0xff, 0xfe]), file: "x")
    #expect(i.tensor().scalars(as: Int64.self) == [-2])
  }

  @Test(arguments: [false, true])
  func badFilesThrowTheirProblem(gzipped: Bool) {
    let images = idx(0x08, [3, 2, 2], [UInt8](repeating: 9, count: 12))
    #expect(problem(images, gzipped: gzipped) == nil)
    // truncated: the header claims 3 images, the file holds 2 and a half
    #expect(
      problem(Array(images.dropLast(2)), gzipped: gzipped)
        == .truncated(shape: [3, 2, 2], expectedBytes: 12, actualBytes: 10))
    #expect(
      problem(images + [0], gzipped: gzipped)
        == .trailingBytes(shape: [3, 2, 2], expectedBytes: 12, actualBytes: 13))
    #expect(
      problem([0x12, 0x34, 8, 1, 0, 0, 0, 0], gzipped: gzipped) == .badMagic([0x12, 0x34, 8, 1]))
    #expect(problem([0, 0, 0x07, 1, 0, 0, 0, 0], gzipped: gzipped) == .unknownType(7))
    #expect(problem([0, 0, 8], gzipped: gzipped) == .headerTruncated(size: 3, needed: 4))
    #expect(
      problem([0, 0, 8, 3, 0, 0, 0, 1], gzipped: gzipped) == .headerTruncated(size: 8, needed: 16))
    // a header claiming 4 billion cubed elements: refused from the file size, nothing allocated
    #expect(
      problem(idx(0x08, [0xffff_ffff, 0xffff_ffff, 0xffff_ffff], [1, 2]), gzipped: gzipped)
        == .sizeOverflow(shape: [0xffff_ffff, 0xffff_ffff, 0xffff_ffff]))
    #expect(
      problem(idx(0x0e, [60000, 28, 28], [1, 2, 3]), gzipped: gzipped)
        == .truncated(shape: [60000, 28, 28], expectedBytes: 376_320_000, actualBytes: 3))
  }

  @Test func corruptGzipIsReportedAsSuch() {
    var gz = gzipStored(idx(0x08, [2], [1, 2]))
    gz[gz.count - 6] ^= 0xff  // the CRC
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("x.gz")
    writeBytes(gz, to: url)
    #expect {
      try IDXArray(contentsOf: url)
    } throws: { error in
      guard let e = error as? IDXError, case .gzip(.checksumMismatch) = e.problem else {
        return false
      }
      return e.description.contains("CRC-32 mismatch")
    }
  }

  @Test func mnistRefusesMismatchedAndMissingFiles() throws {
    let root = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    #expect {
      try MNIST(root: root, train: true)
    } throws: { error in
      guard let e = error as? IDXError, case .missing(let tried) = e.problem else { return false }
      return tried.count == 4 && e.description.contains("train-images-idx3-ubyte.gz")
    }
    writeBytes(
      idx(0x08, [3, 2, 2], [UInt8](repeating: 0, count: 12)),
      to: root.appendingPathComponent("t10k-images-idx3-ubyte"))
    writeBytes(idx(0x08, [2], [1, 2]), to: root.appendingPathComponent("t10k-labels-idx1-ubyte"))
    #expect(
      throws: IDXError(
        file: root.appendingPathComponent("t10k-labels-idx1-ubyte").path,
        problem: .countMismatch(images: 3, labels: 2))
    ) { try MNIST(root: root, train: false) }
    writeBytes(
      idx(0x08, [3], [1, 12, 2]), to: root.appendingPathComponent("t10k-labels-idx1-ubyte"))
    #expect(
      throws: IDXError(
        file: root.appendingPathComponent("t10k-labels-idx1-ubyte").path,
        problem: .labelOutOfRange(index: 1, value: 12))
    ) { try MNIST(root: root, train: false) }
    writeBytes(
      idx(0x08, [3], [1, 0, 2]), to: root.appendingPathComponent("t10k-labels-idx1-ubyte"))
    let small = try MNIST(root: root, train: false)
    #expect(small.count == 3 && small.images.shape == [3, 1, 2, 2])
    #expect(
      values(small.images[0, 0, 0]) == [Double(MNIST.normalize(0)), Double(MNIST.normalize(0))])
  }
}
