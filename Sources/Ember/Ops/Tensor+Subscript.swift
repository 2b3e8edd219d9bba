/// Python-style subscripts: `x[0, 1..<3, .ellipsis, .newAxis]`, `x[mask]`, `x[indexTensor]`.
//
// Integer, range, `.all`, `.ellipsis` and `.newAxis` subscripts give views that share storage;
// bool masks and int64 index tensors give copies (PyTorch's advanced indexing, implemented in
// Tensor+Scatter.swift). Index tensors are int64; gradients never flow into them.

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
    set { Tensor.stopOnError { try setItems(indices, to: newValue) } }
  }

  /// `x[0] = 10`: fills the selected elements with a number; reading gives the single selected
  /// element as Double (`x[i] = v` / `x[i].item()`).
  @_disfavoredOverload
  public subscript(_ indices: any TensorIndexConvertible...) -> Double {
    get { self[indices: indices].item() }
    set { Tensor.stopOnError { try setItems(indices, to: newValue) } }
  }

  /// Subscript setters cannot throw: an autograd error (such as writing into a leaf that requires
  /// grad) stops with its message, as an out-of-range index does. `setItems` is the throwing form.
  private static func stopOnError(_ body: () throws -> Void) {
    do { try body() } catch { preconditionFailure("\(error)") }
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
