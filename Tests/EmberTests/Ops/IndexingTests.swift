import Ember
import Testing

/// A float32 tensor 0, 1, 2, ... of `shape`.
private func iota(_ shape: [Int], from start: Double = 0) -> Tensor {
  let n = shape.reduce(1, *)
  return Tensor(shape: shape, scalars: (0..<n).map { Float(start + Double($0)) })
}

/// An int64 tensor.
private func longs(_ values: [Int], shape: [Int]? = nil) -> Tensor {
  Tensor(shape: shape ?? [values.count], scalars: values.map { Int64($0) })
}

@Suite struct IndexingTests {
  // MARK: index_select, index_add

  @Test func indexSelectValuesAndDuplicateGradients() throws {
    expectTensor(
      iota([3, 4]).indexSelect(dim: 1, index: longs([3, 0, 3])), shape: [3, 3],
      [3, 0, 3, 7, 4, 7, 11, 8, 11])
    let x = try iota([3, 4]).setRequiresGrad()
    let y = x.indexSelect(dim: 1, index: longs([3, 0, 3]))
    #expect(y.gradFn?.name == "IndexSelectBackward0")
    try y.backward(gradient: iota([3, 3], from: 1))
    expectTensor(x.grad, shape: [3, 4], [2, 0, 0, 4, 5, 0, 0, 10, 8, 0, 0, 16])
    let w = leaf64([4, 3], seed: 1)
    #expect(try gradcheck({ $0[0].indexSelect(dim: 0, index: longs([2, 0, 2, 3])) }, inputs: [w]))
    #expect(
      try gradgradcheck({ ($0[0].indexSelect(dim: 1, index: longs([1, 1])) ** 2) }, inputs: [w]))
  }

  @Test func indexAddAccumulatesRepeatedIndices() throws {
    let out = iota([3, 4]).indexAdd(
      dim: 0, index: longs([2, 0, 2]), source: Tensor.ones([3, 4]), alpha: 2)
    expectTensor(out, shape: [3, 4], [2, 3, 4, 5, 4, 5, 6, 7, 12, 13, 14, 15])
    let x = leaf64([3, 4], seed: 2)
    let s = leaf64([3, 2], seed: 3)
    #expect(
      x.indexAdd(dim: 1, index: longs([3, 0]), source: s).gradFn?.name == "IndexAddBackward0")
    #expect(
      try gradcheck(
        { $0[0].indexAdd(dim: 1, index: longs([3, 3]), source: $0[1], alpha: -1.5) },
        inputs: [x, s]))
    #expect(
      try gradgradcheck(
        { $0[0].indexAdd(dim: 0, index: longs([1]), source: $0[0][0..<1] * $0[0][2..<3]) },
        inputs: [x]))
    // in place, on a tensor with history
    let h = x * 1
    try h.indexAddInPlace(
      dim: 0, index: longs([1, 1]), source: Tensor.ones([2, 4], dtype: .float64))
    #expect(h.gradFn?.name == "IndexAddBackward0")
    expectClose(h[1].toArray(), (x[1] + 2).toArray())
  }

  // MARK: gather, scatter

  @Test func gatherValuesAndGradient() throws {
    expectTensor(
      iota([3, 4]).gather(dim: 1, index: longs([0, 0, 1, 0, 3, 2], shape: [3, 2])), shape: [3, 2],
      [0, 0, 5, 4, 11, 10])
    let x = try iota([3, 4]).setRequiresGrad()
    let y = x.gather(dim: 1, index: longs([0, 0, 1, 0, 3, 2], shape: [3, 2]))
    #expect(y.gradFn?.name == "GatherBackward0")
    try y.backward(gradient: iota([3, 2], from: 1))
    expectTensor(x.grad, shape: [3, 4], [3, 0, 0, 0, 4, 3, 0, 0, 0, 0, 6, 5])
    let w = leaf64([3, 4], seed: 4)
    let idx = longs([2, 0, 1, 1, 0, 2, 2, 2], shape: [2, 4])
    #expect(try gradcheck({ $0[0].gather(dim: 0, index: idx) }, inputs: [w]))
    #expect(try gradgradcheck({ $0[0].gather(dim: 0, index: idx) ** 2 }, inputs: [w]))
  }

  @Test func scatterValues() {
    let src = Tensor([[1.0, 2, 3, 4]])
    expectTensor(
      Tensor.zeros([3, 4]).scatter(dim: 0, index: longs([2, 1, 0, 2], shape: [1, 4]), src: src),
      shape: [3, 4], [0, 0, 3, 0, 0, 2, 0, 0, 1, 0, 0, 4])
    expectTensor(
      iota([3, 4]).scatter(dim: 1, index: longs([0, 3, 1], shape: [3, 1]), value: -1),
      shape: [3, 4], [-1, 1, 2, 3, 4, 5, 6, -1, 8, -1, 10, 11])
    expectTensor(
      Tensor.zeros([3, 4]).scatterAdd(
        dim: 1, index: longs([0, 0, 1, 3, 3, 3, 2, 0, 2], shape: [3, 3]),
        src: iota([3, 3], from: 1)),
      shape: [3, 4], [3, 3, 0, 0, 0, 0, 0, 15, 8, 0, 16, 0])
  }

  @Test func scatterGradients() throws {
    let x = leaf64([3, 4], seed: 5)
    let s = leaf64([2, 4], seed: 6)
    let unique = longs([2, 0, 1, 1, 0, 2, 2, 0], shape: [2, 4])  // no position written twice
    let y = x.scatter(dim: 0, index: unique, src: s)
    #expect(y.gradFn?.name == "ScatterBackward0")
    #expect(try gradcheck({ $0[0].scatter(dim: 0, index: unique, src: $0[1]) }, inputs: [x, s]))
    #expect(x.scatter(dim: 0, index: unique, value: 2).gradFn?.name == "ScatterBackward1")
    #expect(try gradcheck({ $0[0].scatter(dim: 0, index: unique, value: 2) }, inputs: [x]))
    // src larger than index: only the leading block of src is used
    let small = longs([1, 0, 2], shape: [1, 3])
    #expect(try gradcheck({ $0[0].scatter(dim: 0, index: small, src: $0[1]) }, inputs: [x, s]))
    let dup = longs([0, 0, 0, 1, 2, 2, 2, 0], shape: [2, 4])
    let idx32 = longs([0, 3, 3, 3, 1, 0], shape: [3, 2])
    let z = x.scatterAdd(dim: 0, index: dup, src: s)
    #expect(z.gradFn?.name == "ScatterAddBackward0")
    #expect(try gradcheck({ $0[0].scatterAdd(dim: 0, index: dup, src: $0[1]) }, inputs: [x, s]))
    #expect(
      try gradgradcheck(
        { $0[0].scatterAdd(dim: 1, index: idx32, src: $0[1].t() * $0[1].t()) }, inputs: [x, s]))
  }

  @Test func scatterInPlaceVariants() throws {
    let t = Tensor.zeros([2, 3])
    try t.scatterInPlace(
      dim: 1, index: longs([2, 0], shape: [2, 1]), src: Tensor([[5.0], [6.0]]))
    try t.scatterInPlace(dim: 0, index: longs([1], shape: [1, 1]), value: 9)
    try t.scatterAddInPlace(
      dim: 1, index: longs([2, 2], shape: [1, 2]), src: Tensor([[1.0, 1.0]]))
    expectTensor(t, shape: [2, 3], [0, 0, 7, 9, 0, 0])
    let leaf = leaf64([2, 3], seed: 7)
    #expect(throws: AutogradError.inPlaceOnLeaf) {
      try leaf.scatterInPlace(dim: 0, index: longs([0], shape: [1, 1]), value: 1)
    }
    let h = leaf * 2
    try h.scatterAddInPlace(dim: 0, index: longs([1, 1, 1], shape: [1, 3]), src: leaf[0..<1])
    #expect(h.gradFn?.name == "ScatterAddBackward0")
    try h.sum().backward()
    expectTensor(leaf.grad, shape: [2, 3], [3, 3, 3, 2, 2, 2])
  }

  // MARK: subscripts: views

  @Test func basicSubscriptsAreViews() throws {
    let z = iota([2, 3, 4])
    expectTensor(z[1, 0..<3, 1...], shape: [3, 3], [13, 14, 15, 17, 18, 19, 21, 22, 23])
    expectTensor(z[.all, -1, .range(0..<4, step: 3)], shape: [2, 2], [8, 11, 20, 23])
    expectTensor(z[-1, ..<2, ..<(-1)], shape: [2, 3], [12, 13, 14, 16, 17, 18])
    expectTensor(z[.ellipsis, .newAxis, 1], shape: [2, 3, 1], [1, 5, 9, 13, 17, 21])
    expectTensor(z[0, 1...2, ...1], shape: [2, 2], [4, 5, 8, 9])
    expectTensor(z[1, .range(start: 1, end: -1), .range(1..., step: 2)], shape: [1, 2], [17, 19])
    expectTensor(z[TensorIndex.at(1), .all, 0], shape: [3], [12, 16, 20])
    #expect(z[.newAxis].shape == [1, 2, 3, 4])
    #expect(z[.ellipsis].shape == [2, 3, 4])
    let d: Double = z[1, 2, 3]
    #expect(d == 23)
    // writes through a view change the base
    let x = iota([3, 4])
    let row = x[0]
    try row.fill(7)
    expectTensor(x[0..<2], shape: [2, 4], [7, 7, 7, 7, 4, 5, 6, 7])
    let col = x[.all, 2]
    try col.mulInPlace(Tensor(-1.0))
    expectTensor(x, shape: [3, 4], [7, 7, -7, 7, 4, 5, -6, 7, 8, 9, -10, 11])
  }

  @Test func basicSubscriptGradients() throws {
    let x = leaf64([3, 4], seed: 8)
    #expect(x[1].gradFn?.name == "SelectBackward0")
    #expect(x[.all, 1..<3].gradFn?.name == "SliceBackward0")
    #expect(x[.ellipsis].gradFn?.name == "AliasBackward0")
    #expect(
      try gradcheck({ $0[0][1, .range(0..<4, step: 2)] * $0[0][.ellipsis, 3][..<2] }, inputs: [x]))
    #expect(try gradgradcheck({ ($0[0][.newAxis, 1...] ** 3).sum() }, inputs: [x]))
  }

  // MARK: subscripts: masks and index tensors (copies)

  @Test func maskSubscript() throws {
    let x = try iota([3, 4]).setRequiresGrad()
    let mask = Tensor([
      [false, true, false, false], [true, false, false, true], [false, false, true, false],
    ])
    let y = x[mask]
    #expect(y.gradFn?.name == "IndexBackward0")
    expectTensor(y, shape: [4], [1, 4, 7, 10])
    try y.backward(gradient: Tensor([1.0, 2, 3, 4]))
    expectTensor(x.grad, shape: [3, 4], [0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0])
    // a copy: writing to it leaves x alone
    try y.detach().fill(0)
    #expect(x[0, 1] == 1)
    // a 1-D mask over a later dim
    let z = iota([2, 3, 4])
    expectTensor(
      z[1, Tensor([true, true, false])], shape: [2, 4], [12, 13, 14, 15, 16, 17, 18, 19])
    let w = leaf64([3, 4], seed: 9)
    #expect(try gradcheck({ $0[0][mask] * 2 }, inputs: [w]))
    #expect(
      try gradgradcheck({ $0[0][.all, Tensor([true, false, true, true])] ** 2 }, inputs: [w]))
  }

  @Test func indexTensorSubscript() throws {
    let x = try iota([3, 4]).setRequiresGrad()
    let y = x[longs([2, 0, 2])]
    #expect(y.shape == [3, 4])
    try y.backward(gradient: Tensor.ones([3, 4]))
    expectTensor(x.grad, shape: [3, 4], [1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2])
    let v = iota([3, 4])
    expectTensor(v[longs([2, 0]), longs([1, 3])], shape: [2], [9, 3])
    expectTensor(
      v[.all, longs([1, 0, 3, 3], shape: [2, 2])], shape: [3, 2, 2],
      [1, 0, 3, 3, 5, 4, 7, 7, 9, 8, 11, 11])
    let z = iota([2, 3, 4])
    // non-adjacent index tensors: the index dims go first
    expectTensor(
      z[longs([1, 0]), .all, longs([0, 3])], shape: [2, 3], [12, 16, 20, 3, 7, 11])
    // an integer first is a view, then the index tensor applies to what is left
    expectTensor(z[0, .all, longs([1, 2])], shape: [3, 2], [1, 2, 5, 6, 9, 10])
    expectTensor(z[1, -1, longs([-1, 0])], shape: [2], [23, 20])
    let w = leaf64([3, 4], seed: 10)
    #expect(try gradcheck({ $0[0][longs([2, 0, 2]), 1...] }, inputs: [w]))
    #expect(try gradcheck({ $0[0][longs([1, 1, 0]), longs([3])] }, inputs: [w]))
    #expect(try gradgradcheck({ $0[0][.all, longs([0, 0, 2])] ** 2 }, inputs: [w]))
  }

  // MARK: subscript assignment

  @Test func assignmentThroughSubscripts() {
    let x = iota([3, 4])
    x[0] = 10
    x[.all, 3] = Tensor([-1.0, -2, -3])
    expectTensor(x, shape: [3, 4], [10, 10, 10, -1, 4, 5, 6, -2, 8, 9, 10, -3])
    let y = iota([3, 4])
    y[0, 1..<3] = Tensor([[9.0, 8.0]])  // extra leading 1 is dropped, as in PyTorch
    y[y .> 8] = 0
    expectTensor(y, shape: [3, 4], [0, 0, 8, 3, 4, 5, 6, 7, 8, 0, 0, 0])
    let z = iota([3, 4])
    z[1..., longs([0, 2])] = Tensor([5.0, 7.0])
    z[longs([0, 2]), longs([3, 0])] = -5
    expectTensor(z, shape: [3, 4], [0, 1, 2, -5, 5, 5, 7, 7, -5, 9, 7, 11])
    let ints = Tensor([1, 2, 3])
    ints[1] = 7.9  // converted like PyTorch: truncated toward zero
    #expect(ints.scalars(as: Int64.self) == [1, 7, 3])
  }

  @Test func assignmentRecordsCopySlices() throws {
    let m = try Tensor([2.0, 3.0], requiresGrad: true)
    let n = Tensor.zeros([2])
    n[0] = m[0] ** 2
    n[1] = m[1] ** 3
    #expect(n.gradFn?.name == "CopySlices")
    try n.backward(gradient: Tensor([1.0, 1.0]))
    expectTensor(m.grad, shape: [2], [4, 27])
  }

  @Test func maskAndIndexAssignmentGradients() throws {
    let x = try iota([3, 4]).setRequiresGrad()
    let h = x * 1
    h[h .> 5] = 0
    #expect(h.gradFn != nil)
    h[0, longs([1, 2])] = Tensor([10.0, 20.0]) * x[2, ..<2]
    try h.backward(gradient: iota([3, 4]))
    expectTensor(x.grad, shape: [3, 4], [0, 0, 0, 3, 4, 5, 0, 0, 10, 40, 0, 0])
    let w = leaf64([3, 4], seed: 11)
    let v = leaf64([2], seed: 12)
    #expect(
      try gradcheck(
        { t in
          let c = t[0] * 1
          try c.setItems([longs([2, 0]), 1], to: t[1] * t[1])
          try c.setItems([.all, 3], to: 0.5)
          return c
        }, inputs: [w, v]))
    #expect(
      try gradcheck(
        { t in t[0].indexPut([nil, longs([1, 1])], values: t[1][..<1], accumulate: true) },
        inputs: [w, v]))
  }

  @Test func setItemsThrowsOnLeafThatRequiresGrad() throws {
    let leaf = leaf64([3], seed: 13)
    #expect(throws: AutogradError.inPlaceOnViewOfLeaf) { try leaf.setItems([0], to: 1.0) }
    #expect(throws: AutogradError.inPlaceOnViewOfLeaf) {
      try leaf.setItems([0..<2], to: Tensor([1.0, 2.0]))
    }
    // allowed without grad recording
    try withNoGrad { try leaf.setItems([1], to: 5.0) }
    #expect(leaf[1] == 5.0)
  }

  @Test func assignmentThroughTransposedViewAndTyping() {
    let x = iota([3, 4])
    let xt = x.t()
    xt[longs([1])] = Tensor(-1.0)
    xt[2, 0] = 100
    expectTensor(x, shape: [3, 4], [0, -1, 100, 3, 4, -1, 6, 7, 8, -1, 10, 11])
    // reads default to tensors; the Double subscript is picked only where a Double is needed
    let sum = x[0] + 1
    #expect(sum.shape == [4])
    let first: Double = x[1, 0]
    #expect(first == 4)
  }

  @Test func largeKernelsMatchReference() {
    // big enough to take the parallel paths
    let (rows, cols) = (300, 257)
    let x = Tensor(shape: [rows, cols], scalars: (0..<(rows * cols)).map { Double($0) })
    let picks = (0..<500).map { ($0 * 7919) % cols }
    let sel = x.indexSelect(dim: 1, index: longs(picks)).toArray()
    var ok = true
    for r in 0..<rows {
      for (j, c) in picks.enumerated() where sel[r * picks.count + j] != Double(r * cols + c) {
        ok = false
      }
    }
    #expect(ok)
    let gidx = (0..<(rows * 200)).map { ($0 * 31) % rows }
    let g = x.gather(dim: 0, index: longs(gidx, shape: [rows, 200])).toArray()
    #expect(
      (0..<(rows * 200)).allSatisfy { i in g[i] == Double(gidx[i] * cols + i % 200) })
    // scatter_add with many collisions: column sums are preserved
    let src = Tensor.ones([rows, 200], dtype: .float64)
    let acc = Tensor.zeros([rows, cols], dtype: .float64).scatterAdd(
      dim: 0, index: longs(gidx, shape: [rows, 200]), src: src)
    #expect(acc.sum().item() == Double(rows * 200))
    expectClose(acc.sum(dim: 0)[..<200].toArray(), [Double](repeating: Double(rows), count: 200))
    let big = Tensor.cat([x, x * 2, x[.all, 1..<5]], dim: 1)
    #expect(big.shape == [rows, 2 * cols + 4])
    #expect(big[299, cols + 3] == 2 * Double(299 * cols + 3))
    #expect(big[17, 2 * cols + 2] == Double(17 * cols + 3))
    let acc2 = Tensor.zeros([rows * cols], dtype: .float64)
    acc2[longs(gidx)] = Tensor.ones([gidx.count], dtype: .float64)
    try! acc2.indexPutInPlace(
      [longs(gidx)], values: Tensor.ones([gidx.count], dtype: .float64), accumulate: true)
    #expect(acc2[0..<rows].sum().item() == Double(rows + gidx.count))
  }

  @Test func outOfRangeIndexStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.zeros([2, 3])[5]
    }
    #expect(stderrText(result).contains("index 5 is out of bounds for dimension 0 with size 2"))
  }

  @Test func outOfRangeGatherIndexStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.zeros([2, 3]).gather(dim: 0, index: Tensor([[2]]))
    }
    #expect(
      stderrText(result).contains("gather(): index 2 is out of bounds for dimension 0 with size 2"))
  }
}
