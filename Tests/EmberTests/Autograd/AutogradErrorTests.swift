import Ember
import Testing

/// The misuse cases of PyTorch's autograd (pytorch-reference.md section 1) throw typed errors
/// whose messages say what PyTorch says.
@Suite struct AutogradErrorTests {
  @Test func backwardWithoutHistoryThrows() throws {
    let x = Tensor(3.0)
    let y = x ** 2 + 2 * x + 3
    #expect(throws: AutogradError.doesNotRequireGrad(index: 0)) { try y.backward() }
    let message = AutogradError.doesNotRequireGrad(index: 0).description
    #expect(
      message.hasPrefix("element 0 of tensors does not require grad and does not have a grad_fn"))
  }

  @Test func backwardUnderDisabledGradThrows() throws {
    let x = try Tensor(3.0, requiresGrad: true)
    setGradEnabled(false)
    let y = x ** 2 + 2 * x + 3
    setGradEnabled(true)
    #expect(!y.requiresGrad)
    #expect(throws: AutogradError.doesNotRequireGrad(index: 0)) { try y.backward() }
    let z = withNoGrad { x ** 2 }
    #expect(!z.requiresGrad)
    #expect(GradMode.isEnabled)
  }

  @Test func nonScalarNeedsGradient() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x * 2
    #expect(throws: AutogradError.nonScalarOutput) { try y.backward() }
    #expect(throws: AutogradError.gradientShapeMismatch(index: 0, gradShape: [3], outputShape: [2]))
    {
      try y.backward(gradient: Tensor([1.0, 1.0, 1.0]))
    }
    #expect(
      AutogradError.gradientShapeMismatch(index: 0, gradShape: [3], outputShape: [2]).description
        == "Mismatch in shape: grad_output[0] has a shape of [3] and output[0] has a shape of [2].")
  }

  @Test func backwardTwiceNeedsRetainGraph() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    let y = x ** 3
    try y.backward(retainGraph: true)
    #expect(x.grad?.item() == 12)
    try y.backward()
    #expect(x.grad?.item() == 24)
    #expect(throws: AutogradError.graphFreed) { try y.backward() }
    #expect(
      AutogradError.graphFreed.description.hasPrefix(
        "Trying to backward through the graph a second time"))
    // nodes without saved tensors can rerun, as in PyTorch
    let s = (x + 1).sum()
    try s.backward()
    try s.backward()
    #expect(x.grad?.item() == 26)
  }

  @Test func inPlaceOnLeafThrows() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    #expect(throws: AutogradError.inPlaceOnLeaf) { try x.addInPlace(Tensor(1.0)) }
    #expect(throws: AutogradError.inPlaceOnLeaf) { try x += 1 }
    #expect(
      AutogradError.inPlaceOnLeaf.description.hasPrefix(
        "a leaf Variable that requires grad is being used in an in-place operation."))
    // allowed under no-grad, and bumps the version
    let before = x.storage.version
    try withNoGrad { try x.subInPlace(Tensor([0.5, 0.5])) }
    #expect(x.toArray() == [0.5, 1.5])
    #expect(x.storage.version == before + 1)
  }

  @Test func savedTensorModifiedInPlace() throws {
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let b = a * 2
    let c = b ** 2
    try b.addInPlace(Tensor(1.0))
    do {
      try c.sum().backward()
      Issue.record("expected an error")
    } catch let error as AutogradError {
      guard case .savedTensorModified(_, let producer, let version, let expected) = error else {
        Issue.record("wrong error \(error)")
        return
      }
      #expect(producer == "Add")
      #expect(version == 1 && expected == 0)
      #expect(
        error.description.contains(
          "which is output 0 of Add, is at version 1; expected version 0 instead"))
    }
  }

  @Test func modifiedOutputIsDetected() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = x.exp()
    try withNoGrad { try y.mulInPlace(2) }
    #expect(throws: AutogradError.self) { try y.sum().backward() }
  }

  @Test func integerTensorsCannotRequireGrad() throws {
    #expect(throws: AutogradError.nonFloatingRequiresGrad(.int64)) {
      try Tensor([2, 3], requiresGrad: true)
    }
    #expect(
      AutogradError.nonFloatingRequiresGrad(.int64).description.hasPrefix(
        "Only Tensors of floating point dtype can require gradients (got int64)"))
    #expect(Tensor([2.0, 3.0]).dtype == .float32)
    #expect(Tensor([2, 3]).dtype == .int64)
  }

  @Test func requiresGradOnlyChangesOnLeaves() throws {
    let x = try Tensor([1.0], requiresGrad: true)
    let y = x * 2
    #expect(throws: AutogradError.requiresGradOnNonLeaf) { try y.setRequiresGrad(false) }
  }

  @Test func rawAccessRefusesTensorsThatRequireGrad() throws {
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    #expect(throws: AutogradError.rawAccessRequiresGrad) {
      try x.withUnsafeMutableBufferPointer(as: Float.self) { _ in }
    }
    let d = x.detach()
    try d.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = 10 }
    #expect(x.toArray() == [10, 2, 3])
  }

  @Test func unusedInputNeedsAllowUnused() throws {
    let x = try Tensor(1.0, requiresGrad: true)
    let w = try Tensor(1.0, requiresGrad: true)
    let y = x * 3
    #expect(throws: AutogradError.unusedInput(index: 1)) {
      try grad(of: [y], withRespectTo: [x, w], retainGraph: true)
    }
    let gs = try grad(of: [y], withRespectTo: [x, w], allowUnused: true)
    #expect(gs[0]?.item() == 3)
    #expect(gs[1] == nil)
    #expect(x.grad == nil)
  }

  @Test func hooksNeedRequiresGrad() throws {
    #expect(throws: AutogradError.hookOnTensorWithoutGrad) {
      try Tensor(1.0).registerHook { _ in nil }
    }
    #expect(throws: AutogradError.retainGradWithoutGrad) { try Tensor(1.0).retainGrad() }
  }

  @Test func anomalyModeNamesTheNodeThatProducedNaN() throws {
    let x = try Tensor(1000.0, requiresGrad: true)
    let z = x.exp() * 0
    withDetectAnomaly {
      #expect(throws: AutogradError.nanInGradient(function: "ExpBackward0", index: 0)) {
        try z.backward()
      }
    }
    #expect(!AnomalyMode.isEnabled)
  }
}
