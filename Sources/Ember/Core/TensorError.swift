/// Misuse of a tensor operation that the caller can catch (PyTorch raises these as
/// `RuntimeError`): what happened, and what to do instead.
public enum TensorError: Error, Equatable, CustomStringConvertible {
  /// An in-place write to a tensor whose elements share memory (an expanded tensor).
  case internalOverlap(shape: [Int], strides: [Int])
  /// An in-place write whose operand reads part of the written memory through another layout.
  case partialOverlap

  public var description: String {
    switch self {
    case .internalOverlap(let shape, let strides):
      return
        "unsupported operation: more than one element of the written-to tensor refers to a "
        + "single memory location (shape \(shape), strides \(strides)). Please clone() the "
        + "tensor before performing the operation."
    case .partialOverlap:
      return
        "unsupported operation: some elements of the input tensor and the written-to tensor "
        + "refer to a single memory location. Please clone() the tensor before performing the "
        + "operation."
    }
  }
}
