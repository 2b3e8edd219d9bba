/// Selection by index tensors along a dim: `indexSelect`, `gather`, `indexAdd`, shared helpers.

// MARK: - index_select, index_add

extension Tensor {
  /// The slices at `index` (1-D int64) along `dim`, in that order, as a copy (`index_select`).
  public func indexSelect(dim: Int, index: Tensor) -> Tensor {
    precondition(
      index.dtype == .int64,
      "index_select(): Expected dtype int32 or int64 for index (got \(index.dtype))")
    precondition(
      index.rank <= 1, "index_select(): Index is supposed to be a vector (got shape \(index.shape))"
    )
    if rank == 0 {
      _ = Shape.normalize(dim, rank: 0, op: "index_select")
      return reshape([1]).indexSelect(dim: 0, index: index).reshape(index.shape)
    }
    let d = Shape.normalize(dim, rank: rank, op: "index_select")
    let n = shape[d]
    Tensor.indexingCheckBounds(index, size: n, allowNegative: false) { v in
      "index_select(): index out of range in self (index \(v) for dimension \(d) with size \(n))"
    }
    var outShape = shape
    outShape[d] = index.count
    let out = Tensor(uninitializedShape: outShape, dtype: dtype)
    Tensor.indexingSelectKernel(self.contiguousCopyIfNeeded(), dim: d, index: index, into: out)
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record("IndexSelectBackward0", inputs: [self], outputs: [out], saving: [index]) {
        ctx in
        let idx = try ctx.saved(0)
        return [
          Tensor.zeros(inShape, dtype: ctx.grad.dtype).indexAdd(
            dim: d, index: idx, source: ctx.grad)
        ]
      }
    }
    return out
  }

  /// This tensor with `alpha * source` added at the positions `index` along `dim` (`index_add`).
  /// Repeated indices accumulate.
  public func indexAdd(dim: Int, index: Tensor, source: Tensor, alpha: Double = 1) -> Tensor {
    let d = indexingCheckIndexAdd(dim: dim, index: index, source: source)
    let out = contiguousCopy()
    Tensor.indexingAddKernel(out, dim: d, index: index, source: source, alpha: alpha)
    if Tensor.needsGrad(self, source) {
      let srcShape = source.shape
      Tensor.record(
        "IndexAddBackward0", inputs: [self, source], outputs: [out], saving: [index]
      ) { ctx in
        var gs: Tensor? = nil
        if ctx.needsInputGrad(1) {
          let g = ctx.grad.indexSelect(dim: d, index: try ctx.saved(0)).reshape(srcShape)
          gs = alpha == 1 ? g : g * alpha
        }
        return [ctx.needsInputGrad(0) ? ctx.grad : nil, gs]
      }
    }
    return out
  }

  /// Adds `alpha * source` at the positions `index` along `dim`, in place (`index_add_`).
  @discardableResult
  public func indexAddInPlace(dim: Int, index: Tensor, source: Tensor, alpha: Double = 1) throws
    -> Tensor
  {
    let d = indexingCheckIndexAdd(dim: dim, index: index, source: source)
    return try inPlace(
      others: [source],
      direct: {
        if isContiguous {
          Tensor.indexingAddKernel(self, dim: d, index: index, source: source, alpha: alpha)
        } else {
          let tmp = contiguousCopy()
          Tensor.indexingAddKernel(tmp, dim: d, index: index, source: source, alpha: alpha)
          Kernel.copy(tmp, into: self)
        }
      },
      differentiable: { $0.indexAdd(dim: d, index: index, source: source, alpha: alpha) })
  }

  /// Validates `index_add` arguments and returns the normalized dim.
  private func indexingCheckIndexAdd(dim: Int, index: Tensor, source: Tensor) -> Int {
    precondition(
      index.dtype == .int64, "index_add_(): Expected dtype int64 for index (got \(index.dtype))")
    precondition(
      index.rank <= 1, "index_add_(): Index is supposed to be a vector (got shape \(index.shape))")
    precondition(
      source.dtype == dtype,
      "index_add_(): self (\(dtype)) and source (\(source.dtype)) must have the same scalar type")
    precondition(rank > 0, "index_add_(): self must have at least one dimension")
    let d = Shape.normalize(dim, rank: rank, op: "index_add_")
    let srcDim = source.rank == 0 ? 1 : source.shape[d < source.rank ? d : 0]
    precondition(
      source.rank == 0 && index.count == 1 || source.rank == rank,
      "index_add_(): source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = \(shape) source.shape = \(source.shape)"
    )
    precondition(
      index.count == srcDim,
      "index_add_(): Number of indices (\(index.count)) should be equal to source.size(dim): (\(srcDim)), for dim: \(d)"
    )
    for k in 0..<source.rank where k != d {
      precondition(
        source.shape[k] == shape[k],
        "index_add_(): source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = \(shape) source.shape = \(source.shape)"
      )
    }
    let n = shape[d]
    Tensor.indexingCheckBounds(index, size: n, allowNegative: false) { v in
      "index_add_(): index \(v) is out of bounds for dimension \(d) with size \(n)"
    }
    return d
  }
}

// MARK: - gather

extension Tensor {
  /// `out[i][j] = self[index[i][j]][j]` for `dim == 0` (and likewise for other dims); the result
  /// has `index`'s shape (`gather`).
  public func gather(dim: Int, index: Tensor) -> Tensor {
    precondition(
      index.dtype == .int64, "gather(): Expected dtype int32/int64 for index (got \(index.dtype))")
    let d = Shape.normalize(dim, rank: rank, op: "gather")
    precondition(
      index.rank == rank || (Swift.max(index.rank, rank) <= 1),
      "gather(): Index tensor must have the same number of dimensions as input tensor (index \(index.shape), input \(shape))"
    )
    let (me, idx) = (indexingAtLeast1D(), index.indexingAtLeast1D())
    for k in 0..<me.rank where k != d {
      precondition(
        idx.shape[k] <= me.shape[k],
        "gather(): Size does not match at dimension \(k) expected index \(index.shape) to be no larger than self \(shape) apart from dimension \(d)"
      )
    }
    let n = me.shape[d]
    Tensor.indexingCheckBounds(index, size: n, allowNegative: false) { v in
      "gather(): index \(v) is out of bounds for dimension \(d) with size \(n)"
    }
    let out = Tensor(uninitializedShape: index.shape, dtype: dtype)
    Tensor.indexingGatherKernel(me, dim: d, index: idx, into: out.indexingAtLeast1D())
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record("GatherBackward0", inputs: [self], outputs: [out], saving: [index]) { ctx in
        let i = try ctx.saved(0)
        return [
          Tensor.zeros(inShape, dtype: ctx.grad.dtype).scatterAdd(dim: d, index: i, src: ctx.grad)
        ]
      }
    }
    return out
  }

}

// MARK: - Shared index helpers

extension Tensor {

  /// Checks every value of an int64 index tensor against `size` (negatives allowed when
  /// `allowNegative`), stopping with `message(badValue)`.
  static func indexingCheckBounds(
    _ index: Tensor, size: Int, allowNegative: Bool, _ message: (Int64) -> String
  ) {
    if index.count == 0 { return }
    let c = index.contiguousCopyIfNeeded()
    let p = c.basePointer(Int64.self)
    var lo = p[0]
    var hi = p[0]
    for i in 0..<c.count {
      let v = p[i]
      if v < lo { lo = v }
      if v > hi { hi = v }
    }
    let minAllowed = allowNegative ? -Int64(size) : 0
    if lo < minAllowed { preconditionFailure(message(lo)) }
    if hi >= Int64(size) { preconditionFailure(message(hi)) }
  }

  /// A rank-0 tensor read as shape [1] (an alias without history), for kernels.
  func indexingAtLeast1D() -> Tensor {
    rank == 0 ? alias(shape: [1], strides: [1]) : self
  }
}

// MARK: - Kernels

extension Tensor {
  /// out[o, i, :] = src[o, index[i], :] for contiguous `src` and `out` (dim `d` in the middle).
  fileprivate static func indexingSelectKernel(
    _ src: Tensor, dim d: Int, index: Tensor, into out: Tensor
  ) {
    if out.count == 0 { return }
    let outer = src.shape[..<d].reduce(1, *)
    let inner = src.shape[(d + 1)...].reduce(1, *)
    let n = src.shape[d]
    let m = index.count
    let idx = index.contiguousCopyIfNeeded()
    let pi = idx.basePointer(Int64.self)
    func run<T: TensorScalar>(_: T.Type) {
      let ps = src.basePointer(T.self)
      let po = out.basePointer(T.self)
      @inline(__always) func copyRow(_ o: Int, _ i: Int) {
        let s = ps + (o * n + Int(pi[i])) * inner
        let dst = po + (o * m + i) * inner
        if inner == 1 {
          dst.pointee = s.pointee
        } else {
          dst.update(from: s, count: inner)
        }
      }
      if outer > 1 {
        Parallel.forRange(outer, costPerItem: m * inner) { r in
          for o in r {
            for i in 0..<m { copyRow(o, i) }
          }
        }
      } else {
        Parallel.forRange(m, costPerItem: inner) { r in
          for i in r { copyRow(0, i) }
        }
      }
    }
    switch src.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int64: run(Int64.self)
    case .bool: run(Bool.self)
    }
  }

  /// out[o, index[i], :] += alpha * source[o, i, :] for contiguous `out` (any `source` layout).
  fileprivate static func indexingAddKernel(
    _ out: Tensor, dim d: Int, index: Tensor, source: Tensor, alpha: Double
  ) {
    let m = index.count
    if m == 0 || out.count == 0 { return }
    let outer = out.shape[..<d].reduce(1, *)
    let inner = out.shape[(d + 1)...].reduce(1, *)
    let n = out.shape[d]
    let src = source.contiguousCopyIfNeeded()
    let idx = index.contiguousCopyIfNeeded()
    let pi = idx.basePointer(Int64.self)
    func run<T: NumericScalar>(_: T.Type) {
      let ps = src.basePointer(T.self)
      let po = out.basePointer(T.self)
      let a = T(fromDouble: alpha)
      let scaled = alpha != 1
      // rows o are independent; when there is only one, split the inner positions instead
      if outer > 1 {
        Parallel.forRange(outer, costPerItem: m * inner) { r in
          for o in r {
            for i in 0..<m {
              let dst = po + (o * n + Int(pi[i])) * inner
              let s = ps + (o * m + i) * inner
              if scaled {
                for j in 0..<inner { dst[j] = T.wrappingAdd(dst[j], T.wrappingMultiply(a, s[j])) }
              } else {
                for j in 0..<inner { dst[j] = T.wrappingAdd(dst[j], s[j]) }
              }
            }
          }
        }
      } else {
        Parallel.forRange(inner, costPerItem: m) { r in
          for i in 0..<m {
            let dst = po + Int(pi[i]) * inner
            let s = ps + i * inner
            if scaled {
              for j in r { dst[j] = T.wrappingAdd(dst[j], T.wrappingMultiply(a, s[j])) }
            } else {
              for j in r { dst[j] = T.wrappingAdd(dst[j], s[j]) }
            }
          }
        }
      }
    }
    switch out.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int64: run(Int64.self)
    case .bool: preconditionFailure("index_add_(): not supported for bool tensors")
    }
  }

  /// Visits the positions of `shape` outside dim `d` in blocks, in parallel. Blocks are disjoint
  /// sets of non-`d` positions, so kernels that write through an index along `d` do not race.
  /// `body(o0, o1, o2, n, s0, s1, s2)` gets each operand's offset at the block's first position,
  /// the block length, and each operand's stride between consecutive positions of the block.
  @inline(__always)
  static func indexingForEachBlock(
    shape: [Int], dim d: Int, strides: [[Int]], costPerPosition: Int,
    _ body: (Int, Int, Int, Int, Int, Int, Int) -> Void
  ) {
    var sh = shape
    sh.remove(at: d)
    let st = strides.map { s -> [Int] in
      var s = s
      s.remove(at: d)
      return s
    }
    let plan = StridedPlan(shape: sh, strides: st)
    let inner = plan.innerCount
    let rows = plan.rowCount
    let outerRank = plan.shape.count - 1
    let (is0, is1, is2) = (
      plan.strides[0][outerRank], plan.strides[1][outerRank], plan.strides[2][outerRank]
    )
    let block = Swift.min(inner, 256)
    let blocks = (inner + block - 1) / block
    Parallel.forRange(rows * blocks, costPerItem: block * Swift.max(costPerPosition, 1)) { r in
      for item in r {
        let row = item / blocks
        let j0 = (item - row * blocks) * block
        var rem = row
        var (o0, o1, o2) = (j0 * is0, j0 * is1, j0 * is2)
        var k = outerRank - 1
        while k >= 0 {
          let c = rem % plan.shape[k]
          rem /= plan.shape[k]
          o0 += c * plan.strides[0][k]
          o1 += c * plan.strides[1][k]
          o2 += c * plan.strides[2][k]
          k -= 1
        }
        body(o0, o1, o2, Swift.min(block, inner - j0), is0, is1, is2)
      }
    }
  }

  /// out[..., k, ...] = src[..., index[..., k, ...], ...] along `d`; `out` has `index`'s shape.
  fileprivate static func indexingGatherKernel(
    _ src: Tensor, dim d: Int, index: Tensor, into out: Tensor
  ) {
    if out.count == 0 { return }
    let dimSize = index.shape[d]
    let (outDim, idxDim, srcDim) = (out.strides[d], index.strides[d], src.strides[d])
    let pi = index.basePointer(Int64.self)
    func run<T: TensorScalar>(_: T.Type) {
      let po = out.basePointer(T.self)
      let ps = src.basePointer(T.self)
      indexingForEachBlock(
        shape: index.shape, dim: d, strides: [out.strides, index.strides, src.strides],
        costPerPosition: dimSize
      ) { o0, i0, s0, n, os, ist, sst in
        if n > 1 && idxDim > ist {
          // the indexed dim is the outer one: walk each block row by row
          for k in 0..<dimSize {
            let ob = po + o0 + k * outDim
            let ib = pi + i0 + k * idxDim
            for j in 0..<n { ob[j * os] = ps[s0 + j * sst + Int(ib[j * ist]) * srcDim] }
          }
        } else {
          for j in 0..<n {
            let ob = po + o0 + j * os
            let ib = pi + i0 + j * ist
            let sb = ps + s0 + j * sst
            for k in 0..<dimSize { ob[k * outDim] = sb[Int(ib[k * idxDim]) * srcDim] }
          }
        }
      }
    }
    switch src.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int64: run(Int64.self)
    case .bool: run(Bool.self)
    }
  }

}
