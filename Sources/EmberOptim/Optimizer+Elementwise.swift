/// The built-in optimizers' updates as single loops over raw memory, with PyTorch's float
/// operations in PyTorch's order.
///
/// PyTorch's single-tensor code path chains in-place tensor ops; its CPU kernels round every op
/// to the tensor's dtype, take Python scalars as that dtype, and fuse multiply-adds:
/// - `a.add(b, alpha=s)` is `fma(b, s, a)`;
/// - `a.addcmul_(b, c, value=s)` is `fma(s * b, c, a)`; `a.addcdiv_(b, c, value=s)` is
///   `a + (s * b) / c`;
/// - `a.lerp_(b, w)` is `fma(w, b - a, a)` when `|w| < 0.5`, else `fma(w - 1, b - a, b)`;
/// - `a.mul_(s)`, `a / s` and `a.add_(s)` round once each.
///
/// Every update below writes those operations element by element, so the results equal
/// PyTorch's bit for bit, except where a square root is taken (Adam, RMSprop, Adagrad): PyTorch's
/// CPU `sqrt` (MKL's vectorized one in the x86 wheels) is up to one unit in the last place away
/// from the correctly rounded square root Ember takes, so those parameters agree to about 1e-7
/// relative after a few steps.
protocol ElementwiseUpdate {
  /// Updates `count` elements; `pointers` are the parameter, its gradient, then the state tensors
  /// in the order they were passed to ``Optimizer/applyElementwise(_:parameter:grad:states:)``.
  func run<T: FloatScalar>(_ pointers: [UnsafeMutablePointer<T>], count: Int)
}

extension Optimizer {
  /// Runs `kernel` over `parameter`, `grad` and `states` as contiguous memory of the parameter's
  /// floating dtype: a non-contiguous parameter is updated through a copy, a gradient of another
  /// dtype or layout is read through a converted copy, and the gradient is never written.
  func applyElementwise(
    _ kernel: some ElementwiseUpdate, parameter: Tensor, grad: Tensor, states: [Tensor]
  ) throws {
    let dtype = parameter.dtype
    precondition(
      dtype.isFloatingPoint,
      "\(typeName): can only optimize floating-point tensors, got a \(dtype) parameter")
    let target = parameter.isContiguous ? parameter.detach() : parameter.detach().clone()
    var g = grad.detach()
    if g.dtype != dtype {
      g = g.to(dtype).contiguous()
    } else if !g.isContiguous || grad.requiresGrad || g.storage === target.storage {
      g = g.clone()
    }
    for s in states {
      precondition(
        s.dtype == dtype && s.shape == parameter.shape && s.isContiguous,
        "\(typeName): a state tensor must be contiguous, \(dtype) and of the parameter's shape \(parameter.shape); got \(s.dtype) \(s.shape)"
      )
    }
    let all = [target, g] + states
    switch dtype {
    case .float32: try Optimizer.withPointers(all, as: Float.self) { run(kernel, $0, $1) }
    default: try Optimizer.withPointers(all, as: Double.self) { run(kernel, $0, $1) }
    }
    if !parameter.isContiguous { try parameter.copy(from: target) }
  }

  /// Runs an update over `count` elements in contiguous chunks on the worker threads (each
  /// element's update is independent, so the result does not depend on the split). A momentum
  /// SGD update reads and writes about twice the memory of `a + b` per element, hence the cost
  /// of 2 per element against the grain size. MLP step (784-512-256-10, batch 128, 2 threads):
  /// the update of its 535K parameters on one thread was 3.2% of the samples.
  private func run<T: FloatScalar>(
    _ kernel: some ElementwiseUpdate, _ pointers: [UnsafeMutablePointer<T>], _ count: Int
  ) {
    Parallel.forRange(count, costPerItem: 2) { r in
      if r.count == count {
        kernel.run(pointers, count: count)
      } else {
        kernel.run(pointers.map { $0 + r.lowerBound }, count: r.count)
      }
    }
  }

  private static func withPointers<T: FloatScalar>(
    _ tensors: [Tensor], as: T.Type, _ body: ([UnsafeMutablePointer<T>], Int) -> Void
  ) throws {
    let count = tensors[0].count
    guard count > 0 else { return }
    var pointers: [UnsafeMutablePointer<T>] = []
    pointers.reserveCapacity(tensors.count)
    func open(_ i: Int) throws {
      if i == tensors.count {
        body(pointers, count)
        return
      }
      try tensors[i].withUnsafeMutableBufferPointer(as: T.self) { buffer in
        pointers.append(buffer.baseAddress!)
        try open(i + 1)
      }
    }
    try open(0)
  }
}

/// PyTorch's `lerp` on CPU: `fma(w, end - start, start)` for a small weight, else
/// `fma(w - 1, end - start, end)`.
@inline(__always)
func lerp<T: FloatScalar>(_ start: T, _ end: T, weight w: T) -> T {
  let diff = end - start
  return Swift.abs(w) < 0.5 ? start.addingProduct(w, diff) : end.addingProduct(w - 1, diff)
}

/// `torch.maximum`: NaN wins.
@inline(__always)
func nanMaximum<T: FloatScalar>(_ a: T, _ b: T) -> T {
  if a.isNaN { return a }
  if b.isNaN { return b }
  return a > b ? a : b
}
