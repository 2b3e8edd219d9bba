import EmberNN
import Foundation
import Synchronization
import Testing

/// Modules used from several threads at once. The threads are real threads released together by
/// a barrier (Tests/Support/Threads.swift), so they overlap even on two cores.
@Suite struct ModuleConcurrencyTests {
  /// An MNIST-shaped MLP with a LayerNorm, weights from its own generator.
  static func model(seed: UInt64) -> Sequential {
    let m = Sequential(
      Linear(784, 128), LayerNorm([128]), ReLU(), Linear(128, 64), Tanh(), Linear(64, 10))
    let g = Generator(seed: seed)
    withNoGrad {
      for p in m.parameters() { _ = try! p.copy(from: Tensor.randn(p.shape, generator: g) * 0.05) }
    }
    return m
  }

  static func input(_ k: Int) -> Tensor {
    Tensor.rand([16, 784], generator: Generator(seed: 100 + UInt64(k)))
  }

  @Test func sharedModelInferenceOnEightThreadsEqualsSerial() {
    let net = SharedBox(Self.model(seed: 1).eval())
    func infer(_ k: Int) -> [Float] {
      withNoGrad {
        var out: [Float] = []
        for pass in 0..<10 {
          let y = net.value(Self.input(k + 8 * pass)).softmax(dim: 1)
          precondition(!y.requiresGrad)
          out += y.scalars(as: Float.self)
        }
        return out
      }
    }
    let serial = (0..<8).map(infer)
    let run = runOnThreads(8, infer)
    #expect(run.maxConcurrent >= 2, "the threads did not overlap")
    for k in 0..<8 {
      // bit for bit
      #expect(run.results[k].map(\.bitPattern) == serial[k].map(\.bitPattern), "thread \(k)")
    }
    #expect(net.value.parameters().allSatisfy { $0.grad == nil })
  }

  /// Trains `net` for `steps` plain SGD steps on fixed data and returns the losses.
  static func train(_ net: Sequential, steps: Int) -> [Float] {
    let x = Self.input(0)
    let target = Tensor.randint(high: 10, [16], generator: Generator(seed: 5))
    var losses: [Float] = []
    for _ in 0..<steps {
      let loss = F.crossEntropy(net(x), target)
      try! loss.backward()
      withNoGrad {
        for p in net.parameters() {
          _ = try! p.subInPlace(p.grad! * 0.05)
          p.grad = nil
        }
      }
      losses.append(loss.scalars(as: Float.self)[0])
    }
    return losses
  }

  @Test func trainingOneModelWhileAnotherThreadRunsInference() {
    let steps = 30
    let serialLosses = Self.train(Self.model(seed: 2), steps: steps)
    let inferenceNet = Self.model(seed: 3).eval()
    let serialInference = withNoGrad { inferenceNet(Self.input(9)).scalars(as: Float.self) }
    let trained = SharedBox(Self.model(seed: 2))
    let other = SharedBox(inferenceNet)
    let flag = DoneFlag()
    let run = runOnThreads(2) { k -> (losses: [Float], passes: Int, mismatches: Int) in
      if k == 0 {
        let losses = Self.train(trained.value, steps: steps)
        flag.done.store(true, ordering: .releasing)
        return (losses, 0, 0)
      }
      // inference under no-grad until training ends (at least 5 passes)
      var passes = 0
      var mismatches = 0
      while passes < 5 || !flag.done.load(ordering: .acquiring) {
        let y = withNoGrad { other.value(Self.input(9)) }
        if y.requiresGrad || y.scalars(as: Float.self) != serialInference { mismatches += 1 }
        passes += 1
      }
      return ([], passes, mismatches)
    }
    #expect(run.maxConcurrent == 2, "the threads did not overlap")
    #expect(run.results[0].losses == serialLosses)
    #expect(run.results[0].losses.last! < run.results[0].losses.first!)
    #expect(run.results[1].mismatches == 0)
    #expect(other.value.parameters().allSatisfy { $0.grad == nil })
  }

  @Test func trainingTaskBesideAnInferenceTask() async {
    // the same in two tasks: the async withNoGrad binds a task-local mode, which must not leak
    // into the training task even when both run on the cooperative pool's threads
    let steps = 20
    let serialLosses = Self.train(Self.model(seed: 4), steps: steps)
    let inferenceNet = Self.model(seed: 5).eval()
    let serialInference = withNoGrad { inferenceNet(Self.input(11)).scalars(as: Float.self) }
    let trained = SharedBox(Self.model(seed: 4))
    let other = SharedBox(inferenceNet)
    async let losses = Task.detached { Self.train(trained.value, steps: steps) }.value
    async let mismatches = Task.detached {
      await withNoGrad {
        var bad = 0
        for _ in 0..<20 {
          await Task.yield()
          let y = other.value(Self.input(11))
          if y.requiresGrad || y.scalars(as: Float.self) != serialInference { bad += 1 }
        }
        return bad
      }
    }.value
    #expect(await losses == serialLosses)
    #expect(await mismatches == 0)
  }
}

/// Set by one thread when its work ends, read by another.
final class DoneFlag: Sendable {
  let done = Atomic<Bool>(false)
}
