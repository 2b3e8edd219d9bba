// JSONEncoder and Data only: FoundationEssentials where the platform has it, which does not load
// the whole of Foundation (ICU and all) into every process that links Ember.
#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// An optimizer's state, in a form a safetensors file holds: tensors with string keys, and a small
/// JSON description of the groups (`optimizer.state_dict()`).
///
/// - ``tensors``: each parameter's state under `state.<key>.<field>`, e.g.
///   `state.fc1.weight.exp_avg`, `state.fc1.weight.step` (an int64 scalar) or
///   `state.0.momentum_buffer`. Parameters without state (never updated) have no entries.
/// - ``paramGroups``: per group, its hyperparameters by PyTorch's keys and its parameters' keys in
///   order.
/// - `<key>` is the parameter's name when the optimizer was made from a module's
///   `namedParameters()`, so a checkpoint survives an edited model; otherwise it is the position
///   (`0`, `1`, ... across the groups), PyTorch's only kind of key.
///
/// ``metadataJSON()`` writes everything but the tensors as one JSON object (for a safetensors
/// `__metadata__` entry), and ``init(tensors:metadataJSON:)`` reads it back:
///
/// ```json
/// {"format":"ember.optimizer.v1","keyed_by":"name","optimizer":"SGD","step_count":3,
///  "param_groups":[{"dampening":0,"lr":0.1,"maximize":false,"momentum":0.9,"nesterov":false,
///                   "params":["fc1.weight","fc1.bias"],"weight_decay":0}]}
/// ```
///
/// The tensors share memory with the optimizer's state (as PyTorch's state dict does): save them,
/// or `clone()` them to keep a snapshot while training goes on. Loading copies them.
public struct OptimizerStateDict {
  /// What the parameters' keys are.
  public enum Keying: String, Codable, Sendable {
    /// Dotted parameter names (`fc1.weight`).
    case name
    /// Positions across the groups (`0`, `1`, ...).
    case position
  }

  /// One group: its hyperparameters and its parameters' keys.
  public struct Group: Equatable, Sendable {
    public var options: [String: Hyperparameter]
    public var params: [String]

    public init(options: [String: Hyperparameter], params: [String]) {
      self.options = options
      self.params = params
    }
  }

  /// The optimizer's type name (`SGD`, `Adam`, ...).
  public var optimizer: String
  public var keying: Keying
  /// How many steps the optimizer had taken.
  public var stepCount: Int
  public var paramGroups: [Group]
  /// The per-parameter state tensors under `state.<key>.<field>`.
  public var tensors: StateDict

  public init(
    optimizer: String, keying: Keying, stepCount: Int = 0, paramGroups: [Group],
    tensors: StateDict
  ) {
    self.optimizer = optimizer
    self.keying = keying
    self.stepCount = stepCount
    self.paramGroups = paramGroups
    self.tensors = tensors
  }

  /// The description without the tensors, as compact JSON with sorted keys.
  public func metadataJSON() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try! encoder.encode(
      Metadata(
        format: Metadata.currentFormat, optimizer: optimizer, keyedBy: keying,
        stepCount: stepCount, paramGroups: paramGroups.map(GroupJSON.init)))
    return String(decoding: data, as: UTF8.self)
  }

  /// A state dict from its tensors and the JSON ``metadataJSON()`` wrote.
  public init(tensors: StateDict, metadataJSON: String) throws {
    let meta: Metadata
    do {
      meta = try JSONDecoder().decode(Metadata.self, from: Data(metadataJSON.utf8))
    } catch {
      throw OptimizerStateDictError.badMetadata("\(error)")
    }
    guard meta.format == Metadata.currentFormat else {
      throw OptimizerStateDictError.badMetadata(
        "unknown format \"\(meta.format)\" (expected \"\(Metadata.currentFormat)\")")
    }
    self.init(
      optimizer: meta.optimizer, keying: meta.keyedBy, stepCount: meta.stepCount,
      paramGroups: meta.paramGroups.map(\.group), tensors: tensors)
  }

  private struct Metadata: Codable {
    static let currentFormat = "ember.optimizer.v1"
    var format: String
    var optimizer: String
    var keyedBy: Keying
    var stepCount: Int
    var paramGroups: [GroupJSON]

    enum CodingKeys: String, CodingKey {
      case format, optimizer
      case keyedBy = "keyed_by"
      case stepCount = "step_count"
      case paramGroups = "param_groups"
    }
  }

  /// A group as one JSON object: the hyperparameters and `"params"`, as PyTorch lays it out.
  private struct GroupJSON: Codable {
    var group: Group

    init(_ group: Group) { self.group = group }

    struct Key: CodingKey {
      var stringValue: String
      var intValue: Int? { nil }
      init(stringValue: String) { self.stringValue = stringValue }
      init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
      let c = try decoder.container(keyedBy: Key.self)
      var options: [String: Hyperparameter] = [:]
      var params: [String]?
      for key in c.allKeys {
        if key.stringValue == "params" {
          params = try c.decode([String].self, forKey: key)
        } else {
          options[key.stringValue] = try c.decode(Hyperparameter.self, forKey: key)
        }
      }
      guard let params else {
        throw DecodingError.keyNotFound(
          Key(stringValue: "params"),
          .init(codingPath: c.codingPath, debugDescription: "a param group needs \"params\""))
      }
      group = Group(options: options, params: params)
    }

    func encode(to encoder: Encoder) throws {
      var c = encoder.container(keyedBy: Key.self)
      for (key, value) in group.options { try c.encode(value, forKey: Key(stringValue: key)) }
      try c.encode(group.params, forKey: Key(stringValue: "params"))
    }
  }
}

/// Why ``Optimizer/loadStateDict(_:strict:)`` refused a state dict; the optimizer is unchanged.
public enum OptimizerStateDictError: Error, Equatable, CustomStringConvertible {
  case wrongOptimizer(saved: String, current: String)
  case keyingMismatch(saved: OptimizerStateDict.Keying, current: OptimizerStateDict.Keying)
  case groupCount(saved: Int, current: Int)
  case groupSize(group: Int, saved: Int, current: Int)
  case malformedKey(String)
  case shapeMismatches([String])
  case keys(missing: [String], unexpected: [String])
  case badMetadata(String)

  public var description: String {
    switch self {
    case .wrongOptimizer(let saved, let current):
      return "loaded state dict is for \(saved), but this optimizer is \(current)"
    case .keyingMismatch(let saved, let current):
      return
        "loaded state dict is keyed by \(saved), but this optimizer's parameters are keyed by \(current): make both optimizers from named parameters (namedParameters()) or both from plain lists"
    case .groupCount(let saved, let current):
      return
        "loaded state dict has a different number of parameter groups (\(saved), the optimizer has \(current))"
    case .groupSize(let group, let saved, let current):
      return
        "loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group \(group): \(saved) parameters saved, \(current) in the optimizer)"
    case .malformedKey(let key):
      return "loaded state dict has a tensor key \"\(key)\" that is not state.<parameter>.<field>"
    case .shapeMismatches(let lines):
      return "loaded state dict does not fit the parameters:\n\t" + lines.joined(separator: "\n\t")
    case .keys(let missing, let unexpected):
      var parts: [String] = []
      let quoted = { (keys: [String]) in keys.map { "\"\($0)\"" }.joined(separator: ", ") }
      if !missing.isEmpty { parts.append("Missing parameter(s): \(quoted(missing)).") }
      if !unexpected.isEmpty { parts.append("Unexpected parameter(s): \(quoted(unexpected)).") }
      return "Error(s) in loading optimizer state_dict:\n\t" + parts.joined(separator: "\n\t")
    case .badMetadata(let why):
      return "optimizer state dict metadata is not valid: \(why)"
    }
  }
}

extension Optimizer {
  /// The key of every parameter in order: its name, or its position across the groups.
  private var parameterKeys: [[String]] {
    var index = 0
    return paramGroups.map { group in
      group.params.indices.map { i in
        defer { index += 1 }
        return group.paramNames?[i] ?? String(index)
      }
    }
  }

  /// The optimizer's state (`state_dict()`): per-parameter state tensors under
  /// `state.<key>.<field>` and the groups' hyperparameters; see ``OptimizerStateDict``.
  public func stateDict() -> OptimizerStateDict {
    var tensors = StateDict()
    var groups: [OptimizerStateDict.Group] = []
    for (group, keys) in zip(paramGroups, parameterKeys) {
      for (p, key) in zip(group.params, keys) {
        guard let s = states[ObjectIdentifier(p)], !s.isEmpty else { continue }
        tensors["state.\(key).step"] = Tensor(Int64(s.step))
        for field in s.keys { tensors["state.\(key).\(field)"] = s[field]!.detach() }
      }
      groups.append(.init(options: group.options, params: keys))
    }
    return OptimizerStateDict(
      optimizer: typeName, keying: isKeyedByName ? .name : .position, stepCount: stepCount,
      paramGroups: groups, tensors: tensors)
  }

  /// Restores a state saved by ``stateDict()`` (`load_state_dict`): the groups' hyperparameters
  /// by group position, and each parameter's state by its key, copied and converted to the
  /// parameter's dtype.
  ///
  /// Keyed by name, a parameter the optimizer has but the state dict does not list (a layer added
  /// to the model) starts fresh, and saved state for a name the optimizer lacks is skipped; both
  /// are returned, and with `strict` either one is an error. Keyed by position, every group must
  /// have the saved number of parameters, as PyTorch requires. Everything is checked before
  /// anything changes: on error the optimizer is unchanged.
  ///
  /// - Returns: the keys missing from the state dict and the unexpected ones.
  @discardableResult
  public func loadStateDict(_ dict: OptimizerStateDict, strict: Bool = false) throws -> (
    missingKeys: [String], unexpectedKeys: [String]
  ) {
    let plan = try planLoad(dict, strict: strict)
    for (i, savedGroup) in dict.paramGroups.enumerated() {
      paramGroups[i].options.merge(savedGroup.options) { _, new in new }
    }
    var restored: [ObjectIdentifier: ParameterState] = [:]
    for key in plan.order {
      guard let p = plan.target[key] else { continue }
      let s = ParameterState()
      for (field, t) in plan.saved[key]! {
        if field == "step" {
          s.step = Int(t.reshape([]).to(.int64).item(as: Int64.self))
        } else {
          s[field] = t.detach().to(p.dtype).clone()
        }
      }
      restored[ObjectIdentifier(p)] = s
    }
    states = restored
    stepCount = dict.stepCount
    return (plan.missing, plan.unexpected)
  }

  /// Checks `dict` as ``loadStateDict(_:strict:)`` does and throws the same error, changing
  /// nothing (for restoring several objects at once, all or nothing).
  ///
  /// - Returns: the keys that would be missing and unexpected.
  @discardableResult
  public func checkStateDict(_ dict: OptimizerStateDict, strict: Bool = false) throws -> (
    missingKeys: [String], unexpectedKeys: [String]
  ) {
    let plan = try planLoad(dict, strict: strict)
    return (plan.missing, plan.unexpected)
  }

  private struct LoadPlan {
    var target: [String: Tensor]
    var saved: [String: [(field: String, tensor: Tensor)]]
    var order: [String]
    var missing: [String]
    var unexpected: [String]
  }

  /// Every check of a load; throws before anything changes.
  private func planLoad(_ dict: OptimizerStateDict, strict: Bool) throws -> LoadPlan {
    let keying: OptimizerStateDict.Keying = isKeyedByName ? .name : .position
    guard dict.optimizer == typeName else {
      throw OptimizerStateDictError.wrongOptimizer(saved: dict.optimizer, current: typeName)
    }
    guard dict.keying == keying else {
      throw OptimizerStateDictError.keyingMismatch(saved: dict.keying, current: keying)
    }
    guard dict.paramGroups.count == paramGroups.count else {
      throw OptimizerStateDictError.groupCount(
        saved: dict.paramGroups.count, current: paramGroups.count)
    }
    let currentKeys = parameterKeys
    // Saved key -> the parameter it restores.
    var target: [String: Tensor] = [:]
    if keying == .position {
      for (i, (saved, group)) in zip(dict.paramGroups, paramGroups).enumerated() {
        guard saved.params.count == group.params.count else {
          throw OptimizerStateDictError.groupSize(
            group: i, saved: saved.params.count, current: group.params.count)
        }
        for (key, p) in zip(saved.params, group.params) { target[key] = p }
      }
    } else {
      for (group, keys) in zip(paramGroups, currentKeys) {
        for (p, key) in zip(group.params, keys) { target[key] = p }
      }
    }
    let listed = Set(dict.paramGroups.flatMap(\.params))
    var unexpected = dict.paramGroups.flatMap(\.params).filter { target[$0] == nil }
    let missing = currentKeys.flatMap { $0 }.filter { !listed.contains($0) }

    // Group the tensors by parameter key: state.<key>.<field>, the key may hold dots.
    var saved: [String: [(field: String, tensor: Tensor)]] = [:]
    var order: [String] = []
    for (key, tensor) in dict.tensors {
      guard key.hasPrefix("state."), let dot = key.lastIndex(of: "."),
        dot > key.index(key.startIndex, offsetBy: 5)
      else { throw OptimizerStateDictError.malformedKey(key) }
      let paramKey = String(key[key.index(key.startIndex, offsetBy: 6)..<dot])
      let field = String(key[key.index(after: dot)...])
      guard !paramKey.isEmpty, !field.isEmpty else {
        throw OptimizerStateDictError.malformedKey(key)
      }
      if saved[paramKey] == nil { order.append(paramKey) }
      saved[paramKey, default: []].append((field, tensor))
    }
    var mismatches: [String] = []
    for key in order {
      guard let p = target[key] else {
        if !unexpected.contains(key) { unexpected.append(key) }
        continue
      }
      for (field, t) in saved[key]! {
        if field == "step" {
          if t.count != 1 {
            mismatches.append("state.\(key).step: expected one number, got shape \(t.shape)")
          } else {
            let v = t.reshape([]).to(.float64).item()
            if !(v >= 0 && v <= Self.maximumStep && v == v.rounded()) {
              mismatches.append("state.\(key).step: \(v) is not a step count")
            }
          }
        } else if t.shape != p.shape {
          mismatches.append(
            "state.\(key).\(field): saved shape \(t.shape), the parameter's shape is \(p.shape)")
        }
      }
    }
    if !mismatches.isEmpty { throw OptimizerStateDictError.shapeMismatches(mismatches) }
    if strict && (!missing.isEmpty || !unexpected.isEmpty) {
      throw OptimizerStateDictError.keys(missing: missing, unexpected: unexpected)
    }
    // a hyperparameter the update reads must keep its kind (a number, a flag, a list of as many
    // numbers): a file with `"lr": true` or one beta is refused here rather than stopping the
    // first step
    for (i, (savedGroup, group)) in zip(dict.paramGroups, paramGroups).enumerated() {
      for (key, value) in savedGroup.options.sorted(by: { $0.key < $1.key }) {
        guard let current = group.options[key] else { continue }
        guard Self.sameKind(value, current) else {
          throw OptimizerStateDictError.badMetadata(
            "param group \(i): \"\(key)\" is \(value), but this optimizer's is \(current)")
        }
      }
    }
    guard dict.stepCount >= 0 && Double(dict.stepCount) <= Self.maximumStep else {
      throw OptimizerStateDictError.badMetadata("step_count \(dict.stepCount) is not a step count")
    }
    return LoadPlan(
      target: target, saved: saved, order: order, missing: missing, unexpected: unexpected)
  }

  /// The largest step count a state dict may hold (steps are counted up from it).
  private static var maximumStep: Double { 0x1p53 }

  /// Whether a saved hyperparameter can stand for the current one: numbers and flags read as
  /// each other (``ParamGroup/number(_:)``), a list needs as many numbers.
  private static func sameKind(_ a: Hyperparameter, _ b: Hyperparameter) -> Bool {
    switch (a, b) {
    case (.number, .number), (.flag, .flag), (.number, .flag), (.flag, .number): return true
    case (.numbers(let x), .numbers(let y)): return x.count == y.count
    default: return false
    }
  }
}
