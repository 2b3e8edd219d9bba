import Ember
import Testing

/// Elementwise comparisons, `where` and masking; `isclose`, `allclose` and `equal`, checked
/// against PyTorch 2.15's answers for the same calls.
@Suite struct ComparisonTests {
  @Test func comparisonsGiveBool() {
    let a = Tensor([1.0, 2.0, 3.0])
    let b = Tensor([3.0, 2.0, 1.0])
    #expect((a .< b).scalars(as: Bool.self) == [true, false, false])
    #expect((a .== b).scalars(as: Bool.self) == [false, true, false])
    #expect((a .>= 2).scalars(as: Bool.self) == [false, true, true])
    #expect((a .!= 2).logicalAnd(b .> 1).scalars(as: Bool.self) == [true, false, false])
    #expect(
      Tensor([Double.nan, 1, .infinity]).isNaN().scalars(as: Bool.self) == [true, false, false])
    #expect(
      Tensor([Double.nan, 1, .infinity]).isInfinite().scalars(as: Bool.self) == [
        false, false, true,
      ])
  }

  @Test func whereAndMaskedFillGradients() throws {
    let c = Tensor([[true, false, true], [false, true, false]])
    let x = leaf64([2, 3], seed: 7)
    let y = leaf64([1, 3], seed: 8)
    #expect(try gradcheck({ Tensor.where(c, $0[0], $0[1]) * $0[0] }, inputs: [x, y]))
    #expect(try gradgradcheck({ Tensor.where(c, $0[0] ** 2, $0[1].exp()) }, inputs: [x, y]))
    let z = try Tensor([1.0, -2.0, 3.0], requiresGrad: true)
    let w = z.maskedFill(z .< 0, 0)
    #expect(w.toArray() == [1, 0, 3])
    try w.sum().backward()
    #expect(z.grad!.toArray() == [1, 0, 1])
  }

  @Test func allcloseUsesPyTorchsDefaults() {
    #expect(Tensor([1.0]).allclose(Tensor([1.0 + 1e-6])))
    #expect(!Tensor([1.0]).allclose(Tensor([1.0 + 1.1e-5])))
    #expect(!Tensor([1e10]).allclose(Tensor([1.00001e10])))
    #expect(Tensor([1e-9]).allclose(Tensor([0.0])))  // atol 1e-08
    #expect(!Tensor([1e-7]).allclose(Tensor([0.0])))
    #expect(Tensor([Double.infinity]).allclose(Tensor([Double.infinity])))
    #expect(!Tensor([Double.infinity]).allclose(Tensor([-Double.infinity])))
    #expect(!Tensor([Double.nan]).allclose(Tensor([Double.nan])))
    #expect(Tensor([Double.nan]).allclose(Tensor([Double.nan]), equalNan: true))
    #expect(Tensor([1.0, 2]).allclose(Tensor([1.1, 2.2]), rtol: 0.1))
    #expect(Tensor([1.0, 2]).allclose(Tensor([1.1, 2.1]), atol: 0.11))
    // broadcasting, as in PyTorch
    #expect(!Tensor([1.0, 2.0]).allclose(Tensor([1.0])))
    #expect(Tensor([1.0, 2.0]).allclose(Tensor([[1.0, 2.0]])))
  }

  @Test func iscloseGivesABoolTensor() {
    let c = Tensor([Double.nan, 1]).isclose(Tensor([Double.nan, Double.nan]), equalNan: true)
    #expect(c.dtype == .bool && c.toArray() == [1, 0])
    #expect(Tensor([1, 2]).isclose(Tensor([1, 3])).toArray() == [1, 0])
    #expect(Tensor([1, 2]).isclose(Tensor([1, 3]), rtol: 0.5).toArray() == [1, 1])
    #expect(Tensor([100]).isclose(Tensor([101]), rtol: 0.01, atol: 0).toArray() == [1])
    #expect(Tensor([true, false]).isclose(Tensor([true, true])).toArray() == [1, 0])
    #expect(Tensor.zeros(2, 1).isclose(Tensor.zeros(3)).shape == [2, 3])
    // infinite error is never within an infinite tolerance
    let inf = Tensor([Double.infinity]).isclose(Tensor([1e38]), atol: .infinity)
    #expect(inf.toArray() == [0])
  }

  @Test func iscloseWithDifferentDTypesStops() async {
    let allcloseResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = Tensor([1.0]).allclose(Tensor([1.0], dtype: .float64))  // Float did not match Double
    }
    #expect(stderrText(allcloseResult).contains("isclose: Float did not match Double"))
    let iscloseResult = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = Tensor([1.0]).isclose(Tensor([1.0]), rtol: -1)
    }
    #expect(
      stderrText(iscloseResult).contains(
        "isclose: rtol must be greater than or equal to zero, but got -1.0"))
  }

  @Test func equalComparesShapeAndValues() {
    #expect(Tensor([1.0, 2]).equal(Tensor([1.0, 2])))
    #expect(Tensor([1, 2]).equal(Tensor([1.0, 2])))  // dtypes may differ
    #expect(!Tensor([1.0, 2]).equal(Tensor([[1.0, 2]])))  // no broadcasting
    #expect(!Tensor([1, 2]).equal(Tensor([1, 2, 3])))
    #expect(!Tensor([Double.nan]).equal(Tensor([Double.nan])))
    #expect(Tensor([0.0]).equal(Tensor([-0.0])))
    #expect(Tensor([true]).equal(Tensor([1])))
    #expect(Tensor.zeros(0, 3).equal(Tensor.zeros(0, 3)))
    // int64 values beyond 2^53 compare exactly
    let big = Int64(1) << 60
    #expect(!Tensor([big]).equal(Tensor([big + 1])))
    #expect(Tensor([big + 1]).equal(Tensor([big + 1])))
  }
}
