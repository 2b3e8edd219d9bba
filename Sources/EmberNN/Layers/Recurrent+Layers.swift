/// The recurrent layers: `nn.RNN`, `nn.LSTM` and `nn.GRU`, with PyTorch's arguments, defaults,
/// parameter names, initialization and printed forms.
///
/// Each has two calls:
/// - `layer(input)` (the ``Module`` call, hooks included) returns the output sequence only, so a
///   recurrent layer fits in a ``Sequential``;
/// - `layer(input, state)` returns PyTorch's pair: the output and the final state
///   (`let (output, hN) = gru(x, nil)`, `let (output, (hN, cN)) = lstm(x, (h0, c0))`). Pass
///   `nil` for zero initial states. This call runs the forward pre-hooks on the input and the
///   forward hooks on the input and the output sequence.
///
/// Input is (seq, batch, feature), or (batch, seq, feature) with `batchFirst`, or unbatched
/// (seq, feature); states are (layers * directions, batch, hidden), or (layers * directions,
/// hidden) for unbatched input. The output's last dim holds both directions, forward first.

/// An Elman RNN (`nn.RNN`): h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), or ReLU.
///
/// ```swift
/// let rnn = RNN(10, 20, numLayers: 2)
/// let (output, hN) = rnn(Tensor.randn(5, 3, 10), nil)   // [5, 3, 20], [2, 3, 20]
/// ```
public final class RNN: RNNBase {
  /// RNN's nonlinearity (PyTorch's `nonlinearity='tanh'` or `'relu'`).
  public enum Nonlinearity: String, Sendable {
    case tanh, relu
  }

  public let nonlinearity: Nonlinearity

  public init(
    _ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, nonlinearity: Nonlinearity = .tanh,
    bias: Bool = true, batchFirst: Bool = false, dropout: Double = 0, bidirectional: Bool = false
  ) {
    self.nonlinearity = nonlinearity
    super.init(
      mode: nonlinearity == .tanh ? .rnnTanh : .rnnRelu, inputSize: inputSize,
      hiddenSize: hiddenSize, numLayers: numLayers, bias: bias, batchFirst: batchFirst,
      dropout: dropout, bidirectional: bidirectional, projSize: 0)
  }

  /// The output sequence, from zero initial states.
  public override func forward(_ input: Tensor) -> Tensor { forward(input, nil).output }

  /// The output sequence and the final hidden state of every layer and direction, from `hx`
  /// (zeros when nil).
  public func forward(_ input: Tensor, _ hx: Tensor?) -> (output: Tensor, hidden: Tensor) {
    let r = run(input, h0: hx, c0: nil, hasCell: false)
    return (r.output, r.h)
  }

  /// ``forward(_:_:)`` with the module's hooks (PyTorch's `rnn(input, hx)`).
  public func callAsFunction(_ input: Tensor, _ hx: Tensor?) -> (output: Tensor, hidden: Tensor) {
    callWithHooks(
      input, run: { forward($0, hx) }, output: \.output, replacingOutput: { ($1, $0.hidden) })
  }
}

/// A long short-term memory layer (`nn.LSTM`), gates in PyTorch's order i, f, g, o:
/// c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t), then h_t W_hr^T with `projSize`.
///
/// ```swift
/// let lstm = LSTM(10, 20, numLayers: 2, bidirectional: true)
/// let (output, (hN, cN)) = lstm(Tensor.randn(5, 3, 10), nil)   // [5, 3, 40], [4, 3, 20] twice
/// ```
public final class LSTM: RNNBase {
  /// The hidden and cell states of every layer and direction.
  public typealias State = (h: Tensor, c: Tensor)

  public init(
    _ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, bias: Bool = true,
    batchFirst: Bool = false, dropout: Double = 0, bidirectional: Bool = false, projSize: Int = 0
  ) {
    super.init(
      mode: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
      batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, projSize: projSize)
  }

  /// The output sequence, from zero initial states.
  public override func forward(_ input: Tensor) -> Tensor { forward(input, nil).output }

  /// The output sequence and the final (h, c) of every layer and direction, from `state`
  /// (zeros when nil).
  public func forward(_ input: Tensor, _ state: State?) -> (output: Tensor, hidden: State) {
    let r = run(input, h0: state?.h, c0: state?.c, hasCell: true)
    return (r.output, (r.h, r.c!))
  }

  /// ``forward(_:_:)`` with the module's hooks (PyTorch's `lstm(input, (h0, c0))`).
  public func callAsFunction(_ input: Tensor, _ state: State?) -> (output: Tensor, hidden: State) {
    callWithHooks(
      input, run: { forward($0, state) }, output: \.output, replacingOutput: { ($1, $0.hidden) })
  }
}

/// A gated recurrent unit layer (`nn.GRU`), gates in PyTorch's order r, z, n:
/// n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
///
/// ```swift
/// let gru = GRU(10, 20, batchFirst: true)
/// let (output, hN) = gru(Tensor.randn(3, 5, 10), nil)   // [3, 5, 20], [1, 3, 20]
/// ```
public final class GRU: RNNBase {
  public init(
    _ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, bias: Bool = true,
    batchFirst: Bool = false, dropout: Double = 0, bidirectional: Bool = false
  ) {
    super.init(
      mode: .gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
      batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, projSize: 0)
  }

  /// The output sequence, from zero initial states.
  public override func forward(_ input: Tensor) -> Tensor { forward(input, nil).output }

  /// The output sequence and the final hidden state of every layer and direction, from `hx`
  /// (zeros when nil).
  public func forward(_ input: Tensor, _ hx: Tensor?) -> (output: Tensor, hidden: Tensor) {
    let r = run(input, h0: hx, c0: nil, hasCell: false)
    return (r.output, r.h)
  }

  /// ``forward(_:_:)`` with the module's hooks (PyTorch's `gru(input, hx)`).
  public func callAsFunction(_ input: Tensor, _ hx: Tensor?) -> (output: Tensor, hidden: Tensor) {
    callWithHooks(
      input, run: { forward($0, hx) }, output: \.output, replacingOutput: { ($1, $0.hidden) })
  }
}
