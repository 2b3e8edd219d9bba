/// Marks a tensor property of a module as a buffer (PyTorch's `register_buffer`): state that is
/// not a parameter but belongs to the module, such as BatchNorm's running statistics. Buffers
/// move with `to(_:)` and, when persistent, appear in `stateDict()`.
///
/// ```swift
/// final class RunningMean: Module {
///   @Buffer var mean = Tensor.zeros(3)
///   @Buffer(persistent: false) var scratch = Tensor.zeros(3)
///   @Buffer var optional: Tensor? = nil      // a buffer that is absent (skipped when nil)
/// }
/// ```
///
/// A plain `Tensor` property is neither a parameter nor a buffer, as in PyTorch.
@propertyWrapper
public struct Buffer<Value: BufferValue> {
  public var wrappedValue: Value
  /// Whether the buffer is saved in `stateDict()`.
  public let persistent: Bool

  public init(wrappedValue: Value, persistent: Bool = true) {
    self.wrappedValue = wrappedValue
    self.persistent = persistent
  }
}

/// What a ``Buffer`` can hold: a tensor, or an optional one.
public protocol BufferValue {
  var bufferTensor: Tensor? { get }
}

extension Tensor: BufferValue {
  public var bufferTensor: Tensor? { self }
}

extension Optional: BufferValue where Wrapped == Tensor {
  public var bufferTensor: Tensor? { self }
}

/// Type-erased view of a ``Buffer`` for reflection.
protocol AnyBuffer {
  var tensor: Tensor? { get }
  var persistent: Bool { get }
}

extension Buffer: AnyBuffer {
  var tensor: Tensor? { wrappedValue.bufferTensor }
}
