import CEmberKernels

/// Process-wide object counts kept per thread (`ember_count_add` in CEmberKernels): a thread adds
/// to its own counters with plain loads and stores, and ``total(_:)`` sums every thread's. Storage
/// and node lifetimes are counted here; a shared atomic counter cost a locked add at each birth
/// and death (ember-bench scalar: 31 per iteration, 6% of its time, measured by removing them).
enum ObjectCounts {
  enum Kind: Int32 {
    case liveStorages = 0
    case liveNodes = 1
    /// Graph nodes the thread has made, which is also each new node's sequence number.
    case createdNodes = 2
  }

  /// Adds `delta` to this thread's count of `kind`; returns the count before.
  @inline(__always) @discardableResult
  static func add(_ kind: Kind, _ delta: Int) -> Int {
    Int(ember_count_add(kind.rawValue, Int64(delta)))
  }

  /// The count of `kind` summed over all threads (including threads that have exited).
  static func total(_ kind: Kind) -> Int { Int(ember_count_total(kind.rawValue)) }
}
