extension Tensor {
  /// The checks PyTorch makes before an in-place write while grad mode is on.
  func checkInPlace() throws {
    guard GradMode.isEnabled else { return }
    if leafRequiresGrad && gradFn == nil { throw AutogradError.inPlaceOnLeaf }
    if let base = viewBase, base.leafRequiresGrad, base.gradFn == nil {
      throw AutogradError.inPlaceOnViewOfLeaf
    }
  }

  /// Runs an in-place op.
  ///
  /// - others: the other tensor operands (for deciding whether history is recorded).
  /// - savesSelf: whether the op's backward reads the old value of `self` (then it is cloned first,
  ///   so the saved value is not the one being overwritten).
  /// - direct: writes the result straight into `self` (used when no history is recorded).
  /// - differentiable: computes the new value out of place from (a stand-in for) `self`, with history.
  ///
  /// Afterwards the storage version is bumped and `self` (and, for a view, its base) takes the
  /// new history, as PyTorch's rebase_history does.
  /// - checksOverlap: refuse a destination whose elements share memory (a stride-0 dimension),
  ///   as PyTorch does for every in-place op but `fill_`, `masked_fill_` and `index_put_`.
  @discardableResult
  func inPlace(
    others: [Tensor] = [], savesSelf: Bool = false, checksOverlap: Bool = true,
    direct: () -> Void, differentiable: (Tensor) -> Tensor
  ) throws -> Tensor {
    // a view's requiresGrad follows its base, as PyTorch's DifferentiableViewMeta::requires_grad
    let recording =
      GradMode.isEnabled
      && (requiresGrad || viewBase?.requiresGrad == true || others.contains { $0.requiresGrad })
    // PyTorch's order: the view's creation first, then leaves, then memory overlap
    if recording { try checkViewCanRebase() }
    try checkInPlace()
    if checksOverlap { try checkNoInternalOverlap() }
    for other in others { try checkNoPartialOverlap(with: other) }
    if !recording {
      direct()
      storage.bumpVersion()
      return self
    }
    // a clone when the rule reads the old value (the write below would change it), else a header
    // carrying the current history
    let source = savesSelf ? clone() : historyStandIn()
    let result = differentiable(source)
    Kernel.copy(result, into: self)
    storage.bumpVersion()
    rebaseHistory(onto: result)
    return self
  }

  /// PyTorch's `handle_view_on_rebase`: a view made under no-grad, or one of several views one op
  /// returned (split, chunk, unbind), cannot take the history of an in-place op: its base's
  /// gradient could not be computed correctly.
  func checkViewCanRebase() throws {
    guard viewBase != nil, viewCreation != .regular else { return }
    throw AutogradError.inPlaceOnRestrictedView(
      function: gradFn.map { SavedTensor.shortName($0.name) }, outputNr: outputNr,
      multipleViews: viewCreation == .multipleViews)
  }

  /// PyTorch's `assert_no_internal_overlap`: a stride-0 dimension of size > 1 means several
  /// elements are one memory location, so an elementwise write would race with itself.
  func checkNoInternalOverlap() throws {
    for (n, st) in zip(shape, strides) where st == 0 && n > 1 {
      throw TensorError.internalOverlap(shape: shape, strides: strides)
    }
  }

  /// PyTorch's `assert_no_partial_overlap` between the written tensor and an operand: the same
  /// memory read and written through different layouts gives order-dependent results. Like
  /// PyTorch, only dense layouts are compared (anything else is too hard to decide cheaply).
  func checkNoPartialOverlap(with other: Tensor) throws {
    if other === self || count == 0 || other.count == 0 { return }
    guard Shape.isNonOverlappingAndDense(shape: shape, strides: strides),
      Shape.isNonOverlappingAndDense(shape: other.shape, strides: other.strides)
    else { return }
    let size = dtype.byteSize
    let a = (start: address, end: address + count * size)
    let b = (start: other.address, end: other.address + other.count * other.dtype.byteSize)
    if a == b && strides == other.strides { return }
    if a.start < b.end && b.start < a.end { throw TensorError.partialOverlap }
  }

  /// The address of element [0, ...] (for overlap checks; aliases made by `.data` share it).
  var address: Int { Int(bitPattern: storage.data) + storageOffset * dtype.byteSize }

  /// Makes `self` (already holding `result`'s values) take `result`'s history; for a view, the
  /// base takes a CopySlices node so gradients reach both the untouched part of the base and the
  /// rewritten region.
  func rebaseHistory(onto result: Tensor) {
    guard let base = viewBase else {
      takeHistory(result.gradFn, outputNr: result.outputNr)
      return
    }
    precondition(
      base.isContiguous,
      "in-place write through a view: the view's base must be contiguous to track gradients (shape \(base.shape), strides \(base.strides))"
    )
    let geometry = self.geometry(in: base)
    let baseEdgeTensor = base.historyStandIn()
    let baseShape = base.shape
    let baseDType = base.dtype
    let copySlices = FunctionNode(
      name: "CopySlices", nextEdges: [baseEdgeTensor.gradientEdge(), result.gradientEdge()],
      outputs: [OutputMeta(shape: baseShape, dtype: baseDType)], saved: []
    ) { ctx in
      let g = ctx.grad
      var gradBase: Tensor? = nil
      if ctx.needsInputGrad(0) {
        let copy = g.clone()
        try copy.region(geometry).fill(0)
        gradBase = copy
      }
      let gradResult = ctx.needsInputGrad(1) ? g.contiguous().region(geometry).clone() : nil
      return [gradBase, gradResult]
    }
    base.takeHistory(copySlices, outputNr: 0)
    // The view now reads the new base history through its geometry.
    refreshViewHistory()
  }

  /// An alias carrying this tensor's current history, used as an edge source.
  func historyStandIn() -> Tensor {
    let t = alias()
    t.gradFn = gradFn
    t.outputNr = outputNr
    t.leafRequiresGrad = leafRequiresGrad
    if leafRequiresGrad { t.accumulatorLink = .owned(gradAccumulator()) }
    return t
  }

  /// A view of a contiguous tensor at a geometry relative to its first element (no history).
  func region(_ g: ViewGeometry) -> Tensor {
    let v = alias(shape: g.shape, strides: g.strides, offset: storageOffset + g.offset)
    v.attachView(to: viewBase ?? self, from: self)
    return v
  }

  // MARK: basic in-place ops

  /// Copies `source` (broadcast, converted) into this tensor (`copy_`). Gradients flow to `source`.
  @discardableResult
  public func copy(from source: Tensor) throws -> Tensor {
    precondition(
      Shape.broadcast(shape, source.shape, op: "copy") == shape,
      "copy: the source of shape \(source.shape) cannot be broadcast to the destination shape \(shape)"
    )
    let targetShape = shape
    let targetDType = dtype
    return try inPlace(
      others: [source],
      direct: { Kernel.copy(source, into: self) },
      differentiable: { _ in
        let out = Tensor(uninitializedShape: targetShape, dtype: targetDType)
        Kernel.copy(source, into: out)
        if Tensor.needsGrad(source) {
          Tensor.record("CopyBackwards", inputs: [source], outputs: [out]) { ctx in
            [ctx.grad]
          }
        }
        return out
      })
  }

  /// Sets every element to `value` (`fill_`).
  @discardableResult
  public func fill(_ value: Double) throws -> Tensor {
    // Fast path: a tensor without history that is neither a leaf requiring grad nor a view (a
    // `.grad` being zeroed) takes `inPlace`'s path without recording and without its checks,
    // which all pass (ember-bench scalar under callgrind, `x.grad!.zero()`: 21.43k -> 21.33k
    // instructions per iteration).
    if viewBase == nil && !leafRequiresGrad && recordedGradFn == nil {
      fillRaw(value)
      storage.bumpVersion()
      return self
    }
    let targetShape = shape
    let targetDType = dtype
    return try inPlace(
      checksOverlap: false, direct: { fillRaw(value) },
      differentiable: { _ in Tensor.full(targetShape, value, dtype: targetDType) })
  }

  /// Sets every element to zero (`zero_()`).
  @discardableResult
  public func zero() throws -> Tensor { try fill(0) }
}

extension Tensor {
  /// This view's shape, strides and offset relative to the first element of (contiguous) `base`.
  func geometry(in base: Tensor) -> ViewGeometry {
    ViewGeometry(shape: shape, strides: strides, offset: storageOffset - base.storageOffset)
  }
}

/// Shape, strides and offset of a view relative to its base's first element.
struct ViewGeometry {
  let shape: [Int]
  let strides: [Int]
  let offset: Int
}
