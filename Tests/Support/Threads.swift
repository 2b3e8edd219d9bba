// Thread helpers for the concurrency tests of every test target: real threads (not a pool that
// may run the bodies one after another on two cores) released together by a barrier.
import Foundation
import Synchronization

/// A reusable barrier: `wait()` returns once `count` threads are waiting.
public final class Barrier: @unchecked Sendable {
  private let condition = NSCondition()
  private let count: Int
  // guarded by `condition`
  private var waiting = 0
  private var generation = 0

  public init(_ count: Int) {
    precondition(count > 0)
    self.count = count
  }

  public func wait() {
    condition.lock()
    defer { condition.unlock() }
    let mine = generation
    waiting += 1
    if waiting == count {
      waiting = 0
      generation += 1
      condition.broadcast()
    } else {
      while generation == mine { condition.wait() }
    }
  }
}

/// Hands a value to threads that only read it, or that each touch their own part of it (tensors
/// and modules are not Sendable; the box states the intent).
public final class SharedBox<T>: @unchecked Sendable {
  public let value: T
  public init(_ value: T) { self.value = value }
}

/// What ``runOnThreads(_:_:)`` returns: each thread's result, by index, and how many threads
/// were inside their bodies at once at most.
public struct ThreadRun<R> {
  public let results: [R]
  public let maxConcurrent: Int
}

/// Runs `body(k)` for `k` in `0..<count`, each on a thread of its own; all threads wait at a
/// barrier before starting, so the bodies overlap. Returns when every thread has finished.
public func runOnThreads<R>(_ count: Int, _ body: @escaping (Int) -> R) -> ThreadRun<R> {
  let state = ThreadRunState(count, body)
  for k in 0..<count {
    let thread = Thread {
      state.barrier.wait()
      let now = state.inside.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
      _ = state.maxInside.max(now, ordering: .acquiringAndReleasing)
      let r = state.body(k)
      state.inside.wrappingSubtract(1, ordering: .acquiringAndReleasing)
      state.lock.withLock { state.results[k] = r }
      state.done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
  }
  for _ in 0..<count { state.done.wait() }
  return state.lock.withLock {
    ThreadRun(
      results: state.results.map { $0! }, maxConcurrent: state.maxInside.load(ordering: .acquiring))
  }
}

/// The number of threads of this process (entries of `/proc/self/task`; -1 where there is none).
public func processThreadCount() -> Int {
  (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
}

/// The shared bookkeeping of one ``runOnThreads(_:_:)``.
private final class ThreadRunState<R>: @unchecked Sendable {
  let lock = NSLock()
  var results: [R?]
  let inside = Atomic<Int>(0)
  let maxInside = Atomic<Int>(0)
  let done = DispatchSemaphore(value: 0)
  let barrier: Barrier
  let body: (Int) -> R
  init(_ count: Int, _ body: @escaping (Int) -> R) {
    results = Array(repeating: nil, count: count)
    barrier = Barrier(count)
    self.body = body
  }
}
