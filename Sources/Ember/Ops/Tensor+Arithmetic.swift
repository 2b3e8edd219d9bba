precedencegroup PowerPrecedence {
  higherThan: MultiplicationPrecedence
  associativity: right
}

/// Elementwise power, as Python's `**` on tensors.
infix operator ** : PowerPrecedence

/// A binary arithmetic op on every element type. Integers wrap on overflow, as PyTorch's kernels
/// do (C++ two's complement arithmetic), so int64 results never trap.
protocol NumericBinaryOp {
  static func apply(_ x: Float, _ y: Float) -> Float
  static func apply(_ x: Double, _ y: Double) -> Double
  static func apply(_ x: Int64, _ y: Int64) -> Int64
  static func apply(_ x: Bool, _ y: Bool) -> Bool
}

enum AddOp: NumericBinaryOp {
  @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x + y }
  @inline(__always) static func apply(_ x: Double, _ y: Double) -> Double { x + y }
  @inline(__always) static func apply(_ x: Int64, _ y: Int64) -> Int64 { x &+ y }
  /// Logical or, as `bool + bool` in PyTorch.
  @inline(__always) static func apply(_ x: Bool, _ y: Bool) -> Bool { x || y }
}
enum SubOp: NumericBinaryOp {
  @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x - y }
  @inline(__always) static func apply(_ x: Double, _ y: Double) -> Double { x - y }
  @inline(__always) static func apply(_ x: Int64, _ y: Int64) -> Int64 { x &- y }
  /// Never reached: `sub` rejects bool operands first (`checkSubtraction(_:_:_:)`).
  @inline(__always) static func apply(_ x: Bool, _ y: Bool) -> Bool {
    preconditionFailure("sub: \(Tensor.twoBoolSubtractionMessage)")
  }
}
enum MulOp: NumericBinaryOp {
  @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { x * y }
  @inline(__always) static func apply(_ x: Double, _ y: Double) -> Double { x * y }
  @inline(__always) static func apply(_ x: Int64, _ y: Int64) -> Int64 { x &* y }
  /// Logical and, as `bool * bool` in PyTorch.
  @inline(__always) static func apply(_ x: Bool, _ y: Bool) -> Bool { x && y }
}

/// `Op` with its operands swapped (the scalar-first forms, `s - x`).
enum Flipped<Op: NumericBinaryOp>: NumericBinaryOp {
  @inline(__always) static func apply(_ x: Float, _ y: Float) -> Float { Op.apply(y, x) }
  @inline(__always) static func apply(_ x: Double, _ y: Double) -> Double { Op.apply(y, x) }
  @inline(__always) static func apply(_ x: Int64, _ y: Int64) -> Int64 { Op.apply(y, x) }
  @inline(__always) static func apply(_ x: Bool, _ y: Bool) -> Bool { Op.apply(y, x) }
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

/// `x ** y` for integers, as PyTorch's `powi`: squaring with wrapping products; a negative
/// exponent gives 1 for base 1, ±1 for base -1 and 0 otherwise.
@inline(__always)
func integerPower(_ x: Int64, _ y: Int64) -> Int64 {
  if y < 0 {
    if x == 1 { return 1 }
    if x == -1 { return y & 1 == 0 ? 1 : -1 }
    return 0
  }
  var (base, exponent, result) = (x, y, Int64(1))
  while exponent != 0 {
    if exponent & 1 != 0 { result = result &* base }
    exponent >>= 1
    base = base &* base
  }
  return result
}

extension Tensor {
  // MARK: kernel dispatch

  static func numericBinary<Op: NumericBinaryOp>(
    _: Op.Type, _ a: Tensor, _ b: Tensor, dtype: DType, op: String
  ) -> Tensor {
    // Operands of another dtype are converted first and passed back in: the operands themselves
    // are then used as they are, with no copy of either reference (a retain and a release per
    // operand and op before; ember-bench scalar under callgrind, with the inlined equal-shape
    // test of `Shape.broadcast` and the other fast paths of the same commit: 24.65k -> 23.38k
    // instructions per iteration).
    guard a.dtype == dtype && b.dtype == dtype else {
      return numericBinary(
        Op.self, a.dtype == dtype ? a : a.to(dtype), b.dtype == dtype ? b : b.to(dtype),
        dtype: dtype, op: op)
    }
    switch dtype {
    case .float32:
      if let out = Kernel.simdZip(a, b, Kernel.simdKernel(Op.self)) { return out }
      // broadcast rows/columns and transposed views (2-d): the tiled C kernel (its result is
      // 2-d only when an operand is: testing here skips a broadcast of the shapes per op)
      if max(a.rank, b.rank) == 2,
        let out = Kernel.simdZip2D(a, b, code: Kernel.simdBinaryCode(Op.self), op: op)
      {
        return out
      }
      return Kernel.zip(a, b, op: op) { (x: Float, y: Float) in Op.apply(x, y) }
    case .float64: return Kernel.zip(a, b, op: op) { (x: Double, y: Double) in Op.apply(x, y) }
    case .int64: return Kernel.zip(a, b, op: op) { (x: Int64, y: Int64) in Op.apply(x, y) }
    case .bool: return Kernel.zip(a, b, op: op) { (x: Bool, y: Bool) in Op.apply(x, y) }
    }
  }

  static func floatBinary<Op: FloatBinaryOp>(
    _: Op.Type, _ a: Tensor, _ b: Tensor, dtype: DType, op: String
  ) -> Tensor {
    // (converted operands are passed back in, as in `numericBinary`)
    guard a.dtype == dtype && b.dtype == dtype else {
      return floatBinary(
        Op.self, a.dtype == dtype ? a : a.to(dtype), b.dtype == dtype ? b : b.to(dtype),
        dtype: dtype, op: op)
    }
    switch dtype {
    case .float32:
      if let out = Kernel.simdZip(a, b, Kernel.simdKernel(Op.self)) { return out }
      // broadcast rows/columns and transposed views (2-d): the tiled C kernel (its result is
      // 2-d only when an operand is: testing here skips a broadcast of the shapes per op)
      if max(a.rank, b.rank) == 2,
        let out = Kernel.simdZip2D(a, b, code: Kernel.simdBinaryCode(Op.self), op: op)
      {
        return out
      }
      return Kernel.zip(a, b, op: op) { (x: Float, y: Float) in Op.apply(x, y) }
    case .float64: return Kernel.zip(a, b, op: op) { (x: Double, y: Double) in Op.apply(x, y) }
    default: preconditionFailure("\(op): expected a floating-point dtype, got \(dtype)")
    }
  }

  /// f(a, s) (or f(s, a) when `scalarFirst`) for a Swift number s, computed in `dtype`.
  static func numericScalar<Op: NumericBinaryOp>(
    _: Op.Type, _ a: Tensor, _ s: WrappedNumber, scalarFirst: Bool, dtype: DType
  ) -> Tensor {
    // (a converted operand is passed back in, as in `numericBinary`)
    guard a.dtype == dtype else {
      return numericScalar(Op.self, a.to(dtype), s, scalarFirst: scalarFirst, dtype: dtype)
    }
    if dtype == .float32 {
      let kernel = Kernel.simdScalarKernel(Op.self, scalarFirst: scalarFirst)
      if let out = Kernel.simdMap(a, scalar: s.value(as: Float.self), kernel) { return out }
    }
    return scalarFirst ? mapScalar(Flipped<Op>.self, a, s) : mapScalar(Op.self, a, s)
  }

  /// Op(a, s) in a's dtype.
  @inline(__always)
  private static func mapScalar<Op: NumericBinaryOp>(
    _: Op.Type, _ a: Tensor, _ s: WrappedNumber
  ) -> Tensor {
    switch a.dtype {
    case .float32:
      return Kernel.map(a, scalar: s.value(as: Float.self)) { (x: Float, v: Float) in
        Op.apply(x, v)
      }
    case .float64:
      return Kernel.map(a, scalar: s.value(as: Double.self)) { (x: Double, v: Double) in
        Op.apply(x, v)
      }
    case .int64:
      return Kernel.map(a, scalar: s.value(as: Int64.self)) { (x: Int64, v: Int64) in
        Op.apply(x, v)
      }
    case .bool:
      return Kernel.map(a, scalar: s.value(as: Bool.self)) { (x: Bool, v: Bool) in
        Op.apply(x, v)
      }
    }
  }

  static func floatScalar<Op: FloatBinaryOp>(
    _: Op.Type, _ a: Tensor, _ s: WrappedNumber, scalarFirst: Bool, dtype: DType
  ) -> Tensor {
    // (a converted operand is passed back in, as in `numericBinary`)
    guard a.dtype == dtype else {
      return floatScalar(Op.self, a.to(dtype), s, scalarFirst: scalarFirst, dtype: dtype)
    }
    func run<T: FloatScalar>(_: T.Type) -> Tensor {
      let v = s.value(as: T.self)
      return scalarFirst
        ? Kernel.map(a, scalar: v) { (x: T, v: T) in Op.apply(v, x) }
        : Kernel.map(a, scalar: v) { (x: T, v: T) in Op.apply(x, v) }
    }
    switch dtype {
    case .float32:
      let kernel = Kernel.simdScalarKernel(Op.self, scalarFirst: scalarFirst)
      if let out = Kernel.simdMap(a, scalar: s.value(as: Float.self), kernel) { return out }
      return run(Float.self)
    case .float64: return run(Double.self)
    default: preconditionFailure("expected a floating-point dtype, got \(dtype)")
    }
  }

  // MARK: checks

  static let twoBoolSubtractionMessage =
    "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead."
  static let boolSubtractionMessage =
    "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."

  /// PyTorch's `sub_check`: subtraction with a bool operand stops (`b` is nil for a number).
  @inline(__always)
  static func checkSubtraction(_ op: String, _ a: DType, _ b: DType?) {
    if a == .bool || b == .bool { boolSubtractionFailure(op, a, b) }
  }

  private static func boolSubtractionFailure(_ op: String, _ a: DType, _ b: DType?) -> Never {
    let message = a == .bool && b == .bool ? twoBoolSubtractionMessage : boolSubtractionMessage
    preconditionFailure("\(op): \(message)")
  }

  /// PyTorch's check that an integer exponent of an integer power is not negative.
  static func checkIntegerExponent(_ op: String, _ e: Int64) {
    precondition(e >= 0, "\(op): Integers to negative integer powers are not allowed.")
  }

  // MARK: tensor-tensor arithmetic

  /// Elementwise sum with broadcasting (`torch.add`); two bool tensors give their logical or.
  public func add(_ other: Tensor) -> Tensor {
    let out = Tensor.numericBinary(
      AddOp.self, self, other, dtype: Tensor.resultType(self, other), op: "add")
    if Tensor.needsGrad(self, other) {
      Tensor.record("AddBackward0", input: self, other, output: out) { ctx in
        Gradients(ctx.needsInputGrad(0) ? ctx.grad : nil, ctx.needsInputGrad(1) ? ctx.grad : nil)
      }
    }
    return out
  }

  /// Elementwise difference with broadcasting (`torch.sub`). Bool operands stop, as in PyTorch.
  public func sub(_ other: Tensor) -> Tensor {
    Tensor.checkSubtraction("sub", dtype, other.dtype)
    let out = Tensor.numericBinary(
      SubOp.self, self, other, dtype: Tensor.resultType(self, other), op: "sub")
    if Tensor.needsGrad(self, other) {
      Tensor.record("SubBackward0", input: self, other, output: out) { ctx in
        Gradients(
          ctx.needsInputGrad(0) ? ctx.grad : nil, ctx.needsInputGrad(1) ? (-ctx.grad) : nil)
      }
    }
    return out
  }

  /// Elementwise product with broadcasting (`torch.mul`); two bool tensors give their logical and.
  public func mul(_ other: Tensor) -> Tensor {
    let out = Tensor.numericBinary(
      MulOp.self, self, other, dtype: Tensor.resultType(self, other), op: "mul")
    if Tensor.needsGrad(self, other) {
      let needA = requiresGrad
      let needB = other.requiresGrad
      // save only what the rule reads, as PyTorch does
      Tensor.record(
        "MulBackward0", input: self, other, output: out,
        saving: needB ? self : Tensor.placeholder, needA ? other : Tensor.placeholder
      ) { ctx in
        try Gradients(
          ctx.needsInputGrad(0) ? (ctx.grad * ctx.saved(1)) : nil,
          ctx.needsInputGrad(1) ? (ctx.grad * ctx.saved(0)) : nil)
      }
    }
    return out
  }

  /// Elementwise true division with broadcasting (`torch.div`); integer and bool inputs give the
  /// default float dtype.
  public func div(_ other: Tensor) -> Tensor {
    let dt = Tensor.floatResultType(Tensor.resultType(self, other))
    let out = Tensor.floatBinary(DivOp.self, self, other, dtype: dt, op: "div")
    if Tensor.needsGrad(self, other) {
      let needB = other.requiresGrad
      Tensor.record(
        "DivBackward0", input: self, other, output: out,
        saving: [needB ? self : Tensor.placeholder, other]
      ) { ctx in
        let b = try ctx.saved(1)
        return try [
          ctx.needsInputGrad(0) ? (ctx.grad / b) : nil,
          ctx.needsInputGrad(1) ? (-ctx.grad * ctx.saved(0) / (b * b)) : nil,
        ]
      }
    }
    return out
  }

  /// Elementwise power with broadcasting (`torch.pow(self, exponent)`). Integer (and bool with
  /// integer) operands give int64, computed exactly with wrapping; two bool tensors stop.
  public func pow(_ exponent: Tensor) -> Tensor {
    let dt = Tensor.resultType(self, exponent)
    precondition(dt != .bool, "pow: \"pow\" not implemented for 'Bool'")
    if dt == .int64 {
      // integers never require grad
      return Kernel.zip(self.to(.int64), exponent.to(.int64), op: "pow") {
        (x: Int64, y: Int64) in integerPower(x, y)
      }
    }
    let out = Tensor.floatBinary(PowOp.self, self, exponent, dtype: dt, op: "pow")
    if Tensor.needsGrad(self, exponent) {
      Tensor.record(
        "PowBackward1", inputs: [self, exponent], outputs: [out], saving: [self, exponent],
        savingOutputs: [0]
      ) { ctx in
        let (a, b, result) = (try ctx.saved(0), try ctx.saved(1), try ctx.saved(2))
        var ga: Tensor? = nil
        var gb: Tensor? = nil
        if ctx.needsInputGrad(0) {
          ga = (ctx.grad * b * a.pow(b - 1))
        }
        if ctx.needsInputGrad(1) {
          // d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's convention)
          let safeLog = Tensor.where((a .== 0).logicalAnd(b .>= 0), Tensor.zeros(like: a), a.log())
          gb = (ctx.grad * result * safeLog)
        }
        return [ga, gb]
      }
    }
    return out
  }

  /// Negation (`torch.neg`); int64 wraps (`-Int64.min` is `Int64.min`), bool stops.
  public func neg() -> Tensor {
    precondition(dtype != .bool, "neg: \(Tensor.boolNegationMessage)")
    let out = Tensor.numericScalar(MulOp.self, self, .int(-1), scalarFirst: false, dtype: dtype)
    if Tensor.needsGrad(self) {
      Tensor.record("NegBackward0", input: self, output: out) { ctx in [-ctx.grad] }
    }
    return out
  }

  static let boolNegationMessage =
    "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."

  /// Records the node of an op on a tensor and a Swift number, with a second, empty edge for the
  /// number, as PyTorch's `add`, `sub`, `mul` and `div` have (`next_functions` ends with
  /// `(None, 0)`).
  /// The number is kept on the node (`ctx.number`), so rules that read it capture nothing.
  static func recordWithNumber(
    _ name: String, input: Tensor, number: WrappedNumber = .int(0), output: Tensor,
    rule: @escaping (BackwardContext) throws -> Gradients
  ) {
    record(name, input: input, numberEdge: true, number: number, output: output, rule: rule)
  }

  // MARK: tensor-number arithmetic
  //
  // A Swift number is a wrapped number in type promotion: an `Int` is a Python int, a `Double` a
  // Python float (so `int64 + 2` is int64 and `int64 + 2.0` float32). As in PyTorch, add, sub,
  // mul and div record an empty second edge for the number; pow and rsub take one input.

  func add(_ s: WrappedNumber) -> Tensor {
    let out = Tensor.numericScalar(
      AddOp.self, self, s, scalarFirst: false, dtype: Tensor.resultType(self, s))
    if Tensor.needsGrad(self) {
      Tensor.recordWithNumber("AddBackward0", input: self, output: out) { ctx in
        Gradients(ctx.grad, nil)
      }
    }
    return out
  }

  func sub(_ s: WrappedNumber) -> Tensor {
    Tensor.checkSubtraction("sub", dtype, nil)
    let out = Tensor.numericScalar(
      SubOp.self, self, s, scalarFirst: false, dtype: Tensor.resultType(self, s))
    if Tensor.needsGrad(self) {
      Tensor.recordWithNumber("SubBackward0", input: self, output: out) { ctx in
        Gradients(ctx.grad, nil)
      }
    }
    return out
  }

  func rsub(_ s: WrappedNumber) -> Tensor {
    Tensor.checkSubtraction("rsub", dtype, nil)
    let out = Tensor.numericScalar(
      SubOp.self, self, s, scalarFirst: true, dtype: Tensor.resultType(self, s))
    if Tensor.needsGrad(self) {
      Tensor.record("RsubBackward1", input: self, output: out) { ctx in [-ctx.grad] }
    }
    return out
  }

  func mul(_ s: WrappedNumber) -> Tensor {
    let out = Tensor.numericScalar(
      MulOp.self, self, s, scalarFirst: false, dtype: Tensor.resultType(self, s))
    if Tensor.needsGrad(self) {
      Tensor.recordWithNumber("MulBackward0", input: self, number: s, output: out) { ctx in
        Gradients(ctx.grad.mul(ctx.number), nil)
      }
    }
    return out
  }

  /// `self / s`. `node` is the grad_fn name: `DivBackward0` for Python's `x / 2` (the number
  /// becomes a 0-d tensor), `DivBackward1` for ATen's `div.Scalar`, which PyTorch's own C++ ops
  /// call (cross-entropy with probability targets, ...) and which ops written as those are use.
  func div(_ s: WrappedNumber, node: String = "DivBackward0") -> Tensor {
    let dt = Tensor.floatResultType(Tensor.resultType(self, s))
    let out = Tensor.floatScalar(DivOp.self, self, s, scalarFirst: false, dtype: dt)
    if Tensor.needsGrad(self) {
      Tensor.recordWithNumber(node, input: self, number: s, output: out) { ctx in
        Gradients(ctx.grad.div(ctx.number), nil)
      }
    }
    return out
  }

  func pow(_ exponent: WrappedNumber) -> Tensor {
    let dt = Tensor.resultType(self, exponent)
    if dt == .int64, case .int(let e) = exponent {
      // an integer (or bool) tensor to an integer power: exact, no history
      Tensor.checkIntegerExponent("pow", e)
      return Kernel.map(self.to(.int64), scalar: e) { (x: Int64, e: Int64) in integerPower(x, e) }
    }
    let out = Tensor.floatScalar(PowOp.self, self, exponent, scalarFirst: false, dtype: dt)
    if Tensor.needsGrad(self) {
      let e = exponent.doubleValue
      Tensor.record("PowBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        if e == 0 { return [Tensor.zeros(like: ctx.grad)] }
        return try [ctx.grad * e * ctx.saved(0).pow(e - 1)]
      }
    }
    return out
  }

  static func pow(_ base: WrappedNumber, _ exponent: Tensor) -> Tensor {
    let dt = resultType(exponent, base)
    if dt == .int64, case .int(let b) = base {
      // an integer base to integer (or bool) powers: exact, as the tensor-tensor integer pow
      return Kernel.map(exponent.to(.int64), scalar: b) { (x: Int64, b: Int64) in
        integerPower(b, x)
      }
    }
    let out = Tensor.floatScalar(PowOp.self, exponent, base, scalarFirst: true, dtype: dt)
    if Tensor.needsGrad(exponent) {
      let logBase = Double.log(base.doubleValue)
      Tensor.record("PowBackward2", inputs: [exponent], outputs: [out], savingOutputs: [0]) { ctx in
        try [ctx.grad * ctx.saved(0) * logBase]
      }
    }
    return out
  }

  /// `self + s` (`torch.add`); `s` is a Python float in type promotion.
  public func add(_ s: Double) -> Tensor { add(.float(s)) }
  /// `self + s` (`torch.add`); `s` is a Python int in type promotion.
  public func add(_ s: Int) -> Tensor { add(.int(Int64(s))) }
  /// `self - s` (`torch.sub`).
  public func sub(_ s: Double) -> Tensor { sub(.float(s)) }
  /// `self - s` (`torch.sub`).
  public func sub(_ s: Int) -> Tensor { sub(.int(Int64(s))) }
  /// `s - self` (PyTorch's `rsub`).
  public func rsub(_ s: Double) -> Tensor { rsub(.float(s)) }
  /// `s - self` (PyTorch's `rsub`).
  public func rsub(_ s: Int) -> Tensor { rsub(.int(Int64(s))) }
  /// `self * s` (`torch.mul`).
  public func mul(_ s: Double) -> Tensor { mul(.float(s)) }
  /// `self * s` (`torch.mul`).
  public func mul(_ s: Int) -> Tensor { mul(.int(Int64(s))) }
  /// `self / s`, true division (`torch.div`).
  public func div(_ s: Double) -> Tensor { div(.float(s)) }
  /// `self / s`, true division (`torch.div`): integer tensors give the default float dtype.
  public func div(_ s: Int) -> Tensor { div(.int(Int64(s))) }
  /// `s / self`, computed as PyTorch does: `reciprocal() * s` (ReciprocalBackward0, MulBackward0).
  public func rdiv(_ s: Double) -> Tensor { reciprocal().mul(s) }
  /// `s / self`, computed as PyTorch does: `reciprocal() * s`.
  public func rdiv(_ s: Int) -> Tensor { reciprocal().mul(s) }
  /// Elementwise power with a Swift exponent (`torch.pow(self, exponent)`); integer tensors give
  /// float32.
  public func pow(_ exponent: Double) -> Tensor { pow(.float(exponent)) }
  /// Elementwise power with an integer exponent; integer and bool tensors give int64 (a negative
  /// exponent stops, as in PyTorch).
  public func pow(_ exponent: Int) -> Tensor { pow(.int(Int64(exponent))) }
  /// `base ** exponent` for a Swift base (`torch.pow(base, exponent)`).
  public static func pow(_ base: Double, _ exponent: Tensor) -> Tensor {
    pow(.float(base), exponent)
  }
  /// `base ** exponent` for an integer base; integer and bool exponents give int64.
  public static func pow(_ base: Int, _ exponent: Tensor) -> Tensor {
    pow(.int(Int64(base)), exponent)
  }

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

  public static func + (a: Tensor, s: Int) -> Tensor { a.add(s) }
  public static func + (s: Int, a: Tensor) -> Tensor { a.add(s) }
  public static func - (a: Tensor, s: Int) -> Tensor { a.sub(s) }
  public static func - (s: Int, a: Tensor) -> Tensor { a.rsub(s) }
  public static func * (a: Tensor, s: Int) -> Tensor { a.mul(s) }
  public static func * (s: Int, a: Tensor) -> Tensor { a.mul(s) }
  public static func / (a: Tensor, s: Int) -> Tensor { a.div(s) }
  public static func / (s: Int, a: Tensor) -> Tensor { a.rdiv(s) }
  public static func ** (a: Tensor, s: Int) -> Tensor { a.pow(s) }
  public static func ** (s: Int, a: Tensor) -> Tensor { Tensor.pow(s, a) }

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
  /// a = Op(a, b) in place, b broadcast to a's shape and converted to a's dtype (callers make sure
  /// that a's dtype is the op's result type).
  static func combineInPlace<Op: NumericBinaryOp>(_ a: Tensor, _ b: Tensor, _: Op.Type) {
    if a.shape != b.shape { _ = Shape.broadcast(a.shape, b.shape, op: "in-place op") }
    // `b` is used as it is when it has a's dtype (converted, it is passed back in), with no copy
    // of the reference, as in `numericBinary` (ember-bench scalar under callgrind, gradient
    // accumulation: 21.33k -> 21.20k instructions per iteration)
    guard b.dtype == a.dtype else { return combineInPlace(a, b.to(a.dtype), Op.self) }
    switch a.dtype {
    case .float32: apply(into: a, a, b) { (x: Float, y: Float) in Op.apply(x, y) }
    case .float64: apply(into: a, a, b) { (x: Double, y: Double) in Op.apply(x, y) }
    case .int64: apply(into: a, a, b) { (x: Int64, y: Int64) in Op.apply(x, y) }
    case .bool: apply(into: a, a, b) { (x: Bool, y: Bool) in Op.apply(x, y) }
    }
  }

  /// a += b (gradient accumulation).
  static func addInPlace(_ a: Tensor, _ b: Tensor) { combineInPlace(a, b, AddOp.self) }
}

extension Double {
  /// Whether the value is whole; `clamp` still picks an integer or float result type with it.
  var isIntegral: Bool { self == rounded() && abs(self) < 9.0e15 }
}
