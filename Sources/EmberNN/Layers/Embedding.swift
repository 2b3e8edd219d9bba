/// `nn.Embedding`: a lookup table of `numEmbeddings` vectors of size `embeddingDim`, initialized
/// N(0, 1) as PyTorch does (the `paddingIdx` row then zeroed; its gradient stays zero).
public final class Embedding: Module {
  public let numEmbeddings: Int
  public let embeddingDim: Int
  public let paddingIdx: Int?
  public let maxNorm: Double?
  public let weight: Parameter

  public init(
    _ numEmbeddings: Int, _ embeddingDim: Int, paddingIdx: Int? = nil, maxNorm: Double? = nil,
    dtype: DType = .defaultFloat
  ) {
    if let p = paddingIdx {
      precondition(
        p < numEmbeddings && p >= -numEmbeddings,
        "Embedding: Padding_idx must be within num_embeddings")
    }
    self.numEmbeddings = numEmbeddings
    self.embeddingDim = embeddingDim
    self.paddingIdx = paddingIdx.map { $0 < 0 ? $0 + numEmbeddings : $0 }
    self.maxNorm = maxNorm
    weight = Parameter(Tensor.empty([numEmbeddings, embeddingDim], dtype: dtype))
    super.init()
    resetParameters()
  }

  /// From existing vectors (`Embedding.from_pretrained`), frozen unless `freeze` is false.
  public init(pretrained: Tensor, freeze: Bool = true, paddingIdx: Int? = nil) {
    precondition(pretrained.rank == 2, "Embeddings parameter is expected to be 2-dimensional")
    numEmbeddings = pretrained.shape[0]
    embeddingDim = pretrained.shape[1]
    self.paddingIdx = paddingIdx.map { $0 < 0 ? $0 + pretrained.shape[0] : $0 }
    maxNorm = nil
    weight = Parameter(pretrained.detach(), requiresGrad: !freeze)
  }

  public func resetParameters() {
    Init.normal(weight)
    if let p = paddingIdx { Init.fill(weight) { try $0[p].fill(0) } }
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.embedding(input, weight, paddingIdx: paddingIdx, maxNorm: maxNorm)
  }

  public override var extraDescription: String {
    var s = "\(numEmbeddings), \(embeddingDim)"
    if let p = paddingIdx { s += ", padding_idx=\(p)" }
    if let m = maxNorm { s += ", max_norm=\(pythonFloat(m))" }
    return s
  }
}
