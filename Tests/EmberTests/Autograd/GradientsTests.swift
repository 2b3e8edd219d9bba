import Testing

@testable import Ember

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The inline list backward rules return (``Gradients``) and the per-thread object counts
/// (``ObjectCounts``) that replaced the shared atomic counters.
@Suite struct GradientsTests {
  @Test func shortListsKeepTheirGradientsAndMoveThemOut() {
    let a = Tensor([1.0, 2.0])
    var g: Gradients = [a, nil]
    #expect(g.count == 2)
    #expect(g[0] === a)
    #expect(g[1] == nil)
    let taken = g.take(0)
    #expect(taken === a)
    #expect(g[0] == nil)
    g.put(Tensor(3.0), at: 1)
    #expect(g[1]?.item() == 3.0)
    #expect(Gradients().isEmpty)
  }

  @Test func longListsSpillAndStillMoveInPlace() {
    let ts = (0..<5).map { Tensor(Double($0)) }
    var g = Gradients(ts)
    #expect(g.count == 5)
    #expect(g.map { $0!.item() } == [0, 1, 2, 3, 4])
    #expect(g.take(3) === ts[3])
    #expect(g[3] == nil)
    g.put(ts[0], at: 4)
    #expect(Array(g).map { $0?.item() } == [0, 1, 2, nil, 0])
  }

  /// Backward through an op with more than two inputs (cat of three) goes through the spilled
  /// list in the engine: gradients PyTorch gives (ones of each input's shape).
  @Test func threeInputRuleReachesEveryInput() throws {
    let xs = (1...3).map { n in
      let t = Tensor.zeros([n])
      t.requiresGrad = true
      return t
    }
    try Tensor.cat(xs).sum().backward()
    #expect(xs.map { $0.grad!.shape } == [[1], [2], [3]])
    #expect(xs.allSatisfy { $0.grad!.scalars(as: Float.self).allSatisfy { $0 == 1 } })
  }

  #if os(Linux)  // (Glibc's pthread signatures)
    /// Storages and nodes made on a thread that then exits, and freed on another, leave the
    /// process-wide counts exact (the exited thread's counts are kept, not lost).
    @Test func countsSurviveTheThreadsThatMadeTheObjects() async throws {
      await #expect(processExitsWith: .success) {
        let storagesBefore = Storage.liveCount
        let nodesBefore = Node.liveCount
        let createdBefore = Node.createdCount
        // a thread of its own, joined: its exit (and its counters' hand-over) has completed
        var thread = pthread_t()
        let made = Unmanaged.passRetained(TensorBox())
        let status = pthread_create(
          &thread, nil,
          { p in
            let box = Unmanaged<TensorBox>.fromOpaque(p!).takeUnretainedValue()
            let x = try! Tensor([1.0, 2.0], requiresGrad: true)
            box.tensors = (0..<100).map { _ in x * 2 }
            return nil
          }, made.toOpaque())
        precondition(status == 0, "pthread_create: \(status)")
        pthread_join(thread, nil)
        let box = made.takeRetainedValue()
        // 100 products and the leaf, 100 nodes and the leaf's accumulator
        precondition(Storage.liveCount == storagesBefore + 101, "storages: \(Storage.liveCount)")
        precondition(Node.liveCount == nodesBefore + 101, "nodes: \(Node.liveCount)")
        precondition(Node.createdCount == createdBefore + 101, "created: \(Node.createdCount)")
        box.tensors = []
        precondition(Storage.liveCount == storagesBefore, "storages after: \(Storage.liveCount)")
        precondition(Node.liveCount == nodesBefore, "nodes after: \(Node.liveCount)")
      }
    }
  #endif
}

/// Tensors handed from a thread back to the test.
private final class TensorBox {
  var tensors: [Tensor] = []
}
