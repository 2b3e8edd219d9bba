/// Normalization layers: `nn.BatchNorm1d`, `nn.BatchNorm2d`, `nn.LayerNorm`, `nn.GroupNorm`.

/// PyTorch's `_BatchNorm`: per-channel normalization with running statistics as buffers
/// (`running_mean`, `running_var`, and `num_batches_tracked` as int64), updated in training mode
/// and used in evaluation mode.
public class BatchNormModule: Module {
  public let numFeatures: Int
  public let eps: Double
  /// The running statistics' update factor; nil averages over all batches seen (cumulative).
  public let momentum: Double?
  public let affine: Bool
  public let trackRunningStats: Bool
  public let weight: Parameter?
  public let bias: Parameter?
  /// The running mean, variance and batch count (`running_mean`, `running_var`,
  /// `num_batches_tracked` in the state dict, registered under PyTorch's names).
  public var runningMean: Tensor? { registeredBuffer("running_mean") }
  public var runningVar: Tensor? { registeredBuffer("running_var") }
  public var numBatchesTracked: Tensor? { registeredBuffer("num_batches_tracked") }
  let expectedRanks: [Int]

  init(
    _ numFeatures: Int, eps: Double, momentum: Double?, affine: Bool, trackRunningStats: Bool,
    dtype: DType, expectedRanks: [Int]
  ) {
    self.numFeatures = numFeatures
    self.eps = eps
    self.momentum = momentum
    self.affine = affine
    self.trackRunningStats = trackRunningStats
    self.expectedRanks = expectedRanks
    weight = affine ? Parameter(Tensor.ones([numFeatures], dtype: dtype)) : nil
    bias = affine ? Parameter(Tensor.zeros([numFeatures], dtype: dtype)) : nil
    super.init()
    if trackRunningStats {
      registerBuffer("running_mean", Tensor.zeros([numFeatures], dtype: dtype))
      registerBuffer("running_var", Tensor.ones([numFeatures], dtype: dtype))
      registerBuffer("num_batches_tracked", Tensor.zeros([], dtype: .int64))
    }
  }

  /// Running statistics back to mean 0, variance 1, no batches seen.
  public func resetRunningStats() {
    if let m = runningMean { Init.zeros(m) }
    if let v = runningVar { Init.ones(v) }
    if let n = numBatchesTracked { Init.zeros(n) }
  }

  public override func forward(_ input: Tensor) -> Tensor {
    precondition(
      expectedRanks.contains(input.rank),
      "\(typeName): expected \(expectedRanks.map { "\($0)D" }.joined(separator: " or ")) input (got \(input.rank)D input)"
    )
    var factor = momentum ?? 0
    if isTraining && trackRunningStats, let tracked = numBatchesTracked {
      Init.fill(tracked) { try $0.addInPlace(1) }
      if momentum == nil { factor = 1 / Double(tracked.item()) }
    }
    let useBatchStats = isTraining || (runningMean == nil && runningVar == nil)
    let useRunning = !isTraining || trackRunningStats
    return Functional.batchNorm(
      input, runningMean: useRunning ? runningMean : nil, runningVar: useRunning ? runningVar : nil,
      weight: weight, bias: bias, training: useBatchStats, momentum: factor, eps: eps)
  }

  public override var extraDescription: String {
    "\(numFeatures), eps=\(pythonFloat(eps)), momentum=\(momentum.map(pythonFloat) ?? "None"), affine=\(pythonBool(affine)), bias=\(pythonBool(affine)), track_running_stats=\(pythonBool(trackRunningStats))"
  }
}

/// `nn.BatchNorm1d` over [N, C] or [N, C, L].
public final class BatchNorm1d: BatchNormModule {
  public init(
    _ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
    trackRunningStats: Bool = true, dtype: DType = .defaultFloat
  ) {
    super.init(
      numFeatures, eps: eps, momentum: momentum, affine: affine,
      trackRunningStats: trackRunningStats, dtype: dtype, expectedRanks: [2, 3])
  }
}

/// `nn.BatchNorm2d` over [N, C, H, W].
public final class BatchNorm2d: BatchNormModule {
  public init(
    _ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
    trackRunningStats: Bool = true, dtype: DType = .defaultFloat
  ) {
    super.init(
      numFeatures, eps: eps, momentum: momentum, affine: affine,
      trackRunningStats: trackRunningStats, dtype: dtype, expectedRanks: [4])
  }
}

/// `nn.LayerNorm` over the last dims (`normalizedShape`), with elementwise weight and bias.
public final class LayerNorm: Module {
  public let normalizedShape: [Int]
  public let eps: Double
  public let elementwiseAffine: Bool
  public let weight: Parameter?
  public let bias: Parameter?

  public init(
    _ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true,
    bias: Bool = true, dtype: DType = .defaultFloat
  ) {
    self.normalizedShape = normalizedShape
    self.eps = eps
    self.elementwiseAffine = elementwiseAffine
    weight = elementwiseAffine ? Parameter(Tensor.ones(normalizedShape, dtype: dtype)) : nil
    self.bias =
      elementwiseAffine && bias ? Parameter(Tensor.zeros(normalizedShape, dtype: dtype)) : nil
  }

  public convenience init(
    _ normalizedShape: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true,
    dtype: DType = .defaultFloat
  ) {
    self.init(
      [normalizedShape], eps: eps, elementwiseAffine: elementwiseAffine, bias: bias, dtype: dtype)
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.layerNorm(
      input, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
  }

  public override var extraDescription: String {
    "\(pythonTuple(normalizedShape)), eps=\(pythonFloat(eps)), elementwise_affine=\(pythonBool(elementwiseAffine)), bias=\(pythonBool(bias != nil))"
  }
}

/// `nn.GroupNorm`: channels split into `numGroups`, each normalized, then a per-channel affine.
public final class GroupNorm: Module {
  public let numGroups: Int
  public let numChannels: Int
  public let eps: Double
  public let affine: Bool
  public let weight: Parameter?
  public let bias: Parameter?

  public init(
    _ numGroups: Int, _ numChannels: Int, eps: Double = 1e-5, affine: Bool = true,
    dtype: DType = .defaultFloat
  ) {
    precondition(
      numChannels % numGroups == 0, "GroupNorm: num_channels must be divisible by num_groups")
    self.numGroups = numGroups
    self.numChannels = numChannels
    self.eps = eps
    self.affine = affine
    weight = affine ? Parameter(Tensor.ones([numChannels], dtype: dtype)) : nil
    bias = affine ? Parameter(Tensor.zeros([numChannels], dtype: dtype)) : nil
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.groupNorm(input, numGroups: numGroups, weight: weight, bias: bias, eps: eps)
  }

  public override var extraDescription: String {
    "\(numGroups), \(numChannels), eps=\(pythonFloat(eps)), affine=\(pythonBool(affine)), bias=\(pythonBool(affine))"
  }
}
