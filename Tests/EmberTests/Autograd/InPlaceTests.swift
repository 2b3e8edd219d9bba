import Ember
import Testing

/// In-place rules PyTorch enforces (issue 5's trial): history moves with retained grads, views
/// that cannot take an in-place op's history are refused, overlapping writes are refused, and
/// `.data` is invisible to autograd. Expected values and messages are PyTorch 2.15's.
@Suite struct InPlaceTests {
  // MARK: retained grads follow the new history

  @Test func retainGradMovesToTheInPlaceHistory() throws {
    // PyTorch: y.grad == [1, 10] (the gradient of the value after mul_), y.grad_fn MulBackward0
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x * 2
    try y.retainGrad()
    try y.mulInPlace(3)
    try (y * Tensor([1.0, 10.0])).sum().backward()
    expectTensor(y.grad, shape: [2], [1, 10])
    expectTensor(x.grad, shape: [2], [6, 60])
    #expect(y.retainsGrad)
  }

  @Test func retainGradOnAViewMovesWhenTheBaseChanges() throws {
    // PyTorch: v = y[0:2]; v.retain_grad(); y.mul_(2); (v * [1, 10]).sum().backward()
    // -> v.grad == [1, 10], x.grad == [4, 40, 0]
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let y = x * 1
    let v = y[0..<2]
    try v.retainGrad()
    try y.mulInPlace(2)
    try (v * Tensor([1.0, 10.0])).sum().backward()
    expectTensor(v.grad, shape: [2], [1, 10])
    expectTensor(x.grad, shape: [3], [2, 20, 0])
  }

  // MARK: views that cannot take history

  static let noGradViewMessage =
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. "
    + "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    + "your code by moving both the view and the inplace either both inside the withNoGrad block "
    + "(if you don't want the inplace to be tracked) or both outside (if you want the inplace to "
    + "be tracked)."

  @Test func viewMadeUnderNoGradCannotBeModifiedWithGrad() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x * 2
    let v = withNoGrad { y[0..<1] }
    // PyTorch: v.requires_grad is True (it follows its base)
    let expected = AutogradError.inPlaceOnRestrictedView(
      function: nil, outputNr: 0, multipleViews: false)
    #expect(throws: expected) { try v.mulInPlace(2) }
    #expect(expected.description == Self.noGradViewMessage)
    // nothing was written
    #expect(y.toArray() == [2, 4])
    // a view of a leaf made under no-grad, and a base without grad modified with an operand that
    // requires grad: the same error in PyTorch
    let leafView = withNoGrad { x[0..<1] }
    #expect(throws: expected) { try leafView.mulInPlace(2) }
    let plain = Tensor([1.0, 2.0]) * 1
    let plainView = withNoGrad { plain[0..<1] }
    let w = try Tensor([3.0], requiresGrad: true)
    #expect(throws: expected) { try plainView.mulInPlace(w) }
  }

  @Test func noGradViewIsFineWhenNothingIsRecorded() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x * 2
    let v = withNoGrad { y[0..<1] }
    try withNoGrad { try v.mulInPlace(2) }
    #expect(y.toArray() == [4, 4])
    let plain = Tensor([1.0, 2.0])
    let pv = withNoGrad { plain[0..<1] }
    try pv.mulInPlace(3)  // grad mode on, but nothing requires grad
    #expect(plain.toArray() == [3, 2])
  }

  @Test func outputsOfMultiViewOpsCannotBeModifiedWithGrad() throws {
    let x = try Tensor([1.0, 2.0, 3.0, 4.0], requiresGrad: true)
    let y = x * 2
    let suffix =
      " This view is the output of a function that returns multiple views. Such functions do not "
      + "allow the output views to be modified inplace. You should replace the inplace operation "
      + "by an out-of-place one."
    let split = y.split(size: 2)
    let e0 = AutogradError.inPlaceOnRestrictedView(
      function: "Split", outputNr: 0, multipleViews: true)
    #expect(throws: e0) { try split[0].mulInPlace(2) }
    #expect(e0.description == "Output 0 of Split is a view and is being modified inplace." + suffix)
    #expect(throws: e0) { try y.chunk(2)[0].mulInPlace(2) }
    #expect(
      throws: AutogradError.inPlaceOnRestrictedView(
        function: "SplitWithSizes", outputNr: 0, multipleViews: true)
    ) {
      try y.split(sizes: [1, 3])[0].mulInPlace(2)
    }
    let m = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true) * 2
    #expect(
      throws: AutogradError.inPlaceOnRestrictedView(
        function: "Unbind", outputNr: 1, multipleViews: true)
    ) {
      try m.unbind()[1].mulInPlace(2)
    }
    // a view of such a view keeps the mark, named by its own op (PyTorch: "Output 0 of Slice")
    #expect(
      throws: AutogradError.inPlaceOnRestrictedView(
        function: "Slice", outputNr: 0, multipleViews: true)
    ) {
      try split[0][0..<1].mulInPlace(2)
    }
    #expect(y.toArray() == [2, 4, 6, 8])
    // detach() gives a fresh tensor that can be written (PyTorch: fine)
    try split[0].detach().mulInPlace(2)
    #expect(y.toArray() == [4, 8, 6, 8])
  }

  @Test func multiViewOutputsWithoutGradAnywhere() throws {
    // PyTorch: split of a tensor without grad, modified in place: fine; with an operand that
    // requires grad: the no-grad opening with the multiple-views ending
    let y = Tensor([1.0, 2.0, 3.0, 4.0])
    let parts = y.split(size: 2)
    try parts[0].mulInPlace(2)
    #expect(y.toArray() == [2, 4, 3, 4])
    let w = try Tensor([1.0, 1.0], requiresGrad: true)
    let e = AutogradError.inPlaceOnRestrictedView(function: nil, outputNr: 0, multipleViews: true)
    #expect(throws: e) { try parts[0].mulInPlace(w) }
    #expect(
      e.description.hasPrefix(
        "A view was created in no_grad mode and is being modified inplace with grad mode enabled. This view is the output of a function that returns multiple views."
      ))
    // under no-grad the pieces are plain no-grad views, writable under no-grad
    let x = try Tensor([1.0, 2.0, 3.0, 4.0], requiresGrad: true)
    let z = x * 2
    try withNoGrad {
      let pieces = z.split(size: 2)
      try pieces[0].mulInPlace(2)
    }
    #expect(z.toArray() == [4, 8, 6, 8])
  }

  // MARK: overlapping memory

  @Test func inPlaceOnExpandedTensorIsRefused() throws {
    let e = Tensor.zeros([3, 1]).expand([3, 4])
    let overlap = TensorError.internalOverlap(shape: [3, 4], strides: [1, 0])
    #expect(throws: overlap) { try e.addInPlace(Tensor.ones([3, 4])) }
    #expect(throws: overlap) { try e.mulInPlace(2) }
    #expect(throws: overlap) { try e.copy(from: Tensor.ones([3, 4])) }
    #expect(throws: overlap) { try e.reluInPlace() }
    #expect(throws: overlap) { try e.clampInPlace(min: 0, max: 1) }
    #expect(throws: overlap) { try e.uniformInPlace() }
    #expect(
      overlap.description.hasPrefix(
        "unsupported operation: more than one element of the written-to tensor refers to a single memory location"
      ))
    // fill_, zero_ and masked_fill_ are allowed in PyTorch (every element gets the same value)
    try e.fill(1)
    try e.zero()
    try e.maskedFillInPlace(Tensor.ones([3, 4]).to(.bool), 2)
    #expect(e.toArray() == [Double](repeating: 2, count: 12))
    // a size-1 dimension with stride 0 is no overlap
    let one = Tensor.zeros([3, 1]).expand([3, 1])
    try one.addInPlace(1)
    #expect(one.toArray() == [1, 1, 1])
  }

  @Test func partiallyOverlappingOperandIsRefused() throws {
    let x = Tensor.arange(0.0, 6.0)
    #expect(throws: TensorError.partialOverlap) { try x[1...].addInPlace(x[..<5]) }
    #expect(throws: TensorError.partialOverlap) { try x[1...].copy(from: x[..<5]) }
    #expect(x.toArray() == [0, 1, 2, 3, 4, 5])
    // the same memory in the same layout, or disjoint memory: fine (PyTorch gives these values)
    try x.addInPlace(x)
    #expect(x.toArray() == [0, 2, 4, 6, 8, 10])
    try x[..<3].addInPlace(x[3...])
    #expect(x.toArray() == [6, 10, 14, 6, 8, 10])
    let m = Tensor.arange(0.0, 4.0).reshape([2, 2])
    #expect(throws: TensorError.partialOverlap) { try m.addInPlace(m.t()) }
    // .data aliases the memory too
    #expect(throws: TensorError.partialOverlap) { try x.data[0..<2].addInPlace(x.data[1..<3]) }
  }

  // MARK: .data and detach()

  @Test func dataHasItsOwnVersionCounter() throws {
    // PyTorch: y = (x ** 2).sum(); x.data.mul_(2); y.backward() -> x.grad == 2 * x_new == [4, 8]
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = (x ** 2).sum()
    let before = x.storage.version
    try x.data.mulInPlace(2)
    #expect(x.storage.version == before)
    try y.backward()
    expectTensor(x.grad, shape: [2], [4, 8])
    // views of .data share .data's counter
    let d = x.data
    try d[0..<1].addInPlace(1)
    #expect(d.storage.version == 1)
    #expect(x.storage.version == before)
    #expect(x.toArray() == [3, 4])
  }

  @Test func detachSharesTheVersionCounter() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = (x ** 2).sum()
    try x.detach().mulInPlace(2)
    #expect(throws: AutogradError.self) { try y.backward() }
  }

  // MARK: requiresGrad as a settable property

  @Test func requiresGradCanBeSetOnLeaves() throws {
    let x = Tensor([1.0, 2.0])
    x.requiresGrad = true
    #expect(x.requiresGrad && x.isLeaf)
    try (x * 3).sum().backward()
    expectTensor(x.grad, shape: [2], [3, 3])
    x.requiresGrad = false
    #expect(!x.requiresGrad)
    let n = Tensor([1, 2])
    n.requiresGrad = false  // PyTorch allows False on an integer tensor
    #expect(!n.requiresGrad)
  }

  @Test func requiresGradSetterStopsLikePyTorch() async {
    let nonLeafFalse = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      let y = try! Tensor([1.0], requiresGrad: true) * 2
      y.requiresGrad = false
    }
    #expect(
      stderrText(nonLeafFalse).contains(
        "you can only change requires_grad flags of leaf variables. If you want to use a computed variable"
      ))
    let nonLeafTrue = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      let y = try! Tensor([1.0], requiresGrad: true) * 2
      y.requiresGrad = true
    }
    #expect(
      stderrText(nonLeafTrue).contains(
        "requiresGrad: you can only change requires_grad flags of leaf variables."))
    let integer = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Tensor([1, 2]).requiresGrad = true
    }
    #expect(
      stderrText(integer).contains(
        "Only Tensors of floating point dtype can require gradients"))
  }
}
