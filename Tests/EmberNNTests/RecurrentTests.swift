import EmberNN
import Foundation
import Testing

// MARK: fixtures

/// A tensor in a fixture: shape, dtype and row-major values ("inf", "-inf", "nan" as strings).
struct FixtureTensor: Decodable, Sendable {
  let shape: [Int]
  let dtype: DType
  let values: [Double]

  /// One value: a number, a bool, or a non-finite float spelled as a string.
  private struct Value: Decodable {
    let double: Double
    init(from decoder: Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let b = try? c.decode(Bool.self) {
        double = b ? 1 : 0
      } else if let d = try? c.decode(Double.self) {
        double = d
      } else {
        let s = try c.decode(String.self)
        double = s == "nan" ? .nan : s == "inf" ? .infinity : -.infinity
      }
    }
  }

  private enum CodingKeys: String, CodingKey { case shape, dtype, values }

  init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    shape = try c.decode([Int].self, forKey: .shape)
    dtype = DType(rawValue: try c.decode(String.self, forKey: .dtype))!
    values = try c.decode([Value].self, forKey: .values).map(\.double)
  }

  /// The tensor, optionally a leaf that requires grad.
  func tensor(requiresGrad: Bool = false) -> Tensor {
    let t =
      dtype == .bool
      ? (Tensor(shape: shape, scalars: values) .!= 0)
      : Tensor(shape: shape, scalars: values).to(dtype)
    if requiresGrad { try! t.setRequiresGrad() }
    return t
  }
}

/// A parameter's name, shape and exact initial values (float32 values held exactly as doubles),
/// written as `[name, shape, values]`.
struct FixtureParameter: Decodable, Sendable {
  let name: String
  let shape: [Int]
  let values: [Double]

  init(from decoder: Decoder) throws {
    var c = try decoder.unkeyedContainer()
    name = try c.decode(String.self)
    shape = try c.decode([Int].self)
    values = try c.decode([Double].self)
  }
}

/// A state-dict entry, written as `[key, shape, dtype]`.
struct FixtureStateEntry: Decodable, Sendable {
  let key: String
  let shape: [Int]
  let dtype: String

  init(from decoder: Decoder) throws {
    var c = try decoder.unkeyedContainer()
    key = try c.decode(String.self)
    shape = try c.decode([Int].self)
    dtype = try c.decode(String.self)
  }
}

/// What every module fixture shares: the module's initial parameters after `manualSeed(seed)`,
/// its mode, printed form and state-dict layout, and the gradients of the loss.
struct ModuleFixture: Decodable, Sendable {
  let name: String
  let dtypeName: String
  let seed: UInt64
  let train: Bool
  let forwardSeed: UInt64?
  let params: [FixtureParameter]
  let grads: [String: FixtureTensor]
  let repr: String
  let stateDict: [FixtureStateEntry]

  private enum CodingKeys: String, CodingKey {
    case name, seed, train, params, grads, repr
    case dtypeName = "dtype"
    case forwardSeed = "forward_seed"
    case stateDict = "state_dict"
  }

  var dtype: DType { DType(rawValue: dtypeName)! }

  /// Tolerances for float32 (recurrences and attention, summed gradients) and float64.
  var rtol: Double { dtype == .float32 ? 1e-4 : 1e-10 }
  var atol: Double { dtype == .float32 ? 2e-5 : 1e-12 }

  /// The module's parameters after construction are PyTorch's, bit for bit and in order.
  func expectInitialParameters(_ m: Module, sourceLocation: SourceLocation = #_sourceLocation) {
    let named = m.namedParameters()
    #expect(named.map(\.name) == params.map(\.name), sourceLocation: sourceLocation)
    for (p, expected) in zip(named, params) {
      #expect(p.parameter.shape == expected.shape, "\(p.name)", sourceLocation: sourceLocation)
      #expect(p.parameter.dtype == .float32, sourceLocation: sourceLocation)
      let got = p.parameter.scalars(as: Float.self)
      let same =
        got.count == expected.values.count
        && zip(got, expected.values).allSatisfy { $0.bitPattern == Float($1).bitPattern }
      #expect(same, "\(name): \(p.name) differs from PyTorch's", sourceLocation: sourceLocation)
    }
  }

  /// State-dict keys, shapes and dtypes and the printed form equal PyTorch's.
  func expectLayout(_ m: Module, sourceLocation: SourceLocation = #_sourceLocation) {
    let sd = m.stateDict()
    #expect(sd.keys == stateDict.map(\.key), sourceLocation: sourceLocation)
    for e in stateDict {
      #expect(sd[e.key]?.shape == e.shape, "\(e.key)", sourceLocation: sourceLocation)
      #expect(sd[e.key]?.dtype.rawValue == e.dtype, "\(e.key)", sourceLocation: sourceLocation)
    }
    #expect(m.description == repr, sourceLocation: sourceLocation)
  }

  /// Every parameter's gradient equals PyTorch's.
  func expectParameterGradients(_ m: Module, sourceLocation: SourceLocation = #_sourceLocation) {
    for (pname, p) in m.namedParameters() {
      guard let expected = grads[pname] else {
        Issue.record("\(name): no fixture gradient for \(pname)", sourceLocation: sourceLocation)
        continue
      }
      expectTensor(
        p.grad, shape: expected.shape, expected.values, rtol: rtol, atol: atol,
        sourceLocation: sourceLocation)
    }
  }

  /// The fixture file's data.
  static func data(_ file: String) -> Data {
    let url = Bundle.module.url(forResource: file, withExtension: "json", subdirectory: "Fixtures")!
    return try! Data(contentsOf: url)
  }

  /// The cases of a fixture file (decoded with JSONDecoder, which reads doubles exactly).
  static func cases<Case: Decodable>(_ file: String, as: Case.Type) -> [Case] {
    try! JSONDecoder().decode(FixtureCases<Case>.self, from: data(file)).cases
  }

  /// The printed forms in rnn-cases.json's `reprs`.
  static func reprs() -> [String: String] {
    struct Root: Decodable { let reprs: [String: String] }
    return try! JSONDecoder().decode(Root.self, from: data("rnn-cases")).reprs
  }
}

/// A fixture file's `cases`.
private struct FixtureCases<Case: Decodable>: Decodable { let cases: [Case] }

/// One recurrent case of Fixtures/rnn-cases.json (written by Fixtures/make_rnn_fixtures.py,
/// which documents the fields).
struct RecurrentCase: Decodable, Sendable, CustomTestStringConvertible {
  /// PyTorch's constructor arguments.
  struct Args: Decodable, Sendable {
    let inputSize: Int
    let hiddenSize: Int
    let numLayers: Int?
    let nonlinearity: String?
    let bias: Bool?
    let batchFirst: Bool?
    let dropout: Double?
    let bidirectional: Bool?
    let projSize: Int?

    private enum CodingKeys: String, CodingKey {
      case nonlinearity, bias, dropout, bidirectional
      case inputSize = "input_size"
      case hiddenSize = "hidden_size"
      case numLayers = "num_layers"
      case batchFirst = "batch_first"
      case projSize = "proj_size"
    }
  }

  let fixture: ModuleFixture
  let module: String
  let args: Args
  let input: FixtureTensor
  let h0: FixtureTensor?
  let c0: FixtureTensor?
  let output: FixtureTensor
  let hN: FixtureTensor
  let cN: FixtureTensor?
  let wOut: FixtureTensor
  let wH: FixtureTensor
  let wC: FixtureTensor?

  private enum CodingKeys: String, CodingKey {
    case module, args, input, h0, c0, output
    case hN = "h_n"
    case cN = "c_n"
    case wOut = "w_out"
    case wH = "w_h"
    case wC = "w_c"
  }

  init(from decoder: Decoder) throws {
    fixture = try ModuleFixture(from: decoder)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    module = try c.decode(String.self, forKey: .module)
    args = try c.decode(Args.self, forKey: .args)
    input = try c.decode(FixtureTensor.self, forKey: .input)
    h0 = try c.decodeIfPresent(FixtureTensor.self, forKey: .h0)
    c0 = try c.decodeIfPresent(FixtureTensor.self, forKey: .c0)
    output = try c.decode(FixtureTensor.self, forKey: .output)
    hN = try c.decode(FixtureTensor.self, forKey: .hN)
    cN = try c.decodeIfPresent(FixtureTensor.self, forKey: .cN)
    wOut = try c.decode(FixtureTensor.self, forKey: .wOut)
    wH = try c.decode(FixtureTensor.self, forKey: .wH)
    wC = try c.decodeIfPresent(FixtureTensor.self, forKey: .wC)
  }

  var testDescription: String { fixture.name }
  var numLayers: Int { args.numLayers ?? 1 }
  var bias: Bool { args.bias ?? true }
  var batchFirst: Bool { args.batchFirst ?? false }
  var dropout: Double { args.dropout ?? 0 }
  var bidirectional: Bool { args.bidirectional ?? false }

  static func loadAll() -> [RecurrentCase] {
    ModuleFixture.cases("rnn-cases", as: RecurrentCase.self)
  }

  /// The module as PyTorch's constructor call in the fixture builds it.
  func makeModule() -> RNNBase {
    let (i, h) = (args.inputSize, args.hiddenSize)
    switch module {
    case "RNN":
      return RNN(
        i, h, numLayers: numLayers,
        nonlinearity: RNN.Nonlinearity(rawValue: args.nonlinearity ?? "tanh")!, bias: bias,
        batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional)
    case "LSTM":
      return LSTM(
        i, h, numLayers: numLayers, bias: bias, batchFirst: batchFirst, dropout: dropout,
        bidirectional: bidirectional, projSize: args.projSize ?? 0)
    default:
      return GRU(
        i, h, numLayers: numLayers, bias: bias, batchFirst: batchFirst, dropout: dropout,
        bidirectional: bidirectional)
    }
  }
}

/// Runs a recurrent module with the two-argument call: (output, hN, cN).
private func run(_ m: RNNBase, _ x: Tensor, _ h0: Tensor?, _ c0: Tensor?) -> (
  Tensor, Tensor, Tensor?
) {
  switch m {
  case let lstm as LSTM:
    let (out, (h, c)) = lstm(x, h0.map { ($0, c0!) })
    return (out, h, c)
  case let rnn as RNN:
    let (out, h) = rnn(x, h0)
    return (out, h, nil)
  case let gru as GRU:
    let (out, h) = gru(x, h0)
    return (out, h, nil)
  default: fatalError()
  }
}

// MARK: golden tests

@Suite(.isolatedGenerator) struct RecurrentGoldenTests {
  /// Same seed, same weights; outputs, final states and every gradient equal PyTorch's for
  /// RNN/LSTM/GRU in float32 and float64 (several layers, bidirectional, batch-first, no bias,
  /// unbatched, projections, dropout in eval mode and in training mode with PyTorch's masks).
  @Test(arguments: RecurrentCase.loadAll())
  func matchesPyTorch(_ c: RecurrentCase) throws {
    let f = c.fixture
    manualSeed(f.seed)
    let m = c.makeModule()
    f.expectInitialParameters(m)
    if f.dtype == .float64 { m.to(.float64) }
    m.train(f.train)
    f.expectLayout(m)

    let x = c.input.tensor(requiresGrad: true)
    let h0 = c.h0?.tensor(requiresGrad: true)
    let c0 = c.c0?.tensor(requiresGrad: true)
    if let s = f.forwardSeed { manualSeed(s) }
    let (out, hN, cN) = run(m, x, h0, c0)
    expectTensor(out, shape: c.output.shape, c.output.values, rtol: f.rtol, atol: f.atol)
    expectTensor(hN, shape: c.hN.shape, c.hN.values, rtol: f.rtol, atol: f.atol)
    if let expected = c.cN {
      expectTensor(cN, shape: expected.shape, expected.values, rtol: f.rtol, atol: f.atol)
    }
    #expect(out.dtype == f.dtype)

    var loss = (out * c.wOut.tensor()).sum() + (hN * c.wH.tensor()).sum()
    if let cN, let wC = c.wC { loss = loss + (cN * wC.tensor()).sum() }
    try loss.backward()
    let gx = f.grads["input"]!
    expectTensor(x.grad, shape: gx.shape, gx.values, rtol: f.rtol, atol: f.atol)
    if let h0, let g = f.grads["h0"] {
      expectTensor(h0.grad, shape: g.shape, g.values, rtol: f.rtol, atol: f.atol)
    }
    if let c0, let g = f.grads["c0"] {
      expectTensor(c0.grad, shape: g.shape, g.values, rtol: f.rtol, atol: f.atol)
    }
    f.expectParameterGradients(m)
  }

  @Test func fixturesCoverTheIssueConfigurations() {
    let cases = RecurrentCase.loadAll()
    #expect(cases.count == 32)
    #expect(Set(cases.map(\.module)) == ["RNN", "LSTM", "GRU"])
    #expect(cases.contains { $0.numLayers == 2 && $0.bidirectional && $0.module == "LSTM" })
    #expect(cases.contains { $0.batchFirst && !$0.bias })
    #expect(cases.contains { $0.dropout > 0 && !$0.fixture.train })
    #expect(cases.contains { $0.dropout > 0 && $0.fixture.train })
    #expect(cases.contains { $0.input.shape.count == 2 })
    #expect(Set(cases.map(\.fixture.dtype)) == [.float32, .float64])
  }
}

// MARK: API, layout and printed forms

@Suite(.isolatedGenerator) struct RecurrentModuleTests {
  @Test func twoLayerBidirectionalLSTMStateDictAndPrintedFormArePyTorchs() {
    let lstm = LSTM(3, 4, numLayers: 2, bidirectional: true)
    let expectedKeys = [
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
    ]
    let sd = lstm.stateDict()
    #expect(sd.keys == expectedKeys)
    #expect(sd["weight_ih_l0"]!.shape == [16, 3])
    #expect(sd["weight_hh_l0"]!.shape == [16, 4])
    #expect(sd["weight_ih_l1_reverse"]!.shape == [16, 8])
    #expect(sd["bias_hh_l1_reverse"]!.shape == [16])
    #expect(sd.values.allSatisfy { $0.dtype == .float32 })
    #expect(lstm.description == "LSTM(3, 4, num_layers=2, bidirectional=True)")
    #expect(lstm.allWeights.count == 4)
    #expect(lstm.allWeights[3][0] === lstm.registeredParameter("weight_ih_l1_reverse"))
    #expect(lstm.parameters().count == 16)
  }

  @Test func printedFormsArePyTorchs() {
    let reprs = ModuleFixture.reprs()
    #expect(RNN(3, 4, nonlinearity: .relu).description == reprs["rnn_relu"])
    #expect(
      LSTM(
        3, 4, numLayers: 2, bias: false, batchFirst: true, dropout: 0.5, bidirectional: true,
        projSize: 2
      ).description == reprs["lstm_all"])
    #expect(GRU(10, 20, numLayers: 3, dropout: 0.25).description == reprs["gru_dropout"])
    #expect(GRU(3, 4).description == "GRU(3, 4)")
  }

  @Test func inSequentialTheModuleCallReturnsTheOutput() {
    let model = Sequential(GRU(3, 4, batchFirst: true), Tanh())
    let y = model(Tensor.randn(2, 5, 3))
    #expect(y.shape == [2, 5, 4])
    #expect(model.stateDict().keys.first == "0.weight_ih_l0")
  }

  @Test func hooksRunOnTheTwoArgumentCall() {
    let lstm = LSTM(2, 3)
    var seen: [[Int]] = []
    lstm.registerForwardPreHook { _, x in
      seen.append(x.shape)
      return nil
    }
    lstm.registerForwardHook { _, _, y in y * 0 }
    let (out, (h, _)) = lstm(Tensor.randn(4, 1, 2), nil)
    #expect(seen == [[4, 1, 2]])
    #expect(out.toArray().allSatisfy { $0 == 0 })
    #expect(h.toArray().contains { $0 != 0 })
  }

  @Test func outputLastStepEqualsFinalHiddenForward() {
    // the forward direction's last output is its final h; the reverse one's first output is its
    let gru = GRU(2, 3, bidirectional: true)
    let (out, h) = gru(Tensor.randn(5, 2, 2), nil)
    expectClose(out[4, .all, 0..<3].toArray(), h[0].toArray(), rtol: 0, atol: 0)
    expectClose(out[0, .all, 3..<6].toArray(), h[1].toArray(), rtol: 0, atol: 0)
  }

  @Test func dropoutIsOffInEvalAndDrawsInTraining() {
    let lstm = LSTM(2, 3, numLayers: 2, dropout: 0.5)
    let x = Tensor.randn(4, 1, 2)
    lstm.eval()
    let a = lstm(x)
    let b = lstm(x)
    #expect(a.equal(b))
    lstm.train()
    manualSeed(1)
    let c = lstm(x)
    manualSeed(1)
    let d = lstm(x)
    #expect(c.equal(d))
    #expect(!c.equal(a))
  }

  @Test func replacedParameterIsUsed() throws {
    let rnn = RNN(1, 1, bias: false)
    rnn.registerParameter("weight_ih_l0", Parameter(Tensor([[2.0]])))
    rnn.registerParameter("weight_hh_l0", Parameter(Tensor([[0.0]])))
    let (out, _) = rnn(Tensor([[[0.25]], [[0.5]]]), nil)
    expectClose(out.toArray(), [Foundation.tanh(0.5), Foundation.tanh(1.0)], rtol: 1e-6)
  }
}

// MARK: gradcheck

@Suite(.isolatedGenerator) struct RecurrentGradcheckTests {
  /// A module in float64 with the inputs and parameters gradcheck perturbs.
  private func check(_ m: RNNBase, input: [Int], state: Bool) throws {
    m.to(.float64)
    let x = leaf64(input, seed: 3)
    let batched = input.count == 3
    let b = batched ? [m.batchFirst ? input[0] : input[1]] : []
    let d = m.bidirectional ? 2 : 1
    let hSize = m.projSize > 0 ? m.projSize : m.hiddenSize
    let h0 = state ? leaf64([m.numLayers * d] + b + [hSize], seed: 4) : nil
    let c0 = state && m is LSTM ? leaf64([m.numLayers * d] + b + [m.hiddenSize], seed: 5) : nil
    let inputs = [x] + [h0, c0].compactMap { $0 } + m.parameters()
    try gradcheck(
      { _ in
        let (out, h, c) = run(m, x, h0, c0)
        return [out, h] + (c.map { [$0] } ?? [])
      }, inputs: inputs)
  }

  @Test func rnnTanhAndRelu() throws {
    manualSeed(0)
    try check(RNN(2, 3, numLayers: 2, bidirectional: true), input: [3, 2, 2], state: true)
    try check(RNN(2, 2, nonlinearity: .relu, batchFirst: true), input: [2, 3, 2], state: false)
  }

  @Test func lstmBidirectionalAndProjected() throws {
    manualSeed(1)
    try check(LSTM(2, 3, numLayers: 2, bidirectional: true), input: [3, 1, 2], state: true)
    try check(LSTM(2, 3, projSize: 2), input: [3, 2], state: true)
  }

  @Test func gruTwoLayersWithoutBias() throws {
    manualSeed(2)
    try check(GRU(2, 3, numLayers: 2, bias: false), input: [3, 2, 2], state: true)
  }

  @Test func gradgradcheckThroughLSTM() throws {
    manualSeed(3)
    let lstm = LSTM(2, 2).to(.float64)
    let x = leaf64([2, 1, 2], seed: 6)
    try gradgradcheck({ xs in lstm(xs[0]).sum(dim: 0) }, inputs: [x])
  }
}

// MARK: bad input

@Suite(.isolatedGenerator) struct RecurrentErrorTests {
  @Test func wrongInputRankAndSize() async {
    let rank = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = LSTM(3, 4)(Tensor.zeros(1, 2, 3, 4))
    }
    #expect(stderrText(rank).contains("LSTM: Expected input to be 2D or 3D, got 4D instead"))
    let size = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = GRU(3, 4)(Tensor.zeros(5, 2, 4))
    }
    #expect(
      stderrText(size).contains(
        "input.size(-1) must be equal to input_size. Expected 3, got 4"))
  }

  @Test func wrongHiddenShapeNamesBoth() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = RNN(3, 4, numLayers: 2)(Tensor.zeros(5, 2, 3), Tensor.zeros(2, 3, 4))
    }
    #expect(stderrText(result).contains("Expected hidden size (2, 2, 4), got [2, 3, 4]"))
    let cell = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = LSTM(3, 4)(Tensor.zeros(5, 2, 3), (Tensor.zeros(1, 2, 4), Tensor.zeros(1, 2, 5)))
    }
    #expect(stderrText(cell).contains("Expected hidden[1] size (1, 2, 4), got [1, 2, 5]"))
    let rank = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = GRU(3, 4)(Tensor.zeros(5, 3), Tensor.zeros(1, 2, 4))
    }
    #expect(
      stderrText(rank).contains(
        "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"))
  }

  @Test func dtypeMismatchSaysHowToConvert() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = RNN(3, 4)(Tensor.zeros([5, 2, 3], dtype: .float64))
    }
    #expect(
      stderrText(result).contains(
        "RNN input dtype (torch.float64) does not match weight dtype (torch.float32)"))
  }

  @Test func badConstructorArguments() async {
    let dropout = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = LSTM(3, 4, numLayers: 2, dropout: 1.5)
    }
    #expect(stderrText(dropout).contains("dropout should be a number in range [0, 1]"))
    let proj = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = LSTM(3, 4, projSize: 4)
    }
    #expect(stderrText(proj).contains("proj_size has to be smaller than hidden_size"))
  }
}
