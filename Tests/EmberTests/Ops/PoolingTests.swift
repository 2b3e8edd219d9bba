import Ember
import Testing

@Suite struct PoolingTests {
  @Test(
    arguments: ConvPoolFixture.ids([
      "max_pool2d", "max_pool1d", "avg_pool2d", "avg_pool1d", "adaptive_avg_pool2d",
      "adaptive_max_pool2d",
    ]))
  func goldenCase(id: String) throws {
    try ConvPoolFixture.check(id)
  }

  @Test func maxPoolGradcheckAndGradgradcheck() throws {
    let x = leaf64([2, 2, 5, 6], seed: 3)
    let pools: [([Tensor]) -> Tensor] = [
      { Functional.maxPool2d($0[0], kernelSize: 2) },
      { Functional.maxPool2d($0[0], kernelSize: 3, stride: [2, 1], padding: 1, ceilMode: true) },
      { Functional.maxPool2d($0[0], kernelSize: [2, 2], stride: 1, dilation: 2) },
      { Functional.adaptiveMaxPool2d($0[0], outputSize: [3, 4]) },
      { Functional.maxPool1d($0[0].flatten(startDim: 2), kernelSize: 3, stride: 2, padding: 1) },
    ]
    for (i, f) in pools.enumerated() {
      #expect(try gradcheck(f, inputs: [x]), "pool \(i)")
      #expect(try gradgradcheck(f, inputs: [x]), "pool \(i)")
    }
  }

  @Test func avgPoolGradcheckAndGradgradcheck() throws {
    let x = leaf64([2, 2, 5, 6], seed: 4)
    let pools: [([Tensor]) -> Tensor] = [
      { Functional.avgPool2d($0[0], kernelSize: 2) },
      { Functional.avgPool2d($0[0], kernelSize: 3, stride: 2, padding: 1, ceilMode: true) },
      {
        Functional.avgPool2d(
          $0[0], kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false)
      },
      { Functional.avgPool2d($0[0], kernelSize: [2, 3], stride: 1, divisorOverride: 4) },
      { Functional.adaptiveAvgPool2d($0[0], outputSize: [3, 4]) },
      { Functional.adaptiveAvgPool2d($0[0], outputSize: 1) },
      { Functional.avgPool1d($0[0].flatten(startDim: 2), kernelSize: 4, stride: 3, padding: 2) },
    ]
    for (i, f) in pools.enumerated() {
      #expect(try gradcheck(f, inputs: [x]), "pool \(i)")
      #expect(try gradgradcheck(f, inputs: [x]), "pool \(i)")
    }
  }

  /// The backward ops are differentiable ops with PyTorch's names, and their own backward
  /// is the forward pool again (or a gather, for max pools).
  @Test func doubleBackwardNodes() throws {
    let x = leaf64([1, 2, 4, 4], seed: 5)
    let cases: [(String, (Tensor) -> Tensor)] = [
      ("MaxPool2DWithIndicesBackwardBackward0", { Functional.maxPool2d($0, kernelSize: 2) }),
      ("AvgPool2DBackwardBackward0", { Functional.avgPool2d($0, kernelSize: 2) }),
      ("AdaptiveAvgPool2DBackwardBackward0", { Functional.adaptiveAvgPool2d($0, outputSize: 3) }),
      ("AdaptiveMaxPool2DBackwardBackward0", { Functional.adaptiveMaxPool2d($0, outputSize: 3) }),
    ]
    for (name, f) in cases {
      let y = f(x)
      let v = try Tensor.ones(like: y).setRequiresGrad()
      let g = try grad(of: [y], withRespectTo: [x], gradOutputs: [v], createGraph: true)[0]!
      #expect(g.gradFn?.name == name)
      // d(sum(g * x)) / dv = the pool of x (max: x at the argmax)
      let h = try grad(of: (g * x.detach()).sum(), withRespectTo: v)
      expectClose(h.toArray(), f(x.detach()).toArray(), rtol: 1e-12, atol: 1e-12, name)
    }
  }

  @Test func maxPoolNaNAndTies() {
    // from PyTorch: NaN wins (the last NaN of the window), ties keep the first element
    let nan = Double.nan
    let r = Functional.maxPool2dWithIndices(
      Tensor([[[[1.0, nan], [nan, 0.0]]]], dtype: .float64), kernelSize: 2)
    #expect(r.output.item().isNaN)
    #expect(r.indices.toArray() == [2])
    let a = Functional.adaptiveMaxPool2dWithIndices(
      Tensor([[[[1.0, nan], [nan, 0.0]]]], dtype: .float64), outputSize: 1)
    #expect(a.indices.toArray() == [2])
    let t = Functional.maxPool2dWithIndices(Tensor.ones([1, 1, 2, 2]), kernelSize: 2)
    #expect(t.indices.toArray() == [0])
  }

  /// The 2x2, stride-2 fast path (the C kernel: whole vectors of columns and partial ones)
  /// against the general loop, which `ceilMode` with an odd width takes: the same values and
  /// indices on the windows both have, with NaNs (the last one wins), ties (the first wins) and
  /// -inf in the windows.
  @Test(arguments: [DType.float32, .float64])
  func twoByTwoFastPathMatchesTheGeneralLoop(dtype: DType) {
    var values = Tensor.randn([2, 3, 6, 13], dtype: .float64, generator: Generator(seed: 11))
      .toArray().map { ($0 * 4).rounded() / 4 }  // many ties
    for i in stride(from: 5, to: values.count, by: 17) { values[i] = .nan }
    for i in stride(from: 3, to: values.count, by: 23) { values[i] = -.infinity }
    let x = Tensor(values, dtype: dtype).reshape([2, 3, 6, 13])
    let fast = Functional.maxPool2dWithIndices(x, kernelSize: 2)
    let general = Functional.maxPool2dWithIndices(x, kernelSize: 2, ceilMode: true)
    #expect(fast.output.shape == [2, 3, 3, 6])
    #expect(general.output.shape == [2, 3, 3, 7])
    let expected = general.output[.all, .all, .all, 0..<6].toArray()
    let actual = fast.output.toArray()
    #expect(actual.count == expected.count)
    for (a, e) in zip(actual, expected) {
      #expect(a == e || (a.isNaN && e.isNaN))
    }
    #expect(fast.indices.toArray() == general.indices[.all, .all, .all, 0..<6].toArray())
    #expect(actual.contains { $0.isNaN })
  }

  /// Batches of many planes (split across threads) against reshapes and reductions.
  @Test func largeInputsMatchReductions() {
    let x = Tensor.randn([16, 32, 28, 28], generator: Generator(seed: 7))
    let windows = x.reshape([16, 32, 14, 2, 14, 2])
    expectClose(
      Functional.maxPool2d(x, kernelSize: 2).toArray(), windows.amax(dim: [3, 5]).toArray(),
      rtol: 0, atol: 0)
    expectClose(
      Functional.avgPool2d(x, kernelSize: 2).toArray(), windows.mean(dim: [3, 5]).toArray(),
      rtol: 1e-6, atol: 1e-6)
    expectClose(
      Functional.adaptiveAvgPool2d(x, outputSize: 7).toArray(),
      x.reshape([16, 32, 7, 4, 7, 4]).mean(dim: [3, 5]).toArray(), rtol: 1e-5, atol: 1e-6)
  }

  @Test func gradFnNames() {
    let x = leaf64([2, 3, 4, 4])
    #expect(Functional.maxPool2d(x, kernelSize: 2).gradFn?.name == "MaxPool2DWithIndicesBackward0")
    #expect(
      Functional.maxPool2d(x[0], kernelSize: 2).gradFn?.name == "MaxPool2DWithIndicesBackward0")
    #expect(Functional.avgPool2d(x, kernelSize: 2).gradFn?.name == "AvgPool2DBackward0")
    #expect(
      Functional.adaptiveAvgPool2d(x, outputSize: 2).gradFn?.name == "AdaptiveAvgPool2DBackward0")
    #expect(Functional.adaptiveAvgPool2d(x, outputSize: 1).gradFn?.name == "MeanBackward1")
    #expect(
      Functional.adaptiveMaxPool2d(x, outputSize: 2).gradFn?.name == "AdaptiveMaxPool2DBackward0")
    let m = Functional.maxPool1d(x[0], kernelSize: 2)
    #expect(m.gradFn?.name == "SqueezeBackward1")
    #expect(m.gradFn?.nextFunctions[0].node?.name == "MaxPool2DWithIndicesBackward0")
    #expect(Functional.maxPool2d(x.detach(), kernelSize: 2).gradFn == nil)
  }

  @Test func emptyBatch() throws {
    let x = try Tensor.zeros([0, 2, 4, 4]).setRequiresGrad()
    let y = Functional.maxPool2d(x, kernelSize: 2)
    #expect(y.shape == [0, 2, 2, 2])
    try y.sum().backward()
    #expect(x.grad?.shape == [0, 2, 4, 4])
  }

  @Test func badInputStopsWithPyTorchsMessage() async {
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.maxPool2d(Tensor.zeros([1, 1, 5, 5]), kernelSize: 3, padding: 2)
      },
      "max_pool2d: pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and dilation=1"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.maxPool2d(Tensor.zeros([1, 1, 1, 1]), kernelSize: 2)
      },
      "max_pool2d: Given input size: (1x1x1). Calculated output size: (1x0x0). Output size is too small"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.maxPool2d(Tensor.zeros([5, 5]), kernelSize: 2)
      }, "max_pool2d: non-empty 3D or 4D (batch mode) tensor expected for input")
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.avgPool2d(Tensor.zeros([1, 1, 4, 4]), kernelSize: 2, divisorOverride: 0)
      }, "avg_pool2d: divisor must be not zero")
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.maxPool1d(Tensor.zeros([1, 1, 1]), kernelSize: 2)
      }, "max_pool1d() Invalid computed output size: 0")
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.adaptiveAvgPool2d(Tensor.zeros([1, 1, 0, 5]), outputSize: 2)
      },
      "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes [1, 1, 0, 5] with dimension 2 being empty"
    )
  }

  /// Windows entirely in the padding (height 1, padding 1, dilation 2, ceil mode): PyTorch 2.15
  /// gives -inf with indices [5, 4, 5, 6] past the plane, and its backward then corrupts memory
  /// ("double free or corruption"); Ember gives the same forward and a zero gradient.
  @Test func windowsEntirelyInThePadding() throws {
    let x = Tensor([[[[1.0, 2, 3, 4]]]])
    try x.setRequiresGrad()
    let (y, indices) = Functional.maxPool2dWithIndices(
      x, kernelSize: 2, stride: 1, padding: 1, dilation: 2, ceilMode: true)
    #expect(y.shape == [1, 1, 1, 4])
    let minusInfinity = [Double](repeating: -.infinity, count: 4)
    #expect(y.toArray() == minusInfinity)
    let expectedIndices: [Double] = [5, 4, 5, 6]
    #expect(indices.toArray() == expectedIndices)
    try y.backward(gradient: Tensor.ones(like: y))
    #expect(x.grad?.toArray() == [0, 0, 0, 0])
  }
}
