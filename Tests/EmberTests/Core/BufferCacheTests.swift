import Testing

@testable import Ember

/// The cache of large freed buffers (`BufferCache`, Sources/Ember/Core/Storage.swift), through
/// a pool of its own (the cache's is shared by every test running at once) and made-up addresses.
@Suite struct BufferCacheTests {
  /// A request with no freed buffer of its size takes the smallest freed one up to twice as
  /// large, which goes back under its own size when released; a freed buffer more than twice
  /// the request is not used; the pool never holds more than its limit.
  @Test func aSmallerRequestTakesAFreedBufferUpToTwiceItsSize() {
    let mb = 1 << 20
    let limit = 256 * mb
    var pool = BufferCache.Pool()
    let kept = [pool.put(0x1000, 90 * mb, limit: limit), pool.put(0x2000, 120 * mb, limit: limit)]
    #expect(kept == [true, true])
    let smallest = pool.take(50 * mb)  // the smallest that fits, not the 120 MB one
    #expect(smallest == 0x1000)
    let held = [pool.cachedBytes]
    let back = pool.put(0x1000, 50 * mb, limit: limit)  // back under its own 90 MB
    let heldAfter = pool.cachedBytes
    let again = pool.take(90 * mb)
    let tooLarge = pool.take(40 * mb)  // 120 MB is more than twice 40
    let last = pool.take(120 * mb)
    let empty = pool.cachedBytes
    let fits = pool.put(0x3000, 200 * mb, limit: limit)
    let over = pool.put(0x4000, 100 * mb, limit: limit)  // over the limit: not kept
    #expect(held == [120 * mb] && back && heldAfter == 210 * mb)
    #expect(again == 0x1000 && tooLarge == nil && last == 0x2000 && empty == 0)
    #expect(fits && !over)
  }
}
