/// Linear and bilinear maps (`F.linear`, `F.bilinear`), with PyTorch's decompositions and grad_fn
/// names: a linear layer with a bias is one GEMM with the bias fused (`addmm`, AddmmBackward0).
extension Functional {
  /// `input @ weight.T + bias` (`F.linear`) for an input [..., in] and a weight [out, in].
  ///
  /// As PyTorch: a 2-D input with a bias is one `addmm` (AddmmBackward0); a contiguous input of
  /// another rank is flattened to 2-D for the `addmm` and viewed back (UnsafeViewBackward0);
  /// without a bias it is `matmul(input, weight.T)` (MmBackward0 for 2-D inputs).
  public static func linear(_ input: Tensor, _ weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(
      input.rank >= 1 && weight.rank >= 1,
      "linear: both arguments to linear need to be at least 1D, but they are \(input.rank)D and \(weight.rank)D"
    )
    precondition(
      weight.rank <= 2,
      "linear: t() expects a tensor with <= 2 dimensions, but self is \(weight.rank)D")
    precondition(
      input.dtype == weight.dtype,
      "linear: expected m1 and m2 to have the same dtype, but got: \(input.dtype.linearTypeName) != \(weight.dtype.linearTypeName)"
    )
    let k = input.shape[input.rank - 1]
    let rows = Shape.count(Array(input.shape.dropLast()))
    if weight.rank == 2 {
      precondition(
        k == weight.shape[1],
        "linear: mat1 and mat2 shapes cannot be multiplied (\(rows)x\(k) and \(weight.shape[1])x\(weight.shape[0]))"
      )
    }
    let wt = weight.t()
    guard let bias else { return input.matmul(wt) }
    precondition(
      weight.rank == 2 || input.rank == 1,
      "linear: addmm: mat2 must be a matrix, got 1-D tensor")
    if weight.rank == 2 && input.dtype.isFloatingPoint {
      precondition(
        bias.dtype == input.dtype,
        "linear: self and mat2 must have the same dtype, but got \(bias.dtype.linearScalarName) and \(input.dtype.linearScalarName)"
      )
      if input.rank == 2 { return addmm(bias, input, wt, op: "linear") }
      if input.isContiguous && (input.rank == 3 || bias.rank == 1) {
        let out = addmm(bias, input.reshape([rows, k]), wt, op: "linear")
        return out.unsafeReshaped(Array(input.shape.dropLast()) + [weight.shape[0]])
      }
    }
    return input.matmul(wt) + bias
  }

  /// `bias + mat1 @ mat2` for matrices [m, k] and [k, n] and a bias broadcastable to [m, n]
  /// (`torch.addmm`): one GEMM that accumulates onto the broadcast bias. Records AddmmBackward0.
  static func addmm(_ bias: Tensor, _ mat1: Tensor, _ mat2: Tensor, op: String = "addmm")
    -> Tensor
  {
    let (m, k, n) = (mat1.shape[0], mat1.shape[1], mat2.shape[1])
    precondition(
      k == mat2.shape[0],
      "\(op): mat1 and mat2 shapes cannot be multiplied (\(m)x\(k) and \(mat2.shape[0])x\(n))")
    checkExpandable(bias.shape, to: [m, n], op: op)
    let out = Tensor(uninitializedShape: [m, n], dtype: mat1.dtype)
    Kernel.copy(bias, into: out)
    func run<T: FloatScalar>(_: T.Type) {
      Kernel.gemm(
        m: m, n: n, k: k, UnsafePointer(mat1.basePointer(T.self)), mat1.strides[0],
        mat1.strides[1], UnsafePointer(mat2.basePointer(T.self)), mat2.strides[0], mat2.strides[1],
        out.basePointer(T.self), n, beta: 1, threaded: true)
    }
    switch mat1.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    default: preconditionFailure("\(op): expected float32 or float64 matrices, got \(mat1.dtype)")
    }
    if Tensor.needsGrad([bias, mat1, mat2]) {
      let biasShape = bias.shape
      // As PyTorch's mm_mat2_backward: for a transposed mat2 (a Linear weight's `.t()`) the
      // gradient is computed as (gradᵀ · mat1)ᵀ, so that its transpose (the weight's gradient)
      // is contiguous; the same products summed in the same order. A transposed gradient made
      // every accumulation and the optimizer's copy a strided transpose: MLP step (1 thread,
      // perf) 12% of the samples in AccumulateGrad's copy, LSTM step 41% in the adds of the
      // W_hh gradients of the 50 steps.
      let mat2Transposed = mat2.strides[0] == 1 && mat2.strides[1] == Swift.max(k, 1) && n > 1
      Tensor.record(
        "AddmmBackward0", inputs: [bias, mat1, mat2], outputs: [out],
        saving: [
          mat2.requiresGrad ? mat1 : Tensor.placeholder,
          mat1.requiresGrad ? mat2 : Tensor.placeholder,
        ]
      ) { ctx in
        try [
          ctx.needsInputGrad(0) ? ctx.grad.sumTo(biasShape) : nil,
          ctx.needsInputGrad(1) ? ctx.grad.mm(ctx.saved(1).t()) : nil,
          ctx.needsInputGrad(2)
            ? (mat2Transposed
              ? ctx.grad.t().mm(ctx.saved(0)).t() : ctx.saved(0).t().mm(ctx.grad)) : nil,
        ]
      }
    }
    return out
  }

  /// Stops with PyTorch's `expand` message unless `shape` broadcasts to `target`.
  fileprivate static func checkExpandable(_ shape: [Int], to target: [Int], op: String) {
    let lead = target.count - shape.count
    precondition(
      lead >= 0,
      "\(op): the number of sizes provided (\(target.count)) must be greater or equal to the number of dimensions in the tensor (\(shape.count))"
    )
    for (i, s) in shape.enumerated() where s != 1 && s != target[lead + i] {
      preconditionFailure(
        "\(op): The expanded size of the tensor (\(target[lead + i])) must match the existing size (\(s)) at non-singleton dimension \(lead + i).  Target sizes: \(target).  Tensor sizes: \(shape)"
      )
    }
  }

  // MARK: bilinear

  /// `y[..., o] = Σ_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]`
  /// (`F.bilinear`) for inputs [..., in1] and [..., in2] with the same leading dims and a weight
  /// [out, in1, in2]. As PyTorch, the flattened inputs go through one trilinear product
  /// (TrilinearBackward0) viewed back to the leading dims.
  public static func bilinear(
    _ input1: Tensor, _ input2: Tensor, _ weight: Tensor, bias: Tensor? = nil
  ) -> Tensor {
    let op = "bilinear"
    precondition(
      input1.dtype == input2.dtype && input1.dtype == weight.dtype
        && (bias == nil || bias!.dtype == weight.dtype),
      "\(op): All tensors must have the same dtype, got input1: \(input1.dtype.linearTypeName), input2: \(input2.dtype.linearTypeName), weight: \(weight.dtype.linearTypeName)"
    )
    precondition(
      input1.dtype.isFloatingPoint, "\(op): expected floating-point tensors, got \(input1.dtype)")
    precondition(
      input1.rank == input2.rank,
      "\(op)(): input dimensions do not match: got \(input1.rank) and \(input2.rank)")
    precondition(input1.rank >= 1, "\(op)(): expected inputs of at least 1 dimension")
    for i in 0..<(input1.rank - 1) {
      precondition(
        input1.shape[i] == input2.shape[i],
        "\(op)(): input batch dimensions do not match at dim \(i): got \(input1.shape[i]) and \(input2.shape[i])"
      )
    }
    precondition(weight.rank == 3, "\(op)(): expected a 3-D weight, but got \(weight.shape)")
    let (i1, i2) = (input1.shape[input1.rank - 1], input2.shape[input2.rank - 1])
    precondition(
      i1 == weight.shape[1],
      "\(op)(): input1 size does not match weight size: got \(i1) but expected \(weight.shape[1])")
    precondition(
      i2 == weight.shape[2],
      "\(op)(): input2 size does not match weight size: got \(i2) but expected \(weight.shape[2])")
    if let bias {
      precondition(
        bias.rank >= 1 && bias.shape[0] == weight.shape[0],
        "\(op)(): bias size does not match weight size: got \(bias.rank == 0 ? 1 : bias.shape[0]) but expected \(weight.shape[0])"
      )
    }
    let outShape = Array(input1.shape.dropLast()) + [weight.shape[0]]
    let out = trilinear(input1.reshape([-1, i1]), weight, input2.reshape([-1, i2]))
      .reshape(outShape)
    return bias.map { out + $0 } ?? out
  }

  /// `y[n, o] = Σ_ij x1[n, i] * w[o, i, j] * x2[n, j]` for x1 [N, I], w [O, I, J], x2 [N, J]
  /// (PyTorch's `_trilinear` as bilinear uses it). Its gradients with respect to x1 and x2 are
  /// trilinear products again, and that of w is an outer product times a matrix, so it can be
  /// differentiated any number of times.
  static func trilinear(_ x1: Tensor, _ w: Tensor, _ x2: Tensor) -> Tensor {
    let (n, i, o, j) = (x1.shape[0], x1.shape[1], w.shape[0], w.shape[2])
    let out = withNoGrad {
      // [N, I] @ [I, O*J] -> [N, O, J], times x2 over J, summed
      let t = x1.mm(w.permute(1, 0, 2).reshape([i, o * j])).view([n, o, j])
      return (t * x2.unsqueeze(1)).sum(dim: 2)
    }
    if Tensor.needsGrad([x1, w, x2]) {
      Tensor.record(
        "TrilinearBackward0", inputs: [x1, w, x2], outputs: [out], saving: [x1, w, x2]
      ) { ctx in
        let (x1, w, x2, g) = (try ctx.saved(0), try ctx.saved(1), try ctx.saved(2), ctx.grad)
        return [
          ctx.needsInputGrad(0) ? trilinear(g, w.permute(1, 0, 2), x2) : nil,
          ctx.needsInputGrad(1)
            ? g.t().mm((x1.unsqueeze(2) * x2.unsqueeze(1)).reshape([n, i * j])).view([o, i, j])
            : nil,
          ctx.needsInputGrad(2) ? trilinear(g, w.permute(2, 0, 1), x1) : nil,
        ]
      }
    }
    return out
  }
}

extension Tensor {
  /// A contiguous result read with a new shape, recorded as PyTorch's `_unsafe_view`
  /// (UnsafeViewBackward0).
  fileprivate func unsafeReshaped(_ newShape: [Int]) -> Tensor {
    let out = alias(
      shape: newShape, strides: Shape.contiguousStrides(newShape), offset: storageOffset)
    if Tensor.needsGrad(self) {
      let inShape = shape
      Tensor.record("UnsafeViewBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reshape(inShape)]
      }
    }
    return out
  }
}

extension DType {
  /// The C++ type name PyTorch prints in linear's dtype messages.
  fileprivate var linearTypeName: String {
    switch self {
    case .float32: return "float"
    case .float64: return "double"
    case .int64: return "long int"
    case .bool: return "bool"
    }
  }

  /// PyTorch's ScalarType name (`Float`, `Double`, ...).
  fileprivate var linearScalarName: String {
    switch self {
    case .float32: return "Float"
    case .float64: return "Double"
    case .int64: return "Long"
    case .bool: return "Bool"
    }
  }
}
