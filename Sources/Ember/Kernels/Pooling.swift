import CEmberKernels

/// The sizes of a 2-D pooling over `planes` contiguous input planes [inHeight, inWidth] (a 1-D
/// pooling has height 1), giving planes [outHeight, outWidth]. Output sizes are stored (they
/// depend on `ceilMode`).
struct PoolGeometry: Sendable, Equatable {
  var planes = 0
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

  var inPlane: Int { inHeight * inWidth }
  var outPlane: Int { outHeight * outWidth }
}

/// One output window of an adaptive pooling along one dim: `start..<end` of the input.
struct AdaptiveWindows {
  var start: [Int]
  var end: [Int]

  /// PyTorch's windows: start = floor(o * in / out), end = ceil((o + 1) * in / out).
  init(input: Int, output: Int) {
    start = (0..<output).map { $0 * input / output }
    end = (0..<output).map { (($0 + 1) * input + output - 1) / output }
  }
}

extension Kernel {
  // MARK: max pooling

  /// Max over each window (NaN wins, the last NaN of a window if several; ties keep the first
  /// element), with the flat index inside the input plane of the element taken, as PyTorch's
  /// CPU kernel. Padding is never selected.
  ///
  /// 2x2 stride-2 windows without padding (all inside the input) take the C kernel
  /// (`ember_maxpool2x2_f32`/`_f64`, the general loop's comparisons in its order) unless
  /// `plain`. CNN step (MaxPool2d(2) on [64, 32, 28, 28] and [64, 64, 14, 14], 1 thread, perf):
  /// the general loop was 19% of the step's samples. ember-bench layers (2 threads, 3 alternating
  /// runs) against the Swift paths the C kernel replaced (the four taps unrolled, float32 four
  /// columns at a time in SSE, which rows of 14 and 7 outputs left mostly in its scalar tail):
  /// 0.68-0.93 -> 0.19-0.21 ms on the first, 0.71-0.79 -> 0.18-0.26 ms on the second.
  static func maxPoolForward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ indices: UnsafeMutablePointer<Int64>,
    _ g: PoolGeometry, plain: Bool = false
  ) {
    let cost = Swift.max(g.outPlane * g.kernelHeight * g.kernelWidth, 1)
    if !plain && g.kernelHeight == 2 && g.kernelWidth == 2 && g.strideHeight == 2
      && g.strideWidth == 2 && g.padTop == 0 && g.padLeft == 0 && g.dilationHeight == 1
      && g.dilationWidth == 1 && 2 * g.outHeight <= g.inHeight && 2 * g.outWidth <= g.inWidth
    {
      Parallel.forRange(g.planes, costPerItem: cost) { r in maxPool2x2(x, y, indices, g, planes: r)
      }
      return
    }
    Parallel.forRange(g.planes, costPerItem: cost) { r in
      let (inW, outW) = (g.inWidth, g.outWidth)
      let (dH, dW) = (g.dilationHeight, g.dilationWidth)
      for plane in r {
        let xp = x + plane * g.inPlane
        let yp = y + plane * g.outPlane
        let ip = indices + plane * g.outPlane
        for oh in 0..<g.outHeight {
          var ih0 = oh * g.strideHeight - g.padTop
          let ih1 = Swift.min(ih0 + (g.kernelHeight - 1) * dH + 1, g.inHeight)
          while ih0 < 0 { ih0 += dH }
          for ow in 0..<outW {
            var iw0 = ow * g.strideWidth - g.padLeft
            let iw1 = Swift.min(iw0 + (g.kernelWidth - 1) * dW + 1, inW)
            while iw0 < 0 { iw0 += dW }
            var best = -T.infinity
            var bestIndex = ih0 * inW + iw0
            var ih = ih0
            while ih < ih1 {
              var iw = iw0
              while iw < iw1 {
                let v = xp[ih * inW + iw]
                if v > best || v.isNaN {
                  best = v
                  bestIndex = ih * inW + iw
                }
                iw += dW
              }
              ih += dH
            }
            yp[oh * outW + ow] = best
            ip[oh * outW + ow] = Int64(bestIndex)
          }
        }
      }
    }
  }

  /// The 2x2, stride-2 windows of ``maxPoolForward(_:_:_:_:plain:)`` for planes `r`, in C
  /// (`ember_maxpool2x2_f32` / `_f64`: 16 or 8 output columns per vector, AVX-512 when the CPU
  /// has it; Float and Double are the only FloatScalar types).
  private static func maxPool2x2<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ indices: UnsafeMutablePointer<Int64>,
    _ g: PoolGeometry, planes r: Range<Int>
  ) {
    let (lo, count) = (r.lowerBound, Int64(r.count))
    let sizes = (Int64(g.inHeight), Int64(g.inWidth), Int64(g.outHeight), Int64(g.outWidth))
    let (xs, ys, ids) = (x + lo * g.inPlane, y + lo * g.outPlane, indices + lo * g.outPlane)
    if T.self == Float.self {
      ember_maxpool2x2_f32(
        UnsafeRawPointer(xs).assumingMemoryBound(to: Float.self),
        UnsafeMutableRawPointer(ys).assumingMemoryBound(to: Float.self), ids, count, sizes.0,
        sizes.1, sizes.2, sizes.3)
    } else {
      precondition(T.self == Double.self, "maxPool2x2: float32 or float64 only")
      ember_maxpool2x2_f64(
        UnsafeRawPointer(xs).assumingMemoryBound(to: Double.self),
        UnsafeMutableRawPointer(ys).assumingMemoryBound(to: Double.self), ids, count, sizes.0,
        sizes.1, sizes.2, sizes.3)
    }
  }

  /// Adaptive max pooling: the max (NaN wins) over each adaptive window, with its flat index.
  static func adaptiveMaxPoolForward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ indices: UnsafeMutablePointer<Int64>,
    _ g: PoolGeometry
  ) {
    let rows = AdaptiveWindows(input: g.inHeight, output: g.outHeight)
    let cols = AdaptiveWindows(input: g.inWidth, output: g.outWidth)
    let window =
      Swift.max(
        (g.inHeight + g.outHeight - 1) / Swift.max(g.outHeight, 1) + 1, 1)
      * Swift.max((g.inWidth + g.outWidth - 1) / Swift.max(g.outWidth, 1) + 1, 1)
    Parallel.forRange(g.planes, costPerItem: Swift.max(g.outPlane * window, 1)) { r in
      let (inW, outW) = (g.inWidth, g.outWidth)
      for plane in r {
        let xp = x + plane * g.inPlane
        let yp = y + plane * g.outPlane
        let ip = indices + plane * g.outPlane
        for oh in 0..<g.outHeight {
          for ow in 0..<outW {
            var best = -T.infinity
            var bestIndex = rows.start[oh] * inW + cols.start[ow]
            for ih in rows.start[oh]..<rows.end[oh] {
              for iw in cols.start[ow]..<cols.end[ow] {
                let v = xp[ih * inW + iw]
                if v > best || v.isNaN {
                  best = v
                  bestIndex = ih * inW + iw
                }
              }
            }
            yp[oh * outW + ow] = best
            ip[oh * outW + ow] = Int64(bestIndex)
          }
        }
      }
    }
  }

  /// The gradient of a max pooling: each output gradient added at its saved index of a zeroed
  /// input plane (a scatter-add over each plane).
  ///
  /// The C loop (`ember_maxpool_backward_f32`/`_f64`, the same additions) unless `plain`.
  /// ember-bench layers (2 threads, 3 alternating runs): MaxPool2d(2) backward on [64, 64, 14, 14]
  /// 0.18-0.20 -> 0.11-0.14 ms, on [64, 32, 28, 28] 0.27-0.33 -> 0.17-0.32 ms (noisy; the zeroing
  /// is memory-bound).
  static func maxPoolBackward<T: FloatScalar>(
    _ gy: UnsafePointer<T>, _ indices: UnsafePointer<Int64>, _ gx: UnsafeMutablePointer<T>,
    planes: Int, inPlane: Int, outPlane: Int, plain: Bool = false
  ) {
    Parallel.forRange(planes, costPerItem: Swift.max(inPlane + outPlane, 1)) { r in
      let (lo, count) = (r.lowerBound, Int64(r.count))
      let (src, idx, dst) = (gy + lo * outPlane, indices + lo * outPlane, gx + lo * inPlane)
      if !plain && T.self == Float.self {
        ember_maxpool_backward_f32(
          UnsafeRawPointer(src).assumingMemoryBound(to: Float.self), idx,
          UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Float.self), count, Int64(inPlane),
          Int64(outPlane))
        return
      }
      if !plain && T.self == Double.self {
        ember_maxpool_backward_f64(
          UnsafeRawPointer(src).assumingMemoryBound(to: Double.self), idx,
          UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Double.self), count,
          Int64(inPlane), Int64(outPlane))
        return
      }
      for plane in r {
        let dst = gx + plane * inPlane
        dst.update(repeating: 0, count: inPlane)
        let src = gy + plane * outPlane
        let idx = indices + plane * outPlane
        for o in 0..<outPlane {
          let i = Int(idx[o])
          // a window entirely in the padding (possible with dilation and ceil mode) yields -inf
          // and an index past the plane, as in PyTorch; it receives no gradient
          if i >= 0 && i < inPlane { dst[i] += src[o] }
        }
      }
    }
  }

  // MARK: average pooling

  /// The window of output (oh, ow) clipped to the input, and its divisor, as PyTorch's CPU
  /// kernel: the window first clipped to the padded input (its area is the divisor when padding
  /// counts), then to the input. Nil when the clipped window is empty.
  @inline(__always)
  static func averageWindow(
    _ g: PoolGeometry, _ oh: Int, _ ow: Int, countIncludePad: Bool, divisor: Int?
  ) -> (ih0: Int, ih1: Int, iw0: Int, iw1: Int, divisor: Int)? {
    var ih0 = oh * g.strideHeight - g.padTop
    var iw0 = ow * g.strideWidth - g.padLeft
    var ih1 = Swift.min(ih0 + g.kernelHeight, g.inHeight + g.padTop)
    var iw1 = Swift.min(iw0 + g.kernelWidth, g.inWidth + g.padLeft)
    let poolSize = (ih1 - ih0) * (iw1 - iw0)
    ih0 = Swift.max(ih0, 0)
    iw0 = Swift.max(iw0, 0)
    ih1 = Swift.min(ih1, g.inHeight)
    iw1 = Swift.min(iw1, g.inWidth)
    if ih0 >= ih1 || iw0 >= iw1 { return nil }
    let d = divisor ?? (countIncludePad ? poolSize : (ih1 - ih0) * (iw1 - iw0))
    return (ih0, ih1, iw0, iw1, d)
  }

  /// Average over each window, divided by `divisor` when given, else by the window's size
  /// (counting the padding when `countIncludePad`).
  static func avgPoolForward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ g: PoolGeometry,
    countIncludePad: Bool, divisor: Int?
  ) {
    let cost = Swift.max(g.outPlane * g.kernelHeight * g.kernelWidth, 1)
    Parallel.forRange(g.planes, costPerItem: cost) { r in
      for plane in r {
        let xp = x + plane * g.inPlane
        let yp = y + plane * g.outPlane
        for oh in 0..<g.outHeight {
          for ow in 0..<g.outWidth {
            guard
              let w = averageWindow(
                g, oh, ow, countIncludePad: countIncludePad, divisor: divisor)
            else {
              yp[oh * g.outWidth + ow] = 0
              continue
            }
            var sum: T = 0
            for ih in w.ih0..<w.ih1 {
              for iw in w.iw0..<w.iw1 { sum += xp[ih * g.inWidth + iw] }
            }
            yp[oh * g.outWidth + ow] = sum / T(w.divisor)
          }
        }
      }
    }
  }

  /// The gradient of an average pooling (its transpose): each output gradient, divided as in
  /// the forward, added over its window of a zeroed input plane.
  static func avgPoolBackward<T: FloatScalar>(
    _ gy: UnsafePointer<T>, _ gx: UnsafeMutablePointer<T>, _ g: PoolGeometry,
    countIncludePad: Bool, divisor: Int?
  ) {
    let cost = Swift.max(g.outPlane * g.kernelHeight * g.kernelWidth + g.inPlane, 1)
    Parallel.forRange(g.planes, costPerItem: cost) { r in
      for plane in r {
        let dst = gx + plane * g.inPlane
        dst.update(repeating: 0, count: g.inPlane)
        let src = gy + plane * g.outPlane
        for oh in 0..<g.outHeight {
          for ow in 0..<g.outWidth {
            guard
              let w = averageWindow(
                g, oh, ow, countIncludePad: countIncludePad, divisor: divisor)
            else { continue }
            let delta = src[oh * g.outWidth + ow] / T(w.divisor)
            for ih in w.ih0..<w.ih1 {
              for iw in w.iw0..<w.iw1 { dst[ih * g.inWidth + iw] += delta }
            }
          }
        }
      }
    }
  }

  /// Adaptive average pooling: the mean of each adaptive window.
  static func adaptiveAvgPoolForward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ g: PoolGeometry
  ) {
    let rows = AdaptiveWindows(input: g.inHeight, output: g.outHeight)
    let cols = AdaptiveWindows(input: g.inWidth, output: g.outWidth)
    Parallel.forRange(g.planes, costPerItem: Swift.max(g.inPlane, g.outPlane, 1)) { r in
      for plane in r {
        let xp = x + plane * g.inPlane
        let yp = y + plane * g.outPlane
        for oh in 0..<g.outHeight {
          let (ih0, ih1) = (rows.start[oh], rows.end[oh])
          for ow in 0..<g.outWidth {
            let (iw0, iw1) = (cols.start[ow], cols.end[ow])
            var sum: T = 0
            for ih in ih0..<ih1 {
              for iw in iw0..<iw1 { sum += xp[ih * g.inWidth + iw] }
            }
            yp[oh * g.outWidth + ow] = sum / T(ih1 - ih0) / T(iw1 - iw0)
          }
        }
      }
    }
  }

  /// The gradient of an adaptive average pooling: each output gradient divided by its window's
  /// size and added over the window of a zeroed input plane.
  static func adaptiveAvgPoolBackward<T: FloatScalar>(
    _ gy: UnsafePointer<T>, _ gx: UnsafeMutablePointer<T>, _ g: PoolGeometry
  ) {
    let rows = AdaptiveWindows(input: g.inHeight, output: g.outHeight)
    let cols = AdaptiveWindows(input: g.inWidth, output: g.outWidth)
    Parallel.forRange(g.planes, costPerItem: Swift.max(g.inPlane, g.outPlane, 1)) { r in
      for plane in r {
        let dst = gx + plane * g.inPlane
        dst.update(repeating: 0, count: g.inPlane)
        let src = gy + plane * g.outPlane
        for oh in 0..<g.outHeight {
          let (ih0, ih1) = (rows.start[oh], rows.end[oh])
          for ow in 0..<g.outWidth {
            let (iw0, iw1) = (cols.start[ow], cols.end[ow])
            let delta = src[oh * g.outWidth + ow] / T(ih1 - ih0) / T(iw1 - iw0)
            for ih in ih0..<ih1 {
              for iw in iw0..<iw1 { dst[ih * g.inWidth + iw] += delta }
            }
          }
        }
      }
    }
  }
}
