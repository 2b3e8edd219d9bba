/// Writes through index tensors: `scatter`, `scatterAdd`, `indexPut`, advanced-index read/write.

// MARK: - scatter, scatter_add

extension Tensor {
  /// This tensor with `src` values written at `index` along `dim`: for `dim == 0`,
  /// `out[index[i][j]][j] = src[i][j]` (`scatter`). With repeated indices one value wins.
  public func scatter(dim: Int, index: Tensor, src: Tensor) -> Tensor {
    let d = indexingCheckScatter("scatter", dim: dim, index: index, src: src)
    let out = contiguousCopy()
    Kernel.scatter(out, dim: d, index: index, src: src, value: 0, add: false)
    if Tensor.needsGrad(self, src) {
      let srcShape = src.shape
      let idxShape = index.shape
      Tensor.record("ScatterBackward0", inputs: [self, src], outputs: [out], saving: [index]) {
        ctx in
        let i = try ctx.saved(0)
        return [
          ctx.needsInputGrad(0) ? ctx.grad.scatter(dim: d, index: i, value: 0) : nil,
          ctx.needsInputGrad(1)
            ? try Tensor.indexingGatherGrad(ctx.grad, dim: d, index: i, idxShape, srcShape) : nil,
        ]
      }
    }
    return out
  }

  /// This tensor with `value` written at `index` along `dim` (`scatter` with a scalar value).
  public func scatter(dim: Int, index: Tensor, value: Double) -> Tensor {
    let d = indexingCheckScatter("scatter", dim: dim, index: index, src: nil)
    let out = contiguousCopy()
    Kernel.scatter(out, dim: d, index: index, src: nil, value: value, add: false)
    if Tensor.needsGrad(self) {
      Tensor.record("ScatterBackward1", inputs: [self], outputs: [out], saving: [index]) { ctx in
        [ctx.grad.scatter(dim: d, index: try ctx.saved(0), value: 0)]
      }
    }
    return out
  }

  /// This tensor with `src` values added at `index` along `dim`; repeated indices accumulate
  /// (`scatter_add`).
  public func scatterAdd(dim: Int, index: Tensor, src: Tensor) -> Tensor {
    let d = indexingCheckScatter("scatter_add", dim: dim, index: index, src: src)
    precondition(dtype != .bool, "scatter_add(): not supported for bool tensors")
    let out = contiguousCopy()
    Kernel.scatter(out, dim: d, index: index, src: src, value: 0, add: true)
    if Tensor.needsGrad(self, src) {
      let srcShape = src.shape
      let idxShape = index.shape
      Tensor.record(
        "ScatterAddBackward0", inputs: [self, src], outputs: [out], saving: [index]
      ) { ctx in
        [
          ctx.needsInputGrad(0) ? ctx.grad : nil,
          ctx.needsInputGrad(1)
            ? try Tensor.indexingGatherGrad(
              ctx.grad, dim: d, index: try ctx.saved(0), idxShape, srcShape) : nil,
        ]
      }
    }
    return out
  }

  /// Writes `src` values at `index` along `dim`, in place (`scatter_`).
  @discardableResult
  public func scatterInPlace(dim: Int, index: Tensor, src: Tensor) throws -> Tensor {
    let d = indexingCheckScatter("scatter_", dim: dim, index: index, src: src)
    return try inPlace(
      others: [src],
      direct: {
        Kernel.scatter(self, dim: d, index: index, src: src, value: 0, add: false)
      },
      differentiable: { $0.scatter(dim: d, index: index, src: src) })
  }

  /// Writes `value` at `index` along `dim`, in place (`scatter_` with a scalar value).
  @discardableResult
  public func scatterInPlace(dim: Int, index: Tensor, value: Double) throws -> Tensor {
    let d = indexingCheckScatter("scatter_", dim: dim, index: index, src: nil)
    return try inPlace(
      direct: {
        Kernel.scatter(self, dim: d, index: index, src: nil, value: value, add: false)
      },
      differentiable: { $0.scatter(dim: d, index: index, value: value) })
  }

  /// Adds `src` values at `index` along `dim`, in place (`scatter_add_`).
  @discardableResult
  public func scatterAddInPlace(dim: Int, index: Tensor, src: Tensor) throws -> Tensor {
    let d = indexingCheckScatter("scatter_add_", dim: dim, index: index, src: src)
    precondition(dtype != .bool, "scatter_add_(): not supported for bool tensors")
    return try inPlace(
      others: [src],
      direct: {
        Kernel.scatter(self, dim: d, index: index, src: src, value: 0, add: true)
      },
      differentiable: { $0.scatterAdd(dim: d, index: index, src: src) })
  }

  /// The gradient of a scatter's `src`: the gradient gathered at `index`, placed in a zero tensor
  /// of `src`'s shape when `src` is larger than `index`.
  private static func indexingGatherGrad(
    _ g: Tensor, dim d: Int, index: Tensor, _ idxShape: [Int], _ srcShape: [Int]
  ) throws -> Tensor {
    let picked = g.gather(dim: d, index: index)
    if idxShape == srcShape { return picked }
    let geometry = ViewGeometry(
      shape: idxShape, strides: Shape.contiguousStrides(srcShape), offset: 0)
    return try Tensor.embed(picked, into: srcShape, at: geometry)
  }

  /// Validates scatter arguments and returns the normalized dim.
  private func indexingCheckScatter(_ op: String, dim: Int, index: Tensor, src: Tensor?) -> Int {
    precondition(
      index.dtype == .int64, "\(op)(): Expected dtype int32/int64 for index (got \(index.dtype))")
    if let src {
      precondition(
        src.dtype == dtype,
        "\(op)(): Expected self.dtype to be equal to src.dtype (got \(dtype) and \(src.dtype))")
    }
    let d = Shape.normalize(dim, rank: rank, op: op)
    let low = Swift.max(index.rank, rank, src?.rank ?? 0) <= 1
    precondition(
      low || (index.rank == rank && (src == nil || src!.rank == rank)),
      "\(op)(): Index tensor must have the same number of dimensions as self tensor (index \(index.shape), self \(shape)\(src.map { ", src \($0.shape)" } ?? ""))"
    )
    let (me, idx) = (indexingAtLeast1D(), index.indexingAtLeast1D())
    let s = src?.indexingAtLeast1D()
    for k in 0..<me.rank {
      let fitsSelf = k == d || idx.shape[k] <= me.shape[k]
      let fitsSrc = s.map { idx.shape[k] <= $0.shape[k] } ?? true
      precondition(
        fitsSelf && fitsSrc,
        "\(op)(): Expected index \(index.shape) to be no larger than self \(shape) apart from dimension \(d)\(src.map { " and to be no larger size than src \($0.shape)" } ?? "")"
      )
    }
    let n = me.shape[d]
    Tensor.indexingCheckBounds(index, size: n, allowNegative: false) { v in
      "\(op)(): index \(v) is out of bounds for dimension \(d) with size \(n)"
    }
    return d
  }
}

// MARK: - index_put and advanced indexing

extension Tensor {
  /// This tensor with `values` (broadcast) written at the elements picked by `indices`, one entry
  /// per leading dimension (nil takes the whole dimension; bool masks are allowed) (`index_put`).
  /// With `accumulate`, values are added and repeated positions accumulate.
  public func indexPut(_ indices: [Tensor?], values: Tensor, accumulate: Bool = false) -> Tensor {
    let list = indexingExpandMasks(indices, op: "index_put")
    let v = indexingPrepareValues(values, for: list)
    let out = contiguousCopy()
    out.indexingWrite(list, values: v, accumulate: accumulate)
    if Tensor.needsGrad(self, v) {
      let slots = list.map { $0 != nil }
      let saved = list.compactMap { $0 }
      let valShape = v.shape
      Tensor.record(
        "IndexPutBackward0", inputs: [self, v], outputs: [out], saving: saved
      ) { ctx in
        let idx = try Tensor.indexingRebuild(slots, ctx)
        var gSelf: Tensor? = nil
        if ctx.needsInputGrad(0) {
          gSelf =
            accumulate
            ? ctx.grad
            : ctx.grad.indexPut(idx, values: Tensor.zeros([], dtype: ctx.grad.dtype))
        }
        let gValues = ctx.needsInputGrad(1) ? ctx.grad.indexingRead(idx).sumTo(valShape) : nil
        return [gSelf, gValues]
      }
    }
    return out
  }

  /// Writes (or with `accumulate`, adds) `values` at the elements picked by `indices`, in place
  /// (`index_put_`).
  @discardableResult
  public func indexPutInPlace(_ indices: [Tensor?], values: Tensor, accumulate: Bool = false)
    throws -> Tensor
  {
    let list = indexingExpandMasks(indices, op: "index_put_")
    let v = indexingPrepareValues(values, for: list)
    return try inPlace(
      others: [v], checksOverlap: false,
      direct: { indexingWrite(list, values: v, accumulate: accumulate) },
      differentiable: { $0.indexPut(list, values: v, accumulate: accumulate) })
  }

  /// Advanced indexing with int64 index tensors (nil keeps a dimension), as a copy with history
  /// (PyTorch's `aten::index`).
  func indexingRead(_ list: [Tensor?]) -> Tensor {
    let plan = indexingPlan(list)
    let out = Tensor(uninitializedShape: plan.outShape, dtype: dtype)
    if out.count > 0 {
      switch dtype {
      case .float32: Kernel.indexRead(Float.self, self, plan, out)
      case .float64: Kernel.indexRead(Double.self, self, plan, out)
      case .int64: Kernel.indexRead(Int64.self, self, plan, out)
      case .bool: Kernel.indexRead(Bool.self, self, plan, out)
      }
    }
    if Tensor.needsGrad(self) {
      let slots = list.map { $0 != nil }
      let inShape = shape
      Tensor.record(
        "IndexBackward0", inputs: [self], outputs: [out], saving: list.compactMap { $0 }
      ) { ctx in
        let idx = try Tensor.indexingRebuild(slots, ctx)
        return [
          Tensor.zeros(inShape, dtype: ctx.grad.dtype).indexPut(
            idx, values: ctx.grad, accumulate: true)
        ]
      }
    }
    return out
  }

  /// Rebuilds an index list from saved tensors and the pattern of non-nil slots.
  private static func indexingRebuild(_ slots: [Bool], _ ctx: BackwardContext) throws -> [Tensor?] {
    var k = 0
    var out: [Tensor?] = []
    for s in slots {
      if s {
        out.append(try ctx.saved(k))
        k += 1
      } else {
        out.append(nil)
      }
    }
    return out
  }

  /// Writes `values` (already of this dtype and broadcastable) at `list`; no autograd.
  private func indexingWrite(_ list: [Tensor?], values: Tensor, accumulate: Bool) {
    let plan = indexingPlan(list)
    precondition(
      Tensor.indexingBroadcasts(values.shape, to: plan.outShape),
      "index_put_: shape mismatch: value tensor of shape \(values.shape) cannot be broadcast to indexing result of shape \(plan.outShape)"
    )
    if Shape.count(plan.outShape) == 0 { return }
    switch dtype {
    case .float32:
      Kernel.indexWrite(self, plan, values, serial: accumulate) { (a: Float, b: Float) in
        accumulate ? a + b : b
      }
    case .float64:
      Kernel.indexWrite(self, plan, values, serial: accumulate) {
        (a: Double, b: Double) in accumulate ? a + b : b
      }
    case .int64:
      Kernel.indexWrite(self, plan, values, serial: accumulate) {
        (a: Int64, b: Int64) in accumulate ? a &+ b : b
      }
    case .bool:
      Kernel.indexWrite(self, plan, values, serial: accumulate) { (a: Bool, b: Bool) in
        accumulate ? a || b : b
      }
    }
  }

  /// Converts bool masks in an index list into their int64 position tensors (one per masked
  /// dimension), checking the mask shapes.
  private func indexingExpandMasks(_ indices: [Tensor?], op: String) -> [Tensor?] {
    var out: [Tensor?] = []
    for t in indices {
      guard let t else {
        out.append(nil)
        continue
      }
      switch t.dtype {
      case .int64:
        out.append(t)
      case .bool:
        let start = out.count
        for j in 0..<t.rank {
          precondition(
            start + j < rank && t.shape[j] == shape[start + j],
            "\(op): The shape of the mask \(t.shape) at index \(j) does not match the shape of the indexed tensor \(shape) at index \(start + j)"
          )
        }
        out += Tensor.indexingMaskPositions(t).map { Optional($0) }
      default:
        preconditionFailure(
          "\(op): tensors used as indices must be long, int, byte or bool tensors (got \(t.dtype))")
      }
    }
    precondition(
      out.count <= rank, "\(op): too many indices for tensor of dimension \(rank)")
    return out
  }

  /// `values` converted to this dtype, with leading size-1 dims beyond the result rank removed.
  private func indexingPrepareValues(_ values: Tensor, for list: [Tensor?]) -> Tensor {
    var v = values.dtype == dtype ? values : values.to(dtype)
    let outRank = indexingPlanShape(list).count
    if v.rank > outRank {
      var sh = v.shape
      while sh.count > outRank && sh.first == 1 { sh.removeFirst() }
      if sh.count != v.rank { v = v.reshape(sh) }
    }
    return v
  }

  /// Positions of the true elements of a bool tensor, one int64 tensor per dimension
  /// (`nonzero(as_tuple=True)`).
  static func indexingMaskPositions(_ mask: Tensor) -> [Tensor] {
    let m = mask.contiguousCopyIfNeeded()
    let p = m.basePointer(Bool.self)
    let n = m.count
    let r = m.rank
    var hits = 0
    for i in 0..<n where p[i] { hits += 1 }
    let outs = (0..<r).map { _ in Tensor(uninitializedShape: [hits], dtype: .int64) }
    if hits == 0 || r == 0 { return outs }
    let ptrs = outs.map { $0.basePointer(Int64.self) }
    var coord = [Int](repeating: 0, count: r)
    var j = 0
    for i in 0..<n {
      if p[i] {
        for k in 0..<r { ptrs[k][j] = Int64(coord[k]) }
        j += 1
      }
      var k = r - 1
      while k >= 0 {
        coord[k] += 1
        if coord[k] < m.shape[k] { break }
        coord[k] = 0
        k -= 1
      }
    }
    return outs
  }
}

/// Geometry of an advanced-index read or write: the result shape, and per result dim the stride
/// in the indexed tensor (0 on index dims) and the stride in the precomputed offset table.
struct IndexingPlan {
  var outShape: [Int]
  var selfStrides: [Int]
  var offsetStrides: [Int]
  /// Element offset contributed by the index tensors, int64, contiguous, broadcast index shape.
  var offsets: Tensor
}

extension Tensor {
  /// The shape an advanced index produces (without computing offsets).
  private func indexingPlanShape(_ list: [Tensor?]) -> [Int] {
    let adv = list.indices.filter { list[$0] != nil }
    if adv.isEmpty { return shape }
    let b = Tensor.indexingBroadcastShape(list.compactMap { $0?.shape })
    let nonAdv = (0..<rank).filter { $0 >= list.count || list[$0] == nil }
    if adv.last! - adv.first! + 1 == adv.count {
      return nonAdv.filter { $0 < adv.first! }.map { shape[$0] } + b
        + nonAdv.filter { $0 > adv.last! }.map { shape[$0] }
    }
    return b + nonAdv.map { shape[$0] }
  }

  /// Builds the read/write geometry of an advanced index over this tensor's layout, checking the
  /// index bounds.
  func indexingPlan(_ list: [Tensor?]) -> IndexingPlan {
    precondition(list.count <= rank, "index: too many indices for tensor of dimension \(rank)")
    let adv = list.indices.filter { list[$0] != nil }
    let b = Tensor.indexingBroadcastShape(list.compactMap { $0?.shape })
    let offsets = Tensor(zerosShape: b, dtype: .int64)
    for d in adv {
      let t = list[d]!
      precondition(t.dtype == .int64, "index: index tensors must be int64, got \(t.dtype)")
      let n = shape[d]
      Tensor.indexingCheckBounds(t, size: n, allowNegative: true) { v in
        "index \(v) is out of bounds for dimension \(d) with size \(n)"
      }
      let stride = Int64(strides[d])
      let size = Int64(n)
      Kernel.apply(into: offsets, offsets, t) { (o: Int64, i: Int64) -> Int64 in
        o &+ (i < 0 ? i &+ size : i) &* stride
      }
    }
    let bStrides = Shape.contiguousStrides(b)
    var plan = IndexingPlan(outShape: [], selfStrides: [], offsetStrides: [], offsets: offsets)
    func keep(_ d: Int) {
      plan.outShape.append(shape[d])
      plan.selfStrides.append(strides[d])
      plan.offsetStrides.append(0)
    }
    func addIndexDims() {
      for k in 0..<b.count {
        plan.outShape.append(b[k])
        plan.selfStrides.append(0)
        plan.offsetStrides.append(bStrides[k])
      }
    }
    let nonAdv = (0..<rank).filter { $0 >= list.count || list[$0] == nil }
    if let first = adv.first, let last = adv.last, last - first + 1 == adv.count {
      for d in nonAdv where d < first { keep(d) }
      addIndexDims()
      for d in nonAdv where d > last { keep(d) }
    } else {
      addIndexDims()
      for d in nonAdv { keep(d) }
    }
    return plan
  }

  /// Broadcast shape of index tensors, with PyTorch's message when they do not broadcast.
  private static func indexingBroadcastShape(_ shapes: [[Int]]) -> [Int] {
    let n = shapes.map(\.count).max() ?? 0
    var out = [Int](repeating: 1, count: n)
    for s in shapes {
      for (i, v) in s.enumerated() {
        let j = n - s.count + i
        if out[j] == 1 {
          out[j] = v
        } else if v != 1 && v != out[j] {
          preconditionFailure(
            "index: shape mismatch: indexing tensors could not be broadcast together with shapes \(shapes.map { "\($0)" }.joined(separator: ", "))"
          )
        }
      }
    }
    return out
  }

  /// Whether `shape` broadcasts to exactly `target`.
  static func indexingBroadcasts(_ shape: [Int], to target: [Int]) -> Bool {
    if shape.count > target.count { return false }
    let lead = target.count - shape.count
    for (i, s) in shape.enumerated() where s != 1 && s != target[lead + i] { return false }
    return true
  }
}
