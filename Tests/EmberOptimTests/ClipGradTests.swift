import EmberOptim
import Foundation
import Testing

@Suite("Gradient clipping")
struct ClipGradTests {
  /// PyTorch's clip_grad_norm_ / clip_grad_value_ on three parameters, the last without a
  /// gradient. The norms are sums in a different order than PyTorch's, so they and the scaled
  /// gradients agree within 1e-6 relative; unclipped and value-clipped gradients are exact.
  @Test("clipGradNorm and clipGradValue equal PyTorch's", arguments: Fixture.names("clip"))
  func fixture(name: String) throws {
    let c = Fixture.find("clip", name)
    let dtype: DType = c["dtype"].string == "float64" ? .float64 : .float32
    let shapes = c["shapes"].array.map(\.ints)
    let params = shapes.map { Parameter(Tensor.zeros($0, dtype: dtype)) }
    for (p, g) in zip(params, c["grads"].array) where !g.isNull {
      p.grad = tensor(g.doubles, p.shape, dtype: dtype)
    }
    let (rtol, atol) = dtype == .float32 ? (1e-6, 1e-7) : (1e-12, 1e-14)
    if c["kind"].string == "norm" {
      let total = try clipGradNorm(
        params, maxNorm: c["max_norm"].double, normType: c["norm_type"].double)
      #expect(total.shape == [])
      #expect(total.dtype == dtype)
      expectClose([total.item()], [c["total_norm"].double], rtol: rtol, atol: 0, "\(name) norm")
    } else {
      try clipGradValue(params, clipValue: c["clip_value"].double)
    }
    let clipsNothing = name == "norm2_no_clip" || c["kind"].string == "value"
    for (i, (p, expected)) in zip(params, c["clipped"].array).enumerated() {
      guard !expected.isNull else {
        #expect(p.grad == nil)
        continue
      }
      if clipsNothing {
        expectExact(p.grad!.toArray(), expected.doubles, "\(name) grad \(i)")
      } else {
        expectClose(
          p.grad!.toArray(), expected.doubles, rtol: rtol, atol: atol, "\(name) grad \(i)")
      }
    }
  }

  @Test("the total norm is returned before clipping; no gradients gives 0")
  func totalNorm() throws {
    let a = Parameter(Tensor([3.0, 0.0]))
    let b = Parameter(Tensor([4.0]))
    a.grad = Tensor([3.0, 0.0])
    b.grad = Tensor([4.0])
    let total = try clipGradNorm([a, b], maxNorm: 1)
    #expect(total.item() == 5)
    expectClose(a.grad!.toArray() + b.grad!.toArray(), [0.6, 0, 0.8], rtol: 1e-6, atol: 0)
    #expect(try clipGradNorm([Parameter(Tensor([1.0]))], maxNorm: 1).item() == 0)
  }

  @Test("errorIfNonfinite throws PyTorch's message and leaves the gradients")
  func nonfinite() throws {
    let p = Parameter(Tensor([1.0, 2.0]))
    p.grad = Tensor([Double.infinity, 1])
    let error = #expect(throws: NonfiniteNormError.self) {
      try clipGradNorm([p], maxNorm: 1, errorIfNonfinite: true)
    }
    #expect(error?.description.contains("The total norm of order 2.0 for gradients") == true)
    #expect(p.grad!.toArray() == [.infinity, 1])
    // Without the check, PyTorch scales by maxNorm / (inf + 1e-6) = 0.
    let total = try clipGradNorm([p], maxNorm: 1)
    #expect(total.item() == .infinity)
    #expect(p.grad!.toArray()[1] == 0)
  }

  @Test("clipping works on gradients that require grad (createGraph) under no-grad")
  func gradWithHistory() throws {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = (x ** 3).sum()
    try y.backward(createGraph: true)
    #expect(x.grad!.requiresGrad)
    try clipGradValue([x], clipValue: 5)
    #expect(x.grad!.toArray() == [3, 5])
    // a grad with history holds x through its graph (PyTorch's createGraph reference cycle);
    // reset it so the test leaks nothing (LeakSanitizer found the cycle)
    x.grad = nil
  }
}
