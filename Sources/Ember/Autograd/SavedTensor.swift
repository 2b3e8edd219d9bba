/// A tensor saved for backward, with the storage version at the time it was saved.
///
/// Inputs are held strongly (their history is needed for double backward). An op's own output is
/// held as a history-free alias, so the node does not keep itself alive; unpacking rebuilds the
/// link from the node that owns the saved tensor (the one passed to ``unpack(for:)``), so no
/// back reference (and no `weak` one, which would give the node a side table) is kept.
///
/// A struct stored in the node's `saved` array (a class instance per saved tensor was two of the
/// heap objects recorded by each `x * y`); the node releases its copies in place.
struct SavedTensor {
  private var tensor: Tensor?
  private let savedVersion: Int
  private let isOutput: Bool
  private let outputNr: Int
  private var released = false

  init(_ t: Tensor) {
    tensor = t
    savedVersion = t.storage.version
    isOutput = false
    outputNr = 0
  }

  init(output t: Tensor, outputNr: Int = 0) {
    tensor = t.alias()
    savedVersion = t.storage.version
    isOutput = true
    self.outputNr = outputNr
  }

  mutating func release() {
    tensor = nil
    released = true
  }

  /// Hands the tensor to the graph teardown loop.
  mutating func takeForTeardown() -> Tensor? {
    defer { tensor = nil }
    return tensor
  }

  /// The saved tensor, checked; `node` is the node whose `saved` holds this one.
  func unpack(for node: Node) throws -> Tensor {
    guard let t = tensor, !released else { throw AutogradError.graphFreed }
    if t.storage.version != savedVersion {
      let producer: Node? = isOutput ? node : t.gradFn
      throw AutogradError.savedTensorModified(
        tensor: "\(t.dtype) tensor \(t.shape)",
        producer: producer.map { SavedTensor.shortName($0.name) }.flatMap {
          $0 == "AccumulateGrad" ? nil : $0
        },
        version: t.storage.version, expected: savedVersion)
    }
    if isOutput {
      // Reattach the history so double backward through this output works.
      let out = t.alias()
      out.gradFn = node
      out.outputNr = outputNr
      return out
    }
    return t
  }

  /// `MulBackward0` -> `Mul`, as PyTorch names the producer in its version message.
  static func shortName(_ name: String) -> String {
    let chars = Array(name)
    let key = Array("Backward")
    guard chars.count >= key.count else { return name }
    for i in 0...(chars.count - key.count) where Array(chars[i..<(i + key.count)]) == key {
      return String(chars[..<i])
    }
    return name
  }
}
