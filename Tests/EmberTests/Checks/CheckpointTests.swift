import Ember
import Testing

/// Counts calls of a segment (each test owns its counter).
private final class CallCounter {
  var calls = 0
}

/// sigmoid(t^2) written with core ops.
private func segment1(_ t: Tensor) -> Tensor { 1 / (1 + (-(t * t)).exp()) }
/// softplus(3t), summed.
private func segment2(_ t: Tensor) -> Tensor { ((t * 3).exp() + 1).log().sum() }

@Suite struct CheckpointTests {
  @Test func sameGradientsAsThePlainFunctionAndRecomputes() throws {
    // golden values: torch.utils.checkpoint.checkpoint(f, x, use_reentrant=True), w captured
    let w = try Tensor([0.5, -1.0, 2.0], requiresGrad: true)
    let counter = CallCounter()
    let f: ([Tensor]) throws -> Tensor = { xs in
      counter.calls += 1
      return (xs[0] * w).exp().sum()
    }
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let y = try checkpoint(f, inputs: [x])
    #expect(counter.calls == 1)
    #expect(y.gradFn?.name == "CheckpointFunctionBackward")
    // only the input is an edge: the segment's own graph was not recorded
    #expect(y.gradFn?.nextFunctions.map { $0.node?.name } == ["AccumulateGrad"])
    expectClose([y.item()], [405.2128601074219], rtol: 1e-6)
    try y.backward()
    #expect(counter.calls == 2)
    expectTensor(x.grad, shape: [3], [0.8243606090545654, -0.1353352814912796, 806.8576049804688])
    expectTensor(w.grad, shape: [3], [1.6487212181091309, 0.2706705629825592, 1210.286376953125])

    // the plain function gives the same gradients with a single call
    let x2 = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let plainW = w.grad!.clone()
    w.grad = nil
    try f([x2]).backward()
    #expect(counter.calls == 3)
    expectClose(x2.grad!.toArray(), x.grad!.toArray())
    expectClose(w.grad!.toArray(), plainW.toArray())
  }

  @Test func chainedSegmentsLikeTheTutorial() throws {
    // y = checkpoint(segment1, x); z = checkpoint(segment2, y) (golden values from PyTorch)
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let y = try checkpoint({ segment1($0[0]) }, inputs: [x])
    let z = try checkpoint({ segment2($0[0]) }, inputs: [y])
    expectClose([z.item()], [8.344430923461914], rtol: 1e-6)
    try z.backward()
    expectTensor(
      x.grad, shape: [3], [1.0612739324569702, 0.201370969414711, 0.0021154661662876606],
      rtol: 1e-5)
  }

  @Test func intermediatesAreNotKeptAlive() throws {
    weak var intermediate: Tensor?
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try checkpoint(
      { xs in
        let e = xs[0].exp()
        intermediate = e
        return e * e
      }, inputs: [x])
    #expect(intermediate == nil)  // not held by any graph
    try y.sum().backward()
    expectClose(x.grad!.toArray(), [2 * 7.38905609893065, 2 * 54.598150033144236], rtol: 1e-6)

    // without checkpointing, exp's output is saved by the graph
    let plain: Tensor = {
      let e = x.exp()
      intermediate = e
      return e * e
    }()
    #expect(intermediate != nil)
    _ = plain
  }

  @Test func multipleOutputsAndGradcheck() throws {
    let a = leaf64([3], seed: 1)
    let b = leaf64([3], seed: 2, positive: true)
    let f: ([Tensor]) throws -> [Tensor] = { xs in [xs[0] * xs[1], (xs[0] / xs[1]).exp()] }
    let outs = try checkpoint(f, inputs: [a, b])
    #expect(outs.count == 2)
    #expect(outs.allSatisfy { $0.gradFn?.name == "CheckpointFunctionBackward" })
    // only one output used: the other's gradient is zero
    let g = try grad(of: [outs[1].sum()], withRespectTo: [a, b])
    let plain = try f([a, b])
    let expected = try grad(of: [plain[1].sum()], withRespectTo: [a, b])
    expectClose(g[0]!.toArray(), expected[0]!.toArray())
    expectClose(g[1]!.toArray(), expected[1]!.toArray())

    #expect(try gradcheck({ try checkpoint(f, inputs: $0) }, inputs: [a, b]))
    #expect(try gradgradcheck({ try checkpoint(f, inputs: $0)[1] }, inputs: [a, b]))
  }

  @Test func doubleBackwardThroughCheckpoint() throws {
    let x = try Tensor(2.0, requiresGrad: true)
    let y = try checkpoint({ $0[0] ** 3 }, inputs: [x])
    let g = try grad(of: y, withRespectTo: x, createGraph: true)
    #expect(g.item() == 12)
    let g2 = try grad(of: g, withRespectTo: x)
    #expect(g2.item() == 12)
  }

  @Test func inputModifiedInPlaceBeforeBackwardThrows() throws {
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let b = a * 2
    let y = try checkpoint({ $0[0].exp().sum() }, inputs: [b])
    try b.addInPlace(Tensor(1.0))
    let error = #expect(throws: AutogradError.self) { try y.backward() }
    #expect(
      error
        == .savedTensorModified(
          tensor: "float32 tensor [2]", producer: "Add", version: 1, expected: 0))
  }

  @Test func withoutInputsRequiringGradTheFunctionJustRuns() throws {
    let w = try Tensor([2.0, 3.0], requiresGrad: true)
    let counter = CallCounter()
    let y = try checkpoint(
      { xs in
        counter.calls += 1
        return (xs[0] * w).sum()
      }, inputs: [Tensor([1.0, 4.0])])
    #expect(y.gradFn?.name == "SumBackward0")
    try y.backward()
    #expect(counter.calls == 1)
    expectTensor(w.grad, shape: [2], [1, 4])

    let z = try withNoGrad { try checkpoint({ $0[0] * 2 }, inputs: [w]) }
    #expect(!z.requiresGrad)
  }

  @Test func identitySegmentReturnsANewTensor() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try checkpoint({ $0[0] }, inputs: [x])
    #expect(y !== x && x.isLeaf)
    try (y * 3).sum().backward()
    expectTensor(x.grad, shape: [2], [3, 3])
  }

  @Test func randomNumbersAreReplayedInTheRecomputation() throws {
    // a dropout-like random factor drawn inside the segment
    let gen = Generator(seed: 7)
    let twin = Generator(seed: 7)
    let first = Double(twin.random() % 100 + 1)
    let second = Double(twin.random() % 100 + 1)
    #expect(first != second)
    let f: ([Tensor]) throws -> Tensor = { xs in (xs[0] * Double(gen.random() % 100 + 1)).sum() }

    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = try checkpoint(f, inputs: [x], preservingRNGOf: [gen])
    expectClose([y.item()], [3 * first])
    try y.backward()
    expectTensor(x.grad, shape: [2], [first, first])  // same factor as in forward
    #expect(Double(gen.random() % 100 + 1) == second)  // the stream continues where it was

    // without preservation the recomputation draws the next number
    let gen2 = Generator(seed: 7)
    let x2 = try Tensor([1.0, 2.0], requiresGrad: true)
    let y2 = try checkpoint(
      { xs in (xs[0] * Double(gen2.random() % 100 + 1)).sum() }, inputs: [x2], preservingRNGOf: [])
    try y2.backward()
    expectTensor(x2.grad, shape: [2], [second, second])
  }
}
