/// Elementwise loops over strided tensors. They take tensors only to read their pointer and layout;
/// they never touch the autograd graph. Inputs must already have the element types named.
///
/// Performance: the element functions are inlined into the loops on every thread as long as they
/// capture nothing (write `{ (x: Float, y: Float) in Op.apply(x, y) }`, not a closure that
/// captures a scalar; use ``apply(into:_:scalar:_:)`` to pass a scalar). Pointers travel through
/// the `context:` of ``Parallel/forRange(_:costPerItem:threaded:context:_:)`` for that reason.
enum Kernel {
  /// out[i] = f(a[i]); `a` is read broadcast to `out.shape`.
  @inline(__always)
  static func apply<A: TensorScalar, R: TensorScalar>(
    into out: Tensor, _ a: Tensor, _ f: (A) -> R
  ) {
    let po = out.basePointer(R.self)
    let pa = a.basePointer(A.self)
    let n = out.count
    if n == 1 {
      // one element (0-d tensors, the scalar autograd loop): no layout checks, nor the closure
      // test below (a runtime call)
      po[0] = f(pa[0])
      return
    }
    let threaded = isSpecializable(f)
    if out.isContiguous && a.isContiguous && a.shape == out.shape {
      Parallel.forRange(n, threaded: threaded, context: (po, pa)) { c, r in
        let (po, pa) = c
        for i in r { po[i] = f(pa[i]) }
      }
      return
    }
    if a.count == 1 && out.isContiguous {
      let v = f(pa[0])
      Parallel.forRange(n, context: (po, v)) { c, r in
        let (po, v) = c
        for i in r { po[i] = v }
      }
      return
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let plan = StridedPlan(shape: out.shape, strides: [out.strides, sa])
    plan.forEachRow(threaded: threaded, context: (po, pa)) { c, off, n, st in
      var o = c.0 + off[0]
      var x = c.1 + off[1]
      let so = st[0]
      let sx = st[1]
      if so == 1 && sx == 1 {
        for i in 0..<n { o[i] = f(x[i]) }
        return
      }
      for _ in 0..<n {
        o.pointee = f(x.pointee)
        o += so
        x += sx
      }
    }
  }

  /// out[i] = f(a[i], s) for a scalar `s`; `a` is read broadcast to `out.shape`. `f` should
  /// capture nothing, so that it is inlined on every thread.
  @inline(__always)
  static func apply<A: TensorScalar, S, R: TensorScalar>(
    into out: Tensor, _ a: Tensor, scalar s: S, _ f: (A, S) -> R
  ) {
    let po = out.basePointer(R.self)
    let pa = a.basePointer(A.self)
    let n = out.count
    if n == 1 {
      po[0] = f(pa[0], s)
      return
    }
    let threaded = isSpecializableBinary(f)
    if out.isContiguous && a.isContiguous && a.shape == out.shape {
      Parallel.forRange(n, threaded: threaded, context: (po, pa, s)) { c, r in
        let (po, pa, s) = c
        for i in r { po[i] = f(pa[i], s) }
      }
      return
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let plan = StridedPlan(shape: out.shape, strides: [out.strides, sa])
    plan.forEachRow(threaded: threaded, context: (po, pa, s)) { c, off, n, st in
      var o = c.0 + off[0]
      var x = c.1 + off[1]
      let s = c.2
      let so = st[0]
      let sx = st[1]
      for _ in 0..<n {
        o.pointee = f(x.pointee, s)
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
    if n == 1 {
      po[0] = f(pa[0], pb[0])
      return
    }
    let threaded = isSpecializableBinary(f)
    if out.isContiguous && a.isContiguous && b.isContiguous {
      if a.shape == out.shape && b.shape == out.shape {
        Parallel.forRange(n, threaded: threaded, context: (po, pa, pb)) { c, r in
          let (po, pa, pb) = c
          for i in r { po[i] = f(pa[i], pb[i]) }
        }
        return
      }
      if a.shape == out.shape && b.count == 1 {
        Parallel.forRange(n, threaded: threaded, context: (po, pa, pb[0])) { c, r in
          let (po, pa, y) = c
          for i in r { po[i] = f(pa[i], y) }
        }
        return
      }
      if b.shape == out.shape && a.count == 1 {
        Parallel.forRange(n, threaded: threaded, context: (po, pa[0], pb)) { c, r in
          let (po, x, pb) = c
          for i in r { po[i] = f(x, pb[i]) }
        }
        return
      }
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
    let plan = StridedPlan(shape: out.shape, strides: [out.strides, sa, sb])
    plan.forEachRow(threaded: threaded, context: (po, pa, pb)) { c, off, n, st in
      var o = c.0 + off[0]
      var x = c.1 + off[1]
      var y = c.2 + off[2]
      let (so, sx, sy) = (st[0], st[1], st[2])
      if so == 1 && sx == 1 && sy == 1 {
        for i in 0..<n { o[i] = f(x[i], y[i]) }
        return
      }
      if so == 1 && sx == 1 && sy == 0 {
        let v = y.pointee
        for i in 0..<n { o[i] = f(x[i], v) }
        return
      }
      if so == 1 && sx == 0 && sy == 1 {
        let u = x.pointee
        for i in 0..<n { o[i] = f(u, y[i]) }
        return
      }
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
    let threaded = isSpecializableTernary(f)
    let po = out.basePointer(R.self)
    let pa = a.basePointer(A.self)
    let pb = b.basePointer(B.self)
    let pc = c.basePointer(C.self)
    if out.count == 1 {
      po[0] = f(pa[0], pb[0], pc[0])
      return
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
    let sc = Shape.broadcastStrides(shape: c.shape, strides: c.strides, to: out.shape)
    let plan = StridedPlan(shape: out.shape, strides: [out.strides, sa, sb, sc])
    plan.forEachRow(threaded: threaded, context: (po, pa, pb, pc)) { ctx, off, n, st in
      var o = ctx.0 + off[0]
      var x = ctx.1 + off[1]
      var y = ctx.2 + off[2]
      var z = ctx.3 + off[3]
      let (so, sx, sy, sz) = (st[0], st[1], st[2], st[3])
      for _ in 0..<n {
        o.pointee = f(x.pointee, y.pointee, z.pointee)
        o += so
        x += sx
        y += sy
        z += sz
      }
    }
  }

  /// Whether `f` captures nothing, so that loops calling it can be specialised with it inlined on
  /// worker threads. A closure with captures stays opaque inside a threaded loop (one indirect
  /// call per element, ~10x slower than the inlined single-thread loop for cheap ops), so
  /// kernels keep such loops on the calling thread, where the closure is inlined.
  @inline(__always)
  static func isSpecializable<A, R>(_ f: (A) -> R) -> Bool {
    withoutActuallyEscaping(f) { hasNoContext($0) }
  }

  @inline(__always)
  static func isSpecializableBinary<A, B, R>(_ f: (A, B) -> R) -> Bool {
    withoutActuallyEscaping(f) { hasNoContext($0) }
  }

  @inline(__always)
  static func isSpecializableTernary<A, B, C, R>(_ f: (A, B, C) -> R) -> Bool {
    withoutActuallyEscaping(f) { hasNoContext($0) }
  }

  @inline(__always)
  static func hasNoContext<F>(_ f: F) -> Bool {
    // a Swift closure value is (function pointer, context); a capture-free one has no context
    MemoryLayout<F>.size == 2 * MemoryLayout<Int>.size
      && unsafeBitCast(f, to: (UnsafeRawPointer, UnsafeRawPointer?).self).1 == nil
  }

  /// A new contiguous tensor of `a.shape` holding f(a).
  @inline(__always)
  static func map<A: TensorScalar, R: TensorScalar>(_ a: Tensor, _ f: (A) -> R) -> Tensor {
    let out = Tensor(uninitializedShape: a.shape, dtype: R.dtype)
    apply(into: out, a, f)
    return out
  }

  /// A new contiguous tensor of `a.shape` holding f(a, s) for a scalar `s` (`f` should capture
  /// nothing; see ``apply(into:_:scalar:_:)``).
  @inline(__always)
  static func map<A: TensorScalar, S, R: TensorScalar>(
    _ a: Tensor, scalar s: S, _ f: (A, S) -> R
  ) -> Tensor {
    let out = Tensor(uninitializedShape: a.shape, dtype: R.dtype)
    apply(into: out, a, scalar: s, f)
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
    if src.dtype == dst.dtype && src.shape == dst.shape && src.isContiguous && dst.isContiguous {
      // same layout: a (parallel) memcpy
      let es = src.dtype.byteSize
      let from = src.storage.data + src.storageOffset * es
      let to = dst.storage.data + dst.storageOffset * es
      if from == to { return }
      Parallel.forRange(dst.count, threaded: true, context: (from, to)) { c, r in
        (c.1 + r.lowerBound * es).copyMemory(from: c.0 + r.lowerBound * es, byteCount: r.count * es)
      }
      return
    }
    // element conversions as C++ `static_cast` on x86-64, what PyTorch's `to()` gives: integers
    // round to the nearest float directly (not through Double), floats truncate toward zero and
    // NaN or out-of-range values give Int64.min, nonzero (and NaN) is true
    switch (src.dtype, dst.dtype) {
    case (.float32, .float32): apply(into: dst, src) { (x: Float) in x }
    case (.float64, .float64): apply(into: dst, src) { (x: Double) in x }
    case (.int64, .int64): apply(into: dst, src) { (x: Int64) in x }
    case (.bool, .bool): apply(into: dst, src) { (x: Bool) in x }
    case (.float32, .float64): apply(into: dst, src) { (x: Float) in Double(x) }
    case (.float64, .float32): apply(into: dst, src) { (x: Double) in Float(x) }
    case (.float32, .int64): apply(into: dst, src) { (x: Float) in Int64(cTruncating: x) }
    case (.float64, .int64): apply(into: dst, src) { (x: Double) in Int64(cTruncating: x) }
    case (.float32, .bool): apply(into: dst, src) { (x: Float) in x != 0 }
    case (.float64, .bool): apply(into: dst, src) { (x: Double) in x != 0 }
    case (.int64, .float32): apply(into: dst, src) { (x: Int64) in Float(x) }
    case (.int64, .float64): apply(into: dst, src) { (x: Int64) in Double(x) }
    case (.int64, .bool): apply(into: dst, src) { (x: Int64) in x != 0 }
    case (.bool, .float32): apply(into: dst, src) { (x: Bool) -> Float in x ? 1 : 0 }
    case (.bool, .float64): apply(into: dst, src) { (x: Bool) -> Double in x ? 1 : 0 }
    case (.bool, .int64): apply(into: dst, src) { (x: Bool) -> Int64 in x ? 1 : 0 }
    }
  }
}
