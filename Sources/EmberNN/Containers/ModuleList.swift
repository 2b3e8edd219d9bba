/// Modules held in a list (PyTorch's `nn.ModuleList`): registered as `0`, `1`, ..., iterated in
/// order, with no forward of its own.
public final class ModuleList: Module, RandomAccessCollection {
  public init(_ modules: [Module] = []) {
    super.init()
    for m in modules { append(m) }
  }

  public convenience init(@ModuleListBuilder _ build: () -> [Module]) { self.init(build()) }

  public func append(_ module: Module) { registerModule(String(registeredModules.count), module) }

  public func append<S: Sequence>(contentsOf modules: S) where S.Element: Module {
    for m in modules { append(m) }
  }

  /// Inserts a module before `index`, renumbering those after it (`insert`).
  public func insert(_ module: Module, at index: Int) {
    var list = registeredModules.compactMap(\.value)
    list.insert(module, at: index)
    registeredModules = list.enumerated().map { (String($0.offset), $0.element) }
  }

  public var startIndex: Int { 0 }
  public var endIndex: Int { registeredModules.count }
  public subscript(position: Int) -> Module { registeredModules[position].value! }

  public override func forward(_ input: Tensor) -> Tensor {
    preconditionFailure("ModuleList has no forward: iterate over it and call its modules")
  }

  /// PyTorch's ModuleList repr: runs of consecutive children that print the same are shown once,
  /// as `(0-2): 3 x Linear(...)`.
  override func childDescriptionLines() -> [String] {
    let children = namedChildren()
    var lines: [String] = []
    var i = 0
    while i < children.count {
      let text = children[i].module.description
      var j = i + 1
      while j < children.count && children[j].module.description == text { j += 1 }
      let body = Module.indent(text, by: 2)
      if j - i == 1 {
        lines.append("(\(children[i].name)): \(body)")
      } else {
        lines.append("(\(children[i].name)-\(children[j - 1].name)): \(j - i) x \(body)")
      }
      i = j
    }
    return lines
  }
}

/// Modules by name in insertion order (PyTorch's `nn.ModuleDict`).
public final class ModuleDict: Module {
  public init(_ modules: KeyValuePairs<String, Module> = [:]) {
    super.init()
    for (k, m) in modules { registerModule(k, m) }
  }

  public subscript(key: String) -> Module? {
    get { registeredModules.first { $0.name == key }?.value }
    set { registerModule(key, newValue) }
  }

  public var keys: [String] { registeredModules.filter { $0.value != nil }.map(\.name) }
  public var values: [Module] { registeredModules.compactMap(\.value) }
  public var count: Int { keys.count }

  public override func forward(_ input: Tensor) -> Tensor {
    preconditionFailure("ModuleDict has no forward: look its modules up by key and call them")
  }
}
