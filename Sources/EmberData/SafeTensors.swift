#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// safetensors files (huggingface/safetensors): an 8-byte little-endian header length, a JSON
/// header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
///
/// ```swift
/// try SafeTensors.save(model.stateDict(), to: url)                 // __metadata__ {"format":"pt"}
/// let weights = try SafeTensors.load(from: url)                    // a StateDict
/// let file = try SafeTensors.File(contentsOf: url)                 // header only: names, metadata
/// ```
///
/// Reading validates the file as the reference reader does before allocating anything for its
/// tensors: the header length against the limit and the file size, well-formed UTF-8 JSON, known
/// dtypes, non-negative integer shapes, offsets that are sorted, contiguous from 0 and without
/// gaps or overlaps, each tensor's byte size equal to its element count times its dtype's size,
/// and data that covers the rest of the file exactly. Duplicate names are refused too. Every
/// problem throws a ``SafeTensorsError`` naming the file.
///
/// Ember's tensors are float32, float64, int64 and bool; F16/BF16 load when `convertingHalfTo:`
/// names a floating-point dtype, and I32/I16/I8/U8 (and U16/U32) when `convertingIntegersTo:` is
/// `.int64`. Saving writes F32, F64, I64 and BOOL, atomically.
public enum SafeTensors {
  /// The reference reader's limit on the header length.
  public static let maximumHeaderSize = 100_000_000

  /// safetensors' element types, in the format's order (increasing alignment; the writer sorts
  /// tensors by it, descending, then by name).
  public enum DType: String, CaseIterable, Sendable, Comparable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3Fnuz = "F8_E4M3FNUZ"
    case f8E5M2Fnuz = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element.
    public var bitSize: Int {
      switch self {
      case .f4: return 4
      case .f6E2M3, .f6E3M2: return 6
      case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3Fnuz, .f8E5M2Fnuz: return 8
      case .i16, .u16, .f16, .bf16: return 16
      case .i32, .u32, .f32: return 32
      case .c64, .f64, .i64, .u64: return 64
      }
    }

    var order: Int { DType.allCases.firstIndex(of: self)! }

    public static func < (a: DType, b: DType) -> Bool { a.order < b.order }

    /// The safetensors dtype Ember writes for one of its tensor dtypes.
    public init(_ dtype: Ember.DType) {
      switch dtype {
      case .float32: self = .f32
      case .float64: self = .f64
      case .int64: self = .i64
      case .bool: self = .bool
      }
    }
  }

  /// One tensor's entry in the header.
  public struct TensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range within the data section (after the header).
    public let dataOffsets: Range<Int>
  }

  /// An open safetensors file whose header has been read and validated; tensors are read on
  /// demand.
  public final class File {
    /// The file's path.
    public let path: String
    /// The `__metadata__` map (empty when the file has none).
    public let metadata: [String: String]
    /// Whether the header has a `__metadata__` entry at all.
    public let hasMetadata: Bool
    /// The tensors in data order (the order `safetensors.torch.load_file` returns them in).
    public let tensors: [TensorInfo]
    /// The header's length in bytes (N).
    public let headerSize: Int
    private let reader: FileIO.Reader

    /// Opens `url` and validates its header against the file's actual size.
    public convenience init(contentsOf url: URL) throws(SafeTensorsError) {
      try self.init(path: url.path)
    }

    init(path: String) throws(SafeTensorsError) {
      self.path = path
      func fail(_ p: SafeTensorsError.Problem) -> SafeTensorsError {
        SafeTensorsError(file: path, problem: p)
      }
      do {
        reader = try FileIO.Reader(path: path)
      } catch {
        throw fail(.unreadable("\(error)"))
      }
      let size = reader.size
      guard size >= 8 else { throw fail(.headerTooSmall(fileSize: size)) }
      let lengthBytes: [UInt8]
      do {
        lengthBytes = try reader.bytes(count: 8, at: 0)
      } catch {
        throw fail(.unreadable("\(error)"))
      }
      let n = lengthBytes.enumerated().reduce(UInt64(0)) {
        $0 | UInt64($1.element) << (8 * $1.offset)
      }
      guard n <= UInt64(SafeTensors.maximumHeaderSize) else {
        throw fail(.headerTooLarge(headerSize: n))
      }
      guard Int(n) <= size - 8 else {
        throw fail(.invalidHeaderLength(headerSize: n, fileSize: size))
      }
      headerSize = Int(n)
      let headerBytes: [UInt8]
      do {
        headerBytes = try reader.bytes(count: headerSize, at: 8)
      } catch {
        throw fail(.unreadable("\(error)"))
      }
      let header: Header
      do {
        header = try Header(headerBytes)
      } catch let p as SafeTensorsError.Problem {
        throw fail(p)
      } catch {
        throw fail(.invalidJSON("\(error)"))
      }
      // the offsets may add up past Int.max (each tensor's size fits, not their sum)
      let (expected, o) = (8 + headerSize).addingReportingOverflow(header.dataSize)
      guard !o else { throw fail(.truncated(expectedSize: .max, fileSize: size)) }
      guard expected <= size else { throw fail(.truncated(expectedSize: expected, fileSize: size)) }
      guard expected == size else { throw fail(.trailingBytes(count: size - expected)) }
      metadata = header.metadata ?? [:]
      hasMetadata = header.metadata != nil
      tensors = header.tensors
    }

    /// The tensor names in data order.
    public var names: [String] { tensors.map(\.name) }

    /// Reads one tensor.
    /// - Parameters:
    ///   - convertingHalfTo: `.float32` or `.float64` to load F16 and BF16 tensors converted
    ///     (exactly); nil refuses them.
    ///   - convertingIntegersTo: `.int64` to load I32, I16, I8, U8, U16 and U32 tensors
    ///     converted (exactly); nil refuses them.
    public func tensor(
      named name: String, convertingHalfTo half: Ember.DType? = nil,
      convertingIntegersTo integers: Ember.DType? = nil
    ) throws(SafeTensorsError) -> Tensor {
      guard let info = tensors.first(where: { $0.name == name }) else {
        throw SafeTensorsError(
          file: path, problem: .invalidHeader("no tensor named '\(name)' in the file"))
      }
      let target = try targetDType(info, half: half, integers: integers)
      return try read(info, as: target)
    }

    /// Reads every tensor, in data order; checks first that each one can be loaded, so a refused
    /// dtype throws before anything is read.
    public func stateDict(
      convertingHalfTo half: Ember.DType? = nil, convertingIntegersTo integers: Ember.DType? = nil
    ) throws(SafeTensorsError) -> StateDict {
      var targets: [Ember.DType] = []
      for info in tensors { targets.append(try targetDType(info, half: half, integers: integers)) }
      var out = StateDict()
      for (info, target) in zip(tensors, targets) { out[info.name] = try read(info, as: target) }
      return out
    }

    private func targetDType(_ info: TensorInfo, half: Ember.DType?, integers: Ember.DType?)
      throws(SafeTensorsError) -> Ember.DType
    {
      func refuse(_ hint: String) -> SafeTensorsError {
        SafeTensorsError(
          file: path,
          problem: .unsupportedDType(tensor: info.name, dtype: info.dtype.rawValue, hint: hint))
      }
      switch info.dtype {
      case .f32: return .float32
      case .f64: return .float64
      case .i64: return .int64
      case .bool: return .bool
      case .f16, .bf16:
        guard let half else {
          throw refuse(
            "Ember has no \(info.dtype) tensors; pass convertingHalfTo: .float32 to convert it on load"
          )
        }
        guard half.isFloatingPoint else {
          throw refuse("convertingHalfTo must be .float32 or .float64, got .\(half)")
        }
        return half
      case .i32, .i16, .i8, .u8, .u16, .u32:
        guard let integers else {
          throw refuse(
            "Ember's integer tensors are int64; pass convertingIntegersTo: .int64 to convert it on load"
          )
        }
        guard integers == .int64 else {
          throw refuse("convertingIntegersTo must be .int64, got .\(integers)")
        }
        return .int64
      default:
        throw refuse("Ember cannot represent this dtype")
      }
    }

    private func read(_ info: TensorInfo, as target: Ember.DType) throws(SafeTensorsError)
      -> Tensor
    {
      let count = info.shape.reduce(1, *)
      let t = Tensor.empty(info.shape, dtype: target)
      if count == 0 { return t }
      let offset = 8 + headerSize + info.dataOffsets.lowerBound
      let byteCount = info.dataOffsets.count
      do {
        switch (info.dtype, target) {
        case (.f32, .float32), (.f64, .float64), (.i64, .int64):
          try fillDirect(t, target, count: byteCount, at: offset)
        default:
          let raw = try reader.bytes(count: byteCount, at: offset)
          try raw.withUnsafeBytes { src in
            try SafeTensors.convert(src, from: info.dtype, into: t, count: count)
          }
        }
      } catch let e as SafeTensorsError {
        throw e
      } catch {
        throw SafeTensorsError(file: path, problem: .unreadable("\(error)"))
      }
      return t
    }

    private func fillDirect(_ t: Tensor, _ dtype: Ember.DType, count: Int, at offset: Int) throws {
      func fill<T: TensorScalar>(_: T.Type) throws {
        try t.withUnsafeMutableBufferPointer(as: T.self) { dst in
          if count > 0 {
            try reader.read(
              into: UnsafeMutableRawPointer(dst.baseAddress!), count: count, at: offset)
          }
        }
        #if _endian(big)
          try t.withUnsafeMutableBufferPointer(as: T.self) { dst in
            for i in dst.indices { dst[i] = SafeTensors.byteSwapped(dst[i]) }
          }
        #endif
      }
      switch dtype {
      case .float32: try fill(Float.self)
      case .float64: try fill(Double.self)
      case .int64: try fill(Int64.self)
      case .bool: try fill(Bool.self)
      }
    }
  }

  // MARK: loading and saving

  /// Every tensor of the file at `url`, in data order (`safetensors.torch.load_file`).
  /// See ``File/tensor(named:convertingHalfTo:convertingIntegersTo:)`` for the conversions.
  public static func load(
    from url: URL, convertingHalfTo half: Ember.DType? = nil,
    convertingIntegersTo integers: Ember.DType? = nil
  ) throws(SafeTensorsError) -> StateDict {
    try File(contentsOf: url).stateDict(convertingHalfTo: half, convertingIntegersTo: integers)
  }

  /// The `__metadata__` map of the file at `url` (read from the header only).
  public static func metadata(of url: URL) throws(SafeTensorsError) -> [String: String] {
    try File(contentsOf: url).metadata
  }

  // MARK: element conversion

  /// Converts little-endian elements of `dtype` into the tensor's dtype.
  static func convert(
    _ src: UnsafeRawBufferPointer, from dtype: DType, into t: Tensor, count: Int
  ) throws {
    func fill<T: TensorScalar>(_: T.Type, _ value: (Int) -> T) throws {
      try t.withUnsafeMutableBufferPointer(as: T.self) { dst in
        for i in 0..<count { dst[i] = value(i) }
      }
    }
    func le<U: FixedWidthInteger>(_: U.Type, _ i: Int) -> U {
      U(littleEndian: src.loadUnaligned(fromByteOffset: i * MemoryLayout<U>.size, as: U.self))
    }
    switch (dtype, t.dtype) {
    case (.bool, .bool): try fill(Bool.self) { src[$0] != 0 }
    case (.f16, .float32): try fill(Float.self) { halfToFloat(le(UInt16.self, $0)) }
    case (.f16, .float64): try fill(Double.self) { Double(halfToFloat(le(UInt16.self, $0))) }
    case (.bf16, .float32): try fill(Float.self) { bfloat16ToFloat(le(UInt16.self, $0)) }
    case (.bf16, .float64): try fill(Double.self) { Double(bfloat16ToFloat(le(UInt16.self, $0))) }
    case (.i32, .int64): try fill(Int64.self) { Int64(le(Int32.self, $0)) }
    case (.u32, .int64): try fill(Int64.self) { Int64(le(UInt32.self, $0)) }
    case (.i16, .int64): try fill(Int64.self) { Int64(le(Int16.self, $0)) }
    case (.u16, .int64): try fill(Int64.self) { Int64(le(UInt16.self, $0)) }
    case (.i8, .int64): try fill(Int64.self) { Int64(Int8(bitPattern: src[$0])) }
    case (.u8, .int64): try fill(Int64.self) { Int64(src[$0]) }
    case (.f32, .float32): try fill(Float.self) { Float(bitPattern: le(UInt32.self, $0)) }
    case (.f64, .float64): try fill(Double.self) { Double(bitPattern: le(UInt64.self, $0)) }
    case (.i64, .int64): try fill(Int64.self) { le(Int64.self, $0) }
    default: preconditionFailure("SafeTensors.convert: \(dtype) to \(t.dtype) is not a conversion")
    }
  }

  /// IEEE binary16 to binary32 (exact; NaN payloads kept as PyTorch's conversion keeps them).
  static func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = UInt32(h >> 10) & 0x1f
    let mantissa = UInt32(h) & 0x3ff
    if exponent == 0 {
      // zero or subnormal: mantissa x 2^-24, exact in float32
      let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
      return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | mantissa << 13) }
    return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
  }

  /// bfloat16 to binary32: the upper half of a float32.
  static func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

  #if _endian(big)
    static func byteSwapped<T>(_ v: T) -> T {
      var v = v
      withUnsafeMutableBytes(of: &v) { $0.reverse() }
      return v
    }
  #endif
}
