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

/// For each kernel row (column), the output rows (columns) whose window tap lands inside the
/// input, and the input offset of the tap at output position 0.
struct ConvWindows {
  /// Valid output rows for kernel row kh: `rowLow[kh]..<rowHigh[kh]`; tap row = oh * sH + rowOffset[kh].
  var rowLow: [Int] = []
  var rowHigh: [Int] = []
  var rowOffset: [Int] = []
  var columnLow: [Int] = []
  var columnHigh: [Int] = []
  var columnOffset: [Int] = []

  init(_ g: ConvGeometry) {
    func ranges(_ k: Int, _ stride: Int, _ pad: Int, _ dilation: Int, _ input: Int, _ output: Int)
      -> ([Int], [Int], [Int])
    {
      var low: [Int] = []
      var high: [Int] = []
      var offset: [Int] = []
      for i in 0..<k {
        let off = i * dilation - pad
        let lo = Swift.max(0, Kernel.ceilDiv(-off, stride))
        let hi = Swift.min(output, Kernel.floorDiv(input - 1 - off, stride) + 1)
        low.append(lo)
        high.append(Swift.max(lo, hi))
        offset.append(off)
      }
      return (low, high, offset)
    }
    (rowLow, rowHigh, rowOffset) = ranges(
      g.kernelHeight, g.strideHeight, g.padTop, g.dilationHeight, g.inHeight, g.outHeight)
    (columnLow, columnHigh, columnOffset) = ranges(
      g.kernelWidth, g.strideWidth, g.padLeft, g.dilationWidth, g.inWidth, g.outWidth)
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
  /// strides (row, column) and an m x n `c` with contiguous rows of stride `rsc`. When beta is 0,
  /// `c` is not read. `threaded` splits `c` into row or column blocks across threads, as matmul
  /// does (every element is computed the same way whatever the split); pass false inside a
  /// parallel loop.
  static func gemm<T: FloatScalar>(
    m: Int, n: Int, k: Int, _ a: UnsafePointer<T>, _ rsa: Int, _ csa: Int,
    _ b: UnsafePointer<T>, _ rsb: Int, _ csb: Int, _ c: UnsafeMutablePointer<T>, _ rsc: Int,
    beta: T, threaded: Bool
  ) {
    if m == 0 || n == 0 { return }
    let isDouble: Int32 = T.self == Double.self ? 1 : 0
    func run(_ i0: Int, _ i1: Int, _ j0: Int, _ j1: Int) {
      let pa = UnsafeRawPointer(a + i0 * rsa)
      let pb = UnsafeRawPointer(b + j0 * csb)
      let pc = UnsafeMutableRawPointer(c + i0 * rsc + j0)
      if isDouble == 1 {
        ember_dgemm(
          0, Int64(i1 - i0), Int64(j1 - j0), Int64(k), 1, pa.assumingMemoryBound(to: Double.self),
          Int64(rsa), Int64(csa), pb.assumingMemoryBound(to: Double.self), Int64(rsb), Int64(csb),
          beta.doubleValue, pc.assumingMemoryBound(to: Double.self), Int64(rsc), 1)
      } else {
        ember_sgemm(
          0, Int64(i1 - i0), Int64(j1 - j0), Int64(k), 1, pa.assumingMemoryBound(to: Float.self),
          Int64(rsa), Int64(csa), pb.assumingMemoryBound(to: Float.self), Int64(rsb), Int64(csb),
          Float(beta.doubleValue), pc.assumingMemoryBound(to: Float.self), Int64(rsc), 1)
      }
    }
    let work = m * n * Swift.max(k, 1)
    guard threaded, Parallel.threadCount > 1, work >= (1 << 18) else {
      run(0, m, 0, n)
      return
    }
    let splitRows = m >= n
    let unit = Int(
      splitRows ? emberSwiftGemmTileRows(0, isDouble) : emberSwiftGemmTileCols(0, isDouble))
    let extent = splitRows ? m : n
    let blocks = (extent + unit - 1) / unit
    let costPerBlock = Swift.max(unit * (splitRows ? n : m) * Swift.max(k, 1) / 8, 1)
    Parallel.forRange(blocks, costPerItem: costPerBlock) { r in
      let lo = r.lowerBound * unit
      let hi = Swift.min(r.upperBound * unit, extent)
      if splitRows { run(lo, hi, 0, n) } else { run(0, m, lo, hi) }
    }
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

  // MARK: im2col / col2im

  /// Writes the columns of `channels` input planes (starting at `x`) for output positions
  /// `p0..<p1` (row-major over the output plane): row `(c * kH + kh) * kW + kw` of `cols` (each
  /// row `p1 - p0` long) holds the input element under kernel tap (kh, kw) of channel c for each
  /// position, or 0 in the padding.
  static func im2col<T: FloatScalar>(
    _ x: UnsafePointer<T>, channels: Int, _ g: ConvGeometry, _ win: ConvWindows,
    _ cols: UnsafeMutablePointer<T>, from p0: Int, to p1: Int
  ) {
    let len = p1 - p0
    let (inW, outW) = (g.inWidth, g.outWidth)
    let (sH, sW) = (g.strideHeight, g.strideWidth)
    var row = cols
    for c in 0..<channels {
      let plane = x + c * g.inPlane
      for kh in 0..<g.kernelHeight {
        let (rlo, rhi, roff) = (win.rowLow[kh], win.rowHigh[kh], win.rowOffset[kh])
        for kw in 0..<g.kernelWidth {
          let (clo, chi, coff) = (win.columnLow[kw], win.columnHigh[kw], win.columnOffset[kw])
          var p = p0
          var dst = row
          while p < p1 {
            let oh = p / outW
            let ow0 = p - oh * outW
            let ow1 = Swift.min(outW, ow0 + (p1 - p))
            let seg = ow1 - ow0
            let lo = Swift.min(Swift.max(ow0, clo), ow1)
            let hi = Swift.max(Swift.min(ow1, chi), lo)
            if oh < rlo || oh >= rhi || lo == hi {
              dst.update(repeating: 0, count: seg)
            } else {
              let base = (oh * sH + roff) * inW + coff
              if lo > ow0 { dst.update(repeating: 0, count: lo - ow0) }
              let out = dst - ow0
              if sW == 1 {
                (out + lo).update(from: plane + (base + lo), count: hi - lo)
              } else {
                for ow in lo..<hi { out[ow] = plane[base + ow * sW] }
              }
              if ow1 > hi { (out + hi).update(repeating: 0, count: ow1 - hi) }
            }
            dst += seg
            p += seg
          }
          row += len
        }
      }
    }
  }

  /// Adds the columns of `channels` planes (for all output positions; the layout of
  /// ``im2col(_:channels:_:_:_:from:to:)``) back onto the input planes at `x`.
  static func col2im<T: FloatScalar>(
    _ cols: UnsafePointer<T>, channels: Int, _ g: ConvGeometry, _ win: ConvWindows,
    _ x: UnsafeMutablePointer<T>
  ) {
    let (inW, outW, outPlane) = (g.inWidth, g.outWidth, g.outPlane)
    let (sH, sW) = (g.strideHeight, g.strideWidth)
    var row = cols
    for c in 0..<channels {
      let plane = x + c * g.inPlane
      for kh in 0..<g.kernelHeight {
        let (rlo, rhi, roff) = (win.rowLow[kh], win.rowHigh[kh], win.rowOffset[kh])
        for kw in 0..<g.kernelWidth {
          let (clo, chi, coff) = (win.columnLow[kw], win.columnHigh[kw], win.columnOffset[kw])
          if clo < chi {
            for oh in rlo..<rhi {
              let base = (oh * sH + roff) * inW + coff
              let src = row + oh * outW
              if sW == 1 {
                for ow in clo..<chi { plane[base + ow] += src[ow] }
              } else {
                for ow in clo..<chi { plane[base + ow * sW] += src[ow] }
              }
            }
          }
          row += outPlane
        }
      }
    }
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

  /// `y = conv(x, w) + bias`: per sample, group and block of output positions, the columns of
  /// the block times the group's weight matrix [outPerGroup, columnRows].
  static func convolutionForward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ w: UnsafePointer<T>, _ bias: UnsafePointer<T>?,
    _ y: UnsafeMutablePointer<T>, _ g: ConvGeometry
  ) {
    let (cig, cog, rows, ohw) = (g.inPerGroup, g.outPerGroup, g.columnRows, g.outPlane)
    let pointwise = g.isPointwise
    let block = pointwise ? ohw : Swift.max(16, Swift.min(ohw, columnBudget / Swift.max(rows, 1)))
    let blocks = ohw == 0 ? 0 : (ohw + block - 1) / block
    let win = ConvWindows(g)
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
            im2col(xg, channels: cig, g, win, cols, from: p0, to: p1)
            (b, rsb) = (UnsafePointer(cols), len)
          }
          gemm(
            m: cog, n: len, k: rows, w + grp * cog * rows, rows, 1, b, rsb, 1, yg, ohw, beta: beta,
            threaded: threadedGemm)
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
    let blocks = cig == 0 ? 0 : (cig + chBlock - 1) / chBlock
    let win = ConvWindows(g)
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
            col2im(UnsafePointer(cols), channels: nc, g, win, gxc)
          }
        }
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
    let win = ConvWindows(g)
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
                im2col(xc, channels: nc, g, win, cols, from: 0, to: ohw)
                b = UnsafePointer(cols)
              }
              gemm(
                m: cog, n: nc * kk, k: ohw, a, ohw, 1, b, 1, ohw, dst, rows,
                beta: n == first ? 0 : 1, threaded: threadedGemm)
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

  /// The gradient of a convolution's bias: `gb[c] = Σ_n Σ_p gy[n, c, p]` for a contiguous
  /// gradient [batch, channels, plane], accumulated in double per channel (in a fixed order, so
  /// the result does not depend on the thread count) and rounded once. CNN step (1 thread, perf):
  /// the general `sum(dim: [0, 2, 3])` over the output gradient was 5.6% of the samples.
  static func convolutionBiasGrad<T: FloatScalar>(
    _ gy: UnsafePointer<T>, _ gb: UnsafeMutablePointer<T>, batch: Int, channels: Int, plane: Int
  ) {
    Parallel.forRange(channels, costPerItem: Swift.max(batch * plane, 1)) { r in
      for c in r {
        var total = 0.0
        for n in 0..<batch {
          let row = gy + (n * channels + c) * plane
          // four partial sums, so the additions do not wait on one another
          var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0)
          var p = 0
          while p + 4 <= plane {
            s0 += row[p].doubleValue
            s1 += row[p + 1].doubleValue
            s2 += row[p + 2].doubleValue
            s3 += row[p + 3].doubleValue
            p += 4
          }
          while p < plane {
            s0 += row[p].doubleValue
            p += 1
          }
          total += (s0 + s1) + (s2 + s3)
        }
        gb[c] = T(fromDouble: total)
      }
    }
  }
}
