/// Views: tensors that share storage with their input (reshape when possible, transpose, permute,
/// expand, squeeze, unsqueeze, narrow/select/slice). Their backward rules are views or reshapes of
/// the gradient, so they can be differentiated again.
extension Tensor {
  /// A view of this tensor with new geometry, linked to the root base for in-place tracking.
  func makeView(shape: [Int], strides: [Int], offset: Int) -> Tensor {
    let v = alias(shape: shape, strides: strides, offset: offset)
    v.attachView(to: viewBase ?? self, from: self)
    return v
  }

  // MARK: reshape

  /// Resolves one -1 in a requested shape.
  func inferShape(_ requested: [Int], op: String) -> [Int] {
    var shape = requested
    let n = count
    if let i = shape.firstIndex(of: -1) {
      precondition(
        shape.filter { $0 == -1 }.count == 1, "\(op): only one dimension can be inferred")
      let known = shape.enumerated().reduce(1) { $1.offset == i ? $0 : $0 * $1.element }
      precondition(
        known != 0 && n % known == 0, "\(op): shape \(requested) is invalid for input of size \(n)")
      shape[i] = n / known
    }
    precondition(
      Shape.count(shape) == n,
      "\(op): shape \(requested) is invalid for input of size \(n) (shape \(self.shape))")
    return shape
  }

  /// Strides that let the current layout be read as `newShape` without copying, if any
  /// (PyTorch's computeStride).
  func viewStrides(for newShape: [Int]) -> [Int]? {
    if isContiguous { return Shape.contiguousStrides(newShape) }
    if count == 0 { return Shape.contiguousStrides(newShape) }
    var newStrides = [Int](repeating: 0, count: newShape.count)
    var viewD = newShape.count - 1
    var chunkBase = strides.last ?? 1
    var tensorNumel = 1
    var viewNumel = 1
    var d = rank - 1
    while d >= 0 {
      tensorNumel *= shape[d]
      if d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBase) {
        while viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1) {
          newStrides[viewD] = viewNumel * chunkBase
          viewNumel *= newShape[viewD]
          viewD -= 1
        }
        if viewNumel != tensorNumel { return nil }
        if d > 0 {
          chunkBase = strides[d - 1]
          tensorNumel = 1
          viewNumel = 1
        }
      }
      d -= 1
    }
    if viewD != -1 { return nil }
    return newStrides
  }

  /// This tensor with a new shape (one entry may be -1): a view when the layout allows, else a
  /// copy (`reshape`).
  public func reshape(_ newShape: [Int]) -> Tensor {
    let target = inferShape(newShape, op: "reshape")
    if target == shape {
      return viewOp(shape: shape, strides: strides, offset: storageOffset, name: "ViewBackward0")
    }
    if let st = viewStrides(for: target) {
      return viewOp(shape: target, strides: st, offset: storageOffset, name: "ViewBackward0")
    }
    let copy = contiguousCopy()
    let out = copy.alias(shape: target, strides: Shape.contiguousStrides(target), offset: 0)
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record("UnsafeViewBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reshape(inShape)]
      }
    }
    return out
  }

  public func reshape(_ newShape: Int...) -> Tensor { reshape(newShape) }

  /// A view with a new shape; stops if the layout cannot be viewed that way (`view`).
  public func view(_ newShape: [Int]) -> Tensor {
    let target = inferShape(newShape, op: "view")
    guard let st = viewStrides(for: target) else {
      preconditionFailure(
        "view: size \(newShape) is not compatible with input tensor's size \(shape) and stride \(strides) (at least one dimension spans across two contiguous subspaces). Use reshape(...) instead."
      )
    }
    return viewOp(shape: target, strides: st, offset: storageOffset, name: "ViewBackward0")
  }

  public func view(_ newShape: Int...) -> Tensor { view(newShape) }

  private func viewOp(shape newShape: [Int], strides st: [Int], offset: Int, name: String) -> Tensor
  {
    let out = makeView(shape: newShape, strides: st, offset: offset)
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record(name, inputs: [self], outputs: [out]) { ctx in [ctx.grad.reshape(inShape)] }
    }
    return out
  }

  /// Flattens dims `startDim...endDim` into one (`flatten`).
  public func flatten(startDim: Int = 0, endDim: Int = -1) -> Tensor {
    if rank == 0 { return reshape([1]) }
    let s = Shape.normalize(startDim, rank: rank, op: "flatten")
    let e = Shape.normalize(endDim, rank: rank, op: "flatten")
    precondition(s <= e, "flatten: start_dim cannot come after end_dim")
    if s == e { return self }  // nothing merged: PyTorch returns the input itself
    let merged = shape[s...e].reduce(1, *)
    return reshape(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
  }

  // MARK: transpose and permute

  /// Swaps two dimensions (`transpose`).
  public func transpose(_ dim0: Int, _ dim1: Int) -> Tensor {
    let a = Shape.normalize(dim0, rank: rank, op: "transpose")
    let b = Shape.normalize(dim1, rank: rank, op: "transpose")
    var sh = shape
    var st = strides
    if rank > 0 {
      sh.swapAt(a, b)
      st.swapAt(a, b)
    }
    let out = makeView(shape: sh, strides: st, offset: storageOffset)
    if Tensor.needsGrad(self) {
      Tensor.record("TransposeBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.transpose(a, b)]
      }
    }
    return out
  }

  /// Transpose of a matrix (0-d and 1-d tensors are returned as they are) (`t()`).
  public func t() -> Tensor {
    precondition(rank <= 2, "t: expects a tensor with <= 2 dimensions, but self is \(rank)D")
    if rank < 2 {
      let out = makeView(shape: shape, strides: strides, offset: storageOffset)
      if Tensor.needsGrad(self) {
        Tensor.record("TBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad] }
      }
      return out
    }
    let out = makeView(
      shape: [shape[1], shape[0]], strides: [strides[1], strides[0]], offset: storageOffset)
    if Tensor.needsGrad(self) {
      Tensor.record("TBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad.t()] }
    }
    return out
  }

  /// All dims in reverse order (`T`): the transpose of a matrix, recorded as `PermuteBackward0`.
  /// For other ranks PyTorch still reverses the dims but warns that this use is deprecated
  /// (prefer `mT` or `permute`); Ember reverses them without a warning.
  // swift-format-ignore: AlwaysUseLowerCamelCase
  public var T: Tensor { permute(Array((0..<rank).reversed())) }

  /// The last two dims swapped (`mT`): the transpose of each matrix in a batch.
  public var mT: Tensor {
    precondition(
      rank >= 2,
      "mT: tensor.mT is only supported on matrices or batches of matrices. Got \(rank)-D tensor.")
    return transpose(-2, -1)
  }

  /// Reorders dimensions (`permute`).
  public func permute(_ dims: [Int]) -> Tensor {
    precondition(
      dims.count == rank,
      "permute: number of dims don't match in permute (got \(dims.count) dims for a tensor of shape \(shape))"
    )
    let d = dims.map { Shape.normalize($0, rank: rank, op: "permute") }
    precondition(Set(d).count == d.count, "permute: repeated dim in \(dims)")
    let out = makeView(
      shape: d.map { shape[$0] }, strides: d.map { strides[$0] }, offset: storageOffset)
    if Tensor.needsGrad(self) {
      var inverse = [Int](repeating: 0, count: d.count)
      for (i, p) in d.enumerated() { inverse[p] = i }
      Tensor.record("PermuteBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.permute(inverse)]
      }
    }
    return out
  }

  public func permute(_ dims: Int...) -> Tensor { permute(dims) }

  // MARK: expand, squeeze, unsqueeze

  /// Broadcasts size-1 dims to `sizes` without copying (`expand`); -1 keeps a dim.
  public func expand(_ sizes: [Int]) -> Tensor {
    precondition(
      sizes.count >= rank,
      "expand: the number of sizes provided (\(sizes.count)) must be greater or equal to the number of dimensions in the tensor (\(rank))"
    )
    let lead = sizes.count - rank
    var sh = sizes
    var st = [Int](repeating: 0, count: sizes.count)
    for i in 0..<sizes.count {
      if i < lead {
        precondition(
          sizes[i] >= 0, "expand: -1 not allowed in leading, non-existing dimension \(i)")
        continue
      }
      let s = shape[i - lead]
      if sizes[i] == -1 || sizes[i] == s {
        sh[i] = s
        st[i] = strides[i - lead]
      } else {
        precondition(
          s == 1,
          "expand: the expanded size of the tensor (\(sizes[i])) must match the existing size (\(s)) at non-singleton dimension \(i). Target sizes: \(sizes). Tensor sizes: \(shape)"
        )
      }
    }
    if sh == shape { return self }
    let out = makeView(shape: sh, strides: st, offset: storageOffset)
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record("ExpandBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.sumTo(inShape)]
      }
    }
    return out
  }

  public func expand(_ sizes: Int...) -> Tensor { expand(sizes) }

  /// Expands to another tensor's shape (`expand_as`).
  public func expand(as other: Tensor) -> Tensor { expand(other.shape) }

  /// Removes every size-1 dim (`squeeze()`, recorded as `SqueezeBackward0`).
  public func squeeze() -> Tensor {
    squeezing((0..<rank).filter { shape[$0] == 1 }, name: "SqueezeBackward0")
  }

  /// Removes `dim` if its size is 1 (`squeeze(dim)`, recorded as `SqueezeBackward1`). As in
  /// Python, the label is optional: `x.squeeze(0)` and `x.squeeze(dim: 0)` are the same call.
  public func squeeze(_ dim: Int) -> Tensor {
    let d = Shape.normalize(dim, rank: rank, op: "squeeze")
    return squeezing(rank > 0 && shape[d] == 1 ? [d] : [], name: "SqueezeBackward1")
  }

  /// Removes `dim` if its size is 1 (`squeeze(dim=d)`); the same as `squeeze(_:)`.
  public func squeeze(dim: Int) -> Tensor { squeeze(dim) }

  /// Removes those of the listed dims whose size is 1 (`squeeze((0, 2))`, recorded as
  /// `SqueezeBackward2`); an empty list removes nothing, as in PyTorch.
  public func squeeze(_ dim: [Int]) -> Tensor {
    let d = uniqueDims(dim, op: "squeeze")
    return squeezing(d.filter { rank > 0 && shape[$0] == 1 }, name: "SqueezeBackward2")
  }

  /// Removes those of the listed dims whose size is 1 (`squeeze(dim=(0, 2))`); the same as
  /// `squeeze(_:)` with a list.
  public func squeeze(dim: [Int]) -> Tensor { squeeze(dim) }

  /// A view without the (normalized) dims `removed`, recorded as `name`.
  private func squeezing(_ removed: [Int], name: String) -> Tensor {
    let gone = Set(removed)
    let keep = (0..<rank).filter { !gone.contains($0) }
    let out = makeView(
      shape: keep.map { shape[$0] }, strides: keep.map { strides[$0] }, offset: storageOffset)
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record(name, inputs: [self], outputs: [out]) { ctx in [ctx.grad.reshape(inShape)] }
    }
    return out
  }

  /// Inserts a size-1 dim at `dim` (`unsqueeze`). As in Python, the label is optional:
  /// `x.unsqueeze(0)` and `x.unsqueeze(dim: 0)` are the same call.
  public func unsqueeze(_ dim: Int) -> Tensor {
    let d = Shape.normalize(dim, rank: rank + 1, op: "unsqueeze")
    var sh = shape
    var st = strides
    let stride = d < rank ? shape[d] * strides[d] : 1
    sh.insert(1, at: d)
    st.insert(stride, at: d)
    let out = makeView(shape: sh, strides: st, offset: storageOffset)
    if Tensor.needsGrad(self) {
      Tensor.record("UnsqueezeBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.squeeze(d)]
      }
    }
    return out
  }

  /// Inserts a size-1 dim at `dim` (`unsqueeze(dim=d)`); the same as `unsqueeze(_:)`.
  public func unsqueeze(dim: Int) -> Tensor { unsqueeze(dim) }

  // MARK: narrow, select, slice

  /// `length` elements of `dim` starting at `start`, as a view (`narrow`).
  public func narrow(_ dim: Int, start: Int, length: Int) -> Tensor {
    let d = Shape.normalize(dim, rank: rank, op: "narrow")
    let s = start < 0 ? start + shape[d] : start
    precondition(
      s >= 0 && length >= 0 && s + length <= shape[d],
      "narrow: start (\(start)) + length (\(length)) exceeds dimension size (\(shape[d])).")
    return slice(d, start: s, end: s + length, step: 1)
  }

  /// Elements `start..<end` (every `step`-th) of `dim`, as a view (Python's `x[start:end:step]`).
  public func slice(_ dim: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
    let d = Shape.normalize(dim, rank: rank, op: "slice")
    precondition(step > 0, "slice: step must be greater than zero")
    let n = shape[d]
    func clampIndex(_ i: Int) -> Int { min(max(i < 0 ? i + n : i, 0), n) }
    let lo = clampIndex(start)
    let hi = max(clampIndex(end ?? n), lo)
    var sh = shape
    var st = strides
    sh[d] = (hi - lo + step - 1) / step
    st[d] = strides[d] * step
    let out = makeView(shape: sh, strides: st, offset: storageOffset + lo * strides[d])
    if Tensor.needsGrad(self) {
      let inShape = shape
      let geometry = ViewGeometry(
        shape: sh,
        strides: Tensor.stridesIn(contiguous: inShape, dim: d, step: step),
        offset: lo * Shape.contiguousStrides(inShape)[d])
      Tensor.record("SliceBackward0", inputs: [self], outputs: [out]) { ctx in
        [try Tensor.embed(ctx.grad, into: inShape, at: geometry)]
      }
    }
    return out
  }

  /// The sub-tensor at `index` along `dim`, dropping that dim, as a view (`select`).
  public func select(_ dim: Int, _ index: Int) -> Tensor {
    let d = Shape.normalize(dim, rank: rank, op: "select")
    let n = shape[d]
    precondition(
      index >= -n && index < n,
      "select: index \(index) out of range for tensor of size \(shape) at dimension \(d)")
    let i = index < 0 ? index + n : index
    var sh = shape
    var st = strides
    sh.remove(at: d)
    st.remove(at: d)
    let out = makeView(shape: sh, strides: st, offset: storageOffset + i * strides[d])
    if Tensor.needsGrad(self) {
      let inShape = shape
      var cst = Shape.contiguousStrides(inShape)
      let off = i * cst[d]
      cst.remove(at: d)
      let geometry = ViewGeometry(shape: sh, strides: cst, offset: off)
      Tensor.record("SelectBackward0", inputs: [self], outputs: [out]) { ctx in
        [try Tensor.embed(ctx.grad, into: inShape, at: geometry)]
      }
    }
    return out
  }

  /// Strides of a slice of `dim` (with `step`) within a contiguous tensor of `shape`.
  static func stridesIn(contiguous shape: [Int], dim: Int, step: Int) -> [Int] {
    var cst = Shape.contiguousStrides(shape)
    cst[dim] *= step
    return cst
  }

  /// A zero tensor of `shape` with `g` written at `geometry` (the backward of slicing views).
  /// Written with in-place copy, so it is itself differentiable.
  static func embed(_ g: Tensor, into shape: [Int], at geometry: ViewGeometry) throws -> Tensor {
    let z = Tensor.zeros(shape, dtype: g.dtype)
    try z.region(geometry).copy(from: g)
    return z
  }
}
