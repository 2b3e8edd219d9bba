/// One value per spatial dim (a kernel size, stride, padding or dilation), written as PyTorch's
/// int-or-tuple arguments: `3` for every dim, or `[3, 5]` for one per dim. From a variable, write
/// `[k]` (or `SpatialSize(k)`).
public struct SpatialSize: Sendable, Hashable, ExpressibleByIntegerLiteral,
  ExpressibleByArrayLiteral, CustomStringConvertible
{
  /// The values as given: one for every dim, or one per dim.
  public var values: [Int]

  public init(_ value: Int) { values = [value] }
  public init(_ values: [Int]) { self.values = values }
  public init(integerLiteral value: Int) { values = [value] }
  public init(arrayLiteral elements: Int...) { values = elements }

  public var description: String { values.count == 1 ? "\(values[0])" : "\(values)" }

  /// One value per dim for `count` dims, or nil when the list has another length.
  public func expanded(to count: Int) -> [Int]? {
    if values.count == 1 { return Array(repeating: values[0], count: count) }
    return values.count == count ? values : nil
  }
}

/// The padding of a convolution (PyTorch's `padding=`): a number or one per dim (`1`, `[1, 2]`),
/// `.same` or `.valid`.
public enum Padding: Sendable, Hashable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral {
  /// Zeros added before and after each spatial dim.
  case explicit(SpatialSize)
  /// An output as large as the input (stride 1 only). When a dim's total padding is odd, the
  /// extra zero goes after (right or bottom), as in PyTorch.
  case same
  /// No padding.
  case valid

  public init(integerLiteral value: Int) { self = .explicit(SpatialSize(value)) }
  public init(arrayLiteral elements: Int...) { self = .explicit(SpatialSize(elements)) }
}

// MARK: - public convolutions

extension Functional {
  /// 1-D convolution over an input [N, C_in, L] or [C_in, L] with a weight
  /// [C_out, C_in / groups, K] (`F.conv1d`); records ConvolutionBackward0.
  public static func conv1d(
    _ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: SpatialSize = 1,
    padding: Padding = 0, dilation: SpatialSize = 1, groups: Int = 1
  ) -> Tensor {
    convolution(
      input, weight, bias, spatialRank: 1, stride: stride, padding: padding, dilation: dilation,
      groups: groups, op: "conv1d")
  }

  /// 2-D convolution over an input [N, C_in, H, W] or [C_in, H, W] with a weight
  /// [C_out, C_in / groups, kH, kW] (`F.conv2d`); records ConvolutionBackward0.
  ///
  /// Computed by im2col onto the GEMM, threaded over the batch. Its gradients are
  /// convolutions too, so it can be differentiated any number of times.
  public static func conv2d(
    _ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: SpatialSize = 1,
    padding: Padding = 0, dilation: SpatialSize = 1, groups: Int = 1
  ) -> Tensor {
    convolution(
      input, weight, bias, spatialRank: 2, stride: stride, padding: padding, dilation: dilation,
      groups: groups, op: "conv2d")
  }

  /// 1-D transposed convolution of an input [N, C_in, L] or [C_in, L] with a weight
  /// [C_in, C_out / groups, K] (`F.conv_transpose1d`); records ConvolutionBackward0.
  public static func convTranspose1d(
    _ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: SpatialSize = 1,
    padding: SpatialSize = 0, outputPadding: SpatialSize = 0, groups: Int = 1,
    dilation: SpatialSize = 1
  ) -> Tensor {
    convolutionTranspose(
      input, weight, bias, spatialRank: 1, stride: stride, padding: padding,
      outputPadding: outputPadding, groups: groups, dilation: dilation, op: "conv_transpose1d")
  }

  /// 2-D transposed convolution ("deconvolution") of an input [N, C_in, H, W] or [C_in, H, W]
  /// with a weight [C_in, C_out / groups, kH, kW] (`F.conv_transpose2d`): the gradient of a
  /// conv2d with respect to its input. Output size per dim:
  /// `(in - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1`.
  public static func convTranspose2d(
    _ input: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: SpatialSize = 1,
    padding: SpatialSize = 0, outputPadding: SpatialSize = 0, groups: Int = 1,
    dilation: SpatialSize = 1
  ) -> Tensor {
    convolutionTranspose(
      input, weight, bias, spatialRank: 2, stride: stride, padding: padding,
      outputPadding: outputPadding, groups: groups, dilation: dilation, op: "conv_transpose2d")
  }
}

// MARK: - argument checks

extension Functional {
  /// `spec` expanded to one value per spatial dim, or PyTorch's message.
  fileprivate static func convolutionParameter(
    _ spec: SpatialSize, _ name: String, _ k: Int, op: String
  ) -> [Int] {
    guard let v = spec.expanded(to: k) else {
      preconditionFailure(
        "\(op): expected \(name) to be a single integer value or a list of \(k) values to match the convolution dimensions, but got \(name)=\(spec.values)"
      )
    }
    return v
  }

  /// The checks PyTorch makes before every convolution (dtype, parameters, weight and groups).
  fileprivate static func checkConvolution(
    _ x: Tensor, _ weight: Tensor, _ bias: Tensor?, stride: [Int], padding: [Int],
    dilation: [Int], groups: Int, op: String
  ) {
    precondition(
      x.dtype.isFloatingPoint,
      "\(op): expected a floating-point input (float32 or float64), but got \(x.dtype)")
    precondition(
      weight.dtype == x.dtype,
      "\(op): expected scalar type \(x.dtype.convolutionScalarName) but found \(weight.dtype.convolutionScalarName)"
    )
    if let bias {
      precondition(
        bias.dtype == x.dtype,
        "\(op): Input type (\(x.dtype.convolutionTypeName)) and bias type (\(bias.dtype.convolutionTypeName)) should be the same"
      )
    }
    precondition(groups > 0, "\(op): non-positive groups is not supported")
    precondition(padding.allSatisfy { $0 >= 0 }, "\(op): negative padding is not supported")
    precondition(stride.allSatisfy { $0 > 0 }, "\(op): non-positive stride is not supported")
    precondition(
      dilation.allSatisfy { $0 > 0 },
      "\(op): dilation should be greater than zero, but got \(dilation)")
    precondition(
      weight.rank == x.rank,
      "\(op): Expected \(weight.rank)-dimensional input for \(weight.rank)-dimensional weight \(weight.shape), but got \(x.rank)-dimensional input of size \(x.shape) instead"
    )
    precondition(
      weight.shape[0] >= groups,
      "\(op): Given groups=\(groups), expected weight to be at least \(groups) at dimension 0, but got weight of size \(weight.shape) instead"
    )
    precondition(
      weight.shape[0] % groups == 0,
      "\(op): Given groups=\(groups), expected weight to be divisible by \(groups) at dimension 0, but got weight of size [\(weight.shape)] instead"
    )
  }

  /// Whether bias is 1-D with `count` elements.
  fileprivate static func biasFits(_ bias: Tensor?, _ count: Int) -> Bool {
    guard let bias else { return true }
    return bias.rank == 1 && bias.shape[0] == count
  }

  // MARK: - convolution front ends

  /// conv1d/conv2d: checks, padding modes, unbatched inputs; then the forward kernel.
  static func convolution(
    _ input: Tensor, _ weight: Tensor, _ bias: Tensor?, spatialRank k: Int, stride: SpatialSize,
    padding: Padding, dilation: SpatialSize, groups: Int, op: String
  ) -> Tensor {
    precondition(
      input.rank == k + 1 || input.rank == k + 2,
      "\(op): Expected \(k + 1)D (unbatched) or \(k + 2)D (batched) input to \(op), but got input of size: \(input.shape)"
    )
    let batched = input.rank == k + 2
    let x = batched ? input : input.unsqueeze(0)
    let strides = convolutionParameter(stride, "stride", k, op: op)
    let dilations = convolutionParameter(dilation, "dilation", k, op: op)
    var explicit = [Int](repeating: 0, count: k)
    if case .explicit(let p) = padding { explicit = convolutionParameter(p, "padding", k, op: op) }
    checkConvolution(
      x, weight, bias, stride: strides, padding: explicit, dilation: dilations, groups: groups,
      op: op)
    let spatialIn = Array(x.shape.suffix(k))
    let kernel = Array(weight.shape.suffix(k))
    var before = explicit
    var after = explicit
    if padding == .same {
      precondition(
        strides.allSatisfy { $0 == 1 },
        "\(op): padding='same' is not supported for strided convolutions")
      for i in 0..<k {
        let total = dilations[i] * (kernel[i] - 1)
        before[i] = total / 2
        after[i] = total - before[i]
      }
    }
    precondition(
      x.shape[1] == weight.shape[1] * groups,
      "\(op): Given groups=\(groups), weight of size \(weight.shape), expected input\(x.shape) to have \(weight.shape[1] * groups) channels, but got \(x.shape[1]) channels instead"
    )
    precondition(
      biasFits(bias, weight.shape[0]),
      "\(op): Given weight of size \(weight.shape), expected bias to be 1-dimensional with \(weight.shape[0]) elements, but got bias of size \(bias?.shape ?? []) instead"
    )
    let padded = (0..<k).map { spatialIn[$0] + before[$0] + after[$0] }
    let extent = (0..<k).map { dilations[$0] * (kernel[$0] - 1) + 1 }
    precondition(
      zip(padded, extent).allSatisfy { $0 >= $1 },
      "\(op): Calculated padded input size per channel: (\(padded.map(String.init).joined(separator: " x "))). Kernel size: (\(extent.map(String.init).joined(separator: " x "))). Kernel size can't be greater than actual input size"
    )
    let outSpatial = (0..<k).map { (padded[$0] - extent[$0]) / strides[$0] + 1 }
    let layout = ConvolutionLayout(
      spatialRank: k, inChannels: x.shape[1], outChannels: weight.shape[0], groups: groups,
      inSize: spatialIn, outSize: outSpatial, kernel: kernel, stride: strides, padBefore: before,
      dilation: dilations)
    let out = convolutionForward(x, weight, bias, layout)
    return batched ? out : out.squeeze(0)
  }

  /// conv_transpose1d/2d: checks and unbatched inputs; then the input-gradient kernel of the
  /// convolution whose output has the input's size.
  static func convolutionTranspose(
    _ input: Tensor, _ weight: Tensor, _ bias: Tensor?, spatialRank k: Int, stride: SpatialSize,
    padding: SpatialSize, outputPadding: SpatialSize, groups: Int, dilation: SpatialSize,
    op: String
  ) -> Tensor {
    precondition(
      input.rank == k + 1 || input.rank == k + 2,
      "\(op): Expected \(k + 1)D (unbatched) or \(k + 2)D (batched) input to \(op), but got input of size: \(input.shape)"
    )
    let batched = input.rank == k + 2
    let x = batched ? input : input.unsqueeze(0)
    let strides = convolutionParameter(stride, "stride", k, op: op)
    let dilations = convolutionParameter(dilation, "dilation", k, op: op)
    let pads = convolutionParameter(padding, "padding", k, op: op)
    let outPads = convolutionParameter(outputPadding, "output_padding", k, op: op)
    checkConvolution(
      x, weight, bias, stride: strides, padding: pads, dilation: dilations, groups: groups, op: op)
    precondition(
      outPads.allSatisfy { $0 >= 0 }, "\(op): negative output_padding is not supported")
    precondition(
      x.shape[1] == weight.shape[0],
      "\(op): Given transposed=1, weight of size \(weight.shape), expected input\(x.shape) to have \(weight.shape[0]) channels, but got \(x.shape[1]) channels instead"
    )
    let outChannels = weight.shape[1] * groups
    precondition(
      biasFits(bias, outChannels),
      "\(op): Given transposed=1, weight of size \(weight.shape), expected bias to be 1-dimensional with \(outChannels) elements, but got bias of size \(bias?.shape ?? []) instead"
    )
    // PyTorch reports these as a 2-D problem (height 1 for 1-D)
    func asPair(_ v: [Int], _ fill: Int) -> [Int] { k == 1 ? [fill] + v : v }
    let (op2, s2, d2) = (asPair(outPads, 0), asPair(strides, 1), asPair(dilations, 1))
    precondition(
      (0..<2).allSatisfy { op2[$0] < s2[$0] || op2[$0] < d2[$0] },
      "\(op): output padding must be smaller than either stride or dilation, but got output_padding_height: \(op2[0]) output_padding_width: \(op2[1]) stride_height: \(s2[0]) stride_width: \(s2[1]) dilation_height: \(d2[0]) dilation_width: \(d2[1])"
    )
    let spatialIn = Array(x.shape.suffix(k))
    let kernel = Array(weight.shape.suffix(k))
    let outSpatial = (0..<k).map { (i: Int) -> Int in
      let span = (spatialIn[i] - 1) * strides[i] - 2 * pads[i]
      return span + dilations[i] * (kernel[i] - 1) + outPads[i] + 1
    }
    let in2 = asPair(spatialIn, 1)
    let out2 = asPair(outSpatial, 1)
    precondition(
      outSpatial.allSatisfy { $0 >= 1 },
      "\(op): Given input size per channel: (\(in2[0]) x \(in2[1])). Calculated output size per channel: (\(out2[0]) x \(out2[1])). Output size is too small"
    )
    // the convolution this one transposes: from the output size back to the input size
    let layout = ConvolutionLayout(
      spatialRank: k, inChannels: outChannels, outChannels: weight.shape[0], groups: groups,
      inSize: outSpatial, outSize: spatialIn, kernel: kernel, stride: strides, padBefore: pads,
      dilation: dilations)
    let out = convolutionBackwardInput(x, weight, bias, layout)
    return batched ? out : out.squeeze(0)
  }
}

// MARK: - the three differentiable convolution primitives

extension Functional {
  /// A convolution's sizes in its forward direction (input -> output), for the kernels, and the
  /// number of spatial dims of its tensors (1 or 2; a 1-D convolution runs as height 1).
  struct ConvolutionLayout {
    let spatialRank: Int
    let geometry: ConvGeometry

    init(
      spatialRank: Int, inChannels: Int, outChannels: Int, groups: Int, inSize: [Int],
      outSize: [Int], kernel: [Int], stride: [Int], padBefore: [Int], dilation: [Int]
    ) {
      self.spatialRank = spatialRank
      // a 1-D convolution is a 2-D one of height 1
      func pair(_ v: [Int], _ fill: Int) -> (Int, Int) {
        spatialRank == 1 ? (fill, v[0]) : (v[0], v[1])
      }
      var g = ConvGeometry()
      g.inChannels = inChannels
      g.outChannels = outChannels
      g.groups = groups
      (g.inHeight, g.inWidth) = pair(inSize, 1)
      (g.outHeight, g.outWidth) = pair(outSize, 1)
      (g.kernelHeight, g.kernelWidth) = pair(kernel, 1)
      (g.strideHeight, g.strideWidth) = pair(stride, 1)
      (g.padTop, g.padLeft) = pair(padBefore, 0)
      (g.dilationHeight, g.dilationWidth) = pair(dilation, 1)
      geometry = g
    }

    private func spatial(_ h: Int, _ w: Int) -> [Int] { spatialRank == 1 ? [w] : [h, w] }

    func inputShape(_ n: Int) -> [Int] {
      [n, geometry.inChannels] + spatial(geometry.inHeight, geometry.inWidth)
    }

    func outputShape(_ n: Int) -> [Int] {
      [n, geometry.outChannels] + spatial(geometry.outHeight, geometry.outWidth)
    }

    var weightShape: [Int] {
      [geometry.outChannels, geometry.inPerGroup]
        + spatial(geometry.kernelHeight, geometry.kernelWidth)
    }

    /// The dims a bias gradient sums over: batch and spatial.
    var biasReductionDims: [Int] { [0] + Array(2..<(2 + spatialRank)) }

    func geometry(batch: Int) -> ConvGeometry {
      var g = geometry
      g.batch = batch
      return g
    }
  }

  /// Runs `body` with float32 or float64 pointers of contiguous copies of the operands (nil
  /// operands stay nil) and of a new contiguous result of `shape`.
  private static func withConvolutionPointers(
    _ operands: [Tensor?], result shape: [Int], dtype: DType,
    _ body: (ConvolutionPointers) -> Void
  ) -> Tensor {
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    let inputs = operands.map { $0?.contiguousCopyIfNeeded() }
    switch dtype {
    case .float32:
      body(
        .float(
          inputs.map { $0.map { UnsafePointer($0.basePointer(Float.self)) } },
          out.basePointer(Float.self)))
    case .float64:
      body(
        .double(
          inputs.map { $0.map { UnsafePointer($0.basePointer(Double.self)) } },
          out.basePointer(Double.self)))
    default:
      preconditionFailure("convolution: expected float32 or float64 tensors, got \(dtype)")
    }
    return out
  }

  private enum ConvolutionPointers {
    case float([UnsafePointer<Float>?], UnsafeMutablePointer<Float>)
    case double([UnsafePointer<Double>?], UnsafeMutablePointer<Double>)
  }

  /// `conv(x, w) + bias`, output [N, C_out, ...]. Gradients: input `convolutionBackwardInput(g,
  /// w)`, weight `convolutionBackwardWeight(x, g)`, bias the sum of g over batch and space.
  static func convolutionForward(
    _ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ layout: ConvolutionLayout
  ) -> Tensor {
    let n = x.shape[0]
    let g = layout.geometry(batch: n)
    let out = withConvolutionPointers([x, w, bias], result: layout.outputShape(n), dtype: x.dtype) {
      switch $0 {
      case .float(let p, let y): Kernel.convolutionForward(p[0]!, p[1]!, p[2], y, g)
      case .double(let p, let y): Kernel.convolutionForward(p[0]!, p[1]!, p[2], y, g)
      }
    }
    if Tensor.needsGrad([x, w] + (bias.map { [$0] } ?? [])) {
      Tensor.record(
        "ConvolutionBackward0", inputs: [x, w, bias ?? Tensor.placeholder], outputs: [out],
        saving: [w.requiresGrad ? x : Tensor.placeholder, x.requiresGrad ? w : Tensor.placeholder]
      ) { ctx in
        try [
          ctx.needsInputGrad(0)
            ? convolutionBackwardInput(ctx.grad, ctx.saved(1), nil, layout) : nil,
          ctx.needsInputGrad(1) ? convolutionBackwardWeight(ctx.saved(0), ctx.grad, layout) : nil,
          ctx.needsInputGrad(2) ? convolutionBiasGrad(ctx.grad, layout) : nil,
        ]
      }
    }
    return out
  }

  /// The bias gradient of a convolution: `grad` summed over the batch and space, in one pass per
  /// channel for a contiguous gradient when no graph is recorded (``Kernel/convolutionBiasGrad``),
  /// else as a differentiable sum.
  private static func convolutionBiasGrad(_ grad: Tensor, _ layout: ConvolutionLayout) -> Tensor {
    guard grad.isContiguous, !Tensor.needsGrad(grad), grad.rank >= 2,
      grad.dtype == .float32 || grad.dtype == .float64
    else { return grad.sum(dim: layout.biasReductionDims) }
    let (batch, channels) = (grad.shape[0], grad.shape[1])
    let plane = Shape.count(Array(grad.shape.dropFirst(2)))
    let out = Tensor(uninitializedShape: [channels], dtype: grad.dtype)
    func run<T: FloatScalar>(_: T.Type) {
      Kernel.convolutionBiasGrad(
        UnsafePointer(grad.basePointer(T.self)), out.basePointer(T.self), batch: batch,
        channels: channels, plane: plane)
    }
    if grad.dtype == .float32 { run(Float.self) } else { run(Double.self) }
    return out
  }

  /// The transposed convolution of `y` (shaped like the output of `layout`) with `w`, plus a
  /// bias per input channel: shaped like the input of `layout`. Gradients: `y`
  /// `convolutionForward(g, w)`, weight `convolutionBackwardWeight(g, y)`, bias the sum of g.
  static func convolutionBackwardInput(
    _ y: Tensor, _ w: Tensor, _ bias: Tensor?, _ layout: ConvolutionLayout
  ) -> Tensor {
    let n = y.shape[0]
    let g = layout.geometry(batch: n)
    let out = withConvolutionPointers([y, w, bias], result: layout.inputShape(n), dtype: y.dtype) {
      switch $0 {
      case .float(let p, let x): Kernel.convolutionBackwardInput(p[0]!, p[1]!, p[2], x, g)
      case .double(let p, let x): Kernel.convolutionBackwardInput(p[0]!, p[1]!, p[2], x, g)
      }
    }
    if Tensor.needsGrad([y, w] + (bias.map { [$0] } ?? [])) {
      Tensor.record(
        "ConvolutionBackward0", inputs: [y, w, bias ?? Tensor.placeholder], outputs: [out],
        saving: [w.requiresGrad ? y : Tensor.placeholder, y.requiresGrad ? w : Tensor.placeholder]
      ) { ctx in
        try [
          ctx.needsInputGrad(0) ? convolutionForward(ctx.grad, ctx.saved(1), nil, layout) : nil,
          ctx.needsInputGrad(1) ? convolutionBackwardWeight(ctx.grad, ctx.saved(0), layout) : nil,
          ctx.needsInputGrad(2) ? ctx.grad.sum(dim: layout.biasReductionDims) : nil,
        ]
      }
    }
    return out
  }

  /// The weight gradient of `layout` for input `x` and output gradient `y`, shaped like the
  /// weight. Gradients: `x` `convolutionBackwardInput(y, g)`, `y` `convolutionForward(x, g)`.
  static func convolutionBackwardWeight(
    _ x: Tensor, _ y: Tensor, _ layout: ConvolutionLayout
  ) -> Tensor {
    let g = layout.geometry(batch: x.shape[0])
    let out = withConvolutionPointers([x, y], result: layout.weightShape, dtype: x.dtype) {
      switch $0 {
      case .float(let p, let w): Kernel.convolutionBackwardWeight(p[0]!, p[1]!, w, g)
      case .double(let p, let w): Kernel.convolutionBackwardWeight(p[0]!, p[1]!, w, g)
      }
    }
    if Tensor.needsGrad(x, y) {
      Tensor.record(
        "ConvolutionBackward0", inputs: [x, y], outputs: [out],
        saving: [y.requiresGrad ? x : Tensor.placeholder, x.requiresGrad ? y : Tensor.placeholder]
      ) { ctx in
        try [
          ctx.needsInputGrad(0)
            ? convolutionBackwardInput(ctx.saved(1), ctx.grad, nil, layout) : nil,
          ctx.needsInputGrad(1) ? convolutionForward(ctx.saved(0), ctx.grad, nil, layout) : nil,
        ]
      }
    }
    return out
  }
}

extension DType {
  /// PyTorch's ScalarType name in convolution dtype messages (`Float`, `Double`, ...).
  fileprivate var convolutionScalarName: String {
    switch self {
    case .float32: return "Float"
    case .float64: return "Double"
    case .int64: return "Long"
    case .bool: return "Bool"
    }
  }

  /// The C++ type name in "Input type (float) and bias type (double)" messages.
  fileprivate var convolutionTypeName: String {
    switch self {
    case .float32: return "float"
    case .float64: return "double"
    case .int64: return "long int"
    case .bool: return "bool"
    }
  }
}
