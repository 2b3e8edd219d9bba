/// Scaled dot-product attention (`F.scaled_dot_product_attention`), composed from `matmul`,
/// `softmax` and `dropout` as PyTorch's math backend composes it
/// (`_scaled_dot_product_attention_math`), so gradients of any order flow through it.
extension Functional {
  /// `softmax(q kᵀ * scale + mask) v` over the last two dims of `query` `[..., L, E]`, `key`
  /// `[..., S, E]` and `value` `[..., S, Ev]`; leading dims broadcast.
  ///
  /// - attnMask: a bool mask (true: take part in attention) or a float mask added to the
  ///   scores, broadcastable to `[..., L, S]`. Rows masked out entirely give zeros (PyTorch's
  ///   safe softmax), not NaN.
  /// - dropoutP: dropout on the attention weights (drawn as ``dropout(_:p:training:generator:)``).
  /// - isCausal: mask out the upper triangle (position i attends to j ≤ i); excludes `attnMask`.
  /// - scale: defaults to `1 / sqrt(E)`. As in PyTorch, `sqrt(scale)` multiplies both `query`
  ///   and `key` before the product.
  ///
  /// The result's `grad_fn` is the last matmul's (PyTorch's math backend shows
  /// `UnsafeViewBackward0` there; Ember's matmul records its own node).
  public static func scaledDotProductAttention(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, attnMask: Tensor? = nil,
    dropoutP: Double = 0, isCausal: Bool = false, scale: Double? = nil,
    generator: Generator? = nil
  ) -> Tensor {
    precondition(
      query.rank >= 2 && key.rank >= 2 && value.rank >= 2,
      "scaled_dot_product_attention: expected query, key and value of at least 2 dims, got \(query.shape), \(key.shape) and \(value.shape)"
    )
    precondition(
      !(isCausal && attnMask != nil),
      "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    let e = query.shape[query.rank - 1]
    let s = scale ?? 1 / Double(e).squareRoot()
    let factor = Swift.abs(s).squareRoot()
    let q = query * (s < 0 ? 0 - factor : factor)
    var mask = attnMask.map { additiveMask($0, dtype: query.dtype) }
    if isCausal {
      let (l, sLen) = (query.shape[query.rank - 2], key.shape[key.rank - 2])
      let keep = Tensor.arange(sLen).unsqueeze(0) .<= Tensor.arange(l).unsqueeze(1)
      mask = additiveMask(keep, dtype: query.dtype)
    }
    var attn = q.matmul(key.transpose(-2, -1) * factor)
    if let mask { attn = attn + mask }
    attn = safeSoftmax(attn, dim: -1)
    if dropoutP > 0 { attn = dropout(attn, p: dropoutP, training: true, generator: generator) }
    return attn.matmul(value)
  }

  /// A bool mask as 0 (keep) and -inf (drop) in `dtype`; a float mask unchanged.
  private static func additiveMask(_ mask: Tensor, dtype: DType) -> Tensor {
    guard mask.dtype == .bool else { return mask }
    return Tensor.zeros(mask.shape, dtype: dtype).maskedFill(mask.logicalNot(), -.infinity)
  }

  /// Softmax whose rows of only -inf give 0 instead of NaN (PyTorch's `_safe_softmax`,
  /// `SafeSoftmaxBackward0`). Its backward reads the output, so masked rows get zero gradient.
  static func safeSoftmax(_ x: Tensor, dim: Int) -> Tensor {
    let d = dim < 0 ? dim + x.rank : dim
    let out = withNoGrad { () -> Tensor in
      let s = x.softmax(dim: d)
      let masked = (x .== -.infinity).all(dim: d, keepdim: true)
      return Tensor.where(masked, Tensor.zeros([], dtype: s.dtype), s)
    }
    if Tensor.needsGrad(x) {
      Tensor.record("SafeSoftmaxBackward0", inputs: [x], outputs: [out], savingOutputs: [0]) {
        ctx in
        let y = try ctx.saved(0)
        let g = ctx.grad
        return [y * (g - (g * y).sum(dim: d, keepdim: true))]
      }
    }
    return out
  }
}
