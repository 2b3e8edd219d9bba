extension SafeTensors {
  /// A parsed and validated header: the rules of the reference reader's `read_metadata` and
  /// `Metadata::validate`, plus a refusal of duplicate names.
  struct Header {
    var metadata: [String: String]?
    /// Sorted by data offsets.
    var tensors: [TensorInfo]
    /// Bytes of tensor data the header describes (the last tensor's end offset).
    var dataSize: Int

    typealias Problem = SafeTensorsError.Problem

    init(_ bytes: [UInt8]) throws {
      let json = try bytes.withUnsafeBufferPointer { (b) throws -> JSON in
        if let bad = Header.firstInvalidUTF8(b) { throw Problem.invalidUTF8(offset: bad) }
        do {
          return try JSON.parse(b)
        } catch let e as JSON.ParseError {
          throw Problem.invalidJSON(e.description)
        }
      }
      guard case .object(let members) = json else {
        throw Problem.invalidHeader("the JSON is not an object")
      }
      var seen = Set<String>()
      var entries: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
      for (key, value) in members {
        guard seen.insert(key).inserted else { throw Problem.duplicateName(key) }
        if key == "__metadata__" {
          metadata = try Header.metadataMap(value)
          continue
        }
        let (dtype, shape, begin, end) = try Header.tensorEntry(key, value)
        entries.append((key, dtype, shape, begin, end))
      }
      // sort by (begin, end) as the reference does, keeping header order for ties
      let order = entries.indices.sorted {
        (entries[$0].begin, entries[$0].end, $0) < (entries[$1].begin, entries[$1].end, $1)
      }
      var start = 0
      var infos: [TensorInfo] = []
      for index in order {
        let e = entries[index]
        guard e.begin == start && e.end >= e.begin else {
          throw Problem.invalidOffset(
            tensor: e.name, begin: e.begin, end: e.end, expectedBegin: start)
        }
        start = e.end
        var elements = 1
        // the product of the dimensions with zeros taken as ones must fit too: it is the
        // tensor's largest stride (a [0, 2^40, 2^40] tensor holds nothing but has no strides)
        var extent = 1
        for d in e.shape {
          let (p, o) = elements.multipliedReportingOverflow(by: d)
          let (x, ox) = extent.multipliedReportingOverflow(by: max(d, 1))
          guard !o, !ox else { throw Problem.overflow(tensor: e.name) }
          elements = p
          extent = x
        }
        let (bits, o) = elements.multipliedReportingOverflow(by: e.dtype.bitSize)
        guard !o else { throw Problem.overflow(tensor: e.name) }
        guard bits % 8 == 0 else { throw Problem.misaligned(tensor: e.name) }
        guard e.end - e.begin == bits / 8 else {
          throw Problem.sizeMismatch(
            tensor: e.name, expectedBytes: bits / 8, actualBytes: e.end - e.begin)
        }
        infos.append(
          TensorInfo(name: e.name, dtype: e.dtype, shape: e.shape, dataOffsets: e.begin..<e.end))
      }
      tensors = infos
      dataSize = start
    }

    /// `__metadata__`: null, or an object of strings.
    static func metadataMap(_ value: JSON) throws -> [String: String]? {
      if value == .null { return nil }
      guard case .object(let members) = value else {
        throw Problem.invalidHeader("__metadata__ must be an object of strings")
      }
      var map: [String: String] = [:]
      for (k, v) in members {
        guard case .string(let s) = v else {
          throw Problem.invalidHeader(
            "__metadata__ value for '\(k)' is \(describe(v)), expected a string")
        }
        guard map.updateValue(s, forKey: k) == nil else {
          throw Problem.invalidHeader("duplicate __metadata__ key '\(k)'")
        }
      }
      return map
    }

    /// One tensor's `{"dtype", "shape", "data_offsets"}` (other keys are ignored, as the reference
    /// reader ignores them).
    static func tensorEntry(_ name: String, _ value: JSON) throws -> (DType, [Int], Int, Int) {
      func bad(_ why: String) -> Problem { .invalidTensorInfo(tensor: name, reason: why) }
      guard case .object(let fields) = value else {
        throw bad("expected an object with dtype, shape and data_offsets, got \(describe(value))")
      }
      var dtypeValue: JSON?
      var shapeValue: JSON?
      var offsetsValue: JSON?
      for (k, v) in fields {
        switch k {
        case "dtype":
          guard dtypeValue == nil else { throw bad("duplicate field dtype") }
          dtypeValue = v
        case "shape":
          guard shapeValue == nil else { throw bad("duplicate field shape") }
          shapeValue = v
        case "data_offsets":
          guard offsetsValue == nil else { throw bad("duplicate field data_offsets") }
          offsetsValue = v
        default: continue
        }
      }
      guard let dtypeValue else { throw bad("missing field dtype") }
      guard let shapeValue else { throw bad("missing field shape") }
      guard let offsetsValue else { throw bad("missing field data_offsets") }
      guard case .string(let dtypeName) = dtypeValue else {
        throw bad("dtype is \(describe(dtypeValue)), expected a string")
      }
      guard let dtype = DType(rawValue: dtypeName) else {
        throw Problem.unknownDType(tensor: name, dtype: dtypeName)
      }
      guard case .array(let dims) = shapeValue else {
        throw bad("shape is \(describe(shapeValue)), expected an array of non-negative integers")
      }
      var shape: [Int] = []
      for d in dims {
        guard let n = nonNegativeInteger(d) else {
          throw bad("shape holds \(describe(d)), expected non-negative integers")
        }
        shape.append(n)
      }
      guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
        throw bad("data_offsets is \(describe(offsetsValue)), expected [begin, end]")
      }
      guard let begin = nonNegativeInteger(offsets[0]), let end = nonNegativeInteger(offsets[1])
      else {
        throw bad("data_offsets holds \(describe(offsetsValue)), expected non-negative integers")
      }
      return (dtype, shape, begin, end)
    }

    /// The value of a JSON number written as a plain non-negative integer that fits an `Int`.
    static func nonNegativeInteger(_ v: JSON) -> Int? {
      guard case .number(let text) = v, !text.isEmpty,
        text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
      else { return nil }
      return Int(text)
    }

    static func describe(_ v: JSON) -> String {
      switch v {
      case .object: return "an object"
      case .array(let a): return "[" + a.map(describeShort).joined(separator: ", ") + "]"
      case .string(let s): return "the string \"\(s)\""
      case .number(let n): return "the number \(n)"
      case .bool(let b): return "\(b)"
      case .null: return "null"
      }
    }

    private static func describeShort(_ v: JSON) -> String {
      switch v {
      case .number(let n): return n
      case .string(let s): return "\"\(s)\""
      default: return describe(v)
      }
    }

    /// The offset of the first byte that breaks UTF-8 (overlong forms, surrogates and code points
    /// past U+10FFFF are invalid, as in Rust's `from_utf8`), or nil.
    static func firstInvalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
      var i = 0
      let n = b.count
      while i < n {
        let c = b[i]
        if c < 0x80 {
          i += 1
          continue
        }
        let width: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xbf
        switch c {
        case 0xc2...0xdf: width = 2
        case 0xe0:
          width = 3
          lo = 0xa0
        case 0xe1...0xec, 0xee...0xef: width = 3
        case 0xed:
          width = 3
          hi = 0x9f
        case 0xf0:
          width = 4
          lo = 0x90
        case 0xf1...0xf3: width = 4
        case 0xf4:
          width = 4
          hi = 0x8f
        default: return i
        }
        guard i + width <= n else { return i }
        guard b[i + 1] >= lo && b[i + 1] <= hi else { return i }
        for k in 2..<width where !(b[i + k] >= 0x80 && b[i + k] <= 0xbf) { return i }
        i += width
      }
      return nil
    }
  }
}
