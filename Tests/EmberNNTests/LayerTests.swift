import EmberNN
import Testing

// Golden module tests: every case of Fixtures/layers.json (make_layer_fixtures.py, PyTorch).
// `golden` expects PyTorch's printed form, state-dict keys, shapes and dtypes, then, from
// PyTorch's initial values, its output, the gradients of the inputs and every parameter, and the
// buffers after the forward calls. `sameSeedSameWeights` runs in a child process (the global
// generator is shared with suites running in parallel): after manualSeed each layer's initial
// values are PyTorch's bit for bit, and dropout draws PyTorch's masks.

/// One family of layers and its cases.
private func family(_ layers: Set<String>) -> [String] { LayerFixtures.ids(layers) }

private func seeded(_ ids: [String]) async {
  await #expect(processExitsWith: .success) { [ids] in
    for id in ids { try checkSeededLayerCase(id) }
  }
}

private let linear = family(["Linear", "Bilinear"])
private let convolution = family(["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"])
private let pooling = family([
  "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
])
private let normalization = family(["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"])
private let embedding = family(["Embedding"])
private let dropout = family(["Dropout", "Dropout1d", "Dropout2d"])
private let activation = family([
  "ReLU", "LeakyReLU", "GELU", "SiLU", "ELU", "Softplus", "Tanh", "Sigmoid", "Softmax",
  "LogSoftmax", "Hardtanh", "ReLU6",
])
private let reshape = family(["Identity", "Flatten", "Unflatten"])
private let loss = family([
  "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
  "BCEWithLogitsLoss", "KLDivLoss",
])

@Suite struct LinearLayerTests {
  @Test(arguments: linear) func golden(_ id: String) throws { try checkLayerCase(id) }
  @Test func sameSeedSameWeights() async { await seeded(linear) }
}

@Suite struct ConvolutionLayerTests {
  @Test(arguments: convolution) func golden(_ id: String) throws { try checkLayerCase(id) }
  @Test func sameSeedSameWeights() async { await seeded(convolution) }
}

@Suite struct PoolingLayerTests {
  @Test(arguments: pooling) func golden(_ id: String) throws { try checkLayerCase(id) }
}

@Suite struct NormalizationLayerTests {
  @Test(arguments: normalization) func golden(_ id: String) throws { try checkLayerCase(id) }
  @Test func sameSeedSameWeights() async { await seeded(normalization) }
}

@Suite struct EmbeddingLayerTests {
  @Test(arguments: embedding) func golden(_ id: String) throws { try checkLayerCase(id) }
  @Test func sameSeedSameWeights() async { await seeded(embedding) }
}

@Suite struct DropoutLayerTests {
  @Test(arguments: dropout) func golden(_ id: String) throws { try checkLayerCase(id) }
  @Test func sameSeedSameMask() async { await seeded(dropout) }
}

@Suite struct ActivationLayerTests {
  @Test(arguments: activation) func golden(_ id: String) throws { try checkLayerCase(id) }
}

@Suite struct ReshapeLayerTests {
  @Test(arguments: reshape) func golden(_ id: String) throws { try checkLayerCase(id) }
}

@Suite struct LossModuleTests {
  @Test(arguments: loss) func golden(_ id: String) throws { try checkLayerCase(id) }
  @Test func buffersAreLoaded() async { await seeded(loss) }
}
