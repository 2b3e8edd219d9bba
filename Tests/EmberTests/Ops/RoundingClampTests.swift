/// Sign, magnitude, rounding and bounds: `abs`, `sign`, `floor`, `clamp`, `maximum`, ...
import Ember
import Testing

@Suite struct RoundingClampTests {
  /// Ops that are only piecewise smooth: first derivatives only, away from the kinks.
  static let piecewiseOps: [(String, @Sendable (Tensor) -> Tensor, [Double])] = [
    ("abs", { $0.abs() }, [-1.5, -0.4, 0.3, 0.9, -1.7, 2.2]),
    ("sign", { $0.sign() }, [-1.5, -0.4, 0.3, 0.9, -1.7, 2.2]),
    ("floor", { $0.floor() }, [-1.5, -0.4, 0.3, 0.9, -1.7, 2.2]),
    ("ceil", { $0.ceil() }, [-1.5, -0.4, 0.3, 0.9, -1.7, 2.2]),
    ("round", { $0.round() }, [-1.3, -0.4, 0.3, 0.9, -1.7, 2.2]),
    ("clamp", { $0.clamp(min: -0.5, max: 1.0) }, [-1.5, -0.4, 0.3, 0.9, -1.7, 2.2]),
    ("clamp(min)", { $0.clamp(min: 0.5) }, [-1.5, -0.4, 0.3, 0.9, -1.7, 2.2]),
    ("clamp(max)", { $0.clamp(max: 0.5) }, [-1.5, -0.4, 0.3, 0.9, -1.7, 2.2]),
  ]

  @Test func gradcheckPiecewiseOps() throws {
    for (name, op, values) in Self.piecewiseOps {
      let x = unaryLeaf(values, [3, 2])
      #expect(try gradcheck({ op($0[0]) }, inputs: [x]), "\(name)")
    }
  }

  // MARK: maximum and minimum

  @Test func maximumMinimumBroadcastWithTies() throws {
    for dtype in [DType.float32, .float64] {
      for isMax in [true, false] {
        let a = try Tensor([[1.0, -2, 3], [0.5, 2, -1]], dtype: dtype, requiresGrad: true)
        let b = try Tensor([2.0, -2, 0], dtype: dtype, requiresGrad: true)
        let y = isMax ? a.maximum(b) : a.minimum(b)
        #expect(y.gradFn?.name == (isMax ? "MaximumBackward0" : "MinimumBackward0"))
        #expect(y.dtype == dtype)
        try y.backward(gradient: Tensor([[1.0, 2, 3], [4, 5, 6]], dtype: dtype))
        if isMax {
          expectTensor(y, shape: [2, 3], [2, -2, 3, 2, 2, 0])
          expectTensor(a.grad, shape: [2, 3], [0, 1, 3, 0, 5, 0])
          expectTensor(b.grad, shape: [3], [5, 1, 6])
        } else {
          expectTensor(y, shape: [2, 3], [1, -2, 0, 0.5, -2, -1])
          expectTensor(a.grad, shape: [2, 3], [1, 1, 0, 4, 0, 6])
          expectTensor(b.grad, shape: [3], [0, 6, 3])
        }
      }
    }
  }

  @Test func maximumMinimumGradcheck() throws {
    let a = leaf64([2, 3], seed: 3)
    let b = leaf64([3], seed: 4)
    #expect(try gradcheck({ $0[0].maximum($0[1]) }, inputs: [a, b]))
    #expect(try gradcheck({ $0[0].minimum($0[1]) }, inputs: [a, b]))
    #expect(try gradgradcheck({ $0[0].maximum($0[1]) * $0[0] }, inputs: [a, b]))
  }

  @Test func maximumMinimumPropagateNaNAndKeepFirstOnTies() {
    let a = Tensor([Double.nan, 1, -0.0, 3])
    let b = Tensor([0.0, Double.nan, 0.0, 2])
    let mx = a.maximum(b).toArray()
    #expect(mx[0].isNaN && mx[1].isNaN && mx[3] == 3)
    #expect(mx[2] == 0 && mx[2].sign == .minus)  // -0.0 from the first argument, as PyTorch
    let mn = a.minimum(b).toArray()
    #expect(mn[0].isNaN && mn[1].isNaN && mn[3] == 2)
  }

  @Test func maximumMinimumOnIntegers() {
    let a = Tensor([3, -7, 5, 0])
    let b = Tensor([1, 2, 5, -4])
    let mx = a.maximum(b)
    #expect(mx.dtype == .int64)
    #expect(mx.scalars(as: Int64.self) == [3, 2, 5, 0])
    let mn = a.minimum(Tensor(1))
    #expect(mn.dtype == .int64)
    #expect(mn.scalars(as: Int64.self) == [1, -7, 1, 0])
    // int64 with float32 promotes to float32
    let mixed = a.maximum(Tensor([0.5, 0.5, 0.5, 0.5]))
    #expect(mixed.dtype == .float32)
    #expect(mixed.toArray() == [3, 0.5, 5, 0.5])
    let bools = Tensor([true, false, false]).maximum(Tensor([false, false, true]))
    #expect(bools.dtype == .bool)
    #expect(bools.scalars(as: Bool.self) == [true, false, true])
  }

  // MARK: integer behaviour

  @Test func integerOpsKeepInt64() {
    let x = Tensor([-3, 0, 2, -1, 5])
    let cases: [(Tensor, [Int64])] = [
      (x.abs(), [3, 0, 2, 1, 5]),
      (x.sign(), [-1, 0, 1, -1, 1]),
      (x.square(), [9, 0, 4, 1, 25]),
      (x.floor(), [-3, 0, 2, -1, 5]),
      (x.ceil(), [-3, 0, 2, -1, 5]),
      (x.round(), [-3, 0, 2, -1, 5]),
      (x.clamp(min: -1, max: 3), [-1, 0, 2, -1, 3]),
      (x.clamp(min: 1), [1, 1, 2, 1, 5]),
      (x.clamp(max: 0), [-3, 0, 0, -1, 0]),
      (x.relu(), [0, 0, 2, 0, 5]),
      (-x, [3, 0, -2, 1, -5]),
    ]
    for (t, expected) in cases {
      #expect(t.dtype == .int64)
      #expect(t.scalars(as: Int64.self) == expected)
    }
    let extremes = Tensor(shape: [2], scalars: [Int64.min + 1, Int64.max]).abs()
    #expect(extremes.scalars(as: Int64.self) == [Int64.max, Int64.max])
  }

  @Test func integerClampWithFractionalBoundPromotes() {
    let y = Tensor([1, 5]).clamp(min: 2.5)
    #expect(y.dtype == .float32)
    #expect(y.toArray() == [2.5, 5])
  }

  // MARK: special values

  @Test func specialValues() {
    let x = Tensor([Double.nan, -0.0, 0.0, -2.5, 0.5, 1.5, 2.5, -1e30], dtype: .float64)
    let sign = x.sign().toArray()
    #expect(sign[0] == 0 && Array(sign[1...]) == [0, 0, -1, 1, 1, 1, -1])
    let rounded = x.round().toArray()
    #expect(rounded[0].isNaN && Array(rounded[1...]) == [0, 0, -2, 0, 2, 2, -1e30])
    let clamped = x.clamp(min: 0, max: 1).toArray()
    #expect(clamped[0].isNaN && Array(clamped[1...]) == [0, 0, 0, 0.5, 1, 1, 0])
    let a = x.abs().toArray()
    #expect(a[0].isNaN && a[1] == 0 && a[1].sign == .plus && a[7] == 1e30)
    // sqrt'(0) is +inf, log(0) is -inf, as in PyTorch
    let z = unaryLeaf([0.0], [1])
    try! z.sqrt().sum().backward()
    #expect(z.grad!.item() == .infinity)
    #expect(Tensor([0.0]).log().item() == -.infinity)
  }

  @Test func absGradientAtZeroIsZero() throws {
    let x = unaryLeaf([-2, 0, 3], [3])
    try x.abs().sum().backward()
    expectTensor(x.grad, shape: [3], [-1, 0, 1])
  }

  @Test func clampGradientAtBoundsIsZero() throws {
    // PyTorch's scalar clamp: gradient only strictly inside (min, max)
    let x = unaryLeaf([-1, 0, 0.5, 1, 2], [5])
    try x.clamp(min: 0, max: 1).sum().backward()
    expectTensor(x.grad, shape: [5], [0, 0, 1, 0, 0])
    // bounds are compared in the tensor's dtype: float32 0.1 sits exactly on Float(0.1)
    let y = try Tensor([0.1, 0.2], dtype: .float32, requiresGrad: true)
    try y.clamp(min: 0.1, max: 0.2).sum().backward()
    expectTensor(y.grad, shape: [2], [0, 0])
    let z = try Tensor([-Double.infinity, 1], dtype: .float32, requiresGrad: true)
    try z.clamp(max: 2).sum().backward()
    expectTensor(z.grad, shape: [2], [1, 1])
  }

  @Test func inPlaceOnIntegers() throws {
    let x = Tensor([-3, 0, 2, -1, 5])
    try x.absInPlace()
    #expect(x.dtype == .int64 && x.scalars(as: Int64.self) == [3, 0, 2, 1, 5])
    try x.negInPlace()
    #expect(x.scalars(as: Int64.self) == [-3, 0, -2, -1, -5])
    try x.clampInPlace(min: -2, max: -1)
    #expect(x.scalars(as: Int64.self) == [-2, -1, -2, -1, -2])
  }

  @Test func clampWithoutBoundsStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([1.0, 2]).clamp()
    }
    #expect(
      stderrText(result).contains("torch.clamp: At least one of 'min' or 'max' must not be None"))
  }
}
