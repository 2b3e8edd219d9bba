import Synchronization

/// The number of graph nodes alive in the process, for tests that check a training loop frees
/// every graph it builds (as ``Storage/liveCount`` does for buffers).
///
/// Node's initializer and deinitializer each make one relaxed atomic add here: on an uncontended
/// cache line that costs a few nanoseconds against the ~1 us the cheapest op spends recording.
extension Node {
  static let live = Atomic<Int>(0)

  /// Graph nodes (including `AccumulateGrad`s) currently alive in the process.
  public static var liveCount: Int { live.load(ordering: .relaxed) }

  /// Nodes created since the process started (each op that records history makes one): a loop
  /// under `withNoGrad` leaves it unchanged.
  public static var createdCount: Int { counter.load(ordering: .relaxed) }
}
