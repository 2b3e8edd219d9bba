/// Iteration over strided n-d layouts for up to four operands that share one (broadcast) shape.
///
/// Dimensions that are contiguous for every operand are merged and size-1 dims dropped, so the
/// innermost loop is as long as possible; callers get one call per innermost row with each
/// operand's starting offset and its inner stride.
@usableFromInline
struct StridedPlan {
  @usableFromInline var shape: [Int]
  /// strides[k][d]: operand k's stride in dim d (after coalescing).
  @usableFromInline var strides: [[Int]]

  @usableFromInline
  init(shape: [Int], strides: [[Int]]) {
    var sizes: [Int] = []
    var st: [[Int]] = Array(repeating: [], count: strides.count)
    for d in 0..<shape.count where shape[d] != 1 {
      if let last = sizes.last {
        var mergeable = true
        for k in 0..<strides.count where st[k].last! != strides[k][d] * shape[d] {
          mergeable = false
          break
        }
        if mergeable {
          sizes[sizes.count - 1] = last * shape[d]
          for k in 0..<strides.count { st[k][st[k].count - 1] = strides[k][d] }
          continue
        }
      }
      sizes.append(shape[d])
      for k in 0..<strides.count { st[k].append(strides[k][d]) }
    }
    if sizes.isEmpty {
      sizes = [1]
      for k in 0..<strides.count { st[k] = [0] }
    }
    self.shape = sizes
    self.strides = st
  }

  @usableFromInline var innerCount: Int { shape[shape.count - 1] }
  @usableFromInline var rowCount: Int {
    var n = 1
    for d in 0..<(shape.count - 1) { n *= shape[d] }
    return n
  }

  /// Calls `body(offsets, n, innerStrides)` for every innermost row; offsets are relative to each
  /// operand's base. Runs rows in parallel for large tensors.
  @inlinable
  func forEachRow(
    _ body: (_ offsets: UnsafePointer<Int>, _ n: Int, _ innerStrides: UnsafePointer<Int>) -> Void
  ) {
    forEachRow(context: ()) { _, off, n, st in body(off, n, st) }
  }

  /// Calls `body(context, offsets, n, innerStrides)` for every innermost row. Pass the loop's
  /// pointers in `context` rather than capturing them, so that `body` (capturing only the element
  /// function) can be specialised and inlined on every thread (see ``Parallel``).
  @inlinable
  func forEachRow<C>(
    threaded: Bool = true, context: C,
    _ body: (
      _ context: C, _ offsets: UnsafePointer<Int>, _ n: Int, _ innerStrides: UnsafePointer<Int>
    ) -> Void
  ) {
    let k = strides.count
    let inner = innerCount
    let rows = rowCount
    let outerRank = shape.count - 1
    if outerRank == 0 {
      // one row: no counters needed (the common contiguous/broadcast-scalar case)
      withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * k) { buf in
        let p = buf.baseAddress!
        for j in 0..<k {
          p[j] = 0
          p[k + j] = strides[j][0]
        }
        body(context, UnsafePointer(p), inner, UnsafePointer(p + k))
      }
      return
    }
    var innerStrides = [Int](repeating: 0, count: k)
    for j in 0..<k { innerStrides[j] = strides[j][outerRank] }
    innerStrides.withUnsafeBufferPointer { isp in
      Parallel.forRange(
        rows, costPerItem: inner, threaded: threaded,
        context: (plan: self, isp: isp.baseAddress!, context: context)
      ) { c, range in
        let shape = c.plan.shape
        let strides = c.plan.strides
        var index = [Int](repeating: 0, count: max(outerRank, 1))
        var offsets = [Int](repeating: 0, count: k)
        // position the counter at range.lowerBound
        var r = range.lowerBound
        var d = outerRank - 1
        while d >= 0 {
          index[d] = r % shape[d]
          r /= shape[d]
          d -= 1
        }
        for j in 0..<k {
          var o = 0
          for d in 0..<outerRank { o += index[d] * strides[j][d] }
          offsets[j] = o
        }
        offsets.withUnsafeMutableBufferPointer { off in
          for _ in range {
            body(c.context, UnsafePointer(off.baseAddress!), inner, c.isp)
            // advance the outer counter
            var d = outerRank - 1
            while d >= 0 {
              index[d] += 1
              for j in 0..<k { off[j] += strides[j][d] }
              if index[d] < shape[d] { break }
              for j in 0..<k { off[j] -= strides[j][d] * shape[d] }
              index[d] = 0
              d -= 1
            }
          }
        }
      }
    }
  }
}
