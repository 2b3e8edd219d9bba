import EmberNN
import Foundation
import Testing

/// Autograd under stress through modules: gradient accumulation over micro-batches and a module
/// run under no-grad, then with grad. Expected values are PyTorch 2.15's, printed by
/// Tests/EmberTests/Fixtures/make_reliability_fixtures.py ("modules" section; case names in the
/// comments).
@Suite struct ModuleStressTests {
  /// Linear(6, 4) -> Tanh -> Linear(4, 3) in float64 with the fixture's weights.
  static func mlp() -> Sequential {
    let m = Sequential(
      Linear(6, 4, dtype: .float64), Tanh(), Linear(4, 3, dtype: .float64))
    withNoGrad {
      for (j, p) in m.parameters().enumerated() {
        _ = try! p.copy(from: det(p.shape, k: 20 + j, scale: 0.6))
      }
    }
    return m
  }

  @Test func microBatchAccumulationEqualsTheBigBatch() throws {
    let x = det([12, 6], k: 30)
    let target = det([12, 3], k: 31)
    let big = Self.mlp()
    try F.mseLoss(big(x), target).backward()
    let micro = Self.mlp()
    for i in 0..<3 {
      let rows = x.narrow(0, start: 4 * i, length: 4)
      try (F.mseLoss(micro(rows), target.narrow(0, start: 4 * i, length: 4)) / 3).backward()
    }
    // accum.big.w0, accum.big.b2: the big batch's gradients are PyTorch's
    let bigParams = big.parameters()
    expectClose(
      bigParams[0].grad!.toArray(),
      [
        -0.009967464489008608, -0.014979918628593946, -0.012947082969466464,
        -0.004825031886046849, 0.005566307086583445, 0.01333972486044615, -0.08502121056845244,
        -0.042993566904389435, 0.019254623067821178, 0.07244706294945276, 0.09156651710937005,
        0.06762080750645406, -0.05073742538299169, 0.030933330147186234, 0.09805565716252675,
        0.11906087645242398, 0.08406990516923313, 0.009539543856446883, 0.0030675633004747867,
        0.06806102947555083, 0.10104433000535507, 0.08650490327243156, 0.03128086885408443,
        -0.03865504696339797,
      ], rtol: 1e-12, atol: 1e-16)
    expectClose(
      bigParams[3].grad!.toArray(),
      [-0.3296847793101332, -0.45386556794385496, -0.1496934933958505], rtol: 1e-12, atol: 0)
    // accum.maxdiff: PyTorch's micro-batch sum differs from its big batch by 5.6e-17
    for (p, q) in zip(bigParams, micro.parameters()) {
      expectClose(q.grad!.toArray(), p.grad!.toArray(), rtol: 0, atol: 1e-15)
    }
  }

  @Test func forwardUnderNoGradThenWithGrad() throws {
    let lin = Linear(3, 2, dtype: .float64)
    withNoGrad {
      _ = try! lin.weight.copy(from: det([2, 3], k: 40))
      _ = try! lin.bias!.copy(from: det([2], k: 41))
    }
    let x = det([4, 3], k: 42)
    let frozen = withNoGrad { lin(x) }
    // nograd.requires_grad, nograd.backward: no history, and PyTorch's error on backward
    #expect(!frozen.requiresGrad)
    #expect(frozen.gradFn == nil)
    #expect(throws: AutogradError.doesNotRequireGrad(index: 0)) { try frozen.sum().backward() }
    #expect(
      AutogradError.doesNotRequireGrad(index: 0).description.hasPrefix(
        "element 0 of tensors does not require grad and does not have a grad_fn"))
    #expect(lin.weight.grad == nil)
    // nograd.then.*: the same module with grad records AddmmBackward0; the no-grad output
    // enters the graph as a constant
    let live = lin(x)
    #expect(live.gradFn?.name == "AddmmBackward0")
    try (live * frozen).sum().backward()
    expectClose(
      lin.weight.grad!.toArray(),
      [
        -1.9020666951460514, -3.069113153037476, -2.792707738839392, 0.41010217673605326,
        1.243168459126055, 1.491553190146106,
      ], rtol: 1e-12, atol: 0)
    expectClose(
      lin.bias!.grad!.toArray(), [-3.4508907842248204, -2.9016198786162706], rtol: 1e-12,
      atol: 0)
  }
}
