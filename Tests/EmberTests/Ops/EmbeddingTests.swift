import Ember
import Testing

private typealias F = Functional

@Suite struct EmbeddingTests {
  @Test(arguments: NNFixtures.cases(["embedding", "embedding_max_norm"]))
  func matchesPyTorch(_ c: NNFixtures.Case) throws {
    try NNFixtures.check(c)
  }

  @Test func paddingRowsGetNoGradient() throws {
    let w = leaf64([5, 3], seed: 1)
    let idx = Tensor([[0, 2, 4], [2, 1, 2]])
    let e = F.embedding(idx, w, paddingIdx: 2)
    #expect(e.shape == [2, 3, 3])
    #expect(e.gradFn?.name == "EmbeddingBackward0")
    try e.sum().backward()
    // rows 0, 1, 4 are looked up once each; row 2 (padding) three times but gets nothing
    #expect(w.grad!.toArray() == [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    // the padding row's values are still returned
    #expect(e[0, 1].toArray() == w[2].toArray())
  }

  @Test func passesGradChecks() throws {
    let w = leaf64([5, 3], seed: 2)
    let idx = Tensor([[0, 2, 4], [2, 1, 2]])
    for (padding, scale) in [(nil, false), (2, false), (nil, true), (-1, true)] as [(Int?, Bool)] {
      let f: ([Tensor]) -> Tensor = {
        F.embedding(idx, $0[0], paddingIdx: padding, scaleGradByFreq: scale)
      }
      // the padding row and the frequency scaling are deliberate departures from the true
      // gradient (as in PyTorch), so only the plain lookup matches finite differences
      if padding == nil && !scale { #expect(try gradcheck(f, inputs: [w])) }
      #expect(try gradgradcheck(f, inputs: [w]))
    }
  }

  /// PyTorch's `embedding_renorm_`: values pasted from
  /// `F.embedding(torch.tensor([0, 2, 0]), w, max_norm=2.0)`.
  @Test func maxNormRescalesReferencedRowsInPlace() {
    let w = Tensor([[3.0, 4.0], [0.3, 0.4], [1.0, -2.0]], dtype: .float64)
    let version = w.storage.version
    let e = F.embedding(Tensor([0, 2, 0]), w, maxNorm: 2)
    expectClose(
      w.toArray(),
      [1.1999999760000004, 1.5999999680000005, 0.3, 0.4, 0.8944271509999177, -1.7888543019998353],
      rtol: 1e-14)
    expectClose(
      e.toArray(),
      [
        1.1999999760000004, 1.5999999680000005, 0.8944271509999177, -1.7888543019998353,
        1.1999999760000004, 1.5999999680000005,
      ], rtol: 1e-14)
    #expect(w.storage.version > version)
  }

  @Test func scalarIndexGivesOneRow() {
    let w = Tensor([[1.0, 2.0], [3.0, 4.0]])
    let e = F.embedding(Tensor(1), w)
    #expect(e.shape == [2])
    #expect(e.toArray() == [3, 4])
  }

  @Test func indexOutOfRangeStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.embedding(Tensor([1, 7]), Tensor.zeros([7, 2]))
    }
    #expect(stderrText(r).contains("index out of range in self"))
  }

  @Test func floatIndicesStop() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Functional.embedding(Tensor([1.0]), Tensor.zeros([7, 2]))
    }
    #expect(
      stderrText(r).contains(
        "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments for embedding)"
      ))
  }
}
