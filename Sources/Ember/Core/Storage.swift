import Synchronization

/// A flat buffer of elements of one dtype, shared by a tensor and all its views; 64-byte aligned
/// (16-byte aligned when smaller than 64 bytes).
///
/// The storage also carries the version counter that autograd uses to detect in-place writes to
/// tensors saved for backward: every in-place op bumps it, and views and `detach()`ed tensors see
/// the same counter because they share the storage. `.data` gets a storage that aliases the same
/// memory with a counter of its own (``make(versionAliasOf:)``), as PyTorch's `.data` is
/// invisible to autograd.
///
/// A buffer of at most ``inlineBytes`` lives in the storage object itself (a `ManagedBuffer`'s
/// tail): a 0-d tensor is then two heap objects, not three. ember-bench scalar makes 8 such
/// storages per iteration; each was a `malloc` and a `free` besides the object.
public final class Storage: ManagedBuffer<Storage.Header, UInt64> {
  /// What a storage knows about its buffer (the `ManagedBuffer` header; its fields are internal).
  public struct Header {
    let dtype: DType
    let count: Int
    var data: UnsafeMutableRawPointer
    var version: Int
    /// For an alias: the storage that owns the memory (kept alive by this reference). Typed
    /// `AnyObject`: a stored `Storage?` made the compiler tear storages down as a linked list (a
    /// loop of retains, releases and a uniqueness check in every `deinit`: ember-bench scalar,
    /// 8 storages per iteration, about 45 instructions each).
    let owner: AnyObject?
    /// Makes the header 48 bytes, so that an inline buffer (after the 16-byte object header and
    /// this one) is 16-byte aligned, as `malloc`'s small blocks are.
    private let alignmentPadding = 0
  }

  /// Buffers up to this size live inside the storage object.
  static let inlineBytes = 64

  /// Bytes of a buffer of `count` elements (at least 1, so an empty tensor has an address).
  private static func byteCount(_ count: Int, _ dtype: DType) -> Int {
    max(count * dtype.byteSize, 1)
  }

  /// The header, read and written through its address: `ManagedBuffer.header` is a class
  /// property with run-time exclusivity checks (swift_beginAccess on every read: ember-bench
  /// scalar, 28.7k -> 36.5k instructions per iteration when the fields were read through it).
  @inline(__always) var fields: UnsafeMutablePointer<Header> {
    withUnsafeMutablePointerToHeader { $0 }
  }

  public var dtype: DType { fields.pointee.dtype }
  /// Number of elements the buffer holds.
  public var count: Int { fields.pointee.count }
  @usableFromInline var data: UnsafeMutableRawPointer { fields.pointee.data }
  /// Bumped by every in-place write through any tensor that shares this storage.
  public internal(set) var version: Int {
    get { fields.pointee.version }
    set { fields.pointee.version = newValue }
  }

  /// Storages currently alive in the process (used by tests to check that memory stays flat).
  /// Counted per thread (``ObjectCounts``), so making a storage takes no locked instruction.
  public static var liveCount: Int { ObjectCounts.total(.liveStorages) }

  /// A storage of `count` elements, uninitialized.
  static func make(count: Int, dtype: DType) -> Storage {
    precondition(count >= 0, "Storage: negative element count \(count)")
    let bytes = byteCount(count, dtype)
    let inline = bytes <= inlineBytes
    let made = create(minimumCapacity: inline ? (bytes + 7) / 8 : 0) { _ in
      let data: UnsafeMutableRawPointer
      if inline {
        data = UnsafeMutableRawPointer(bitPattern: 16)!  // set to the tail below
      } else if bytes >= BufferCache.minimumBytes {
        data = BufferCache.allocate(bytes)
      } else {
        data = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
      }
      return Header(dtype: dtype, count: count, data: data, version: 0, owner: nil)
    }
    let s = unsafeDowncast(made, to: Storage.self)
    if inline {
      // the tail's address is fixed for the object's lifetime (objects do not move); it follows
      // the 16-byte object header and the 48-byte storage header, so it is 16-byte aligned
      // (checked in debug builds, which the tests run)
      s.fields.pointee.data = s.withUnsafeMutablePointerToElements { UnsafeMutableRawPointer($0) }
      assert(Int(bitPattern: s.fields.pointee.data) % 16 == 0, "Storage: misaligned inline buffer")
    }
    ObjectCounts.add(.liveStorages, 1)
    return s
  }

  /// A storage over the same memory as `other` with a fresh version counter (for `.data`).
  static func make(versionAliasOf other: Storage) -> Storage {
    let root = other.fields.pointee.owner.map { unsafeDowncast($0, to: Storage.self) } ?? other
    let made = create(minimumCapacity: 0) { _ in
      Header(dtype: root.dtype, count: root.count, data: root.data, version: 0, owner: root)
    }
    ObjectCounts.add(.liveStorages, 1)
    return unsafeDowncast(made, to: Storage.self)
  }

  /// A storage whose bytes are all zero.
  static func zeroed(count: Int, dtype: DType) -> Storage {
    let s = make(count: count, dtype: dtype)
    s.data.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount(count, dtype))
    return s
  }

  deinit {
    ObjectCounts.add(.liveStorages, -1)
    // the header (and an alias's owner) is destroyed by ManagedBuffer; an inline buffer is the
    // object's own tail of plain bytes
    let h = fields
    let bytes = Storage.byteCount(h.pointee.count, h.pointee.dtype)
    guard h.pointee.owner == nil, bytes > Storage.inlineBytes else { return }
    if bytes >= BufferCache.minimumBytes {
      BufferCache.release(h.pointee.data, bytes)
    } else {
      h.pointee.data.deallocate()
    }
  }

  @inlinable func pointer<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
    data.assumingMemoryBound(to: T.self)
  }

  func bumpVersion() { fields.pointee.version &+= 1 }
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

  /// The free buffers and their accounting; the cache holds one (tests make their own).
  struct Pool: ~Copyable {
    /// Free buffers by rounded size, as addresses (raw pointers are not Sendable).
    private var free: [Int: [UInt]] = [:]
    private(set) var cachedBytes = 0
    /// Buffers handed out for a smaller request (see ``take(_:)``): their size, by address.
    private var lent: [UInt: Int] = [:]

    init() {}

    /// A free buffer for a request of `size` (rounded) bytes: one of that size, else the
    /// smallest one up to twice as large, else nil. The second rule keeps a run of shrinking
    /// results from holding every freed buffer while it makes new ones: the MNIST MLP's test
    /// pass (10,000 rows: 20.5 MB results of the first layer, then 10.2 MB ones) held 61 MB of
    /// results and cached buffers at its peak, and holds 41 MB with it (`ember-bench mnist`
    /// peak RSS 307.5 -> 291.5 MB).
    mutating func take(_ size: Int) -> UInt? {
      if let p = free[size]?.popLast() {
        cachedBytes -= size
        return p
      }
      var fit: Int? = nil
      for (k, v) in free where k > size && k <= 2 * size && !v.isEmpty {
        if fit.map({ k < $0 }) ?? true { fit = k }
      }
      guard let fit, let p = free[fit]?.popLast() else { return nil }
      cachedBytes -= fit
      lent[p] = fit
      return p
    }

    /// Keeps the buffer at `p`, requested for `size` (rounded) bytes, unless that would hold more
    /// than `limit` bytes (false: the caller frees it). A lent buffer goes back under its own size.
    mutating func put(_ p: UInt, _ size: Int, limit: Int) -> Bool {
      let own = lent.isEmpty ? nil : lent.removeValue(forKey: p)
      let size = own ?? size
      guard cachedBytes + size <= limit else { return false }
      free[size, default: []].append(p)
      cachedBytes += size
      return true
    }
  }

  private static let state = Mutex(Pool())

  static func rounded(_ bytes: Int) -> Int {
    (bytes + granularity - 1) / granularity * granularity
  }

  /// A buffer of at least `bytes` bytes, cached (``Pool/take(_:)``) or new.
  static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
    let size = rounded(bytes)
    let cached = state.withLock { $0.take(size) }
    if let cached, let p = UnsafeMutableRawPointer(bitPattern: cached) { return p }
    return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
  }

  static func release(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
    let kept = state.withLock { $0.put(UInt(bitPattern: p), rounded(bytes), limit: maximumBytes) }
    if !kept { p.deallocate() }
  }
}
