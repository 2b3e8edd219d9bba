/// PyTorch's short names for conversions and reading values: `float()`, `double()`, `long()`,
/// `bool()`, `item(as: Int.self)` and a nested `tolist()`.
///
/// The shape queries `numel()`, `dim()`, `ndim` and `size()` sit beside `count`, `rank` and
/// `shape` in `Tensor.swift`; `T` is with the other views.
extension Tensor {
  // MARK: dtype conversions

  /// This tensor as float32 (`float()`); `self` when it already is.
  public func float() -> Tensor { to(.float32) }

  /// This tensor as float64 (`double()`); `self` when it already is.
  public func double() -> Tensor { to(.float64) }

  /// This tensor as int64 (`long()`), floats truncated toward zero; `self` when it already is.
  public func long() -> Tensor { to(.int64) }

  /// This tensor as bool (`bool()`), true where non-zero; `self` when it already is.
  public func bool() -> Tensor { to(.bool) }

  // MARK: reading values

  /// The value of a one-element tensor as a Swift `Int` (`int(x)` / `x.item()` on an int64
  /// tensor). Floats are truncated toward zero, as Python's `int()` does; int64 values are exact.
  public func item(as: Int.Type) -> Int { Int(item(as: Int64.self)) }

  /// The elements as nested Swift arrays (`tolist()`), typed as `Any`.
  ///
  /// Elements are `Double` for floating-point tensors, `Int` for int64 and `Bool` for bool, as
  /// Python's `float`, `int` and `bool`. A 0-d tensor gives the bare value. Cast the result to
  /// the array type you expect: `x.tolist() as? [[Double]]` for a float matrix. For a flat,
  /// typed copy use `toArray()` or `scalars(as:)`.
  public func tolist() -> Any {
    switch dtype {
    case .float32, .float64: return nested(scalars(as: Double.self))
    case .int64: return nested(scalars(as: Int64.self).map { Int($0) })
    case .bool: return nested(scalars(as: Bool.self))
    }
  }

  /// Row-major `flat` values nested by this tensor's shape: typed arrays in the last dim, `[Any]`
  /// above it.
  private func nested<E>(_ flat: [E]) -> Any {
    if shape.isEmpty { return flat[0] }
    var offset = 0
    func level(_ d: Int) -> Any {
      let n = shape[d]
      if d == rank - 1 {
        defer { offset += n }
        return Array(flat[offset..<(offset + n)])
      }
      return (0..<n).map { _ in level(d + 1) } as [Any]
    }
    return level(0)
  }
}
