import Ember
import Testing

private typealias F = Functional

@Suite struct DropoutTests {
  /// The dropout functions of the fixture, with a generator seeded as `torch.manual_seed(seed)`
  /// seeds PyTorch's default generator (the same mt19937 stream).
  static func run(_ name: String, _ x: Tensor, p: Double, _ g: Generator) -> Tensor {
    switch name {
    case "dropout": return F.dropout(x, p: p, generator: g)
    case "dropout1d": return F.dropout1d(x, p: p, generator: g)
    case "dropout2d": return F.dropout2d(x, p: p, generator: g)
    case "dropout3d": return F.dropout3d(x, p: p, generator: g)
    case "alpha_dropout": return F.alphaDropout(x, p: p, training: true, generator: g)
    case "feature_alpha_dropout":
      return F.featureAlphaDropout(x, p: p, training: true, generator: g)
    case "dropout_twice":
      return Tensor.stack([F.dropout(x, p: p, generator: g), F.dropout(x, p: p, generator: g)])
    default: fatalError("unknown dropout function \(name)")
    }
  }

  /// Same seed, same mask: the outputs equal PyTorch's bit for bit (float32 and float64, sizes
  /// below, at and above 16, odd sizes, a transposed input, channel-wise and alpha dropout).
  @Test(arguments: NNFixtures.dropoutCases)
  func masksMatchPyTorchBitForBit(_ c: NNFixtures.DropoutCase) {
    let base = NNFixtures.tensor(bits: c.input)
    let x = c.transposed ? base.t().contiguous().t() : base
    if c.transposed { #expect(!x.isContiguous) }
    let y = Self.run(c.fn, x, p: c.p, Generator(seed: c.seed))
    let want = NNFixtures.tensor(bits: c.output)
    #expect(y.shape == want.shape)
    #expect(y.dtype == want.dtype)
    let (a, b) = (y.toArray(), want.toArray())
    let mismatches = zip(a, b).filter { $0.0.bitPattern != $0.1.bitPattern }.count
    #expect(mismatches == 0, "\(c.id): \(mismatches) of \(a.count) values differ")
  }

  @Test func gradientIsTheScaledMask() throws {
    let x = leaf64([4, 5], seed: 1)
    let y = F.dropout(x, p: 0.4, generator: Generator(seed: 3))
    #expect(y.gradFn?.name == "MulBackward0")
    try y.sum().backward()
    let kept = y.toArray().enumerated().map { $0.element != 0 }
    for (i, g) in x.grad!.toArray().enumerated() {
      #expect(g == (kept[i] ? 1 / 0.6 : 0))
    }
    let f: ([Tensor]) -> Tensor = { F.dropout($0[0], p: 0.4, generator: Generator(seed: 3)) }
    #expect(try gradcheck(f, inputs: [x]))
    #expect(try gradgradcheck(f, inputs: [x]))
    let f2: ([Tensor]) -> Tensor = {
      F.dropout2d($0[0].view([2, 2, 5]), p: 0.5, generator: Generator(seed: 4))
    }
    #expect(try gradgradcheck(f2, inputs: [x]))
  }

  @Test func inactiveCasesReturnTheInput() throws {
    let x = leaf64([3, 2], seed: 2)
    #expect(F.dropout(x, p: 0) === x)
    #expect(F.dropout(x, p: 0.5, training: false) === x)
    #expect(
      F.dropout2d(x.view([1, 3, 2]), p: 0.5, training: false).gradFn?.name == "ViewBackward0")
    #expect(F.alphaDropout(x) === x)  // training defaults to false, as in PyTorch
    let zero = F.dropout(x, p: 1)
    #expect(zero.gradFn?.name == "MulBackward0")
    #expect(zero.toArray().allSatisfy { $0 == 0 })
  }

  @Test func probabilityOutOfRangeStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.dropout(Tensor.ones([3]), p: 1.5)
    }
    #expect(stderrText(r).contains("dropout probability has to be between 0 and 1, but got 1.5"))
  }
}
