/// Activation functions as modules (PyTorch's `nn.ReLU`, `nn.GELU`, ...), thin over the core's
/// tensor methods. They hold no parameters; their printed forms are PyTorch's.

/// Python's `repr` of a float for printed forms: `1.0`, `0.01`, `1e-05`.
func pythonFloat(_ x: Double) -> String { "\(x)" }

/// `nn.ReLU`: max(x, 0). With `inplace`, the input is overwritten (as PyTorch's `inplace=True`).
public final class ReLU: Module, InPlaceActivation {
  public let inplace: Bool
  public init(inplace: Bool = false) { self.inplace = inplace }
  public override func forward(_ input: Tensor) -> Tensor {
    inplace ? forwardInPlace(input) : input.relu()
  }
  func forwardInPlace(_ input: Tensor) -> Tensor {
    Module.inPlace("ReLU") { try input.reluInPlace() }
  }
  public override var extraDescription: String { inplace ? "inplace=True" : "" }
}

/// `nn.LeakyReLU`: x for x >= 0, negativeSlope * x below.
public final class LeakyReLU: Module, InPlaceActivation {
  public let negativeSlope: Double
  public let inplace: Bool
  public init(negativeSlope: Double = 0.01, inplace: Bool = false) {
    self.negativeSlope = negativeSlope
    self.inplace = inplace
  }
  public override func forward(_ input: Tensor) -> Tensor {
    inplace ? forwardInPlace(input) : input.leakyRelu(negativeSlope: negativeSlope)
  }
  func forwardInPlace(_ input: Tensor) -> Tensor {
    Module.inPlace("LeakyReLU") { try input.leakyReluInPlace(negativeSlope: negativeSlope) }
  }
  public override var extraDescription: String {
    "negative_slope=\(pythonFloat(negativeSlope))" + (inplace ? ", inplace=True" : "")
  }
}

/// `nn.GELU`, exact or with the tanh approximation.
public final class GELU: Module {
  public let approximate: GeluApproximation
  public init(approximate: GeluApproximation = .none) { self.approximate = approximate }
  public override func forward(_ input: Tensor) -> Tensor { input.gelu(approximate: approximate) }
  public override var extraDescription: String {
    "approximate='\(approximate == .none ? "none" : "tanh")'"
  }
}

/// `nn.SiLU` (swish): x * sigmoid(x).
public final class SiLU: Module {
  public override init() {}
  public override func forward(_ input: Tensor) -> Tensor { input.silu() }
}

/// `nn.ELU`: x for x > 0, alpha * (exp(x) - 1) below.
public final class ELU: Module {
  public let alpha: Double
  public init(alpha: Double = 1) { self.alpha = alpha }
  public override func forward(_ input: Tensor) -> Tensor { input.elu(alpha: alpha) }
  public override var extraDescription: String { "alpha=\(pythonFloat(alpha))" }
}

/// `nn.Softplus`: log(1 + exp(beta * x)) / beta, linear above `threshold`.
public final class Softplus: Module {
  public let beta: Double
  public let threshold: Double
  public init(beta: Double = 1, threshold: Double = 20) {
    self.beta = beta
    self.threshold = threshold
  }
  public override func forward(_ input: Tensor) -> Tensor {
    input.softplus(beta: beta, threshold: threshold)
  }
  public override var extraDescription: String {
    "beta=\(pythonFloat(beta)), threshold=\(pythonFloat(threshold))"
  }
}

/// `nn.Tanh`.
public final class Tanh: Module {
  public override init() {}
  public override func forward(_ input: Tensor) -> Tensor { input.tanh() }
}

/// `nn.Sigmoid`.
public final class Sigmoid: Module {
  public override init() {}
  public override func forward(_ input: Tensor) -> Tensor { input.sigmoid() }
}

/// `nn.Softmax` along `dim`.
public final class Softmax: Module {
  public let dim: Int
  public init(dim: Int) { self.dim = dim }
  public override func forward(_ input: Tensor) -> Tensor { input.softmax(dim: dim) }
  public override var extraDescription: String { "dim=\(dim)" }
}

/// `nn.LogSoftmax` along `dim`.
public final class LogSoftmax: Module {
  public let dim: Int
  public init(dim: Int) { self.dim = dim }
  public override func forward(_ input: Tensor) -> Tensor { input.logSoftmax(dim: dim) }
  public override var extraDescription: String { "dim=\(dim)" }
}

extension Module {
  /// Runs a throwing in-place op inside a forward pass, which cannot throw: autograd misuse there
  /// (an in-place op on a leaf that requires grad, ...) stops with the error's message.
  static func inPlace(_ layer: String, _ body: () throws -> Tensor) -> Tensor {
    do { return try body() } catch { preconditionFailure("\(layer): \(error)") }
  }
}

/// `nn.Hardtanh`: x clamped to [minVal, maxVal] (records HardtanhBackward0).
public final class Hardtanh: Module {
  public let minVal: Double
  public let maxVal: Double
  public init(minVal: Double = -1, maxVal: Double = 1) {
    precondition(maxVal > minVal, "Hardtanh: max_val must be greater than min_val")
    self.minVal = minVal
    self.maxVal = maxVal
  }
  public override func forward(_ input: Tensor) -> Tensor {
    input.hardtanh(minVal: minVal, maxVal: maxVal)
  }
  public override var extraDescription: String {
    "min_val=\(pythonFloat(minVal)), max_val=\(pythonFloat(maxVal))"
  }
}

/// `nn.ReLU6`: min(max(x, 0), 6).
public final class ReLU6: Module {
  public override init() {}
  public override func forward(_ input: Tensor) -> Tensor { input.relu6() }
}
