/// A collection of samples read by position (PyTorch's map-style `torch.utils.data.Dataset`):
/// `count` samples, `dataset[i]` for `i` in `0..<count`.
///
/// A ``DataLoader`` reads a dataset by index, in order or shuffled, and collates the samples into
/// batches. When the loader prefetches on a background thread, `subscript` runs on that thread:
/// it must only read state that nothing else writes meanwhile (reading tensors is fine).
public protocol Dataset<Sample> {
  /// What one index gives: a tensor, a tuple such as `(image, label)`, or any type with a
  /// collate function.
  associatedtype Sample
  /// Number of samples (`len(dataset)`).
  var count: Int { get }
  /// The sample at `index` (`dataset[index]`), for `index` in `0..<count`.
  subscript(index: Int) -> Sample { get }
}

/// A dataset over tensors that share their first dimension; sample `i` is each tensor's row `i`
/// (`torch.utils.data.TensorDataset`). Two tensors give `(Tensor, Tensor)` samples,
/// one gives `Tensor` samples:
///
/// ```swift
/// let data = TensorDataset(x, y)          // data[3] == (x[3], y[3])
/// ```
public struct TensorDataset<Sample>: Dataset {
  /// The wrapped tensors (`dataset.tensors`).
  public let tensors: [Tensor]
  private let row: (Int) -> Sample

  private init(_ tensors: [Tensor], row: @escaping (Int) -> Sample) {
    precondition(!tensors.isEmpty, "TensorDataset: at least one tensor is needed")
    precondition(
      tensors.allSatisfy { $0.rank > 0 },
      "TensorDataset: every tensor needs a first dimension, got shapes \(tensors.map(\.shape))")
    precondition(
      tensors.allSatisfy { $0.shape[0] == tensors[0].shape[0] },
      "TensorDataset: Size mismatch between tensors (first dimensions \(tensors.map { $0.shape[0] }))"
    )
    self.tensors = tensors
    self.row = row
  }

  public var count: Int { tensors[0].shape[0] }

  public subscript(index: Int) -> Sample {
    precondition(
      index >= 0 && index < count,
      "TensorDataset: index \(index) is out of range for a dataset of \(count) samples")
    return row(index)
  }
}

extension TensorDataset where Sample == Tensor {
  /// Samples are the rows of `x`.
  public init(_ x: Tensor) {
    self.init([x]) { x.select(0, $0) }
  }
}

extension TensorDataset where Sample == (Tensor, Tensor) {
  /// Samples are `(x[i], y[i])`.
  public init(_ x: Tensor, _ y: Tensor) {
    self.init([x, y]) { (x.select(0, $0), y.select(0, $0)) }
  }
}

extension TensorDataset where Sample == (Tensor, Tensor, Tensor) {
  /// Samples are `(a[i], b[i], c[i])`.
  public init(_ a: Tensor, _ b: Tensor, _ c: Tensor) {
    self.init([a, b, c]) { (a.select(0, $0), b.select(0, $0), c.select(0, $0)) }
  }
}

extension TensorDataset where Sample == [Tensor] {
  /// Samples are arrays holding row `i` of every tensor, for any number of tensors.
  public init(tensors: [Tensor]) {
    self.init(tensors) { i in tensors.map { $0.select(0, i) } }
  }
}

/// The samples of `dataset` at `indices`, in that order (`torch.utils.data.Subset`).
public struct Subset<Base: Dataset>: Dataset {
  public typealias Sample = Base.Sample
  /// The whole dataset.
  public let dataset: Base
  /// Positions in `dataset` of this subset's samples.
  public let indices: [Int]

  public init(_ dataset: Base, indices: [Int]) {
    self.dataset = dataset
    self.indices = indices
  }

  public var count: Int { indices.count }

  public subscript(index: Int) -> Base.Sample {
    precondition(
      index >= 0 && index < indices.count,
      "Subset: index \(index) is out of range for a subset of \(indices.count) samples")
    return dataset[indices[index]]
  }
}

/// Splits `dataset` into non-overlapping subsets of the given sizes, in a random order drawn from
/// `generator` (`torch.utils.data.random_split`): one `randperm` of the total size, cut into
/// consecutive pieces, so the same seed gives PyTorch's subsets.
///
/// - Parameter generator: the source of the permutation; the global generator by default, as in
///   PyTorch.
public func randomSplit<D: Dataset>(
  _ dataset: D, lengths: [Int], generator: Generator = .default
) -> [Subset<D>] {
  precondition(lengths.allSatisfy { $0 >= 0 }, "randomSplit: lengths must be non-negative")
  precondition(
    lengths.reduce(0, +) == dataset.count,
    "randomSplit: Sum of input lengths does not equal the length of the input dataset!")
  let order = Tensor.randperm(dataset.count, generator: generator).scalars(as: Int64.self)
  var subsets: [Subset<D>] = []
  var offset = 0
  for length in lengths {
    subsets.append(Subset(dataset, indices: order[offset..<offset + length].map { Int($0) }))
    offset += length
  }
  return subsets
}

/// Splits `dataset` by fractions that sum to 1 (`random_split(dataset, [0.8, 0.2])`): each piece
/// gets `floor(fraction * count)` samples and the remainder is handed out one by one from the
/// first piece on, as PyTorch does; then as ``randomSplit(_:lengths:generator:)-(_,[Int],_)``.
public func randomSplit<D: Dataset>(
  _ dataset: D, lengths fractions: [Double], generator: Generator = .default
) -> [Subset<D>] {
  let total = fractions.reduce(0, +)
  // math.isclose(sum, 1) with its default relative tolerance, and sum <= 1
  guard abs(total - 1) <= 1e-9 * max(abs(total), 1), total <= 1 else {
    let counts = fractions.map { Int(exactly: $0) }
    precondition(
      !counts.contains(nil),
      "randomSplit: fractions must sum to 1, got \(fractions) (sum \(total))")
    return randomSplit(dataset, lengths: counts.map { $0! }, generator: generator)
  }
  var lengths: [Int] = []
  for (i, f) in fractions.enumerated() {
    precondition(f >= 0 && f <= 1, "randomSplit: Fraction at index \(i) is not between 0 and 1")
    lengths.append(Int((Double(dataset.count) * f).rounded(.down)))
  }
  let remainder = dataset.count - lengths.reduce(0, +)
  for i in 0..<max(remainder, 0) { lengths[i % lengths.count] += 1 }
  return randomSplit(dataset, lengths: lengths, generator: generator)
}
