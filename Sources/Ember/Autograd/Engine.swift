import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Anomaly detection (`torch.autograd.set_detect_anomaly`): when on, the engine checks every
/// gradient a node produces and throws naming the node whose backward produced NaN.
public enum AnomalyMode {
  private static let flag = Atomic<Bool>(false)
  public static var isEnabled: Bool {
    get { flag.load(ordering: .relaxed) }
    set { flag.store(newValue, ordering: .relaxed) }
  }
}

/// Turns anomaly detection on or off for the process.
public func setDetectAnomaly(_ enabled: Bool) { AnomalyMode.isEnabled = enabled }

/// Runs `body` with anomaly detection on, restoring the previous setting afterwards.
@discardableResult
public func withDetectAnomaly<R>(_ body: () throws -> R) rethrows -> R {
  let previous = AnomalyMode.isEnabled
  AnomalyMode.isEnabled = true
  defer { AnomalyMode.isEnabled = previous }
  return try body()
}

/// The backward engine: counts each node's dependencies, then runs nodes as their gradients
/// become complete, summing gradients that arrive at the same input. Iterative throughout.
///
/// Each run numbers the nodes it discovers (0, 1, ...) and keeps all per-node state (dependency
/// counts, gradient slots, edges) in flat arrays indexed by that number, so the hot loop does no
/// hashing; node-to-number lookups happen once per edge during discovery, by a linear scan for
/// small graphs and a dictionary for large ones. Nested runs (a backward inside a backward) keep
/// their own tables.
enum Engine {
  /// Runs backward from `roots` (edges of the outputs) seeded with `rootGrads`.
  ///
  /// - inputs: when given (autograd.grad), gradients arriving at these edges are returned instead
  ///   of being accumulated into `.grad`, and only nodes that lead to them run.
  ///
  /// Generic over the collections so `backward()` passes its one root without two arrays.
  static func run<Roots: Collection<Edge>, Seeds: Collection<Tensor>>(
    roots: Roots, rootGrads: Seeds, keepGraph: Bool, createGraph: Bool, inputs: [Edge]?
  ) throws -> [Tensor?] {
    // 1. Discover the graph: number the nodes, record their edges and count dependencies.
    // The tables' arrays come from this thread's previous run when there is one (emptied, with
    // their capacity), and go back there at the end.
    let scratch = EngineScratch.take()
    var g = GraphTables(scratch)
    var stack: [Int] = []
    var buffers: [Tensor?] = []
    var grads: [Tensor] = []
    if let scratch {
      swap(&stack, &scratch.stack)
      swap(&buffers, &scratch.buffers)
      swap(&grads, &scratch.grads)
    } else {
      stack.reserveCapacity(8)
    }
    // `stack` becomes the ready queue below; whatever the run leaves is kept for the next one
    defer { EngineScratch.keep(scratch, &g, &stack, &buffers, &grads) }
    for r in roots {
      if let n = r.node, g.index(of: n) == nil { stack.append(g.insert(n)) }
    }
    while let i = stack.popLast() {
      let node = g.info[i].node
      g.info[i].edgeStart = g.edges.count
      for k in 0..<node.nextEdges.count {
        let e = node.nextEdges[k]
        guard let child = e.node else {
          g.edges.append((-1, e.inputNr))
          continue
        }
        var c = g.index(of: child) ?? -1
        if c < 0 {
          c = g.insert(child)
          stack.append(c)
        }
        g.info[c].dependencies += 1
        g.edges.append((c, e.inputNr))
      }
      g.info[i].edgeEnd = g.edges.count
    }
    let count = g.info.count

    // Gradient slots: one per output of each node (more if an edge names a higher input slot).
    for i in 0..<count { g.info[i].slotCount = g.info[i].node.outputs.count }
    for e in g.edges where e.child >= 0 {
      g.info[e.child].slotCount = max(g.info[e.child].slotCount, e.slot + 1)
    }
    for r in roots {
      if let n = r.node, let i = g.index(of: n) {
        g.info[i].slotCount = max(g.info[i].slotCount, r.inputNr + 1)
      }
    }
    var totalSlots = 0
    for i in 0..<count {
      g.info[i].slotStart = totalSlots
      totalSlots += g.info[i].slotCount
    }
    for _ in 0..<totalSlots { buffers.append(nil) }

    // 2. For autograd.grad: where to capture, and which nodes lead there.
    var captures: [[(slot: Int, index: Int)]] = []
    var needed: [Bool]? = nil
    if let inputs {
      captures = Array(repeating: [], count: count)
      for (k, e) in inputs.enumerated() {
        if let n = e.node, let i = g.index(of: n) { captures[i].append((e.inputNr, k)) }
      }
      needed = neededNodes(g, captures: captures)
    }

    // 3. Seed the roots.
    for (r, grad) in zip(roots, rootGrads) {
      guard let n = r.node, let i = g.index(of: n) else { continue }
      let slot = g.info[i].slotStart + r.inputNr
      buffers.withUnsafeMutableBufferPointer { accumulate(grad, into: $0, at: slot) }
    }
    var captured = [Tensor?](repeating: nil, count: inputs?.count ?? 0)
    let edges = g.edges

    // 4. Run nodes as they become ready (latest-created first among ready ones, as PyTorch).
    // The slots and the node table are reached through buffer pointers: as arrays, every write
    // to them checked their uniqueness (ember-bench scalar: 128 calls per iteration). Neither is
    // resized while they are borrowed.
    try buffers.withUnsafeMutableBufferPointer { slots in
      try g.info.withUnsafeMutableBufferPointer { info in
        // the discovery stack (empty now) is the ready queue: one array fewer per run
        for i in 0..<count where info[i].dependencies == 0 { insertReady(i, &stack, info) }
        try withGradEnabled(createGraph) {
          while let i = stack.popLast() {
            try runNode(
              i, info: info, edges: edges, slots: slots, stack: &stack, grads: &grads,
              keepGraph: keepGraph, captures: needed == nil ? [] : captures[i], needed: needed,
              captured: &captured)
          }
        }
      }
    }
    return captured
  }

  /// Runs node `i` of a run: hands it its gradients, checks what it returns and passes that to
  /// its inputs' slots, queueing the inputs that are then complete. For autograd.grad (`needed`
  /// given: the nodes that lead to a capture point), gradients arriving at `captures` are summed
  /// into `captured`, and only needed nodes other than leaves' accumulators run.
  @inline(__always)
  private static func runNode(
    _ i: Int, info: UnsafeMutableBufferPointer<NodeInfo>, edges: [(child: Int, slot: Int)],
    slots: UnsafeMutableBufferPointer<Tensor?>, stack: inout [Int], grads: inout [Tensor],
    keepGraph: Bool, captures: [(slot: Int, index: Int)], needed: [Bool]?,
    captured: inout [Tensor?]
  ) throws {
    let node = info[i].node
    let lo = info[i].slotStart
    let hi = lo + info[i].slotCount
    let edgeStart = info[i].edgeStart
    let edgeEnd = info[i].edgeEnd
    var lastGrad = -1
    for s in lo..<hi where slots[s] != nil { lastGrad = s }
    var outputs = Gradients()
    if lastGrad >= 0 {
      // one array for every node's gradients: emptied after each node, so it is unique
      // again for the next (unless a rule kept it), and no array is made per node
      defer { while !grads.isEmpty { grads.removeLast() } }
      materialize(into: &grads, slots, lo..<(lastGrad + 1), node)
      for s in lo..<hi { slots[s] = nil }
      node.runPreHooks(&grads)
      let retained = node.retainedGradTensors
      if !retained.isEmpty {
        for (slot, t) in retained { t.takeUnretainedValue().accumulateGrad(grads[slot]) }
      }
      var skip = false
      if let needed {
        for (slot, index) in captures {
          captured[index] = captured[index].map { $0 + grads[slot] } ?? grads[slot]
        }
        // leaves' accumulators do not run, nor nodes that lead to no capture point
        skip = node is AccumulateGrad
        if !skip {
          skip = true
          for k in edgeStart..<edgeEnd where edges[k].child >= 0 && needed[edges[k].child] {
            skip = false
            break
          }
        }
      }
      if !skip {
        outputs = try node.apply(consuming: &grads)
        try validate(&outputs, of: node)
        // only nodes that ran free what they saved (a skipped branch may run in a later pass)
        if !keepGraph { node.releaseSaved() }
        if AnomalyMode.isEnabled {
          for (k, out) in outputs.enumerated() {
            if let out, out.dtype.isFloatingPoint, out.containsNaN() {
              throw AutogradError.nanInGradient(function: node.name, index: k)
            }
          }
        }
      }
    }
    for k in edgeStart..<edgeEnd {
      let (c, slot) = edges[k]
      guard c >= 0 else { continue }
      let e = k - edgeStart
      // moved out of `outputs` (a copy was a retain here and a release with the array)
      if e < outputs.count, let grad = outputs.take(e) {
        accumulate(grad, into: slots, at: info[c].slotStart + slot)
      }
      info[c].dependencies -= 1
      if info[c].dependencies == 0 { insertReady(c, &stack, info) }
    }
  }

  /// Checks what a node's backward returned, as PyTorch's `validate_outputs`: one gradient per
  /// input edge; each reduced to its input's shape by summing broadcast dimensions (so rules need
  /// not undo broadcasting themselves) and converted to its input's dtype. A shape that does not
  /// broadcast to the input's is the rule's bug and throws, naming the node.
  static func validate(_ grads: inout Gradients, of node: Node) throws {
    let edgeCount = node.nextEdges.count
    guard grads.count == edgeCount else {
      throw AutogradError.wrongGradientCount(
        function: node.name, expected: edgeCount, got: grads.count)
    }
    for i in 0..<edgeCount {
      // The gradient is moved out and back (``Gradients/take(_:)``), and the input's node and
      // metadata are read in place, without references (copies of the edge, the node and the
      // metadata were 8 retains and releases per gradient, ember-bench scalar: 48 per
      // backward). `node.nextEdges` holds the input's node throughout.
      guard let g = grads.take(i) else { continue }
      unowned(unsafe) let next = node.nextEdges[i].node
      let nr = node.nextEdges[i].inputNr
      // nothing receives it when the input does not require grad: it stays out
      guard let next, nr < next.outputs.count else { continue }
      // nearly every gradient already fits its input
      if next.outputs[nr].shape == g.shape && next.outputs[nr].dtype == g.dtype {
        grads.put(g, at: i)
        continue
      }
      let meta = next.outputs[nr]
      var fixed = g
      if g.shape != meta.shape {
        guard Shape.isExpandable(meta.shape, to: g.shape) else {
          throw AutogradError.wrongGradientShape(
            function: node.name, index: i, got: g.shape, expected: meta.shape)
        }
        fixed = fixed.sumTo(meta.shape)
      }
      if fixed.dtype != meta.dtype && meta.dtype.isFloatingPoint { fixed = fixed.to(meta.dtype) }
      grads.put(fixed, at: i)
    }
  }

  /// What a run knows about one node.
  fileprivate struct NodeInfo {
    let node: Node
    let sequence: Int
    var dependencies = 0
    /// Its edges are `edges[edgeStart..<edgeEnd]`.
    var edgeStart = 0
    var edgeEnd = 0
    /// Its gradient slots are `buffers[slotStart..<slotStart + slotCount]`.
    var slotStart = 0
    var slotCount = 0
  }

  /// The per-run tables: nodes by number, and their edges (flattened) as (child number or -1
  /// for none, input slot of the child).
  fileprivate struct GraphTables {
    var info: [NodeInfo] = []
    var edges: [(child: Int, slot: Int)] = []
    /// Node numbers by identity, built once the graph outgrows a linear scan.
    var lookup: [ObjectIdentifier: Int]? = nil

    static let linearLimit = 16

    init(_ scratch: EngineScratch?) {
      if let scratch {
        swap(&info, &scratch.info)
        swap(&edges, &scratch.edges)
      } else {
        info.reserveCapacity(8)
        edges.reserveCapacity(16)
      }
    }

    func index(of n: Node) -> Int? {
      if let lookup { return lookup[ObjectIdentifier(n)] }
      for i in 0..<info.count where info[i].node === n { return i }
      return nil
    }

    mutating func insert(_ n: Node) -> Int {
      let i = info.count
      info.append(NodeInfo(node: n, sequence: n.sequenceNr))
      if lookup != nil {
        lookup![ObjectIdentifier(n)] = i
      } else if info.count > GraphTables.linearLimit {
        var d = [ObjectIdentifier: Int](minimumCapacity: 4 * info.count)
        for (k, m) in info.enumerated() { d[ObjectIdentifier(m.node)] = k }
        lookup = d
      }
      return i
    }
  }

  @inline(__always)
  private static func accumulate(
    _ g: Tensor, into buffers: UnsafeMutableBufferPointer<Tensor?>, at slot: Int
  ) {
    guard var existing = buffers[slot] else {
      buffers[slot] = g
      return
    }
    buffers[slot] = nil
    // Fast path, as PyTorch's InputBuffer: a sum that nothing else can see (this slot holds the
    // only reference to the tensor and to its storage) takes the next gradient in place instead
    // of allocating a new sum. Not while recording (createGraph), where the sum is part of the
    // graph. Scalar autograd loop: 2 of its 10 tensors per iteration (with the grad-mode and
    // record changes it came with: -8.9% instructions under callgrind, 1075.2M -> 980.0M Ir).
    if !GradMode.isEnabled, existing.shape == g.shape, existing.dtype == g.dtype,
      !existing.requiresGrad, isKnownUniquelyReferenced(&existing),
      isKnownUniquelyReferenced(&existing.storage)
    {
      Kernel.addInPlace(existing, g)
      buffers[slot] = existing
      return
    }
    buffers[slot] = existing + g
  }

  /// Moves a node's output gradients from their slots to `out` (empty); missing ones become
  /// zeros of the output's shape.
  private static func materialize(
    into out: inout [Tensor], _ buffers: UnsafeMutableBufferPointer<Tensor?>, _ slots: Range<Int>,
    _ node: Node
  ) {
    let n = max(node.outputs.count, slots.count)
    for k in 0..<n {
      // `take()` moves the gradient (a copy was a retain, and a release when the slot is reset)
      if k < slots.count, let g = buffers[slots.lowerBound + k].take() {
        out.append(g)
      } else {
        let m = node.outputs[k]
        out.append(Tensor(zerosShape: m.shape, dtype: m.dtype))
      }
    }
  }

  private static func insertReady(
    _ i: Int, _ ready: inout [Int], _ info: UnsafeMutableBufferPointer<NodeInfo>
  ) {
    // keep ascending by sequence number; popLast takes the most recently created node
    let key = info[i].sequence
    if ready.isEmpty || info[ready[ready.count - 1]].sequence < key {
      ready.append(i)
      return
    }
    var lo = 0
    var hi = ready.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if info[ready[mid]].sequence < key { lo = mid + 1 } else { hi = mid }
    }
    ready.insert(i, at: lo)
  }

  /// Nodes from which some capture point can be reached (only these need to run).
  private static func neededNodes(_ g: GraphTables, captures: [[(slot: Int, index: Int)]])
    -> [Bool]
  {
    // Topological order (Kahn), then a reverse sweep.
    let count = g.info.count
    var deps = g.info.map(\.dependencies)
    var topo: [Int] = []
    topo.reserveCapacity(count)
    var queue: [Int] = []
    for i in 0..<count where deps[i] == 0 { queue.append(i) }
    while let i = queue.popLast() {
      topo.append(i)
      for k in g.info[i].edgeStart..<g.info[i].edgeEnd {
        let c = g.edges[k].child
        guard c >= 0 else { continue }
        deps[c] -= 1
        if deps[c] == 0 { queue.append(c) }
      }
    }
    var needed = [Bool](repeating: false, count: count)
    for i in topo.reversed() {
      if !captures[i].isEmpty {
        needed[i] = true
        continue
      }
      for k in g.info[i].edgeStart..<g.info[i].edgeEnd {
        let c = g.edges[k].child
        if c >= 0 && needed[c] {
          needed[i] = true
          break
        }
      }
    }
    return needed
  }
}

/// The arrays of an engine run, kept per thread between runs so a backward over a small graph
/// allocates none of them (ember-bench scalar under callgrind: 4 arrays per backward, two of
/// them grown through the standard library's unspecialized `_consumeAndCreateNew`). A run takes
/// the thread's scratch (a nested run finds none and makes its own arrays) and leaves its
/// emptied arrays there afterwards. Thread-local through a pthread key: a Swift `Tensor` graph
/// is not shared across threads, and nothing here outlives a run but empty capacity.
final class EngineScratch {
  fileprivate var info: [Engine.NodeInfo] = []
  fileprivate var edges: [(child: Int, slot: Int)] = []
  var stack: [Int] = []
  var buffers: [Tensor?] = []
  /// The gradients handed to each node (emptied after each; its first append allocated the
  /// array anew in every run: 1 of the 27 heap objects of an ember-bench scalar iteration).
  var grads: [Tensor] = []

  /// Larger tables are not kept (a big graph's run pays for its own arrays anyway).
  static let maximumKept = 1024

  private static let key: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { p in
      #if canImport(Darwin)
        Unmanaged<EngineScratch>.fromOpaque(p).release()
      #else
        if let p { Unmanaged<EngineScratch>.fromOpaque(p).release() }
      #endif
    }
    precondition(status == 0, "Engine: pthread_key_create failed (\(status))")
    return key
  }()

  /// This thread's scratch, removed from the thread until ``keep(_:_:_:_:_:)`` returns it.
  static func take() -> EngineScratch? {
    guard let p = pthread_getspecific(key) else { return nil }
    pthread_setspecific(key, nil)
    return Unmanaged<EngineScratch>.fromOpaque(p).takeRetainedValue()
  }

  /// Empties a run's arrays (keeping their capacity) and leaves them for the thread's next run.
  fileprivate static func keep(
    _ scratch: EngineScratch?, _ g: inout Engine.GraphTables, _ stack: inout [Int],
    _ buffers: inout [Tensor?], _ grads: inout [Tensor]
  ) {
    guard g.info.capacity <= maximumKept, buffers.capacity <= maximumKept,
      grads.capacity <= maximumKept,
      g.edges.capacity <= 4 * maximumKept, pthread_getspecific(key) == nil
    else { return }
    let s = scratch ?? EngineScratch()
    // `removeAll(keepingCapacity:)` is an unspecialized `replaceSubrange` (about 200
    // instructions per array); these hold a handful of elements
    while !g.info.isEmpty { g.info.removeLast() }
    while !g.edges.isEmpty { g.edges.removeLast() }
    while !stack.isEmpty { stack.removeLast() }
    while !buffers.isEmpty { buffers.removeLast() }
    while !grads.isEmpty { grads.removeLast() }
    swap(&s.info, &g.info)
    swap(&s.edges, &g.edges)
    swap(&s.stack, &stack)
    swap(&s.buffers, &buffers)
    swap(&s.grads, &grads)
    pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
  }
}
