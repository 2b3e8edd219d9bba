import EmberNN
import Foundation
import Testing

/// TransformerEncoderLayer against PyTorch 2.15 (Fixtures/make_transformer_fixtures.py): the same
/// seed gives the same weights, so outputs and gradients match, in eval mode and in training mode
/// with dropout (same masks).
@Suite(.isolatedGenerator) struct TransformerEncoderLayerTests {
  struct Case: Decodable {
    let y: [Double]
    let gx: [Double]
    let gw: [Double]
    let keys: [String]
    let repr: String
  }

  static let cases: [String: Case] = {
    let url = Bundle.module.url(
      forResource: "transformer-cases", withExtension: "json", subdirectory: "Fixtures")!
    return try! JSONDecoder().decode([String: Case].self, from: Data(contentsOf: url))
  }()

  @Test(arguments: ["post", "pre_gelu_bf", "post_train"])
  func matchesPyTorch(_ name: String) throws {
    let c = Self.cases[name]!
    manualSeed(3)
    let batchFirst = name == "pre_gelu_bf"
    let m = TransformerEncoderLayer(
      dModel: 8, nhead: 2, dimFeedforward: 16, activation: batchFirst ? .gelu : .relu,
      batchFirst: batchFirst, normFirst: batchFirst)
    m.to(.float64)
    if name != "post_train" { m.eval() }
    var x = (Tensor.arange(0.0, 80.0, dtype: .float64).reshape(5, 2, 8) / 37.0).sin()
    if batchFirst { x = x.transpose(0, 1).contiguous() }
    try x.setRequiresGrad()
    manualSeed(7)
    let y = m(x)
    let w = Tensor.arange(0.0, Double(y.count), dtype: .float64).cos().reshape(y.shape)
    try (y * w).sum().backward()
    expectClose(y.toArray(), c.y, rtol: 1e-9, atol: 1e-11, "output")
    expectClose(x.grad!.toArray(), c.gx, rtol: 1e-9, atol: 1e-11, "input grad")
    expectClose(m.linear1.weight.grad!.toArray(), c.gw, rtol: 1e-9, atol: 1e-11, "linear1 grad")
    #expect(m.stateDict().keys == c.keys)
    #expect(m.description == c.repr)
  }
}
