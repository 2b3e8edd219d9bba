/// Elementwise math on floating-point tensors: each op's forward kernel and, beside it, its
/// backward rule in tensor ops.

/// An elementwise function defined for floating-point element types, written once for both;
/// `apply32` may replace the float32 case with a branch-free form the loop vectorizer can use.
protocol FloatUnaryOp {
  static func apply<T: FloatScalar>(_ x: T) -> T
  static func apply32(_ x: Float) -> Float
}

extension FloatUnaryOp {
  @inline(__always) static func apply32(_ x: Float) -> Float { apply(x) }
}

/// Branch-free float32 approximations (at most 3 ulp from the correctly rounded result) that
/// vectorize, unlike calls into libm.
enum FastMath {
  /// e^x: 2^n e^r with n = round(x / ln 2) and the Cephes polynomial for e^r (1 ulp); handles
  /// overflow to inf, gradual underflow to 0, and NaN.
  @inline(__always) static func exp(_ x: Float) -> Float {
    let xc = Swift.min(Swift.max(x, -104), 89)
    let magic: Float = 12_582_912  // 1.5 * 2^23: adding it rounds to an integer in the low bits
    let t = xc * 1.442_695_040_888_963_4 + magic
    let n = t - magic
    let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * (r * r) + r + 1
    // 2^n as two factors so that neither overflows nor underflows on its own
    let ni = Int32(bitPattern: t.bitPattern &- magic.bitPattern)
    let n1 = ni &>> 1
    let n2 = ni &- n1
    let s1 = Float(bitPattern: UInt32(bitPattern: (n1 &+ 127) &<< 23))
    let s2 = Float(bitPattern: UInt32(bitPattern: (n2 &+ 127) &<< 23))
    return p * s1 * s2
  }

  /// 1 / (1 + e^-x) from e^-|x|, so no intermediate overflows.
  @inline(__always) static func sigmoid(_ x: Float) -> Float {
    let e = exp(-Swift.abs(x))
    let s = 1 / (1 + e)
    return x >= 0 ? s : e * s
  }

  /// tanh: the Cephes odd polynomial for |x| < 0.625, else 1 - 2 / (e^2|x| + 1) with the sign.
  @inline(__always) static func tanh(_ x: Float) -> Float {
    let ax = Swift.abs(x)
    let z = x * x
    var p: Float = -5.704_988_727_45e-3
    p = p * z + 2.063_908_879_54e-2
    p = p * z - 5.373_971_555_31e-2
    p = p * z + 1.333_144_220_36e-1
    p = p * z - 3.333_328_194_22e-1
    let small = x * (1 + z * p)  // keeps the sign of -0.0
    let large = 1 - 2 / (exp(2 * ax) + 1)
    return ax < 0.625 ? small : (x < 0 ? -large : large)
  }
}

extension FastMath {
  /// erf: for |x| <= 0.927734375 an odd polynomial, else 1 - e^(polynomial), with the sign
  /// (N. Juffa's minimax fits; 1 ulp). |x| is capped at 4, where erf rounds to 1 in float32.
  @inline(__always) static func erf(_ x: Float) -> Float {
    let t = Swift.min(Swift.abs(x), 4)
    var r: Float = -1.728_534_70e-5 * t + 3.831_971_26e-4
    let u: Float = -3.883_964_38e-3 * t + 2.425_462_19e-2
    r = r * (t * t) + u
    r = r * t - 1.067_778_77e-1
    r = r * t - 6.348_466_87e-1
    r = r * t - 1.287_175_12e-1
    r = r * t - t
    let large = 1 - exp(r)
    let s = x * x
    var q: Float = -5.967_617_03e-4
    q = q * s + 4.991_194_23e-3
    q = q * s - 2.676_813_49e-2
    q = q * s + 1.128_199_25e-1
    q = q * s - 3.761_253_36e-1
    q = q * s + 1.283_791_66e-1
    let small = q * x + x
    return t > 0.927_734_375 ? (x < 0 ? -large : large) : small
  }
}

enum ExpOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.exp(x) }
  @inline(__always) static func apply32(_ x: Float) -> Float { FastMath.exp(x) }
}
enum LogOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.log(x) }
}
enum Log1pOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.log1p(x) }
}
enum Expm1Op: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.expm1(x) }
}
enum SqrtOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.sqrtValue(x) }
}
enum RsqrtOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { 1 / T.sqrtValue(x) }
}
enum SinOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.sin(x) }
}
enum CosOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.cos(x) }
}
enum TanOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.tan(x) }
}
enum TanhOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.tanh(x) }
  @inline(__always) static func apply32(_ x: Float) -> Float { FastMath.tanh(x) }
}
enum ReciprocalOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { 1 / x }
}
enum ErfOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { T.erf(x) }
  @inline(__always) static func apply32(_ x: Float) -> Float { FastMath.erf(x) }
}
/// The logistic function, without overflow for large |x|.
enum SigmoidOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T {
    if x >= 0 { return 1 / (1 + T.exp(-x)) }
    let e = T.exp(x)
    return e / (1 + e)
  }
  @inline(__always) static func apply32(_ x: Float) -> Float { FastMath.sigmoid(x) }
}

extension Kernel {
  /// out = Op(a) elementwise for float32/float64 tensors of one shape. The contiguous loop calls
  /// the op directly (not through a closure) so it is always inlined and can vectorize.
  @inline(__always)
  static func unaryFloat<Op: FloatUnaryOp>(_ a: Tensor, into out: Tensor, _: Op.Type) {
    let n = out.count
    let contiguous = a.isContiguous && out.isContiguous && a.shape == out.shape
    switch out.dtype {
    case .float32:
      guard contiguous else { return apply(into: out, a) { (x: Float) in Op.apply32(x) } }
      let (pa, po) = (a.basePointer(Float.self), out.basePointer(Float.self))
      Parallel.forRange(n, costPerItem: 4) { r in
        for i in r { po[i] = Op.apply32(pa[i]) }
      }
    case .float64:
      guard contiguous else { return apply(into: out, a) { (x: Double) in Op.apply(x) } }
      let (pa, po) = (a.basePointer(Double.self), out.basePointer(Double.self))
      Parallel.forRange(n, costPerItem: 8) { r in
        for i in r { po[i] = Op.apply(pa[i]) }
      }
    default: preconditionFailure("unaryFloat: expected a floating-point tensor, got \(out.dtype)")
    }
  }
}

extension Tensor {
  // MARK: kernel dispatch

  /// Applies a float kernel elementwise; integer and bool inputs are promoted to float32 first,
  /// as PyTorch does for `exp`, `log`, `sin`, ...
  @inline(__always)
  func mapFloat(_ op: String, _ f32: (Float) -> Float, _ f64: (Double) -> Double) -> Tensor {
    // not recursive, so that the kernels inline into the loops
    let src = dtype.isFloatingPoint ? self : to(.defaultFloat)
    return src.dtype == .float64 ? Kernel.map(src, f64) : Kernel.map(src, f32)
  }

  /// ``mapFloat(_:_:_:)`` for a ``FloatUnaryOp``.
  @inline(__always)
  func mapFloat<Op: FloatUnaryOp>(_ op: String, _: Op.Type) -> Tensor {
    let src = dtype.isFloatingPoint ? self : to(.defaultFloat)
    let out = Tensor(uninitializedShape: src.shape, dtype: src.dtype)
    Kernel.unaryFloat(src, into: out, Op.self)
    return out
  }

  /// Applies a kernel elementwise keeping the dtype (float32, float64 or int64); bool inputs stop
  /// with PyTorch's "not implemented for 'Bool'" message.
  @inline(__always)
  func mapNumeric(
    _ op: String, _ f32: (Float) -> Float, _ f64: (Double) -> Double, _ i64: (Int64) -> Int64
  ) -> Tensor {
    switch dtype {
    case .float32: return Kernel.map(self, f32)
    case .float64: return Kernel.map(self, f64)
    case .int64: return Kernel.map(self, i64)
    case .bool:
      preconditionFailure("\(op): \"\(op)_cpu\" not implemented for 'Bool' (shape \(shape))")
    }
  }

  /// Writes f(self) into self; `self` must be float32 or float64.
  @inline(__always)
  func applyFloatInPlace(_ f32: (Float) -> Float, _ f64: (Double) -> Double) {
    switch dtype {
    case .float32: Kernel.apply(into: self, self, f32)
    case .float64: Kernel.apply(into: self, self, f64)
    default: preconditionFailure("in-place float op on a \(dtype) tensor")
    }
  }

  /// Writes f(self) into self keeping the dtype (float32, float64 or int64).
  @inline(__always)
  func applyNumericInPlace(
    _ op: String, _ f32: (Float) -> Float, _ f64: (Double) -> Double, _ i64: (Int64) -> Int64
  ) {
    switch dtype {
    case .float32: Kernel.apply(into: self, self, f32)
    case .float64: Kernel.apply(into: self, self, f64)
    case .int64: Kernel.apply(into: self, self, i64)
    case .bool:
      preconditionFailure("\(op)_: \"\(op)_cpu\" not implemented for 'Bool' (shape \(shape))")
    }
  }

  /// PyTorch's scalar type name (`Float`, `Double`, `Long`, `Bool`) for cast messages.
  static func scalarTypeName(_ dtype: DType) -> String {
    switch dtype {
    case .float32: return "Float"
    case .float64: return "Double"
    case .int64: return "Long"
    case .bool: return "Bool"
    }
  }

  /// Stops an in-place float function on an integer or bool tensor, as PyTorch does.
  func requireFloatForInPlace(_ op: String) {
    precondition(
      dtype.isFloatingPoint,
      "\(op)_: result type Float can't be cast to the desired output type \(Tensor.scalarTypeName(dtype)) (shape \(shape))"
    )
  }

  /// Runs an in-place float function: directly when no history is recorded, otherwise through
  /// the out-of-place op `differentiable`.
  @inline(__always)
  func floatInPlace<Op: FloatUnaryOp>(
    _ op: String, _: Op.Type, savesSelf: Bool, differentiable: (Tensor) -> Tensor
  ) throws -> Tensor {
    requireFloatForInPlace(op)
    return try inPlace(
      savesSelf: savesSelf,
      direct: {
        Kernel.unaryFloat(self, into: self, Op.self)
      },
      differentiable: differentiable)
  }

  /// A 0-d zero of this tensor's dtype (the "else" branch of masked gradients).
  var zeroScalar: Tensor { Tensor.zeros([], dtype: dtype) }

  // MARK: exponentials and logarithms

  /// e^x (`exp`).
  public func exp() -> Tensor {
    let out = mapFloat("exp", ExpOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("ExpBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        try [ctx.grad * ctx.saved(0)]
      }
    }
    return out
  }

  /// Natural logarithm (`log`).
  public func log() -> Tensor {
    let out = mapFloat("log", LogOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("LogBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        try [ctx.grad / ctx.saved(0)]
      }
    }
    return out
  }

  /// log(1 + x), accurate for small x (`log1p`).
  public func log1p() -> Tensor {
    let out = mapFloat("log1p", Log1pOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("Log1PBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        try [ctx.grad / (ctx.saved(0) + 1)]
      }
    }
    return out
  }

  /// e^x - 1, accurate for small x (`expm1`).
  public func expm1() -> Tensor {
    let out = mapFloat("expm1", Expm1Op.self)
    if Tensor.needsGrad(self) {
      Tensor.record("Expm1Backward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        try [ctx.grad * (ctx.saved(0) + 1)]
      }
    }
    return out
  }

  /// Square root (`sqrt`).
  public func sqrt() -> Tensor {
    let out = mapFloat("sqrt", SqrtOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("SqrtBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        try [ctx.grad / (ctx.saved(0) * 2)]
      }
    }
    return out
  }

  /// 1 / sqrt(x) (`rsqrt`).
  public func rsqrt() -> Tensor {
    let out = mapFloat("rsqrt", RsqrtOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("RsqrtBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        let r = try ctx.saved(0)
        return [ctx.grad * (r * r * r) * -0.5]
      }
    }
    return out
  }

  /// 1 / x (`reciprocal`).
  public func reciprocal() -> Tensor {
    let out = mapFloat("reciprocal", ReciprocalOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("ReciprocalBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) {
        ctx in
        let r = try ctx.saved(0)
        return [-ctx.grad * (r * r)]
      }
    }
    return out
  }

  // MARK: trigonometric and hyperbolic

  /// Sine (`sin`).
  public func sin() -> Tensor {
    let out = mapFloat("sin", SinOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("SinBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        try [ctx.grad * ctx.saved(0).cos()]
      }
    }
    return out
  }

  /// Cosine (`cos`).
  public func cos() -> Tensor {
    let out = mapFloat("cos", CosOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("CosBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        try [ctx.grad * -ctx.saved(0).sin()]
      }
    }
    return out
  }

  /// Tangent (`tan`).
  public func tan() -> Tensor {
    let out = mapFloat("tan", TanOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("TanBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        let t = try ctx.saved(0)
        return [ctx.grad * (t * t + 1)]
      }
    }
    return out
  }

  /// Hyperbolic tangent (`tanh`).
  public func tanh() -> Tensor {
    let out = mapFloat("tanh", TanhOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("TanhBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        let t = try ctx.saved(0)
        return [ctx.grad * (1 - t * t)]
      }
    }
    return out
  }

  /// The logistic function 1 / (1 + e^-x) (`sigmoid`), stable for large |x|.
  public func sigmoid() -> Tensor {
    let out = mapFloat("sigmoid", SigmoidOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("SigmoidBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) {
        ctx in
        let s = try ctx.saved(0)
        return [ctx.grad * s * (1 - s)]
      }
    }
    return out
  }

  /// The Gauss error function, differentiable; used by GELU's backward rule.
  func erfForGradient() -> Tensor {
    let out = mapFloat("erf", ErfOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("ErfBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        return [ctx.grad * (-(x * x)).exp() * 1.1283791670955126]  // 2 / sqrt(pi)
      }
    }
    return out
  }

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
      let (sa, sb, da, db) = (a.shape, b.shape, a.dtype, b.dtype)
      record(
        isMax ? "MaximumBackward0" : "MinimumBackward0", inputs: [a, b], outputs: [out],
        saving: [a, b]
      ) { ctx in
        let g = ctx.grad
        let w = try Tensor.extremumWeights(ctx.saved(0), ctx.saved(1), isMax: isMax, dtype: g.dtype)
        return [
          ctx.needsInputGrad(0) ? (g * w).sumTo(sa).to(da) : nil,
          ctx.needsInputGrad(1) ? (g * (1 - w)).sumTo(sb).to(db) : nil,
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

  // MARK: in-place variants

  /// e^x in place (`exp_`).
  @discardableResult
  public func expInPlace() throws -> Tensor {
    try floatInPlace("exp", ExpOp.self, savesSelf: false) { $0.exp() }
  }

  /// Natural logarithm in place (`log_`).
  @discardableResult
  public func logInPlace() throws -> Tensor {
    try floatInPlace("log", LogOp.self, savesSelf: true) { $0.log() }
  }

  /// Square root in place (`sqrt_`).
  @discardableResult
  public func sqrtInPlace() throws -> Tensor {
    try floatInPlace("sqrt", SqrtOp.self, savesSelf: false) { $0.sqrt() }
  }

  /// Logistic function in place (`sigmoid_`).
  @discardableResult
  public func sigmoidInPlace() throws -> Tensor {
    try floatInPlace("sigmoid", SigmoidOp.self, savesSelf: false) { $0.sigmoid() }
  }

  /// Hyperbolic tangent in place (`tanh_`).
  @discardableResult
  public func tanhInPlace() throws -> Tensor {
    try floatInPlace("tanh", TanhOp.self, savesSelf: false) { $0.tanh() }
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
    let dt = clampResultType(lo, hi)
    precondition(
      dt == dtype,
      "clamp_: result type \(Tensor.scalarTypeName(dt)) can't be cast to the desired output type \(Tensor.scalarTypeName(dtype))"
    )
    return try inPlace(
      savesSelf: true,
      direct: { Tensor.clampKernel(self, into: self, lo, hi) },
      differentiable: { $0.clamp(min: lo, max: hi) })
  }
}
