extension Kernel {
  /// Reduces `x` over the dims `dim` into a new contiguous tensor of the keepdim shape.
  ///
  /// For every output element, `combine(&acc, value, i)` sees the reduced elements in row-major
  /// order of the reduced dims (`i` counts from 0), then `finish(acc)` gives the output value.
  /// Output elements are computed in parallel when the work is large.
  @inline(__always)
  static func reduce<T: TensorScalar, A, R: TensorScalar>(
    _ x: Tensor, dim: [Int], initial: A, _ combine: (inout A, T, Int) -> Void,
    _ finish: (A, Int) -> R
  ) -> Tensor {
    let rank = x.rank
    let reduced = Set(dim)
    let keepShape = (0..<rank).map { reduced.contains($0) ? 1 : x.shape[$0] }
    let out = Tensor(uninitializedShape: keepShape, dtype: R.dtype)
    let kept = (0..<rank).filter { !reduced.contains($0) }
    let red = (0..<rank).filter { reduced.contains($0) }
    let outerShape = kept.map { x.shape[$0] }
    let outerStrides = kept.map { x.strides[$0] }
    // coalesce the reduced dims into as few as possible
    var innerShape: [Int] = []
    var innerStrides: [Int] = []
    for d in red where x.shape[d] != 1 {
      if let lastStride = innerStrides.last, lastStride == x.strides[d] * x.shape[d] {
        innerShape[innerShape.count - 1] *= x.shape[d]
        innerStrides[innerStrides.count - 1] = x.strides[d]
      } else {
        innerShape.append(x.shape[d])
        innerStrides.append(x.strides[d])
      }
    }
    let nOuter = Shape.count(outerShape)
    let nInner = red.reduce(1) { $0 * x.shape[$1] }
    let px = x.basePointer(T.self)
    let po = out.basePointer(R.self)
    let innerRank = innerShape.count
    let layout = ReduceLayout(
      outerShape: outerShape, outerStrides: outerStrides, innerShape: innerShape,
      innerStrides: innerStrides, nInner: nInner)
    // everything the loop reads travels in the context, so the closure below captures only
    // `combine`/`finish` and is specialised with them inlined (see `Parallel`)
    // closures with captures cannot be inlined into worker threads: keep those on this thread
    let threaded = withoutActuallyEscaping(combine) { c in
      withoutActuallyEscaping(finish) { f in Kernel.hasNoContext(c) && Kernel.hasNoContext(f) }
    }
    Parallel.forRange(
      nOuter, costPerItem: max(nInner, 1), threaded: threaded, context: (px, po, layout, initial)
    ) { c, range in
      let (px, po, layout, initial) = c
      let outerShape = layout.outerShape
      let outerStrides = layout.outerStrides
      let innerShape = layout.innerShape
      let innerStrides = layout.innerStrides
      let nInner = layout.nInner
      var counter = [Int](repeating: 0, count: max(innerRank, 1))
      for o in range {
        var rem = o
        var base = 0
        var d = outerShape.count - 1
        while d >= 0 {
          base += (rem % outerShape[d]) * outerStrides[d]
          rem /= outerShape[d]
          d -= 1
        }
        var acc = initial
        if nInner > 0 {
          if innerRank == 0 {
            combine(&acc, px[base], 0)
          } else {
            let lastN = innerShape[innerRank - 1]
            let lastS = innerStrides[innerRank - 1]
            for k in 0..<innerRank { counter[k] = 0 }
            var off = base
            var idx = 0
            outer: while true {
              let p = px + off
              if lastS == 1 {
                for j in 0..<lastN { combine(&acc, p[j], idx &+ j) }
              } else {
                var q = p
                for j in 0..<lastN {
                  combine(&acc, q.pointee, idx &+ j)
                  q += lastS
                }
              }
              idx &+= lastN
              var k = innerRank - 2
              while k >= 0 {
                counter[k] += 1
                off += innerStrides[k]
                if counter[k] < innerShape[k] { continue outer }
                off -= innerStrides[k] * innerShape[k]
                counter[k] = 0
                k -= 1
              }
              break
            }
          }
        }
        po[o] = finish(acc, nInner)
      }
    }
    return out
  }
}

/// The coalesced outer/inner iteration of ``Kernel/reduce(_:dim:initial:_:_:)``.
@usableFromInline
struct ReduceLayout {
  @usableFromInline let outerShape: [Int]
  @usableFromInline let outerStrides: [Int]
  @usableFromInline let innerShape: [Int]
  @usableFromInline let innerStrides: [Int]
  @usableFromInline let nInner: Int
}
