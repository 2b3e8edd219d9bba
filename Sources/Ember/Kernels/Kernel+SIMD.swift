/// Contiguous float32 elementwise loops in C (Sources/CEmberKernels/elementwise.c), which picks
/// AVX-512, AVX2 or SSE2 code at run time; Swift itself compiles for baseline SSE2. The C results
/// are bit-identical to the Swift loops (same formulas, no FMA contraction), so these are pure
/// fast paths: callers fall back to the generic kernels when they return nil.

import CEmberKernels

extension Kernel {
  /// A C kernel `out[i] = f(a[i], b[i])` over `n` contiguous floats.
  typealias BinaryF32 =
    @convention(c) (
      UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64
    )
    -> Void
  /// A C kernel `out[i] = f(a[i], s)` over `n` contiguous floats.
  typealias ScalarF32 =
    @convention(c) (UnsafePointer<Float>?, Float, UnsafeMutablePointer<Float>?, Int64) -> Void
  /// A C kernel `out[i] = f(a[i])` over `n` contiguous floats (`out` may be `a`).
  typealias UnaryF32 =
    @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int64) -> Void

  /// Tensors with fewer elements keep the Swift loops (0-d tensors in the scalar autograd loop
  /// pay no extra layout checks, and a C call would not pay off).
  @inline(__always) static var simdMinCount: Int { 32 }

  /// The C kernel for `Op` on two float32 arrays, if there is one.
  @inline(__always)
  static func simdKernel<Op: NumericBinaryOp>(_: Op.Type) -> BinaryF32? {
    if Op.self == AddOp.self { return ember_add_f32 }
    if Op.self == SubOp.self { return ember_sub_f32 }
    if Op.self == MulOp.self { return ember_mul_f32 }
    return nil
  }

  /// The C kernel for `Op` on two float32 arrays, if there is one.
  @inline(__always)
  static func simdKernel<Op: FloatBinaryOp>(_: Op.Type) -> BinaryF32? {
    if Op.self == DivOp.self { return ember_div_f32 }
    return nil
  }

  /// The operation code of `ember_binary2d_f32` for `Op`, if it has one.
  @inline(__always)
  static func simdBinaryCode<Op: NumericBinaryOp>(_: Op.Type) -> Int32? {
    if Op.self == AddOp.self { return Int32(EMBER_OP_ADD) }
    if Op.self == SubOp.self { return Int32(EMBER_OP_SUB) }
    if Op.self == MulOp.self { return Int32(EMBER_OP_MUL) }
    return nil
  }

  /// The operation code of `ember_binary2d_f32` for `Op`, if it has one.
  @inline(__always)
  static func simdBinaryCode<Op: FloatBinaryOp>(_: Op.Type) -> Int32? {
    Op.self == DivOp.self ? Int32(EMBER_OP_DIV) : nil
  }

  /// The C kernel for `Op(x, s)` (or `Op(s, x)` when `scalarFirst`), if there is one.
  @inline(__always)
  static func simdScalarKernel<Op: NumericBinaryOp>(_: Op.Type, scalarFirst: Bool) -> ScalarF32? {
    if Op.self == AddOp.self { return ember_add_scalar_f32 }
    if Op.self == SubOp.self {
      if scalarFirst { return ember_rsub_scalar_f32 }
      return ember_sub_scalar_f32
    }
    if Op.self == MulOp.self { return ember_mul_scalar_f32 }
    return nil
  }

  /// The C kernel for `Op(x, s)` (or `Op(s, x)` when `scalarFirst`), if there is one.
  @inline(__always)
  static func simdScalarKernel<Op: FloatBinaryOp>(_: Op.Type, scalarFirst: Bool) -> ScalarF32? {
    guard Op.self == DivOp.self else { return nil }
    if scalarFirst { return ember_rdiv_scalar_f32 }
    return ember_div_scalar_f32
  }

  /// The C kernel for the float32 case of `Op`, if there is one.
  @inline(__always)
  static func simdUnaryKernel<Op: FloatUnaryOp>(_: Op.Type) -> UnaryF32? {
    if Op.self == ExpOp.self { return ember_exp_f32 }
    if Op.self == SigmoidOp.self { return ember_sigmoid_f32 }
    if Op.self == TanhOp.self { return ember_tanh_f32 }
    return nil
  }

  /// f(a, b) into a new tensor when `a` and `b` are contiguous float32 tensors of one shape with
  /// at least ``simdMinCount`` elements; nil otherwise (the caller takes the generic path).
  @inline(__always)
  static func simdZip(_ a: Tensor, _ b: Tensor, _ f: BinaryF32?) -> Tensor? {
    guard let f, a.count >= simdMinCount, a.isContiguous, b.isContiguous, a.shape == b.shape
    else { return nil }
    let out = Tensor(uninitializedShape: a.shape, dtype: .float32)
    let ctx = (
      UnsafePointer(a.basePointer(Float.self)), UnsafePointer(b.basePointer(Float.self)),
      out.basePointer(Float.self), f
    )
    Parallel.forRange(out.count, context: ctx) { c, r in
      let lo = r.lowerBound
      c.3(c.0 + lo, c.1 + lo, c.2 + lo, Int64(r.count))
    }
    return out
  }

  /// f(a, s) into a new tensor when `a` is a contiguous float32 tensor with at least
  /// ``simdMinCount`` elements; nil otherwise.
  @inline(__always)
  static func simdMap(_ a: Tensor, scalar s: Float, _ f: ScalarF32?) -> Tensor? {
    guard let f, a.count >= simdMinCount, a.isContiguous else { return nil }
    let out = Tensor(uninitializedShape: a.shape, dtype: .float32)
    let ctx = (UnsafePointer(a.basePointer(Float.self)), s, out.basePointer(Float.self), f)
    Parallel.forRange(out.count, context: ctx) { c, r in
      let lo = r.lowerBound
      c.3(c.0 + lo, c.1, c.2 + lo, Int64(r.count))
    }
    return out
  }

  /// out = f(a) when both are contiguous float32 tensors of one shape (`out` may be `a`) with at
  /// least ``simdMinCount`` elements; returns false (nothing written) otherwise.
  @inline(__always)
  static func simdApply(into out: Tensor, _ a: Tensor, costPerItem: Int, _ f: UnaryF32?) -> Bool {
    guard let f, out.count >= simdMinCount, a.isContiguous, out.isContiguous, a.shape == out.shape
    else { return false }
    let ctx = (UnsafePointer(a.basePointer(Float.self)), out.basePointer(Float.self), f)
    Parallel.forRange(out.count, costPerItem: costPerItem, context: ctx) { c, r in
      let lo = r.lowerBound
      c.2(c.0 + lo, c.1 + lo, Int64(r.count))
    }
    return true
  }
}
