import EmberOptim
import Foundation
import Testing

/// An optimizer of `kind` with one tensor per group, its lr (and SGD's momentum) from `groups`.
func schedulerOptimizer(_ kind: String, _ groups: JSON) -> Optimizer {
  let specs = groups.array.map { g -> ParamGroup in
    var options: [String: Hyperparameter] = ["lr": .number(g["lr"].double)]
    if kind == "SGD" { options["momentum"] = .number(g["momentum"].double) }
    return ParamGroup([Tensor.zeros(2)], options)
  }
  return makeOptimizer(kind, specs)
}

/// The scheduler PyTorch's `kind(optimizer, **args)` makes; arguments PyTorch's call leaves out
/// are left out here too, so the defaults are under test.
func makeScheduler(_ kind: String, _ args: JSON, _ optimizer: Optimizer) -> LRScheduler {
  let a = args
  func number(_ key: String, _ fallback: Double) -> Double {
    a[key].isNull ? fallback : a[key].double
  }
  switch kind {
  case "StepLR":
    return a["gamma"].isNull
      ? StepLR(optimizer, stepSize: a["step_size"].int)
      : StepLR(optimizer, stepSize: a["step_size"].int, gamma: a["gamma"].double)
  case "MultiStepLR":
    return MultiStepLR(optimizer, milestones: a["milestones"].ints, gamma: a["gamma"].double)
  case "ExponentialLR":
    return ExponentialLR(optimizer, gamma: a["gamma"].double)
  case "CosineAnnealingLR":
    return a["eta_min"].isNull
      ? CosineAnnealingLR(optimizer, tMax: a["T_max"].int)
      : CosineAnnealingLR(optimizer, tMax: a["T_max"].int, etaMin: a["eta_min"].double)
  case "LinearLR":
    if a.object.isEmpty { return LinearLR(optimizer) }
    return LinearLR(
      optimizer, startFactor: number("start_factor", 1.0 / 3), endFactor: number("end_factor", 1),
      totalIters: a["total_iters"].isNull ? 5 : a["total_iters"].int)
  case "OneCycleLR":
    let keys = Set(a.object.keys)
    let maxLr = a["max_lr"]
    if keys == ["max_lr", "total_steps"], case .number(let m) = maxLr {
      return OneCycleLR(optimizer, maxLr: m, totalSteps: a["total_steps"].int)
    }
    if keys == ["max_lr", "total_steps"] {
      return OneCycleLR(optimizer, maxLrs: maxLr.doubles, totalSteps: a["total_steps"].int)
    }
    let strategy: OneCycleLR.AnnealStrategy = a["anneal_strategy"].isNull ? .cos : .linear
    return OneCycleLR(
      optimizer, maxLrs: Array(repeating: maxLr.double, count: optimizer.paramGroups.count),
      totalSteps: a["total_steps"].isNull ? nil : a["total_steps"].int,
      epochs: a["epochs"].isNull ? nil : a["epochs"].int,
      stepsPerEpoch: a["steps_per_epoch"].isNull ? nil : a["steps_per_epoch"].int,
      pctStart: number("pct_start", 0.3), annealStrategy: strategy,
      cycleMomentum: a["cycle_momentum"].isNull ? true : a["cycle_momentum"] == .bool(true),
      baseMomentum: number("base_momentum", 0.85), maxMomentum: number("max_momentum", 0.95),
      divFactor: number("div_factor", 25), finalDivFactor: number("final_div_factor", 1e4),
      threePhase: a["three_phase"] == .bool(true))
  case "SequentialLR":
    let inner = a["schedulers"].array.map { makeScheduler($0[0].string, $0[1], optimizer) }
    return SequentialLR(optimizer, schedulers: inner, milestones: a["milestones"].ints)
  case "ReduceLROnPlateau":
    let mode: ReduceLROnPlateau.Mode = a["mode"].isNull || a["mode"].string == "min" ? .min : .max
    let thresholdMode: ReduceLROnPlateau.ThresholdMode =
      a["threshold_mode"].isNull || a["threshold_mode"].string == "rel" ? .rel : .abs
    if a.object.isEmpty { return ReduceLROnPlateau(optimizer) }
    if case .array = a["min_lr"] {
      return ReduceLROnPlateau(
        optimizer, mode: mode, factor: number("factor", 0.1),
        patience: a["patience"].isNull ? 10 : a["patience"].int,
        threshold: number("threshold", 1e-4), thresholdMode: thresholdMode,
        cooldown: a["cooldown"].isNull ? 0 : a["cooldown"].int, minLrs: a["min_lr"].doubles,
        eps: number("eps", 1e-8))
    }
    return ReduceLROnPlateau(
      optimizer, mode: mode, factor: number("factor", 0.1),
      patience: a["patience"].isNull ? 10 : a["patience"].int,
      threshold: number("threshold", 1e-4), thresholdMode: thresholdMode,
      cooldown: a["cooldown"].isNull ? 0 : a["cooldown"].int, minLr: number("min_lr", 0),
      eps: number("eps", 1e-8))
  default:
    fatalError("unknown scheduler \(kind)")
  }
}

extension JSON: Equatable {
  static func == (a: JSON, b: JSON) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    default: return false
    }
  }
}

/// Each group's momentum: SGD's and RMSprop's `momentum`, Adam's beta1.
func momenta(_ optimizer: Optimizer) -> [Double] {
  optimizer.paramGroups.map { $0["betas"]?.numbers?[0] ?? $0.number("momentum") }
}

@Suite("LR schedulers against PyTorch 2.15 (Fixtures/optim-cases.json)")
struct LRSchedulerFixtureTests {
  /// The rates after construction and after each step. Where PyTorch has a closed form
  /// (`_get_closed_form_lr`), Ember's rates equal it bit for bit, and PyTorch's recursive rates
  /// within 1e-12; OneCycleLR's rates and momenta and ReduceLROnPlateau's rates are
  /// bit-identical.
  @Test("rates and momenta equal PyTorch's", arguments: Fixture.names("schedulers"))
  func rates(name: String) throws {
    let c = Fixture.find("schedulers", name)
    let kind = c["kind"].string
    let optimizer = schedulerOptimizer(c["optimizer"].string, c["groups"])
    let scheduler = makeScheduler(kind, c["args"], optimizer)
    let metrics = c["metrics"].isNull ? [] : c["metrics"].doubles
    for (epoch, expected) in c["steps"].array.enumerated() {
      if epoch > 0 {
        try optimizer.step()
        if let plateau = scheduler as? ReduceLROnPlateau {
          plateau.step(metrics[epoch - 1])
        } else {
          scheduler.step()
        }
      }
      let label = "\(name) epoch \(epoch)"
      let rates = scheduler.getLastLr()
      #expect(rates == optimizer.paramGroups.map(\.lr), "\(label): the groups hold the rates")
      if !expected["closed"].isNull {
        expectExact(rates, expected["closed"].doubles, "\(label) closed form")
        expectClose(rates, expected["lr"].doubles, rtol: 1e-12, atol: 1e-15, label)
      } else if kind == "SequentialLR" {
        expectClose(rates, expected["lr"].doubles, rtol: 1e-12, atol: 1e-15, label)
      } else {
        expectExact(rates, expected["lr"].doubles, label)
      }
      if !expected["momentum"].isNull {
        expectExact(momenta(optimizer), expected["momentum"].doubles, "\(label) momentum")
      }
      #expect(scheduler.lastEpoch == epoch)
    }
  }
}

@Suite("LR schedulers")
struct LRSchedulerTests {
  func sgd(_ lrs: [Double] = [0.1, 0.01]) -> SGD {
    SGD(lrs.map { ParamGroup([Tensor.zeros(2)], ["lr": .number($0)]) }, momentum: 0.9)
  }

  @Test("scheduler.step() before optimizer.step() warns once, as PyTorch, and skips the first rate")
  func stepOrderWarning() async {
    let wrong = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let optimizer = SGD([Tensor.zeros(2)], lr: 1)
      let scheduler = StepLR(optimizer, stepSize: 1, gamma: 0.5)
      scheduler.step()
      scheduler.step()
      precondition(scheduler.getLastLr() == [0.25])
    }
    let text = stderrText(wrong)
    #expect(text.contains("Detected call of `lr_scheduler.step()` before `optimizer.step()`"))
    #expect(text.components(separatedBy: "Detected call").count == 2, "warned once: \(text)")

    let right = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      let optimizer = SGD([Tensor.zeros(2)], lr: 1)
      let scheduler = StepLR(optimizer, stepSize: 1, gamma: 0.5)
      try! optimizer.step()
      scheduler.step()
    }
    #expect(stderrText(right).isEmpty)
  }

  @Test("rates come from the scheduler's count, not from what the group's lr became")
  func closedFormIgnoresOutsideWrites() throws {
    let optimizer = sgd()
    let scheduler = ExponentialLR(optimizer, gamma: 0.5)
    try optimizer.step()
    scheduler.step()
    optimizer.paramGroups[0].lr = 123
    scheduler.step()
    #expect(scheduler.getLastLr() == [0.1 * 0.25, 0.01 * 0.25])
    #expect(optimizer.paramGroups[0].lr == 0.1 * 0.25)
    #expect(optimizer.paramGroups[0]["initial_lr"] == .number(0.1))
  }

  /// Runs `make`'s scheduler `total` steps straight, and again with a state-dict round trip
  /// (through JSON) into a fresh optimizer and scheduler after `split` steps.
  func expectResumeMatches(
    total: Int, split: Int, make: (Optimizer) -> LRScheduler,
    metric: (Int) -> Double = { _ in 0 }, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    func advance(_ s: LRScheduler, _ o: Optimizer, _ epoch: Int) throws {
      try o.step()
      if let p = s as? ReduceLROnPlateau { p.step(metric(epoch)) } else { s.step() }
    }
    let straightOptimizer = sgd()
    let straight = make(straightOptimizer)
    var expected: [[Double]] = []
    for epoch in 0..<total {
      try advance(straight, straightOptimizer, epoch)
      expected.append(straight.getLastLr() + momenta(straightOptimizer))
    }

    let firstOptimizer = sgd()
    let first = make(firstOptimizer)
    for epoch in 0..<split { try advance(first, firstOptimizer, epoch) }
    let json = try JSONEncoder().encode(first.stateDict())
    let optimizerState = firstOptimizer.stateDict()

    let resumedOptimizer = sgd()
    let resumed = make(resumedOptimizer)
    try resumed.loadStateDict(JSONDecoder().decode(SchedulerStateDict.self, from: json))
    try resumedOptimizer.loadStateDict(optimizerState)
    #expect(resumed.getLastLr() == first.getLastLr(), sourceLocation: sourceLocation)
    #expect(resumed.lastEpoch == split, sourceLocation: sourceLocation)
    for epoch in split..<total {
      try advance(resumed, resumedOptimizer, epoch)
      #expect(
        resumed.getLastLr() + momenta(resumedOptimizer) == expected[epoch],
        "epoch \(epoch + 1)", sourceLocation: sourceLocation)
    }
  }

  @Test("state dict round trip through JSON: a resumed scheduler gives the same rates")
  func resume() throws {
    try expectResumeMatches(total: 9, split: 4) { StepLR($0, stepSize: 2, gamma: 0.5) }
    try expectResumeMatches(total: 9, split: 4) { MultiStepLR($0, milestones: [3, 6]) }
    try expectResumeMatches(total: 9, split: 5) { CosineAnnealingLR($0, tMax: 6) }
    try expectResumeMatches(total: 10, split: 3) { OneCycleLR($0, maxLr: 1, totalSteps: 10) }
    try expectResumeMatches(total: 10, split: 4) { o in
      SequentialLR(
        o,
        schedulers: [LinearLR(o, startFactor: 0.1, totalIters: 3), ExponentialLR(o, gamma: 0.9)],
        milestones: [3])
    }
    try expectResumeMatches(
      total: 12, split: 5, make: { ReduceLROnPlateau($0, factor: 0.5, patience: 1, cooldown: 1) },
      metric: { [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8][$0] })
  }

  @Test("ReduceLROnPlateau's state holds its counters; inf survives JSON as \"inf\"")
  func plateauState() throws {
    let scheduler = ReduceLROnPlateau(sgd())
    let state = scheduler.stateDict()
    #expect(state["best"] == .number(.infinity))
    #expect(state["num_bad_epochs"] == .number(0))
    let json = String(decoding: try JSONEncoder().encode(state["best"]!), as: UTF8.self)
    #expect(json == "\"inf\"")
    scheduler.step(2.0)
    #expect(scheduler.best == 2.0)
    #expect(scheduler.stateDict()["last_epoch"] == .number(1))
  }

  @Test("loading a scheduler state that lacks a key throws and changes nothing")
  func badState() throws {
    let optimizer = sgd()
    let scheduler = StepLR(optimizer, stepSize: 1)
    var state = scheduler.stateDict()
    state["last_epoch"] = nil
    #expect(throws: SchedulerStateDictError.self) { try scheduler.loadStateDict(state) }
    state = scheduler.stateDict()
    state["base_lrs"] = .numbers([0.1])
    let error = #expect(throws: SchedulerStateDictError.self) { try scheduler.loadStateDict(state) }
    #expect(error?.description.contains("one number per param group (2)") == true)
    #expect(scheduler.lastEpoch == 0)
    #expect(scheduler.getLastLr() == [0.1, 0.01])
  }

  @Test("misuse stops with PyTorch's messages")
  func preconditions() async {
    let past = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let o = SGD([Tensor.zeros(1)], lr: 0.1, momentum: 0.9)
      let s = OneCycleLR(o, maxLr: 1, totalSteps: 2)
      for _ in 0..<3 { s.step() }
    }
    #expect(
      stderrText(past).contains(
        "Tried to step 3 times. The specified number of total steps is 2"))
    let plateau = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      ReduceLROnPlateau(SGD([Tensor.zeros(1)])).step()
    }
    #expect(stderrText(plateau).contains("ReduceLROnPlateau.step() needs the metric"))
    let noMomentum = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent])
    {
      _ = OneCycleLR(Adagrad([Tensor.zeros(1)]), maxLr: 1, totalSteps: 5)
    }
    #expect(
      stderrText(noMomentum).contains(
        "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"))
    let milestones = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent])
    {
      let o = SGD([Tensor.zeros(1)])
      _ = SequentialLR(o, schedulers: [StepLR(o, stepSize: 1)], milestones: [1])
    }
    #expect(
      stderrText(milestones).contains(
        "expects number of schedulers provided to be one more than the number of milestone points"
      ))
  }
}
