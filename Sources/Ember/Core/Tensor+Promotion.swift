/// Type promotion (PyTorch's `result_type`) and the casting rule of in-place ops (`can_cast`).
///
/// PyTorch sorts the operands of an op into three groups, by priority: tensors with at least one
/// dimension, 0-d tensors, and "wrapped numbers" (Python numbers, here Swift numbers). Each group
/// promotes within itself; a lower-priority group only changes the result when its category
/// (bool < integer < floating point) is higher. So `int64 tensor + 2.5` is float32 (the default
/// float dtype: the number is a Python float), `float32 tensor + 0-d float64 tensor` stays float32,
/// but `int64 tensor + 0-d float64 tensor` is float64.

/// A Swift number used as an operand (PyTorch's wrapped number): an `Int` is a Python int and a
/// `Double` a Python float.
enum WrappedNumber {
  case int(Int64)
  case float(Double)

  /// The dtype the number brings to type promotion: int64 for an integer, the default float dtype
  /// for a float.
  var dtype: DType {
    switch self {
    case .int: return .int64
    case .float: return .defaultFloat
    }
  }

  var isFloat: Bool {
    if case .float = self { return true }
    return false
  }

  /// The value as a Double (rounded for integers beyond 2^53).
  var doubleValue: Double {
    switch self {
    case .int(let i): return Double(i)
    case .float(let d): return d
    }
  }

  /// The value converted to `T` as PyTorch's kernels read a scalar operand (C++ `static_cast`:
  /// integers round to nearest floats directly, floats truncate to integers, see
  /// `Int64(cTruncating:)`).
  @inline(__always)
  func value<T: TensorScalar>(as _: T.Type) -> T {
    switch self {
    case .int(let i):
      if T.self == Float.self { return Float(i) as! T }
      if T.self == Double.self { return Double(i) as! T }
      if T.self == Int64.self { return i as! T }
      return (i != 0) as! T
    case .float(let d):
      if T.self == Float.self { return Float(d) as! T }
      if T.self == Double.self { return d as! T }
      if T.self == Int64.self { return Int64(cTruncating: d) as! T }
      return (d != 0) as! T
    }
  }
}

extension DType {
  /// PyTorch's `combine_categories`: `higher` comes from the group of higher priority. A floating
  /// `higher` wins; otherwise the lower group counts only when `higher` is bool or the lower one
  /// is floating point.
  static func combineCategories(_ higher: DType?, _ lower: DType?) -> DType? {
    guard let higher else { return lower }
    guard let lower else { return higher }
    if higher.isFloatingPoint { return higher }
    if higher == .bool || lower.isFloatingPoint { return promote(higher, lower) }
    return higher
  }

  /// Whether an op whose result type is `from` may write into a tensor of dtype `to` (PyTorch's
  /// `canCast`): floats do not go into integer tensors, and only bool goes into bool tensors.
  /// Every in-place op checks it through `checkInPlaceCast(_:resultType:cppTypeNames:)`;
  /// `copy(from:)` and `fill(_:)` convert freely, as `copy_` and `fill_` do.
  static func canCast(from: DType, to: DType) -> Bool {
    if from.isFloatingPoint && to == .int64 { return false }
    if from != .bool && to == .bool { return false }
    return true
  }
}

/// The dtypes of an op's operands sorted into PyTorch's three priority groups.
struct ResultTypeState {
  var dimResult: DType? = nil
  var zeroResult: DType? = nil
  var wrappedResult: DType? = nil

  mutating func update(_ t: Tensor) {
    if t.rank > 0 {
      dimResult = dimResult.map { DType.promote($0, t.dtype) } ?? t.dtype
    } else {
      zeroResult = zeroResult.map { DType.promote($0, t.dtype) } ?? t.dtype
    }
  }

  mutating func update(_ n: WrappedNumber) {
    wrappedResult = wrappedResult.map { DType.promote($0, n.dtype) } ?? n.dtype
  }

  /// PyTorch's `result_type(state)`.
  var result: DType {
    DType.combineCategories(
      dimResult, DType.combineCategories(zeroResult, wrappedResult)) ?? .defaultFloat
  }
}

extension Tensor {
  /// PyTorch's result type of an op on two tensors (`torch.result_type(a, b)`).
  @inline(__always)
  static func resultType(_ a: Tensor, _ b: Tensor) -> DType {
    a.dtype == b.dtype ? a.dtype : mixedResultType(a, b)
  }

  private static func mixedResultType(_ a: Tensor, _ b: Tensor) -> DType {
    var state = ResultTypeState()
    state.update(a)
    state.update(b)
    return state.result
  }

  /// PyTorch's result type of an op on a tensor and a Swift number (`torch.result_type(a, 2.5)`).
  @inline(__always)
  static func resultType(_ a: Tensor, _ s: WrappedNumber) -> DType {
    // a tensor alone in its group: combine(a, wrapped) whether a is 0-d or not
    DType.combineCategories(a.dtype, s.dtype)!
  }

  /// Result type for a tensor and a Swift number of the given kind.
  static func resultType(_ a: Tensor, scalarIsFloat: Bool) -> DType {
    resultType(a, scalarIsFloat ? .float(0) : .int(0))
  }

  /// The result type of true division and other ops that promote integer inputs to the default
  /// float dtype (`div`, `exp`, ...).
  static func floatResultType(_ dtype: DType) -> DType {
    dtype.isFloatingPoint ? dtype : .defaultFloat
  }

  /// Stops an in-place op (`op`, e.g. `"add_"`) whose result type cannot be written into this
  /// tensor, with PyTorch's message ("result type Float can't be cast to the desired output type
  /// Long"). `cppTypeNames` spells the output type as `clamp_` does ("long int", "bool").
  ///
  /// A precondition, not a thrown error: dtype errors stop the program in Ember, like shape errors,
  /// and the check runs before anything is written.
  func checkInPlaceCast(_ op: String, resultType: DType, cppTypeNames: Bool = false) {
    guard !DType.canCast(from: resultType, to: dtype) else { return }
    let output = cppTypeNames ? dtype.cppTypeName : Tensor.scalarTypeName(dtype)
    preconditionFailure(
      "\(op): result type \(Tensor.scalarTypeName(resultType)) can't be cast to the desired output type \(output)"
    )
  }
}

extension DType {
  /// The C++ type name PyTorch prints in some messages (`long int`, `bool`, `float`, `double`).
  var cppTypeName: String {
    switch self {
    case .bool: return "bool"
    case .int64: return "long int"
    case .float32: return "float"
    case .float64: return "double"
    }
  }
}
