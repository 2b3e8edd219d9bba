import Ember
import Testing

@Suite struct LinearTests {
  @Test(arguments: ConvPoolFixture.ids(["linear", "bilinear"]))
  func goldenCase(id: String) throws {
    try ConvPoolFixture.check(id)
  }

  @Test func linearGradcheckAndGradgradcheck() throws {
    let w = leaf64([3, 4], seed: 2)
    let b = leaf64([3], seed: 3)
    for shape in [[5, 4], [2, 3, 4], [4]] {
      let x = leaf64(shape, seed: 1)
      #expect(try gradcheck({ Functional.linear($0[0], $0[1], bias: $0[2]) }, inputs: [x, w, b]))
      #expect(
        try gradgradcheck({ Functional.linear($0[0], $0[1], bias: $0[2]) }, inputs: [x, w, b]))
      #expect(try gradgradcheck({ Functional.linear($0[0], $0[1]) }, inputs: [x, w]))
    }
    // a bias broadcast over the rows of a 2-D input (addmm's bias is any broadcastable shape)
    let x = leaf64([5, 4], seed: 4)
    let b2 = leaf64([5, 1], seed: 5)
    #expect(
      try gradgradcheck({ Functional.linear($0[0], $0[1], bias: $0[2]) }, inputs: [x, w, b2]))
  }

  @Test func bilinearGradcheckAndGradgradcheck() throws {
    let x1 = leaf64([3, 4], seed: 6)
    let x2 = leaf64([3, 2], seed: 7)
    let w = leaf64([5, 4, 2], seed: 8)
    let b = leaf64([5], seed: 9)
    let f: ([Tensor]) -> Tensor = { Functional.bilinear($0[0], $0[1], $0[2], bias: $0[3]) }
    #expect(try gradcheck(f, inputs: [x1, x2, w, b]))
    #expect(try gradgradcheck(f, inputs: [x1, x2, w, b]))
  }

  @Test func gradFnChainsAsPyTorch() {
    let w = leaf64([3, 4], seed: 2)
    let b = leaf64([3], seed: 3)
    // 2-D with bias: addmm(bias, input, weight.t())
    let y = Functional.linear(leaf64([5, 4]), w, bias: b)
    #expect(y.gradFn?.name == "AddmmBackward0")
    #expect(
      y.gradFn?.nextFunctions.map { $0.node?.name } == [
        "AccumulateGrad", "AccumulateGrad", "TBackward0",
      ])
    #expect(Functional.linear(leaf64([5, 4]), w).gradFn?.name == "MmBackward0")
    // 3-D contiguous: flattened, one addmm, viewed back
    let z = Functional.linear(leaf64([2, 5, 4]), w, bias: b)
    #expect(z.gradFn?.name == "UnsafeViewBackward0")
    let addmm = z.gradFn?.nextFunctions[0].node
    #expect(addmm?.name == "AddmmBackward0")
    #expect(
      addmm?.nextFunctions.map { $0.node?.name } == [
        "AccumulateGrad", "ViewBackward0", "TBackward0",
      ])
    #expect(Functional.linear(leaf64([2, 5, 4]), w).gradFn?.name == "UnsafeViewBackward0")
    #expect(Functional.linear(leaf64([4]), w).gradFn?.name == "SqueezeBackward4")
    // a non-contiguous 3-D input: matmul, then the bias added
    let t = Functional.linear(leaf64([5, 2, 4]).transpose(0, 1), w, bias: b)
    #expect(t.gradFn?.name == "AddBackward0")
    // bilinear: the trilinear product viewed back, then the bias
    let x1 = leaf64([5, 4])
    let bl = Functional.bilinear(x1, leaf64([5, 3]), leaf64([6, 4, 3]), bias: leaf64([6]))
    #expect(bl.gradFn?.name == "AddBackward0")
    let view = bl.gradFn?.nextFunctions[0].node
    #expect(view?.name == "ViewBackward0")
    #expect(view?.nextFunctions[0].node?.name == "TrilinearBackward0")
    #expect(
      view?.nextFunctions[0].node?.nextFunctions.map { $0.node?.name } == [
        "ViewBackward0", "AccumulateGrad", "ViewBackward0",
      ])
  }

  /// A layer-sized product (threaded GEMM with the bias fused) against matmul plus the bias.
  @Test func largeLinearMatchesMatmulPlusBias() throws {
    let gen = Generator(seed: 3)
    for dtype in [DType.float64, .float32] {
      let x = try Tensor.randn([64, 3136], dtype: dtype, generator: gen).setRequiresGrad()
      let w = try Tensor.randn([128, 3136], dtype: dtype, generator: gen).setRequiresGrad()
      let b = try Tensor.randn([128], dtype: dtype, generator: gen).setRequiresGrad()
      let y = Functional.linear(x, w, bias: b)
      let tol = dtype == .float64 ? 1e-10 : 1e-3
      let want = withNoGrad { x.matmul(w.t()) + b }
      expectClose(y.toArray(), want.toArray(), rtol: tol, atol: tol)
      try y.sum().backward()
      expectClose(b.grad!.toArray(), [Double](repeating: 64, count: 128))
      let wantW = withNoGrad { Tensor.ones([64, 128], dtype: dtype).t().mm(x) }
      expectClose(w.grad!.toArray(), wantW.toArray(), rtol: tol, atol: tol)
    }
  }

  @Test func integerLinear() {
    // as PyTorch, int64 tensors go through matmul
    let y = Functional.linear(
      Tensor([[1, 2], [3, 4]]), Tensor([[1, 0], [1, 1]]), bias: Tensor([10, 20]))
    #expect(y.dtype == .int64)
    #expect(y.toArray() == [11, 23, 13, 27])
  }

  @Test func badInputStopsWithPyTorchsMessage() async {
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.linear(Tensor.zeros([64, 3136]), Tensor.zeros([128, 3137]))
      }, "linear: mat1 and mat2 shapes cannot be multiplied (64x3136 and 3137x128)")
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.linear(
          Tensor.zeros([2, 5, 4]), Tensor.zeros([3, 5]), bias: Tensor.zeros([3]))
      }, "linear: mat1 and mat2 shapes cannot be multiplied (10x4 and 5x3)")
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.linear(Tensor.zeros([2, 4]), Tensor.zeros([3, 4]), bias: Tensor.zeros([2]))
      },
      "linear: The expanded size of the tensor (3) must match the existing size (2) at non-singleton dimension 1.  Target sizes: [2, 3].  Tensor sizes: [2]"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.bilinear(
          Tensor.zeros([2, 5]), Tensor.zeros([2, 3]), Tensor.zeros([6, 4, 3]))
      }, "bilinear(): input1 size does not match weight size: got 5 but expected 4")
  }
}
