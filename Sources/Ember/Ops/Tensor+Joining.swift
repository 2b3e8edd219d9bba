/// Joining and splitting: `cat`, `stack`, `split`, `chunk`, `unbind`. Joins copy into a new
/// tensor; the pieces of a split are views that share storage with the input.
extension Tensor {
  // MARK: cat and stack

  /// Concatenates tensors along an existing dimension (`torch.cat`).
  ///
  /// All tensors must have the same rank and the same sizes except in `dim`; the result has the
  /// promoted dtype. As in PyTorch, 1-D tensors with no elements are skipped.
  public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
    precondition(!tensors.isEmpty, "torch.cat(): expected a non-empty list of Tensors")
    for (i, t) in tensors.enumerated() {
      precondition(
        t.rank > 0, "cat: zero-dimensional tensor (at position \(i)) cannot be concatenated")
    }
    let dtype = tensors.dropFirst().reduce(tensors[0].dtype) { DType.promote($0, $1.dtype) }
    // legacy behaviour: 1-D empty tensors take no part in the shape checks
    let isSkipped = tensors.map { $0.rank == 1 && $0.shape[0] == 0 }
    guard let refIndex = isSkipped.firstIndex(of: false) else {
      _ = Shape.normalize(dim, rank: 1, op: "cat")
      let out = Tensor(zerosShape: [0], dtype: dtype)
      if Tensor.needsGrad(tensors) {
        let metas = tensors.map { ($0.shape, $0.dtype) }
        Tensor.record("CatBackward0", inputs: tensors, outputs: [out]) { ctx in
          Gradients(
            metas.indices.map { i in
              ctx.needsInputGrad(i) ? Tensor.zeros(metas[i].0, dtype: metas[i].1) : nil
            })
        }
      }
      return out
    }
    let ref = tensors[refIndex]
    let d = Shape.normalize(dim, rank: ref.rank, op: "cat")
    var outShape = ref.shape
    outShape[d] = 0
    for (i, t) in tensors.enumerated() where !isSkipped[i] {
      precondition(
        t.rank == ref.rank,
        "cat: Tensors must have same number of dimensions: got \(ref.rank) and \(t.rank)")
      for k in 0..<ref.rank where k != d {
        precondition(
          t.shape[k] == ref.shape[k],
          "cat: Sizes of tensors must match except in dimension \(d). Expected size \(ref.shape[k]) but got size \(t.shape[k]) for tensor number \(i) in the list."
        )
      }
      outShape[d] += t.shape[d]
    }
    let parts = tensors.indices.filter { !isSkipped[$0] }.map { tensors[$0] }
    let out = joiningConcatenate(parts, dim: d, outShape: outShape, dtype: dtype)
    if Tensor.needsGrad(tensors) {
      // (start, length) along d of every input; skipped inputs get an empty gradient
      var start = 0
      var pieces: [(start: Int, length: Int, skipped: Bool, dtype: DType)] = []
      for (i, t) in tensors.enumerated() {
        if isSkipped[i] {
          pieces.append((0, 0, true, t.dtype))
        } else {
          pieces.append((start, t.shape[d], false, t.dtype))
          start += t.shape[d]
        }
      }
      Tensor.record("CatBackward0", inputs: tensors, outputs: [out]) { ctx in
        Gradients(
          pieces.indices.map { i -> Tensor? in
            guard ctx.needsInputGrad(i) else { return nil }
            let p = pieces[i]
            if p.skipped { return Tensor.zeros([0], dtype: p.dtype) }
            return ctx.grad.narrow(d, start: p.start, length: p.length).to(p.dtype)
          })
      }
    }
    return out
  }

  /// Joins tensors of equal shape along a new dimension `dim` (`torch.stack`).
  public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
    precondition(!tensors.isEmpty, "stack: stack expects a non-empty TensorList")
    let s0 = tensors[0].shape
    for (i, t) in tensors.enumerated() where t.shape != s0 {
      preconditionFailure(
        "stack: stack expects each tensor to be equal size, but got \(s0) at entry 0 and \(t.shape) at entry \(i)"
      )
    }
    let d = Shape.normalize(dim, rank: s0.count + 1, op: "stack")
    let dtype = tensors.dropFirst().reduce(tensors[0].dtype) { DType.promote($0, $1.dtype) }
    // each input read as if unsqueezed at d (aliases without history)
    let parts = tensors.map { t -> Tensor in
      var sh = t.shape
      var st = t.strides
      st.insert(d < t.rank ? t.shape[d] * t.strides[d] : 1, at: d)
      sh.insert(1, at: d)
      return t.alias(shape: sh, strides: st)
    }
    var outShape = s0
    outShape.insert(tensors.count, at: d)
    let out = joiningConcatenate(parts, dim: d, outShape: outShape, dtype: dtype)
    if Tensor.needsGrad(tensors) {
      let dtypes = tensors.map(\.dtype)
      Tensor.record("StackBackward0", inputs: tensors, outputs: [out]) { ctx in
        Gradients(
          dtypes.indices.map { i in
            ctx.needsInputGrad(i) ? ctx.grad.select(d, i).to(dtypes[i]) : nil
          })
      }
    }
    return out
  }

  /// Copies `parts` (same shape as `outShape` except in `dim`) one after another along `dim` into
  /// a new contiguous tensor of `dtype`.
  private static func joiningConcatenate(
    _ parts: [Tensor], dim d: Int, outShape: [Int], dtype: DType
  ) -> Tensor {
    let out = Tensor(uninitializedShape: outShape, dtype: dtype)
    if out.count == 0 { return out }
    let outer = outShape[..<d].reduce(1, *)
    let inner = outShape[(d + 1)...].reduce(1, *)
    let outRow = outShape[d] * inner
    let es = dtype.byteSize
    let dst = out.storage.data
    var start = 0
    for p in parts {
      let len = p.shape[d]
      defer { start += len }
      if len == 0 { continue }
      if p.dtype == dtype && p.isContiguous {
        // contiguous rows: one memcpy per outer index
        let row = len * inner
        let src = p.storage.data + p.storageOffset * es
        let dstStart = start * inner
        if outer == 1 {
          Parallel.forRange(row) { r in
            (dst + (dstStart + r.lowerBound) * es).copyMemory(
              from: src + r.lowerBound * es, byteCount: r.count * es)
          }
        } else {
          Parallel.forRange(outer, costPerItem: row) { r in
            for o in r {
              (dst + (o * outRow + dstStart) * es).copyMemory(
                from: src + o * row * es, byteCount: row * es)
            }
          }
        }
      } else {
        let region = out.alias(
          shape: p.shape, strides: out.strides, offset: start * out.strides[d])
        Kernel.copy(p, into: region)
      }
    }
    return out
  }

  // MARK: split, chunk, unbind

  /// Splits into pieces of `size` along `dim` (the last may be smaller), as views (`split`).
  public func split(size: Int, dim: Int = 0) -> [Tensor] {
    let d = Shape.normalize(dim, rank: rank, op: "split")
    precondition(
      size >= 0, "split: split expects split_size be non-negative, but got split_size=\(size)")
    let n = shape[d]
    precondition(
      size > 0 || n == 0,
      "split: split_size can only be 0 if dimension size is 0, but got dimension size of \(n)")
    let pieces = size == 0 ? 1 : max((n + size - 1) / size, 1)
    let sizes = (0..<pieces).map { Swift.min(size, n - $0 * size) }
    return joiningSplitViews(sizes: sizes, dim: d, name: "SplitBackward0")
  }

  /// Splits into pieces with the given sizes along `dim`, as views (`split` with a list of
  /// sizes, PyTorch's `split_with_sizes`).
  public func split(sizes: [Int], dim: Int = 0) -> [Tensor] {
    let d = Shape.normalize(dim, rank: rank, op: "split_with_sizes")
    let total = sizes.reduce(0, +)
    precondition(
      sizes.allSatisfy { $0 >= 0 },
      "split_with_sizes: split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=\(sizes)"
    )
    precondition(
      total == shape[d],
      "split_with_sizes: split_with_sizes expects split_sizes to sum exactly to \(shape[d]) (input tensor's size at dimension \(d)), but got split_sizes=\(sizes)"
    )
    return joiningSplitViews(sizes: sizes, dim: d, name: "SplitWithSizesBackward0")
  }

  /// Splits into `chunks` nearly equal pieces along `dim` (fewer when the size does not divide),
  /// as views (`chunk`).
  public func chunk(_ chunks: Int, dim: Int = 0) -> [Tensor] {
    precondition(chunks > 0, "chunk: chunk expects `chunks` to be greater than 0, got: \(chunks)")
    let d = Shape.normalize(dim, rank: rank, op: "chunk")
    let n = shape[d]
    let size = (n + chunks - 1) / chunks
    if size == 0 && n == 0 {
      return joiningSplitViews(
        sizes: [Int](repeating: 0, count: chunks), dim: d, name: "SplitWithSizesBackward0")
    }
    return split(size: size, dim: d)
  }

  /// All slices along `dim`, each with that dim removed, as views (`unbind`).
  public func unbind(dim: Int = 0) -> [Tensor] {
    let d = Shape.normalize(dim, rank: rank, op: "unbind")
    let n = shape[d]
    var sh = shape
    var st = strides
    sh.remove(at: d)
    st.remove(at: d)
    let outs = (0..<n).map { i in
      makeView(shape: sh, strides: st, offset: storageOffset + i * strides[d])
    }
    Tensor.markMultipleViews(outs)
    if n > 0 && Tensor.needsGrad(self) {
      Tensor.record("UnbindBackward0", inputs: [self], outputs: outs) { ctx in
        [Tensor.stack(ctx.gradOutputs, dim: d)]
      }
    }
    return outs
  }

  /// Consecutive views of `sizes` along `d`, sharing one backward node that concatenates the
  /// pieces' gradients.
  private func joiningSplitViews(sizes: [Int], dim d: Int, name: String) -> [Tensor] {
    var start = 0
    var outs: [Tensor] = []
    outs.reserveCapacity(sizes.count)
    for len in sizes {
      var sh = shape
      sh[d] = len
      outs.append(
        makeView(shape: sh, strides: strides, offset: storageOffset + start * strides[d]))
      start += len
    }
    Tensor.markMultipleViews(outs)
    if Tensor.needsGrad(self) {
      Tensor.record(name, inputs: [self], outputs: outs) { ctx in
        [Tensor.cat(ctx.gradOutputs, dim: d)]
      }
    }
    return outs
  }
}

extension Tensor {
  /// Marks the views one op returned together (PyTorch's MULTI_OUTPUT_NODE; under no-grad they
  /// keep their no-grad mark).
  static func markMultipleViews(_ views: [Tensor]) {
    guard GradMode.isEnabled else { return }
    for v in views { v.viewCreation = .multipleViews }
  }
}
