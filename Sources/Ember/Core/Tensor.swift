/// An n-dimensional strided array with PyTorch's autograd semantics.
///
/// `Tensor` is a class: views share one ``Storage``; `.grad` lives on leaves; in-place operations
/// write through to every view and bump the storage's version counter. The element type is the
/// run-time ``DType``.
///
/// Hot stored properties are marked `@exclusivity(unchecked)`: Swift's run-time exclusivity checks
/// on class properties cost about a third of a small op's time, and a `Tensor` is not shared
/// across threads (it is not `Sendable`), so overlapping accesses cannot come from elsewhere.
///
/// The class is public but not open: only the core subclasses it (``Parameter``, as PyTorch's
/// `nn.Parameter` subclasses `Tensor`), and every member is final, so calls stay direct.
public class Tensor {
  /// The buffer this tensor reads. Replaced only by `data` assignment (PyTorch's `x.data = ...`).
  @exclusivity(unchecked) final public internal(set) var storage: Storage
  @exclusivity(unchecked) final public internal(set) var shape: [Int]
  /// Element strides per dimension (in elements, not bytes).
  @exclusivity(unchecked) final public internal(set) var strides: [Int]
  /// Offset of element [0, 0, ...] inside the storage, in elements.
  @exclusivity(unchecked) final public internal(set) var storageOffset: Int

  // MARK: autograd metadata
  /// Set on leaves the user marked as requiring grad.
  @exclusivity(unchecked) final var leafRequiresGrad = false
  /// The node that produced this tensor, as recorded (nil for leaves).
  @exclusivity(unchecked) final var recordedGradFn: Node?
  /// The node that produced this tensor (nil for leaves), PyTorch's `grad_fn`. A view whose base
  /// was changed in place since it was made is first read out of the base's new history
  /// (`AsStridedBackward0`), as PyTorch regenerates a view's grad_fn when it is accessed.
  final public internal(set) var gradFn: Node? {
    get {
      if viewBase != nil { refreshViewHistory() }
      return recordedGradFn
    }
    set { recordedGradFn = newValue }
  }
  /// Which output of `gradFn` this tensor is.
  @exclusivity(unchecked) final public internal(set) var outputNr = 0
  /// The accumulator node of a leaf while one exists (PyTorch caches it weakly: the graph owns
  /// it). Not a `weak` reference: that would give the node a side table, and every retain and
  /// release of it would take the slow path (a quarter of the retain/release time of the scalar
  /// autograd loop). See ``AccumulatorLink`` for why the link cannot dangle.
  @exclusivity(unchecked) final var accumulatorLink = AccumulatorLink.none
  @exclusivity(unchecked) final var gradStorage: Tensor?
  /// What few tensors have (a retained grad, hooks, a name), made on the first write: as stored
  /// properties they were three of the references every tensor's `deinit` released (ember-bench
  /// scalar: 8 tensors per iteration).
  @exclusivity(unchecked) final var extras: TensorExtras?
  /// For a non-leaf whose `.grad` is kept (`retainGrad()`): the node that writes it. Held
  /// strongly so `deinit` can take this tensor off the node's list (the node refers back to this
  /// tensor without a reference count; see ``Node/retainedGradTensors``).
  final var retainedGradNode: Node? {
    get { extras?.retainedGradNode }
    set {
      if newValue != nil || extras != nil { makeExtras().retainedGradNode = newValue }
    }
  }
  final var retainsGradFlag: Bool { retainedGradNode != nil }
  /// Hooks run on the gradient of this tensor (for leaves; non-leaves register on their node).
  final var leafHooks: [(Tensor) -> Tensor?] {
    get { extras?.leafHooks ?? [] }
    set {
      if !newValue.isEmpty || extras != nil { makeExtras().leafHooks = newValue }
    }
  }
  /// The tensor this one is a differentiable view of (the root base), used to rebase history
  /// when a view is modified in place.
  @exclusivity(unchecked) final var viewBase: Tensor?
  /// The base's history when this view's history was last derived from it; when the base has
  /// been modified in place since, the view's history is rebuilt from the base's new history.
  @exclusivity(unchecked) final var viewBaseHistory: ObjectIdentifier?
  /// How this view was made; in-place writes through restricted views are refused.
  @exclusivity(unchecked) final var viewCreation = ViewCreation.regular
  /// A label used by graph visualization (`x`, `weight`, ...).
  final public var name: String? {
    get { extras?.name }
    set {
      if newValue != nil || extras != nil { makeExtras().name = newValue }
    }
  }

  private final func makeExtras() -> TensorExtras {
    if let extras { return extras }
    let made = TensorExtras()
    extras = made
    return made
  }

  deinit {
    if let node = extras?.retainedGradNode { node.removeRetainedGrad(of: self) }
  }

  init(storage: Storage, shape: [Int], strides: [Int], offset: Int) {
    self.storage = storage
    self.shape = shape
    self.strides = strides
    self.storageOffset = offset
  }

  /// A new contiguous tensor with uninitialized contents.
  init(uninitializedShape shape: [Int], dtype: DType) {
    let n = Shape.count(shape)
    self.storage = Storage.make(count: n, dtype: dtype)
    self.shape = shape
    self.strides = Shape.contiguousStrides(shape)
    self.storageOffset = 0
  }

  /// A new contiguous tensor filled with zeros.
  init(zerosShape shape: [Int], dtype: DType) {
    self.storage = Storage.zeroed(count: Shape.count(shape), dtype: dtype)
    self.shape = shape
    self.strides = Shape.contiguousStrides(shape)
    self.storageOffset = 0
  }

  public final var dtype: DType { storage.dtype }
  /// Number of dimensions (PyTorch's `dim()` and `ndim`).
  public final var rank: Int { shape.count }
  /// Number of elements (PyTorch's `numel()`).
  public final var count: Int { Shape.count(shape) }
  public final var isScalar: Bool { shape.isEmpty }

  /// Number of dimensions (`dim()`), the same as `rank`.
  public final func dim() -> Int { shape.count }
  /// Number of dimensions (`ndim`), the same as `rank`.
  public final var ndim: Int { shape.count }
  /// Number of elements (`numel()`), the same as `count`.
  public final func numel() -> Int { count }

  /// The shape (`size()`), the same as `shape`.
  public final func size() -> [Int] { shape }

  /// Size of one dimension (`size(d)`); negative dims count from the end.
  public final func size(_ dim: Int) -> Int { shape[Shape.normalize(dim, rank: rank, op: "size")] }

  /// True when elements are laid out row-major without gaps.
  public final var isContiguous: Bool { Shape.isContiguous(shape: shape, strides: strides) }

  /// Makes this tensor a differentiable view of `base` (the root of a view chain), made from
  /// `source` (`base` itself or a view of it). A view made under no-grad is marked so; otherwise
  /// it inherits the mark of the view it was made from (PyTorch's propagate_creation_meta).
  final func attachView(to base: Tensor, from source: Tensor) {
    viewBase = base
    viewBaseHistory = base.gradFn.map(ObjectIdentifier.init)
    viewCreation = GradMode.isEnabled ? source.viewCreation : .noGrad
  }

  /// A new header over the same storage (no autograd history).
  final func alias(shape: [Int]? = nil, strides: [Int]? = nil, offset: Int? = nil) -> Tensor {
    Tensor(
      storage: storage, shape: shape ?? self.shape, strides: strides ?? self.strides,
      offset: offset ?? storageOffset)
  }

  /// Typed pointer to element [0, ...] (the storage offset applied).
  @inlinable final func basePointer<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
    storage.pointer(T.self) + storageOffset
  }
}

/// The rarely set state of a ``Tensor`` (``Tensor/extras``).
final class TensorExtras {
  var retainedGradNode: Node?
  var leafHooks: [(Tensor) -> Tensor?] = []
  var name: String?
}

/// How a view was made (PyTorch's `CreationMeta`), deciding whether an in-place op recorded
/// through it is allowed.
enum ViewCreation: UInt8 {
  /// Made with grad mode on by a single-view op: in-place writes are tracked.
  case regular
  /// Made under no-grad: an in-place write with grad mode on is refused (ambiguous).
  case noGrad
  /// One of several views returned by one op (split, chunk, unbind): in-place writes with
  /// history are refused, since the op's backward cannot see them.
  case multipleViews
}

/// Shape arithmetic shared by tensors and kernels.
public enum Shape {
  @inlinable public static func count(_ shape: [Int]) -> Int {
    var n = 1
    for s in shape { n *= s }
    return n
  }

  @inline(__always)
  public static func contiguousStrides(_ shape: [Int]) -> [Int] {
    // a 0-d tensor's without a call (ember-bench scalar under callgrind, 8 per iteration:
    // 21.79k -> 21.67k instructions per iteration)
    shape.isEmpty ? [] : stridesOfContiguous(shape)
  }

  private static func stridesOfContiguous(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    var i = shape.count - 1
    while i >= 0 {
      strides[i] = acc
      acc *= max(shape[i], 1)
      i -= 1
    }
    return strides
  }

  static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
    var expected = 1
    var i = shape.count - 1
    while i >= 0 {
      // an empty tensor is contiguous whatever its strides, as PyTorch's compute_contiguous
      // (zeros([3, 0]) has strides [1, 1]); checked only on the way out, off the common path
      if shape[i] != 1 && strides[i] != expected { return shape.contains(0) }
      expected *= shape[i]
      i -= 1
    }
    return true
  }

  /// Whether `shape` broadcasts to `target` (PyTorch's `is_expandable_to`).
  static func isExpandable(_ shape: [Int], to target: [Int]) -> Bool {
    guard shape.count <= target.count else { return false }
    for i in 0..<shape.count {
      let s = shape[shape.count - 1 - i]
      if s != 1 && s != target[target.count - 1 - i] { return false }
    }
    return true
  }

  /// PyTorch's `is_non_overlapping_and_dense`: the elements fill a block of memory exactly, in
  /// some order of the dimensions.
  static func isNonOverlappingAndDense(shape: [Int], strides: [Int]) -> Bool {
    if isContiguous(shape: shape, strides: strides) { return true }
    let order = shape.indices.sorted { (strides[$0], shape[$0]) < (strides[$1], shape[$1]) }
    var expected = 1
    for d in order where shape[d] != 1 {
      if strides[d] != expected { return false }
      expected *= shape[d]
    }
    return true
  }

  /// Wraps a possibly negative dim into 0..<rank, stopping with a clear message when out of range.
  static func normalize(_ dim: Int, rank: Int, op: String) -> Int {
    let r = max(rank, 1)
    precondition(
      dim >= -r && dim < r,
      "\(op): dimension out of range (expected to be in range of [\(-r), \(r - 1)], but got \(dim))"
    )
    return dim < 0 ? dim + r : dim
  }

  /// NumPy broadcasting of two shapes.
  @inline(__always)
  static func broadcast(_ a: [Int], _ b: [Int], op: String) -> [Int] {
    // equal shapes (nearly every op) without a call and its 4 retains and releases (ember-bench
    // scalar under callgrind: 24.65k -> 23.38k instructions per iteration with the operand
    // passing of `numericBinary` and the other fast paths of the same commit)
    a == b ? a : broadcastDistinct(a, b, op: op)
  }

  private static func broadcastDistinct(_ a: [Int], _ b: [Int], op: String) -> [Int] {
    let n = max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
      let da = i < n - a.count ? 1 : a[i - (n - a.count)]
      let db = i < n - b.count ? 1 : b[i - (n - b.count)]
      if da == db || db == 1 {
        out[i] = da
      } else if da == 1 {
        out[i] = db
      } else {
        preconditionFailure(
          "\(op): the size of tensor a (\(da)) must match the size of tensor b (\(db)) at non-singleton dimension \(i) (shapes \(a) and \(b))"
        )
      }
    }
    return out
  }

  /// Strides that read a tensor of `shape`/`strides` as if it had the (broadcast) shape `target`.
  static func broadcastStrides(shape: [Int], strides: [Int], to target: [Int]) -> [Int] {
    var out = [Int](repeating: 0, count: target.count)
    let lead = target.count - shape.count
    for i in 0..<shape.count where shape[i] != 1 {
      out[lead + i] = strides[i]
    }
    return out
  }
}
