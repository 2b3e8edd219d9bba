import Foundation
import Testing

@testable import EmberData

/// pt-values.json: the tensors of the pt-*.safetensors fixtures, as PyTorch holds them
/// (F16/BF16 values converted with `.float()`, small integers with `.long()`).
struct ExpectedTensor: Decodable {
  /// A number, or "inf"/"-inf"/"nan" written as a string.
  enum Value: Decodable {
    case integer(Int64)
    case real(Double)

    init(from decoder: Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let i = try? c.decode(Int64.self) {
        self = .integer(i)
      } else if let d = try? c.decode(Double.self) {
        self = .real(d)
      } else {
        let s = try c.decode(String.self)
        self = .real(s == "inf" ? .infinity : s == "-inf" ? -.infinity : .nan)
      }
    }
  }

  let dtype: String
  let shape: [Int]
  let values: [Value]

  static func load(_ group: String) -> [String: ExpectedTensor] {
    // JSONDecoder reads doubles exactly (JSONSerialization on Linux may not)
    let all = try! JSONDecoder().decode(
      [String: [String: ExpectedTensor]].self,
      from: Data(contentsOf: fixtureURL("pt-values.json")))
    return all[group]!
  }

  var doubles: [Double] {
    values.map {
      switch $0 {
      case .integer(let i): return Double(i)
      case .real(let d): return d
      }
    }
  }

  var integers: [Int64] {
    values.map {
      switch $0 {
      case .integer(let i): return i
      case .real(let d): return Int64(d)
      }
    }
  }

  /// Checks a loaded tensor: shape, Ember dtype, and exact values.
  func check(_ t: Tensor?, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let t else {
      Issue.record("missing tensor \(name)", sourceLocation: sourceLocation)
      return
    }
    #expect(t.shape == shape, "\(name) shape", sourceLocation: sourceLocation)
    switch t.dtype {
    case .int64:
      #expect(
        t.scalars(as: Int64.self) == integers, "\(name) values", sourceLocation: sourceLocation)
    default:
      #expect(t.toArray() == doubles, "\(name) values", sourceLocation: sourceLocation)
    }
  }

  /// The tensor itself, for saving from Ember.
  var tensor: Tensor {
    switch dtype {
    case "float32": return Tensor(shape: shape, scalars: doubles.map { Float($0) })
    case "float64": return Tensor(shape: shape, scalars: doubles)
    case "int64": return Tensor(shape: shape, scalars: integers)
    case "bool": return Tensor(shape: shape, scalars: integers.map { $0 != 0 })
    default: fatalError("no Ember dtype for \(dtype)")
    }
  }
}

/// Compares a committed fixture that Ember wrote (and Python checked) with what Ember writes now.
/// When the fixture is missing, writes it to the temporary folder and says how to commit it.
func expectCommittedFixture(
  _ name: String, equals bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
) {
  let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + name)
  guard FileManager.default.fileExists(atPath: url.path) else {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent(name)
    writeBytes(bytes, to: out)
    Issue.record(
      "missing fixture \(name): wrote \(out.path); check it with make_fixtures.py --verify and commit it",
      sourceLocation: sourceLocation)
    return
  }
  #expect(
    readBytes(url) == bytes, "\(name) differs from what Ember writes now",
    sourceLocation: sourceLocation)
}

/// The case name of a problem (`invalidOffset`, ...).
func kind(_ p: SafeTensorsError.Problem) -> String {
  Mirror(reflecting: p).children.first?.label ?? "\(p)"
}

/// A Linear-shaped module (the nn target's Linear is written elsewhere).
final class TinyLinear: Module {
  let weight: Parameter
  let bias: Parameter
  init(_ inputs: Int, _ outputs: Int) {
    weight = Parameter(Tensor.zeros([outputs, inputs]))
    bias = Parameter(Tensor.zeros([outputs]))
  }
  override func forward(_ input: Tensor) -> Tensor { input.matmul(weight.t()) + bias }
}

/// BatchNorm1d's parameters and buffers under PyTorch's names.
final class TinyBatchNorm: Module {
  let weight: Parameter
  let bias: Parameter
  init(_ n: Int) {
    weight = Parameter(Tensor.ones([n]))
    bias = Parameter(Tensor.zeros([n]))
    super.init()
    registerBuffer("running_mean", Tensor.zeros([n]))
    registerBuffer("running_var", Tensor.ones([n]))
    registerBuffer("num_batches_tracked", Tensor(shape: [], scalars: [Int64(0)]))
  }
  override func forward(_ input: Tensor) -> Tensor { input }
}

@Suite struct SafeTensorsReadTests {
  @Test func filesPyTorchWroteLoadWithIdenticalValues() throws {
    let url = fixtureURL("pt-dtypes.safetensors")
    let loaded = try SafeTensors.load(
      from: url, convertingHalfTo: .float32, convertingIntegersTo: .int64)
    let expected = ExpectedTensor.load("dtypes")
    #expect(Set(loaded.keys) == Set(expected.keys))
    for (name, e) in expected { e.check(loaded[name], name) }
    #expect(loaded["f16"]!.dtype == .float32 && loaded["bf16"]!.dtype == .float32)
    #expect(loaded["u8"]!.dtype == .int64 && loaded["bool"]!.dtype == .bool)
    #expect(loaded["scalar"]!.shape == [] && loaded["empty"]!.shape == [0, 3])
    // load_file's order: by data offsets (the writer's dtype-then-name order; an empty tensor's
    // [b, b] sorts before the [b, e] of the tensor after it)
    #expect(
      loaded.keys == [
        "i64", "f64", "empty", "f32", "scalar", "i32", "bf16", "f16", "i16", "i8", "u8", "bool",
      ])
    let file = try SafeTensors.File(contentsOf: url)
    #expect(file.metadata == ["format": "pt", "note": "dtypes"] && file.hasMetadata)
    #expect(try SafeTensors.metadata(of: url)["format"] == "pt")
    #expect(file.tensors.first { $0.name == "bf16" }?.dtype == .bf16)
    let f16 = try file.tensor(named: "f16", convertingHalfTo: .float64)
    #expect(f16.dtype == .float64 && f16.toArray() == expected["f16"]!.doubles)
  }

  @Test func halfAndSmallIntegersNeedAnExplicitConversion() throws {
    let url = fixtureURL("pt-dtypes.safetensors")
    #expect {
      try SafeTensors.load(from: url)
    } throws: { error in
      guard let e = error as? SafeTensorsError,
        case .unsupportedDType(let t, let d, let hint) = e.problem
      else { return false }
      return t == "i32" && d == "I32" && hint.contains("convertingIntegersTo: .int64")
    }
    #expect {
      try SafeTensors.load(from: url, convertingIntegersTo: .int64)
    } throws: { error in
      guard let e = error as? SafeTensorsError,
        case .unsupportedDType(_, let d, let hint) = e.problem
      else { return false }
      return d == "BF16" && hint.contains("convertingHalfTo: .float32")
        && e.description.hasPrefix(url.path)
    }
    let file = try SafeTensors.File(contentsOf: url)
    #expect(try file.tensor(named: "f32").dtype == .float32)
    #expect(throws: SafeTensorsError.self) { try file.tensor(named: "f16") }
    #expect(throws: SafeTensorsError.self) {
      try file.tensor(named: "f16", convertingHalfTo: .int64)
    }
  }

  @Test func halfConversionIsExactForEveryBitPattern() {
    // every binary16 value is a float32; check the conversion against a reference computation
    for bits in 0...UInt16.max {
      let f = SafeTensors.halfToFloat(bits)
      let exponent = Int(bits >> 10) & 0x1f
      let mantissa = Double(bits & 0x3ff)
      let sign: Double = bits >> 15 == 1 ? -1 : 1
      let expected: Double
      if exponent == 0 {
        expected = sign * mantissa * 0x1p-24
      } else if exponent == 31 {
        expected = mantissa == 0 ? sign * .infinity : .nan
      } else {
        expected =
          sign * (1 + mantissa / 1024)
          * Double(sign: .plus, exponent: exponent - 15, significand: 1)
      }
      if expected.isNaN {
        #expect(f.isNaN)
      } else if Double(f) != expected {
        Issue.record("half 0x\(String(bits, radix: 16)): \(f) vs \(expected)")
        return
      }
    }
    #expect(SafeTensors.bfloat16ToFloat(0x3f80) == 1 && SafeTensors.bfloat16ToFloat(0xc000) == -2)
  }

  struct MalformedCase: Codable, Sendable, CustomTestStringConvertible {
    let file: String
    let problem: String
    let reference: String
    var testDescription: String { file }

    static let all: [MalformedCase] = {
      struct File: Codable { let cases: [MalformedCase] }
      return try! JSONDecoder().decode(
        File.self, from: Data(contentsOf: fixtureURL("malformed/cases.json"))
      ).cases
    }()
  }

  /// Each file of the corpus (Fixtures/malformed, made by make_fixtures.py, with what the
  /// reference reader said) throws its own problem, naming the file.
  @Test(arguments: MalformedCase.all)
  func malformedFilesThrowASpecificError(_ c: MalformedCase) {
    let url = fixtureURL("malformed/" + c.file)
    do {
      let file = try SafeTensors.File(contentsOf: url)
      Issue.record("\(c.file) was accepted with tensors \(file.names)")
    } catch {
      #expect(kind(error.problem) == c.problem, "\(c.file): \(error)")
      #expect(error.file == url.path)
      #expect(error.description.hasPrefix(url.path + ": "))
    }
    // the reference reader refuses every one of them too, except a duplicate name whose entries
    // are identical and a duplicate __metadata__ key (which Ember refuses, as the format says:
    // the reference keeps the last), and an empty tensor whose dimensions multiply past 2^63
    // (no Ember tensor can have its strides)
    let referenceAccepts = [
      "duplicate-key.safetensors", "metadata-duplicate-key.safetensors",
      "zero-size-huge-dims.safetensors",
    ]
    #expect((c.reference == "accepted") == referenceAccepts.contains(c.file))
  }

  @Test func theCorpusCoversTheRequiredCases() {
    let kinds = Set(MalformedCase.all.map(\.problem))
    for k in [
      "headerTooSmall", "headerTooLarge", "invalidHeaderLength", "invalidUTF8", "invalidJSON",
      "invalidOffset", "sizeMismatch", "unknownDType", "duplicateName", "truncated",
      "trailingBytes",
      "overflow", "invalidTensorInfo", "invalidHeader",
    ] {
      #expect(kinds.contains(k), "no malformed file for \(k)")
    }
  }

  @Test func headersThatAreValidButUnusualLoad() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    func file(_ header: String, _ data: [UInt8] = []) -> URL {
      let h = Array(header.utf8)
      let n = UInt64(h.count)
      let url = folder.appendingPathComponent("f\(UInt32.random(in: 0...UInt32.max)).safetensors")
      writeBytes((0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + h + data, to: url)
      return url
    }
    // {} ; leading newlines and an unpadded header; tensors listed out of offset order; unknown
    // extra keys; escapes in names
    #expect(try SafeTensors.load(from: file("{}")).isEmpty)
    let floats: [UInt8] = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]  // 1.0, 2.0
    let a = try SafeTensors.load(
      from: file(
        "\n\n{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8],\"x\":1},"
          + "\"a\\u00e9\\n\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", floats))
    #expect(a.keys == ["a\u{e9}\n", "b"])
    #expect(a["a\u{e9}\n"]!.item() == 1 && a["b"]!.toArray() == [2])
    #expect(try SafeTensors.File(contentsOf: file("{\"__metadata__\":null}")).hasMetadata == false)
  }
}

@Suite struct SafeTensorsWriteTests {
  /// The tensors of make_fixtures.py's `ember_saved_expected()`.
  static func layoutTensors() -> StateDict {
    var sd = StateDict()
    for (name, e) in ExpectedTensor.load("layout").sorted(by: { $0.key < $1.key }) {
      sd[name] = e.tensor
    }
    return sd
  }

  @Test func bytesEqualWhatSaveFileWritesForTheSameTensors() throws {
    // pt-layout.safetensors: save_file(tensors, metadata={"format": "pt"})
    let expected = readBytes(fixtureURL("pt-layout.safetensors"))
    #expect(try SafeTensors.serialize(Self.layoutTensors()) == expected)
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("ember.safetensors")
    try SafeTensors.save(Self.layoutTensors(), to: url)
    #expect(readBytes(url) == expected)
    // ember-saved.safetensors was written by this test and checked by
    // `make_fixtures.py --verify` (load_file values, metadata and bytes equal save_file's)
    expectCommittedFixture("ember-saved.safetensors", equals: readBytes(url))
  }

  @Test func aPyTorchStateDictLoadsIntoModulesAndSavesBackIdentically() throws {
    let model = Sequential(TinyLinear(4, 3), ReLU(), TinyLinear(3, 2), TinyBatchNorm(2))
    let url = fixtureURL("pt-mlp.safetensors")
    try model.loadStateDict(try SafeTensors.load(from: url), strict: true)
    let expected = ExpectedTensor.load("mlp")
    let sd = model.stateDict()
    #expect(
      sd.keys == [
        "0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias", "3.running_mean",
        "3.running_var", "3.num_batches_tracked",
      ])
    #expect(Set(expected.keys) == Set(sd.keys))
    for (name, e) in expected { e.check(sd[name], name) }
    #expect(
      sd["3.num_batches_tracked"]!.dtype == .int64 && sd["3.num_batches_tracked"]!.item() == 1)
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let out = folder.appendingPathComponent("mlp.safetensors")
    try SafeTensors.save(sd, to: out)
    // the same bytes PyTorch wrote; ember-mlp.safetensors (this output) passed
    // `make_fixtures.py --verify-mlp`: load_state_dict(strict=True) into nn.Sequential
    #expect(readBytes(out) == readBytes(url))
    expectCommittedFixture("ember-mlp.safetensors", equals: readBytes(out))
  }

  @Test func roundTripKeepsDtypesShapesValuesAndMetadata() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("round.safetensors")
    let g = Generator(seed: 4)
    let w = Parameter(Tensor.randn([3, 5], generator: g))
    let t = Tensor.randn([4, 6], dtype: .float64, generator: g).t()  // not contiguous
    var sd: StateDict = [
      "w": w, "t": t, "i": Tensor.randint(low: -5, high: 5, [7], generator: g),
      "b": Tensor.rand([2, 2], generator: g) .> 0.5, "s": Tensor(shape: [], scalars: [Float(-0.0)]),
      "e": Tensor.zeros([2, 0, 3], dtype: .int64),
    ]
    sd["nan"] = Tensor(shape: [3], scalars: [Float.nan, .infinity, -.infinity])
    try SafeTensors.save(sd, to: url, metadata: ["epoch": "3", "note": "quote \" and \\ and \n"])
    let file = try SafeTensors.File(contentsOf: url)
    #expect(file.metadata == ["format": "pt", "epoch": "3", "note": "quote \" and \\ and \n"])
    let back = try file.stateDict()
    #expect(Set(back.keys) == Set(sd.keys))
    for (name, original) in sd {
      let loaded = back[name]!
      #expect(loaded.dtype == original.dtype && loaded.shape == original.shape, "\(name)")
      let a = loaded.toArray()
      let b = original.toArray()
      #expect(a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
    }
    #expect(back["s"]!.item().sign == .minus)
    #expect(!back["w"]!.requiresGrad && w.requiresGrad)
    // the user's format wins over the default
    try SafeTensors.save(["x": Tensor.zeros([1])], to: url, metadata: ["format": "np"])
    #expect(try SafeTensors.metadata(of: url) == ["format": "np"])
  }

  @Test func savingReplacesAnExistingFileAndLeavesNoTemporaryFiles() throws {
    let folder = temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("model.safetensors")
    try SafeTensors.save(["a": Tensor.zeros([1000])], to: url)
    try SafeTensors.save(["b": Tensor.ones([2])], to: url)
    #expect(try SafeTensors.load(from: url).keys == ["b"])
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
    // a folder that does not exist: a clear error, nothing written
    let missing = folder.appendingPathComponent("no/such/dir/x.safetensors")
    #expect {
      try SafeTensors.save(["a": Tensor.zeros([1])], to: missing)
    } throws: { error in
      guard let e = error as? SafeTensorsError, case .writeFailed = e.problem else { return false }
      return e.file == missing.path
    }
  }

  /// A child process starts saving a 32 MB file over an existing one and is killed (SIGKILL)
  /// after the first megabytes are written: the previous file must be intact.
  @Test func aSaveKilledMidwayLeavesThePreviousFileIntact() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "ember-atomic-\(getpid())")
    try? FileManager.default.removeItem(at: folder)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("model.safetensors")
    try SafeTensors.save(["old": Tensor(shape: [3], scalars: [Float(1), 2, 3])], to: url)
    let before = readBytes(url)

    await #expect(processExitsWith: .signal(SIGKILL)) {
      // the child finds the folder from its parent's pid
      let path = FileManager.default.temporaryDirectory.appendingPathComponent(
        "ember-atomic-\(getppid())/model.safetensors")
      FileIO.afterChunkWritten = { written in
        if written >= 3 << 20 { kill(getpid(), SIGKILL) }
      }
      try? SafeTensors.save(["big": Tensor.ones([8 << 20])], to: path)
      exit(0)  // not reached: the save was killed
    }

    #expect(readBytes(url) == before)
    #expect(try SafeTensors.load(from: url)["old"]!.toArray() == [1, 2, 3])
    // the killed save's partial temporary file sits beside it, under a hidden name
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
    let partial = names.filter { $0.hasPrefix(".model.safetensors.tmp-") }
    #expect(partial.count == 1 && names.count == 2, "\(names)")
    if let p = partial.first {
      let size = readBytes(folder.appendingPathComponent(p)).count
      #expect(size >= 3 << 20 && size < 32 << 20)
    }
  }
}
