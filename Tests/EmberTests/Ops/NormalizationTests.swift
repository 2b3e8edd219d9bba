import Ember
import Testing

private typealias F = Functional

@Suite struct NormalizationTests {
  @Test(arguments: NNFixtures.cases(["batch_norm", "layer_norm", "group_norm"]))
  func matchesPyTorch(_ c: NNFixtures.Case) throws {
    try NNFixtures.check(c)
  }

  // MARK: gradcheck and gradgradcheck (float64)

  @Test(arguments: [[6, 3], [4, 3, 5], [2, 3, 2, 3]])
  func batchNormPassesGradChecks(_ shape: [Int]) throws {
    let x = leaf64(shape, seed: 1)
    let w = leaf64([3], seed: 2)
    let b = leaf64([3], seed: 3)
    for training in [true, false] {
      let rm = Tensor(shape: [3], scalars: [0.1, -0.2, 0.3])
      let rv = Tensor(shape: [3], scalars: [0.8, 1.2, 1.5])
      // the running statistics must not drift between the finite-difference evaluations
      let f: ([Tensor]) -> Tensor = {
        F.batchNorm(
          $0[0], runningMean: training ? nil : rm, runningVar: training ? nil : rv,
          weight: $0[1], bias: $0[2], training: training)
      }
      #expect(try gradcheck(f, inputs: [x, w, b]))
      #expect(try gradgradcheck(f, inputs: [x, w, b]))
      let plain: ([Tensor]) -> Tensor = {
        F.batchNorm(
          $0[0], runningMean: training ? nil : rm, runningVar: training ? nil : rv,
          training: training)
      }
      #expect(try gradgradcheck(plain, inputs: [x]))
    }
  }

  @Test func layerNormPassesGradChecks() throws {
    let x = leaf64([3, 2, 4], seed: 4)
    for normalized in [[4], [2, 4], [3, 2, 4]] {
      let w = leaf64(normalized, seed: 5)
      let b = leaf64(normalized, seed: 6)
      let f: ([Tensor]) -> Tensor = {
        F.layerNorm($0[0], normalizedShape: normalized, weight: $0[1], bias: $0[2])
      }
      #expect(try gradcheck(f, inputs: [x, w, b]))
      #expect(try gradgradcheck(f, inputs: [x, w, b]))
    }
    #expect(try gradgradcheck({ F.layerNorm($0[0], normalizedShape: [4]) }, inputs: [x]))
  }

  @Test func groupNormPassesGradChecks() throws {
    let x = leaf64([2, 4, 3], seed: 7)
    let w = leaf64([4], seed: 8)
    let b = leaf64([4], seed: 9)
    for groups in [1, 2, 4] {
      let f: ([Tensor]) -> Tensor = {
        F.groupNorm($0[0], numGroups: groups, weight: $0[1], bias: $0[2])
      }
      #expect(try gradcheck(f, inputs: [x, w, b]))
      #expect(try gradgradcheck(f, inputs: [x, w, b]))
    }
    #expect(try gradgradcheck({ F.groupNorm($0[0], numGroups: 2) }, inputs: [x]))
  }

  // MARK: behaviour

  /// The fused first-order kernels and the tensor-op formula used under `createGraph` agree.
  @Test func firstOrderKernelsMatchTheDifferentiableFormula() throws {
    let x = leaf64([4, 3, 5], seed: 10)
    let w = leaf64([3], seed: 11)
    let b = leaf64([3], seed: 12)
    let g = leaf64([4, 3, 5], seed: 13).detach()
    let runs: [() -> Tensor] = [
      { F.batchNorm(x, runningMean: nil, runningVar: nil, weight: w, bias: b, training: true) },
      { F.layerNorm(x, normalizedShape: [5], weight: leaf64([5], seed: 14)) },
      { F.groupNorm(x, numGroups: 3, weight: w, bias: b) },
      { F.groupNorm(x, numGroups: 1) },
    ]
    for run in runs {
      let fast = try grad(of: [run()], withRespectTo: [x], gradOutputs: [g])[0]!
      let graph = try grad(of: [run()], withRespectTo: [x], gradOutputs: [g], createGraph: true)[0]!
      expectClose(fast.toArray(), graph.toArray(), rtol: 1e-10, atol: 1e-12)
    }
  }

  /// PyTorch: `bn = F.batch_norm(x, rm, rv, training=True, momentum=0.1)` updates the running
  /// statistics with the unbiased variance; values pasted from PyTorch.
  @Test func trainingUpdatesRunningStatistics() {
    let x = Tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]], dtype: .float64)
    let rm = Tensor([0.0, 0.0], dtype: .float64)
    let rv = Tensor([1.0, 1.0], dtype: .float64)
    let version = rm.storage.version
    let y = F.batchNorm(x, runningMean: rm, runningVar: rv, training: true)
    expectClose(rm.toArray(), [0.3, 0.3], rtol: 1e-12)
    expectClose(rv.toArray(), [1.3, 1.6], rtol: 1e-12)
    #expect(rm.storage.version > version)
    expectTensor(
      y, shape: [3, 2],
      [
        -1.224742575001414, -0.4629095539120194, -1.1102230246251565e-16, 1.3887286617360581,
        1.2247425750014136, -0.9258191078240388,
      ], rtol: 1e-12, atol: 1e-15)
    // evaluation mode reads them and leaves them alone
    let e = F.batchNorm(x, runningMean: rm, runningVar: rv)
    expectClose(rm.toArray(), [0.3, 0.3], rtol: 1e-12)
    expectClose([e.toArray()[0]], [(1 - 0.3) / (1.3 + 1e-5).squareRoot()], rtol: 1e-12)
  }

  @Test func gradFnNamesArePyTorchs() throws {
    let x = leaf64([2, 3, 2], seed: 15)
    #expect(
      F.batchNorm(x, runningMean: nil, runningVar: nil, training: true).gradFn?.name
        == "NativeBatchNormBackward0")
    #expect(F.layerNorm(x, normalizedShape: [2]).gradFn?.name == "NativeLayerNormBackward0")
    #expect(F.groupNorm(x, numGroups: 3).gradFn?.name == "NativeGroupNormBackward0")
    let w = leaf64([3], seed: 16)
    let y = F.batchNorm(x.detach(), runningMean: nil, runningVar: nil, weight: w, training: true)
    #expect(y.gradFn?.nextFunctions.count == 3)
  }

  @Test func nonContiguousInputs() throws {
    let base = leaf64([3, 4, 2], seed: 17)
    let x = base.transpose(0, 2)  // [2, 4, 3]
    let bn = F.batchNorm(x, runningMean: nil, runningVar: nil, training: true)
    let bnc = F.batchNorm(x.contiguous(), runningMean: nil, runningVar: nil, training: true)
    expectClose(bn.toArray(), bnc.toArray(), rtol: 1e-12)
    let ln = F.layerNorm(x, normalizedShape: [3])
    expectClose(ln.toArray(), F.layerNorm(x.contiguous(), normalizedShape: [3]).toArray())
    let g = Tensor.ones(like: ln)
    let gx = try grad(of: [ln * ln], withRespectTo: [base], gradOutputs: [g])[0]!
    #expect(gx.shape == [3, 4, 2])
  }

  // MARK: bad input (PyTorch's messages)

  @Test func oneValuePerChannelInTrainingStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.batchNorm(
        Tensor.zeros([1, 3]), runningMean: nil, runningVar: nil, training: true)
    }
    #expect(
      stderrText(r).contains(
        "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])"))
  }

  @Test func evaluationNeedsRunningStatistics() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.batchNorm(Tensor.zeros([4, 3]), runningMean: nil, runningVar: nil)
    }
    #expect(stderrText(r).contains("running_mean must be defined in evaluation mode"))
  }

  @Test func layerNormShapeMismatchStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.layerNorm(Tensor.zeros([4, 3, 5]), normalizedShape: [4])
    }
    #expect(
      stderrText(r).contains(
        "Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[4, 3, 5]"
      ))
  }

  @Test func groupNormIndivisibleChannelsStop() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.groupNorm(Tensor.zeros([2, 6, 3]), numGroups: 4)
    }
    #expect(
      stderrText(r).contains(
        "Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 6, 3] and num_groups=4"
      ))
  }
}
