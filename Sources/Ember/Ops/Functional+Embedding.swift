/// Embedding lookup (`F.embedding`): rows of a weight matrix picked by int64 indices.
extension Functional {
  /// The rows of `weight` (`[numEmbeddings, embeddingDim]`) at the int64 indices `input`, as a
  /// tensor of shape `input.shape + [embeddingDim]` (`F.embedding`; `EmbeddingBackward0`).
  ///
  /// - paddingIdx: rows looked up at this index get no gradient (negative counts from the end).
  /// - maxNorm: before the lookup, each referenced row whose `normType`-norm exceeds it is
  ///   rescaled in place to norm `maxNorm` (PyTorch's `embedding_renorm_`, without history).
  /// - scaleGradByFreq: each row's gradient is divided by how often its index occurs in `input`.
  public static func embedding(
    _ input: Tensor, _ weight: Tensor, paddingIdx: Int? = nil, maxNorm: Double? = nil,
    normType: Double = 2, scaleGradByFreq: Bool = false
  ) -> Tensor {
    precondition(weight.rank == 2, "'weight' must be 2-D")
    precondition(
      input.dtype == .int64,
      "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.\(input.dtype.legacyTypeName) instead (while checking arguments for embedding)"
    )
    let (rows, width) = (weight.shape[0], weight.shape[1])
    var padding: Int? = nil
    if let paddingIdx {
      precondition(
        paddingIdx < rows && paddingIdx >= -rows, "Padding_idx must be within num_embeddings")
      padding = paddingIdx < 0 ? paddingIdx + rows : paddingIdx
    }
    let flat = input.reshape([-1])
    let indices = flat.scalars(as: Int64.self)
    for i in indices {
      precondition(i >= 0 && i < Int64(rows), "index out of range in self")
    }
    if let maxNorm { renorm(weight, rows: Set(indices), maxNorm: maxNorm, normType: normType) }
    let out = withNoGrad { weight.detach().indexSelect(dim: 0, index: flat) }
      .view(input.shape + [width])
    guard Tensor.needsGrad(weight) else { return out }
    // per-position gradient factors: 0 at the padding index, 1 / count with scaleGradByFreq
    var factors: [Double]? = nil
    if padding != nil || scaleGradByFreq {
      var counts: [Int64: Int] = [:]
      if scaleGradByFreq { for i in indices { counts[i, default: 0] += 1 } }
      factors = indices.map { i in
        if let padding, i == Int64(padding) { return 0 }
        return scaleGradByFreq ? 1 / Double(counts[i]!) : 1
      }
    }
    let scale = factors.map { Tensor(shape: [$0.count, 1], scalars: $0).to(weight.dtype) }
    let weightShape = weight.shape
    Tensor.record(
      "EmbeddingBackward0", inputs: [weight], outputs: [out],
      saving: [flat, scale ?? Tensor.placeholder]
    ) { ctx in
      var g = ctx.grad.reshape([-1, width])
      if scale != nil { g = g * (try ctx.saved(1)) }
      return [
        Tensor.zeros(weightShape, dtype: g.dtype).indexAdd(
          dim: 0, index: try ctx.saved(0), source: g)
      ]
    }
    return out
  }

  /// PyTorch's `embedding_renorm_`: rescales the listed rows whose norm exceeds `maxNorm` by
  /// `maxNorm / (norm + 1e-7)`, in place and without recording history.
  private static func renorm(_ weight: Tensor, rows: Set<Int64>, maxNorm: Double, normType: Double)
  {
    for r in rows.sorted() {
      let row = weight.select(0, Int(r))
      let positions = row.elementStorageIndices()
      let values = positions.map { weight.rawValue(at: $0) }
      let norm: Double
      if normType == .infinity {
        norm = values.map(Swift.abs).max() ?? 0
      } else if normType == 0 {
        norm = Double(values.filter { $0 != 0 }.count)
      } else if normType == 2 {
        norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
      } else {
        let sum = values.reduce(0) { $0 + Double.pow(Swift.abs($1), normType) }
        norm = Double.pow(sum, 1 / normType)
      }
      guard norm > maxNorm else { continue }
      let scale = maxNorm / (norm + 1e-7)
      for (k, pos) in positions.enumerated() {
        let v =
          weight.dtype == .float32 ? Double(Float(values[k]) * Float(scale)) : values[k] * scale
        weight.setRaw(v, at: pos)
      }
    }
    weight.storage.bumpVersion()
  }
}
