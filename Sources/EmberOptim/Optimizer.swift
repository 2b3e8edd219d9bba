/// The base class of every optimizer (PyTorch's `torch.optim.Optimizer`): parameter groups with
/// their hyperparameters, per-parameter state, `step()`, `zeroGrad()` and state dicts.
///
/// A subclass writes its rule in one method, ``update(parameter:grad:state:group:)``, called by
/// ``step()`` under no-grad for every parameter that has a gradient:
///
/// ```swift
/// final class SignSGD: Optimizer {
///   init(_ params: [Tensor], lr: Double) {
///     super.init([ParamGroup(params)], defaults: ["lr": .number(lr)])
///   }
///   override func update(
///     parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup
///   ) throws {
///     try parameter.subInPlace(grad.sign() * group.lr)
///   }
/// }
/// ```
open class Optimizer: CustomStringConvertible {
  /// The groups, in order (`param_groups`). Change hyperparameters in place:
  /// `optimizer.paramGroups[0].lr = 0.01`.
  public var paramGroups: [ParamGroup] = []
  /// The hyperparameters a group gets for the keys it does not set (`defaults`).
  public let defaults: [String: Hyperparameter]
  /// How many times ``step()`` ran; LR schedulers read it to warn when they are stepped first.
  public internal(set) var stepCount = 0

  var states: [ObjectIdentifier: ParameterState] = [:]

  /// An optimizer over `groups`, each completed with `defaults`.
  ///
  /// Stops, as PyTorch raises, when there are no parameters, a tensor is not a leaf, a tensor is
  /// in two groups, or some groups are named and others are not.
  public init(_ groups: [ParamGroup], defaults: [String: Hyperparameter]) {
    self.defaults = defaults
    precondition(!groups.isEmpty, "\(typeName): optimizer got an empty parameter list")
    for group in groups { addParamGroup(group) }
  }

  /// The type's name, as PyTorch's `optimizer.__class__.__name__` (in messages, the printed form
  /// and the state dict).
  open var typeName: String { String(describing: type(of: self)) }

  // MARK: groups

  /// Adds a group, filling the keys it does not set from ``defaults`` (`add_param_group`), e.g.
  /// to train layers that were frozen.
  public func addParamGroup(_ group: ParamGroup) {
    var group = group
    for (key, value) in defaults where group.options[key] == nil { group.options[key] = value }
    for p in group.params {
      precondition(p.isLeaf, "\(typeName): can't optimize a non-leaf Tensor")
    }
    let ids = group.params.map(ObjectIdentifier.init)
    if Set(ids).count != ids.count {
      printWarning(
        "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error; see github.com/pytorch/pytorch/issues/40967 for more information"
      )
    }
    if let first = paramGroups.first {
      precondition(
        (first.paramNames != nil) == (group.paramNames != nil),
        "\(typeName): all optimizer param groups should be with/without names. cannot add param group \(group.paramNames != nil ? "with" : "without") names to the optimizer"
      )
    }
    let existing = Set(paramGroups.flatMap { $0.params.map(ObjectIdentifier.init) })
    precondition(
      existing.isDisjoint(with: ids),
      "\(typeName): some parameters appear in more than one parameter group")
    if let names = group.paramNames {
      var seen = Set(paramGroups.flatMap { $0.paramNames ?? [] })
      for name in names {
        precondition(
          seen.insert(name).inserted,
          "\(typeName): parameter name \"\(name)\" appears twice; state dicts are keyed by name")
      }
    }
    paramGroups.append(group)
  }

  /// True when the groups were made from named parameters: the state dict is keyed by name.
  public var isKeyedByName: Bool { paramGroups.first?.paramNames != nil }

  /// Every tensor of every group, in order.
  public var parameters: [Tensor] { paramGroups.flatMap(\.params) }

  // MARK: state

  /// The state of `parameter` (`optimizer.state[p]`), empty before its first update.
  public func state(for parameter: Tensor) -> ParameterState {
    let id = ObjectIdentifier(parameter)
    if let s = states[id] { return s }
    let s = ParameterState()
    states[id] = s
    return s
  }

  // MARK: stepping

  /// The update of one parameter by one step; the one method an optimizer overrides.
  ///
  /// ``step()`` calls it under no-grad, group by group, for each parameter whose `grad` is not
  /// nil, after adding one to `state.step`. Change `parameter` and the state tensors in place.
  ///
  /// - Parameters:
  ///   - parameter: the tensor to update (a leaf; in-place changes are allowed under no-grad).
  ///   - grad: its gradient (`parameter.grad`), not to be changed.
  ///   - state: the parameter's state, kept between steps and saved in the state dict.
  ///   - group: the parameter's group, with the hyperparameters as they are at this step.
  open func update(parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup)
    throws
  {
    preconditionFailure(
      "\(typeName) must override update(parameter:grad:state:group:) with its update rule")
  }

  /// Updates every parameter that has a gradient (`optimizer.step()`), under no-grad.
  public func step() throws {
    try withNoGrad {
      for group in paramGroups {
        for p in group.params {
          guard let g = p.grad else { continue }
          let s = state(for: p)
          s.step += 1
          try update(parameter: p, grad: g, state: s, group: group)
        }
      }
    }
    stepCount += 1
  }

  /// Evaluates `closure` with grad enabled (it usually zeroes the grads, computes the loss and
  /// calls backward), then steps; returns the loss (`optimizer.step(closure)`).
  @discardableResult
  public func step(_ closure: () throws -> Tensor) throws -> Tensor {
    let loss = try withGradEnabled { try closure() }
    try step()
    return loss
  }

  /// Resets the gradients of every parameter (`zero_grad()`): to nil by default, as PyTorch 2,
  /// or to zeros in place when `setToNone` is false (detached from any graph first).
  public func zeroGrad(setToNone: Bool = true) {
    for p in parameters {
      guard let g = p.grad else { continue }
      if setToNone {
        p.grad = nil
      } else {
        let plain = g.isLeaf && !g.requiresGrad ? g : g.detach()
        // Cannot throw: no-grad mode and a tensor that does not require grad.
        try! withNoGrad { try plain.zero() }
        p.grad = plain
      }
    }
  }

  // MARK: printing

  /// PyTorch's printed form: one block per group with its hyperparameters in key order.
  public var description: String {
    var lines = ["\(typeName) ("]
    for (i, group) in paramGroups.enumerated() {
      lines.append("Parameter Group \(i)")
      for key in group.options.keys.sorted() { lines.append("    \(key): \(group.options[key]!)") }
    }
    lines.append(")")
    return lines.joined(separator: "\n")
  }
}
