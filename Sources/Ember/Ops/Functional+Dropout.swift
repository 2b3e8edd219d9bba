/// Dropout in its PyTorch forms (`F.dropout`, `dropout1d/2d/3d`, `alpha_dropout`,
/// `feature_alpha_dropout`), drawing its masks exactly as PyTorch's CPU kernels do, so that the
/// same seed gives the same mask bit for bit.
///
/// As in PyTorch (`aten/src/ATen/native/Dropout.cpp`), the mask is
/// `noise = empty_like(input).bernoulli_(1 - p); noise.div_(1 - p)` and the result
/// `input * noise`, so the result's `grad_fn` is `MulBackward0`. `p == 0`, evaluation mode and
/// empty inputs return the input itself; `p == 1` multiplies by a zero scalar. The noise is drawn
/// in the input's memory order (PyTorch's `empty_like` keeps a dense input's strides).
extension Functional {
  /// Zeroes each element with probability `p` and scales the others by `1 / (1 - p)`
  /// (`F.dropout`). Only active when `training` is true (the default, as in PyTorch).
  public static func dropout(
    _ input: Tensor, p: Double = 0.5, training: Bool = true, generator: Generator? = nil
  ) -> Tensor {
    checkDropout(p)
    return dropoutImpl(input, p: p, training: training, feature: false, alpha: false, generator)
  }

  /// Zeroes whole channels of `[N, C, L]` (or unbatched `[C, L]`) with probability `p`
  /// (`F.dropout1d`).
  public static func dropout1d(
    _ input: Tensor, p: Double = 0.5, training: Bool = true, generator: Generator? = nil
  ) -> Tensor {
    checkDropout(p)
    precondition(
      input.rank == 2 || input.rank == 3,
      "dropout1d: Expected 2D or 3D input, but received a \(input.rank)D input. Note that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
    )
    return featureDropout(input, p: p, training: training, batched: input.rank == 3, generator)
  }

  /// Zeroes whole channels of `[N, C, H, W]` with probability `p` (`F.dropout2d`). As in
  /// PyTorch, a 3-D input is read as `[N, C, L]` (channel-wise 1-D dropout).
  public static func dropout2d(
    _ input: Tensor, p: Double = 0.5, training: Bool = true, generator: Generator? = nil
  ) -> Tensor {
    checkDropout(p)
    if input.rank != 3 && input.rank != 4 {
      warnOnce(
        "dropout2d rank \(input.rank)",
        "dropout2d: Received a \(input.rank)-D input to dropout2d, which is deprecated and will result in an error in a future release. To retain the behavior and silence this warning, please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs)."
      )
    }
    if input.rank == 3 {
      warnOnce(
        "dropout2d 3D",
        "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will change in a future release to interpret the input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead."
      )
    }
    return dropoutImpl(input, p: p, training: training, feature: true, alpha: false, generator)
  }

  /// Zeroes whole channels of `[N, C, D, H, W]` (or unbatched `[C, D, H, W]`) with probability
  /// `p` (`F.dropout3d`).
  public static func dropout3d(
    _ input: Tensor, p: Double = 0.5, training: Bool = true, generator: Generator? = nil
  ) -> Tensor {
    checkDropout(p)
    if input.rank != 4 && input.rank != 5 {
      warnOnce(
        "dropout3d rank \(input.rank)",
        "dropout3d: Received a \(input.rank)-D input to dropout3d, which is deprecated and will result in an error in a future release. To retain the behavior and silence this warning, please use dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs)."
      )
    }
    return featureDropout(input, p: p, training: training, batched: input.rank == 5, generator)
  }

  /// Alpha dropout for SELU networks (`F.alpha_dropout`): keeps the mean and variance of its
  /// input. Note PyTorch's default `training: false` for this function.
  public static func alphaDropout(
    _ input: Tensor, p: Double = 0.5, training: Bool = false, generator: Generator? = nil
  ) -> Tensor {
    checkDropout(p)
    return dropoutImpl(input, p: p, training: training, feature: false, alpha: true, generator)
  }

  /// Alpha dropout of whole channels (`F.feature_alpha_dropout`); `training` defaults to false
  /// as in PyTorch.
  public static func featureAlphaDropout(
    _ input: Tensor, p: Double = 0.5, training: Bool = false, generator: Generator? = nil
  ) -> Tensor {
    checkDropout(p)
    return dropoutImpl(input, p: p, training: training, feature: true, alpha: true, generator)
  }

  // MARK: implementation

  private static func checkDropout(_ p: Double) {
    precondition(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got \(p)")
  }

  /// dropout1d/3d: an unbatched input gets a batch dim of 1 around the feature dropout.
  private static func featureDropout(
    _ input: Tensor, p: Double, training: Bool, batched: Bool, _ generator: Generator?
  ) -> Tensor {
    let x = batched ? input : input.unsqueeze(0)
    let out = dropoutImpl(x, p: p, training: training, feature: true, alpha: false, generator)
    return batched ? out : out.squeeze(0)
  }

  /// PyTorch's `_dropout_impl<feature_dropout, alpha_dropout>`.
  private static func dropoutImpl(
    _ input: Tensor, p: Double, training: Bool, feature: Bool, alpha: Bool,
    _ generator: Generator?
  ) -> Tensor {
    if p == 0 || !training || input.count == 0 { return input }
    precondition(
      input.dtype.isFloatingPoint,
      "dropout: expected a floating-point input, got \(input.dtype) (shape \(input.shape))")
    if p == 1 { return input * Tensor.zeros([], dtype: input.dtype) }
    let gen = generator ?? .default
    let noise: Tensor
    if feature {
      precondition(input.rank >= 2, "Feature dropout requires at least 2 dimensions in the input")
      let shape = [input.shape[0], input.shape[1]] + [Int](repeating: 1, count: input.rank - 2)
      noise = Tensor(uninitializedShape: shape, dtype: input.dtype)
      RandomKernel.bernoulli(noise, layout: noise, p: 1 - p, gen)
    } else {
      noise = Tensor(uninitializedShape: input.shape, dtype: input.dtype)
      RandomKernel.bernoulli(
        noise, layout: input.isNonOverlappingAndDense ? input : noise, p: 1 - p, gen)
    }
    if alpha {
      let alphaValue = 1.7580993408473766
      let a = 1 / ((alphaValue * alphaValue * p + 1) * (1 - p)).squareRoot()
      let (scaled, shift) = withNoGrad {
        (noise * a, (noise - 1) * (alphaValue * a) + alphaValue * a * p)
      }
      return input * scaled + shift
    }
    return input * withNoGrad { noise / (1 - p) }
  }
}

extension Tensor {
  /// True when the elements fill a block of memory without gaps or overlaps in some order of the
  /// dims (PyTorch's `is_non_overlapping_and_dense`): then `empty_like` keeps these strides.
  var isNonOverlappingAndDense: Bool {
    if isContiguous { return true }
    let dims = (0..<rank).filter { shape[$0] != 1 }.sorted { strides[$0] < strides[$1] }
    var expected = 1
    for d in dims {
      if strides[d] != expected { return false }
      expected *= shape[d]
    }
    return true
  }
}
