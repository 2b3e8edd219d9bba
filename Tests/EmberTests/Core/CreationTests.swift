import Ember
import Testing

@Suite(.isolatedGenerator) struct CreationTests {
  @Test func dtypesInferredLikePyTorch() {
    #expect(Tensor(1.0).dtype == .float32)
    #expect(Tensor([1, 2]).dtype == .int64)
    #expect(Tensor([true, false]).dtype == .bool)
    #expect(Tensor([[1.0, 2.0]], dtype: .float64).dtype == .float64)
    #expect(Tensor.arange(5).dtype == .int64)
    #expect(Tensor.arange(0.0, 3.0).dtype == .float32)
  }

  @Test func variadicShapes() {
    #expect(Tensor.zeros(2, 3).shape == [2, 3])
    #expect(Tensor.ones(4).toArray() == [1, 1, 1, 1])
    #expect(Tensor.zeros().shape == [])
    #expect(Tensor.randn(2, 2, generator: Generator(seed: 0)).shape == [2, 2])
    #expect(Tensor.rand(3, dtype: .float64).dtype == .float64)
    manualSeedIsolated()
  }

  /// Variadic and array forms draw the same values.
  func manualSeedIsolated() {
    let a = Tensor.randn(2, 3, generator: Generator(seed: 7))
    let b = Tensor.randn([2, 3], generator: Generator(seed: 7))
    #expect(a.toArray() == b.toArray())
  }

  @Test func largeIntegersStayExact() {
    let big: Int64 = 9_007_199_254_740_993  // 2^53 + 1
    let t = Tensor([big, -big])
    #expect(t.select(0, 0).item(as: Int64.self) == big)
    #expect(t.scalars(as: Int64.self) == [big, -big])
  }

  @Test func filledAndRangeTensors() {
    expectTensor(Tensor.zeros([2, 2]), shape: [2, 2], [0, 0, 0, 0])
    expectTensor(Tensor.full([3], 2.5), shape: [3], [2.5, 2.5, 2.5])
    expectTensor(Tensor.arange(0, 1, step: 0.25), shape: [4], [0, 0.25, 0.5, 0.75])
    expectTensor(Tensor.linspace(0, 1, steps: 5), shape: [5], [0, 0.25, 0.5, 0.75, 1])
    expectTensor(Tensor.eye(2, 3), shape: [2, 3], [1, 0, 0, 0, 1, 0])
    expectTensor(Tensor.ones(like: Tensor.zeros([2], dtype: .float64)), shape: [2], [1, 1])
    #expect(Tensor.ones(like: Tensor.zeros([2], dtype: .float64)).dtype == .float64)
  }

  @Test func nestedArraysAndScalars() {
    let t = Tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    #expect(t.shape == [2, 2, 2])
    #expect(t.scalars(as: Int64.self) == [1, 2, 3, 4, 5, 6, 7, 8])
    #expect(Tensor(3.5).shape == [])
    #expect(Tensor(3.5).item() == 3.5)
    #expect(Tensor(shape: [2], scalars: [Float(1), 2]).toArray() == [1, 2])
  }

  @Test func promotionFollowsPyTorch() {
    #expect((Tensor([1, 2]) + 1.5).dtype == .float32)
    #expect((Tensor([1, 2]) * Tensor(2.0, dtype: .float64)).dtype == .float64)
    #expect((Tensor([1.0, 2.0]) + Tensor(2.0, dtype: .float64)).dtype == .float32)
    #expect((Tensor([1.0, 2.0]) + Tensor([2.0], dtype: .float64)).dtype == .float64)
    #expect((Tensor([1, 2]) / Tensor([2, 2])).dtype == .float32)
    expectTensor(Tensor([1, 2]) / Tensor([2, 2]), shape: [2], [0.5, 1])
  }

  @Test func conversionKeepsHistory() throws {
    let x = try Tensor([1.5, -2.5], requiresGrad: true)
    let y = x.to(.float64)
    #expect(y.dtype == .float64 && y.gradFn?.name == "ToCopyBackward0")
    try (y * y).sum().backward()
    #expect(x.grad?.dtype == .float32)
    expectTensor(x.grad, shape: [2], [3, -5])
    #expect(Tensor([1.7, -1.7]).to(.int64).scalars(as: Int64.self) == [1, -1])
  }

  @Test func broadcastMismatchStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.zeros([2, 3]) + Tensor.zeros([4, 3])
    }
    #expect(
      stderrText(result).contains(
        "add: the size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0 (shap"
      ))
  }
}

@Suite(.isolatedGenerator) struct DescriptionTests {
  func pytorch(_ t: Tensor) -> String { t.formatted(PrintOptions(style: .pytorch)) }

  @Test func matchesPyTorchText() throws {
    #expect(pytorch(Tensor([1e-5, 1.0, 100.0])) == "tensor([1.0000e-05, 1.0000e+00, 1.0000e+02])")
    #expect(
      pytorch(Tensor([[1.5, -2.25], [3.0, 4.125]]))
        == "tensor([[ 1.5000, -2.2500],\n        [ 3.0000,  4.1250]])")
    #expect(
      pytorch(Tensor.arange(0.0, 2000.0))
        == "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])"
    )
    #expect(pytorch(Tensor([true, false])) == "tensor([ True, False])")
    #expect(pytorch(Tensor([1, 2], dtype: .float64)) == "tensor([1., 2.], dtype=torch.float64)")
    #expect(
      pytorch(Tensor.zeros([2, 3, 2]))
        == "tensor([[[0., 0.],\n         [0., 0.],\n         [0., 0.]],\n\n        [[0., 0.],\n         [0., 0.],\n         [0., 0.]]])"
    )
    #expect(
      pytorch(Tensor([Double.nan, 1.5, Double.infinity])) == "tensor([   nan, 1.5000,    inf])")
    #expect(pytorch(Tensor(2.5)) == "tensor(2.5000)")
  }

  @Test func autogradMetadata() throws {
    let x = try Tensor([4.0, 6.0, 8.0], requiresGrad: true)
    #expect(x.description == "tensor([4., 6., 8.], requiresGrad: true)")
    #expect(pytorch(x) == "tensor([4., 6., 8.], requires_grad=True)")
    let y = x + 1
    #expect(y.description == "tensor([5., 7., 9.], gradFn: AddBackward0)")
    #expect(pytorch(y) == "tensor([5., 7., 9.], grad_fn=<AddBackward0>)")
  }
}
