/// Graphviz export of the backward graph, in the style of torchviz's `make_dot`.
extension Tensor {
  /// The backward graph that produced this tensor as Graphviz DOT source (torchviz's
  /// `make_dot(var, params)`); render it with `dot -Tsvg graph.dot -o graph.svg`.
  ///
  /// - One gray box per backward node, labelled with its name (`MulBackward0`, `AccumulateGrad`).
  ///   Edges follow `nextFunctions`, pointing in the forward direction (input to consumer).
  /// - Each leaf that receives a gradient is a light-blue box above its `AccumulateGrad`, labelled
  ///   with its name in `params` (else ``name``, else nothing) and its shape, e.g. `w\n (2, 3)`.
  /// - This tensor is a green box (`darkolivegreen1`) with its shape; if it is a view, its base is
  ///   a darker green box linked by a dotted edge.
  /// - Saved tensors of custom functions are orange boxes linked by undirected edges, as in
  ///   torchviz. `showAttributes` adds the saved tensors of every other node too (torchviz's
  ///   `show_saved`) and the non-tensor values of custom functions to their labels (`show_attrs`).
  ///   Saved tensors already freed by a backward are left out.
  ///
  /// Node ids are numbered in visiting order, so the same graph always gives the same text. The
  /// walk is iterative: graphs of any depth are fine.
  public func graphDOT(params: [String: Tensor] = [:], showAttributes: Bool = false) -> String {
    Tensor.graphDOT(of: [self], params: params, showAttributes: showAttributes)
  }

  /// The backward graph of several outputs as one Graphviz DOT document (torchviz's `make_dot`
  /// given a tuple of tensors).
  public static func graphDOT(
    of outputs: [Tensor], params: [String: Tensor] = [:], showAttributes: Bool = false
  ) -> String {
    var builder = DOTBuilder(params: params, showAttributes: showAttributes)
    for output in outputs { builder.addOutput(output) }
    return builder.render()
  }
}

/// Builds torchviz-style DOT text for a backward graph.
private struct DOTBuilder {
  let showAttributes: Bool
  /// Parameter names by tensor identity (the first name in sorted order wins).
  var paramNames: [ObjectIdentifier: String] = [:]
  /// Sequential ids by object identity. `retained` keeps every numbered object alive, so an
  /// identity is never reused by a temporary during the walk.
  var ids: [ObjectIdentifier: Int] = [:]
  var retained: [AnyObject] = []
  var declared = Set<ObjectIdentifier>()
  var body: [String] = []
  /// Saved tensors met during the walk, declared at the end so that a tensor which is also a leaf
  /// or an output keeps that role: (tensor, label name, node id).
  var savedLinks: [(tensor: Tensor, name: String, node: Int)] = []

  init(params: [String: Tensor], showAttributes: Bool) {
    self.showAttributes = showAttributes
    for key in params.keys.sorted() {
      let id = ObjectIdentifier(params[key]!)
      if paramNames[id] == nil { paramNames[id] = key }
    }
  }

  mutating func id(_ object: AnyObject) -> Int {
    let key = ObjectIdentifier(object)
    if let existing = ids[key] { return existing }
    let new = ids.count
    ids[key] = new
    retained.append(object)
    return new
  }

  /// torchviz's `size_to_str`: `(2, 3)`, `(3)`, `()`.
  static func sizeString(_ shape: [Int]) -> String {
    "(" + shape.map(String.init).joined(separator: ", ") + ")"
  }

  /// A DOT double-quoted string; `\n` in `text` becomes a Graphviz line break.
  static func quoted(_ text: String) -> String {
    var out = "\""
    for c in text {
      switch c {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": break
      default: out.append(c)
      }
    }
    return out + "\""
  }

  /// torchviz's `get_var_name`: the name (from params, else `tensor.name`), a line break, a space
  /// and the shape.
  func varLabel(_ t: Tensor, name: String? = nil) -> String {
    let n = name ?? paramNames[ObjectIdentifier(t)] ?? t.name ?? ""
    return n + "\n " + DOTBuilder.sizeString(t.shape)
  }

  mutating func declareTensor(_ t: Tensor, label: String, color: String) {
    let i = id(t)
    guard declared.insert(ObjectIdentifier(t)).inserted else { return }
    body.append("\t\(i) [label=\(DOTBuilder.quoted(label)) fillcolor=\(color)]")
  }

  mutating func edge(_ from: Int, _ to: Int, _ attributes: String = "") {
    body.append("\t\(from) -> \(to)" + (attributes.isEmpty ? "" : " [\(attributes)]"))
  }

  /// torchviz's `add_base_tensor`: the output, its history and, for a view, its base.
  mutating func addOutput(_ output: Tensor) {
    var current: Tensor? = output
    var color = "darkolivegreen1"
    var child: Int? = nil
    while let t = current {
      let key = ObjectIdentifier(t)
      let alreadySeen = declared.contains(key)
      declareTensor(t, label: varLabel(t), color: color)
      let tid = id(t)
      if let c = child { edge(tid, c, "style=dotted") }
      if alreadySeen { break }
      if let fn = t.gradFn {
        addNodes(fn)
        edge(id(fn), tid)
      }
      current = t.viewBase
      color = "darkolivegreen3"
      child = tid
    }
  }

  /// torchviz's `add_nodes`, with an explicit stack instead of recursion.
  mutating func addNodes(_ root: Node) {
    var stack: [Node] = [root]
    while let fn = stack.popLast() {
      guard declared.insert(ObjectIdentifier(fn)).inserted else { continue }
      let fid = id(fn)
      if let acc = fn as? AccumulateGrad {
        let v = acc.variable
        declareTensor(v, label: varLabel(v), color: "lightblue")
        edge(id(v), fid)
      }
      body.append("\t\(fid) [label=\(DOTBuilder.quoted(nodeLabel(fn)))]")
      // children are visited in order: push them reversed
      var children: [Node] = []
      for e in fn.nextEdges {
        guard let next = e.node else { continue }
        edge(id(next), fid)
        children.append(next)
      }
      stack.append(contentsOf: children.reversed())
      if fn is CustomFunctionNode || showAttributes {
        for (k, s) in fn.saved.enumerated() {
          guard let t = try? s.unpack(for: fn), t !== Tensor.placeholder else { continue }
          savedLinks.append((t, t.gradFn === fn ? "result" : "saved \(k)", fid))
        }
      }
    }
  }

  /// torchviz's `get_fn_name`: the node name and, with `showAttributes`, a table of the custom
  /// function's non-tensor values.
  func nodeLabel(_ fn: Node) -> String {
    guard showAttributes, let custom = fn as? CustomFunctionNode, !custom.context.values.isEmpty
    else { return fn.name }
    let maxChars = 50
    let attrs = custom.context.values.keys.sorted().map { ($0, "\(custom.context.values[$0]!)") }
    let col1 = attrs.map { $0.0.count }.max()!
    let col2 = min(attrs.map { $0.1.count }.max()!, maxChars)
    let separator = String(repeating: "-", count: max(col1 + col2 + 2, fn.name.count))
    let rows = attrs.map { key, value -> String in
      let v = value.count > col2 ? String(value.prefix(col2 - 3)) + "..." : value
      let paddedKey = key + String(repeating: " ", count: col1 - key.count)
      return paddedKey + ": " + String(repeating: " ", count: col2 - v.count) + v
    }
    return fn.name + "\n" + separator + "\n" + rows.joined(separator: "\n")
  }

  mutating func render() -> String {
    for link in savedLinks {
      let named = paramNames[ObjectIdentifier(link.tensor)] ?? link.tensor.name
      declareTensor(
        link.tensor, label: varLabel(link.tensor, name: named ?? link.name), color: "orange")
      edge(id(link.tensor), link.node, "dir=none")
    }
    savedLinks = []
    // torchviz's resize_graph: 0.15 inch per body line, at least 12
    let content = Double(body.count) * 0.15
    let size = content > 12 ? "\(content)" : "12"
    var text = "digraph {\n"
    text += "\tgraph [size=\"\(size),\(size)\"]\n"
    text +=
      "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n"
    text.reserveCapacity(text.utf8.count + body.reduce(0) { $0 + $1.utf8.count + 1 } + 2)
    for line in body {
      text += line
      text += "\n"
    }
    text += "}\n"
    return text
  }
}
