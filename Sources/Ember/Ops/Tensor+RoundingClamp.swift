/// Sign, magnitude, rounding and bounds: `abs`, `sign`, `floor`, `clamp`, `maximum`, ...

extension Tensor {
  // MARK: sign, magnitude, rounding (integer tensors keep their dtype)

  /// Absolute value (`abs`); the gradient at 0 is 0.
  public func abs() -> Tensor {
    let out = mapNumeric("abs", { $0.magnitude }, { $0.magnitude }, { $0 < 0 ? 0 &- $0 : $0 })
    if Tensor.needsGrad(self) {
      Tensor.record("AbsBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        try [ctx.grad * ctx.saved(0).sign()]
      }
    }
    return out
  }

  /// -1, 0 or 1 by the sign of each element (`sign`); 0 for NaN; zero gradient.
  public func sign() -> Tensor {
    if dtype == .bool { return detach().clone() }
    let out = mapNumeric(
      "sign", { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }, { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) },
      { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
    if Tensor.needsGrad(self) {
      Tensor.record("SignBackward0", inputs: [self], outputs: [out]) { ctx in
        [Tensor.zeros(like: ctx.grad)]
      }
    }
    return out
  }

  /// x * x (`square`); bool tensors give int64.
  public func square() -> Tensor {
    if dtype == .bool { return to(.int64).square() }
    let out = mapNumeric("square", { $0 * $0 }, { $0 * $0 }, { $0 &* $0 })
    if Tensor.needsGrad(self) {
      Tensor.record("PowBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        try [ctx.grad * ctx.saved(0) * 2]
      }
    }
    return out
  }

  /// Rounds down (`floor`); zero gradient.
  public func floor() -> Tensor {
    roundingOp("floor", "FloorBackward0", .down)
  }

  /// Rounds up (`ceil`); zero gradient.
  public func ceil() -> Tensor {
    roundingOp("ceil", "CeilBackward0", .up)
  }

  /// Rounds to the nearest integer, halves to even (`round`); zero gradient.
  public func round() -> Tensor {
    roundingOp("round", "RoundBackward0", .toNearestOrEven)
  }

  private func roundingOp(_ op: String, _ node: String, _ rule: FloatingPointRoundingRule)
    -> Tensor
  {
    let out = mapNumeric(op, { $0.rounded(rule) }, { $0.rounded(rule) }, { $0 })
    if Tensor.needsGrad(self) {
      Tensor.record(node, inputs: [self], outputs: [out]) { ctx in
        [Tensor.zeros(like: ctx.grad)]
      }
    }
    return out
  }

  // MARK: clamp, maximum, minimum

  /// The dtype of `clamp` with these bounds (a non-integral bound makes integer tensors float).
  private func clampResultType(_ lo: Double?, _ hi: Double?) -> DType {
    let isFloat = (lo.map { !$0.isIntegral } ?? false) || (hi.map { !$0.isIntegral } ?? false)
    return Tensor.resultType(self, scalarIsFloat: isFloat)
  }

  /// Limits each element to `[min, max]` (`clamp`); either bound may be omitted. When
  /// `min > max` every element becomes `max`. NaN stays NaN. The gradient passes where
  /// `min < x < max` and is 0 at the bounds, as PyTorch's scalar-bound clamp.
  public func clamp(min lo: Double? = nil, max hi: Double? = nil) -> Tensor {
    precondition(
      lo != nil || hi != nil, "torch.clamp: At least one of 'min' or 'max' must not be None")
    let dt = clampResultType(lo, hi)
    let src = dtype == dt ? self : to(dt)
    let out = Tensor(uninitializedShape: shape, dtype: dt)
    Tensor.clampKernel(src, into: out, lo, hi)
    if Tensor.needsGrad(self) {
      Tensor.record("ClampBackward1", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let mask = try Tensor.clampGradientMask(ctx.saved(0), lo, hi)
        return [Tensor.where(mask, ctx.grad, ctx.grad.zeroScalar)]
      }
    }
    return out
  }

  /// Where clamp's gradient passes: lo < x < hi, compared in x's dtype as PyTorch does.
  static func clampGradientMask(_ x: Tensor, _ lo: Double?, _ hi: Double?) -> Tensor {
    let (hasLo, hasHi) = (lo != nil, hi != nil)
    func run<T: FloatScalar>(_: T.Type) -> Tensor {
      let a = T(fromDouble: lo ?? 0)
      let b = T(fromDouble: hi ?? 0)
      return Kernel.map(x) { (v: T) -> Bool in (!hasLo || v > a) && (!hasHi || v < b) }
    }
    return x.dtype == .float32 ? run(Float.self) : run(Double.self)
  }

  /// Writes min(max(x, lo), hi) of `src` into `out` (both of one dtype); a missing bound is the
  /// type's extreme. NaN stays NaN; with lo > hi every element becomes hi.
  static func clampKernel(_ src: Tensor, into out: Tensor, _ lo: Double?, _ hi: Double?) {
    @inline(__always) func run<T: NumericScalar>(_: T.Type, lowest: T, highest: T) {
      let a = lo.map { T(fromDouble: $0) } ?? lowest
      let b = hi.map { T(fromDouble: $0) } ?? highest
      Kernel.apply(into: out, src) { (x: T) -> T in
        let y = x < a ? a : x
        return y > b ? b : y
      }
    }
    switch src.dtype {
    case .float32: run(Float.self, lowest: -.infinity, highest: .infinity)
    case .float64: run(Double.self, lowest: -.infinity, highest: .infinity)
    case .int64: run(Int64.self, lowest: .min, highest: .max)
    case .bool:
      preconditionFailure("clamp: \"clamp_cpu\" not implemented for 'Bool' (shape \(src.shape))")
    }
  }

  /// Elementwise maximum with broadcasting (`torch.maximum`); NaN propagates. Where the two are
  /// equal each receives half the gradient.
  public func maximum(_ other: Tensor) -> Tensor {
    Tensor.extremum(self, other, isMax: true)
  }

  /// Elementwise minimum with broadcasting (`torch.minimum`); NaN propagates. Where the two are
  /// equal each receives half the gradient.
  public func minimum(_ other: Tensor) -> Tensor {
    Tensor.extremum(self, other, isMax: false)
  }

  private static func extremum(_ a: Tensor, _ b: Tensor, isMax: Bool) -> Tensor {
    let op = isMax ? "maximum" : "minimum"
    let dt = resultType(a, b)
    let x = a.to(dt)
    let y = b.to(dt)
    // x wins on ties (matters for -0.0 vs 0.0, as in PyTorch); x != x detects NaN
    @inline(__always) func pick<T: TensorScalar & Comparable>(_ p: T, _ q: T) -> T {
      if isMax { return (p >= q || p != p) ? p : q }
      return (p <= q || p != p) ? p : q
    }
    let out: Tensor
    switch dt {
    case .float32: out = Kernel.zip(x, y, op: op) { (p: Float, q: Float) in pick(p, q) }
    case .float64: out = Kernel.zip(x, y, op: op) { (p: Double, q: Double) in pick(p, q) }
    case .int64: out = Kernel.zip(x, y, op: op) { (p: Int64, q: Int64) in pick(p, q) }
    case .bool:
      out = Kernel.zip(x, y, op: op) { (p: Bool, q: Bool) in isMax ? (p || q) : (p && q) }
    }
    if needsGrad(a, b) {
      record(
        isMax ? "MaximumBackward0" : "MinimumBackward0", inputs: [a, b], outputs: [out],
        saving: [a, b]
      ) { ctx in
        let g = ctx.grad
        let w = try Tensor.extremumWeights(ctx.saved(0), ctx.saved(1), isMax: isMax, dtype: g.dtype)
        return [
          ctx.needsInputGrad(0) ? (g * w) : nil,
          ctx.needsInputGrad(1) ? (g * (1 - w)) : nil,
        ]
      }
    }
    return out
  }

  /// The share of the gradient that goes to `a` in maximum/minimum: 1 where `a` wins, 0.5 on
  /// ties, 0 where `b` wins (a constant: no history).
  private static func extremumWeights(_ a: Tensor, _ b: Tensor, isMax: Bool, dtype: DType)
    -> Tensor
  {
    let ct = resultType(a, b)
    let x = a.detach().to(ct)
    let y = b.detach().to(ct)
    func weights<T: NumericScalar, R: FloatScalar>(_: T.Type, _: R.Type) -> Tensor {
      Kernel.zip(x, y, op: isMax ? "maximum" : "minimum") { (p: T, q: T) -> R in
        if p == q { return 0.5 }
        return (isMax ? p > q : p < q) ? 1 : 0
      }
    }
    switch (ct, dtype) {
    case (.float32, .float32): return weights(Float.self, Float.self)
    case (.float64, .float64): return weights(Double.self, Double.self)
    case (.float32, _): return weights(Float.self, Double.self).to(dtype)
    case (.float64, _): return weights(Double.self, Float.self).to(dtype)
    case (.int64, _): return weights(Int64.self, Double.self).to(dtype)
    case (.bool, _):
      return weights(Int64.self, Double.self).to(dtype)
    }
  }

  /// Absolute value in place (`abs_`); integer tensors keep their dtype.
  @discardableResult
  public func absInPlace() throws -> Tensor {
    try inPlace(
      savesSelf: true,
      direct: {
        applyNumericInPlace("abs", { $0.magnitude }, { $0.magnitude }, { $0 < 0 ? 0 &- $0 : $0 })
      },
      differentiable: { $0.abs() })
  }

  /// Negation in place (`neg_`).
  @discardableResult
  public func negInPlace() throws -> Tensor {
    precondition(
      dtype != .bool,
      "neg_: Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
    )
    return try inPlace(
      direct: { applyNumericInPlace("neg", { -$0 }, { -$0 }, { 0 &- $0 }) },
      differentiable: { $0.neg() })
  }

  /// Limits each element to `[min, max]` in place (`clamp_`); see ``clamp(min:max:)``.
  @discardableResult
  public func clampInPlace(min lo: Double? = nil, max hi: Double? = nil) throws -> Tensor {
    precondition(
      lo != nil || hi != nil, "torch.clamp: At least one of 'min' or 'max' must not be None")
    checkInPlaceCast("clamp_", resultType: clampResultType(lo, hi), cppTypeNames: true)
    return try inPlace(
      savesSelf: true,
      direct: { Tensor.clampKernel(self, into: self, lo, hi) },
      differentiable: { $0.clamp(min: lo, max: hi) })
  }
}
