#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A mutex with one condition variable (pthreads), as Foundation's `NSCondition`: the
/// ``Prefetcher``'s queue lock. EmberData uses it instead of Foundation's so that a process
/// linking Ember does not load the whole of Foundation (ICU included) for one lock.
final class Condition: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

  init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(cond, nil)
  }

  deinit {
    pthread_cond_destroy(cond)
    pthread_mutex_destroy(mutex)
    cond.deallocate()
    mutex.deallocate()
  }

  func lock() { pthread_mutex_lock(mutex) }
  func unlock() { pthread_mutex_unlock(mutex) }
  /// Releases the lock, waits for a broadcast (or a spurious wake-up) and takes the lock again.
  func wait() { pthread_cond_wait(cond, mutex) }
  func broadcast() { pthread_cond_broadcast(cond) }
}
