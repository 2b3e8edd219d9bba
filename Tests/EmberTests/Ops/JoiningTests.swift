import Ember
import Testing

/// A float32 tensor 0, 1, 2, ... of `shape`.
private func iota(_ shape: [Int], from start: Double = 0) -> Tensor {
  let n = shape.reduce(1, *)
  return Tensor(shape: shape, scalars: (0..<n).map { Float(start + Double($0)) })
}

@Suite struct JoiningTests {
  // MARK: cat

  @Test func catAlongDim0() {
    let a = iota([2, 3])
    let b = iota([1, 3], from: 10)
    expectTensor(Tensor.cat([a, b]), shape: [3, 3], [0, 1, 2, 3, 4, 5, 10, 11, 12])
  }

  @Test func catPromotesAndReadsStridedInputs() {
    let a = iota([2, 3])
    let c = Tensor([[0, 1], [2, 3]])  // int64
    let strided = a.t().slice(0, start: 0, end: 2).t()  // [2, 2], not contiguous
    #expect(!strided.isContiguous)
    let out = Tensor.cat([a, c, strided], dim: 1)
    #expect(out.dtype == .float32)
    expectTensor(
      out, shape: [2, 7], [0, 1, 2, 0, 1, 0, 1, 3, 4, 5, 2, 3, 3, 4])
    // negative dim and a legacy empty 1-D tensor, which is skipped
    let skipped = Tensor.cat([a, Tensor.zeros([0]), iota([1, 3], from: 10)], dim: -2)
    expectTensor(skipped, shape: [3, 3], [0, 1, 2, 3, 4, 5, 10, 11, 12])
  }

  @Test func catGradient() throws {
    let a = leaf64([2, 3], seed: 1)
    let b = leaf64([2, 1], seed: 2)
    let c = leaf64([2, 2], seed: 3)
    let out = Tensor.cat([a, b, c], dim: 1)
    #expect(out.gradFn?.name == "CatBackward0")
    try out.backward(gradient: Tensor(shape: [2, 6], scalars: (0..<12).map { Double($0) }))
    expectTensor(a.grad, shape: [2, 3], [0, 1, 2, 6, 7, 8])
    expectTensor(b.grad, shape: [2, 1], [3, 9])
    expectTensor(c.grad, shape: [2, 2], [4, 5, 10, 11])
    #expect(try gradcheck({ Tensor.cat($0, dim: 1) }, inputs: [a, b, c]))
    #expect(
      try gradgradcheck(
        { (Tensor.cat($0, dim: 0) ** 2).sum(dim: 1) }, inputs: [leaf64([3, 2], seed: 11), c]))
  }

  @Test func catGradientReachesMixedDTypes() throws {
    let a = try Tensor([1.0, 2.0], requiresGrad: true)  // float32
    let b = leaf64([2], seed: 4)
    let out = Tensor.cat([a, b])
    #expect(out.dtype == .float64)
    try out.backward(gradient: Tensor([1.0, 2.0, 3.0, 4.0], dtype: .float64))
    #expect(a.grad?.dtype == .float32)
    expectTensor(a.grad, shape: [2], [1, 2])
    expectTensor(b.grad, shape: [2], [3, 4])
  }

  @Test func catWithMismatchedShapesStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.cat([Tensor.zeros([2, 3]), Tensor.zeros([2, 4])], dim: 0)
    }
    #expect(
      stderrText(result).contains(
        "cat: Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for tensor nu"
      ))
  }

  // MARK: stack

  @Test func stackValues() {
    let a = iota([2, 3])
    let b = a * 2
    expectTensor(
      Tensor.stack([a, b], dim: 1), shape: [2, 2, 3], [0, 1, 2, 0, 2, 4, 3, 4, 5, 6, 8, 10])
    expectTensor(
      Tensor.stack([a, b], dim: -1), shape: [2, 3, 2], [0, 0, 1, 2, 2, 4, 3, 6, 4, 8, 5, 10])
  }

  @Test func stackOfSelectsBackward() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = Tensor.stack([x[0] ** 2, x[1] ** 3])
    #expect(y.gradFn?.name == "StackBackward0")
    try y.backward(gradient: Tensor([1.0, 0.5]))
    expectTensor(x.grad, shape: [2], [2, 6])
  }

  @Test func stackGradcheck() throws {
    let a = leaf64([2, 3], seed: 5)
    let b = leaf64([2, 3], seed: 6)
    #expect(try gradcheck({ Tensor.stack($0, dim: 1) }, inputs: [a, b]))
    #expect(try gradgradcheck({ Tensor.stack([$0[0] * $0[1], $0[1]], dim: 2) }, inputs: [a, b]))
  }

  // MARK: split, chunk, unbind

  @Test func splitGivesViews() throws {
    let x = iota([2, 5])
    let pieces = x.split(size: 2, dim: 1)
    #expect(pieces.map(\.shape) == [[2, 2], [2, 2], [2, 1]])
    expectTensor(pieces[0], shape: [2, 2], [0, 1, 5, 6])
    expectTensor(pieces[1], shape: [2, 2], [2, 3, 7, 8])
    expectTensor(pieces[2], shape: [2, 1], [4, 9])
    // pieces share storage with x
    try pieces[1].fill(-1)
    expectTensor(x, shape: [2, 5], [0, 1, -1, -1, 4, 5, 6, -1, -1, 9])
  }

  @Test func splitGradient() throws {
    let x = leaf64([2, 5], seed: 7)
    let pieces = x.split(size: 2, dim: 1)
    #expect(pieces.allSatisfy { $0.gradFn?.name == "SplitBackward0" })
    #expect(pieces[0].gradFn === pieces[2].gradFn)
    // only one piece used: the others get zero gradient
    try (pieces[1] * 3).sum().backward()
    expectTensor(x.grad, shape: [2, 5], [0, 0, 3, 3, 0, 0, 0, 3, 3, 0])
    #expect(
      try gradcheck(
        { t in
          let p = t[0].split(size: 2, dim: 1)
          return p[0] * p[1] + p[2] * 2
        }, inputs: [x]))
    #expect(try gradgradcheck({ ($0[0].split(size: 3, dim: 1)[1] ** 3).sum() }, inputs: [x]))
  }

  @Test func splitWithSizes() throws {
    let x = iota([2, 5])
    let pieces = x.split(sizes: [1, 3, 1], dim: 1)
    expectTensor(pieces[0], shape: [2, 1], [0, 5])
    expectTensor(pieces[1], shape: [2, 3], [1, 2, 3, 6, 7, 8])
    expectTensor(pieces[2], shape: [2, 1], [4, 9])
    let w = leaf64([2, 5], seed: 8)
    #expect(w.split(sizes: [4, 1], dim: -1)[0].gradFn?.name == "SplitWithSizesBackward0")
    #expect(
      try gradcheck(
        { t in
          let p = t[0].split(sizes: [2, 0, 3], dim: 1)
          return Tensor.cat([p[1] * 2, p[2] * p[2], p[0]], dim: 1)
        }, inputs: [w]))
  }

  @Test func chunkSizes() throws {
    #expect(iota([5]).chunk(3).map(\.shape) == [[2], [2], [1]])
    #expect(iota([6]).chunk(4).map(\.shape) == [[2], [2], [2]])
    let c = iota([2, 5]).chunk(2, dim: 1)
    expectTensor(c[1], shape: [2, 2], [3, 4, 8, 9])
    let x = leaf64([3, 4], seed: 9)
    #expect(x.chunk(2)[0].gradFn?.name == "SplitBackward0")
    #expect(
      try gradcheck(
        { t in
          t[0].chunk(3, dim: 1).reduce(Tensor.scalar(0, dtype: .float64)) {
            $0 + $1.sum() * $1.sum()
          }
        }, inputs: [x]))
  }

  @Test func unbindGivesSlices() throws {
    let x = iota([2, 5])
    let cols = x.unbind(dim: 1)
    #expect(cols.count == 5)
    expectTensor(cols[3], shape: [2], [3, 8])
    let w = leaf64([3, 2], seed: 10)
    let rows = w.unbind()
    #expect(rows[0].gradFn?.name == "UnbindBackward0")
    try (rows[2] * 2).sum().backward()
    expectTensor(w.grad, shape: [3, 2], [0, 0, 0, 0, 2, 2])
    #expect(
      try gradcheck(
        { t in
          let r = t[0].unbind(dim: 1)
          return r[0] * r[1]
        }, inputs: [w]))
  }
}
