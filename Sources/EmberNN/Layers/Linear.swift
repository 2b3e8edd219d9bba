/// Fully connected layers: `nn.Linear` and `nn.Bilinear`.

/// `nn.Linear`: y = x W^T + b, with W [outFeatures, inFeatures]. Initialized as PyTorch does
/// (kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)), for the weight, then the
/// same bound for the bias), drawing from the global generator in PyTorch's order. A 2-D input
/// records `AddmmBackward0`, as in PyTorch.
public final class Linear: Module {
  public let inFeatures: Int
  public let outFeatures: Int
  public let weight: Parameter
  public let bias: Parameter?

  public init(
    _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .defaultFloat
  ) {
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    weight = Parameter(Tensor.empty([outFeatures, inFeatures], dtype: dtype))
    self.bias = bias ? Parameter(Tensor.empty([outFeatures], dtype: dtype)) : nil
    super.init()
    resetParameters()
  }

  /// PyTorch's `reset_parameters`.
  public func resetParameters() {
    Init.kaimingUniform(weight, a: 5.0.squareRoot())
    if let bias {
      let fanIn = Init.fans(weight).fanIn
      let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
      Init.uniform(bias, a: -bound, b: bound)
    }
  }

  public override func forward(_ input: Tensor) -> Tensor {
    Functional.linear(input, weight, bias: bias)
  }

  public override var extraDescription: String {
    "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(pythonBool(bias != nil))"
  }
}

/// `nn.Bilinear`: y_k = x1^T A_k x2 + b_k, with A [out, in1, in2]; both initialized
/// U(-1/sqrt(in1), 1/sqrt(in1)) as PyTorch does.
public final class Bilinear: Module {
  public let in1Features: Int
  public let in2Features: Int
  public let outFeatures: Int
  public let weight: Parameter
  public let bias: Parameter?

  public init(
    _ in1Features: Int, _ in2Features: Int, _ outFeatures: Int, bias: Bool = true,
    dtype: DType = .defaultFloat
  ) {
    self.in1Features = in1Features
    self.in2Features = in2Features
    self.outFeatures = outFeatures
    weight = Parameter(Tensor.empty([outFeatures, in1Features, in2Features], dtype: dtype))
    self.bias = bias ? Parameter(Tensor.empty([outFeatures], dtype: dtype)) : nil
    super.init()
    resetParameters()
  }

  public func resetParameters() {
    let bound = 1 / Double(weight.shape[1]).squareRoot()
    Init.uniform(weight, a: -bound, b: bound)
    if let bias { Init.uniform(bias, a: -bound, b: bound) }
  }

  /// Bilinear takes two inputs; the one-input `forward(_:)` of Module does not apply.
  public func callAsFunction(_ input1: Tensor, _ input2: Tensor) -> Tensor {
    forward(input1, input2)
  }

  public func forward(_ input1: Tensor, _ input2: Tensor) -> Tensor {
    Functional.bilinear(input1, input2, weight, bias: bias)
  }

  public override func forward(_ input: Tensor) -> Tensor {
    preconditionFailure("Bilinear takes two inputs: call bilinear(x1, x2)")
  }

  public override var extraDescription: String {
    "in1_features=\(in1Features), in2_features=\(in2Features), out_features=\(outFeatures), bias=\(pythonBool(bias != nil))"
  }
}

/// Python's `True`/`False` for printed forms.
func pythonBool(_ b: Bool) -> String { b ? "True" : "False" }

/// Python's repr of an int-or-tuple argument as the user gave it: `2` or `(2, 2)` or `(3,)`.
func pythonTuple(_ values: [Int]) -> String {
  values.count == 1
    ? "(\(values[0]),)" : "(" + values.map(String.init).joined(separator: ", ") + ")"
}

func pythonSize(_ s: SpatialSize) -> String {
  s.values.count == 1 ? "\(s.values[0])" : pythonTuple(s.values)
}
