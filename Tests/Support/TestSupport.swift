// Helpers shared by the test targets (EmberTests, EmberNNTests, EmberDataTests): value
// comparisons with PyTorch's tolerances, deterministic float64 leaves, exit-test output and a
// per-test default generator.
@_exported import Ember
@_exported import Testing

/// Asserts two arrays are elementwise close (`|a - b| <= atol + rtol * |b|`).
public func expectClose(
  _ actual: [Double], _ expected: [Double], rtol: Double = 1e-5, atol: Double = 1e-6,
  _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(
    actual.count == expected.count, "\(comment): count \(actual.count) vs \(expected.count)",
    sourceLocation: sourceLocation)
  for (i, (a, b)) in zip(actual, expected).enumerated() {
    let ok = (a.isNaN && b.isNaN) || a == b || abs(a - b) <= atol + rtol * abs(b)
    #expect(ok, "\(comment): element \(i): got \(a), expected \(b)", sourceLocation: sourceLocation)
    if !ok { return }
  }
}

/// Asserts a tensor's shape and values.
public func expectTensor(
  _ t: Tensor?, shape: [Int], _ expected: [Double], rtol: Double = 1e-5, atol: Double = 1e-6,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard let t else {
    Issue.record("tensor is nil", sourceLocation: sourceLocation)
    return
  }
  #expect(t.shape == shape, "shape \(t.shape) != \(shape)", sourceLocation: sourceLocation)
  expectClose(t.toArray(), expected, rtol: rtol, atol: atol, sourceLocation: sourceLocation)
}

/// A float64 leaf that requires grad, with deterministic values in [-2, 2] (away from 0 when asked).
public func leaf64(
  _ shape: [Int], seed: Int = 1, positive: Bool = false, awayFromZero: Bool = false
)
  -> Tensor
{
  let n = shape.reduce(1, *)
  var state = UInt64(truncatingIfNeeded: seed &* 2_654_435_761 &+ 12345)
  let values: [Double] = (0..<n).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    var v = Double(state >> 11) / Double(1 << 53) * 4 - 2
    if positive { v = abs(v) + 0.5 }
    if awayFromZero && abs(v) < 0.1 { v = v < 0 ? v - 0.2 : v + 0.2 }
    return v
  }
  let t = Tensor(shape: shape, scalars: values)
  try! t.setRequiresGrad()
  return t
}

/// What an exit test's child process wrote to standard error.
public func stderrText(_ result: ExitTest.Result?) -> String {
  String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}

/// Runs each test of a suite (or one test) with its own default generator, so tests that seed
/// the global generator and compare drawn values cannot race with tests running beside them.
public struct IsolatedGenerator: SuiteTrait, TestTrait, TestScoping {
  public var isRecursive: Bool { true }
  public init() {}
  public func provideScope(
    for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
  ) async throws {
    try await withDefaultGenerator(Generator()) { try await function() }
  }
}

extension Trait where Self == IsolatedGenerator {
  /// A default generator of the test's own (see ``IsolatedGenerator``).
  public static var isolatedGenerator: Self { Self() }
}
