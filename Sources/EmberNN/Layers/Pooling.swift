/// Pooling layers: `nn.MaxPool1d`, `nn.MaxPool2d`, `nn.AvgPool1d`, `nn.AvgPool2d`,
/// `nn.AdaptiveAvgPool2d`, `nn.AdaptiveMaxPool2d`, thin over the functional ops.

/// `nn.MaxPool1d`; `stride` defaults to `kernelSize`.
public final class MaxPool1d: Module {
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let dilation: Int
  public let ceilMode: Bool
  public init(
    _ kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1,
    ceilMode: Bool = false
  ) {
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
    self.padding = padding
    self.dilation = dilation
    self.ceilMode = ceilMode
  }
  public override func forward(_ input: Tensor) -> Tensor {
    Functional.maxPool1d(
      input, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
      ceilMode: ceilMode)
  }
  public override var extraDescription: String {
    "kernel_size=\(kernelSize), stride=\(stride), padding=\(padding), dilation=\(dilation), ceil_mode=\(pythonBool(ceilMode))"
  }
}

/// `nn.MaxPool2d`; `stride` defaults to `kernelSize`. Records MaxPool2DWithIndicesBackward0.
public final class MaxPool2d: Module {
  public let kernelSize: SpatialSize
  public let stride: SpatialSize
  public let padding: SpatialSize
  public let dilation: SpatialSize
  public let ceilMode: Bool
  public init(
    _ kernelSize: SpatialSize, stride: SpatialSize? = nil, padding: SpatialSize = 0,
    dilation: SpatialSize = 1, ceilMode: Bool = false
  ) {
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
    self.padding = padding
    self.dilation = dilation
    self.ceilMode = ceilMode
  }
  public override func forward(_ input: Tensor) -> Tensor {
    Functional.maxPool2d(
      input, kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation,
      ceilMode: ceilMode)
  }
  public override var extraDescription: String {
    "kernel_size=\(pythonSize(kernelSize)), stride=\(pythonSize(stride)), padding=\(pythonSize(padding)), dilation=\(pythonSize(dilation)), ceil_mode=\(pythonBool(ceilMode))"
  }
}

/// `nn.AvgPool1d`.
public final class AvgPool1d: Module {
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let ceilMode: Bool
  public let countIncludePad: Bool
  public init(
    _ kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false,
    countIncludePad: Bool = true
  ) {
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
    self.padding = padding
    self.ceilMode = ceilMode
    self.countIncludePad = countIncludePad
  }
  public override func forward(_ input: Tensor) -> Tensor {
    Functional.avgPool1d(
      input, kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode,
      countIncludePad: countIncludePad)
  }
  public override var extraDescription: String {
    "kernel_size=(\(kernelSize),), stride=(\(stride),), padding=(\(padding),)"
  }
}

/// `nn.AvgPool2d` (`countIncludePad` true by default, as PyTorch).
public final class AvgPool2d: Module {
  public let kernelSize: SpatialSize
  public let stride: SpatialSize
  public let padding: SpatialSize
  public let ceilMode: Bool
  public let countIncludePad: Bool
  public let divisorOverride: Int?
  public init(
    _ kernelSize: SpatialSize, stride: SpatialSize? = nil, padding: SpatialSize = 0,
    ceilMode: Bool = false, countIncludePad: Bool = true, divisorOverride: Int? = nil
  ) {
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
    self.padding = padding
    self.ceilMode = ceilMode
    self.countIncludePad = countIncludePad
    self.divisorOverride = divisorOverride
  }
  public override func forward(_ input: Tensor) -> Tensor {
    Functional.avgPool2d(
      input, kernelSize: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode,
      countIncludePad: countIncludePad, divisorOverride: divisorOverride)
  }
  public override var extraDescription: String {
    "kernel_size=\(pythonSize(kernelSize)), stride=\(pythonSize(stride)), padding=\(pythonSize(padding))"
  }
}

/// `nn.AdaptiveAvgPool2d`: averages to a fixed output size.
public final class AdaptiveAvgPool2d: Module {
  public let outputSize: SpatialSize
  public init(_ outputSize: SpatialSize) { self.outputSize = outputSize }
  public override func forward(_ input: Tensor) -> Tensor {
    Functional.adaptiveAvgPool2d(input, outputSize: outputSize)
  }
  public override var extraDescription: String { "output_size=\(pythonSize(outputSize))" }
}

/// `nn.AdaptiveMaxPool2d`: max over regions giving a fixed output size.
public final class AdaptiveMaxPool2d: Module {
  public let outputSize: SpatialSize
  public init(_ outputSize: SpatialSize) { self.outputSize = outputSize }
  public override func forward(_ input: Tensor) -> Tensor {
    Functional.adaptiveMaxPool2d(input, outputSize: outputSize)
  }
  public override var extraDescription: String {
    "output_size=\(pythonSize(outputSize))"
  }
}
