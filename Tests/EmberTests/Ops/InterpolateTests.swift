import Ember
import Testing

private typealias F = Functional

@Suite struct InterpolateTests {
  @Test(arguments: NNFixtures.cases(["interpolate"]))
  func matchesPyTorch(_ c: NNFixtures.Case) throws {
    try NNFixtures.check(c)
  }

  @Test func passesGradChecks() throws {
    let x4 = leaf64([1, 2, 3, 4], seed: 1)
    let x3 = leaf64([2, 1, 5], seed: 2)
    let x5 = leaf64([1, 1, 2, 3, 2], seed: 3)
    let fs: [(([Tensor]) -> Tensor, Tensor)] = [
      ({ F.interpolate($0[0], size: [5, 7]) }, x4),
      ({ F.interpolate($0[0], scaleFactor: 0.6, mode: .nearestExact) }, x4),
      ({ F.interpolate($0[0], size: [5, 3], mode: .bilinear) }, x4),
      ({ F.interpolate($0[0], scaleFactor: 1.5, mode: .bilinear, alignCorners: true) }, x4),
      ({ F.interpolate($0[0], size: 8, mode: .linear) }, x3),
      ({ F.interpolate($0[0], size: [3, 4, 3], mode: .trilinear) }, x5),
      ({ F.interpolate($0[0], size: [4, 4, 4]) }, x5),
    ]
    for (f, x) in fs {
      #expect(try gradcheck(f, inputs: [x]))
      #expect(try gradgradcheck(f, inputs: [x]))
    }
  }

  @Test func outputSizesAndNames() throws {
    let x = leaf64([1, 1, 3, 5], seed: 4)
    let up = F.interpolate(x, scaleFactor: 2)
    #expect(up.shape == [1, 1, 6, 10])
    #expect(up.gradFn?.name == "UpsampleNearest2DBackward0")
    // nearest x2 repeats each value
    #expect(up[0, 0, 0, 0].item() == x[0, 0, 0, 0].item())
    #expect(up[0, 0, 1, 1].item() == x[0, 0, 0, 0].item())
    let bl = F.interpolate(x, scaleFactors: [1.5, 0.5], mode: .bilinear)
    #expect(bl.shape == [1, 1, 4, 2])
    #expect(bl.gradFn?.name == "UpsampleBilinear2DBackward0")
    #expect(
      F.interpolate(leaf64([1, 1, 4], seed: 5), size: 6, mode: .linear).gradFn?.name
        == "UpsampleLinear1DBackward0")
    // the same size is a copy
    #expect(F.interpolate(x, size: [3, 5], mode: .bilinear).toArray() == x.toArray())
  }

  @Test func alignCornersWithNearestStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.interpolate(Tensor.zeros([1, 1, 2, 2]), size: 3, alignCorners: true)
    }
    #expect(
      stderrText(r).contains(
        "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
      ))
  }

  @Test func bilinearNeeds4D() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.interpolate(Tensor.zeros([1, 1, 2]), size: 3, mode: .bilinear)
    }
    #expect(stderrText(r).contains("Got 3D input, but bilinear mode needs 4D input"))
  }
}
