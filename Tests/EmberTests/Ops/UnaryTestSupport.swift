/// Shared scaffolding for the unary-op test suites: golden cases, float64 leaves, 2nd derivatives.
import Ember
import Testing

/// One op checked against PyTorch: forward values and the gradient for the upstream gradient
/// `linspace(0.5, 1.5, n)`, in float32 and float64, plus the grad_fn name.
struct UnaryGoldenCase: Sendable, CustomTestStringConvertible {
  let name: String
  let op: @Sendable (Tensor) -> Tensor
  let node: String
  let input: [Double]
  let out32: [Double]
  let grad32: [Double]
  let out64: [Double]
  let grad64: [Double]

  init(
    _ name: String, _ op: @escaping @Sendable (Tensor) -> Tensor, node: String, input: [Double],
    out32: [Double], grad32: [Double], out64: [Double], grad64: [Double]
  ) {
    self.name = name
    self.op = op
    self.node = node
    self.input = input
    self.out32 = out32
    self.grad32 = grad32
    self.out64 = out64
    self.grad64 = grad64
  }

  var testDescription: String { name }

  /// Runs the op forward and backward in both dtypes and compares with the golden values.
  func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
    for (dtype, out, grad) in [(DType.float32, out32, grad32), (.float64, out64, grad64)] {
      let (rtol, atol) = dtype == .float32 ? (2e-6, 1e-6) : (1e-12, 1e-14)
      let x = try Tensor(input, dtype: dtype, requiresGrad: true)
      let y = op(x)
      #expect(y.dtype == dtype, "\(name) \(dtype): dtype", sourceLocation: sourceLocation)
      #expect(y.gradFn?.name == node, "\(name): grad_fn", sourceLocation: sourceLocation)
      expectTensor(
        y, shape: [input.count], out, rtol: rtol, atol: atol, sourceLocation: sourceLocation)
      try y.backward(gradient: Tensor.linspace(0.5, 1.5, steps: input.count, dtype: dtype))
      expectTensor(
        x.grad, shape: [input.count], grad, rtol: rtol, atol: atol, sourceLocation: sourceLocation)
    }
  }
}

/// A float64 leaf that requires grad holding `values` in `shape`.
func unaryLeaf(_ values: [Double], _ shape: [Int]) -> Tensor {
  let t = Tensor(shape: shape, scalars: values)
  try! t.setRequiresGrad()
  return t
}

/// Checks the second derivative of `op(x).sum()` at the float64 `values` against `expected`
/// (PyTorch's, from `grad` of `grad` with `createGraph`).
func expectSecondDerivative(
  _ op: (Tensor) -> Tensor, at values: [Double], _ expected: [Double],
  sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let x = unaryLeaf(values, [values.count])
  let g = try grad(of: op(x).sum(), withRespectTo: x, createGraph: true)
  let g2 = try grad(of: g.sum(), withRespectTo: x)
  expectTensor(
    g2, shape: [values.count], expected, rtol: 1e-12, atol: 1e-14, sourceLocation: sourceLocation)
}
