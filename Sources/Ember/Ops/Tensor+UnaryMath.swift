/// Elementwise math on floating-point tensors: each op's forward kernel and, beside it, its
/// backward rule in tensor ops.
extension Tensor {
  /// Applies a float kernel elementwise; integer and bool inputs are promoted to float32 first,
  /// as PyTorch does for `exp`, `log`, `sin`, ...
  @inline(__always)
  func mapFloat(_ op: String, _ f32: (Float) -> Float, _ f64: (Double) -> Double) -> Tensor {
    switch dtype {
    case .float32: return Kernel.map(self, f32)
    case .float64: return Kernel.map(self, f64)
    default: return to(.defaultFloat).mapFloat(op, f32, f64)
    }
  }

  /// e^x (`exp`).
  public func exp() -> Tensor {
    let out = mapFloat("exp", { Float.exp($0) }, { Double.exp($0) })
    if Tensor.needsGrad(self) {
      Tensor.record("ExpBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        try [ctx.grad * ctx.saved(0)]
      }
    }
    return out
  }

  /// Natural logarithm (`log`).
  public func log() -> Tensor {
    let out = mapFloat("log", { Float.log($0) }, { Double.log($0) })
    if Tensor.needsGrad(self) {
      Tensor.record("LogBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        try [ctx.grad / ctx.saved(0)]
      }
    }
    return out
  }
}
