import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Splits loops across cores when the work is large enough to pay for the hand-off.
///
/// Performance note: a closure handed to another thread is compiled once, separately from its
/// call site, so whatever it *captures* is opaque inside it. Kernels therefore pass their
/// pointers and sizes through `context:` and hand
/// ``forRange(_:costPerItem:threaded:context:_:)`` a body that captures only the (capture-free)
/// element function: the optimizer then specialises the body for that function and inlines it,
/// and the loops vectorise on every thread.
public enum Parallel {
  /// Number of worker threads kernels may use (the machine's active cores, or `EMBER_NUM_THREADS`).
  public static let threadCount: Int = {
    if let s = getenv("EMBER_NUM_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
    return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
  }()

  /// Work (elements times `costPerItem`) below which a loop runs on the calling thread; also the
  /// least work per chunk. Measured on a 2-core Zen 5 with libdispatch's `concurrentPerform`,
  /// where handing a chunk to a second thread cost about 10 us: a cheap op (`a + b`, ~0.15 ns
  /// per element) gained from two threads only from about 512K elements. Not re-measured since
  /// the spinning ``WorkerPool`` replaced it (its hand-off is far cheaper while a worker spins),
  /// so smaller ops may now gain from two threads too.
  public static let grainSize = 262_144

  /// Chunks handed out per thread: more than one, so that a thread the OS does not schedule
  /// promptly (a busy machine) delays only a small share of the work; the others take the rest.
  @usableFromInline static let chunksPerThread = 4

  /// How many chunks to split `count` items into (1 means: run on the calling thread).
  @inlinable
  static func chunkCount(_ count: Int, costPerItem: Int) -> Int {
    guard threadCount > 1, count > 1 else { return 1 }
    let work = count &* max(costPerItem, 1)
    let byGrain = work / grainSize
    if byGrain <= 1 { return 1 }
    return min(count, byGrain, threadCount &* chunksPerThread)
  }

  /// Runs `body` over `0..<count` in contiguous chunks, in parallel when `count * costPerItem`
  /// is at least twice the grain size.
  @inlinable
  public static func forRange(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let n = chunkCount(count, costPerItem: costPerItem)
    if n <= 1 {
      if count > 0 { body(0..<count) }
      return
    }
    runChunks(n, of: count, body)
  }

  /// Runs `body(context, range)` over `0..<count` in contiguous chunks, in parallel when
  /// `count * costPerItem` is at least twice the grain size. Pass the loop's pointers and sizes in
  /// `context` (not as captures) so the body can be specialised and inlined on every thread.
  ///
  /// `threaded: false` keeps the loop on the calling thread (for bodies that could not be
  /// specialised, where threads would call the element function indirectly).
  @inlinable
  static func forRange<C>(
    _ count: Int, costPerItem: Int = 1, threaded: Bool = true, context: C,
    _ body: (C, Range<Int>) -> Void
  ) {
    let n = threaded ? chunkCount(count, costPerItem: costPerItem) : 1
    if n <= 1 {
      if count > 0 { body(context, 0..<count) }
      return
    }
    runChunks(n, of: count) { r in body(context, r) }
  }

  /// Runs `body` over `0..<count` cut into `n` contiguous chunks on the worker pool, or through
  /// `concurrentPerform` when the pool is busy (a nested call, or another thread's kernel).
  @inlinable
  static func runChunks(_ n: Int, of count: Int, _ body: (Range<Int>) -> Void) {
    let ran = WorkerPool.shared.run(n) { i in
      let lo = count * i / n
      let hi = count * (i + 1) / n
      if lo < hi { body(lo..<hi) }
    }
    if ran { return }
    withoutActuallyEscaping(body) { body in
      let box = UncheckedSendable(body)
      DispatchQueue.concurrentPerform(iterations: n) { i in
        let lo = count * i / n
        let hi = count * (i + 1) / n
        if lo < hi { box.value(lo..<hi) }
      }
    }
  }
}

/// Carries a value into a `@Sendable` closure when the caller guarantees the accesses are
/// disjoint (kernels write non-overlapping ranges).
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
  @usableFromInline let value: T
  @usableFromInline init(_ value: T) { self.value = value }
}
