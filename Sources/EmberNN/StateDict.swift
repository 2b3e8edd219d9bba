/// Named tensors in a fixed order: a module's `stateDict()` (PyTorch's `OrderedDict`), and what
/// `loadStateDict(_:strict:)` and the safetensors reader and writer take.
///
/// Keys keep their insertion order; assigning to an existing key replaces its tensor in place in
/// the order.
public struct StateDict: Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
  public private(set) var keys: [String] = []
  private var storage: [String: Tensor] = [:]

  public init() {}

  /// From (key, tensor) pairs in order; a repeated key keeps its first place and last tensor.
  public init<S: Sequence>(_ pairs: S) where S.Element == (String, Tensor) {
    for (k, v) in pairs { self[k] = v }
  }

  public init(dictionaryLiteral elements: (String, Tensor)...) {
    self.init(elements)
  }

  public subscript(key: String) -> Tensor? {
    get { storage[key] }
    set {
      if let newValue {
        if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
      } else if storage.removeValue(forKey: key) != nil {
        keys.removeAll { $0 == key }
      }
    }
  }

  public var count: Int { keys.count }
  public var isEmpty: Bool { keys.isEmpty }
  /// The tensors in key order.
  public var values: [Tensor] { keys.map { storage[$0]! } }

  public func makeIterator() -> some IteratorProtocol<(key: String, value: Tensor)> {
    keys.lazy.map { (key: $0, value: storage[$0]!) }.makeIterator()
  }

  public var description: String {
    "StateDict("
      + keys.map { "\($0): \(storage[$0]!.dtype) \(storage[$0]!.shape)" }.joined(
        separator: ", ") + ")"
  }
}
