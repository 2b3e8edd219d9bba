/// Swift values a tensor can be built from: scalars and (nested) arrays of them.
public protocol TensorLiteral {
  /// The dtype PyTorch infers for this element type (floating values give float32).
  static var inferredDType: DType { get }
  /// Appends this value's scalars (row-major) and records its shape at `depth`.
  func collectScalars(into values: inout [Double], shape: inout [Int], depth: Int)
  /// Appends integer scalars exactly (Int and Int64 elements only; others append nothing).
  func collectIntegers(into values: inout [Int64])
}

extension TensorLiteral {
  public func collectIntegers(into values: inout [Int64]) {}
}

extension Double: TensorLiteral {
  public static var inferredDType: DType { .defaultFloat }
  public func collectScalars(into values: inout [Double], shape: inout [Int], depth: Int) {
    values.append(self)
  }
}

extension Float: TensorLiteral {
  public static var inferredDType: DType { .float32 }
  public func collectScalars(into values: inout [Double], shape: inout [Int], depth: Int) {
    values.append(Double(self))
  }
}

extension Int: TensorLiteral {
  public static var inferredDType: DType { .int64 }
  public func collectScalars(into values: inout [Double], shape: inout [Int], depth: Int) {
    values.append(Double(self))
  }
  public func collectIntegers(into values: inout [Int64]) { values.append(Int64(self)) }
}

extension Int64: TensorLiteral {
  public static var inferredDType: DType { .int64 }
  public func collectScalars(into values: inout [Double], shape: inout [Int], depth: Int) {
    values.append(Double(self))
  }
  public func collectIntegers(into values: inout [Int64]) { values.append(self) }
}

extension Bool: TensorLiteral {
  public static var inferredDType: DType { .bool }
  public func collectScalars(into values: inout [Double], shape: inout [Int], depth: Int) {
    values.append(self ? 1 : 0)
  }
}

extension Array: TensorLiteral where Element: TensorLiteral {
  public static var inferredDType: DType { Element.inferredDType }
  public func collectScalars(into values: inout [Double], shape: inout [Int], depth: Int) {
    if depth == shape.count {
      shape.append(count)
    } else {
      precondition(
        shape[depth] == count,
        "Tensor: nested arrays are ragged (expected \(shape[depth]) elements at depth \(depth), got \(count))"
      )
    }
    for e in self { e.collectScalars(into: &values, shape: &shape, depth: depth + 1) }
  }
  public func collectIntegers(into values: inout [Int64]) {
    for e in self { e.collectIntegers(into: &values) }
  }
}

extension Tensor {
  // MARK: from Swift values

  /// A tensor holding `data` (a scalar or nested arrays), like `torch.tensor(data)`.
  /// Floating values give float32 unless `dtype` says otherwise; integers give int64.
  public convenience init<L: TensorLiteral>(_ data: L, dtype: DType? = nil) {
    var values: [Double] = []
    var shape: [Int] = []
    data.collectScalars(into: &values, shape: &shape, depth: 0)
    let dt = dtype ?? L.inferredDType
    if dt == .int64 && L.inferredDType == .int64 {
      // integers above 2^53 do not survive the trip through Double (and near Int64.max the
      // rounded Double does not fit back): copy them exactly
      var ints: [Int64] = []
      data.collectIntegers(into: &ints)
      self.init(shape: shape, scalars: ints)
    } else {
      self.init(shape: shape, doubles: values, dtype: dt)
    }
  }

  /// A leaf tensor holding `data` that requires grad when `requiresGrad` is true.
  /// Throws for integer and bool dtypes, which cannot require gradients.
  public convenience init<L: TensorLiteral>(_ data: L, dtype: DType? = nil, requiresGrad: Bool)
    throws
  {
    self.init(data, dtype: dtype)
    try setRequiresGrad(requiresGrad)
  }

  /// A tensor of `shape` filled from row-major `scalars` of one Swift element type.
  public convenience init<T: TensorScalar>(shape: [Int], scalars: [T]) {
    precondition(
      Shape.count(shape) == scalars.count,
      "Tensor(shape:scalars:): shape \(shape) needs \(Shape.count(shape)) values, got \(scalars.count)"
    )
    self.init(uninitializedShape: shape, dtype: T.dtype)
    let p = basePointer(T.self)
    scalars.withUnsafeBufferPointer { src in
      for i in 0..<src.count { p[i] = src[i] }
    }
  }

  convenience init(shape: [Int], doubles: [Double], dtype: DType) {
    precondition(
      Shape.count(shape) == doubles.count,
      "Tensor: shape \(shape) needs \(Shape.count(shape)) values, got \(doubles.count)")
    self.init(uninitializedShape: shape, dtype: dtype)
    func fill<T: TensorScalar>(_: T.Type) {
      let p = basePointer(T.self)
      for (i, v) in doubles.enumerated() { p[i] = T(fromDouble: v) }
    }
    switch dtype {
    case .float32: fill(Float.self)
    case .float64: fill(Double.self)
    case .int64: fill(Int64.self)
    case .bool: fill(Bool.self)
    }
  }

  // MARK: filled tensors

  /// A tensor of `shape` filled with zeros.
  public static func zeros(_ shape: [Int], dtype: DType = .defaultFloat) -> Tensor {
    Tensor(zerosShape: shape, dtype: dtype)
  }

  /// A tensor of `shape` filled with ones.
  public static func ones(_ shape: [Int], dtype: DType = .defaultFloat) -> Tensor {
    full(shape, 1, dtype: dtype)
  }

  /// A tensor of `shape` filled with `value`.
  public static func full(_ shape: [Int], _ value: Double, dtype: DType = .defaultFloat) -> Tensor {
    let t = Tensor(uninitializedShape: shape, dtype: dtype)
    t.fillRaw(value)
    return t
  }

  /// `Tensor.zeros(2, 3)`, as `torch.zeros(2, 3)`.
  public static func zeros(_ shape: Int..., dtype: DType = .defaultFloat) -> Tensor {
    zeros(shape, dtype: dtype)
  }

  /// `Tensor.ones(2, 3)`, as `torch.ones(2, 3)`.
  public static func ones(_ shape: Int..., dtype: DType = .defaultFloat) -> Tensor {
    ones(shape, dtype: dtype)
  }

  /// A tensor of `shape` whose contents are unspecified (`torch.empty`): write every element
  /// before reading it. Float and integer tensors get memory that is not cleared (possibly a
  /// freed tensor's old values, as in PyTorch); bool tensors start false, because a Swift `Bool`
  /// must hold 0 or 1.
  public static func empty(_ shape: [Int], dtype: DType = .defaultFloat) -> Tensor {
    dtype == .bool
      ? Tensor(zerosShape: shape, dtype: dtype) : Tensor(uninitializedShape: shape, dtype: dtype)
  }

  /// `Tensor.empty(2, 3)`, as `torch.empty(2, 3)`.
  public static func empty(_ shape: Int..., dtype: DType = .defaultFloat) -> Tensor {
    empty(shape, dtype: dtype)
  }

  /// An unspecified-content tensor with the shape of `t` (`torch.empty_like`).
  public static func empty(like t: Tensor, dtype: DType? = nil) -> Tensor {
    empty(t.shape, dtype: dtype ?? t.dtype)
  }

  public static func zeros(like t: Tensor, dtype: DType? = nil) -> Tensor {
    zeros(t.shape, dtype: dtype ?? t.dtype)
  }

  public static func ones(like t: Tensor, dtype: DType? = nil) -> Tensor {
    ones(t.shape, dtype: dtype ?? t.dtype)
  }

  public static func full(like t: Tensor, _ value: Double, dtype: DType? = nil) -> Tensor {
    full(t.shape, value, dtype: dtype ?? t.dtype)
  }

  /// A scalar (0-d) tensor.
  public static func scalar(_ value: Double, dtype: DType = .defaultFloat) -> Tensor {
    full([], value, dtype: dtype)
  }

  /// Values from `start` up to (not including) `end` in steps of `step` (`torch.arange`).
  /// Floating-point bounds give float32 unless `dtype` says otherwise.
  public static func arange(
    _ start: Double, _ end: Double, step: Double = 1, dtype: DType = .defaultFloat
  )
    -> Tensor
  {
    precondition(step != 0, "arange: step must be nonzero")
    precondition(
      (end - start) / step >= 0, "arange: upper bound and larger bound inconsistent with step sign")
    let n = Int(((end - start) / step).rounded(.up))
    return Tensor(shape: [n], doubles: (0..<n).map { start + Double($0) * step }, dtype: dtype)
  }

  /// Integers from `start` up to (not including) `end` in steps of `step`; int64 unless `dtype`
  /// says otherwise (`torch.arange` with integer arguments).
  public static func arange(_ start: Int, _ end: Int, step: Int = 1, dtype: DType = .int64)
    -> Tensor
  {
    arange(Double(start), Double(end), step: Double(step), dtype: dtype)
  }

  /// `arange(0, end)`.
  public static func arange(_ end: Int, dtype: DType = .int64) -> Tensor {
    arange(0, end, dtype: dtype)
  }

  /// `steps` values evenly spaced from `start` to `end` inclusive (`torch.linspace`).
  public static func linspace(
    _ start: Double, _ end: Double, steps: Int, dtype: DType = .defaultFloat
  )
    -> Tensor
  {
    precondition(steps >= 0, "linspace: number of steps must be non-negative")
    if steps == 1 { return Tensor(shape: [1], doubles: [start], dtype: dtype) }
    let step = steps > 1 ? (end - start) / Double(steps - 1) : 0
    let half = steps / 2
    // PyTorch fills the second half backwards from `end` for symmetric rounding
    let values = (0..<steps).map { i in
      i < half ? start + step * Double(i) : end - step * Double(steps - 1 - i)
    }
    return Tensor(shape: [steps], doubles: values, dtype: dtype)
  }

  /// The n x m identity matrix (`torch.eye`).
  public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .defaultFloat) -> Tensor {
    let cols = m ?? n
    let t = zeros([n, cols], dtype: dtype)
    for i in 0..<min(n, cols) { t.setRaw(1, at: i * cols + i) }
    return t
  }

  // MARK: raw element access used by creation and printing (no autograd)

  /// Writes `value` into every element (contiguous or not); no version bump, no checks.
  func fillRaw(_ value: Double) {
    // one element (0-d tensors: the scalar autograd loop's seed and `grad.zero()`): a store,
    // without the kernel's closure (whose captured value cost a heap context per call)
    if count == 1 {
      setRaw(value, at: storageOffset)
      return
    }
    switch dtype {
    case .float32:
      let v = Float(value)
      Kernel.apply(into: self, self) { (_: Float) in v }
    case .float64: Kernel.apply(into: self, self) { (_: Double) in value }
    case .int64:
      let v = Int64(fromDouble: value)
      Kernel.apply(into: self, self) { (_: Int64) in v }
    case .bool:
      let v = value != 0
      Kernel.apply(into: self, self) { (_: Bool) in v }
    }
  }

  /// The element at storage index `index` (absolute, offset included), as Double.
  func rawValue(at index: Int) -> Double {
    switch dtype {
    case .float32: return Double(storage.pointer(Float.self)[index])
    case .float64: return storage.pointer(Double.self)[index]
    case .int64: return Double(storage.pointer(Int64.self)[index])
    case .bool: return storage.pointer(Bool.self)[index] ? 1 : 0
    }
  }

  func setRaw(_ value: Double, at index: Int) {
    switch dtype {
    case .float32: storage.pointer(Float.self)[index] = Float(value)
    case .float64: storage.pointer(Double.self)[index] = value
    case .int64: storage.pointer(Int64.self)[index] = Int64(fromDouble: value)
    case .bool: storage.pointer(Bool.self)[index] = value != 0
    }
  }
}
