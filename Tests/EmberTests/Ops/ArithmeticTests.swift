import Ember
import Testing

@Suite struct ArithmeticTests {
  @Test func gradFnNamesMatchPyTorch() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    #expect((x + 3).gradFn?.name == "AddBackward0")
    #expect((x - 1).gradFn?.name == "SubBackward0")
    #expect((2 - x).gradFn?.name == "RsubBackward1")
    #expect((x * 2).gradFn?.name == "MulBackward0")
    #expect((x / 2).gradFn?.name == "DivBackward0")
    #expect((1 / x).gradFn?.name == "MulBackward0")
    #expect((x ** 2).gradFn?.name == "PowBackward0")
    #expect((x ** x).gradFn?.name == "PowBackward1")
    #expect((2 ** x).gradFn?.name == "PowBackward2")
    #expect((-x).gradFn?.name == "NegBackward0")
  }

  @Test func broadcastGradientsSumBack() throws {
    let a = leaf64([2, 1, 4], seed: 11)
    let b = leaf64([3, 1], seed: 12, positive: true)
    #expect(try gradcheck({ $0[0] * $0[1] + $0[0] - $0[1] }, inputs: [a, b]))
    #expect(try gradcheck({ $0[0] / $0[1] }, inputs: [a, b]))
    #expect(try gradgradcheck({ $0[0] * $0[1] / $0[1] ** 2.0 }, inputs: [a, b]))
    #expect(try gradcheck({ $0[1] ** $0[0] }, inputs: [a, b]))
    #expect(try gradcheck({ 2 - $0[0] / 3 + 1.5 / $0[1] }, inputs: [a, b]))
    #expect(try gradcheck({ 1.5 ** $0[0] }, inputs: [a]))
  }

  @Test func integerArithmetic() {
    let a = Tensor([7, -7])
    #expect((a + 1).scalars(as: Int64.self) == [8, -6])
    #expect((a * Tensor([2, 3])).scalars(as: Int64.self) == [14, -21])
    expectTensor(a / 2, shape: [2], [3.5, -3.5])
    #expect((a / 2).dtype == .float32)
  }

  @Test func inPlaceOnNonLeafRecordsHistory() throws {
    let x = try Tensor([1.0, 2.0], dtype: .float64, requiresGrad: true)
    let y = x * 3
    try y.mulInPlace(x)  // y = 3x * x
    try y += 1
    #expect(y.gradFn?.name == "AddBackward0")
    try y.sum().backward()
    expectTensor(x.grad, shape: [2], [6, 12])
    #expect(y.storage.version == 2)
  }

  @Test func gradientOfPowAtZeroBase() throws {
    let a = try Tensor([0.0, 2.0], dtype: .float64, requiresGrad: true)
    let b = try Tensor([2.0, 3.0], dtype: .float64, requiresGrad: true)
    try (a ** b).sum().backward()
    expectTensor(a.grad, shape: [2], [0, 12])
    expectTensor(b.grad, shape: [2], [0, 8 * 0.6931471805599453])
  }
}
