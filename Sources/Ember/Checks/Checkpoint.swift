/// Gradient checkpointing (`torch.utils.checkpoint.checkpoint`): trades compute for memory by not
/// keeping a segment's intermediate values for backward.
///
/// `function` runs once without recording history; only `inputs` are saved. When backward reaches
/// the segment, `function` runs again with history on (fresh aliases of the saved inputs) and the
/// gradient is propagated through that recomputed segment. The recorded node is named
/// `CheckpointFunctionBackward`, as PyTorch's reentrant checkpoint.
///
/// - `function` must compute the same values when called again. Random numbers are reproduced as
///   PyTorch's `preserve_rng_state=True` does: the state of each generator in `preservingRNGOf`
///   (the default generator unless told otherwise) is saved before forward and, if forward drew
///   from it, set back for the recomputation and restored afterwards. Pass `[]` to skip this
///   (`preserve_rng_state=False`). Generators are process-wide: another thread drawing from one
///   during a recomputation sees the rewound stream.
/// - Tensors with history that `function` reads must be passed in `inputs`. Leaves it captures
///   (parameters) are fine: the recomputed segment accumulates their gradients into `.grad`
///   during backward, as PyTorch's reentrant checkpoint does (also under `grad(of:...)`, which
///   therefore does not see them).
/// - Saved inputs are version-checked: modifying one in place before backward throws.
/// - With `createGraph`, the gradients keep their history through the recomputed segment, so the
///   segment can be differentiated twice.
/// - When grad mode is off or no input requires grad, `function` simply runs as usual (so
///   parameters it captures still get gradients when grad mode is on).
public func checkpoint(
  _ function: @escaping ([Tensor]) throws -> [Tensor], inputs: [Tensor],
  preservingRNGOf generators: [Generator] = [Generator.default]
) throws -> [Tensor] {
  guard Tensor.needsGrad(inputs) else { return try function(inputs) }
  let before = generators.map { $0.state }
  let raw = try withNoGrad { try function(inputs) }
  // Only generators forward drew from need to be rewound for the recomputation.
  let rng = zip(generators, before).filter { $0.state != $1 }
  let inputIDs = Set(inputs.map { ObjectIdentifier($0) })
  // Outputs that are inputs (or captured tensors that require grad) are returned as aliases, so
  // the node never takes over a tensor the caller already holds.
  let outputs = raw.map { o in
    inputIDs.contains(ObjectIdentifier(o)) || o.requiresGrad ? o.detach() : o
  }
  let differentiable = outputs.indices.filter { outputs[$0].dtype.isFloatingPoint }
  guard !differentiable.isEmpty else { return outputs }
  // the rule captures counts only, never the tensors (they are reached through ctx.saved)
  let (inputCount, outputCount) = (inputs.count, outputs.count)
  Tensor.record(
    "CheckpointFunctionBackward", inputs: inputs, outputs: differentiable.map { outputs[$0] },
    saving: inputs
  ) { ctx in
    Gradients(
      try recomputeAndBackward(
        function, savedCount: inputCount, outputCount: outputCount,
        differentiable: differentiable, rng: rng, ctx: ctx))
  }
  return outputs
}

/// Single-output ``checkpoint(_:inputs:preservingRNGOf:)``.
public func checkpoint(
  _ function: @escaping ([Tensor]) throws -> Tensor, inputs: [Tensor],
  preservingRNGOf generators: [Generator] = [Generator.default]
) throws -> Tensor {
  try checkpoint({ [try function($0)] }, inputs: inputs, preservingRNGOf: generators)[0]
}

/// The backward rule of a checkpointed segment.
private func recomputeAndBackward(
  _ function: ([Tensor]) throws -> [Tensor], savedCount: Int, outputCount: Int,
  differentiable: [Int], rng: [(Generator, Generator.State)], ctx: BackwardContext
) throws -> [Tensor?] {
  let createGraph = GradMode.isEnabled
  let originals = try (0..<savedCount).map { try ctx.saved($0) }
  // Each input that requires grad is replaced by an alias whose node catches its gradient. The
  // node has no edges while the segment is differentiated, so that run stays inside the segment.
  var boundaries: [CheckpointBoundary?] = []
  let stand = originals.map { original -> Tensor in
    let t = original.detach()
    if original.requiresGrad {
      let b = CheckpointBoundary(shape: original.shape, dtype: original.dtype)
      t.gradFn = b
      t.outputNr = 0
      boundaries.append(b)
    } else {
      boundaries.append(nil)
    }
    return t
  }
  // fork_rng: replay forward's random numbers, then continue the streams where they were
  let current = rng.map { $0.0.state }
  for (g, state) in rng { g.state = state }
  let recomputed: [Tensor]
  do {
    defer { for ((g, _), state) in zip(rng, current) { g.state = state } }
    recomputed = try withGradEnabled { try function(stand) }
  }
  precondition(
    recomputed.count == outputCount,
    "checkpoint: the function returned \(outputCount) outputs in forward but \(recomputed.count) when recomputed"
  )
  var roots: [Edge] = []
  var seeds: [Tensor] = []
  for (k, index) in differentiable.enumerated() {
    let out = recomputed[index]
    guard out.requiresGrad else { continue }
    precondition(
      out.shape == ctx.gradOutputs[k].shape,
      "checkpoint: recomputed output \(index) has shape \(out.shape), but it had shape \(ctx.gradOutputs[k].shape) in forward"
    )
    roots.append(out.gradientEdge())
    seeds.append(ctx.gradOutputs[k])
  }
  if !roots.isEmpty {
    _ = try Engine.run(
      roots: roots, rootGrads: seeds, keepGraph: createGraph, createGraph: createGraph,
      inputs: nil)
  }
  return zip(originals, boundaries).map { original, boundary in
    guard let boundary else { return nil }
    let g = boundary.captured
    boundary.captured = nil
    // From now on the boundary passes gradients on to the original input, so gradients that kept
    // their history (createGraph) can be differentiated again.
    if createGraph { boundary.nextEdges = [original.gradientEdge()] }
    boundary.capturing = false
    return g
  }
}

/// Stands for a checkpointed segment's input while the segment is recomputed: first it catches
/// the input's gradient, then it is an identity node leading to the original input's history.
final class CheckpointBoundary: Node {
  var captured: Tensor?
  var capturing = true

  init(shape: [Int], dtype: DType) {
    super.init(
      name: "CheckpointInput", nextEdges: [], outputs: [OutputMeta(shape: shape, dtype: dtype)])
  }

  override func apply(_ gradOutputs: [Tensor]) throws -> Gradients {
    if capturing {
      captured = captured.map { $0 + gradOutputs[0] } ?? gradOutputs[0]
      return []
    }
    return [gradOutputs[0]]
  }
}
