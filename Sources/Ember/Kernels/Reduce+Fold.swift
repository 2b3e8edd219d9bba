/// Fold reductions: full sums, max/min with index, fast contiguous paths and the `FoldOp` types.

import CEmberKernels

extension Kernel {
  /// Elements per block of a full reduction. Blocks are reduced in parallel and their partials
  /// combined in block order, so the result does not depend on the number of threads.
  static let fullReductionBlock = 1 << 15

  /// Reduces `0..<count` in fixed blocks (`partial` per block, in parallel when large) and merges
  /// the partials in order; `initial` is the result for an empty range.
  @inline(__always)
  static func blockReduce<A>(
    count: Int, initial: A, _ partial: (Range<Int>) -> A, _ merge: (A, A) -> A
  ) -> A {
    let block = fullReductionBlock
    let nBlocks = (count + block - 1) / block
    if nBlocks <= 1 { return count == 0 ? initial : partial(0..<count) }
    let partials = UnsafeMutablePointer<A>.allocate(capacity: nBlocks)
    defer {
      partials.deinitialize(count: nBlocks)
      partials.deallocate()
    }
    Parallel.forRange(nBlocks, costPerItem: block) { r in
      for b in r {
        (partials + b).initialize(to: partial((b * block)..<Swift.min((b + 1) * block, count)))
      }
    }
    var acc = partials[0]
    for b in 1..<nBlocks { acc = merge(acc, partials[b]) }
    return acc
  }

  // MARK: full sum

  /// Sum of `n` floats: 16-lane float partials over 64-element blocks, accumulated in double
  /// lanes (accurate even for long runs of equal values, and memory-bound on large inputs). The
  /// C kernel (reduce.c) runs the same scheme in AVX-512/AVX2 vectors; the Swift SIMD16 loop it
  /// replaced compiled to SSE2 (a.sum() on 1000x1000: 0.100 -> 0.050 ms).
  @inline(__always)
  static func sumFloats(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var s = 0.0
    ember_sum_f32(p, Int64(n), &s)
    return s
  }

  /// Sum of `n` doubles with 16 independent lanes per block.
  @inline(__always)
  static func sumDoubles(_ p: UnsafePointer<Double>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 256 <= n {
      var a0 = SIMD8<Double>()
      var a1 = SIMD8<Double>()
      var j = i
      while j < i + 256 {
        a0 += raw.loadUnaligned(fromByteOffset: j &* 8, as: SIMD8<Double>.self)
        a1 += raw.loadUnaligned(fromByteOffset: (j &+ 8) &* 8, as: SIMD8<Double>.self)
        j &+= 16
      }
      total += (a0 + a1).sum()
      i += 256
    }
    var tail = 0.0
    while i < n {
      tail += p[i]
      i += 1
    }
    return total + tail
  }

  /// The sum of every element of a contiguous tensor as a 0-d tensor (float32 and float64 keep
  /// their dtype; int64 and bool give int64), computed in parallel blocks.
  static func sumAll(_ x: Tensor) -> Tensor {
    precondition(x.isContiguous, "sumAll: expects a contiguous tensor")
    let n = x.count
    switch x.dtype {
    case .float32:
      let p = UnsafePointer(x.basePointer(Float.self))
      let s = blockReduce(count: n, initial: 0.0, { r in sumFloats(p + r.lowerBound, r.count) }, +)
      return Tensor(shape: [], scalars: [Float(s)])
    case .float64:
      let p = UnsafePointer(x.basePointer(Double.self))
      let s = blockReduce(count: n, initial: 0.0, { r in sumDoubles(p + r.lowerBound, r.count) }, +)
      return Tensor(shape: [], scalars: [s])
    case .int64:
      let p = UnsafePointer(x.basePointer(Int64.self))
      let s = blockReduce(
        count: n, initial: Int64(0),
        { r in
          var acc = Int64(0)
          for i in r { acc &+= p[i] }
          return acc
        }, &+)
      return Tensor(shape: [], scalars: [s])
    case .bool:
      let p = UnsafeRawPointer(x.basePointer(Bool.self)).assumingMemoryBound(to: UInt8.self)
      let s = blockReduce(
        count: n, initial: Int64(0),
        { r in
          var acc = 0
          for i in r { acc &+= Int(p[i] != 0 ? 1 : 0) }
          return Int64(acc)
        }, &+)
      return Tensor(shape: [], scalars: [s])
    }
  }

  // MARK: layouts

  /// Sizes of a shape seen as [outer, n, inner] around `dim`.
  static func split(_ shape: [Int], dim: Int) -> (outer: Int, n: Int, inner: Int) {
    if shape.isEmpty { return (1, 1, 1) }
    var outer = 1
    for d in 0..<dim { outer *= shape[d] }
    var inner = 1
    for d in (dim + 1)..<shape.count { inner *= shape[d] }
    return (outer, shape[dim], inner)
  }

  /// `x` with the kept dims first and the reduced dims last, contiguous (copied only when the
  /// layout needs it), with the number of output elements and of reduced elements per output.
  static func reducedRows(_ x: Tensor, dim: [Int]) -> (rows: Tensor, outer: Int, inner: Int) {
    let reduced = Set(dim)
    let kept = (0..<x.rank).filter { !reduced.contains($0) }
    let red = (0..<x.rank).filter { reduced.contains($0) }
    let perm = kept + red
    let y = x.alias(shape: perm.map { x.shape[$0] }, strides: perm.map { x.strides[$0] })
    let rows = y.isContiguous ? y : y.contiguousCopy()
    let outer = kept.reduce(1) { $0 * x.shape[$1] }
    let inner = red.reduce(1) { $0 * x.shape[$1] }
    return (rows, outer, inner)
  }

  // MARK: max/min with index over one dim

  /// Extreme values and their (first) indices along `dim` of `x`, into contiguous `values` and
  /// `indices` of the keepdim shape. NaN wins over numbers (the first NaN is reported), as in
  /// PyTorch.
  static func extremeWithIndex<T: NumericScalar, Op: ExtremeOp>(
    _ x: Tensor, dim: Int, values: Tensor, indices: Tensor, _: T.Type, _: Op.Type
  ) {
    let src = x.isContiguous ? x : x.contiguousCopy()
    let (outer, n, inner) = split(src.shape, dim: dim)
    let px = src.basePointer(T.self)
    let pv = values.basePointer(T.self)
    let pi = indices.basePointer(Int64.self)
    if T.self == Float.self && inner == 1 && n >= 1 {
      // rows of floats: the vectorised C kernel (max(1) of 1000x1000: 0.67 -> 0.076 ms)
      withExtendedLifetime(src) {
        extremeRowsFloat(
          UnsafeRawPointer(px).assumingMemoryBound(to: Float.self),
          values: UnsafeMutableRawPointer(pv).assumingMemoryBound(to: Float.self), indices: pi,
          rows: outer, n: n, isMax: Op.isMax)
      }
      return
    }
    withExtendedLifetime(src) {
      Parallel.forRange(outer, costPerItem: n * inner) { range in
        for o in range {
          let base = px + o * n * inner
          let vals = pv + o * inner
          let idx = pi + o * inner
          if inner == 1 {
            var best = base[0]
            var at = 0
            if best == best {
              for i in 1..<Swift.max(n, 1) {
                let v = base[i]
                if Op.better(v, best) || v != v {
                  best = v
                  at = i
                  if v != v { break }
                }
              }
            }
            vals[0] = best
            idx[0] = Int64(at)
            continue
          }
          for k in 0..<inner {
            vals[k] = base[k]
            idx[k] = 0
          }
          if n > 1 {
            for i in 1..<n {
              let row = base + i * inner
              for k in 0..<inner {
                let v = row[k]
                let cur = vals[k]
                if cur == cur && (Op.better(v, cur) || v != v) {
                  vals[k] = v
                  idx[k] = Int64(i)
                }
              }
            }
          }
        }
      }
    }
  }

  // MARK: fast paths for reductions of contiguous data

  /// For a contiguous tensor whose reduced dims are adjacent (size-1 dims aside), the reduction
  /// seen as [outer, n, inner] (reduce the middle); nil for other layouts.
  static func blockLayout(_ x: Tensor, dim: [Int]) -> (outer: Int, n: Int, inner: Int)? {
    guard x.isContiguous else { return nil }
    let red = dim.filter { x.shape[$0] != 1 }
    guard let first = red.first, let last = red.last else { return (x.count, 1, 1) }
    let reduced = Set(dim)
    for d in first...last where !reduced.contains(d) && x.shape[d] != 1 { return nil }
    var outer = 1
    var n = 1
    var inner = 1
    for d in 0..<first { outer *= x.shape[d] }
    for d in first...last { n *= x.shape[d] }
    for d in (last + 1)..<x.rank { inner *= x.shape[d] }
    return (outer, n, inner)
  }

  /// Reduces the middle dim of contiguous [outer, n, inner] data with `Op` into `po` (outer x
  /// inner values): rows through `Op.row` when inner is 1, else column-wise accumulation that
  /// vectorizes across the inner dim. Work is split over outer slices or inner columns.
  static func foldBlock<Op: FoldOp>(
    _ px: UnsafePointer<Op.In>, _ po: UnsafeMutablePointer<Op.Out>, outer: Int, n: Int,
    inner: Int, _: Op.Type
  ) {
    if inner == 1 {
      Parallel.forRange(outer, costPerItem: n) { r in
        for o in r { po[o] = Op.finish(Op.row(px + o * n, n), count: n) }
      }
      return
    }
    if Op.self == SumFold<Float>.self && n > 0 {
      // float32 column sums: the C kernel, the same double additions in AVX vectors (sum(0) of
      // 1000x1000: 0.18 -> 0.057 ms)
      let pf = UnsafeRawPointer(px).assumingMemoryBound(to: Float.self)
      let pof = UnsafeMutableRawPointer(po).assumingMemoryBound(to: Float.self)
      for o in 0..<outer {
        sumColumnsFloat(pf + o * n * inner, pof + o * inner, rows: n, cols: inner, ld: inner)
      }
      return
    }
    let byOuter = outer >= Parallel.threadCount
    Parallel.forRange(byOuter ? outer : inner, costPerItem: byOuter ? n * inner : n * outer) {
      range in
      let lo = byOuter ? 0 : range.lowerBound
      let width = byOuter ? inner : range.count
      let acc = UnsafeMutablePointer<Op.Acc>.allocate(capacity: width)
      defer { acc.deallocate() }
      for o in (byOuter ? range : 0..<outer) {
        var row = px + o * n * inner + lo
        if n == 0 {
          acc.initialize(repeating: Op.identity, count: width)
        } else {
          for k in 0..<width { (acc + k).initialize(to: Op.first(row[k])) }
          for _ in 1..<n {
            row += inner
            for k in 0..<width { Op.add(&acc[k], row[k]) }
          }
        }
        let dst = po + o * inner + lo
        for k in 0..<width { dst[k] = Op.finish(acc[k], count: n) }
      }
    }
  }

}

// MARK: - reduction op types (static, so specialized loops inline them)

/// Element types whose sums use a wider accumulator (float32 sums in double; int64 wraps).
protocol SumAccumulable: TensorScalar {
  associatedtype SumAcc
  static var sumZero: SumAcc { get }
  static func sumAdd(_ a: inout SumAcc, _ v: Self)
  static func sumFinish(_ a: SumAcc) -> Self
  /// The sum of a contiguous run (vectorized for floating point).
  static func sumRow(_ p: UnsafePointer<Self>, _ n: Int) -> SumAcc
}

extension Float: SumAccumulable {
  static var sumZero: Double { 0 }
  @inline(__always) static func sumAdd(_ a: inout Double, _ v: Float) { a += Double(v) }
  @inline(__always) static func sumFinish(_ a: Double) -> Float { Float(a) }
  @inline(__always) static func sumRow(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    Kernel.sumFloats(p, n)
  }
}

extension Double: SumAccumulable {
  static var sumZero: Double { 0 }
  @inline(__always) static func sumAdd(_ a: inout Double, _ v: Double) { a += v }
  @inline(__always) static func sumFinish(_ a: Double) -> Double { a }
  @inline(__always) static func sumRow(_ p: UnsafePointer<Double>, _ n: Int) -> Double {
    Kernel.sumDoubles(p, n)
  }
}

extension Int64: SumAccumulable {
  static var sumZero: Int64 { 0 }
  @inline(__always) static func sumAdd(_ a: inout Int64, _ v: Int64) { a &+= v }
  @inline(__always) static func sumFinish(_ a: Int64) -> Int64 { a }
  @inline(__always) static func sumRow(_ p: UnsafePointer<Int64>, _ n: Int) -> Int64 {
    var a = Int64(0)
    for i in 0..<n { a &+= p[i] }
    return a
  }
}

/// Which of two values a max/min reduction keeps (NaN handling is the caller's).
protocol ExtremeOp {
  /// True for max, false for min.
  static var isMax: Bool { get }
}

extension ExtremeOp {
  @inline(__always) static func better<T: Comparable>(_ v: T, _ than: T) -> Bool {
    isMax ? v > than : v < than
  }
}

enum MaxExtreme: ExtremeOp {
  static var isMax: Bool { true }
}

enum MinExtreme: ExtremeOp {
  static var isMax: Bool { false }
}

/// A reduction written as static functions: `add` folds one element into the accumulator,
/// `row` folds a contiguous run (vectorized where it matters), `finish` gives the output value.
protocol FoldOp {
  associatedtype In: TensorScalar
  associatedtype Acc
  associatedtype Out: TensorScalar
  static var identity: Acc { get }
  /// The accumulator after the first element.
  static func first(_ v: In) -> Acc
  static func add(_ a: inout Acc, _ v: In)
  static func row(_ p: UnsafePointer<In>, _ n: Int) -> Acc
  static func finish(_ a: Acc, count: Int) -> Out
}

extension FoldOp {
  @inline(__always) static func first(_ v: In) -> Acc {
    var a = identity
    add(&a, v)
    return a
  }

  @inline(__always) static func row(_ p: UnsafePointer<In>, _ n: Int) -> Acc {
    var a = identity
    for i in 0..<n { add(&a, p[i]) }
    return a
  }
}

/// Sum (float32 accumulates in double).
enum SumFold<T: SumAccumulable>: FoldOp {
  static var identity: T.SumAcc { T.sumZero }
  @inline(__always) static func add(_ a: inout T.SumAcc, _ v: T) { T.sumAdd(&a, v) }
  @inline(__always) static func row(_ p: UnsafePointer<T>, _ n: Int) -> T.SumAcc {
    T.sumRow(p, n)
  }
  @inline(__always) static func finish(_ a: T.SumAcc, count: Int) -> T { T.sumFinish(a) }
}

/// Sum of squares in double, square-rooted (the 2-norm).
enum NormTwoFold<T: FloatScalar>: FoldOp {
  static var identity: Double { 0 }
  @inline(__always) static func add(_ a: inout Double, _ v: T) {
    let d = v.doubleValue
    a += d * d
  }
  @inline(__always) static func row(_ p: UnsafePointer<T>, _ n: Int) -> Double {
    if T.self == Float.self {
      return Kernel.sumSquaresFloats(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), n)
    }
    if T.self == Double.self {
      return Kernel.sumSquaresDoubles(UnsafeRawPointer(p).assumingMemoryBound(to: Double.self), n)
    }
    var a = identity
    for i in 0..<n { add(&a, p[i]) }
    return a
  }
  @inline(__always) static func finish(_ a: Double, count: Int) -> T {
    T(fromDouble: a.squareRoot())
  }
}

/// NaN-propagating max/min.
enum ExtremeFold<T: NumericScalar, Op: ExtremeOp>: FoldOp {
  /// Unused: extremes start from the first element (`first`).
  static var identity: T { T.zero }
  @inline(__always) static func first(_ v: T) -> T { v }
  @inline(__always) static func add(_ a: inout T, _ v: T) {
    if a == a && (Op.better(v, a) || v != v) { a = v }
  }
  @inline(__always) static func row(_ p: UnsafePointer<T>, _ n: Int) -> T {
    if T.self == Float.self {
      let q = UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
      return unsafeBitCast(Kernel.extremeRow(q, n, SIMD8<Float>.self, Op.self), to: T.self)
    }
    if T.self == Double.self {
      let q = UnsafeRawPointer(p).assumingMemoryBound(to: Double.self)
      return unsafeBitCast(Kernel.extremeRow(q, n, SIMD4<Double>.self, Op.self), to: T.self)
    }
    var a = p[0]
    var nan = a != a
    var i = 1
    while i < n {
      let v = p[i]
      if Op.better(v, a) { a = v }
      nan = nan || v != v
      i += 1
    }
    return nan ? (p[0] != p[0] ? p[0] : Kernel.firstNaN(p, n)) : a
  }
  @inline(__always) static func finish(_ a: T, count: Int) -> T { a }
}

/// Products: float32 accumulates in double, int64 wraps.
enum ProdFloat: FoldOp {
  static var identity: Double { 1 }
  @inline(__always) static func add(_ a: inout Double, _ v: Float) { a *= Double(v) }
  @inline(__always) static func finish(_ a: Double, count: Int) -> Float { Float(a) }
}

enum ProdDouble: FoldOp {
  static var identity: Double { 1 }
  @inline(__always) static func add(_ a: inout Double, _ v: Double) { a *= v }
  @inline(__always) static func finish(_ a: Double, count: Int) -> Double { a }
}

enum ProdInt: FoldOp {
  static var identity: Int64 { 1 }
  @inline(__always) static func add(_ a: inout Int64, _ v: Int64) { a = a &* v }
  @inline(__always) static func finish(_ a: Int64, count: Int) -> Int64 { a }
}

extension Kernel {
  /// Sum of squares of `n` floats (float partials over 64-element blocks, double lanes), by the
  /// C kernel (reduce.c).
  @inline(__always)
  static func sumSquaresFloats(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var s = 0.0
    ember_sumsq_f32(p, Int64(n), &s)
    return s
  }

  /// Sum of squares of `n` doubles with 16 independent lanes.
  @inline(__always)
  static func sumSquaresDoubles(_ p: UnsafePointer<Double>, _ n: Int) -> Double {
    var a0 = SIMD8<Double>()
    var a1 = SIMD8<Double>()
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 16 <= n {
      let v0 = raw.loadUnaligned(fromByteOffset: i &* 8, as: SIMD8<Double>.self)
      let v1 = raw.loadUnaligned(fromByteOffset: (i &+ 8) &* 8, as: SIMD8<Double>.self)
      a0 += v0 * v0
      a1 += v1 * v1
      i &+= 16
    }
    var tail = 0.0
    while i < n {
      tail += p[i] * p[i]
      i += 1
    }
    return (a0 + a1).sum() + tail
  }

  /// The max/min (by `Op`) of `n >= 1` elements, NaN-propagating (the first NaN wins): `V`-wide
  /// lanes once there are two vectors' worth, then a scalar tail.
  @inline(__always)
  static func extremeRow<V: SIMD, Op: ExtremeOp>(
    _ p: UnsafePointer<V.Scalar>, _ n: Int, _: V.Type, _: Op.Type
  ) -> V.Scalar where V.Scalar: FloatingPoint {
    let lanes = V.scalarCount
    var best = p[0]
    var i = 1
    var sawNaN = best != best
    if n >= 2 * lanes {
      let raw = UnsafeRawPointer(p)
      var m = raw.loadUnaligned(as: V.self)
      var bad = m .!= m
      i = lanes
      while i + lanes <= n {
        let v = raw.loadUnaligned(fromByteOffset: i &* MemoryLayout<V.Scalar>.stride, as: V.self)
        m.replace(with: v, where: Op.isMax ? v .> m : v .< m)
        bad .|= v .!= v
        i &+= lanes
      }
      sawNaN = sawNaN || any(bad)
      best = Op.isMax ? m.max() : m.min()
    }
    while i < n {
      let v = p[i]
      if Op.better(v, best) { best = v }
      sawNaN = sawNaN || v != v
      i += 1
    }
    return sawNaN ? firstNaN(p, n) : best
  }

  /// The first NaN of a run known to hold one.
  static func firstNaN<T: Equatable>(_ p: UnsafePointer<T>, _ n: Int) -> T {
    for i in 0..<n where p[i] != p[i] { return p[i] }
    return p[0]
  }
}
