import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What RNN, LSTM and GRU share (PyTorch's `nn.RNNBase`): the configuration, the parameters
/// under PyTorch's names (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, then
/// `..._reverse`, layer by layer), their initialization and the multi-layer, bidirectional loop.
///
/// Parameters are registered by name in PyTorch's order, so `stateDict()` keys and
/// `namedParameters()` are PyTorch's and a PyTorch checkpoint loads as is. Read one with
/// `registeredParameter("weight_hh_l1_reverse")` or through ``allWeights``.
///
/// RNN, GRU and a projected LSTM write each time step with tensor ops (matrix products,
/// `sigmoid`, `tanh`, ...), so autograd, double backward and `gradcheck` go through it; the
/// input projection of a whole sequence is one matrix product per layer and direction, as
/// PyTorch's CPU path does. An LSTM without projection runs each layer and direction as one
/// fused op, `Functional.lstmLayer` (PyTorch's mkldnn RNN layer), whose backward with
/// `createGraph` differentiates the same composed ops.
public class RNNBase: Module {
  /// The recurrence (PyTorch's `mode` strings).
  public enum Mode: String, Sendable {
    case rnnTanh = "RNN_TANH"
    case rnnRelu = "RNN_RELU"
    case lstm = "LSTM"
    case gru = "GRU"
  }

  public let mode: Mode
  public let inputSize: Int
  public let hiddenSize: Int
  public let numLayers: Int
  /// Whether the layers have `bias_ih` and `bias_hh` parameters.
  public let bias: Bool
  /// Whether batched input and output are (batch, seq, feature) instead of (seq, batch, feature).
  /// The hidden states stay (layers * directions, batch, hidden) either way, as in PyTorch.
  public let batchFirst: Bool
  /// The dropout probability applied to each layer's output but the last, in training mode.
  public let dropout: Double
  public let bidirectional: Bool
  /// The size of LSTM's projected hidden state (0: no projection).
  public let projSize: Int

  /// The parameter names of each layer and direction, in order (PyTorch's `_all_weights`).
  public let allWeightNames: [[String]]

  init(
    mode: Mode, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, batchFirst: Bool,
    dropout: Double, bidirectional: Bool, projSize: Int
  ) {
    precondition(
      dropout >= 0 && dropout <= 1,
      "\(mode.typeName): dropout should be a number in range [0, 1] representing the probability of an element being zeroed"
    )
    precondition(inputSize > 0, "\(mode.typeName): input_size must be greater than zero")
    precondition(hiddenSize > 0, "\(mode.typeName): hidden_size must be greater than zero")
    precondition(numLayers > 0, "\(mode.typeName): num_layers must be greater than zero")
    precondition(
      projSize >= 0,
      "\(mode.typeName): proj_size should be a positive integer or zero to disable projections")
    precondition(
      projSize < hiddenSize, "\(mode.typeName): proj_size has to be smaller than hidden_size")
    if dropout > 0 && numLayers == 1 { RNNBase.warnDropoutWithOneLayer(dropout) }
    self.mode = mode
    self.inputSize = inputSize
    self.hiddenSize = hiddenSize
    self.numLayers = numLayers
    self.bias = bias
    self.batchFirst = batchFirst
    self.dropout = dropout
    self.bidirectional = bidirectional
    self.projSize = projSize
    let gateSize = mode.gateCount * hiddenSize
    let realHiddenSize = projSize > 0 ? projSize : hiddenSize
    let directions = bidirectional ? 2 : 1
    var names: [[String]] = []
    var params: [(String, Parameter)] = []
    for layer in 0..<numLayers {
      for direction in 0..<directions {
        let layerInputSize = layer == 0 ? inputSize : realHiddenSize * directions
        let suffix = "_l\(layer)" + (direction == 1 ? "_reverse" : "")
        var group = [
          ("weight_ih" + suffix, [gateSize, layerInputSize]),
          ("weight_hh" + suffix, [gateSize, realHiddenSize]),
        ]
        if bias { group += [("bias_ih" + suffix, [gateSize]), ("bias_hh" + suffix, [gateSize])] }
        if projSize > 0 { group.append(("weight_hr" + suffix, [projSize, hiddenSize])) }
        names.append(group.map(\.0))
        params += group.map { ($0.0, Parameter(Tensor.empty($0.1))) }
      }
    }
    allWeightNames = names
    super.init()
    for (name, p) in params { registerParameter(name, p) }
    resetParameters()
  }

  /// Every parameter drawn from U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)), in registration
  /// order, as PyTorch's `reset_parameters` (so the same seed gives PyTorch's weights).
  public func resetParameters() {
    let stdv = 1.0 / Double(hiddenSize).squareRoot()
    for p in parameters() { Init.uniform(p, a: -stdv, b: stdv) }
  }

  /// The parameters of each layer and direction (PyTorch's `all_weights`).
  public var allWeights: [[Parameter]] {
    allWeightNames.map { $0.map { registeredParameter($0)! } }
  }

  /// PyTorch's `extra_repr`: `10, 20, num_layers=2, bidirectional=True`.
  public override var extraDescription: String {
    var s = "\(inputSize), \(hiddenSize)"
    if projSize != 0 { s += ", proj_size=\(projSize)" }
    if numLayers != 1 { s += ", num_layers=\(numLayers)" }
    if !bias { s += ", bias=False" }
    if batchFirst { s += ", batch_first=True" }
    if dropout != 0 { s += ", dropout=\(pythonFloat(dropout))" }
    if bidirectional { s += ", bidirectional=True" }
    return s
  }

  var directions: Int { bidirectional ? 2 : 1 }
  /// The size of the hidden state h (projSize for a projected LSTM).
  var outputHiddenSize: Int { projSize > 0 ? projSize : hiddenSize }

  // MARK: running

  /// Checks and reshapes the input and initial state as PyTorch's forward does, runs the layers
  /// and puts the results back in the caller's layout. `h0`/`c0` are nil for zeros.
  func run(_ input: Tensor, h0: Tensor?, c0: Tensor?, hasCell: Bool) -> (
    output: Tensor, h: Tensor, c: Tensor?
  ) {
    let name = mode.typeName
    precondition(
      input.rank == 2 || input.rank == 3,
      mode == .lstm || mode == .gru
        ? "\(name): Expected input to be 2D or 3D, got \(input.rank)D instead"
        : "\(name): Expected input to be 2D or 3D, got \(input.rank)D tensor instead")
    let isBatched = input.rank == 3
    let batchDim = batchFirst ? 0 : 1
    var x = input
    var h0 = h0
    var c0 = c0
    if !isBatched {
      x = x.unsqueeze(batchDim)
      if hasCell, let h = h0, let c = c0 {
        precondition(
          h.rank == 2 && c.rank == 2,
          "\(name): For unbatched 2-D input, hx and cx should also be 2-D but got (\(h.rank)-D, \(c.rank)-D) tensors"
        )
      } else if let h = h0 {
        precondition(
          h.rank == 2,
          "\(name): For unbatched 2-D input, hx should also be 2-D but got \(h.rank)-D tensor")
      }
      h0 = h0?.unsqueeze(1)
      c0 = c0?.unsqueeze(1)
    } else if hasCell, let h = h0, let c = c0 {
      precondition(
        h.rank == 3 && c.rank == 3,
        "\(name): For batched 3-D input, hx and cx should also be 3-D but got (\(h.rank)-D, \(c.rank)-D) tensors"
      )
    } else if let h = h0 {
      precondition(
        h.rank == 3,
        "\(name): For batched 3-D input, hx should also be 3-D but got \(h.rank)-D tensor")
    }
    let weightDType = registeredParameter(allWeightNames[0][0])!.dtype
    precondition(
      x.dtype == weightDType,
      "\(name): RNN input dtype (\(x.dtype.pytorchName)) does not match weight dtype (\(weightDType.pytorchName)). Convert input: input.to(.\(weightDType)), or convert model: model.to(.\(x.dtype))"
    )
    precondition(
      x.shape[2] == inputSize,
      "\(name): input.size(-1) must be equal to input_size. Expected \(inputSize), got \(x.shape[2])"
    )
    let batch = x.shape[batchDim]
    let layers = numLayers * directions
    let expectedH = [layers, batch, outputHiddenSize]
    let expectedC = [layers, batch, hiddenSize]
    let h = h0 ?? Tensor.zeros(expectedH, dtype: x.dtype)
    let hText = hasCell ? "hidden[0] size" : "hidden size"
    precondition(
      h.shape == expectedH,
      "\(name): Expected \(hText) \(RNNBase.pythonTuple(expectedH)), got \(h.shape)")
    var c: Tensor? = nil
    if hasCell {
      let cell = c0 ?? Tensor.zeros(expectedC, dtype: x.dtype)
      precondition(
        cell.shape == expectedC,
        "\(name): Expected hidden[1] size \(RNNBase.pythonTuple(expectedC)), got \(cell.shape)")
      c = cell
    }
    if batchFirst { x = x.transpose(0, 1) }
    precondition(x.shape[0] > 0, "\(name): Expected sequence length to be larger than 0 in RNN")
    var (output, hN, cN) = runLayers(x, h: h, c: c)
    if batchFirst { output = output.transpose(0, 1) }
    if !isBatched {
      output = output.squeeze(batchDim)
      hN = hN.squeeze(1)
      cN = cN?.squeeze(1)
    }
    return (output, hN, cN)
  }

  /// The layers over a seq-first input (seq, batch, feature), with the states of every layer and
  /// direction stacked along dim 0. Dropout runs on each layer's output but the last, after both
  /// directions, drawing as PyTorch does.
  private func runLayers(_ input: Tensor, h: Tensor, c: Tensor?) -> (Tensor, Tensor, Tensor?) {
    let hs = h.unbind(dim: 0)
    let cs = c?.unbind(dim: 0)
    var layerInput = input
    var finalH: [Tensor] = []
    var finalC: [Tensor] = []
    for layer in 0..<numLayers {
      var outputs: [Tensor] = []
      for direction in 0..<directions {
        let index = layer * directions + direction
        let weights = LayerWeights(self, names: allWeightNames[index])
        let (out, hN, cN) = runDirection(
          layerInput, reverse: direction == 1, h: hs[index], c: cs?[index], weights)
        outputs.append(out)
        finalH.append(hN)
        if let cN { finalC.append(cN) }
      }
      layerInput = outputs.count == 1 ? outputs[0] : Tensor.cat(outputs, dim: 2)
      if dropout > 0 && isTraining && layer < numLayers - 1 {
        layerInput = Functional.dropout(layerInput, p: dropout)
      }
    }
    return (layerInput, Tensor.stack(finalH), c == nil ? nil : Tensor.stack(finalC))
  }

  /// One layer in one direction: the input projection of every step in one matrix product, then
  /// the recurrence step by step (PyTorch's `FullLayer` on CPU). An LSTM without projection runs
  /// as one fused op (`Functional.lstmLayer`), whose double backward differentiates the same
  /// composed ops as the code below.
  private func runDirection(
    _ x: Tensor, reverse: Bool, h h0: Tensor, c c0: Tensor?, _ w: LayerWeights
  ) -> (Tensor, Tensor, Tensor?) {
    if mode == .lstm && w.hr == nil, let c0 {
      // the fused recurrence (one node for the sequence, one GEMM per weight gradient); the
      // composed LSTM below stays for projections
      let r = Functional.lstmLayer(
        x, h0: h0, c0: c0, weightIH: w.ih, weightHH: w.hh, biasIH: w.biasIH, biasHH: w.biasHH,
        reverse: reverse)
      return (r.output, r.h, r.c)
    }
    let steps = x.shape[0]
    let batch = x.shape[1]
    // RNN and LSTM add both biases to the projection once, not at every step; GRU keeps b_hh in
    // the step, since its n gate multiplies r by (h W_hn^T + b_hn). The bias goes into the
    // GEMM (addmm).
    let stepBias = mode == .gru ? w.biasHH : nil
    var inputBias: Tensor? = w.biasIH
    if mode != .gru, let bi = w.biasIH, let bh = w.biasHH { inputBias = bi + bh }
    let projected = Functional.linear(
      x.reshape([steps * batch, x.shape[2]]), w.ih, bias: inputBias)
    // One view per step through a single node (UnbindBackward0 stacks the steps' gradients
    // once). A `select` per step made every step's backward a zero-filled gradient of the whole
    // projection, added onto the others: LSTM step (batch 32, seq 50, hidden 256, 1 thread,
    // perf) spent 40% of its samples in those adds and memsets.
    let inputParts = projected.view([steps, batch, projected.shape[1]]).unbind(dim: 0)
    let hhT = w.hh.t()
    let hrT = w.hr?.t()
    var h = h0
    var c = c0
    var outputs = [Tensor](repeating: h0, count: steps)
    for step in 0..<steps {
      let t = reverse ? steps - 1 - step : step
      let inputPart = inputParts[t]
      // RNN and LSTM: h W_hh^T + the input part as one GEMM accumulating onto the input part
      // (addmm), not a product and an add
      switch mode {
      case .rnnTanh: h = Functional.linear(h, w.hh, bias: inputPart).tanh()
      case .rnnRelu: h = Functional.linear(h, w.hh, bias: inputPart).relu()
      case .lstm:
        let gates = Functional.linear(h, w.hh, bias: inputPart).chunk(4, dim: 1)
        let i = gates[0].sigmoid()
        let f = gates[1].sigmoid()
        let g = gates[2].tanh()
        let o = gates[3].sigmoid()
        let cy = f * c! + i * g
        h = o * cy.tanh()
        if let hrT { h = h.mm(hrT) }
        c = cy
      case .gru:
        var hidden = h.mm(hhT)
        if let b = stepBias { hidden = hidden + b }
        let ig = inputPart.chunk(3, dim: 1)
        let hg = hidden.chunk(3, dim: 1)
        let r = (hg[0] + ig[0]).sigmoid()
        let z = (hg[1] + ig[1]).sigmoid()
        let n = (ig[2] + hg[2] * r).tanh()
        h = (h - n) * z + n
      }
      outputs[t] = h
    }
    return (Tensor.stack(outputs), h, c)
  }

  /// The parameters of one layer and direction, looked up by name (so a replaced parameter is
  /// used, as PyTorch's `_flat_weights` follows `setattr`).
  private struct LayerWeights {
    let ih: Parameter
    let hh: Parameter
    let biasIH: Parameter?
    let biasHH: Parameter?
    let hr: Parameter?

    init(_ m: RNNBase, names: [String]) {
      ih = m.registeredParameter(names[0])!
      hh = m.registeredParameter(names[1])!
      biasIH = m.bias ? m.registeredParameter(names[2]) : nil
      biasHH = m.bias ? m.registeredParameter(names[3]) : nil
      hr = m.projSize > 0 ? m.registeredParameter(names[names.count - 1]) : nil
    }
  }

  // MARK: helpers

  /// A shape as Python prints a tuple: `(2, 3, 4)`.
  static func pythonTuple(_ shape: [Int]) -> String {
    shape.count == 1
      ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
  }

  private static let warnedDropout = Atomic<Bool>(false)

  /// PyTorch's UserWarning for dropout on a one-layer RNN, printed once per process to stderr.
  private static func warnDropoutWithOneLayer(_ p: Double) {
    guard !warnedDropout.exchange(true, ordering: .relaxed) else { return }
    let message =
      "warning: dropout option adds dropout after all but last recurrent layer, so non-zero "
      + "dropout expects num_layers greater than 1, but got dropout=\(pythonFloat(p)) and "
      + "num_layers=1\n"
    var bytes = Array(message.utf8)
    _ = write(2, &bytes, bytes.count)
  }
}

extension RNNBase.Mode {
  /// The gates per hidden unit: 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n), 1 otherwise.
  var gateCount: Int {
    switch self {
    case .lstm: return 4
    case .gru: return 3
    case .rnnTanh, .rnnRelu: return 1
    }
  }

  /// The layer's class name, used in messages.
  var typeName: String {
    switch self {
    case .lstm: return "LSTM"
    case .gru: return "GRU"
    case .rnnTanh, .rnnRelu: return "RNN"
    }
  }
}

extension Module {
  /// Runs `body` between the forward pre-hooks and forward hooks, for calls with more than one
  /// argument or result: pre-hooks see (and may replace) the first input, forward hooks see that
  /// input and the main output tensor (and may replace the output).
  func callWithHooks<R>(
    _ input: Tensor, run body: (Tensor) -> R, output: (R) -> Tensor,
    replacingOutput: (R, Tensor) -> R
  ) -> R {
    var x = input
    for (_, hook) in forwardPreHooks {
      if let replaced = hook(self, x) { x = replaced }
    }
    var result = body(x)
    for (_, hook) in forwardHooks {
      if let replaced = hook(self, x, output(result)) { result = replacingOutput(result, replaced) }
    }
    return result
  }
}
