/// The class-index losses: `nllLoss` (one kernel forward, `NllLossBackward0` /
/// `NllLoss2DBackward0`) and `crossEntropy`, composed from `logSoftmax` and `nllLoss` exactly as
/// PyTorch composes `cross_entropy` (also for class probabilities and label smoothing).
extension Functional {
  /// Negative log-likelihood of the log-probabilities `input` at the class indices `target`
  /// (`F.nll_loss`).
  ///
  /// `input` is `[C]`, `[N, C]` or `[N, C, d1, ...]`; `target` (int64) is `[]`, `[N]` or
  /// `[N, d1, ...]`. `weight` (one value per class) scales each term and, for `.mean`, the
  /// divisor is the sum of the weights used. Positions whose target is `ignoreIndex` count
  /// nothing. A target outside `0..<C` stops with PyTorch's "Target 10 is out of bounds.".
  /// `weight` receives no gradient (PyTorch does not implement one either).
  public static func nllLoss(
    _ input: Tensor, _ target: Tensor, weight: Tensor? = nil, ignoreIndex: Int = -100,
    reduction: Reduction = .mean
  ) -> Tensor {
    checkReduction(reduction)
    precondition(input.rank >= 1, "Expected 1 or more dimensions (got \(input.rank))")
    if input.rank != 1 {
      let batch = target.shape.first ?? 1
      precondition(
        input.shape[0] == batch,
        "Expected input batch_size (\(input.shape[0])) to match target batch_size (\(batch)).")
    }
    switch input.rank {
    case 1, 2:
      precondition(
        target.rank <= 1, "0D or 1D target tensor expected, multi-target not supported")
      return nllCore(
        input, target, weight, ignoreIndex, reduction, name: "NllLossBackward0")
    case 4:
      precondition(
        target.rank == 3,
        "only batches of spatial targets supported (3D tensors) but got targets of dimension: \(target.rank)"
      )
      precondition(
        input.shape[0] == target.shape[0] && input.shape[2] == target.shape[1]
          && input.shape[3] == target.shape[2],
        "size mismatch (got input: \(input.shape) , target: \(target.shape)")
      return nllCore(
        input, target, weight, ignoreIndex, reduction, name: "NllLoss2DBackward0")
    default:
      // rank 3 or 5+: viewed as [N, C, 1, L] and run as the 2-D loss, as in PyTorch
      let (n, c) = (input.shape[0], input.shape[1])
      let spatial = Array(input.shape[2...])
      let outSize = [n] + spatial
      precondition(
        Array(target.shape.dropFirst()) == spatial,
        "Expected target size \(outSize), got \(target.shape)")
      let l = Shape.count(spatial)
      let x = input.contiguous().view([n, c, 1, l])
      let t = target.contiguous().view([n, 1, l])
      let out = nllCore(x, t, weight, ignoreIndex, reduction, name: "NllLoss2DBackward0")
      return reduction == .none ? out.view(outSize) : out
    }
  }

  /// Cross-entropy between the logits `input` and `target` (`F.cross_entropy`).
  ///
  /// `target` holds class indices (int64, `input`'s shape without the class dim 1) or class
  /// probabilities (floating point, `input`'s shape). `weight`, `ignoreIndex` and `reduction`
  /// act as in ``nllLoss(_:_:weight:ignoreIndex:reduction:)``; `labelSmoothing` in [0, 1]
  /// mixes the target with the uniform distribution. Class indices give
  /// `NllLossBackward0` over `LogSoftmaxBackward0`, as in PyTorch.
  public static func crossEntropy(
    _ input: Tensor, _ target: Tensor, weight: Tensor? = nil, ignoreIndex: Int = -100,
    reduction: Reduction = .mean, labelSmoothing: Double = 0
  ) -> Tensor {
    checkReduction(reduction)
    let classDim = input.rank == 1 ? 0 : 1
    if input.shape == target.shape {
      precondition(
        target.dtype.isFloatingPoint,
        "Expected floating point type for target with class probabilities, got \(target.dtype.torchName)"
      )
      precondition(ignoreIndex < 0, "ignore_index is not supported for floating point target")
      return crossEntropyProbabilities(
        input, target, weight: weight, reduction: reduction, labelSmoothing: labelSmoothing)
    }
    if labelSmoothing > 0 {
      precondition(
        labelSmoothing <= 1,
        "label_smoothing must be between 0.0 and 1.0. Got: \(labelSmoothing)")
      return crossEntropyLabelSmoothing(
        input, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction,
        labelSmoothing: labelSmoothing)
    }
    return nllLoss(
      input.logSoftmax(dim: classDim), target, weight: weight, ignoreIndex: ignoreIndex,
      reduction: reduction)
  }

  // MARK: cross-entropy compositions (PyTorch's LossNLL.cpp)

  private static func crossEntropyProbabilities(
    _ input: Tensor, _ target: Tensor, weight: Tensor?, reduction: Reduction,
    labelSmoothing: Double
  ) -> Tensor {
    let classDim = input.rank == 1 ? 0 : 1
    let classes = input.shape[classDim]
    if let weight {
      precondition(
        weight.rank == 1 && weight.count == classes,
        "cross_entropy: weight tensor should be defined either for all \(classes) classes or no classes but got weight tensor of shape: \(weight.shape)"
      )
    }
    let logProbs = input.logSoftmax(dim: classDim)
    var t = target
    if labelSmoothing > 0 {
      precondition(
        labelSmoothing <= 1,
        "label_smoothing must be between 0.0 and 1.0. Got: \(labelSmoothing)")
      t = target * (1 - labelSmoothing) + labelSmoothing / Double(classes)
    }
    var terms = logProbs * t
    if let weight {
      terms = terms * (input.rank > 1 ? classBroadcast(weight, rank: input.rank) : weight)
    }
    switch reduction {
    case .mean:
      if input.count == 0 { return -terms.sum() * Double.nan }
      // PyTorch's C++ divides by a Scalar here (DivBackward1)
      return (-terms.sum()).div(.float(Double(input.count / classes)), node: "DivBackward1")
    case .sum: return -terms.sum()
    case .none: return -terms.sum(dim: classDim)
    case .batchMean: preconditionFailure("batchmean is not a valid value for reduction")
    }
  }

  private static func crossEntropyLabelSmoothing(
    _ input: Tensor, _ target: Tensor, weight: Tensor?, ignoreIndex: Int, reduction: Reduction,
    labelSmoothing: Double
  ) -> Tensor {
    let classDim = input.rank == 1 ? 0 : 1
    let logProbs = input.logSoftmax(dim: classDim)
    let nll = nllLoss(
      logProbs, target, weight: weight, ignoreIndex: ignoreIndex, reduction: reduction)
    let classes = input.shape[classDim]
    var smooth: Tensor
    if let weight {
      smooth = -(logProbs * classBroadcast(weight, rank: input.rank, classDim: classDim)).sum(
        dim: classDim)
    } else {
      smooth = -logProbs.sum(dim: classDim)
    }
    let ignored = target .== Double(ignoreIndex)
    smooth = smooth.maskedFill(ignored, 0)
    let reduced: Tensor
    switch reduction {
    case .mean:
      if let weight {
        let kept = target[ignored.logicalNot()].flatten()
        reduced = smooth.sum() / weight.indexSelect(dim: 0, index: kept).sum()
      } else {
        reduced = smooth.sum() / ignored.logicalNot().sum().to(smooth.dtype)
      }
    case .sum: reduced = smooth.sum()
    case .none: reduced = smooth
    case .batchMean: preconditionFailure("batchmean is not a valid value for reduction")
    }
    return (1 - labelSmoothing) * nll + reduced * (labelSmoothing / Double(classes))
  }

  /// `weight` ([C]) viewed so it broadcasts along `classDim` of a rank-`rank` tensor.
  private static func classBroadcast(_ weight: Tensor, rank: Int, classDim: Int = 1) -> Tensor {
    var shape = [Int](repeating: 1, count: rank)
    shape[classDim] = weight.shape[0]
    return weight.view(shape)
  }

  // MARK: the NLL node

  /// The 1-D, 2-D and 2-D-spatial NLL op: input `[C]`, `[N, C]` or `[N, C, H, W]`.
  private static func nllCore(
    _ input: Tensor, _ target: Tensor, _ weight: Tensor?, _ ignoreIndex: Int,
    _ reduction: Reduction, name: String
  ) -> Tensor {
    precondition(
      input.dtype.isFloatingPoint,
      "nll_loss: expected a floating-point input, got \(input.dtype) (shape \(input.shape))")
    precondition(
      target.dtype == .int64,
      "expected target dtype to be Long or Byte, but got \(target.dtype.torchName)")
    let classDim = input.rank == 1 ? 0 : 1
    let classes = input.shape[classDim]
    if let weight {
      precondition(
        weight.rank == 1 && weight.count == classes,
        "weight tensor should be defined either for all \(classes) classes or no classes but got weight tensor of shape: \(weight.shape)"
      )
    }
    let outer = input.rank == 1 ? 1 : input.shape[0]
    let inner = input.rank <= 2 ? 1 : Shape.count(Array(input.shape[2...]))
    let lossShape = input.rank == 1 ? [] : target.shape
    let dtype = input.dtype
    let x = input.contiguousCopyIfNeeded()
    let t = target.contiguousCopyIfNeeded()
    let w = weight.map { $0.to(dtype).contiguousCopyIfNeeded() }
    let losses = Tensor(uninitializedShape: lossShape, dtype: dtype)
    let weights = Tensor(uninitializedShape: lossShape, dtype: dtype)
    let safe = Tensor(uninitializedShape: lossShape, dtype: .int64)
    precondition(
      t.count == outer * inner,
      "size mismatch (got input: \(input.shape), target: \(target.shape))")
    func run<T: FloatScalar>(_: T.Type) -> (lossSum: Double, weightSum: Double) {
      withExtendedLifetime((x, t, w)) {
        LossKernel.nll(
          input: x.basePointer(T.self), target: t.basePointer(Int64.self),
          weight: w.map { UnsafePointer($0.basePointer(T.self)) }, outer: outer,
          classes: classes, inner: inner, ignoreIndex: Int64(ignoreIndex),
          losses: losses.basePointer(T.self), weights: weights.basePointer(T.self),
          safeTarget: safe.basePointer(Int64.self))
      }
    }
    let (lossSum, weightSum) = dtype == .float32 ? run(Float.self) : run(Double.self)
    let out: Tensor
    switch reduction {
    case .none: out = losses
    case .sum: out = Tensor.full([], lossSum, dtype: dtype)
    case .mean:
      out = Tensor.full([], t.count == 0 ? .nan : lossSum / weightSum, dtype: dtype)
    case .batchMean: preconditionFailure("batchmean is not a valid value for reduction")
    }
    if Tensor.needsGrad(input) {
      var indexShape = input.shape
      indexShape[classDim] = 1
      let inputShape = input.shape
      Tensor.record(name, inputs: [input], outputs: [out], saving: [weights, safe]) { ctx in
        let wts = try ctx.saved(0)
        let index = try ctx.saved(1).reshape(indexShape)
        var src = wts.rsub(0) * ctx.grad
        if reduction == .mean { src = src / weightSum }
        let grad = Tensor.zeros(inputShape, dtype: ctx.grad.dtype).scatter(
          dim: classDim, index: index, src: src.reshape(indexShape))
        return [grad]
      }
    }
    return out
  }
}
