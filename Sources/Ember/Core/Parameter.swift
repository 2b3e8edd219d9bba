/// A tensor that is a module's learnable parameter (PyTorch's `nn.Parameter`).
///
/// A `Parameter` is a `Tensor` (a subclass, as in PyTorch), so it goes wherever a tensor goes.
/// Modules find the parameters among their stored properties by this type. It shares memory with
/// the tensor it is made from, is a leaf, and requires grad unless asked otherwise.
///
/// ```swift
/// let w = Parameter(Tensor.randn(3, 4))   // requiresGrad == true
/// let frozen = Parameter(Tensor.zeros(4), requiresGrad: false)
/// ```
public final class Parameter: Tensor {
  /// A parameter over the values of `data` (sharing its memory, without its history).
  ///
  /// Stops, as PyTorch raises, when `requiresGrad` is true and the dtype is not floating point.
  public init(_ data: Tensor, requiresGrad: Bool = true) {
    precondition(
      !requiresGrad || data.dtype.isFloatingPoint,
      "Parameter: \(AutogradError.nonFloatingRequiresGrad(data.dtype)) Pass requiresGrad: false for a \(data.dtype) parameter."
    )
    super.init(
      storage: data.storage, shape: data.shape, strides: data.strides, offset: data.storageOffset)
    leafRequiresGrad = requiresGrad
  }
}
