import CEmberKernels

/// The fused LSTM recurrence over raw buffers: the per-step GEMMs and the cell kernels of
/// `Functional.lstmLayer` (Sources/Ember/Ops/Functional+Recurrent.swift). Gates are in PyTorch's
/// order i, f, g, o. Every buffer is contiguous (row-major): gates [steps, batch, 4 * hidden],
/// states [steps, batch, hidden], W_hh [4 * hidden, hidden] and its transpose.
extension Kernel {
  /// The layout of one LSTM direction.
  struct LSTMShape {
    let steps: Int
    let batch: Int
    let hidden: Int
    /// Runs from the last step to the first (the reverse direction of a bidirectional layer).
    let reverse: Bool

    /// The time index of processing step `s`.
    @inline(__always) func time(_ s: Int) -> Int { reverse ? steps - 1 - s : s }
    /// The time index whose state feeds time `t` (the previous one in processing order).
    @inline(__always) func previous(_ t: Int) -> Int { reverse ? t + 1 : t - 1 }
  }

  /// Hidden units per work item when threads share a step (``splitsSteps``): one 32-column
  /// panel of each gate for the recurrent product.
  static let lstmUnitBlock = 32

  /// Whether the steps can be split across threads by hidden units: float32, `hidden` a
  /// multiple of ``lstmUnitBlock`` and ``ember_sgemm_unpacked`` available (AVX-512). Then
  /// each thread runs both the recurrent product and the cell for its units, one hand-off per
  /// step; otherwise the product is threaded and the cell runs on the calling thread.
  static func splitsSteps<T: FloatScalar>(_: T.Type, hidden: Int) -> Bool {
    T.self == Float.self && hidden % lstmUnitBlock == 0 && ember_sgemm_unpacked_available() == 1
  }

  /// The recurrence: for each step, gates[t] += h_prev W_hh^T (one GEMM), then the cell turns
  /// gates[t] into activations and writes c_t to `cells[t]` and h_t to `output[t]`. `gates`
  /// holds the input projections (x W_ih^T + b_ih + b_hh) on entry. `weightHH` is W_hh
  /// [4 * hidden, hidden], row-major; `h0` and `c0` are [batch, hidden].
  ///
  /// Split steps (``splitsSteps``): a thread owns blocks of 32 hidden units, adds h_prev W_hh^T
  /// to their four gate panels and runs the cell on them; the next step waits for every h_t.
  /// The numbers are the same bits as the plain loop (each output column's sum is the same).
  /// Measured (`ember-bench lstm`, 2 threads, Zen 4, 8 runs alternating with the plain loop's
  /// binary, a neighbour compiling at nice 19): per-run minimum 20.9-23.5 ms/step (median of
  /// the 8: 22.0) against 21.7-24.5 (22.5); `perf record`: the idle worker's spin 12.5% -> 6.2%
  /// of samples, the cell no longer on one thread.
  static func lstmForward<T: FloatScalar>(
    _ s: LSTMShape, gates: UnsafeMutablePointer<T>, weightHH: UnsafePointer<T>,
    h0: UnsafePointer<T>, c0: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    cells: UnsafeMutablePointer<T>, splitSteps: Bool = true
  ) {
    let (b, h) = (s.batch, s.hidden)
    let split = splitSteps && splitsSteps(T.self, hidden: h)
    let block = lstmUnitBlock
    // W_hh^T in the layout the steps read, made once for all of them in one transposing copy.
    // The plain loop reads it row-major, [hidden, 4 * hidden] (where recurrentGemm falls back
    // to the GEMM, packing B from rows ran 1.2-1.4x faster than from W_hh's columns: M 32,
    // N 1024, K 256, best of 5 x 200 calls, 475 vs 705 us and 419 vs 485 us on the loaded
    // 2-core machine). Split steps read it in panels of 32 columns, one per gate and unit
    // block, each [hidden, 32] contiguous: row-major, a panel's rows lie 4 * hidden floats
    // apart, 4 KB at hidden 256, all in the same L1 sets, so each step read them from L2.
    // Measured (`ember-bench lstm`, 5 runs alternating with the row-major binary): median
    // ms/step 21.38-21.70 -> 20.51-20.88. The same panels for the backward's W_hh (rows 1 KB
    // apart, K = 1024: a panel is 128 KB, past L1 either way) gave no gain.
    let whhT = UnsafeMutablePointer<T>.allocate(capacity: 4 * h * h)
    defer { whhT.deallocate() }
    for row in 0..<(4 * h) {
      // W_hh's row `row` is column `row` of W_hh^T: gate row / h, unit row % h
      let source = weightHH + row * h
      let (destination, stride): (UnsafeMutablePointer<T>, Int)
      if split {
        let (gate, unit) = row.quotientAndRemainder(dividingBy: h)
        let panel = (unit / block) * 4 + gate
        (destination, stride) = (whhT + panel * h * block + unit % block, block)
      } else {
        (destination, stride) = (whhT + row, 4 * h)
      }
      for k in 0..<h { destination[k * stride] = source[k] }
    }
    for step in 0..<s.steps {
      let t = s.time(step)
      let hPrev = step == 0 ? h0 : UnsafePointer(output + s.previous(t) * b * h)
      let cPrev = step == 0 ? c0 : UnsafePointer(cells + s.previous(t) * b * h)
      let g = gates + t * b * 4 * h
      let (c, out) = (cells + t * b * h, output + t * b * h)
      guard split else {
        // gates[t] (B x 4H) += h_prev (B x H) @ W_hh^T (H x 4H)
        recurrentGemm(
          m: b, n: 4 * h, k: h, hPrev, h, whhT, 4 * h, g, 4 * h, accumulate: true)
        lstmCell(g, cPrev, c, out, batch: b, hidden: h, units: 0..<h)
        continue
      }
      Parallel.forRange(h / block, costPerItem: Swift.max(b * h * 4 * block / 8, 1)) { r in
        for unitBlock in r {
          for gate in 0..<4 {
            let column = gate * h + unitBlock * block
            _ = ember_sgemm_unpacked(
              Int64(b), Int64(block), Int64(h), rebound(hPrev), Int64(h), 1,
              rebound(UnsafePointer(whhT + (unitBlock * 4 + gate) * h * block)), Int64(block),
              rebound(g + column), Int64(4 * h), 1)
          }
        }
        let units = r.lowerBound * block..<r.upperBound * block
        lstmCell(g, cPrev, c, out, batch: b, hidden: h, units: units)
      }
    }
  }

  /// The reverse pass of ``lstmForward``: for each step from the last processed to the first,
  /// dh = dgates[t + 1] @ W_hh (the step processed before; on entry, dh is the gradient of the
  /// final h), then the cell backward (dgates[t] from dh + dout[t] and dc). `dh` and `dc` hold
  /// the gradients with respect to the final h and c on entry and the ones with respect to h0
  /// and c0 on return. `dout` is the gradient of `output` (nil: zeros).
  ///
  /// Split steps: a thread owns blocks of 32 hidden units, computes their columns of dh and
  /// then runs the cell backward on them (which reads only those columns of dh); the next step
  /// waits for all of dgates[t].
  static func lstmBackward<T: FloatScalar>(
    _ s: LSTMShape, gates: UnsafePointer<T>, cells: UnsafePointer<T>, c0: UnsafePointer<T>,
    weightHH: UnsafePointer<T>, dout: UnsafePointer<T>?,
    dh: UnsafeMutablePointer<T>, dc: UnsafeMutablePointer<T>, dgates: UnsafeMutablePointer<T>,
    needsInitialH: Bool, splitSteps: Bool = true
  ) {
    let (b, h) = (s.batch, s.hidden)
    let split = splitSteps && splitsSteps(T.self, hidden: h)
    var later: UnsafePointer<T>? = nil  // dgates of the step processed before this one
    for step in stride(from: s.steps - 1, through: 0, by: -1) {
      let t = s.time(step)
      let cPrev = step == 0 ? c0 : cells + s.previous(t) * b * h
      let dg = dgates + t * b * 4 * h
      let (gt, ct, dt) = (gates + t * b * 4 * h, cells + t * b * h, dout.map { $0 + t * b * h })
      defer { later = UnsafePointer(dg) }
      guard split else {
        if let later {
          // dh (B x H) = dgates[t + 1] (B x 4H) @ W_hh (4H x H)
          recurrentGemm(
            m: b, n: h, k: 4 * h, later, 4 * h, weightHH, h, dh, h, accumulate: false)
        }
        lstmCellBackward(gt, cPrev, ct, dh, dt, dc, dg, batch: b, hidden: h, units: 0..<h)
        continue
      }
      let block = lstmUnitBlock
      Parallel.forRange(h / block, costPerItem: Swift.max(b * h * 4 * block / 8, 1)) { r in
        let units = r.lowerBound * block..<r.upperBound * block
        if let later {
          _ = ember_sgemm_unpacked(
            Int64(b), Int64(units.count), Int64(4 * h), rebound(later), Int64(4 * h), 1,
            rebound(weightHH + units.lowerBound), Int64(h), rebound(dh + units.lowerBound),
            Int64(h), 0)
        }
        lstmCellBackward(gt, cPrev, ct, dh, dt, dc, dg, batch: b, hidden: h, units: units)
      }
    }
    if needsInitialH, let later {
      recurrentGemm(m: b, n: h, k: 4 * h, later, 4 * h, weightHH, h, dh, h, accumulate: false)
    }
  }

  /// c (m x n) = a (m x k) @ b (k x n), or c += a @ b, all row-major: a step's recurrent
  /// product. float32 with n a multiple of 32 on AVX-512 runs ``ember_sgemm_unpacked`` (b
  /// read in place, not packed on each of the sequence's calls; the same bits as the GEMM), in
  /// blocks of 32 columns across threads; anything else runs the GEMM. Measured (M 32, K 256,
  /// N 1024 and M 32, K 1024, N 256, 200 calls, best of 3, on the loaded 2-core machine, load
  /// 20): 362-442 us against the GEMM's 486-558 us, and 347-392 against 440-519 us.
  static func recurrentGemm<T: FloatScalar>(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<T>, _ lda: Int, _ b: UnsafePointer<T>,
    _ ldb: Int, _ c: UnsafeMutablePointer<T>, _ ldc: Int, accumulate: Bool
  ) {
    if T.self == Float.self && n % 32 == 0 && k > 0 && m > 0
      && ember_sgemm_unpacked_available() == 1
    {
      let (pa, pb, pc): (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) =
        (rebound(a), rebound(b), rebound(c))
      Parallel.forRange(n / 32, costPerItem: Swift.max(m * k * 32 / 8, 1)) { r in
        let j = r.lowerBound * 32
        _ = ember_sgemm_unpacked(
          Int64(m), Int64(r.count * 32), Int64(k), pa, Int64(lda), 1, pb + j, Int64(ldb), pc + j,
          Int64(ldc), accumulate ? 1 : 0)
      }
      return
    }
    gemm(
      m: m, n: n, k: k, a, lda, 1, b, ldb, 1, c, ldc, beta: accumulate ? 1 : 0, threaded: true)
  }

  /// One step of the cell for the hidden units `units` of every row (``ember_lstm_cell_f32``;
  /// float64 in Swift with the same formulas).
  static func lstmCell<T: FloatScalar>(
    _ gates: UnsafeMutablePointer<T>, _ cPrev: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>,
    _ h: UnsafeMutablePointer<T>, batch: Int, hidden: Int, units: Range<Int>
  ) {
    if T.self == Float.self {
      ember_lstm_cell_f32(
        rebound(gates), rebound(cPrev), rebound(c), rebound(h), Int64(batch), Int64(hidden),
        Int64(units.lowerBound), Int64(units.upperBound))
      return
    }
    for r in 0..<batch {
      let g = gates + r * 4 * hidden
      for j in units {
        let i = SigmoidOp.apply(g[j])
        let f = SigmoidOp.apply(g[hidden + j])
        let gg = TanhOp.apply(g[2 * hidden + j])
        let o = SigmoidOp.apply(g[3 * hidden + j])
        (g[j], g[hidden + j], g[2 * hidden + j], g[3 * hidden + j]) = (i, f, gg, o)
        let cy = f * cPrev[r * hidden + j] + i * gg
        c[r * hidden + j] = cy
        h[r * hidden + j] = o * TanhOp.apply(cy)
      }
    }
  }

  /// The backward of one step for the hidden units `units` of every row
  /// (``ember_lstm_cell_backward_f32``; float64 in Swift).
  static func lstmCellBackward<T: FloatScalar>(
    _ gates: UnsafePointer<T>, _ cPrev: UnsafePointer<T>, _ c: UnsafePointer<T>,
    _ dh: UnsafePointer<T>, _ dout: UnsafePointer<T>?, _ dc: UnsafeMutablePointer<T>,
    _ dgates: UnsafeMutablePointer<T>, batch: Int, hidden: Int, units: Range<Int>
  ) {
    if T.self == Float.self {
      ember_lstm_cell_backward_f32(
        rebound(gates), rebound(cPrev), rebound(c), rebound(dh), dout.map { rebound($0) },
        rebound(dc), rebound(dgates), Int64(batch), Int64(hidden), Int64(units.lowerBound),
        Int64(units.upperBound))
      return
    }
    for r in 0..<batch {
      let g = gates + r * 4 * hidden
      let dg = dgates + r * 4 * hidden
      for j in units {
        let k = r * hidden + j
        let (i, f, gg, o) = (g[j], g[hidden + j], g[2 * hidden + j], g[3 * hidden + j])
        var dhv = dh[k]
        if let dout { dhv += dout[k] }
        let tc = TanhOp.apply(c[k])
        let dct = dc[k] + (dhv * o) * (1 - tc * tc)
        dg[j] = (dct * gg) * (i * (1 - i))
        dg[hidden + j] = (dct * cPrev[k]) * (f * (1 - f))
        dg[2 * hidden + j] = (dct * i) * (1 - gg * gg)
        dg[3 * hidden + j] = (dhv * tc) * (o * (1 - o))
        dc[k] = dct * f
      }
    }
  }

  @inline(__always)
  private static func rebound<T, U>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<U> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: U.self)
  }

  @inline(__always)
  private static func rebound<T, U>(_ p: UnsafePointer<T>) -> UnsafePointer<U> {
    UnsafeRawPointer(p).assumingMemoryBound(to: U.self)
  }
}
