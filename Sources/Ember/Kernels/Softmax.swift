/// Softmax and log-softmax loops (the ops and their backward rules: Ops/Tensor+Softmax.swift).

import CEmberKernels

extension Kernel {
  /// Softmax (or log-softmax) of `x` along `dim` into a new contiguous tensor.
  static func softmax(_ x: Tensor, dim: Int, log: Bool) -> Tensor {
    let src = x.isContiguous ? x : x.contiguousCopy()
    let out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    let (outer, n, inner) = split(x.shape, dim: dim)
    withExtendedLifetime(src) {
      if x.dtype == .float32 {
        let px = UnsafePointer(src.basePointer(Float.self))
        let po = out.basePointer(Float.self)
        if inner == 1 {
          softmaxRowsFloat(px, po, rows: outer, n: n, log: log)
        } else {
          softmaxColumns(px, po, outer: outer, n: n, inner: inner, log: log) { p, count in
            expInPlace(p, count)
          }
        }
      } else {
        let px = UnsafePointer(src.basePointer(Double.self))
        let po = out.basePointer(Double.self)
        softmaxColumns(px, po, outer: outer, n: n, inner: inner, log: log) { p, count in
          for i in 0..<count { p[i] = Double.exp(p[i]) }
        }
      }
    }
    return out
  }

  /// Last-dim softmax of contiguous float32 rows: per row a max pass, one exp pass (stored and
  /// summed, or only summed for log-softmax) and one normalising pass, in the AVX-512/AVX2 C
  /// kernel (reduce.c; softmax(1) of 1000x1000 was 1.3 ms in the SSE2 Swift loops, now
  /// 0.38 ms); rows run in parallel.
  static func softmaxRowsFloat(
    _ px: UnsafePointer<Float>, _ po: UnsafeMutablePointer<Float>, rows: Int, n: Int, log: Bool
  ) {
    let ctx = (px, po, n, Int32(log ? 1 : 0))
    Parallel.forRange(rows, costPerItem: n * 8, context: ctx) { c, r in
      let lo = r.lowerBound
      ember_softmax_rows_f32(c.0 + lo * c.2, c.1 + lo * c.2, Int64(r.count), Int64(c.2), c.3)
    }
  }

  /// o[i] = e^(p[i] - shift) for `n` floats, returning their sum.
  @inline(__always)
  static func expShiftedStore(
    _ p: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ n: Int, shift: Float
  ) -> Float {
    let src = UnsafeRawPointer(p)
    let dst = UnsafeMutableRawPointer(o)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
      let e = exp8(src.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - shift)
      dst.storeBytes(of: e, toByteOffset: i &* 4, as: SIMD8<Float>.self)
      acc += e
      i &+= 8
    }
    if i < n {
      var v = SIMD8<Float>(repeating: -.infinity)
      for k in 0..<(n - i) { v[k] = p[i + k] - shift }
      let e = exp8(v)
      for k in 0..<(n - i) { o[i + k] = e[k] }
      acc += e
    }
    return acc.sum()
  }

  /// Softmax over the middle dim of contiguous [outer, n, inner] data, vectorized across the
  /// inner dim; `expRow` replaces a run of values with their exponentials. Work is split over
  /// outer slices, or over inner columns when there are few slices.
  @inline(__always)
  static func softmaxColumns<T: FloatScalar>(
    _ px: UnsafePointer<T>, _ po: UnsafeMutablePointer<T>, outer: Int, n: Int, inner: Int,
    log: Bool, _ expRow: (UnsafeMutablePointer<T>, Int) -> Void
  ) {
    let byOuter = outer >= Parallel.threadCount
    let jobs = byOuter ? outer : inner
    Parallel.forRange(jobs, costPerItem: byOuter ? n * inner * 8 : n * outer * 8) { range in
      let lo = byOuter ? 0 : range.lowerBound
      let width = byOuter ? inner : range.count
      let m = UnsafeMutablePointer<T>.allocate(capacity: width)
      let s = UnsafeMutablePointer<T>.allocate(capacity: width)
      defer {
        m.deallocate()
        s.deallocate()
      }
      for o in (byOuter ? range : 0..<outer) {
        let base = o * n * inner + lo
        // slice maxima, ignoring NaN (a NaN then poisons the sum, as in PyTorch)
        m.initialize(repeating: -T.infinity, count: width)
        for i in 0..<n {
          let row = px + base + i * inner
          for k in 0..<width where row[k] > m[k] { m[k] = row[k] }
        }
        s.initialize(repeating: 0, count: width)
        for i in 0..<n {
          let row = px + base + i * inner
          let dst = po + base + i * inner
          for k in 0..<width { dst[k] = row[k] - m[k] }
          expRow(dst, width)
          for k in 0..<width { s[k] += dst[k] }
        }
        if log {
          for k in 0..<width { s[k] = T.log(s[k]) }
          for i in 0..<n {
            let row = px + base + i * inner
            let dst = po + base + i * inner
            for k in 0..<width { dst[k] = (row[k] - m[k]) - s[k] }
          }
        } else {
          for k in 0..<width { s[k] = 1 / s[k] }
          for i in 0..<n {
            let dst = po + base + i * inner
            for k in 0..<width { dst[k] *= s[k] }
          }
        }
      }
    }
  }
}
