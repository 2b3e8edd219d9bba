import EmberNN
import Foundation
import Testing

// The MNIST MLP and CNN (as Sequentials) and BatchNorm2d against PyTorch's record in
// Fixtures/layers.json (`models`): state-dict keys in order, shapes, dtypes and the printed
// module equal, and after manualSeed the initial weights bit for bit PyTorch's for
// torch.manual_seed and the same constructor sequence (an FNV-1a hash of every tensor's bytes).

private func mnistMLP() -> Sequential {
  Sequential(Flatten(), Linear(784, 512), ReLU(), Linear(512, 256), ReLU(), Linear(256, 10))
}

private func mnistCNN() -> Sequential {
  Sequential {
    Conv2d(1, 32, 3, padding: 1)
    ReLU()
    MaxPool2d(2)
    Conv2d(32, 64, 3, padding: 1)
    ReLU()
    MaxPool2d(2)
    Flatten()
    Linear(3136, 128)
    ReLU()
    Linear(128, 10)
  }
}

private func build(_ name: String) -> Module {
  switch name {
  case "mlp", "mlp_seed7": return mnistMLP()
  case "cnn": return mnistCNN()
  case "batchnorm2d": return BatchNorm2d(64)
  default: fatalError(name)
  }
}

private let modelNames = ["mlp", "cnn", "batchnorm2d", "mlp_seed7"]

@Suite struct ModelFixtureTests {
  @Test(arguments: modelNames)
  func stateDictAndPrintedFormArePyTorchs(_ name: String) {
    let record = LayerFixtures.model(name)
    let m = build(name)
    #expect(m.description == record["repr"] as! String)
    let expected = record["state"] as! [[String: Any]]
    let sd = m.stateDict()
    #expect(sd.keys == expected.map { $0["key"] as! String })
    for e in expected {
      let key = e["key"] as! String
      #expect(sd[key]?.shape == e["shape"] as? [Int], "\(name): shape of \(key)")
      #expect(
        sd[key]?.dtype == LayerFixtures.dtype(e["dtype"] as! String), "\(name): dtype of \(key)")
    }
  }

  @Test(arguments: modelNames)
  func sameSeedSameWeights(_ name: String) async {
    // the global generator is shared with suites running in parallel: a child process
    await #expect(processExitsWith: .success) { [name] in
      let record = LayerFixtures.model(name)
      manualSeed((record["seed"] as! NSNumber).uint64Value)
      let sd = build(name).stateDict()
      for e in record["state"] as! [[String: Any]] {
        let key = e["key"] as! String
        guard let t = sd[key] else {
          Issue.record("\(name): no \(key)")
          continue
        }
        if let first = e["first_bits"] as? [String] {
          let got = Array(LayerFixtures.bits(t.flatten()[0..<first.count]))
          #expect(got == first, "\(name): first values of \(key)")
        }
        #expect(LayerFixtures.fnv1a64(t) == e["fnv1a64"] as! String, "\(name): bits of \(key)")
      }
    }
  }

  @Test func mnistModelsRunForwardWithPyTorchsShapes() {
    let x = Tensor.zeros([2, 1, 28, 28])
    #expect(mnistMLP()(x).shape == [2, 10])
    #expect(mnistCNN()(x).shape == [2, 10])
    #expect(mnistCNN()(x).gradFn?.name == "AddmmBackward0")
  }
}

// Gradient checks in float64 through the modules: the input and every parameter against
// central differences.
@Suite struct LayerGradcheckTests {
  private func check(
    _ m: Module, _ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation,
    _ call: @escaping ([Tensor]) -> Tensor
  ) throws {
    let params = m.parameters()
    #expect(params.allSatisfy { $0.dtype == .float64 }, sourceLocation: sourceLocation)
    let ok = try gradcheck(
      { all in call(Array(all.prefix(inputs.count))) }, inputs: inputs + params)
    #expect(ok, sourceLocation: sourceLocation)
  }

  @Test func linearAndBilinear() throws {
    let lin = Linear(3, 2, dtype: .float64)
    try check(lin, [leaf64([4, 3])]) { lin($0[0]) }
    let bil = Bilinear(2, 3, 2, dtype: .float64)
    try check(bil, [leaf64([3, 2], seed: 2), leaf64([3, 3], seed: 3)]) { bil($0[0], $0[1]) }
  }

  @Test func convolutions() throws {
    let c1 = Conv1d(2, 2, 3, stride: 2, padding: 1, dtype: .float64)
    try check(c1, [leaf64([1, 2, 6])]) { c1($0[0]) }
    let c2 = Conv2d(2, 4, 2, padding: .same, dilation: 1, groups: 2, dtype: .float64)
    try check(c2, [leaf64([1, 2, 3, 3])]) { c2($0[0]) }
    let t2 = ConvTranspose2d(2, 2, 2, stride: 2, padding: 1, outputPadding: 1, dtype: .float64)
    try check(t2, [leaf64([1, 2, 2, 3])]) { t2($0[0]) }
  }

  @Test func pools() throws {
    let mp = MaxPool2d(2, stride: 1, ceilMode: true)
    try check(mp, [leaf64([1, 2, 3, 4])]) { mp($0[0]) }
    let ap = AvgPool2d(3, stride: 2, padding: 1, countIncludePad: false)
    try check(ap, [leaf64([1, 1, 4, 5])]) { ap($0[0]) }
    let aap = AdaptiveAvgPool2d([2, 3])
    try check(aap, [leaf64([1, 1, 3, 5])]) { aap($0[0]) }
  }

  @Test func normalizations() throws {
    let bn = BatchNorm1d(3, dtype: .float64)
    try check(bn, [leaf64([4, 3])]) { bn($0[0]) }
    let bn2 = BatchNorm2d(2, momentum: nil, dtype: .float64)
    try check(bn2, [leaf64([2, 2, 2, 2])]) { bn2($0[0]) }
    bn2.eval()
    try check(bn2, [leaf64([2, 2, 2, 2], seed: 5)]) { bn2($0[0]) }
    let ln = LayerNorm([2, 3], dtype: .float64)
    try check(ln, [leaf64([2, 2, 3])]) { ln($0[0]) }
    let gn = GroupNorm(2, 4, dtype: .float64)
    try check(gn, [leaf64([2, 4, 3])]) { gn($0[0]) }
  }

  @Test func embedding() throws {
    // without paddingIdx: its row's gradient is zero by definition, not the derivative (PyTorch's
    // gradcheck fails there too); the fixture checks that zero
    let e = Embedding(5, 3, dtype: .float64)
    let idx = Tensor(shape: [2, 3], scalars: [0, 1, 4, 4, 2, 1] as [Int64])
    try check(e, []) { _ in e(idx) }
    let padded = Embedding(5, 3, paddingIdx: 1, dtype: .float64)
    #expect(throws: GradcheckError.self) { try check(padded, []) { _ in padded(idx) } }
  }

  @Test func losses() throws {
    let w = Tensor(shape: [3], scalars: [0.5, 1.0, 2.0])
    let ce = CrossEntropyLoss(weight: w, ignoreIndex: 2, labelSmoothing: 0.1)
    let target = Tensor(shape: [4], scalars: [0, 2, 1, 1] as [Int64])
    try check(ce, [leaf64([4, 3])]) { ce($0[0], target) }
    let bce = BCEWithLogitsLoss(posWeight: Tensor(shape: [3], scalars: [1.5, 0.5, 2.0]))
    let probs = Tensor(shape: [2, 3], scalars: [0.1, 0.9, 0.4, 0.7, 0.2, 0.5])
    try check(bce, [leaf64([2, 3])]) { bce($0[0], probs) }
    let huber = HuberLoss(delta: 0.5)
    try check(huber, [leaf64([2, 3]), leaf64([2, 3], seed: 9)]) { huber($0[0], $0[1]) }
  }

  @Test func secondDerivativesThroughModules() throws {
    let lin = Linear(3, 2, dtype: .float64)
    let conv = Conv2d(1, 2, 2, padding: 1, dtype: .float64)
    let bn = BatchNorm1d(3, dtype: .float64)
    let ln = LayerNorm(4, dtype: .float64)
    let gn = GroupNorm(2, 4, dtype: .float64)
    let cases: [(Module, [Int], (Tensor) -> Tensor)] = [
      (lin, [2, 3], { lin($0).tanh() }), (conv, [1, 1, 3, 3], { conv($0).tanh() }),
      (bn, [4, 3], { bn($0) }), (ln, [2, 4], { ln($0) }), (gn, [2, 4, 2], { gn($0) }),
    ]
    for (m, shape, f) in cases {
      let x = leaf64(shape, seed: shape.count)
      let params = m.parameters()
      #expect(
        try gradgradcheck({ f($0[0]) }, inputs: [x] + params), "\(m.typeName) gradgradcheck")
    }
  }
}
