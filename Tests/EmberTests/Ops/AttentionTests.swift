import Ember
import Testing

private typealias F = Functional

@Suite struct AttentionTests {
  @Test(arguments: NNFixtures.cases(["sdpa"]))
  func matchesPyTorch(_ c: NNFixtures.Case) throws {
    try NNFixtures.check(c)
  }

  @Test func passesGradChecks() throws {
    let q = leaf64([2, 3, 4], seed: 1)
    let k = leaf64([2, 5, 4], seed: 2)
    let v = leaf64([2, 5, 2], seed: 3)
    let mask = Tensor([
      [true, false, true, true, false], [true, true, true, false, false],
      [false, false, false, false, false],
    ])
    let fs: [([Tensor]) -> Tensor] = [
      { F.scaledDotProductAttention($0[0], $0[1], $0[2]) },
      { F.scaledDotProductAttention($0[0], $0[1], $0[2], attnMask: mask, scale: 0.7) },
      { F.scaledDotProductAttention($0[0], $0[1], $0[2], isCausal: true) },
    ]
    for f in fs {
      #expect(try gradcheck(f, inputs: [q, k, v]))
      #expect(try gradgradcheck(f, inputs: [q, k, v]))
    }
  }

  @Test func fullyMaskedRowsGiveZeros() {
    let q = Tensor.ones([1, 2, 3])
    let k = Tensor.ones([1, 4, 3])
    let v = Tensor.ones([1, 4, 2])
    let mask = Tensor([[true, true, false, false], [false, false, false, false]])
    let out = F.scaledDotProductAttention(q, k, v, attnMask: mask)
    #expect(out.toArray() == [1, 1, 0, 0])
  }

  @Test func dropoutUsesTheGenerator() {
    let q = Tensor.randn([2, 3, 4], generator: Generator(seed: 1))
    let a = F.scaledDotProductAttention(q, q, q, dropoutP: 0.5, generator: Generator(seed: 7))
    let b = F.scaledDotProductAttention(q, q, q, dropoutP: 0.5, generator: Generator(seed: 7))
    #expect(a.toArray() == b.toArray())
    #expect(a.toArray() != F.scaledDotProductAttention(q, q, q).toArray())
  }

  @Test func causalWithMaskStops() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let q = Tensor.ones([1, 2, 3])
      _ = Functional.scaledDotProductAttention(
        q, q, q, attnMask: Tensor.ones([2, 2], dtype: .bool), isCausal: true)
    }
    #expect(
      stderrText(r).contains(
        "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"))
  }
}
