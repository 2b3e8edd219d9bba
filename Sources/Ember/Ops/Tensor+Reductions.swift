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
    switch dtype {
    case .float32:
      keep = Kernel.reduce(
        self, dims: d, initial: 0.0, { (a: inout Double, v: Float, _) in a += Double(v) }
      ) {
        a, _ in Float(a)
      }
    case .float64:
      keep = Kernel.reduce(
        self, dims: d, initial: 0.0, { (a: inout Double, v: Double, _) in a += v }
      ) { a, _ in a }
    case .int64:
      keep = Kernel.reduce(
        self, dims: d, initial: Int64(0), { (a: inout Int64, v: Int64, _) in a &+= v }
      ) { a, _ in a }
    case .bool:
      keep = Kernel.reduce(
        self, dims: d, initial: Int64(0), { (a: inout Int64, v: Bool, _) in a += v ? 1 : 0 }
      ) {
        a, _ in a
      }
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
