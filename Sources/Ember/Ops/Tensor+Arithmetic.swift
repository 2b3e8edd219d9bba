precedencegroup PowerPrecedence {
  higherThan: MultiplicationPrecedence
  associativity: right
}

/// Elementwise power, as Python's `**` on tensors.
infix operator ** : PowerPrecedence

/// A binary arithmetic op written once for every numeric element type.
protocol NumericBinaryOp {
  static func apply<T: NumericScalar>(_ x: T, _ y: T) -> T
}

enum AddOp: NumericBinaryOp {
  @inline(__always) static func apply<T: NumericScalar>(_ x: T, _ y: T) -> T { x + y }
}
enum SubOp: NumericBinaryOp {
  @inline(__always) static func apply<T: NumericScalar>(_ x: T, _ y: T) -> T { x - y }
}
enum MulOp: NumericBinaryOp {
  @inline(__always) static func apply<T: NumericScalar>(_ x: T, _ y: T) -> T { x * y }
}

/// A binary op defined for floating-point element types only.
protocol FloatBinaryOp {
  static func apply<T: FloatScalar>(_ x: T, _ y: T) -> T
}

enum DivOp: FloatBinaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T, _ y: T) -> T { x / y }
}
enum PowOp: FloatBinaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T, _ y: T) -> T {
    if y == 2 { return x * x }
    if y == 1 { return x }
    if y == 3 { return x * x * x }
    return T.pow(x, y)
  }
}

extension Tensor {
  // MARK: type promotion

  /// PyTorch's result type for two tensors: dimensioned tensors decide within a category; a 0-d
  /// tensor only wins when its category is higher.
  static func resultType(_ a: Tensor, _ b: Tensor) -> DType {
    if a.dtype == b.dtype { return a.dtype }
    let aDim = a.rank > 0
    let bDim = b.rank > 0
    if aDim == bDim { return DType.promote(a.dtype, b.dtype) }
    let (d, z) = aDim ? (a.dtype, b.dtype) : (b.dtype, a.dtype)
    return z.category > d.category ? z : d
  }

  /// Result type for a tensor and a Swift number (a "wrapped number" in PyTorch).
  static func resultType(_ a: Tensor, scalarIsFloat: Bool) -> DType {
    if scalarIsFloat { return a.dtype.isFloatingPoint ? a.dtype : .defaultFloat }
    return a.dtype == .bool ? .int64 : a.dtype
  }

  // MARK: kernel dispatch

  static func numericBinary<Op: NumericBinaryOp>(
    _: Op.Type, _ a: Tensor, _ b: Tensor, dtype: DType, op: String
  ) -> Tensor {
    let a = a.to(dtype)
    let b = b.to(dtype)
    switch dtype {
    case .float32:
      if let out = Kernel.simdZip(a, b, Kernel.simdKernel(Op.self)) { return out }
      return Kernel.zip(a, b, op: op) { (x: Float, y: Float) in Op.apply(x, y) }
    case .float64: return Kernel.zip(a, b, op: op) { (x: Double, y: Double) in Op.apply(x, y) }
    case .int64: return Kernel.zip(a, b, op: op) { (x: Int64, y: Int64) in Op.apply(x, y) }
    case .bool:
      preconditionFailure("\(op): not supported for bool tensors (shapes \(a.shape), \(b.shape))")
    }
  }

  static func floatBinary<Op: FloatBinaryOp>(
    _: Op.Type, _ a: Tensor, _ b: Tensor, dtype: DType, op: String
  ) -> Tensor {
    let a = a.to(dtype)
    let b = b.to(dtype)
    switch dtype {
    case .float32:
      if let out = Kernel.simdZip(a, b, Kernel.simdKernel(Op.self)) { return out }
      return Kernel.zip(a, b, op: op) { (x: Float, y: Float) in Op.apply(x, y) }
    case .float64: return Kernel.zip(a, b, op: op) { (x: Double, y: Double) in Op.apply(x, y) }
    default: preconditionFailure("\(op): expected a floating-point dtype, got \(dtype)")
    }
  }

  /// f(a, s) (or f(s, a) when `scalarFirst`) for a Swift number s.
  static func numericScalar<Op: NumericBinaryOp>(
    _: Op.Type, _ a: Tensor, _ s: Double, scalarFirst: Bool, dtype: DType
  ) -> Tensor {
    let a = a.to(dtype)
    func run<T: NumericScalar>(_: T.Type) -> Tensor {
      let v = T(fromDouble: s)
      return scalarFirst
        ? Kernel.map(a, scalar: v) { (x: T, v: T) in Op.apply(v, x) }
        : Kernel.map(a, scalar: v) { (x: T, v: T) in Op.apply(x, v) }
    }
    switch dtype {
    case .float32:
      let kernel = Kernel.simdScalarKernel(Op.self, scalarFirst: scalarFirst)
      if let out = Kernel.simdMap(a, scalar: Float(fromDouble: s), kernel) { return out }
      return run(Float.self)
    case .float64: return run(Double.self)
    case .int64: return run(Int64.self)
    case .bool:
      preconditionFailure("arithmetic on bool tensors is not supported (shape \(a.shape))")
    }
  }

  static func floatScalar<Op: FloatBinaryOp>(
    _: Op.Type, _ a: Tensor, _ s: Double, scalarFirst: Bool, dtype: DType
  ) -> Tensor {
    let a = a.to(dtype)
    func run<T: FloatScalar>(_: T.Type) -> Tensor {
      let v = T(fromDouble: s)
      return scalarFirst
        ? Kernel.map(a, scalar: v) { (x: T, v: T) in Op.apply(v, x) }
        : Kernel.map(a, scalar: v) { (x: T, v: T) in Op.apply(x, v) }
    }
    switch dtype {
    case .float32:
      let kernel = Kernel.simdScalarKernel(Op.self, scalarFirst: scalarFirst)
      if let out = Kernel.simdMap(a, scalar: Float(fromDouble: s), kernel) { return out }
      return run(Float.self)
    case .float64: return run(Double.self)
    default: preconditionFailure("expected a floating-point dtype, got \(dtype)")
    }
  }

  // MARK: tensor-tensor arithmetic

  /// Elementwise sum with broadcasting (`torch.add`).
  public func add(_ other: Tensor) -> Tensor {
    let out = Tensor.numericBinary(
      AddOp.self, self, other, dtype: Tensor.resultType(self, other), op: "add")
    if Tensor.needsGrad(self, other) {
      let (sa, sb, da, db) = (shape, other.shape, dtype, other.dtype)
      Tensor.record("AddBackward0", inputs: [self, other], outputs: [out]) { ctx in
        [
          ctx.needsInputGrad(0) ? ctx.grad.sumTo(sa).to(da) : nil,
          ctx.needsInputGrad(1) ? ctx.grad.sumTo(sb).to(db) : nil,
        ]
      }
    }
    return out
  }

  /// Elementwise difference with broadcasting (`torch.sub`).
  public func sub(_ other: Tensor) -> Tensor {
    let out = Tensor.numericBinary(
      SubOp.self, self, other, dtype: Tensor.resultType(self, other), op: "sub")
    if Tensor.needsGrad(self, other) {
      let (sa, sb, da, db) = (shape, other.shape, dtype, other.dtype)
      Tensor.record("SubBackward0", inputs: [self, other], outputs: [out]) { ctx in
        [
          ctx.needsInputGrad(0) ? ctx.grad.sumTo(sa).to(da) : nil,
          ctx.needsInputGrad(1) ? (-ctx.grad).sumTo(sb).to(db) : nil,
        ]
      }
    }
    return out
  }

  /// Elementwise product with broadcasting (`torch.mul`).
  public func mul(_ other: Tensor) -> Tensor {
    let out = Tensor.numericBinary(
      MulOp.self, self, other, dtype: Tensor.resultType(self, other), op: "mul")
    if Tensor.needsGrad(self, other) {
      let (sa, sb, da, db) = (shape, other.shape, dtype, other.dtype)
      let needA = requiresGrad
      let needB = other.requiresGrad
      // save only what the rule reads, as PyTorch does
      Tensor.record(
        "MulBackward0", inputs: [self, other], outputs: [out],
        saving: [needB ? self : Tensor.placeholder, needA ? other : Tensor.placeholder]
      ) { ctx in
        try [
          ctx.needsInputGrad(0) ? (ctx.grad * ctx.saved(1)).sumTo(sa).to(da) : nil,
          ctx.needsInputGrad(1) ? (ctx.grad * ctx.saved(0)).sumTo(sb).to(db) : nil,
        ]
      }
    }
    return out
  }

  /// Elementwise true division with broadcasting (`torch.div`); integer inputs give floats.
  public func div(_ other: Tensor) -> Tensor {
    var dt = Tensor.resultType(self, other)
    if !dt.isFloatingPoint { dt = .defaultFloat }
    let out = Tensor.floatBinary(DivOp.self, self, other, dtype: dt, op: "div")
    if Tensor.needsGrad(self, other) {
      let (sa, sb, da, db) = (shape, other.shape, dtype, other.dtype)
      let needB = other.requiresGrad
      Tensor.record(
        "DivBackward0", inputs: [self, other], outputs: [out],
        saving: [needB ? self : Tensor.placeholder, other]
      ) { ctx in
        let b = try ctx.saved(1)
        return try [
          ctx.needsInputGrad(0) ? (ctx.grad / b).sumTo(sa).to(da) : nil,
          ctx.needsInputGrad(1) ? (-ctx.grad * ctx.saved(0) / (b * b)).sumTo(sb).to(db) : nil,
        ]
      }
    }
    return out
  }

  /// Elementwise power with broadcasting (`torch.pow(self, exponent)`).
  public func pow(_ exponent: Tensor) -> Tensor {
    var dt = Tensor.resultType(self, exponent)
    if !dt.isFloatingPoint { dt = .defaultFloat }
    let out = Tensor.floatBinary(PowOp.self, self, exponent, dtype: dt, op: "pow")
    if Tensor.needsGrad(self, exponent) {
      let (sa, sb, da, db) = (shape, exponent.shape, dtype, exponent.dtype)
      Tensor.record(
        "PowBackward1", inputs: [self, exponent], outputs: [out], saving: [self, exponent],
        savingOutputs: [0]
      ) { ctx in
        let (a, b, result) = (try ctx.saved(0), try ctx.saved(1), try ctx.saved(2))
        var ga: Tensor? = nil
        var gb: Tensor? = nil
        if ctx.needsInputGrad(0) {
          ga = (ctx.grad * b * a.pow(b - 1)).sumTo(sa).to(da)
        }
        if ctx.needsInputGrad(1) {
          // d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's convention)
          let safeLog = Tensor.where((a .== 0).logicalAnd(b .>= 0), Tensor.zeros(like: a), a.log())
          gb = (ctx.grad * result * safeLog).sumTo(sb).to(db)
        }
        return [ga, gb]
      }
    }
    return out
  }

  /// Elementwise power with a Swift exponent (`torch.pow(self, exponent)`).
  public func pow(_ exponent: Double) -> Tensor {
    let dt = dtype.isFloatingPoint ? dtype : .defaultFloat
    let out = Tensor.floatScalar(PowOp.self, self, exponent, scalarFirst: false, dtype: dt)
    if Tensor.needsGrad(self) {
      Tensor.record("PowBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        if exponent == 0 { return [Tensor.zeros(like: ctx.grad)] }
        return try [ctx.grad * exponent * ctx.saved(0).pow(exponent - 1)]
      }
    }
    return out
  }

  /// `base ** self` for a Swift base (`torch.pow(base, self)`).
  public static func pow(_ base: Double, _ exponent: Tensor) -> Tensor {
    let dt = exponent.dtype.isFloatingPoint ? exponent.dtype : .defaultFloat
    let out = Tensor.floatScalar(PowOp.self, exponent, base, scalarFirst: true, dtype: dt)
    if Tensor.needsGrad(exponent) {
      Tensor.record("PowBackward2", inputs: [exponent], outputs: [out], savingOutputs: [0]) { ctx in
        try [ctx.grad * ctx.saved(0) * Double.log(base)]
      }
    }
    return out
  }

  /// Negation (`torch.neg`).
  public func neg() -> Tensor {
    let out = Tensor.numericScalar(
      MulOp.self, self, -1, scalarFirst: false, dtype: resultTypeForUnary)
    if Tensor.needsGrad(self) {
      Tensor.record("NegBackward0", inputs: [self], outputs: [out]) { ctx in [-ctx.grad] }
    }
    return out
  }

  private var resultTypeForUnary: DType { dtype == .bool ? .int64 : dtype }

  // MARK: tensor-scalar arithmetic

  public func add(_ s: Double) -> Tensor {
    let out = Tensor.numericScalar(
      AddOp.self, self, s, scalarFirst: false,
      dtype: Tensor.resultType(self, scalarIsFloat: !s.isIntegral))
    if Tensor.needsGrad(self) {
      Tensor.record("AddBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad] }
    }
    return out
  }

  public func sub(_ s: Double) -> Tensor {
    let out = Tensor.numericScalar(
      SubOp.self, self, s, scalarFirst: false,
      dtype: Tensor.resultType(self, scalarIsFloat: !s.isIntegral))
    if Tensor.needsGrad(self) {
      Tensor.record("SubBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad] }
    }
    return out
  }

  /// `s - self` (PyTorch's `rsub`).
  public func rsub(_ s: Double) -> Tensor {
    let out = Tensor.numericScalar(
      SubOp.self, self, s, scalarFirst: true,
      dtype: Tensor.resultType(self, scalarIsFloat: !s.isIntegral))
    if Tensor.needsGrad(self) {
      Tensor.record("RsubBackward1", inputs: [self], outputs: [out]) { ctx in [-ctx.grad] }
    }
    return out
  }

  public func mul(_ s: Double) -> Tensor {
    let out = Tensor.numericScalar(
      MulOp.self, self, s, scalarFirst: false,
      dtype: Tensor.resultType(self, scalarIsFloat: !s.isIntegral))
    if Tensor.needsGrad(self) {
      Tensor.record("MulBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad * s] }
    }
    return out
  }

  public func div(_ s: Double) -> Tensor {
    let dt = dtype.isFloatingPoint ? dtype : .defaultFloat
    let out = Tensor.floatScalar(DivOp.self, self, s, scalarFirst: false, dtype: dt)
    if Tensor.needsGrad(self) {
      Tensor.record("DivBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad / s] }
    }
    return out
  }

  /// `s / self`, computed as PyTorch does: `reciprocal() * s` (ReciprocalBackward0, MulBackward0).
  public func rdiv(_ s: Double) -> Tensor { reciprocal().mul(s) }

  // MARK: operators

  public static func + (a: Tensor, b: Tensor) -> Tensor { a.add(b) }
  public static func - (a: Tensor, b: Tensor) -> Tensor { a.sub(b) }
  public static func * (a: Tensor, b: Tensor) -> Tensor { a.mul(b) }
  public static func / (a: Tensor, b: Tensor) -> Tensor { a.div(b) }
  public static func ** (a: Tensor, b: Tensor) -> Tensor { a.pow(b) }
  public static prefix func - (a: Tensor) -> Tensor { a.neg() }

  public static func + (a: Tensor, s: Double) -> Tensor { a.add(s) }
  public static func + (s: Double, a: Tensor) -> Tensor { a.add(s) }
  public static func - (a: Tensor, s: Double) -> Tensor { a.sub(s) }
  public static func - (s: Double, a: Tensor) -> Tensor { a.rsub(s) }
  public static func * (a: Tensor, s: Double) -> Tensor { a.mul(s) }
  public static func * (s: Double, a: Tensor) -> Tensor { a.mul(s) }
  public static func / (a: Tensor, s: Double) -> Tensor { a.div(s) }
  public static func / (s: Double, a: Tensor) -> Tensor { a.rdiv(s) }
  public static func ** (a: Tensor, s: Double) -> Tensor { a.pow(s) }
  public static func ** (s: Double, a: Tensor) -> Tensor { Tensor.pow(s, a) }

  // MARK: in-place arithmetic

  /// `self += other` in place (`add_`). Throws on a leaf that requires grad (outside no-grad).
  @discardableResult
  public func addInPlace(_ other: Tensor, alpha: Double = 1) throws -> Tensor {
    let other = alpha == 1 ? other : other * alpha
    return try inPlace(
      others: [other], direct: { Kernel.combineInPlace(self, other, AddOp.self) },
      differentiable: { $0 + other })
  }

  @discardableResult
  public func subInPlace(_ other: Tensor) throws -> Tensor {
    try inPlace(
      others: [other], direct: { Kernel.combineInPlace(self, other, SubOp.self) },
      differentiable: { $0 - other })
  }

  @discardableResult
  public func mulInPlace(_ other: Tensor) throws -> Tensor {
    try inPlace(
      others: [other], savesSelf: other.requiresGrad,
      direct: { Kernel.combineInPlace(self, other, MulOp.self) },
      differentiable: { $0 * other })
  }

  @discardableResult
  public func divInPlace(_ other: Tensor) throws -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "div_: result type float32 can't be cast to the desired output type \(dtype)")
    return try inPlace(
      others: [other], savesSelf: other.requiresGrad,
      direct: { Kernel.copy(self / other, into: self) },
      differentiable: { $0 / other })
  }

  @discardableResult
  public func addInPlace(_ s: Double) throws -> Tensor {
    try inPlace(direct: { Kernel.copy(self + s, into: self) }, differentiable: { $0 + s })
  }

  @discardableResult
  public func subInPlace(_ s: Double) throws -> Tensor {
    try inPlace(direct: { Kernel.copy(self - s, into: self) }, differentiable: { $0 - s })
  }

  @discardableResult
  public func mulInPlace(_ s: Double) throws -> Tensor {
    try inPlace(direct: { Kernel.copy(self * s, into: self) }, differentiable: { $0 * s })
  }

  @discardableResult
  public func divInPlace(_ s: Double) throws -> Tensor {
    try inPlace(direct: { Kernel.copy(self / s, into: self) }, differentiable: { $0 / s })
  }

  @discardableResult
  public func powInPlace(_ s: Double) throws -> Tensor {
    try inPlace(
      savesSelf: true, direct: { Kernel.copy(self.pow(s), into: self) },
      differentiable: { $0.pow(s) })
  }

  public static func += (a: Tensor, b: Tensor) throws { try a.addInPlace(b) }
  public static func -= (a: Tensor, b: Tensor) throws { try a.subInPlace(b) }
  public static func *= (a: Tensor, b: Tensor) throws { try a.mulInPlace(b) }
  public static func /= (a: Tensor, b: Tensor) throws { try a.divInPlace(b) }
  public static func += (a: Tensor, s: Double) throws { try a.addInPlace(s) }
  public static func -= (a: Tensor, s: Double) throws { try a.subInPlace(s) }
  public static func *= (a: Tensor, s: Double) throws { try a.mulInPlace(s) }
  public static func /= (a: Tensor, s: Double) throws { try a.divInPlace(s) }

  // MARK: helpers

  /// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
  public func sumTo(_ shape: [Int]) -> Tensor {
    if self.shape == shape { return self }
    let lead = rank - shape.count
    precondition(lead >= 0, "sumTo: cannot reduce shape \(self.shape) to \(shape)")
    var dims = Array(0..<lead)
    for (i, s) in shape.enumerated() where s == 1 && self.shape[lead + i] != 1 {
      dims.append(lead + i)
    }
    let summed = dims.isEmpty ? self : sum(dim: dims, keepdim: true)
    return summed.reshape(shape)
  }

  /// A 0-element stand-in for "not saved" slots.
  nonisolated(unsafe) static let placeholder = Tensor(zerosShape: [0], dtype: .float32)
}

extension Kernel {
  /// a = Op(a, b) in place, b broadcast to a's shape (a's dtype kept).
  static func combineInPlace<Op: NumericBinaryOp>(_ a: Tensor, _ b: Tensor, _: Op.Type) {
    _ = Shape.broadcast(a.shape, b.shape, op: "in-place op")
    let b = b.to(a.dtype)
    switch a.dtype {
    case .float32: apply(into: a, a, b) { (x: Float, y: Float) in Op.apply(x, y) }
    case .float64: apply(into: a, a, b) { (x: Double, y: Double) in Op.apply(x, y) }
    case .int64: apply(into: a, a, b) { (x: Int64, y: Int64) in Op.apply(x, y) }
    case .bool: preconditionFailure("in-place arithmetic on bool tensors is not supported")
    }
  }

  /// a += b (gradient accumulation).
  static func addInPlace(_ a: Tensor, _ b: Tensor) { combineInPlace(a, b, AddOp.self) }
}

extension Double {
  var isIntegral: Bool { self == rounded() && abs(self) < 9.0e15 }
}
