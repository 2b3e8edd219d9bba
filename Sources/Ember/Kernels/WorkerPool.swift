import CEmberKernels
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The threads behind ``Parallel``: `threadCount - 1` workers that spin for a while after each
/// job before they sleep, so the next kernel's chunks start at once, as OpenMP's workers do for
/// PyTorch. libdispatch's `concurrentPerform` woke its worker for every call, which cost more
/// than a 1M-element `a + b` gained from the second core.
///
/// Measured (2-core Zen 4, `ember-bench elementwise`, Ember's geometric mean of its 10 kernels;
/// same binary otherwise): with `concurrentPerform`, 2 threads 0.186 ms vs 1 thread 0.201 ms
/// (`add` 0.167 vs 0.145); see BENCHMARKS.md for the pool's figures.
///
/// One job at a time: a call made while the pool is busy (from a chunk, or from another thread
/// running a kernel) returns false and the caller uses `concurrentPerform` as before.
///
/// How a job runs: the caller writes the body and the count of unfinished chunks, then
/// publishes a ticket (generation, chunk count, next chunk). Caller and workers claim chunks
/// by compare-and-swap on the ticket; a claim succeeds only for the current generation, so a
/// worker that wakes late cannot touch a finished job. The caller waits until every claimed
/// chunk is done before it clears the body and returns.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
  @usableFromInline static let shared = WorkerPool(workers: Parallel.threadCount - 1)

  /// How long an idle worker spins before it sleeps (a training step issues its kernels
  /// back to back, well within this).
  static let spinNanoseconds: UInt64 = 200_000

  let workers: Int
  /// generation << 32 | chunk count << 16 | next chunk to claim
  private let ticket = Atomic<UInt64>(0)
  /// chunks claimed or not that have not finished
  private let remaining = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  private let sleepers = Atomic<Int>(0)
  /// the current job's body; written only while no chunk of another job can run
  private var body: ((Int) -> Void)?
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let wake: UnsafeMutablePointer<pthread_cond_t>

  private init(workers: Int) {
    self.workers = max(0, workers)
    mutex = .allocate(capacity: 1)
    wake = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(wake, nil)
    for _ in 0..<self.workers { startWorker() }
  }

  private func startWorker() {
    let context = Unmanaged.passRetained(self).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(
      &thread, nil,
      { context in
        let pool = Unmanaged<WorkerPool>.fromOpaque(context!).takeRetainedValue()
        pool.workerLoop()
        return nil
      }, context)
    precondition(started == 0, "Parallel: could not start a worker thread (error \(started))")
    pthread_detach(thread)
  }

  /// Runs `body(0)`, ..., `body(count - 1)` on the caller and the workers; false (nothing run)
  /// when the pool is busy or has no workers.
  @usableFromInline
  func run(_ count: Int, _ body: (Int) -> Void) -> Bool {
    guard workers > 0, count > 0, count < 1 << 16,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else { return false }
    withoutActuallyEscaping(body) { body in
      self.body = body
      remaining.store(count, ordering: .relaxed)
      let generation = (ticket.load(ordering: .relaxed) >> 32 &+ 1) & 0xffff_ffff
      ticket.store(generation << 32 | UInt64(count) << 16, ordering: .sequentiallyConsistent)
      if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
      }
      runChunks(generation)
      while remaining.load(ordering: .acquiring) > 0 { ember_cpu_relax() }
      self.body = nil
    }
    busy.store(false, ordering: .releasing)
    return true
  }

  /// Claims and runs chunks of job `generation` until none is left.
  private func runChunks(_ generation: UInt64) {
    while true {
      let t = ticket.load(ordering: .acquiring)
      guard t >> 32 == generation else { return }
      let next = Int(t & 0xffff)
      guard next < Int(t >> 16 & 0xffff) else { return }
      guard
        ticket.compareExchange(expected: t, desired: t &+ 1, ordering: .acquiringAndReleasing)
          .exchanged
      else { continue }
      body!(next)
      remaining.subtract(1, ordering: .releasing)
    }
  }

  private func workerLoop() {
    var seen: UInt64 = 0
    while true {
      var generation = ticket.load(ordering: .acquiring) >> 32
      if generation == seen {
        let start = Self.now()
        var spins = 0
        while generation == seen {
          ember_cpu_relax()
          spins &+= 1
          if spins & 255 == 0, Self.now() &- start > Self.spinNanoseconds {
            sleep(until: seen)
          }
          generation = ticket.load(ordering: .acquiring) >> 32
        }
      }
      seen = generation
      runChunks(generation)
    }
  }

  /// Sleeps until a job after generation `seen` is published.
  private func sleep(until seen: UInt64) {
    pthread_mutex_lock(mutex)
    sleepers.add(1, ordering: .sequentiallyConsistent)
    while ticket.load(ordering: .sequentiallyConsistent) >> 32 == seen {
      pthread_cond_wait(wake, mutex)
    }
    sleepers.subtract(1, ordering: .sequentiallyConsistent)
    pthread_mutex_unlock(mutex)
  }

  private static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }
}
