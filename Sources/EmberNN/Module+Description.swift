/// The printed form of a module, laid out as PyTorch's `repr(module)`.
extension Module {
  /// PyTorch's `Module.__repr__` layout: the name, then the extra description and the children.
  func defaultDescription() -> String {
    let extra =
      extraDescription.isEmpty ? [] : extraDescription.split(separator: "\n").map(String.init)
    let children = childDescriptionLines()
    var text = typeName + "("
    let lines = extra + children
    if !lines.isEmpty {
      if extra.count == 1 && children.isEmpty {
        text += extra[0]
      } else {
        text += "\n  " + lines.joined(separator: "\n  ") + "\n"
      }
    }
    return text + ")"
  }

  /// `(name): child` lines, each child indented by two spaces after its first line.
  func defaultChildDescriptionLines() -> [String] {
    namedChildren().map { "(\($0.name)): " + Module.indent($0.module.description, by: 2) }
  }

  /// PyTorch's `_addindent`: every line but the first indented.
  static func indent(_ text: String, by spaces: Int) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.count > 1 else { return text }
    let pad = String(repeating: " ", count: spaces)
    return ([String(lines[0])] + lines.dropFirst().map { pad + $0 }).joined(separator: "\n")
  }
}
