// The harness's JSON lines, written and read with EmberData's JSON reader and writer (the one
// the safetensors headers use) instead of Foundation's JSONSerialization: that class (and
// ISO8601DateFormatter, String(format:), FileHandle) lives in the full Foundation, whose
// libraries and ICU data add about 9 MB to the resident set of every child process, and the
// mnist workload's peak memory is one of the figures compared with PyTorch's process.
@_spi(EmberTools) import EmberData

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// JSON's null in a `[String: Any]` line (Python's None).
struct JSONNull {}

/// `object` as one line of JSON with its keys sorted (as `json.dumps(..., sort_keys=True)`);
/// non-finite numbers, which JSON cannot hold, are written as null.
func jsonLine(_ object: [String: Any]) -> String { json(object).serialized }

private func json(_ value: Any) -> JSON {
  switch value {
  case let b as Bool: return .bool(b)
  case let i as Int: return .number(String(i))
  case let i as Int32: return .number(String(i))
  case let i as Int64: return .number(String(i))
  case let d as Double: return d.isFinite ? .number("\(d)") : .null
  case let f as Float: return f.isFinite ? .number("\(Double(f))") : .null
  case let s as String: return .string(s)
  case let m as [String: Any]: return .object(m.keys.sorted().map { ($0, json(m[$0]!)) })
  case let a as [Any]: return .array(a.map(json))
  default: return .null  // JSONNull
  }
}

/// The object a line of JSON holds, or nil when the line is not one JSON object. Numbers with a
/// fraction or an exponent come back as Double, the others as Int (so `1.0` stays a Double, as
/// Python and Ember write their floats); null as ``JSONNull``.
func parseJSONObject<S: StringProtocol>(_ line: S) -> [String: Any]? {
  let bytes = Array(line.utf8)
  guard let value = try? bytes.withUnsafeBufferPointer({ try JSON.parse($0) }) else { return nil }
  return any(value) as? [String: Any]
}

private func any(_ value: JSON) -> Any {
  switch value {
  case .object(let members):
    var m: [String: Any] = [:]
    for (k, v) in members { m[k] = any(v) }
    return m
  case .array(let items): return items.map(any)
  case .string(let s): return s
  case .number(let text):
    if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let n = Int(text) {
      return n
    }
    return Double(text) ?? JSONNull()
  case .bool(let b): return b
  case .null: return JSONNull()
  }
}

/// `value` formatted by a printf format with one double conversion (`"%.3g"`), as
/// `String(format:)` without Foundation.
func formatted(_ format: String, _ value: Double) -> String {
  var buffer = [CChar](repeating: 0, count: 64)
  let n = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
  let length = max(0, min(Int(n), buffer.count - 1))
  return String(decoding: buffer[0..<length].map(UInt8.init(bitPattern:)), as: UTF8.self)
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
