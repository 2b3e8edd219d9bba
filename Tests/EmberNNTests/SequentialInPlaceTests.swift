import Ember
import EmberNN
import Testing

/// Returns a fresh copy of its input and remembers where that copy's data lives (an address,
/// not a reference, so the copy stays solely owned by the container).
private final class FreshCopy: Module {
  var address = 0
  override func forward(_ input: Tensor) -> Tensor {
    let y = input.clone()
    if !y.requiresGrad {
      address = try! y.withUnsafeMutableBufferPointer(as: Float.self) {
        Int(bitPattern: $0.baseAddress)
      }
    }
    return y
  }
}

private func dataAddress(_ t: Tensor) -> Int {
  try! t.withUnsafeMutableBufferPointer(as: Float.self) { Int(bitPattern: $0.baseAddress) }
}

/// ``Sequential`` runs an activation in place on an intermediate result it alone holds when no
/// graph is recorded; the values are the plain path's.
@Suite struct SequentialInPlaceTests {
  @Test func noGradForwardEqualsTheLayersOneByOne() {
    _ = manualSeed(3)
    let (l1, l2) = (Linear(6, 8), Linear(8, 3))
    let model = Sequential(l1, ReLU(), l2, ReLU())
    let x = Tensor.randn([5, 6])
    let plain = withNoGrad { l2(l1(x).relu()).relu() }
    let fused = withNoGrad { model(x) }
    #expect(fused.scalars(as: Float.self) == plain.scalars(as: Float.self))
    // and with grad mode on, where nothing runs in place
    #expect(model(x).scalars(as: Float.self) == plain.scalars(as: Float.self))
  }

  @Test func theActivationReusesTheIntermediateBuffer() {
    let copy = FreshCopy()
    let model = Sequential(copy, ReLU())
    let x = Tensor.randn([64, 64])
    let y = withNoGrad { model(x) }
    #expect(dataAddress(y) == copy.address)
    #expect(y.scalars(as: Float.self) == x.relu().scalars(as: Float.self))
    // LeakyReLU, the other activation with an in-place form, the same way
    let leakyCopy = FreshCopy()
    let leaky = withNoGrad { Sequential(leakyCopy, LeakyReLU(negativeSlope: 0.2))(x) }
    #expect(dataAddress(leaky) == leakyCopy.address)
    #expect(
      leaky.scalars(as: Float.self) == x.leakyRelu(negativeSlope: 0.2).scalars(as: Float.self))
    // the caller's input is never overwritten
    let z = withNoGrad { Sequential(ReLU())(x) }
    #expect(dataAddress(z) != dataAddress(x))
    #expect(x.scalars(as: Float.self).contains { $0 < 0 })
  }

  @Test func aResultSomeoneElseHoldsIsLeftIntact() {
    let l1 = Linear(4, 16)
    var seen: Tensor? = nil
    l1.registerForwardHook { _, _, out in
      seen = out
      return nil
    }
    let model = Sequential(l1, ReLU())
    let x = Tensor.randn([8, 4])
    let y = withNoGrad { model(x) }
    let held = try! #require(seen)
    #expect(held.scalars(as: Float.self).contains { $0 < 0 })
    #expect(y.scalars(as: Float.self) == held.relu().scalars(as: Float.self))
  }

  @Test func aRecordedGraphKeepsThePlainPathAndItsGradients() throws {
    let lin = Linear(4, 4)
    let copy = FreshCopy()
    let model = Sequential(lin, copy, ReLU())
    let x = try Tensor.randn([3, 4]).setRequiresGrad()
    let y = model(x)
    #expect(y.gradFn?.name == "ReluBackward0")
    try y.sum().backward()
    // d sum(relu(x W^T + b)) / dx = (x W^T + b > 0) W
    let mask = withNoGrad { (lin(x) .> 0).to(.float32) }
    let expected = withNoGrad { mask.matmul(lin.weight) }
    let grad = try #require(x.grad)
    #expect(grad.scalars(as: Float.self) == expected.scalars(as: Float.self))
  }
}
