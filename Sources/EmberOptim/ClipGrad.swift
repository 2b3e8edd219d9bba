/// Why ``clipGradNorm(_:maxNorm:normType:errorIfNonfinite:)`` refused to clip.
public struct NonfiniteNormError: Error, Equatable, CustomStringConvertible {
  public let normType: Double

  /// PyTorch's message.
  public var description: String {
    "The total norm of order \(normType) for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `errorIfNonfinite: false`"
  }
}

/// Scales the gradients of `parameters` in place so their total norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`), and returns the total norm before clipping.
///
/// The total norm is the `normType` norm of the per-tensor norms (2 by default; `.infinity` takes
/// the largest magnitude). Every gradient is multiplied by `min(maxNorm / (total + 1e-6), 1)`, as
/// PyTorch computes it (in the gradients' dtype). Parameters without a gradient are skipped.
///
/// ```swift
/// try loss.backward()
/// try clipGradNorm(model.parameters(), maxNorm: 1.0)
/// try optimizer.step()
/// ```
///
/// - Throws: ``NonfiniteNormError`` when `errorIfNonfinite` is true and the norm is infinite or
///   NaN (the gradients are then unchanged).
@discardableResult
public func clipGradNorm(
  _ parameters: [Tensor], maxNorm: Double, normType: Double = 2, errorIfNonfinite: Bool = false
) throws -> Tensor {
  try withNoGrad {
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return Tensor(0.0) }
    let norms = grads.map { $0.detach().norm(p: normType) }
    let total = Tensor.stack(norms).norm(p: normType)
    if errorIfNonfinite && !total.item().isFinite { throw NonfiniteNormError(normType: normType) }
    let coef = (maxNorm / (total + 1e-6)).clamp(max: 1.0)
    for g in grads { try g.mulInPlace(coef.to(g.dtype)) }
    return total
  }
}

/// Clamps the gradients of `parameters` in place to [−clipValue, clipValue]
/// (`torch.nn.utils.clip_grad_value_`). Parameters without a gradient are skipped.
public func clipGradValue(_ parameters: [Tensor], clipValue: Double) throws {
  try withNoGrad {
    for p in parameters {
      guard let g = p.grad else { continue }
      try g.clampInPlace(min: -clipValue, max: clipValue)
    }
  }
}
