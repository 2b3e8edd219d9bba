import Ember
import Foundation
import Testing

/// Bugs that once went unnoticed by the suite (see docs/testing.md, "planted bugs"), each caught
/// here by a named test with PyTorch's values. Where a bug would trap (a backward returning a
/// gradient of the wrong shape), the check runs in a child process, so the trap fails that test
/// instead of ending the run.
@Suite struct BlindSpotTests {
  static let x: [Double] = [0.5, -1.25, 2.0]

  /// `backward(createGraph: true)` keeps the graph: a second backward runs and accumulates
  /// (PyTorch: x.grad == [1.5, 9.375, 24.0]).
  @Test func createGraphRetainsTheGraph() throws {
    let x = try Tensor(Self.x, dtype: .float64, requiresGrad: true)
    let y = (x ** 3).sum()
    try y.backward(createGraph: true)
    #expect(throws: Never.self) { try y.backward() }
    expectTensor(x.grad, shape: [3], [1.5, 9.375, 24.0], rtol: 1e-12, atol: 0)
  }

  /// Under createGraph `.grad` accumulates too, into a tensor with history: backward of
  /// `x.grad.sum()` adds 6x to 3x² (PyTorch: [3.75, -2.8125, 24.0]).
  @Test func gradAccumulatesUnderCreateGraph() throws {
    let x = try Tensor(Self.x, dtype: .float64, requiresGrad: true)
    try (x ** 3).sum().backward(createGraph: true)
    let g = try #require(x.grad)
    #expect(g.requiresGrad)
    try g.sum().backward()
    expectTensor(x.grad, shape: [3], [3.75, -2.8125, 24.0], rtol: 1e-12, atol: 0)
    // two recorded backwards in a row add up as well (PyTorch: [1.5, 9.375, 24.0])
    let z = try Tensor(Self.x, dtype: .float64, requiresGrad: true)
    // a grad recorded under createGraph holds its own leaf through its history: a reference
    // cycle, as in PyTorch (which warns about it); the test breaks it (found by LeakSanitizer)
    defer {
      x.grad = nil
      z.grad = nil
    }
    try (z ** 3).sum().backward(createGraph: true)
    try (z ** 3).sum().backward(createGraph: true)
    expectTensor(z.grad, shape: [3], [1.5, 9.375, 24.0], rtol: 1e-12, atol: 0)
    #expect(z.grad?.requiresGrad == true)
  }

  /// `precision` reaches the digits (PyTorch's `torch.set_printoptions(precision=...)` output).
  @Test func printPrecisionIsUsed() {
    let t = Tensor(shape: [2, 3], scalars: [0.123456, 1.0, -2.5, 3.14159, 10.5, 0.001])
    var options = PrintOptions(style: .pytorch)
    options.precision = 2
    #expect(
      t.formatted(options)
        == "tensor([[ 1.23e-01,  1.00e+00, -2.50e+00],\n        [ 3.14e+00,  1.05e+01,  1.00e-03]], dtype=torch.float64)"
    )
    options.precision = 6
    #expect(
      t.formatted(options)
        == "tensor([[ 1.234560e-01,  1.000000e+00, -2.500000e+00],\n        [ 3.141590e+00,  1.050000e+01,  1.000000e-03]], dtype=torch.float64)"
    )
  }

  /// `threshold` decides when to summarize (PyTorch with threshold=5).
  @Test func printThresholdIsUsed() {
    var options = PrintOptions(style: .pytorch)
    options.threshold = 5
    #expect(Tensor.arange(0.0, 10.0).formatted(options) == "tensor([0., 1., 2.,  ..., 7., 8., 9.])")
    options.threshold = 10
    #expect(
      Tensor.arange(0.0, 10.0).formatted(options)
        == "tensor([0., 1., 2., 3., 4., 5., 6., 7., 8., 9.])")
  }

  /// Reduction backwards without keepdim (the gradient must be unsqueezed before it is expanded)
  /// and `sumTo` over broadcast dims, in a child process: a wrong shape traps there, and the trap
  /// fails this test with the child's message.
  @Test func reductionAndBroadcastBackwardsInAChild() async {
    let path: String = ChildLog.makePath("blind-spot")
    let result = await #expect(processExitsWith: .success) { [path = path as String] in
      ChildLog.redirect(to: path)
      var problems: [String] = []
      func check(_ t: Tensor?, _ shape: [Int], _ want: [Double], _ what: String) {
        guard let t, t.shape == shape,
          zip(t.toArray(), want).allSatisfy({ abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        else {
          problems.append("\(what): \(t.map { "\($0.shape) \($0.toArray())" } ?? "nil")")
          return
        }
      }
      let a = try! Tensor(
        shape: [2, 3], scalars: [0.0, 1, 2, 3, 4, 5] as [Double]
      ).setRequiresGrad()
      try! a.mean(dim: 1).backward(gradient: Tensor([1.0, 2.0], dtype: .float64))
      check(a.grad, [2, 3], [1, 1, 1, 2, 2, 2].map { $0 / 3.0 }, "mean(dim: 1) backward")
      a.grad = nil
      try! a.mean(dim: 0).backward(gradient: Tensor([1.0, 2.0, 3.0], dtype: .float64))
      check(a.grad, [2, 3], [0.5, 1, 1.5, 0.5, 1, 1.5], "mean(dim: 0) backward")
      a.grad = nil
      try! a.mean(dim: [0, 1]).backward(gradient: Tensor.scalar(6, dtype: .float64))
      check(a.grad, [2, 3], [1, 1, 1, 1, 1, 1], "mean(dim: [0, 1]) backward")
      a.grad = nil
      try! a.sum(dim: 0).backward(gradient: Tensor([1.0, 2.0, 3.0], dtype: .float64))
      check(a.grad, [2, 3], [1, 2, 3, 1, 2, 3], "sum(dim: 0) backward")
      a.grad = nil
      let b = try! Tensor([1.0, 2.0, 3.0], dtype: .float64, requiresGrad: true)
      let c = try! Tensor([[1.0], [2.0]], dtype: .float64, requiresGrad: true)
      let g = Tensor(shape: [2, 3], scalars: [1.0, 2, 3, 4, 5, 6])
      try! (a * b * c).backward(gradient: g)
      check(b.grad, [3], [24, 42, 66], "broadcast [3] gradient")
      check(c.grad, [2, 1], [22, 142], "broadcast [2, 1] gradient")
      let big = Tensor(shape: [2, 2, 3], scalars: (0..<12).map { Double($0) })
      check(big.sumTo([2, 1, 3]), [2, 1, 3], [3, 5, 7, 15, 17, 19], "sumTo([2, 1, 3])")
      check(big.sumTo([3]), [3], [18, 22, 26], "sumTo([3])")
      check(big.sumTo([2, 1]), [2, 1], [24, 42], "sumTo([2, 1])")
      check(big.sumTo([]), [], [66], "sumTo([])")
      if !problems.isEmpty {
        FileHandle.standardError.write(Data(problems.joined(separator: "\n").utf8))
        exit(1)
      }
    }
    let report = ChildLog.read(path)
    if result == nil {
      Issue.record(Comment(rawValue: "child reported: \(report.suffix(3000))"))
    }
  }
}
