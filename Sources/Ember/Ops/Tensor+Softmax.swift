/// Softmax and log-softmax along one dim, computed stably (shifted by the slice maximum) with a
/// vectorized float32 kernel; the backward rules read the saved output.
extension Tensor {
  /// exp(x) / sum(exp(x)) along `dim` (`softmax`); floating-point tensors only.
  public func softmax(dim: Int) -> Tensor {
    let d = softmaxDim(dim, op: "softmax")
    let out = Kernel.softmax(self, dim: d, log: false)
    if Tensor.needsGrad(self) {
      Tensor.record("SoftmaxBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) {
        ctx in
        let y = try ctx.saved(0)
        let g = ctx.grad
        return [y * (g - (g * y).sum(dim: d, keepdim: true))]
      }
    }
    return out
  }

  /// log(softmax(x)) along `dim`, computed as `x - max - log(sum(exp(x - max)))` so it stays
  /// finite where softmax underflows (`log_softmax`); floating-point tensors only.
  public func logSoftmax(dim: Int) -> Tensor {
    let d = softmaxDim(dim, op: "log_softmax")
    let out = Kernel.softmax(self, dim: d, log: true)
    if Tensor.needsGrad(self) {
      Tensor.record("LogSoftmaxBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) {
        ctx in
        let y = try ctx.saved(0)
        let g = ctx.grad
        return [g - y.exp() * g.sum(dim: d, keepdim: true)]
      }
    }
    return out
  }

  private func softmaxDim(_ dim: Int, op: String) -> Int {
    precondition(
      dtype.isFloatingPoint,
      "\(op): not implemented for '\(dtype.legacyTypeName.replacingTensorSuffix)' (shape \(shape)); convert to a floating-point dtype first"
    )
    return Shape.normalize(dim, rank: rank, op: op)
  }
}

extension String {
  /// `LongTensor` -> `Long`, PyTorch's scalar type names in kernel messages.
  fileprivate var replacingTensorSuffix: String {
    hasSuffix("Tensor") ? String(dropLast(6)) : self
  }
}
