/// Convolution layers: `nn.Conv1d`, `nn.Conv2d`, `nn.ConvTranspose1d`, `nn.ConvTranspose2d`.
/// Weights are initialized as PyTorch's `_ConvNd.reset_parameters` does (kaiming-uniform with
/// a = sqrt(5), bias U(-1/sqrt(fanIn), 1/sqrt(fanIn))), in the same order of draws.
public class ConvolutionModule: Module {
  public let inChannels: Int
  public let outChannels: Int
  public let kernelSize: [Int]
  public let stride: [Int]
  public let padding: Padding
  public let dilation: [Int]
  public let groups: Int
  let outputPadding: [Int]
  let transposed: Bool
  public let weight: Parameter
  public let bias: Parameter?

  init(
    _ inChannels: Int, _ outChannels: Int, kernelSize: SpatialSize, stride: SpatialSize,
    padding: Padding, dilation: SpatialSize, groups: Int, bias: Bool, dtype: DType,
    spatialRank rank: Int, transposed: Bool, outputPadding: SpatialSize, name: String
  ) {
    func expand(_ s: SpatialSize, _ what: String) -> [Int] {
      guard let v = s.expanded(to: rank) else {
        preconditionFailure("\(name): \(what) must be an int or a list of \(rank) ints (got \(s))")
      }
      return v
    }
    precondition(groups > 0, "\(name): groups must be a positive integer")
    precondition(inChannels % groups == 0, "\(name): in_channels must be divisible by groups")
    precondition(outChannels % groups == 0, "\(name): out_channels must be divisible by groups")
    if case .same = padding {
      precondition(
        expand(stride, "stride").allSatisfy { $0 == 1 },
        "\(name): padding='same' is not supported for strided convolutions")
    }
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernelSize = expand(kernelSize, "kernel_size")
    self.stride = expand(stride, "stride")
    self.padding = padding
    self.dilation = expand(dilation, "dilation")
    self.groups = groups
    self.outputPadding = expand(outputPadding, "output_padding")
    self.transposed = transposed
    let weightShape =
      transposed
      ? [inChannels, outChannels / groups] + self.kernelSize
      : [outChannels, inChannels / groups] + self.kernelSize
    weight = Parameter(Tensor.empty(weightShape, dtype: dtype))
    self.bias = bias ? Parameter(Tensor.empty([outChannels], dtype: dtype)) : nil
    super.init()
    resetParameters()
  }

  /// PyTorch's `reset_parameters`.
  public func resetParameters() {
    Init.kaimingUniform(weight, a: 5.0.squareRoot())
    if let bias {
      let fanIn = Init.fans(weight).fanIn
      if fanIn != 0 {
        let bound = 1 / Double(fanIn).squareRoot()
        Init.uniform(bias, a: -bound, b: bound)
      }
    }
  }

  var explicitPadding: [Int] {
    if case .explicit(let s) = padding { return s.expanded(to: kernelSize.count) ?? [] }
    return Array(repeating: 0, count: kernelSize.count)
  }

  public override var extraDescription: String {
    var s =
      "\(inChannels), \(outChannels), kernel_size=\(pythonTuple(kernelSize)), stride=\(pythonTuple(stride))"
    switch padding {
    case .same: s += ", padding=same"
    case .valid: s += ", padding=valid"
    case .explicit:
      if explicitPadding.contains(where: { $0 != 0 }) {
        s += ", padding=\(pythonTuple(explicitPadding))"
      }
    }
    if dilation.contains(where: { $0 != 1 }) { s += ", dilation=\(pythonTuple(dilation))" }
    if outputPadding.contains(where: { $0 != 0 }) {
      s += ", output_padding=\(pythonTuple(outputPadding))"
    }
    if groups != 1 { s += ", groups=\(groups)" }
    if bias == nil { s += ", bias=False" }
    return s
  }
}

/// `nn.Conv1d` over [N, C_in, L] (or unbatched [C_in, L]).
public final class Conv1d: ConvolutionModule {
  public init(
    _ inChannels: Int, _ outChannels: Int, _ kernelSize: SpatialSize, stride: SpatialSize = 1,
    padding: Padding = 0, dilation: SpatialSize = 1, groups: Int = 1, bias: Bool = true,
    dtype: DType = .defaultFloat
  ) {
    super.init(
      inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding,
      dilation: dilation, groups: groups, bias: bias, dtype: dtype, spatialRank: 1,
      transposed: false, outputPadding: 0, name: "Conv1d")
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.conv1d(
      input, weight, bias: bias, stride: SpatialSize(stride), padding: padding,
      dilation: SpatialSize(dilation), groups: groups)
  }
}

/// `nn.Conv2d` over [N, C_in, H, W] (or unbatched [C_in, H, W]).
public final class Conv2d: ConvolutionModule {
  public init(
    _ inChannels: Int, _ outChannels: Int, _ kernelSize: SpatialSize, stride: SpatialSize = 1,
    padding: Padding = 0, dilation: SpatialSize = 1, groups: Int = 1, bias: Bool = true,
    dtype: DType = .defaultFloat
  ) {
    super.init(
      inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding,
      dilation: dilation, groups: groups, bias: bias, dtype: dtype, spatialRank: 2,
      transposed: false, outputPadding: 0, name: "Conv2d")
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.conv2d(
      input, weight, bias: bias, stride: SpatialSize(stride), padding: padding,
      dilation: SpatialSize(dilation), groups: groups)
  }
}

/// `nn.ConvTranspose1d` over [N, C_in, L].
public final class ConvTranspose1d: ConvolutionModule {
  public init(
    _ inChannels: Int, _ outChannels: Int, _ kernelSize: SpatialSize, stride: SpatialSize = 1,
    padding: SpatialSize = 0, outputPadding: SpatialSize = 0, groups: Int = 1, bias: Bool = true,
    dilation: SpatialSize = 1, dtype: DType = .defaultFloat
  ) {
    super.init(
      inChannels, outChannels, kernelSize: kernelSize, stride: stride,
      padding: .explicit(padding), dilation: dilation, groups: groups, bias: bias, dtype: dtype,
      spatialRank: 1, transposed: true, outputPadding: outputPadding, name: "ConvTranspose1d")
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.convTranspose1d(
      input, weight, bias: bias, stride: SpatialSize(stride),
      padding: SpatialSize(explicitPadding), outputPadding: SpatialSize(outputPadding),
      groups: groups, dilation: SpatialSize(dilation))
  }
}

/// `nn.ConvTranspose2d` over [N, C_in, H, W].
public final class ConvTranspose2d: ConvolutionModule {
  public init(
    _ inChannels: Int, _ outChannels: Int, _ kernelSize: SpatialSize, stride: SpatialSize = 1,
    padding: SpatialSize = 0, outputPadding: SpatialSize = 0, groups: Int = 1, bias: Bool = true,
    dilation: SpatialSize = 1, dtype: DType = .defaultFloat
  ) {
    super.init(
      inChannels, outChannels, kernelSize: kernelSize, stride: stride,
      padding: .explicit(padding), dilation: dilation, groups: groups, bias: bias, dtype: dtype,
      spatialRank: 2, transposed: true, outputPadding: outputPadding, name: "ConvTranspose2d")
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.convTranspose2d(
      input, weight, bias: bias, stride: SpatialSize(stride),
      padding: SpatialSize(explicitPadding), outputPadding: SpatialSize(outputPadding),
      groups: groups, dilation: SpatialSize(dilation))
  }
}
