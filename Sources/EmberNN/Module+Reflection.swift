/// Finding a module's parameters, buffers and submodules: stored properties by reflection, in
/// declaration order (superclass first), then members registered by name.
extension Module {
  /// One direct member of a module.
  enum Member {
    case parameter(Parameter)
    case buffer(Tensor, persistent: Bool)
    case module(Module)
  }

  /// The direct members, in order, with their names.
  func members() -> [(name: String, member: Member)] {
    var levels: [Mirror] = []
    var mirror: Mirror? = Mirror(reflecting: self)
    while let m = mirror, m.subjectType != Module.self {
      levels.append(m)
      mirror = m.superclassMirror
    }
    var out: [(name: String, member: Member)] = []
    for level in levels.reversed() {
      for child in level.children {
        guard var name = child.label else { continue }
        let value = child.value
        if let buffer = value as? AnyBuffer {
          if name.hasPrefix("_") { name.removeFirst() }
          if let t = buffer.tensor { out.append((name, .buffer(t, persistent: buffer.persistent))) }
          continue
        }
        let lazyPrefix = "$__lazy_storage_$_"
        if name.hasPrefix(lazyPrefix) { name.removeFirst(lazyPrefix.count) }
        if let p = value as? Parameter {
          out.append((name, .parameter(p)))
        } else if let m = value as? Module {
          out.append((name, .module(m)))
        } else if let list = value as? [Module] {
          for (i, m) in list.enumerated() { out.append(("\(name).\(i)", .module(m))) }
        } else if let list = value as? [Parameter] {
          for (i, p) in list.enumerated() { out.append(("\(name).\(i)", .parameter(p))) }
        }
      }
    }
    for (name, p) in registeredParameters { if let p { out.append((name, .parameter(p))) } }
    for (name, b, persistent) in registeredBuffers {
      if let b { out.append((name, .buffer(b, persistent: persistent))) }
    }
    for (name, m) in registeredModules { if let m { out.append((name, .module(m))) } }
    return out
  }

  // MARK: submodules

  /// The direct submodules with their names (`named_children()`), each module once.
  public func namedChildren() -> [(name: String, module: Module)] {
    var seen = Set<ObjectIdentifier>()
    var out: [(name: String, module: Module)] = []
    for (name, member) in members() {
      if case .module(let m) = member, seen.insert(ObjectIdentifier(m)).inserted {
        out.append((name, m))
      }
    }
    return out
  }

  /// The direct submodules (`children()`).
  public func children() -> [Module] { namedChildren().map(\.module) }

  /// This module and all below it, depth first, with dotted names ("" for this one), each
  /// module once (`named_modules()`).
  public func namedModules(prefix: String = "") -> [(name: String, module: Module)] {
    var seen = Set<ObjectIdentifier>()
    var out: [(name: String, module: Module)] = []
    var stack: [(String, Module)] = [(prefix, self)]
    while let (name, m) = stack.popLast() {
      guard seen.insert(ObjectIdentifier(m)).inserted else { continue }
      out.append((name, m))
      for (childName, child) in m.namedChildren().reversed() {
        stack.append((Module.join(name, childName), child))
      }
    }
    return out
  }

  /// This module and all below it, depth first (`modules()`).
  public func modules() -> [Module] { namedModules().map(\.module) }

  // MARK: parameters and buffers

  /// Every parameter with its dotted name (`fc1.weight`), depth first, each parameter object
  /// once unless `removingDuplicates` is false (`named_parameters()`).
  public func namedParameters(
    prefix: String = "", recurse: Bool = true, removingDuplicates: Bool = true
  )
    -> [(name: String, parameter: Parameter)]
  {
    var seen = Set<ObjectIdentifier>()
    var out: [(name: String, parameter: Parameter)] = []
    for (moduleName, m) in recurse ? namedModules(prefix: prefix) : [(prefix, self)] {
      for (name, member) in m.members() {
        guard case .parameter(let p) = member else { continue }
        if removingDuplicates && !seen.insert(ObjectIdentifier(p)).inserted { continue }
        out.append((Module.join(moduleName, name), p))
      }
    }
    return out
  }

  /// Every parameter, depth first, each once (`parameters()`); what an optimizer takes.
  public func parameters(recurse: Bool = true) -> [Parameter] {
    namedParameters(recurse: recurse).map(\.parameter)
  }

  /// Every buffer with its dotted name, persistent or not (`named_buffers()`).
  public func namedBuffers(prefix: String = "", recurse: Bool = true)
    -> [(name: String, buffer: Tensor)]
  {
    var seen = Set<ObjectIdentifier>()
    var out: [(name: String, buffer: Tensor)] = []
    for (moduleName, m) in recurse ? namedModules(prefix: prefix) : [(prefix, self)] {
      for (name, member) in m.members() {
        guard case .buffer(let b, _) = member, seen.insert(ObjectIdentifier(b)).inserted
        else { continue }
        out.append((Module.join(moduleName, name), b))
      }
    }
    return out
  }

  /// Every buffer (`buffers()`).
  public func buffers(recurse: Bool = true) -> [Tensor] {
    namedBuffers(recurse: recurse).map(\.buffer)
  }

  static func join(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
  }
}
