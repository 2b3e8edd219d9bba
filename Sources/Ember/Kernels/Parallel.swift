import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Splits loops across cores when the work is large enough to pay for the hand-off.
public enum Parallel {
  /// Number of worker threads kernels may use (the machine's active cores, or `EMBER_NUM_THREADS`).
  public static let threadCount: Int = {
    if let s = getenv("EMBER_NUM_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
    return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
  }()

  /// Elements below which a loop runs on the calling thread.
  public static let grainSize = 32_768

  /// Runs `body` over `0..<count` in contiguous chunks, in parallel when `count * costPerItem`
  /// exceeds the grain size.
  @inlinable
  public static func forRange(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let work = count &* max(costPerItem, 1)
    let chunks = min(threadCount, work / grainSize)
    if chunks <= 1 || count < 2 {
      if count > 0 { body(0..<count) }
      return
    }
    let n = min(chunks, count)
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
