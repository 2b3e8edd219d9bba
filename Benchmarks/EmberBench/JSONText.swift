// The harness's JSON lines, written and read without Foundation's JSONSerialization: that class
// (and ISO8601DateFormatter, String(format:), FileHandle) lives in the full Foundation, whose
// libraries and ICU data add about 9 MB to the resident set of every child process, and the
// mnist workload's peak memory is one of the figures compared with PyTorch's process.
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// JSON's null in a `[String: Any]` line (Python's None).
struct JSONNull {}

/// `object` as one line of JSON with its keys sorted (as `json.dumps(..., sort_keys=True)`);
/// non-finite numbers, which JSON cannot hold, are written as null.
func jsonLine(_ object: [String: Any]) -> String {
  var out = ""
  writeJSON(object, to: &out)
  return out
}

private func writeJSON(_ value: Any, to out: inout String) {
  switch value {
  case let b as Bool: out += b ? "true" : "false"
  case let i as Int: out += String(i)
  case let i as Int32: out += String(i)
  case let i as Int64: out += String(i)
  case let d as Double: out += d.isFinite ? "\(d)" : "null"
  case let f as Float: out += f.isFinite ? "\(Double(f))" : "null"
  case let s as String: writeJSONString(s, to: &out)
  case let m as [String: Any]:
    out += "{"
    for (n, key) in m.keys.sorted().enumerated() {
      if n > 0 { out += "," }
      writeJSONString(key, to: &out)
      out += ":"
      writeJSON(m[key]!, to: &out)
    }
    out += "}"
  case let a as [Any]:
    out += "["
    for (n, v) in a.enumerated() {
      if n > 0 { out += "," }
      writeJSON(v, to: &out)
    }
    out += "]"
  default: out += "null"  // JSONNull
  }
}

private func writeJSONString(_ s: String, to out: inout String) {
  out += "\""
  for u in s.unicodeScalars {
    switch u {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case _ where u.value < 0x20:
      let hex = String(u.value, radix: 16)
      out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    default: out.unicodeScalars.append(u)
    }
  }
  out += "\""
}

/// The object a line of JSON holds, or nil when the line is not one JSON object. Numbers with a
/// fraction or an exponent come back as Double, the others as Int (so `1.0` stays a Double, as
/// Python and Ember write their floats); null as ``JSONNull``.
func parseJSONObject<S: StringProtocol>(_ line: S) -> [String: Any]? {
  var p = JSONReader(bytes: Array(line.utf8))
  guard let v = p.value(depth: 0), p.atEnd, let object = v as? [String: Any] else { return nil }
  return object
}

private struct JSONReader {
  let bytes: [UInt8]
  var i = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  var atEnd: Bool {
    mutating get {
      skipSpace()
      return i == bytes.count
    }
  }

  mutating func skipSpace() {
    while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
  }

  mutating func take(_ c: UInt8) -> Bool {
    skipSpace()
    guard i < bytes.count, bytes[i] == c else { return false }
    i += 1
    return true
  }

  mutating func literal(_ word: String) -> Bool {
    let w = Array(word.utf8)
    guard bytes.count - i >= w.count, Array(bytes[i..<(i + w.count)]) == w else { return false }
    i += w.count
    return true
  }

  mutating func value(depth: Int) -> Any? {
    skipSpace()
    guard i < bytes.count, depth < 64 else { return nil }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      i += 1
      var m: [String: Any] = [:]
      if take(UInt8(ascii: "}")) { return m }
      repeat {
        skipSpace()
        guard let k = string(), take(UInt8(ascii: ":")), let v = value(depth: depth + 1) else {
          return nil
        }
        m[k] = v
      } while take(UInt8(ascii: ","))
      return take(UInt8(ascii: "}")) ? m : nil
    case UInt8(ascii: "["):
      i += 1
      var a: [Any] = []
      if take(UInt8(ascii: "]")) { return a }
      repeat {
        guard let v = value(depth: depth + 1) else { return nil }
        a.append(v)
      } while take(UInt8(ascii: ","))
      return take(UInt8(ascii: "]")) ? a : nil
    case UInt8(ascii: "\""): return string()
    case UInt8(ascii: "t"): return literal("true") ? true : nil
    case UInt8(ascii: "f"): return literal("false") ? false : nil
    case UInt8(ascii: "n"): return literal("null") ? JSONNull() : nil
    default: return number()
    }
  }

  mutating func number() -> Any? {
    let start = i
    var isInteger = true
    while i < bytes.count {
      let c = bytes[i]
      if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
        isInteger = false
      } else if !(c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || (0x30...0x39).contains(c)) {
        break
      }
      i += 1
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    if isInteger, let n = Int(text) { return n }
    return Double(text)
  }

  mutating func string() -> String? {
    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
    i += 1
    var out: [UInt8] = []
    while i < bytes.count {
      let c = bytes[i]
      i += 1
      if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
      guard c == UInt8(ascii: "\\") else {
        out.append(c)
        continue
      }
      guard i < bytes.count else { return nil }
      let e = bytes[i]
      i += 1
      switch e {
      case UInt8(ascii: "n"): out.append(0x0a)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "r"): out.append(0x0d)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0c)
      case UInt8(ascii: "u"):
        // the harness's lines are ASCII; a \u escape (and a surrogate pair) is decoded as is
        guard var code = hex4() else { return nil }
        if (0xD800..<0xDC00).contains(code), literal("\\u"), let low = hex4() {
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        out += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
      default: out.append(e)  // \" \\ \/
      }
    }
    return nil
  }

  mutating func hex4() -> UInt32? {
    guard bytes.count - i >= 4,
      let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16)
    else { return nil }
    i += 4
    return v
  }
}

/// `value` formatted by a printf format with one double conversion (`"%.3g"`), as
/// `String(format:)` without Foundation.
func formatted(_ format: String, _ value: Double) -> String {
  var buffer = [CChar](repeating: 0, count: 64)
  let n = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
  return String(
    decoding: buffer[0..<max(0, min(Int(n), buffer.count - 1))].map(UInt8.init(bitPattern:)),
    as: UTF8.self)
}

/// The time now in UTC as ISO 8601 (`2026-12-03T05:41:31Z`).
func isoTimeNow() -> String {
  var t = time(nil)
  var parts = tm()
  gmtime_r(&t, &parts)
  var buffer = [CChar](repeating: 0, count: 32)
  let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
  return String(decoding: buffer[0..<n].map(UInt8.init(bitPattern:)), as: UTF8.self)
}
