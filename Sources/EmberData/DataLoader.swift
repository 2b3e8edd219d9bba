/// Batches of a dataset, in order or shuffled (`torch.utils.data.DataLoader` with
/// `num_workers=0`): a `Sequence` whose every iteration is one epoch.
///
/// ```swift
/// let loader = DataLoader(TensorDataset(x, y), batchSize: 128, shuffle: true)
/// for epoch in 0..<3 {
///   for (images, labels) in loader { ... }     // a new order each epoch
/// }
/// print(loader.count)                           // batches per epoch: len(loader)
/// ```
///
/// **Same seed, same batches.** The loader draws from the random generators exactly what
/// PyTorch's `_SingleProcessDataLoaderIter`, `BatchSampler` and `RandomSampler` draw, at the same
/// moments, so after `manualSeed(s)` the batches, and every random number drawn afterwards, equal
/// PyTorch's:
/// - starting an iteration (`makeIterator()`, Python's `iter(loader)`) draws one 64-bit word from
///   `generator` (the global generator when it is nil): PyTorch's `_base_seed`, drawn with or
///   without shuffling;
/// - with `shuffle`, the first `next()` draws the order: without a generator, a 64-bit seed from
///   the global generator, then `randperm(count)` from a fresh generator seeded with it; with a
///   generator, `randperm(count)` from it;
/// - with `shuffle` and a generator, the request that reaches past the last sample draws a second
///   (unused) `randperm(count)` from it, as `RandomSampler`'s loop does before it stops.
///
/// **Prefetch.** With `prefetch: k > 0` a background thread reads and collates up to `k` batches
/// ahead of the loop (in process, no workers to spawn). All random draws still happen on the
/// iterating thread at the moments listed above, so prefetching never changes the batches.
/// The dataset's subscript and the collate function then run on that thread: they must only read
/// what the loop does not write. Abandoning an iteration (a `break`) stops and joins the thread.
public struct DataLoader<Source: Dataset, Batch>: Sequence {
  /// The dataset read by index.
  public let dataset: Source
  /// Samples per batch (PyTorch's default 1).
  public let batchSize: Int
  /// Whether each epoch reads the samples in a new random order.
  public let shuffle: Bool
  /// Whether an incomplete last batch is dropped.
  public let dropLast: Bool
  /// The generator shuffling draws from; nil means the global generator (through a per-epoch
  /// seed, as PyTorch).
  public let generator: Ember.Generator?
  /// Batches prepared ahead on a background thread (0: none, batches are made in `next()`).
  public let prefetch: Int
  let collateFunction: ([Source.Sample]) -> Batch

  /// A loader with a custom collate function turning a list of samples into a batch
  /// (`collate_fn`).
  public init(
    _ dataset: Source, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
    generator: Ember.Generator? = nil, prefetch: Int = 0,
    collate: @escaping ([Source.Sample]) -> Batch
  ) {
    precondition(
      batchSize > 0,
      "DataLoader: batch_size should be a positive integer value, but got \(batchSize)")
    precondition(prefetch >= 0, "DataLoader: prefetch must be non-negative, got \(prefetch)")
    precondition(
      !shuffle || dataset.count > 0,
      "DataLoader: num_samples should be a positive integer value, but got num_samples=\(dataset.count)"
    )
    self.dataset = dataset
    self.batchSize = batchSize
    self.shuffle = shuffle
    self.dropLast = dropLast
    self.generator = generator
    self.prefetch = prefetch
    self.collateFunction = collate
  }

  /// Number of batches in an epoch (`len(loader)`): `count / batchSize`, rounded up unless
  /// `dropLast`.
  public var count: Int { DataLoader.batchCount(dataset.count, batchSize, dropLast) }

  public var underestimatedCount: Int { count }

  static func batchCount(_ n: Int, _ batchSize: Int, _ dropLast: Bool) -> Int {
    dropLast ? n / batchSize : (n + batchSize - 1) / batchSize
  }

  /// Starts an epoch: draws PyTorch's `_base_seed` (one 64-bit word from `generator`, or from the
  /// global generator) and returns the iterator; the order is drawn at the first `next()`.
  public func makeIterator() -> Iterator {
    _ = (generator ?? .default).random64()
    return Iterator(self)
  }

  /// One epoch of batches. Releasing it before the end stops its prefetch thread.
  public final class Iterator: IteratorProtocol {
    private let loader: DataLoader
    private var sampleCount = 0
    /// The shuffled order (nil before the first `next()`, and when not shuffling).
    private var order: [Int]?
    private var started = false
    private var finished = false
    private var prefetcher: Prefetcher<Batch>?
    /// Batches handed out so far.
    public private(set) var position = 0

    init(_ loader: DataLoader) { self.loader = loader }

    deinit { prefetcher?.stop() }

    /// Batches in this epoch (the dataset's size is read when the epoch starts).
    public var count: Int {
      DataLoader.batchCount(
        started ? sampleCount : loader.dataset.count, loader.batchSize, loader.dropLast)
    }

    public func next() -> Batch? {
      if finished { return nil }
      if !started { start() }
      let k = position
      if loader.shuffle, let g = loader.generator, k == sampleCount / loader.batchSize {
        // RandomSampler's `for _ in range(n // n)` is done: it draws the (empty) tail permutation
        _ = Tensor.randperm(sampleCount, generator: g)
      }
      guard k < count else {
        finish()
        return nil
      }
      position += 1
      if let prefetcher { return prefetcher.next() }
      return batch(k)
    }

    private func start() {
      started = true
      sampleCount = loader.dataset.count
      if loader.shuffle {
        let source: Ember.Generator
        if let g = loader.generator {
          source = g
        } else {
          // `int(torch.empty((), dtype=torch.int64).random_().item())`: 63 bits of one word
          let seed = Ember.Generator.default.random64() & UInt64(Int64.max)
          source = Ember.Generator(seed: seed)
        }
        order = Tensor.randperm(sampleCount, generator: source).scalars(as: Int64.self).map {
          Int($0)
        }
      }
      if loader.prefetch > 0 {
        let total = count
        let make = UncheckedBox(self.batchMaker())
        prefetcher = Prefetcher(total: total, capacity: loader.prefetch) { k in make.value(k) }
      }
    }

    private func finish() {
      finished = true
      prefetcher?.stop()
      prefetcher = nil
    }

    /// A function making batch `k` from values only (for the prefetch thread).
    private func batchMaker() -> (Int) -> Batch {
      let loader = self.loader
      let order = self.order
      let n = sampleCount
      return { k in DataLoader.makeBatch(k, loader, order, n) }
    }

    private func batch(_ k: Int) -> Batch { DataLoader.makeBatch(k, loader, order, sampleCount) }
  }

  /// Reads and collates batch `k` of an epoch with the given order.
  static func makeBatch(_ k: Int, _ loader: DataLoader, _ order: [Int]?, _ n: Int) -> Batch {
    let lo = k * loader.batchSize
    let hi = Swift.min(lo + loader.batchSize, n)
    let samples = (lo..<hi).map { i in loader.dataset[order?[i] ?? i] }
    return loader.collateFunction(samples)
  }
}

// MARK: - default collate

extension DataLoader where Source.Sample: Collatable, Batch == Tensor {
  /// A loader whose samples are single values (tensors, integers, floats, bools), stacked into
  /// one tensor per batch (`default_collate`).
  public init(
    _ dataset: Source, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
    generator: Ember.Generator? = nil, prefetch: Int = 0
  ) {
    self.init(
      dataset, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, generator: generator,
      prefetch: prefetch, collate: Source.Sample.collate)
  }
}

extension DataLoader {
  /// A loader whose samples are pairs such as `(image, label)`, batched into a pair of tensors
  /// (`default_collate`: tensors stacked, integer labels as an int64 tensor).
  public init<A: Collatable, B: Collatable>(
    _ dataset: Source, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
    generator: Ember.Generator? = nil, prefetch: Int = 0
  ) where Source.Sample == (A, B), Batch == (Tensor, Tensor) {
    self.init(
      dataset, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, generator: generator,
      prefetch: prefetch, collate: { Collate.batch($0) })
  }

  /// A loader whose samples are triples, batched into three tensors.
  public init<A: Collatable, B: Collatable, C: Collatable>(
    _ dataset: Source, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
    generator: Ember.Generator? = nil, prefetch: Int = 0
  ) where Source.Sample == (A, B, C), Batch == (Tensor, Tensor, Tensor) {
    self.init(
      dataset, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, generator: generator,
      prefetch: prefetch, collate: { Collate.batch($0) })
  }

  /// A loader whose samples are arrays, batched position by position into an array of tensors.
  public init<T: Collatable>(
    _ dataset: Source, batchSize: Int = 1, shuffle: Bool = false, dropLast: Bool = false,
    generator: Ember.Generator? = nil, prefetch: Int = 0
  ) where Source.Sample == [T], Batch == [Tensor] {
    self.init(
      dataset, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, generator: generator,
      prefetch: prefetch, collate: { Collate.batch($0) })
  }
}

/// Carries a value to the prefetch thread; the loader's documentation states the contract (the
/// dataset and collate function only read what the iterating thread does not write).
struct UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
