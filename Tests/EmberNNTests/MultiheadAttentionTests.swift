import EmberNN
import Foundation
import Testing

/// One case of Fixtures/attention-cases.json (written by Fixtures/make_rnn_fixtures.py, which
/// documents the fields).
struct AttentionCase: Decodable, Sendable, CustomTestStringConvertible {
  /// PyTorch's constructor arguments.
  struct Args: Decodable, Sendable {
    let embedDim: Int
    let numHeads: Int
    let dropout: Double?
    let bias: Bool?
    let batchFirst: Bool?

    private enum CodingKeys: String, CodingKey {
      case dropout, bias
      case embedDim = "embed_dim"
      case numHeads = "num_heads"
      case batchFirst = "batch_first"
    }
  }

  let fixture: ModuleFixture
  let args: Args
  /// "qkv" (one tensor for all three), "kv" (key is value) or "none".
  let sharing: String
  let query: FixtureTensor
  let key: FixtureTensor?
  let value: FixtureTensor?
  let keyPaddingMask: FixtureTensor?
  let attnMask: FixtureTensor?
  let needWeights: Bool
  let averageAttnWeights: Bool
  let isCausal: Bool
  let output: FixtureTensor
  let weights: FixtureTensor?
  let wOut: FixtureTensor
  let wWeights: FixtureTensor?

  private enum CodingKeys: String, CodingKey {
    case args, sharing, query, key, value, output, weights
    case keyPaddingMask = "key_padding_mask"
    case attnMask = "attn_mask"
    case needWeights = "need_weights"
    case averageAttnWeights = "average_attn_weights"
    case isCausal = "is_causal"
    case wOut = "w_out"
    case wWeights = "w_weights"
  }

  init(from decoder: Decoder) throws {
    fixture = try ModuleFixture(from: decoder)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    args = try c.decode(Args.self, forKey: .args)
    sharing = try c.decode(String.self, forKey: .sharing)
    query = try c.decode(FixtureTensor.self, forKey: .query)
    key = try c.decodeIfPresent(FixtureTensor.self, forKey: .key)
    value = try c.decodeIfPresent(FixtureTensor.self, forKey: .value)
    keyPaddingMask = try c.decodeIfPresent(FixtureTensor.self, forKey: .keyPaddingMask)
    attnMask = try c.decodeIfPresent(FixtureTensor.self, forKey: .attnMask)
    needWeights = try c.decode(Bool.self, forKey: .needWeights)
    averageAttnWeights = try c.decode(Bool.self, forKey: .averageAttnWeights)
    isCausal = try c.decode(Bool.self, forKey: .isCausal)
    output = try c.decode(FixtureTensor.self, forKey: .output)
    weights = try c.decodeIfPresent(FixtureTensor.self, forKey: .weights)
    wOut = try c.decode(FixtureTensor.self, forKey: .wOut)
    wWeights = try c.decodeIfPresent(FixtureTensor.self, forKey: .wWeights)
  }

  var testDescription: String { fixture.name }
  var embedDim: Int { args.embedDim }
  var numHeads: Int { args.numHeads }
  var dropout: Double { args.dropout ?? 0 }
  var bias: Bool { args.bias ?? true }
  var batchFirst: Bool { args.batchFirst ?? false }

  static func loadAll() -> [AttentionCase] {
    ModuleFixture.cases("attention-cases", as: AttentionCase.self)
  }
}

@Suite(.isolatedGenerator) struct MultiheadAttentionGoldenTests {
  /// Same seed, same weights; output, attention weights and the gradients of query, key, value
  /// and every parameter equal PyTorch's, in float32 and float64: self, encoder-decoder and
  /// separate inputs, bool and float masks (2-D, 3-D, key padding, causal), per-head weights,
  /// batch-first, unbatched, no bias, both of PyTorch's paths (needWeights and SDPA), a fully
  /// masked row, and dropout in training mode with PyTorch's masks.
  @Test(arguments: AttentionCase.loadAll())
  func matchesPyTorch(_ c: AttentionCase) throws {
    let f = c.fixture
    manualSeed(f.seed)
    let m = MultiheadAttention(
      c.embedDim, c.numHeads, dropout: c.dropout, bias: c.bias, batchFirst: c.batchFirst)
    f.expectInitialParameters(m)
    if f.dtype == .float64 { m.to(.float64) }
    m.train(f.train)
    f.expectLayout(m)

    let q = c.query.tensor(requiresGrad: true)
    let k = c.key?.tensor(requiresGrad: true) ?? q
    let v = c.value?.tensor(requiresGrad: true) ?? k
    if let s = f.forwardSeed { manualSeed(s) }
    let (out, weights) = m(
      q, k, v, keyPaddingMask: c.keyPaddingMask?.tensor(), needWeights: c.needWeights,
      attnMask: c.attnMask?.tensor(), averageAttnWeights: c.averageAttnWeights,
      isCausal: c.isCausal)
    expectTensor(out, shape: c.output.shape, c.output.values, rtol: f.rtol, atol: f.atol)
    #expect((weights == nil) == (c.weights == nil))
    var loss = (out * c.wOut.tensor()).sum()
    if let weights, let expected = c.weights, let w = c.wWeights {
      expectTensor(weights, shape: expected.shape, expected.values, rtol: f.rtol, atol: f.atol)
      loss = loss + (weights * w.tensor()).sum()
    }
    try loss.backward()
    for (name, t) in [("query", q), ("key", k), ("value", v)] {
      guard let g = f.grads[name] else { continue }
      expectTensor(t.grad, shape: g.shape, g.values, rtol: f.rtol, atol: f.atol)
    }
    f.expectParameterGradients(m)
  }

  @Test func fixturesCoverBothPathsAndTheMasks() {
    let cases = AttentionCase.loadAll()
    #expect(cases.count == 26)
    #expect(cases.contains { !$0.needWeights && $0.isCausal })
    #expect(cases.contains { $0.needWeights && $0.attnMask?.dtype == .bool })
    #expect(cases.contains { $0.attnMask?.dtype == .float32 && $0.attnMask?.shape.count == 3 })
    #expect(cases.contains { $0.keyPaddingMask?.dtype == .float64 })
    #expect(cases.contains { $0.fixture.train && $0.dropout > 0 && !$0.needWeights })
    #expect(cases.contains { $0.query.shape.count == 2 })
  }
}

@Suite(.isolatedGenerator) struct MultiheadAttentionModuleTests {
  @Test func stateDictAndPrintedFormArePyTorchs() {
    let m = MultiheadAttention(8, 2)
    let sd = m.stateDict()
    #expect(sd.keys == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
    #expect(sd.values.map(\.shape) == [[24, 8], [24], [8, 8], [8]])
    #expect(sd.values.allSatisfy { $0.dtype == .float32 })
    #expect(
      m.description
        == """
        MultiheadAttention(
          (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)
        )
        """)
    #expect(m.inProjBias!.toArray().allSatisfy { $0 == 0 })
    #expect(m.outProj.namedParameters().map(\.name) == ["weight", "bias"])
    let reprs = ModuleFixture.reprs()
    let noBias = MultiheadAttention(8, 2, dropout: 0.1, bias: false, batchFirst: true)
    #expect(noBias.description == reprs["mha_nobias_bf"])
    #expect(noBias.stateDict().keys == ["in_proj_weight", "out_proj.weight"])
  }

  @Test func separateKeyAndValueSizesUseSeparateWeights() {
    let m = MultiheadAttention(4, 2, kdim: 3, vdim: 5)
    #expect(
      m.stateDict().keys == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight",
        "out_proj.bias",
      ])
    #expect(m.inProjWeight == nil)
    let (out, w) = m(Tensor.randn(2, 1, 4), Tensor.randn(3, 1, 3), Tensor.randn(3, 1, 5))
    #expect(out.shape == [2, 1, 4])
    #expect(w!.shape == [1, 2, 3])
    expectClose(w!.sum(dim: -1).toArray(), [1, 1], rtol: 1e-6)
  }

  @Test func moduleCallIsSelfAttentionAndLoadsAStateDict() throws {
    manualSeed(0)
    let a = MultiheadAttention(4, 2)
    let b = MultiheadAttention(4, 2)
    try b.loadStateDict(a.stateDict())
    let x = Tensor.randn(3, 2, 4)
    #expect(a(x).allclose(b(x, x, x, needWeights: false).output))
    #expect(a(x).allclose(a(x, x, x).output, rtol: 1e-5, atol: 1e-6))
  }

  @Test func fullyMaskedRowIsNaNWithWeightsAndZeroWithout() {
    manualSeed(0)
    let m = MultiheadAttention(4, 2, bias: false)
    let x = Tensor.randn(3, 1, 4)
    let mask = Tensor([[true, true, true]])
    let (withWeights, _) = m(x, x, x, keyPaddingMask: mask)
    #expect(withWeights.toArray().allSatisfy { $0.isNaN })
    let (fast, _) = m(x, x, x, keyPaddingMask: mask, needWeights: false)
    #expect(fast.toArray().allSatisfy { $0 == 0 })
  }

  @Test func gradcheckBothPaths() throws {
    manualSeed(4)
    let m = MultiheadAttention(4, 2, kdim: 3, vdim: 3).to(.float64)
    let q = leaf64([2, 2, 4], seed: 1)
    let k = leaf64([3, 2, 3], seed: 2)
    let v = leaf64([3, 2, 3], seed: 3)
    let mask = Tensor([[false, true, false], [false, false, true]])
    for needWeights in [true, false] {
      try gradcheck(
        { _ in
          let (o, w) = m(q, k, v, keyPaddingMask: mask, needWeights: needWeights)
          return [o] + (w.map { [$0] } ?? [])
        }, inputs: [q, k, v] + m.parameters())
    }
    let packed = MultiheadAttention(4, 2).to(.float64)
    let x = leaf64([3, 1, 4], seed: 5)
    try gradcheck(
      { _ in packed(x, x, x, attnMask: AttentionCausal.mask(3), isCausal: true).output },
      inputs: [x] + packed.parameters())
    try gradgradcheck({ xs in packed(xs[0]) }, inputs: [x])
  }

  @Test func badMasksStopWithPyTorchsMessages() async {
    let shape = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Tensor.zeros(3, 2, 4)
      _ = MultiheadAttention(4, 2)(x, x, x, attnMask: Tensor.zeros(3, 4))
    }
    #expect(
      stderrText(shape).contains("The shape of the 2D attn_mask is [3, 4], but should be [3, 3]."))
    let causal = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Tensor.zeros(3, 2, 4)
      _ = MultiheadAttention(4, 2)(x, x, x, isCausal: true)
    }
    #expect(stderrText(causal).contains("Need attn_mask if specifying the is_causal hint"))
    let kpm = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = Tensor.zeros(3, 2, 4)
      _ = MultiheadAttention(4, 2)(x, x, x, keyPaddingMask: Tensor.zeros([2, 4], dtype: .bool))
    }
    #expect(stderrText(kpm).contains("Expected key_padded_mask.shape[1] to be 3, but got 4"))
  }
}

/// A causal bool mask: true above the diagonal (PyTorch's `triu(ones, diagonal=1)`).
enum AttentionCausal {
  static func mask(_ n: Int) -> Tensor {
    let rows = (0..<n).map { i in (0..<n).map { j in j > i } }
    return Tensor(rows)
  }
}
