import Ember
import Testing

/// The README's first example, kept compiling and true.
@Suite struct ReadmeExampleTests {
  @Test func firstExample() throws {
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let y = (x ** 2 + 2 * x + 5).sum()
    try y.backward()
    #expect(x.grad!.description == "tensor([4., 6., 8.])")
    #expect(y.gradFn!.name == "SumBackward0")

    let t = try Tensor(2.0, requiresGrad: true)
    let dy = try grad(of: t ** 3, withRespectTo: t, createGraph: true)
    let d2y = try grad(of: dy, withRespectTo: t)
    #expect(dy.item() == 12 && d2y.item() == 12)

    try withNoGrad { try x.subInPlace(0.1 * x.grad!) }
    expectTensor(x, shape: [3], [0.6, 1.4, 2.2])
  }
}
