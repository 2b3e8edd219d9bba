import CEmberKernels

/// The sizes of a 2-D convolution in its forward direction (a 1-D convolution has height 1):
/// input [batch, inChannels, inHeight, inWidth], weight [outChannels, inChannels / groups,
/// kernelHeight, kernelWidth], output [batch, outChannels, outHeight, outWidth], all contiguous.
///
/// The output sizes are stored, not derived, so that a transposed convolution (whose output is
/// this convolution's input) can have an `outputPadding`, and asymmetric ("same") padding needs
/// only the padding before each dim.
struct ConvGeometry: Sendable, Equatable {
  var batch = 0
  var inChannels = 0
  var outChannels = 0
  var groups = 1
  var inHeight = 1
  var inWidth = 1
  var outHeight = 1
  var outWidth = 1
  var kernelHeight = 1
  var kernelWidth = 1
  var strideHeight = 1
  var strideWidth = 1
  var padTop = 0
  var padLeft = 0
  var dilationHeight = 1
  var dilationWidth = 1

  var inPerGroup: Int { inChannels / groups }
  var outPerGroup: Int { outChannels / groups }
  var kernelArea: Int { kernelHeight * kernelWidth }
  var inPlane: Int { inHeight * inWidth }
  var outPlane: Int { outHeight * outWidth }
  /// Rows of one group's column matrix (`inPerGroup * kernelArea`), the GEMM's inner dimension.
  var columnRows: Int { inPerGroup * kernelArea }
  /// A 1x1 kernel with stride 1 and no padding over the same sizes: the columns are the input.
  var isPointwise: Bool {
    kernelArea == 1 && strideHeight == 1 && strideWidth == 1 && padTop == 0 && padLeft == 0
      && inHeight == outHeight && inWidth == outWidth
  }
}

extension Kernel {
  /// Elements of the column (im2col) buffer one work item aims for: 64K elements keep a block
  /// within L2 while the GEMM reads it.
  static let columnBudget = 1 << 16

  @inline(__always) static func ceilDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? (a + b - 1) / b : -((-a) / b)
  }

  @inline(__always) static func floorDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? a / b : -((-a + b - 1) / b)
  }

  // MARK: GEMM on raw operands

  /// `c = a·b + beta·c` with the native GEMM, for an m x k `a` and a k x n `b` given by element
  /// strides (row, column) and an m x n `c` of strides (`rsc`, `csc`). When beta is 0,
  /// `c` is not read. `threaded` splits `c` into row or column blocks across threads, as matmul
  /// does (every element is computed the same way whatever the split); pass false inside a
  /// parallel loop.
  static func gemm<T: FloatScalar>(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<T>, _ rsa: Int, _ csa: Int,
    _ b: UnsafePointer<T>, _ rsb: Int, _ csb: Int, _ c: UnsafeMutablePointer<T>, _ rsc: Int,
    beta: T, threaded: Bool, csc: Int = 1
  ) {
    let isDouble: Int32 = T.self == Double.self ? 1 : 0
    func run(_ tile: Int32, _ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int) {
      let pa = UnsafeRawPointer(a + i0 * rsa)
      let pb = UnsafeRawPointer(b + j0 * csb)
      let pc = UnsafeMutableRawPointer(c + i0 * rsc + j0 * csc)
      if isDouble == 1 {
        ember_dgemm_tiled(
          0, tile, Int64(i1 - i0), Int64(j1 - j0), Int64(k), 1,
          pa.assumingMemoryBound(to: Double.self),
          Int64(rsa), Int64(csa), pb.assumingMemoryBound(to: Double.self), Int64(rsb), Int64(csb),
          beta.doubleValue, pc.assumingMemoryBound(to: Double.self), Int64(rsc), Int64(csc))
      } else {
        ember_sgemm_tiled(
          0, tile, Int64(i1 - i0), Int64(j1 - j0), Int64(k), 1,
          pa.assumingMemoryBound(to: Float.self),
          Int64(rsa), Int64(csa), pb.assumingMemoryBound(to: Float.self), Int64(rsb), Int64(csb),
          Float(beta.doubleValue), pc.assumingMemoryBound(to: Float.self), Int64(rsc), Int64(csc))
      }
    }
    splitGemm(m: m, n: n, k: k, isa: 0, isDouble: isDouble, threaded: threaded, run)
  }

  /// Runs `body` with an uninitialized buffer of `count` elements (large ones come from the
  /// buffer cache, so repeated calls do not page-fault).
  static func withScratch<T, R>(_ count: Int, _ body: (UnsafeMutablePointer<T>) -> R) -> R {
    let bytes = Swift.max(count * MemoryLayout<T>.stride, 1)
    if bytes >= BufferCache.minimumBytes {
      let raw = BufferCache.allocate(bytes)
      defer { BufferCache.release(raw, bytes) }
      return body(raw.bindMemory(to: T.self, capacity: count))
    }
    let p = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(count, 1))
    defer { p.deallocate() }
    return body(p)
  }

  // MARK: convolution kernels

  /// Runs `items` work items, on threads when there are enough of them; otherwise serially, with
  /// the GEMMs inside threaded instead (`body(range, threadedGemm)`).
  private static func convolutionItems(
    _ items: Int, costPerItem: Int, _ body: (Range<Int>, Bool) -> Void
  ) {
    if items == 0 { return }
    if items < Parallel.threadCount {
      body(0..<items, true)
    } else {
      Parallel.forRange(items, costPerItem: costPerItem) { body($0, false) }
    }
  }

  /// Column and output elements a grouped convolution work item aims for (512 KB of float32,
  /// half of L2). Measured (ember-bench cnn, 1 thread, perf samples of the whole run, 3 runs
  /// each): 2^16 (only the first layer grouped) 6078, 5782, 6464; 2^17 (2 samples of the second
  /// layer) 5876, 5770, 5790; 2^18 (4 samples, over 1 MB with the output) 6004, 5827, 6045;
  /// one sample per item before this change (with the former packing) 6864, 6601. Again with the
  /// C im2col (ember-bench cnn, 2 threads, 3 alternating runs, median ms/step): 2^17 15.8, 15.8,
  /// 17.9; 2^19 (8 samples) 17.5, 16.2, 18.0; 2^21 (the whole half batch of a thread) 17.7,
  /// 18.5, 16.2: wider products do not pay for their larger scratch.
  static let groupBudget = 1 << 17

  /// Samples whose columns one forward work item lays side by side, for one GEMM over all of
  /// them: as many as fit ``groupBudget``, and few enough to leave two work items per thread.
  /// A convolution whose plane fits one block otherwise makes one narrow GEMM per sample: the
  /// CNN's second layer, 64x288 by 288x196, fills 196 of 224 columns of its register tiles and
  /// packs its operands once per sample. A plane that fills its tiles on its own
  /// (``planeFillsTiles(_:)``) is not grouped: the GEMM writes each sample's output in place.
  static func forwardSampleGroup(_ g: ConvGeometry, block: Int) -> Int {
    if g.isPointwise || block < g.outPlane || g.batch <= 1 || planeFillsTiles(g.outPlane) {
      return 1
    }
    let bySize = groupBudget / Swift.max(g.columnRows * g.outPlane, 1)
    let byThreads = g.batch / (2 * Parallel.threadCount)
    return Swift.max(1, Swift.min(bySize, byThreads, g.batch))
  }

  /// Whether `columns` outputs per sample fill 95% or more of the columns of the float32 GEMM's
  /// standard or wide register tiles (32 or 48 columns). Then a grouped product gains little
  /// width and pays for copying its output out of the scratch: the CNN's first convolution
  /// (784 outputs per sample) ran 0.41-0.53 ms forward in groups of 16 samples and 0.32-0.42 ms
  /// one sample per product (ember-bench layers, 3 alternating runs; cnn step 15.5-17.6 ms
  /// against 15.1-15.8 on the loaded machine).
  static func planeFillsTiles(_ columns: Int) -> Bool {
    [EMBER_GEMM_TILE_STANDARD, EMBER_GEMM_TILE_WIDE].contains { tile in
      let nr = Int(emberSwiftGemmTileCols(0, 0, Int32(tile)))
      return columns * 100 >= (columns + nr - 1) / nr * nr * 95
    }
  }

  /// `y = conv(x, w) + bias`: per sample (or group of samples, see
  /// ``forwardSampleGroup(_:block:)``), group and block of output positions, the columns of the
  /// block times the group's weight matrix [outPerGroup, columnRows].
  static func convolutionForward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
    _ y: UnsafeMutablePointer<T>, _ g: ConvGeometry
  ) {
    let (cig, cog, rows, ohw) = (g.inPerGroup, g.outPerGroup, g.columnRows, g.outPlane)
    let pointwise = g.isPointwise
    let block = pointwise ? ohw : Swift.max(16, Swift.min(ohw, columnBudget / Swift.max(rows, 1)))
    let samples = forwardSampleGroup(g, block: block)
    if samples > 1 {
      convolutionForwardGrouped(x, w, bias, y, g, samples: samples)
      return
    }
    let blocks = ohw == 0 ? 0 : (ohw + block - 1) / block
    convolutionItems(g.batch * g.groups * blocks, costPerItem: cog * block * Swift.max(rows, 1)) {
      range, threadedGemm in
      withScratch(pointwise ? 0 : rows * block) { (cols: UnsafeMutablePointer<T>) in
        for item in range {
          let blk = item % blocks
          let grp = (item / blocks) % g.groups
          let n = item / blocks / g.groups
          let p0 = blk * block
          let p1 = Swift.min(ohw, p0 + block)
          let len = p1 - p0
          let xg = x + (n * g.inChannels + grp * cig) * g.inPlane
          let yg = y + (n * g.outChannels + grp * cog) * ohw + p0
          var beta: T = 0
          if let bias {
            for o in 0..<cog { (yg + o * ohw).update(repeating: bias[grp * cog + o], count: len) }
            beta = 1
          }
          let b: UnsafePointer<T>
          let rsb: Int
          if pointwise {
            (b, rsb) = (xg + p0, g.inPlane)
          } else {
            im2col(xg, channels: cig, g, cols, from: p0, to: p1)
            (b, rsb) = (UnsafePointer(cols), len)
          }
          gemm(
            m: cog, n: len, k: rows, w + grp * cog * rows, rows, 1, b, rsb, 1, yg, ohw, beta: beta,
            threaded: threadedGemm)
        }
      }
    }
  }

  /// The forward pass with `samples` samples per work item: their columns side by side
  /// [columnRows, samples * outPlane], one GEMM into a scratch [outPerGroup, samples * outPlane]
  /// (started from the bias as the per-sample path starts `y`), copied out to each sample. Every
  /// output element sums the same products in the same order as in the per-sample path.
  private static func convolutionForwardGrouped<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
    _ y: UnsafeMutablePointer<T>, _ g: ConvGeometry, samples: Int
  ) {
    let (cig, cog, rows, ohw) = (g.inPerGroup, g.outPerGroup, g.columnRows, g.outPlane)
    forEachSampleGroup(g, samples: samples, costPerColumn: cog * Swift.max(rows, 1)) {
      (cols: UnsafeMutablePointer<T>, grp, n0, count, len, threadedGemm) in
      let out = cols + rows * samples * ohw
      for s in 0..<count {
        let xg = x + ((n0 + s) * g.inChannels + grp * cig) * g.inPlane
        im2col(xg, channels: cig, g, cols + s * ohw, from: 0, to: ohw, rowStride: len)
      }
      var beta: T = 0
      if let bias {
        for o in 0..<cog { (out + o * len).update(repeating: bias[grp * cog + o], count: len) }
        beta = 1
      }
      gemm(
        m: cog, n: len, k: rows, w + grp * cog * rows, rows, 1, UnsafePointer(cols), len, 1,
        out, len, beta: beta, threaded: threadedGemm)
      for s in 0..<count {
        let yg = y + ((n0 + s) * g.outChannels + grp * cog) * ohw
        for o in 0..<cog { (yg + o * ohw).update(from: out + o * len + s * ohw, count: ohw) }
      }
    }
  }

  /// The work items of the grouped (several samples per GEMM) kernels: one per group and run of
  /// `samples` samples, each with a scratch of `(columnRows + outPerGroup) * samples *
  /// outPlane` elements. `body(scratch, group, firstSample, sampleCount, columns, threadedGemm)`
  /// with `columns = sampleCount * outPlane`.
  private static func forEachSampleGroup<T: FloatScalar>(
    _ g: ConvGeometry, samples: Int, costPerColumn: Int,
    _ body: (UnsafeMutablePointer<T>, Int, Int, Int, Int, Bool) -> Void
  ) {
    let sampleGroups = (g.batch + samples - 1) / samples
    let width = samples * g.outPlane
    convolutionItems(g.groups * sampleGroups, costPerItem: costPerColumn * width) {
      range, threadedGemm in
      withScratch((g.columnRows + g.outPerGroup) * width) { (scratch: UnsafeMutablePointer<T>) in
        for item in range {
          let grp = item % g.groups
          let n0 = item / g.groups * samples
          let count = Swift.min(g.batch, n0 + samples) - n0
          body(scratch, grp, n0, count, count * g.outPlane, threadedGemm)
        }
      }
    }
  }

  /// Channels of one work item of the backward kernels: columns of a block stay within the
  /// column budget.
  private static func channelBlock(_ g: ConvGeometry) -> Int {
    if g.isPointwise { return Swift.max(g.inPerGroup, 1) }
    let perChannel = Swift.max(g.kernelArea * g.outPlane, 1)
    return Swift.max(1, Swift.min(g.inPerGroup, columnBudget / perChannel))
  }

  /// The gradient of the input (a transposed convolution of `gy`): per sample, group and block
  /// of input channels, the columns `w_gᵀ · gy_g` added back with col2im. `bias` (one value per
  /// input channel, for transposed convolutions) initializes `gx`.
  static func convolutionBackwardInput<T: FloatScalar>(
    _ gy: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
    _ gx: UnsafeMutablePointer<T>, _ g: ConvGeometry
  ) {
    let (cig, cog, rows, ohw, kk) = (
      g.inPerGroup, g.outPerGroup, g.columnRows, g.outPlane, g.kernelArea
    )
    let pointwise = g.isPointwise
    let chBlock = channelBlock(g)
    let samples = backwardSampleGroup(g, channels: chBlock)
    if samples > 1 {
      convolutionBackwardInputGrouped(gy, w, bias, gx, g, samples: samples)
      return
    }
    let blocks = cig == 0 ? 0 : (cig + chBlock - 1) / chBlock
    convolutionItems(
      g.batch * g.groups * blocks, costPerItem: chBlock * kk * ohw * Swift.max(cog, 1)
    ) { range, threadedGemm in
      withScratch(pointwise ? 0 : chBlock * kk * ohw) { (cols: UnsafeMutablePointer<T>) in
        for item in range {
          let blk = item % blocks
          let grp = (item / blocks) % g.groups
          let n = item / blocks / g.groups
          let c0 = blk * chBlock
          let nc = Swift.min(cig, c0 + chBlock) - c0
          let gxc = gx + (n * g.inChannels + grp * cig + c0) * g.inPlane
          for c in 0..<nc {
            let v: T = bias.map { $0[grp * cig + c0 + c] } ?? 0
            (gxc + c * g.inPlane).update(repeating: v, count: g.inPlane)
          }
          let a = w + grp * cog * rows + c0 * kk
          let b = gy + (n * g.outChannels + grp * cog) * ohw
          if pointwise {
            gemm(
              m: nc, n: ohw, k: cog, a, 1, rows, b, ohw, 1, gxc, g.inPlane, beta: 1,
              threaded: threadedGemm)
          } else {
            gemm(
              m: nc * kk, n: ohw, k: cog, a, 1, rows, b, ohw, 1, cols, ohw, beta: 0,
              threaded: threadedGemm)
            col2im(cols, channels: nc, g, gxc)
          }
        }
      }
    }
  }

  /// Samples per work item of the input gradient, as ``forwardSampleGroup(_:block:)``: 1 unless
  /// one block holds all of a group's channels and the plane does not fill its tiles.
  private static func backwardSampleGroup(_ g: ConvGeometry, channels: Int) -> Int {
    if g.isPointwise || channels < g.inPerGroup || g.batch <= 1 || planeFillsTiles(g.outPlane) {
      return 1
    }
    let bySize = groupBudget / Swift.max(channels * g.kernelArea * g.outPlane, 1)
    let byThreads = g.batch / (2 * Parallel.threadCount)
    return Swift.max(1, Swift.min(bySize, byThreads, g.batch))
  }

  /// The input gradient with `samples` samples per work item: their output gradients side by
  /// side [outPerGroup, samples * outPlane] (a copy), one GEMM `w_gᵀ ·` them into the columns,
  /// then col2im per sample. Each column element sums the same products in the same order as
  /// in the per-sample path, and each sample's col2im adds in the same order.
  private static func convolutionBackwardInputGrouped<T: FloatScalar>(
    _ gy: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
    _ gx: UnsafeMutablePointer<T>, _ g: ConvGeometry, samples: Int
  ) {
    let (cig, cog, rows, ohw) = (g.inPerGroup, g.outPerGroup, g.columnRows, g.outPlane)
    forEachSampleGroup(g, samples: samples, costPerColumn: rows * Swift.max(cog, 1)) {
      (cols: UnsafeMutablePointer<T>, grp, n0, count, len, threadedGemm) in
      let gys = cols + rows * samples * ohw
      for s in 0..<count {
        let src = gy + ((n0 + s) * g.outChannels + grp * cog) * ohw
        for o in 0..<cog { (gys + o * len + s * ohw).update(from: src + o * ohw, count: ohw) }
      }
      gemm(
        m: rows, n: len, k: cog, w + grp * cog * rows, 1, rows, UnsafePointer(gys), len, 1,
        cols, len, beta: 0, threaded: threadedGemm)
      for s in 0..<count {
        let gxc = gx + ((n0 + s) * g.inChannels + grp * cig) * g.inPlane
        for c in 0..<cig {
          let v: T = bias.map { $0[grp * cig + c] } ?? 0
          (gxc + c * g.inPlane).update(repeating: v, count: g.inPlane)
        }
        col2im(cols + s * ohw, channels: cig, g, gxc, rowStride: len)
      }
    }
  }

  /// The gradient of the weight: `Σ_n gy_g[n] · columns(x[n])ᵀ`. The batch is summed in at most
  /// 8 fixed chunks (then added in order), so results do not depend on the thread count.
  static func convolutionBackwardWeight<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ gy: UnsafePointer<T>, _ gw: UnsafeMutablePointer<T>,
    _ g: ConvGeometry
  ) {
    let (cig, cog, rows, ohw, kk) = (
      g.inPerGroup, g.outPerGroup, g.columnRows, g.outPlane, g.kernelArea
    )
    let weightCount = g.outChannels * rows
    if g.batch == 0 || ohw == 0 || cig == 0 {
      gw.update(repeating: 0, count: weightCount)
      return
    }
    let pointwise = g.isPointwise
    let chBlock = channelBlock(g)
    let blocks = cig == 0 ? 0 : (cig + chBlock - 1) / chBlock
    let chunks = Swift.min(g.batch, 8)
    withScratch(chunks > 1 ? chunks * weightCount : 0) { (partials: UnsafeMutablePointer<T>) in
      let perSample = chBlock * kk * ohw * Swift.max(cog, 1)
      convolutionItems(
        chunks * g.groups * blocks, costPerItem: perSample * (g.batch + chunks - 1) / chunks
      ) { range, threadedGemm in
        withScratch(pointwise ? 0 : chBlock * kk * ohw) { (cols: UnsafeMutablePointer<T>) in
          for item in range {
            let blk = item % blocks
            let grp = (item / blocks) % g.groups
            let chunk = item / blocks / g.groups
            let c0 = blk * chBlock
            let nc = Swift.min(cig, c0 + chBlock) - c0
            let dst =
              (chunks > 1 ? partials + chunk * weightCount : gw) + grp * cog * rows + c0 * kk
            let first = g.batch * chunk / chunks
            let last = g.batch * (chunk + 1) / chunks
            for n in first..<last {
              let a = gy + (n * g.outChannels + grp * cog) * ohw
              let xc = x + (n * g.inChannels + grp * cig + c0) * g.inPlane
              let b: UnsafePointer<T>
              if pointwise {
                b = xc
              } else {
                im2col(xc, channels: nc, g, cols, from: 0, to: ohw)
                b = UnsafePointer(cols)
              }
              if nc * kk < cog {
                // the transposed product (columns times gyᵀ, written through swapped strides):
                // a narrow weight (the CNN's first layer, 9 columns) would fill 9 of the 32
                // columns of each register tile. Same products in the same order.
                gemm(
                  m: nc * kk, n: cog, k: ohw, b, ohw, 1, a, 1, ohw, dst, 1,
                  beta: n == first ? 0 : 1, threaded: threadedGemm, csc: rows)
              } else {
                gemm(
                  m: cog, n: nc * kk, k: ohw, a, ohw, 1, b, 1, ohw, dst, rows,
                  beta: n == first ? 0 : 1, threaded: threadedGemm)
              }
            }
          }
        }
      }
      if chunks > 1 {
        Parallel.forRange(weightCount, costPerItem: chunks) { r in
          for i in r {
            var s = partials[i]
            for c in 1..<chunks { s += partials[c * weightCount + i] }
            gw[i] = s
          }
        }
      }
    }
  }
}
