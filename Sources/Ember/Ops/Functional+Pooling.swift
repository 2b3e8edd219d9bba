/// Pooling: max, average and adaptive pools over the last one or two dims. Each is one pass over
/// memory; max pools save the index of each maximum and their backward scatters the gradient
/// there (a differentiable op whose own backward is a gather); average pools' backward is a
/// transposed average pool, itself differentiable.
extension Functional {
  // MARK: max pooling

  /// 2-D max pooling over an input [N, C, H, W] or [C, H, W] (`F.max_pool2d`); `stride` defaults
  /// to `kernelSize`. Records MaxPool2DWithIndicesBackward0.
  public static func maxPool2d(
    _ input: Tensor, kernelSize: SpatialSize, stride: SpatialSize? = nil, padding: SpatialSize = 0,
    dilation: SpatialSize = 1, ceilMode: Bool = false
  ) -> Tensor {
    maxPool2dWithIndices(
      input, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
      ceilMode: ceilMode
    ).output
  }

  /// ``maxPool2d(_:kernelSize:stride:padding:dilation:ceilMode:)`` that also returns, for each
  /// output, the flat index (int64) of the maximum within its input plane
  /// (`F.max_pool2d(..., return_indices=True)`, `F.max_pool2d_with_indices`).
  public static func maxPool2dWithIndices(
    _ input: Tensor, kernelSize: SpatialSize, stride: SpatialSize? = nil, padding: SpatialSize = 0,
    dilation: SpatialSize = 1, ceilMode: Bool = false
  ) -> (output: Tensor, indices: Tensor) {
    let op = "max_pool2d"
    let k = poolPair(
      kernelSize, "kernel_size must either be a single int, or a tuple of two ints", op)
    let s = poolStride(stride, default: k, op)
    let p = poolPair(padding, "padding must either be a single int, or a tuple of two ints", op)
    let d = poolPair(dilation, "dilation must be either a single int, or a tuple of two ints", op)
    precondition(
      input.rank == 3 || input.rank == 4,
      "\(op): non-empty 3D or 4D (batch mode) tensor expected for input")
    let g = poolGeometry(
      input, kernel: k, stride: s, padding: p, dilation: d, ceilMode: ceilMode, op: op)
    return maxPool(input, g, op: op, name: "MaxPool2DWithIndicesBackward", adaptive: false)
  }

  /// 1-D max pooling over an input [N, C, L] or [C, L] (`F.max_pool1d`); `stride` defaults to
  /// `kernelSize`. Runs as a 2-D pooling of height 1 (grad_fn SqueezeBackward1, as PyTorch).
  public static func maxPool1d(
    _ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1,
    ceilMode: Bool = false
  ) -> Tensor {
    maxPool1dWithIndices(
      input, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
      ceilMode: ceilMode
    ).output
  }

  /// ``maxPool1d(_:kernelSize:stride:padding:dilation:ceilMode:)`` that also returns the index
  /// of each maximum (`F.max_pool1d(..., return_indices=True)`).
  public static func maxPool1dWithIndices(
    _ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1,
    ceilMode: Bool = false
  ) -> (output: Tensor, indices: Tensor) {
    let op = "max_pool1d"
    let s = stride ?? kernelSize
    precondition(
      input.rank == 2 || input.rank == 3,
      "\(op): Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:\(input.shape)"
    )
    precondition(
      kernelSize > 0, "\(op)() kernel_size must be greater than zero, but got \(kernelSize)")
    precondition(s > 0, "\(op)() stride must be greater than zero, but got \(s)")
    precondition(padding >= 0, "\(op)() padding must be non-negative, but got \(padding)")
    precondition(
      padding <= kernelSize / 2,
      "\(op)() padding should be at most half of kernel size, but got padding=\(padding) and kernel_size=\(kernelSize)"
    )
    precondition(dilation > 0, "\(op)() dilation must be greater than zero, but got \(dilation)")
    let length = poolOutputSize(
      input.shape[input.rank - 1], kernelSize, padding, s, dilation, ceilMode)
    precondition(length >= 1, "\(op)() Invalid computed output size: \(length)")
    let r = maxPool2dWithIndices(
      input.unsqueeze(-2), kernelSize: [1, kernelSize], stride: [1, s], padding: [0, padding],
      dilation: [1, dilation], ceilMode: ceilMode)
    return (r.output.squeeze(-2), r.indices.squeeze(-2))
  }

  /// Adaptive 2-D max pooling to `outputSize` (`F.adaptive_max_pool2d`); output window o covers
  /// input `floor(o * in / out) ..< ceil((o + 1) * in / out)`. Records AdaptiveMaxPool2DBackward0.
  public static func adaptiveMaxPool2d(_ input: Tensor, outputSize: SpatialSize) -> Tensor {
    adaptiveMaxPool2dWithIndices(input, outputSize: outputSize).output
  }

  /// ``adaptiveMaxPool2d(_:outputSize:)`` that also returns the index of each maximum.
  public static func adaptiveMaxPool2dWithIndices(_ input: Tensor, outputSize: SpatialSize) -> (
    output: Tensor, indices: Tensor
  ) {
    let op = "adaptive_max_pool2d"
    precondition(
      input.rank == 3 || input.rank == 4,
      "\(op)(): Expected 3D or 4D tensor, but got: \(input.shape)")
    checkNonEmptyPlanes(input, op: op)
    guard let size = outputSize.expanded(to: 2) else {
      preconditionFailure("\(op)(): internal error: output_size.size() must be 2")
    }
    let outShape = Array(input.shape.dropLast(2)) + size
    precondition(
      size.allSatisfy { $0 >= 0 },
      "\(op)(): Trying to create tensor with negative dimension \(size.first { $0 < 0 }!): \(outShape)"
    )
    return maxPool(
      input, adaptiveGeometry(input, size), op: op, name: "AdaptiveMaxPool2DBackward",
      adaptive: true)
  }

  // MARK: average pooling

  /// 2-D average pooling over an input [N, C, H, W] or [C, H, W] (`F.avg_pool2d`); `stride`
  /// defaults to `kernelSize`. Each window is divided by `divisorOverride` when given, else by
  /// its size, counting the zero padding when `countIncludePad` (the default). Records
  /// AvgPool2DBackward0.
  public static func avgPool2d(
    _ input: Tensor, kernelSize: SpatialSize, stride: SpatialSize? = nil, padding: SpatialSize = 0,
    ceilMode: Bool = false, countIncludePad: Bool = true, divisorOverride: Int? = nil
  ) -> Tensor {
    let op = "avg_pool2d"
    let k = poolPair(
      kernelSize, "kernel_size must either be a single int, or a tuple of two ints", op)
    let s = poolStride(stride, default: k, op)
    let p = poolPair(padding, "padding must either be a single int, or a tuple of two ints", op)
    precondition(divisorOverride != 0, "\(op): divisor must be not zero")
    precondition(
      input.rank == 3 || input.rank == 4,
      "\(op): Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:\(input.shape)"
    )
    let g = poolGeometry(
      input, kernel: k, stride: s, padding: p, dilation: [1, 1], ceilMode: ceilMode, op: op)
    return avgPool(
      input, g, AveragePooling(countIncludePad: countIncludePad, divisor: divisorOverride))
  }

  /// 1-D average pooling over an input [N, C, L] or [C, L] (`F.avg_pool1d`), as a 2-D pooling of
  /// height 1.
  public static func avgPool1d(
    _ input: Tensor, kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false,
    countIncludePad: Bool = true
  ) -> Tensor {
    precondition(
      input.rank == 2 || input.rank == 3,
      "avg_pool1d: Expected 2 to 3 dimensions, but got \(input.rank)-dimensional tensor for argument #1 'self' (while checking arguments for avg_pool1d)"
    )
    return avgPool2d(
      input.unsqueeze(-2), kernelSize: [1, kernelSize], stride: [1, stride ?? kernelSize],
      padding: [0, padding], ceilMode: ceilMode, countIncludePad: countIncludePad
    ).squeeze(-2)
  }

  /// Adaptive 2-D average pooling to `outputSize` (`F.adaptive_avg_pool2d`): the mean of each
  /// window `floor(o * in / out) ..< ceil((o + 1) * in / out)`. An output of 1x1 is a mean over
  /// the last two dims (MeanBackward1, as PyTorch); otherwise records
  /// AdaptiveAvgPool2DBackward0.
  public static func adaptiveAvgPool2d(_ input: Tensor, outputSize: SpatialSize) -> Tensor {
    let op = "adaptive_avg_pool2d"
    guard let size = outputSize.expanded(to: 2) else {
      preconditionFailure("\(op): output_size must be 2")
    }
    precondition(
      size[0] >= 0 && size[1] >= 0,
      "\(op): elements of output_size must be greater than or equal to 0 but received {\(size[0]), \(size[1])}"
    )
    if size == [1, 1] { return input.mean(dim: [-1, -2], keepdim: true) }
    precondition(
      input.rank == 3 || input.rank == 4,
      "\(op)(): Expected 3D or 4D tensor, but got \(input.shape)")
    checkNonEmptyPlanes(input, op: op)
    return adaptiveAvgPool(input, adaptiveGeometry(input, size))
  }
}

// MARK: - argument checks and sizes

extension Functional {
  /// A pooling parameter as (height, width).
  fileprivate static func poolPair(_ v: SpatialSize, _ message: String, _ op: String) -> [Int] {
    guard let pair = v.expanded(to: 2) else { preconditionFailure("\(op): \(message)") }
    return pair
  }

  /// The stride, defaulting to the kernel size when omitted (nil or empty, as PyTorch).
  fileprivate static func poolStride(_ v: SpatialSize?, default kernel: [Int], _ op: String)
    -> [Int]
  {
    guard let v, !v.values.isEmpty else { return kernel }
    return poolPair(v, "stride must either be omitted, a single int, or a tuple of two ints", op)
  }

  /// PyTorch's `pooling_output_shape`: floor (or ceil) of the window count; in ceil mode the
  /// last window must start inside the input or its left padding.
  fileprivate static func poolOutputSize(
    _ input: Int, _ kernel: Int, _ pad: Int, _ stride: Int, _ dilation: Int, _ ceilMode: Bool
  ) -> Int {
    let span = input + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)
    var out = Kernel.floorDiv(span, stride) + 1
    if ceilMode && (out - 1) * stride >= input + pad { out -= 1 }
    return out
  }

  /// The geometry of a max or average pooling, with PyTorch's checks in its order.
  fileprivate static func poolGeometry(
    _ x: Tensor, kernel k: [Int], stride s: [Int], padding p: [Int], dilation d: [Int],
    ceilMode: Bool, op: String
  ) -> PoolGeometry {
    let (inH, inW) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    var out = [0, 0]
    for i in 0..<2 {
      precondition(s[i] != 0, "\(op): stride should not be zero")
      precondition(p[i] >= 0, "\(op): pad must be non-negative, but got pad: \(p[i])")
      precondition(
        p[i] <= ((k[i] - 1) * d[i] + 1) / 2,
        "\(op): pad should be at most half of effective kernel size, but got pad=\(p[i]), kernel_size=\(k[i]) and dilation=\(d[i])"
      )
      out[i] = poolOutputSize(i == 0 ? inH : inW, k[i], p[i], s[i], d[i], ceilMode)
    }
    precondition(
      k[0] > 0 && k[1] > 0,
      "\(op): kernel size should be greater than zero, but got kH: \(k[0]) kW: \(k[1])")
    precondition(
      s[0] > 0 && s[1] > 0,
      "\(op): stride should be greater than zero, but got dH: \(s[0]) dW: \(s[1])")
    precondition(
      d[0] > 0 && d[1] > 0,
      "\(op): dilation should be greater than zero, but got dilationH: \(d[0]) dilationW: \(d[1])")
    let planesOK = x.shape[(x.rank - 3)...].allSatisfy { $0 > 0 }
    precondition(
      planesOK,
      "\(op): Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:\(x.shape)"
    )
    precondition(
      k[1] / 2 >= p[1] && k[0] / 2 >= p[0],
      "\(op): pad should be smaller than or equal to half of kernel size, but got padW = \(p[1]), padH = \(p[0]), kW = \(k[1]), kH = \(k[0])"
    )
    let channels = x.shape[x.rank - 3]
    precondition(
      out[0] >= 1 && out[1] >= 1,
      "\(op): Given input size: (\(channels)x\(inH)x\(inW)). Calculated output size: (\(channels)x\(out[0])x\(out[1])). Output size is too small"
    )
    return PoolGeometry(
      planes: Shape.count(Array(x.shape.dropLast(2))), inHeight: inH, inWidth: inW,
      outHeight: out[0], outWidth: out[1], kernelHeight: k[0], kernelWidth: k[1],
      strideHeight: s[0], strideWidth: s[1], padTop: p[0], padLeft: p[1], dilationHeight: d[0],
      dilationWidth: d[1])
  }

  fileprivate static func checkNonEmptyPlanes(_ x: Tensor, op: String) {
    for i in 1..<x.rank {
      precondition(
        x.shape[i] > 0,
        "\(op)(): Expected input to have non-zero size for non-batch dimensions, but input has sizes \(x.shape) with dimension \(i) being empty"
      )
    }
  }

  fileprivate static func adaptiveGeometry(_ x: Tensor, _ size: [Int]) -> PoolGeometry {
    var g = PoolGeometry()
    g.planes = Shape.count(Array(x.shape.dropLast(2)))
    (g.inHeight, g.inWidth) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    (g.outHeight, g.outWidth) = (size[0], size[1])
    return g
  }

  fileprivate static func pooledShape(_ x: Tensor, _ g: PoolGeometry) -> [Int] {
    Array(x.shape.dropLast(2)) + [g.outHeight, g.outWidth]
  }

  fileprivate static func checkFloat(_ x: Tensor, _ op: String) {
    precondition(
      x.dtype.isFloatingPoint,
      "\(op): expected a floating-point input (float32 or float64), but got \(x.dtype)")
  }
}

// MARK: - differentiable pooling primitives

extension Functional {
  /// Max pooling (windowed or adaptive) with indices; the node (`name` + "0") saves the indices.
  fileprivate static func maxPool(
    _ x: Tensor, _ g: PoolGeometry, op: String, name: String, adaptive: Bool
  ) -> (output: Tensor, indices: Tensor) {
    checkFloat(x, op)
    let shape = pooledShape(x, g)
    let out = Tensor(uninitializedShape: shape, dtype: x.dtype)
    let indices = Tensor(uninitializedShape: shape, dtype: .int64)
    let xc = x.contiguousCopyIfNeeded()
    let pi = indices.basePointer(Int64.self)
    func run<T: FloatScalar>(_: T.Type) {
      let (px, py) = (UnsafePointer(xc.basePointer(T.self)), out.basePointer(T.self))
      if adaptive {
        Kernel.adaptiveMaxPoolForward(px, py, pi, g)
      } else {
        Kernel.maxPoolForward(px, py, pi, g)
      }
    }
    if x.dtype == .float32 { run(Float.self) } else { run(Double.self) }
    if Tensor.needsGrad(x) {
      let inShape = x.shape
      Tensor.record(name + "0", inputs: [x], outputs: [out], saving: [indices]) { ctx in
        [
          try maxPoolBackward(
            ctx.grad, indices: ctx.saved(0), inputShape: inShape, name: name + "Backward0")
        ]
      }
    }
    return (out, indices)
  }

  /// The gradient of a max pooling: `grad` added at `indices` of a zero tensor of
  /// `inputShape`. Its node `name` (`MaxPool2DWithIndicesBackwardBackward0`, as PyTorch) gathers
  /// at the same indices.
  fileprivate static func maxPoolBackward(
    _ grad: Tensor, indices: Tensor, inputShape: [Int], name: String
  ) -> Tensor {
    let gx = Tensor(uninitializedShape: inputShape, dtype: grad.dtype)
    let gc = grad.contiguousCopyIfNeeded()
    let ic = indices.contiguousCopyIfNeeded()
    let planes = Shape.count(Array(inputShape.dropLast(2)))
    let inPlane = inputShape[inputShape.count - 2] * inputShape[inputShape.count - 1]
    let outPlane = indices.shape[indices.rank - 2] * indices.shape[indices.rank - 1]
    func run<T: FloatScalar>(_: T.Type) {
      Kernel.maxPoolBackward(
        UnsafePointer(gc.basePointer(T.self)), UnsafePointer(ic.basePointer(Int64.self)),
        gx.basePointer(T.self), planes: planes, inPlane: inPlane, outPlane: outPlane)
    }
    if grad.dtype == .float32 { run(Float.self) } else { run(Double.self) }
    if Tensor.needsGrad(grad) {
      Tensor.record(name, inputs: [grad], outputs: [gx], saving: [indices]) { ctx in
        let idx = try ctx.saved(0)
        return [
          ctx.grad.flatten(startDim: -2).gather(dim: -1, index: idx.flatten(startDim: -2)).view(
            idx.shape)
        ]
      }
    }
    return gx
  }

  /// How an average pooling divides each window.
  fileprivate struct AveragePooling {
    let countIncludePad: Bool
    let divisor: Int?
  }

  /// Average pooling (AvgPool2DBackward0); its backward is ``avgPoolBackward(_:_:_:inputShape:)``.
  fileprivate static func avgPool(_ x: Tensor, _ g: PoolGeometry, _ mode: AveragePooling) -> Tensor
  {
    checkFloat(x, "avg_pool2d")
    let out = Tensor(uninitializedShape: pooledShape(x, g), dtype: x.dtype)
    let xc = x.contiguousCopyIfNeeded()
    func run<T: FloatScalar>(_: T.Type) {
      Kernel.avgPoolForward(
        UnsafePointer(xc.basePointer(T.self)), out.basePointer(T.self), g,
        countIncludePad: mode.countIncludePad, divisor: mode.divisor)
    }
    if x.dtype == .float32 { run(Float.self) } else { run(Double.self) }
    if Tensor.needsGrad(x) {
      let inShape = x.shape
      Tensor.record("AvgPool2DBackward0", inputs: [x], outputs: [out]) { ctx in
        [avgPoolBackward(ctx.grad, g, mode, inputShape: inShape)]
      }
    }
    return out
  }

  /// The transpose of an average pooling (AvgPool2DBackwardBackward0); its backward is the
  /// average pooling.
  fileprivate static func avgPoolBackward(
    _ grad: Tensor, _ g: PoolGeometry, _ mode: AveragePooling, inputShape: [Int]
  ) -> Tensor {
    let gx = Tensor(uninitializedShape: inputShape, dtype: grad.dtype)
    let gc = grad.contiguousCopyIfNeeded()
    func run<T: FloatScalar>(_: T.Type) {
      Kernel.avgPoolBackward(
        UnsafePointer(gc.basePointer(T.self)), gx.basePointer(T.self), g,
        countIncludePad: mode.countIncludePad, divisor: mode.divisor)
    }
    if grad.dtype == .float32 { run(Float.self) } else { run(Double.self) }
    if Tensor.needsGrad(grad) {
      Tensor.record("AvgPool2DBackwardBackward0", inputs: [grad], outputs: [gx]) { ctx in
        [avgPool(ctx.grad, g, mode)]
      }
    }
    return gx
  }

  /// Adaptive average pooling (AdaptiveAvgPool2DBackward0).
  fileprivate static func adaptiveAvgPool(_ x: Tensor, _ g: PoolGeometry) -> Tensor {
    checkFloat(x, "adaptive_avg_pool2d")
    let out = Tensor(uninitializedShape: pooledShape(x, g), dtype: x.dtype)
    let xc = x.contiguousCopyIfNeeded()
    func run<T: FloatScalar>(_: T.Type) {
      Kernel.adaptiveAvgPoolForward(
        UnsafePointer(xc.basePointer(T.self)), out.basePointer(T.self), g)
    }
    if x.dtype == .float32 { run(Float.self) } else { run(Double.self) }
    if Tensor.needsGrad(x) {
      let inShape = x.shape
      Tensor.record("AdaptiveAvgPool2DBackward0", inputs: [x], outputs: [out]) { ctx in
        [adaptiveAvgPoolBackward(ctx.grad, g, inputShape: inShape)]
      }
    }
    return out
  }

  /// The transpose of an adaptive average pooling (AdaptiveAvgPool2DBackwardBackward0).
  fileprivate static func adaptiveAvgPoolBackward(
    _ grad: Tensor, _ g: PoolGeometry, inputShape: [Int]
  ) -> Tensor {
    let gx = Tensor(uninitializedShape: inputShape, dtype: grad.dtype)
    let gc = grad.contiguousCopyIfNeeded()
    func run<T: FloatScalar>(_: T.Type) {
      Kernel.adaptiveAvgPoolBackward(
        UnsafePointer(gc.basePointer(T.self)), gx.basePointer(T.self), g)
    }
    if grad.dtype == .float32 { run(Float.self) } else { run(Double.self) }
    if Tensor.needsGrad(grad) {
      Tensor.record("AdaptiveAvgPool2DBackwardBackward0", inputs: [grad], outputs: [gx]) { ctx in
        [adaptiveAvgPool(ctx.grad, g)]
      }
    }
    return gx
  }
}
