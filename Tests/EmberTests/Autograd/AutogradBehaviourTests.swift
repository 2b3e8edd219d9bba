import Ember
import Testing

#if canImport(Foundation)
  import Foundation
#endif

@Suite struct AutogradBehaviourTests {
  @Test func leafAndGradFnMetadata() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    let w = try Tensor(3.0, requiresGrad: true)
    let b = try Tensor(1.0, requiresGrad: true)
    let y = w * x + b
    let z = y ** 2
    #expect(x.isLeaf && !z.isLeaf)
    #expect(z.gradFn?.name == "PowBackward0")
    #expect(z.gradFn?.nextFunctions.map { $0.node?.name } == ["AddBackward0"])
    #expect(y.gradFn?.nextFunctions.map { $0.node?.name } == ["MulBackward0", "AccumulateGrad"])
    try z.backward()
    #expect(x.grad?.item() == 42)
    #expect(w.grad?.item() == 28)
    #expect(b.grad?.item() == 14)
  }

  @Test func gradientsAccumulateUntilZeroed() throws {
    let x = try Tensor(4.0, requiresGrad: true)
    #expect(x.grad == nil)
    try (2 * x ** 2 + 7).backward()
    #expect(x.grad?.item() == 16)
    try (x ** 2).backward()
    #expect(x.grad?.item() == 24)
    try x.grad?.zero()
    #expect(x.grad?.item() == 0)
    x.grad = nil
    #expect(x.grad == nil)
  }

  @Test func gradientsOfSharedInputsDoNotAlias() throws {
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let b = try Tensor([3.0, 4.0], requiresGrad: true)
    try (a + b).sum().backward()
    try a.grad!.zero()
    #expect(b.grad!.toArray() == [1, 1])
  }

  @Test func vectorJacobianProduct() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x * x * Tensor([1.0, 2.0])
    try y.backward(gradient: Tensor([1.0, 0.5]))
    #expect(x.grad!.toArray() == [2, 4])
  }

  @Test func retainGradAndHooks() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x * 3
    try y.retainGrad()
    var seen: [Double] = []
    try y.registerHook { g in
      seen = g.toArray()
      return g * 2
    }
    try x.registerHook { g in g + 1 }
    try (y * y).sum().backward()
    #expect(seen == [6, 12])
    #expect(y.grad!.toArray() == [12, 24])
    #expect(x.grad!.toArray() == [37, 73])
  }

  @Test func hookHandleRemoves() throws {
    let x = try Tensor(1.0, requiresGrad: true)
    let handle = try x.registerHook { $0 * 10 }
    try (x * 2).backward()
    #expect(x.grad?.item() == 20)
    handle.remove()
    x.grad = nil
    try (x * 2).backward()
    #expect(x.grad?.item() == 2)
  }

  @Test func detachSharesStorageAndVersion() throws {
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let d = x.detach()
    #expect(!d.requiresGrad)
    try withNoGrad { try d.select(0, 0).fill(10) }
    #expect(x.toArray() == [10, 2, 3])
    #expect(x.storage.version == d.storage.version && x.storage.version == 1)
  }

  @Test func dataAssignmentKeepsTheLeaf() throws {
    let w = try Tensor(5.0, requiresGrad: true)
    try (w ** 2).backward()
    w.data = w.data - 0.4 * w.grad!
    #expect(w.isLeaf && w.requiresGrad)
    #expect(abs(w.item() - 1.0) < 1e-6)
  }

  @Test func higherOrderThroughAutogradGrad() throws {
    let x = try Tensor(2.0, dtype: .float64, requiresGrad: true)
    let y = x.exp() * x ** 3
    let g1 = try grad(of: y, withRespectTo: x, createGraph: true)
    let g2 = try grad(of: g1, withRespectTo: x, createGraph: true)
    let g3 = try grad(of: g2, withRespectTo: x)
    // d^3/dx^3 (x^3 e^x) = e^x (x^3 + 9x^2 + 18x + 6) at 2 = e^2 * 86
    #expect(abs(g3.item() - 86 * 7.38905609893065) < 1e-9)
  }

  @Test func backwardWithCreateGraphAccumulatesGraph() throws {
    let x = try Tensor(3.0, dtype: .float64, requiresGrad: true)
    try (x ** 3).backward(createGraph: true)
    let g = x.grad!
    #expect(g.requiresGrad)
    x.grad = nil
    try g.backward()
    #expect(x.grad?.item() == 18)
  }

  @Test func noGradWrapperLikeTheDecorator() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    let f: (Tensor) throws -> Tensor = noGrad { (t: Tensor) in t * 2 }
    #expect(try !f(x).requiresGrad)
    #expect(withGradEnabled { withNoGrad { withGradEnabled { (x * 2).requiresGrad } } })
  }

  @Test func gradModeIsPerThread() async throws {
    let x = try Tensor(2.0, requiresGrad: true)
    let otherThreadSawGrad: Bool = withNoGrad {
      let box = ResultBox()
      let t = Thread {
        box.value = GradMode.isEnabled
        box.done = true
      }
      t.start()
      while !box.done { usleep(100) }
      return box.value
    }
    #expect(otherThreadSawGrad)
    let insideAsync = await withNoGrad {
      await Task.yield()
      return (x * 2).requiresGrad
    }
    #expect(!insideAsync)
  }

  /// Runs in a child process (an exit test) so that tests running in parallel cannot disturb the
  /// process-wide count of live storages.
  @Test func longChainBackpropagatesAndFreesWithoutRecursion() async throws {
    await #expect(processExitsWith: .success) {
      let before = Storage.liveCount
      do {
        let x = try Tensor(1.0, requiresGrad: true)
        var t = x
        for _ in 0..<100_000 { t = t * 1.0 + 0.0 }
        try t.backward()
        precondition(x.grad?.item() == 1, "wrong gradient")
        // a graph that was never run is torn down when its last tensor goes away
        var u = x
        for _ in 0..<100_000 { u = u.exp().log() }
        _ = u
      }
      precondition(Storage.liveCount == before, "storages leaked: \(Storage.liveCount - before)")
    }
  }

  @Test func trainingLoopKeepsLiveStoragesFlat() async throws {
    await #expect(processExitsWith: .success) {
      let w = try Tensor([[0.5, -0.2], [0.1, 0.3]], requiresGrad: true)
      let x = Tensor([[1.0, 2.0], [3.0, 4.0]])
      func step() throws {
        let y = ((x * w).sum(dim: [1]) - 1).pow(2).mean()
        try y.backward()
        try withNoGrad { try w.subInPlace(w.grad! * 0.01) }
        w.grad = nil
      }
      for _ in 0..<100 { try step() }
      let baseline = Storage.liveCount
      for _ in 0..<10_000 { try step() }
      precondition(
        Storage.liveCount == baseline, "live storages grew by \(Storage.liveCount - baseline)")
    }
  }
}

final class ResultBox: @unchecked Sendable {
  var value = false
  var done: Bool {
    get { lock.withLock { _done } }
    set { lock.withLock { _done = newValue } }
  }
  private var _done = false
  private let lock = NSLock()
  init() {}
}

@Suite struct CreateGraphWarningTests {
  @Test("backward(createGraph: true) warns once about the leaf-gradient cycle; grad(...) does not")
  func warnsOnceAsPyTorch() async {
    let backward = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let x = try! Tensor([1.0, 2.0], requiresGrad: true)
      try! (x * x).sum().backward(createGraph: true)
      try! (x * 3).sum().backward(createGraph: true)
      x.grad = nil
    }
    let text = stderrText(backward)
    #expect(
      text.contains(
        "warning: Using backward() with create_graph=True will create a reference cycle between "
          + "the parameter and its gradient which can cause a memory leak. We recommend using "
          + "autograd.grad when creating the graph to avoid this."))
    #expect(text.components(separatedBy: "reference cycle").count == 2, "warned once: \(text)")

    let gradOnly = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let x = try! Tensor([1.0, 2.0], requiresGrad: true)
      let g = try! grad(of: (x * x).sum(), withRespectTo: x, createGraph: true)
      try! g.sum().backward()
    }
    #expect(stderrText(gradOnly).isEmpty)
  }
}
