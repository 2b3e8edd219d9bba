/// Indexing: `indexSelect`, `gather`, `scatter`, `scatterAdd`, `indexAdd`, `indexPut`, and
/// Python-style subscripts (`x[0, 1..<3, .ellipsis, .newAxis]`, `x[mask]`, `x[indexTensor]`).
///
/// Integer, range, `.all`, `.ellipsis` and `.newAxis` subscripts give views that share storage;
/// bool masks and int64 index tensors give copies (PyTorch's advanced indexing). Index tensors
/// are int64; gradients never flow into them.

// MARK: - Subscript components

/// One component of a subscript, as in Python's `x[0, 1:3, ..., None, mask]`.
public enum TensorIndex {
  /// A single position along a dimension, which is removed (`x[i]`); negative counts from the end.
  case at(Int)
  /// Positions `start..<end` every `step` (`x[start:end:step]`); nil bounds mean the ends and
  /// negative bounds count from the end.
  case range(start: Int?, end: Int?, step: Int = 1)
  /// The whole dimension (`x[:]`).
  case all
  /// As many whole dimensions as needed to index the rest (`x[...]`).
  case ellipsis
  /// A new dimension of size 1 (`x[None]`).
  case newAxis
  /// A bool tensor selecting the elements where it is true over as many dimensions as it has
  /// (`x[mask]`); gives a copy.
  case mask(Tensor)
  /// An int64 tensor of positions along one dimension (`x[indexTensor]`); gives a copy whose
  /// dimensions follow the index tensor's shape.
  case indices(Tensor)

  /// The positions of `r`, every `step`-th (`x[a:b:step]`).
  public static func range(_ r: Range<Int>, step: Int = 1) -> TensorIndex {
    .range(start: r.lowerBound, end: r.upperBound, step: step)
  }

  /// The positions of `r`, every `step`-th (`x[a:b+1:step]`); `...(-1)` reaches the end.
  public static func range(_ r: ClosedRange<Int>, step: Int = 1) -> TensorIndex {
    .range(start: r.lowerBound, end: r.upperBound == -1 ? nil : r.upperBound + 1, step: step)
  }

  /// The positions from `r.lowerBound` on, every `step`-th (`x[a::step]`).
  public static func range(_ r: PartialRangeFrom<Int>, step: Int = 1) -> TensorIndex {
    .range(start: r.lowerBound, end: nil, step: step)
  }

  /// The positions before `r.upperBound`, every `step`-th (`x[:b:step]`).
  public static func range(_ r: PartialRangeUpTo<Int>, step: Int = 1) -> TensorIndex {
    .range(start: nil, end: r.upperBound, step: step)
  }

  /// The positions up to and including `r.upperBound`, every `step`-th (`x[:b+1:step]`).
  public static func range(_ r: PartialRangeThrough<Int>, step: Int = 1) -> TensorIndex {
    .range(start: nil, end: r.upperBound == -1 ? nil : r.upperBound + 1, step: step)
  }
}

/// A value usable in a tensor subscript: `Int`, the Swift range types over `Int`, `Tensor`
/// (bool mask or int64 indices) and ``TensorIndex``.
public protocol TensorIndexConvertible {
  /// This value as a subscript component.
  var asTensorIndex: TensorIndex { get }
}

extension TensorIndex: TensorIndexConvertible {
  /// The component itself.
  public var asTensorIndex: TensorIndex { self }
}

extension Int: TensorIndexConvertible {
  /// `.at(self)`: selects one position and removes the dimension.
  public var asTensorIndex: TensorIndex { .at(self) }
}

extension Range: TensorIndexConvertible where Bound == Int {
  /// `.range(self)`: a view of the positions in the range.
  public var asTensorIndex: TensorIndex { .range(self) }
}

extension ClosedRange: TensorIndexConvertible where Bound == Int {
  /// `.range(self)`: a view of the positions in the range.
  public var asTensorIndex: TensorIndex { .range(self) }
}

extension PartialRangeFrom: TensorIndexConvertible where Bound == Int {
  /// `.range(self)`: a view of the positions from the lower bound on.
  public var asTensorIndex: TensorIndex { .range(self) }
}

extension PartialRangeUpTo: TensorIndexConvertible where Bound == Int {
  /// `.range(self)`: a view of the positions before the upper bound.
  public var asTensorIndex: TensorIndex { .range(self) }
}

extension PartialRangeThrough: TensorIndexConvertible where Bound == Int {
  /// `.range(self)`: a view of the positions up to the upper bound.
  public var asTensorIndex: TensorIndex { .range(self) }
}

extension Tensor: TensorIndexConvertible {
  /// `.mask(self)` for a bool tensor, otherwise `.indices(self)`.
  public var asTensorIndex: TensorIndex { dtype == .bool ? .mask(self) : .indices(self) }
}

// Leading-dot spellings inside subscripts (`x[.all, 2]`, `x[.range(0..<6, step: 2)]`). They are
// disfavored so that `TensorIndex.all` etc. still name the enum cases.
extension TensorIndexConvertible where Self == TensorIndex {
  /// The whole dimension (`x[:]`).
  @_disfavoredOverload public static var all: TensorIndex { TensorIndex.all }
  /// As many whole dimensions as needed (`x[...]`).
  @_disfavoredOverload public static var ellipsis: TensorIndex { TensorIndex.ellipsis }
  /// A new dimension of size 1 (`x[None]`).
  @_disfavoredOverload public static var newAxis: TensorIndex { TensorIndex.newAxis }
  /// A single position (`x[i]`).
  @_disfavoredOverload public static func at(_ i: Int) -> TensorIndex { TensorIndex.at(i) }
  /// A bool mask (`x[mask]`).
  @_disfavoredOverload public static func mask(_ m: Tensor) -> TensorIndex { TensorIndex.mask(m) }
  /// An int64 index tensor (`x[indices]`).
  @_disfavoredOverload public static func indices(_ t: Tensor) -> TensorIndex {
    TensorIndex.indices(t)
  }
  /// `x[start:end:step]`.
  @_disfavoredOverload public static func range(start: Int?, end: Int?, step: Int = 1)
    -> TensorIndex
  { TensorIndex.range(start: start, end: end, step: step) }
  /// `x[a:b:step]`.
  @_disfavoredOverload public static func range(_ r: Range<Int>, step: Int = 1) -> TensorIndex {
    TensorIndex.range(r, step: step)
  }
  /// `x[a:b+1:step]`.
  @_disfavoredOverload public static func range(_ r: ClosedRange<Int>, step: Int = 1)
    -> TensorIndex
  { TensorIndex.range(r, step: step) }
  /// `x[a::step]`.
  @_disfavoredOverload public static func range(_ r: PartialRangeFrom<Int>, step: Int = 1)
    -> TensorIndex
  { TensorIndex.range(r, step: step) }
  /// `x[:b:step]`.
  @_disfavoredOverload public static func range(_ r: PartialRangeUpTo<Int>, step: Int = 1)
    -> TensorIndex
  { TensorIndex.range(r, step: step) }
  /// `x[:b+1:step]`.
  @_disfavoredOverload public static func range(_ r: PartialRangeThrough<Int>, step: Int = 1)
    -> TensorIndex
  { TensorIndex.range(r, step: step) }
}

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
    let out = indexingClone()
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

// MARK: - gather, scatter, scatter_add

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

  /// This tensor with `src` values written at `index` along `dim`: for `dim == 0`,
  /// `out[index[i][j]][j] = src[i][j]` (`scatter`). With repeated indices one value wins.
  public func scatter(dim: Int, index: Tensor, src: Tensor) -> Tensor {
    let d = indexingCheckScatter("scatter", dim: dim, index: index, src: src)
    let out = indexingClone()
    Tensor.indexingScatterKernel(out, dim: d, index: index, src: src, value: 0, add: false)
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
    let out = indexingClone()
    Tensor.indexingScatterKernel(out, dim: d, index: index, src: nil, value: value, add: false)
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
    let out = indexingClone()
    Tensor.indexingScatterKernel(out, dim: d, index: index, src: src, value: 0, add: true)
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
        Tensor.indexingScatterKernel(self, dim: d, index: index, src: src, value: 0, add: false)
      },
      differentiable: { $0.scatter(dim: d, index: index, src: src) })
  }

  /// Writes `value` at `index` along `dim`, in place (`scatter_` with a scalar value).
  @discardableResult
  public func scatterInPlace(dim: Int, index: Tensor, value: Double) throws -> Tensor {
    let d = indexingCheckScatter("scatter_", dim: dim, index: index, src: nil)
    return try inPlace(
      direct: {
        Tensor.indexingScatterKernel(self, dim: d, index: index, src: nil, value: value, add: false)
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
        Tensor.indexingScatterKernel(self, dim: d, index: index, src: src, value: 0, add: true)
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
    let out = indexingClone()
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
      others: [v],
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
      case .float32: Tensor.indexingReadKernel(Float.self, self, plan, out)
      case .float64: Tensor.indexingReadKernel(Double.self, self, plan, out)
      case .int64: Tensor.indexingReadKernel(Int64.self, self, plan, out)
      case .bool: Tensor.indexingReadKernel(Bool.self, self, plan, out)
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
      Tensor.indexingWriteKernel(self, plan, values, serial: accumulate) { (a: Float, b: Float) in
        accumulate ? a + b : b
      }
    case .float64:
      Tensor.indexingWriteKernel(self, plan, values, serial: accumulate) {
        (a: Double, b: Double) in accumulate ? a + b : b
      }
    case .int64:
      Tensor.indexingWriteKernel(self, plan, values, serial: accumulate) {
        (a: Int64, b: Int64) in accumulate ? a &+ b : b
      }
    case .bool:
      Tensor.indexingWriteKernel(self, plan, values, serial: accumulate) { (a: Bool, b: Bool) in
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
  private static func indexingMaskPositions(_ mask: Tensor) -> [Tensor] {
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
  private static func indexingBroadcasts(_ shape: [Int], to target: [Int]) -> Bool {
    if shape.count > target.count { return false }
    let lead = target.count - shape.count
    for (i, s) in shape.enumerated() where s != 1 && s != target[lead + i] { return false }
    return true
  }

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

  /// A contiguous copy without history; a straight memory copy when this tensor is contiguous.
  fileprivate func indexingClone() -> Tensor {
    guard isContiguous else { return contiguousCopy() }
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    let es = dtype.byteSize
    let src = storage.data + storageOffset * es
    let dst = out.storage.data
    Parallel.forRange(count) { r in
      (dst + r.lowerBound * es).copyMemory(from: src + r.lowerBound * es, byteCount: r.count * es)
    }
    return out
  }

  /// A rank-0 tensor read as shape [1] (an alias without history), for kernels.
  fileprivate func indexingAtLeast1D() -> Tensor {
    rank == 0 ? alias(shape: [1], strides: [1]) : self
  }
}

// MARK: - Subscripts

/// The outcome of resolving a subscript: a view of the tensor, and the advanced indices (int64
/// tensors, nil for untouched dims) still to apply to it, if any.
private struct IndexingResolved {
  var view: Tensor
  var advanced: [Tensor?]?
  /// Set when the subscript is a single bool mask covering the whole view (`x[mask] = v` then
  /// uses masked fill).
  var wholeMask: Tensor?
}

extension Tensor {
  /// `x[0]`, `x[1..<3, .all]`, `x[.ellipsis, 0]`, `x[.newAxis]`, `x[mask]`, `x[indexTensor]`
  /// (Python's `x[...]`). Integers, ranges, `.all`, `.ellipsis` and `.newAxis` give views that
  /// share storage; masks and index tensors give copies. Assigning copies the value (broadcast)
  /// into the selected elements, recording history like PyTorch's `x[i] = v`; an autograd error
  /// (for example writing into a leaf that requires grad) stops the program (use ``setItems(_:to:)-(_,Tensor)``
  /// to catch it).
  public subscript(_ indices: any TensorIndexConvertible...) -> Tensor {
    get { self[indices: indices] }
    set { self[indices: indices] = newValue }
  }

  /// `x[indices: list]`: the subscript with the components in an array.
  public subscript(indices indices: [any TensorIndexConvertible]) -> Tensor {
    get {
      let r = indexingResolve(indices.map(\.asTensorIndex))
      guard let adv = r.advanced else {
        // a subscript that selects everything still gives a new view, as PyTorch's `x[...]`
        return r.view === self ? indexingAlias() : r.view
      }
      return r.view.indexingRead(adv)
    }
    set {
      do {
        try setItems(indices, to: newValue)
      } catch let error as AutogradError {
        preconditionFailure(error.description)
      } catch {
        preconditionFailure("\(error)")
      }
    }
  }

  /// `x[0] = 10`: fills the selected elements with a number; reading gives the single selected
  /// element as Double (`x[i] = v` / `x[i].item()`).
  @_disfavoredOverload
  public subscript(_ indices: any TensorIndexConvertible...) -> Double {
    get { self[indices: indices].item() }
    set {
      do {
        try setItems(indices, to: newValue)
      } catch let error as AutogradError {
        preconditionFailure(error.description)
      } catch {
        preconditionFailure("\(error)")
      }
    }
  }

  /// Copies `value` (broadcast) into the elements selected by `indices` (`x[indices] = value`,
  /// PyTorch's `__setitem__`); throws instead of stopping on autograd misuse.
  public func setItems(_ indices: [any TensorIndexConvertible], to value: Tensor) throws {
    let r = indexingResolve(indices.map(\.asTensorIndex))
    if let adv = r.advanced {
      try r.view.indexPutInPlace(adv, values: value)
      return
    }
    var v = value
    if v.rank > r.view.rank {
      var sh = v.shape
      while sh.count > r.view.rank && sh.first == 1 { sh.removeFirst() }
      if sh.count != v.rank { v = v.reshape(sh) }
    }
    precondition(
      Tensor.indexingBroadcasts(v.shape, to: r.view.shape),
      "setItems: shape mismatch: value tensor of shape \(value.shape) cannot be broadcast to indexing result of shape \(r.view.shape)"
    )
    try r.view.copy(from: v)
  }

  /// Fills the elements selected by `indices` with `value` (`x[indices] = value`); throws
  /// instead of stopping on autograd misuse.
  public func setItems(_ indices: [any TensorIndexConvertible], to value: Double) throws {
    let r = indexingResolve(indices.map(\.asTensorIndex))
    if let mask = r.wholeMask {
      try r.view.maskedFillInPlace(mask, value)
    } else if let adv = r.advanced {
      try r.view.indexPutInPlace(adv, values: Tensor.full([], value, dtype: r.view.dtype))
    } else {
      try r.view.fill(value)
    }
  }

  /// Applies the view components of a subscript and collects its advanced ones. The view is
  /// `self` when no view component changes anything.
  private func indexingResolve(_ items: [TensorIndex]) -> IndexingResolved {
    var consumed = 0
    var ellipses = 0
    for item in items {
      switch item {
      case .at, .range, .all, .indices: consumed += 1
      case .mask(let m): consumed += m.rank
      case .ellipsis: ellipses += 1
      case .newAxis: break
      }
    }
    precondition(ellipses <= 1, "index: an index can only have a single ellipsis ('...')")
    precondition(
      consumed <= rank, "index: too many indices for tensor of dimension \(rank)")
    var result = self
    var dim = 0
    var advanced: [Int: Tensor] = [:]
    var wholeMask: Tensor? = nil
    for item in items {
      switch item {
      case .at(let i):
        let n = result.shape[dim]
        precondition(
          i >= -n && i < n, "index \(i) is out of bounds for dimension \(dim) with size \(n)")
        result = result.select(dim, i)
      case .range(let start, let end, let step):
        precondition(step > 0, "index: step must be greater than zero (got \(step))")
        result = result.slice(dim, start: start ?? 0, end: end, step: step)
        dim += 1
      case .all:
        dim += 1
      case .ellipsis:
        dim += rank - consumed
      case .newAxis:
        result = result.unsqueeze(dim)
        dim += 1
      case .indices(let t):
        precondition(
          t.dtype == .int64,
          "index: tensors used as indices must be long, int, byte or bool tensors (got \(t.dtype))")
        advanced[dim] = t
        dim += 1
      case .mask(let m):
        precondition(
          m.dtype == .bool,
          "index: tensors used as indices must be long, int, byte or bool tensors (got \(m.dtype))")
        if m.rank == 0 {
          // x[True] adds a dim of size 1, x[False] one of size 0
          result = result.unsqueeze(dim)
          advanced[dim] = Tensor(
            shape: [m.item() != 0 ? 1 : 0], doubles: m.item() != 0 ? [0] : [], dtype: .int64)
          dim += 1
          continue
        }
        for j in 0..<m.rank {
          precondition(
            m.shape[j] == result.shape[dim + j],
            "index: The shape of the mask \(m.shape) at index \(j) does not match the shape of the indexed tensor \(result.shape) at index \(dim + j)"
          )
        }
        if items.count == 1 && m.rank == rank { wholeMask = m }
        for (j, p) in Tensor.indexingMaskPositions(m).enumerated() { advanced[dim + j] = p }
        dim += m.rank
      }
    }
    guard let lastAdv = advanced.keys.max() else {
      return IndexingResolved(view: result, advanced: nil, wholeMask: nil)
    }
    let list = (0...lastAdv).map { advanced[$0] }
    return IndexingResolved(view: result, advanced: list, wholeMask: wholeMask)
  }

  /// A view of the whole tensor (`x[...]`, PyTorch's `alias`).
  private func indexingAlias() -> Tensor {
    let out = makeView(shape: shape, strides: strides, offset: storageOffset)
    if Tensor.needsGrad(self) {
      Tensor.record("AliasBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad] }
    }
    return out
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
                for j in 0..<inner { dst[j] += a * s[j] }
              } else {
                for j in 0..<inner { dst[j] += s[j] }
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
              for j in r { dst[j] += a * s[j] }
            } else {
              for j in r { dst[j] += s[j] }
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
  fileprivate static func indexingForEachBlock(
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

  /// out[..., index[..., k, ...], ...] = (or +=) src[..., k, ...] (or `value`) along `d`.
  /// Blocks of non-`d` positions are disjoint in `out`, so they run in parallel without races.
  fileprivate static func indexingScatterKernel(
    _ out: Tensor, dim d: Int, index: Tensor, src: Tensor?, value: Double, add: Bool
  ) {
    if index.count == 0 { return }
    let out1 = out.indexingAtLeast1D()
    let index1 = index.indexingAtLeast1D()
    let src1 = src?.indexingAtLeast1D()
    let dimSize = index1.shape[d]
    let srcStrides = src1?.strides ?? [Int](repeating: 0, count: index1.rank)
    let (outDim, idxDim, srcDim) = (out1.strides[d], index1.strides[d], srcStrides[d])
    let pi = index1.basePointer(Int64.self)
    func run<T: TensorScalar>(_: T.Type, _ combine: (T, T) -> T) {
      let po = out1.basePointer(T.self)
      // with a scalar value, read it from a one-element buffer with stride 0
      let scalar = UnsafeMutablePointer<T>.allocate(capacity: 1)
      defer { scalar.deallocate() }
      scalar.initialize(to: T(fromDouble: value))
      let ps = src1?.basePointer(T.self) ?? scalar
      indexingForEachBlock(
        shape: index1.shape, dim: d, strides: [out1.strides, index1.strides, srcStrides],
        costPerPosition: dimSize
      ) { o0, i0, s0, n, os, ist, sst in
        if n > 1 && idxDim > ist {
          for k in 0..<dimSize {
            let ib = pi + i0 + k * idxDim
            let sb = ps + s0 + k * srcDim
            for j in 0..<n {
              let p = po + o0 + j * os + Int(ib[j * ist]) * outDim
              p.pointee = combine(p.pointee, sb[j * sst])
            }
          }
        } else {
          for j in 0..<n {
            let ob = po + o0 + j * os
            let ib = pi + i0 + j * ist
            let sb = ps + s0 + j * sst
            for k in 0..<dimSize {
              let p = ob + Int(ib[k * idxDim]) * outDim
              p.pointee = combine(p.pointee, sb[k * srcDim])
            }
          }
        }
      }
    }
    switch out.dtype {
    case .float32: run(Float.self) { add ? $0 + $1 : $1 }
    case .float64: run(Double.self) { add ? $0 + $1 : $1 }
    case .int64: run(Int64.self) { add ? $0 &+ $1 : $1 }
    case .bool: run(Bool.self) { add ? $0 || $1 : $1 }
    }
  }

  /// out[i] = src[selfOffset(i) + offsets(i)] over the advanced-index result.
  fileprivate static func indexingReadKernel<T: TensorScalar>(
    _: T.Type, _ src: Tensor, _ plan: IndexingPlan, _ out: Tensor
  ) {
    let sp = StridedPlan(
      shape: plan.outShape, strides: [out.strides, plan.selfStrides, plan.offsetStrides])
    let po = out.basePointer(T.self)
    let ps = src.basePointer(T.self)
    let pk = plan.offsets.basePointer(Int64.self)
    sp.forEachRow { off, n, st in
      var o = po + off[0]
      var s = ps + off[1]
      var k = pk + off[2]
      let (so, ss, sk) = (st[0], st[1], st[2])
      for _ in 0..<n {
        o.pointee = s[Int(k.pointee)]
        o += so
        s += ss
        k += sk
      }
    }
  }

  /// target[selfOffset(i) + offsets(i)] = combine(old, values[i]) over the advanced-index result.
  /// `serial` runs rows in order on one thread (needed when repeated positions accumulate).
  fileprivate static func indexingWriteKernel<T: TensorScalar>(
    _ target: Tensor, _ plan: IndexingPlan, _ values: Tensor, serial: Bool,
    _ combine: (T, T) -> T
  ) {
    let vs = Shape.broadcastStrides(shape: values.shape, strides: values.strides, to: plan.outShape)
    let sp = StridedPlan(shape: plan.outShape, strides: [plan.selfStrides, plan.offsetStrides, vs])
    let pt = target.basePointer(T.self)
    let pk = plan.offsets.basePointer(Int64.self)
    let pv = values.basePointer(T.self)
    func row(_ off: UnsafePointer<Int>, _ n: Int, _ st: UnsafePointer<Int>) {
      var t = pt + off[0]
      var k = pk + off[1]
      var v = pv + off[2]
      let (stt, sk, sv) = (st[0], st[1], st[2])
      for _ in 0..<n {
        let p = t + Int(k.pointee)
        p.pointee = combine(p.pointee, v.pointee)
        t += stt
        k += sk
        v += sv
      }
    }
    if !serial {
      sp.forEachRow(row)
      return
    }
    // the same odometer as StridedPlan.forEachRow, on the calling thread
    let outerRank = sp.shape.count - 1
    let nOps = sp.strides.count
    let inner = sp.shape[outerRank]
    var rows = 1
    for d in 0..<outerRank { rows *= sp.shape[d] }
    var counter = [Int](repeating: 0, count: Swift.max(outerRank, 1))
    var offsets = [Int](repeating: 0, count: nOps)
    let innerStrides = (0..<nOps).map { sp.strides[$0][outerRank] }
    innerStrides.withUnsafeBufferPointer { isp in
      offsets.withUnsafeMutableBufferPointer { off in
        for _ in 0..<rows {
          row(UnsafePointer(off.baseAddress!), inner, isp.baseAddress!)
          var d = outerRank - 1
          while d >= 0 {
            counter[d] += 1
            for j in 0..<nOps { off[j] += sp.strides[j][d] }
            if counter[d] < sp.shape[d] { break }
            for j in 0..<nOps { off[j] -= sp.strides[j][d] * sp.shape[d] }
            counter[d] = 0
            d -= 1
          }
        }
      }
    }
  }
}
