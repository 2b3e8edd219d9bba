import Ember
import Testing

private typealias F = Functional

@Suite struct LossTests {
  static let goldenOps: Set<String> = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "nll_loss", "cross_entropy",
  ]

  @Test(arguments: NNFixtures.cases(LossTests.goldenOps))
  func matchesPyTorch(_ c: NNFixtures.Case) throws {
    try NNFixtures.check(c)
  }

  // MARK: gradcheck and gradgradcheck (float64)

  static let reductions: [Reduction] = [.none, .mean, .sum]

  @Test(arguments: reductions)
  func regressionLossesPassGradChecks(_ reduction: Reduction) throws {
    let x = leaf64([3, 4], seed: 1)
    let y = leaf64([3, 4], seed: 2)
    let losses: [([Tensor]) -> Tensor] = [
      { F.mseLoss($0[0], $0[1], reduction: reduction) },
      { F.l1Loss($0[0], $0[1], reduction: reduction) },
      { F.smoothL1Loss($0[0], $0[1], reduction: reduction, beta: 0.7) },
      { F.huberLoss($0[0], $0[1], reduction: reduction, delta: 0.6) },
    ]
    for f in losses {
      #expect(try gradcheck(f, inputs: [x, y]))
      #expect(try gradgradcheck(f, inputs: [x, y]))
    }
  }

  @Test(arguments: reductions)
  func binaryLossesPassGradChecks(_ reduction: Reduction) throws {
    let p = Tensor(shape: [2, 3], scalars: [0.2, 0.7, 0.45, 0.9, 0.15, 0.6])
    try p.setRequiresGrad()
    let t = leaf64([2, 3], seed: 3, positive: true) / 3
    let target = try t.detach().setRequiresGrad()
    let w = Tensor(shape: [3], scalars: [0.5, 1.5, 2.0])
    let bce: ([Tensor]) -> Tensor = {
      F.binaryCrossEntropy($0[0], $0[1], weight: w, reduction: reduction)
    }
    #expect(try gradcheck(bce, inputs: [p, target]))
    #expect(try gradgradcheck(bce, inputs: [p, target]))
    let logits = leaf64([2, 3], seed: 4)
    let pw = Tensor(shape: [3], scalars: [0.5, 2.0, 3.0])
    for (weight, posWeight) in [(nil, nil), (w, nil), (nil, pw), (w, pw)] as [(Tensor?, Tensor?)] {
      let f: ([Tensor]) -> Tensor = {
        F.binaryCrossEntropyWithLogits(
          $0[0], $0[1], weight: weight, reduction: reduction, posWeight: posWeight)
      }
      #expect(try gradcheck(f, inputs: [logits, target]))
      #expect(try gradgradcheck(f, inputs: [logits, target]))
    }
  }

  @Test func klDivPassesGradChecks() throws {
    let input = leaf64([3, 4], seed: 5)
    let target = try (leaf64([3, 4], seed: 6, positive: true) / 4).detach().setRequiresGrad()
    for reduction in [Reduction.none, .mean, .sum, .batchMean] {
      for logTarget in [false, true] {
        let f: ([Tensor]) -> Tensor = {
          F.klDiv($0[0], $0[1], reduction: reduction, logTarget: logTarget)
        }
        #expect(try gradcheck(f, inputs: [input, target]))
        #expect(try gradgradcheck(f, inputs: [input, target]))
      }
    }
  }

  @Test(arguments: reductions)
  func classLossesPassGradChecks(_ reduction: Reduction) throws {
    let logits = leaf64([4, 3], seed: 7)
    let target = Tensor([0, 2, -100, 1])
    let w = Tensor(shape: [3], scalars: [0.5, 1.5, 2.0])
    let spatial = leaf64([2, 3, 2, 2], seed: 8)
    let spatialTarget = Tensor([[[0, 1], [2, 2]], [[1, 0], [-100, 2]]])
    let probs = try (leaf64([4, 3], seed: 9, positive: true) / 4).detach().setRequiresGrad()
    let fs: [(([Tensor]) -> Tensor, [Tensor])] = [
      ({ F.nllLoss($0[0], target, weight: w, reduction: reduction) }, [logits]),
      ({ F.crossEntropy($0[0], target, reduction: reduction) }, [logits]),
      (
        { F.crossEntropy($0[0], target, weight: w, reduction: reduction, labelSmoothing: 0.2) },
        [logits]
      ),
      ({ F.crossEntropy($0[0], spatialTarget, weight: w, reduction: reduction) }, [spatial]),
      (
        { F.crossEntropy($0[0], $0[1], weight: w, reduction: reduction, labelSmoothing: 0.1) },
        [logits, probs]
      ),
      (
        {
          F.crossEntropy(
            $0[0].reshape([2, 3, 2]), Tensor([[0, 2], [1, 1]]), reduction: reduction)
        },
        [logits]
      ),
    ]
    for (f, inputs) in fs {
      #expect(try gradcheck(f, inputs: inputs))
      #expect(try gradgradcheck(f, inputs: inputs))
    }
  }

  // MARK: names and structure

  @Test func gradFnNamesArePyTorchs() throws {
    let x = try Tensor([[0.2, 0.5], [0.9, 0.4]], dtype: .float64, requiresGrad: true)
    let t = Tensor([[0.0, 1.0], [1.0, 0.0]], dtype: .float64)
    #expect(F.mseLoss(x, t).gradFn?.name == "MseLossBackward0")
    #expect(F.l1Loss(x, t).gradFn?.name == "MeanBackward0")
    #expect(F.l1Loss(x, t, reduction: .none).gradFn?.name == "AbsBackward0")
    #expect(F.smoothL1Loss(x, t).gradFn?.name == "SmoothL1LossBackward0")
    #expect(F.smoothL1Loss(x, t, beta: 0).gradFn?.name == "MeanBackward0")
    #expect(F.huberLoss(x, t).gradFn?.name == "HuberLossBackward0")
    #expect(F.binaryCrossEntropy(x, t).gradFn?.name == "BinaryCrossEntropyBackward0")
    #expect(
      F.binaryCrossEntropyWithLogits(x, t).gradFn?.name == "BinaryCrossEntropyWithLogitsBackward0")
    let ce = F.crossEntropy(x, Tensor([1, 0]))
    #expect(ce.gradFn?.name == "NllLossBackward0")
    #expect(ce.gradFn?.nextFunctions.first?.node?.name == "LogSoftmaxBackward0")
    #expect(F.crossEntropy(x, Tensor([1, 0]), labelSmoothing: 0.1).gradFn?.name == "AddBackward0")
    #expect(F.crossEntropy(x, t, reduction: .sum).gradFn?.name == "NegBackward0")
    #expect(F.nllLoss(x.view([1, 2, 2]), Tensor([[1, 0]])).gradFn?.name == "NllLoss2DBackward0")
    #expect(F.klDiv(x, t, reduction: .sum).gradFn?.name == "SumBackward0")
  }

  /// PyTorch's values, pasted: `F.cross_entropy` of a 2x3 batch with every option at once.
  @Test func crossEntropyWithEveryOption() throws {
    let logits = try Tensor(
      [[1.0, -0.5, 2.0], [0.3, 0.8, -1.2]], dtype: .float64, requiresGrad: true)
    let loss = F.crossEntropy(
      logits, Tensor([2, 0]), weight: Tensor([1.0, 2.0, 0.5], dtype: .float64),
      labelSmoothing: 0.25)
    // torch: F.cross_entropy(x, t, weight=w, label_smoothing=0.25), then backward
    expectClose([loss.item()], [1.2171818750192414], rtol: 1e-12)
    try loss.backward()
    expectTensor(
      logits.grad, shape: [2, 3],
      [
        0.057207191837788995, -0.0859503412264572, 0.028743149388668232,
        -0.31374484174740636, 0.28756735622756574, 0.026177485519840685,
      ], rtol: 1e-10)
  }

  @Test func ignoredTargetsCountNothing() {
    let logp = Tensor([[-1.0, -2.0], [-0.5, -3.0]], dtype: .float64)
    let all = F.nllLoss(logp, Tensor([-100, -100]))
    #expect(all.item().isNaN)  // 0 / 0, as PyTorch
    #expect(F.nllLoss(logp, Tensor([1, -100])).item() == 2)
    #expect(F.nllLoss(logp, Tensor([1, -100]), reduction: .sum).item() == 2)
    #expect(F.nllLoss(logp, Tensor([1, 0]), reduction: .none).toArray() == [2, 0.5])
  }

  // MARK: bad input (PyTorch's messages)

  @Test func targetOutOfRangeNamesIt() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.crossEntropy(Tensor.zeros([2, 10]), Tensor([3, 10]))
    }
    #expect(stderrText(r).contains("Target 10 is out of bounds."))
  }

  @Test func negativeTargetNamesIt() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.nllLoss(Tensor.zeros([2, 3]), Tensor([0, -3]))
    }
    #expect(stderrText(r).contains("Target -3 is out of bounds."))
  }

  @Test func batchSizeMismatchStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.crossEntropy(Tensor.zeros([4, 3]), Tensor([0, 1, 2]))
    }
    #expect(stderrText(r).contains("Expected input batch_size (4) to match target batch_size (3)."))
  }

  @Test func batchMeanOnlyForKLDiv() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.mseLoss(Tensor.zeros([2]), Tensor.zeros([2]), reduction: .batchMean)
    }
    #expect(stderrText(r).contains("batchmean is not a valid value for reduction"))
  }

  @Test func bceInputOutsideUnitIntervalStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.binaryCrossEntropy(Tensor([0.5, 1.5]), Tensor([0.0, 1.0]))
    }
    #expect(stderrText(r).contains("all elements of input should be between 0 and 1"))
  }

  @Test func bceWithLogitsShapeMismatchStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.binaryCrossEntropyWithLogits(Tensor.zeros([4, 3]), Tensor.zeros([3]))
    }
    #expect(
      stderrText(r).contains(
        "Target size (torch.Size([3])) must be the same as input size (torch.Size([4, 3]))"))
  }

  @Test func classWeightOfWrongSizeStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.nllLoss(Tensor.zeros([2, 3]), Tensor([0, 1]), weight: Tensor.ones([4]))
    }
    #expect(
      stderrText(r).contains(
        "weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [4]"
      ))
  }
}
