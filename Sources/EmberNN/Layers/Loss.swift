/// Loss functions as modules (PyTorch's `nn.MSELoss`, `nn.CrossEntropyLoss`, ...), thin over the
/// functional losses. Call them with the prediction and the target: `loss(output, target)`.
/// Class weights and `posWeight` are buffers, as in PyTorch (they appear in `stateDict()`).
open class Loss: Module {
  public let reduction: Reduction

  public init(reduction: Reduction = .mean) { self.reduction = reduction }

  /// The loss of `input` against `target`.
  open func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    preconditionFailure("\(typeName).forward(_:_:) is not implemented")
  }

  public func callAsFunction(_ input: Tensor, _ target: Tensor) -> Tensor {
    forward(input, target)
  }

  public override func forward(_ input: Tensor) -> Tensor {
    preconditionFailure("\(typeName) takes an input and a target: call loss(input, target)")
  }
}

/// `nn.MSELoss`: mean squared error.
public final class MSELoss: Loss {
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.mseLoss(input, target, reduction: reduction)
  }
}

/// `nn.L1Loss`: mean absolute error.
public final class L1Loss: Loss {
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.l1Loss(input, target, reduction: reduction)
  }
}

/// `nn.SmoothL1Loss`: squared below `beta`, absolute above.
public final class SmoothL1Loss: Loss {
  public let beta: Double
  public init(reduction: Reduction = .mean, beta: Double = 1) {
    self.beta = beta
    super.init(reduction: reduction)
  }
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.smoothL1Loss(input, target, reduction: reduction, beta: beta)
  }
}

/// `nn.HuberLoss`: squared below `delta`, linear above.
public final class HuberLoss: Loss {
  public let delta: Double
  public init(reduction: Reduction = .mean, delta: Double = 1) {
    self.delta = delta
    super.init(reduction: reduction)
  }
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.huberLoss(input, target, reduction: reduction, delta: delta)
  }
}

/// `nn.CrossEntropyLoss` on logits, with class indices or class probabilities as the target.
public final class CrossEntropyLoss: Loss {
  @Buffer public var weight: Tensor?
  public let ignoreIndex: Int
  public let labelSmoothing: Double
  public init(
    weight: Tensor? = nil, ignoreIndex: Int = -100, reduction: Reduction = .mean,
    labelSmoothing: Double = 0
  ) {
    self.weight = weight
    self.ignoreIndex = ignoreIndex
    self.labelSmoothing = labelSmoothing
    super.init(reduction: reduction)
  }
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.crossEntropy(
      input, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction,
      labelSmoothing: labelSmoothing)
  }
}

/// `nn.NLLLoss` on log-probabilities.
public final class NLLLoss: Loss {
  @Buffer public var weight: Tensor?
  public let ignoreIndex: Int
  public init(weight: Tensor? = nil, ignoreIndex: Int = -100, reduction: Reduction = .mean) {
    self.weight = weight
    self.ignoreIndex = ignoreIndex
    super.init(reduction: reduction)
  }
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.nllLoss(
      input, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction)
  }
}

/// `nn.BCELoss` on probabilities.
public final class BCELoss: Loss {
  @Buffer public var weight: Tensor?
  public init(weight: Tensor? = nil, reduction: Reduction = .mean) {
    self.weight = weight
    super.init(reduction: reduction)
  }
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.binaryCrossEntropy(input, target, weight: weight, reduction: reduction)
  }
}

/// `nn.BCEWithLogitsLoss`: sigmoid and binary cross-entropy in one stable step.
public final class BCEWithLogitsLoss: Loss {
  @Buffer public var weight: Tensor?
  /// The positive-class weight (`pos_weight` in the state dict).
  public var posWeight: Tensor? { registeredBuffer("pos_weight") }
  public init(weight: Tensor? = nil, reduction: Reduction = .mean, posWeight: Tensor? = nil) {
    self.weight = weight
    super.init(reduction: reduction)
    registerBuffer("pos_weight", posWeight)
  }
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.binaryCrossEntropyWithLogits(
      input, target, weight: weight, reduction: reduction, posWeight: posWeight)
  }
}

/// `nn.KLDivLoss`: KL divergence with log-probabilities as the input.
public final class KLDivLoss: Loss {
  public let logTarget: Bool
  public init(reduction: Reduction = .mean, logTarget: Bool = false) {
    self.logTarget = logTarget
    super.init(reduction: reduction)
  }
  public override func forward(_ input: Tensor, _ target: Tensor) -> Tensor {
    Functional.klDiv(input, target, reduction: reduction, logTarget: logTarget)
  }
}
