/// Parameters held in a list (PyTorch's `nn.ParameterList`), registered as `0`, `1`, ...
public final class ParameterList: Module, RandomAccessCollection {
  public init(_ parameters: [Parameter] = []) {
    super.init()
    for p in parameters { append(p) }
  }

  public func append(_ parameter: Parameter) {
    registerParameter(String(registeredParameters.count), parameter)
  }

  public var startIndex: Int { 0 }
  public var endIndex: Int { registeredParameters.count }
  public subscript(position: Int) -> Parameter { registeredParameters[position].value! }

  public override func forward(_ input: Tensor) -> Tensor {
    preconditionFailure("ParameterList has no forward")
  }

  /// PyTorch's layout: `(0): Parameter containing: [torch.float32 of size 2x3]`, indented by 4.
  public override var description: String {
    let lines = registeredParameters.map { name, p in
      "    (\(name)): Parameter containing: [torch.\(p!.dtype) of size \(ParameterList.sizeText(p!.shape))]"
    }
    return lines.isEmpty
      ? "ParameterList()" : "ParameterList(\n" + lines.joined(separator: "\n") + "\n)"
  }

  static func sizeText(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "x") }
}

/// Parameters by name in insertion order (PyTorch's `nn.ParameterDict`).
public final class ParameterDict: Module {
  public init(_ parameters: KeyValuePairs<String, Parameter> = [:]) {
    super.init()
    for (k, p) in parameters { registerParameter(k, p) }
  }

  public subscript(key: String) -> Parameter? {
    get { registeredParameter(key) }
    set { registerParameter(key, newValue) }
  }

  public var keys: [String] { registeredParameters.filter { $0.value != nil }.map(\.name) }
  public var values: [Parameter] { registeredParameters.compactMap(\.value) }
  public var count: Int { keys.count }

  public override func forward(_ input: Tensor) -> Tensor {
    preconditionFailure("ParameterDict has no forward")
  }

  /// PyTorch's (odd) layout: `ParameterDict(  (a): Parameter containing: [torch.FloatTensor of size 2x3])`.
  public override var description: String {
    let names: [DType: String] = [
      .float32: "FloatTensor", .float64: "DoubleTensor", .int64: "LongTensor", .bool: "BoolTensor",
    ]
    let lines = registeredParameters.compactMap { name, p in
      p.map {
        "  (\(name)): Parameter containing: [torch.\(names[$0.dtype]!) of size \(ParameterList.sizeText($0.shape))]"
      }
    }
    return "ParameterDict(" + lines.joined(separator: "\n") + ")"
  }
}
