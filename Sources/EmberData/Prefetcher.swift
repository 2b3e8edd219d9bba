import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Makes items `0..<total` in order on one background thread, keeping at most `capacity` ready
/// ahead of the consumer (a bounded queue guarded by a condition variable).
///
/// `stop()` (also run by `deinit`) tells the thread to finish after the item it is making and
/// joins it, so an abandoned iteration leaves no thread behind.
final class Prefetcher<Item>: @unchecked Sendable {
  /// Prefetch threads currently running in the process (for tests and diagnostics).
  static var runningThreads: Int { PrefetchThreads.running.load(ordering: .acquiring) }

  private let condition = Condition()
  private let capacity: Int
  private let total: Int
  private let make: (Int) -> Item
  // guarded by `condition`
  private var ready: [Item] = []
  private var head = 0
  private var made = 0
  private var cancelled = false
  private var joined = false
  private var thread: PThread?

  init(total: Int, capacity: Int, make: @escaping (Int) -> Item) {
    precondition(capacity > 0)
    self.total = total
    self.capacity = capacity
    self.make = make
    thread = PThread { [self] in run() }
  }

  deinit { stop() }

  /// The next item, waiting for the thread to make it; nil after the last one.
  func next() -> Item? {
    condition.lock()
    defer { condition.unlock() }
    while head == ready.count && made < total && !cancelled { condition.wait() }
    guard head < ready.count else { return nil }
    let item = ready[head]
    head += 1
    if head == ready.count {
      ready.removeAll(keepingCapacity: true)
      head = 0
    }
    condition.broadcast()
    return item
  }

  /// Stops the thread after its current item and waits for it to exit. Idempotent.
  func stop() {
    condition.lock()
    cancelled = true
    let t = joined ? nil : thread
    joined = true
    condition.broadcast()
    condition.unlock()
    t?.join()
  }

  private func run() {
    var k = 0
    while true {
      condition.lock()
      while ready.count - head >= capacity && !cancelled { condition.wait() }
      if cancelled || k >= total {
        condition.unlock()
        return
      }
      condition.unlock()
      let item = make(k)
      condition.lock()
      if cancelled {
        condition.unlock()
        return
      }
      ready.append(item)
      k += 1
      made = k
      condition.broadcast()
      condition.unlock()
    }
  }
}

/// The count of running prefetch threads.
enum PrefetchThreads {
  static let running = Atomic<Int>(0)
}

/// A joinable POSIX thread running a closure.
final class PThread: @unchecked Sendable {
  #if canImport(Darwin)
    private var handle: pthread_t?
  #else
    private var handle = pthread_t()
  #endif

  private final class Body {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
  }

  init(_ body: @escaping () -> Void) {
    let context = Unmanaged.passRetained(Body(body)).toOpaque()
    PrefetchThreads.running.wrappingAdd(1, ordering: .acquiringAndReleasing)
    let status = pthread_create(&handle, nil, pthreadEntry, context)
    guard status == 0 else {
      PrefetchThreads.running.wrappingSubtract(1, ordering: .acquiringAndReleasing)
      Unmanaged<Body>.fromOpaque(context).release()
      preconditionFailure(
        "DataLoader: cannot start the prefetch thread (pthread_create: \(status))")
    }
  }

  /// Waits for the thread to exit.
  func join() {
    #if canImport(Darwin)
      if let handle { pthread_join(handle, nil) }
    #else
      pthread_join(handle, nil)
    #endif
  }

  fileprivate static func enter(_ context: UnsafeMutableRawPointer) {
    let body = Unmanaged<Body>.fromOpaque(context).takeRetainedValue()
    body.run()
    PrefetchThreads.running.wrappingSubtract(1, ordering: .acquiringAndReleasing)
  }
}

#if canImport(Darwin)
  private func pthreadEntry(_ context: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
    PThread.enter(context)
    return nil
  }
#else
  private func pthreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    PThread.enter(context!)
    return nil
  }
#endif
