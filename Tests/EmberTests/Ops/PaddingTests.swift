import Ember
import Testing

private typealias F = Functional

@Suite struct PaddingTests {
  @Test(arguments: NNFixtures.cases(["pad"]))
  func matchesPyTorch(_ c: NNFixtures.Case) throws {
    try NNFixtures.check(c)
  }

  /// `F.pad(torch.arange(1., 4.).reshape(1, 1, 3), (2, 1), mode=...)` in PyTorch.
  @Test func modes() {
    let x = Tensor([[[1.0, 2.0, 3.0]]])
    #expect(F.pad(x, [2, 1], mode: .reflect).toArray() == [3, 2, 1, 2, 3, 2])
    #expect(F.pad(x, [2, 1], mode: .replicate).toArray() == [1, 1, 1, 2, 3, 3])
    #expect(F.pad(x, [2, 1], mode: .circular).toArray() == [2, 3, 1, 2, 3, 1])
    #expect(F.pad(x, [2, 1], value: 9).toArray() == [9, 9, 1, 2, 3, 9])
    #expect(F.pad(x, [-1, 0]).toArray() == [2, 3])
    #expect(F.pad(x, [0, 0, 1, 0]).shape == [1, 2, 3])
  }

  @Test func gradFnNamesArePyTorchs() throws {
    let x = leaf64([1, 2, 4, 4], seed: 1)
    #expect(F.pad(x, [1, 1]).gradFn?.name == "ConstantPadNdBackward0")
    #expect(F.pad(x, [1, 1, 2, 0], mode: .reflect).gradFn?.name == "ReflectionPad2DBackward0")
    let x3 = leaf64([2, 4, 4], seed: 5)
    #expect(F.pad(x3, [1, 1], mode: .replicate).gradFn?.name == "ReplicationPad1DBackward0")
    #expect(F.pad(x3, [1, 1], mode: .circular).gradFn?.name == "CopySlices")
    #expect(F.pad(x, [1, 1, 1, 1, 1, 1]).gradFn?.name == "ConstantPadNdBackward0")
  }

  @Test(arguments: [PadMode.constant, .reflect, .replicate, .circular])
  func passesGradChecks(_ mode: PadMode) throws {
    let x3 = leaf64([2, 3, 4], seed: 2)
    let x4 = leaf64([1, 2, 3, 4], seed: 3)
    let x5 = leaf64([1, 1, 2, 3, 3], seed: 4)
    for (x, pad) in [
      (x3, [2, 1]), (x3, [-1, 3]), (x4, [1, 2, 2, 0]), (x4, [-1, 3, 1, 1]),
      (x5, [1, 1, 2, 0, 1, 1]),
    ] {
      let f: ([Tensor]) -> Tensor = { F.pad($0[0], pad, mode: mode) }
      #expect(try gradcheck(f, inputs: [x]))
      #expect(try gradgradcheck(f, inputs: [x]))
    }
  }

  @Test func oneHot() {
    let h = F.oneHot(Tensor([[2, 0], [1, 3]]))
    #expect(h.dtype == .int64)
    #expect(h.shape == [2, 2, 4])
    #expect(h.toArray() == [0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])
    #expect(F.oneHot(Tensor([1]), numClasses: 3).toArray() == [0, 1, 0])
    #expect(F.oneHot(Tensor.zeros([0], dtype: .int64), numClasses: 3).shape == [0, 3])
  }

  @Test func oneHotClassOutOfRangeStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.oneHot(Tensor([0, 3]), numClasses: 2)
    }
    #expect(stderrText(r).contains("Class values must be smaller than num_classes."))
  }

  @Test func reflectPaddingTooLargeStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.pad(Tensor.zeros([2, 3, 4]), [4, 0], mode: .reflect)
    }
    #expect(
      stderrText(r).contains(
        "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (4, 0) at dimension 2 of input [2, 3, 4]"
      ))
  }

  @Test func oddPaddingLengthStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.pad(Tensor.zeros([2, 3]), [1, 2, 3])
    }
    #expect(stderrText(r).contains("Padding length must be divisible by 2"))
  }
}
