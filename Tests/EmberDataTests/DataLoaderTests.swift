import Foundation
import Synchronization
import Testing

@testable import EmberData

/// Sample `i` is the integer `i`: iterating gives the loader's order itself.
struct Indices: Dataset {
  let count: Int
  subscript(index: Int) -> Int { index }
}

/// One case of loader-cases.json (made by Fixtures/make_fixtures.py with PyTorch 2.15):
/// `torch.manual_seed(seed); torch.rand(5)`, then epochs of
/// `DataLoader(TensorDataset(torch.arange(n)), batch_size, shuffle, drop_last, generator)`, each
/// followed by `torch.rand(1)` (and `torch.rand(1, generator=g)`).
struct LoaderCase: Codable, Sendable, CustomTestStringConvertible {
  struct Epoch: Codable, Sendable {
    let count: Int
    let first: [[Int]]
    let last: [Int]
    let checksum: Int
    let nextRand: Double
    let generatorNextRand: Double?
  }
  let seed: UInt64
  let n: Int
  let batchSize: Int
  let shuffle: Bool
  let dropLast: Bool
  let generatorSeed: UInt64?
  let breakAfter: Int?
  let len: Int
  let epochs: [Epoch]

  var testDescription: String {
    "seed \(seed) n \(n) batch \(batchSize)\(shuffle ? " shuffle" : "")\(dropLast ? " dropLast" : "")"
      + (generatorSeed.map { " generator \($0)" } ?? "") + (breakAfter.map { " break \($0)" } ?? "")
  }

  static let all: [LoaderCase] = {
    struct File: Codable { let cases: [LoaderCase] }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try! decoder.decode(File.self, from: Data(contentsOf: fixtureURL("loader-cases.json")))
      .cases
  }()

  /// Runs the case as PyTorch's script did; returns a description of every difference.
  func mismatches(prefetch: Int = 0) -> [String] {
    var problems: [String] = []
    manualSeed(seed)
    _ = Tensor.rand([5])
    let g = generatorSeed.map { Generator(seed: $0) }
    let loader = DataLoader(
      Indices(count: n), batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, generator: g,
      prefetch: prefetch, collate: { $0 })
    if loader.count != len { problems.append("\(self): count \(loader.count), PyTorch \(len)") }
    for (e, expected) in epochs.enumerated() {
      var batches: [[Int]] = []
      for batch in loader {
        batches.append(batch)
        if let breakAfter, batches.count == breakAfter { break }
      }
      let checksum = batches.joined().enumerated().reduce(0) {
        $0 + $1.element * ($1.offset % 1000 + 1)
      }
      if batches.count != expected.count || Array(batches.prefix(3)) != expected.first
        || (batches.last ?? []) != expected.last || checksum != expected.checksum
      {
        problems.append(
          "\(self) epoch \(e): batches differ from PyTorch's (first \(Array(batches.prefix(3)).map { $0.prefix(8) }) vs \(expected.first.map { $0.prefix(8) }))"
        )
      }
      let next = Tensor.rand([1]).item()
      if next != expected.nextRand {
        problems.append(
          "\(self) epoch \(e): global rand after \(next), PyTorch \(expected.nextRand)")
      }
      if let g, let want = expected.generatorNextRand {
        let got = Tensor.rand([1], generator: g).item()
        if got != want {
          problems.append("\(self) epoch \(e): generator rand after \(got), PyTorch \(want)")
        }
      }
    }
    return problems
  }
}

// The global generator is shared with every suite running in parallel, so the cases run in child
// processes (exit tests) that report differences on standard error.
@Suite struct DataLoaderPyTorchParityTests {
  @Test func sameBatchesAndGlobalGeneratorStateAsPyTorch() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let problems = LoaderCase.all.flatMap { $0.mismatches() }
      if !problems.isEmpty {
        FileHandle.standardError.write(problems.joined(separator: "\n").data(using: .utf8)!)
        exit(1)
      }
    }
    #expect(stderrText(result).isEmpty, "\(stderrText(result))")
  }

  @Test func prefetchingGivesTheSameBatchesAndDraws() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let problems = LoaderCase.all.filter { $0.n <= 100 || $0.batchSize >= 7 }.flatMap {
        $0.mismatches(prefetch: 3)
      }
      if !problems.isEmpty {
        FileHandle.standardError.write(problems.joined(separator: "\n").data(using: .utf8)!)
        exit(1)
      }
      precondition(PrefetchThreads.running.load(ordering: .acquiring) == 0, "a thread leaked")
    }
    #expect(stderrText(result).isEmpty, "\(stderrText(result))")
  }

  @Test func theCaseCountCoversEverySeedSizeAndBatchSize() {
    let shuffled = LoaderCase.all.filter { $0.shuffle && !$0.dropLast && $0.generatorSeed == nil }
    for seed in [0, 1, 42] as [UInt64] {
      for n in [10, 100, 60000] {
        for b in [1, 7, 128] {
          #expect(shuffled.contains { $0.seed == seed && $0.n == n && $0.batchSize == b })
        }
      }
    }
  }

  @Test func baseSeedIsPyTorchsInt64RandomDraw() {
    // torch.manual_seed(0); torch.empty((), dtype=torch.int64).random_().item() == 900450186894289455
    let g = Generator(seed: 0)
    #expect(g.random64() & UInt64(Int64.max) == 900_450_186_894_289_455)
    #expect(g.random64() & UInt64(Int64.max) == 3_969_543_146_641_149_120)
  }
}

@Suite struct DataLoaderTests {
  @Test func defaultsArePyTorchs() {
    let loader = DataLoader(Indices(count: 5))
    #expect(loader.batchSize == 1 && !loader.shuffle && !loader.dropLast && loader.prefetch == 0)
    #expect(Array(loader).map { $0.scalars(as: Int64.self) } == [[0], [1], [2], [3], [4]])
  }

  @Test func countIsTheNumberOfBatches() {
    #expect(DataLoader(Indices(count: 10), batchSize: 3).count == 4)
    #expect(DataLoader(Indices(count: 10), batchSize: 3, dropLast: true).count == 3)
    #expect(DataLoader(Indices(count: 9), batchSize: 3, dropLast: true).count == 3)
    #expect(DataLoader(Indices(count: 0), batchSize: 3).count == 0)
    #expect(Array(DataLoader(Indices(count: 0), batchSize: 3)).isEmpty)
    let loader = DataLoader(Indices(count: 10), batchSize: 4, collate: { $0 })
    let it = loader.makeIterator()
    #expect(it.count == 3 && it.position == 0)
    _ = it.next()
    #expect(it.position == 1)
    #expect(Array(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    #expect(
      Array(DataLoader(Indices(count: 10), batchSize: 4, dropLast: true, collate: { $0 }))
        == [[0, 1, 2, 3], [4, 5, 6, 7]])
  }

  @Test func eachEpochIsANewOrderFromTheExplicitGenerator() {
    let g = Generator(seed: 3)
    let loader = DataLoader(Indices(count: 10), batchSize: 4, shuffle: true, generator: g) { $0 }
    let first = Array(loader).flatMap { $0 }
    let second = Array(loader).flatMap { $0 }
    #expect(first.sorted() == Array(0..<10) && second.sorted() == Array(0..<10))
    #expect(first != second)
    // the same generator state gives the same epochs
    let again = DataLoader(
      Indices(count: 10), batchSize: 4, shuffle: true, generator: Generator(seed: 3)
    ) { $0 }
    #expect(Array(again).flatMap { $0 } == first)
    #expect(Array(again).flatMap { $0 } == second)
  }

  @Test(arguments: LoaderCase.all.filter { $0.generatorSeed != nil && $0.n <= 100 })
  func explicitGeneratorOrderAndStateMatchPyTorch(_ c: LoaderCase) {
    // the explicit generator's draws do not depend on the global generator
    let g = Generator(seed: c.generatorSeed!)
    let loader = DataLoader(
      Indices(count: c.n), batchSize: c.batchSize, shuffle: c.shuffle, dropLast: c.dropLast,
      generator: g, collate: { $0 })
    for epoch in c.epochs {
      var batches: [[Int]] = []
      for batch in loader {
        batches.append(batch)
        if let b = c.breakAfter, batches.count == b { break }
      }
      #expect(Array(batches.prefix(3)) == epoch.first)
      #expect(batches.count == epoch.count)
      #expect(Tensor.rand([1], generator: g).item() == epoch.generatorNextRand!)
    }
  }

  @Test func tensorDatasetBatchesAreStackedRowsAndInt64Labels() {
    let x = Tensor(shape: [5, 2], scalars: (0..<10).map { Float($0) })
    let y = Tensor(shape: [5], scalars: [Int64](arrayLiteral: 3, 1, 4, 1, 5))
    let data = TensorDataset(x, y)
    #expect(data.count == 5)
    let (x3, y3) = data[3]
    #expect(x3.shape == [2] && values(x3) == [6, 7] && y3.item() == 1)
    let batches = Array(DataLoader(data, batchSize: 2))
    #expect(batches.count == 3)
    let (bx, by) = batches[1]
    #expect(bx.shape == [2, 2] && bx.dtype == .float32 && values(bx) == [4, 5, 6, 7])
    #expect(by.shape == [2] && by.dtype == .int64 && values(by) == [4, 1])
    #expect(batches[2].0.shape == [1, 2])
    let single = Array(DataLoader(TensorDataset(x), batchSize: 5))
    #expect(single.count == 1 && single[0].shape == [5, 2])
    let three = Array(DataLoader(TensorDataset(x, y, y), batchSize: 5))
    #expect(three[0].2.dtype == .int64)
    let many = Array(DataLoader(TensorDataset(tensors: [x, y, x]), batchSize: 4))
    #expect(many.count == 2 && many[0].count == 3 && many[0][2].shape == [4, 2])
  }

  @Test func defaultCollateOfSwiftScalarsFollowsPyTorch() {
    // default_collate([1, 2]) -> int64, ([1.5, 2.0]) -> float64, ([True, False]) -> bool
    struct Pairs: Dataset {
      var count: Int { 3 }
      subscript(index: Int) -> (Double, Bool) { (Double(index) + 0.5, index % 2 == 0) }
    }
    let (a, b) = Array(DataLoader(Pairs(), batchSize: 3))[0]
    #expect(a.dtype == .float64 && values(a) == [0.5, 1.5, 2.5])
    #expect(b.dtype == .bool && values(b) == [1, 0, 1])
    let ints = Array(DataLoader(Indices(count: 4), batchSize: 2))
    #expect(ints[1].dtype == .int64 && ints[1].scalars(as: Int64.self) == [2, 3])
    struct Labeled: Dataset {
      var count: Int { 2 }
      subscript(index: Int) -> (Tensor, Int) { (Tensor.full([2, 2], Double(index)), index * 7) }
    }
    let (images, labels) = Array(DataLoader(Labeled(), batchSize: 2))[0]
    #expect(images.shape == [2, 2, 2] && labels.dtype == .int64 && values(labels) == [0, 7])
  }

  @Test func subsetReadsTheGivenIndices() {
    let s = Subset(Indices(count: 10), indices: [7, 2, 9])
    #expect(s.count == 3 && s[0] == 7 && s[2] == 9)
    #expect(Array(DataLoader(s, batchSize: 2, collate: { $0 })) == [[7, 2], [9]])
  }

  @Test func badArgumentsStopWithPyTorchsMessages() async {
    let batchSizeZero = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) { _ = DataLoader(Indices(count: 3), batchSize: 0) }
    #expect(
      stderrText(batchSizeZero).contains(
        "DataLoader: batch_size should be a positive integer value, but got 0"))
    let emptyShuffle = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = DataLoader(Indices(count: 0), shuffle: true)
    }
    #expect(
      stderrText(emptyShuffle).contains(
        "DataLoader: num_samples should be a positive integer value, but got num_samples=0"))
    let sizeMismatch = await #expect(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = TensorDataset(Tensor.zeros([3, 2]), Tensor.zeros([4]))
    }
    #expect(
      stderrText(sizeMismatch).contains(
        "TensorDataset: Size mismatch between tensors (first dimensions [3, 4])"))
  }
}

/// Records which thread read each sample, and how many samples were read.
final class Probe: @unchecked Sendable {
  let reads = Atomic<Int>(0)
  let offThread = Atomic<Int>(0)
  let caller = pthread_self()
}

struct ProbedDataset: Dataset {
  let probe: Probe
  let count: Int
  var delay: UInt32 = 0
  subscript(index: Int) -> Int {
    if delay > 0 { usleep(delay) }
    probe.reads.wrappingAdd(1, ordering: .relaxed)
    if pthread_equal(pthread_self(), probe.caller) == 0 {
      probe.offThread.wrappingAdd(1, ordering: .relaxed)
    }
    return index
  }
}

@Suite(.serialized) struct DataLoaderPrefetchTests {
  @Test func prefetchReadsOnABackgroundThreadAndKeepsTheOrder() {
    let probe = Probe()
    let data = ProbedDataset(probe: probe, count: 50)
    let g = Generator(seed: 11)
    let plain = Array(
      DataLoader(data, batchSize: 4, shuffle: true, generator: Generator(seed: 11), collate: { $0 })
    )
    let reads = probe.reads.load(ordering: .relaxed)
    #expect(probe.offThread.load(ordering: .relaxed) == 0)
    let prefetched = Array(
      DataLoader(data, batchSize: 4, shuffle: true, generator: g, prefetch: 2, collate: { $0 }))
    #expect(prefetched == plain)
    #expect(probe.reads.load(ordering: .relaxed) == 2 * reads)
    #expect(probe.offThread.load(ordering: .relaxed) == reads)
    #expect(PrefetchThreads.running.load(ordering: .acquiring) == 0)
  }

  @Test func theQueueIsBounded() {
    let probe = Probe()
    let loader = DataLoader(
      ProbedDataset(probe: probe, count: 100), batchSize: 1, prefetch: 3, collate: { $0 })
    let it = loader.makeIterator()
    #expect(it.next() == [0])
    usleep(200_000)  // the thread fills the queue and waits
    // one delivered, three ready, at most one more being made
    let made = probe.reads.load(ordering: .relaxed)
    #expect(made >= 4 && made <= 5, "made \(made)")
    #expect(it.next() == [1])
  }

  @Test func abandoningAnEpochStopsAndJoinsTheThread() {
    let probe = Probe()
    let loader = DataLoader(
      ProbedDataset(probe: probe, count: 1000, delay: 1000), batchSize: 10, shuffle: true,
      generator: Generator(seed: 1), prefetch: 4, collate: { $0 })
    for epoch in 0..<3 {
      var seen = 0
      for _ in loader {
        seen += 1
        #expect(PrefetchThreads.running.load(ordering: .acquiring) == 1)
        if seen == 2 + epoch { break }
      }
      // the iterator is gone: its thread has been joined
      #expect(PrefetchThreads.running.load(ordering: .acquiring) == 0)
    }
    // stopped early: far fewer than 1000 reads per epoch
    #expect(probe.reads.load(ordering: .relaxed) < 3 * 200)
    // an iterator released before its first batch never starts a thread
    _ = loader.makeIterator()
    #expect(PrefetchThreads.running.load(ordering: .acquiring) == 0)
  }

  /// The operating system's view (`/proc/self/task`), in a child process so that no other test's
  /// threads come and go meanwhile: each prefetching iteration adds exactly one thread, and
  /// none is left after a loader's iteration ends, is abandoned midway, or the loader is dropped
  /// while an iterator is mid-epoch.
  @Test func noThreadIsLeftInTheProcess() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      func settledThreadCount(_ expected: Int) -> Int {
        // a joined thread's /proc entry can outlive pthread_join for a moment
        var n = processThreadCount()
        for _ in 0..<100 where n != expected {
          usleep(10_000)
          n = processThreadCount()
        }
        return n
      }
      var problems: [String] = []
      let baseline = processThreadCount()
      let probe = Probe()
      for round in 0..<5 {
        var loader: DataLoader? = DataLoader(
          ProbedDataset(probe: probe, count: 400, delay: 200), batchSize: 4, shuffle: true,
          generator: Generator(seed: UInt64(round)), prefetch: 3, collate: { $0 })
        // a full epoch
        var batches = 0
        for _ in loader! {
          batches += 1
          if batches == 10, processThreadCount() != baseline + 1 {
            problems.append("round \(round): \(processThreadCount()) threads mid-epoch")
          }
        }
        if settledThreadCount(baseline) != baseline {
          problems.append("round \(round): \(processThreadCount()) threads after an epoch")
        }
        // abandoned midway
        for (k, _) in loader!.enumerated() where k == 3 + round { break }
        if settledThreadCount(baseline) != baseline {
          problems.append("round \(round): \(processThreadCount()) threads after a break")
        }
        // the loader dropped while an iterator is mid-epoch, then the iterator
        var it: DataLoader<ProbedDataset, [Int]>.Iterator? = loader!.makeIterator()
        _ = it!.next()
        loader = nil
        _ = it!.next()
        it = nil
        if settledThreadCount(baseline) != baseline {
          problems.append("round \(round): \(processThreadCount()) threads after dropping")
        }
      }
      FileHandle.standardError.write(
        (["baseline=\(baseline)"] + problems).joined(separator: "\n").data(using: .utf8)!)
      exit(problems.isEmpty ? 0 : 1)
    }
    let text = stderrText(result)
    #expect(text.hasPrefix("baseline="), "\(text)")
    #expect(!text.contains("round"), "\(text)")
  }
}

@Suite struct RandomSplitTests {
  struct Case: Codable, Sendable, CustomTestStringConvertible {
    let seed: UInt64
    let n: Int
    let lengths: [Double]
    let explicitGeneratorSeed: UInt64?
    let subsets: [[Int]]
    let nextRand: Double
    var testDescription: String { "seed \(seed) n \(n) lengths \(lengths)" }

    static let all: [Case] = {
      struct File: Codable { let cases: [Case] }
      let decoder = JSONDecoder()
      decoder.keyDecodingStrategy = .convertFromSnakeCase
      return try! decoder.decode(File.self, from: Data(contentsOf: fixtureURL("random-split.json")))
        .cases
    }()

    func split() -> [Subset<Indices>] {
      let g = explicitGeneratorSeed.map { Generator(seed: $0) } ?? .default
      if lengths.allSatisfy({ $0 >= 1 || $0 == 0 }), lengths.reduce(0, +) != 1 {
        return randomSplit(Indices(count: n), lengths: lengths.map { Int($0) }, generator: g)
      }
      return randomSplit(Indices(count: n), lengths: lengths, generator: g)
    }
  }

  @Test(arguments: Case.all.filter { $0.explicitGeneratorSeed != nil })
  func explicitGeneratorSplitsAsPyTorch(_ c: Case) {
    #expect(c.split().map(\.indices) == c.subsets)
  }

  @Test func globalGeneratorSplitsAsPyTorch() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      for c in Case.all where c.explicitGeneratorSeed == nil {
        manualSeed(c.seed)
        let got = c.split().map(\.indices)
        precondition(got == c.subsets, "\(c): \(got) vs \(c.subsets)")
        let next = Tensor.rand([1]).item()
        precondition(next == c.nextRand, "\(c): next rand \(next) vs \(c.nextRand)")
      }
    }
    #expect(stderrText(result).isEmpty, "\(stderrText(result))")
  }

  @Test func fractionsHandOutTheRemainderRoundRobin() {
    // random_split(range(11), [0.5, 0.5]) gives lengths 6 and 5
    let parts = randomSplit(Indices(count: 11), lengths: [0.5, 0.5], generator: Generator(seed: 0))
    #expect(parts.map(\.count) == [6, 5])
    #expect(Set(parts.flatMap(\.indices)) == Set(0..<11))
  }

  @Test func lengthsThatDoNotAddUpStop() async {
    await #expect(processExitsWith: .failure) {
      _ = randomSplit(Indices(count: 10), lengths: [3, 3], generator: Generator(seed: 0))
    }
  }
}

/// What an exit test's child process wrote to standard error.
func stderrText(_ result: ExitTest.Result?) -> String {
  String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}
