import CEmberKernels
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A flat buffer of elements of one dtype, shared by a tensor and all its views; 64-byte aligned
/// (16-byte aligned when smaller than 64 bytes).
///
/// The storage also carries the version counter that autograd uses to detect in-place writes to
/// tensors saved for backward: every in-place op bumps it, and views and `detach()`ed tensors see
/// the same counter because they share the storage. `.data` gets a storage that aliases the same
/// memory with a counter of its own (``init(versionAliasOf:)``), as PyTorch's `.data` is
/// invisible to autograd.
public final class Storage {
  public let dtype: DType
  /// Number of elements the buffer holds.
  public let count: Int
  @usableFromInline let data: UnsafeMutableRawPointer
  /// Bumped by every in-place write through any tensor that shares this storage.
  @exclusivity(unchecked) public internal(set) var version: Int = 0
  /// For an alias: the storage that owns the memory (kept alive by this reference). Typed
  /// `AnyObject`: a stored `Storage?` made the compiler tear storages down as a linked list (a
  /// loop of retains, releases and a uniqueness check in every `deinit`: ember-bench scalar,
  /// 8 storages per iteration, about 45 instructions each).
  private let owner: AnyObject?

  /// Storages currently alive in the process (used by tests to check that memory stays flat).
  /// Counted per thread (``ObjectCounts``), so making a storage takes no locked instruction.
  public static var liveCount: Int { ObjectCounts.total(.liveStorages) }

  init(count: Int, dtype: DType) {
    precondition(count >= 0, "Storage: negative element count \(count)")
    self.count = count
    self.dtype = dtype
    self.owner = nil
    let bytes = max(count * dtype.byteSize, 1)
    if bytes >= BufferCache.minimumBytes {
      self.data = BufferCache.allocate(bytes)
    } else {
      // small buffers (0-d tensors, scalars of the autograd loop) take plain malloc: an aligned
      // allocation costs several times more and buys nothing for fewer than 64 bytes. `malloc`
      // itself, not `allocate(byteCount:alignment: 16)`, which goes through posix_memalign
      // (ember-bench scalar under callgrind: 8.4 storages per iteration, ~40 instructions each)
      if bytes < 64 {
        self.data = malloc(bytes)!  // 16-byte aligned on 64-bit glibc and Darwin
      } else {
        self.data = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
      }
    }
    ObjectCounts.add(.liveStorages, 1)
  }

  /// A storage over the same memory as `other` with a fresh version counter (for `.data`).
  init(versionAliasOf other: Storage) {
    let root = other.owner.map { unsafeDowncast($0, to: Storage.self) } ?? other
    self.count = root.count
    self.dtype = root.dtype
    self.data = root.data
    self.owner = root
    ObjectCounts.add(.liveStorages, 1)
  }

  /// A storage whose bytes are all zero.
  static func zeroed(count: Int, dtype: DType) -> Storage {
    let s = Storage(count: count, dtype: dtype)
    s.data.initializeMemory(as: UInt8.self, repeating: 0, count: max(count * dtype.byteSize, 1))
    return s
  }

  deinit {
    ObjectCounts.add(.liveStorages, -1)
    guard owner == nil else { return }
    let bytes = max(count * dtype.byteSize, 1)
    if bytes >= BufferCache.minimumBytes {
      BufferCache.release(data, bytes)
    } else if bytes < 64 {
      free(data)
    } else {
      data.deallocate()
    }
  }

  @inlinable func pointer<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
    data.assumingMemoryBound(to: T.self)
  }

  func bumpVersion() { version &+= 1 }
}

/// Keeps a few recently freed large buffers for reuse.
///
/// glibc serves big allocations with mmap (or trims the heap after freeing them), so a loop that
/// makes a fresh 4 MB result per call can pay ~1000 page faults per call, several times the cost
/// of the arithmetic, and whether it does depends on heap layout (run-to-run swings of 10x were
/// measured on 1M-element ops). Reusing freed buffers of the same size avoids that, as PyTorch's
/// caching allocators do. At most `maximumBytes` stay cached; the rest go back to the system.
enum BufferCache {
  /// Buffers smaller than this use the system allocator directly.
  static let minimumBytes = 1 << 20
  /// Upper bound on the bytes held in the cache.
  static let maximumBytes = 256 << 20
  /// Sizes are rounded up to this granularity so nearby sizes share buffers.
  static let granularity = 64 << 10

  private struct State: ~Copyable {
    /// Free buffers by rounded size, as addresses (raw pointers are not Sendable).
    var free: [Int: [UInt]] = [:]
    var cachedBytes = 0
  }

  private static let state = Mutex(State())

  private static func rounded(_ bytes: Int) -> Int {
    (bytes + granularity - 1) / granularity * granularity
  }

  static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
    let size = rounded(bytes)
    let cached = state.withLock { s -> UInt? in
      guard let p = s.free[size]?.popLast() else { return nil }
      s.cachedBytes -= size
      return p
    }
    if let cached, let p = UnsafeMutableRawPointer(bitPattern: cached) { return p }
    return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
  }

  static func release(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
    let size = rounded(bytes)
    let kept = state.withLock { s -> Bool in
      guard s.cachedBytes + size <= maximumBytes else { return false }
      s.free[size, default: []].append(UInt(bitPattern: p))
      s.cachedBytes += size
      return true
    }
    if !kept { p.deallocate() }
  }
}

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
