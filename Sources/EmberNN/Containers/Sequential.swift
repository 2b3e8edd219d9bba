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
      guard let m else { continue }
      if let activation = m as? InPlaceActivation, x !== input, m.runsForwardAlone,
        !x.requiresGrad, x.isContiguous, Tensor.isSolelyOwned(&x)
      {
        // An intermediate result only this loop holds, with no graph to record (contiguous, so
        // no two elements share memory): the activation overwrites it (the same kernel, the
        // same values) instead of making a second buffer, as its `inplace: true` form would.
        // The MNIST MLP's test pass (10,000 rows, no grad) held its first layer's 19.5 MB
        // output and the ReLU's 19.5 MB result at once; with this it holds that output and the
        // next layer's 9.8 MB one (`ember-bench mnist` peak RSS 279.6 -> 270.1 MB, native GEMM;
        // accuracy unchanged).
        _ = activation.forwardInPlace(x)
        continue
      }
      x = m(x)
    }
    return x
  }
}

/// A layer that can compute its elementwise result in place (`inplace=True` in PyTorch; its
/// `forward` with `inplace` runs this): ``Sequential`` uses it on intermediate results nothing
/// else holds.
protocol InPlaceActivation {
  /// Overwrites `input` with the layer's result and returns it.
  func forwardInPlace(_ input: Tensor) -> Tensor
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
