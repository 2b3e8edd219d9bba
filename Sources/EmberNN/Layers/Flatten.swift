/// Layers that only reshape: `nn.Identity`, `nn.Flatten`, `nn.Unflatten`.

/// `nn.Identity`: returns its input.
public final class Identity: Module {
  public override init() {}
  public override func forward(_ input: Tensor) -> Tensor { input }
}

/// `nn.Flatten`: dims `startDim...endDim` merged into one (from dim 1 by default, keeping the
/// batch).
public final class Flatten: Module {
  public let startDim: Int
  public let endDim: Int
  public init(startDim: Int = 1, endDim: Int = -1) {
    self.startDim = startDim
    self.endDim = endDim
  }
  public override func forward(_ input: Tensor) -> Tensor {
    input.flatten(startDim: startDim, endDim: endDim)
  }
  public override var extraDescription: String { "start_dim=\(startDim), end_dim=\(endDim)" }
}

/// `nn.Unflatten`: dim `dim` split into `unflattenedSize`.
public final class Unflatten: Module {
  public let dim: Int
  public let unflattenedSize: [Int]
  public init(dim: Int, unflattenedSize: [Int]) {
    self.dim = dim
    self.unflattenedSize = unflattenedSize
  }
  public override func forward(_ input: Tensor) -> Tensor {
    let d = dim < 0 ? dim + input.rank : dim
    precondition(
      d >= 0 && d < input.rank,
      "Unflatten: dim \(dim) is out of range for input of shape \(input.shape)")
    var shape = input.shape
    shape.replaceSubrange(d...d, with: unflattenedSize)
    return input.reshape(shape)
  }
  public override var extraDescription: String {
    let size =
      unflattenedSize.count == 1
      ? "(\(unflattenedSize[0]),)"
      : "(" + unflattenedSize.map(String.init).joined(separator: ", ") + ")"
    return "dim=\(dim), unflattened_size=\(size)"
  }
}
