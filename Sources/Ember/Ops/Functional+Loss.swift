/// How a loss reduces its per-element values: PyTorch's `reduction=` string as an enum.
///
/// `.none` is PyTorch's `'none'`. Every `reduction:` parameter is a plain (non-optional)
/// `Reduction`, so `reduction: .none` always means this case, never `Optional.none`.
public enum Reduction: String, Sendable {
  /// Per-element losses, unreduced (`'none'`).
  case none
  /// The mean over all elements (`'mean'`, the default); weighted losses divide by the weights.
  case mean
  /// The sum over all elements (`'sum'`).
  case sum
  /// The sum divided by the batch size (`'batchmean'`), for ``Functional/klDiv(_:_:reduction:logTarget:)`` only.
  case batchMean = "batchmean"
}

// Regression and binary losses. Those PyTorch runs as one op (mse, smooth L1, Huber, binary
// cross-entropy with and without logits) record one node with its PyTorch name, whose backward rule
// is written with tensor ops (so double backward works); the ones PyTorch composes (l1_loss,
// kl_div) are composed the same way here, so their `grad_fn` names are PyTorch's too.
extension Functional {
  /// Mean squared error (`F.mse_loss`; `MseLossBackward0`). A target of another shape is
  /// broadcast, with PyTorch's warning.
  public static func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean)
    -> Tensor
  {
    checkReduction(reduction)
    let (x, t) = broadcastForLoss(input, target)
    return pointwiseLoss(
      "MseLossBackward0", x, t, reduction: reduction,
      value: { x, t in (x - t).square() },
      derivative: { x, t, g in
        let d = (x - t) * g * 2
        return (d, -d)
      })
  }

  /// Mean absolute error (`F.l1_loss`), composed as PyTorch composes it: `abs` then the
  /// reduction (`AbsBackward0`, `MeanBackward0`, `SumBackward0`).
  public static func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean)
    -> Tensor
  {
    checkReduction(reduction)
    let (x, t) = broadcastForLoss(input, target)
    return reduce((x - t).abs(), reduction)
  }

  /// Smooth L1 loss (`F.smooth_l1_loss`; `SmoothL1LossBackward0`): `0.5 d² / beta` where
  /// `|d| < beta`, else `|d| - 0.5 beta`. `beta: 0` is the L1 loss, as in PyTorch.
  public static func smoothL1Loss(
    _ input: Tensor, _ target: Tensor, reduction: Reduction = .mean, beta: Double = 1
  ) -> Tensor {
    checkReduction(reduction)
    if beta == 0 { return l1Loss(input, target, reduction: reduction) }
    precondition(beta > 0, "smooth_l1_loss does not support negative values for beta.")
    let (x, t) = broadcastForLoss(input, target)
    return pointwiseLoss(
      "SmoothL1LossBackward0", x, t, reduction: reduction,
      value: { x, t in
        let z = (x - t).abs()
        return Tensor.where(z .< beta, z * 0.5 * z / beta, z - 0.5 * beta)
      },
      derivative: { x, t, g in
        let d = x - t
        let slope = Tensor.where(d.abs() .< beta, d / beta, d.sign())
        let dx = slope * g
        return (dx, -dx)
      })
  }

  /// Huber loss (`F.huber_loss`; `HuberLossBackward0`): `0.5 d²` where `|d| < delta`, else
  /// `delta (|d| - 0.5 delta)`.
  public static func huberLoss(
    _ input: Tensor, _ target: Tensor, reduction: Reduction = .mean, delta: Double = 1
  ) -> Tensor {
    checkReduction(reduction)
    precondition(delta > 0, "huber_loss does not support non-positive values for delta.")
    let (x, t) = broadcastForLoss(input, target)
    return pointwiseLoss(
      "HuberLossBackward0", x, t, reduction: reduction,
      value: { x, t in
        let z = (x - t).abs()
        return Tensor.where(z .< delta, z * z * 0.5, (z - 0.5 * delta) * delta)
      },
      derivative: { x, t, g in
        let d = x - t
        let slope = Tensor.where(d.abs() .< delta, d, d.sign() * delta)
        let dx = slope * g
        return (dx, -dx)
      })
  }

  /// Binary cross-entropy of probabilities (`F.binary_cross_entropy`;
  /// `BinaryCrossEntropyBackward0`): `-w (t log x + (1 - t) log(1 - x))`, each log clamped at
  /// -100 as in PyTorch. `weight` is broadcast to the input's shape.
  public static func binaryCrossEntropy(
    _ input: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean
  ) -> Tensor {
    checkReduction(reduction)
    precondition(
      target.shape == input.shape,
      "Using a target size (\(torchSize(target.shape))) that is different to the input size (\(torchSize(input.shape))) is deprecated. Please ensure they have the same size."
    )
    let inRange = withNoGrad { ((input .>= 0).logicalAnd(input .<= 1)).all().item() != 0 }
    precondition(inRange, "all elements of input should be between 0 and 1")
    let w = weight.map { $0.detach().expand(input.shape) }
    return pointwiseLoss(
      "BinaryCrossEntropyBackward0", input, target, weight: w, reduction: reduction,
      value: { x, t in
        (t - 1) * (-x).log1p().clamp(min: -100) - t * x.log().clamp(min: -100)
      },
      derivative: { x, t, g in
        let dx = g * (x - t) / ((1 - x) * x).clamp(min: 1e-12)
        // d/dt is -logit(x)
        let dt = g * ((1 - x).log() - x.log())
        return (dx, dt)
      })
  }

  /// Binary cross-entropy of logits (`F.binary_cross_entropy_with_logits`;
  /// `BinaryCrossEntropyWithLogitsBackward0`), computed stably through log-sigmoid.
  /// `posWeight` weighs the positive term (one value per class, broadcast over the last dim);
  /// `weight` weighs each element. Neither receives a gradient.
  public static func binaryCrossEntropyWithLogits(
    _ input: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean,
    posWeight: Tensor? = nil
  ) -> Tensor {
    checkReduction(reduction)
    precondition(
      target.shape == input.shape,
      "Target size (\(torchSize(target.shape))) must be the same as input size (\(torchSize(input.shape)))"
    )
    let pw = posWeight?.detach()
    return pointwiseLoss(
      "BinaryCrossEntropyWithLogitsBackward0", input, target, weight: weight?.detach(),
      reduction: reduction,
      value: { x, t in
        var logSig = logSigmoid(x)
        if let pw { logSig = logSig * ((pw - 1) * t + 1) }
        return (1 - t) * x - logSig
      },
      derivative: { x, t, g in
        let dx: Tensor
        let dt: Tensor
        if let pw {
          let pt = pw * t
          dx = (pt + 1 - t) * x.sigmoid() - pt
          dt = logSigmoid(-x) - logSigmoid(x) * pw
        } else {
          dx = x.sigmoid() - t
          dt = -x
        }
        return (dx * g, dt * g)
      })
  }

  /// Kullback-Leibler divergence (`F.kl_div`) of `target` from the log-probabilities `input`:
  /// `target (log target - input)`, or `exp(target) (target - input)` with `logTarget`. Composed
  /// as in PyTorch. `.mean` divides by the element count (PyTorch warns about it); `.batchMean`
  /// divides the sum by the batch size, the mathematical KL divergence.
  public static func klDiv(
    _ input: Tensor, _ target: Tensor, reduction: Reduction = .mean, logTarget: Bool = false
  ) -> Tensor {
    let pointwise: Tensor
    if logTarget {
      pointwise = target.exp() * (target - input)
    } else {
      // xlogy(t, t) - t * input, with 0 log 0 = 0 (the log reads 1 where t is 0, so no NaN
      // reaches the gradient)
      let safe = Tensor.where(target .== 0, Tensor.ones([], dtype: target.dtype), target)
      pointwise = target * safe.log() - target * input
    }
    switch reduction {
    case .batchMean:
      if input.rank == 0 { return pointwise.sum() }
      return pointwise.sum() / Double(input.shape[0])
    case .mean:
      warnOnce(
        "kl_div mean",
        "reduction: 'mean' divides the total loss by both the batch size and the support size.'batchmean' divides only by the batch size, and aligns with the KL div math definition.'mean' will be changed to behave the same as 'batchmean' in the next major release."
      )
      return pointwise.mean()
    case .none, .sum:
      return reduce(pointwise, reduction)
    }
  }
}

// MARK: - shared pieces

extension Functional {
  /// PyTorch's `torch.Size([2, 3])` spelling of a shape, as its messages print it.
  static func torchSize(_ shape: [Int]) -> String { "torch.Size(\(shape))" }

  /// Stops for `.batchMean` outside `klDiv`, with PyTorch's message.
  static func checkReduction(_ reduction: Reduction) {
    precondition(
      reduction != .batchMean, "\(reduction.rawValue) is not a valid value for reduction")
  }

  /// Applies a reduction to per-element losses with tensor ops (for composed losses).
  static func reduce(_ loss: Tensor, _ reduction: Reduction) -> Tensor {
    switch reduction {
    case .none: return loss
    case .mean: return loss.mean()
    case .sum: return loss.sum()
    case .batchMean: preconditionFailure("batchmean is not a valid value for reduction")
    }
  }

  /// log(sigmoid(x)) computed stably: min(x, 0) - log1p(e^-|x|).
  static func logSigmoid(_ x: Tensor) -> Tensor {
    x.clamp(max: 0) - (-x.abs()).exp().log1p()
  }

  /// Input and target broadcast to one shape, with PyTorch's warning when the shapes differ
  /// (mse, l1, smooth L1 and Huber losses).
  static func broadcastForLoss(_ input: Tensor, _ target: Tensor) -> (Tensor, Tensor) {
    if input.shape == target.shape { return (input, target) }
    warnOnce(
      "loss size \(input.shape) \(target.shape)",
      "Using a target size (\(torchSize(target.shape))) that is different to the input size (\(torchSize(input.shape))). This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size."
    )
    let shape = Shape.broadcast(input.shape, target.shape, op: "loss")
    return (input.expand(shape), target.expand(shape))
  }

  /// A loss PyTorch computes as one op: `value` gives the per-element losses (run without
  /// history), and `derivative(x, t, g)` the gradients for input and target given the gradient
  /// `g` of each element's loss. One node named `name` is recorded; its rule is the tensor ops of
  /// `derivative`, so it can be differentiated again. `weight` (already broadcastable) multiplies
  /// each element and receives no gradient.
  static func pointwiseLoss(
    _ name: String, _ input: Tensor, _ target: Tensor, weight: Tensor? = nil,
    reduction: Reduction,
    value: (Tensor, Tensor) -> Tensor,
    derivative: @escaping (Tensor, Tensor, Tensor) -> (Tensor, Tensor)
  ) -> Tensor {
    let out = withNoGrad {
      var l = value(input.detach(), target.detach())
      if let weight { l = l * weight }
      return reduce(l, reduction)
    }
    guard Tensor.needsGrad(input, target) else { return out }
    let count = Double(Shape.count(Shape.broadcast(input.shape, target.shape, op: name)))
    let (inShape, targetShape) = (input.shape, target.shape)
    var saving = [input, target]
    if let weight { saving.append(weight) }
    Tensor.record(name, inputs: [input, target], outputs: [out], saving: saving) { ctx in
      let x = try ctx.saved(0)
      let t = try ctx.saved(1)
      var g = reduction == .mean ? ctx.grad / count : ctx.grad
      if weight != nil { g = g * (try ctx.saved(2)) }
      let (dx, dt) = derivative(x, t, g)
      return [
        ctx.needsInputGrad(0) ? dx.sumTo(inShape) : nil,
        ctx.needsInputGrad(1) ? dt.sumTo(targetShape) : nil,
      ]
    }
    return out
  }

  /// Prints a PyTorch `UserWarning` to stderr once per process and key.
  static func warnOnce(_ key: String, _ message: String) { Warnings.once(key, message) }
}
