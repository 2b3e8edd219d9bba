/// `nn.TransformerEncoderLayer`: self-attention then a feed-forward block, each with a residual
/// connection, layer norm and dropout (post-norm by default, pre-norm with `normFirst`).
///
/// Submodules are registered under PyTorch's names and in its order (`self_attn`, `linear1`,
/// `dropout`, `linear2`, `norm1`, `norm2`, `dropout1`, `dropout2`), so the state-dict keys, the
/// printed form and, after `manualSeed`, the initial weights are PyTorch's.
public final class TransformerEncoderLayer: Module {
  /// The feed-forward activation (PyTorch's `activation="relu"` or `"gelu"`).
  public enum Activation: String, Sendable {
    case relu, gelu
  }

  public let normFirst: Bool
  public let activation: Activation

  public var selfAttn: MultiheadAttention { child("self_attn") }
  public var linear1: Linear { child("linear1") }
  public var dropout: Dropout { child("dropout") }
  public var linear2: Linear { child("linear2") }
  public var norm1: LayerNorm { child("norm1") }
  public var norm2: LayerNorm { child("norm2") }
  public var dropout1: Dropout { child("dropout1") }
  public var dropout2: Dropout { child("dropout2") }

  public init(
    dModel: Int, nhead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
    activation: Activation = .relu, layerNormEps: Double = 1e-5, batchFirst: Bool = false,
    normFirst: Bool = false, bias: Bool = true, dtype: DType = .defaultFloat
  ) {
    self.normFirst = normFirst
    self.activation = activation
    super.init()
    // constructed in PyTorch's order: the generator is drawn in the same sequence
    registerModule(
      "self_attn",
      MultiheadAttention(dModel, nhead, dropout: dropout, bias: bias, batchFirst: batchFirst))
    registerModule("linear1", Linear(dModel, dimFeedforward, bias: bias, dtype: dtype))
    registerModule("dropout", Dropout(dropout))
    registerModule("linear2", Linear(dimFeedforward, dModel, bias: bias, dtype: dtype))
    registerModule("norm1", LayerNorm(dModel, eps: layerNormEps, bias: bias, dtype: dtype))
    registerModule("norm2", LayerNorm(dModel, eps: layerNormEps, bias: bias, dtype: dtype))
    registerModule("dropout1", Dropout(dropout))
    registerModule("dropout2", Dropout(dropout))
  }

  private func child<M: Module>(_ name: String) -> M {
    registeredModules.first { $0.name == name }!.value as! M
  }

  public override func forward(_ input: Tensor) -> Tensor { forward(input, mask: nil) }

  /// The layer on `src` ([seq, batch, dModel], or [batch, seq, dModel] with `batchFirst`).
  /// `mask` is the attention mask, `srcKeyPaddingMask` marks padded positions (true = ignore).
  public func forward(
    _ src: Tensor, mask: Tensor?, srcKeyPaddingMask: Tensor? = nil, isCausal: Bool = false
  ) -> Tensor {
    var x = src
    if normFirst {
      x = x + selfAttentionBlock(norm1(x), mask, srcKeyPaddingMask, isCausal)
      x = x + feedForwardBlock(norm2(x))
    } else {
      x = norm1(x + selfAttentionBlock(x, mask, srcKeyPaddingMask, isCausal))
      x = norm2(x + feedForwardBlock(x))
    }
    return x
  }

  public func callAsFunction(
    _ src: Tensor, mask: Tensor?, srcKeyPaddingMask: Tensor? = nil, isCausal: Bool = false
  ) -> Tensor {
    forward(src, mask: mask, srcKeyPaddingMask: srcKeyPaddingMask, isCausal: isCausal)
  }

  private func selfAttentionBlock(
    _ x: Tensor, _ mask: Tensor?, _ keyPadding: Tensor?, _ isCausal: Bool
  ) -> Tensor {
    let out = selfAttn(
      x, x, x, keyPaddingMask: keyPadding, needWeights: false, attnMask: mask, isCausal: isCausal
    ).output
    return dropout1(out)
  }

  private func feedForwardBlock(_ x: Tensor) -> Tensor {
    let hidden = linear1(x)
    let activated = activation == .relu ? F.relu(hidden) : F.gelu(hidden)
    return dropout2(linear2(dropout(activated)))
  }
}
