/// One value of a parameter group or of a scheduler's state: a number, a flag or a list of
/// numbers (PyTorch's floats, bools and tuples such as `betas`).
///
/// Literals work where one is expected: `["lr": 0.01, "nesterov": true, "betas": [0.9, 0.99]]`.
/// It is `Codable` as plain JSON (a number, `true`/`false`, or an array), with the non-finite
/// numbers written as the strings `"inf"`, `"-inf"` and `"nan"`, so a state dict's metadata is
/// valid JSON.
public enum Hyperparameter: Equatable, Sendable, Codable, CustomStringConvertible,
  ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByArrayLiteral
{
  case number(Double)
  case flag(Bool)
  case numbers([Double])

  public init(floatLiteral value: Double) { self = .number(value) }
  public init(integerLiteral value: Int) { self = .number(Double(value)) }
  public init(booleanLiteral value: Bool) { self = .flag(value) }
  public init(arrayLiteral elements: Double...) { self = .numbers(elements) }

  /// The number, or nil for a flag or a list.
  public var number: Double? {
    if case .number(let v) = self { return v }
    return nil
  }

  /// The flag, or nil for a number or a list.
  public var flag: Bool? {
    if case .flag(let v) = self { return v }
    return nil
  }

  /// The list, or nil for a number or a flag.
  public var numbers: [Double]? {
    if case .numbers(let v) = self { return v }
    return nil
  }

  /// As Python prints it: `0.1`, `True`, `(0.9, 0.999)`.
  public var description: String {
    switch self {
    case .number(let v): return Hyperparameter.pythonText(v)
    case .flag(let v): return v ? "True" : "False"
    case .numbers(let v):
      return "(" + v.map(Hyperparameter.pythonText).joined(separator: ", ") + ")"
    }
  }

  /// Swift prints doubles as Python does (`0.1`, `1e-08`, `3.0`, `inf`).
  static func pythonText(_ v: Double) -> String { "\(v)" }

  // MARK: Codable

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let b = try? c.decode(Bool.self) {
      self = .flag(b)
    } else if let list = try? c.decode([JSONNumber].self) {
      self = .numbers(list.map(\.value))
    } else {
      self = .number(try c.decode(JSONNumber.self).value)
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .number(let v): try c.encode(JSONNumber(v))
    case .flag(let v): try c.encode(v)
    case .numbers(let v): try c.encode(v.map(JSONNumber.init))
    }
  }
}

/// A Double in JSON, with "inf", "-inf" and "nan" as strings (JSON has no such numbers).
struct JSONNumber: Codable {
  var value: Double
  init(_ value: Double) { self.value = value }

  init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let v = try? c.decode(Double.self) {
      value = v
      return
    }
    switch try c.decode(String.self) {
    case "inf": value = .infinity
    case "-inf": value = -.infinity
    case "nan": value = .nan
    case let s:
      throw DecodingError.dataCorruptedError(
        in: c, debugDescription: "expected a number, \"inf\", \"-inf\" or \"nan\", got \"\(s)\"")
    }
  }

  func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    if value.isNaN {
      try c.encode("nan")
    } else if value.isInfinite {
      try c.encode(value < 0 ? "-inf" : "inf")
    } else {
      try c.encode(value)
    }
  }
}
