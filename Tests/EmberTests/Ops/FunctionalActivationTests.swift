import Ember
import Testing

private typealias F = Functional

@Suite struct FunctionalActivationTests {
  static let ops: Set<String> = [
    "relu", "relu6", "leaky_relu", "gelu", "silu", "elu", "softplus", "tanh", "sigmoid", "hardtanh",
    "softmax", "log_softmax",
  ]

  @Test(arguments: NNFixtures.cases(FunctionalActivationTests.ops))
  func matchesPyTorch(_ c: NNFixtures.Case) throws {
    try NNFixtures.check(c)
  }

  @Test func everyActivationPassesGradChecks() throws {
    let fs: [(String, (Tensor) -> Tensor)] = [
      ("relu", { F.relu($0) * $0 }), ("relu6", { F.relu6($0 * 4) * $0 }),
      ("leakyRelu", { F.leakyRelu($0, negativeSlope: 0.2) * $0 }), ("gelu", { F.gelu($0) }),
      ("gelu tanh", { F.gelu($0, approximate: .tanh) }), ("silu", { F.silu($0) }),
      ("elu", { F.elu($0, alpha: 0.5) }), ("softplus", { F.softplus($0, beta: 2, threshold: 2) }),
      ("tanh", { F.tanh($0) }), ("sigmoid", { F.sigmoid($0) }),
      ("hardtanh", { F.hardtanh($0, minVal: -0.5, maxVal: 1) * $0 }),
      ("softmax", { F.softmax($0, dim: 1) }), ("logSoftmax", { F.logSoftmax($0, dim: 0) }),
    ]
    let x = leaf64([2, 4], seed: 3, awayFromZero: true)
    for (name, f) in fs {
      #expect(try gradcheck({ f($0[0]) }, inputs: [x]), "\(name)")
      #expect(try gradgradcheck({ f($0[0]) }, inputs: [x]), "\(name)")
    }
  }

  @Test func hardtanh() throws {
    let x = try Tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0], dtype: .float64, requiresGrad: true)
    let y = F.hardtanh(x)
    #expect(y.toArray() == [-1, -1, -0.5, 0, 0.5, 1, 1])
    #expect(y.gradFn?.name == "HardtanhBackward0")
    try y.sum().backward()
    // PyTorch: the gradient is 1 strictly inside (min, max) only
    #expect(x.grad!.toArray() == [0, 0, 1, 1, 1, 0, 0])
    #expect(F.relu6(Tensor([-1.0, 3.0, 7.0])).toArray() == [0, 3, 6])
    #expect(F.hardtanh(Tensor([-3, 0, 3])).scalars(as: Int64.self) == [-1, 0, 1])
    #expect(F.hardtanh(Tensor([Double.nan])).toArray()[0].isNaN)
    let z = leaf64([5], seed: 1, awayFromZero: true)
    #expect(
      try gradgradcheck({ F.hardtanh($0[0], minVal: -0.5, maxVal: 1.5) * $0[0] }, inputs: [z]))
  }

  @Test func hardtanhBoundsStop() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.hardtanh(Tensor([1.0]), minVal: 1, maxVal: -1)
    }
    #expect(stderrText(r).contains("min_val cannot be greater than max_val"))
  }
}
