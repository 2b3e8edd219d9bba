/// Batch, layer and group normalization (`F.batch_norm`, `F.layer_norm`, `F.group_norm`).
///
/// Each runs fused kernels (Kernels/Normalization.swift): one for the statistics, one for the
/// normalization, and for a first-order backward one for the reductions and one for the input
/// gradient. When the backward itself is recorded (`createGraph`), the rule instead runs the same
/// formula in tensor ops, recomputing the statistics from the saved input, so gradients of
/// gradients are exact (gradgradcheck).
extension Functional {
  /// Batch normalization over dim 1 of `[N, C, ...]` (`F.batch_norm`; `NativeBatchNormBackward0`).
  ///
  /// In training mode the batch statistics normalize (biased variance) and, when given, the
  /// running statistics are updated in place: `running = (1 - momentum) * running + momentum *
  /// batchStat`, with the unbiased variance. Otherwise the running statistics normalize.
  public static func batchNorm(
    _ input: Tensor, runningMean: Tensor?, runningVar: Tensor?, weight: Tensor? = nil,
    bias: Tensor? = nil, training: Bool = false, momentum: Double = 0.1, eps: Double = 1e-5
  ) -> Tensor {
    precondition(
      input.rank >= 2,
      "Dimension out of range (expected to be in range of [\(-max(input.rank, 1)), \(max(input.rank, 1) - 1)], but got 1)"
    )
    precondition(
      input.dtype.isFloatingPoint, "batch_norm: expected a floating-point input, got \(input.dtype)"
    )
    let channels = input.shape[1]
    let outer = input.shape[0]
    let inner = Shape.count(Array(input.shape[2...]))
    if training {
      precondition(
        outer * inner != 1,
        "Expected more than 1 value per channel when training, got input size \(torchSize(input.shape))"
      )
    } else {
      precondition(runningMean != nil, "running_mean must be defined in evaluation mode")
      precondition(runningVar != nil, "running_var must be defined in evaluation mode")
    }
    for (name, t) in [
      ("weight", weight), ("bias", bias), ("running_mean", runningMean),
      ("running_var", runningVar),
    ] {
      if let t {
        precondition(
          t.count == channels, "\(name) should contain \(channels) elements not \(t.count)")
      }
    }
    let dtype = input.dtype
    let x = input.contiguousCopyIfNeeded()
    let w = weight.map { $0.to(dtype).contiguousCopyIfNeeded() }
    let b = bias.map { $0.to(dtype).contiguousCopyIfNeeded() }
    let mean = Tensor(uninitializedShape: [channels], dtype: dtype)
    let invstd = Tensor(uninitializedShape: [channels], dtype: dtype)
    let out = Tensor(uninitializedShape: input.shape, dtype: dtype)

    func forward<T: FloatScalar>(_: T.Type) {
      let pm = mean.basePointer(T.self)
      let pi = invstd.basePointer(T.self)
      if training {
        var varSum = [Double](repeating: 0, count: channels)
        withExtendedLifetime(x) {
          NormKernel.channelStats(
            x.basePointer(T.self), outer: outer, channels: channels, inner: inner, mean: pm,
            varSum: &varSum)
        }
        let n = Double(outer * inner)
        for c in 0..<channels { pi[c] = T(fromDouble: 1 / (varSum[c] / n + eps).squareRoot()) }
        if let runningMean { updateRunning(runningMean, momentum) { pm[$0].doubleValue } }
        if let runningVar {
          updateRunning(runningVar, momentum) { varSum[$0] / (n - 1) }
        }
      } else {
        let rm = runningMean!.toArray()
        let rv = runningVar!.toArray()
        let e = T(fromDouble: eps)
        for c in 0..<channels {
          pm[c] = T(fromDouble: rm[c])
          pi[c] = 1 / (T(fromDouble: rv[c]) + e).squareRoot()
        }
      }
      // y = x * alpha + beta with alpha = invstd * w, beta = b - mean * alpha (PyTorch's order)
      var alpha = [T](repeating: 0, count: channels)
      var beta = [T](repeating: 0, count: channels)
      for c in 0..<channels {
        alpha[c] = pi[c] * (w.map { $0.basePointer(T.self)[c] } ?? 1)
        beta[c] = (b.map { $0.basePointer(T.self)[c] } ?? 0) - pm[c] * alpha[c]
      }
      withExtendedLifetime((x, w, b)) {
        NormKernel.channelAffine(
          x.basePointer(T.self), out.basePointer(T.self), outer: outer, channels: channels,
          inner: inner, alpha: alpha, beta: beta)
      }
    }
    if dtype == .float32 { forward(Float.self) } else { forward(Double.self) }

    let inputs = [input, weight ?? Tensor.placeholder, bias ?? Tensor.placeholder]
    guard Tensor.needsGrad(inputs) else { return out }
    let hasWeight = weight != nil
    let (inShape, wShape, bShape) = (input.shape, weight?.shape ?? [], bias?.shape ?? [])
    Tensor.record(
      "NativeBatchNormBackward0", inputs: inputs, outputs: [out],
      saving: [input, weight.map { $0.to(dtype) } ?? Tensor.placeholder, mean, invstd]
    ) { ctx in
      let g = ctx.grad
      let x = try ctx.saved(0)
      let w = hasWeight ? try ctx.saved(1) : nil
      let mean = try ctx.saved(2)
      let invstd = try ctx.saved(3)
      let needs = (0..<3).map { ctx.needsInputGrad($0) }
      if GradMode.isEnabled {
        let grads = batchNormBackwardOps(
          g, x, w, mean: mean, invstd: invstd, training: training, eps: eps)
        return [
          needs[0] ? grads.input : nil,
          needs[1] ? grads.weight.reshape(wShape) : nil,
          needs[2] ? grads.bias.reshape(bShape) : nil,
        ]
      }
      let grads = batchNormBackwardKernel(
        g, x, w?.contiguousCopyIfNeeded(), mean: mean, invstd: invstd, training: training,
        needInput: needs[0])
      return [
        grads.input.map { $0.reshape(inShape) },
        needs[1] ? grads.weight.reshape(wShape) : nil,
        needs[2] ? grads.bias.reshape(bShape) : nil,
      ]
    }
    return out
  }

  /// Layer normalization over the last `normalizedShape.count` dims (`F.layer_norm`;
  /// `NativeLayerNormBackward0`); `weight` and `bias` have `normalizedShape`.
  public static func layerNorm(
    _ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
    eps: Double = 1e-5
  ) -> Tensor {
    let k = normalizedShape.count
    precondition(
      k >= 1,
      "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got normalized_shape = \(normalizedShape)"
    )
    precondition(
      input.rank >= k && Array(input.shape.suffix(k)) == normalizedShape,
      "Given normalized_shape=\(normalizedShape), expected input with shape [*, \(normalizedShape.map(String.init).joined(separator: ", "))], but got input of size\(input.shape)"
    )
    if let weight {
      precondition(
        weight.shape == normalizedShape,
        "Expected weight to be of same shape as normalized_shape, but got weight of shape \(weight.shape) and normalized_shape = \(normalizedShape)"
      )
    }
    if let bias {
      precondition(
        bias.shape == normalizedShape,
        "Expected bias to be of same shape as normalized_shape, but got bias of shape \(bias.shape) and normalized_shape = \(normalizedShape)"
      )
    }
    precondition(
      input.dtype.isFloatingPoint, "layer_norm: expected a floating-point input, got \(input.dtype)"
    )
    let dtype = input.dtype
    let length = Shape.count(normalizedShape)
    let rows = input.count / max(length, 1)
    let x = input.contiguousCopyIfNeeded()
    let w = weight.map { $0.to(dtype).contiguousCopyIfNeeded() }
    let b = bias.map { $0.to(dtype).contiguousCopyIfNeeded() }
    let mean = Tensor(uninitializedShape: [rows], dtype: dtype)
    let rstd = Tensor(uninitializedShape: [rows], dtype: dtype)
    let out = Tensor(uninitializedShape: input.shape, dtype: dtype)
    func forward<T: FloatScalar>(_: T.Type) {
      withExtendedLifetime((x, w, b)) {
        NormKernel.rowStats(
          x.basePointer(T.self), rows: rows, length: length, eps: eps,
          mean: mean.basePointer(T.self), rstd: rstd.basePointer(T.self))
        NormKernel.layerNormApply(
          x.basePointer(T.self), out.basePointer(T.self), rows: rows, length: length,
          mean: mean.basePointer(T.self), rstd: rstd.basePointer(T.self),
          gamma: w.map { UnsafePointer($0.basePointer(T.self)) },
          beta: b.map { UnsafePointer($0.basePointer(T.self)) })
      }
    }
    if dtype == .float32 { forward(Float.self) } else { forward(Double.self) }

    let inputs = [input, weight ?? Tensor.placeholder, bias ?? Tensor.placeholder]
    guard Tensor.needsGrad(inputs) else { return out }
    let hasWeight = weight != nil
    let inShape = input.shape
    Tensor.record(
      "NativeLayerNormBackward0", inputs: inputs, outputs: [out],
      saving: [input, weight.map { $0.to(dtype) } ?? Tensor.placeholder, mean, rstd]
    ) { ctx in
      let g = ctx.grad
      let x = try ctx.saved(0)
      let w = hasWeight ? try ctx.saved(1) : nil
      let needs = (0..<3).map { ctx.needsInputGrad($0) }
      if GradMode.isEnabled {
        let dims = Array((x.rank - k)..<x.rank)
        let (xhat, rstd) = normalizedOps(x, dims: dims, eps: eps)
        let gw = w.map { g * $0 } ?? g
        let leading = Array(0..<(x.rank - k))
        func sumLeading(_ t: Tensor) -> Tensor { leading.isEmpty ? t : t.sum(dim: leading) }
        return [
          needs[0] ? normGradInputOps(gw, xhat, rstd, dims: dims) : nil,
          needs[1] ? sumLeading(g * xhat) : nil,
          needs[2] ? sumLeading(g) : nil,
        ]
      }
      let mean = try ctx.saved(2)
      let rstd = try ctx.saved(3)
      let gc = g.contiguousCopyIfNeeded()
      // the saved input is the caller's tensor, maybe a strided view: the kernel reads rows
      let xc = x.contiguousCopyIfNeeded()
      let wc = w?.contiguousCopyIfNeeded()
      let gi = needs[0] ? Tensor(uninitializedShape: inShape, dtype: dtype) : nil
      let gw = needs[1] ? Tensor(uninitializedShape: normalizedShape, dtype: dtype) : nil
      let gb = needs[2] ? Tensor(uninitializedShape: normalizedShape, dtype: dtype) : nil
      func backward<T: FloatScalar>(_: T.Type) {
        withExtendedLifetime((xc, gc, wc, mean, rstd)) {
          NormKernel.layerNormBackward(
            xc.basePointer(T.self), gc.basePointer(T.self), rows: rows, length: length,
            mean: mean.basePointer(T.self), rstd: rstd.basePointer(T.self),
            gamma: wc.map { UnsafePointer($0.basePointer(T.self)) },
            gradInput: gi?.basePointer(T.self), gradGamma: gw?.basePointer(T.self),
            gradBeta: gb?.basePointer(T.self))
        }
      }
      if dtype == .float32 { backward(Float.self) } else { backward(Double.self) }
      return [gi, gw, gb]
    }
    return out
  }

  /// Group normalization of `[N, C, ...]` over `numGroups` groups of channels (`F.group_norm`;
  /// `NativeGroupNormBackward0`); `weight` and `bias` have one value per channel.
  public static func groupNorm(
    _ input: Tensor, numGroups: Int, weight: Tensor? = nil, bias: Tensor? = nil,
    eps: Double = 1e-5
  ) -> Tensor {
    precondition(
      input.rank >= 2,
      "Expected at least 2 dimensions for input tensor but received \(input.rank)")
    let (batch, channels) = (input.shape[0], input.shape[1])
    precondition(
      numGroups > 0 && channels % numGroups == 0,
      "Expected number of channels in input to be divisible by num_groups, but got input of shape \(input.shape) and num_groups=\(numGroups)"
    )
    for (name, t) in [("weight", weight), ("bias", bias)] {
      if let t {
        precondition(
          t.rank == 1 && t.count == channels,
          "Expected \(name) to be a vector of size equal to the number of channels in input, but got \(name) of shape \(t.shape) and input of shape \(input.shape)"
        )
      }
    }
    precondition(
      input.dtype.isFloatingPoint, "group_norm: expected a floating-point input, got \(input.dtype)"
    )
    let dtype = input.dtype
    let inner = Shape.count(Array(input.shape[2...]))
    let groupCount = batch * numGroups
    let x = input.contiguousCopyIfNeeded()
    let w = weight.map { $0.to(dtype).contiguousCopyIfNeeded() }
    let b = bias.map { $0.to(dtype).contiguousCopyIfNeeded() }
    let mean = Tensor(uninitializedShape: [groupCount], dtype: dtype)
    let rstd = Tensor(uninitializedShape: [groupCount], dtype: dtype)
    let out = Tensor(uninitializedShape: input.shape, dtype: dtype)
    func forward<T: FloatScalar>(_: T.Type) {
      withExtendedLifetime((x, w, b)) {
        NormKernel.rowStats(
          x.basePointer(T.self), rows: groupCount, length: channels / numGroups * inner,
          eps: eps, mean: mean.basePointer(T.self), rstd: rstd.basePointer(T.self))
        NormKernel.groupNormApply(
          x.basePointer(T.self), out.basePointer(T.self), batch: batch, channels: channels,
          groups: numGroups, inner: inner, mean: mean.basePointer(T.self),
          rstd: rstd.basePointer(T.self), gamma: w.map { UnsafePointer($0.basePointer(T.self)) },
          beta: b.map { UnsafePointer($0.basePointer(T.self)) })
      }
    }
    if dtype == .float32 { forward(Float.self) } else { forward(Double.self) }

    let inputs = [input, weight ?? Tensor.placeholder, bias ?? Tensor.placeholder]
    guard Tensor.needsGrad(inputs) else { return out }
    let hasWeight = weight != nil
    let inShape = input.shape
    Tensor.record(
      "NativeGroupNormBackward0", inputs: inputs, outputs: [out],
      saving: [input, weight.map { $0.to(dtype) } ?? Tensor.placeholder, mean, rstd]
    ) { ctx in
      let g = ctx.grad
      let x = try ctx.saved(0)
      let w = hasWeight ? try ctx.saved(1) : nil
      let needs = (0..<3).map { ctx.needsInputGrad($0) }
      let channelDims = [0] + Array(2..<x.rank)
      if GradMode.isEnabled {
        let grouped = [batch, numGroups, channels / numGroups * inner]
        let (xhatG, rstdG) = normalizedOps(x.reshape(grouped), dims: [2], eps: eps)
        let xhat = xhatG.reshape(inShape)
        var gw = g
        if let w {
          var wShape = [Int](repeating: 1, count: x.rank)
          wShape[1] = channels
          gw = g * w.view(wShape)
        }
        let gi = normGradInputOps(gw.reshape(grouped), xhatG, rstdG, dims: [2]).reshape(inShape)
        return [
          needs[0] ? gi : nil,
          needs[1] ? (g * xhat).sum(dim: channelDims) : nil,
          needs[2] ? g.sum(dim: channelDims) : nil,
        ]
      }
      let mean = try ctx.saved(2)
      let rstd = try ctx.saved(3)
      let gc = g.contiguousCopyIfNeeded()
      // the saved input is the caller's tensor, maybe a strided view: the kernel reads groups
      let xc = x.contiguousCopyIfNeeded()
      let wc = w?.contiguousCopyIfNeeded()
      let gi = needs[0] ? Tensor(uninitializedShape: inShape, dtype: dtype) : nil
      let gw = needs[1] ? Tensor(uninitializedShape: [channels], dtype: dtype) : nil
      let gb = needs[2] ? Tensor(uninitializedShape: [channels], dtype: dtype) : nil
      func backward<T: FloatScalar>(_: T.Type) {
        withExtendedLifetime((xc, gc, wc, mean, rstd)) {
          NormKernel.groupNormBackward(
            xc.basePointer(T.self), gc.basePointer(T.self), batch: batch, channels: channels,
            groups: numGroups, inner: inner, mean: mean.basePointer(T.self),
            rstd: rstd.basePointer(T.self), gamma: wc.map { UnsafePointer($0.basePointer(T.self)) },
            gradInput: gi?.basePointer(T.self), gradGamma: gw?.basePointer(T.self),
            gradBeta: gb?.basePointer(T.self))
        }
      }
      if dtype == .float32 { backward(Float.self) } else { backward(Double.self) }
      return [gi, gw, gb]
    }
    return out
  }
}

// MARK: - helpers

extension Functional {
  /// Writes `(1 - momentum) * running + momentum * stat(c)` into a running statistic, in place
  /// and without history (PyTorch updates its buffers the same way).
  fileprivate static func updateRunning(
    _ running: Tensor, _ momentum: Double, _ stat: (Int) -> Double
  ) {
    let old = running.toArray()
    let positions = running.elementStorageIndices()
    for (c, pos) in positions.enumerated() {
      running.setRaw(momentum * stat(c) + (1 - momentum) * old[c], at: pos)
    }
    running.storage.bumpVersion()
  }

  /// `(xhat, rstd)` of `x` normalized over `dims` with tensor ops (differentiable in `x`).
  fileprivate static func normalizedOps(_ x: Tensor, dims: [Int], eps: Double) -> (Tensor, Tensor) {
    let centered = x - x.mean(dim: dims, keepdim: true)
    let rstd = ((centered * centered).mean(dim: dims, keepdim: true) + eps).rsqrt()
    return (centered * rstd, rstd)
  }

  /// The input gradient of a normalization over `dims` given `gw` (the output gradient times
  /// the affine weight): `rstd * (gw - mean(gw) - xhat * mean(gw * xhat))`, in tensor ops.
  fileprivate static func normGradInputOps(
    _ gw: Tensor, _ xhat: Tensor, _ rstd: Tensor, dims: [Int]
  ) -> Tensor {
    rstd
      * (gw - gw.mean(dim: dims, keepdim: true)
        - xhat * (gw * xhat).mean(dim: dims, keepdim: true))
  }

  /// Batch norm's backward in tensor ops. In training mode the statistics are recomputed from
  /// `x` so that the result is differentiable in `x`; otherwise the saved ones are constants.
  fileprivate static func batchNormBackwardOps(
    _ g: Tensor, _ x: Tensor, _ w: Tensor?, mean: Tensor, invstd: Tensor, training: Bool,
    eps: Double
  ) -> (input: Tensor, weight: Tensor, bias: Tensor) {
    let dims = [0] + Array(2..<x.rank)
    var cShape = [Int](repeating: 1, count: x.rank)
    cShape[1] = x.shape[1]
    let wv = w?.view(cShape)
    if training {
      let (xhat, rstd) = normalizedOps(x, dims: dims, eps: eps)
      let gw = wv.map { g * $0 } ?? g
      return (
        normGradInputOps(gw, xhat, rstd, dims: dims), (g * xhat).sum(dim: dims), g.sum(dim: dims)
      )
    }
    let istd = invstd.view(cShape)
    let xhat = (x - mean.view(cShape)) * istd
    let gi = wv.map { g * $0 * istd } ?? g * istd
    return (gi, (g * xhat).sum(dim: dims), g.sum(dim: dims))
  }

  /// Batch norm's first-order backward through the fused kernels.
  fileprivate static func batchNormBackwardKernel(
    _ g: Tensor, _ x: Tensor, _ w: Tensor?, mean: Tensor, invstd: Tensor, training: Bool,
    needInput: Bool
  ) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
    let dtype = x.dtype
    let (outer, channels) = (x.shape[0], x.shape[1])
    let inner = Shape.count(Array(x.shape[2...]))
    let xc = x.contiguousCopyIfNeeded()
    let gc = g.contiguousCopyIfNeeded()
    var sumG = [Double](repeating: 0, count: channels)
    var dot = [Double](repeating: 0, count: channels)
    let gi = needInput ? Tensor(uninitializedShape: x.shape, dtype: dtype) : nil
    let gw = Tensor(uninitializedShape: [channels], dtype: dtype)
    let gb = Tensor(uninitializedShape: [channels], dtype: dtype)
    func run<T: FloatScalar>(_: T.Type) {
      withExtendedLifetime((xc, gc, w, mean, invstd)) {
        let pm = UnsafePointer(mean.basePointer(T.self))
        let pi = invstd.basePointer(T.self)
        NormKernel.channelBackwardSums(
          xc.basePointer(T.self), gc.basePointer(T.self), outer: outer, channels: channels,
          inner: inner, mean: pm, sumG: &sumG, dot: &dot)
        if let gi {
          NormKernel.batchNormGradInput(
            xc.basePointer(T.self), gc.basePointer(T.self), gi.basePointer(T.self),
            outer: outer, channels: channels, inner: inner, mean: pm, invstd: pi,
            weight: w.map { UnsafePointer($0.basePointer(T.self)) }, sumG: sumG, dot: dot,
            training: training)
        }
        for c in 0..<channels {
          gw.basePointer(T.self)[c] = T(fromDouble: dot[c] * pi[c].doubleValue)
          gb.basePointer(T.self)[c] = T(fromDouble: sumG[c])
        }
      }
    }
    if dtype == .float32 { run(Float.self) } else { run(Double.self) }
    return (gi, gw, gb)
  }
}
