import Ember
import Testing

@Suite struct TensorOwnershipTests {
  @Test func aFreshTensorIsSolelyOwned() {
    var t = Tensor.randn([4, 5])
    #expect(Tensor.isSolelyOwned(&t))
  }

  @Test func anotherReferenceOrAViewShares() {
    var t = Tensor.randn([4, 5])
    let other = t
    #expect(!Tensor.isSolelyOwned(&t))
    _ = other
    var base = Tensor.randn([4, 5])
    var view = base.select(0, 1)
    // the view's storage is the base's, and the view holds its base
    #expect(!Tensor.isSolelyOwned(&view))
    #expect(!Tensor.isSolelyOwned(&base))
  }

  @Test func aGraphSavingTheTensorShares() {
    let x = try! Tensor.randn([3]).setRequiresGrad()
    var y = x.exp()  // ExpBackward0 saves its result
    #expect(!Tensor.isSolelyOwned(&y))
    var z = withNoGrad { x.exp() }
    #expect(Tensor.isSolelyOwned(&z))
  }
}
