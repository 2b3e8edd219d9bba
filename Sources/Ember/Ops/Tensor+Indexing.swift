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
    Kernel.indexSelect(self.contiguousCopyIfNeeded(), dim: d, index: index, into: out)
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
    Kernel.indexAdd(out, dim: d, index: index, source: source, alpha: alpha)
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
          Kernel.indexAdd(self, dim: d, index: index, source: source, alpha: alpha)
        } else {
          let tmp = contiguousCopy()
          Kernel.indexAdd(tmp, dim: d, index: index, source: source, alpha: alpha)
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
    Kernel.gather(me, dim: d, index: idx, into: out.indexingAtLeast1D())
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
