import Testing

@testable import Ember

/// Deterministic inputs shared with the PyTorch script that produced the golden values:
/// element i is ((7 i + 3 seed) mod 11 - 5) / 4, so every product below is exact in float32 too.
private func vals(_ shape: [Int], seed: Int, dtype: DType = .float64) -> Tensor {
  let n = shape.reduce(1, *)
  let v = (0..<n).map { Double(($0 * 7 + seed * 3) % 11 - 5) / 4 }
  return Tensor(shape: shape, scalars: v).to(dtype)
}

/// Uniform values in [-1, 1) from a fixed LCG.
private func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64, dtype: DType) -> Tensor {
  var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
  let v: [Double] = (0..<(rows * cols)).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Double(state >> 11) / Double(1 << 53) * 2 - 1
  }
  return Tensor(shape: [rows, cols], scalars: v).to(dtype)
}

/// The reference product, a triple loop in Double.
private func naiveProduct(_ a: Tensor, _ b: Tensor) -> [Double] {
  let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
  let x = a.toArray()
  let y = b.toArray()
  var out = [Double](repeating: 0, count: m * n)
  for i in 0..<m {
    for j in 0..<n {
      var s = 0.0
      for p in 0..<k { s += x[i * k + p] * y[p * n + j] }
      out[i * n + j] = s
    }
  }
  return out
}

@Suite struct LinearAlgebraTests {
  // MARK: shapes and values against PyTorch

  struct Case: Sendable, CustomStringConvertible {
    let a: [Int]
    let b: [Int]
    let out: [Int]
    let gradFn: String
    let values: [Double]
    let gradA: [Double]
    let gradB: [Double]
    var description: String { "\(a) @ \(b)" }
  }

  static let cases: [Case] = [
    Case(
      a: [3], b: [3], out: [], gradFn: "DotBackward0", values: [-0.8125],
      gradA: [0.25, -0.75, 1.0], gradB: [-0.5, 1.25, 0.25]),
    Case(
      a: [2, 3], b: [3], out: [2], gradFn: "MvBackward0", values: [-0.8125, -0.9375],
      gradA: [0.25, -0.75, 1.0, 0.25, -0.75, 1.0], gradB: [-1.25, 2.25, 0.25]),
    Case(
      a: [3], b: [3, 2], out: [2], gradFn: "SqueezeBackward4", values: [0.875, 0.5625],
      gradA: [-0.5, 1.0, -0.25], gradB: [-0.5, -0.5, 1.25, 1.25, 0.25, 0.25]),
    Case(
      a: [2, 3], b: [3, 4], out: [2, 4], gradFn: "MmBackward0",
      values: [-1.25, 1.1875, -0.5, -1.5, -1.1875, 1.3125, -1.0, -1.25],
      gradA: [0.5, -1.75, 1.5, 0.5, -1.75, 1.5],
      gradB: [-1.25, -1.25, -1.25, -1.25, 2.25, 2.25, 2.25, 2.25, 0.25, 0.25, 0.25, 0.25]),
    Case(
      a: [2, 2, 3], b: [3, 2], out: [2, 2, 2], gradFn: "UnsafeViewBackward0",
      values: [0.875, 0.5625, 0.8125, 0.5625, 0.75, 0.5625, 0.6875, 0.5625],
      gradA: [-0.5, 1.0, -0.25, -0.5, 1.0, -0.25, -0.5, 1.0, -0.25, -0.5, 1.0, -0.25],
      gradB: [-3.5, -3.5, 3.5, 3.5, -0.5, -0.5]),
    Case(
      a: [2, 2, 3], b: [3], out: [2, 2], gradFn: "UnsafeViewBackward0",
      values: [-0.8125, -0.9375, -1.0625, -1.1875],
      gradA: [0.25, -0.75, 1.0, 0.25, -0.75, 1.0, 0.25, -0.75, 1.0, 0.25, -0.75, 1.0],
      gradB: [-3.5, 3.5, -0.5]),
    Case(
      a: [3], b: [2, 3, 2], out: [2, 2], gradFn: "UnsafeViewBackward0",
      values: [0.875, 0.5625, 1.0625, 0.0625], gradA: [-2.0, 1.0, 1.25],
      gradB: [-0.5, -0.5, 1.25, 1.25, 0.25, 0.25, -0.5, -0.5, 1.25, 1.25, 0.25, 0.25]),
    Case(
      a: [2, 3], b: [2, 3, 2], out: [2, 2, 2], gradFn: "CloneBackward0",
      values: [0.875, 0.5625, 0.8125, 0.5625, 1.0625, 0.0625, 0.6875, 0.4375],
      gradA: [-2.0, 1.0, 1.25, -2.0, 1.0, 1.25],
      gradB: [-1.25, -1.25, 2.25, 2.25, 0.25, 0.25, -1.25, -1.25, 2.25, 2.25, 0.25, 0.25]),
    Case(
      a: [2, 2, 3], b: [2, 3, 2], out: [2, 2, 2], gradFn: "UnsafeViewBackward0",
      values: [0.875, 0.5625, 0.8125, 0.5625, 0.3125, 0.8125, -0.0625, 1.1875],
      gradA: [-0.5, 1.0, -0.25, -0.5, 1.0, -0.25, -1.5, 0.0, 1.5, -1.5, 0.0, 1.5],
      gradB: [-1.25, -1.25, 2.25, 2.25, 0.25, 0.25, -2.25, -2.25, 1.25, 1.25, -0.75, -0.75]),
    Case(
      a: [1, 3, 4], b: [2, 4, 2], out: [2, 3, 2], gradFn: "CloneBackward0",
      values: [
        1.0625, 1.5, 1.0625, -2.4375, -1.6875, 1.1875, 1.125, 1.5625, 1.25, -2.25, -2.0625, 0.8125,
      ],
      gradA: [-0.5, 2.5, 0.0, -2.5, -0.5, 2.5, 0.0, -2.5, -0.5, 2.5, 0.0, -2.5],
      gradB: [
        0.25, 0.25, 0.0, 0.0, -0.25, -0.25, -0.5, -0.5, 0.25, 0.25, 0.0, 0.0, -0.25, -0.25, -0.5,
        -0.5,
      ]),
    Case(
      a: [2, 1, 2, 3], b: [3, 3, 2], out: [2, 3, 2, 2], gradFn: "UnsafeViewBackward0",
      values: [
        0.875, 0.5625, 0.8125, 0.5625, 1.0625, 0.0625, 0.6875, 0.4375, 0.5625, -1.8125, 0.5625,
        -1.75, 0.75, 0.5625, 0.6875, 0.5625, 0.3125, 0.8125, -0.0625, 1.1875, 0.5625, -1.6875,
        0.5625, -1.625,
      ],
      gradA: [-1.75, 0.0, 1.75, -1.75, 0.0, 1.75, -1.75, 0.0, 1.75, -1.75, 0.0, 1.75],
      gradB: [
        -3.5, -3.5, 3.5, 3.5, -0.5, -0.5, -3.5, -3.5, 3.5, 3.5, -0.5, -0.5, -3.5, -3.5, 3.5, 3.5,
        -0.5, -0.5,
      ]),
    Case(
      a: [2, 3, 2], b: [1, 2, 2], out: [2, 3, 2], gradFn: "UnsafeViewBackward0",
      values: [
        1.125, 0.375, -0.6875, -0.1875, 0.25, -0.75, 0.5, 0.75, -1.3125, 0.1875, -0.375, -0.375,
      ],
      gradA: [-0.5, 1.0, -0.5, 1.0, -0.5, 1.0, -0.5, 1.0, -0.5, 1.0, -0.5, 1.0],
      gradB: [0.0, 0.0, -0.5, -0.5]),
  ]

  @Test(arguments: LinearAlgebraTests.cases)
  func matmulMatchesPyTorch(_ c: Case) throws {
    for dtype in [DType.float32, .float64] {
      let plain = matmul(vals(c.a, seed: 1, dtype: dtype), vals(c.b, seed: 2, dtype: dtype))
      #expect(plain.dtype == dtype)
      expectTensor(plain, shape: c.out, c.values, rtol: 0, atol: 0)
    }
    let a = try vals(c.a, seed: 1).setRequiresGrad()
    let b = try vals(c.b, seed: 2).setRequiresGrad()
    let y = a.matmul(b)
    #expect(y.gradFn?.name == c.gradFn)
    expectTensor(y, shape: c.out, c.values, rtol: 0, atol: 0)
    try y.sum().backward()
    expectTensor(a.grad, shape: c.a, c.gradA, rtol: 0, atol: 1e-12)
    expectTensor(b.grad, shape: c.b, c.gradB, rtol: 0, atol: 1e-12)
  }

  @Test func nonContiguousOperands() {
    // X.t() @ Y.t() with X (3, 2), Y (4, 3)
    let x = vals([3, 2], seed: 1)
    let y = vals([4, 3], seed: 2)
    expectTensor(
      x.t().matmul(y.t()), shape: [2, 4],
      [0.6875, 0.5, 0.3125, 0.8125, 0.875, 0.75, 0.625, -1.5625], rtol: 0, atol: 0)
    // batched, both transposed: Z.transpose(1, 2) @ W.transpose(1, 2)
    let z = vals([2, 4, 3], seed: 3, dtype: .float32)
    let w = vals([2, 2, 4], seed: 4, dtype: .float32)
    expectTensor(
      z.transpose(1, 2).matmul(w.transpose(1, 2)), shape: [2, 3, 2],
      [-0.875, 0.8125, 0.875, -0.6875, -1.5, 1.9375, 0.5, 0.3125, -1.5, -1.5, -0.0625, 0.125],
      rtol: 0, atol: 0)
    // a batch-transposed 3-D operand cannot be folded into one mm/mv, so it goes through bmm
    let zb = vals([2, 4, 3], seed: 3).transpose(0, 1)
    expectTensor(
      zb.matmul(vals([3], seed: 1)), shape: [4, 2],
      [-0.75, -1.0625, -1.0, -1.3125, -0.5625, 1.875, -0.8125, 1.625], rtol: 0, atol: 0)
    expectTensor(
      zb.matmul(vals([3, 2], seed: 2)), shape: [4, 2, 2],
      [
        1.25, -1.5, -1.75, 0.5625, 1.1875, -1.5, -1.8125, 0.5625, -1.625, 0.5625, 0.875, 0.5625,
        -1.6875, 0.5625, 0.8125, 0.5625,
      ], rtol: 0, atol: 0)
    // strided slices (column stride 2) through mv and through vector @ matrix
    let a = vals([3, 6], seed: 5).slice(1, step: 2)
    let v = vals([6], seed: 6).slice(0, step: 2)
    expectTensor(a.mv(v), shape: [3], [-0.4375, -0.9375, -1.4375], rtol: 0, atol: 0)
    expectTensor(v.matmul(a.t()), shape: [3], [-0.4375, -0.9375, -1.4375], rtol: 0, atol: 0)
  }

  @Test func primitivesMatchPyTorch() {
    let ai = Tensor.arange(6).reshape(2, 3)
    let bi = Tensor.arange(12).reshape(3, 4) - 5
    let prod = ai.mm(bi)
    #expect(prod.dtype == .int64)
    expectTensor(prod, shape: [2, 4], [5, 8, 11, 14, -4, 8, 20, 32], rtol: 0, atol: 0)
    expectTensor(
      vals([2, 1, 3], seed: 1).bmm(vals([2, 3, 1], seed: 2)), shape: [2, 1, 1], [-0.8125, -1.0],
      rtol: 0, atol: 0)
    let o = vals([2], seed: 1, dtype: .float32).outer(vals([3], seed: 2, dtype: .float32))
    expectTensor(o, shape: [2, 3], [-0.125, 0.375, -0.5, 0.3125, -0.9375, 1.25], rtol: 0, atol: 0)
    #expect(o.dtype == .float32)
    expectTensor(vals([3], seed: 1).dot(vals([3], seed: 2)), shape: [], [-0.8125], rtol: 0, atol: 0)
  }

  @Test func emptyAndZeroInnerDimensions() {
    // K == 0 gives zeros; M == 0 or N == 0 give empty results (torch: [3, 5, 0] @ [0, 0])
    let z = Tensor.ones([2, 0]).mm(Tensor.ones([0, 3]))
    expectTensor(z, shape: [2, 3], [0, 0, 0, 0, 0, 0], rtol: 0, atol: 0)
    #expect(Tensor.ones([3, 5, 0]).matmul(Tensor.ones([0, 0])).shape == [3, 5, 0])
    #expect(Tensor.ones([0, 4]).mm(Tensor.ones([4, 2])).shape == [0, 2])
    expectTensor(Tensor.ones([0]).dot(Tensor.ones([0])), shape: [], [0], rtol: 0, atol: 0)
  }

  // MARK: gradients

  @Test func gradcheckMatrixProducts() throws {
    let a = leaf64([3, 4], seed: 1)
    let b = leaf64([4, 2], seed: 2)
    #expect(try gradcheck({ $0[0].mm($0[1]) }, inputs: [a, b]))
    #expect(try gradgradcheck({ $0[0].matmul($0[1]) }, inputs: [a, b]))
    // transposed (non-contiguous) operands
    #expect(
      try gradgradcheck(
        { $0[0].t().matmul($0[1].t()) },
        inputs: [leaf64([4, 3], seed: 7), leaf64([2, 4], seed: 8)]))
    let x = leaf64([2, 3, 4], seed: 3)
    let y = leaf64([2, 4, 2], seed: 4)
    #expect(try gradcheck({ $0[0].bmm($0[1]) }, inputs: [x, y]))
    #expect(try gradgradcheck({ $0[0].bmm($0[1]) }, inputs: [x, y]))
    let v = leaf64([4], seed: 5)
    let w = leaf64([4], seed: 6)
    #expect(try gradcheck({ $0[0].mv($0[1]) }, inputs: [a, v]))
    #expect(try gradgradcheck({ $0[0].mv($0[1]) }, inputs: [a, v]))
    #expect(try gradcheck({ $0[0].dot($0[1]) }, inputs: [v, w]))
    #expect(try gradgradcheck({ $0[0].dot($0[1]) }, inputs: [v, w]))
    #expect(try gradcheck({ $0[0].outer($0[1]) }, inputs: [v, leaf64([3], seed: 9)]))
  }

  @Test func gradcheckMatmulBroadcasting() throws {
    let shapes: [([Int], [Int])] = [
      ([3], [3]), ([3], [3, 2]), ([2, 3], [3]), ([2, 2, 3], [3, 2]), ([2, 2, 3], [3]),
      ([3], [2, 3, 2]), ([2, 3], [2, 3, 2]), ([1, 3, 4], [2, 4, 2]), ([2, 1, 2, 3], [3, 3, 2]),
      ([2, 3, 2], [1, 2, 2]),
    ]
    for (i, (sa, sb)) in shapes.enumerated() {
      let a = leaf64(sa, seed: 10 + i)
      let b = leaf64(sb, seed: 30 + i)
      #expect(try gradcheck({ $0[0].matmul($0[1]) }, inputs: [a, b]), "\(sa) @ \(sb)")
    }
    // second order through the batched (bmm) path
    #expect(
      try gradgradcheck({ $0[0].matmul($0[1]) }, inputs: [leaf64([1, 2, 3]), leaf64([2, 3, 2])]))
  }

  @Test func doubleBackwardMatchesPyTorch() throws {
    let a = try vals([2, 3], seed: 1).setRequiresGrad()
    let b = try vals([3, 4], seed: 2).setRequiresGrad()
    let y = a.matmul(b)
    let g = try grad(of: [(y * y).sum()], withRespectTo: [a, b], createGraph: true)
    let gg = try grad(of: [g[0]!.sum() + g[1]!.sum()], withRespectTo: [a, b])
    expectTensor(gg[0], shape: [2, 3], [1.5, -6.375, 3.625, 0.625, -3.875, 1.25], atol: 1e-12)
    expectTensor(
      gg[1], shape: [3, 4],
      [-5.625, 4.875, -9.375, -4.375, -3.0, 5.75, 9.0, -7.0, -4.5, 5.25, -1.5, -5.5], atol: 1e-12)
  }

  // MARK: backends against a naive triple loop

  static let sizes: [(Int, Int, Int)] = [
    (1, 1, 1), (7, 13, 5), (65, 33, 129), (1, 40, 17), (40, 1, 17), (13, 64, 1), (12, 32, 384),
    (37, 70, 400), (130, 97, 3),
  ]

  /// Runs `check` for every (transposeA, transposeB) layout of each size and both float dtypes.
  private func forEachProblem(_ check: (Tensor, Tensor, [Double], String) -> Void) {
    for (index, (m, n, k)) in Self.sizes.enumerated() {
      for dtype in [DType.float32, .float64] {
        let a = randomMatrix(m, k, seed: UInt64(2 * index + 1), dtype: dtype)
        let b = randomMatrix(k, n, seed: UInt64(2 * index + 2), dtype: dtype)
        let expected = naiveProduct(a, b)
        let at = a.t().contiguous().t()  // same values, column-major
        let bt = b.t().contiguous().t()
        for (x, y, layout) in [(a, b, "NN"), (at, b, "TN"), (a, bt, "NT"), (at, bt, "TT")] {
          check(x, y, expected, "\(m)x\(n)x\(k) \(dtype) \(layout)")
        }
      }
    }
  }

  private func expectProduct(
    _ out: Tensor, _ expected: [Double], k: Int, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let tol = out.dtype == .float32 ? 2e-6 * Double(k) + 1e-6 : 1e-12 * Double(k) + 1e-14
    expectClose(out.toArray(), expected, rtol: 0, atol: tol, label, sourceLocation: sourceLocation)
  }

  func expectNativeKernelMatchesNaiveLoop(_ isa: Kernel.GemmISA) {
    #expect(isa.resolved == isa)
    forEachProblem { a, b, expected, label in
      let out = Kernel.batchedMatmul(
        a.reshape([1] + a.shape), b.reshape([1] + b.shape), backend: .native, isa: isa)
      expectProduct(out, expected, k: a.shape[1], "\(label) native \(isa)")
    }
  }

  // one test per kernel family, so a CPU without AVX2 or AVX-512 shows the test as skipped
  @Test func baselineKernelMatchesNaiveLoop() { expectNativeKernelMatchesNaiveLoop(.baseline) }

  @Test(.enabled(if: Kernel.GemmISA.avx2.resolved == .avx2, "this CPU has no AVX2/FMA"))
  func avx2KernelMatchesNaiveLoop() { expectNativeKernelMatchesNaiveLoop(.avx2) }

  @Test(.enabled(if: Kernel.GemmISA.avx512.resolved == .avx512, "this CPU has no AVX-512"))
  func avx512KernelMatchesNaiveLoop() { expectNativeKernelMatchesNaiveLoop(.avx512) }

  @Test(.enabled(if: MatmulBackend.blasLibraryName != nil, "no BLAS library found"))
  func blasMatchesNaiveLoop() {
    let name = MatmulBackend.blasLibraryName ?? "BLAS"
    forEachProblem { a, b, expected, label in
      let out = Kernel.batchedMatmul(
        a.reshape([1] + a.shape), b.reshape([1] + b.shape), backend: .blas)
      expectProduct(out, expected, k: a.shape[1], "\(label) \(name)")
    }
  }

  @Test func backendOverrideAndBatchedBroadcast() {
    // expanded (stride-0) batch operands and both backends through the public op
    let a = randomMatrix(5, 9, seed: 7, dtype: .float32).reshape(1, 5, 9).expand(3, 5, 9)
    let b = randomMatrix(27, 4, seed: 8, dtype: .float32).reshape(3, 9, 4)
    var expected: [Double] = []
    for e in 0..<3 { expected += naiveProduct(a.select(0, e), b.select(0, e)) }
    for backend in MatmulBackend.allCases {
      BLAS.$override.withValue(backend) {
        let active = Ember.matmulBackend
        #expect(
          active == (backend == .blas && MatmulBackend.blasLibraryName == nil ? .native : backend))
        expectProduct(a.bmm(b), expected, k: 9, "bmm \(active)")
      }
    }
  }

  @Test func rowSplitsAreBitwiseIdentical() {
    // the native kernel gives each element the same arithmetic however C is split into blocks,
    // which is what makes multithreaded results independent of the thread count
    let a = randomMatrix(150, 300, seed: 11, dtype: .float32)
    let b = randomMatrix(300, 70, seed: 12, dtype: .float32)
    BLAS.$override.withValue(.native) {
      let whole = a.mm(b).toArray()
      let top = a.narrow(0, start: 0, length: 77).mm(b).toArray()
      let bottom = a.narrow(0, start: 77, length: 73).mm(b).toArray()
      let mismatches = zip(whole, top + bottom).filter { $0 != $1 }.count
      #expect(mismatches == 0)
    }
  }

  // MARK: misuse

  @Test func mmShapeMismatchStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.ones([2, 3]).mm(Tensor.ones([4, 3]))
    }
    #expect(
      stderrText(result).contains("mm: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x3)"))
  }
}
