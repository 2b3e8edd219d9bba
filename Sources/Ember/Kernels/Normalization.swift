/// Fused loops of batch, layer and group normalization (Functional+Normalization.swift): raw
/// contiguous memory in, statistics and results out. Sums accumulate in double.
///
/// Layouts: batch norm reads `[outer, channels, inner]` (statistics per channel); layer norm
/// reads `[rows, length]` (statistics per row, affine per column); group norm reads
/// `[batch, groups, channelsPerGroup, inner]` (statistics per (batch, group), affine per channel).
enum NormKernel {
  // MARK: batch norm

  /// Per channel, the mean (rounded to `T`) and the sum of squared deviations from it, in two
  /// passes as PyTorch's CPU kernel computes them (`(x - mean)²` in `T`, summed in double).
  static func channelStats<T: FloatScalar>(
    _ x: UnsafePointer<T>, outer: Int, channels: Int, inner: Int,
    mean: UnsafeMutablePointer<T>, varSum: UnsafeMutablePointer<Double>
  ) {
    let n = Double(outer * inner)
    Parallel.forRange(channels, costPerItem: outer * inner * 4) { range in
      for c in range {
        var sum = 0.0
        for a in 0..<outer {
          let p = x + (a * channels + c) * inner
          for i in 0..<inner { sum += p[i].doubleValue }
        }
        let m = T(fromDouble: sum / n)
        var squares = 0.0
        for a in 0..<outer {
          let p = x + (a * channels + c) * inner
          for i in 0..<inner {
            let d = p[i] - m
            squares += (d * d).doubleValue
          }
        }
        mean[c] = m
        varSum[c] = squares
      }
    }
  }

  /// y = x * alpha[c] + beta[c] over `[outer, channels, inner]`.
  static func channelAffine<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, outer: Int, channels: Int, inner: Int,
    alpha: UnsafePointer<T>, beta: UnsafePointer<T>
  ) {
    Parallel.forRange(outer * channels, costPerItem: inner) { range in
      for row in range {
        let c = row % channels
        let (a, b) = (alpha[c], beta[c])
        let src = x + row * inner
        let dst = y + row * inner
        for i in 0..<inner { dst[i] = src[i] * a + b }
      }
    }
  }

  /// Per channel, the sums of `g` and of `(x - mean[c]) * g`, the two reductions of batch
  /// norm's backward.
  static func channelBackwardSums<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, outer: Int, channels: Int, inner: Int,
    mean: UnsafePointer<T>, sumG: UnsafeMutablePointer<Double>, dot: UnsafeMutablePointer<Double>
  ) {
    Parallel.forRange(channels, costPerItem: outer * inner * 2) { range in
      for c in range {
        let m = mean[c]
        var s = 0.0
        var d = 0.0
        for a in 0..<outer {
          let off = (a * channels + c) * inner
          let px = x + off
          let pg = g + off
          for i in 0..<inner {
            s += pg[i].doubleValue
            d += ((px[i] - m) * pg[i]).doubleValue
          }
        }
        sumG[c] = s
        dot[c] = d
      }
    }
  }

  /// Batch norm's input gradient. In training mode
  /// `(g - sumG/n - (x - mean) * dot * invstd² / n) * invstd * w`; otherwise `g * invstd * w`.
  static func batchNormGradInput<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, _ gi: UnsafeMutablePointer<T>, outer: Int,
    channels: Int, inner: Int, mean: UnsafePointer<T>, invstd: UnsafePointer<T>,
    weight: UnsafePointer<T>?, sumG: UnsafePointer<Double>, dot: UnsafePointer<Double>,
    training: Bool
  ) {
    let n = Double(outer * inner)
    Parallel.forRange(outer * channels, costPerItem: inner * 2) { range in
      for row in range {
        let c = row % channels
        let w = weight.map { $0[c] } ?? 1
        let istd = invstd[c]
        let px = x + row * inner
        let pg = g + row * inner
        let po = gi + row * inner
        if training {
          let m = mean[c]
          let k = T(fromDouble: dot[c] * istd.doubleValue * istd.doubleValue / n)
          let gradMean = T(fromDouble: sumG[c] / n)
          let scale = istd * w
          for i in 0..<inner { po[i] = (pg[i] - gradMean - (px[i] - m) * k) * scale }
        } else {
          let scale = istd * w
          for i in 0..<inner { po[i] = pg[i] * scale }
        }
      }
    }
  }

  // MARK: row statistics (layer norm, group norm)

  /// Per row of `length` contiguous values, the mean and `1 / sqrt(biased variance + eps)`
  /// (two passes in double).
  static func rowStats<T: FloatScalar>(
    _ x: UnsafePointer<T>, rows: Int, length: Int, eps: Double,
    mean: UnsafeMutablePointer<T>, rstd: UnsafeMutablePointer<T>
  ) {
    let n = Double(length)
    Parallel.forRange(rows, costPerItem: length * 3) { range in
      for r in range {
        let p = x + r * length
        var sum = 0.0
        for i in 0..<length { sum += p[i].doubleValue }
        let m = sum / n
        var squares = 0.0
        for i in 0..<length {
          let d = p[i].doubleValue - m
          squares += d * d
        }
        mean[r] = T(fromDouble: m)
        rstd[r] = T(fromDouble: 1 / (squares / n + eps).squareRoot())
      }
    }
  }

  // MARK: layer norm

  /// y[r, j] = (x[r, j] - mean[r]) * rstd[r] * gamma[j] + beta[j].
  static func layerNormApply<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, rows: Int, length: Int,
    mean: UnsafePointer<T>, rstd: UnsafePointer<T>, gamma: UnsafePointer<T>?,
    beta: UnsafePointer<T>?
  ) {
    Parallel.forRange(rows, costPerItem: length * 2) { range in
      for r in range {
        let (m, s) = (mean[r], rstd[r])
        let src = x + r * length
        let dst = y + r * length
        switch (gamma, beta) {
        case (let gm?, let bt?):
          for j in 0..<length { dst[j] = (src[j] - m) * s * gm[j] + bt[j] }
        case (let gm?, nil):
          for j in 0..<length { dst[j] = (src[j] - m) * s * gm[j] }
        case (nil, let bt?):
          for j in 0..<length { dst[j] = (src[j] - m) * s + bt[j] }
        case (nil, nil):
          for j in 0..<length { dst[j] = (src[j] - m) * s }
        }
      }
    }
  }

  /// Layer norm's gradients: for each row, with `gw = g * gamma` and `xhat = (x - mean) * rstd`,
  /// `gi = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))`; `gradGamma[j] = Σ_r g * xhat`,
  /// `gradBeta[j] = Σ_r g`. Outputs left nil are skipped.
  static func layerNormBackward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, rows: Int, length: Int,
    mean: UnsafePointer<T>, rstd: UnsafePointer<T>, gamma: UnsafePointer<T>?,
    gradInput: UnsafeMutablePointer<T>?, gradGamma: UnsafeMutablePointer<T>?,
    gradBeta: UnsafeMutablePointer<T>?
  ) {
    let n = Double(length)
    if let gradInput {
      Parallel.forRange(rows, costPerItem: length * 4) { range in
        for r in range {
          let (m, s) = (mean[r], rstd[r])
          let px = x + r * length
          let pg = g + r * length
          var sumGW = 0.0
          var sumGWX = 0.0
          for j in 0..<length {
            let gw = gamma.map { pg[j] * $0[j] } ?? pg[j]
            sumGW += gw.doubleValue
            sumGWX += (gw * ((px[j] - m) * s)).doubleValue
          }
          let a = T(fromDouble: sumGW / n)
          let b = T(fromDouble: sumGWX / n)
          let po = gradInput + r * length
          for j in 0..<length {
            let gw = gamma.map { pg[j] * $0[j] } ?? pg[j]
            let xhat = (px[j] - m) * s
            po[j] = s * (gw - a - xhat * b)
          }
        }
      }
    }
    guard gradGamma != nil || gradBeta != nil else { return }
    // column sums, split over column blocks so each thread owns its outputs
    Parallel.forRange(length, costPerItem: rows * 3) { range in
      let width = range.count
      let accG = UnsafeMutablePointer<Double>.allocate(capacity: width)
      let accB = UnsafeMutablePointer<Double>.allocate(capacity: width)
      accG.initialize(repeating: 0, count: width)
      accB.initialize(repeating: 0, count: width)
      defer {
        accG.deallocate()
        accB.deallocate()
      }
      let lo = range.lowerBound
      for r in 0..<rows {
        let (m, s) = (mean[r], rstd[r])
        let px = x + r * length + lo
        let pg = g + r * length + lo
        for j in 0..<width {
          accG[j] += (pg[j] * ((px[j] - m) * s)).doubleValue
          accB[j] += pg[j].doubleValue
        }
      }
      for j in 0..<width {
        gradGamma?[lo + j] = T(fromDouble: accG[j])
        gradBeta?[lo + j] = T(fromDouble: accB[j])
      }
    }
  }

  // MARK: group norm

  /// y[n, c, i] = (x - mean[n, g]) * rstd[n, g] * gamma[c] + beta[c], with `g = c / perGroup`.
  static func groupNormApply<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, batch: Int, channels: Int, groups: Int,
    inner: Int, mean: UnsafePointer<T>, rstd: UnsafePointer<T>, gamma: UnsafePointer<T>?,
    beta: UnsafePointer<T>?
  ) {
    let perGroup = channels / groups
    Parallel.forRange(batch * channels, costPerItem: inner * 2) { range in
      for row in range {
        let (n, c) = (row / channels, row % channels)
        let k = n * groups + c / perGroup
        // (x - mean) * rstd * gamma + beta as x * scale + shift
        let s = rstd[k] * (gamma.map { $0[c] } ?? 1)
        let shift = (beta.map { $0[c] } ?? 0) - mean[k] * s
        let src = x + row * inner
        let dst = y + row * inner
        for i in 0..<inner { dst[i] = src[i] * s + shift }
      }
    }
  }

  /// Group norm's gradients, as layer norm's over each (batch, group) with `gw = g * gamma[c]`;
  /// `gradGamma[c] = Σ g * xhat`, `gradBeta[c] = Σ g` over batch and inner positions.
  static func groupNormBackward<T: FloatScalar>(
    _ x: UnsafePointer<T>, _ g: UnsafePointer<T>, batch: Int, channels: Int, groups: Int,
    inner: Int, mean: UnsafePointer<T>, rstd: UnsafePointer<T>, gamma: UnsafePointer<T>?,
    gradInput: UnsafeMutablePointer<T>?, gradGamma: UnsafeMutablePointer<T>?,
    gradBeta: UnsafeMutablePointer<T>?
  ) {
    let perGroup = channels / groups
    let length = perGroup * inner
    let n = Double(length)
    if let gradInput {
      Parallel.forRange(batch * groups, costPerItem: length * 4) { range in
        for k in range {
          let (m, s) = (mean[k], rstd[k])
          let c0 = (k % groups) * perGroup
          let base = k * length
          var sumGW = 0.0
          var sumGWX = 0.0
          for cc in 0..<perGroup {
            let w = gamma.map { $0[c0 + cc] } ?? 1
            let px = x + base + cc * inner
            let pg = g + base + cc * inner
            for i in 0..<inner {
              let gw = pg[i] * w
              sumGW += gw.doubleValue
              sumGWX += (gw * ((px[i] - m) * s)).doubleValue
            }
          }
          let a = T(fromDouble: sumGW / n)
          let b = T(fromDouble: sumGWX / n)
          for cc in 0..<perGroup {
            let w = gamma.map { $0[c0 + cc] } ?? 1
            let px = x + base + cc * inner
            let pg = g + base + cc * inner
            let po = gradInput + base + cc * inner
            for i in 0..<inner {
              let xhat = (px[i] - m) * s
              po[i] = s * (pg[i] * w - a - xhat * b)
            }
          }
        }
      }
    }
    guard gradGamma != nil || gradBeta != nil else { return }
    Parallel.forRange(channels, costPerItem: batch * inner * 3) { range in
      for c in range {
        var accG = 0.0
        var accB = 0.0
        for b in 0..<batch {
          let k = b * groups + c / perGroup
          let (m, s) = (mean[k], rstd[k])
          let off = (b * channels + c) * inner
          let px = x + off
          let pg = g + off
          for i in 0..<inner {
            accG += (pg[i] * ((px[i] - m) * s)).doubleValue
            accB += pg[i].doubleValue
          }
        }
        gradGamma?[c] = T(fromDouble: accG)
        gradBeta?[c] = T(fromDouble: accB)
      }
    }
  }
}
