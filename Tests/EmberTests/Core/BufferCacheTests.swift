import Testing

@testable import Ember

/// The cache of large freed buffers (`BufferCache`, Sources/Ember/Core/Storage.swift). Sizes are
/// ones no other test allocates (the cache is shared by the whole process).
@Suite struct BufferCacheTests {
  /// A request with no freed buffer of its size takes the smallest freed one up to twice as
  /// large, which goes back under its own size when released; a freed buffer more than twice
  /// the request is not used.
  @Test func aSmallerRequestReusesAFreedBufferUpToTwiceItsSize() {
    let (big, small, tooSmall) = (90 << 20, 50 << 20, 40 << 20)
    let p = BufferCache.allocate(big)
    BufferCache.release(p, big)
    let q = BufferCache.allocate(small)
    #expect(q == p)
    BufferCache.release(q, small)
    let r = BufferCache.allocate(big)
    #expect(r == p)
    BufferCache.release(r, big)
    let s = BufferCache.allocate(tooSmall)
    #expect(s != p)
    BufferCache.release(s, tooSmall)
  }
}
