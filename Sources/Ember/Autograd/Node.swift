import CEmberKernels
import Synchronization

/// An edge of the backward graph: the node that receives a gradient and which of its inputs
/// (PyTorch's `input_nr`) the gradient is for.
public struct Edge {
  public let node: Node?
  public let inputNr: Int
  static var none: Edge { Edge(node: nil, inputNr: 0) }
}

/// Shape and dtype of one output of a node, kept so missing gradients can be materialized as
/// zeros and gradients checked against their output.
struct OutputMeta {
  let shape: [Int]
  let dtype: DType
}

/// A node of the backward graph (PyTorch's `torch.autograd.graph.Node`).
///
/// Each op creates one when any input requires grad; it holds edges to the nodes of its inputs
/// and the rule that maps output gradients to input gradients. The engine never switches on node
/// types: it calls ``apply(_:)``.
public class Node {
  /// PyTorch's class name of the node, e.g. `MulBackward0`, `AccumulateGrad`.
  public let name: String
  /// Edges to the inputs' nodes, inline for one or two inputs (``SmallList``).
  @exclusivity(unchecked) var nextEdges: SmallList<Edge>
  let sequenceNr: Int
  /// Shape and dtype of each output, inline for one or two outputs.
  @exclusivity(unchecked) var outputs: SmallList<OutputMeta>
  /// Hooks on the gradient of each output (registered through non-leaf tensors).
  @exclusivity(unchecked) var preHooks: [(outputNr: Int, hook: (Tensor) -> Tensor?)] = []
  /// Non-leaf tensors whose `.grad` is kept (`retainGrad()`), by output number.
  ///
  /// Held without a reference count (a strong one would keep the tensor alive through its own
  /// history; a `weak` one would give the tensor a side table). The reference cannot dangle: a
  /// tensor is on this list only while its ``Tensor/retainedGradNode`` is this node, and it takes
  /// itself off before that changes and in its `deinit` (it holds this node strongly meanwhile).
  @exclusivity(unchecked) var retainedGradTensors: [(outputNr: Int, tensor: Unmanaged<Tensor>)] =
    []

  init(name: String, nextEdges: SmallList<Edge>, outputs: SmallList<OutputMeta>) {
    self.name = name
    self.nextEdges = nextEdges
    self.outputs = outputs
    self.sequenceNr = Node.nextSequenceNumber()
  }

  init(name: String, nextEdges: [Edge], outputs: [OutputMeta]) {
    self.name = name
    self.nextEdges = SmallList(nextEdges)
    self.outputs = SmallList(outputs)
    self.sequenceNr = Node.nextSequenceNumber()
  }

  /// The nodes this node sends gradients to, with the input slot, as PyTorch's `next_functions`.
  public var nextFunctions: [(node: Node?, inputNr: Int)] {
    nextEdges.map { ($0.node, $0.inputNr) }
  }

  /// Number of gradients this node takes (one per forward output).
  public var outputCount: Int { outputs.count }

  /// Runs the hooks registered on the gradients this node receives, before anything reads them
  /// (retained grads, `grad(of:withRespectTo:)` captures, ``apply(_:)``), as PyTorch runs tensor
  /// pre-hooks. A hook returning a tensor replaces that gradient.
  func runPreHooks(_ grads: inout [Tensor]) {
    for (slot, hook) in preHooks {
      if let replaced = hook(grads[slot]) { grads[slot] = replaced }
    }
  }

  /// Computes input gradients from output gradients (same count as outputs; missing ones are
  /// zeros). Subclasses override.
  func apply(_ gradOutputs: [Tensor]) throws -> Gradients {
    fatalError("Node.apply must be overridden by \(name)")
  }

  /// ``apply(_:)`` for the engine, which hands over its gradients: a node may move them out of
  /// `gradOutputs` (the engine empties the array afterwards anyway). ``AccumulateGrad`` does, so
  /// that a gradient nothing else holds becomes the leaf's `.grad` without a copy.
  func apply(consuming gradOutputs: inout [Tensor]) throws -> Gradients {
    try apply(gradOutputs)
  }

  /// Tensors saved for backward (kept on the base class so teardown in `deinit` can reach them).
  @exclusivity(unchecked) var saved: [SavedTensor] = []

  /// Frees what the node saved for backward (after a backward without retainGraph).
  func releaseSaved() {
    for i in saved.indices { saved[i].release() }
  }

  /// Levels of graph teardown freed by recursion before the explicit loop takes over (each level
  /// is a few frames of `deinit`s: far below any thread's stack).
  static let recursiveTeardownLimit: Int32 = 64

  /// Tears the graph down: by plain recursion for the first ``recursiveTeardownLimit`` levels,
  /// then iteratively (a long chain of nodes released by recursive deinit would overflow the
  /// stack, so below that depth each node hands its uniquely owned successors to a loop).
  deinit {
    ObjectCounts.add(.liveNodes, -1)
    // nodes freed by the loop below were emptied by it and return here without an array
    guard !nextEdges.isEmpty || !saved.isEmpty else { return }
    // Fast path: within the first `recursiveTeardownLimit` levels the inputs' nodes and the
    // saved tensors are released right here, recursively, as Swift would (ember-bench scalar:
    // with the loop below for every node it was 26.64k instructions per iteration, 25.90k now).
    if ember_teardown_enter(Node.recursiveTeardownLimit) != 0 {
      nextEdges = SmallList()
      saved = []
      ember_teardown_leave()
      return
    }
    // the first nodes wait on the stack (a graph of a few ops frees no array here: the growing
    // array was 2 allocations per graph of ember-bench scalar)
    withUnsafeTemporaryAllocation(of: Unmanaged<Node>.self, capacity: 16) { inline in
      var pending = PendingNodes(inline: inline)
      Node.detachChildren(of: self, into: &pending)
      while var node = pending.popLast() {
        if isKnownUniquelyReferenced(&node) {
          Node.detachChildren(of: node, into: &pending)
        }
      }
    }
  }

  /// The teardown loop's stack of nodes: a fixed buffer (holding retained references), then an
  /// array once that is full.
  private struct PendingNodes {
    let inline: UnsafeMutableBufferPointer<Unmanaged<Node>>
    var inlineCount = 0
    var overflow: [Node] = []

    init(inline: UnsafeMutableBufferPointer<Unmanaged<Node>>) { self.inline = inline }

    mutating func append(_ n: Node) {
      if inlineCount < inline.count {
        inline[inlineCount] = Unmanaged.passRetained(n)
        inlineCount += 1
      } else {
        overflow.append(n)
      }
    }

    /// The last node pushed (the overflow only fills while the buffer is full).
    mutating func popLast() -> Node? {
      if let n = overflow.popLast() { return n }
      guard inlineCount > 0 else { return nil }
      inlineCount -= 1
      return inline[inlineCount].takeRetainedValue()
    }
  }

  private static func detachChildren(of node: Node, into pending: inout PendingNodes) {
    // the edges are moved out (iterating `node.nextEdges` in place copied the list and each
    // edge: 2 retains and 3 releases per edge more, ember-bench scalar: 28 per iteration)
    var edges = SmallList<Edge>()
    swap(&edges, &node.nextEdges)
    for k in 0..<edges.count {
      if let n = edges[k].node { pending.append(n) }
    }
    guard !node.saved.isEmpty else { return }
    var saved: [SavedTensor] = []
    swap(&saved, &node.saved)
    for i in saved.indices {
      // (a retained grad's registration goes with `t`'s deinit, through `retainedGradNode`)
      if var t = saved[i].takeForTeardown(), isKnownUniquelyReferenced(&t), let fn = t.gradFn {
        t.gradFn = nil
        pending.append(fn)
      }
    }
  }
}

extension Node {
  /// Adds `t` to the tensors whose `.grad` this node writes (`t.retainedGradNode` is set by the
  /// caller).
  func addRetainedGrad(of t: Tensor, outputNr: Int) {
    retainedGradTensors.append((outputNr, Unmanaged.passUnretained(t)))
  }

  /// Takes `t` off that list (`t` is being freed or its retained grad moves elsewhere).
  func removeRetainedGrad(of t: Tensor) {
    let p = Unmanaged.passUnretained(t).toOpaque()
    retainedGradTensors.removeAll { $0.tensor.toOpaque() == p }
  }
}

/// How a leaf reaches its ``AccumulateGrad`` node (``Tensor/accumulatorLink``).
///
/// `cached` holds the node without a reference count, as PyTorch's leaf holds it weakly (the
/// graph owns the node, and the node owns the leaf). It cannot dangle: the node keeps the leaf
/// alive and its `deinit` resets the leaf's link to `none`. `owned` is for a history stand-in
/// (an alias carrying a leaf's edge), which keeps the leaf's node alive itself.
enum AccumulatorLink {
  case none
  case cached(Unmanaged<AccumulateGrad>)
  case owned(AccumulateGrad)
}

/// The node that writes a leaf's `.grad` (PyTorch's `AccumulateGrad`).
public final class AccumulateGrad: Node {
  /// The leaf this node accumulates into. Strong, as in PyTorch; the leaf links back without a
  /// reference count (``AccumulatorLink``), so there is no cycle.
  public let variable: Tensor

  init(variable: Tensor) {
    self.variable = variable
    super.init(
      name: "AccumulateGrad", nextEdges: SmallList(),
      outputs: SmallList(OutputMeta(shape: variable.shape, dtype: variable.dtype)))
  }

  deinit {
    if case .cached(let link) = variable.accumulatorLink,
      link.toOpaque() == Unmanaged.passUnretained(self).toOpaque()
    {
      variable.accumulatorLink = .none
    }
  }

  /// A leaf's hooks live on the leaf (the accumulator is cached weakly and may be made anew);
  /// they run here, before a capture by `grad(of:withRespectTo:)` or the accumulation.
  override func runPreHooks(_ grads: inout [Tensor]) {
    for hook in variable.leafHooks {
      if let replaced = hook(grads[0]) { grads[0] = replaced }
    }
  }

  override func apply(_ gradOutputs: [Tensor]) throws -> Gradients {
    variable.accumulateGrad(gradOutputs[0])
    return []
  }

  /// Takes the gradient out of the engine's array first, so that it is uniquely referenced when
  /// nothing else holds it and ``Tensor/accumulateGrad(_:)`` can keep it as `.grad` (PyTorch's
  /// AccumulateGrad steals such a gradient too).
  override func apply(consuming gradOutputs: inout [Tensor]) throws -> Gradients {
    guard gradOutputs.count == 1 else { return try apply(gradOutputs) }
    var g = gradOutputs.removeLast()
    variable.accumulateGrad(stealing: &g)
    return []
  }
}

/// The node of a built-in op: its backward rule is a closure written with tensor ops, so it can be
/// differentiated again (`createGraph`).
final class FunctionNode: Node {
  let rule: (BackwardContext) throws -> Gradients
  /// A Swift number operand the rule reads (``BackwardContext/number``), kept here so that the
  /// rule of `x * 2` captures nothing: a capturing closure is one more heap object per op.
  let number: WrappedNumber

  init(
    name: String, nextEdges: SmallList<Edge>, outputs: SmallList<OutputMeta>,
    saved: [SavedTensor], number: WrappedNumber = .int(0),
    rule: @escaping (BackwardContext) throws -> Gradients
  ) {
    self.rule = rule
    self.number = number
    super.init(name: name, nextEdges: nextEdges, outputs: outputs)
    self.saved = saved
  }

  convenience init(
    name: String, nextEdges: [Edge], outputs: [OutputMeta], saved: [SavedTensor],
    rule: @escaping (BackwardContext) throws -> Gradients
  ) {
    self.init(
      name: name, nextEdges: SmallList(nextEdges), outputs: SmallList(outputs), saved: saved,
      rule: rule)
  }

  override func apply(_ gradOutputs: [Tensor]) throws -> Gradients {
    try rule(BackwardContext(node: self, gradOutputs: gradOutputs))
  }
}

/// What a backward rule sees: the output gradients, the saved tensors (version-checked) and which
/// inputs need a gradient.
public struct BackwardContext {
  let node: FunctionNode

  /// Gradients with respect to each output of the op.
  public let gradOutputs: [Tensor]

  /// The gradient with respect to the (first) output.
  public var grad: Tensor { gradOutputs[0] }

  /// The i-th saved tensor; throws if it was freed or modified in place since it was saved.
  public func saved(_ i: Int) throws -> Tensor { try node.saved[i].unpack(for: node) }

  /// The Swift number operand recorded with the node (`s` of `x * s`).
  var number: WrappedNumber { node.number }

  /// Whether input `i` needs a gradient (PyTorch's `ctx.needs_input_grad[i]`).
  public func needsInputGrad(_ i: Int) -> Bool {
    // the node is not retained for the test (a copy of the edge was a retain and a release: two
    // calls per binary rule)
    unowned(unsafe) let input = node.nextEdges[i].node
    return input != nil
  }
}
