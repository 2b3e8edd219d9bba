import Ember
import Testing

@Suite struct ArithmeticTests {
  @Test func gradFnNamesMatchPyTorch() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    #expect((x + 3).gradFn?.name == "AddBackward0")
    #expect((x - 1).gradFn?.name == "SubBackward0")
    #expect((2 - x).gradFn?.name == "RsubBackward1")
    #expect((x * 2).gradFn?.name == "MulBackward0")
    #expect((x / 2).gradFn?.name == "DivBackward0")
    #expect((1 / x).gradFn?.name == "MulBackward0")
    #expect((x ** 2).gradFn?.name == "PowBackward0")
    #expect((x ** x).gradFn?.name == "PowBackward1")
    #expect((2 ** x).gradFn?.name == "PowBackward2")
    #expect((-x).gradFn?.name == "NegBackward0")
  }

  @Test func broadcastGradientsSumBack() throws {
    let a = leaf64([2, 1, 4], seed: 11)
    let b = leaf64([3, 1], seed: 12, positive: true)
    #expect(try gradcheck({ $0[0] * $0[1] + $0[0] - $0[1] }, inputs: [a, b]))
    #expect(try gradcheck({ $0[0] / $0[1] }, inputs: [a, b]))
    #expect(try gradgradcheck({ $0[0] * $0[1] / $0[1] ** 2.0 }, inputs: [a, b]))
    #expect(try gradcheck({ $0[1] ** $0[0] }, inputs: [a, b]))
    #expect(try gradcheck({ 2 - $0[0] / 3 + 1.5 / $0[1] }, inputs: [a, b]))
    #expect(try gradcheck({ 1.5 ** $0[0] }, inputs: [a]))
  }

  @Test func integerArithmetic() {
    let a = Tensor([7, -7])
    #expect((a + 1).scalars(as: Int64.self) == [8, -6])
    #expect((a * Tensor([2, 3])).scalars(as: Int64.self) == [14, -21])
    expectTensor(a / 2, shape: [2], [3.5, -3.5])
    #expect((a / 2).dtype == .float32)
  }

  @Test func inPlaceOnNonLeafRecordsHistory() throws {
    let x = try Tensor([1.0, 2.0], dtype: .float64, requiresGrad: true)
    let y = x * 3
    try y.mulInPlace(x)  // y = 3x * x
    try y += 1
    #expect(y.gradFn?.name == "AddBackward0")
    try y.sum().backward()
    expectTensor(x.grad, shape: [2], [6, 12])
    #expect(y.storage.version == 2)
  }

  @Test func gradientOfPowAtZeroBase() throws {
    let a = try Tensor([0.0, 2.0], dtype: .float64, requiresGrad: true)
    let b = try Tensor([2.0, 3.0], dtype: .float64, requiresGrad: true)
    try (a ** b).sum().backward()
    expectTensor(a.grad, shape: [2], [0, 12])
    expectTensor(b.grad, shape: [2], [0, 8 * 0.6931471805599453])
  }

  // MARK: Swift Int operands

  @Test func intLiteralsGiveTheSameFloatResultsAsDoubleLiterals() throws {
    // the same expression with Int and with Double literals: same values, nodes and gradients
    // (PyTorch: y = [1.6096770763397217, 2.75, 3.0], x.grad = [2.3563497066497803,
    // -1.32671320438385, -0.12148904800415039])
    let x1 = try Tensor([1.5, -2.0, 3.0], requiresGrad: true)
    let x2 = try Tensor([1.5, -2.0, 3.0], requiresGrad: true)
    let y1 = ((x1 * 2 + 3 - 1) / 4) ** 2 * (2 - x1) + 2 ** x1 - 3 / x1
    let y2 = ((x2 * 2.0 + 3.0 - 1.0) / 4.0) ** 2.0 * (2.0 - x2) + 2.0 ** x2 - 3.0 / x2
    #expect(y1.scalars(as: Float.self) == y2.scalars(as: Float.self))
    expectTensor(y1, shape: [3], [1.6096770763397217, 2.75, 3.0])
    #expect(y1.gradFn?.name == y2.gradFn?.name)
    try y1.sum().backward()
    try y2.sum().backward()
    #expect(x1.grad!.scalars(as: Float.self) == x2.grad!.scalars(as: Float.self))
    expectTensor(
      x1.grad, shape: [3], [2.3563497066497803, -1.32671320438385, -0.12148904800415039])
    try withNoGrad {
      try x1.mulInPlace(2.0)
      try x2.mulInPlace(2)
    }
    #expect(x1.scalars(as: Float.self) == x2.scalars(as: Float.self))
  }

  @Test func numberOperandsHaveAnEmptyEdge() throws {
    // PyTorch: (x*2).grad_fn.next_functions == ((AccumulateGrad, 0), (None, 0)); likewise for
    // 2*x, x+2, 2+x, x-2, x/2 and the float forms; 2-x, x**2, 2**x have one edge; 2/x is
    // MulBackward0 over (ReciprocalBackward0, None)
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    func edges(_ t: Tensor) -> [String?] { t.gradFn!.nextFunctions.map { $0.node?.name } }
    let two: [String?] = ["AccumulateGrad", nil]
    for t in [x * 2, 2 * x, x * 2.0, x + 2, 2 + x, x - 2, x / 2, x.add(2), x.mul(2.5), x.div(2)] {
      #expect(edges(t) == two)
    }
    #expect((x - 2).gradFn?.name == "SubBackward0")
    #expect(edges(2 - x) == ["AccumulateGrad"])
    #expect(edges(x ** 2) == ["AccumulateGrad"])
    #expect(edges(2 ** x) == ["AccumulateGrad"])
    #expect(edges(2.0 ** x) == ["AccumulateGrad"])
    #expect((2 / x).gradFn?.name == "MulBackward0")
    #expect(edges(2 / x) == ["ReciprocalBackward0", nil])
    // the engine skips the empty edge; double backward goes through the number ops too
    let y = x * 3
    let g = try grad(of: (y * y).sum(), withRespectTo: x, createGraph: true)
    expectTensor(g, shape: [3], [18, 36, 54])
    #expect(g.gradFn != nil)
    try g.sum().backward()
    expectTensor(x.grad, shape: [3], [18, 18, 18])
  }

  // MARK: bool arithmetic

  @Test func boolAddIsOrAndMulIsAnd() throws {
    // b + b2 -> bool [True, True, True]; b * b2 -> bool [True, False, False];
    // b / b2 -> float32 [1., 0., inf]
    let b = Tensor([true, false, true])
    let b2 = Tensor([true, true, false])
    #expect((b + b2).dtype == .bool)
    #expect((b + b2).scalars(as: Bool.self) == [true, true, true])
    #expect((b * b2).dtype == .bool)
    #expect((b * b2).scalars(as: Bool.self) == [true, false, false])
    #expect((b / b2).toArray() == [1, 0, .infinity])
    #expect((Tensor(true) * Tensor(true)).scalars(as: Bool.self) == [true])
    // in place: b.add_(b2), b.mul_(b2)
    let c = b.clone()
    try c.addInPlace(b2)
    #expect(c.scalars(as: Bool.self) == [true, true, true])
    let d = b.clone()
    try d.mulInPlace(b2)
    #expect(d.scalars(as: Bool.self) == [true, false, false])
  }

  @Test func boolSubtractionStops() async {
    let r1 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([true, false]) - Tensor([true, true])
    }
    expectStopMessage(
      r1,
      "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or `logical_xor()` operator instead."
    )
    let r2 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([true, false]) - 1
    }
    expectStopMessage(
      r2,
      "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
    )
    let r3 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = 1 - Tensor([true, false])
    }
    expectStopMessage(r3, "Subtraction, the `-` operator, with a bool tensor is not supported.")
    let r4 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([1, 2]) - Tensor([true, false])
    }
    expectStopMessage(r4, "Subtraction, the `-` operator, with a bool tensor is not supported.")
    let r5 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([true]).subInPlace(Tensor([true]))
    }
    expectStopMessage(
      r5, "sub_: Subtraction, the `-` operator, with two bool tensors is not supported.")
  }

  @Test func boolNegationAndPowStop() async {
    let r1 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = -Tensor([true, false])
    }
    expectStopMessage(
      r1,
      "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
    )
    let r2 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([true]) ** Tensor([false])
    }
    expectStopMessage(r2, "\"pow\" not implemented for 'Bool'")
    let r3 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([1, 2]) ** -1
    }
    expectStopMessage(r3, "Integers to negative integer powers are not allowed.")
  }

  // MARK: int64 overflow wraps

  @Test func int64ArithmeticWraps() throws {
    // torch.tensor([2**62]) * 4 -> [0]; [2**63-1] + 1 -> [-2**63]; [-2**63] - 1 -> [2**63-1];
    // -[-2**63] and abs -> [-2**63]; [2**62] + [2**62] -> [-2**63]
    let big = Tensor([Int64(1) << 62])
    #expect((big * 4).scalars(as: Int64.self) == [0])
    #expect((big * Tensor([4])).scalars(as: Int64.self) == [0])
    #expect((big + big).scalars(as: Int64.self) == [.min])
    #expect((Tensor([Int64.max]) + 1).scalars(as: Int64.self) == [.min])
    #expect((Tensor([Int64.min]) - 1).scalars(as: Int64.self) == [.max])
    #expect((1 - Tensor([Int64.min])).scalars(as: Int64.self) == [.min + 1])
    #expect((-Tensor([Int64.min])).scalars(as: Int64.self) == [.min])
    #expect(Tensor([Int64.min]).abs().scalars(as: Int64.self) == [.min])
    // reductions: sum [2**62, 2**62] -> -2**63, prod [2**62, 4] -> 0, cumsum wraps
    #expect(Tensor([Int64(1) << 62, Int64(1) << 62]).sum().item(as: Int64.self) == .min)
    #expect(Tensor([Int64(1) << 62, 4]).prod().item(as: Int64.self) == 0)
    #expect(
      Tensor([Int64(1) << 62, Int64(1) << 62]).cumsum(dim: 0).scalars(as: Int64.self) == [
        1 << 62, .min,
      ])
    // in place: t.mul_(4) -> [0]; t += t -> [-2**63]; long strided inputs take the same path
    let t = big.clone()
    try t.mulInPlace(4)
    #expect(t.scalars(as: Int64.self) == [0])
    let u = big.clone()
    try u += u
    #expect(u.scalars(as: Int64.self) == [.min])
    // t = [2**62, 1]; t.index_add_(0, tensor([0]), tensor([2**62])) -> [-2**63, 1]
    let w = Tensor([Int64(1) << 62, 1])
    try w.indexAddInPlace(dim: 0, index: Tensor([0]), source: Tensor([Int64(1) << 62]))
    #expect(w.scalars(as: Int64.self) == [.min, 1])
    try w.indexAddInPlace(dim: 0, index: Tensor([1]), source: Tensor([Int64(1) << 62]), alpha: 4)
    #expect(w.scalars(as: Int64.self) == [.min, 1])
    let many = Tensor.full([8, 8], Double(1 << 62), dtype: .int64)
    #expect((many * 4).scalars(as: Int64.self) == Array(repeating: 0, count: 64))
    #expect((many + many.t()).scalars(as: Int64.self) == Array(repeating: .min, count: 64))
  }

  // MARK: in-place casting (PyTorch's can_cast)

  @Test func inPlaceOpsThatCanCast() throws {
    let i = Tensor([1, 2, 3])
    let a = i.clone()
    try a.addInPlace(2)
    #expect(a.scalars(as: Int64.self) == [3, 4, 5])
    try a.addInPlace(i, alpha: 2)  // i.add_(i, alpha=2) -> [3, 6, 9] from [1, 2, 3]
    #expect(a.scalars(as: Int64.self) == [5, 8, 11])
    try a.powInPlace(2)
    #expect(a.dtype == .int64)
    #expect(a.scalars(as: Int64.self) == [25, 64, 121])
    try a.clampInPlace(min: 30)
    #expect(a.scalars(as: Int64.self) == [30, 64, 121])
    try a.addInPlace(Tensor([true, false, true]))
    #expect(a.scalars(as: Int64.self) == [31, 64, 122])
    // copy_ and fill_ convert freely: copy_ from [1.7, -2.7] -> [1, -2]; fill_(2.5) -> 2
    let c = Tensor([1, 2])
    try c.copy(from: Tensor([1.7, -2.7]))
    #expect(c.scalars(as: Int64.self) == [1, -2])
    try c.fill(2.5)
    #expect(c.scalars(as: Int64.self) == [2, 2])
    // float tensors take integer and bool operands
    let f = Tensor([1.0, 2.0, 3.0])
    try f.addInPlace(i)
    try f.mulInPlace(Tensor([true, false, true]))
    #expect(f.scalars(as: Float.self) == [2, 0, 6])
    // float32 += float64 computes in float64, then rounds: [1.] += [2**-24 + 2**-50] ->
    // [1.0000001192092896] (float32 arithmetic would give 1.)
    let g = Tensor([1.0])
    try g.addInPlace(Tensor([0x1p-24 + 0x1p-50], dtype: .float64))
    #expect(g.toArray() == [1.0000001192092896])
    #expect(g.dtype == .float32)
  }

  @Test func intInPlaceWithFloatResultsStops() async {
    let long = "result type Float can't be cast to the desired output type Long"
    let r1 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).addInPlace(Tensor([0.5, 1.5]))
    }
    expectStopMessage(r1, "add_: result type Float can't be cast to the desired output type Long")
    let r2 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).addInPlace(2.5)
    }
    expectStopMessage(r2, "add_: " + long)
    let r3 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).mulInPlace(2.0)
    }
    expectStopMessage(r3, "mul_: " + long)
    let r4 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).divInPlace(2)
    }
    expectStopMessage(r4, "div_: " + long)
    let r5 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).divInPlace(Tensor([1, 2]))
    }
    expectStopMessage(r5, "div_: " + long)
    let r6 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).powInPlace(2.0)
    }
    expectStopMessage(r6, "pow_: " + long)
    let r7 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).subInPlace(Tensor(2.5))
    }
    expectStopMessage(r7, "sub_: " + long)
    let r8 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).expInPlace()
    }
    expectStopMessage(r8, "exp_: " + long)
    let r9 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).clampInPlace(min: 0.5)
    }
    expectStopMessage(
      r9, "clamp_: result type Float can't be cast to the desired output type long int")
    let r10 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).addInPlace(Tensor([1, 2]), alpha: 2.5)
    }
    expectStopMessage(
      r10, "For integral input tensors, argument alpha must not be a floating point number.")
  }

  @Test func boolInPlaceWithNonBoolResultsStops() async {
    let r1 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([true, false]).addInPlace(1)
    }
    expectStopMessage(r1, "add_: result type Long can't be cast to the desired output type Bool")
    let r2 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([true, false]).mulInPlace(Tensor([1, 2]))
    }
    expectStopMessage(r2, "mul_: result type Long can't be cast to the desired output type Bool")
    let r3 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([true, false]).divInPlace(Tensor([true, true]))
    }
    expectStopMessage(
      r3, "div_: result type Float can't be cast to the desired output type Bool")
    let r4 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([true, false]).clampInPlace(min: 0)
    }
    expectStopMessage(
      r4, "clamp_: result type Long can't be cast to the desired output type bool")
    let r5 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([true, false]).sqrtInPlace()
    }
    expectStopMessage(
      r5, "sqrt_: result type Float can't be cast to the desired output type Bool")
  }
}
