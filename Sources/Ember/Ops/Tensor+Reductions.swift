/// Reductions over all or some dims, with keepdim.
extension Tensor {
  /// Normalized, de-duplicated reduction dims (all dims when `dims` is nil or empty).
  func reductionDims(_ dims: [Int]?, op: String) -> [Int] {
    guard let dims, !dims.isEmpty else { return Array(0..<rank) }
    let d = dims.map { Shape.normalize($0, rank: rank, op: op) }
    precondition(
      Set(d).count == d.count, "\(op): dim \(dims) appears multiple times in the list of dims")
    return d.sorted()
  }

  /// The shape of a reduction's result over `dims`.
  func reducedShape(_ dims: [Int], keepdim: Bool) -> [Int] {
    let set = Set(dims)
    if keepdim { return (0..<rank).map { set.contains($0) ? 1 : shape[$0] } }
    return (0..<rank).filter { !set.contains($0) }.map { shape[$0] }
  }

  /// Sum of all elements (`sum()`); integer and bool tensors give int64.
  public func sum() -> Tensor { sumImpl(dims: nil, keepdim: false, name: "SumBackward0") }

  /// Sum over `dims` (`sum(dim, keepdim)`).
  public func sum(dims: [Int], keepdim: Bool = false) -> Tensor {
    sumImpl(dims: dims, keepdim: keepdim, name: "SumBackward1")
  }

  /// Sum over one dim (`sum(dim, keepdim)`).
  public func sum(dim: Int, keepdim: Bool = false) -> Tensor { sum(dims: [dim], keepdim: keepdim) }

  private func sumImpl(dims: [Int]?, keepdim: Bool, name: String) -> Tensor {
    let d = reductionDims(dims, op: "sum")
    let keep: Tensor
    if d.count == rank && isContiguous {
      // full reduction of contiguous data: parallel blocks
      let ones = [Int](repeating: 1, count: rank)
      keep = Kernel.sumAll(self).alias(shape: ones, strides: ones, offset: 0)
    } else {
      keep = sumKeep(dims: d)
    }
    let outShape = reducedShape(d, keepdim: keepdim)
    let out = keep.alias(shape: outShape, strides: Shape.contiguousStrides(outShape), offset: 0)
    if Tensor.needsGrad(self) {
      let inShape = shape
      let keepShape = keep.shape
      Tensor.record(name, inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reshape(keepShape).expand(inShape)]
      }
    }
    return out
  }

  /// Sum over `dims` in keepdim layout (no autograd); float32 accumulates in double.
  private func sumKeep(dims d: [Int]) -> Tensor {
    switch dtype {
    case .float32: if let t = fastFold(SumFold<Float>.self, dims: d, merge: +) { return t }
    case .float64: if let t = fastFold(SumFold<Double>.self, dims: d, merge: +) { return t }
    case .int64: if let t = fastFold(SumFold<Int64>.self, dims: d, merge: &+) { return t }
    case .bool: break
    }
    switch dtype {
    case .float32:
      return Kernel.reduce(
        self, dims: d, initial: 0.0, { (a: inout Double, v: Float, _) in a += Double(v) }
      ) {
        a, _ in Float(a)
      }
    case .float64:
      return Kernel.reduce(
        self, dims: d, initial: 0.0, { (a: inout Double, v: Double, _) in a += v }
      ) { a, _ in a }
    case .int64:
      return Kernel.reduce(
        self, dims: d, initial: Int64(0), { (a: inout Int64, v: Int64, _) in a &+= v }
      ) { a, _ in a }
    case .bool:
      return Kernel.reduce(
        self, dims: d, initial: Int64(0), { (a: inout Int64, v: Bool, _) in a += v ? 1 : 0 }
      ) {
        a, _ in a
      }
    }
  }

  /// Mean of all elements (`mean()`); floating-point tensors only, as in PyTorch.
  public func mean() -> Tensor { meanImpl(dims: nil, keepdim: false, name: "MeanBackward0") }

  /// Mean over `dims` (`mean(dim, keepdim)`).
  public func mean(dims: [Int], keepdim: Bool = false) -> Tensor {
    meanImpl(dims: dims, keepdim: keepdim, name: "MeanBackward1")
  }

  /// Mean over one dim.
  public func mean(dim: Int, keepdim: Bool = false) -> Tensor {
    mean(dims: [dim], keepdim: keepdim)
  }

  private func meanImpl(dims: [Int]?, keepdim: Bool, name: String) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: \(dtype)"
    )
    let d = reductionDims(dims, op: "mean")
    let n = d.reduce(1) { $0 * shape[$1] }
    let s = withNoGrad { sumImpl(dims: d, keepdim: keepdim, name: "") }
    let out = s.div(Double(n))
    if Tensor.needsGrad(self) {
      let inShape = shape
      let keepShape = reducedShape(d, keepdim: true)
      Tensor.record(name, inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reshape(keepShape).expand(inShape) / Double(n)]
      }
    }
    return out
  }
}

// MARK: - prod, max/min, amax/amin, argmax/argmin

extension Tensor {
  /// A reduction by `Op` in keepdim layout when the data is contiguous and the reduced dims are
  /// adjacent (Kernel.foldBlock; a full reduction of a large tensor runs in parallel blocks
  /// merged with `merge`); nil for other layouts.
  func fastFold<Op: FoldOp>(_: Op.Type, dims d: [Int], merge: (Op.Acc, Op.Acc) -> Op.Acc)
    -> Tensor?
  {
    guard let (outer, n, inner) = Kernel.blockLayout(self, dims: d) else { return nil }
    let out = Tensor(uninitializedShape: reducedShape(d, keepdim: true), dtype: Op.Out.dtype)
    let px = UnsafePointer(basePointer(Op.In.self))
    let po = out.basePointer(Op.Out.self)
    if outer == 1 && inner == 1 && n > Kernel.fullReductionBlock {
      let a = Kernel.blockReduce(
        count: n, initial: Op.identity, { r in Op.row(px + r.lowerBound, r.count) }, merge)
      po[0] = Op.finish(a, count: n)
    } else {
      Kernel.foldBlock(px, po, outer: outer, n: n, inner: inner, Op.self)
    }
    return out
  }

  /// A keepdim-layout reduction result viewed in the output shape (a fresh header, no history).
  fileprivate func reductionOutput(_ keep: Tensor, dims: [Int], keepdim: Bool) -> Tensor {
    let outShape = reducedShape(dims, keepdim: keepdim)
    return keep.alias(shape: outShape, strides: Shape.contiguousStrides(outShape), offset: 0)
  }

  /// Product of all elements (`prod()`); integer and bool tensors give int64.
  public func prod() -> Tensor { prodImpl(dims: nil, keepdim: false, name: "ProdBackward0") }

  /// Product over one dim (`prod(dim, keepdim)`); integer and bool tensors give int64.
  public func prod(dim: Int, keepdim: Bool = false) -> Tensor {
    prodImpl(dims: [dim], keepdim: keepdim, name: "ProdBackward1")
  }

  private func prodImpl(dims: [Int]?, keepdim: Bool, name: String) -> Tensor {
    let d = reductionDims(dims, op: "prod")
    let keep: Tensor
    switch dtype {
    case .float32:
      keep =
        fastFold(ProdFloat.self, dims: d, merge: *)
        ?? Kernel.reduce(
          self, dims: d, initial: 1.0, { (a: inout Double, v: Float, _) in a *= Double(v) }
        ) { a, _ in Float(a) }
    case .float64:
      keep =
        fastFold(ProdDouble.self, dims: d, merge: *)
        ?? Kernel.reduce(
          self, dims: d, initial: 1.0, { (a: inout Double, v: Double, _) in a *= v }
        ) { a, _ in a }
    case .int64:
      keep =
        fastFold(ProdInt.self, dims: d, merge: &*)
        ?? Kernel.reduce(
          self, dims: d, initial: Int64(1), { (a: inout Int64, v: Int64, _) in a = a &* v }
        ) { a, _ in a }
    case .bool:
      keep = Kernel.reduce(
        self, dims: d, initial: true, { (a: inout Bool, v: Bool, _) in a = a && v }
      ) { a, _ in Int64(a ? 1 : 0) }
    }
    let out = reductionOutput(keep, dims: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(name, inputs: [self], outputs: [out], saving: [self], savingOutputs: [0]) {
        ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [Tensor.prodBackward(ctx.grad.reshape(keepShape), x, result, dims: d)]
      }
    }
    return out
  }

  /// The gradient of a product over `dims` (keepdim-shaped `g` and `result`), written with tensor
  /// ops so it can be differentiated again. Without zeros it is `g * result / x`; with zeros every
  /// element gets the product of the others, computed without dividing by zero.
  static func prodBackward(_ g: Tensor, _ x: Tensor, _ result: Tensor, dims: [Int]) -> Tensor {
    let isZero = x .== 0
    if !isZero.any().item(as: Bool.self) { return g * result / x }
    let one = Tensor.scalar(1, dtype: x.dtype)
    let zero = Tensor.scalar(0, dtype: x.dtype)
    let zeroCount = isZero.sum(dims: dims, keepdim: true)
    // the zeros replaced by ones: q is the product of the non-zero elements of each slice
    let safe = Tensor.where(isZero, one, x)
    let q =
      dims.count == x.rank
      ? safe.prod().reshape(result.shape) : safe.prod(dim: dims[0], keepdim: true)
    // the lone zero of a slice (value 0, derivative 1), for the gradient of the other elements
    let loneZero = Tensor.where(isZero, x, zero).sum(dims: dims, keepdim: true)
    let others = Tensor.where(
      zeroCount .== 0, one,
      Tensor.where(zeroCount .== 1, Tensor.where(isZero, one, loneZero), zero))
    return g * (q / safe) * others
  }

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
    let d = Array(0..<rank)
    let keep = extremeKeep(dims: d, isMax: isMax)
    let out = reductionOutput(keep, dims: d, keepdim: false)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(
        isMax ? "MaxBackward1" : "MinBackward1", inputs: [self], outputs: [out], saving: [self],
        savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [Tensor.evenlyDistribute(ctx.grad.reshape(keepShape), x, result, dims: d)]
      }
    }
    return out
  }

  /// `g` (keepdim-shaped) shared evenly by the elements equal to `result` in each slice (NaN
  /// matching NaN), as PyTorch's amax/amin and full max/min backward.
  static func evenlyDistribute(_ g: Tensor, _ x: Tensor, _ result: Tensor, dims: [Int]) -> Tensor {
    let mask = (x .== result).logicalOr(x.isNaN().logicalAnd(result.isNaN()))
    let count = mask.sum(dims: dims, keepdim: true).to(g.dtype)
    return Tensor.where(mask, g / count, Tensor.scalar(0, dtype: g.dtype))
  }

  /// amax/amin over `dims` in keepdim layout (no autograd); NaN propagates.
  func extremeKeep(dims d: [Int], isMax: Bool) -> Tensor {
    if dtype == .bool { return to(.int64).extremeKeep(dims: d, isMax: isMax).to(.bool) }
    func run<T: NumericScalar>(_: T.Type) -> Tensor {
      let merge: (T, T) -> T = { a, b in
        if a != a { return a }
        if b != b { return b }
        return isMax ? (b > a ? b : a) : (b < a ? b : a)
      }
      let fast =
        isMax
        ? fastFold(ExtremeFold<T, MaxExtreme>.self, dims: d, merge: merge)
        : fastFold(ExtremeFold<T, MinExtreme>.self, dims: d, merge: merge)
      if let fast { return fast }
      if isMax {
        return Kernel.reduce(
          self, dims: d, initial: T.zero,
          { (a: inout T, v: T, i: Int) in
            if i == 0 || (a == a && (v > a || v != v)) { a = v }
          }
        ) { a, _ in a }
      }
      return Kernel.reduce(
        self, dims: d, initial: T.zero,
        { (a: inout T, v: T, i: Int) in
          if i == 0 || (a == a && (v < a || v != v)) { a = v }
        }
      ) { a, _ in a }
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
    let dims = rank == 0 ? [] : [d]
    let values = reductionOutput(valuesKeep, dims: dims, keepdim: keepdim)
    let indices = reductionOutput(indicesKeep, dims: dims, keepdim: keepdim)
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

  /// Largest values over `dims` (all dims when empty) (`amax`); NaN propagates. The gradient is
  /// split evenly between ties.
  public func amax(dims: [Int] = [], keepdim: Bool = false) -> Tensor {
    amaxImpl(dims: dims, keepdim: keepdim, isMax: true)
  }

  /// Largest values over one dim (`amax(dim)`).
  public func amax(dim: Int, keepdim: Bool = false) -> Tensor {
    amaxImpl(dims: [dim], keepdim: keepdim, isMax: true)
  }

  /// Smallest values over `dims` (all dims when empty) (`amin`); NaN propagates. The gradient is
  /// split evenly between ties.
  public func amin(dims: [Int] = [], keepdim: Bool = false) -> Tensor {
    amaxImpl(dims: dims, keepdim: keepdim, isMax: false)
  }

  /// Smallest values over one dim (`amin(dim)`).
  public func amin(dim: Int, keepdim: Bool = false) -> Tensor {
    amaxImpl(dims: [dim], keepdim: keepdim, isMax: false)
  }

  private func amaxImpl(dims: [Int], keepdim: Bool, isMax: Bool) -> Tensor {
    let op = isMax ? "amax" : "amin"
    let d = reductionDims(dims, op: op)
    for k in d where shape[k] == 0 {
      preconditionFailure(
        "\(op)(): Expected reduction dim \(k) to have non-zero size (shape \(shape)).")
    }
    let keep = extremeKeep(dims: d, isMax: isMax)
    let out = reductionOutput(keep, dims: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(
        isMax ? "AmaxBackward0" : "AminBackward0", inputs: [self], outputs: [out], saving: [self],
        savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [Tensor.evenlyDistribute(ctx.grad.reshape(keepShape), x, result, dims: d)]
      }
    }
    return out
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
    return reductionOutput(i, dims: rank == 0 ? [] : [d], keepdim: keepdim)
  }
}

// MARK: - variance, std, logsumexp, norm

extension Tensor {
  /// Kernel.reduce over `dims`, or, for an all-dims reduction of a large contiguous tensor, the
  /// same fold run over parallel blocks whose partials are merged in order (`initial` must be
  /// the identity of `merge`).
  @inline(__always)
  func foldReduce<T: TensorScalar, A, R: TensorScalar>(
    dims d: [Int], initial: A, _ combine: (inout A, T) -> Void, merge: (A, A) -> A,
    _ finish: (A) -> R
  ) -> Tensor {
    if d.count == rank && isContiguous && count > Kernel.fullReductionBlock {
      let p = UnsafePointer(basePointer(T.self))
      let a = Kernel.blockReduce(
        count: count, initial: initial,
        { r in
          var a = initial
          for i in r { combine(&a, p[i]) }
          return a
        }, merge)
      return Tensor(shape: [Int](repeating: 1, count: rank), scalars: [finish(a)])
    }
    return Kernel.reduce(self, dims: d, initial: initial, { a, v, _ in combine(&a, v) }) {
      a, _ in finish(a)
    }
  }

  /// Variance over `dims` (all dims when nil) with Bessel-style `correction` (`var`; PyTorch's
  /// name is a Swift keyword). Floating-point tensors only.
  public func variance(dims: [Int]? = nil, correction: Double = 1, keepdim: Bool = false) -> Tensor
  {
    precondition(
      dtype.isFloatingPoint,
      "var: std and var only support floating point and complex dtypes (got \(dtype))")
    let d = reductionDims(dims, op: "var")
    let keep = varianceKeep(dims: d, correction: correction)
    let out = reductionOutput(keep, dims: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      let n = d.reduce(1) { $0 * shape[$1] }
      Tensor.record("VarBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        return [
          Tensor.varianceBackward(
            ctx.grad.reshape(keepShape), x, dims: d, count: n, correction: correction)
        ]
      }
    }
    return out
  }

  /// Standard deviation over `dims` (all dims when nil) with `correction` (`std`). The gradient
  /// is 0 where the result is 0, as in PyTorch.
  public func std(dims: [Int]? = nil, correction: Double = 1, keepdim: Bool = false) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "std: std and var only support floating point and complex dtypes (got \(dtype))")
    let d = reductionDims(dims, op: "std")
    let v = varianceKeep(dims: d, correction: correction)
    let keep: Tensor
    if dtype == .float32 {
      keep = Kernel.map(v) { (x: Float) in x.squareRoot() }
    } else {
      keep = Kernel.map(v) { (x: Double) in x.squareRoot() }
    }
    let out = reductionOutput(keep, dims: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      let n = d.reduce(1) { $0 * shape[$1] }
      Tensor.record(
        "StdBackward0", inputs: [self], outputs: [out], saving: [self], savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        let isZero = result .== 0
        let one = Tensor.scalar(1, dtype: result.dtype)
        let zero = Tensor.scalar(0, dtype: result.dtype)
        let g = ctx.grad.reshape(keepShape)
        let gradVar = Tensor.where(isZero, zero, g / (Tensor.where(isZero, one, result) * 2))
        return [
          Tensor.varianceBackward(gradVar, x, dims: d, count: n, correction: correction)
        ]
      }
    }
    return out
  }

  /// d var / d x applied to a keepdim-shaped gradient: `2 / (n - correction) * g * (x - mean)`.
  static func varianceBackward(
    _ g: Tensor, _ x: Tensor, dims: [Int], count n: Int, correction: Double
  ) -> Tensor {
    (g * (2.0 / (Double(n) - correction))) * (x - x.mean(dims: dims, keepdim: true))
  }

  /// Variance over `dims` in keepdim layout (no autograd): two passes in double per slice
  /// (mean, then compensated squared deviations).
  private func varianceKeep(dims d: [Int], correction: Double) -> Tensor {
    let (rows, outer, inner) = Kernel.reducedRows(self, dims: d)
    let out = Tensor(uninitializedShape: reducedShape(d, keepdim: true), dtype: dtype)
    let divisor = Swift.max(0, Double(inner) - correction)
    func run<T: FloatScalar>(_: T.Type) {
      let px = UnsafePointer(rows.basePointer(T.self))
      let po = out.basePointer(T.self)
      func slice(_ p: UnsafePointer<T>) -> T {
        let total = Kernel.blockReduce(
          count: inner, initial: 0.0,
          { r in
            var a = 0.0
            for i in r { a += p[i].doubleValue }
            return a
          }, +)
        let mean = total / Double(inner)
        let (m2, c) = Kernel.blockReduce(
          count: inner, initial: (0.0, 0.0),
          { r in
            var s = 0.0
            var c = 0.0
            for i in r {
              let dv = p[i].doubleValue - mean
              s += dv * dv
              c += dv
            }
            return (s, c)
          }, { ($0.0 + $1.0, $0.1 + $1.1) })
        return T(fromDouble: (m2 - c * c / Double(inner)) / divisor)
      }
      withExtendedLifetime(rows) {
        Parallel.forRange(outer, costPerItem: inner * 2) { r in
          for o in r { po[o] = slice(px + o * inner) }
        }
      }
    }
    if dtype == .float32 { run(Float.self) } else { run(Double.self) }
    return out
  }

  /// log(sum(exp(x))) over `dims` (all dims when empty), computed stably (`logsumexp`); integer
  /// inputs give float32.
  public func logsumexp(dims: [Int] = [], keepdim: Bool = false) -> Tensor {
    if !dtype.isFloatingPoint { return to(.defaultFloat).logsumexp(dims: dims, keepdim: keepdim) }
    let d = reductionDims(dims, op: "logsumexp")
    let keep = logsumexpKeep(dims: d)
    let out = reductionOutput(keep, dims: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(
        "LogsumexpBackward0", inputs: [self], outputs: [out], saving: [self], savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [ctx.grad.reshape(keepShape) * (x - result).exp()]
      }
    }
    return out
  }

  /// log(sum(exp(x))) over one dim (`logsumexp(dim)`).
  public func logsumexp(dim: Int, keepdim: Bool = false) -> Tensor {
    logsumexp(dims: [dim], keepdim: keepdim)
  }

  /// logsumexp over `dims` in keepdim layout (no autograd): shifts by the slice maximum (0 when
  /// it is infinite, as PyTorch).
  private func logsumexpKeep(dims d: [Int]) -> Tensor {
    let (rows, outer, inner) = Kernel.reducedRows(self, dims: d)
    let out = Tensor(uninitializedShape: reducedShape(d, keepdim: true), dtype: dtype)
    /// The scalar path, also used when the maximum is +inf.
    func slow<T: FloatScalar>(_ p: UnsafePointer<T>) -> T {
      var m = -T.infinity
      for i in 0..<inner where p[i] > m { m = p[i] }
      let shift = m.isInfinite ? 0 : m
      var s = 0.0
      for i in 0..<inner { s += T.exp(p[i] - shift).doubleValue }
      return T.log(T(fromDouble: s)) + shift
    }
    withExtendedLifetime(rows) {
      if dtype == .float32 {
        let px = UnsafePointer(rows.basePointer(Float.self))
        let po = out.basePointer(Float.self)
        Parallel.forRange(outer, costPerItem: inner * 8) { r in
          for o in r {
            let p = px + o * inner
            let m = Kernel.maxIgnoringNaN(p, inner)
            if m == .infinity {
              po[o] = slow(p)
              continue
            }
            let shift: Float = m.isInfinite ? 0 : m
            po[o] = Float.log(Kernel.sumExpShifted(p, inner, shift: shift)) + shift
          }
        }
      } else {
        let px = UnsafePointer(rows.basePointer(Double.self))
        let po = out.basePointer(Double.self)
        Parallel.forRange(outer, costPerItem: inner * 8) { r in
          for o in r { po[o] = slow(px + o * inner) }
        }
      }
    }
    return out
  }

  /// The vector p-norm over `dims` (all dims when nil) (`norm`, `linalg.vector_norm`): p = 2
  /// by default; 0 counts non-zeros, ±infinity take the largest/smallest magnitude. The p = 2
  /// gradient is 0 at the zero vector, as PyTorch.
  public func norm(p: Double = 2, dims: [Int]? = nil, keepdim: Bool = false) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "linalg.vector_norm: Expected a floating point or complex tensor as input. Got \(dtype)")
    let d = reductionDims(dims, op: "norm")
    if p == -.infinity {
      for k in d where shape[k] == 0 {
        preconditionFailure(
          "linalg.vector_norm: cannot compute the -inf norm on an empty dimension (dim \(k), shape \(shape))"
        )
      }
    }
    let keep =
      dtype == .float32 ? normKeep(Float.self, p: p, dims: d) : normKeep(Double.self, p: p, dims: d)
    let out = reductionOutput(keep, dims: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(
        dims == nil ? "NormBackward0" : "NormBackward1", inputs: [self], outputs: [out],
        saving: [self], savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [Tensor.normBackward(ctx.grad.reshape(keepShape), x, result, p: p, dims: d)]
      }
    }
    return out
  }

  /// The p-norm over `dims` in keepdim layout (no autograd), accumulated in double.
  private func normKeep<T: FloatScalar>(_: T.Type, p: Double, dims d: [Int]) -> Tensor {
    let maxMerge: (Double, Double) -> Double = { a, b in a != a ? a : (b != b || b > a ? b : a) }
    let minMerge: (Double, Double) -> Double = { a, b in a != a ? a : (b != b || b < a ? b : a) }
    if p == 2 {
      if let fast = fastFold(NormTwoFold<T>.self, dims: d, merge: +) { return fast }
      return foldReduce(
        dims: d, initial: 0.0, { (a: inout Double, v: T) in a += v.doubleValue * v.doubleValue },
        merge: +
      ) { a in T(fromDouble: a.squareRoot()) }
    }
    if p == 1 {
      return foldReduce(
        dims: d, initial: 0.0, { (a: inout Double, v: T) in a += v.doubleValue.magnitude },
        merge: +
      ) { a in T(fromDouble: a) }
    }
    if p == .infinity {
      return foldReduce(
        dims: d, initial: 0.0,
        { (a: inout Double, v: T) in
          let m = v.doubleValue.magnitude
          if a == a && (m > a || m != m) { a = m }
        }, merge: maxMerge
      ) { a in T(fromDouble: a) }
    }
    if p == -.infinity {
      return foldReduce(
        dims: d, initial: Double.infinity,
        { (a: inout Double, v: T) in
          let m = v.doubleValue.magnitude
          if a == a && (m < a || m != m) { a = m }
        }, merge: minMerge
      ) { a in T(fromDouble: a) }
    }
    if p == 0 {
      return foldReduce(
        dims: d, initial: 0.0, { (a: inout Double, v: T) in a += v == 0 ? 0 : 1 }, merge: +
      ) { a in T(fromDouble: a) }
    }
    return foldReduce(
      dims: d, initial: 0.0,
      { (a: inout Double, v: T) in a += Double.pow(v.doubleValue.magnitude, p) }, merge: +
    ) { a in T(fromDouble: Double.pow(a, 1 / p)) }
  }

  /// The gradient of the p-norm (keepdim-shaped `g` and `norm`), PyTorch's norm_backward in
  /// tensor ops with safe denominators so double backward stays finite.
  static func normBackward(_ g: Tensor, _ x: Tensor, _ norm: Tensor, p: Double, dims: [Int])
    -> Tensor
  {
    let zero = Tensor.scalar(0, dtype: x.dtype)
    let one = Tensor.scalar(1, dtype: x.dtype)
    let sign = x.signValues()
    let magnitude = x * sign  // |x| with derivative sign(x)
    let normIsZero = norm .== 0
    let safeNorm = Tensor.where(normIsZero, one, norm)
    if p == 0 { return Tensor.zeros(like: x) * g }
    if p == 1 { return sign * g }
    if p == 2 { return g * Tensor.where(normIsZero, zero, x / safeNorm) }
    if p.isInfinite {
      let mask = (magnitude .== norm).logicalOr(x.isNaN().logicalAnd(norm.isNaN()))
      let count = mask.sum(dims: dims, keepdim: true).to(x.dtype)
      return sign * Tensor.where(mask, g / count, zero)
    }
    let xIsZero = x .== 0
    let safeMagnitude = Tensor.where(xIsZero, one, magnitude)
    if p < 1 {
      let scaled = sign * Tensor.where(xIsZero, zero, safeMagnitude.pow(p - 1))
      return scaled * g * norm.pow(1 - p)
    }
    let scale = Tensor.where(normIsZero, zero, g / safeNorm.pow(p - 1))
    if p < 2 {
      return sign * Tensor.where(xIsZero, zero, safeMagnitude.pow(p - 1)) * scale
    }
    return x * magnitude.pow(p - 2) * scale
  }

  /// -1, 0 or 1 by the sign of each element (NaN stays NaN), with no history.
  private func signValues() -> Tensor {
    switch dtype {
    case .float32:
      return Kernel.map(self) { (v: Float) -> Float in v > 0 ? 1 : (v < 0 ? -1 : v) }
    default:
      return Kernel.map(self) { (v: Double) -> Double in v > 0 ? 1 : (v < 0 ? -1 : v) }
    }
  }
}

// MARK: - cumsum, all, any

extension Tensor {
  /// Running sums along `dim` (`cumsum`); integer and bool tensors give int64.
  public func cumsum(dim: Int) -> Tensor {
    let d = Shape.normalize(dim, rank: rank, op: "cumsum")
    let source = dtype == .bool ? to(.int64) : self
    let out = Kernel.cumsum(source, dim: d, reverse: false)
    if Tensor.needsGrad(self) {
      Tensor.record("CumsumBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reverseCumsum(dim: d)]
      }
    }
    return out
  }

  /// Running sums along `dim` from the end (PyTorch's `flip(cumsum(flip(x)))`), the backward of
  /// cumsum; its own backward is cumsum.
  func reverseCumsum(dim d: Int) -> Tensor {
    let out = Kernel.cumsum(self, dim: d, reverse: true)
    if Tensor.needsGrad(self) {
      Tensor.record("ReverseCumsumBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.cumsum(dim: d)]
      }
    }
    return out
  }

  /// Whether every element is non-zero (`all()`), a bool scalar.
  public func all() -> Tensor { truthReduce(dims: nil, keepdim: false, isAll: true) }

  /// Whether every element over `dims` is non-zero (`all(dim, keepdim)`), a bool tensor.
  public func all(dims: [Int], keepdim: Bool = false) -> Tensor {
    truthReduce(dims: dims, keepdim: keepdim, isAll: true)
  }

  /// Whether every element along `dim` is non-zero (`all(dim, keepdim)`).
  public func all(dim: Int, keepdim: Bool = false) -> Tensor {
    truthReduce(dims: [dim], keepdim: keepdim, isAll: true)
  }

  /// Whether any element is non-zero (`any()`), a bool scalar.
  public func any() -> Tensor { truthReduce(dims: nil, keepdim: false, isAll: false) }

  /// Whether any element over `dims` is non-zero (`any(dim, keepdim)`), a bool tensor.
  public func any(dims: [Int], keepdim: Bool = false) -> Tensor {
    truthReduce(dims: dims, keepdim: keepdim, isAll: false)
  }

  /// Whether any element along `dim` is non-zero (`any(dim, keepdim)`).
  public func any(dim: Int, keepdim: Bool = false) -> Tensor {
    truthReduce(dims: [dim], keepdim: keepdim, isAll: false)
  }

  private func truthReduce(dims: [Int]?, keepdim: Bool, isAll: Bool) -> Tensor {
    let d = reductionDims(dims, op: isAll ? "all" : "any")
    func run<T: TensorScalar & Equatable>(_: T.Type) -> Tensor {
      let z = T.zero
      if isAll {
        return foldReduce(
          dims: d, initial: true, { (a: inout Bool, v: T) in a = a && v != z }, merge: { $0 && $1 }
        ) { $0 }
      }
      return foldReduce(
        dims: d, initial: false, { (a: inout Bool, v: T) in a = a || v != z }, merge: { $0 || $1 }
      ) { $0 }
    }
    let keep: Tensor
    switch dtype {
    case .float32: keep = run(Float.self)
    case .float64: keep = run(Double.self)
    case .int64: keep = run(Int64.self)
    case .bool: keep = run(Bool.self)
    }
    return reductionOutput(keep, dims: d, keepdim: keepdim)
  }
}

// MARK: - Swift.max / Swift.min inside Tensor extensions

extension Tensor {
  /// Swift's `max(_:_:)`. Tensor's `max()` reduction would otherwise hide the standard library
  /// function from unqualified calls inside Tensor extensions.
  @inline(__always) func max<C: Comparable>(_ x: C, _ y: C) -> C { Swift.max(x, y) }
  /// Swift's `max(_:_:)` for static contexts of Tensor.
  @inline(__always) static func max<C: Comparable>(_ x: C, _ y: C) -> C { Swift.max(x, y) }
  /// Swift's `min(_:_:)`. Tensor's `min()` reduction would otherwise hide the standard library
  /// function from unqualified calls inside Tensor extensions.
  @inline(__always) func min<C: Comparable>(_ x: C, _ y: C) -> C { Swift.min(x, y) }
  /// Swift's `min(_:_:)` for static contexts of Tensor.
  @inline(__always) static func min<C: Comparable>(_ x: C, _ y: C) -> C { Swift.min(x, y) }
}
