/// In-place arithmetic: `add_`, `sub_`, `mul_`, `div_`, `pow_` and the compound assignment
/// operators. Each op computes its result type as the out-of-place op does and stops when that
/// type cannot be written into `self` (`checkInPlaceCast(_:resultType:cppTypeNames:)`):
/// `int64 += 2.5` stops with "result type Float can't be cast to the desired output type Long".

extension Tensor {
  /// self = Op(self, other) computed in `dtype` (the op's result type, castable to self's dtype):
  /// straight into self when that is self's dtype, else out of place and converted on the copy.
  private func combine<Op: NumericBinaryOp>(
    _: Op.Type, _ other: Tensor, dtype: DType, op: String
  ) {
    if dtype == self.dtype {
      Kernel.combineInPlace(self, other, Op.self)
    } else {
      _ = Shape.broadcast(shape, other.shape, op: op)
      Kernel.copy(Tensor.numericBinary(Op.self, self, other, dtype: dtype, op: op), into: self)
    }
  }

  /// `self += other` in place (`add_`). Throws on a leaf that requires grad (outside no-grad).
  @discardableResult
  public func addInPlace(_ other: Tensor) throws -> Tensor {
    let dt = Tensor.resultType(self, other)
    checkInPlaceCast("add_", resultType: dt)
    return try inPlace(
      others: [other], direct: { combine(AddOp.self, other, dtype: dt, op: "add_") },
      differentiable: { $0 + other })
  }

  /// `self += alpha * other` in place (`add_(other, alpha=alpha)`). A floating `alpha` needs a
  /// floating result, as in PyTorch.
  @discardableResult
  public func addInPlace(_ other: Tensor, alpha: Double) throws -> Tensor {
    let dt = Tensor.resultType(self, other)
    checkInPlaceCast("add_", resultType: dt)
    precondition(
      dt.isFloatingPoint,
      "add_: For integral input tensors, argument alpha must not be a floating point number.")
    // integer operands join the float result first, so `alpha * other` is not rounded to float32
    let source = other.dtype.isFloatingPoint ? other : other.to(dt)
    return try addInPlace(alpha == 1 ? source : source * alpha)
  }

  /// `self += alpha * other` in place with an integer `alpha` (`add_(other, alpha=alpha)`).
  @discardableResult
  public func addInPlace(_ other: Tensor, alpha: Int) throws -> Tensor {
    let dt = Tensor.resultType(self, other)
    checkInPlaceCast("add_", resultType: dt)
    return try addInPlace(alpha == 1 ? other : other * alpha)
  }

  /// `self -= other` in place (`sub_`). Bool operands stop, as in PyTorch.
  @discardableResult
  public func subInPlace(_ other: Tensor) throws -> Tensor {
    Tensor.checkSubtraction("sub_", dtype, other.dtype)
    let dt = Tensor.resultType(self, other)
    checkInPlaceCast("sub_", resultType: dt)
    return try inPlace(
      others: [other], direct: { combine(SubOp.self, other, dtype: dt, op: "sub_") },
      differentiable: { $0 - other })
  }

  /// `self *= other` in place (`mul_`).
  @discardableResult
  public func mulInPlace(_ other: Tensor) throws -> Tensor {
    let dt = Tensor.resultType(self, other)
    checkInPlaceCast("mul_", resultType: dt)
    return try inPlace(
      others: [other], savesSelf: other.requiresGrad,
      direct: { combine(MulOp.self, other, dtype: dt, op: "mul_") },
      differentiable: { $0 * other })
  }

  /// `self /= other` in place (`div_`, true division): integer and bool tensors stop.
  @discardableResult
  public func divInPlace(_ other: Tensor) throws -> Tensor {
    checkInPlaceCast("div_", resultType: Tensor.floatResultType(Tensor.resultType(self, other)))
    return try inPlace(
      others: [other], savesSelf: other.requiresGrad,
      direct: { Kernel.copy(self / other, into: self) },
      differentiable: { $0 / other })
  }

  // MARK: with a number

  func addInPlace(_ s: WrappedNumber) throws -> Tensor {
    checkInPlaceCast("add_", resultType: Tensor.resultType(self, s))
    return try inPlace(direct: { Kernel.copy(add(s), into: self) }, differentiable: { $0.add(s) })
  }

  func subInPlace(_ s: WrappedNumber) throws -> Tensor {
    Tensor.checkSubtraction("sub_", dtype, nil)
    checkInPlaceCast("sub_", resultType: Tensor.resultType(self, s))
    return try inPlace(direct: { Kernel.copy(sub(s), into: self) }, differentiable: { $0.sub(s) })
  }

  func mulInPlace(_ s: WrappedNumber) throws -> Tensor {
    checkInPlaceCast("mul_", resultType: Tensor.resultType(self, s))
    return try inPlace(direct: { Kernel.copy(mul(s), into: self) }, differentiable: { $0.mul(s) })
  }

  func divInPlace(_ s: WrappedNumber) throws -> Tensor {
    checkInPlaceCast("div_", resultType: Tensor.floatResultType(Tensor.resultType(self, s)))
    return try inPlace(direct: { Kernel.copy(div(s), into: self) }, differentiable: { $0.div(s) })
  }

  func powInPlace(_ s: WrappedNumber) throws -> Tensor {
    checkInPlaceCast("pow_", resultType: Tensor.resultType(self, s))
    return try inPlace(
      savesSelf: true, direct: { Kernel.copy(pow(s), into: self) }, differentiable: { $0.pow(s) })
  }

  /// `self += s` in place (`add_`); an integer tensor stops (`s` is a Python float).
  @discardableResult
  public func addInPlace(_ s: Double) throws -> Tensor { try addInPlace(.float(s)) }
  /// `self += s` in place (`add_`).
  @discardableResult
  public func addInPlace(_ s: Int) throws -> Tensor { try addInPlace(.int(Int64(s))) }
  /// `self -= s` in place (`sub_`); an integer tensor stops.
  @discardableResult
  public func subInPlace(_ s: Double) throws -> Tensor { try subInPlace(.float(s)) }
  /// `self -= s` in place (`sub_`).
  @discardableResult
  public func subInPlace(_ s: Int) throws -> Tensor { try subInPlace(.int(Int64(s))) }
  /// `self *= s` in place (`mul_`); an integer tensor stops.
  @discardableResult
  public func mulInPlace(_ s: Double) throws -> Tensor { try mulInPlace(.float(s)) }
  /// `self *= s` in place (`mul_`).
  @discardableResult
  public func mulInPlace(_ s: Int) throws -> Tensor { try mulInPlace(.int(Int64(s))) }
  /// `self /= s` in place (`div_`, true division); integer and bool tensors stop.
  @discardableResult
  public func divInPlace(_ s: Double) throws -> Tensor { try divInPlace(.float(s)) }
  /// `self /= s` in place (`div_`, true division); integer and bool tensors stop.
  @discardableResult
  public func divInPlace(_ s: Int) throws -> Tensor { try divInPlace(.int(Int64(s))) }
  /// `self **= s` in place (`pow_`); an integer tensor stops.
  @discardableResult
  public func powInPlace(_ s: Double) throws -> Tensor { try powInPlace(.float(s)) }
  /// `self **= s` in place (`pow_`); integer tensors stay int64.
  @discardableResult
  public func powInPlace(_ s: Int) throws -> Tensor { try powInPlace(.int(Int64(s))) }

  // MARK: operators

  public static func += (a: Tensor, b: Tensor) throws { try a.addInPlace(b) }
  public static func -= (a: Tensor, b: Tensor) throws { try a.subInPlace(b) }
  public static func *= (a: Tensor, b: Tensor) throws { try a.mulInPlace(b) }
  public static func /= (a: Tensor, b: Tensor) throws { try a.divInPlace(b) }
  public static func += (a: Tensor, s: Double) throws { try a.addInPlace(s) }
  public static func -= (a: Tensor, s: Double) throws { try a.subInPlace(s) }
  public static func *= (a: Tensor, s: Double) throws { try a.mulInPlace(s) }
  public static func /= (a: Tensor, s: Double) throws { try a.divInPlace(s) }
  public static func += (a: Tensor, s: Int) throws { try a.addInPlace(s) }
  public static func -= (a: Tensor, s: Int) throws { try a.subInPlace(s) }
  public static func *= (a: Tensor, s: Int) throws { try a.mulInPlace(s) }
  public static func /= (a: Tensor, s: Int) throws { try a.divInPlace(s) }
}
