import Ember
import Testing

#if os(Linux)
  import Glibc

  /// Graph teardown: recursive for the first levels (`Node.recursiveTeardownLimit`), then an
  /// explicit loop, so that a deep graph is freed within a small thread stack.
  @Suite struct TeardownTests {
    /// A 100,000-op chain, built and dropped (after backward and without it) on a thread whose
    /// stack is 256 KiB, a quarter of the smallest default on common platforms.
    @Test func deepChainsAreFreedOnASmallStack() {
      var attributes = pthread_attr_t()
      pthread_attr_init(&attributes)
      defer { pthread_attr_destroy(&attributes) }
      pthread_attr_setstacksize(&attributes, 256 << 10)
      var thread = pthread_t()
      let result = UnsafeMutablePointer<Double>.allocate(capacity: 1)
      defer { result.deallocate() }
      result.pointee = -1
      let status = pthread_create(
        &thread, &attributes,
        { p in
          let out = p!.assumingMemoryBound(to: Double.self)
          let x = try! Tensor(1.0, requiresGrad: true)
          do {
            var t = x
            for _ in 0..<100_000 { t = t * 1.0 + 0.0 }
            try! t.backward()
          }
          do {
            var u = x
            for _ in 0..<100_000 { u = u.exp().log() }
            _ = u
          }
          out.pointee = x.grad!.item()
          return nil
        }, result)
      #expect(status == 0)
      pthread_join(thread, nil)
      #expect(result.pointee == 1)
    }
  }
#endif
