/// Multi-head attention (`nn.MultiheadAttention`), with PyTorch's arguments, parameter names
/// (`in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias`), initialization
/// (the same seed gives PyTorch's weights) and math.
///
/// ```swift
/// let mha = MultiheadAttention(8, 2)                 // embedDim 8, numHeads 2
/// let x = Tensor.randn(5, 3, 8)                      // (seq, batch, embed)
/// let (output, weights) = mha(x, x, x)               // [5, 3, 8], [3, 5, 5] (head average)
/// let causal = mha(x, x, x, needWeights: false, attnMask: mask, isCausal: true).output
/// ```
///
/// As in PyTorch, with `needWeights` (the default) the weights are computed explicitly
/// (q scaled by 1/sqrt(headDim), then `mask + q k^T`, softmax, dropout, `@ v`), and a row whose
/// keys are all masked gives NaN; with `needWeights: false` it runs as PyTorch's
/// `scaled_dot_product_attention` on CPU (q k^T scaled after the product; with dropout, q and
/// k^T each scaled by the square root of the scale), and a fully masked row gives zeros.
///
/// `mha(x)` (the ``Module`` call) is self-attention's output, `mha(x, x, x, needWeights: false)`.
public final class MultiheadAttention: Module {
  public let embedDim: Int
  /// The key and value feature sizes (`embedDim` unless given).
  public let kdim: Int
  public let vdim: Int
  public let numHeads: Int
  /// `embedDim / numHeads`.
  public let headDim: Int
  /// The dropout probability on the attention weights, in training mode.
  public let dropout: Double
  /// Whether batched input and output are (batch, seq, feature) instead of (seq, batch, feature).
  public let batchFirst: Bool

  /// Whether query, key and value share one packed `in_proj_weight` (kdim == vdim == embedDim).
  var qkvSameEmbedDim: Bool { kdim == embedDim && vdim == embedDim }

  /// - Parameters:
  ///   - kdim, vdim: the key and value feature sizes; when they differ from `embedDim` the layer
  ///     has separate `q_proj_weight`, `k_proj_weight` and `v_proj_weight` instead of
  ///     `in_proj_weight`, as in PyTorch.
  public init(
    _ embedDim: Int, _ numHeads: Int, dropout: Double = 0, bias: Bool = true, kdim: Int? = nil,
    vdim: Int? = nil, batchFirst: Bool = false
  ) {
    precondition(
      embedDim > 0 && numHeads > 0,
      "MultiheadAttention: embed_dim and num_heads must be greater than 0, got embed_dim=\(embedDim) and num_heads=\(numHeads) instead"
    )
    precondition(
      embedDim % numHeads == 0, "MultiheadAttention: embed_dim must be divisible by num_heads")
    self.embedDim = embedDim
    self.kdim = kdim ?? embedDim
    self.vdim = vdim ?? embedDim
    self.numHeads = numHeads
    self.headDim = embedDim / numHeads
    self.dropout = dropout
    self.batchFirst = batchFirst
    super.init()
    if qkvSameEmbedDim {
      registerParameter("in_proj_weight", Parameter(Tensor.empty([3 * embedDim, embedDim])))
      registerParameter("q_proj_weight", nil)
      registerParameter("k_proj_weight", nil)
      registerParameter("v_proj_weight", nil)
    } else {
      registerParameter("q_proj_weight", Parameter(Tensor.empty([embedDim, embedDim])))
      registerParameter("k_proj_weight", Parameter(Tensor.empty([embedDim, self.kdim])))
      registerParameter("v_proj_weight", Parameter(Tensor.empty([embedDim, self.vdim])))
      registerParameter("in_proj_weight", nil)
    }
    registerParameter("in_proj_bias", bias ? Parameter(Tensor.empty([3 * embedDim])) : nil)
    // constructing the projection draws its own Linear init first, as PyTorch's does
    registerModule("out_proj", AttentionOutProjection(embedDim, embedDim, bias: bias))
    resetParameters()
  }

  /// PyTorch's `_reset_parameters`: xavier-uniform projection weights, zero biases (the output
  /// projection keeps the kaiming-uniform weight its constructor drew).
  public func resetParameters() {
    if qkvSameEmbedDim {
      Init.xavierUniform(inProjWeight!)
    } else {
      for name in ["q_proj_weight", "k_proj_weight", "v_proj_weight"] {
        Init.xavierUniform(registeredParameter(name)!)
      }
    }
    if let b = inProjBias {
      Init.zeros(b)
      if let ob = outProj.registeredParameterOrProperty("bias") { Init.zeros(ob) }
    }
  }

  /// The packed query, key and value projection weight, (3 * embedDim, embedDim); nil when
  /// kdim or vdim differ from embedDim.
  public var inProjWeight: Parameter? { registeredParameter("in_proj_weight") }
  /// The packed projection bias, (3 * embedDim); nil without bias.
  public var inProjBias: Parameter? { registeredParameter("in_proj_bias") }
  /// The output projection (`out_proj`), with `weight` and `bias`.
  public var outProj: Module { registeredModules.first { $0.name == "out_proj" }!.value! }

  // MARK: forward

  /// Self-attention: `forward(input, input, input, needWeights: false).output`.
  public override func forward(_ input: Tensor) -> Tensor {
    forward(input, input, input, needWeights: false).output
  }

  /// Attention of `query` over `key`/`value` (PyTorch's `forward`).
  ///
  /// - Parameters:
  ///   - query: (L, N, E), (N, L, E) with `batchFirst`, or (L, E) unbatched.
  ///   - key, value: (S, N, kdim/vdim), likewise. Passing the same tensor object for all three
  ///     (self-attention) or for key and value uses one packed projection, as PyTorch.
  ///   - keyPaddingMask: (N, S) or (S); bool (true: ignore that key) or float (added).
  ///   - needWeights: whether to return the attention weights.
  ///   - attnMask: (L, S) or (N * numHeads, L, S); bool (true: not allowed) or float (added).
  ///   - averageAttnWeights: average the returned weights over heads: (N, L, S); otherwise
  ///     (N, numHeads, L, S).
  ///   - isCausal: a hint that `attnMask` is the causal mask (it is still required, as PyTorch).
  /// - Returns: the output, like `query` with E features, and the weights when `needWeights`.
  public func forward(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, keyPaddingMask: Tensor? = nil,
    needWeights: Bool = true, attnMask: Tensor? = nil, averageAttnWeights: Bool = true,
    isCausal: Bool = false
  ) -> (output: Tensor, weights: Tensor?) {
    let isBatched = query.rank == 3
    let selfAttention = query === key && key === value
    let sharedKV = key === value
    var q = query
    var k = key
    var v = value
    if batchFirst && isBatched {
      q = q.transpose(1, 0)
      k = selfAttention ? q : k.transpose(1, 0)
      v = sharedKV ? k : v.transpose(1, 0)
    }
    let projection = outProj
    return AttentionMath.forward(
      q, k, v, sharing: selfAttention ? .all : sharedKV ? .keyValue : .none,
      embedDim: embedDim, numHeads: numHeads,
      inProjWeight: inProjWeight,
      separateWeights: qkvSameEmbedDim
        ? nil
        : (
          registeredParameter("q_proj_weight")!, registeredParameter("k_proj_weight")!,
          registeredParameter("v_proj_weight")!
        ),
      inProjBias: inProjBias, dropout: dropout, training: isTraining,
      outProjWeight: projection.registeredParameterOrProperty("weight")!,
      outProjBias: projection.registeredParameterOrProperty("bias"),
      keyPaddingMask: keyPaddingMask, needWeights: needWeights, attnMask: attnMask,
      averageAttnWeights: averageAttnWeights, isCausal: isCausal,
      batchFirstOutput: batchFirst && isBatched)
  }

  /// ``forward(_:_:_:keyPaddingMask:needWeights:attnMask:averageAttnWeights:isCausal:)`` with
  /// the module's hooks (PyTorch's `mha(query, key, value, ...)`): pre-hooks see the query (a
  /// replacement also replaces key and value when they are the query), forward hooks see the
  /// query and the output.
  public func callAsFunction(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, keyPaddingMask: Tensor? = nil,
    needWeights: Bool = true, attnMask: Tensor? = nil, averageAttnWeights: Bool = true,
    isCausal: Bool = false
  ) -> (output: Tensor, weights: Tensor?) {
    callWithHooks(
      query,
      run: { q in
        forward(
          q, key === query ? q : key, value === query ? q : value,
          keyPaddingMask: keyPaddingMask, needWeights: needWeights, attnMask: attnMask,
          averageAttnWeights: averageAttnWeights, isCausal: isCausal)
      }, output: \.output, replacingOutput: { ($1, $0.weights) })
  }
}

/// MultiheadAttention's output projection: a Linear layer (weight (out, in), bias (out)) that
/// prints as PyTorch's `NonDynamicallyQuantizableLinear` and draws PyTorch's Linear init:
/// kaiming-uniform with a = sqrt(5) for the weight, U(-1/sqrt(in), 1/sqrt(in)) for the bias.
final class AttentionOutProjection: Module {
  let inFeatures: Int
  let outFeatures: Int
  let weight: Parameter
  let bias: Parameter?

  init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool) {
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    weight = Parameter(Tensor.empty([outFeatures, inFeatures]))
    self.bias = bias ? Parameter(Tensor.empty([outFeatures])) : nil
    super.init()
    Init.kaimingUniform(weight, a: 5.0.squareRoot())
    if let b = self.bias {
      let bound = inFeatures > 0 ? 1 / Double(inFeatures).squareRoot() : 0
      Init.uniform(b, a: -bound, b: bound)
    }
  }

  override func forward(_ input: Tensor) -> Tensor {
    AttentionMath.linear(input, weight, bias)
  }

  override var typeName: String { "NonDynamicallyQuantizableLinear" }

  override var extraDescription: String {
    "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(bias == nil ? "False" : "True")"
  }
}

extension Module {
  /// A direct parameter by name, whether registered by name or a stored property.
  func registeredParameterOrProperty(_ name: String) -> Parameter? {
    for (n, member) in members() where n == name {
      if case .parameter(let p) = member { return p }
    }
    return nil
  }
}
