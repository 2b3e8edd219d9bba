/// Every activation as a function of `torch.nn.functional`, thin over the `Tensor` methods of
/// Tensor+Activations.swift, Tensor+UnaryMath.swift and Tensor+Softmax.swift (same kernels, same
/// `grad_fn` names). In-place forms stay methods: `try x.reluInPlace()` for `F.relu(x, inplace=True)`.
extension Functional {
  /// max(x, 0) (`F.relu`).
  public static func relu(_ input: Tensor) -> Tensor { input.relu() }

  /// min(max(x, 0), 6) (`F.relu6`; `HardtanhBackward0`, as in PyTorch).
  public static func relu6(_ input: Tensor) -> Tensor { input.relu6() }

  /// x where x > 0, else `negativeSlope * x` (`F.leaky_relu`).
  public static func leakyRelu(_ input: Tensor, negativeSlope: Double = 0.01) -> Tensor {
    input.leakyRelu(negativeSlope: negativeSlope)
  }

  /// Gaussian error linear unit (`F.gelu`), exact or with `approximate: .tanh`.
  public static func gelu(_ input: Tensor, approximate: GeluApproximation = .none) -> Tensor {
    input.gelu(approximate: approximate)
  }

  /// x * sigmoid(x) (`F.silu`).
  public static func silu(_ input: Tensor) -> Tensor { input.silu() }

  /// x where x > 0, else `alpha * (e^x - 1)` (`F.elu`).
  public static func elu(_ input: Tensor, alpha: Double = 1) -> Tensor { input.elu(alpha: alpha) }

  /// log(1 + e^(beta x)) / beta, x itself where beta x > threshold (`F.softplus`).
  public static func softplus(_ input: Tensor, beta: Double = 1, threshold: Double = 20) -> Tensor {
    input.softplus(beta: beta, threshold: threshold)
  }

  /// Hyperbolic tangent (`F.tanh`).
  public static func tanh(_ input: Tensor) -> Tensor { input.tanh() }

  /// 1 / (1 + e^-x) (`F.sigmoid`).
  public static func sigmoid(_ input: Tensor) -> Tensor { input.sigmoid() }

  /// x clamped to [minVal, maxVal] (`F.hardtanh`).
  public static func hardtanh(_ input: Tensor, minVal: Double = -1, maxVal: Double = 1) -> Tensor {
    input.hardtanh(minVal: minVal, maxVal: maxVal)
  }

  /// Softmax along `dim` (`F.softmax`); the dim is required.
  public static func softmax(_ input: Tensor, dim: Int) -> Tensor { input.softmax(dim: dim) }

  /// Log-softmax along `dim` (`F.log_softmax`); the dim is required.
  public static func logSoftmax(_ input: Tensor, dim: Int) -> Tensor {
    input.logSoftmax(dim: dim)
  }
}
