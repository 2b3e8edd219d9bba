import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How tensors print (`torch.set_printoptions`).
public struct PrintOptions: Sendable {
  public enum Style: Sendable {
    /// Swift-flavoured metadata: `tensor([1., 2.], requiresGrad: true)`, `gradFn: AddBackward0`.
    case ember
    /// Exactly PyTorch's text: `tensor([1., 2.], requires_grad=True)`, `grad_fn=<AddBackward0>`.
    case pytorch
  }

  /// PyTorch's named presets (`torch.set_printoptions(profile=...)`).
  public enum Profile: Sendable {
    /// precision 4, threshold 1000, edge items 3, line width 80.
    case `default`
    /// precision 2, threshold 1000, edge items 2, line width 80.
    case short
    /// precision 4, never summarized, edge items 3, line width 80.
    case full
  }

  /// Digits after the decimal point (`precision`).
  public var precision = 4
  /// Tensors with more elements than this are summarized with `...` (`threshold`).
  public var threshold = 1000
  /// Items shown at each end of a summarized dimension (`edgeitems`). With 0, PyTorch prints
  /// `[...]` for summarized tensors and adds `size=(...)` to every non-empty tensor.
  public var edgeItems = 3
  /// Characters per line: a row holds `(lineWidth - indent) / (element width + 2)` elements, and
  /// `dtype=`/`grad_fn=` move to a new line when they would pass it (`linewidth`).
  public var lineWidth = 80
  /// Scientific notation: `true` always, `false` never, `nil` PyTorch's choice from the values
  /// (`sci_mode`).
  public var sciMode: Bool? = nil
  public var style = Style.ember

  public init(
    precision: Int = 4, threshold: Int = 1000, edgeItems: Int = 3, lineWidth: Int = 80,
    sciMode: Bool? = nil, style: Style = .ember
  ) {
    self.precision = precision
    self.threshold = threshold
    self.edgeItems = edgeItems
    self.lineWidth = lineWidth
    self.sciMode = sciMode
    self.style = style
  }

  /// The options of one of PyTorch's profiles, `torch.set_printoptions(profile="short")`.
  public init(profile: Profile, style: Style = .ember) {
    switch profile {
    case .default: self.init(style: style)
    case .short: self.init(precision: 2, edgeItems: 2, style: style)
    case .full: self.init(threshold: .max, style: style)
    }
  }

  private static let current = Mutex(PrintOptions())

  /// The process-wide options used by `description`.
  public static var shared: PrintOptions {
    get { current.withLock { $0 } }
    set { current.withLock { $0 = newValue } }
  }
}

extension DType {
  /// PyTorch's name, e.g. `torch.float32`.
  public var pytorchName: String { "torch.\(rawValue)" }
}

extension Tensor: CustomStringConvertible {
  /// PyTorch's text: `tensor([ 8., 13., 20.], requiresGrad: true)`; 4 decimals by default.
  public var description: String { formatted(PrintOptions.shared) }

  /// The tensor's text under the given options. The values are laid out as PyTorch's
  /// `_tensor_str` does (same number format, line breaks and summarization); `.pytorch` also
  /// writes the metadata as PyTorch does, `.ember` in Swift style.
  public func formatted(_ options: PrintOptions) -> String {
    // a Parameter prints as PyTorch's: a header line, then the tensor
    if self is Parameter { return "Parameter containing:\n" + formattedTensor(options) }
    return formattedTensor(options)
  }

  private func formattedTensor(_ options: PrintOptions) -> String {
    let prefix = "tensor("
    let indent = prefix.utf8.count
    let pytorch = options.style == .pytorch
    var suffixes: [String] = []
    let body: String
    let sizeText = pytorch ? "size=\(tupleShape)" : "shape: \(shape)"
    let dtypeText = pytorch ? "dtype=\(dtype.pytorchName)" : "dtype: \(dtype)"
    if count == 0 {
      // PyTorch names the shape unless it is (0,), and any dtype but the default float one.
      body = "[]"
      if rank != 1 { suffixes.append(sizeText) }
      if dtype != .defaultFloat { suffixes.append(dtypeText) }
    } else {
      if options.edgeItems <= 0 { suffixes.append(sizeText) }
      // float32, int64 and bool are the dtypes PyTorch infers from the values.
      if dtype == .float64 { suffixes.append(dtypeText) }
      body = TensorTextLayout(self, options: options).render(indent: indent)
    }
    if let fn = gradFn {
      suffixes.append(pytorch ? "grad_fn=<\(fn.name)>" : "gradFn: \(fn.name)")
    } else if requiresGrad {
      suffixes.append(pytorch ? "requires_grad=True" : "requiresGrad: true")
    }
    if pytorch {
      return Self.addingSuffixes(
        prefix + body, suffixes, indent: indent, lineWidth: options.lineWidth)
    }
    return prefix + ([body] + suffixes).joined(separator: ", ") + ")"
  }

  /// PyTorch's `_add_suffixes`: each suffix follows `, ` or, when the line would pass the line
  /// width, starts a new line under the first bracket. The length of the last line is measured
  /// as PyTorch measures it (two more than its characters).
  private static func addingSuffixes(
    _ text: String, _ suffixes: [String], indent: Int, lineWidth: Int
  ) -> String {
    var out = text
    let bytes = Array(text.utf8)
    let lastNewline = bytes.lastIndex(of: UInt8(ascii: "\n")) ?? -1
    var lastLineLength = bytes.count - lastNewline + 1
    for suffix in suffixes {
      let length = suffix.utf8.count
      if lastLineLength + length + 2 > lineWidth {
        out += ",\n" + String(repeating: " ", count: indent) + suffix
        lastLineLength = indent + length
      } else {
        out += ", " + suffix
        lastLineLength += length + 2
      }
    }
    return out + ")"
  }

  /// The shape as a Python tuple: `(2, 0)`, `(5,)`, `()`.
  private var tupleShape: String {
    "(" + shape.map(String.init).joined(separator: ", ") + (rank == 1 ? ",)" : ")")
  }
}

/// Reads single elements of a tensor's storage by storage offset, in their own type (int64
/// values never pass through Double).
struct ElementReader {
  let storage: Storage
  let dtype: DType

  func double(at offset: Int) -> Double {
    switch dtype {
    case .float32: return Double(storage.pointer(Float.self)[offset])
    case .float64: return storage.pointer(Double.self)[offset]
    case .int64: return Double(storage.pointer(Int64.self)[offset])
    case .bool: return storage.pointer(Bool.self)[offset] ? 1 : 0
    }
  }

  /// The element as PyTorch's `str(value)` writes an integer or bool (floats go through
  /// `ScalarFormatter`).
  func exactText(at offset: Int) -> String {
    switch dtype {
    case .int64: return String(storage.pointer(Int64.self)[offset])
    case .bool: return storage.pointer(Bool.self)[offset] ? "True" : "False"
    case .float32, .float64: return String(double(at: offset))
    }
  }
}

/// PyTorch's `_Formatter`: one number format and width for every element printed.
///
/// For floating dtypes only the non-zero finite values decide: if all are integers the format is
/// `8.` (int mode); scientific notation is chosen when the largest over the smallest magnitude
/// passes 1000, the largest passes 1e8 or the smallest is under 1e-4 (unless the options force it);
/// otherwise fixed point with `precision` digits. The width is the widest of those values, so
/// `nan`, `inf` and `-0.` may stick out. Integers and bools are as wide as the widest value.
struct ScalarFormatter {
  let reader: ElementReader
  let precision: Int
  var intMode = true
  var sciMode = false
  /// The width every element is padded to on the left.
  var width = 1
  private let sciFormat: String
  private let fixedFormat: String

  /// A formatter for the elements at `offsets` (all elements, or only the summary's edges).
  init(reader: ElementReader, offsets: [Int], precision: Int, sciMode forcedSciMode: Bool?) {
    self.reader = reader
    self.precision = precision
    sciFormat = "%.\(precision)e"
    fixedFormat = "%.\(precision)f"
    guard reader.dtype.isFloatingPoint else {
      for offset in offsets { width = max(width, reader.exactText(at: offset).utf8.count) }
      return
    }
    var values: [Double] = []
    values.reserveCapacity(offsets.count)
    for offset in offsets {
      let v = reader.double(at: offset)
      if v.isFinite && v != 0 { values.append(v) }
    }
    guard !values.isEmpty else { return }
    var largest = 0.0
    var smallest = Double.infinity
    for v in values {
      largest = max(largest, abs(v))
      smallest = min(smallest, abs(v))
      if intMode && v != v.rounded(.up) { intMode = false }
    }
    sciMode = forcedSciMode ?? (largest / smallest > 1000 || largest > 1e8 || smallest < 1e-4)
    for v in values {
      let text =
        sciMode
        ? cFormat(sciFormat, v) : intMode ? cFormat("%.0f", v) + "." : cFormat(fixedFormat, v)
      width = max(width, text.utf8.count)
    }
  }

  /// The element at `offset`, padded on the left to `width`.
  func format(at offset: Int) -> String {
    let text: String
    if reader.dtype.isFloatingPoint {
      text = format(reader.double(at: offset))
    } else {
      text = reader.exactText(at: offset)
    }
    let padding = width - text.utf8.count
    return padding > 0 ? String(repeating: " ", count: padding) + text : text
  }

  /// One floating value without padding. Non-finite values print as Python prints them (`nan`
  /// carries no sign) and get no trailing `.` in int mode.
  func format(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    if sciMode { return cFormat(sciFormat, v) }
    if intMode { return cFormat("%.0f", v) + "." }
    return cFormat(fixedFormat, v)
  }
}

/// Nested-bracket layout of a tensor's values: PyTorch's `_tensor_str_with_formatter` and
/// `_vector_str`, with `get_summarized_data` choosing the values the formatter sees.
struct TensorTextLayout {
  let shape: [Int]
  let strides: [Int]
  let storageOffset: Int
  let options: PrintOptions
  let edgeItems: Int
  let summarize: Bool
  let formatter: ScalarFormatter

  init(_ tensor: Tensor, options: PrintOptions) {
    shape = tensor.shape
    strides = tensor.strides
    storageOffset = tensor.storageOffset
    self.options = options
    edgeItems = max(0, options.edgeItems)
    summarize = tensor.count > options.threshold
    var offsets: [Int] = []
    if summarize {
      Self.collectSummarized(
        shape: shape, strides: strides, edgeItems: edgeItems, dim: 0, offset: storageOffset,
        into: &offsets)
    } else {
      offsets.reserveCapacity(tensor.count)
      Self.collectAll(
        shape: shape, strides: strides, dim: 0, offset: storageOffset, into: &offsets)
    }
    formatter = ScalarFormatter(
      reader: ElementReader(storage: tensor.storage, dtype: tensor.dtype), offsets: offsets,
      precision: options.precision, sciMode: options.sciMode)
  }

  /// Storage offsets of every element, row-major.
  static func collectAll(
    shape: [Int], strides: [Int], dim: Int, offset: Int, into offsets: inout [Int]
  ) {
    if dim == shape.count {
      offsets.append(offset)
      return
    }
    for i in 0..<shape[dim] {
      collectAll(
        shape: shape, strides: strides, dim: dim + 1, offset: offset + i * strides[dim],
        into: &offsets)
    }
  }

  /// Storage offsets of the elements PyTorch's `get_summarized_data` keeps: the first and last
  /// `edgeItems` of every dimension longer than twice that. As in PyTorch, a tensor of two or
  /// more dimensions keeps nothing when `edgeItems` is 0 (a vector keeps everything, unprinted).
  static func collectSummarized(
    shape: [Int], strides: [Int], edgeItems: Int, dim: Int, offset: Int,
    into offsets: inout [Int]
  ) {
    let remaining = shape.count - dim
    if remaining == 0 {
      offsets.append(offset)
      return
    }
    if remaining > 1 && edgeItems == 0 { return }
    let n = shape[dim]
    let indices =
      n > 2 * edgeItems && edgeItems > 0
      ? Array(0..<edgeItems) + Array((n - edgeItems)..<n) : Array(0..<n)
    for i in indices {
      let o = offset + i * strides[dim]
      if remaining == 1 {
        offsets.append(o)
      } else {
        collectSummarized(
          shape: shape, strides: strides, edgeItems: edgeItems, dim: dim + 1, offset: o,
          into: &offsets)
      }
    }
  }

  /// The bracketed values; `indent` is the column of the first `[` (7 after `tensor(`).
  func render(indent: Int) -> String {
    render(dim: 0, offset: storageOffset, indent: indent)
  }

  private func render(dim: Int, offset: Int, indent: Int) -> String {
    let remaining = shape.count - dim
    if remaining == 0 { return formatter.format(at: offset) }
    if remaining == 1 {
      return vector(offset: offset, count: shape[dim], stride: strides[dim], indent: indent)
    }
    let n = shape[dim]
    let stride = strides[dim]
    var slices: [String] = []
    func slice(_ i: Int) -> String {
      render(dim: dim + 1, offset: offset + i * stride, indent: indent + 1)
    }
    if summarize && n > 2 * edgeItems {
      slices = (0..<edgeItems).map(slice) + ["..."] + ((n - edgeItems)..<n).map(slice)
    } else {
      slices = (0..<n).map(slice)
    }
    let separator =
      "," + String(repeating: "\n", count: remaining - 1)
      + String(repeating: " ", count: indent + 1)
    return "[" + slices.joined(separator: separator) + "]"
  }

  /// One row: a fixed number of elements per line, `(lineWidth - indent) / (width + 2)`, at
  /// least one; a summarized row is its edges around ` ...`.
  private func vector(offset: Int, count n: Int, stride: Int, indent: Int) -> String {
    let elementLength = formatter.width + 2
    let perLine = max(1, (options.lineWidth - indent) / elementLength)
    func item(_ i: Int) -> String { formatter.format(at: offset + i * stride) }
    let data: [String]
    if summarize && edgeItems == 0 {
      data = ["..."]
    } else if summarize && n > 2 * edgeItems {
      data = (0..<edgeItems).map(item) + [" ..."] + ((n - edgeItems)..<n).map(item)
    } else {
      data = (0..<n).map(item)
    }
    var lines: [String] = []
    var start = 0
    while start < data.count {
      let end = min(start + perLine, data.count)
      lines.append(data[start..<end].joined(separator: ", "))
      start = end
    }
    return "[" + lines.joined(separator: ",\n" + String(repeating: " ", count: indent + 1)) + "]"
  }
}

/// printf-style formatting of one Double without Foundation (any length).
func cFormat(_ format: String, _ value: Double) -> String {
  var buffer = [CChar](repeating: 0, count: 64)
  let needed = withVaList([value]) { args in
    Int(vsnprintf(&buffer, buffer.count, format, args))
  }
  if needed >= buffer.count {
    buffer = [CChar](repeating: 0, count: needed + 1)
    _ = withVaList([value]) { args in
      vsnprintf(&buffer, buffer.count, format, args)
    }
  }
  return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
