import EmberNN
import Testing

/// A module with every kind of member, declared in an order the tests check.
private final class Block: Module {
  let weight = Parameter(Tensor.ones([2, 3]))
  var bias: Parameter? = Parameter(Tensor.zeros([2]))
  @Buffer var running = Tensor.zeros([2])
  @Buffer(persistent: false) var scratch = Tensor.zeros([1])
  var cache = Tensor.zeros([5])  // a plain tensor: not registered, as in PyTorch
  override func forward(_ input: Tensor) -> Tensor { input.matmul(weight.t()) + bias! }
}

private class Base: Module {
  let first = Parameter(Tensor.zeros([1]))
}

private final class Derived: Base {
  let block = Block()
  let layers: [Module] = [Block(), ReLU()]
  var missing: Block? = nil
  let last = Parameter(Tensor.zeros([3]))
}

@Suite struct ModuleReflectionTests {
  @Test func parametersInDeclarationOrderSuperclassFirst() {
    let m = Derived()
    #expect(
      m.namedParameters().map(\.name) == [
        "first", "last", "block.weight", "block.bias", "layers.0.weight", "layers.0.bias",
      ])
    #expect(m.parameters().count == 6)
    #expect(m.namedChildren().map(\.name) == ["block", "layers.0", "layers.1"])
    #expect(m.namedModules().map(\.name) == ["", "block", "layers.0", "layers.1"])
    #expect(
      m.namedBuffers().map(\.name) == [
        "block.running", "block.scratch", "layers.0.running", "layers.0.scratch",
      ])
  }

  @Test func stateDictHasParametersThenPersistentBuffersPerModule() {
    let m = Derived()
    let sd = m.stateDict()
    #expect(
      sd.keys == [
        "first", "last", "block.weight", "block.bias", "block.running", "layers.0.weight",
        "layers.0.bias", "layers.0.running",
      ])
    #expect(sd["block.weight"]!.shape == [2, 3])
    // the state dict shares memory with the module, detached
    #expect(!sd["block.weight"]!.requiresGrad)
    try! withNoGrad { try m.block.weight.fill(7) }
    #expect(sd["block.weight"]!.toArray().allSatisfy { $0 == 7 })
  }

  @Test func sharedParametersAppearOnceInParametersButUnderEveryKeyInStateDict() {
    final class Tied: Module {
      let a = Block()
      lazy var b: Module = a
    }
    let m = Tied()
    _ = m.b
    #expect(m.parameters().count == 2)
    #expect(m.namedModules().map(\.name) == ["", "a"])
    #expect(
      m.stateDict().keys == ["a.weight", "a.bias", "a.running", "b.weight", "b.bias", "b.running"])
  }

  @Test func trainEvalRecurse() {
    let m = Derived()
    m.eval()
    #expect(m.modules().allSatisfy { !$0.isTraining })
    m.train()
    #expect(m.modules().allSatisfy { $0.isTraining })
  }

  @Test func zeroGradAndFreeze() throws {
    let m = Block()
    let y = m(Tensor.ones([4, 3])).sum()
    try y.backward()
    expectTensor(m.weight.grad, shape: [2, 3], [Double](repeating: 4, count: 6))
    m.zeroGrad()
    #expect(m.weight.grad == nil && m.bias!.grad == nil)
    m.requiresGrad(false)
    #expect(!m.weight.requiresGrad)
    #expect(!m(Tensor.ones([1, 3])).requiresGrad)
  }

  @Test func toDTypeKeepsParameterIdentity() {
    let m = Block()
    let w = m.weight
    m.to(.float64)
    #expect(m.weight === w)
    #expect(m.weight.dtype == .float64 && m.running.dtype == .float64)
    #expect(m.weight.requiresGrad && m.weight.isLeaf)
  }

  @Test func applyVisitsChildrenFirst() {
    var order: [String] = []
    Derived().apply { order.append($0.typeName) }
    #expect(order == ["Block", "Block", "ReLU", "Derived"])
  }

  @Test func forwardHooks() {
    let m = Block()
    var seen: [Int] = []
    let pre = m.registerForwardPreHook { _, x in
      seen.append(x.shape[0])
      return x * 2
    }
    m.registerForwardHook { _, _, y in y + 1 }
    let y = m(Tensor.ones([1, 3]))
    expectTensor(y, shape: [1, 2], [7, 7])
    pre.remove()
    expectTensor(m(Tensor.ones([1, 3])), shape: [1, 2], [4, 4])
    #expect(seen == [1])
  }
}

@Suite struct StateDictLoadingTests {
  @Test func roundTrip() throws {
    let a = Block()
    let b = Block()
    try withNoGrad {
      try a.weight.copy(from: Tensor.arange(0.0, 6.0).reshape([2, 3]))
      try a.running.fill(3)
    }
    let result = try b.loadStateDict(a.stateDict())
    #expect(result.missingKeys.isEmpty && result.unexpectedKeys.isEmpty)
    #expect(b.weight.toArray() == [0, 1, 2, 3, 4, 5])
    #expect(b.running.toArray() == [3, 3])
    #expect(b.weight.requiresGrad && b.weight.isLeaf)
  }

  @Test func everyProblemReportedAndNothingChanged() {
    let m = Block()
    var sd = m.stateDict()
    sd["weight"] = Tensor.zeros([3, 5])
    sd["bias"] = nil
    sd["extra"] = Tensor.zeros([1])
    sd["running"] = Tensor.full([2], 9)
    #expect {
      try m.loadStateDict(sd)
    } throws: { error in
      // PyTorch: 'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict:
      // "bias". \n\tUnexpected key(s) in state_dict: "extra". \n\tsize mismatch for weight:
      // copying a param with shape torch.Size([3, 5]) from checkpoint, the shape in current
      // model is torch.Size([3, 2]).'
      "\(error)"
        == "Error(s) in loading state_dict for Block:\n\tMissing key(s) in state_dict: \"bias\". \n\tUnexpected key(s) in state_dict: \"extra\". \n\tsize mismatch for weight: copying a param with shape [3, 5] from checkpoint, the shape in current model is [2, 3]."
    }
    // the valid running buffer was not loaded either: nothing half-loads
    #expect(m.running.toArray() == [0, 0])
    #expect(m.weight.toArray().allSatisfy { $0 == 1 })
  }

  @Test func nonStrictReportsKeysAndLoadsTheRest() throws {
    let m = Block()
    let sd: StateDict = ["weight": Tensor.full([2, 3], 2), "other": Tensor.zeros([1])]
    let result = try m.loadStateDict(sd, strict: false)
    #expect(result.missingKeys == ["bias", "running"])
    #expect(result.unexpectedKeys == ["other"])
    #expect(m.weight.toArray().allSatisfy { $0 == 2 })
    // a shape mismatch is an error even when not strict (PyTorch too)
    #expect(throws: StateDictError.self) {
      try m.loadStateDict(["weight": Tensor.zeros([1])], strict: false)
    }
  }

  @Test func dtypeIsConvertedOnLoad() throws {
    let m = Block()
    try m.loadStateDict([
      "weight": Tensor.full([2, 3], 5, dtype: .float64), "bias": Tensor.zeros([2]),
      "running": Tensor.zeros([2]),
    ])
    #expect(m.weight.dtype == .float32)
    #expect(m.weight.toArray().allSatisfy { $0 == 5 })
  }
}

@Suite struct ModuleDescriptionTests {
  @Test func containersPrintAsPyTorch() {
    final class Net: Module {
      let seq = Sequential(ReLU(), Tanh())
      let list = ModuleList([GELU(), GELU(), SiLU()])
      let act = LeakyReLU(negativeSlope: 0.2)
    }
    // PyTorch: the same model prints this (ModuleList folds runs of equal children)
    #expect(
      Net().description == """
        Net(
          (seq): Sequential(
            (0): ReLU()
            (1): Tanh()
          )
          (list): ModuleList(
            (0-1): 2 x GELU(approximate='none')
            (2): SiLU()
          )
          (act): LeakyReLU(negative_slope=0.2)
        )
        """)
    #expect(Module().description == "Module()")
    #expect(Flatten().description == "Flatten(start_dim=1, end_dim=-1)")
    #expect(
      Unflatten(dim: 1, unflattenedSize: [2, 5]).description
        == "Unflatten(dim=1, unflattened_size=(2, 5))")
    #expect(Softplus().description == "Softplus(beta=1.0, threshold=20.0)")
    #expect(ELU().description == "ELU(alpha=1.0)")
    #expect(ReLU(inplace: true).description == "ReLU(inplace=True)")
  }

  @Test func parameterContainersPrintAsPyTorch() {
    let list = ParameterList([
      Parameter(Tensor.zeros([2, 3])), Parameter(Tensor.zeros([2]), requiresGrad: false),
    ])
    #expect(
      list.description == """
        ParameterList(
            (0): Parameter containing: [torch.float32 of size 2x3]
            (1): Parameter containing: [torch.float32 of size 2]
        )
        """)
    let dict = ParameterDict(["a": Parameter(Tensor.zeros([2, 3]))])
    #expect(
      dict.description
        == "ParameterDict(  (a): Parameter containing: [torch.FloatTensor of size 2x3])")
    #expect(list.namedParameters().map(\.name) == ["0", "1"])
    #expect(dict.stateDict().keys == ["a"])
  }

  @Test func parameterPrintsAsPyTorch() {
    let p = Parameter(Tensor.ones([2]))
    var options = PrintOptions.shared
    options.style = .pytorch
    #expect(p.formatted(options) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)")
    #expect(p.requiresGrad && p.isLeaf)
  }
}

@Suite struct ContainerTests {
  @Test func sequentialChainsAndNamesByIndex() {
    let s = Sequential {
      Flatten()
      ReLU()
      if true { Identity() }
    }
    #expect(s.count == 3)
    #expect(s.namedChildren().map(\.name) == ["0", "1", "2"])
    let x = Tensor([[[-1.0, 2.0]], [[3.0, -4.0]]])
    expectTensor(s(x), shape: [2, 2], [0, 2, 3, 0])
    #expect(s[-1] is Identity)
    let named = Sequential(named: ["flat": Flatten(), "act": ReLU()])
    #expect(named.namedChildren().map(\.name) == ["flat", "act"])
  }

  @Test func moduleDictKeepsInsertionOrder() {
    let d = ModuleDict(["z": ReLU(), "a": Tanh()])
    d["m"] = SiLU()
    #expect(d.keys == ["z", "a", "m"])
    #expect(d["a"] is Tanh)
  }

  @Test func moduleListInsert() {
    let l = ModuleList([ReLU(), Tanh()])
    l.insert(SiLU(), at: 1)
    #expect(l.map(\.typeName) == ["ReLU", "SiLU", "Tanh"])
    #expect(l.namedChildren().map(\.name) == ["0", "1", "2"])
  }
}

/// The model definition of docs/pytorch-to-ember.md, kept compiling and running.
@Suite struct DocumentedModelTests {
  final class Net: Module {
    let conv1 = Conv2d(1, 32, 3, padding: 1)
    let conv2 = Conv2d(32, 64, 3, padding: 1)
    let fc1 = Linear(3136, 128)
    let fc2 = Linear(128, 10)
    let drop = Dropout(0.25)

    override func forward(_ x: Tensor) -> Tensor {
      var x = F.maxPool2d(F.relu(conv1(x)), kernelSize: 2)
      x = F.maxPool2d(F.relu(conv2(x)), kernelSize: 2)
      x = drop(x.flatten(startDim: 1))
      return fc2(F.relu(fc1(x)))
    }
  }

  @Test func netRunsAndHasPyTorchKeys() throws {
    let net = Net()
    let y = net(Tensor.randn(2, 1, 28, 28))
    #expect(y.shape == [2, 10])
    #expect(
      net.stateDict().keys == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
        "fc2.weight", "fc2.bias",
      ])
    try y.sum().backward()
    #expect(net.conv1.weight.grad?.shape == [32, 1, 3, 3])
    let mlp = Sequential(Flatten(), Linear(784, 512), ReLU(), Linear(512, 10))
    #expect(mlp.stateDict().keys == ["1.weight", "1.bias", "3.weight", "3.bias"])
  }
}
