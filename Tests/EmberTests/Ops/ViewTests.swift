import Ember
import Testing

@Suite struct ViewTests {
  @Test func viewsShareStorage() throws {
    let x = Tensor.arange(0.0, 6.0).reshape(2, 3)
    #expect(x.transpose(0, 1).storage === x.storage)
    #expect(x.permute(1, 0).isContiguous == false)
    #expect(x.unsqueeze(0).shape == [1, 2, 3])
    #expect(x.unsqueeze(0).squeeze(0).shape == [2, 3])
    #expect(x.expand(4, 2, 3).strides == [0, 3, 1])
    #expect(x.narrow(1, start: 1, length: 2).toArray() == [1, 2, 4, 5])
    #expect(x.slice(1, start: 0, end: 3, step: 2).toArray() == [0, 2, 3, 5])
    #expect(x.select(1, -1).toArray() == [2, 5])
    #expect(x.flatten().shape == [6])
    #expect(x.t().reshape(6).toArray() == [0, 3, 1, 4, 2, 5])
    #expect(x.reshape(3, -1).shape == [3, 2])
    #expect(x.mT.shape == [3, 2])
    // a contiguous view with an offset copies through the memcpy path
    #expect(x.reshape(3, 2).narrow(0, start: 1, length: 2).clone().toArray() == [2, 3, 4, 5])
    #expect(x.t().contiguous().toArray() == [0, 3, 1, 4, 2, 5])
  }

  /// squeeze with no dim, one dim or a list (with or without the `dim:` label) records PyTorch's
  /// three nodes; a listed dim whose size is not 1 stays.
  @Test func squeezeTakesNoDimOneDimOrAList() throws {
    let x = try Tensor.zeros([1, 2, 1, 3]).setRequiresGrad()
    let cases: [(Tensor, [Int], String)] = [
      (x.squeeze(), [2, 3], "SqueezeBackward0"),
      (x.squeeze(0), [2, 1, 3], "SqueezeBackward1"),
      (x.squeeze(dim: -2), [1, 2, 3], "SqueezeBackward1"),
      (x.squeeze(dim: 1), [1, 2, 1, 3], "SqueezeBackward1"),
      (x.squeeze([0, 2]), [2, 3], "SqueezeBackward2"),
      (x.squeeze(dim: [0, 1]), [2, 1, 3], "SqueezeBackward2"),
      (x.squeeze(dim: []), [1, 2, 1, 3], "SqueezeBackward2"),
    ]
    for (y, shape, node) in cases {
      #expect(y.shape == shape && y.gradFn?.name == node, "\(y.shape) \(y.gradFn?.name ?? "")")
      #expect(y.storage === x.storage)
    }
    // 0-d: squeeze(0) is the identity but still records a node, as in PyTorch
    let s = try Tensor(3.0, requiresGrad: true)
    #expect(s.squeeze(0).shape == [] && s.squeeze(0).gradFn?.name == "SqueezeBackward1")
    #expect(s.squeeze([0]).gradFn?.name == "SqueezeBackward2")
    let g = x.squeeze(dim: [0, 2])
    try g.backward(gradient: Tensor([[1.0, 2, 3], [4, 5, 6]]))
    expectTensor(x.grad, shape: [1, 2, 1, 3], [1, 2, 3, 4, 5, 6])
    #expect(x.unsqueeze(dim: 1).shape == [1, 1, 2, 1, 3])
    #expect(x.unsqueeze(dim: -1).shape == x.unsqueeze(-1).shape)
  }

  @Test func squeezeWithARepeatedDimStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.zeros([1, 2, 1]).squeeze(dim: [0, -3])
    }
    #expect(
      stderrText(result).contains("squeeze: dim 0 appears multiple times in the list of dims"))
  }

  /// `T` reverses every dim as PyTorch's `.T` (a PermuteBackward0 view); `mT` swaps the last two.
  @Test func capitalTReversesAllDims() throws {
    let x = try Tensor(
      [[0.5, -1.25, 2.0], [1.5, -0.5, 3.25]], dtype: .float64, requiresGrad: true)
    let t = x.T
    #expect(t.shape == [3, 2] && t.gradFn?.name == "PermuteBackward0" && t.storage === x.storage)
    #expect(t.toArray() == [0.5, 1.5, -1.25, -0.5, 2.0, 3.25])
    try t.backward(gradient: Tensor([[1.0, 2], [3, 4], [5, 6]], dtype: .float64))
    expectTensor(x.grad, shape: [2, 3], [1, 3, 5, 2, 4, 6])
    let y = Tensor.arange(0, 24.0).reshape(2, 3, 4)
    #expect(y.T.shape == [4, 3, 2] && y.T.strides == [1, 4, 12])
    #expect(Array(y.T.toArray()[..<8]) == [0, 12, 4, 16, 8, 20, 1, 13])
    #expect(y.mT.shape == [2, 4, 3])
    #expect(Tensor([1.0, 2, 3]).T.shape == [3] && Tensor(3.0).T.shape == [])
  }

  @Test func viewGradients() throws {
    let a = leaf64([2, 3, 4], seed: 3)
    let checks: [([Tensor]) -> Tensor] = [
      { $0[0].reshape(4, -1) * 2 },
      { $0[0].transpose(0, 2) * $0[0].transpose(0, 2) },
      { $0[0].permute(2, 0, 1).exp() },
      { $0[0].select(1, 2) ** 2 },
      { $0[0].narrow(2, start: 1, length: 2) * 3 },
      { $0[0].slice(2, start: 0, end: 4, step: 2).exp() },
      { $0[0].unsqueeze(1).squeeze(1) ** 3 },
      { $0[0].flatten(startDim: 1) * 2 },
      { $0[0].sum(dim: [1], keepdim: true).expand(2, 3, 4) ** 2 },
      { $0[0].permute(1, 0, 2).reshape(3, 8) ** 2 },
    ]
    for f in checks {
      #expect(try gradcheck(f, inputs: [a]))
      #expect(try gradgradcheck(f, inputs: [a]))
    }
  }

  @Test func inPlaceThroughViewReachesBase() throws {
    let m = try Tensor([2.0, 3.0], dtype: .float64, requiresGrad: true)
    let n = Tensor.zeros([2], dtype: .float64)
    try n.select(0, 0).copy(from: m.select(0, 0) ** 2)
    try n.select(0, 1).copy(from: m.select(0, 1) ** 3)
    #expect(n.gradFn?.name == "CopySlices")
    try (n * Tensor([1.0, 2.0], dtype: .float64)).sum().backward()
    expectTensor(m.grad, shape: [2], [4, 54])
    // gradcheck through a base modified via a view
    let x = leaf64([3, 4], seed: 5)
    #expect(
      try gradcheck(
        { xs in
          let base = xs[0] * 1
          try! base.select(0, 1).mulInPlace(xs[0].select(0, 2))
          return base.exp()
        }, inputs: [x]))
  }

  @Test func olderViewsSeeInPlaceChangesToTheirBase() throws {
    let x = try Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype: .float64, requiresGrad: true)
    let base = x * 1
    let whole = base.view(6)
    let row1 = base.select(0, 1)
    try base.select(0, 0).mulInPlace(2)  // changes values `whole` reads, not `row1`
    try ((whole * whole).sum() + row1.sum()).backward()
    // d/dx of sum((2x)^2) over row 0 is 8x; of x^2 + x over row 1 is 2x + 1
    expectTensor(x.grad, shape: [2, 3], [8, 16, 24, 9, 11, 13])
    #expect(whole.gradFn?.name == "AsStridedBackward0")
    // a view of a base that gained history through another view now requires grad
    let m = try Tensor([2.0, 3.0], dtype: .float64, requiresGrad: true)
    let n = Tensor.zeros([2], dtype: .float64)
    let all = n.view(2)
    try n.select(0, 0).copy(from: m.select(0, 0) ** 2)
    #expect(all.requiresGrad)
    try all.sum().backward()
    expectTensor(m.grad, shape: [2], [4, 0])
    let y = leaf64([3, 4], seed: 21)
    #expect(
      try gradcheck(
        { xs in
          let b = xs[0] * 1
          let t = b.t()
          try! b.select(1, 2).mulInPlace(xs[0].select(1, 0))
          return t.exp()
        }, inputs: [y]))
  }

  @Test func inPlaceOnViewOfLeafThrows() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    #expect(throws: AutogradError.inPlaceOnViewOfLeaf) { try x.select(0, 0).fill(3) }
  }

  @Test func reshapeOfNonContiguousCopies() throws {
    let x = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
    let y = x.t().reshape(4)
    #expect(y.gradFn?.name == "UnsafeViewBackward0")
    #expect(y.toArray() == [1, 3, 2, 4])
    try (y * Tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    expectTensor(x.grad, shape: [2, 2], [1, 3, 2, 4])
  }

  @Test func badViewStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.zeros([2, 3]).t().view(6)
    }
    #expect(
      stderrText(result).contains(
        "view: size [6] is not compatible with input tensor's size [3, 2] and stride [1, 3] (at least one dim"
      ))
  }
}
