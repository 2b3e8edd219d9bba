import EmberFuzzSupport
import EmberOptim
import Foundation
import Testing

@testable import EmberData

/// The bad-input corpus (Fixtures/bad-input, made by make_bad_input.py): every file throws an
/// error that names it and its problem, and whatever was being loaded into is left as it was.
/// The safetensors part of the corpus is Fixtures/malformed (SafeTensorsTests).
struct CorpusCase: Codable, Sendable, CustomTestStringConvertible {
  let file: String
  var problem: String?
  var stage: String?
  var message: String?
  var accepted: Bool?
  var state: [String: [Double]]?
  var testDescription: String { file }

  static func all(_ folder: String) -> [CorpusCase] {
    struct File: Codable { let cases: [CorpusCase] }
    return try! JSONDecoder().decode(
      File.self, from: Data(contentsOf: fixtureURL("bad-input/\(folder)/cases.json"))
    ).cases
  }
}

/// The case name of an enum value (`truncated`, ...).
func caseName(_ value: Any) -> String {
  Mirror(reflecting: value).children.first?.label ?? "\(value)"
}

/// Each tensor's dtype, shape and bits, by key.
func snapshot(_ module: Module) -> [String: [UInt64]] {
  FuzzTraining.fingerprint(module.stateDict())
}

@Suite struct BadIDXTests {
  @Test(arguments: CorpusCase.all("idx"))
  func eachFileThrowsItsProblemNamingTheFile(_ c: CorpusCase) {
    let url = fixtureURL("bad-input/idx/" + c.file)
    do {
      let a = try IDXArray(contentsOf: url)
      Issue.record("\(c.file) was accepted as \(a.elementType) \(a.shape)")
    } catch {
      #expect(caseName(error.problem) == c.problem, "\(c.file): \(error)")
      #expect(error.file == url.path && error.description.hasPrefix(url.path + ": "))
    }
  }

  @Test func theCorpusCoversTheRequiredCases() {
    let cases = CorpusCase.all("idx")
    let kinds = Set(cases.compactMap(\.problem))
    for k in [
      "badMagic", "unknownType", "sizeOverflow", "truncated", "trailingBytes", "gzip",
      "inflatesTooLarge", "headerTruncated",
    ] {
      #expect(kinds.contains(k), "no bad IDX file for \(k)")
    }
    // raw and gzipped, gzip's own failures: truncated, CRC, ISIZE, trailing garbage
    #expect(cases.filter { $0.file.hasSuffix(".gz") }.count >= 7)
    #expect(cases.count >= 19)
  }

  @Test func gzipProblemsAreGzipsOwn() throws {
    func gzipProblem(_ name: String) -> Gzip.Problem? {
      do {
        _ = try IDXArray(contentsOf: fixtureURL("bad-input/idx/" + name))
      } catch {
        if case .gzip(let p) = error.problem { return p }
      }
      return nil
    }
    #expect(gzipProblem("truncated.idx.gz") == .truncated)
    #expect(gzipProblem("truncated-trailer.idx.gz") == .truncated)
    #expect(gzipProblem("bad-crc.idx.gz").map(caseName) == "checksumMismatch")
    #expect(gzipProblem("bad-isize.idx.gz").map(caseName) == "sizeMismatch")
    #expect(gzipProblem("trailing-garbage.idx.gz").map(caseName) == "trailingGarbage")
  }

  /// A bad file in an MNIST folder: the loader names that file.
  @Test func mnistNamesTheBadFile() throws {
    let root = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    let images = root.appendingPathComponent("t10k-images-idx3-ubyte.gz")
    try FileManager.default.copyItem(
      at: fixtureURL("bad-input/idx/bomb.idx.gz"), to: images)
    try FileManager.default.copyItem(
      at: MNIST.bundledRoot.appendingPathComponent("t10k-labels-idx1-ubyte.gz"),
      to: root.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
    #expect {
      try MNIST(root: root, train: false)
    } throws: { error in
      guard let e = error as? IDXError, case .inflatesTooLarge = e.problem else { return false }
      return e.file == images.path && "\(e)".contains("inflates to more than the header")
    }
  }
}

@Suite(.isolatedGenerator) struct BadStateDictTests {
  /// nn.Sequential(Linear(4, 3), ReLU(), Linear(3, 2)) with every parameter 0.25, as the script
  /// fills PyTorch's before loading.
  static func model() -> Sequential {
    let m = Sequential(Linear(4, 3), ReLU(), Linear(3, 2))
    for p in m.parameters() { withNoGrad { _ = try! p.fill(0.25) } }
    return m
  }

  /// Each file as PyTorch's load_state_dict(strict=True) treats it: the same refusal (with
  /// PyTorch's lines) and an unchanged model, or the same converted values.
  @Test(arguments: CorpusCase.all("statedict"))
  func loadsAsPyTorchDoesOrChangesNothing(_ c: CorpusCase) throws {
    let url = fixtureURL("bad-input/statedict/" + c.file)
    let sd = try SafeTensors.load(from: url, convertingHalfTo: .float32)
    let m = Self.model()
    let before = snapshot(m)
    do {
      try m.loadStateDict(sd)
      #expect(c.accepted == true, "\(c.file) was accepted; PyTorch says \(c.message ?? "")")
      let state = m.stateDict()
      for (key, values) in c.state ?? [:] {
        #expect(state[key].map { $0.toArray() } == values, "\(c.file): \(key)")
      }
    } catch {
      #expect(c.accepted == false, "\(c.file): \(error)")
      #expect(snapshot(m) == before, "a refused load changed the model")
      // PyTorch's lines, with Swift's shapes: compare the key lists
      let message = c.message ?? ""
      for line in message.split(separator: "\n").dropFirst() {
        let kind = line.trimmingCharacters(in: .whitespaces).prefix(while: { $0 != ":" })
        #expect("\(error)".contains(kind), "\(c.file): \(error) lacks \(kind)")
        if kind.hasPrefix("Missing") || kind.hasPrefix("Unexpected") {
          #expect("\(error)".contains(line.trimmingCharacters(in: .whitespaces)), "\(line)")
        }
      }
    }
  }

  /// Ember has no float16 tensors: without `convertingHalfTo:` the file is refused before the
  /// model is touched.
  @Test func halfPrecisionNeedsTheConversion() {
    let url = fixtureURL("bad-input/statedict/wrong-dtype-f16.safetensors")
    let m = Self.model()
    let before = snapshot(m)
    #expect {
      try m.loadStateDict(try SafeTensors.load(from: url))
    } throws: { error in
      guard let e = error as? SafeTensorsError, case .unsupportedDType = e.problem else {
        return false
      }
      return e.file == url.path
    }
    #expect(snapshot(m) == before)
  }

  /// Every file of the malformed safetensors corpus, loaded into a module: refused, and the
  /// module unchanged.
  @Test func malformedSafetensorsLeaveTheModuleUnchanged() throws {
    let folder = fixtureURL("malformed")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
      .filter { $0.hasSuffix(".safetensors") }
    #expect(names.count >= 35)
    let m = Sequential(TinyLinear(2, 2))
    let before = snapshot(m)
    for name in names {
      let url = folder.appendingPathComponent(name)
      do {
        try m.loadStateDict(try SafeTensors.load(from: url), strict: false)
        Issue.record("\(name) loaded into the module")
      } catch {
        #expect("\(error)".hasPrefix(url.path + ": "), "\(name): \(error)")
      }
      #expect(snapshot(m) == before, "\(name) changed the module")
    }
  }
}

@Suite(.isolatedGenerator) struct BadCheckpointTests {
  @Test func theGoodCheckpointRestoresAndTrains() throws {
    let url = fixtureURL("bad-input/checkpoint/good.safetensors")
    let checkpoint = try Checkpoint.load(from: url)
    let setup = FuzzTraining()
    try setup.step()  // move away from the saved state
    try checkpoint.restore(
      model: setup.model, optimizer: setup.optimizer, scheduler: setup.scheduler, file: url.path)
    #expect(Generator.default.state == Generator(seed: 3).state)
    #expect(setup.fingerprint() == FuzzTraining().fingerprint())
    try setup.step()
  }

  /// Each bad checkpoint is refused at its stage (reading, or restoring into the setup) with
  /// the file named and its message; a refused restore changes neither the model, the
  /// optimizer, the scheduler nor the generator.
  @Test(arguments: CorpusCase.all("checkpoint"))
  func eachIsRefusedAndChangesNothing(_ c: CorpusCase) throws {
    let url = fixtureURL("bad-input/checkpoint/" + c.file)
    let setup = FuzzTraining()
    try setup.step()
    let before = setup.fingerprint()
    manualSeed(11)
    let generator = Generator.default.state
    do {
      let checkpoint = try Checkpoint.load(from: url)
      #expect(c.stage == "restore", "\(c.file) was read")
      try checkpoint.restore(
        model: setup.model, optimizer: setup.optimizer, scheduler: setup.scheduler,
        file: url.path)
      Issue.record("\(c.file) was restored")
    } catch {
      #expect("\(error)".hasPrefix(url.path), "\(c.file): \(error)")
      #expect("\(error)".contains(c.message!), "\(c.file): \(error)")
    }
    #expect(setup.fingerprint() == before, "\(c.file) changed the setup")
    #expect(Generator.default.state == generator)
  }

  @Test func theCorpusCoversTheRequiredCases() {
    let cases = CorpusCase.all("checkpoint")
    #expect(cases.count >= 26)
    #expect(cases.filter { $0.stage == "restore" }.count >= 10)
    for prefix in ["optimizer-", "scheduler-", "generator-", "model-", "epoch-"] {
      #expect(cases.contains { $0.file.hasPrefix(prefix) }, "no case \(prefix)")
    }
  }

  /// Without the checks, a restore that fails at the scheduler would leave the optimizer loaded:
  /// the optimizer is put back.
  @Test func aSchedulerRefusalPutsTheOptimizerBack() throws {
    let url = fixtureURL("bad-input/checkpoint/scheduler-missing-key.safetensors")
    let checkpoint = try Checkpoint.load(from: url)
    let setup = FuzzTraining()
    for _ in 0..<3 { try setup.step() }
    let before = setup.fingerprint()
    #expect(setup.optimizer.stepCount == 5 && checkpoint.optimizer!.stepCount == 2)
    #expect(throws: CheckpointError.self) {
      try checkpoint.restore(
        model: setup.model, optimizer: setup.optimizer, scheduler: setup.scheduler)
    }
    #expect(setup.fingerprint() == before)
    #expect(setup.optimizer.stepCount == 5)
  }
}

@Suite struct SafeTensorsSweepTests {
  /// Every prefix of a valid file is refused, naming the file.
  @Test func everyTruncationIsRefused() throws {
    let bytes = readBytes(fixtureURL("pt-mlp.safetensors"))
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("cut.safetensors")
    var refused = 0
    for n in 0..<bytes.count {
      writeBytes(Array(bytes.prefix(n)), to: url)
      do {
        _ = try SafeTensors.load(from: url)
        Issue.record("a file cut to \(n) bytes loaded")
      } catch {
        #expect(error.file == url.path)
        refused += 1
      }
    }
    #expect(refused == bytes.count)
  }

  /// Every single-bit flip of the length and header: Ember accepts exactly the flips the
  /// reference reader accepts, except those that make two names equal (the reference keeps the
  /// last entry, Ember refuses the file).
  @Test func singleBitFlipsAgreeWithTheReferenceReader() throws {
    struct Flips: Codable {
      let file: String
      let bits: Int
      let accepted: [Int]
    }
    let flips = try JSONDecoder().decode(
      Flips.self, from: Data(contentsOf: fixtureURL("bad-input/safetensors-bitflips.json")))
    let good = readBytes(fixtureURL(flips.file))
    let accepted = Set(flips.accepted)
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("flip.safetensors")
    var duplicates = 0
    for bit in 0..<flips.bits {
      var bytes = good
      bytes[bit / 8] ^= 1 << UInt8(bit % 8)
      writeBytes(bytes, to: url)
      do {
        _ = try SafeTensors.load(from: url)
        #expect(accepted.contains(bit), "bit \(bit): Ember accepts, the reference refuses")
      } catch {
        #expect(error.file == url.path)
        if case .duplicateName = error.problem, accepted.contains(bit) {
          duplicates += 1
        } else {
          #expect(!accepted.contains(bit), "bit \(bit): the reference accepts; Ember: \(error)")
        }
      }
    }
    // (no flip of this file makes two names equal: `duplicates` stays 0 and every verdict agrees)
    #expect(flips.bits == 5056 && accepted.count == 650 && duplicates == 0)
  }
}

/// Files whose headers claim terabytes fail without allocating: measured in a child process
/// (a fresh peak RSS), with a 96 MB allocation as the control that shows the measure works.
@Suite struct BadInputMemoryTests {
  @Test(
    .enabled(
      if: FileManager.default.fileExists(atPath: "/proc/self/status"),
      "reads the peak resident set from /proc/self/status (Linux)"))
  func hugeClaimsFailWithoutBigAllocations() async {
    await #expect(processExitsWith: .success) {
      // the address space's high-water mark (VmHWM): unlike getrusage's ru_maxrss, which keeps
      // the peak of the image before exec (the parent test process's, when the suite is
      // large), it starts afresh in the child
      func peakMB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
      }
      let base = peakMB()
      // 4 TB of F32, 2^40 elements; 376 MB of float64; 2^40 gzipped bytes; a 16 MB bomb for
      // 10 bytes; a tensor with no elements and 2^80 of extent
      let files = [
        "malformed/offset-out-of-bounds.safetensors", "malformed/zero-size-huge-dims.safetensors",
        "malformed/offsets-sum-overflow.safetensors",
      ]
      for f in files where (try? SafeTensors.load(from: fixtureURL(f))) != nil { exit(3) }
      let idx = [
        "claims-2e40-elements.idx", "dims-exceed-file.idx", "dims-exceed-file.idx.gz",
        "bomb.idx.gz", "dims-overflow-with-zero.idx",
      ]
      for f in idx where (try? IDXArray(contentsOf: fixtureURL("bad-input/idx/" + f))) != nil {
        exit(4)
      }
      let grown = peakMB() - base
      guard grown < 24 else {
        print("peak RSS grew by \(grown) MB on bad files")
        exit(1)
      }
      let t = Tensor.ones([12 << 20], dtype: .float64)  // 96 MB, written
      guard t.sum().item() == Double(12 << 20), peakMB() - base >= 80 else {
        print("the control grew the peak RSS by only \(peakMB() - base) MB")
        exit(2)
      }
      exit(0)
    }
  }
}

/// A checkpoint save killed (SIGKILL) at seeded random points, from the first chunk to the last
/// one before the rename: each time the previous checkpoint is intact and restores exactly.
@Suite(.isolatedGenerator) struct KilledCheckpointSaveTests {
  /// SplitMix64, so the kill points are the same on every run.
  struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9e37_79b9_7f4a_7c15
      var z = state
      z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
      z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
      return z ^ (z >> 31)
    }
  }

  @Test func aKilledSaveLeavesThePreviousCheckpointLoadable() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "ember-killed-checkpoint-\(getpid())")
    try? FileManager.default.removeItem(at: folder)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("run.ckpt")
    let setup = FuzzTraining()
    try setup.checkpoint().save(to: url)
    let before = readBytes(url)
    let expected = setup.fingerprint()

    // the new checkpoint: 2M float32 weights and Adam's two buffers, 24 MB in 1 MB chunks
    let total = 3 * (2 << 20) * 4
    var rng = SplitMix(state: 2026)
    var points = (0..<4).map { _ in 1 + Int(rng.next() % UInt64(total - 1)) }
    points.append(total)  // after the last chunk, before fsync and rename
    for point in points {
      await #expect(processExitsWith: .signal(SIGKILL)) { [point = point as Int] in
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
          "ember-killed-checkpoint-\(getppid())/run.ckpt")
        let w = Parameter(Tensor.ones([2 << 20]))
        let opt = Adam([w], lr: 0.1)
        w.grad = Tensor.ones([2 << 20])
        try! opt.step()
        FileIO.afterChunkWritten = { written in
          if written >= point { kill(getpid(), SIGKILL) }
        }
        try? Checkpoint(model: ["w": w], optimizer: opt.stateDict(), epoch: 9, step: 9).save(
          to: path)
        exit(0)  // not reached: the save was killed
      }
      #expect(readBytes(url) == before, "killed at \(point) bytes")
      let restored = FuzzTraining()
      try restored.step()
      try Checkpoint.load(from: url).restore(
        model: restored.model, optimizer: restored.optimizer, scheduler: restored.scheduler)
      #expect(restored.fingerprint() == expected, "killed at \(point) bytes")
      // the partial temporary file is the only other thing in the folder
      for name in try FileManager.default.contentsOfDirectory(atPath: folder.path)
      where name != "run.ckpt" {
        #expect(name.hasPrefix(".run.ckpt.tmp-"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
      }
    }
    #expect(points.count == 5 && Set(points).count == 5)
  }
}

/// The inputs the fuzzers crashed on (Fixtures/bad-input/crashers, named by reader), each run
/// through its reader as the fuzz target does: none may trap any more.
@Suite struct FuzzCrasherTests {
  static let files: [String] = {
    let folder = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/bad-input/crashers")
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
  }()

  @Test func thereAreCrashers() { #expect(!Self.files.isEmpty) }

  @Test(arguments: files)
  func noCrasherTrapsAnyMore(_ name: String) throws {
    let url = fixtureURL("bad-input/crashers/" + name)
    if name.hasPrefix("idx-") {
      // the first crasher: an empty int32 array of shape [4278190335, 0]
      let a = try IDXArray(contentsOf: url)
      let t = a.tensor()
      #expect(t.shape == a.shape && t.count == a.shape.reduce(1, *))
    } else if name.hasPrefix("safetensors-") {
      do {
        _ = try SafeTensors.load(
          from: url, convertingHalfTo: .float32, convertingIntegersTo: .int64)
      } catch {
        #expect(error.file == url.path)
      }
    } else {
      Issue.record("no reader for crasher \(name)")
    }
  }
}
