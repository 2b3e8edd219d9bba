/// Dropout layers (`nn.Dropout`, `nn.Dropout1d`, `nn.Dropout2d`), active in training mode only.
/// Masks are drawn from the global generator as PyTorch draws them, so the same seed drops the
/// same elements.

public class DropoutModule: Module {
  public let p: Double
  let kind: (Tensor, Double, Bool) -> Tensor

  init(p: Double, _ kind: @escaping (Tensor, Double, Bool) -> Tensor) {
    precondition(
      p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got \(pythonFloat(p))")
    self.p = p
    self.kind = kind
  }

  public override func forward(_ input: Tensor) -> Tensor { kind(input, p, isTraining) }
  public override var extraDescription: String { "p=\(pythonFloat(p)), inplace=False" }
}

/// `nn.Dropout`: zeroes elements with probability `p` and scales the rest by 1 / (1 - p).
public final class Dropout: DropoutModule {
  public init(_ p: Double = 0.5) {
    super.init(p: p) { Functional.dropout($0, p: $1, training: $2) }
  }
}

/// `nn.Dropout1d`: zeroes whole channels of [N, C, L] inputs.
public final class Dropout1d: DropoutModule {
  public init(_ p: Double = 0.5) {
    super.init(p: p) { Functional.dropout1d($0, p: $1, training: $2) }
  }
}

/// `nn.Dropout2d`: zeroes whole channels of [N, C, H, W] inputs.
public final class Dropout2d: DropoutModule {
  public init(_ p: Double = 0.5) {
    super.init(p: p) { Functional.dropout2d($0, p: $1, training: $2) }
  }
}
