/// The base class of every layer and model (PyTorch's `nn.Module`).
///
/// Subclass it, keep layers, parameters and buffers in plain stored properties, and override
/// ``forward(_:)``. Properties are found by reflection in declaration order (superclass first):
/// a ``Parameter``, a `Module`, an optional of either, a Swift array of modules or parameters
/// (registered as `name.0`, `name.1`, ..., so a layer kept in a plain array is trained, unlike
/// PyTorch's plain lists), and ``Buffer``-wrapped tensors. A plain `Tensor` property is not
/// registered, as in PyTorch.
///
/// ```swift
/// final class Net: Module {
///   let fc1 = Linear(784, 128)
///   let fc2 = Linear(128, 10)
///   override func forward(_ x: Tensor) -> Tensor { fc2(fc1(x.flatten(startDim: 1)).relu()) }
/// }
/// ```
open class Module: CustomStringConvertible {
  /// Whether the module is in training mode (PyTorch's `training`); see ``train(_:)``.
  public internal(set) var isTraining = true

  // Members registered by name at run time (PyTorch's register_parameter / register_buffer /
  // add_module), after the reflected properties; containers and RNNs keep theirs here.
  var registeredParameters: [(name: String, value: Parameter?)] = []
  var registeredBuffers: [(name: String, value: Tensor?, persistent: Bool)] = []
  var registeredModules: [(name: String, value: Module?)] = []

  var forwardPreHooks: [(id: Int, hook: (Module, Tensor) -> Tensor?)] = []
  var forwardHooks: [(id: Int, hook: (Module, Tensor, Tensor) -> Tensor?)] = []
  var nextHookID = 0

  public init() {}

  /// The computation of the module. Subclasses override it; call the module itself
  /// (`model(x)`) so hooks run.
  open func forward(_ input: Tensor) -> Tensor {
    preconditionFailure(
      "\(typeName).forward(_:) is not implemented: override forward(_ input: Tensor) -> Tensor")
  }

  /// No forward hooks or pre-hooks: calling the module runs `forward` alone.
  var runsForwardAlone: Bool { forwardPreHooks.isEmpty && forwardHooks.isEmpty }

  /// Runs forward pre-hooks, ``forward(_:)`` and forward hooks (`module(input)`).
  public func callAsFunction(_ input: Tensor) -> Tensor {
    var x = input
    for (_, hook) in forwardPreHooks {
      if let replaced = hook(self, x) { x = replaced }
    }
    var y = forward(x)
    for (_, hook) in forwardHooks {
      if let replaced = hook(self, x, y) { y = replaced }
    }
    return y
  }

  /// The type's name, as PyTorch's `_get_name()` (used by the printed form and messages).
  open var typeName: String { String(describing: type(of: self)) }

  /// What the module prints inside its parentheses (PyTorch's `extra_repr`). Layers override it,
  /// e.g. `in_features=784, out_features=128, bias=True`.
  open var extraDescription: String { "" }

  /// The printed form, laid out as PyTorch's `repr(module)`.
  open var description: String { defaultDescription() }

  /// The `(name): child` lines of the printed form (ModuleList folds repeated children).
  func childDescriptionLines() -> [String] { defaultChildDescriptionLines() }

  // MARK: registration by name

  /// Adds a parameter under `name` (PyTorch's `register_parameter`); nil registers an absent one.
  public func registerParameter(_ name: String, _ parameter: Parameter?) {
    Module.checkName(name, kind: "parameter")
    if let i = registeredParameters.firstIndex(where: { $0.name == name }) {
      registeredParameters[i].value = parameter
    } else {
      registeredParameters.append((name, parameter))
    }
  }

  /// Adds a buffer under `name` (PyTorch's `register_buffer`).
  public func registerBuffer(_ name: String, _ tensor: Tensor?, persistent: Bool = true) {
    Module.checkName(name, kind: "buffer")
    if let i = registeredBuffers.firstIndex(where: { $0.name == name }) {
      registeredBuffers[i] = (name, tensor, persistent)
    } else {
      registeredBuffers.append((name, tensor, persistent))
    }
  }

  /// Adds a submodule under `name` (PyTorch's `add_module` / `register_module`).
  public func registerModule(_ name: String, _ module: Module?) {
    Module.checkName(name, kind: "module")
    if let i = registeredModules.firstIndex(where: { $0.name == name }) {
      registeredModules[i].value = module
    } else {
      registeredModules.append((name, module))
    }
  }

  /// The registered parameter, buffer or submodule called `name`, if any.
  public func registeredParameter(_ name: String) -> Parameter? {
    registeredParameters.first { $0.name == name }?.value
  }

  public func registeredBuffer(_ name: String) -> Tensor? {
    registeredBuffers.first { $0.name == name }?.value
  }

  private static func checkName(_ name: String, kind: String) {
    precondition(!name.isEmpty, "register: \(kind) name can't be empty string \"\"")
    precondition(
      !name.contains("."), "register: \(kind) name can't contain \".\" (got \"\(name)\")")
  }

  // MARK: hooks

  /// Registers a hook run before ``forward(_:)`` with the module and its input; returning a
  /// tensor replaces the input (`register_forward_pre_hook`).
  @discardableResult
  public func registerForwardPreHook(_ hook: @escaping (Module, Tensor) -> Tensor?)
    -> RemovableHandle
  {
    let id = nextHookID
    nextHookID += 1
    forwardPreHooks.append((id, hook))
    return RemovableHandle { [weak self] in self?.forwardPreHooks.removeAll { $0.id == id } }
  }

  /// Registers a hook run after ``forward(_:)`` with the module, its input and its output;
  /// returning a tensor replaces the output (`register_forward_hook`).
  @discardableResult
  public func registerForwardHook(_ hook: @escaping (Module, Tensor, Tensor) -> Tensor?)
    -> RemovableHandle
  {
    let id = nextHookID
    nextHookID += 1
    forwardHooks.append((id, hook))
    return RemovableHandle { [weak self] in self?.forwardHooks.removeAll { $0.id == id } }
  }

  // MARK: modes and bulk changes

  /// Sets training mode on this module and every submodule (`train(mode)`).
  @discardableResult
  public func train(_ mode: Bool = true) -> Self {
    for m in modules() { m.isTraining = mode }
    return self
  }

  /// Evaluation mode: dropout off, batch norm uses its running statistics (`eval()`).
  @discardableResult
  public func eval() -> Self { train(false) }

  /// Calls `body` on every submodule (children first, depth first) and then on this module
  /// (`apply(fn)`), e.g. to initialize weights.
  @discardableResult
  public func apply(_ body: (Module) throws -> Void) rethrows -> Self {
    for child in children() { try child.apply(body) }
    try body(self)
    return self
  }

  /// Sets every parameter's `.grad` to nil (`zero_grad()`, PyTorch 2's `set_to_none=True`).
  public func zeroGrad() {
    for p in parameters() { p.grad = nil }
  }

  /// Makes every parameter require grad or not, to freeze or unfreeze (`requires_grad_(flag)`).
  @discardableResult
  public func requiresGrad(_ flag: Bool = true) -> Self {
    for p in parameters() { p.requiresGrad = flag }
    return self
  }

  /// Converts floating-point parameters and buffers to `dtype`, keeping each parameter's
  /// identity (`to(dtype)`): optimizers made before still see them. Gradients are converted too.
  @discardableResult
  public func to(_ dtype: DType) -> Self {
    precondition(
      dtype.isFloatingPoint,
      "Module.to: nn.Module.to only accepts floating point dtypes, but got desired dtype=\(dtype)")
    for (_, p) in namedParameters(removingDuplicates: true) where p.dtype.isFloatingPoint {
      p.data = p.data.to(dtype)
      if let g = p.grad { p.grad = g.to(dtype) }
    }
    for (_, b) in namedBuffers() where b.dtype.isFloatingPoint {
      b.data = b.data.to(dtype)
    }
    return self
  }
}
