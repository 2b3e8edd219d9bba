import Testing

@testable import Ember

/// The rarely set state of a tensor (a retained grad, hooks, a name) lives in a side object made
/// on the first write (``Tensor/extras``).
@Suite struct TensorExtrasTests {
  @Test func plainTensorsHaveNone() throws {
    let x = try Tensor(1.0, requiresGrad: true)
    let y = x * x + 2 * x + 3
    try y.backward()
    #expect(x.extras == nil)
    #expect(y.extras == nil)
    // reading, or writing the defaults, makes none either
    #expect(x.name == nil && x.leafHooks.isEmpty && x.retainedGradNode == nil)
    x.name = nil
    x.leafHooks = []
    x.retainedGradNode = nil
    #expect(x.extras == nil)
  }

  @Test func nameRoundTripsAndClears() {
    let t = Tensor([1.0, 2.0])
    t.name = "weight"
    #expect(t.name == "weight")
    #expect(t.extras != nil)
    t.name = nil
    #expect(t.name == nil)
  }

  @Test func hooksAndRetainedGradsStillWork() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    _ = try x.registerHook { $0 * 10 }
    let h = x * 3
    try h.retainGrad()
    #expect(h.retainedGradNode != nil)
    let y = h * h
    try y.backward()
    #expect(h.grad?.item() == 12)  // d(h^2)/dh at h = 6
    #expect(x.grad?.item() == 360)  // 12 * 3, times 10 by the hook
  }

  @Test func eachTensorHasItsOwn() {
    let a = Tensor([1.0])
    let b = a.alias()
    a.name = "a"
    #expect(b.name == nil)
    b.name = "b"
    #expect(a.name == "a" && b.name == "b")
  }
}
