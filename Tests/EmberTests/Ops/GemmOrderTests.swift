import CEmberKernels
import Synchronization
import Testing

@testable import Ember

/// Uniform float32 values in [-1, 1) from a fixed LCG.
private func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
  var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(Double(state >> 11) / Double(1 << 53) * 2 - 1)
  }
}

/// The float32 summation order the native GEMM promises (MKL's on AVX-512, see gemm.c): K in
/// blocks of `block`, each output's block one sequential chain of fused multiply-adds from 0,
/// the first block added to `c` (when given) and the later blocks added in order.
private func blockedProduct(
  _ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, block: Int, c: [Float]? = nil
) -> [Float] {
  var out = [Float](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var total: Float = 0
      var p0 = 0
      while p0 < k {
        var acc: Float = 0
        for p in p0..<Swift.min(k, p0 + block) {
          acc = acc.addingProduct(a[i * k + p], b[p * n + j])
        }
        if p0 == 0 {
          total = c.map { acc + $0[i * n + j] } ?? acc
        } else {
          total += acc
        }
        p0 += block
      }
      out[i * n + j] = total
    }
  }
  return out
}

/// Bit-for-bit checks of the native GEMM's float32 order over K, for every operand layout (the
/// packing routines differ per layout: a row-major A and a transposed B, a Linear weight's
/// `.t()`, are read along K), and of its independence from how C is split across threads.
@Suite struct GemmOrderTests {
  // M covers full and ragged 12-row tiles, N full and ragged 32-column tiles, K three 192-blocks
  // (the last partial and not a multiple of 8) or two 256-blocks
  // (N = 64 with B row-major, the NN and TN layouts, takes the unpacked AVX-512 path)
  static let shapes: [(Int, Int, Int)] = [
    (30, 70, 397), (13, 33, 200), (128, 10, 256), (21, 64, 397),
  ]

  private func expectBlockedOrder(_ isa: Kernel.GemmISA, block: Int) {
    #expect(isa.resolved == isa)
    for (index, (m, n, k)) in Self.shapes.enumerated() {
      let av = randomFloats(m * k, seed: UInt64(2 * index + 1))
      let bv = randomFloats(k * n, seed: UInt64(2 * index + 2))
      let expected = blockedProduct(av, bv, m: m, n: n, k: k, block: block)
      let a = Tensor(shape: [m, k], scalars: av.map(Double.init)).to(.float32)
      let b = Tensor(shape: [k, n], scalars: bv.map(Double.init)).to(.float32)
      let at = a.t().contiguous().t()
      let bt = b.t().contiguous().t()
      for (x, y, layout) in [(a, b, "NN"), (at, b, "TN"), (a, bt, "NT"), (at, bt, "TT")] {
        let out = Kernel.batchedMatmul(
          x.reshape([1, m, k]), y.reshape([1, k, n]), backend: .native, isa: isa)
        let got = out.scalars(as: Float.self)
        let mismatches = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(mismatches == 0, "\(m)x\(n)x\(k) \(layout) \(isa): \(mismatches) differ")
        // each register tile on its own (AVX-512 has two, picked per product)
        for tile in [EMBER_GEMM_TILE_STANDARD, EMBER_GEMM_TILE_WIDE] {
          let got = tiledProduct(x, y, isa: isa, tile: Int32(tile))
          let mismatches = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
          #expect(mismatches == 0, "\(m)x\(n)x\(k) \(layout) \(isa) tile \(tile): \(mismatches)")
        }
      }
    }
  }

  /// x @ y (2-D float32) in one call of the C GEMM on a given register tile.
  private func tiledProduct(_ x: Tensor, _ y: Tensor, isa: Kernel.GemmISA, tile: Int32) -> [Float] {
    let (m, k, n) = (x.shape[0], x.shape[1], y.shape[1])
    var c = [Float](repeating: .nan, count: m * n)
    c.withUnsafeMutableBytes { pc in
      emberSwiftGemm(
        isa.rawValue, tile, 0, Int64(m), Int64(n), Int64(k),
        UnsafeRawPointer(x.basePointer(Float.self)), Int64(x.strides[0]), Int64(x.strides[1]),
        UnsafeRawPointer(y.basePointer(Float.self)), Int64(y.strides[0]), Int64(y.strides[1]),
        pc.baseAddress!, Int64(n), 1)
    }
    return c
  }

  /// Narrow products with B row-major run unpacked on AVX-512 (`ember_sgemm_unpacked`, B read in
  /// place): the same order as the blocked kernels, onto a C (beta 1) or not, threaded or not.
  @Test(.enabled(if: Kernel.GemmISA.auto.resolved == .avx512, "the best family is not AVX-512"))
  func unpackedNarrowProductsKeepTheOrder() {
    for (m, n, k) in [(50, 64, 400), (1600, 32, 200), (9, 128, 1000)] {
      let av = randomFloats(m * k, seed: 31)
      let bv = randomFloats(k * n, seed: 32)
      let cv = randomFloats(m * n, seed: 33)
      for beta in [0, 1] as [Float] {
        let expected = blockedProduct(av, bv, m: m, n: n, k: k, block: 192, c: beta == 1 ? cv : nil)
        for threaded in [false, true] {
          var c = beta == 1 ? cv : [Float](repeating: .nan, count: m * n)
          av.withUnsafeBufferPointer { pa in
            bv.withUnsafeBufferPointer { pb in
              c.withUnsafeMutableBufferPointer { pc in
                Kernel.gemm(
                  m: m, n: n, k: k, pa.baseAddress!, k, 1, pb.baseAddress!, n, 1, pc.baseAddress!,
                  n, beta: beta, threaded: threaded)
              }
            }
          }
          let mismatches = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
          #expect(
            mismatches == 0, "\(m)x\(n)x\(k) beta \(beta) threaded \(threaded): \(mismatches)")
        }
      }
    }
  }

  /// The AVX-512 float32 products run on the wide 8 x 48 tile where it covers M x N about as
  /// fully as the 12 x 32 one (M = 64: 64 of 72 rows of the standard tile), else the standard.
  @Test(.enabled(if: Kernel.GemmISA.avx512.resolved == .avx512, "this CPU has no AVX-512"))
  func avx512PicksTheTileThatCoversC() {
    let isa = Kernel.GemmISA.avx512.rawValue
    func pick(_ m: Int, _ n: Int, double: Bool = false) -> Int {
      Int(ember_gemm_pick_tile(isa, double ? 1 : 0, Int64(m), Int64(n)))
    }
    let (standard, wide) = (Int(EMBER_GEMM_TILE_STANDARD), Int(EMBER_GEMM_TILE_WIDE))
    #expect(pick(64, 392) == wide)  // the CNN's second convolution
    #expect(pick(64, 288) == wide)  // its weight gradient
    #expect(pick(1024, 1024) == wide)
    #expect(pick(1024, 256) == standard)  // N a multiple of 32, not of 48
    #expect(pick(288, 392) == standard)
    #expect(pick(1600, 64) == standard)
    #expect(pick(64, 392, double: true) == standard)  // float64 has one tile
    #expect(emberSwiftGemmTileRows(isa, 0, Int32(wide)) == 8)
    #expect(emberSwiftGemmTileCols(isa, 0, Int32(wide)) == 48)
    #expect(emberSwiftGemmTileRows(isa, 0, Int32(standard)) == 12)
  }

  @Test(.enabled(if: Kernel.GemmISA.avx512.resolved == .avx512, "this CPU has no AVX-512"))
  func avx512SumsKInBlocksOf192() { expectBlockedOrder(.avx512, block: 192) }

  @Test(.enabled(if: Kernel.GemmISA.avx2.resolved == .avx2, "this CPU has no AVX2/FMA"))
  func avx2SumsKInBlocksOf256() { expectBlockedOrder(.avx2, block: 256) }

  /// `addmm`'s path (Kernel.gemm with beta 1 onto the bias): the bias joins the first block's
  /// sum, then the later blocks are added, threaded or not.
  @Test(.enabled(if: Kernel.GemmISA.auto.resolved == .avx512, "the best family is not AVX-512"))
  func gemmOntoBiasKeepsTheOrderThreadedOrNot() {
    let (m, n, k) = (64, 300, 200)
    let av = randomFloats(m * k, seed: 21)
    let bv = randomFloats(k * n, seed: 22)
    let cv = randomFloats(m * n, seed: 23)
    let expected = blockedProduct(av, bv, m: m, n: n, k: k, block: 192, c: cv)
    // B stored transposed (n x k, read with strides (1, k)), as a Linear weight's .t()
    var bT = [Float](repeating: 0, count: k * n)
    for p in 0..<k { for j in 0..<n { bT[j * k + p] = bv[p * n + j] } }
    for threaded in [false, true] {
      var c = cv
      av.withUnsafeBufferPointer { pa in
        bT.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            Kernel.gemm(
              m: m, n: n, k: k, pa.baseAddress!, k, 1, pb.baseAddress!, 1, k, pc.baseAddress!, n,
              beta: 1, threaded: threaded)
          }
        }
      }
      let mismatches = zip(c, expected).filter { $0.bitPattern != $1.bitPattern }.count
      #expect(mismatches == 0, "threaded \(threaded): \(mismatches) differ")
    }
  }

  /// The thread split covers C exactly once, in blocks on multiples of one register tile (all
  /// but the last), along the larger dimension, one per thread; the CNN's first Linear (64 x
  /// 128) splits on the standard tile (the wide one would give the threads 48 and 80 columns),
  /// a 1024^2 product on the wide one.
  @Test(arguments: [
    (128, 512, 784), (512, 128, 64), (1024, 1024, 1024), (13, 40, 2000), (5, 7, 3),
    (64, 128, 3136),
  ])
  func splitCoversCOnTileMultiples(m: Int, n: Int, k: Int) {
    var covered = [Int](repeating: 0, count: m * n)
    // the blocks run on several threads at once: recorded under a lock (a plain append from
    // two threads lost a block now and then)
    let recorded = Mutex<[(Int, Int, Int, Int)]>([])
    let tiles = Mutex<Set<Int32>>([])
    Kernel.splitGemm(m: m, n: n, k: k, isa: 0, isDouble: 0, threaded: true) {
      tile, i0, i1, j0, j1 in
      recorded.withLock { $0.append((i0, i1, j0, j1)) }
      tiles.withLock { _ = $0.insert(tile) }
    }
    let blocks = recorded.withLock { $0 }
    // every block on one tile
    let used = tiles.withLock { $0 }
    #expect(used.count == 1)
    let tile = used.first ?? Int32(EMBER_GEMM_TILE_STANDARD)
    let mr = Int(emberSwiftGemmTileRows(0, 0, tile))
    let nr = Int(emberSwiftGemmTileCols(0, 0, tile))
    #expect(blocks.count <= Swift.max(Parallel.threadCount, 1))
    for (i0, i1, j0, j1) in blocks {
      #expect(i0 % mr == 0 && j0 % nr == 0)
      #expect(i1 == m || i1 % mr == 0)
      #expect(j1 == n || j1 % nr == 0)
      if blocks.count > 1 { #expect((i0, i1) == (0, m) || (j0, j1) == (0, n)) }
      for i in i0..<i1 { for j in j0..<j1 { covered[i * n + j] += 1 } }
    }
    #expect(covered.allSatisfy { $0 == 1 })
    if Kernel.GemmISA.auto.resolved == .avx512 && Parallel.threadCount == 2 {
      if (m, n) == (64, 128) { #expect(tile == EMBER_GEMM_TILE_STANDARD) }
      if (m, n) == (1024, 1024) { #expect(tile == EMBER_GEMM_TILE_WIDE) }
    }
  }
}

/// The forward convolution lays the columns of several samples side by side for one GEMM
/// (`Kernel.forwardSampleGroup`); each output must equal the one-sample convolution's bit for
/// bit (the same products in the same order).
@Suite struct ConvolutionSampleGroupTests {
  @Test(arguments: [1, 2])
  func groupedForwardEqualsPerSample(groups: Int) {
    let (batch, cin, cout, h, w) = (9, 4, 6, 10, 9)
    let x = Tensor(
      shape: [batch, cin, h, w],
      scalars: randomFloats(batch * cin * h * w, seed: 31).map(Double.init)
    ).to(.float32)
    let weight = Tensor(
      shape: [cout, cin / groups, 3, 3],
      scalars: randomFloats(cout * cin / groups * 9, seed: 32).map(Double.init)
    ).to(.float32)
    let bias = Tensor(shape: [cout], scalars: randomFloats(cout, seed: 33).map(Double.init))
      .to(.float32)
    var g = ConvGeometry()
    (g.batch, g.inChannels, g.outChannels, g.groups) = (batch, cin, cout, groups)
    (g.inHeight, g.inWidth, g.outHeight, g.outWidth) = (h, w, h, w)
    (g.kernelHeight, g.kernelWidth, g.padTop, g.padLeft) = (3, 3, 1, 1)
    #expect(Kernel.forwardSampleGroup(g, block: g.outPlane) > 1)
    let whole = Functional.conv2d(x, weight, bias: bias, padding: 1, groups: groups)
    let got = whole.scalars(as: Float.self)
    var expected: [Float] = []
    for s in 0..<batch {
      let one = Functional.conv2d(
        x.narrow(0, start: s, length: 1), weight, bias: bias, padding: 1, groups: groups)
      expected += one.scalars(as: Float.self)
    }
    #expect(got.count == expected.count)
    let mismatches = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
    #expect(mismatches == 0)
  }

  /// A weight narrower than its output channels (1 input channel, 3x3: 9 columns against 16
  /// outputs) takes the transposed weight-gradient product; its values match direct loops.
  @Test func narrowWeightGradientMatchesDirectLoops() throws {
    let (batch, cout, h, w) = (10, 16, 7, 6)
    let xv = randomFloats(batch * h * w, seed: 41).map(Double.init)
    let gv = randomFloats(batch * cout * h * w, seed: 42).map(Double.init)
    let wv = randomFloats(cout * 9, seed: 43).map(Double.init)
    var expected = [Double](repeating: 0, count: cout * 9)
    for n in 0..<batch {
      for o in 0..<cout {
        for kh in 0..<3 {
          for kw in 0..<3 {
            var s = 0.0
            for oh in 0..<h {
              for ow in 0..<w {
                let (ih, iw) = (oh + kh - 1, ow + kw - 1)
                if ih < 0 || ih >= h || iw < 0 || iw >= w { continue }
                s += gv[((n * cout + o) * h + oh) * w + ow] * xv[(n * h + ih) * w + iw]
              }
            }
            expected[o * 9 + kh * 3 + kw] += s
          }
        }
      }
    }
    for dtype in [DType.float32, .float64] {
      let x = Tensor(shape: [batch, 1, h, w], scalars: xv).to(dtype)
      let weight = try Tensor(shape: [cout, 1, 3, 3], scalars: wv).to(dtype).setRequiresGrad()
      let gy = Tensor(shape: [batch, cout, h, w], scalars: gv).to(dtype)
      try (Functional.conv2d(x, weight, padding: 1) * gy).sum().backward()
      let tol = dtype == .float32 ? 1e-4 : 1e-12
      expectClose(weight.grad!.toArray(), expected, rtol: 0, atol: tol, "\(dtype)")
    }
  }
}
