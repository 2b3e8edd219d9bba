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
  /// Digits after the decimal point.
  public var precision = 4
  /// Tensors with more elements than this are summarized with `...`.
  public var threshold = 1000
  /// Items shown at each end of a summarized dimension.
  public var edgeItems = 3
  public var style = Style.ember

  public init(precision: Int = 4, threshold: Int = 1000, edgeItems: Int = 3, style: Style = .ember)
  {
    self.precision = precision
    self.threshold = threshold
    self.edgeItems = edgeItems
    self.style = style
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
  /// PyTorch-like text: `tensor([ 8., 13., 20.], requiresGrad: true)`; 4 decimals by default.
  public var description: String { formatted(PrintOptions.shared) }

  /// The tensor's text under the given options.
  public func formatted(_ options: PrintOptions) -> String {
    let values = contiguousCopyIfNeeded().toArray()
    let summarize = count > options.threshold
    let formatter = ScalarFormatter(values: values, dtype: dtype, precision: options.precision)
    let indent = 7  // "tensor("
    var body: String
    if rank == 0 {
      body = formatter.format(values.first ?? 0, padded: false)
    } else {
      body = TensorTextLayout(
        shape: shape, values: values, formatter: formatter, summarize: summarize,
        edgeItems: options.edgeItems
      ).render(dim: 0, offset: 0, indent: indent)
    }
    var extras: [String] = []
    let showDType = dtype == .float64 || (count == 0 && dtype != .defaultFloat)
    switch options.style {
    case .pytorch:
      if showDType { extras.append("dtype=\(dtype.pytorchName)") }
      if let fn = gradFn {
        extras.append("grad_fn=<\(fn.name)>")
      } else if requiresGrad {
        extras.append("requires_grad=True")
      }
    case .ember:
      if showDType { extras.append("dtype: \(dtype)") }
      if let fn = gradFn {
        extras.append("gradFn: \(fn.name)")
      } else if requiresGrad {
        extras.append("requiresGrad: true")
      }
    }
    if count == 0 && rank > 0 && shape != [0] {
      extras.insert(options.style == .pytorch ? "size=\(tupleShape)" : "shape: \(shape)", at: 0)
    }
    if !extras.isEmpty { body += ", " + extras.joined(separator: ", ") }
    return "tensor(\(body))"
  }

  private var tupleShape: String {
    "(" + shape.map(String.init).joined(separator: ", ") + (rank == 1 ? ",)" : ")")
  }
}

/// Formats every element the same way PyTorch's `_Formatter` does: integers-valued floats as
/// `8.`, fixed point with `precision` digits, or scientific when the range is wide.
struct ScalarFormatter {
  let dtype: DType
  let precision: Int
  var intMode = true
  var sciMode = false
  var width = 1

  init(values: [Double], dtype: DType, precision: Int) {
    self.dtype = dtype
    self.precision = precision
    guard dtype.isFloatingPoint else {
      width = values.map { format($0, padded: false).count }.max() ?? 1
      return
    }
    let finite = values.filter { $0.isFinite && $0 != 0 }.map { abs($0) }
    intMode = finite.allSatisfy { $0 == $0.rounded(.up) }
    if let mx = finite.max(), let mn = finite.min() {
      if intMode {
        sciMode = mx / mn > 1000 || mx > 1e8
      } else {
        sciMode = mx / mn > 1000 || mx > 1e8 || mn < 1e-4
      }
    }
    width = values.map { format($0, padded: false).count }.max() ?? 1
  }

  func format(_ v: Double, padded: Bool = true) -> String {
    var s: String
    switch dtype {
    case .bool: s = v != 0 ? "True" : "False"
    case .int64: s = String(Int64(v))
    case .float32, .float64:
      if v.isNaN {
        s = "nan"
      } else if v.isInfinite {
        s = v > 0 ? "inf" : "-inf"
      } else if sciMode {
        s = cFormat("%.\(precision)e", v)
      } else if intMode {
        s = cFormat("%.0f", v) + "."
      } else {
        s = cFormat("%.\(precision)f", v)
      }
    }
    if padded && s.count < width { s = String(repeating: " ", count: width - s.count) + s }
    return s
  }
}

/// Nested-bracket layout of a tensor's values, with PyTorch's line breaks and summarization.
struct TensorTextLayout {
  let shape: [Int]
  let values: [Double]
  let formatter: ScalarFormatter
  let summarize: Bool
  let edgeItems: Int

  func render(dim: Int, offset: Int, indent: Int) -> String {
    let n = shape[dim]
    let stride = shape[(dim + 1)...].reduce(1, *)
    var indices: [Int?] = Array(0..<n)
    if summarize && n > 2 * edgeItems {
      indices = Array(0..<edgeItems) + [nil] + Array((n - edgeItems)..<n)
    }
    if dim == shape.count - 1 {
      let items = indices.map { i in i.map { formatter.format(values[offset + $0]) } ?? " ..." }
      return "[" + wrap(items, indent: indent + 1) + "]"
    }
    let sep =
      "," + String(repeating: "\n", count: shape.count - dim - 1)
      + String(repeating: " ", count: indent + 1)
    let parts = indices.map { i in
      i.map { render(dim: dim + 1, offset: offset + $0 * stride, indent: indent + 1) } ?? "..."
    }
    return "[" + parts.joined(separator: sep) + "]"
  }

  /// Joins row items with ", ", breaking lines at PyTorch's default line width (80).
  private func wrap(_ items: [String], indent: Int) -> String {
    let lineWidth = 80
    var lines: [String] = []
    var current = ""
    for (k, item) in items.enumerated() {
      let piece = item + (k < items.count - 1 ? "," : "")
      if !current.isEmpty && current.count + 1 + piece.count + indent > lineWidth {
        lines.append(current)
        current = piece
      } else {
        current += (current.isEmpty ? "" : " ") + piece
      }
    }
    lines.append(current)
    return lines.joined(separator: "\n" + String(repeating: " ", count: indent))
  }
}

/// printf-style formatting of one Double without Foundation.
func cFormat(_ format: String, _ value: Double) -> String {
  var buffer = [CChar](repeating: 0, count: 64)
  _ = withVaList([value]) { args in
    vsnprintf(&buffer, buffer.count, format, args)
  }
  return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
