/// Sum-like reductions (`sum`, `mean`, `prod`, `all`, `any`) and helpers shared by reductions.
///
/// As in PyTorch, the label for dimensions is `dim:` everywhere: it takes one `Int` or a list
/// `[Int]` (`sum(dim: 1)`, `sum(dim: [0, 1])`), and both forms funnel into one implementation.
extension Tensor {
  /// Normalized, de-duplicated reduction dims (all dims when `dim` is nil or empty).
  func reductionDims(_ dim: [Int]?, op: String) -> [Int] {
    guard let dim, !dim.isEmpty else { return Array(0..<rank) }
    return uniqueDims(dim, op: op)
  }

  /// The dims of a list normalized (negative ones count from the end) and sorted; stops when a
  /// dim appears twice, with PyTorch's message.
  func uniqueDims(_ dim: [Int], op: String) -> [Int] {
    let d = dim.map { Shape.normalize($0, rank: rank, op: op) }
    var seen = Set<Int>()
    for k in d where !seen.insert(k).inserted {
      preconditionFailure("\(op): dim \(k) appears multiple times in the list of dims")
    }
    // a 0-d tensor accepts dim 0 and -1, as PyTorch, and has no dim to reduce
    if rank == 0 { return [] }
    return d.sorted()
  }

  /// The shape of a reduction's result over the (normalized) dims `dim`.
  func reducedShape(_ dim: [Int], keepdim: Bool) -> [Int] {
    let set = Set(dim)
    if keepdim { return (0..<rank).map { set.contains($0) ? 1 : shape[$0] } }
    return (0..<rank).filter { !set.contains($0) }.map { shape[$0] }
  }

  /// Sum of all elements (`sum()`, recorded as `SumBackward0`); integer and bool tensors give
  /// int64.
  public func sum() -> Tensor { sumImpl(dim: nil, keepdim: false, name: "SumBackward0") }

  /// Sum over one dim (`sum(dim, keepdim)`, recorded as `SumBackward1`).
  public func sum(dim: Int, keepdim: Bool = false) -> Tensor {
    sumImpl(dim: [dim], keepdim: keepdim, name: "SumBackward1")
  }

  /// Sum over several dims (`sum(dim=(0, 1), keepdim)`, recorded as `SumBackward1`); an empty
  /// list sums every element, as in PyTorch.
  public func sum(dim: [Int], keepdim: Bool = false) -> Tensor {
    sumImpl(dim: dim, keepdim: keepdim, name: "SumBackward1")
  }

  private func sumImpl(dim: [Int]?, keepdim: Bool, name: String) -> Tensor {
    let d = reductionDims(dim, op: "sum")
    let keep: Tensor
    if d.count == rank && isContiguous {
      // full reduction of contiguous data: parallel blocks
      let ones = [Int](repeating: 1, count: rank)
      keep = Kernel.sumAll(self).alias(shape: ones, strides: ones, offset: 0)
    } else {
      keep = sumKeep(dim: d)
    }
    let out = reductionOutput(keep, dim: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let inShape = shape
      let keepShape = keep.shape
      Tensor.record(name, inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reshape(keepShape).expand(inShape)]
      }
    }
    return out
  }

  /// Sum over the dims `d` in keepdim layout (no autograd); float32 accumulates in double.
  private func sumKeep(dim d: [Int]) -> Tensor {
    switch dtype {
    case .float32: if let t = fastFold(SumFold<Float>.self, dim: d, merge: +) { return t }
    case .float64: if let t = fastFold(SumFold<Double>.self, dim: d, merge: +) { return t }
    case .int64: if let t = fastFold(SumFold<Int64>.self, dim: d, merge: &+) { return t }
    case .bool: break
    }
    switch dtype {
    case .float32:
      return Kernel.reduce(
        self, dim: d, initial: 0.0, { (a: inout Double, v: Float, _) in a += Double(v) },
        { a, _ in Float(a) })
    case .float64:
      return Kernel.reduce(
        self, dim: d, initial: 0.0, { (a: inout Double, v: Double, _) in a += v }, { a, _ in a })
    case .int64:
      return Kernel.reduce(
        self, dim: d, initial: Int64(0), { (a: inout Int64, v: Int64, _) in a &+= v },
        { a, _ in a })
    case .bool:
      return Kernel.reduce(
        self, dim: d, initial: Int64(0), { (a: inout Int64, v: Bool, _) in a += v ? 1 : 0 },
        { a, _ in a })
    }
  }

  /// Mean of all elements (`mean()`, recorded as `MeanBackward0`); floating-point tensors only,
  /// as in PyTorch.
  public func mean() -> Tensor { meanImpl(dim: nil, keepdim: false, name: "MeanBackward0") }

  /// Mean over one dim (`mean(dim, keepdim)`, recorded as `MeanBackward1`).
  public func mean(dim: Int, keepdim: Bool = false) -> Tensor {
    meanImpl(dim: [dim], keepdim: keepdim, name: "MeanBackward1")
  }

  /// Mean over several dims (`mean(dim=(0, 1), keepdim)`, recorded as `MeanBackward1`); an
  /// empty list covers every element, as in PyTorch.
  public func mean(dim: [Int], keepdim: Bool = false) -> Tensor {
    meanImpl(dim: dim, keepdim: keepdim, name: "MeanBackward1")
  }

  private func meanImpl(dim: [Int]?, keepdim: Bool, name: String) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: \(dtype)"
    )
    let d = reductionDims(dim, op: "mean")
    let n = d.reduce(1) { $0 * shape[$1] }
    let s = withNoGrad { sumImpl(dim: d, keepdim: keepdim, name: "") }
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
  func fastFold<Op: FoldOp>(_: Op.Type, dim d: [Int], merge: (Op.Acc, Op.Acc) -> Op.Acc)
    -> Tensor?
  {
    guard let (outer, n, inner) = Kernel.blockLayout(self, dim: d) else { return nil }
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
  func reductionOutput(_ keep: Tensor, dim: [Int], keepdim: Bool) -> Tensor {
    let outShape = reducedShape(dim, keepdim: keepdim)
    return keep.alias(shape: outShape, strides: Shape.contiguousStrides(outShape), offset: 0)
  }

  /// Kernel.reduce over the dims `d`, or, for an all-dims reduction of a large contiguous
  /// tensor, the same fold run over parallel blocks whose partials are merged in order
  /// (`initial` must be the identity of `merge`).
  @inline(__always)
  func foldReduce<T: TensorScalar, A, R: TensorScalar>(
    dim d: [Int], initial: A, _ combine: (inout A, T) -> Void, merge: (A, A) -> A,
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
      self, dim: d, initial: initial, { a, v, _ in combine(&a, v) },
      { a, _ in finish(a) })
  }

}

// MARK: - prod

extension Tensor {
  /// Product of all elements (`prod()`); integer and bool tensors give int64.
  public func prod() -> Tensor { prodImpl(dim: nil, keepdim: false, name: "ProdBackward0") }

  /// Product over one dim (`prod(dim, keepdim)`); integer and bool tensors give int64.
  public func prod(dim: Int, keepdim: Bool = false) -> Tensor {
    prodImpl(dim: [dim], keepdim: keepdim, name: "ProdBackward1")
  }

  private func prodImpl(dim: [Int]?, keepdim: Bool, name: String) -> Tensor {
    let d = reductionDims(dim, op: "prod")
    let keep: Tensor
    switch dtype {
    case .float32:
      keep =
        fastFold(ProdFloat.self, dim: d, merge: *)
        ?? Kernel.reduce(
          self, dim: d, initial: 1.0, { (a: inout Double, v: Float, _) in a *= Double(v) },
          { a, _ in Float(a) })
    case .float64:
      keep =
        fastFold(ProdDouble.self, dim: d, merge: *)
        ?? Kernel.reduce(
          self, dim: d, initial: 1.0, { (a: inout Double, v: Double, _) in a *= v }, { a, _ in a })
    case .int64:
      keep =
        fastFold(ProdInt.self, dim: d, merge: &*)
        ?? Kernel.reduce(
          self, dim: d, initial: Int64(1), { (a: inout Int64, v: Int64, _) in a = a &* v },
          { a, _ in a })
    case .bool:
      keep = Kernel.reduce(
        self, dim: d, initial: true, { (a: inout Bool, v: Bool, _) in a = a && v },
        { a, _ in Int64(a ? 1 : 0) })
    }
    let out = reductionOutput(keep, dim: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(name, inputs: [self], outputs: [out], saving: [self], savingOutputs: [0]) {
        ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [Tensor.prodBackward(ctx.grad.reshape(keepShape), x, result, dim: d)]
      }
    }
    return out
  }

  /// The gradient of a product over `dim` (keepdim-shaped `g` and `result`), written with tensor
  /// ops so it can be differentiated again. Without zeros it is `g * result / x`; with zeros every
  /// element gets the product of the others, computed without dividing by zero.
  static func prodBackward(_ g: Tensor, _ x: Tensor, _ result: Tensor, dim: [Int]) -> Tensor {
    let isZero = x .== 0
    if !isZero.any().item(as: Bool.self) { return g * result / x }
    let one = Tensor.scalar(1, dtype: x.dtype)
    let zero = Tensor.scalar(0, dtype: x.dtype)
    let zeroCount = isZero.sum(dim: dim, keepdim: true)
    // the zeros replaced by ones: q is the product of the non-zero elements of each slice
    let safe = Tensor.where(isZero, one, x)
    let q =
      dim.count == x.rank
      ? safe.prod().reshape(result.shape) : safe.prod(dim: dim[0], keepdim: true)
    // the lone zero of a slice (value 0, derivative 1), for the gradient of the other elements
    let loneZero = Tensor.where(isZero, x, zero).sum(dim: dim, keepdim: true)
    let others = Tensor.where(
      zeroCount .== 0, one,
      Tensor.where(zeroCount .== 1, Tensor.where(isZero, one, loneZero), zero))
    return g * (q / safe) * others
  }
}

// MARK: - all, any

extension Tensor {
  /// Whether every element is non-zero (`all()`), a bool scalar.
  public func all() -> Tensor { truthReduce(dim: nil, keepdim: false, isAll: true) }

  /// Whether every element along `dim` is non-zero (`all(dim, keepdim)`), a bool tensor.
  public func all(dim: Int, keepdim: Bool = false) -> Tensor {
    truthReduce(dim: [dim], keepdim: keepdim, isAll: true)
  }

  /// Whether every element over several dims is non-zero (`all(dim=(0, 1), keepdim)`), a bool
  /// tensor. As in PyTorch, an empty list reduces nothing (each element is tested on its own).
  public func all(dim: [Int], keepdim: Bool = false) -> Tensor {
    truthReduce(dim: dim, keepdim: keepdim, isAll: true)
  }

  /// Whether any element is non-zero (`any()`), a bool scalar.
  public func any() -> Tensor { truthReduce(dim: nil, keepdim: false, isAll: false) }

  /// Whether any element along `dim` is non-zero (`any(dim, keepdim)`), a bool tensor.
  public func any(dim: Int, keepdim: Bool = false) -> Tensor {
    truthReduce(dim: [dim], keepdim: keepdim, isAll: false)
  }

  /// Whether any element over several dims is non-zero (`any(dim=(0, 1), keepdim)`), a bool
  /// tensor. As in PyTorch, an empty list reduces nothing (each element is tested on its own).
  public func any(dim: [Int], keepdim: Bool = false) -> Tensor {
    truthReduce(dim: dim, keepdim: keepdim, isAll: false)
  }

  private func truthReduce(dim: [Int]?, keepdim: Bool, isAll: Bool) -> Tensor {
    if let dim, dim.isEmpty { return Tensor.compare(self, 0) { x, _ in x != 0 } }
    let d = reductionDims(dim, op: isAll ? "all" : "any")
    func run<T: TensorScalar & Equatable>(_: T.Type) -> Tensor {
      let z = T.zero
      if isAll {
        return foldReduce(
          dim: d, initial: true, { (a: inout Bool, v: T) in a = a && v != z }, merge: { $0 && $1 },
          { $0 })
      }
      return foldReduce(
        dim: d, initial: false, { (a: inout Bool, v: T) in a = a || v != z }, merge: { $0 || $1 },
        { $0 })
    }
    let keep: Tensor
    switch dtype {
    case .float32: keep = run(Float.self)
    case .float64: keep = run(Double.self)
    case .int64: keep = run(Int64.self)
    case .bool: keep = run(Bool.self)
    }
    return reductionOutput(keep, dim: d, keepdim: keepdim)
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
