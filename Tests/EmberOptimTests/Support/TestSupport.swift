import EmberOptim
import Foundation
import Testing

/// Asserts two arrays are elementwise close (`|a - b| <= atol + rtol * |b|`); rtol 0 and atol 0
/// ask for equal values.
func expectClose(
  _ actual: [Double], _ expected: [Double], rtol: Double = 1e-6, atol: Double = 1e-7,
  _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(
    actual.count == expected.count, "\(comment): count \(actual.count) vs \(expected.count)",
    sourceLocation: sourceLocation)
  for (i, (a, b)) in zip(actual, expected).enumerated() {
    let ok = (a.isNaN && b.isNaN) || a == b || Swift.abs(a - b) <= atol + rtol * Swift.abs(b)
    #expect(ok, "\(comment): element \(i): got \(a), expected \(b)", sourceLocation: sourceLocation)
    if !ok { return }
  }
}

/// Asserts two arrays hold the same values bit for bit (as doubles of the same dtype).
func expectExact(
  _ actual: [Double], _ expected: [Double], _ comment: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  expectClose(actual, expected, rtol: 0, atol: 0, comment, sourceLocation: sourceLocation)
}

/// What an exit test's child process wrote to standard error.
func stderrText(_ result: ExitTest.Result?) -> String {
  String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}

/// A float tensor of `shape` with `values` (row-major) in `dtype`.
func tensor(_ values: [Double], _ shape: [Int], dtype: DType = .float32) -> Tensor {
  Tensor(shape: shape, scalars: values).to(dtype)
}

/// A JSON value, decoded with `JSONDecoder` (which reads doubles exactly).
enum JSON: Decodable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSON])
  case object([String: JSON])

  init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let n = try? c.decode(Double.self) {
      self = .number(n)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else if let a = try? c.decode([JSON].self) {
      self = .array(a)
    } else {
      self = .object(try c.decode([String: JSON].self))
    }
  }

  subscript(key: String) -> JSON {
    if case .object(let o) = self { return o[key] ?? .null }
    return .null
  }

  subscript(index: Int) -> JSON { array[index] }

  var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  var array: [JSON] {
    if case .array(let a) = self { return a }
    fatalError("not a JSON array: \(self)")
  }

  var object: [String: JSON] {
    if case .object(let o) = self { return o }
    return [:]
  }

  var double: Double {
    if case .number(let n) = self { return n }
    if case .string("inf") = self { return .infinity }
    fatalError("not a JSON number: \(self)")
  }

  var int: Int { Int(double) }
  var doubles: [Double] { array.map(\.double) }
  var ints: [Int] { array.map(\.int) }

  var string: String {
    if case .string(let s) = self { return s }
    fatalError("not a JSON string: \(self)")
  }

  /// A number, a bool or a list of numbers as a hyperparameter.
  var hyperparameter: Hyperparameter {
    switch self {
    case .bool(let b): return .flag(b)
    case .number(let n): return .number(n)
    case .array: return .numbers(doubles)
    default: fatalError("not a hyperparameter: \(self)")
    }
  }

  /// An object of hyperparameters (empty for null).
  var hyperparameters: [String: Hyperparameter] { object.mapValues(\.hyperparameter) }
}

/// Fixtures/optim-cases.json, written by Fixtures/make_optim_fixtures.py (which documents it).
enum Fixture {
  static let root: JSON = {
    guard
      let url = Bundle.module.url(
        forResource: "optim-cases", withExtension: "json", subdirectory: "Fixtures"),
      let data = try? Data(contentsOf: url),
      let json = try? JSONDecoder().decode(JSON.self, from: data)
    else { fatalError("Fixtures/optim-cases.json is missing or not valid JSON") }
    return json
  }()

  /// The names of the cases under `key`, for parameterized tests.
  static func names(_ key: String) -> [String] { root[key].array.map { $0["name"].string } }

  static func find(_ key: String, _ name: String) -> JSON {
    root[key].array.first { $0["name"].string == name }!
  }
}
