/// Elementwise loops over strided tensors. They take tensors only to read their pointer and layout;
/// they never touch the autograd graph. Inputs must already have the element types named.
enum Kernel {
  /// out[i] = f(a[i]); `a` is read broadcast to `out.shape`.
  @inline(__always)
  static func apply<A: TensorScalar, R: TensorScalar>(
    into out: Tensor, _ a: Tensor, _ f: (A) -> R
  ) {
    let po = out.basePointer(R.self)
    let pa = a.basePointer(A.self)
    let n = out.count
    if out.isContiguous && a.isContiguous && a.shape == out.shape {
      Parallel.forRange(n) { r in
        for i in r { po[i] = f(pa[i]) }
      }
      return
    }
    if a.count == 1 && out.isContiguous {
      let v = f(pa[0])
      Parallel.forRange(n) { r in
        for i in r { po[i] = v }
      }
      return
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let plan = StridedPlan(shape: out.shape, strides: [out.strides, sa])
    plan.forEachRow { off, n, st in
      var o = po + off[0]
      var x = pa + off[1]
      let so = st[0]
      let sx = st[1]
      for _ in 0..<n {
        o.pointee = f(x.pointee)
        o += so
        x += sx
      }
    }
  }

  /// out[i] = f(a[i], b[i]) with a and b broadcast to `out.shape`.
  @inline(__always)
  static func apply<A: TensorScalar, B: TensorScalar, R: TensorScalar>(
    into out: Tensor, _ a: Tensor, _ b: Tensor, _ f: (A, B) -> R
  ) {
    let po = out.basePointer(R.self)
    let pa = a.basePointer(A.self)
    let pb = b.basePointer(B.self)
    let n = out.count
    if out.isContiguous && a.isContiguous && b.isContiguous {
      if a.shape == out.shape && b.shape == out.shape {
        Parallel.forRange(n) { r in
          for i in r { po[i] = f(pa[i], pb[i]) }
        }
        return
      }
      if a.shape == out.shape && b.count == 1 {
        let y = pb[0]
        Parallel.forRange(n) { r in
          for i in r { po[i] = f(pa[i], y) }
        }
        return
      }
      if b.shape == out.shape && a.count == 1 {
        let x = pa[0]
        Parallel.forRange(n) { r in
          for i in r { po[i] = f(x, pb[i]) }
        }
        return
      }
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
    let plan = StridedPlan(shape: out.shape, strides: [out.strides, sa, sb])
    plan.forEachRow { off, n, st in
      var o = po + off[0]
      var x = pa + off[1]
      var y = pb + off[2]
      let (so, sx, sy) = (st[0], st[1], st[2])
      for _ in 0..<n {
        o.pointee = f(x.pointee, y.pointee)
        o += so
        x += sx
        y += sy
      }
    }
  }

  /// out[i] = f(a[i], b[i], c[i]) with all inputs broadcast to `out.shape`.
  @inline(__always)
  static func apply<A: TensorScalar, B: TensorScalar, C: TensorScalar, R: TensorScalar>(
    into out: Tensor, _ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (A, B, C) -> R
  ) {
    let po = out.basePointer(R.self)
    let pa = a.basePointer(A.self)
    let pb = b.basePointer(B.self)
    let pc = c.basePointer(C.self)
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
    let sc = Shape.broadcastStrides(shape: c.shape, strides: c.strides, to: out.shape)
    let plan = StridedPlan(shape: out.shape, strides: [out.strides, sa, sb, sc])
    plan.forEachRow { off, n, st in
      var o = po + off[0]
      var x = pa + off[1]
      var y = pb + off[2]
      var z = pc + off[3]
      for _ in 0..<n {
        o.pointee = f(x.pointee, y.pointee, z.pointee)
        o += st[0]
        x += st[1]
        y += st[2]
        z += st[3]
      }
    }
  }

  /// A new contiguous tensor of `a.shape` holding f(a).
  @inline(__always)
  static func map<A: TensorScalar, R: TensorScalar>(_ a: Tensor, _ f: (A) -> R) -> Tensor {
    let out = Tensor(uninitializedShape: a.shape, dtype: R.dtype)
    apply(into: out, a, f)
    return out
  }

  /// A new contiguous tensor of the broadcast shape holding f(a, b).
  @inline(__always)
  static func zip<A: TensorScalar, B: TensorScalar, R: TensorScalar>(
    _ a: Tensor, _ b: Tensor, op: String, _ f: (A, B) -> R
  ) -> Tensor {
    let shape = Shape.broadcast(a.shape, b.shape, op: op)
    let out = Tensor(uninitializedShape: shape, dtype: R.dtype)
    apply(into: out, a, b, f)
    return out
  }

  /// Copies `src` (broadcast, any dtype) into `dst` (any layout), converting element types.
  static func copy(_ src: Tensor, into dst: Tensor) {
    switch (src.dtype, dst.dtype) {
    case (.float32, .float32): apply(into: dst, src) { (x: Float) in x }
    case (.float64, .float64): apply(into: dst, src) { (x: Double) in x }
    case (.int64, .int64): apply(into: dst, src) { (x: Int64) in x }
    case (.bool, .bool): apply(into: dst, src) { (x: Bool) in x }
    case (.float32, .float64): apply(into: dst, src) { (x: Float) in Double(x) }
    case (.float64, .float32): apply(into: dst, src) { (x: Double) in Float(x) }
    default:
      convert(src, into: dst)
    }
  }

  private static func convert(_ src: Tensor, into dst: Tensor) {
    func read<S: TensorScalar>(_: S.Type) {
      switch dst.dtype {
      case .float32: apply(into: dst, src) { (x: S) in Float(x.doubleValue) }
      case .float64: apply(into: dst, src) { (x: S) in x.doubleValue }
      case .int64: apply(into: dst, src) { (x: S) in Int64(fromDouble: x.doubleValue) }
      case .bool: apply(into: dst, src) { (x: S) in x.doubleValue != 0 }
      }
    }
    switch src.dtype {
    case .float32: read(Float.self)
    case .float64: read(Double.self)
    case .int64: read(Int64.self)
    case .bool: read(Bool.self)
    }
  }
}
