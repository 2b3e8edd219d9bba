#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// A file that could not be read as an IDX array (or as the MNIST set made of them): the file,
/// and what is wrong with it.
public struct IDXError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file's path.
  public let file: String
  public let problem: Problem

  public init(file: String, problem: Problem) {
    self.file = file
    self.problem = problem
  }

  /// What is wrong with the file.
  public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist (`alternatives` lists the names that were tried).
    case missing(alternatives: [String])
    /// The file could not be opened or read.
    case unreadable(String)
    /// The file is gzip-compressed and the compressed stream is bad.
    case gzip(Gzip.Problem)
    /// Shorter than the 4-byte magic number plus its dimensions.
    case headerTruncated(size: Int, needed: Int)
    /// The magic number's first two bytes are not zero.
    case badMagic([UInt8])
    /// The magic number's type byte is none of IDX's (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E).
    case unknownType(UInt8)
    /// The dimensions multiply past what memory can address.
    case sizeOverflow(shape: [Int])
    /// The header describes more data than the file holds.
    case truncated(shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// The file holds more bytes than the header describes.
    case trailingBytes(shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// The gzip stream inflates to more than the header describes (decoding stopped there).
    case inflatesTooLarge(shape: [Int], expectedBytes: Int)
    /// The array is not what the reader needs (for MNIST: ubyte images of rank 3, labels of rank 1).
    case unexpectedLayout(String)
    /// The image and label files hold different numbers of items.
    case countMismatch(images: Int, labels: Int)
    /// A label outside 0...9.
    case labelOutOfRange(index: Int, value: Int)

    public var description: String {
      func dims(_ s: [Int]) -> String { s.map(String.init).joined(separator: " x ") }
      switch self {
      case .missing(let names):
        return "no such file (looked for \(names.joined(separator: ", ")))"
      case .unreadable(let why): return why
      case .gzip(let p): return "bad gzip data: \(p)"
      case .headerTruncated(let size, let needed):
        return "truncated IDX header: the file has \(size) bytes, the header needs \(needed)"
      case .badMagic(let b):
        return "not an IDX file: magic number "
          + b.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
          + " (expected 00 00 <type> <rank>)"
      case .unknownType(let t): return "unknown IDX element type 0x\(String(t, radix: 16))"
      case .sizeOverflow(let s): return "IDX dimensions \(dims(s)) are too large"
      case .truncated(let s, let e, let a):
        return
          "truncated: the header describes \(dims(s)) elements (\(e) bytes of data), the file holds \(a)"
      case .trailingBytes(let s, let e, let a):
        return
          "\(a - e) unexpected bytes after the data: the header describes \(dims(s)) elements (\(e) bytes), the file holds \(a)"
      case .inflatesTooLarge(let s, let e):
        return
          "the gzip data inflates to more than the header describes: \(dims(s)) elements (\(e) bytes of data); decoding stopped there"
      case .unexpectedLayout(let why): return why
      case .countMismatch(let i, let l):
        return "the label file has \(l) labels but the image file has \(i) images"
      case .labelOutOfRange(let i, let v): return "label \(v) at index \(i) is not a digit 0...9"
      }
    }
  }

  public var description: String { "\(file): \(problem)" }
}

extension String {
  fileprivate func leftPadded(to n: Int) -> String {
    count >= n ? self : String(repeating: "0", count: n - count) + self
  }
}

/// An array read from an IDX file (the format of MNIST): element type, shape and the big-endian
/// payload. Gzip-compressed files (`.gz`, or any file starting with the gzip magic bytes) are
/// decompressed first.
public struct IDXArray: Sendable {
  /// IDX's element types (the third byte of the magic number).
  public enum ElementType: UInt8, Sendable {
    case uint8 = 0x08
    case int8 = 0x09
    case int16 = 0x0b
    case int32 = 0x0c
    case float32 = 0x0d
    case float64 = 0x0e

    /// Bytes per element.
    public var byteSize: Int {
      switch self {
      case .uint8, .int8: return 1
      case .int16: return 2
      case .int32, .float32: return 4
      case .float64: return 8
      }
    }
  }

  public let elementType: ElementType
  public let shape: [Int]
  /// The elements as stored: row-major, big-endian (a slice of the file's bytes after the header).
  public let payload: ArraySlice<UInt8>

  /// Reads and checks an IDX file, decompressing it when it is gzipped.
  public init(contentsOf url: URL) throws(IDXError) {
    let path = url.path
    let bytes: [UInt8]
    do {
      bytes = try FileIO.Reader(path: path).readAll()
    } catch {
      throw IDXError(file: path, problem: .unreadable("\(error)"))
    }
    try self.init(bytes: bytes, file: path)
  }

  /// Parses IDX bytes (gzipped or not); `file` names them in errors.
  ///
  /// A gzipped file is decoded in two steps: the header first, then the rest with the size the
  /// header describes as the limit, so a stream that inflates far past it (a "zip bomb") stops
  /// there; memory stays within what the header describes and what the data really holds.
  public init(bytes: [UInt8], file: String) throws(IDXError) {
    func fail(_ p: IDXError.Problem) -> IDXError { IDXError(file: file, problem: p) }
    var raw = bytes
    if Gzip.isGzip(bytes) {
      let layout: Layout
      do {
        let prefix = try Gzip.decompressedPrefix(bytes, count: 4 + 4 * 255)
        layout = try Layout(prefix, complete: false)
      } catch let p as IDXError.Problem {
        throw fail(p)
      } catch let p as Gzip.Problem {
        throw fail(.gzip(p))
      } catch {
        preconditionFailure("IDX: \(error)")
      }
      // one byte over the limit still decodes, to report a trailing byte as such
      let expected = layout.headerSize + layout.dataBytes
      do {
        raw = try Gzip.decompress(bytes, limit: expected + 1)
      } catch .outputLimitExceeded {
        throw fail(.inflatesTooLarge(shape: layout.shape, expectedBytes: layout.dataBytes))
      } catch {
        throw fail(.gzip(error))
      }
    }
    let layout: Layout
    do {
      layout = try Layout(raw, complete: true)
    } catch {
      throw fail(error)
    }
    elementType = layout.type
    shape = layout.shape
    payload = raw[layout.headerSize...]
  }

  /// The header's type and shape, checked against the bytes.
  private struct Layout {
    var type: ElementType
    var shape: [Int]
    var headerSize: Int
    var dataBytes: Int

    /// `complete`: `raw` is the whole file (else a prefix: only the header is checked).
    init(_ raw: [UInt8], complete: Bool) throws(IDXError.Problem) {
      guard raw.count >= 4 else { throw .headerTruncated(size: raw.count, needed: 4) }
      guard raw[0] == 0, raw[1] == 0 else { throw .badMagic(Array(raw[0..<4])) }
      guard let type = ElementType(rawValue: raw[2]) else { throw .unknownType(raw[2]) }
      let rank = Int(raw[3])
      headerSize = 4 + 4 * rank
      guard raw.count >= headerSize else {
        throw .headerTruncated(size: raw.count, needed: headerSize)
      }
      var shape: [Int] = []
      var elements = 1
      // zeros taken as ones: the largest stride of the tensor, which must fit as well
      var extent = 1
      var overflow = false
      for d in 0..<rank {
        let o = 4 + 4 * d
        let n = Int(raw[o]) << 24 | Int(raw[o + 1]) << 16 | Int(raw[o + 2]) << 8 | Int(raw[o + 3])
        shape.append(n)
        let (product, o1) = elements.multipliedReportingOverflow(by: n)
        let (x, o2) = extent.multipliedReportingOverflow(by: max(n, 1))
        elements = product
        extent = x
        overflow = overflow || o1 || o2
      }
      let (dataBytes, o3) = elements.multipliedReportingOverflow(by: type.byteSize)
      let (_, o4) = extent.multipliedReportingOverflow(by: type.byteSize)
      guard !overflow, !o3, !o4, dataBytes <= Int.max - headerSize - 1 else {
        throw .sizeOverflow(shape: shape)
      }
      self.type = type
      self.shape = shape
      self.dataBytes = dataBytes
      guard complete else { return }
      try check(raw.count - headerSize)
    }

    func check(_ actual: Int) throws(IDXError.Problem) {
      guard actual >= dataBytes else {
        throw .truncated(shape: shape, expectedBytes: dataBytes, actualBytes: actual)
      }
      guard actual == dataBytes else {
        throw .trailingBytes(shape: shape, expectedBytes: dataBytes, actualBytes: actual)
      }
    }
  }

  /// The array as a tensor: integer types become int64, float32 and float64 keep their type.
  public func tensor() -> Tensor {
    let n = shape.reduce(1, *)
    func make<T: TensorScalar>(_: T.Type, _ value: (UnsafeRawBufferPointer, Int) -> T) -> Tensor {
      let t = Tensor.empty(shape, dtype: T.dtype)
      // nothing to fill (and an empty tensor such as [2, 0] may not count as contiguous: the
      // IDX fuzzer's first crash)
      if n == 0 { return t }
      payload.withUnsafeBytes { src in
        // a fresh tensor: raw access cannot fail
        try! t.withUnsafeMutableBufferPointer(as: T.self) { dst in
          for i in 0..<n { dst[i] = value(src, i) }
        }
      }
      return t
    }
    func be<U: FixedWidthInteger>(_: U.Type, _ p: UnsafeRawBufferPointer, _ i: Int) -> U {
      U(bigEndian: p.loadUnaligned(fromByteOffset: i * MemoryLayout<U>.size, as: U.self))
    }
    switch elementType {
    case .uint8: return make(Int64.self) { p, i in Int64(p[i]) }
    case .int8: return make(Int64.self) { p, i in Int64(Int8(bitPattern: p[i])) }
    case .int16: return make(Int64.self) { p, i in Int64(be(Int16.self, p, i)) }
    case .int32: return make(Int64.self) { p, i in Int64(be(Int32.self, p, i)) }
    case .float32:
      return make(Float.self) { p, i in Float(bitPattern: be(UInt32.self, p, i)) }
    case .float64:
      return make(Double.self) { p, i in Double(bitPattern: be(UInt64.self, p, i)) }
    }
  }
}
