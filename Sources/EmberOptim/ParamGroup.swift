/// Parameters optimized together with their own hyperparameters (one entry of PyTorch's
/// `optimizer.param_groups`).
///
/// Hyperparameters are kept by PyTorch's keys (`"lr"`, `"momentum"`, `"weight_decay"`,
/// `"betas"`, ...), as data, the way state-dict keys keep PyTorch's names. Keys a group does not
/// set take the optimizer's defaults when the group is added.
///
/// ```swift
/// let optimizer = SGD([
///   ParamGroup(model.body.namedParameters(prefix: "body")),
///   ParamGroup(model.head.namedParameters(prefix: "head"), ["lr": 0.001]),
/// ], lr: 0.01, momentum: 0.9)
/// optimizer.paramGroups[1].lr = 0.0005
/// ```
public struct ParamGroup {
  /// The tensors this group updates (each a leaf; usually ``Parameter``s).
  public let params: [Tensor]
  /// Their names when the group was made from a module's `namedParameters()` (PyTorch's
  /// `param_names`); the optimizer's state dict is then keyed by these names.
  public let paramNames: [String]?
  /// The hyperparameters by PyTorch's keys.
  public var options: [String: Hyperparameter]

  /// A group of unnamed tensors (the optimizer's state dict is keyed by position).
  public init(_ params: [Tensor], _ options: [String: Hyperparameter] = [:]) {
    self.params = params
    self.paramNames = nil
    self.options = options
    ParamGroup.checkKeys(options)
  }

  /// A group of named parameters, e.g. `model.namedParameters()` (the state dict is keyed by name).
  public init<P: Tensor>(
    _ namedParams: [(name: String, parameter: P)], _ options: [String: Hyperparameter] = [:]
  ) {
    self.params = namedParams.map(\.parameter)
    self.paramNames = namedParams.map(\.name)
    self.options = options
    ParamGroup.checkKeys(options)
  }

  private static func checkKeys(_ options: [String: Hyperparameter]) {
    precondition(
      options["params"] == nil && options["param_names"] == nil,
      "ParamGroup: \"params\" and \"param_names\" are not hyperparameters; pass the tensors as the first argument"
    )
  }

  /// The hyperparameter called `key`, or nil.
  public subscript(key: String) -> Hyperparameter? {
    get { options[key] }
    set { options[key] = newValue }
  }

  /// The learning rate (`group["lr"]`).
  public var lr: Double {
    get { number("lr") }
    set { options["lr"] = .number(newValue) }
  }

  /// The number called `key`; stops when the group has none (a flag counts as 0 or 1).
  public func number(_ key: String) -> Double {
    switch options[key] {
    case .number(let v): return v
    case .flag(let v): return v ? 1 : 0
    case .numbers(let v): preconditionFailure("ParamGroup: \"\(key)\" is a list \(v), not a number")
    case nil: preconditionFailure("ParamGroup: no hyperparameter \"\(key)\" in this group")
    }
  }

  /// The flag called `key`; stops when the group has none (a number counts as true when nonzero).
  public func flag(_ key: String) -> Bool {
    switch options[key] {
    case .flag(let v): return v
    case .number(let v): return v != 0
    case .numbers(let v): preconditionFailure("ParamGroup: \"\(key)\" is a list \(v), not a flag")
    case nil: preconditionFailure("ParamGroup: no hyperparameter \"\(key)\" in this group")
    }
  }

  /// The list called `key` (e.g. `"betas"`); stops when the group has none.
  public func numbers(_ key: String) -> [Double] {
    switch options[key] {
    case .numbers(let v): return v
    case .number(let v): return [v]
    case .flag(let v): preconditionFailure("ParamGroup: \"\(key)\" is a flag \(v), not a list")
    case nil: preconditionFailure("ParamGroup: no hyperparameter \"\(key)\" in this group")
    }
  }
}

/// One parameter's optimizer state (PyTorch's `optimizer.state[p]`): named tensors such as
/// `"momentum_buffer"`, `"exp_avg"` and `"exp_avg_sq"`, and the number of updates so far.
///
/// It is a class: an optimizer's ``Optimizer/update(parameter:grad:state:group:)`` changes it in
/// place. Tensor names are PyTorch's and cannot contain `"."` (they end the state dict's keys).
public final class ParameterState {
  /// How many updates this parameter received, this one included while
  /// ``Optimizer/update(parameter:grad:state:group:)`` runs (PyTorch's `state["step"]`).
  public var step = 0
  public private(set) var keys: [String] = []
  private var tensors: [String: Tensor] = [:]

  public init() {}

  /// The state tensor called `key`, or nil; assigning nil removes it.
  public subscript(key: String) -> Tensor? {
    get { tensors[key] }
    set {
      precondition(
        !key.isEmpty && !key.contains(".") && key != "step",
        "ParameterState: a state tensor's name must be non-empty, without \".\", and not \"step\" (got \"\(key)\")"
      )
      if let newValue {
        if tensors.updateValue(newValue, forKey: key) == nil { keys.append(key) }
      } else if tensors.removeValue(forKey: key) != nil {
        keys.removeAll { $0 == key }
      }
    }
  }

  /// True before the first update (no step and no tensors).
  public var isEmpty: Bool { step == 0 && keys.isEmpty }

  /// The tensor called `key`, made with `make` the first time (lazy state initialization).
  public func tensor(_ key: String, orMake make: () -> Tensor) -> Tensor {
    if let t = tensors[key] { return t }
    let t = make()
    self[key] = t
    return t
  }
}
