import Ember
import Testing

@Suite struct EngineTests {
  @Test func scalarPolynomialGradient() throws {
    let x = try Tensor(1.0, requiresGrad: true)
    let y = x ** 2 + 2 * x + 3
    try y.backward()
    #expect(x.grad?.item() == 4)
    #expect(y.gradFn?.name == "AddBackward0")
  }

  @Test func secondDerivativeOfCube() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    let g = try grad(of: x ** 3, withRespectTo: x, createGraph: true)
    #expect(g.item() == 12)
    let g2 = try grad(of: g, withRespectTo: x)
    #expect(g2.item() == 12)
  }

  @Test func arithmeticGradcheck() throws {
    let a = leaf64([3, 4], seed: 1)
    let b = leaf64([4], seed: 2, positive: true)
    #expect(
      try gradcheck(
        { ($0[0] * $0[1] + $0[0] / $0[1] - $0[1] ** 2.5).sum(dim: [0]) }, inputs: [a, b]))
    #expect(try gradgradcheck({ $0[0] * $0[1] / $0[1].exp() }, inputs: [a, b]))
  }
}

/// Hooks on leaves run before `grad(of:withRespectTo:)` captures the gradient (issue 5).
@Suite struct LeafHookCaptureTests {
  @Test func leafHookRunsBeforeCapture() throws {
    // PyTorch: x.register_hook(lambda g: g * 2); torch.autograd.grad((x * 3).sum(), x) -> [6, 6]
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    try x.registerHook { $0 * 2 }
    let g = try grad(of: (x * 3).sum(), withRespectTo: x)
    expectTensor(g, shape: [2], [6, 6])
    #expect(x.grad == nil)
    // and still once (not twice) in backward
    try (x * 3).sum().backward()
    expectTensor(x.grad, shape: [2], [6, 6])
  }

  @Test func removedLeafHookNoLongerRuns() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let handle = try x.registerHook { $0 * 2 }
    handle.remove()
    expectTensor(try grad(of: (x * 3).sum(), withRespectTo: x), shape: [2], [3, 3])
  }
}

/// AccumulateGrad keeps a gradient nothing else holds as `.grad` instead of copying it, as
/// PyTorch's does, and copies every gradient someone else can still see.
@Suite struct GradientStealingTests {
  /// The storage of the gradient a leaf's hook sees, by identity (not retained).
  final class SeenStorage: @unchecked Sendable { var id: ObjectIdentifier? }

  @Test func unsharedGradientBecomesTheGrad() throws {
    let w = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
    let seen = SeenStorage()
    try w.registerHook {
      seen.id = ObjectIdentifier($0.storage)
      return nil
    }
    try (w * 3).sum().backward()
    expectTensor(w.grad, shape: [2, 2], [3, 3, 3, 3])
    #expect(seen.id != nil && w.grad.map { ObjectIdentifier($0.storage) } == seen.id)
  }

  @Test func oneGradientForTwoLeavesIsCopied() throws {
    // AddBackward0 hands the same tensor to both inputs: each leaf gets its own .grad
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let b = try Tensor([5.0, 6.0], requiresGrad: true)
    try (a + b).backward(gradient: Tensor([1.0, 1.0]) * 2)
    let ga = try #require(a.grad)
    let gb = try #require(b.grad)
    #expect(ga.storage !== gb.storage)
    _ = try ga.addInPlace(Tensor([10.0, 10.0]))
    expectTensor(a.grad, shape: [2], [12, 12])
    expectTensor(b.grad, shape: [2], [2, 2])
  }

  @Test func gradientTheCallerHoldsIsCopied() throws {
    let w = try Tensor([1.0, 2.0], requiresGrad: true)
    let g = Tensor([4.0, 5.0])
    try w.backward(gradient: g)
    #expect(w.grad?.storage !== g.storage)
    _ = try g.addInPlace(Tensor([1.0, 1.0]))
    expectTensor(w.grad, shape: [2], [4, 5])
  }

  @Test func viewGradientIsCopied() throws {
    // the gradient of a slice's base is a view of a larger zero-filled buffer only when the
    // rule makes one; a narrowed gradient must not keep or expose a larger storage
    let w = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    try w[0..<2].sum().backward()
    let gw = try #require(w.grad)
    expectTensor(gw, shape: [3], [1, 1, 0])
    #expect(gw.storage.count == 3 && gw.isContiguous)
  }
  @Test func linearWeightGradientIsStolen() throws {
    // AddmmBackward0 gives the weight `(gradᵀ · input)ᵀ` and TBackward0 transposes it back: a
    // view with its base's geometry, which stands for the base
    let w = try Tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]], requiresGrad: true)
    let b = try Tensor([1.0, 2.0], requiresGrad: true)
    let x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    let seen = SeenStorage()
    try w.registerHook {
      seen.id = ObjectIdentifier($0.storage)
      return nil
    }
    try Functional.linear(x, w, bias: b).sum().backward()
    expectTensor(w.grad, shape: [2, 3], [12, 15, 18, 12, 15, 18])
    expectTensor(b.grad, shape: [2], [3, 3])
    #expect(seen.id != nil && w.grad.map { ObjectIdentifier($0.storage) } == seen.id)
    #expect(w.grad?.isContiguous == true)
  }
}
