import Ember
import Testing

// MARK: custom functions from the seed tutorials (golden values from PyTorch 2.x, examples.py S14,
// S15, S19)

/// S14: ReLU that saves its input and zeros the gradient where the input is negative.
private enum CustomReLU: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    let input = inputs[0]
    ctx.saveForBackward(input)
    return input.maskedFill(input .< 0, 0)
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let input = try ctx.savedTensors[0]
    let gradInput = gradOutputs[0].clone()
    try gradInput.maskedFillInPlace(input .< 0, 0)
    return [gradInput]
  }
}

/// S15: a*x^2 + b*x + c.
private enum Quadratic: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    let (x, a, b, c) = (inputs[0], inputs[1], inputs[2], inputs[3])
    ctx.saveForBackward(x, a, b, c)
    return a * x ** 2 + b * x + c
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let s = try ctx.savedTensors
    let (x, a, b) = (s[0], s[1], s[2])
    let g = gradOutputs[0]
    return [g * (2 * a * x + b), g * x ** 2, g * x, g]
  }
}

/// S19: w*x + b.
private enum Line: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs)
    return inputs[0] * inputs[1] + inputs[2]
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let s = try ctx.savedTensors
    let g = gradOutputs[0]
    return [g * s[1], g * s[0], g]
  }
}

/// x^3 with a backward written in tensor ops (differentiable twice).
private enum Cube: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs[0])
    return inputs[0] ** 3
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let x = try ctx.savedTensors[0]
    return [gradOutputs[0] * 3 * x ** 2]
  }
}

/// e^x saving its output.
private enum MyExp: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    let y = inputs[0].exp()
    ctx.saveForBackward(y)
    return y
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    [gradOutputs[0] * (try ctx.savedTensors[0])]
  }
}

// MARK: misbehaving functions

/// Two inputs, one gradient.
private enum Bad: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    inputs[0] + inputs[1]
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    [gradOutputs[0]]
  }
}

/// A gradient of shape [3] for an input of shape [2].
private enum BadShape: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    inputs[0] * 2
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    [Tensor.ones([3])]
  }
}

/// Returns a gradient broadcast to [3, 2] (summed back to [2]), a float64 one for a float32 input
/// (converted), a wrong-shaped one for an input that does not require grad (ignored), and a
/// trailing nil (allowed).
private enum Lenient: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    inputs[0] * inputs[1] + inputs[2]
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let g = gradOutputs[0]
    return [g.expand([3, 2]), g.to(.float64), Tensor.ones([7]), nil]
  }
}

/// Records `needsInputGrad` in forward and backward.
private enum NeedsRecorder: CustomFunction {
  nonisolated(unsafe) static var seen: [[Bool]] = []

  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    seen.append(ctx.needsInputGrad)
    return inputs[0] * inputs[1]
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    seen.append(ctx.needsInputGrad)
    return [
      ctx.needsInputGrad[0] ? gradOutputs[0] : nil, ctx.needsInputGrad[1] ? gradOutputs[0] : nil,
    ]
  }
}

/// Doubles its input in place and marks it dirty.
private enum Dirty: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    try inputs[0].mulInPlace(2)
    ctx.markDirty(inputs[0])
    return inputs[0]
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    [gradOutputs[0] * 2]
  }
}

/// Two outputs, the second marked non-differentiable.
private enum TwoOutputs: CustomMultiOutputFunction {
  nonisolated(unsafe) static var secondGrad: [Double] = []

  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> [Tensor] {
    let y = inputs[0] * 2
    let z = inputs[0] * 3
    ctx.markNonDifferentiable(z)
    return [y, z]
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    secondGrad = gradOutputs[1].toArray()
    return [gradOutputs[0] * 2]
  }
}

/// Returns its input unchanged; backward doubles the gradient.
private enum Identity: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor { inputs[0] }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    [gradOutputs[0] * 2]
  }
}

/// Multiplies by a non-tensor factor kept in the context's values.
private enum Scale: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    let factor = ctx["factor", as: Double.self] ?? 1
    ctx["used"] = factor
    return inputs[0] * factor
  }

  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    [gradOutputs[0] * (ctx["used"] as! Double)]
  }
}

@Suite struct FunctionTests {
  @Test func customReLUZerosGradientWhereInputIsNegative() throws {
    let x = try Tensor([-1.0, 2.0, 0.5], requiresGrad: true)
    let y = try CustomReLU.apply(x)
    expectTensor(y, shape: [3], [0, 2, 0.5])
    #expect(y.gradFn?.name == "CustomReLUBackward")
    #expect(y.requiresGrad && !y.isLeaf)
    try y.backward(gradient: Tensor([1.0, 1.0, 1.0]))
    expectTensor(x.grad, shape: [3], [0, 1, 1])
  }

  @Test func quadraticGradientsAndGradcheck() throws {
    let x = try Tensor(3.0, requiresGrad: true)
    let a = try Tensor(2.0, requiresGrad: true)
    let b = try Tensor(1.0, requiresGrad: true)
    let c = try Tensor(4.0, requiresGrad: true)
    let y = try Quadratic.apply(x, a, b, c)
    #expect(y.item() == 25)
    #expect(y.gradFn?.name == "QuadraticBackward")
    try y.backward()
    #expect([x, a, b, c].map { $0.grad?.item() } == [13, 9, 3, 1])

    let inputs = try [3.0, 2.0, 1.0, 4.0].map {
      try Tensor($0, dtype: .float64, requiresGrad: true)
    }
    #expect(try gradcheck({ try Quadratic.apply($0) }, inputs: inputs))
    let vectors = [
      leaf64([4], seed: 1), leaf64([4], seed: 2), leaf64([4], seed: 3), leaf64([4], seed: 4),
    ]
    #expect(try gradcheck({ try Quadratic.apply($0) }, inputs: vectors))
    #expect(try gradgradcheck({ try Quadratic.apply($0) }, inputs: vectors))
  }

  @Test func lineWithTwoByTwoTensors() throws {
    let w = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
    let x = try Tensor([[5.0, 6.0], [7.0, 8.0]], requiresGrad: true)
    let b = try Tensor([[0.5, 0.5], [0.5, 0.5]], requiresGrad: true)
    let out = try Line.apply(w, x, b)
    expectTensor(out, shape: [2, 2], [5.5, 12.5, 21.5, 32.5])
    #expect(out.gradFn?.name == "LineBackward")
    #expect(
      out.gradFn?.nextFunctions.map { $0.node?.name }
        == Array(repeating: "AccumulateGrad", count: 3))
    try out.backward(gradient: Tensor.ones([2, 2]))
    expectTensor(w.grad, shape: [2, 2], [5, 6, 7, 8])
    expectTensor(x.grad, shape: [2, 2], [1, 2, 3, 4])
    expectTensor(b.grad, shape: [2, 2], [1, 1, 1, 1])
  }

  @Test func wrongGradientCountThrows() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try Bad.apply(x, Tensor([1.0, 1.0]))
    #expect(y.gradFn?.name == "BadBackward")
    let error = #expect(throws: AutogradError.self) { try y.sum().backward() }
    #expect(error == .wrongGradientCount(function: "BadBackward", expected: 2, got: 1))
    #expect(
      error?.description
        == "function BadBackward returned an incorrect number of gradients (expected 2, got 1)")
  }

  @Test func wrongGradientShapeThrows() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let error = #expect(throws: AutogradError.self) { try BadShape.apply(x).sum().backward() }
    #expect(
      error == .wrongGradientShape(function: "BadShapeBackward", index: 0, got: [3], expected: [2]))
    #expect(
      error?.description
        == "Function BadShapeBackward returned an invalid gradient at index 0 - got [3] but expected shape compatible with [2]"
    )
  }

  @Test func gradientsAreSummedConvertedOrDroppedLikePyTorch() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let w = try Tensor([3.0, 4.0], requiresGrad: true)
    let y = try Lenient.apply(x, w, Tensor([0.0, 0.0]))
    try y.sum().backward()
    expectTensor(x.grad, shape: [2], [3, 3])
    #expect(w.grad?.dtype == .float32)
    expectTensor(w.grad, shape: [2], [1, 1])
  }

  @Test func needsInputGradMatchesRequiresGrad() throws {
    NeedsRecorder.seen = []
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = Tensor([3.0, 4.0])
    let out = try NeedsRecorder.apply(x, y)
    try out.sum().backward()
    expectTensor(x.grad, shape: [2], [1, 1])
    #expect(NeedsRecorder.seen == [[true, false], [true, false]])

    // Under no-grad the function runs but records nothing (needsInputGrad still reports
    // requiresGrad, as PyTorch's ctx.needs_input_grad does).
    let free = try withNoGrad { try NeedsRecorder.apply(x, y) }
    #expect(!free.requiresGrad && free.gradFn == nil)
    #expect(NeedsRecorder.seen.last == [true, false])
    // No input requires grad: no node.
    #expect(try NeedsRecorder.apply(y, y).gradFn == nil)
  }

  @Test func doubleBackwardThroughCustomFunction() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    let y = try Cube.apply(x)
    let g = try grad(of: y, withRespectTo: x, createGraph: true)
    #expect(g.item() == 12)
    #expect(g.requiresGrad)
    let g2 = try grad(of: g, withRespectTo: x)
    #expect(g2.item() == 12)

    let v = leaf64([3], seed: 5)
    #expect(try gradcheck({ try Cube.apply($0[0]) }, inputs: [v]))
    #expect(try gradgradcheck({ try Cube.apply($0[0]) }, inputs: [v]))
    #expect(try gradgradcheck({ try MyExp.apply($0[0]) }, inputs: [v]))
  }

  @Test func secondBackwardAfterFreeingThrowsGraphFreed() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try MyExp.apply(x).sum()
    try y.backward(retainGraph: true)
    try y.backward()
    expectClose(x.grad!.toArray(), [2 * 2.718281828, 2 * 7.389056099], rtol: 1e-6)
    #expect(throws: AutogradError.graphFreed) { try y.backward() }

    // A function that saved nothing can run backward again (only saved tensors are freed).
    let z = try Identity.apply(x).sum()
    try z.backward()
    try z.backward()
  }

  @Test func savedOutputModifiedInPlaceIsDetected() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try MyExp.apply(x)
    let loss = y.sum()
    try withNoGrad { try y.mulInPlace(2) }
    let error = #expect(throws: AutogradError.self) { try loss.backward() }
    #expect(
      error
        == .savedTensorModified(
          tensor: "float32 tensor [2]", producer: "MyExp", version: 1, expected: 0))
  }

  @Test func savingAnOutputDoesNotLeakTheGraph() throws {
    weak var node: Node?
    weak var output: Tensor?
    do {
      let x = try Tensor([1.0, 2.0], requiresGrad: true)
      let y = try MyExp.apply(x)
      node = y.gradFn
      output = y
      #expect(node != nil)
    }
    #expect(node == nil)
    #expect(output == nil)
  }

  @Test func markDirtyRebasesTheInputsHistory() throws {
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let b = a * 1
    let v0 = b.storage.version
    let out = try Dirty.apply(b)
    #expect(out === b)
    #expect(b.storage.version == v0 + 2)  // mulInPlace, then markDirty (as PyTorch: 0 -> 2)
    #expect(b.gradFn?.name == "DirtyBackward")
    expectTensor(b, shape: [2], [2, 4])
    try out.sum().backward()
    expectTensor(a.grad, shape: [2], [2, 2])

    let leaf = try Tensor([1.0, 2.0], requiresGrad: true)
    #expect(throws: AutogradError.inPlaceOnLeaf) { try Dirty.apply(leaf) }
  }

  @Test func nonDifferentiableOutputsGetZeroGradients() throws {
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let outs = try TwoOutputs.apply(a)
    #expect(outs[0].gradFn?.name == "TwoOutputsBackward")
    #expect(!outs[1].requiresGrad && outs[1].gradFn == nil)
    expectTensor(outs[1], shape: [2], [3, 6])
    try outs[0].sum().backward()
    #expect(TwoOutputs.secondGrad == [0, 0])
    expectTensor(a.grad, shape: [2], [2, 2])
  }

  @Test func returningAnInputGivesANewTensorWithHistory() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try Identity.apply(x)
    #expect(y !== x)
    #expect(x.isLeaf && y.gradFn?.name == "IdentityBackward")
    try y.sum().backward()
    expectTensor(x.grad, shape: [2], [2, 2])
  }

  @Test func nonTensorValuesAreKeptInTheContext() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try Scale.apply([x], values: ["factor": 3.0])
    expectTensor(y, shape: [2], [3, 6])
    try y.sum().backward()
    expectTensor(x.grad, shape: [2], [3, 3])
  }

  @Test func longChainOfCustomFunctionsRunsAndTearsDownIteratively() throws {
    let x = try Tensor(1.0, requiresGrad: true)
    do {
      let (one, zero) = (Tensor(1.0), Tensor(0.0))
      var t = x
      for _ in 0..<100_000 { t = try Line.apply(t, one, zero) }
      try t.backward()
    }
    #expect(x.grad?.item() == 1)
  }
}
