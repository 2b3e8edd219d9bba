/// Elementwise float math (exp, log, sqrt, trig, sigmoid, ...): kernels and backward rules.

/// An elementwise function defined for floating-point element types, written once for both;
/// `apply32` may replace the float32 case with a branch-free form the loop vectorizer can use.
protocol FloatUnaryOp {
  static func apply<T: FloatScalar>(_ x: T) -> T
  static func apply32(_ x: Float) -> Float
}

extension FloatUnaryOp {
  @inline(__always) static func apply32(_ x: Float) -> Float { apply(x) }
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
      // exp, sigmoid, tanh: the AVX-512/AVX2 C kernels (apply32 with FMAs, within 1 ulp of it)
      if simdApply(into: out, a, costPerItem: 4, simdUnaryKernel(Op.self)) { return }
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
    checkInPlaceCast("\(op)_", resultType: Tensor.floatResultType(dtype))
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

}
