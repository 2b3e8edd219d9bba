import Ember
import Foundation
import Testing

/// Numerical edge cases, each against PyTorch 2.15's values (printed by
/// Fixtures/make_reliability_fixtures.py, "numerical" section; case names in the comments).
/// What PyTorch does here, and so Ember, is summarized in docs/reliability.md.
@Suite struct NumericalEdgeCaseTests {
  static let nan = Double.nan
  static let inf = Double.infinity

  /// Elementwise equality that counts NaN as equal to NaN and tells -0 from +0 only when asked.
  static func same(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { ($0.isNaN && $1.isNaN) || $0 == $1 }
  }

  static let hugeLogits: [[Double]] = [[1e4, -1e4, 0], [-1e4, 1e4, 5], [1e4, 1e4 - 1, -1e4]]

  @Test(arguments: [DType.float32, .float64])
  func logSoftmaxAndCrossEntropyWithHugeLogits(dtype: DType) throws {
    let logits = try Tensor(Self.hugeLogits, dtype: dtype, requiresGrad: true)
    let f32 = dtype == .float32
    // huge.<dtype>.logSoftmax / softmax
    expectClose(
      logits.logSoftmax(dim: 1).toArray(),
      [
        0, -20000, -10000, -20000, 0, -9995, f32 ? -0.31326165795326233 : -0.31326168751822286,
        f32 ? -1.31326162815094 : -1.3132616875182228, f32 ? -20000.3125 : -20000.31326168752,
      ], rtol: f32 ? 1e-6 : 1e-13, atol: 0)
    expectClose(
      logits.softmax(dim: 1).toArray(),
      [
        1, 0, 0, 0, 1, 0, f32 ? 0.7310585975646973 : 0.7310585786300049,
        f32 ? 0.2689414322376251 : 0.26894142136999516, 0,
      ], rtol: f32 ? 1e-6 : 1e-13, atol: 0)
    // huge.<dtype>.ce and ceGrad: finite, no overflow in exp
    let ce = Functional.crossEntropy(logits, Tensor([1, 1, 1]))
    expectClose(
      [ce.item()], [f32 ? 6667.10400390625 : 6667.104420562507], rtol: f32 ? 1e-7 : 1e-14,
      atol: 0)
    try ce.backward()
    let third = 1.0 / 3
    let g = f32 ? 0.24368619918823242 : 0.2436861928766683
    expectClose(
      logits.grad!.toArray(), [third, -third, 0, 0, 0, 0, g, -g, 0], rtol: f32 ? 1e-6 : 1e-13,
      atol: 1e-30)
  }

  @Test(arguments: [DType.float32, .float64])
  func softmaxOfRowsThatAreAllMinusInfinity(dtype: DType) throws {
    let ninf = -Self.inf
    let z = try Tensor(
      [[ninf, ninf, ninf], [ninf, 0, ninf], [ninf, 1, 2]], dtype: dtype, requiresGrad: true)
    let f32 = dtype == .float32
    let (p, q) =
      f32 ? (0.2689414322376251, 0.7310585975646973) : (0.26894142136999516, 0.7310585786300049)
    // neginf.<dtype>.softmax: the all -inf row is NaN (0/0), as in PyTorch
    let s = z.softmax(dim: 1).toArray()
    #expect(s[0..<3].allSatisfy { $0.isNaN }, "\(s)")
    expectClose(Array(s[3...]), [0, 1, 0, 0, p, q], rtol: f32 ? 1e-6 : 1e-13, atol: 0)
    // neginf.<dtype>.logSoftmax
    let l = z.logSoftmax(dim: 1).toArray()
    #expect(l[0..<3].allSatisfy { $0.isNaN }, "\(l)")
    #expect(Array(l[3...6]) == [ninf, 0, ninf, ninf], "\(l)")
    expectClose(
      Array(l[7...]),
      f32
        ? [-1.31326162815094, -0.31326165795326233] : [-1.3132616875182228, -0.31326168751822286],
      rtol: f32 ? 1e-6 : 1e-13, atol: 0)
    // neginf.<dtype>.softmaxGradRow2: the NaN row's gradient is NaN even with a zero upstream
    // gradient; the other rows stay finite
    try z.softmax(dim: 1)[2].sum().backward()
    let grad = z.grad!.toArray()
    #expect(grad[0..<3].allSatisfy { $0.isNaN }, "\(grad)")
    expectClose(Array(grad[3...]), [0, 0, 0, 0, 0, 0], rtol: 0, atol: f32 ? 1e-7 : 1e-16)
  }

  @Test func divisionByZero() throws {
    let x = Tensor([1.0, -1.0, 0.0], dtype: .float32)
    // div.scalarZero, div.tensorZero, div.negZero
    #expect(Self.same((x / 0.0).toArray(), [Self.inf, -Self.inf, Self.nan]))
    #expect(Self.same((x / Tensor.zeros([3])).toArray(), [Self.inf, -Self.inf, Self.nan]))
    #expect(Self.same((x / -Tensor.zeros([3])).toArray(), [-Self.inf, Self.inf, Self.nan]))
    #expect(
      Self.same((x.to(.float64) / 0.0).toArray(), [Self.inf, -Self.inf, Self.nan]))
    // div.int: true division of integers gives floats, so dividing by zero gives inf
    let q = Tensor([1, 2, -3]) / Tensor([0, 1, 0])
    #expect(q.dtype == .float32)
    #expect(q.toArray() == [Self.inf, 2, -Self.inf])
    // gradients through a division by zero are inf/NaN as PyTorch's (1/b and -a/b^2)
    let a = try Tensor([1.0, 0.0], dtype: .float64, requiresGrad: true)
    let b = try Tensor([0.0, 0.0], dtype: .float64, requiresGrad: true)
    try (a / b).sum().backward()
    #expect(a.grad!.toArray() == [Self.inf, Self.inf])
    #expect(Self.same(b.grad!.toArray(), [-Self.inf, Self.nan]))
  }

  @Test func integerDivisionByZeroStopsWithPyTorchsError() async {
    // div.floorInt, div.truncInt, div.remainderInt: RuntimeError "ZeroDivisionError"
    let floor = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([1, 2]).div(Tensor([0, 1]), roundingMode: .floor)
    }
    #expect(stderrText(floor).contains("ZeroDivisionError"), "\(stderrText(floor))")
    let trunc = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([1, 2]).div(Tensor([1, 0]), roundingMode: .trunc)
    }
    #expect(stderrText(trunc).contains("ZeroDivisionError"), "\(stderrText(trunc))")
    let rem = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([1, 2]) % Tensor([0, 1])
    }
    #expect(stderrText(rem).contains("ZeroDivisionError"), "\(stderrText(rem))")
  }

  @Test func roundedDivisionAndRemainderAsPyTorch() throws {
    // torch.tensor([7, -7, 5]) // torch.tensor([2, 2, -2]) and friends (PyTorch 2.15)
    let a = Tensor([7, -7, 5])
    let b = Tensor([2, 2, -2])
    #expect(a.floorDivide(b).dtype == .int64)
    #expect(a.floorDivide(b).toArray() == [3, -4, -3])
    #expect(a.div(b, roundingMode: .trunc).toArray() == [3, -3, -2])
    #expect((a % b).toArray() == [1, 1, -1])
    #expect(Tensor([7, -7]).div(2, roundingMode: .floor).toArray() == [3, -4])
    #expect(
      Tensor(Int64.min).div(Tensor(-1), roundingMode: .floor).toArray() == [-9.223372036854776e18])
    // div.floorFloat: a zero divisor gives what true division gives
    let f = Tensor([1.0, -1.0, 0.0, 7.0], dtype: .float32).div(
      Tensor([0.0, 0.0, 0.0, -2.0], dtype: .float32), roundingMode: .floor)
    #expect(Self.same(f.toArray(), [Self.inf, -Self.inf, Self.nan, -4]))
    // tensor([-0., -1., -1., inf]): signed zero, and a quotient past float64's range
    let g = Tensor([-0.0, 0.5, -0.5, 1e308], dtype: .float64).floorDivide(
      Tensor([1.0, -1.0, 1.0, 1e-308], dtype: .float64))
    #expect(g.toArray() == [0, -1, -1, Self.inf])
    #expect(g.toArray()[0].sign == .minus)
    // tensor([ 2.,  1., -1., -0.]) and tensor([nan])
    let r = Tensor([5.0, -5.0, 3.0, -0.0]) % Tensor([3.0, 3.0, -2.0, 2.0])
    #expect(r.toArray() == [2, 1, -1, 0])
    #expect(r.toArray()[3].sign == .minus)
    #expect((Tensor([1.0]) % Tensor([0.0])).toArray()[0].isNaN)
    // gradients: DivBackward2 gives zeros; RemainderBackward1 gives grad and -grad * floor(a/b)
    let x = try Tensor([7.0, -7.0, 5.5], requiresGrad: true)
    let y = try Tensor([2.0, 2.0, -2.0], requiresGrad: true)
    let q = x.div(y, roundingMode: .floor)
    #expect(q.gradFn?.name == "DivBackward2")
    #expect(q.toArray() == [3, -4, -3])
    try q.sum().backward()
    #expect(x.grad!.toArray() == [0, 0, 0] && y.grad!.toArray() == [0, 0, 0])
    x.grad = nil
    y.grad = nil
    let m = x.remainder(y)
    #expect(m.gradFn?.name == "RemainderBackward1")
    #expect(m.toArray() == [1, 1, -0.5])
    try m.sum().backward()
    #expect(x.grad!.toArray() == [1, 1, 1])
    #expect(y.grad!.toArray() == [-3, 4, 3])
  }

  @Test func nanPropagatesThroughFullReductions() {
    let n = Tensor([1.0, Self.nan, 3.0, -2.0], dtype: .float32)
    // nan.sum, mean, max, min, amax, prod: NaN; nan.argmax, argmin: the NaN's index
    for (name, t) in [
      ("sum", n.sum()), ("mean", n.mean()), ("max", n.max()), ("min", n.min()),
      ("amax", n.amax()), ("amin", n.amin()), ("prod", n.prod()),
    ] {
      #expect(t.item().isNaN, "\(name) gave \(t.item())")
    }
    #expect(n.argmax().item() == 1)
    #expect(n.argmin().item() == 1)
    #expect(n.to(.float64).argmax().item() == 1)
  }

  static let nanMatrix: [[Double]] = [
    [1, .nan, 3], [4, 5, -6], [.nan, 0, .nan], [-.infinity, .nan, .infinity],
  ]

  @Test(arguments: [DType.float32, .float64])
  func nanPropagatesThroughReductionsOverADim(dtype: DType) {
    let m = Tensor(Self.nanMatrix, dtype: dtype)
    let nan = Self.nan
    // nan.maxDim / minDim: values NaN where the row has one, index of the first NaN
    let mx = m.max(dim: 1)
    #expect(Self.same(mx.values.toArray(), [nan, 5, nan, nan]), "\(mx.values.toArray())")
    #expect(mx.indices.toArray() == [1, 1, 0, 1])
    let mn = m.min(dim: 1)
    #expect(Self.same(mn.values.toArray(), [nan, -6, nan, nan]), "\(mn.values.toArray())")
    #expect(mn.indices.toArray() == [1, 2, 0, 1])
    // nan.max0: down the columns
    let m0 = m.max(dim: 0)
    #expect(Self.same(m0.values.toArray(), [nan, nan, nan]))
    #expect(m0.indices.toArray() == [2, 0, 2])
    // nan.argmaxDim, argminDim, amaxDim, aminDim, sumDim
    #expect(m.argmax(dim: 1).toArray() == [1, 1, 0, 1])
    #expect(m.argmin(dim: 1).toArray() == [1, 2, 0, 1])
    #expect(Self.same(m.amax(dim: 1).toArray(), [nan, 5, nan, nan]))
    #expect(Self.same(m.amin(dim: 1).toArray(), [nan, -6, nan, nan]))
    #expect(Self.same(m.sum(dim: 1).toArray(), [nan, 3, nan, nan]))
    #expect(Self.same(m.mean(dim: 1).toArray(), [nan, 1, nan, nan]))
  }

  @Test func clampAndMaximumKeepNaN() throws {
    let nan = Self.nan
    // nan.clamp, clampMin, maximum, minimum
    #expect(
      Self.same(Tensor([nan, -5, 5, 0.5]).clamp(min: -1, max: 1).toArray(), [nan, -1, 1, 0.5]))
    #expect(Self.same(Tensor([nan, -5, 5]).clamp(min: 0).toArray(), [nan, 0, 5]))
    #expect(Self.same(Tensor([nan, -5, 5]).clamp(max: 0).toArray(), [nan, -5, 0]))
    let a = Tensor([nan, 1, 2])
    let b = Tensor([0, nan, 1])
    #expect(Self.same(a.maximum(b).toArray(), [nan, nan, 2]))
    #expect(Self.same(a.minimum(b).toArray(), [nan, nan, 1]))
    // nan.maxGrad: max's gradient goes to the NaN it returned
    let g = try Tensor([1.0, nan, 3.0], requiresGrad: true)
    try g.max().backward()
    #expect(g.grad!.toArray() == [0, 1, 0])
  }

  @Test func whereLeaksNaNGradientsUnlessTheInputIsMaskedFirst() throws {
    let x = try Tensor([-1.0, 0.0, 4.0], dtype: .float64, requiresGrad: true)
    let zero = Tensor.zeros([], dtype: .float64)
    let positive = x .> 0
    // where.unmasked.sqrt / log: the branch not taken still multiplies its NaN/inf local
    // derivative by the zero gradient where() sends it, and 0 * NaN = 0 * inf = NaN
    try Tensor.where(positive, x.sqrt(), zero).sum().backward()
    #expect(Self.same(x.grad!.toArray(), [Self.nan, Self.nan, 0.25]), "\(x.grad!.toArray())")
    x.grad = nil
    try Tensor.where(positive, x.log(), zero).sum().backward()
    let unmaskedLog = x.grad!.toArray()
    #expect(Self.same(unmaskedLog, [-0.0, Self.nan, 0.25]), "\(unmaskedLog)")
    #expect(unmaskedLog[0].sign == .minus)  // PyTorch: -0.0 (0 * 1/-1)
    // where.masked.sqrt / log: replacing the masked inputs first keeps the gradient clean
    x.grad = nil
    let safe = Tensor.where(positive, x, Tensor.ones([], dtype: .float64))
    try Tensor.where(positive, safe.sqrt(), zero).sum().backward()
    #expect(x.grad!.toArray() == [0, 0, 0.25])
    x.grad = nil
    // (a fresh mask: the first backward freed the graph of `safe`, in PyTorch too)
    let safe2 = Tensor.where(positive, x, Tensor.ones([], dtype: .float64))
    try Tensor.where(positive, safe2.log(), zero).sum().backward()
    #expect(x.grad!.toArray() == [0, 0, 0.25])
  }

  @Test func float32SumOfTenMillionElementsIsAccurate() {
    // sum.*: v_i = float32(0.1 + frac(0.618033988749895 i)), i < 10^7. PyTorch 2.15's float32
    // sum is 5999999.0 and its float64 sum of the same values 5999998.806743294 (relative error
    // 3.2e-8, under one float32 ulp, 0.5, of the result). Bound tested: 2 ulps of the result
    // (1.7e-7 relative), for sum, sums over a dim and mean.
    let n = 10_000_000
    let values = (0..<n).map {
      Float(0.1 + (Double($0) * 0.618033988749895).truncatingRemainder(dividingBy: 1))
    }
    let t = Tensor(shape: [n], scalars: values)
    let exact = 5999998.806743294
    let s = t.sum()
    #expect(s.dtype == .float32)
    #expect(abs(s.item() - exact) <= 1.0, "float32 sum \(s.item()) vs float64 \(exact)")
    #expect(abs(t.to(.float64).sum().item() - exact) <= 1e-6)
    let mean = t.mean().item()
    #expect(abs(mean - 0.5999998806743294) <= 1.2e-7, "mean \(mean)")
    // the same over a dim (a [10, 10^6] view, then [10^6, 10] read across rows)
    let rows = t.reshape([10, n / 10]).sum(dim: 1).sum().item()
    #expect(abs(rows - exact) <= 1.0, "row sums \(rows)")
    let columns = t.reshape([n / 10, 10]).sum(dim: 0).sum().item()
    #expect(abs(columns - exact) <= 1.0, "column sums \(columns)")
    // 10^7 times float32(0.1): the float64 sum is 1000000.0149011612; a running float32 sum
    // stalls at 1087937 (8.8% off); PyTorch's sum() gives 999999.5625 (4.5e-7 relative), its
    // mean 0.09999995678663254. Bound tested: 1e-6 relative.
    let tenth = Tensor.full([n], 0.1, dtype: .float32)
    let tenthExact = 1000000.0149011612
    #expect(abs(tenth.sum().item() - tenthExact) <= 1.0, "sum \(tenth.sum().item())")
    #expect(abs(tenth.mean().item() - tenthExact / Double(n)) <= 1e-7, "mean")
    let tenthRows = tenth.reshape([10, n / 10]).sum(dim: 1).sum().item()
    #expect(abs(tenthRows - tenthExact) <= 1.0, "row sums \(tenthRows)")
    let tenthColumns = tenth.reshape([n / 10, 10]).sum(dim: 0).sum().item()
    #expect(abs(tenthColumns - tenthExact) <= 1.0, "column sums \(tenthColumns)")
  }

  @Test func batchNormWithOneValuePerChannelInTrainingStops() async {
    // bn.train, bn.train4d: PyTorch's ValueError
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.batchNorm(
        Tensor.ones([1, 3]), runningMean: nil, runningVar: nil, training: true)
    }
    #expect(
      stderrText(result).contains(
        "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])"),
      "\(stderrText(result))")
    let result4d = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.batchNorm(
        Tensor.ones([1, 3, 1, 1]), runningMean: nil, runningVar: nil, training: true)
    }
    #expect(
      stderrText(result4d).contains(
        "Expected more than 1 value per channel when training, got input size torch.Size([1, 3, 1, 1])"
      ), "\(stderrText(result4d))")
    // bn.eval: evaluation mode normalizes one sample with the running statistics
    let y = Functional.batchNorm(
      Tensor.ones([1, 3]), runningMean: Tensor.zeros([3]), runningVar: Tensor.ones([3]))
    expectClose(y.toArray(), [0.99999499320983887, 0.99999499320983887, 0.99999499320983887])
  }
}
