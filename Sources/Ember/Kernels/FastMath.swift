/// Fast float32 math: branch-free scalar approximations and the vectorized `exp` kernels.

/// Branch-free float32 approximations (at most 3 ulp from the correctly rounded result) that
/// vectorize, unlike calls into libm.
enum FastMath {
  /// e^x: 2^n e^r with n = round(x / ln 2) and the Cephes polynomial for e^r (1 ulp); handles
  /// overflow to inf, gradual underflow to 0, and NaN.
  @inline(__always) static func exp(_ x: Float) -> Float {
    let xc = Swift.min(Swift.max(x, -104), 89)
    let magic: Float = 12_582_912  // 1.5 * 2^23: adding it rounds to an integer in the low bits
    let t = xc * 1.442_695_040_888_963_4 + magic
    let n = t - magic
    let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * (r * r) + r + 1
    // 2^n as two factors so that neither overflows nor underflows on its own
    let ni = Int32(bitPattern: t.bitPattern &- magic.bitPattern)
    let n1 = ni &>> 1
    let n2 = ni &- n1
    let s1 = Float(bitPattern: UInt32(bitPattern: (n1 &+ 127) &<< 23))
    let s2 = Float(bitPattern: UInt32(bitPattern: (n2 &+ 127) &<< 23))
    return p * s1 * s2
  }

  /// 1 / (1 + e^-x) from e^-|x|, so no intermediate overflows.
  @inline(__always) static func sigmoid(_ x: Float) -> Float {
    let e = exp(-Swift.abs(x))
    let s = 1 / (1 + e)
    return x >= 0 ? s : e * s
  }

  /// tanh: the Cephes odd polynomial for |x| < 0.625, else 1 - 2 / (e^2|x| + 1) with the sign.
  @inline(__always) static func tanh(_ x: Float) -> Float {
    let ax = Swift.abs(x)
    let z = x * x
    var p: Float = -5.704_988_727_45e-3
    p = p * z + 2.063_908_879_54e-2
    p = p * z - 5.373_971_555_31e-2
    p = p * z + 1.333_144_220_36e-1
    p = p * z - 3.333_328_194_22e-1
    let small = x * (1 + z * p)  // keeps the sign of -0.0
    let large = 1 - 2 / (exp(2 * ax) + 1)
    return ax < 0.625 ? small : (x < 0 ? -large : large)
  }
}

extension FastMath {
  /// erf: for |x| <= 0.927734375 an odd polynomial, else 1 - e^(polynomial), with the sign
  /// (N. Juffa's minimax fits; 1 ulp). |x| is capped at 4, where erf rounds to 1 in float32.
  @inline(__always) static func erf(_ x: Float) -> Float {
    let t = Swift.min(Swift.abs(x), 4)
    var r: Float = -1.728_534_70e-5 * t + 3.831_971_26e-4
    let u: Float = -3.883_964_38e-3 * t + 2.425_462_19e-2
    r = r * (t * t) + u
    r = r * t - 1.067_778_77e-1
    r = r * t - 6.348_466_87e-1
    r = r * t - 1.287_175_12e-1
    r = r * t - t
    let large = 1 - exp(r)
    let s = x * x
    var q: Float = -5.967_617_03e-4
    q = q * s + 4.991_194_23e-3
    q = q * s - 2.676_813_49e-2
    q = q * s + 1.128_199_25e-1
    q = q * s - 3.761_253_36e-1
    q = q * s + 1.283_791_66e-1
    let small = q * x + x
    return t > 0.927_734_375 ? (x < 0 ? -large : large) : small
  }
}

extension Kernel {
  // MARK: vectorized exp

  /// e^x for eight floats (Cephes polynomial, about 1 ulp), subnormal results included; inputs
  /// are clamped to [-104, 88.7] (e^x underflows to 0 below), NaN stays NaN.
  @inline(__always)
  static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let magic: Float = 12_582_912  // 1.5 * 2^23: adding it rounds to an integer
    var xc = x.replacing(with: -104, where: x .< -104)
    xc.replace(with: 88.7, where: xc .> 88.7)
    let t = xc * 1.442_695_04 + magic
    let n = t - magic
    var r = xc - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    var p: SIMD8<Float> = SIMD8(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let y = p * (r * r) + r + 1
    // 2^n as two factors so that n down to -150 (subnormal results) stays representable
    let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
    let n1 = ni &>> 1
    let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: SIMD8<Float>.self)
    let s2 = unsafeBitCast((ni &- n1 &+ 127) &<< 23, to: SIMD8<Float>.self)
    return y * s1 * s2
  }

  /// Replaces `n` floats with their exponential.
  @inline(__always)
  static func expInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    let raw = UnsafeMutableRawPointer(p)
    var i = 0
    while i + 8 <= n {
      let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
      raw.storeBytes(of: exp8(v), toByteOffset: i &* 4, as: SIMD8<Float>.self)
      i &+= 8
    }
    if i < n {
      var v = SIMD8<Float>()
      for k in 0..<(n - i) { v[k] = p[i + k] }
      let e = exp8(v)
      for k in 0..<(n - i) { p[i + k] = e[k] }
    }
  }

  /// Sum of e^(x - shift) over `n` floats (vectorized).
  @inline(__always)
  static func sumExpShifted(_ p: UnsafePointer<Float>, _ n: Int, shift: Float) -> Float {
    let raw = UnsafeRawPointer(p)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
      acc += exp8(raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - shift)
      i &+= 8
    }
    if i < n {
      var v = SIMD8<Float>(repeating: -.infinity)
      for k in 0..<(n - i) { v[k] = p[i + k] - shift }
      acc += exp8(v)
    }
    return acc.sum()
  }

  /// The largest of `n` floats ignoring NaN (-inf when there is none).
  @inline(__always)
  static func maxIgnoringNaN(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    let raw = UnsafeRawPointer(p)
    var m = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= n {
      let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
      m.replace(with: v, where: v .> m)
      i &+= 8
    }
    var best = m.max()
    while i < n {
      if p[i] > best { best = p[i] }
      i += 1
    }
    return best
  }
}
