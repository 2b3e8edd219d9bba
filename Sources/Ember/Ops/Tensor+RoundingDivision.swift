/// How ``Tensor/div(_:roundingMode:)`` rounds the quotient (PyTorch's `rounding_mode=`).
public enum RoundingMode: String, Sendable {
  /// Toward zero, as C's integer division (`'trunc'`).
  case trunc
  /// Toward negative infinity, as Python's `//` (`'floor'`).
  case floor
}

/// Rounded division and the remainder (`torch.div(a, b, rounding_mode=)`, `//`, `%`).
///
/// Unlike true division, these keep integer dtypes, and an integer divided by zero stops with
/// PyTorch's error, `ZeroDivisionError`. Floating-point division by zero gives inf or NaN as
/// true division does.
extension Tensor {
  /// The message PyTorch raises (as RuntimeError) for an integer division by zero.
  static let zeroDivisionMessage = "ZeroDivisionError"

  /// Elementwise division rounded toward zero or toward negative infinity, with broadcasting
  /// (`torch.div(self, other, rounding_mode=...)`; `floor` is Python's `//`). The result has the
  /// promoted dtype of the operands (integers stay integers). The gradient is zero
  /// (`DivBackward2`), as PyTorch's.
  public func div(_ other: Tensor, roundingMode: RoundingMode) -> Tensor {
    let dt = Tensor.resultType(self, other)
    let op = roundingMode == .floor ? "div_floor_cpu" : "div_trunc_cpu"
    precondition(dt != .bool, "\(op): \"\(op)\" not implemented for 'Bool'")
    let a = to(dt)
    let b = other.to(dt)
    let out = Tensor(uninitializedShape: Shape.broadcast(a.shape, b.shape, op: "div"), dtype: dt)
    switch (dt, roundingMode) {
    case (.int64, _):
      Tensor.checkNoIntegerZero(b)
      let floor = roundingMode == .floor
      Kernel.apply(into: out, a, b) { (x: Int64, y: Int64) -> Int64 in
        // Int64.min / -1 wraps to Int64.min, as PyTorch's C++ kernel
        let q = x.dividedReportingOverflow(by: y).partialValue
        let r = x.remainderReportingOverflow(dividingBy: y).partialValue
        return floor && r != 0 && ((x < 0) != (y < 0)) ? q &- 1 : q
      }
    case (.float32, .floor):
      Kernel.apply(into: out, a, b) { (x: Float, y: Float) in Tensor.floorDivide(x, y) }
    case (.float64, .floor):
      Kernel.apply(into: out, a, b) { (x: Double, y: Double) in Tensor.floorDivide(x, y) }
    case (.float32, .trunc):
      Kernel.apply(into: out, a, b) { (x: Float, y: Float) in (x / y).rounded(.towardZero) }
    case (.float64, .trunc):
      Kernel.apply(into: out, a, b) { (x: Double, y: Double) in (x / y).rounded(.towardZero) }
    default:
      preconditionFailure("\(op): \"\(op)\" not implemented for '\(dt)'")
    }
    if Tensor.needsGrad(self, other) {
      Tensor.record("DivBackward2", inputs: [self, other], outputs: [out]) { ctx in
        let zero = Tensor.zeros(ctx.grad.shape, dtype: ctx.grad.dtype)
        return [ctx.needsInputGrad(0) ? zero : nil, ctx.needsInputGrad(1) ? zero : nil]
      }
    }
    return out
  }

  /// ``div(_:roundingMode:)`` by an integer (the result keeps this tensor's dtype).
  public func div(_ s: Int, roundingMode: RoundingMode) -> Tensor {
    div(
      Tensor.full([], Double(s), dtype: dtype == .bool ? .int64 : dtype), roundingMode: roundingMode
    )
  }

  /// Python's `//`: ``div(_:roundingMode:)`` with `.floor` (`torch.floor_divide`).
  public func floorDivide(_ other: Tensor) -> Tensor { div(other, roundingMode: .floor) }

  /// The remainder with the sign of the divisor, as Python's `%` (`torch.remainder`), with
  /// broadcasting. Gradients: `grad` for `self`, `-grad * floor(self / other)` for `other`
  /// (`RemainderBackward1`).
  public func remainder(_ other: Tensor) -> Tensor {
    let dt = Tensor.resultType(self, other)
    precondition(dt != .bool, "remainder_cpu: \"remainder_cpu\" not implemented for 'Bool'")
    let a = to(dt)
    let b = other.to(dt)
    let out = Tensor(
      uninitializedShape: Shape.broadcast(a.shape, b.shape, op: "remainder"), dtype: dt)
    switch dt {
    case .int64:
      Tensor.checkNoIntegerZero(b)
      Kernel.apply(into: out, a, b) { (x: Int64, y: Int64) -> Int64 in
        let r = x.remainderReportingOverflow(dividingBy: y).partialValue
        return r != 0 && ((r < 0) != (y < 0)) ? r &+ y : r
      }
    case .float32:
      Kernel.apply(into: out, a, b) { (x: Float, y: Float) in Tensor.floatRemainder(x, y) }
    case .float64:
      Kernel.apply(into: out, a, b) { (x: Double, y: Double) in Tensor.floatRemainder(x, y) }
    case .bool: preconditionFailure("unreachable")
    }
    if Tensor.needsGrad(self, other) {
      let needB = other.requiresGrad
      Tensor.record(
        "RemainderBackward1", inputs: [self, other], outputs: [out],
        saving: needB ? [self, other] : []
      ) { ctx in
        [
          ctx.needsInputGrad(0) ? ctx.grad : nil,
          ctx.needsInputGrad(1)
            ? try -ctx.grad * ctx.saved(0).detach().div(ctx.saved(1).detach(), roundingMode: .floor)
            : nil,
        ]
      }
    }
    return out
  }

  /// Python's `%` on tensors (``remainder(_:)``).
  public static func % (a: Tensor, b: Tensor) -> Tensor { a.remainder(b) }

  /// Stops with PyTorch's error when an integer divisor holds a zero.
  static func checkNoIntegerZero(_ divisor: Tensor) {
    let c = divisor.contiguousCopyIfNeeded()
    let p = c.basePointer(Int64.self)
    let hasZero = withExtendedLifetime(c) {
      UnsafeBufferPointer(start: p, count: c.count).contains(0)
    }
    precondition(!hasZero, zeroDivisionMessage)
  }

  /// PyTorch's floor division of floats (c10's `div_floor_floating`): exact for quotients
  /// that are integers, `a / b` for a zero divisor, a signed zero for a zero quotient.
  @inline(__always)
  static func floorDivide<T: FloatScalar>(_ a: T, _ b: T) -> T {
    if b == 0 { return a / b }
    let mod = a.truncatingRemainder(dividingBy: b)
    var div = (a - mod) / b
    if mod != 0 && (b < 0) != (mod < 0) { div -= 1 }
    if div == 0 { return T(signOf: a / b, magnitudeOf: 0) }
    var floored = div.rounded(.down)
    if div - floored > 0.5 { floored += 1 }
    return floored
  }

  /// PyTorch's remainder of floats: fmod, moved to the divisor's sign.
  @inline(__always)
  static func floatRemainder<T: FloatScalar>(_ a: T, _ b: T) -> T {
    var mod = a.truncatingRemainder(dividingBy: b)
    if mod != 0 && (b < 0) != (mod < 0) { mod += b }
    return mod
  }
}
