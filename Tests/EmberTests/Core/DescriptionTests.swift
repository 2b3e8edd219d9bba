import Ember
import Foundation
import Testing

/// One tensor and the text PyTorch 2.15 prints for it (Fixtures/print-cases.json, written by
/// Fixtures/make_print_fixtures.py, which documents the fields).
struct PrintCase: Sendable, CustomTestStringConvertible {
  let name: String
  let dtype: DType
  let shape: [Int]
  let values: [String]?
  let cycle: [String]?
  let arange: [String]?
  let overrides: [(Int, String)]
  let requiresGrad: Bool
  let ops: [String]
  let options: PrintOptions
  let expected: String

  var testDescription: String { name }

  static func loadAll() throws -> [PrintCase] {
    guard
      let url = Bundle.module.url(
        forResource: "print-cases", withExtension: "json", subdirectory: "Fixtures")
    else { throw FixtureError.missing }
    let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    return (root["cases"] as! [[String: Any]]).map(PrintCase.init)
  }

  enum FixtureError: Error { case missing }

  init(_ raw: [String: Any]) {
    name = raw["name"] as! String
    dtype = DType(rawValue: raw["dtype"] as! String)!
    shape = raw["shape"] as! [Int]
    values = raw["values"] as? [String]
    cycle = raw["cycle"] as? [String]
    arange = raw["arange"] as? [String]
    overrides = (raw["set"] as? [[Any]] ?? []).map { ($0[0] as! Int, $0[1] as! String) }
    requiresGrad = raw["requires_grad"] as? Bool ?? false
    ops = raw["ops"] as? [String] ?? []
    var o = PrintOptions(style: .pytorch)
    let given = raw["options"] as? [String: Any] ?? [:]
    if let v = given["precision"] as? Int { o.precision = v }
    if let v = given["threshold"] as? Int { o.threshold = v }
    if let v = given["edgeitems"] as? Int { o.edgeItems = v }
    if let v = given["linewidth"] as? Int { o.lineWidth = v }
    if let v = given["sci_mode"] as? Bool { o.sciMode = v }
    options = o
    expected = raw["expected"] as! String
  }

  /// The element strings, row-major, before overrides.
  private func strings(count n: Int) -> [String]? {
    if let values { return values }
    if let cycle { return (0..<n).map { cycle[$0 % cycle.count] } }
    return nil
  }

  /// Builds the tensor the way the script builds it in PyTorch.
  func build() throws -> Tensor {
    let n = shape.reduce(1, *)
    var t: Tensor
    switch dtype {
    case .float32, .float64:
      var d: [Double]
      if let s = strings(count: n) {
        d = s.map { Double($0)! }
      } else {
        let start = Double(arange![0])!
        let step = Double(arange![1])!
        d = (0..<n).map { start + Double($0) * step }
      }
      for (i, s) in overrides { d[i] = Double(s)! }
      t =
        dtype == .float32
        ? Tensor(shape: shape, scalars: d.map { Float($0) }) : Tensor(shape: shape, scalars: d)
    case .int64:
      var v: [Int64]
      if let s = strings(count: n) {
        v = s.map { Int64($0)! }
      } else {
        let start = Int64(arange![0])!
        let step = Int64(arange![1])!
        v = (0..<n).map { start + Int64($0) * step }
      }
      for (i, s) in overrides { v[i] = Int64(s)! }
      t = Tensor(shape: shape, scalars: v)
    case .bool:
      var v = strings(count: n)!.map { $0 == "True" }
      for (i, s) in overrides { v[i] = s == "True" }
      t = Tensor(shape: shape, scalars: v)
    }
    if requiresGrad { try t.setRequiresGrad() }
    for op in ops {
      switch op {
      case "mul2": t = t * 2
      case "add1": t = t + 1
      case "sum": t = t.sum()
      case "mean": t = t.mean()
      case "exp": t = t.exp()
      case "neg": t = t.neg()
      case "pow2": t = t ** 2
      case "t": t = t.t()
      case "reshape_flat": t = t.reshape([-1])
      case "detach": t = t.detach()
      case "step2": t = t.slice(0, step: 2)
      default: Issue.record("unknown op \(op)")
      }
    }
    return t
  }
}

@Suite struct PrintingTests {
  @Test(arguments: try PrintCase.loadAll())
  func matchesPyTorch(_ c: PrintCase) throws {
    let text = try c.build().formatted(c.options)
    #expect(text == c.expected, "\(c.name)\n--- Ember\n\(text)\n--- PyTorch\n\(c.expected)")
  }

  @Test func fixtureCoversTheIssueCases() throws {
    let cases = try PrintCase.loadAll()
    #expect(cases.count >= 60)
    let byText = Set(cases.map(\.expected))
    for text in [
      "tensor([-0., 1.])", "tensor([1., -inf])", "tensor([inf, -inf, nan])",
      "tensor([9007199254740993,               -5])", "tensor(9007199254740993)",
      "tensor([], size=(2, 0))", "tensor([])", "tensor([], dtype=torch.int64)",
      "tensor([ True, False])", "tensor(6., grad_fn=<SumBackward0>)",
      "tensor([2., 4.], grad_fn=<MulBackward0>)", "tensor([4., 6., 8.], requires_grad=True)",
      "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])",
      "tensor([], size=(2, 0, 3), dtype=torch.int64)", "tensor(-0.)",
    ] {
      #expect(byText.contains(text), "fixture lacks \(text)")
    }
  }

  @Test func int64PrintsExactly() {
    let t = Tensor([9_007_199_254_740_993, -5])
    #expect(
      t.formatted(PrintOptions(style: .pytorch)) == "tensor([9007199254740993,               -5])")
    #expect(Tensor(shape: [], scalars: [Int64.min]).description == "tensor(-9223372036854775808)")
  }

  @Test func profiles() {
    let short = PrintOptions(profile: .short, style: .pytorch)
    #expect(short.precision == 2 && short.edgeItems == 2 && short.threshold == 1000)
    #expect(
      Tensor.arange(0.0, 500.0, step: 0.25).formatted(short)
        == "tensor([0.00e+00, 2.50e-01,  ..., 5.00e+02, 5.00e+02])")
    // PyTorch: torch.set_printoptions(profile="full"); print(torch.arange(1001.)) prints all 1001
    let full = Tensor.arange(0.0, 1001.0).formatted(PrintOptions(profile: .full))
    #expect(!full.contains("...") && full.hasSuffix("  999.,\n        1000.])"))
    let standard = PrintOptions(profile: .default)
    #expect(standard.precision == 4 && standard.threshold == 1000 && standard.edgeItems == 3)
    #expect(standard.lineWidth == 80 && standard.sciMode == nil)
  }

  /// The `.ember` style lays out values as PyTorch and writes the metadata in Swift style.
  @Test func emberStyleMetadata() throws {
    let x = try Tensor([1.5, 2.5, 3.5], dtype: .float64, requiresGrad: true)
    #expect(
      x.formatted(PrintOptions())
        == "tensor([1.5000, 2.5000, 3.5000], dtype: float64, requiresGrad: true)")
    #expect(
      (x * 2).formatted(PrintOptions())
        == "tensor([3., 5., 7.], dtype: float64, gradFn: MulBackward0)")
    #expect(
      Tensor.zeros([2, 0], dtype: .int64).formatted(PrintOptions())
        == "tensor([], shape: [2, 0], dtype: int64)")
    #expect(
      Tensor.arange(0.0, 40.0).mul(1.5).formatted(PrintOptions())
        == Tensor.arange(0.0, 40.0).mul(1.5).formatted(PrintOptions(style: .pytorch)))
  }
}
