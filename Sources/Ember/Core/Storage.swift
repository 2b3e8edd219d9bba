import Synchronization

/// A flat, 64-byte aligned buffer of elements of one dtype, shared by a tensor and all its views.
///
/// The storage also carries the version counter that autograd uses to detect in-place writes to
/// tensors saved for backward: every in-place op bumps it, and views and `detach()`ed tensors see
/// the same counter because they share the storage.
public final class Storage {
  public let dtype: DType
  /// Number of elements the buffer holds.
  public let count: Int
  @usableFromInline let data: UnsafeMutableRawPointer
  /// Bumped by every in-place write through any tensor that shares this storage.
  public internal(set) var version: Int = 0

  private static let live = Atomic<Int>(0)

  /// Storages currently alive in the process (used by tests to check that memory stays flat).
  public static var liveCount: Int { live.load(ordering: .relaxed) }

  init(count: Int, dtype: DType) {
    precondition(count >= 0, "Storage: negative element count \(count)")
    self.count = count
    self.dtype = dtype
    self.data = UnsafeMutableRawPointer.allocate(
      byteCount: max(count * dtype.byteSize, 1), alignment: 64)
    Storage.live.wrappingAdd(1, ordering: .relaxed)
  }

  /// A storage whose bytes are all zero.
  static func zeroed(count: Int, dtype: DType) -> Storage {
    let s = Storage(count: count, dtype: dtype)
    s.data.initializeMemory(as: UInt8.self, repeating: 0, count: max(count * dtype.byteSize, 1))
    return s
  }

  deinit {
    data.deallocate()
    Storage.live.wrappingSubtract(1, ordering: .relaxed)
  }

  @inlinable func pointer<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
    data.assumingMemoryBound(to: T.self)
  }

  func bumpVersion() { version &+= 1 }
}
