import Ember
import Foundation
import Testing

/// Independent graphs on several threads at once: no shared mutable state may leak between them
/// (grad mode is per thread and per task; node numbering, buffer cache and generators are
/// synchronized). The threads are real threads released together by a barrier
/// (Tests/Support/Threads.swift), so their bodies overlap even on a two-core machine.
@Suite struct ConcurrencyTests {
  @Test func independentGraphsOnManyThreads() throws {
    let shared = SharedBox(Tensor.randn([64, 32], generator: Generator(seed: 3)))
    func work(_ k: Int) -> (Double, [Double]) {
      let w = shared.value
      let x = try! Tensor.randn([16, 64], generator: Generator(seed: UInt64(k))).setRequiresGrad()
      var total = 0.0
      for _ in 0..<20 {
        let loss = x.matmul(w).relu().pow(2).mean()
        try! loss.backward()
        let inference = withNoGrad { x.matmul(w).sigmoid().sum() }
        precondition(!inference.requiresGrad)
        total += loss.item() + inference.item()
      }
      return (total, x.grad!.toArray())
    }
    let serial = (0..<8).map(work)
    let run = runOnThreads(8, work)
    #expect(run.maxConcurrent >= 2, "the threads did not overlap")
    for k in 0..<8 {
      #expect(run.results[k].0 == serial[k].0)
      #expect(run.results[k].1 == serial[k].1)
    }
  }

  @Test func gradModeIsPerThreadWhileThreadsOverlap() throws {
    // even threads record history, odd ones run under no-grad; each checks every op's result
    // while the others flip their own mode, and a barrier in the middle keeps them side by side
    let barrier = Barrier(8)
    let run = runOnThreads(8) { k -> Int in
      let x = try! Tensor([1.0, 2.0], requiresGrad: true)
      var wrong = 0
      for round in 0..<200 {
        if round == 100 { barrier.wait() }
        if k % 2 == 0 {
          if !(x * 2).requiresGrad { wrong += 1 }
        } else {
          withNoGrad { if (x * 2).requiresGrad { wrong += 1 } }
          setGradEnabled(false)
          if (x + 1).requiresGrad { wrong += 1 }
          setGradEnabled(true)
        }
      }
      return wrong
    }
    #expect(run.maxConcurrent >= 2, "the threads did not overlap")
    #expect(run.results == Array(repeating: 0, count: 8))
  }

  @Test func gradModeIsPerTask() async throws {
    // tasks on the cooperative pool share its threads; the async withNoGrad binds a task-local
    // mode that must follow each task across suspension points and never leak to another
    let wrong = await withTaskGroup(of: Int.self) { group in
      for k in 0..<16 {
        group.addTask {
          let x = try! Tensor([1.0], requiresGrad: true)
          var wrong = 0
          if k % 2 == 0 {
            wrong += await withNoGrad {
              var w = 0
              for _ in 0..<50 {
                await Task.yield()
                if (x * 2).requiresGrad || GradMode.isEnabled { w += 1 }
              }
              return w
            }
          } else {
            for _ in 0..<50 {
              await Task.yield()
              if !(x * 2).requiresGrad || !GradMode.isEnabled { wrong += 1 }
            }
          }
          return wrong
        }
      }
      return await group.reduce(0, +)
    }
    #expect(wrong == 0)
    #expect(GradMode.isEnabled)
  }

  @Test func noGradOnOneThreadDoesNotAffectAnother() throws {
    let run = runOnThreads(2) { k -> Bool in
      let x = try! Tensor([1.0, 2.0], requiresGrad: true)
      if k == 0 {
        withNoGrad { for _ in 0..<1000 { _ = x * 2 } }
        return true
      }
      var all = true
      for _ in 0..<1000 where !(x * 2).requiresGrad { all = false }
      return all
    }
    #expect(run.results[1])
  }
}
