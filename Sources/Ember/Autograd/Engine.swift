import CEmberKernels
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
/// counts, gradient slots, edges) in flat tables indexed by that number, so the hot loop does no
/// hashing; node-to-number lookups happen once per edge during discovery, by a linear scan for
/// small graphs and a dictionary for large ones. The tables start on the stack and move to the
/// heap when a graph outgrows them (``RunTable``). Nested runs (a backward inside a backward) keep
/// their own tables.
enum Engine {
  /// Nodes whose tables fit on the stack (edges and gradient slots: twice as many) before a run's
  /// tables move to the heap.
  static let stackNodes = 16

  /// Runs backward from `roots` (edges of the outputs) seeded with `rootGrads`.
  ///
  /// - inputs: when given (autograd.grad), gradients arriving at these edges are returned instead
  ///   of being accumulated into `.grad`, and only nodes that lead to them run.
  ///
  /// Generic over the collections so `backward()` passes its one root without two arrays.
  static func run<Roots: Collection<Edge>, Seeds: Collection<Tensor>>(
    roots: Roots, rootGrads: Seeds, keepGraph: Bool, createGraph: Bool, inputs: [Edge]?
  ) throws -> [Tensor?] {
    // The tables live in stack buffers while they fit (ember-bench scalar under callgrind: as
    // arrays kept per thread, they cost 45 uniqueness checks, 12 array calls and the emptying
    // of 5 arrays per backward; 25.98k -> 24.85k instructions per iteration).
    try withUnsafeTemporaryAllocation(of: NodeInfo.self, capacity: stackNodes) { info in
      try withUnsafeTemporaryAllocation(of: EdgeEntry.self, capacity: 2 * stackNodes) { edges in
        try withUnsafeTemporaryAllocation(of: Tensor?.self, capacity: 2 * stackNodes) { slots in
          try withUnsafeTemporaryAllocation(of: Int.self, capacity: stackNodes) { stack in
            var g = GraphTables(info: RunTable(info), edges: RunTable(edges))
            var slots = RunTable(slots)
            var stack = RunTable(stack)
            return try run(
              roots: roots, rootGrads: rootGrads, keepGraph: keepGraph, createGraph: createGraph,
              inputs: inputs, &g, &slots, &stack)
          }
        }
      }
    }
  }

  /// ``run(roots:rootGrads:keepGraph:createGraph:inputs:)`` with its (empty) tables.
  private static func run<Roots: Collection<Edge>, Seeds: Collection<Tensor>>(
    roots: Roots, rootGrads: Seeds, keepGraph: Bool, createGraph: Bool, inputs: [Edge]?,
    _ g: inout GraphTables, _ buffers: inout RunTable<Tensor?>, _ stack: inout RunTable<Int>
  ) throws -> [Tensor?] {
    // 1. Discover the graph: number the nodes, record their edges and count dependencies.
    for r in roots {
      if let n = r.node, g.index(of: n) == nil { stack.append(g.insert(n)) }
    }
    while let i = stack.popLast() {
      // (a strong `node`: read through an `unowned(unsafe)` one, each `nextEdges[k]` copied the
      // whole list, 3 retains and releases)
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
    let info = g.info.buffer
    let edges = UnsafeBufferPointer(g.edges.buffer)
    let count = info.count

    // Gradient slots: one per output of each node (more if an edge names a higher input slot).
    for i in 0..<count { info[i].slotCount = info[i].node.outputs.count }
    for e in edges where e.child >= 0 {
      info[e.child].slotCount = max(info[e.child].slotCount, e.slot + 1)
    }
    for r in roots {
      if let n = r.node, let i = g.index(of: n) {
        info[i].slotCount = max(info[i].slotCount, r.inputNr + 1)
      }
    }
    var totalSlots = 0
    for i in 0..<count {
      info[i].slotStart = totalSlots
      totalSlots += info[i].slotCount
    }
    for _ in 0..<totalSlots { buffers.append(nil) }
    let slots = buffers.buffer

    // 2. For autograd.grad: where to capture, and which nodes lead there.
    var captures: [[(slot: Int, index: Int)]] = []
    var needed: [Bool]? = nil
    if let inputs {
      captures = Array(repeating: [], count: count)
      for (k, e) in inputs.enumerated() {
        if let n = e.node, let i = g.index(of: n) { captures[i].append((e.inputNr, k)) }
      }
      needed = neededNodes(info, edges, captures: captures)
    }

    // 3. Seed the roots.
    for (r, grad) in zip(roots, rootGrads) {
      guard let n = r.node, let i = g.index(of: n) else { continue }
      accumulate(grad, into: slots, at: info[i].slotStart + r.inputNr)
    }
    var captured = [Tensor?](repeating: nil, count: inputs?.count ?? 0)

    // 4. Run nodes as they become ready (latest-created first among ready ones, as PyTorch).
    // The gradients handed to each node go in one array, this thread's from its previous run
    // when there is one (its first append allocated the array anew in every run).
    let scratch = EngineScratch.take()
    var grads: [Tensor] = []
    if let scratch { scratch._withUnsafeGuaranteedRef { swap(&grads, &$0.grads) } }
    defer { EngineScratch.keep(scratch, &grads) }
    // the discovery stack (empty now) is the ready queue
    for i in 0..<count where info[i].dependencies == 0 { insertReady(i, &stack, info) }
    try withGradEnabled(createGraph) {
      while let i = stack.popLast() {
        try runNode(
          i, info: info, edges: edges, slots: slots, stack: &stack, grads: &grads,
          keepGraph: keepGraph, captures: captures, needed: needed,
          captured: &captured)
      }
    }
    return captured
  }

  /// Runs node `i` of a run: hands it its gradients, checks what it returns and passes that to
  /// its inputs' slots, queueing the inputs that are then complete. For autograd.grad (`needed`
  /// given: the nodes that lead to a capture point), gradients arriving at `captures[i]` are summed
  /// into `captured`, and only needed nodes other than leaves' accumulators run.
  @inline(__always)
  private static func runNode(
    _ i: Int, info: UnsafeMutableBufferPointer<NodeInfo>, edges: UnsafeBufferPointer<EdgeEntry>,
    slots: UnsafeMutableBufferPointer<Tensor?>, stack: inout RunTable<Int>, grads: inout [Tensor],
    keepGraph: Bool, captures: [[(slot: Int, index: Int)]], needed: [Bool]?,
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
      // (this empties the node's slots: the ones after `lastGrad` are empty already)
      materialize(into: &grads, slots, lo..<(lastGrad + 1), node)
      // the (dynamically dispatched) call only for nodes with hooks; a leaf's accumulator runs
      // hooks it does not list, the leaf's (ember-bench scalar under callgrind: 21.48k -> 21.43k
      // instructions per iteration)
      if !node.preHooks.isEmpty || node is AccumulateGrad { node.runPreHooks(&grads) }
      if !node.retainedGradTensors.isEmpty {
        for (slot, t) in node.retainedGradTensors {
          t.takeUnretainedValue().accumulateGrad(grads[slot])
        }
      }
      var skip = false
      if let needed {
        for (slot, index) in captures[i] {
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

  /// An edge of a run: the child's number (-1 for none) and the child's input slot.
  fileprivate typealias EdgeEntry = (child: Int, slot: Int)

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

  /// The per-run tables: nodes by number, and their edges (flattened).
  fileprivate struct GraphTables: ~Copyable {
    var info: RunTable<NodeInfo>
    var edges: RunTable<EdgeEntry>
    /// Node numbers by identity, built once the graph outgrows a linear scan.
    var lookup: [ObjectIdentifier: Int]? = nil

    static let linearLimit = 16

    init(info: consuming RunTable<NodeInfo>, edges: consuming RunTable<EdgeEntry>) {
      self.info = info
      self.edges = edges
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
        for k in 0..<info.count { d[ObjectIdentifier(info[k].node)] = k }
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
  @inline(__always)
  private static func materialize(
    into out: inout [Tensor], _ buffers: UnsafeMutableBufferPointer<Tensor?>, _ slots: Range<Int>,
    _ node: Node
  ) {
    let n = max(node.outputs.count, slots.count)
    for k in 0..<n {
      // the gradient is moved from its slot to `out` (a copy was a retain, and a release when
      // the slot is reset; bound by `if let`, a retain and a release more)
      if k < slots.count, buffers[slots.lowerBound + k] != nil {
        out.append(buffers[slots.lowerBound + k].take().unsafelyUnwrapped)
      } else {
        let m = node.outputs[k]
        out.append(Tensor(zerosShape: m.shape, dtype: m.dtype))
      }
    }
  }

  private static func insertReady(
    _ i: Int, _ ready: inout RunTable<Int>, _ info: UnsafeMutableBufferPointer<NodeInfo>
  ) {
    // keep ascending by sequence number; popLast takes the most recently created node
    let key = info[i].sequence
    if ready.count == 0 || info[ready[ready.count - 1]].sequence < key {
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
  private static func neededNodes(
    _ info: UnsafeMutableBufferPointer<NodeInfo>, _ edges: UnsafeBufferPointer<EdgeEntry>,
    captures: [[(slot: Int, index: Int)]]
  ) -> [Bool] {
    // Topological order (Kahn), then a reverse sweep.
    let count = info.count
    var deps = info.map(\.dependencies)
    var topo: [Int] = []
    topo.reserveCapacity(count)
    var queue: [Int] = []
    for i in 0..<count where deps[i] == 0 { queue.append(i) }
    while let i = queue.popLast() {
      topo.append(i)
      for k in info[i].edgeStart..<info[i].edgeEnd {
        let c = edges[k].child
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
      for k in info[i].edgeStart..<info[i].edgeEnd {
        let c = edges[k].child
        if c >= 0 && needed[c] {
          needed[i] = true
          break
        }
      }
    }
    return needed
  }
}

/// A table of an engine run: its elements sit in a buffer the caller provides (on the stack)
/// until that is full, then in a heap block that doubles as needed. Indexed in place, without
/// the uniqueness check of every write to an array. Destroys its elements (and frees its heap
/// block) when it goes away.
struct RunTable<Element>: ~Copyable {
  private var base: UnsafeMutablePointer<Element>
  private(set) var count = 0
  private var capacity: Int
  private var onHeap = false

  /// A table in `initial` (uninitialized memory that outlives the table).
  init(_ initial: UnsafeMutableBufferPointer<Element>) {
    base = initial.baseAddress!
    capacity = initial.count
  }

  deinit {
    // each element moved out and dropped: `deinitialize(count:)` destroyed them through their
    // type's value witnesses, a generic call per element or per table (ember-bench scalar under
    // callgrind: 480 instructions for a table of 5 gradient slots and one of 5 nodes; 22.16k ->
    // 21.79k instructions per iteration)
    for k in 0..<count { _ = (base + k).move() }
    if onHeap { base.deallocate() }
  }

  /// The elements, in place (valid until the table grows).
  var buffer: UnsafeMutableBufferPointer<Element> {
    UnsafeMutableBufferPointer(start: base, count: count)
  }

  subscript(i: Int) -> Element {
    unsafeAddress {
      precondition(i >= 0 && i < count, "RunTable: index \(i) out of range 0..<\(count)")
      return UnsafePointer(base + i)
    }
    nonmutating unsafeMutableAddress {
      precondition(i >= 0 && i < count, "RunTable: index \(i) out of range 0..<\(count)")
      return base + i
    }
  }

  mutating func append(_ e: consuming Element) {
    if count == capacity { grow() }
    (base + count).initialize(to: e)
    count += 1
  }

  /// Inserts `e` before element `i`, shifting the later ones up.
  mutating func insert(_ e: consuming Element, at i: Int) {
    precondition(i >= 0 && i <= count, "RunTable: insertion index \(i) out of range")
    if count == capacity { grow() }
    (base + i + 1).moveInitialize(from: base + i, count: count - i)
    (base + i).initialize(to: e)
    count += 1
  }

  mutating func popLast() -> Element? {
    guard count > 0 else { return nil }
    count -= 1
    return (base + count).move()
  }

  private mutating func grow() {
    let bigger = UnsafeMutablePointer<Element>.allocate(capacity: 2 * capacity)
    bigger.moveInitialize(from: base, count: count)
    if onHeap { base.deallocate() }
    base = bigger
    capacity *= 2
    onHeap = true
  }
}

/// The gradient array of an engine run, kept per thread between runs so a backward over a small
/// graph allocates none (its first append allocated the array anew in every run: 1 of the 27
/// heap objects of an ember-bench scalar iteration). A run takes the thread's scratch (a nested
/// run finds none and makes its own array) and leaves the emptied array there afterwards.
/// Thread-local: a Swift `Tensor` graph is not shared across threads, and nothing here outlives
/// a run but empty capacity. A thread's scratch is owned by a pthread key (whose destructor frees
/// it when the thread exits) and reached through a C thread-local slot (`ember_engine_scratch`,
/// empty while a run holds it): two pthread calls per run, a retain and a release were about 150
/// instructions of each backward (ember-bench scalar under callgrind: 21.67k -> 21.48k
/// instructions per iteration).
final class EngineScratch {
  /// The gradients handed to each node (emptied after each).
  var grads: [Tensor] = []

  /// A larger array is not kept (a big graph's run pays for its own anyway).
  static let maximumKept = 1024

  /// Owns each thread's scratch (set once per thread, released when the thread exits).
  private static let key: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { p in
      ember_engine_scratch_put(nil)
      #if canImport(Darwin)
        Unmanaged<EngineScratch>.fromOpaque(p).release()
      #else
        if let p { Unmanaged<EngineScratch>.fromOpaque(p).release() }
      #endif
    }
    precondition(status == 0, "Engine: pthread_key_create failed (\(status))")
    return key
  }()

  /// This thread's scratch, removed from the thread until ``keep(_:_:)`` returns it (the
  /// thread's key keeps it alive meanwhile).
  static func take() -> Unmanaged<EngineScratch>? {
    guard let p = ember_engine_scratch_take() else { return nil }
    return Unmanaged.fromOpaque(p)
  }

  /// Empties a run's gradient array (keeping its capacity) and leaves it for the thread's next
  /// run; the first run on a thread makes the thread's scratch.
  static func keep(_ scratch: Unmanaged<EngineScratch>?, _ grads: inout [Tensor]) {
    guard grads.capacity <= maximumKept else {
      if let scratch { ember_engine_scratch_put(scratch.toOpaque()) }
      return
    }
    // `removeAll(keepingCapacity:)` is an unspecialized `replaceSubrange` (about 200
    // instructions per array); this holds a handful of elements at most
    while !grads.isEmpty { grads.removeLast() }
    if let scratch {
      scratch._withUnsafeGuaranteedRef { swap(&$0.grads, &grads) }
      ember_engine_scratch_put(scratch.toOpaque())
      return
    }
    // a nested run (the outer one holds this thread's scratch) keeps nothing
    guard pthread_getspecific(key) == nil else { return }
    let s = EngineScratch()
    swap(&s.grads, &grads)
    let owned = Unmanaged.passRetained(s)
    pthread_setspecific(key, owned.toOpaque())
    ember_engine_scratch_put(owned.toOpaque())
  }
}
