import EmberOptim
import Testing

/// Deterministic values in [-1, 1).
func values(_ count: Int, seed: Int) -> [Float] {
  var state = UInt64(truncatingIfNeeded: seed &* 2_654_435_761 &+ 97)
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(Double(state >> 11) / Double(1 << 53) * 2 - 1)
  }
}

final class Block: Module {
  let weight: Parameter
  let bias: Parameter

  init(_ inputs: Int, _ outputs: Int, seed: Int) {
    weight = Parameter(
      Tensor(shape: [outputs, inputs], scalars: values(inputs * outputs, seed: seed)))
    bias = Parameter(Tensor(shape: [outputs], scalars: values(outputs, seed: seed + 1)))
    super.init()
  }
}

/// Keys fc1.weight, fc1.bias, fc2.weight, fc2.bias.
final class Net: Module {
  let fc1: Block
  let fc2: Block

  init(seed: Int = 1, hidden: Int = 4) {
    fc1 = Block(3, hidden, seed: seed)
    fc2 = Block(hidden, 2, seed: seed + 10)
    super.init()
  }
}

/// Net with a layer added between fc1 and fc2 (an edited model).
final class EditedNet: Module {
  let fc1: Block
  let extra: Block
  let fc2: Block

  init(seed: Int = 1) {
    fc1 = Block(3, 4, seed: seed)
    extra = Block(4, 4, seed: 99)
    fc2 = Block(4, 2, seed: seed + 10)
    super.init()
  }
}

/// Sets a deterministic gradient on every parameter for `step`.
func setGrads(_ params: [Tensor], step: Int) {
  for (i, p) in params.enumerated() {
    p.grad = Tensor(shape: p.shape, scalars: values(p.count, seed: 1000 + 37 * step + i))
  }
}

/// The optimizers under test, by name, over named parameters or plain ones.
func configuredOptimizer(
  _ kind: String, named: [(name: String, parameter: Parameter)]?, plain: [Tensor]? = nil
)
  -> Optimizer
{
  let groups = named.map { [ParamGroup($0)] } ?? [ParamGroup(plain!)]
  switch kind {
  case "SGD": return SGD(groups, lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
  case "Adam": return Adam(groups, lr: 0.01, amsgrad: true)
  case "AdamW": return AdamW(groups, lr: 0.01)
  case "RMSprop": return RMSprop(groups, lr: 0.01, momentum: 0.5, centered: true)
  case "Adagrad": return Adagrad(groups, lr: 0.1, lrDecay: 0.01)
  default: fatalError(kind)
  }
}

/// Every state tensor of `optimizer` for `p`, as arrays, with the step.
func stateArrays(_ optimizer: Optimizer, _ p: Tensor) -> [String: [Double]] {
  let s = optimizer.state(for: p)
  var out = ["step": [Double(s.step)]]
  for k in s.keys { out[k] = s[k]!.toArray() }
  return out
}

/// A copy of the tensors, as a file would give them back.
func cloned(_ dict: StateDict) -> StateDict {
  StateDict(dict.map { ($0.key, $0.value.clone()) })
}

@Suite("Optimizer state dicts")
struct OptimizerStateDictTests {
  @Test("keys are state.<name>.<field> with an int64 step; groups list the names")
  func layoutByName() throws {
    let net = Net()
    let optimizer = SGD(net.namedParameters(), lr: 0.1, momentum: 0.9)
    for step in 0..<2 {
      setGrads(net.parameters(), step: step)
      try optimizer.step()
    }
    let dict = optimizer.stateDict()
    #expect(dict.keying == .name)
    #expect(dict.optimizer == "SGD")
    #expect(dict.stepCount == 2)
    #expect(dict.paramGroups[0].params == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
    #expect(
      dict.tensors.keys == [
        "state.fc1.weight.step", "state.fc1.weight.momentum_buffer", "state.fc1.bias.step",
        "state.fc1.bias.momentum_buffer", "state.fc2.weight.step",
        "state.fc2.weight.momentum_buffer", "state.fc2.bias.step", "state.fc2.bias.momentum_buffer",
      ])
    let step = dict.tensors["state.fc1.weight.step"]!
    #expect(step.dtype == .int64 && step.shape == [] && step.item() == 2)
    #expect(dict.tensors["state.fc2.weight.momentum_buffer"]!.shape == [2, 4])
    #expect(
      dict.metadataJSON()
        == #"{"format":"ember.optimizer.v1","keyed_by":"name","optimizer":"SGD","param_groups":[{"dampening":0,"lr":0.1,"maximize":false,"momentum":0.9,"nesterov":false,"params":["fc1.weight","fc1.bias","fc2.weight","fc2.bias"],"weight_decay":0}],"step_count":2}"#
    )
  }

  @Test("plain parameter lists are keyed by position across the groups, as PyTorch")
  func layoutByPosition() throws {
    let (a, b, c) = (Tensor.zeros(2), Tensor.zeros(3), Tensor.zeros(1))
    let optimizer = Adam([ParamGroup([a, b]), ParamGroup([c], ["lr": 0.5])])
    setGrads([a, c], step: 0)
    try optimizer.step()
    let dict = optimizer.stateDict()
    #expect(dict.keying == .position)
    #expect(dict.paramGroups.map(\.params) == [["0", "1"], ["2"]])
    #expect(
      dict.tensors.keys == [
        "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.2.step",
        "state.2.exp_avg", "state.2.exp_avg_sq",
      ])
    #expect(dict.paramGroups[1].options["lr"] == .number(0.5))
  }

  @Test(
    "save after 3 steps, load into a fresh model and optimizer, 3 more: equals 6 straight",
    arguments: ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
  func resumeEqualsUninterrupted(kind: String) throws {
    for byName in [true, false] {
      let straight = Net()
      let straightOptimizer = configuredOptimizer(
        kind, named: byName ? straight.namedParameters() : nil, plain: straight.parameters())
      for step in 0..<6 {
        setGrads(straight.parameters(), step: step)
        try straightOptimizer.step()
      }

      let first = Net()
      let firstOptimizer = configuredOptimizer(
        kind, named: byName ? first.namedParameters() : nil, plain: first.parameters())
      for step in 0..<3 {
        setGrads(first.parameters(), step: step)
        try firstOptimizer.step()
      }
      let saved = firstOptimizer.stateDict()
      let (tensors, json) = (cloned(saved.tensors), saved.metadataJSON())
      let weights = first.stateDict()

      let resumed = Net(seed: 5)
      try resumed.loadStateDict(weights)
      let resumedOptimizer = configuredOptimizer(
        kind, named: byName ? resumed.namedParameters() : nil, plain: resumed.parameters())
      let report = try resumedOptimizer.loadStateDict(
        OptimizerStateDict(tensors: tensors, metadataJSON: json), strict: true)
      #expect(report.missingKeys.isEmpty && report.unexpectedKeys.isEmpty)
      #expect(resumedOptimizer.stepCount == 3)
      for step in 3..<6 {
        setGrads(resumed.parameters(), step: step)
        try resumedOptimizer.step()
      }
      for (p, q) in zip(straight.parameters(), resumed.parameters()) {
        #expect(p.toArray() == q.toArray(), "\(kind) byName \(byName): parameters")
        #expect(
          stateArrays(straightOptimizer, p) == stateArrays(resumedOptimizer, q),
          "\(kind) byName \(byName): state")
      }
    }
  }

  @Test("keyed by name, loading into an edited model restores every parameter that still exists")
  func editedModel() throws {
    let net = Net()
    let optimizer = Adam(net.namedParameters(), lr: 0.01)
    for step in 0..<3 {
      setGrads(net.parameters(), step: step)
      try optimizer.step()
    }
    let saved = optimizer.stateDict()

    let edited = EditedNet()
    let loaded = try edited.loadStateDict(net.stateDict(), strict: false)
    #expect(loaded.missingKeys == ["extra.weight", "extra.bias"])
    let editedOptimizer = Adam(edited.namedParameters(), lr: 0.01)
    let report = try editedOptimizer.loadStateDict(saved)
    #expect(report.missingKeys == ["extra.weight", "extra.bias"])
    #expect(report.unexpectedKeys.isEmpty)
    for (old, new) in [(net.fc1, edited.fc1), (net.fc2, edited.fc2)] {
      for (p, q) in [(old.weight, new.weight), (old.bias, new.bias)] {
        #expect(stateArrays(optimizer, p) == stateArrays(editedOptimizer, q))
      }
    }
    #expect(editedOptimizer.state(for: edited.extra.weight).isEmpty)
    #expect(editedOptimizer.stepCount == 3)

    // One more step: the restored parameters continue as the unedited run does.
    setGrads(net.parameters(), step: 3)
    try optimizer.step()
    for (p, q) in zip(net.fc1.parameters(), edited.fc1.parameters()) { q.grad = p.grad }
    try editedOptimizer.step()
    #expect(net.fc1.weight.toArray() == edited.fc1.weight.toArray())
    #expect(stateArrays(optimizer, net.fc1.bias) == stateArrays(editedOptimizer, edited.fc1.bias))

    // strict refuses, and the other way round the removed layer is unexpected.
    let strictError = #expect(throws: OptimizerStateDictError.self) {
      try Adam(edited.namedParameters()).loadStateDict(saved, strict: true)
    }
    #expect(strictError == .keys(missing: ["extra.weight", "extra.bias"], unexpected: []))
    let back = try Adam(Net().namedParameters()).loadStateDict(editedOptimizer.stateDict())
    #expect(back.unexpectedKeys == ["extra.weight", "extra.bias"])
  }

  @Test("a loaded state is a copy; saved hyperparameters replace the group's")
  func loadCopiesAndRestoresHyperparameters() throws {
    let net = Net()
    let optimizer = SGD(net.namedParameters(), lr: 0.1, momentum: 0.9)
    setGrads(net.parameters(), step: 0)
    try optimizer.step()
    optimizer.paramGroups[0].lr = 0.05
    optimizer.paramGroups[0]["initial_lr"] = 0.1
    let saved = optimizer.stateDict()
    let other = SGD(Net().namedParameters(), lr: 1, momentum: 0)
    try other.loadStateDict(saved)
    #expect(other.paramGroups[0].lr == 0.05)
    #expect(other.paramGroups[0]["momentum"] == .number(0.9))
    #expect(other.paramGroups[0]["initial_lr"] == .number(0.1))
    let buffer = saved.tensors["state.fc1.bias.momentum_buffer"]!
    let before = buffer.toArray()
    try withNoGrad { try buffer.fill(7) }
    #expect(
      other.state(for: other.paramGroups[0].params[1])["momentum_buffer"]!.toArray() == before)
  }

  @Test("refused state dicts throw a clear error and change nothing")
  func refusals() throws {
    let net = Net()
    let optimizer = Adam(net.namedParameters(), lr: 0.01)
    setGrads(net.parameters(), step: 0)
    try optimizer.step()
    let saved = optimizer.stateDict()

    let narrow = Net(hidden: 5)
    let narrowOptimizer = Adam(narrow.namedParameters(), lr: 0.5)
    let shapes = #expect(throws: OptimizerStateDictError.self) {
      try narrowOptimizer.loadStateDict(saved)
    }
    #expect(
      shapes?.description.contains(
        "state.fc1.weight.exp_avg: saved shape [4, 3], the parameter's shape is [5, 3]") == true)
    #expect(narrowOptimizer.paramGroups[0].lr == 0.5)
    #expect(narrowOptimizer.state(for: narrow.fc1.weight).isEmpty)

    #expect(throws: OptimizerStateDictError.wrongOptimizer(saved: "Adam", current: "AdamW")) {
      try AdamW(Net().namedParameters()).loadStateDict(saved)
    }
    #expect(throws: OptimizerStateDictError.keyingMismatch(saved: .name, current: .position)) {
      try Adam(Net().parameters()).loadStateDict(saved)
    }
    let positional = Adam(Net().parameters()).stateDict()
    let tooFew = Net()
    #expect(throws: OptimizerStateDictError.groupSize(group: 0, saved: 4, current: 2)) {
      try Adam(tooFew.fc1.parameters()).loadStateDict(positional)
    }
    let two = Net()
    #expect(throws: OptimizerStateDictError.groupCount(saved: 1, current: 2)) {
      try Adam([
        ParamGroup(two.fc1.namedParameters()), ParamGroup(two.fc2.namedParameters(prefix: "fc2")),
      ])
      .loadStateDict(saved)
    }
    var bad = saved
    bad.tensors["exp_avg"] = Tensor.zeros(1)
    #expect(throws: OptimizerStateDictError.malformedKey("exp_avg")) {
      try Adam(Net().namedParameters()).loadStateDict(bad)
    }
    #expect(throws: OptimizerStateDictError.self) {
      try OptimizerStateDict(tensors: saved.tensors, metadataJSON: "{\"format\": 1}")
    }
  }

  @Test("metadata JSON round trip keeps numbers, flags, lists and infinities")
  func metadataRoundTrip() throws {
    let dict = OptimizerStateDict(
      optimizer: "Adam", keying: .position, stepCount: 7,
      paramGroups: [
        .init(
          options: [
            "lr": 1e-3, "betas": [0.9, 0.999], "amsgrad": true, "max": .number(.infinity),
          ], params: ["0"])
      ], tensors: ["state.0.step": Tensor(Int64(7))])
    let back = try OptimizerStateDict(tensors: dict.tensors, metadataJSON: dict.metadataJSON())
    #expect(back.paramGroups == dict.paramGroups)
    #expect(back.stepCount == 7 && back.keying == .position && back.optimizer == "Adam")
    #expect(dict.metadataJSON().contains(#""max":"inf""#))
  }
}
