/// Scan kernels: cumulative sums along a dim.

extension Kernel {
  // MARK: scans

  /// Cumulative sum along `dim` into a new contiguous tensor (from the end when `reverse`).
  /// float32 accumulates in double, as PyTorch's CPU kernel; int64 wraps.
  static func cumsum(_ x: Tensor, dim: Int, reverse: Bool) -> Tensor {
    let src = x.isContiguous ? x : x.contiguousCopy()
    let out = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
    let (outer, n, inner) = split(x.shape, dim: dim)
    func run<T: SumAccumulable>(_: T.Type) {
      let px = src.basePointer(T.self)
      let po = out.basePointer(T.self)
      // Parallel over outer slices when there are enough of them, else over inner columns.
      let byOuter = outer >= Parallel.threadCount || inner == 1
      withExtendedLifetime(src) {
        Parallel.forRange(byOuter ? outer : inner, costPerItem: byOuter ? n * inner : n * outer) {
          range in
          let lo = byOuter ? 0 : range.lowerBound
          let width = byOuter ? inner : range.count
          if width == 1 {
            for o in (byOuter ? range : 0..<outer) {
              var acc = T.sumZero
              let base = o * n * inner + lo
              for step in 0..<n {
                let off = base + (reverse ? n - 1 - step : step) * inner
                T.sumAdd(&acc, px[off])
                po[off] = T.sumFinish(acc)
              }
            }
            return
          }
          let acc = UnsafeMutablePointer<T.SumAcc>.allocate(capacity: width)
          defer { acc.deallocate() }
          for o in (byOuter ? range : 0..<outer) {
            acc.initialize(repeating: T.sumZero, count: width)
            let base = o * n * inner + lo
            for step in 0..<n {
              let off = base + (reverse ? n - 1 - step : step) * inner
              for k in 0..<width {
                T.sumAdd(&acc[k], px[off + k])
                po[off + k] = T.sumFinish(acc[k])
              }
            }
          }
        }
      }
    }
    switch x.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int64: run(Int64.self)
    case .bool: preconditionFailure("cumsum: bool input must be converted to int64 first")
    }
    return out
  }
}
