/// Modules applied one after another (PyTorch's `nn.Sequential`); their keys are `0`, `1`, ...
/// (or the names given), so state-dict keys are PyTorch's (`0.weight`, `2.bias`).
///
/// ```swift
/// let mlp = Sequential(Flatten(), Linear(784, 128), ReLU(), Linear(128, 10))
/// let same = Sequential {
///   Flatten()
///   Linear(784, 128)
///   ReLU()
///   Linear(128, 10)
/// }
/// ```
public final class Sequential: Module {
  public init(_ modules: [Module]) {
    super.init()
    for m in modules { append(m) }
  }

  public convenience init(_ modules: Module...) { self.init(modules) }

  /// Built with a result builder, one module a line.
  public convenience init(@ModuleListBuilder _ build: () -> [Module]) { self.init(build()) }

  /// Named modules in order (PyTorch's `Sequential(OrderedDict(...))`).
  public init(named modules: KeyValuePairs<String, Module>) {
    super.init()
    for (name, m) in modules { registerModule(name, m) }
  }

  /// Adds a module at the end (`append`).
  @discardableResult
  public func append(_ module: Module) -> Self {
    registerModule(String(registeredModules.count), module)
    return self
  }

  public var count: Int { registeredModules.count }

  public subscript(index: Int) -> Module {
    let i = index < 0 ? index + count : index
    precondition(i >= 0 && i < count, "Sequential: index \(index) is out of range")
    return registeredModules[i].value!
  }

  /// The modules in order.
  public var layers: [Module] { registeredModules.compactMap(\.value) }

  public override func forward(_ input: Tensor) -> Tensor {
    var x = input
    for (_, m) in registeredModules {
      if let m { x = m(x) }
    }
    return x
  }
}

/// Collects modules written one per line into an array (for ``Sequential`` and ``ModuleList``).
@resultBuilder
public enum ModuleListBuilder {
  public static func buildExpression(_ module: Module) -> [Module] { [module] }
  public static func buildExpression(_ modules: [Module]) -> [Module] { modules }
  public static func buildBlock(_ parts: [Module]...) -> [Module] { parts.flatMap { $0 } }
  public static func buildOptional(_ part: [Module]?) -> [Module] { part ?? [] }
  public static func buildEither(first: [Module]) -> [Module] { first }
  public static func buildEither(second: [Module]) -> [Module] { second }
  public static func buildArray(_ parts: [[Module]]) -> [Module] { parts.flatMap { $0 } }
}
