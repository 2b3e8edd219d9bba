/// gzip (RFC 1952) and DEFLATE (RFC 1951) decompression in Swift, so reading `.gz` files needs no
/// system zlib: the build uses only the toolchain.
///
/// ```swift
/// let bytes = try Gzip.decompress(compressed)   // every member, CRC-32 and ISIZE checked
/// ```
///
/// The output grows with the data actually decoded (never with a size some header claims), up to
/// `limit` bytes, so a corrupt or hostile file cannot make the decoder allocate more than that.
public enum Gzip {
  /// Why a gzip stream could not be decoded.
  public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data does not start with the gzip magic bytes 1f 8b.
    case notGzip
    /// A compression method other than 8 (deflate).
    case unsupportedMethod(UInt8)
    /// Reserved header flag bits are set.
    case reservedFlags(UInt8)
    /// The header's own CRC-16 (FHCRC) does not match.
    case headerChecksumMismatch
    /// The stream ends before the member does (a truncated file).
    case truncated
    /// The DEFLATE data is invalid (the reason is RFC 1951's rule that was broken).
    case invalidDeflate(String)
    /// The CRC-32 of the decompressed bytes differs from the trailer's.
    case checksumMismatch(expected: UInt32, actual: UInt32)
    /// The trailer's ISIZE (length mod 2^32) differs from the decompressed length.
    case sizeMismatch(expected: UInt32, actual: UInt32)
    /// Bytes after the last member that are not another gzip member.
    case trailingGarbage(offset: Int)
    /// The output would exceed the caller's limit.
    case outputLimitExceeded(limit: Int)

    public var description: String {
      switch self {
      case .notGzip: return "not a gzip stream (missing the 1f 8b magic bytes)"
      case .unsupportedMethod(let m):
        return "unsupported gzip compression method \(m) (only 8, deflate)"
      case .reservedFlags(let f):
        return "reserved gzip header flags are set (0x\(String(f, radix: 16)))"
      case .headerChecksumMismatch: return "gzip header checksum (FHCRC) does not match"
      case .truncated: return "truncated gzip stream (the data ends inside a member)"
      case .invalidDeflate(let why): return "corrupt deflate data: \(why)"
      case .checksumMismatch(let e, let a):
        return
          "CRC-32 mismatch: the trailer says 0x\(String(e, radix: 16)), the data gives 0x\(String(a, radix: 16))"
      case .sizeMismatch(let e, let a):
        return "length mismatch: the trailer says \(e) bytes (mod 2^32), the data has \(a)"
      case .trailingGarbage(let o):
        return "unexpected bytes after the last gzip member at offset \(o)"
      case .outputLimitExceeded(let l): return "decompressed data exceeds the limit of \(l) bytes"
      }
    }
  }

  /// True when `bytes` start with the gzip magic number.
  public static func isGzip(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
  }

  /// Decompresses every member of a gzip stream, checking each member's CRC-32 and ISIZE.
  /// - Parameter limit: the most bytes the result may hold (default: no limit beyond memory).
  public static func decompress(_ bytes: [UInt8], limit: Int = Int.max) throws(Problem) -> [UInt8] {
    try bytes.withUnsafeBufferPointer { (input) throws(Problem) -> [UInt8] in
      var out = OutputBuffer(limit: limit)
      defer { out.deallocate() }
      var position = 0
      var first = true
      while first || position < input.count {
        if !first
          && (input.count - position < 2 || input[position] != 0x1f
            || input[position + 1] != 0x8b)
        {
          throw .trailingGarbage(offset: position)
        }
        first = false
        position = try member(input, at: position, into: &out)
      }
      return out.array()
    }
  }

  /// The first `count` decompressed bytes (fewer when the stream holds fewer), decoding no more
  /// than needed: a reader learns from them how much output to expect before it decodes the
  /// rest. Members that end within the prefix are checked (CRC-32, ISIZE); the rest are not.
  static func decompressedPrefix(_ bytes: [UInt8], count: Int) throws(Problem) -> [UInt8] {
    // the decoder reserves at most 65,535 bytes at a time (a stored block), so stopping at this
    // limit leaves at least `count` bytes decoded
    let limit = count + 65_536
    return try bytes.withUnsafeBufferPointer { (input) throws(Problem) -> [UInt8] in
      var out = OutputBuffer(limit: limit)
      defer { out.deallocate() }
      var position = 0
      var first = true
      do throws(Problem) {
        while first || position < input.count {
          if !first
            && (input.count - position < 2 || input[position] != 0x1f
              || input[position + 1] != 0x8b)
          {
            throw Problem.trailingGarbage(offset: position)
          }
          first = false
          position = try member(input, at: position, into: &out)
          if out.count >= count { break }
        }
      } catch .outputLimitExceeded {
        // stopped early on purpose
      } catch {
        throw error
      }
      return Array(out.array().prefix(count))
    }
  }

  /// Decodes one gzip member starting at `start`; returns the offset just past its trailer.
  private static func member(
    _ input: UnsafeBufferPointer<UInt8>, at start: Int, into out: inout OutputBuffer
  ) throws(Problem) -> Int {
    var p = start
    func need(_ n: Int) throws(Problem) {
      if input.count - p < n { throw p == start ? .notGzip : .truncated }
    }
    try need(10)
    guard input[p] == 0x1f, input[p + 1] == 0x8b else { throw .notGzip }
    guard input[p + 2] == 8 else { throw .unsupportedMethod(input[p + 2]) }
    let flags = input[p + 3]
    guard flags & 0xe0 == 0 else { throw .reservedFlags(flags) }
    p += 10
    if flags & 0x04 != 0 {  // FEXTRA
      try need(2)
      let xlen = Int(input[p]) | Int(input[p + 1]) << 8
      p += 2
      try need(xlen)
      p += xlen
    }
    for flag in [UInt8(0x08), 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT
      while true {
        try need(1)
        p += 1
        if input[p - 1] == 0 { break }
      }
    }
    if flags & 0x02 != 0 {  // FHCRC: the low 16 bits of the header's CRC-32
      try need(2)
      let stored = UInt32(input[p]) | UInt32(input[p + 1]) << 8
      let header = UnsafeBufferPointer(rebasing: input[start..<p])
      guard CRC32.checksum(header) & 0xffff == stored else { throw .headerChecksumMismatch }
      p += 2
    }
    let begin = out.count
    var reader = BitReader(input, from: p)
    try Inflater.inflate(&reader, into: &out)
    p = reader.alignedPosition
    guard input.count - p >= 8 else { throw .truncated }
    let crc = readLE32(input, p)
    let isize = readLE32(input, p + 4)
    let produced = UnsafeBufferPointer(start: out.base + begin, count: out.count - begin)
    let actual = CRC32.checksum(produced)
    guard actual == crc else { throw .checksumMismatch(expected: crc, actual: actual) }
    let length = UInt32(truncatingIfNeeded: produced.count)
    guard length == isize else { throw .sizeMismatch(expected: isize, actual: length) }
    return p + 8
  }

  private static func readLE32(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
  }
}

// MARK: - CRC-32

/// The CRC-32 of gzip and zip (polynomial 0xEDB88320, reflected), slicing by 8 bytes.
enum CRC32 {
  /// Eight 256-entry tables, one after another.
  static let table: [UInt32] = {
    var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
    for i in 0..<256 {
      var c = UInt32(i)
      for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
      t[0][i] = c
    }
    for i in 0..<256 {
      for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
    }
    return t.flatMap { $0 }
  }()

  static func checksum(_ bytes: UnsafeBufferPointer<UInt8>, initial: UInt32 = 0) -> UInt32 {
    table.withUnsafeBufferPointer { t in
      var c = ~initial
      guard var p = bytes.baseAddress else { return initial }
      var n = bytes.count
      while n >= 8 {
        let lo = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
        let hi = UInt32(p[4]) | UInt32(p[5]) << 8 | UInt32(p[6]) << 16 | UInt32(p[7]) << 24
        let x = c ^ lo
        c =
          t[7 * 256 + Int(x & 0xff)] ^ t[6 * 256 + Int((x >> 8) & 0xff)]
          ^ t[5 * 256 + Int((x >> 16) & 0xff)] ^ t[4 * 256 + Int(x >> 24)]
          ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
          ^ t[256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
        p += 8
        n -= 8
      }
      while n > 0 {
        c = t[Int((c ^ UInt32(p[0])) & 0xff)] ^ (c >> 8)
        p += 1
        n -= 1
      }
      return ~c
    }
  }

  static func checksum(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBufferPointer { checksum($0) }
  }
}

// MARK: - output

/// A growable byte buffer with a hard limit; grows by doubling with the data actually produced.
struct OutputBuffer {
  private(set) var base: UnsafeMutablePointer<UInt8>
  private(set) var capacity: Int
  var count = 0
  let limit: Int

  init(limit: Int) {
    self.limit = limit
    capacity = 1 << 16
    base = .allocate(capacity: capacity)
  }

  func deallocate() { base.deallocate() }

  /// Makes room for `extra` more bytes, or throws when that would pass the limit.
  @inline(__always)
  mutating func reserve(_ extra: Int) throws(Gzip.Problem) {
    let needed = count + extra
    if needed <= capacity { return }
    guard needed <= limit else { throw .outputLimitExceeded(limit: limit) }
    var newCapacity = capacity
    while newCapacity < needed { newCapacity = newCapacity > limit / 2 ? limit : newCapacity * 2 }
    let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
    grown.update(from: base, count: count)
    base.deallocate()
    base = grown
    capacity = newCapacity
  }

  func array() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

// MARK: - bits

/// Reads DEFLATE's little-endian bit stream from a byte buffer through a 64-bit accumulator.
struct BitReader {
  let input: UnsafeBufferPointer<UInt8>
  var position: Int
  var bits: UInt64 = 0
  var bitCount = 0

  init(_ input: UnsafeBufferPointer<UInt8>, from position: Int) {
    self.input = input
    self.position = position
  }

  /// Tops the accumulator up to at least 57 bits, or as many as the input has left.
  @inline(__always)
  mutating func refill() {
    while bitCount <= 56 && position < input.count {
      bits |= UInt64(input[position]) << UInt64(bitCount)
      position += 1
      bitCount += 8
    }
  }

  /// The next `n` bits (n <= 32) without consuming them, after a refill.
  @inline(__always)
  mutating func peek(_ n: Int) -> UInt32 {
    if bitCount < n { refill() }
    return UInt32(truncatingIfNeeded: bits & ((1 << UInt64(n)) - 1))
  }

  @inline(__always)
  mutating func consume(_ n: Int) throws(Gzip.Problem) {
    guard n <= bitCount else { throw .truncated }
    bits >>= UInt64(n)
    bitCount -= n
  }

  @inline(__always)
  mutating func read(_ n: Int) throws(Gzip.Problem) -> Int {
    if n == 0 { return 0 }
    let v = peek(n)
    try consume(n)
    return Int(v)
  }

  /// Drops the bits up to the next byte boundary (before a stored block).
  mutating func alignToByte() {
    let drop = bitCount % 8
    bits >>= UInt64(drop)
    bitCount -= drop
  }

  /// The input offset of the next unread whole byte (whole bytes still in the accumulator are
  /// given back); used to find the gzip trailer after the last block.
  var alignedPosition: Int { position - bitCount / 8 }
}

// MARK: - Huffman codes

/// A canonical Huffman code: a 10-bit lookup table for the common short codes, and the
/// count/symbol arrays of zlib's `puff` for the longer ones.
struct HuffmanCode {
  static let fastBits = 10
  /// Entry: symbol << 4 | length, or 0 when the code is longer than `fastBits` (or unassigned).
  var fast: [UInt16]
  /// Number of codes of each length 0...15.
  var counts: [Int]
  /// Symbols ordered by code.
  var symbols: [Int]

  /// Builds the code from per-symbol lengths; throws for an over-subscribed set of lengths, and
  /// for an incomplete one unless `allowIncomplete` (RFC 1951 permits one-code distance trees).
  init(lengths: ArraySlice<Int>, allowIncomplete: Bool) throws(Gzip.Problem) {
    counts = [Int](repeating: 0, count: 16)
    for l in lengths { counts[l] += 1 }
    var left = 1
    for len in 1...15 {
      left <<= 1
      left -= counts[len]
      if left < 0 { throw .invalidDeflate("over-subscribed Huffman code") }
    }
    let used = lengths.count - counts[0]
    if left > 0 && !(allowIncomplete || used <= 1) {
      throw .invalidDeflate("incomplete Huffman code")
    }
    var offsets = [Int](repeating: 0, count: 16)
    for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
    symbols = [Int](repeating: 0, count: lengths.count)
    for (symbol, l) in lengths.enumerated() where l != 0 {
      symbols[offsets[l]] = symbol
      offsets[l] += 1
    }
    // canonical codes, MSB first; the table is indexed by the bit-reversed code
    fast = [UInt16](repeating: 0, count: 1 << HuffmanCode.fastBits)
    var code = 0
    var index = 0
    for len in 1...15 {
      for _ in 0..<counts[len] {
        if len <= HuffmanCode.fastBits {
          var reversed = 0
          for b in 0..<len where code & (1 << b) != 0 { reversed |= 1 << (len - 1 - b) }
          let entry = UInt16(symbols[index] << 4 | len)
          var r = reversed
          while r < 1 << HuffmanCode.fastBits {
            fast[r] = entry
            r += 1 << len
          }
        }
        code += 1
        index += 1
      }
      code <<= 1
    }
  }

  /// Decodes one symbol.
  @inline(__always)
  func decode(_ reader: inout BitReader) throws(Gzip.Problem) -> Int {
    let peeked = reader.peek(15)
    let entry = fast[Int(peeked & UInt32((1 << HuffmanCode.fastBits) - 1))]
    if entry != 0 {
      try reader.consume(Int(entry & 15))
      return Int(entry >> 4)
    }
    // slow path (puff's decode): walk the code one bit at a time
    var code = 0
    var first = 0
    var index = 0
    for len in 1...15 {
      code |= Int((peeked >> UInt32(len - 1)) & 1)
      let count = counts[len]
      if code - first < count {
        try reader.consume(len)
        return symbols[index + code - first]
      }
      index += count
      first += count
      first <<= 1
      code <<= 1
    }
    throw reader.bitCount < 15 && reader.position >= reader.input.count
      ? .truncated : .invalidDeflate("invalid Huffman code")
  }
}

// MARK: - inflate

enum Inflater {
  static let lengthBase = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
  ]
  static let lengthExtra = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
  ]
  static let distanceBase = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
  ]
  static let distanceExtra = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
  ]
  /// The order in which code-length code lengths are sent (RFC 1951 3.2.7).
  static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

  static let fixedCodes: (HuffmanCode, HuffmanCode) = {
    var lengths = [Int](repeating: 8, count: 288)
    for i in 144..<256 { lengths[i] = 9 }
    for i in 256..<280 { lengths[i] = 7 }
    let distances = [Int](repeating: 5, count: 30)
    // the fixed codes are valid by construction
    let lit = try! HuffmanCode(lengths: lengths[...], allowIncomplete: false)
    let dist = try! HuffmanCode(lengths: distances[...], allowIncomplete: true)
    return (lit, dist)
  }()

  /// Decodes DEFLATE blocks until the final one, appending to `out`.
  static func inflate(_ reader: inout BitReader, into out: inout OutputBuffer) throws(Gzip.Problem)
  {
    let memberStart = out.count
    var last = false
    while !last {
      last = try reader.read(1) == 1
      switch try reader.read(2) {
      case 0: try stored(&reader, into: &out)
      case 1:
        try codes(&reader, fixedCodes.0, fixedCodes.1, into: &out, memberStart: memberStart)
      case 2:
        let (lit, dist) = try dynamicCodes(&reader)
        try codes(&reader, lit, dist, into: &out, memberStart: memberStart)
      default: throw .invalidDeflate("invalid block type 3")
      }
    }
  }

  private static func stored(_ reader: inout BitReader, into out: inout OutputBuffer)
    throws(Gzip.Problem)
  {
    reader.alignToByte()
    let len = try reader.read(16)
    let nlen = try reader.read(16)
    guard len == ~nlen & 0xffff else {
      throw .invalidDeflate("stored block length does not match its complement")
    }
    try out.reserve(len)
    // whole bytes may still sit in the accumulator
    var remaining = len
    while remaining > 0 && reader.bitCount >= 8 {
      out.base[out.count] = UInt8(try reader.read(8))
      out.count += 1
      remaining -= 1
    }
    guard reader.input.count - reader.position >= remaining else { throw .truncated }
    if remaining > 0 {
      (out.base + out.count).update(
        from: reader.input.baseAddress! + reader.position, count: remaining)
      out.count += remaining
      reader.position += remaining
    }
  }

  private static func dynamicCodes(_ reader: inout BitReader) throws(Gzip.Problem) -> (
    HuffmanCode, HuffmanCode
  ) {
    let nlen = try reader.read(5) + 257
    let ndist = try reader.read(5) + 1
    let ncode = try reader.read(4) + 4
    guard nlen <= 286, ndist <= 30 else {
      throw .invalidDeflate("too many length or distance codes (\(nlen), \(ndist))")
    }
    var codeLengths = [Int](repeating: 0, count: 19)
    for i in 0..<ncode { codeLengths[codeLengthOrder[i]] = try reader.read(3) }
    let lengthCode = try HuffmanCode(lengths: codeLengths[...], allowIncomplete: false)
    var lengths = [Int](repeating: 0, count: nlen + ndist)
    var i = 0
    while i < nlen + ndist {
      let symbol = try lengthCode.decode(&reader)
      if symbol < 16 {
        lengths[i] = symbol
        i += 1
        continue
      }
      var value = 0
      var repeatCount: Int
      switch symbol {
      case 16:
        guard i > 0 else { throw .invalidDeflate("repeat of a code length with no previous one") }
        value = lengths[i - 1]
        repeatCount = 3 + (try reader.read(2))
      case 17: repeatCount = 3 + (try reader.read(3))
      default: repeatCount = 11 + (try reader.read(7))
      }
      guard i + repeatCount <= nlen + ndist else {
        throw .invalidDeflate("code lengths repeat past the end of the table")
      }
      for _ in 0..<repeatCount {
        lengths[i] = value
        i += 1
      }
    }
    guard lengths[256] != 0 else { throw .invalidDeflate("no code for the end of block") }
    let lit = try HuffmanCode(lengths: lengths[0..<nlen], allowIncomplete: false)
    let dist = try HuffmanCode(lengths: lengths[nlen...], allowIncomplete: true)
    return (lit, dist)
  }

  private static func codes(
    _ reader: inout BitReader, _ lit: HuffmanCode, _ dist: HuffmanCode,
    into out: inout OutputBuffer, memberStart: Int
  ) throws(Gzip.Problem) {
    while true {
      let symbol = try lit.decode(&reader)
      if symbol < 256 {
        try out.reserve(1)
        out.base[out.count] = UInt8(truncatingIfNeeded: symbol)
        out.count += 1
        continue
      }
      if symbol == 256 { return }
      let li = symbol - 257
      guard li < 29 else { throw .invalidDeflate("invalid length symbol \(symbol)") }
      let length = lengthBase[li] + (try reader.read(lengthExtra[li]))
      let ds = try dist.decode(&reader)
      guard ds < 30 else { throw .invalidDeflate("invalid distance symbol \(ds)") }
      let distance = distanceBase[ds] + (try reader.read(distanceExtra[ds]))
      guard distance <= out.count - memberStart else {
        throw .invalidDeflate("distance \(distance) reaches before the start of the data")
      }
      try out.reserve(length)
      let dst = out.base + out.count
      let src = dst - distance
      if distance >= length {
        dst.update(from: src, count: length)
      } else if distance == 1 {
        dst.update(repeating: src[0], count: length)
      } else {
        // overlapping copy: the output repeats with period `distance`; copy one period, then
        // double the copied run (each run starts at a multiple of the period)
        dst.update(from: src, count: distance)
        var copied = distance
        while copied < length {
          let run = min(copied, length - copied)
          (dst + copied).update(from: dst, count: run)
          copied += run
        }
      }
      out.count += length
    }
  }
}
