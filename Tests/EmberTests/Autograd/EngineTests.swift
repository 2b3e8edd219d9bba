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
