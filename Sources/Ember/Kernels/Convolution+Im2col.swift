import CEmberKernels

extension ConvGeometry {
  /// The plane sizes, kernel, strides, padding and dilations for the C kernels
  /// (Sources/CEmberKernels/conv.c).
  var cGeometry: ember_conv_geometry {
    ember_conv_geometry(
      in_height: Int64(inHeight), in_width: Int64(inWidth), out_height: Int64(outHeight),
      out_width: Int64(outWidth), kernel_height: Int64(kernelHeight),
      kernel_width: Int64(kernelWidth), stride_height: Int64(strideHeight),
      stride_width: Int64(strideWidth), pad_top: Int64(padTop), pad_left: Int64(padLeft),
      dilation_height: Int64(dilationHeight), dilation_width: Int64(dilationWidth))
  }
}

/// For each kernel row (column), the output rows (columns) whose window tap lands inside the
/// input, and the input offset of the tap at output position 0 (the plain im2col/col2im's; the C
/// kernels work these out themselves).
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
  // MARK: im2col / col2im

  /// Writes the columns of `channels` input planes (starting at `x`) for output positions
  /// `p0..<p1` (row-major over the output plane): row `(c * kH + kh) * kW + kw` of `cols` (each
  /// row `p1 - p0` long) holds the input element under kernel tap (kh, kw) of channel c for each
  /// position, or 0 in the padding. Rows are `rowStride` apart (default `p1 - p0`), so that the
  /// columns of several samples can sit side by side in one matrix.
  ///
  /// The C kernel (`ember_im2col_f32`/`_f64`, the same copies) unless `plain`. ember-bench layers
  /// (2 threads, 4 alternating runs on a quiet machine, min-median, with col2im and the bias
  /// gradient in C): the CNN's second layer (32 -> 64 channels, 14x14) forward 4.95-5.06 ->
  /// 3.51-3.84 ms, backward 8.86-9.03 -> 6.28-7.17 ms; its first layer forward 0.57-0.72 ->
  /// 0.42-0.62 ms, backward 0.96-1.15 -> 0.83-0.91 ms. In C, the stride-1 "same" case as one
  /// contiguous copy per tap row: 915 -> 206 perf samples of a 1-thread cnn run (the
  /// per-output-row loop copied 14 floats at a time), and its padding columns zeroed column by
  /// column: im2col's memset calls 2.1% -> 0.45% of the samples.
  static func im2col<T: FloatScalar>(
    _ x: UnsafePointer<T>, channels: Int, _ g: ConvGeometry,
    _ cols: UnsafeMutablePointer<T>, from p0: Int, to p1: Int, rowStride: Int? = nil,
    plain: Bool = false
  ) {
    let stride = rowStride ?? (p1 - p0)
    if !plain {
      var cg = g.cGeometry
      if T.self == Float.self {
        ember_im2col_f32(
          UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Int64(channels), &cg,
          UnsafeMutableRawPointer(cols).assumingMemoryBound(to: Float.self), Int64(p0),
          Int64(p1), Int64(stride))
        return
      }
      if T.self == Double.self {
        ember_im2col_f64(
          UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), Int64(channels), &cg,
          UnsafeMutableRawPointer(cols).assumingMemoryBound(to: Double.self), Int64(p0),
          Int64(p1), Int64(stride))
        return
      }
    }
    let (inW, outW) = (g.inWidth, g.outWidth)
    let (sH, sW) = (g.strideHeight, g.strideWidth)
    forEachTap(channels: channels, g, planes: x, rows: cols, rowStride: stride) {
      plane, row, rlo, rhi, roff, clo, chi, coff in
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
    }
  }

  /// The plain im2col and col2im's walk over the rows of `cols`: for channel c and kernel tap
  /// (kh, kw), in that nesting, `body` gets the channel's input plane, the tap's row of `cols`
  /// (rows `rowStride` apart), the output rows `rlo..<rhi` and columns `clo..<chi` whose tap
  /// falls inside the input, and the tap's row and column offsets into the plane.
  private static func forEachTap<P, T>(
    channels: Int, _ g: ConvGeometry, planes: P,
    rows: UnsafeMutablePointer<T>, rowStride: Int,
    _ body: (
      _ plane: P, _ row: UnsafeMutablePointer<T>, _ rlo: Int, _ rhi: Int, _ roff: Int,
      _ clo: Int, _ chi: Int, _ coff: Int
    ) -> Void
  ) where P: Strideable, P.Stride == Int {
    let win = ConvWindows(g)
    var row = rows
    for c in 0..<channels {
      let plane = planes.advanced(by: c * g.inPlane)
      for kh in 0..<g.kernelHeight {
        let (rlo, rhi, roff) = (win.rowLow[kh], win.rowHigh[kh], win.rowOffset[kh])
        for kw in 0..<g.kernelWidth {
          let (clo, chi, coff) = (win.columnLow[kw], win.columnHigh[kw], win.columnOffset[kw])
          body(plane, row, rlo, rhi, roff, clo, chi, coff)
          row += rowStride
        }
      }
    }
  }

  /// Adds the columns of `channels` planes (for all output positions; the layout of
  /// ``im2col(_:channels:_:_:from:to:rowStride:plain:)``, rows `rowStride` apart, by default
  /// the output plane) back onto the input planes at `x`.
  ///
  /// The C kernel (`ember_col2im_f32`/`_f64`, the same additions in the same order) unless `plain`;
  /// it may set the entries of `cols` whose tap falls in the padding to -0.0 (so that a "same"
  /// convolution's rows add as one contiguous run). See im2col for the layer times; the contiguous
  /// "same" run took col2im from 207 to about 200 perf samples of a 1-thread cnn run on a loaded
  /// machine, within noise.
  static func col2im<T: FloatScalar>(
    _ cols: UnsafeMutablePointer<T>, channels: Int, _ g: ConvGeometry,
    _ x: UnsafeMutablePointer<T>, rowStride: Int? = nil, plain: Bool = false
  ) {
    let (inW, outW, outPlane) = (g.inWidth, g.outWidth, rowStride ?? g.outPlane)
    if !plain {
      var cg = g.cGeometry
      if T.self == Float.self {
        ember_col2im_f32(
          UnsafeMutableRawPointer(cols).assumingMemoryBound(to: Float.self), Int64(channels),
          &cg, UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self), Int64(outPlane))
        return
      }
      if T.self == Double.self {
        ember_col2im_f64(
          UnsafeMutableRawPointer(cols).assumingMemoryBound(to: Double.self), Int64(channels),
          &cg, UnsafeMutableRawPointer(x).assumingMemoryBound(to: Double.self), Int64(outPlane))
        return
      }
    }
    let (sH, sW) = (g.strideHeight, g.strideWidth)
    forEachTap(channels: channels, g, planes: x, rows: cols, rowStride: outPlane) {
      plane, row, rlo, rhi, roff, clo, chi, coff in
      guard clo < chi else { return }
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
  }

  /// The gradient of a convolution's bias: `gb[c] = Σ_n Σ_p gy[n, c, p]` for a contiguous
  /// gradient [batch, channels, plane], accumulated in double per channel (in a fixed order, so
  /// the result does not depend on the thread count) and rounded once. CNN step (1 thread, perf):
  /// the general `sum(dim: [0, 2, 3])` over the output gradient was 5.6% of the samples.
  ///
  /// The C reduction (`ember_conv_bias_grad_f32`/`_f64`: 16 double partial sums per plane instead
  /// of 4, so within rounding of the plain loop) unless `plain`. perf samples of a 1-thread cnn
  /// run: 137 (plain) -> 89-137 (C; mostly memory-bound, the machine loaded).
  static func convolutionBiasGrad<T: FloatScalar>(
    _ gy: UnsafePointer<T>, _ gb: UnsafeMutablePointer<T>, batch: Int, channels: Int, plane: Int,
    plain: Bool = false
  ) {
    Parallel.forRange(channels, costPerItem: Swift.max(batch * plane, 1)) { r in
      let (c0, c1) = (Int64(r.lowerBound), Int64(r.upperBound))
      if !plain && T.self == Float.self {
        ember_conv_bias_grad_f32(
          UnsafeRawPointer(gy).assumingMemoryBound(to: Float.self), Int64(batch), Int64(channels),
          Int64(plane), c0, c1, UnsafeMutableRawPointer(gb).assumingMemoryBound(to: Float.self))
        return
      }
      if !plain && T.self == Double.self {
        ember_conv_bias_grad_f64(
          UnsafeRawPointer(gy).assumingMemoryBound(to: Double.self), Int64(batch),
          Int64(channels), Int64(plane), c0, c1,
          UnsafeMutableRawPointer(gb).assumingMemoryBound(to: Double.self))
        return
      }
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
