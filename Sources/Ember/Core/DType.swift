#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The element type of a tensor, chosen at run time as in PyTorch.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
  case bool
  case int64
  case float32
  case float64

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .bool: return 1
    case .int64, .float64: return 8
    case .float32: return 4
    }
  }

  public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

  /// Category used by type promotion: bool < integer < floating point.
  var category: Int {
    switch self {
    case .bool: return 0
    case .int64: return 1
    case .float32, .float64: return 2
    }
  }

  /// Rank within the promotion lattice (higher wins).
  var rank: Int {
    switch self {
    case .bool: return 0
    case .int64: return 1
    case .float32: return 2
    case .float64: return 3
    }
  }

  public var description: String { rawValue }

  /// PyTorch-style legacy type name used in autograd messages, e.g. `FloatTensor`.
  var legacyTypeName: String {
    switch self {
    case .bool: return "BoolTensor"
    case .int64: return "LongTensor"
    case .float32: return "FloatTensor"
    case .float64: return "DoubleTensor"
    }
  }

  /// The default floating-point dtype (float32), as `torch.get_default_dtype()`.
  public static let defaultFloat: DType = .float32

  /// The larger of two dtypes in PyTorch's promotion order.
  static func promote(_ a: DType, _ b: DType) -> DType { a.rank >= b.rank ? a : b }
}

/// A Swift type that can be the element of a tensor. `Float`, `Double`, `Int64` and `Bool` conform.
public protocol TensorScalar: Sendable {
  static var dtype: DType { get }
  /// Converts to Double (bool gives 0 or 1).
  var doubleValue: Double { get }
  init(fromDouble value: Double)
  static var zero: Self { get }
  static var one: Self { get }
}

/// Arithmetic element types (everything but Bool).
public protocol NumericScalar: TensorScalar, Comparable, Numeric {}

extension NumericScalar {
  /// `x + y` for generic kernels; int64 wraps on overflow, as PyTorch's integer kernels do.
  @inline(__always) static func wrappingAdd(_ x: Self, _ y: Self) -> Self {
    if Self.self == Int64.self {
      let sum = unsafeBitCast(x, to: Int64.self) &+ unsafeBitCast(y, to: Int64.self)
      return unsafeBitCast(sum, to: Self.self)
    }
    return x + y
  }

  /// `x * y` for generic kernels; int64 wraps on overflow.
  @inline(__always) static func wrappingMultiply(_ x: Self, _ y: Self) -> Self {
    if Self.self == Int64.self {
      let product = unsafeBitCast(x, to: Int64.self) &* unsafeBitCast(y, to: Int64.self)
      return unsafeBitCast(product, to: Self.self)
    }
    return x * y
  }
}

/// Floating-point element types with the math functions kernels need.
public protocol FloatScalar: NumericScalar, BinaryFloatingPoint {
  static func exp(_ x: Self) -> Self
  static func log(_ x: Self) -> Self
  static func log1p(_ x: Self) -> Self
  static func expm1(_ x: Self) -> Self
  static func sin(_ x: Self) -> Self
  static func cos(_ x: Self) -> Self
  static func tan(_ x: Self) -> Self
  static func tanh(_ x: Self) -> Self
  static func erf(_ x: Self) -> Self
  static func pow(_ x: Self, _ y: Self) -> Self
  static func sqrtValue(_ x: Self) -> Self
}

extension Float: FloatScalar {
  public static var dtype: DType { .float32 }
  @inlinable public var doubleValue: Double { Double(self) }
  @inlinable public init(fromDouble value: Double) { self.init(value) }
  public static var one: Float { 1 }
  @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
  @inlinable public static func log(_ x: Float) -> Float { logf(x) }
  @inlinable public static func log1p(_ x: Float) -> Float { log1pf(x) }
  @inlinable public static func expm1(_ x: Float) -> Float { expm1f(x) }
  @inlinable public static func sin(_ x: Float) -> Float { sinf(x) }
  @inlinable public static func cos(_ x: Float) -> Float { cosf(x) }
  @inlinable public static func tan(_ x: Float) -> Float { tanf(x) }
  @inlinable public static func tanh(_ x: Float) -> Float { tanhf(x) }
  @inlinable public static func erf(_ x: Float) -> Float { erff(x) }
  @inlinable public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
  @inlinable public static func sqrtValue(_ x: Float) -> Float { x.squareRoot() }
}

extension Double: FloatScalar {
  public static var dtype: DType { .float64 }
  @inlinable public var doubleValue: Double { self }
  @inlinable public init(fromDouble value: Double) { self = value }
  public static var one: Double { 1 }
  @inlinable public static func exp(_ x: Double) -> Double { libmExp(x) }
  @inlinable public static func log(_ x: Double) -> Double { libmLog(x) }
  @inlinable public static func log1p(_ x: Double) -> Double { libmLog1p(x) }
  @inlinable public static func expm1(_ x: Double) -> Double { libmExpm1(x) }
  @inlinable public static func sin(_ x: Double) -> Double { libmSin(x) }
  @inlinable public static func cos(_ x: Double) -> Double { libmCos(x) }
  @inlinable public static func tan(_ x: Double) -> Double { libmTan(x) }
  @inlinable public static func tanh(_ x: Double) -> Double { libmTanh(x) }
  @inlinable public static func erf(_ x: Double) -> Double { libmErf(x) }
  @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { libmPow(x, y) }
  @inlinable public static func sqrtValue(_ x: Double) -> Double { x.squareRoot() }
}

extension Int64: NumericScalar {
  public static var dtype: DType { .int64 }
  @inlinable public var doubleValue: Double { Double(self) }
  /// Truncates toward zero; NaN and values out of range give `Int64.min`, as PyTorch's cast on
  /// x86-64 (see `init(cTruncating:)`).
  @inlinable public init(fromDouble value: Double) { self.init(cTruncating: value) }
  public static var one: Int64 { 1 }

  /// C++'s `static_cast<int64_t>(value)` as x86-64 computes it (`cvttsd2si`), which is what
  /// PyTorch's CPU kernels give: truncation toward zero, and `Int64.min` (the "integer
  /// indefinite" value) for NaN, infinities and values outside the range of Int64. Never traps.
  @inlinable init(cTruncating value: Double) {
    // -2^63 is exact in Double; the next Double below it is 2048 lower, so this is exact
    self = value >= -0x1p63 && value < 0x1p63 ? Int64(value) : .min
  }

  /// `init(cTruncating:)` for a Float (`cvttss2si`).
  @inlinable init(cTruncating value: Float) {
    self = value >= -0x1p63 && value < 0x1p63 ? Int64(value) : .min
  }
}

extension Bool: TensorScalar {
  public static var dtype: DType { .bool }
  @inlinable public var doubleValue: Double { self ? 1 : 0 }
  @inlinable public init(fromDouble value: Double) { self = value != 0 }
  public static var zero: Bool { false }
  public static var one: Bool { true }
}

// Free-function wrappers so the static requirements above can call the C library's double functions
// without recursing into themselves.
@usableFromInline func libmExp(_ x: Double) -> Double { exp(x) }
@usableFromInline func libmLog(_ x: Double) -> Double { log(x) }
@usableFromInline func libmLog1p(_ x: Double) -> Double { log1p(x) }
@usableFromInline func libmExpm1(_ x: Double) -> Double { expm1(x) }
@usableFromInline func libmSin(_ x: Double) -> Double { sin(x) }
@usableFromInline func libmCos(_ x: Double) -> Double { cos(x) }
@usableFromInline func libmTan(_ x: Double) -> Double { tan(x) }
@usableFromInline func libmTanh(_ x: Double) -> Double { tanh(x) }
@usableFromInline func libmErf(_ x: Double) -> Double { erf(x) }
@usableFromInline func libmPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
