import EmberOptim
import Testing

/// Sign descent written as a user would: one override.
final class SignSGD: Optimizer {
  init(_ params: [Tensor], lr: Double) {
    super.init([ParamGroup(params)], defaults: ["lr": .number(lr)])
  }

  override func update(
    parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup
  ) throws {
    try parameter.subInPlace(grad.sign() * group.lr)
    state["last_sign"] = grad.sign()
  }
}

/// SGD that clips each gradient to [-1, 1] before PyTorch's rule.
final class ClippedSGD: SGD {
  override func update(
    parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup
  ) throws {
    try super.update(
      parameter: parameter, grad: grad.clamp(min: -1, max: 1), state: state, group: group)
  }
}

@Suite("Optimizer API")
struct OptimizerAPITests {
  @Test("initializer arguments become the groups' hyperparameters under PyTorch's keys")
  func initializerKeys() {
    let p = [Tensor.zeros(2)]
    #expect(
      SGD(
        p, lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false,
        maximize: true
      )
      .paramGroups[0].options == [
        "lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01, "nesterov": false,
        "maximize": true,
      ])
    #expect(
      Adam(p, lr: 0.01, betas: (0.8, 0.9), eps: 1e-6, weightDecay: 0.1, amsgrad: true).paramGroups[
        0
      ]
      .options == [
        "lr": 0.01, "betas": [0.8, 0.9], "eps": 1e-6, "weight_decay": 0.1, "amsgrad": true,
        "maximize": false, "decoupled_weight_decay": false,
      ])
    #expect(AdamW(p).paramGroups[0]["weight_decay"] == .number(0.01))
    #expect(AdamW(p).paramGroups[0]["decoupled_weight_decay"] == .flag(true))
    #expect(
      RMSprop(p, lr: 0.1, alpha: 0.9, eps: 1e-6, weightDecay: 0.1, momentum: 0.5, centered: true)
        .paramGroups[0].options == [
          "lr": 0.1, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1, "momentum": 0.5,
          "centered": true, "maximize": false,
        ])
    #expect(
      Adagrad(p, lr: 0.1, lrDecay: 0.01, weightDecay: 0.1, initialAccumulatorValue: 0.5, eps: 1e-6)
        .paramGroups[0].options == [
          "lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5,
          "eps": 1e-6, "maximize": false,
        ])
  }

  @Test("param groups: own hyperparameters, defaults for the rest, addParamGroup, lr edits")
  func paramGroups() throws {
    let a = Parameter(Tensor([1.0]))
    let b = Parameter(Tensor([1.0]))
    let optimizer = SGD([ParamGroup([a])], lr: 0.1)
    optimizer.addParamGroup(ParamGroup([b], ["lr": 0.01, "momentum": 0.5]))
    #expect(optimizer.paramGroups.count == 2)
    #expect(optimizer.paramGroups[1].lr == 0.01)
    #expect(optimizer.paramGroups[1].number("dampening") == 0)
    a.grad = Tensor([1.0])
    b.grad = Tensor([1.0])
    try optimizer.step()
    #expect(a.item() == Double(Float(1) - Float(0.1)))
    #expect(b.item() == Double(Float(1) - Float(0.01)))
    optimizer.paramGroups[0].lr = 1
    try optimizer.step()
    #expect(a.item() == Double(Float(1) - Float(0.1) - 1))
    #expect(optimizer.state(for: b)["momentum_buffer"] != nil)
    #expect(optimizer.state(for: a)["momentum_buffer"] == nil)
  }

  @Test("step() skips parameters without a gradient and counts each parameter's updates")
  func skipsMissingGrads() throws {
    let a = Parameter(Tensor([1.0, 2.0]))
    let b = Parameter(Tensor([3.0]))
    let optimizer = Adam([a, b], lr: 0.1)
    a.grad = Tensor([2.0, 2.0])
    try optimizer.step()
    try optimizer.step()
    #expect(optimizer.state(for: a).step == 2)
    #expect(optimizer.state(for: b).isEmpty)
    #expect(b.item() == 3)
    #expect(optimizer.stepCount == 2)
    // PyTorch's check: θ = 1, g = 2, lr = 0.1 gives 0.9 after one Adam step.
    let t = Parameter(Tensor([1.0]))
    t.grad = Tensor([2.0])
    try Adam([t], lr: 0.1).step()
    #expect(Swift.abs(t.item() - 0.9) < 1e-6)
  }

  @Test("step() runs under no-grad: parameters stay leaves that require grad")
  func stepUnderNoGrad() throws {
    let w = Parameter(Tensor([1.0, 2.0]))
    let loss = (w * w).sum()
    try loss.backward()
    try SGD([w], lr: 0.5, momentum: 0.9).step()
    #expect(w.isLeaf && w.requiresGrad && w.gradFn == nil)
    #expect(w.toArray() == [0, 0])
  }

  @Test("step(closure) evaluates the loss with grad enabled, then steps")
  func stepWithClosure() throws {
    let w = Parameter(Tensor([3.0]))
    let optimizer = SGD([w], lr: 0.25)
    let loss = try withNoGrad {
      try optimizer.step {
        optimizer.zeroGrad()
        let l = (w * w).sum()
        try l.backward()
        return l
      }
    }
    #expect(loss.item() == 9)
    #expect(w.item() == 1.5)
  }

  @Test("zeroGrad sets gradients to nil, or to zeros with setToNone: false")
  func zeroGrad() {
    let a = Parameter(Tensor([1.0]))
    let b = Parameter(Tensor([1.0, 2.0]))
    let optimizer = SGD([a, b])
    a.grad = Tensor([5.0])
    b.grad = Tensor([5.0, 6.0])
    optimizer.zeroGrad(setToNone: false)
    #expect(a.grad?.toArray() == [0])
    #expect(b.grad?.toArray() == [0, 0])
    optimizer.zeroGrad()
    #expect(a.grad == nil && b.grad == nil)
  }

  @Test("a custom optimizer overrides one method; a subclass can wrap the built-in rule")
  func customOptimizers() throws {
    let w = Parameter(Tensor([1.0, -1.0, 0.5]))
    let optimizer = SignSGD([w], lr: 0.25)
    w.grad = Tensor([3.0, -0.5, 0.0])
    try optimizer.step()
    #expect(w.toArray() == [0.75, -0.75, 0.5])
    #expect(optimizer.state(for: w)["last_sign"]?.toArray() == [1, -1, 0])
    #expect(optimizer.stateDict().tensors.keys == ["state.0.step", "state.0.last_sign"])

    let v = Parameter(Tensor([0.0, 0.0]))
    v.grad = Tensor([10.0, -0.5])
    try ClippedSGD([v], lr: 0.5).step()
    #expect(v.toArray() == [-0.5, 0.25])
  }

  @Test("a non-contiguous parameter is updated through its strides")
  func nonContiguousParameter() throws {
    let base = Tensor(shape: [2, 3], scalars: [1.0, 2, 3, 4, 5, 6] as [Float])
    let p = Parameter(base.t())
    #expect(!p.isContiguous)
    let q = Parameter(base.t().contiguous())
    let g = Tensor(shape: [3, 2], scalars: [0.5, -1, 2, 0.25, -3, 1] as [Float])
    p.grad = g
    q.grad = g
    let (o1, o2) = (Adam([p], lr: 0.1, amsgrad: true), Adam([q], lr: 0.1, amsgrad: true))
    for _ in 0..<3 {
      try o1.step()
      try o2.step()
    }
    #expect(p.toArray() == q.toArray())
    #expect(base.t().toArray() == q.toArray(), "the update wrote through the view")
  }

  @Test("float64 parameters and a float32 gradient (converted) work")
  func dtypes() throws {
    let p = Parameter(Tensor([1.0, 2.0], dtype: .float64))
    p.grad = Tensor([1.0, 1.0])
    try SGD([p], lr: 0.1).step()
    #expect(p.dtype == .float64)
    #expect(p.toArray() == [0.9, 1.9])
  }

  @Test("the printed form lists each group's hyperparameters in key order")
  func description() {
    let optimizer = SGD([Tensor.zeros(1)], lr: 0.1, momentum: 0.9)
    #expect(
      optimizer.description == """
        SGD (
        Parameter Group 0
            dampening: 0.0
            lr: 0.1
            maximize: False
            momentum: 0.9
            nesterov: False
            weight_decay: 0.0
        )
        """)
  }

  @Test("misuse stops with PyTorch's messages")
  func preconditions() async {
    let lr = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = SGD([Tensor.zeros(1)], lr: -1)
    }
    #expect(stderrText(lr).contains("Invalid learning rate: -1.0"))
    let nesterov = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = SGD([Tensor.zeros(1)], lr: 0.1, nesterov: true)
    }
    #expect(
      stderrText(nesterov).contains("Nesterov momentum requires a momentum and zero dampening"))
    let beta = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Adam([Tensor.zeros(1)], betas: (0.9, 1.0))
    }
    #expect(stderrText(beta).contains("Invalid beta parameter at index 1: 1.0"))
    let twice = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let p = Tensor.zeros(1)
      _ = SGD([ParamGroup([p]), ParamGroup([p])])
    }
    #expect(stderrText(twice).contains("some parameters appear in more than one parameter group"))
    let mixed = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let named = [(name: "w", parameter: Parameter(Tensor.zeros(1)))]
      _ = SGD([ParamGroup(named), ParamGroup([Tensor.zeros(1)])])
    }
    #expect(stderrText(mixed).contains("all optimizer param groups should be with/without names"))
    let nonLeaf = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = try! Tensor([1.0], requiresGrad: true)
      _ = SGD([x * 2])
    }
    #expect(stderrText(nonLeaf).contains("can't optimize a non-leaf Tensor"))
    let empty = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = SGD([ParamGroup]())
    }
    #expect(stderrText(empty).contains("optimizer got an empty parameter list"))
  }
}
