/// Sum-like reductions (`sum`, `mean`, `prod`, `all`, `any`) and helpers shared by reductions.
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
    let out = reductionOutput(keep, dims: d, keepdim: keepdim)
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
        self, dims: d, initial: 0.0, { (a: inout Double, v: Float, _) in a += Double(v) },
        { a, _ in Float(a) })
    case .float64:
      return Kernel.reduce(
        self, dims: d, initial: 0.0, { (a: inout Double, v: Double, _) in a += v }, { a, _ in a })
    case .int64:
      return Kernel.reduce(
        self, dims: d, initial: Int64(0), { (a: inout Int64, v: Int64, _) in a &+= v },
        { a, _ in a })
    case .bool:
      return Kernel.reduce(
        self, dims: d, initial: Int64(0), { (a: inout Int64, v: Bool, _) in a += v ? 1 : 0 },
        { a, _ in a })
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

// MARK: - shared reduction helpers

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
  func reductionOutput(_ keep: Tensor, dims: [Int], keepdim: Bool) -> Tensor {
    let outShape = reducedShape(dims, keepdim: keepdim)
    return keep.alias(shape: outShape, strides: Shape.contiguousStrides(outShape), offset: 0)
  }

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
    return Kernel.reduce(
      self, dims: d, initial: initial, { a, v, _ in combine(&a, v) },
      { a, _ in finish(a) })
  }

}

// MARK: - prod

extension Tensor {
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
          self, dims: d, initial: 1.0, { (a: inout Double, v: Float, _) in a *= Double(v) },
          { a, _ in Float(a) })
    case .float64:
      keep =
        fastFold(ProdDouble.self, dims: d, merge: *)
        ?? Kernel.reduce(
          self, dims: d, initial: 1.0, { (a: inout Double, v: Double, _) in a *= v }, { a, _ in a })
    case .int64:
      keep =
        fastFold(ProdInt.self, dims: d, merge: &*)
        ?? Kernel.reduce(
          self, dims: d, initial: Int64(1), { (a: inout Int64, v: Int64, _) in a = a &* v },
          { a, _ in a })
    case .bool:
      keep = Kernel.reduce(
        self, dims: d, initial: true, { (a: inout Bool, v: Bool, _) in a = a && v },
        { a, _ in Int64(a ? 1 : 0) })
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
}

// MARK: - all, any

extension Tensor {
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
          dims: d, initial: true, { (a: inout Bool, v: T) in a = a && v != z }, merge: { $0 && $1 },
          { $0 })
      }
      return foldReduce(
        dims: d, initial: false, { (a: inout Bool, v: T) in a = a || v != z }, merge: { $0 || $1 },
        { $0 })
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
