/// The LSTM recurrence of one layer in one direction as a single op (`F.lstmLayer`): what
/// `nn.LSTM` runs per layer and direction (PyTorch's `FullLayer`/mkldnn RNN layer on CPU).
///
/// Forward: the input projection of every step in one GEMM, then per step one GEMM accumulating
/// h_{t-1} W_hh^T onto that step's gates and one fused cell kernel (Kernels/Recurrent.swift,
/// CEmberKernels/recurrent.c). One autograd node covers the whole sequence; its backward runs
/// the steps in reverse with a fused cell-backward kernel, then computes the weight gradients
/// with one GEMM each over all steps (K = steps * batch) instead of one per step.
///
/// The composed form (``lstmLayerComposed``: per-step `linear`, `chunk`, `sigmoid`, `tanh`, ...)
/// is kept beside it. It gives the same forward numbers and is what a backward with `createGraph`
/// differentiates, so double backward and `gradgradcheck` go through ordinary tensor ops.
///
/// Measured on `ember-bench lstm` (Embedding(64,64) -> LSTM(64,256) -> Linear(256,64), batch 32,
/// seq 50, no BLAS) on the shared 2-core machine under load 10-25, old and new binaries run
/// alternately: 1 thread, CPU time of the whole run (3 warmup + 20 steps) 1554 and 1556 ms
/// composed against 1123 and 1082 ms fused; 2 threads, median ms/step 191/182/159 composed
/// against 123/111/47 fused. With one node per layer the weight gradients are one GEMM each
/// (the composed W_hh gradient was 50 GEMMs with K = batch, added up) and the cell's ~15
/// elementwise ops per step forward (more backward) are one kernel.
extension Functional {
  /// One LSTM layer in one direction over a sequence (seq, batch, feature), gates in PyTorch's
  /// order i, f, g, o: c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).
  ///
  /// - input: [steps, batch, inputSize]; h0, c0: [batch, hidden].
  /// - weightIH: [4 * hidden, inputSize]; weightHH: [4 * hidden, hidden]; biases: [4 * hidden].
  /// - reverse: run from the last step to the first (a bidirectional layer's second direction).
  ///
  /// Returns the output [steps, batch, hidden] (h at every step, in time order) and the final
  /// h and c. float32 and float64 take the fused path; its node is PyTorch's CPU
  /// `MkldnnRnnLayerBackward0`.
  public static func lstmLayer(
    _ input: Tensor, h0: Tensor, c0: Tensor, weightIH: Tensor, weightHH: Tensor,
    biasIH: Tensor? = nil, biasHH: Tensor? = nil, reverse: Bool = false
  ) -> (output: Tensor, h: Tensor, c: Tensor) {
    let op = "lstmLayer"
    precondition(input.rank == 3, "\(op): expected a 3-D input, got \(input.rank)-D")
    let (steps, batch, inputSize) = (input.shape[0], input.shape[1], input.shape[2])
    precondition(
      weightHH.rank == 2 && weightHH.shape[0] == 4 * weightHH.shape[1],
      "\(op): weight_hh must be [4 * hidden, hidden], got \(weightHH.shape)")
    let hidden = weightHH.shape[1]
    precondition(
      weightIH.shape == [4 * hidden, inputSize],
      "\(op): weight_ih must be \([4 * hidden, inputSize]), got \(weightIH.shape)")
    precondition(
      h0.shape == [batch, hidden] && c0.shape == [batch, hidden],
      "\(op): h0 and c0 must be \([batch, hidden]), got \(h0.shape) and \(c0.shape)")
    precondition(
      (biasIH == nil) == (biasHH == nil), "\(op): pass both biases or neither")
    for b in [biasIH, biasHH].compactMap({ $0 }) {
      precondition(b.shape == [4 * hidden], "\(op): biases must be [\(4 * hidden)], got \(b.shape)")
    }
    let dtype = input.dtype
    let all = [input, h0, c0, weightIH, weightHH] + [biasIH, biasHH].compactMap { $0 }
    precondition(
      all.allSatisfy { $0.dtype == dtype }, "\(op): all tensors must have the same dtype")
    guard dtype == .float32 || dtype == .float64, steps > 0, batch > 0 else {
      return lstmLayerComposed(
        input, h0: h0, c0: c0, weightIH: weightIH, weightHH: weightHH, biasIH: biasIH,
        biasHH: biasHH, reverse: reverse)
    }
    let shape = Kernel.LSTMShape(steps: steps, batch: batch, hidden: hidden, reverse: reverse)
    let x = input.contiguousCopyIfNeeded()
    let h0d = h0.contiguousCopyIfNeeded()
    let c0d = c0.contiguousCopyIfNeeded()
    let gates = Tensor(uninitializedShape: [steps, batch, 4 * hidden], dtype: dtype)
    let cells = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    let output = Tensor(uninitializedShape: [steps, batch, hidden], dtype: dtype)
    // the steps read W_hh transposed, in a layout lstmForward makes once from the rows
    let whh = weightHH.contiguousCopyIfNeeded()
    var projectionBeta = 0
    if let bi = biasIH, let bh = biasHH {
      // b_ih + b_hh added once, as the composed path's addmm does
      Kernel.copy(withNoGrad { bi + bh }, into: gates)
      projectionBeta = 1
    }
    func run<T: FloatScalar>(_: T.Type) {
      // gates = x W_ih^T (+ the biases): one GEMM for every step
      Kernel.gemm(
        m: steps * batch, n: 4 * hidden, k: inputSize, UnsafePointer(x.basePointer(T.self)),
        inputSize, 1, UnsafePointer(weightIH.basePointer(T.self)), weightIH.strides[1],
        weightIH.strides[0], gates.basePointer(T.self), 4 * hidden, beta: T(projectionBeta),
        threaded: true)
      Kernel.lstmForward(
        shape, gates: gates.basePointer(T.self),
        weightHH: UnsafePointer(whh.basePointer(T.self)),
        h0: UnsafePointer(h0d.basePointer(T.self)),
        c0: UnsafePointer(c0d.basePointer(T.self)), output: output.basePointer(T.self),
        cells: cells.basePointer(T.self))
    }
    if dtype == .float32 { run(Float.self) } else { run(Double.self) }
    let last = shape.time(steps - 1)
    let hN = Tensor(uninitializedShape: [batch, hidden], dtype: dtype)
    let cN = Tensor(uninitializedShape: [batch, hidden], dtype: dtype)
    Kernel.copy(withNoGrad { output.select(0, last) }, into: hN)
    Kernel.copy(withNoGrad { cells.select(0, last) }, into: cN)
    if Tensor.needsGrad(all) {
      let count = all.count
      let hasBias = biasIH != nil
      Tensor.record(
        "MkldnnRnnLayerBackward0", inputs: all, outputs: [output, hN, cN],
        saving: all + [x, h0d, c0d, gates, cells], savingOutputs: [0]
      ) { ctx in
        // With createGraph the gradient must itself be differentiable: differentiate the
        // composed ops instead (replayed on the saved inputs).
        if GradMode.isEnabled {
          return Gradients(try composedBackward(ctx, count: count, reverse: reverse))
        }
        return Gradients(try fusedBackward(ctx, shape, count: count, hasBias: hasBias))
      }
    }
    return (output, hN, cN)
  }

  /// The gradients of ``lstmLayer`` from the buffers its forward kept (grad mode off).
  private static func fusedBackward(
    _ ctx: BackwardContext, _ s: Kernel.LSTMShape, count: Int, hasBias: Bool
  ) throws -> [Tensor?] {
    let weightIH = try ctx.saved(3)
    let weightHH = try ctx.saved(4).contiguousCopyIfNeeded()
    let x = try ctx.saved(count)
    let h0 = try ctx.saved(count + 1)
    let c0 = try ctx.saved(count + 2)
    let gates = try ctx.saved(count + 3)
    let cells = try ctx.saved(count + 4)
    let output = try ctx.saved(count + 5)
    let (steps, batch, hidden) = (s.steps, s.batch, s.hidden)
    let inputSize = x.shape[2]
    let dtype = x.dtype
    let dout = ctx.gradOutputs[0].contiguousCopyIfNeeded()
    let dh = Tensor(uninitializedShape: [batch, hidden], dtype: dtype)
    let dc = Tensor(uninitializedShape: [batch, hidden], dtype: dtype)
    Kernel.copy(ctx.gradOutputs[1], into: dh)
    Kernel.copy(ctx.gradOutputs[2], into: dc)
    let dgates = Tensor(uninitializedShape: [steps, batch, 4 * hidden], dtype: dtype)
    let needsX = ctx.needsInputGrad(0)
    let needsWIH = ctx.needsInputGrad(3)
    let needsWHH = ctx.needsInputGrad(4)
    let dx = needsX ? Tensor(uninitializedShape: [steps, batch, inputSize], dtype: dtype) : nil
    let dwih = needsWIH ? Tensor(uninitializedShape: weightIH.shape, dtype: dtype) : nil
    let dwhh = needsWHH ? Tensor(uninitializedShape: weightHH.shape, dtype: dtype) : nil
    let rows = steps * batch
    let g4 = 4 * hidden
    func run<T: FloatScalar>(_: T.Type) {
      let pg = UnsafePointer(dgates.basePointer(T.self))
      let pwhh = UnsafePointer(weightHH.basePointer(T.self))
      Kernel.lstmBackward(
        s, gates: UnsafePointer(gates.basePointer(T.self)),
        cells: UnsafePointer(cells.basePointer(T.self)), c0: UnsafePointer(c0.basePointer(T.self)),
        weightHH: pwhh,
        dout: UnsafePointer(dout.basePointer(T.self)), dh: dh.basePointer(T.self),
        dc: dc.basePointer(T.self), dgates: dgates.basePointer(T.self),
        needsInitialH: ctx.needsInputGrad(1))
      let pwih = UnsafePointer(weightIH.basePointer(T.self))
      if let dx {
        // dx (TB x I) = dgates (TB x 4H) @ W_ih (4H x I)
        Kernel.gemm(
          m: rows, n: inputSize, k: g4, pg, g4, 1, pwih, weightIH.strides[0],
          weightIH.strides[1], dx.basePointer(T.self), inputSize, beta: 0, threaded: true)
      }
      if let dwih {
        // dW_ih (4H x I) = dgates^T (4H x TB) @ x (TB x I)
        Kernel.gemm(
          m: g4, n: inputSize, k: rows, pg, 1, g4, UnsafePointer(x.basePointer(T.self)),
          inputSize, 1, dwih.basePointer(T.self), inputSize, beta: 0, threaded: true)
      }
      if let dwhh {
        // dW_hh (4H x H) = sum over t of dgates[t]^T @ h_prev(t): the steps whose h_prev is an
        // output in one GEMM (K = (steps - 1) * batch), then the step fed by h0
        let po = UnsafePointer(output.basePointer(T.self))
        let step = batch * hidden
        var beta: T = 0
        if steps > 1 {
          let (ga, ob) = s.reverse ? (pg, po + step) : (pg + batch * g4, po)
          Kernel.gemm(
            m: g4, n: hidden, k: (steps - 1) * batch, ga, 1, g4, ob, hidden, 1,
            dwhh.basePointer(T.self), hidden, beta: 0, threaded: true)
          beta = 1
        }
        let first = s.time(0)
        Kernel.gemm(
          m: g4, n: hidden, k: batch, pg + first * batch * g4, 1, g4,
          UnsafePointer(h0.basePointer(T.self)), hidden, 1, dwhh.basePointer(T.self), hidden,
          beta: beta, threaded: true)
      }
    }
    if dtype == .float32 { run(Float.self) } else { run(Double.self) }
    var grads: [Tensor?] = [
      dx, ctx.needsInputGrad(1) ? dh : nil, ctx.needsInputGrad(2) ? dc : nil, dwih, dwhh,
    ]
    if hasBias {
      let needsBias = ctx.needsInputGrad(5) || ctx.needsInputGrad(6)
      let db = needsBias ? dgates.view([rows, g4]).sum(dim: 0) : nil
      grads.append(ctx.needsInputGrad(5) ? db : nil)
      // the same tensor for both, as PyTorch's AddBackward0 passes one gradient to both inputs
      grads.append(ctx.needsInputGrad(6) ? db : nil)
    }
    return grads
  }

  /// The gradients of ``lstmLayer`` through its composed ops, recomputed from the saved inputs
  /// with grad mode on, so that they can be differentiated again (createGraph).
  private static func composedBackward(_ ctx: BackwardContext, count: Int, reverse: Bool) throws
    -> [Tensor?]
  {
    let saved = try (0..<count).map { try ctx.saved($0) }
    let (out, hN, cN) = lstmLayerComposed(
      saved[0], h0: saved[1], c0: saved[2], weightIH: saved[3], weightHH: saved[4],
      biasIH: count > 5 ? saved[5] : nil, biasHH: count > 6 ? saved[6] : nil, reverse: reverse)
    let wanted = (0..<count).filter { ctx.needsInputGrad($0) && saved[$0].requiresGrad }
    var grads = [Tensor?](repeating: nil, count: count)
    guard !wanted.isEmpty else { return grads }
    let found = try grad(
      of: [out, hN, cN], withRespectTo: wanted.map { saved[$0] }, gradOutputs: ctx.gradOutputs,
      createGraph: true, allowUnused: true)
    for (k, i) in wanted.enumerated() { grads[i] = found[k] }
    return grads
  }

  /// ``lstmLayer`` composed of tensor ops, one step at a time (the plain code the fused path
  /// replaces, and what its double backward differentiates).
  static func lstmLayerComposed(
    _ input: Tensor, h0: Tensor, c0: Tensor, weightIH: Tensor, weightHH: Tensor,
    biasIH: Tensor?, biasHH: Tensor?, reverse: Bool
  ) -> (output: Tensor, h: Tensor, c: Tensor) {
    let (steps, batch) = (input.shape[0], input.shape[1])
    var inputBias = biasIH
    if let bi = biasIH, let bh = biasHH { inputBias = bi + bh }
    let projected = linear(
      input.reshape([steps * batch, input.shape[2]]), weightIH, bias: inputBias)
    let parts = projected.view([steps, batch, projected.shape[1]]).unbind(dim: 0)
    var h = h0
    var c = c0
    var outputs = [Tensor](repeating: h0, count: steps)
    for step in 0..<steps {
      let t = reverse ? steps - 1 - step : step
      let gates = linear(h, weightHH, bias: parts[t]).chunk(4, dim: 1)
      let i = gates[0].sigmoid()
      let f = gates[1].sigmoid()
      let g = gates[2].tanh()
      let o = gates[3].sigmoid()
      c = f * c + i * g
      h = o * c.tanh()
      outputs[t] = h
    }
    return (Tensor.stack(outputs), h, c)
  }
}
