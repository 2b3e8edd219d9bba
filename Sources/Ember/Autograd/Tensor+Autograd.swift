import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A handle that removes a registered hook.
public final class RemovableHandle {
  private var onRemove: (() -> Void)?
  public init(_ onRemove: @escaping () -> Void) { self.onRemove = onRemove }
  public func remove() {
    onRemove?()
    onRemove = nil
  }
}

extension Tensor {
  // MARK: requiresGrad, leaves, grad

  /// Whether gradients flow to this tensor: a leaf the user marked, or a result of ops on such.
  ///
  /// Setting it follows PyTorch's `x.requires_grad = flag`: allowed on leaves (true only for
  /// floating-point dtypes); on a tensor with history it stops with PyTorch's message, since a
  /// setter cannot throw (``setRequiresGrad(_:)`` is the throwing form).
  public var requiresGrad: Bool {
    get {
      if viewBase != nil { refreshViewHistory() }
      return leafRequiresGrad || recordedGradFn != nil  // (`gradFn` would refresh again)
    }
    set {
      if gradFn != nil {
        preconditionFailure(
          newValue
            ? "requiresGrad: you can only change requires_grad flags of leaf variables."
            : "requiresGrad: \(AutogradError.requiresGradOnNonLeaf)")
      }
      do { try setRequiresGrad(newValue) } catch {
        preconditionFailure("requiresGrad: \(error)")
      }
    }
  }

  /// After an in-place change to this view's base (directly or through another view), reads the
  /// view out of the base's new history, as PyTorch regenerates a view's grad_fn. Without this,
  /// gradients through an older view would follow the base's values from before the write.
  func refreshViewHistory() {
    guard let base = viewBase, let baseFn = base.gradFn,
      viewBaseHistory != ObjectIdentifier(baseFn), base.isContiguous
    else { return }
    let geometry = self.geometry(in: base)
    let baseShape = base.shape
    let regenerated = FunctionNode(
      name: "AsStridedBackward0", nextEdges: [Edge(node: baseFn, inputNr: base.outputNr)],
      outputs: [OutputMeta(shape: shape, dtype: dtype)], saved: []
    ) { ctx in [try Tensor.embed(ctx.grad, into: baseShape, at: geometry)] }
    takeHistory(regenerated, outputNr: 0)
    viewBaseHistory = ObjectIdentifier(baseFn)
  }

  /// Gives this tensor a new history after an in-place op (or a view's regeneration). A retained
  /// grad moves to the new node, as PyTorch moves `retains_grad` when it rebases history; hooks
  /// registered before stay on the old node (they see the gradient of the old value).
  func takeHistory(_ fn: Node?, outputNr nr: Int) {
    if let old = retainedGradNode {
      old.removeRetainedGrad(of: self)
      fn?.addRetainedGrad(of: self, outputNr: nr)
      retainedGradNode = fn
    }
    gradFn = fn
    outputNr = nr
  }

  /// True for tensors created by the user (and results of ops that did not record history).
  public var isLeaf: Bool { gradFn == nil }

  /// Marks a leaf as requiring grad, or stops requiring it (`requires_grad_()`).
  /// Throws for integer and bool tensors and for tensors that have history.
  @discardableResult
  public func setRequiresGrad(_ flag: Bool = true) throws -> Tensor {
    if gradFn != nil {
      if flag { return self }
      throw AutogradError.requiresGradOnNonLeaf
    }
    if flag && !dtype.isFloatingPoint { throw AutogradError.nonFloatingRequiresGrad(dtype) }
    leafRequiresGrad = flag
    return self
  }

  /// The accumulated gradient (nil until a backward reaches this leaf, or after it was reset).
  /// On non-leaves it stays nil unless ``retainGrad()`` was called, as in PyTorch.
  public var grad: Tensor? {
    get {
      if gradStorage == nil && gradFn != nil && !retainsGradFlag { Tensor.warnNonLeafGrad() }
      return gradStorage
    }
    set {
      if let g = newValue {
        precondition(
          g.shape == shape,
          "grad: assigned grad has shape \(g.shape) but the tensor has shape \(shape)")
      }
      gradStorage = newValue
    }
  }

  private static let warnedNonLeafGrad = Atomic<Bool>(false)

  /// PyTorch's UserWarning for `.grad` on a non-leaf, printed once per process to stderr.
  static func warnNonLeafGrad() {
    guard !warnedNonLeafGrad.exchange(true, ordering: .relaxed) else { return }
    let message =
      "warning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
      + ".grad attribute won't be populated during backward. If you indeed want the .grad field to "
      + "be populated for a non-leaf Tensor, call retainGrad() on it. If you access the non-leaf "
      + "Tensor by mistake, make sure you access the leaf Tensor instead.\n"
    var bytes = Array(message.utf8)
    _ = write(2, &bytes, bytes.count)
  }

  /// Keeps `.grad` for this non-leaf tensor during backward (`retain_grad()`).
  public func retainGrad() throws {
    guard requiresGrad else { throw AutogradError.retainGradWithoutGrad }
    guard let fn = gradFn, !retainsGradFlag else { return }
    retainedGradNode = fn
    fn.addRetainedGrad(of: self, outputNr: outputNr)
  }

  /// Whether ``retainGrad()`` was called on this non-leaf (false for leaves, as PyTorch's
  /// `retains_grad`).
  public var retainsGrad: Bool { retainsGradFlag }

  /// Registers a hook called with this tensor's gradient during backward; returning a tensor
  /// replaces the gradient (`register_hook`).
  @discardableResult
  public func registerHook(_ hook: @escaping (Tensor) -> Tensor?) throws -> RemovableHandle {
    guard requiresGrad else { throw AutogradError.hookOnTensorWithoutGrad }
    if let fn = gradFn {
      let nr = outputNr
      fn.preHooks.append((nr, hook))
      let index = fn.preHooks.count - 1
      return RemovableHandle { [weak fn] in
        // replace with a pass-through so other indices stay valid
        fn?.preHooks[index] = (nr, { _ in nil })
      }
    }
    leafHooks.append(hook)
    let index = leafHooks.count - 1
    return RemovableHandle { [weak self] in self?.leafHooks[index] = { _ in nil } }
  }

  // MARK: detach and data

  /// A tensor sharing storage (and version counter) with this one, without history.
  public func detach() -> Tensor { alias() }

  /// Detaches this tensor from its history in place (`detach_()`).
  public func detachInPlace() {
    precondition(
      viewBase == nil || !(viewBase!.requiresGrad),
      "detachInPlace: Can't detach views in-place. Use detach() instead.")
    gradFn = nil
    outputNr = 0
    leafRequiresGrad = false
  }

  /// The values without history (PyTorch's `.data`). It shares memory with this tensor but has
  /// its own version counter, so in-place changes through it are invisible to autograd (unlike
  /// ``detach()``, whose changes are caught when a saved tensor is used). Assigning replaces this
  /// tensor's storage and shape while keeping its identity, `.grad` and `requiresGrad`.
  public var data: Tensor {
    get {
      Tensor(
        storage: Storage.make(versionAliasOf: storage), shape: shape, strides: strides,
        offset: storageOffset)
    }
    set {
      storage = newValue.storage
      shape = newValue.shape
      strides = newValue.strides
      storageOffset = newValue.storageOffset
    }
  }

  // MARK: graph edges

  /// The edge through which gradients reach this tensor's history.
  func gradientEdge() -> Edge {
    if viewBase != nil { refreshViewHistory() }
    if let fn = recordedGradFn { return Edge(node: fn, inputNr: outputNr) }
    if leafRequiresGrad { return Edge(node: gradAccumulator(), inputNr: 0) }
    return .none
  }

  func gradAccumulator() -> AccumulateGrad {
    switch accumulatorLink {
    case .cached(let link): return link.takeUnretainedValue()
    case .owned(let acc): return acc
    case .none:
      let acc = AccumulateGrad(variable: self)
      accumulatorLink = .cached(Unmanaged.passUnretained(acc))
      return acc
    }
  }

  /// ``accumulateGrad(_:)`` for a gradient the caller hands over. When `.grad` is empty, grad
  /// mode is off and nothing else can see `g` (this is the only reference to the tensor and to
  /// its storage, which it fills from offset 0, contiguous, no history), `g` itself becomes
  /// `.grad` instead of a copy of it, as PyTorch's AccumulateGrad steals such a gradient. MNIST
  /// MLP (perf, 2 epochs): the copy into an empty `.grad` was 1.6% of the samples.
  func accumulateGrad(stealing g: inout Tensor) {
    // a view with its base's exact geometry (a Linear weight's gradient arrives as
    // `(gradᵀ · input)ᵀᵀ`, two transposes of one product) stands for its base: hand over the base
    Tensor.replaceWithIdenticalBase(&g)
    if gradStorage == nil, !GradMode.isEnabled, g.dtype == dtype, g.shape == shape,
      g.storageOffset == 0, g.isContiguous, !g.requiresGrad, isKnownUniquelyReferenced(&g),
      g.storage.count == g.count, isKnownUniquelyReferenced(&g.storage)
    {
      gradStorage = g
      return
    }
    accumulateGrad(g)
  }

  /// Replaces `g` by its view base when `g` is the only reference to a view with the base's
  /// shape, strides and offset (the view is then freed, and with it its reference to the base).
  /// A function of its own, so that no local reference to the base outlives it.
  private static func replaceWithIdenticalBase(_ g: inout Tensor) {
    guard let base = g.viewBase, base.shape == g.shape, base.strides == g.strides,
      base.storageOffset == g.storageOffset, isKnownUniquelyReferenced(&g)
    else { return }
    g = base
  }

  /// Adds `g` to `.grad` (AccumulateGrad and retained grads).
  func accumulateGrad(_ g: Tensor) {
    let g = g.dtype == dtype ? g : g.to(dtype)
    if let existing = gradStorage {
      if GradMode.isEnabled || existing.requiresGrad {
        gradStorage = existing + g
      } else {
        Kernel.addInPlace(existing, g)
        existing.storage.bumpVersion()
      }
    } else {
      gradStorage = GradMode.isEnabled ? g : g.contiguousCopy()
    }
  }

  // MARK: recording

  /// True when an op on these inputs must record history.
  @inline(__always)
  static func needsGrad(_ a: Tensor) -> Bool {
    a.requiresGrad && GradMode.isEnabled
  }

  @inline(__always)
  static func needsGrad(_ a: Tensor, _ b: Tensor) -> Bool {
    (a.requiresGrad || b.requiresGrad) && GradMode.isEnabled
  }

  static func needsGrad(_ inputs: [Tensor]) -> Bool {
    inputs.contains { $0.requiresGrad } && GradMode.isEnabled
  }

  /// Attaches a backward node to the outputs of an op.
  ///
  /// - saving: input tensors the rule reads (`ctx.saved(i)`, in this order).
  /// - savingOutputs: indices of outputs the rule reads; they follow the saved inputs.
  /// - rule: maps `ctx.gradOutputs` to one gradient per input (nil where none is needed). Write it
  ///   with tensor ops so it can be differentiated again.
  static func record(
    _ name: String, inputs: [Tensor], outputs: [Tensor], saving: [Tensor] = [],
    savingOutputs: [Int] = [], rule: @escaping (BackwardContext) throws -> Gradients
  ) {
    record(
      name, inputs: inputs, noneEdges: 0, outputs: outputs, saving: saving,
      savingOutputs: savingOutputs, rule: rule)
  }

  /// ``record(_:inputs:outputs:saving:savingOutputs:rule:)`` with `noneEdges` empty edges after
  /// the inputs' (for Swift numbers, which PyTorch lists as `(None, 0)`). Every array is built
  /// once at its final size: the scalar autograd loop made 5 arrays per op here before (map,
  /// map, `+=`, and a reallocating append of the empty edge).
  static func record(
    _ name: String, inputs: [Tensor], noneEdges: Int, outputs: [Tensor], saving: [Tensor],
    savingOutputs: [Int], rule: @escaping (BackwardContext) throws -> Gradients
  ) {
    var saved: [SavedTensor] = []
    if !saving.isEmpty || !savingOutputs.isEmpty {
      saved.reserveCapacity(saving.count + savingOutputs.count)
      for t in saving { saved.append(SavedTensor(t)) }
      for k in savingOutputs { saved.append(SavedTensor(output: outputs[k], outputNr: k)) }
    }
    let edges: SmallList<Edge>
    if inputs.count == 1 && noneEdges == 0 {
      edges = SmallList(inputs[0].gradientEdge())
    } else {
      var list: [Edge] = []
      list.reserveCapacity(inputs.count + noneEdges)
      for t in inputs { list.append(t.gradientEdge()) }
      for _ in 0..<noneEdges { list.append(.none) }
      edges = SmallList(list)
    }
    let metas: SmallList<OutputMeta>
    if outputs.count == 1 {
      metas = SmallList(OutputMeta(shape: outputs[0].shape, dtype: outputs[0].dtype))
    } else {
      metas = SmallList(outputs.map { OutputMeta(shape: $0.shape, dtype: $0.dtype) })
    }
    let node = FunctionNode(
      name: name, nextEdges: edges, outputs: metas, saved: saved, rule: rule)
    for (i, o) in outputs.enumerated() {
      o.gradFn = node
      o.outputNr = i
    }
  }

  /// ``record(_:inputs:outputs:saving:savingOutputs:rule:)`` for the common shape of an op: one
  /// output and one or two tensor inputs (`b`), or a tensor and a Swift number (`numberEdge`:
  /// an empty second edge, as PyTorch lists `(None, 0)`). The node's arrays are array literals
  /// of their final size: growing them with `reserveCapacity`/`append` runs the standard
  /// library's unspecialized `_consumeAndCreateNew`. With the engine's and teardown's array
  /// savings of the same commit: -8.9% instructions (ember-bench scalar under callgrind, 980.0M
  /// -> 892.5M Ir). (Inlining the array form instead, hoping its call sites' literals would be
  /// stack-promoted, cost 6% more: `Array(unsafeUninitializedCapacity:)` looks up generic
  /// metadata at run time.)
  ///
  /// The edges and the output's metadata are stored inline in the node (``SmallList``), and
  /// `number` (the Swift number of `x * s`) is kept on the node for the rule to read
  /// (``BackwardContext/number``), so a rule needs no captures.
  static func record(
    _ name: String, input a: Tensor, _ b: Tensor? = nil, numberEdge: Bool = false,
    number: WrappedNumber = .int(0), output: Tensor, saving: [Tensor] = [],
    rule: @escaping (BackwardContext) throws -> Gradients
  ) {
    let edges: SmallList<Edge>
    if let b {
      edges = SmallList(a.gradientEdge(), b.gradientEdge())
    } else if numberEdge {
      edges = SmallList(a.gradientEdge(), .none)
    } else {
      edges = SmallList(a.gradientEdge())
    }
    let saved: [SavedTensor]
    switch saving.count {
    case 0: saved = []
    case 1: saved = [SavedTensor(saving[0])]
    case 2: saved = [SavedTensor(saving[0]), SavedTensor(saving[1])]
    default: saved = saving.map { SavedTensor($0) }
    }
    let node = FunctionNode(
      name: name, nextEdges: edges,
      outputs: SmallList(OutputMeta(shape: output.shape, dtype: output.dtype)), saved: saved,
      number: number, rule: rule)
    output.gradFn = node
    output.outputNr = 0
  }

  /// ``record(_:input:_:numberEdge:number:output:saving:rule:)`` for an op on two tensors whose
  /// rule reads up to two saved tensors (`x * y`): no array of the tensors to save is built.
  static func record(
    _ name: String, input a: Tensor, _ b: Tensor, output: Tensor, saving s0: Tensor,
    _ s1: Tensor, rule: @escaping (BackwardContext) throws -> Gradients
  ) {
    let node = FunctionNode(
      name: name, nextEdges: SmallList(a.gradientEdge(), b.gradientEdge()),
      outputs: SmallList(OutputMeta(shape: output.shape, dtype: output.dtype)),
      saved: [SavedTensor(s0), SavedTensor(s1)], rule: rule)
    output.gradFn = node
    output.outputNr = 0
  }

  // MARK: backward

  /// Computes gradients of this tensor with respect to the leaves of its graph and accumulates
  /// them into their `.grad`.
  ///
  /// - gradient: d(something)/d(self); required unless this tensor holds one element.
  /// - retainGraph: keep saved tensors so backward can run again (defaults to `createGraph`).
  /// - createGraph: record the backward pass itself, for higher-order gradients.
  public func backward(gradient: Tensor? = nil, retainGraph: Bool? = nil, createGraph: Bool = false)
    throws
  {
    guard requiresGrad else { throw AutogradError.doesNotRequireGrad(index: 0) }
    let seed = try Tensor.rootGradient(for: self, gradient, index: 0)
    if createGraph { Tensor.warnCreateGraphCycle() }
    _ = try Engine.run(
      roots: CollectionOfOne(gradientEdge()), rootGrads: CollectionOfOne(seed),
      keepGraph: retainGraph ?? createGraph,
      createGraph: createGraph, inputs: nil)
  }

  /// PyTorch's warning (engine.cpp, once per process) for `backward(create_graph=True)`: a
  /// gradient with history that lands in a leaf's `.grad` holds the leaf through its own graph.
  /// `grad(of:withRespectTo:)` does not warn, as `torch.autograd.grad` does not.
  static func warnCreateGraphCycle() {
    Warnings.once(
      "backward-create-graph",
      "Using backward() with create_graph=True will create a reference cycle between the "
        + "parameter and its gradient which can cause a memory leak. We recommend using "
        + "autograd.grad when creating the graph to avoid this. If you have to use this function, "
        + "make sure to reset the .grad fields of your parameters to None after use to break the "
        + "cycle and avoid the leak.")
  }

  static func rootGradient(for output: Tensor, _ gradient: Tensor?, index: Int) throws -> Tensor {
    if let g = gradient {
      guard g.shape == output.shape else {
        throw AutogradError.gradientShapeMismatch(
          index: index, gradShape: g.shape, outputShape: output.shape)
      }
      return g.dtype == output.dtype ? g : g.to(output.dtype)
    }
    guard output.count == 1 else { throw AutogradError.nonScalarOutput }
    return Tensor.ones(like: output)
  }
}

/// Gradients of `outputs` with respect to `inputs`, returned instead of accumulated into `.grad`
/// (`torch.autograd.grad`).
///
/// - gradOutputs: one per output (nil allowed for single-element outputs).
/// - retainGraph: defaults to `createGraph`.
/// - allowUnused: return nil for inputs the outputs do not depend on instead of throwing.
public func grad(
  of outputs: [Tensor], withRespectTo inputs: [Tensor], gradOutputs: [Tensor?]? = nil,
  retainGraph: Bool? = nil, createGraph: Bool = false, allowUnused: Bool = false
) throws -> [Tensor?] {
  var roots: [Edge] = []
  var seeds: [Tensor] = []
  for (i, o) in outputs.enumerated() {
    guard o.requiresGrad else { throw AutogradError.doesNotRequireGrad(index: i) }
    let g = gradOutputs.flatMap { i < $0.count ? $0[i] : nil }
    seeds.append(try Tensor.rootGradient(for: o, g, index: i))
    roots.append(o.gradientEdge())
  }
  var edges: [Edge] = []
  for (i, x) in inputs.enumerated() {
    guard x.requiresGrad else { throw AutogradError.inputDoesNotRequireGrad(index: i) }
    edges.append(x.gradientEdge())
  }
  let result = try Engine.run(
    roots: roots, rootGrads: seeds, keepGraph: retainGraph ?? createGraph,
    createGraph: createGraph, inputs: edges)
  if !allowUnused, let i = result.firstIndex(where: { $0 == nil }) {
    throw AutogradError.unusedInput(index: i)
  }
  return result
}

/// The gradient of one output with respect to one input (`torch.autograd.grad(y, x)[0]`).
public func grad(
  of output: Tensor, withRespectTo input: Tensor, gradOutput: Tensor? = nil,
  retainGraph: Bool? = nil, createGraph: Bool = false
) throws -> Tensor {
  try grad(
    of: [output], withRespectTo: [input], gradOutputs: [gradOutput], retainGraph: retainGraph,
    createGraph: createGraph)[0]!
}
