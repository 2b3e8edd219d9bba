import Ember
import Testing

/// The 2x3x4 input of the golden cases (distinct values, one zero).
private let goldenInput: [[[Double]]] = [
  [[0.5, -1.25, 2.0, 0.75], [1.5, -0.5, 3.25, -2.0], [0.25, 1.0, -1.5, 2.5]],
  [[-0.75, 2.25, 1.25, -1.0], [3.0, 0.0, -0.25, 1.75], [-2.5, 0.625, 1.125, -0.375]],
]

/// One reduction of `goldenInput` checked against PyTorch in float32 and float64 (the float64
/// values are PyTorch's; float32 must agree to float32 precision).
struct ReductionGoldenCase: Sendable, CustomTestStringConvertible {
  let name: String
  let op: @Sendable (Tensor) -> Tensor
  let shape: [Int]
  let expected: [Double]
  /// Result dtype when it is not the input's (int64 indices, bool).
  let resultDType: DType?

  init(
    _ name: String, shape: [Int], _ expected: [Double], dtype: DType? = nil,
    _ op: @escaping @Sendable (Tensor) -> Tensor
  ) {
    self.name = name
    self.op = op
    self.shape = shape
    self.expected = expected
    self.resultDType = dtype
  }

  var testDescription: String { name }

  static let all: [ReductionGoldenCase] = [
    .init("sum", shape: [], [11.625]) { $0.sum() },
    .init("mean(dim: [0, 2])", shape: [3], [0.46875, 0.84375, 0.140625]) {
      $0.mean(dim: [0, 2])
    },
    .init("sum(dim: [0, 1])", shape: [4], [2, 2.125, 5.875, 1.625]) { $0.sum(dim: [0, 1]) },
    .init("sum(dim: 1)", shape: [2, 4], [2.25, -0.75, 3.75, 1.25, -0.25, 2.875, 2.125, 0.375]) {
      $0.sum(dim: 1)
    },
    .init(
      "prod(dim: 0)", shape: [3, 4],
      [-0.375, -2.8125, 2.5, -0.75, 4.5, 0, -0.8125, -3.5, -0.625, 0.625, -1.6875, -0.9375]
    ) { $0.prod(dim: 0) },
    .init(
      "amax(dim: 0)", shape: [3, 4], [0.5, 2.25, 2, 0.75, 3, 0, 3.25, 1.75, 0.25, 1, 1.125, 2.5]
    ) { $0.amax(dim: 0) },
    .init("amin(dim: 1)", shape: [2, 4], [0.25, -1.25, -1.5, -2, -2.5, 0, -0.25, -1]) {
      $0.amin(dim: 1)
    },
    .init(
      "norm(dim: [1])", shape: [2, 4],
      [
        1.6007810593582121, 1.6770509831248424, 4.1003048667141817, 3.2882366094914763,
        3.9764934301467165, 2.3351927115336757, 1.7001838135919305, 2.0501524333570909,
      ]
    ) { $0.norm(dim: [1]) },
    .init("prod()", shape: [], [0]) { $0.prod() },
    .init(
      "prod(dim: 1)", shape: [2, 4], [0.1875, 0.625, -9.75, -3.75, 5.625, 0, -0.3515625, 0.65625]
    ) { $0.prod(dim: 1) },
    .init(
      "prod(dim: -1, keepdim)", shape: [2, 3, 1],
      [-0.9375, 4.875, -0.9375, 2.109375, 0, 0.6591796875]
    ) { $0.prod(dim: -1, keepdim: true) },
    .init("max()", shape: [], [3.25]) { $0.max() },
    .init("min()", shape: [], [-2.5]) { $0.min() },
    .init("max(dim: 1).values", shape: [2, 4], [1.5, 1, 3.25, 2.5, 3, 2.25, 1.25, 1.75]) {
      $0.max(dim: 1).values
    },
    .init(
      "max(dim: 1).indices", shape: [2, 4], [1, 2, 1, 2, 1, 0, 0, 1], dtype: .int64
    ) { $0.max(dim: 1).indices },
    .init("min(dim: -1, keepdim).values", shape: [2, 3, 1], [-1.25, -2, -1.5, -1, -0.25, -2.5]) {
      $0.min(dim: -1, keepdim: true).values
    },
    .init(
      "min(dim: -1, keepdim).indices", shape: [2, 3, 1], [1, 3, 2, 3, 2, 0], dtype: .int64
    ) { $0.min(dim: -1, keepdim: true).indices },
    .init("amax(dim: [0, 2])", shape: [3], [2.25, 3.25, 2.5]) { $0.amax(dim: [0, 2]) },
    .init("amin(dim: -1, keepdim)", shape: [2, 3, 1], [-1.25, -2, -1.5, -1, -0.25, -2.5]) {
      $0.amin(dim: -1, keepdim: true)
    },
    .init("argmax()", shape: [], [6], dtype: .int64) { $0.argmax() },
    .init("argmax(keepdim)", shape: [1, 1, 1], [6], dtype: .int64) { $0.argmax(keepdim: true) },
    .init("argmin(dim: 1)", shape: [2, 4], [2, 0, 2, 1, 2, 1, 1, 0], dtype: .int64) {
      $0.argmin(dim: 1)
    },
    .init("argmax(dim: -1, keepdim)", shape: [2, 3, 1], [2, 2, 3, 1, 0, 2], dtype: .int64) {
      $0.argmax(dim: -1, keepdim: true)
    },
    .init("var()", shape: [], [2.4229789402173911]) { $0.var() },
    .init(
      "var(dim: [1])", shape: [2, 4],
      [
        0.4375, 1.3125, 6.0625, 5.145833333333333, 7.8958333333333339, 1.3489583333333333,
        0.69270833333333326, 2.078125,
      ]
    ) { $0.var(dim: [1]) },
    .init(
      "var(dim: [0, 2], correction: 0, keepdim)", shape: [1, 3, 1],
      [1.6005859375, 2.9365234375, 2.181396484375]
    ) { $0.var(dim: [0, 2], correction: 0, keepdim: true) },
    .init("std()", shape: [], [1.5565920917881444]) { $0.std() },
    .init(
      "std(dim: [-1])", shape: [2, 3],
      [
        1.3385315336840842, 2.2946949688357274, 1.6630168369562588, 1.5728821740147396,
        1.5343293866268306, 1.605248552924645,
      ]
    ) { $0.std(dim: [-1]) },
    .init(
      "std(dim: [0], correction: 0)", shape: [3, 4],
      [0.625, 1.75, 0.375, 0.875, 0.75, 0.25, 1.75, 1.875, 1.375, 0.1875, 1.3125, 1.4375]
    ) { $0.std(dim: [0], correction: 0) },
    .init("logsumexp(dim: [0, 1, 2])", shape: [], [4.6636108787274289]) {
      $0.logsumexp(dim: [0, 1, 2])
    },
    .init(
      "logsumexp(dim: 1)", shape: [2, 4],
      [
        2.003428877984625, 1.2840726046861715, 3.5086315311426706, 2.6696439848878799,
        3.0272303822097459, 2.5141403015841224, 1.9946133148080136, 1.9183585507239862,
      ]
    ) { $0.logsumexp(dim: 1) },
    .init(
      "logsumexp(dim: -1, keepdim)", shape: [2, 3, 1],
      [
        2.4372280586139023, 3.4344353276268542, 2.797764837801719, 2.6259955944750462,
        3.318501783098402, 1.7435906016728011,
      ]
    ) { $0.logsumexp(dim: -1, keepdim: true) },
    .init("norm()", shape: [], [7.8332225169466492]) { $0.norm() },
    .init("norm(p: 1, dim: [2])", shape: [2, 3], [4.5, 7.25, 5.25, 5.25, 5, 4.625]) {
      $0.norm(p: 1, dim: [2])
    },
    .init(
      "norm(p: 3, dim: [0, 1])", shape: [4],
      [3.5975935563644326, 2.4503756539078401, 3.6616865211760965, 3.1229987186329162]
    ) { $0.norm(p: 3, dim: [0, 1]) },
    .init("norm(p: inf, dim: [-1])", shape: [2, 3], [2, 3.25, 2.5, 2.25, 3, 2.5]) {
      $0.norm(p: .infinity, dim: [-1])
    },
    .init(
      "norm(p: -inf, dim: [1])", shape: [2, 4], [0.25, 0.5, 1.5, 0.75, 0.75, 0, 0.25, 0.375]
    ) { $0.norm(p: -.infinity, dim: [1]) },
    .init("norm(p: 0)", shape: [], [23]) { $0.norm(p: 0) },
    .init(
      "norm(p: 0.5, dim: [2], keepdim)", shape: [2, 3, 1],
      [
        16.854142777531045, 26.510562126259732, 18.540634450634752, 20.106788635775374,
        12.637502158057012, 16.359928564706745,
      ]
    ) { $0.norm(p: 0.5, dim: [2], keepdim: true) },
    .init(
      "cumsum(dim: 1)", shape: [2, 3, 4],
      [
        0.5, -1.25, 2, 0.75, 2, -1.75, 5.25, -1.25, 2.25, -0.75, 3.75, 1.25, -0.75, 2.25, 1.25, -1,
        2.25, 2.25, 1, 0.75, -0.25, 2.875, 2.125, 0.375,
      ]
    ) { $0.cumsum(dim: 1) },
    .init(
      "cumsum(dim: -1)", shape: [2, 3, 4],
      [
        0.5, -0.75, 1.25, 2, 1.5, 1, 4.25, 2.25, 0.25, 1.25, -0.25, 2.25, -0.75, 1.5, 2.75, 1.75,
        3, 3, 2.75, 4.5, -2.5, -1.875, -0.75, -1.125,
      ]
    ) { $0.cumsum(dim: -1) },
    .init("all()", shape: [], [0], dtype: .bool) { $0.all() },
    .init("any(dim: [0, 2])", shape: [3], [1, 1, 1], dtype: .bool) { $0.any(dim: [0, 2]) },
    .init("all(dim: 2, keepdim)", shape: [2, 3, 1], [1, 1, 1, 1, 0, 1], dtype: .bool) {
      $0.all(dim: 2, keepdim: true)
    },
  ]
}

@Suite struct ReductionTests {
  // MARK: golden values

  @Test(arguments: ReductionGoldenCase.all)
  func goldenValues(_ c: ReductionGoldenCase) {
    for dtype in [DType.float32, .float64] {
      let (rtol, atol) = dtype == .float32 ? (2e-6, 1e-6) : (1e-12, 1e-14)
      let x = Tensor(goldenInput, dtype: dtype)
      let y = c.op(x)
      #expect(y.dtype == (c.resultDType ?? dtype), "\(c.name) \(dtype): dtype \(y.dtype)")
      expectTensor(y, shape: c.shape, c.expected, rtol: rtol, atol: atol)
      // the same reduction of a non-contiguous copy (a transposed layout) agrees
      let strided = x.permute(2, 0, 1).contiguous().permute(1, 2, 0)
      #expect(!strided.isContiguous)
      expectTensor(c.op(strided), shape: c.shape, c.expected, rtol: rtol, atol: atol)
    }
  }

  @Test func gradFnNames() throws {
    let x = leaf64([2, 3], seed: 3)
    let names: [(Tensor, String)] = [
      (x.prod(), "ProdBackward0"), (x.prod(dim: 1), "ProdBackward1"),
      (x.max(), "MaxBackward1"), (x.min(), "MinBackward1"),
      (x.max(dim: 1).values, "MaxBackward0"), (x.min(dim: 0).values, "MinBackward0"),
      (x.amax(dim: 1), "AmaxBackward0"), (x.amin(), "AminBackward0"),
      (x.var(), "VarBackward0"), (x.std(dim: [1]), "StdBackward0"),
      (x.logsumexp(dim: 1), "LogsumexpBackward0"), (x.norm(), "LinalgVectorNormBackward0"),
      (x.norm(p: 3, dim: [1]), "LinalgVectorNormBackward0"), (x.cumsum(dim: 0), "CumsumBackward0"),
      (x.sum(), "SumBackward0"), (x.sum(dim: 1), "SumBackward1"),
    ]
    for (y, name) in names { #expect(y.gradFn?.name == name) }
    let (_, indices) = x.max(dim: 1)
    #expect(!indices.requiresGrad && indices.dtype == .int64)
    #expect(!x.argmax().requiresGrad && !x.all().requiresGrad)
  }

  // MARK: sum over cores

  @Test func fullSumOfLargeTensorsIsExact() {
    let n = 1_000_003
    let ints = (0..<n).map { Int64($0 % 7) - 3 }
    let expected = Double(ints.reduce(0, +))
    let f32 = Tensor(shape: [n], scalars: ints.map { Float($0) })
    let f64 = Tensor(shape: [n], scalars: ints.map { Double($0) })
    let i64 = Tensor(shape: [n], scalars: ints)
    let b = Tensor(shape: [n], scalars: ints.map { $0 > 0 })
    #expect(f32.sum().item() == expected && f32.sum().dtype == .float32)
    #expect(f64.sum().item() == expected)
    #expect(i64.sum().item() == expected && i64.sum().dtype == .int64)
    #expect(b.sum().item() == Double(ints.filter { $0 > 0 }.count) && b.sum().dtype == .int64)
    // arange: n(n-1)/2, and the same through a non-contiguous view and mean()
    let r = Tensor.arange(0, Double(n), dtype: .float64)
    #expect(r.sum().item() == Double(n) * Double(n - 1) / 2)
    #expect(r.mean().item() == Double(n - 1) / 2)
    let m = Tensor.arange(0, 600_000, dtype: .float64).reshape([600, 1000])
    #expect(m.t().sum().item() == m.sum().item())
    // float32 accuracy: 0.1 summed a million times
    let tenths = Tensor.full([1_000_000], 0.1, dtype: .float32)
    expectClose([tenths.sum().item()], [100_000.0014901161], rtol: 1e-7)
  }

  @Test func largeFullReductionsRunInBlocks() {
    let n = 100_003
    var values = (0..<n).map { Double(($0 * 7919) % 100_003) / 1000 - 50 }
    values[77_777] = 60
    values[12_345] = -70
    for dtype in [DType.float32, .float64] {
      let x = Tensor(shape: [n], scalars: values).to(dtype)
      #expect(x.amax().item() == 60 && x.max().item() == 60 && x.argmax().item() == 77_777)
      #expect(x.amin().item() == -70 && x.min().item() == -70 && x.argmin().item() == 12_345)
      let expectedNorm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
      expectClose([x.norm().item()], [expectedNorm], rtol: dtype == .float32 ? 1e-6 : 1e-12)
      expectClose(
        [x.norm(p: 1).item()], [values.reduce(0) { $0 + Swift.abs($1) }],
        rtol: dtype == .float32 ? 1e-6 : 1e-12)
      #expect(
        (x + 100).all().item() == 1 && !x.all().item(as: Bool.self) && (x * 0).any().item() == 0)
      var withNaN = values
      withNaN[n - 1] = .nan
      let y = Tensor(shape: [n], scalars: withNaN).to(dtype)
      #expect(y.amax().item().isNaN && y.min().item().isNaN && y.argmax().item() == Double(n - 1))
    }
  }

  @Test func vectorizedRowsMatchScalarLoops() {
    // rows of 37 (vector body plus a ragged tail); row 1 holds a NaN, row 2 only negatives
    var values: [Double] = (0..<(4 * 37)).map { (i: Int) -> Double in
      let k = (i * 37) % 101
      return Double(k) / 10 - 5
    }
    values[37 + 20] = Double.nan
    for i in 74..<111 { values[i] = -Double(i) }
    for dtype in [DType.float32, .float64] {
      let x = Tensor(shape: [4, 37], scalars: values).to(dtype)
      let stored = x.toArray()  // the values as rounded to dtype
      let rows: [[Double]] = (0..<4).map { r in Array(stored[(r * 37)..<(r * 37 + 37)]) }
      let amax = x.amax(dim: 1).toArray()
      let amin = x.amin(dim: 1).toArray()
      let norms = x.norm(dim: [1]).toArray()
      let sums = x.sum(dim: 1).toArray()
      for r in [0, 2, 3] {
        #expect(amax[r] == rows[r].max()! && amin[r] == rows[r].min()!)
        expectClose([norms[r]], [rows[r].reduce(0) { $0 + $1 * $1 }.squareRoot()], rtol: 1e-6)
        expectClose([sums[r]], [rows[r].reduce(0, +)], rtol: 1e-6, atol: 1e-5)
      }
      #expect(amax[1].isNaN && amin[1].isNaN && norms[1].isNaN && sums[1].isNaN)
      // the same along dim 0 (column-wise accumulation)
      let columnMax = x.t().contiguous().amax(dim: 0).toArray()
      for r in [0, 2, 3] { #expect(columnMax[r] == amax[r]) }
      #expect(columnMax[1].isNaN)
    }
  }

  @Test func emptyAndScalarReductions() {
    let e = Tensor.zeros([0, 3])
    expectTensor(e.sum(dim: 0), shape: [3], [0, 0, 0])
    expectTensor(e.prod(dim: 0), shape: [3], [1, 1, 1])
    #expect(e.all().item() == 1 && e.any().item() == 0)
    expectTensor(e.logsumexp(dim: 0), shape: [3], [-.infinity, -.infinity, -.infinity])
    let s = Tensor(2.5)
    #expect(s.max().item() == 2.5 && s.prod().item() == 2.5 && s.argmax().item() == 0)
    #expect(s.max(dim: 0).values.item() == 2.5 && s.cumsum(dim: -1).item() == 2.5)
  }

  // MARK: dtypes and special values

  @Test func integerAndBoolDTypes() {
    let i = Tensor([[1, 2], [3, 4]])
    expectTensor(i.prod(dim: 1), shape: [2], [2, 12])
    #expect(i.prod().dtype == .int64 && i.prod().item() == 24)
    let b = Tensor([[true, true], [true, false]])
    expectTensor(b.prod(dim: 1), shape: [2], [1, 0])
    #expect(b.prod(dim: 1).dtype == .int64)
    let c = Tensor([3, 1, 2]).cumsum(dim: 0)
    #expect(c.dtype == .int64 && c.toArray() == [3, 4, 6])
    let bc = b.cumsum(dim: 1)
    #expect(bc.dtype == .int64 && bc.toArray() == [1, 2, 1, 1])
    #expect(i.amax().item() == 4 && i.amax().dtype == .int64)
    let (v, idx) = Tensor([1, 5, 3]).max(dim: 0)
    #expect(v.item() == 5 && idx.item() == 1)
    let bm = Tensor([[true, false], [false, false]])
    #expect(bm.max().dtype == .bool && bm.max().item() == 1)
    expectTensor(bm.amax(dim: 1), shape: [2], [1, 0])
    let lse = Tensor([[1, 2], [3, 4]]).logsumexp(dim: 1)
    #expect(lse.dtype == .float32)
    expectTensor(lse, shape: [2], [2.3132617, 4.3132617])
    let m = Tensor([[1.0, 0, 2], [0, 0, 0]])
    #expect(m.all().item() == 0 && m.any().item() == 1)
    expectTensor(m.all(dim: 1), shape: [2], [0, 0])
    expectTensor(m.any(dim: 1, keepdim: true), shape: [2, 1], [1, 0])
    expectTensor(m.any(dim: 0), shape: [3], [1, 0, 1])
    #expect(Tensor([Double.nan]).all().item() == 1)
  }

  @Test func nanPropagation() {
    let x = Tensor([1.0, .nan, 3.0])
    #expect(x.max().item().isNaN && x.min().item().isNaN && x.amax().item().isNaN)
    let (v, i) = Tensor([[1.0, .nan, 3.0]]).min(dim: 1)
    #expect(v.item().isNaN && i.item() == 1)
    #expect(Tensor([1.0, .nan, 0.0]).argmin().item() == 1)
    #expect(Tensor([1.0, .nan]).logsumexp().item().isNaN)
    #expect(x.norm(p: .infinity).item().isNaN)
  }

  @Test func logsumexpIsStable() {
    expectClose([Tensor([1000.0, 1000.0]).logsumexp().item()], [1000.6931762695312], rtol: 1e-7)
    #expect(Tensor([-Double.infinity, -.infinity]).logsumexp().item() == -.infinity)
    #expect(Tensor([-1000.0, 0.0]).logsumexp().item() == 0)
    #expect(Tensor([1.0, .infinity]).logsumexp().item() == .infinity)
    let big = Tensor([[-1e30, 88.5, 88.0], [-100.0, -101.0, -102.0]], dtype: .float32)
    expectTensor(
      big.logsumexp(dim: 1), shape: [2], [88.97407698418010, -99.59239403555561], rtol: 1e-6)
  }

  // MARK: gradients against PyTorch

  @Test func prodGradientWithZeros() throws {
    let z = try Tensor(
      [[2.0, 0, 3], [0, 0, 4], [1.5, -2, 0.5]], dtype: .float64, requiresGrad: true)
    try z.prod(dim: 1).backward(gradient: Tensor([2.0, 3, 5], dtype: .float64))
    expectTensor(z.grad, shape: [3, 3], [0, 12, 0, 0, 0, 0, -5, 3.75, -15])
    z.grad = nil
    try z.prod(dim: 0).backward(gradient: Tensor([2.0, 3, 5], dtype: .float64))
    expectTensor(z.grad, shape: [3, 3], [0, 0, 10, 6, 0, 7.5, 0, 0, 60])
    let w = try Tensor([2.0, 0, 3, 4], dtype: .float64, requiresGrad: true)
    try w.prod().backward()
    expectTensor(w.grad, shape: [4], [0, 24, 0, 0])
    let w2 = try Tensor([2.0, 0, 3, 0], dtype: .float64, requiresGrad: true)
    try w2.prod().backward()
    expectTensor(w2.grad, shape: [4], [0, 0, 0, 0])
    // finite differences agree at inputs holding zeros, to first and (one zero) second order
    let withZeros = try Tensor(
      [[2.0, 0, 3], [0, 0, 4], [1.5, -2, 0.5]], dtype: .float64, requiresGrad: true)
    try gradcheck({ $0[0].prod(dim: 1) }, inputs: [withZeros])
    try gradcheck({ $0[0].prod(dim: 0, keepdim: true) }, inputs: [withZeros])
    let oneZero = try Tensor([[2.0, 0, 3], [1.5, -2, 0.5]], dtype: .float64, requiresGrad: true)
    try gradcheck({ $0[0].prod() }, inputs: [oneZero])
    try gradgradcheck({ $0[0].prod(dim: 1) }, inputs: [oneZero])
    try gradgradcheck({ $0[0].prod() }, inputs: [oneZero])
  }

  @Test func tiesShareOrPickTheGradientAsPyTorch() throws {
    func t() throws -> Tensor { try Tensor([[1.0, 3, 3], [2, 1, 2]], requiresGrad: true) }
    var x = try t()
    try x.max().backward()
    expectTensor(x.grad, shape: [2, 3], [0, 0.5, 0.5, 0, 0, 0])
    x = try t()
    try x.min().backward()
    expectTensor(x.grad, shape: [2, 3], [0.5, 0, 0, 0, 0.5, 0])
    x = try t()
    let (v, i) = x.max(dim: 1)
    #expect(v.toArray() == [3, 2] && i.toArray() == [1, 0])
    try v.backward(gradient: Tensor([2.0, 5.0]))
    expectTensor(x.grad, shape: [2, 3], [0, 2, 0, 5, 0, 0])
    x = try t()
    let (mv, mi) = x.min(dim: 1, keepdim: true)
    #expect(mv.toArray() == [1, 1] && mi.toArray() == [0, 1] && mi.shape == [2, 1])
    try mv.backward(gradient: Tensor([[2.0], [5.0]]))
    expectTensor(x.grad, shape: [2, 3], [2, 0, 0, 0, 5, 0])
    x = try t()
    try x.amax(dim: 1).backward(gradient: Tensor([2.0, 5.0]))
    expectTensor(x.grad, shape: [2, 3], [0, 1, 1, 2.5, 0, 2.5])
    x = try t()
    try x.amin().backward(gradient: Tensor(4.0))
    expectTensor(x.grad, shape: [2, 3], [2, 0, 0, 0, 2, 0])
    x = try t()
    try x.amax(dim: [0, 1], keepdim: true).backward(gradient: Tensor([[4.0]]))
    expectTensor(x.grad, shape: [2, 3], [0, 2, 2, 0, 0, 0])
    #expect(Tensor([[1.0, 3, 3], [2, 1, 2]]).argmax(dim: 1).toArray() == [1, 0])
  }

  @Test func gradientsAtSpecialPoints() throws {
    // p = 2 (and p = 3) norms have gradient 0 at the zero vector; std is 0-gradient when constant
    let z = try Tensor([0.0, 0, 0], dtype: .float64, requiresGrad: true)
    try z.norm().backward()
    expectTensor(z.grad, shape: [3], [0, 0, 0])
    let z3 = try Tensor([0.0, 0, 0], dtype: .float64, requiresGrad: true)
    try z3.norm(p: 3).backward()
    expectTensor(z3.grad, shape: [3], [0, 0, 0])
    let c = try Tensor([2.0, 2, 2, 2], dtype: .float64, requiresGrad: true)
    try c.std().backward()
    expectTensor(c.grad, shape: [4], [0, 0, 0, 0])
    // gradients of a 2x3 input against PyTorch
    let values = [[0.5, -1.25, 2.0], [1.5, -0.5, 3.25]]
    var x = try Tensor(values, dtype: .float64, requiresGrad: true)
    try x.cumsum(dim: 1).backward(gradient: Tensor([[1.0, 2, 3], [4, 5, 6]], dtype: .float64))
    expectTensor(x.grad, shape: [2, 3], [6, 5, 3, 15, 11, 6])
    x = try Tensor(values, dtype: .float64, requiresGrad: true)
    try x.var(dim: [1]).backward(gradient: Tensor([1.0, 2], dtype: .float64))
    expectTensor(
      x.grad, shape: [2, 3],
      [
        0.083333333333333315, -1.6666666666666667, 1.5833333333333333, 0.16666666666666652,
        -3.8333333333333335, 3.6666666666666665,
      ], rtol: 1e-12)
    x = try Tensor(values, dtype: .float64, requiresGrad: true)
    try x.logsumexp(dim: 0).backward(gradient: Tensor([1.0, 2, 3], dtype: .float64))
    expectTensor(
      x.grad, shape: [2, 3],
      [
        0.2689414213699951, 0.64164260164921405, 0.66810041647592666, 0.7310585786300049,
        1.3583573983507859, 2.3318995835240739,
      ], rtol: 1e-12)
    x = try Tensor(values, dtype: .float64, requiresGrad: true)
    try x.norm(p: .infinity, dim: [1]).backward(gradient: Tensor([1.0, 2], dtype: .float64))
    expectTensor(x.grad, shape: [2, 3], [0, 0, 1, 0, 0, 2])
  }

  // MARK: finite differences

  @Test func gradcheckEveryDifferentiableReduction() throws {
    let cases: [(String, (Tensor) -> Tensor)] = [
      ("sum", { $0.sum() }), ("sum dims", { $0.sum(dim: [0, 2], keepdim: true) }),
      ("mean", { $0.mean() }), ("mean dim", { $0.mean(dim: -1) }),
      ("prod", { $0.prod() }), ("prod dim", { $0.prod(dim: 1, keepdim: true) }),
      ("max", { $0.max() }), ("min", { $0.min() }),
      ("max dim", { $0.max(dim: 2).values }), ("min dim", { $0.min(dim: 0, keepdim: true).values }),
      ("amax", { $0.amax(dim: [0, 2]) }), ("amin", { $0.amin(dim: -2, keepdim: true) }),
      ("var", { $0.var() }), ("var dims", { $0.var(dim: [1, 2]) }),
      ("var c0", { $0.var(dim: [0], correction: 0, keepdim: true) }),
      ("std", { $0.std() }), ("std dims", { $0.std(dim: [-1], correction: 2) }),
      ("logsumexp", { $0.logsumexp() }), ("logsumexp dims", { $0.logsumexp(dim: [0, 2]) }),
      ("norm", { $0.norm() }), ("norm p1", { $0.norm(p: 1, dim: [1]) }),
      ("norm p3", { $0.norm(p: 3, dim: [0, 2], keepdim: true) }),
      ("norm p1.5", { $0.norm(p: 1.5, dim: [2]) }), ("norm p0.5", { $0.norm(p: 0.5) }),
      ("norm inf", { $0.norm(p: .infinity, dim: [2]) }),
      ("norm -inf", { $0.norm(p: -.infinity, dim: [1]) }),
      ("cumsum", { $0.cumsum(dim: 1) }), ("cumsum last", { $0.cumsum(dim: -1) }),
    ]
    for (name, f) in cases {
      let x = leaf64([2, 3, 4], seed: 11, awayFromZero: true)
      let ok = try gradcheck({ f($0[0]) }, inputs: [x], raiseOnFailure: false)
      #expect(ok, "gradcheck failed for \(name)")
      // the same op on a non-contiguous input
      let t = leaf64([4, 3, 2], seed: 5, awayFromZero: true)
      let ok2 = try gradcheck({ f($0[0].permute(2, 1, 0)) }, inputs: [t], raiseOnFailure: false)
      #expect(ok2, "gradcheck (strided input) failed for \(name)")
    }
  }

  @Test func gradgradcheckSmoothReductions() throws {
    let cases: [(String, (Tensor) -> Tensor)] = [
      ("sum", { $0.sum(dim: 1) }), ("mean", { $0.mean(dim: [0, 1]) }),
      ("prod", { $0.prod(dim: 1) }), ("prod all", { $0.prod() }),
      ("logsumexp", { $0.logsumexp(dim: 0) }),
      ("var", { $0.var(dim: [1]) }), ("std", { $0.std() }),
      ("norm", { $0.norm(dim: [1]) }), ("norm p3", { $0.norm(p: 3) }),
      ("norm p1.5", { $0.norm(p: 1.5, dim: [0]) }), ("cumsum", { $0.cumsum(dim: 0) }),
    ]
    for (name, f) in cases {
      let x = leaf64([3, 4], seed: 7, awayFromZero: true)
      let ok = try gradgradcheck({ f($0[0]) }, inputs: [x], raiseOnFailure: false)
      #expect(ok, "gradgradcheck failed for \(name)")
    }
  }

  // MARK: misuse

  @Test func badDimStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([[1.0, 2.0]]).amax(dim: 2)
    }
    #expect(
      stderrText(result).contains(
        "amax: dimension out of range (expected to be in range of [-2, 1], but got 2)"))
  }
}
