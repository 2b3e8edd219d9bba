import Synchronization

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
public func withDetectAnomaly<R>(_ body: () throws -> R) rethrows -> R {
  let previous = AnomalyMode.isEnabled
  AnomalyMode.isEnabled = true
  defer { AnomalyMode.isEnabled = previous }
  return try body()
}

/// The backward engine: counts each node's dependencies, then runs nodes as their gradients
/// become complete, summing gradients that arrive at the same input. Iterative throughout.
enum Engine {
  /// Runs backward from `roots` (edges of the outputs) seeded with `rootGrads`.
  ///
  /// - inputs: when given (autograd.grad), gradients arriving at these edges are returned instead
  ///   of being accumulated into `.grad`, and only nodes that lead to them run.
  static func run(
    roots: [Edge], rootGrads: [Tensor], keepGraph: Bool, createGraph: Bool, inputs: [Edge]?
  ) throws -> [Tensor?] {
    typealias ID = ObjectIdentifier
    // 1. Discover the graph and count dependencies.
    var dependencies: [ID: Int] = [:]
    var order: [Node] = []  // discovery order (each node once)
    var seen = Set<ID>()
    var stack: [Node] = []
    for r in roots {
      if let n = r.node, seen.insert(ID(n)).inserted {
        stack.append(n)
      }
    }
    while let n = stack.popLast() {
      order.append(n)
      for e in n.nextEdges {
        guard let child = e.node else { continue }
        let id = ID(child)
        dependencies[id, default: 0] += 1
        if seen.insert(id).inserted { stack.append(child) }
      }
    }

    // 2. For autograd.grad: where to capture, and which nodes lead there.
    var captures: [ID: [(slot: Int, index: Int)]] = [:]
    var needed: Set<ID>? = nil
    if let inputs {
      for (i, e) in inputs.enumerated() {
        if let n = e.node { captures[ID(n), default: []].append((e.inputNr, i)) }
      }
      needed = neededNodes(order: order, dependencies: dependencies, captures: captures)
    }

    // 3. Seed the roots.
    var buffers: [ID: [Tensor?]] = [:]
    for (r, g) in zip(roots, rootGrads) {
      guard let n = r.node else { continue }
      accumulate(g, into: &buffers, node: n, slot: r.inputNr)
    }

    // 4. Run nodes as they become ready (latest-created first among ready ones, as PyTorch).
    var ready: [Node] = []
    for n in order where dependencies[ID(n), default: 0] == 0 { insertReady(n, &ready) }
    var captured = [Tensor?](repeating: nil, count: inputs?.count ?? 0)

    try withGradEnabled(createGraph) {
      while let node = ready.popLast() {
        let id = ID(node)
        let incoming = buffers.removeValue(forKey: id) ?? []
        let hasGrad = incoming.contains { $0 != nil }
        var outputs: [Tensor?] = []
        if hasGrad {
          var grads = materialize(incoming, node)
          for (slot, hook) in node.preHooks {
            if let replaced = hook(grads[slot]) { grads[slot] = replaced }
          }
          for (slot, weak) in node.retainedGradTensors {
            weak.value?.accumulateGrad(grads[slot])
          }
          if let list = captures[id] {
            for (slot, index) in list {
              captured[index] = captured[index].map { $0 + grads[slot] } ?? grads[slot]
            }
          }
          let leadsToCapture =
            needed.map { set in
              node.nextEdges.contains { e in e.node.map { set.contains(ID($0)) } ?? false }
            } ?? true
          let skip = (inputs != nil && node is AccumulateGrad) || !leadsToCapture
          if !skip {
            outputs = try node.apply(grads)
            // only nodes that ran free what they saved (a skipped branch may run in a later pass)
            if !keepGraph { node.releaseSaved() }
            if AnomalyMode.isEnabled {
              for (i, g) in outputs.enumerated() {
                if let g, g.dtype.isFloatingPoint, g.containsNaN() {
                  throw AutogradError.nanInGradient(function: node.name, index: i)
                }
              }
            }
          }
        }
        for (i, e) in node.nextEdges.enumerated() {
          guard let child = e.node else { continue }
          let cid = ID(child)
          if i < outputs.count, let g = outputs[i] {
            accumulate(g, into: &buffers, node: child, slot: e.inputNr)
          }
          let remaining = dependencies[cid, default: 1] - 1
          dependencies[cid] = remaining
          if remaining == 0 { insertReady(child, &ready) }
        }
      }
    }
    return captured
  }

  private static func accumulate(
    _ g: Tensor, into buffers: inout [ObjectIdentifier: [Tensor?]], node: Node, slot: Int
  ) {
    let id = ObjectIdentifier(node)
    var b = buffers.removeValue(forKey: id) ?? [Tensor?](repeating: nil, count: node.outputs.count)
    if slot >= b.count { b += [Tensor?](repeating: nil, count: slot + 1 - b.count) }
    if let existing = b[slot] {
      b[slot] = existing + g
    } else {
      b[slot] = g
    }
    buffers[id] = b
  }

  /// Missing output gradients become zeros of the output's shape.
  private static func materialize(_ grads: [Tensor?], _ node: Node) -> [Tensor] {
    var out: [Tensor] = []
    out.reserveCapacity(node.outputs.count)
    for i in 0..<max(node.outputs.count, grads.count) {
      if i < grads.count, let g = grads[i] {
        out.append(g)
      } else {
        let m = node.outputs[i]
        out.append(Tensor(zerosShape: m.shape, dtype: m.dtype))
      }
    }
    return out
  }

  private static func insertReady(_ n: Node, _ ready: inout [Node]) {
    // keep ascending by sequence number; popLast takes the most recently created node
    var lo = 0
    var hi = ready.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if ready[mid].sequenceNr < n.sequenceNr { lo = mid + 1 } else { hi = mid }
    }
    ready.insert(n, at: lo)
  }

  /// Nodes from which some capture point can be reached (only these need to run).
  private static func neededNodes(
    order: [Node], dependencies: [ObjectIdentifier: Int],
    captures: [ObjectIdentifier: [(slot: Int, index: Int)]]
  ) -> Set<ObjectIdentifier> {
    // Topological order (Kahn), then a reverse sweep.
    var deps = dependencies
    var topo: [Node] = []
    var queue = order.filter { deps[ObjectIdentifier($0), default: 0] == 0 }
    while let n = queue.popLast() {
      topo.append(n)
      for e in n.nextEdges {
        guard let c = e.node else { continue }
        let id = ObjectIdentifier(c)
        deps[id, default: 1] -= 1
        if deps[id] == 0 { queue.append(c) }
      }
    }
    var needed = Set<ObjectIdentifier>()
    for n in topo.reversed() {
      let id = ObjectIdentifier(n)
      if captures[id] != nil
        || n.nextEdges.contains(where: { e in
          e.node.map { needed.contains(ObjectIdentifier($0)) } ?? false
        })
      {
        needed.insert(id)
      }
    }
    return needed
  }
}
