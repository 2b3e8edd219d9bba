/// Extremes: `max`/`min` (all or over a dim), `amax`/`amin` and `argmax`/`argmin`.

extension Tensor {
  // MARK: max / min of all elements

  /// Largest element (`max()`); NaN propagates. The gradient is split evenly between ties.
  public func max() -> Tensor { extremeAll(isMax: true) }

  /// Smallest element (`min()`); NaN propagates. The gradient is split evenly between ties.
  public func min() -> Tensor { extremeAll(isMax: false) }

  private func extremeAll(isMax: Bool) -> Tensor {
    let op = isMax ? "max" : "min"
    precondition(
      count > 0,
      "\(op)(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument."
    )
    return evenExtreme(
      dim: Array(0..<rank), keepdim: false, isMax: isMax,
      node: isMax ? "MaxBackward1" : "MinBackward1")
  }

  /// amax/amin over the normalized dims `d`, recorded as `node` with the gradient shared evenly
  /// between ties (full max/min and amax/amin).
  private func evenExtreme(dim d: [Int], keepdim: Bool, isMax: Bool, node: String) -> Tensor {
    let keep = extremeKeep(dim: d, isMax: isMax)
    let out = reductionOutput(keep, dim: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(node, inputs: [self], outputs: [out], saving: [self], savingOutputs: [0]) {
        ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [Tensor.evenlyDistribute(ctx.grad.reshape(keepShape), x, result, dim: d)]
      }
    }
    return out
  }

  /// `g` (keepdim-shaped) shared evenly by the elements equal to `result` in each slice (NaN
  /// matching NaN), as PyTorch's amax/amin and full max/min backward.
  static func evenlyDistribute(_ g: Tensor, _ x: Tensor, _ result: Tensor, dim: [Int]) -> Tensor {
    let mask = (x .== result).logicalOr(x.isNaN().logicalAnd(result.isNaN()))
    let count = mask.sum(dim: dim, keepdim: true).to(g.dtype)
    return Tensor.where(mask, g / count, Tensor.scalar(0, dtype: g.dtype))
  }

  /// amax/amin over the dims `d` in keepdim layout (no autograd); NaN propagates.
  func extremeKeep(dim d: [Int], isMax: Bool) -> Tensor {
    if dtype == .bool { return to(.int64).extremeKeep(dim: d, isMax: isMax).to(.bool) }
    func run<T: NumericScalar>(_: T.Type) -> Tensor {
      let merge: (T, T) -> T = { a, b in
        if a != a { return a }
        if b != b { return b }
        return isMax ? (b > a ? b : a) : (b < a ? b : a)
      }
      let fast =
        isMax
        ? fastFold(ExtremeFold<T, MaxExtreme>.self, dim: d, merge: merge)
        : fastFold(ExtremeFold<T, MinExtreme>.self, dim: d, merge: merge)
      if let fast { return fast }
      if isMax {
        return Kernel.reduce(
          self, dim: d, initial: T.zero,
          { (a: inout T, v: T, i: Int) in
            if i == 0 || (a == a && (v > a || v != v)) { a = v }
          }, { a, _ in a })
      }
      return Kernel.reduce(
        self, dim: d, initial: T.zero,
        { (a: inout T, v: T, i: Int) in
          if i == 0 || (a == a && (v < a || v != v)) { a = v }
        }, { a, _ in a })
    }
    switch dtype {
    case .float32: return run(Float.self)
    case .float64: return run(Double.self)
    default: return run(Int64.self)
    }
  }

  // MARK: max / min over a dim

  /// Largest elements along `dim` and their indices (int64, first occurrence), as
  /// `torch.max(x, dim, keepdim)`. The gradient goes to the reported index.
  public func max(dim: Int, keepdim: Bool = false) -> (values: Tensor, indices: Tensor) {
    extremeDim(dim, keepdim: keepdim, isMax: true)
  }

  /// Smallest elements along `dim` and their indices (int64, first occurrence), as
  /// `torch.min(x, dim, keepdim)`. The gradient goes to the reported index.
  public func min(dim: Int, keepdim: Bool = false) -> (values: Tensor, indices: Tensor) {
    extremeDim(dim, keepdim: keepdim, isMax: false)
  }

  private func extremeDim(_ dim: Int, keepdim: Bool, isMax: Bool) -> (
    values: Tensor, indices: Tensor
  ) {
    let op = isMax ? "max" : "min"
    let d = Shape.normalize(dim, rank: rank, op: op)
    precondition(
      rank == 0 || shape[d] > 0,
      "\(op)(): Expected reduction dim \(d) to have non-zero size (shape \(shape)).")
    let (valuesKeep, indicesKeep) = extremeWithIndexKeep(dim: d, isMax: isMax)
    let reduced = rank == 0 ? [] : [d]
    let values = reductionOutput(valuesKeep, dim: reduced, keepdim: keepdim)
    let indices = reductionOutput(indicesKeep, dim: reduced, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = valuesKeep.shape
      let inShape = shape
      Tensor.record(
        isMax ? "MaxBackward0" : "MinBackward0", inputs: [self], outputs: [values],
        saving: [indicesKeep]
      ) { ctx in
        let g = ctx.grad.reshape(keepShape)
        if inShape.isEmpty { return [g] }
        let mask = Tensor.indexMask(try ctx.saved(0), dim: d, shape: inShape)
        return [Tensor.where(mask, g, Tensor.scalar(0, dtype: g.dtype))]
      }
    }
    return (values, indices)
  }

  /// Values and int64 indices of the extremes along `dim`, in keepdim layout (no autograd).
  private func extremeWithIndexKeep(dim d: Int, isMax: Bool) -> (Tensor, Tensor) {
    if dtype == .bool {
      let (v, i) = to(.int64).extremeWithIndexKeep(dim: d, isMax: isMax)
      return (v.to(.bool), i)
    }
    let keepShape = reducedShape(rank == 0 ? [] : [d], keepdim: true)
    let values = Tensor(uninitializedShape: keepShape, dtype: dtype)
    let indices = Tensor(uninitializedShape: keepShape, dtype: .int64)
    func run<T: NumericScalar>(_: T.Type) {
      if isMax {
        Kernel.extremeWithIndex(
          self, dim: d, values: values, indices: indices, T.self, MaxExtreme.self)
      } else {
        Kernel.extremeWithIndex(
          self, dim: d, values: values, indices: indices, T.self, MinExtreme.self)
      }
    }
    switch dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    default: run(Int64.self)
    }
    return (values, indices)
  }

  /// A bool tensor of `shape` that is true where the position along `dim` equals `indices`
  /// (keepdim-shaped), the differentiable stand-in for scattering into zeros.
  static func indexMask(_ indices: Tensor, dim: Int, shape: [Int]) -> Tensor {
    var s = [Int](repeating: 1, count: shape.count)
    s[dim] = shape[dim]
    return Tensor.arange(shape[dim]).reshape(s) .== indices
  }

  // MARK: amax / amin

  /// Largest values over `dim` (all dims when nil or empty) (`amax`); NaN propagates. The
  /// gradient is split evenly between ties.
  public func amax(dim: [Int]? = nil, keepdim: Bool = false) -> Tensor {
    amaxImpl(dim: dim, keepdim: keepdim, isMax: true)
  }

  /// Largest values over one dim (`amax(dim)`).
  public func amax(dim: Int, keepdim: Bool = false) -> Tensor {
    amaxImpl(dim: [dim], keepdim: keepdim, isMax: true)
  }

  /// Smallest values over `dim` (all dims when nil or empty) (`amin`); NaN propagates. The
  /// gradient is split evenly between ties.
  public func amin(dim: [Int]? = nil, keepdim: Bool = false) -> Tensor {
    amaxImpl(dim: dim, keepdim: keepdim, isMax: false)
  }

  /// Smallest values over one dim (`amin(dim)`).
  public func amin(dim: Int, keepdim: Bool = false) -> Tensor {
    amaxImpl(dim: [dim], keepdim: keepdim, isMax: false)
  }

  private func amaxImpl(dim: [Int]?, keepdim: Bool, isMax: Bool) -> Tensor {
    let op = isMax ? "amax" : "amin"
    let d = reductionDims(dim, op: op)
    for k in d where shape[k] == 0 {
      preconditionFailure(
        "\(op)(): Expected reduction dim \(k) to have non-zero size (shape \(shape)).")
    }
    return evenExtreme(
      dim: d, keepdim: keepdim, isMax: isMax, node: isMax ? "AmaxBackward0" : "AminBackward0")
  }

  // MARK: argmax / argmin

  /// Index (int64) of the largest element along `dim`, or in the flattened tensor when `dim` is
  /// nil (`argmax`); the first occurrence wins, NaN counts as largest.
  public func argmax(dim: Int? = nil, keepdim: Bool = false) -> Tensor {
    argExtreme(dim: dim, keepdim: keepdim, isMax: true)
  }

  /// Index (int64) of the smallest element along `dim`, or in the flattened tensor when `dim` is
  /// nil (`argmin`); the first occurrence wins, NaN counts as smallest.
  public func argmin(dim: Int? = nil, keepdim: Bool = false) -> Tensor {
    argExtreme(dim: dim, keepdim: keepdim, isMax: false)
  }

  private func argExtreme(dim: Int?, keepdim: Bool, isMax: Bool) -> Tensor {
    let op = isMax ? "argmax" : "argmin"
    precondition(dtype != .bool, "\(op)_cpu: not implemented for 'Bool'")
    guard let dim else {
      precondition(
        count > 0, "\(op)(): Expected reduction dim to be specified for input.numel() == 0.")
      let flat = detach().reshape([count])
      let (_, i) = flat.extremeWithIndexKeep(dim: 0, isMax: isMax)
      return i.reshape(keepdim ? [Int](repeating: 1, count: rank) : [])
    }
    let d = Shape.normalize(dim, rank: rank, op: op)
    precondition(
      rank == 0 || shape[d] > 0,
      "\(op)(): Expected reduction dim \(d) to have non-zero size (shape \(shape)).")
    let (_, i) = extremeWithIndexKeep(dim: d, isMax: isMax)
    return reductionOutput(i, dim: rank == 0 ? [] : [d], keepdim: keepdim)
  }
}
