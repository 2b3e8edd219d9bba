import Testing

@testable import Ember

/// The C kernels of the convolutions and poolings (Sources/CEmberKernels/conv.c, pool.c, and the
/// relu gradient in strided.c) against the plain Swift loops beside them (`plain: true`; max
/// pooling's is the general window loop, relu's the composed `where`), on
/// random geometries: strides, paddings (some wider than the input), dilations, "same" sizes
/// (the C kernels' contiguous path), sub-ranges of output positions and row strides, float32
/// and float64. Copies and additions in the same order must agree bit for bit (signed zeros and
/// NaNs included); the bias gradient sums in another order and agrees within rounding.
@Suite struct ConvolutionKernelTests {
  /// A fixed LCG.
  struct Rng {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return state >> 11
    }
    mutating func int(_ r: ClosedRange<Int>) -> Int {
      r.lowerBound + Int(next() % UInt64(r.count))
    }
    /// Uniform in [-1, 1), with now and then a signed zero.
    mutating func value() -> Double {
      switch next() % 16 {
      case 0: return -0.0
      case 1: return 0.0
      default: return Double(next()) / Double(1 << 53) * 2 - 1
      }
    }
  }

  /// The same value bit for bit (any NaN matches any NaN).
  static func same<T: FloatScalar>(_ a: T, _ b: T) -> Bool {
    (a.isNaN && b.isNaN) || (a == b && a.sign == b.sign)
  }

  /// A random convolution geometry; every third one "same" sized with stride 1 (the C
  /// kernels' contiguous path), with asymmetric padding.
  static func geometry(_ rng: inout Rng, dense: Bool) -> ConvGeometry {
    var g = ConvGeometry()
    g.kernelHeight = rng.int(1...4)
    g.kernelWidth = rng.int(1...4)
    g.dilationHeight = rng.int(1...2)
    g.dilationWidth = rng.int(1...2)
    g.inHeight = rng.int(1...9)
    g.inWidth = rng.int(1...17)
    func dim(_ k: Int, _ d: Int, _ input: Int) -> (stride: Int, pad: Int, out: Int) {
      let span = d * (k - 1)
      if dense {
        return (1, rng.int(0...span), input)
      }
      let stride = rng.int(1...3)
      let before = rng.int(0...5)
      let after = rng.int(0...3)
      let full = input + before + after - span - 1
      if full < 0 { return (stride, before + span, 1) }  // pad enough for one output
      return (stride, before, full / stride + 1)
    }
    let h = dim(g.kernelHeight, g.dilationHeight, g.inHeight)
    let w = dim(g.kernelWidth, g.dilationWidth, g.inWidth)
    (g.strideHeight, g.padTop, g.outHeight) = h
    (g.strideWidth, g.padLeft, g.outWidth) = w
    return g
  }

  func im2colCase<T: FloatScalar>(_: T.Type, seed: UInt64) {
    var rng = Rng(seed)
    for trial in 0..<150 {
      let g = Self.geometry(&rng, dense: trial % 3 == 0)
      let channels = rng.int(1...3)
      let x = (0..<channels * g.inPlane).map { _ in T(rng.value()) }
      let ohw = g.outPlane
      let (p0, p1) =
        trial % 2 == 0
        ? (0, ohw)
        : {
          let a = rng.int(0...ohw)
          return (a, rng.int(a...ohw))
        }()
      let stride = (p1 - p0) + rng.int(0...3)
      let count = channels * g.kernelArea * stride + 4
      var fast = [T](repeating: 7, count: count)
      var plain = fast
      x.withUnsafeBufferPointer { xp in
        fast.withUnsafeMutableBufferPointer {
          Kernel.im2col(
            xp.baseAddress!, channels: channels, g, $0.baseAddress!, from: p0, to: p1,
            rowStride: stride)
        }
        plain.withUnsafeMutableBufferPointer {
          Kernel.im2col(
            xp.baseAddress!, channels: channels, g, $0.baseAddress!, from: p0, to: p1,
            rowStride: stride, plain: true)
        }
      }
      #expect(zip(fast, plain).allSatisfy { Self.same($0, $1) }, "\(g) \(p0)..<\(p1)")
    }
  }

  @Test func im2colMatchesThePlainLoop() {
    im2colCase(Float.self, seed: 1)
    im2colCase(Double.self, seed: 2)
  }

  func col2imCase<T: FloatScalar>(_: T.Type, seed: UInt64) {
    var rng = Rng(seed)
    for trial in 0..<150 {
      let g = Self.geometry(&rng, dense: trial % 3 != 1)
      let channels = rng.int(1...3)
      let stride = g.outPlane + (trial % 2 == 0 ? 0 : rng.int(1...3))
      let cols = (0..<channels * g.kernelArea * stride).map { _ in T(rng.value()) }
      let x0 = (0..<channels * g.inPlane + 3).map { _ in T(rng.value()) }
      var (fast, plain) = (x0, x0)
      var (cf, cp) = (cols, cols)  // the C kernel may overwrite padding entries of its columns
      cf.withUnsafeMutableBufferPointer { c in
        fast.withUnsafeMutableBufferPointer {
          Kernel.col2im(
            c.baseAddress!, channels: channels, g, $0.baseAddress!, rowStride: stride)
        }
      }
      cp.withUnsafeMutableBufferPointer { c in
        plain.withUnsafeMutableBufferPointer {
          Kernel.col2im(
            c.baseAddress!, channels: channels, g, $0.baseAddress!, rowStride: stride,
            plain: true)
        }
      }
      #expect(zip(fast, plain).allSatisfy { Self.same($0, $1) }, "\(g)")
      #expect(cp == cols)
    }
  }

  @Test func col2imMatchesThePlainLoop() {
    col2imCase(Float.self, seed: 3)
    col2imCase(Double.self, seed: 4)
  }

  func biasGradCase<T: FloatScalar>(_: T.Type, seed: UInt64, tolerance: Double) {
    var rng = Rng(seed)
    for _ in 0..<40 {
      let (batch, channels, plane) = (rng.int(0...5), rng.int(1...9), rng.int(1...70))
      let gy = (0..<batch * channels * plane).map { _ in T(rng.value() * 100) }
      var fast = [T](repeating: 7, count: channels)
      var plain = fast
      gy.withUnsafeBufferPointer { p in
        fast.withUnsafeMutableBufferPointer {
          Kernel.convolutionBiasGrad(
            p.baseAddress!, $0.baseAddress!, batch: batch, channels: channels, plane: plane)
        }
        plain.withUnsafeMutableBufferPointer {
          Kernel.convolutionBiasGrad(
            p.baseAddress!, $0.baseAddress!, batch: batch, channels: channels, plane: plane,
            plain: true)
        }
      }
      for c in 0..<channels {
        var scale = 0.0
        for n in 0..<batch {
          for p in 0..<plane { scale += abs(gy[(n * channels + c) * plane + p].doubleValue) }
        }
        let diff = abs(fast[c].doubleValue - plain[c].doubleValue)
        #expect(diff <= tolerance * abs(plain[c].doubleValue) + 1e-13 * scale)
      }
    }
  }

  @Test func biasGradientMatchesThePlainLoopWithinRounding() {
    biasGradCase(Float.self, seed: 5, tolerance: 1.2e-7)  // one float rounding of equal sums
    biasGradCase(Double.self, seed: 6, tolerance: 0)  // the sums' rounding only
  }

  func maxPoolCase<T: FloatScalar>(_: T.Type, seed: UInt64) {
    var rng = Rng(seed)
    for trial in 0..<120 {
      var g = PoolGeometry()
      (g.kernelHeight, g.kernelWidth, g.strideHeight, g.strideWidth) = (2, 2, 2, 2)
      g.planes = rng.int(1...6)
      g.inHeight = rng.int(2...9)
      g.inWidth = rng.int(2...45)
      // mostly the floor sizes; sometimes fewer outputs than fit
      g.outHeight = trial % 4 == 3 ? rng.int(1...g.inHeight / 2) : g.inHeight / 2
      g.outWidth = trial % 4 == 2 ? rng.int(1...g.inWidth / 2) : g.inWidth / 2
      let x: [T] = (0..<g.planes * g.inPlane).map { _ in
        switch rng.next() % 20 {
        case 0: return .nan
        case 1: return -.infinity
        case 2: return .infinity
        default: return T((rng.value() * 4).rounded() / 4)  // many ties
        }
      }
      let n = g.planes * g.outPlane
      // sentinels after the outputs: the kernels write inside them only
      var (yf, yp) = ([T](repeating: 5, count: n + 20), [T](repeating: 5, count: n + 20))
      var (jf, jp) = ([Int64](repeating: -9, count: n + 20), [Int64](repeating: -9, count: n + 20))
      x.withUnsafeBufferPointer { xp in
        yf.withUnsafeMutableBufferPointer { y in
          jf.withUnsafeMutableBufferPointer {
            Kernel.maxPoolForward(xp.baseAddress!, y.baseAddress!, $0.baseAddress!, g)
          }
        }
        yp.withUnsafeMutableBufferPointer { y in
          jp.withUnsafeMutableBufferPointer {
            Kernel.maxPoolForward(xp.baseAddress!, y.baseAddress!, $0.baseAddress!, g, plain: true)
          }
        }
      }
      #expect(zip(yf, yp).allSatisfy { Self.same($0, $1) }, "\(g)")
      #expect(jf == jp, "\(g)")
    }
  }

  @Test func maxPool2x2MatchesThePlainLoop() {
    maxPoolCase(Float.self, seed: 7)
    maxPoolCase(Double.self, seed: 8)
  }

  /// PyTorch's rules in the C kernel itself: NaN wins (the last NaN of a window), ties keep the
  /// first element, -inf windows report their first element.
  @Test(arguments: [DType.float32, .float64])
  func maxPool2x2NaNTiesAndInfinities(dtype: DType) {
    let nan = Double.nan
    let inf = Double.infinity
    // 2 rows of 40 columns: 20 windows per row pair, enough for one full vector and a tail
    var row0 = [Double](repeating: 1, count: 40)
    var row1 = [Double](repeating: 1, count: 40)
    (row0[0], row0[1], row1[0], row1[1]) = (1, nan, nan, 0)  // last NaN: index 40
    (row0[2], row0[3], row1[2], row1[3]) = (2, 2, 2, 2)  // tie: index 2
    (row0[4], row0[5], row1[4], row1[5]) = (-inf, -inf, -inf, -inf)  // index 4
    (row0[6], row0[7], row1[6], row1[7]) = (0, 3, nan, 3)  // NaN: index 46
    (row0[34], row0[35], row1[34], row1[35]) = (-1, 5, 5, nan)  // NaN: index 75
    (row0[36], row0[37], row1[36], row1[37]) = (-0.0, 0.0, 0.0, -1)  // tie at zero: index 36
    let x = Tensor(row0 + row1, dtype: dtype).reshape([1, 1, 2, 40])
    let r = Functional.maxPool2dWithIndices(x, kernelSize: 2)
    let i = r.indices.toArray().map { Int($0) }
    #expect(i[0] == 40 && i[1] == 2 && i[2] == 4 && i[3] == 46 && i[17] == 75 && i[18] == 36)
    let y = r.output.toArray()
    #expect(y[0].isNaN && y[1] == 2 && y[2] == -inf && y[3].isNaN && y[17].isNaN)
    #expect(y[18] == 0 && y[18].sign == .minus)
    #expect(i[5] == 10 && y[5] == 1)
  }

  func maxPoolBackwardCase<T: FloatScalar>(_: T.Type, seed: UInt64) {
    var rng = Rng(seed)
    for _ in 0..<60 {
      let (planes, inPlane, outPlane) = (rng.int(1...5), rng.int(1...60), rng.int(1...40))
      let gy = (0..<planes * outPlane).map { _ in T(rng.value()) }
      // overlapping windows (repeated indices) and windows in the padding (indices past the
      // plane)
      let idx = (0..<planes * outPlane).map { _ in Int64(rng.int(-2...inPlane + 2)) }
      var (fast, plain) = ([T](repeating: 3, count: planes * inPlane + 4), [T]())
      plain = fast
      gy.withUnsafeBufferPointer { g in
        idx.withUnsafeBufferPointer { i in
          fast.withUnsafeMutableBufferPointer {
            Kernel.maxPoolBackward(
              g.baseAddress!, i.baseAddress!, $0.baseAddress!, planes: planes, inPlane: inPlane,
              outPlane: outPlane)
          }
          plain.withUnsafeMutableBufferPointer {
            Kernel.maxPoolBackward(
              g.baseAddress!, i.baseAddress!, $0.baseAddress!, planes: planes, inPlane: inPlane,
              outPlane: outPlane, plain: true)
          }
        }
      }
      #expect(zip(fast, plain).allSatisfy { Self.same($0, $1) })
    }
  }

  @Test func maxPoolBackwardMatchesThePlainLoop() {
    maxPoolBackwardCase(Float.self, seed: 9)
    maxPoolBackwardCase(Double.self, seed: 10)
  }

  /// The fused pass against the composed `where(y > 0, grad, 0)` it stands for (NaN in either
  /// operand, signed zeros kept).
  @Test func reluBackwardMatchesTheComposedWhere() {
    var rng = Rng(11)
    for count in [1, 7, 8, 31, 32, 33, 100, 1000, 70_001] {
      let y = (0..<count).map { _ in
        rng.next() % 13 == 0 ? Float.nan : Float(rng.value())
      }
      let g = (0..<count).map { _ in rng.next() % 17 == 0 ? Float.nan : Float(rng.value()) }
      let (gt, yt) = (Tensor(shape: [count], scalars: g), Tensor(shape: [count], scalars: y))
      let fast = Tensor.reluBackwardFloat(gt, yt)!.scalars(as: Float.self)
      let plain = Tensor.where(yt .> 0, gt, gt.zeroScalar).scalars(as: Float.self)
      #expect(zip(fast, plain).allSatisfy { Self.same($0, $1) })
    }
  }

  /// Whole convolutions through the fast paths (forward, input, weight and bias gradients) in
  /// float32 against float64 on random geometries, and the max pooling's gradient.
  @Test func convolutionGradientsAgreeWithFloat64() throws {
    var rng = Rng(12)
    for trial in 0..<12 {
      let dense = trial % 2 == 0
      let (n, cin, cout) = (rng.int(1...5), rng.int(1...4), rng.int(1...5))
      let (k, d) = (rng.int(1...3) * 2 - 1, rng.int(1...2))
      let (s, p) = dense ? (1, d * (k - 1) / 2) : (rng.int(1...3), rng.int(0...3))
      let (h, w) = (rng.int(k * d...12), rng.int(k * d...16))
      let x64 = try Tensor.randn([n, cin, h, w], dtype: .float64, generator: Generator(seed: 1))
        .setRequiresGrad()
      let w64 = try Tensor.randn([cout, cin, k, k], dtype: .float64, generator: Generator(seed: 2))
        .setRequiresGrad()
      let b64 = try Tensor.randn([cout], dtype: .float64, generator: Generator(seed: 3))
        .setRequiresGrad()
      let x32 = try x64.detach().to(.float32).setRequiresGrad()
      let w32 = try w64.detach().to(.float32).setRequiresGrad()
      let b32 = try b64.detach().to(.float32).setRequiresGrad()
      func run(_ x: Tensor, _ w: Tensor, _ b: Tensor) throws -> [[Double]] {
        let y = Functional.conv2d(
          x, w, bias: b, stride: SpatialSize(s), padding: .explicit(SpatialSize(p)),
          dilation: SpatialSize(d))
        let up = Tensor.ones(like: y) * 1.5
        let gs = try grad(of: [y], withRespectTo: [x, w, b], gradOutputs: [up])
        return [y.to(.float64).toArray()] + gs.map { $0!.to(.float64).toArray() }
      }
      let (r32, r64) = (try run(x32, w32, b32), try run(x64, w64, b64))
      for (a, e) in zip(r32, r64) { expectClose(a, e, rtol: 1e-4, atol: 1e-4, "trial \(trial)") }
    }
    let x = try Tensor.randn([3, 4, 10, 14], generator: Generator(seed: 4)).setRequiresGrad()
    let x64 = try x.detach().to(.float64).setRequiresGrad()
    let g32 = try grad(of: Functional.maxPool2d(x, kernelSize: 2).sum(), withRespectTo: x)
    let g64 = try grad(of: Functional.maxPool2d(x64, kernelSize: 2).sum(), withRespectTo: x64)
    #expect(g32.to(.float64).toArray() == g64.toArray())
  }
}
