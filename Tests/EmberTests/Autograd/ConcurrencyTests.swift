import Dispatch
import Ember
import Testing

/// Independent graphs on several threads at once: no shared mutable state may leak between them
/// (grad mode is per thread; node numbering, buffer cache and generators are synchronized).
@Suite struct ConcurrencyTests {
  @Test func independentGraphsOnManyThreads() throws {
    // Weights shared read-only by every thread (Tensor is not Sendable: the box states the intent).
    let shared = UncheckedBox(Tensor.randn([64, 32], generator: Generator(seed: 3)))
    @Sendable func work(_ k: Int) throws -> (Double, [Double]) {
      let w = shared.value
      let x = try Tensor.randn([16, 64], generator: Generator(seed: UInt64(k))).setRequiresGrad()
      let loss = x.matmul(w).relu().pow(2).mean()
      try loss.backward()
      let inference = withNoGrad { x.matmul(w).sigmoid().sum() }
      precondition(!inference.requiresGrad)
      return (loss.item() + inference.item(), x.grad!.toArray())
    }
    let serial = try (0..<8).map(work)
    let results = ResultsBox(count: 8)
    DispatchQueue.concurrentPerform(iterations: 8) { k in
      results.set(k, try? work(k))
    }
    for k in 0..<8 {
      let r = try #require(results.get(k))
      #expect(r.0 == serial[k].0)
      #expect(r.1 == serial[k].1)
    }
  }

  @Test func noGradOnOneThreadDoesNotAffectAnother() throws {
    let flags = ResultsBox(count: 2)
    DispatchQueue.concurrentPerform(iterations: 2) { k in
      let x = try! Tensor([1.0, 2.0], requiresGrad: true)
      if k == 0 {
        withNoGrad { for _ in 0..<1000 { _ = x * 2 } }
      } else {
        var all = true
        for _ in 0..<1000 where !(x * 2).requiresGrad { all = false }
        flags.set(1, (all ? 1 : 0, []))
      }
    }
    #expect(flags.get(1)?.0 == 1)
  }
}

/// Results written by concurrent workers, each to its own index.
final class ResultsBox: @unchecked Sendable {
  private var values: [(Double, [Double])?]
  private let lock = NSLockLike()
  init(count: Int) { values = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ v: (Double, [Double])?) { lock.withLock { values[i] = v } }
  func get(_ i: Int) -> (Double, [Double])? { lock.withLock { values[i] } }
}

/// Hands a value to concurrent workers that only read it.
final class UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

/// A minimal lock for test bookkeeping.
final class NSLockLike: @unchecked Sendable {
  private let queue = DispatchQueue(label: "ember.tests.lock")
  func withLock<R>(_ body: () -> R) -> R { queue.sync(execute: body) }
}
