/// Saving and loading a module's parameters and persistent buffers by dotted name, in PyTorch's
/// order and with PyTorch's keys, so weights move between the two.
extension Module {
  /// Parameters then persistent buffers of each module, depth first, with dotted keys
  /// (`state_dict()`). The tensors share memory with the module's (detached, as PyTorch's).
  public func stateDict(prefix: String = "") -> StateDict {
    var out = StateDict()
    appendState(into: &out, prefix: prefix)
    return out
  }

  private func appendState(into out: inout StateDict, prefix: String) {
    let members = self.members()
    for (name, member) in members {
      if case .parameter(let p) = member { out[Module.join(prefix, name)] = p.detach() }
    }
    for (name, member) in members {
      if case .buffer(let b, let persistent) = member, persistent {
        out[Module.join(prefix, name)] = b.detach()
      }
    }
    for (name, member) in members {
      if case .module(let m) = member {
        m.appendState(into: &out, prefix: Module.join(prefix, name))
      }
    }
  }

  /// Copies `stateDict`'s tensors into this module's parameters and buffers
  /// (`load_state_dict`), converting dtypes as `copy_` does.
  ///
  /// Everything is checked before anything is written: when a key is missing or unexpected
  /// (with `strict`), or a shape differs, it throws a ``StateDictError`` listing every problem
  /// with its full dotted key, and the module is unchanged.
  ///
  /// - Returns: the keys that were missing and unexpected (both empty when `strict`).
  @discardableResult
  public func loadStateDict(_ stateDict: StateDict, strict: Bool = true) throws -> (
    missingKeys: [String], unexpectedKeys: [String]
  ) {
    let plan = try planLoad(stateDict, strict: strict)
    try withNoGrad {
      for (target, source) in plan.writes { try target.copy(from: source) }
    }
    return (plan.missing, plan.unexpected)
  }

  /// Checks `stateDict` as ``loadStateDict(_:strict:)`` does and throws the same error, without
  /// writing anything: a caller restoring several objects at once (a checkpoint) checks them all
  /// before changing any.
  ///
  /// - Returns: the keys that would be missing and unexpected.
  @discardableResult
  public func checkStateDict(_ stateDict: StateDict, strict: Bool = true) throws -> (
    missingKeys: [String], unexpectedKeys: [String]
  ) {
    let plan = try planLoad(stateDict, strict: strict)
    return (plan.missing, plan.unexpected)
  }

  /// The copies a load makes, after every check passed.
  private func planLoad(_ stateDict: StateDict, strict: Bool) throws -> (
    writes: [(target: Tensor, source: Tensor)], missing: [String], unexpected: [String]
  ) {
    let own = self.stateDict()
    var missing: [String] = []
    var mismatches: [StateDictError.Mismatch] = []
    var writes: [(target: Tensor, source: Tensor)] = []
    for (key, target) in own {
      guard let source = stateDict[key] else {
        missing.append(key)
        continue
      }
      if source.shape != target.shape {
        mismatches.append(.init(key: key, checkpointShape: source.shape, modelShape: target.shape))
      } else {
        writes.append((target, source))
      }
    }
    let unexpected = stateDict.keys.filter { own[$0] == nil }
    let problems = !mismatches.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty))
    if problems {
      throw StateDictError(
        moduleName: typeName, missingKeys: strict ? missing : [],
        unexpectedKeys: strict ? unexpected : [], mismatches: mismatches)
    }
    return (writes, missing, unexpected)
  }
}

/// Why `loadStateDict(_:strict:)` refused a state dict: every problem at once, with full keys.
public struct StateDictError: Error, Equatable, CustomStringConvertible {
  public struct Mismatch: Equatable, Sendable {
    public let key: String
    public let checkpointShape: [Int]
    public let modelShape: [Int]
  }

  public let moduleName: String
  public let missingKeys: [String]
  public let unexpectedKeys: [String]
  public let mismatches: [Mismatch]

  /// PyTorch's message, with Swift shapes: `Error(s) in loading state_dict for Linear:` then
  /// one tab-indented line per kind of problem.
  public var description: String {
    var lines: [String] = []
    let quoted = { (keys: [String]) in keys.map { "\"\($0)\"" }.joined(separator: ", ") }
    if !missingKeys.isEmpty {
      lines.append("Missing key(s) in state_dict: \(quoted(missingKeys)). ")
    }
    if !unexpectedKeys.isEmpty {
      lines.append("Unexpected key(s) in state_dict: \(quoted(unexpectedKeys)). ")
    }
    for m in mismatches {
      lines.append(
        "size mismatch for \(m.key): copying a param with shape \(m.checkpointShape) from checkpoint, the shape in current model is \(m.modelShape)."
      )
    }
    return "Error(s) in loading state_dict for \(moduleName):\n\t" + lines.joined(separator: "\n\t")
  }
}
