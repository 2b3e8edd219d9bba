/// Custom differentiable functions: a forward pass and a hand-written backward pass recorded as
/// one node of the graph (PyTorch's `torch.autograd.Function`).
///
/// ```swift
/// enum Exp: CustomFunction {
///   static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
///     let y = inputs[0].exp()
///     ctx.saveForBackward(y)
///     return y
///   }
///   static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
///     [gradOutputs[0] * (try ctx.savedTensors[0])]
///   }
/// }
/// let y = try Exp.apply(x)  // y.gradFn?.name == "ExpBackward"
/// ```
///
/// `forward` runs without recording history. When grad mode is on and an input requires grad, the
/// outputs get one node named `<TypeName>Backward` whose backward calls `backward`. Write
/// `backward` with tensor ops: with `createGraph` it runs with grad mode on, so the function can be
/// differentiated twice.
public protocol CustomFunction {
  /// Computes the output from `inputs` (history is not recorded here). Save what `backward`
  /// needs with `ctx.saveForBackward`.
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor

  /// Maps the gradient of the output (`gradOutputs[0]`) to one gradient per input (nil for inputs
  /// that need none). Gradients of a broadcast shape are summed back to the input's shape.
  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?]
}

/// A custom differentiable function with several outputs (a `torch.autograd.Function` whose
/// `forward` returns a tuple). `backward` receives one gradient per output; gradients of outputs
/// that were not used are zeros.
public protocol CustomMultiOutputFunction {
  /// Computes the outputs from `inputs` (history is not recorded here).
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> [Tensor]

  /// Maps one gradient per output to one gradient per input (nil for inputs that need none).
  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?]
}

extension CustomFunction {
  /// Runs `forward` on the inputs and records the backward node (`MyFunction.apply(x, y)`).
  public static func apply(_ inputs: Tensor...) throws -> Tensor {
    try apply(inputs)
  }

  /// Runs `forward` on `inputs` and records the backward node; `values` pre-fills the context's
  /// non-tensor storage (PyTorch passes such arguments to `apply` directly).
  public static func apply(_ inputs: [Tensor], values: [String: Any] = [:]) throws -> Tensor {
    try CustomFunctionNode.run(
      name: "\(Self.self)Backward", inputs: inputs, values: values,
      forward: { ctx, xs in [try forward(ctx, xs)] }, backward: backward)[0]
  }
}

extension CustomMultiOutputFunction {
  /// Runs `forward` on the inputs and records the backward node for all outputs.
  public static func apply(_ inputs: Tensor...) throws -> [Tensor] {
    try apply(inputs)
  }

  /// Runs `forward` on `inputs` and records the backward node; `values` pre-fills the context's
  /// non-tensor storage.
  public static func apply(_ inputs: [Tensor], values: [String: Any] = [:]) throws -> [Tensor] {
    try CustomFunctionNode.run(
      name: "\(Self.self)Backward", inputs: inputs, values: values, forward: forward,
      backward: backward)
  }
}

/// What a custom function's `forward` and `backward` share (PyTorch's `ctx`): tensors saved for
/// backward, which inputs need a gradient, inputs modified in place, outputs that are not
/// differentiable, and arbitrary non-tensor values.
///
/// Keep tensors in ``saveForBackward(_:)``, not in ``values``: saved tensors are checked
/// for in-place changes, freed after backward, and do not keep the graph alive in a cycle.
public final class FunctionContext {
  /// Whether each input requires grad (PyTorch's `ctx.needs_input_grad`); the same in forward and
  /// backward.
  public let needsInputGrad: [Bool]

  /// Non-tensor values kept for backward (PyTorch's `ctx.some_attribute = value`).
  public var values: [String: Any] = [:]

  /// Tensors passed to `saveForBackward` during forward, before the node exists.
  var pendingSaved: [Tensor] = []
  /// Whether the node was recorded: the saved slots then live on it (``Node/saved``), which
  /// frees them.
  var hasSavedSlots = false
  /// The node, without a reference count since the node owns the context (and not `weak`, which
  /// would give the node a side table): the node resets it in its `deinit`, so a context kept
  /// past its node reports ``AutogradError/graphFreed`` instead of reaching a freed node.
  @exclusivity(unchecked) var nodeLink: Unmanaged<Node>? = nil
  var node: Node? { nodeLink?.takeUnretainedValue() }
  var dirty: [Tensor] = []
  var nonDifferentiable: [Tensor] = []

  init(needsInputGrad: [Bool]) {
    self.needsInputGrad = needsInputGrad
  }

  /// Keeps tensors for backward (`ctx.save_for_backward`); a later call replaces earlier ones.
  /// Save inputs or outputs here, never in ``values``.
  public func saveForBackward(_ tensors: Tensor...) {
    saveForBackward(tensors)
  }

  /// Keeps tensors for backward (`ctx.save_for_backward`); a later call replaces earlier ones.
  public func saveForBackward(_ tensors: [Tensor]) {
    pendingSaved = tensors
  }

  /// The tensors passed to ``saveForBackward(_:)`` (`ctx.saved_tensors`). In backward,
  /// throws ``AutogradError/graphFreed`` after the graph was freed by an earlier backward and
  /// ``AutogradError/savedTensorModified(tensor:producer:version:expected:)`` when one of them was
  /// modified in place after forward.
  public var savedTensors: [Tensor] {
    get throws {
      guard hasSavedSlots else { return pendingSaved }
      guard let node else { throw AutogradError.graphFreed }
      return try node.saved.map { try $0.unpack(for: node) }
    }
  }

  /// Declares that forward modified these inputs in place (`ctx.mark_dirty`). They are returned
  /// as outputs with this function's history, and their version counter is bumped.
  public func markDirty(_ tensors: Tensor...) {
    dirty += tensors
  }

  /// Declares outputs that have no gradient, such as indices (`ctx.mark_non_differentiable`).
  /// They do not require grad; `backward` still receives a (zero) gradient for them.
  public func markNonDifferentiable(_ tensors: Tensor...) {
    nonDifferentiable += tensors
  }

  /// A non-tensor value kept for backward (`ctx.key`).
  public subscript(key: String) -> Any? {
    get { values[key] }
    set { values[key] = newValue }
  }

  /// A non-tensor value kept for backward, cast to `type` (nil if missing or of another type).
  public subscript<T>(key: String, as type: T.Type) -> T? {
    values[key] as? T
  }
}

/// The node of a custom function (`<Name>Backward`): calls the user's backward, then checks and
/// adapts the gradients as PyTorch's engine does (`validate_outputs`).
final class CustomFunctionNode: Node {
  let context: FunctionContext
  let backwardRule: (FunctionContext, [Tensor]) throws -> [Tensor?]

  init(
    name: String, nextEdges: [Edge], outputs: [OutputMeta], context: FunctionContext,
    backward: @escaping (FunctionContext, [Tensor]) throws -> [Tensor?]
  ) {
    self.context = context
    self.backwardRule = backward
    super.init(name: name, nextEdges: SmallList(nextEdges), outputs: SmallList(outputs))
    context.nodeLink = Unmanaged.passUnretained(self)
  }

  deinit { context.nodeLink = nil }

  override func apply(_ gradOutputs: [Tensor]) throws -> Gradients {
    var grads = try backwardRule(context, gradOutputs)
    let expected = nextEdges.count
    // Extra trailing nils are allowed, as in PyTorch.
    if grads.count > expected && grads[expected...].allSatisfy({ $0 == nil }) {
      grads.removeLast(grads.count - expected)
    }
    // count, shape and dtype are checked by the engine, as for every node
    return Gradients(grads)
  }

  /// Runs a custom function: forward without history, then (if any input requires grad and grad
  /// mode is on) one node for all outputs, as PyTorch's `Function.apply` / `_wrap_outputs`.
  static func run(
    name: String, inputs: [Tensor], values: [String: Any],
    forward: (FunctionContext, [Tensor]) throws -> [Tensor],
    backward: @escaping (FunctionContext, [Tensor]) throws -> [Tensor?]
  ) throws -> [Tensor] {
    let ctx = FunctionContext(needsInputGrad: inputs.map { $0.requiresGrad })
    ctx.values = values
    let isExecutable = Tensor.needsGrad(inputs)
    let raw = try withNoGrad { try forward(ctx, inputs) }

    // Identity tests over the (usually few) inputs and marked tensors.
    func isInput(_ t: Tensor) -> Bool { inputs.contains { $0 === t } }
    func isDirty(_ t: Tensor) -> Bool { ctx.dirty.contains { $0 === t } }
    func isNonDifferentiable(_ t: Tensor) -> Bool { ctx.nonDifferentiable.contains { $0 === t } }
    for (i, t) in ctx.dirty.enumerated() where !ctx.dirty[..<i].contains(where: { $0 === t }) {
      t.storage.bumpVersion()
    }

    guard isExecutable else {
      ctx.pendingSaved = []
      return raw.map { r in
        if r.requiresGrad { return r.detach() }
        return isInput(r) && !isDirty(r) ? r.alias() : r
      }
    }

    for t in ctx.dirty where isInput(t) {
      try t.checkInPlace()
    }

    // Edges are taken before dirty inputs take the new history.
    let node = CustomFunctionNode(
      name: name, nextEdges: inputs.map { $0.gradientEdge() },
      outputs: raw.map { OutputMeta(shape: $0.shape, dtype: $0.dtype) }, context: ctx,
      backward: backward)

    var outputs: [Tensor] = []
    outputs.reserveCapacity(raw.count)
    // raw outputs that now carry the node's history themselves (saved as outputs, weakly)
    var attached: [(tensor: Tensor, outputNr: Int)] = []
    for (i, r) in raw.enumerated() {
      let first = !raw[..<i].contains { $0 === r }
      if isNonDifferentiable(r) || !r.dtype.isFloatingPoint {
        outputs.append(r.requiresGrad || (isInput(r) && !isDirty(r)) ? r.detach() : r)
      } else if first && isDirty(r) {
        let standIn = r.alias()
        standIn.gradFn = node
        standIn.outputNr = i
        r.rebaseHistory(onto: standIn)
        attached.append((r, i))
        outputs.append(r)
      } else if !first || r.requiresGrad || isInput(r) {
        // an input returned as is (or a tensor returned twice): a view of it with the new history
        let out = r.alias()
        out.attachView(to: r.viewBase ?? r, from: r)
        out.gradFn = node
        out.outputNr = i
        outputs.append(out)
      } else {
        r.gradFn = node
        r.outputNr = i
        attached.append((r, i))
        outputs.append(r)
      }
    }

    // The marks are only needed while wrapping; kept, they would tie outputs to their own node
    // (output -> node -> context -> output) and leak the graph.
    ctx.dirty = []
    ctx.nonDifferentiable = []

    // Saved after wrapping, so versions include forward's in-place writes and outputs are saved
    // without a reference cycle.
    let slots = ctx.pendingSaved.map { t -> SavedTensor in
      if let k = attached.first(where: { $0.tensor === t })?.outputNr {
        return SavedTensor(output: t, outputNr: k)
      }
      return SavedTensor(t)
    }
    ctx.pendingSaved = []
    ctx.hasSavedSlots = true
    node.saved = slots
    return outputs
  }
}
