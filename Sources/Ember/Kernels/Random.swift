/// Random fills in PyTorch's exact order of draws (mt19937 through ``Generator``); the
/// tensor-level API is in Core/Tensor+Random.swift.
/// The samplers behind Tensor+Random.swift. Each takes the generator's lock once per tensor.
enum RandomKernel {
  // MARK: argument checks (PyTorch's messages)

  static func checkUniform(low: Double, high: Double, dtype: DType) {
    precondition(
      dtype.isFloatingPoint,
      "uniform_: \"check_uniform_bounds\" not implemented for '\(dtype.torchName)' (use a floating-point dtype, or randint for integers)"
    )
    precondition(
      low <= high,
      "uniform_ expects to return a [from, to) range, but found from=\(format(low)) > to=\(format(high))"
    )
  }

  static func checkNormal(std: Double, dtype: DType) {
    precondition(
      dtype.isFloatingPoint,
      "normal_: \"normal_kernel_cpu\" not implemented for '\(dtype.torchName)' (use a floating-point dtype)"
    )
    precondition(std >= 0, "normal expects std >= 0.0, but found std \(format(std))")
  }

  static func checkRange(low: Int, high: Int, op: String) {
    precondition(
      low < high, "\(op) expects 'from' to be less than 'to', but got from=\(low) >= to=\(high)")
  }

  static func checkProbability(_ p: Double) {
    precondition(
      p >= 0 && p <= 1, "bernoulli_ expects p to be in [0, 1], but got p=\(format(p))")
  }

  /// Prints whole numbers without a trailing `.0`, as PyTorch's messages do.
  static func format(_ x: Double) -> String {
    if x.isFinite && x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
    return String(x)
  }

  // MARK: iteration order

  /// Calls `body` with the storage offset (relative to `out`'s first element) of every element of
  /// `out`, in the memory order of `layout` (a tensor of the same shape): TensorIterator's order,
  /// outermost dimension = largest stride, ties keep the dimension order.
  @inline(__always)
  static func forEachOffset(_ out: Tensor, layout: Tensor, _ body: (Int) -> Void) {
    let n = out.count
    if n == 0 { return }
    if layout.isContiguous && out.isContiguous {
      for i in 0..<n { body(i) }
      return
    }
    let dims = (0..<layout.rank).filter { layout.shape[$0] != 1 }.sorted { a, b in
      let sa = layout.strides[a]
      let sb = layout.strides[b]
      return sa != sb ? sa > sb : a < b
    }
    if dims.isEmpty {
      body(0)
      return
    }
    let sizes = dims.map { out.shape[$0] }
    let steps = dims.map { out.strides[$0] }
    let inner = dims.count - 1
    let innerSize = sizes[inner]
    let innerStep = steps[inner]
    var index = [Int](repeating: 0, count: dims.count)
    var base = 0
    while true {
      var off = base
      for _ in 0..<innerSize {
        body(off)
        off += innerStep
      }
      var d = inner - 1
      while d >= 0 {
        index[d] += 1
        base += steps[d]
        if index[d] < sizes[d] { break }
        base -= steps[d] * sizes[d]
        index[d] = 0
        d -= 1
      }
      if d < 0 { return }
    }
  }

  /// Writes `next(engine)` into every element of `out` in `layout`'s memory order.
  @inline(__always)
  static func fill<T: TensorScalar>(
    _ out: Tensor, layout: Tensor, _ gen: Generator, _ next: (inout RandomEngine) -> T
  ) {
    let p = out.basePointer(T.self)
    gen.withEngine { e in
      forEachOffset(out, layout: layout) { off in p[off] = next(&e) }
    }
  }

  // MARK: uniform

  static func uniform(_ out: Tensor, layout: Tensor, low: Double, high: Double, _ gen: Generator) {
    switch out.dtype {
    case .float32:
      let lo = Float(low)
      let hi = Float(high)
      let span = hi - lo
      fill(out, layout: layout, gen) { (e: inout RandomEngine) -> Float in
        let v = fusedAdd(lo, e.unitFloat(), span)
        return v == hi ? lo : v
      }
    case .float64:
      let span = high - low
      fill(out, layout: layout, gen) { (e: inout RandomEngine) -> Double in
        let v = fusedAdd(low, e.unitDouble(), span)
        return v == high ? low : v
      }
    case .int64, .bool:
      preconditionFailure("uniform_: expected a floating-point tensor, got \(out.dtype)")
    }
  }

  // MARK: normal

  static func normal(_ out: Tensor, layout: Tensor, mean: Double, std: Double, _ gen: Generator) {
    let n = out.count
    // PyTorch's normal_fill path: contiguous targets of 16 or more elements.
    if n >= 16 && layout.isContiguous && out.isContiguous {
      switch out.dtype {
      case .float32:
        let p = out.basePointer(Float.self)
        gen.withEngine { e in normalFillFloat(p, n, mean: Float(mean), std: Float(std), &e) }
      case .float64:
        let p = out.basePointer(Double.self)
        gen.withEngine { e in normalFillDouble(p, n, mean: mean, std: std, &e) }
      case .int64, .bool:
        preconditionFailure("normal_: expected a floating-point tensor, got \(out.dtype)")
      }
      return
    }
    switch out.dtype {
    case .float32:
      fill(out, layout: layout, gen) { (e: inout RandomEngine) -> Float in
        Float(e.normalDouble(mean: mean, std: std))
      }
    case .float64:
      fill(out, layout: layout, gen) { (e: inout RandomEngine) -> Double in
        e.normalDouble(mean: mean, std: std)
      }
    case .int64, .bool:
      preconditionFailure("normal_: expected a floating-point tensor, got \(out.dtype)")
    }
  }

  /// `normal_fill<double>`: all uniforms first, then Box-Muller in blocks of 16.
  static func normalFillDouble(
    _ p: UnsafeMutablePointer<Double>, _ n: Int, mean: Double, std: Double,
    _ e: inout RandomEngine
  ) {
    for i in 0..<n { p[i] = e.unitDouble() }
    @inline(__always) func block(_ d: UnsafeMutablePointer<Double>) {
      for j in 0..<8 {
        let u1 = 1 - d[j]
        let u2 = d[j + 8]
        let radius = (-2 * Double.log(u1)).squareRoot()
        let theta = 2.0 * Double.pi * u2
        d[j] = fusedAdd(mean, radius * Double.cos(theta), std)
        d[j + 8] = fusedAdd(mean, radius * Double.sin(theta), std)
      }
    }
    var i = 0
    while i < n - 15 {
      block(p + i)
      i += 16
    }
    if n % 16 != 0 {
      let tail = p + (n - 16)
      for j in 0..<16 { tail[j] = e.unitDouble() }
      block(tail)
    }
  }

  /// `normal_fill<float>` with PyTorch's AVX2 block transform (see ``avxBoxMuller``).
  static func normalFillFloat(
    _ p: UnsafeMutablePointer<Float>, _ n: Int, mean: Float, std: Float, _ e: inout RandomEngine
  ) {
    for i in 0..<n { p[i] = e.unitFloat() }
    @inline(__always) func block(_ d: UnsafeMutablePointer<Float>) {
      let raw = UnsafeMutableRawPointer(d)
      let u1 = raw.loadUnaligned(as: Floats8.self)
      let u2 = raw.loadUnaligned(fromByteOffset: 32, as: Floats8.self)
      var fast = FastLaneFMA()
      var (a, b) = avxBoxMuller(u1, u2, mean: mean, std: std, &fast)
      if fast.sawTie {
        var exact = ExactLaneFMA()
        (a, b) = avxBoxMuller(u1, u2, mean: mean, std: std, &exact)
      }
      raw.storeBytes(of: a, as: Floats8.self)
      raw.storeBytes(of: b, toByteOffset: 32, as: Floats8.self)
    }
    var i = 0
    while i < n - 15 {
      block(p + i)
      i += 16
    }
    if n % 16 != 0 {
      let tail = p + (n - 16)
      for j in 0..<16 { tail[j] = e.unitFloat() }
      block(tail)
    }
  }

  typealias Floats8 = SIMD8<Float>

  /// `c + a * b` with a single rounding, like `c.addingProduct(a, b)` but without libm's `fmaf`,
  /// which a binary not compiled for FMA calls every time: the product of two floats is exact in
  /// double, so the double sum is rounded once more to float. That second rounding can only be
  /// wrong when the double lands exactly halfway between two floats, or in float's subnormal
  /// range; those cases take `addingProduct`.
  @inline(__always)
  static func fusedAdd(_ c: Float, _ a: Float, _ b: Float) -> Float {
    let d = Double(a) * Double(b) + Double(c)
    if d.bitPattern & 0x1fff_ffff == 0x1000_0000 || (d != 0 && abs(d) < 0x1p-126) {
      return c.addingProduct(a, b)
    }
    return Float(d)
  }

  /// `c + a * b` with a single rounding; `b == 1` (rand, randn) needs no fused multiply-add,
  /// which is a libm call when the binary is not compiled for FMA.
  @inline(__always)
  static func fusedAdd(_ c: Double, _ a: Double, _ b: Double) -> Double {
    b == 1 ? a + c : c.addingProduct(a, b)
  }

  /// PyTorch's `NormalFill16<float>` for AVX2 on 8 pairs of uniforms: `a` (for the radius, 1 - a
  /// goes into `log256_ps`) and `b` (for the angle, 2πb goes into `sincos256_ps`), both Cephes
  /// polynomials from avx_mathfun.h, evaluated with exactly the roundings and fused multiply-adds
  /// of the compiled kernel. Returns the cosine and sine halves, scaled by `std` and shifted by
  /// `mean` with one more fused multiply-add.
  @inline(__always)
  static func avxBoxMuller<F: LaneFMA>(
    _ a: Floats8, _ b: Floats8, mean: Float, std: Float, _ fma: inout F
  ) -> (Floats8, Floats8) {
    // avx_mathfun.h's constants, rounded decimal -> double -> float as its C initializers are
    func c(_ x: Double) -> Floats8 { Floats8(repeating: Float(x)) }
    let zero = Floats8(repeating: 0)
    let one = Floats8(repeating: 1)

    // log256_ps(1 - a); 1 - a lies in (0, 1], so the invalid-input mask never fires.
    var x = pointwiseMax(one - a, Floats8(repeating: Float(bitPattern: 0x0080_0000)))
    let xBits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
    let exponent = SIMD8<Int32>(truncatingIfNeeded: xBits &>> 23) &- 0x7f
    var e = Floats8()
    for i in 0..<8 { e[i] = Float(exponent[i]) }
    e = e + one
    x = unsafeBitCast((xBits & ~0x7f80_0000) | 0x3f00_0000, to: Floats8.self)
    let below = x .< c(0.707106781186547524)
    let tmp = zero.replacing(with: x, where: below)
    x = x - one
    e = e - zero.replacing(with: one, where: below)
    x = x + tmp
    let z = x * x
    var y = fma.fused(c(-1.1514610310E-1), c(7.0376836292E-2), x)
    y = fma.fused(c(1.1676998740E-1), y, x)
    y = fma.fused(c(-1.2420140846E-1), y, x)
    y = fma.fused(c(1.4249322787E-1), y, x)
    y = fma.fused(c(-1.6668057665E-1), y, x)
    y = fma.fused(c(2.0000714765E-1), y, x)
    y = fma.fused(c(-2.4999993993E-1), y, x)
    y = fma.fused(c(3.3333331174E-1), y, x)
    y = y * x
    y = fma.fused(e * c(-2.12194440e-4), y, z)
    // exactInDouble: these sums of floats on the 2^-24 grid of the uniforms (and small integer
    // multiples of the short Cephes split constants) fit in 53 bits, or their small term is far
    // below half a float ulp, so the double never lands on a halfway point by rounding.
    y = fma.fused(y, -z, c(0.5), exactInDouble: true)
    x = x + y
    x = fma.fused(x, e, c(0.693359375), exactInDouble: true)
    let radius = (x * c(-2)).squareRoot()

    // sincos256_ps(2π b); the angle is in [0, 2π), so its sign bit is clear.
    var t = c(2.0 * Double.pi) * b
    let scaled = t * c(1.27323954473516)
    var j = SIMD8<Int32>()
    for i in 0..<8 { j[i] = Int32(scaled[i]) }
    j = (j &+ 1) & ~1
    var yj = Floats8()
    for i in 0..<8 { yj[i] = Float(j[i]) }
    let sinSign = SIMD8<UInt32>(truncatingIfNeeded: (j & 4) &<< 29)
    let useSinPoly = (j & 2) .== 0
    t = fma.fused(t, yj, c(-0.78515625), exactInDouble: true)
    t = fma.fused(t, yj, c(-2.4187564849853515625e-4), exactInDouble: true)
    t = fma.fused(t, yj, c(-3.77489497744594108e-8), exactInDouble: true)
    let cosSign = SIMD8<UInt32>(truncatingIfNeeded: (~(j &- 2) & 4) &<< 29)
    let zz = t * t
    var yc = fma.fused(c(-1.388731625493765E-003), c(2.443315711809948E-005), zz)
    yc = fma.fused(c(4.166664568298827E-002), yc, zz)
    yc = yc * zz
    yc = fma.fused(-(zz * c(0.5)), yc, zz)
    yc = yc + one
    var ys = fma.fused(c(8.3321608736E-3), c(-1.9515295891E-4), zz)
    ys = fma.fused(c(-1.6666654611E-1), ys, zz)
    ys = zz * ys
    ys = fma.fused(t, t, ys)
    let ysin2 = zero.replacing(with: ys, where: useSinPoly)
    let ysin1 = yc.replacing(with: zero, where: useSinPoly)
    let sinV = unsafeBitCast(
      unsafeBitCast(ysin1 + ysin2, to: SIMD8<UInt32>.self) ^ sinSign, to: Floats8.self)
    let cosV = unsafeBitCast(
      unsafeBitCast((yc - ysin1) + (ys - ysin2), to: SIMD8<UInt32>.self) ^ cosSign,
      to: Floats8.self)
    let m = Floats8(repeating: mean)
    let s = Floats8(repeating: std)
    return (fma.fused(m, radius * cosV, s), fma.fused(m, radius * sinV, s))
  }
}

/// How ``RandomKernel/avxBoxMuller(_:_:mean:std:_:)`` evaluates `c + a * b` with one rounding.
protocol LaneFMA {
  /// `exactInDouble` promises that the double sum `c + a * b` cannot be rounded onto a point
  /// halfway between two floats (it is exact, or its small term is far below half a float ulp),
  /// so it needs no halfway check.
  mutating func fused(
    _ c: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>, exactInDouble: Bool
  ) -> SIMD8<Float>
}

extension LaneFMA {
  @inline(__always)
  mutating func fused(_ c: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    fused(c, a, b, exactInDouble: false)
  }
}

/// Through double: the product of two floats is exact in double, so rounding the double sum to
/// float is one rounding of the exact value, except when the sum itself was rounded onto a point
/// exactly halfway between two floats. Those lanes are recorded in `ties`, so the caller can redo
/// the block with ``ExactLaneFMA``. (Float's subnormal range, where the halfway test would not
/// be enough, is out of reach: the kernel's values are multiples of 2^-24 and their small
/// products, far above 2^-126.)
struct FastLaneFMA: LaneFMA {
  /// Bit 31 of an even (low-word) lane is set once a halfway sum was seen.
  var ties = SIMD16<UInt32>()

  @inline(__always)
  mutating func fused(
    _ c: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>, exactInDouble: Bool
  ) -> SIMD8<Float> {
    var x = SIMD8<Double>()
    var y = SIMD8<Double>()
    var z = SIMD8<Double>()
    for i in 0..<8 {
      x[i] = Double(a[i])
      y[i] = Double(b[i])
      z[i] = Double(c[i])
    }
    let d = x * y + z
    // the low 29 bits are 0x1000_0000 exactly at a halfway point; (t - 1) sets bit 31 iff t == 0
    if !exactInDouble {
      let words = unsafeBitCast(d, to: SIMD16<UInt32>.self)
      ties |= ((words & 0x1fff_ffff) ^ 0x1000_0000) &- 1
    }
    var r = SIMD8<Float>()
    for i in 0..<8 { r[i] = Float(d[i]) }
    return r
  }

  /// True when some lane hit a halfway point.
  var sawTie: Bool {
    let even = SIMD16<UInt32>(
      0x8000_0000, 0, 0x8000_0000, 0, 0x8000_0000, 0, 0x8000_0000, 0,
      0x8000_0000, 0, 0x8000_0000, 0, 0x8000_0000, 0, 0x8000_0000, 0)
    return (ties & even) != SIMD16<UInt32>()
  }
}

/// One correctly rounded `fmaf` per lane.
struct ExactLaneFMA: LaneFMA {
  @inline(__always)
  mutating func fused(
    _ c: SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>, exactInDouble: Bool
  ) -> SIMD8<Float> {
    var r = SIMD8<Float>()
    for i in 0..<8 { r[i] = c[i].addingProduct(a[i], b[i]) }
    return r
  }
}

extension RandomKernel {
  // MARK: integers

  static func integers(_ out: Tensor, layout: Tensor, low: Int, high: Int, _ gen: Generator) {
    let range = UInt64(bitPattern: Int64(high) &- Int64(low))
    let base = UInt64(bitPattern: Int64(low))
    @inline(__always) func draw(_ e: inout RandomEngine) -> Int64 {
      let word = range >= 1 << 28 ? e.random64() : UInt64(e.random())
      return Int64(bitPattern: word % range &+ base)
    }
    switch out.dtype {
    case .int64: fill(out, layout: layout, gen) { draw(&$0) }
    case .float32: fill(out, layout: layout, gen) { Float(draw(&$0)) }
    case .float64: fill(out, layout: layout, gen) { Double(draw(&$0)) }
    case .bool: fill(out, layout: layout, gen) { draw(&$0) != 0 }
    }
  }

  /// PyTorch's `randperm_cpu`.
  static func permutation(_ n: Int, _ gen: Generator) -> [Int64] {
    var r = [Int64](repeating: 0, count: n)
    r.withUnsafeMutableBufferPointer { p in
      gen.withEngine { e in
        if n < Int(UInt32.max / 20) {
          for i in 0..<n { p[i] = Int64(i) }
          var i = 0
          while i < n - 1 {
            let z = Int(UInt64(e.random()) % UInt64(n - i))
            p.swapAt(i, z + i)
            i += 1
          }
        } else {
          for i in 0..<n {
            let z = Int(e.random64() % UInt64(i + 1))
            p[i] = p[z]
            p[z] = Int64(i)
          }
        }
      }
    }
    return r
  }

  // MARK: bernoulli

  /// `bernoulli_(p)` with PyTorch's default kernel: one double uniform per element, `u < p`.
  static func bernoulli(_ out: Tensor, layout: Tensor, p: Double, _ gen: Generator) {
    switch out.dtype {
    case .float32: fill(out, layout: layout, gen) { $0.unitDouble() < p ? Float(1) : 0 }
    case .float64: fill(out, layout: layout, gen) { $0.unitDouble() < p ? Double(1) : 0 }
    case .int64: fill(out, layout: layout, gen) { $0.unitDouble() < p ? Int64(1) : 0 }
    case .bool: fill(out, layout: layout, gen) { $0.unitDouble() < p }
    }
  }

  /// `bernoulli(input)`: float32 probabilities use a float uniform, float64 a double uniform.
  static func bernoulli(_ out: Tensor, probabilities probs: Tensor, _ gen: Generator) {
    // PyTorch writes a fresh contiguous result, so it draws in row-major order, reading each
    // probability at the same logical position.
    let n = out.count
    var probOffsets = [Int](repeating: 0, count: n)
    var k = 0
    forEachOffset(probs, layout: out) { off in
      probOffsets[k] = off
      k += 1
    }
    switch out.dtype {
    case .float32:
      let src = probs.basePointer(Float.self)
      let dst = out.basePointer(Float.self)
      gen.withEngine { e in
        for i in 0..<n {
          let pv = src[probOffsets[i]]
          precondition(pv >= 0 && pv <= 1, "bernoulli: all probabilities must be in [0, 1]")
          dst[i] = e.unitFloat() < pv ? 1 : 0
        }
      }
    case .float64:
      let src = probs.basePointer(Double.self)
      let dst = out.basePointer(Double.self)
      gen.withEngine { e in
        for i in 0..<n {
          let pv = src[probOffsets[i]]
          precondition(pv >= 0 && pv <= 1, "bernoulli: all probabilities must be in [0, 1]")
          dst[i] = e.unitDouble() < pv ? 1 : 0
        }
      }
    case .int64, .bool:
      preconditionFailure("bernoulli: expected a floating-point tensor of probabilities")
    }
  }
}

extension DType {
  /// PyTorch's scalar type name (`Float`, `Double`, `Long`, `Bool`), used in its error messages.
  var torchName: String {
    switch self {
    case .bool: return "Bool"
    case .int64: return "Long"
    case .float32: return "Float"
    case .float64: return "Double"
    }
  }
}
