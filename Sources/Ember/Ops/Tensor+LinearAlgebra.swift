/// Matrix products: `matmul` with PyTorch's shape rules, and the primitives it decomposes into
/// (`mm`, `bmm`, `mv`, `dot`), whose backward rules are matrix products themselves, so they can
/// be differentiated again.
extension Tensor {
  // MARK: primitives

  /// Matrix product of two 2-D tensors (`torch.mm`).
  public func mm(_ other: Tensor) -> Tensor {
    precondition(rank == 2, "mm: self must be a matrix, got \(rank)-D tensor")
    precondition(other.rank == 2, "mm: mat2 must be a matrix, got \(other.rank)-D tensor")
    precondition(
      shape[1] == other.shape[0],
      "mm: mat1 and mat2 shapes cannot be multiplied (\(shape[0])x\(shape[1]) and \(other.shape[0])x\(other.shape[1]))"
    )
    precondition(
      dtype == other.dtype,
      "mm: expected m1 and m2 to have the same dtype, but got: \(dtype.cTypeName) != \(other.dtype.cTypeName)"
    )
    Tensor.checkNotBool(dtype, op: "mm")
    let (m, n) = (shape[0], other.shape[1])
    let product = Kernel.batchedMatmul(asBatch(), other.asBatch())
    let out = product.alias(shape: [m, n], strides: Shape.contiguousStrides([m, n]), offset: 0)
    if Tensor.needsGrad(self, other) {
      Tensor.record(
        "MmBackward0", inputs: [self, other], outputs: [out],
        saving: [
          other.requiresGrad ? self : Tensor.placeholder,
          requiresGrad ? other : Tensor.placeholder,
        ]
      ) { ctx in
        try [
          ctx.needsInputGrad(0) ? ctx.grad.mm(ctx.saved(1).t()) : nil,
          ctx.needsInputGrad(1) ? ctx.saved(0).t().mm(ctx.grad) : nil,
        ]
      }
    }
    return out
  }

  /// Batched matrix product of two 3-D tensors with the same batch size (`torch.bmm`).
  public func bmm(_ other: Tensor) -> Tensor {
    precondition(rank == 3, "bmm: batch1 must be a 3D tensor")
    precondition(other.rank == 3, "bmm: batch2 must be a 3D tensor")
    precondition(
      other.shape[0] == shape[0] && other.shape[1] == shape[2],
      "bmm: Expected size for first two dimensions of batch2 tensor to be: [\(shape[0]), \(shape[2])] but got: [\(other.shape[0]), \(other.shape[1])]."
    )
    precondition(
      dtype == other.dtype,
      "bmm: expected scalar type \(dtype.scalarTypeName) but found \(other.dtype.scalarTypeName)")
    Tensor.checkNotBool(dtype, op: "bmm")
    let out = Kernel.batchedMatmul(self, other)
    if Tensor.needsGrad(self, other) {
      Tensor.record(
        "BmmBackward0", inputs: [self, other], outputs: [out],
        saving: [
          other.requiresGrad ? self : Tensor.placeholder,
          requiresGrad ? other : Tensor.placeholder,
        ]
      ) { ctx in
        try [
          ctx.needsInputGrad(0) ? ctx.grad.bmm(ctx.saved(1).transpose(1, 2)) : nil,
          ctx.needsInputGrad(1) ? ctx.saved(0).transpose(1, 2).bmm(ctx.grad) : nil,
        ]
      }
    }
    return out
  }

  /// Matrix-vector product of a 2-D and a 1-D tensor (`torch.mv`).
  public func mv(_ vector: Tensor) -> Tensor {
    precondition(
      rank == 2 && vector.rank == 1,
      "mv: vector + matrix @ vector expected, got 1, \(rank), \(vector.rank)")
    precondition(
      shape[1] == vector.shape[0],
      "mv: size mismatch, got input (\(shape[0])), mat (\(shape[0])x\(shape[1])), vec (\(vector.shape[0]))"
    )
    precondition(
      dtype == vector.dtype,
      "mv: addmv input tensors must have the same dtype, but got \(dtype.scalarTypeName), \(dtype.scalarTypeName), and \(vector.dtype.scalarTypeName)"
    )
    Tensor.checkNotBool(dtype, op: "mv")
    let m = shape[0]
    let column = vector.alias(
      shape: [1, vector.shape[0], 1], strides: [0, vector.strides[0], 0],
      offset: vector.storageOffset)
    let product = Kernel.batchedMatmul(asBatch(), column)
    let out = product.alias(shape: [m], strides: [1], offset: 0)
    if Tensor.needsGrad(self, vector) {
      Tensor.record(
        "MvBackward0", inputs: [self, vector], outputs: [out],
        saving: [
          vector.requiresGrad ? self : Tensor.placeholder,
          requiresGrad ? vector : Tensor.placeholder,
        ]
      ) { ctx in
        try [
          ctx.needsInputGrad(0) ? ctx.grad.outer(ctx.saved(1)) : nil,
          ctx.needsInputGrad(1) ? ctx.saved(0).t().mv(ctx.grad) : nil,
        ]
      }
    }
    return out
  }

  /// Dot product of two 1-D tensors with the same number of elements, as a 0-d tensor
  /// (`torch.dot`).
  public func dot(_ other: Tensor) -> Tensor {
    precondition(
      rank == 1 && other.rank == 1,
      "dot: 1D tensors expected, but got \(rank)D and \(other.rank)D tensors")
    precondition(
      shape[0] == other.shape[0],
      "dot: inconsistent tensor size, expected tensor [\(shape[0])] and src [\(other.shape[0])] to have the same number of elements, but got \(shape[0]) and \(other.shape[0]) elements respectively"
    )
    precondition(
      dtype == other.dtype,
      "dot : expected both vectors to have same dtype, but found \(dtype.scalarTypeName) and \(other.dtype.scalarTypeName)"
    )
    Tensor.checkNotBool(dtype, op: "dot")
    let k = shape[0]
    let row = alias(shape: [1, 1, k], strides: [0, 0, strides[0]], offset: storageOffset)
    let column = other.alias(
      shape: [1, k, 1], strides: [0, other.strides[0], 0], offset: other.storageOffset)
    let product = Kernel.batchedMatmul(row, column)
    let out = product.alias(shape: [], strides: [], offset: 0)
    if Tensor.needsGrad(self, other) {
      Tensor.record(
        "DotBackward0", inputs: [self, other], outputs: [out],
        saving: [
          other.requiresGrad ? self : Tensor.placeholder,
          requiresGrad ? other : Tensor.placeholder,
        ]
      ) { ctx in
        try [
          ctx.needsInputGrad(0) ? ctx.grad * ctx.saved(1) : nil,
          ctx.needsInputGrad(1) ? ctx.grad * ctx.saved(0) : nil,
        ]
      }
    }
    return out
  }

  /// Outer product of two 1-D tensors: `result[i, j] = self[i] * other[j]` (`torch.outer`).
  public func outer(_ other: Tensor) -> Tensor {
    precondition(rank == 1, "outer: Expected 1-D argument self, but got \(rank)-D")
    precondition(other.rank == 1, "outer: Expected 1-D argument vec2, but got \(other.rank)-D")
    return reshape([shape[0], 1]) * other
  }

  // MARK: matmul

  /// Matrix product with PyTorch's rules (`torch.matmul`, Python's `@`): 1-D·1-D is a dot
  /// product; a 1-D operand is promoted to a matrix (a leading 1 for the left operand, a trailing
  /// 1 for the right one) and the added dim removed from the result; operands with more than two
  /// dims are stacks of matrices whose batch dims broadcast.
  public func matmul(_ other: Tensor) -> Tensor {
    let d1 = rank
    let d2 = other.rank
    precondition(
      d1 != 0 && d2 != 0,
      "matmul: both arguments to matmul need to be at least 1D, but they are \(d1)D and \(d2)D")
    if d1 == 1 && d2 == 1 { return dot(other) }
    if d1 == 2 && d2 == 1 { return mv(other) }
    if d1 == 1 && d2 == 2 { return unsqueeze(0).mm(other).squeezeLeadingDim() }
    if d1 == 2 && d2 == 2 { return mm(other) }
    if Tensor.shouldFold(self, other) {
      // fold the batch dims of the larger operand into its rows and use mm/mv
      let transpose = d2 > d1
      let t1 = transpose ? other.transpose(-2, -1) : self
      let t2 = !transpose ? other : (d1 == 2 ? t() : self)
      let sizes1 = t1.shape
      var outputShape = Array(sizes1.dropLast())
      let foldedRows = Shape.count(outputShape)
      let t2IsMatrix = t2.rank == 2
      if t2IsMatrix { outputShape.append(t2.shape[1]) }
      let t1Folded = t1.reshape([foldedRows, sizes1[sizes1.count - 1]])
      if t2IsMatrix {
        let output = t1Folded.mm(t2).unsafeView(outputShape)
        return transpose ? output.transpose(-2, -1).contiguous() : output
      }
      return t1Folded.mv(t2).unsafeView(outputShape)
    }
    let n = d1 > 1 ? shape[d1 - 2] : 1
    let m1 = shape[d1 - 1]
    let batch1 = Array(shape.prefix(max(d1 - 2, 0)))
    let m2 = d2 > 1 ? other.shape[d2 - 2] : other.shape[0]
    let p = d2 > 1 ? other.shape[d2 - 1] : 1
    let batch2 = Array(other.shape.prefix(max(d2 - 2, 0)))
    // A size-1 batch that broadcasts against a larger one goes through the folding path when it
    // requires grad, so its gradient is not a large tensor summed afterwards (as PyTorch does).
    if d1 == 3 && d2 == 3 && batch1[0] != batch2[0] {
      if batch1[0] == 1 && requiresGrad { return squeeze(0).matmul(other) }
      if batch2[0] == 1 && other.requiresGrad { return matmul(other.squeeze(0)) }
    }
    var outputShape = Shape.broadcast(batch1, batch2, op: "matmul")
    let batchCount = Shape.count(outputShape)
    let left = expand(outputShape + [n, m1]).reshape([batchCount, n, m1])
    let vectorRHS = d2 == 1
    let right =
      vectorRHS
      ? other.expand(outputShape + [m2]).reshape([batchCount, m2]).unsqueeze(2)
      : other.expand(outputShape + [m2, p]).reshape([batchCount, m2, p])
    if d1 > 1 { outputShape.append(n) }
    if d2 > 1 { outputShape.append(p) }
    let product = left.bmm(right)
    return (vectorRHS ? product.squeeze(-1) : product).unsafeView(outputShape)
  }

  // MARK: helpers

  /// This 2-D tensor as a batch of one matrix (no history; for kernels).
  fileprivate func asBatch() -> Tensor {
    alias(shape: [1] + shape, strides: [0] + strides, offset: storageOffset)
  }

  /// PyTorch's `should_fold`: whether a batched operand against a 1-D/2-D one can be folded into
  /// a single mm/mv without copying (or should be, to keep the other operand's gradient small).
  fileprivate static func shouldFold(_ a: Tensor, _ b: Tensor) -> Bool {
    let aLarger = a.rank >= b.rank
    var shape1 = aLarger ? a.shape : b.shape
    var strides1 = aLarger ? a.strides : b.strides
    if !aLarger {
      shape1.swapAt(shape1.count - 2, shape1.count - 1)
      strides1.swapAt(strides1.count - 2, strides1.count - 1)
    }
    let dim1 = shape1.count
    let dim2 = aLarger ? b.rank : a.rank
    guard dim1 >= 3 && dim2 <= 2 else { return false }
    if aLarger ? b.requiresGrad : a.requiresGrad { return true }
    if a.rank == 2 { return false }
    if Shape.count(shape1) == 0 { return true }
    for i in 0..<(dim1 - 2) where strides1[i] != strides1[i + 1] * shape1[i + 1] {
      return false
    }
    return true
  }

  /// A contiguous result read with a new shape, recorded as PyTorch's `_unsafe_view`
  /// (UnsafeViewBackward0; not a view for in-place tracking).
  fileprivate func unsafeView(_ newShape: [Int]) -> Tensor {
    let base = isContiguous ? self : contiguousCopy()
    let out = base.alias(
      shape: newShape, strides: Shape.contiguousStrides(newShape), offset: base.storageOffset)
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record("UnsafeViewBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reshape(inShape)]
      }
    }
    return out
  }

  /// Drops the leading size-1 dim of a fresh result, as PyTorch's in-place `squeeze_(0)` does in
  /// matmul (SqueezeBackward4).
  fileprivate func squeezeLeadingDim() -> Tensor {
    let out = alias(
      shape: Array(shape.dropFirst()), strides: Array(strides.dropFirst()), offset: storageOffset)
    if Tensor.needsGrad(self) {
      Tensor.record("SqueezeBackward4", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.unsqueeze(0)]
      }
    }
    return out
  }

  fileprivate static func checkNotBool(_ dtype: DType, op: String) {
    precondition(dtype != .bool, "\(op): \"addmm_impl_cpu_\" not implemented for 'Bool'")
  }
}

extension DType {
  /// The C++ type name PyTorch prints in some dtype messages (`float`, `double`, `long`, `bool`).
  fileprivate var cTypeName: String {
    switch self {
    case .float32: return "float"
    case .float64: return "double"
    case .int64: return "long int"
    case .bool: return "bool"
    }
  }

  /// PyTorch's ScalarType name (`Float`, `Double`, `Long`, `Bool`).
  fileprivate var scalarTypeName: String {
    switch self {
    case .float32: return "Float"
    case .float64: return "Double"
    case .int64: return "Long"
    case .bool: return "Bool"
    }
  }
}

/// Matrix product with PyTorch's broadcasting rules (`torch.matmul(a, b)`, Python's `a @ b`).
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { a.matmul(b) }
