/// The math of multi-head attention, step for step as PyTorch's
/// `F.multi_head_attention_forward` (and, for `needWeights: false`, its CPU
/// `scaled_dot_product_attention`), written in differentiable tensor ops.
enum AttentionMath {
  /// Which of query, key and value are the same tensor (PyTorch tests `is`): one packed
  /// projection for all three, one for key and value, or three.
  enum Sharing { case all, keyValue, none }

  /// `x @ w^T + b` over the last dim (PyTorch's `F.linear`, which attention calls).
  static func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> Tensor {
    Functional.linear(x, w, bias: b)
  }

  /// PyTorch's `_canonical_mask`: a bool mask becomes 0 / -inf in `dtype`; a float mask stays.
  static func canonicalMask(_ mask: Tensor?, name: String, dtype: DType) -> Tensor? {
    guard let mask else { return nil }
    precondition(
      mask.dtype == .bool || mask.dtype.isFloatingPoint,
      "MultiheadAttention: only bool and floating types of \(name) are supported")
    if mask.dtype != .bool { return mask }
    return Tensor.zeros(like: mask, dtype: dtype).maskedFill(mask, -.infinity)
  }

  // swift-format-ignore: FunctionParameterCount
  /// PyTorch's `multi_head_attention_forward` over seq-first (or unbatched) inputs; the output
  /// is transposed back to batch-first when `batchFirstOutput`.
  static func forward(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, sharing: Sharing, embedDim: Int,
    numHeads: Int, inProjWeight: Tensor?, separateWeights: (Tensor, Tensor, Tensor)?,
    inProjBias: Tensor?, dropout: Double, training: Bool, outProjWeight: Tensor,
    outProjBias: Tensor?, keyPaddingMask: Tensor?, needWeights: Bool, attnMask: Tensor?,
    averageAttnWeights: Bool, isCausal: Bool, batchFirstOutput: Bool
  ) -> (output: Tensor, weights: Tensor?) {
    let isBatched = checkShapes(query, key, value, keyPaddingMask, attnMask, numHeads: numHeads)
    var q = query
    var k = key
    var v = value
    var keyPaddingMask = keyPaddingMask
    var sharing = sharing
    if !isBatched {
      // PyTorch unsqueezes each input, so they are no longer the same object
      q = q.unsqueeze(1)
      k = k.unsqueeze(1)
      v = v.unsqueeze(1)
      keyPaddingMask = keyPaddingMask?.unsqueeze(0)
      sharing = .none
    }
    let (tgtLen, bsz, embed) = (q.shape[0], q.shape[1], q.shape[2])
    keyPaddingMask = canonicalMask(keyPaddingMask, name: "key_padding_mask", dtype: q.dtype)
    precondition(
      !isCausal || attnMask != nil,
      "MultiheadAttention: Need attn_mask if specifying the is_causal hint. You may use the Transformer module method `generate_square_subsequent_mask` to create this mask."
    )
    var attnMask = attnMask
    var isCausal = isCausal
    if isCausal && keyPaddingMask == nil && !needWeights {
      // the hint goes to scaled dot product attention as is_causal
      attnMask = nil
    } else {
      attnMask = canonicalMask(attnMask, name: "attn_mask", dtype: q.dtype)
      if keyPaddingMask != nil { isCausal = false }
    }
    precondition(
      embed == embedDim,
      "MultiheadAttention: was expecting embedding dimension of \(embedDim), but got \(embed)")
    let headDim = embedDim / numHeads
    if separateWeights == nil {
      precondition(
        k.shape == v.shape,
        "MultiheadAttention: key shape \(k.shape) does not match value shape \(v.shape)")
    } else {
      precondition(
        k.shape.prefix(2) == v.shape.prefix(2),
        "MultiheadAttention: key's sequence and batch dims \(Array(k.shape.prefix(2))) do not match value's \(Array(v.shape.prefix(2)))"
      )
    }

    // in-projection
    if let (wq, wk, wv) = separateWeights {
      let b = inProjBias?.chunk(3)
      (q, k, v) = (linear(q, wq, b?[0]), linear(k, wk, b?[1]), linear(v, wv, b?[2]))
    } else {
      let w = inProjWeight!
      switch sharing {
      case .all:
        let parts = linear(q, w, inProjBias).chunk(3, dim: -1)
        (q, k, v) = (parts[0], parts[1], parts[2])
      case .keyValue:
        let ws = w.split(sizes: [embed, 2 * embed])
        let bs = inProjBias?.split(sizes: [embed, 2 * embed])
        q = linear(q, ws[0], bs?[0])
        let kv = linear(k, ws[1], bs?[1]).chunk(2, dim: -1)
        (k, v) = (kv[0], kv[1])
      case .none:
        let ws = w.chunk(3)
        let bs = inProjBias?.chunk(3)
        (q, k, v) = (linear(q, ws[0], bs?[0]), linear(k, ws[1], bs?[1]), linear(v, ws[2], bs?[2]))
      }
    }

    // the attention mask as (1 or N * heads, L, S)
    if let mask = attnMask {
      let srcLen = k.shape[0]
      if mask.rank == 2 {
        precondition(
          mask.shape == [tgtLen, srcLen],
          "MultiheadAttention: The shape of the 2D attn_mask is \(mask.shape), but should be \([tgtLen, srcLen])."
        )
        attnMask = mask.unsqueeze(0)
      } else if mask.rank == 3 {
        precondition(
          mask.shape == [bsz * numHeads, tgtLen, srcLen],
          "MultiheadAttention: The shape of the 3D attn_mask is \(mask.shape), but should be \([bsz * numHeads, tgtLen, srcLen])."
        )
      } else {
        preconditionFailure(
          "MultiheadAttention: attn_mask's dimension \(mask.rank) is not supported")
      }
    }

    // heads into the batch: (N * heads, L, headDim)
    q = q.reshape([tgtLen, bsz * numHeads, headDim]).transpose(0, 1)
    k = k.reshape([k.shape[0], bsz * numHeads, headDim]).transpose(0, 1)
    v = v.reshape([v.shape[0], bsz * numHeads, headDim]).transpose(0, 1)
    let srcLen = k.shape[1]

    if let kpm = keyPaddingMask {
      precondition(
        kpm.shape[0] == bsz,
        "MultiheadAttention: Expected key_padded_mask.shape[0] to be \(bsz), but got \(kpm.shape[0])"
      )
      precondition(
        kpm.shape[1] == srcLen,
        "MultiheadAttention: Expected key_padded_mask.shape[1] to be \(srcLen), but got \(kpm.shape[1])"
      )
      let expanded = kpm.view([bsz, 1, 1, srcLen]).expand([bsz, numHeads, 1, srcLen])
        .reshape([bsz * numHeads, 1, srcLen])
      attnMask = attnMask.map { $0 + expanded } ?? expanded
    }
    let dropoutP = training ? dropout : 0

    var output: Tensor
    var weights: Tensor? = nil
    if needWeights {
      let qScaled = q * (1.0 / Double(headDim)).squareRoot()
      let product = qScaled.bmm(k.transpose(1, 2))
      var w = (attnMask.map { $0 + product } ?? product).softmax(dim: -1)
      if dropoutP > 0 { w = Functional.dropout(w, p: dropoutP) }
      output = w.bmm(v).transpose(0, 1).reshape([tgtLen * bsz, embedDim])
      w = w.view([bsz, numHeads, tgtLen, srcLen])
      weights = averageAttnWeights ? w.mean(dim: 1) : w
    } else {
      if let mask = attnMask {
        attnMask =
          mask.shape[0] == 1 && mask.rank == 3
          ? mask.unsqueeze(0) : mask.view([bsz, numHeads, -1, srcLen])
      }
      let attended = scaledDotProductAttention(
        q.reshape([bsz, numHeads, tgtLen, headDim]), k.reshape([bsz, numHeads, srcLen, headDim]),
        v.reshape([bsz, numHeads, srcLen, headDim]), mask: attnMask, dropout: dropoutP,
        isCausal: isCausal)
      output = attended.permute(2, 0, 1, 3).reshape([bsz * tgtLen, embedDim])
    }
    output = linear(output, outProjWeight, outProjBias).view([tgtLen, bsz, embedDim])
    if !isBatched {
      output = output.squeeze(1)
      weights = weights?.squeeze(0)
    } else if batchFirstOutput {
      output = output.transpose(1, 0)
    }
    return (output, weights)
  }

  /// PyTorch's `scaled_dot_product_attention` as its CPU backends compute it: without dropout
  /// (the flash kernel) the product q k^T is scaled, the mask added, then a softmax; with dropout
  /// (the math fallback) q and k^T are each scaled by the square root of the scale first. Rows
  /// whose keys are all masked give zeros (`_safe_softmax`).
  static func scaledDotProductAttention(
    _ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, dropout: Double, isCausal: Bool
  ) -> Tensor {
    let scale = 1.0 / Double(q.shape[q.rank - 1]).squareRoot()
    var mask = mask
    if isCausal {
      precondition(
        mask == nil,
        "scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
      mask = causalMask(q.shape[q.rank - 2], k.shape[k.rank - 2], dtype: q.dtype)
    }
    var scores: Tensor
    if dropout > 0 {
      let root = scale.squareRoot()
      scores = (q * root).matmul(k.transpose(-2, -1) * root)
    } else {
      scores = q.matmul(k.transpose(-2, -1)) * scale
    }
    if let mask { scores = scores + mask }
    var attention = safeSoftmax(scores)
    if dropout > 0 { attention = Functional.dropout(attention, p: dropout) }
    return attention.matmul(v)
  }

  /// Softmax over the last dim that gives zeros, not NaN, where every element is -inf (PyTorch's
  /// `_safe_softmax`); those rows get zero gradient.
  static func safeSoftmax(_ scores: Tensor) -> Tensor {
    let fullyMasked = (scores .== -Double.infinity).all(dim: -1, keepdim: true)
    guard fullyMasked.any().item() != 0 else { return scores.softmax(dim: -1) }
    let zero = Tensor.zeros([], dtype: scores.dtype)
    return Tensor.where(fullyMasked, zero, Tensor.where(fullyMasked, zero, scores).softmax(dim: -1))
  }

  /// 0 on and below the diagonal, -inf above: (L, S), as `ones(L, S).tril()` converted.
  static func causalMask(_ l: Int, _ s: Int, dtype: DType) -> Tensor {
    var values = [Double](repeating: 0, count: l * s)
    for i in 0..<l { for j in 0..<s where j > i { values[i * s + j] = -.infinity } }
    return Tensor(shape: [l, s], scalars: values).to(dtype)
  }

  /// PyTorch's `_mha_shape_check`: whether the input is batched, after checking every rank.
  private static func checkShapes(
    _ query: Tensor, _ key: Tensor, _ value: Tensor, _ keyPaddingMask: Tensor?,
    _ attnMask: Tensor?, numHeads: Int
  ) -> Bool {
    let name = "MultiheadAttention"
    switch query.rank {
    case 3:
      precondition(
        key.rank == 3 && value.rank == 3,
        "\(name): For batched (3-D) `query`, expected `key` and `value` to be 3-D but found \(key.rank)-D and \(value.rank)-D tensors respectively"
      )
      if let m = keyPaddingMask {
        precondition(
          m.rank == 2,
          "\(name): For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but found \(m.rank)-D tensor instead"
        )
      }
      if let m = attnMask {
        precondition(
          m.rank == 2 || m.rank == 3,
          "\(name): For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found \(m.rank)-D tensor instead"
        )
      }
      return true
    case 2:
      precondition(
        key.rank == 2 && value.rank == 2,
        "\(name): For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found \(key.rank)-D and \(value.rank)-D tensors respectively"
      )
      if let m = keyPaddingMask {
        precondition(
          m.rank == 1,
          "\(name): For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but found \(m.rank)-D tensor instead"
        )
      }
      if let m = attnMask {
        precondition(
          m.rank == 2 || m.rank == 3,
          "\(name): For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found \(m.rank)-D tensor instead"
        )
        if m.rank == 3 {
          let expected = [numHeads, query.shape[0], key.shape[0]]
          precondition(
            m.shape == expected,
            "\(name): Expected `attn_mask` shape to be \(expected) but got \(m.shape)")
        }
      }
      return false
    default:
      preconditionFailure(
        "\(name): query should be unbatched 2D or batched 3D tensor but received \(query.rank)-D query tensor"
      )
    }
  }
}
