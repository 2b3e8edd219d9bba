import CEmberKernels

/// The number of graph nodes alive in the process, for tests that check a training loop frees
/// every graph it builds (as ``Storage/liveCount`` does for buffers).
///
/// Counted per thread (``ObjectCounts``): a node's birth and death are a plain add to its thread's
/// counters, not a locked instruction on a shared one.
extension Node {
  /// Graph nodes (including `AccumulateGrad`s) currently alive in the process.
  public static var liveCount: Int { ObjectCounts.total(.liveNodes) }

  /// Nodes created since the process started (each op that records history makes one): a loop
  /// under `withNoGrad` leaves it unchanged.
  public static var createdCount: Int { ObjectCounts.total(.createdNodes) }

  /// A new node's sequence number, which orders ready nodes in backward (latest first). Per
  /// thread, as PyTorch's `sequence_nr` is: nodes made on one thread are numbered in the order
  /// they were made.
  @inline(__always)
  static func nextSequenceNumber() -> Int {
    Int(ember_count_node_made())
  }
}
