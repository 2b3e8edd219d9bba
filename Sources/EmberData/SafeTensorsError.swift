/// A safetensors file that could not be read or written: the file, and what is wrong.
///
/// The problems follow the reference reader's checks (huggingface/safetensors `read_metadata`,
/// `Metadata::validate`), with the numbers that explain them.
public struct SafeTensorsError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file's path.
  public let file: String
  public let problem: Problem

  public init(file: String, problem: Problem) {
    self.file = file
    self.problem = problem
  }

  public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read (the system's reason).
    case unreadable(String)
    /// Shorter than the 8-byte header length (`HeaderTooSmall`).
    case headerTooSmall(fileSize: Int)
    /// The header length is over the 100,000,000-byte limit (`HeaderTooLarge`).
    case headerTooLarge(headerSize: UInt64)
    /// The header length runs past the end of the file (`InvalidHeaderLength`).
    case invalidHeaderLength(headerSize: UInt64, fileSize: Int)
    /// The header is not UTF-8 (`InvalidHeader`).
    case invalidUTF8(offset: Int)
    /// The header is not well-formed JSON (`InvalidHeaderDeserialization`).
    case invalidJSON(String)
    /// The JSON is not a safetensors header: not an object, or `__metadata__` not a map of
    /// strings to strings.
    case invalidHeader(String)
    /// A tensor's entry lacks a field or has one of the wrong type.
    case invalidTensorInfo(tensor: String, reason: String)
    /// A dtype safetensors does not define (an `unknown variant` for the reference reader).
    case unknownDType(tensor: String, dtype: String)
    /// Two entries with the same name (the format forbids it; the reference reader keeps the
    /// last one, Ember refuses the file).
    case duplicateName(String)
    /// Sorted by offset, a tensor does not start where the previous one ends, or ends before it
    /// starts: a gap or an overlap (`InvalidOffset`).
    case invalidOffset(tensor: String, begin: Int, end: Int, expectedBegin: Int)
    /// The element count times the dtype's size overflows (`ValidationOverflow`).
    case overflow(tensor: String)
    /// The tensor's size in bits is not a whole number of bytes (`MisalignedSlice`).
    case misaligned(tensor: String)
    /// The offsets span a different number of bytes than shape x dtype size (`TensorInvalidInfo`).
    case sizeMismatch(tensor: String, expectedBytes: Int, actualBytes: Int)
    /// The file ends before the data the header describes (`MetadataIncompleteBuffer`).
    case truncated(expectedSize: Int, fileSize: Int)
    /// Bytes after the data the header describes (`MetadataIncompleteBuffer`).
    case trailingBytes(count: Int)
    /// A dtype Ember has no tensor type for, or one that needs a conversion the caller did not
    /// ask for (the hint says which argument allows it).
    case unsupportedDType(tensor: String, dtype: String, hint: String)
    /// Writing failed (the system's reason); the previous file, if any, is unchanged.
    case writeFailed(String)

    public var description: String {
      switch self {
      case .unreadable(let why): return why
      case .headerTooSmall(let size):
        return "header too small: the file has \(size) bytes, fewer than the 8 of the header length"
      case .headerTooLarge(let n):
        return "header too large: \(n) bytes, the limit is 100000000"
      case .invalidHeaderLength(let n, let size):
        return
          "invalid header length: the header claims \(n) bytes but the file has only \(max(size - 8, 0)) after the length"
      case .invalidUTF8(let offset):
        return "invalid header: not UTF-8 (byte \(offset) of the header)"
      case .invalidJSON(let why): return "invalid JSON in header: \(why)"
      case .invalidHeader(let why): return "invalid header: \(why)"
      case .invalidTensorInfo(let t, let why): return "invalid entry for tensor '\(t)': \(why)"
      case .unknownDType(let t, let d): return "unknown dtype '\(d)' for tensor '\(t)'"
      case .duplicateName(let n): return "duplicate tensor name '\(n)' in the header"
      case .invalidOffset(let t, let b, let e, let expected):
        return
          "invalid offset for tensor '\(t)': data_offsets [\(b), \(e)], but the previous tensor ends at \(expected) (a gap or an overlap)"
      case .overflow(let t): return "tensor '\(t)': its size overflows"
      case .misaligned(let t): return "tensor '\(t)': its size is not a whole number of bytes"
      case .sizeMismatch(let t, let expected, let actual):
        return
          "invalid shape, data type, or offset for tensor '\(t)': shape and dtype need \(expected) bytes, data_offsets span \(actual)"
      case .truncated(let expected, let size):
        return
          "incomplete metadata, file not fully covered: the header describes \(expected) bytes, the file has \(size) (truncated)"
      case .trailingBytes(let count):
        return
          "incomplete metadata, file not fully covered: \(count) bytes after the data the header describes"
      case .unsupportedDType(let t, let d, let hint): return "tensor '\(t)' has dtype \(d): \(hint)"
      case .writeFailed(let why): return "cannot write: \(why)"
      }
    }
  }

  public var description: String { "\(file): \(problem)" }
}
