/// A small JSON reader and writer for safetensors headers: objects keep their key order (so
/// duplicate keys can be reported), numbers keep their text, and nesting is bounded so a hostile
/// header cannot exhaust the stack.
///
/// Not part of the public API; the project's tools (`ember-bench`'s JSON lines) reach it as
/// `@_spi(EmberTools) import EmberData`.
@_spi(EmberTools) public enum JSON: Equatable {
  case object([(key: String, value: JSON)])
  case array([JSON])
  case string(String)
  /// The number's text as written.
  case number(String)
  case bool(Bool)
  case null

  public static func == (a: JSON, b: JSON) -> Bool {
    switch (a, b) {
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    case (.array(let x), .array(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.bool(let x), .bool(let y)): return x == y
    case (.null, .null): return true
    default: return false
    }
  }

  /// A parse failure: what was expected and the byte offset where it went wrong.
  struct ParseError: Error, CustomStringConvertible {
    let message: String
    let offset: Int
    var description: String { "\(message) at byte \(offset) of the header" }
  }

  static let maximumDepth = 64

  /// Parses one JSON value surrounded by optional whitespace; anything else after it is an error.
  public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSON {
    var p = Parser(bytes: bytes)
    p.skipWhitespace()
    let value = try p.value(depth: 0)
    p.skipWhitespace()
    guard p.i == bytes.count else { throw p.error("trailing characters after the JSON value") }
    return value
  }

  private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    func error(_ m: String) -> ParseError { ParseError(message: m, offset: i) }

    mutating func skipWhitespace() {
      while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
    }

    func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func expect(_ c: UInt8, _ what: String) throws {
      guard peek() == c else {
        throw error(
          peek() == nil ? "unexpected end of the header, expected \(what)" : "expected \(what)")
      }
      i += 1
    }

    mutating func value(depth: Int) throws -> JSON {
      guard depth < JSON.maximumDepth else { throw error("JSON nested too deeply") }
      guard let c = peek() else { throw error("unexpected end of the header, expected a value") }
      switch c {
      case UInt8(ascii: "{"): return try object(depth: depth)
      case UInt8(ascii: "["): return try array(depth: depth)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"): return try literal("true", .bool(true))
      case UInt8(ascii: "f"): return try literal("false", .bool(false))
      case UInt8(ascii: "n"): return try literal("null", .null)
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
      default: throw error("expected a value")
      }
    }

    mutating func literal(_ word: String, _ v: JSON) throws -> JSON {
      for b in word.utf8 {
        guard peek() == b else { throw error("expected \(word)") }
        i += 1
      }
      return v
    }

    mutating func object(depth: Int) throws -> JSON {
      i += 1
      var members: [(key: String, value: JSON)] = []
      skipWhitespace()
      if peek() == UInt8(ascii: "}") {
        i += 1
        return .object(members)
      }
      while true {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw error("expected a string key") }
        let key = try string()
        skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
        skipWhitespace()
        members.append((key, try value(depth: depth + 1)))
        skipWhitespace()
        if peek() == UInt8(ascii: ",") {
          i += 1
          continue
        }
        try expect(UInt8(ascii: "}"), "',' or '}'")
        return .object(members)
      }
    }

    mutating func array(depth: Int) throws -> JSON {
      i += 1
      var items: [JSON] = []
      skipWhitespace()
      if peek() == UInt8(ascii: "]") {
        i += 1
        return .array(items)
      }
      while true {
        skipWhitespace()
        items.append(try value(depth: depth + 1))
        skipWhitespace()
        if peek() == UInt8(ascii: ",") {
          i += 1
          continue
        }
        try expect(UInt8(ascii: "]"), "',' or ']'")
        return .array(items)
      }
    }

    mutating func number() throws -> JSON {
      let start = i
      if peek() == UInt8(ascii: "-") { i += 1 }
      func digits() -> Int {
        let s = i
        while let c = peek(), c >= 0x30 && c <= 0x39 { i += 1 }
        return i - s
      }
      if peek() == UInt8(ascii: "0") {
        i += 1
      } else if digits() == 0 {
        throw error("invalid number")
      }
      if peek() == UInt8(ascii: ".") {
        i += 1
        guard digits() > 0 else { throw error("invalid number") }
      }
      if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
        i += 1
        if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
        guard digits() > 0 else { throw error("invalid number") }
      }
      return .number(
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
    }

    mutating func hex4() throws -> UInt32 {
      guard bytes.count - i >= 4 else {
        throw error("unexpected end of the header in a \\u escape")
      }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let c = bytes[i]
        let d: UInt32
        switch c {
        case 0x30...0x39: d = UInt32(c - 0x30)
        case 0x41...0x46: d = UInt32(c - 0x41 + 10)
        case 0x61...0x66: d = UInt32(c - 0x61 + 10)
        default: throw error("invalid \\u escape")
        }
        v = v << 4 | d
        i += 1
      }
      return v
    }

    /// A string; the header was already checked to be UTF-8, so raw bytes are copied as they are.
    mutating func string() throws -> String {
      i += 1
      var out: [UInt8] = []
      while true {
        guard let c = peek() else { throw error("unexpected end of the header inside a string") }
        i += 1
        switch c {
        case UInt8(ascii: "\""):
          return String(decoding: out, as: UTF8.self)
        case UInt8(ascii: "\\"):
          guard let e = peek() else { throw error("unexpected end of the header inside a string") }
          i += 1
          switch e {
          case UInt8(ascii: "\""): out.append(0x22)
          case UInt8(ascii: "\\"): out.append(0x5c)
          case UInt8(ascii: "/"): out.append(0x2f)
          case UInt8(ascii: "b"): out.append(0x08)
          case UInt8(ascii: "f"): out.append(0x0c)
          case UInt8(ascii: "n"): out.append(0x0a)
          case UInt8(ascii: "r"): out.append(0x0d)
          case UInt8(ascii: "t"): out.append(0x09)
          case UInt8(ascii: "u"):
            var scalar = try hex4()
            if scalar >= 0xd800 && scalar < 0xdc00 {
              // a high surrogate must be followed by an escaped low surrogate
              guard bytes.count - i >= 2, bytes[i] == UInt8(ascii: "\\"),
                bytes[i + 1] == UInt8(ascii: "u")
              else { throw error("unpaired surrogate in a \\u escape") }
              i += 2
              let low = try hex4()
              guard low >= 0xdc00 && low < 0xe000 else {
                throw error("unpaired surrogate in a \\u escape")
              }
              scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
            } else if scalar >= 0xdc00 && scalar < 0xe000 {
              throw error("unpaired surrogate in a \\u escape")
            }
            out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
          default: throw error("invalid escape in a string")
          }
        case 0x00..<0x20:
          throw error("control character in a string")
        default:
          out.append(c)
        }
      }
    }
  }

  // MARK: writing (serde_json's compact form)

  /// The compact serialization, with serde_json's string escapes.
  public var serialized: String {
    var s = ""
    write(into: &s)
    return s
  }

  func write(into s: inout String) {
    switch self {
    case .object(let members):
      s += "{"
      for (k, (key, value)) in members.enumerated() {
        if k > 0 { s += "," }
        JSON.writeString(key, into: &s)
        s += ":"
        value.write(into: &s)
      }
      s += "}"
    case .array(let items):
      s += "["
      for (k, item) in items.enumerated() {
        if k > 0 { s += "," }
        item.write(into: &s)
      }
      s += "]"
    case .string(let v): JSON.writeString(v, into: &s)
    case .number(let v): s += v
    case .bool(let v): s += v ? "true" : "false"
    case .null: s += "null"
    }
  }

  /// serde_json's escaping: `"` and `\`, the short escapes for \b \f \n \r \t, `\u00XX` (lower-case
  /// hex) for other control characters; everything else as it is.
  static func writeString(_ v: String, into s: inout String) {
    s += "\""
    for u in v.unicodeScalars {
      switch u.value {
      case 0x22: s += "\\\""
      case 0x5c: s += "\\\\"
      case 0x08: s += "\\b"
      case 0x0c: s += "\\f"
      case 0x0a: s += "\\n"
      case 0x0d: s += "\\r"
      case 0x09: s += "\\t"
      case 0..<0x20:
        let hex = String(u.value, radix: 16)
        s += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: s.unicodeScalars.append(u)
      }
    }
    s += "\""
  }
}
