extension Tensor {
  // MARK: reading values

  /// The value of a one-element tensor as Double (`item()`).
  public func item() -> Double {
    precondition(
      count == 1,
      "item: a Tensor with \(count) elements cannot be converted to Scalar (shape \(shape))")
    return rawValue(at: storageOffset)
  }

  /// The value of a one-element tensor as a Swift scalar type, converted as ``to(_:)`` converts
  /// (int64 values stay exact; see ``to(_:)`` for float to integer conversion).
  public func item<T: TensorScalar>(as: T.Type) -> T {
    precondition(
      count == 1,
      "item: a Tensor with \(count) elements cannot be converted to Scalar (shape \(shape))")
    let i = storageOffset
    switch dtype {
    case .float32:
      return WrappedNumber.float(Double(storage.pointer(Float.self)[i])).value(as: T.self)
    case .float64: return WrappedNumber.float(storage.pointer(Double.self)[i]).value(as: T.self)
    case .int64: return WrappedNumber.int(storage.pointer(Int64.self)[i]).value(as: T.self)
    case .bool: return WrappedNumber.int(storage.pointer(Bool.self)[i] ? 1 : 0).value(as: T.self)
    }
  }

  /// All elements in row-major order, converted to `T`.
  public func scalars<T: TensorScalar>(as: T.Type) -> [T] {
    let c = (dtype == T.dtype ? self : self.detach().to(T.dtype)).contiguousCopyIfNeeded()
    let p = c.basePointer(T.self)
    return Array(UnsafeBufferPointer(start: p, count: c.count))
  }

  /// All elements in row-major order as Double (`tolist()` flattened).
  public func toArray() -> [Double] {
    let c = contiguousCopyIfNeeded()
    return (0..<c.count).map { c.rawValue(at: c.storageOffset + $0) }
  }

  /// Gives `body` the tensor's memory as a typed buffer (contiguous tensors only). Like PyTorch's
  /// `numpy()`, it refuses tensors that require grad: writes through the buffer would bypass
  /// autograd.
  public func withUnsafeMutableBufferPointer<T: TensorScalar, R>(
    as: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
  ) throws -> R {
    guard !requiresGrad else { throw AutogradError.rawAccessRequiresGrad }
    precondition(
      dtype == T.dtype, "withUnsafeMutableBufferPointer: tensor is \(dtype), asked for \(T.dtype)")
    precondition(isContiguous, "withUnsafeMutableBufferPointer: tensor must be contiguous")
    defer { storage.bumpVersion() }
    return try body(UnsafeMutableBufferPointer(start: basePointer(T.self), count: count))
  }

  // MARK: copies and conversion

  /// A contiguous copy with no history (internal helper).
  func contiguousCopy() -> Tensor {
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    Kernel.copy(self, into: out)
    return out
  }

  func contiguousCopyIfNeeded() -> Tensor { isContiguous ? self : contiguousCopy() }

  /// A copy with its own storage; gradients flow back to `self` (`clone()`).
  public func clone() -> Tensor {
    let out = contiguousCopy()
    if Tensor.needsGrad(self) {
      Tensor.record("CloneBackward0", inputs: [self], outputs: [out]) { ctx in [ctx.grad] }
    }
    return out
  }

  /// This tensor if contiguous, else a contiguous copy that keeps history (`contiguous()`).
  public func contiguous() -> Tensor { isContiguous ? self : clone() }

  /// Converts to `dtype` (`to(dtype)`); returns self when the dtype already matches. Values
  /// convert as PyTorch's CPU kernels convert them (C++ casts on x86-64): integers round to the
  /// nearest float, floats truncate toward zero into int64 with NaN, infinities and values out of
  /// range giving `Int64.min` (-9223372036854775808), and any nonzero value (NaN too) is `true`.
  public func to(_ dtype: DType) -> Tensor {
    if dtype == self.dtype { return self }
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    Kernel.copy(self, into: out)
    if dtype.isFloatingPoint && Tensor.needsGrad(self) {
      let source = self.dtype
      Tensor.record("ToCopyBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.to(source)]
      }
    }
    return out
  }

  /// True when any element is NaN.
  public func containsNaN() -> Bool {
    switch dtype {
    case .float32: return scalars(as: Float.self).contains { $0.isNaN }
    case .float64: return scalars(as: Double.self).contains { $0.isNaN }
    default: return false
    }
  }
}
