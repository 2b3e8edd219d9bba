#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// The closed-form schedules: each rate is PyTorch's `_get_closed_form_lr` at the scheduler's own
// count, with its float operations in PyTorch's order. PyTorch's `step()` computes the same rates
// recursively from the group's current `lr` (`lr * gamma` each step, ...); the two agree to the
// last bit or within a few units of it.

/// Multiplies the rate by `gamma` every `stepSize` epochs (`StepLR`):
/// `base · gamma^⌊epoch / stepSize⌋`.
open class StepLR: LRScheduler {
  public let stepSize: Int
  public let gamma: Double

  public init(_ optimizer: Optimizer, stepSize: Int, gamma: Double = 0.1) {
    precondition(stepSize > 0, "StepLR: step_size must be positive, got \(stepSize)")
    self.stepSize = stepSize
    self.gamma = gamma
    super.init(optimizer)
  }

  open override func lr(at epoch: Int) -> [Double] {
    baseLrs.map { $0 * pow(gamma, Double(epoch / stepSize)) }
  }
}

/// Multiplies the rate by `gamma` at each milestone (`MultiStepLR`):
/// `base · gamma^(milestones ≤ epoch)`; a repeated milestone counts twice, as in PyTorch.
open class MultiStepLR: LRScheduler {
  public let milestones: [Int]
  public let gamma: Double

  public init(_ optimizer: Optimizer, milestones: [Int], gamma: Double = 0.1) {
    self.milestones = milestones.sorted()
    self.gamma = gamma
    super.init(optimizer)
  }

  open override func lr(at epoch: Int) -> [Double] {
    let passed = milestones.count(where: { $0 <= epoch })  // bisect_right
    return baseLrs.map { $0 * pow(gamma, Double(passed)) }
  }
}

/// Multiplies the rate by `gamma` every epoch (`ExponentialLR`): `base · gamma^epoch`.
open class ExponentialLR: LRScheduler {
  public let gamma: Double

  public init(_ optimizer: Optimizer, gamma: Double) {
    self.gamma = gamma
    super.init(optimizer)
  }

  open override func lr(at epoch: Int) -> [Double] {
    baseLrs.map { $0 * pow(gamma, Double(epoch)) }
  }
}

/// Cosine annealing from the base rate to `etaMin` over `tMax` epochs, then back up, periodically
/// (`CosineAnnealingLR` with `T_max`, `eta_min`):
/// `etaMin + (base − etaMin) · (1 + cos(π · epoch / tMax)) / 2`.
open class CosineAnnealingLR: LRScheduler {
  public let tMax: Int
  public let etaMin: Double

  public init(_ optimizer: Optimizer, tMax: Int, etaMin: Double = 0) {
    precondition(tMax > 0, "CosineAnnealingLR: T_max must be positive, got \(tMax)")
    self.tMax = tMax
    self.etaMin = etaMin
    super.init(optimizer)
  }

  open override func lr(at epoch: Int) -> [Double] {
    let c = cos(Double.pi * Double(epoch) / Double(tMax))
    return baseLrs.map { etaMin + ($0 - etaMin) * (1 + c) / 2 }
  }
}

/// Scales the rate linearly from `startFactor` to `endFactor` over `totalIters` epochs, then
/// keeps `endFactor` (`LinearLR`), e.g. a warm-up:
/// `base · (start + (end − start) · min(totalIters, epoch) / totalIters)`.
open class LinearLR: LRScheduler {
  public let startFactor: Double
  public let endFactor: Double
  public let totalIters: Int

  /// Stops, as PyTorch raises, when `startFactor` is not in (0, 1] or `endFactor` not in [0, 1].
  public init(
    _ optimizer: Optimizer, startFactor: Double = 1.0 / 3, endFactor: Double = 1.0,
    totalIters: Int = 5
  ) {
    precondition(
      startFactor > 0 && startFactor <= 1,
      "LinearLR: Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
    )
    precondition(
      endFactor >= 0 && endFactor <= 1,
      "LinearLR: Ending multiplicative factor expected to be between 0 and 1.")
    precondition(totalIters > 0, "LinearLR: total_iters must be positive, got \(totalIters)")
    self.startFactor = startFactor
    self.endFactor = endFactor
    self.totalIters = totalIters
    super.init(optimizer)
  }

  open override func lr(at epoch: Int) -> [Double] {
    let factor =
      startFactor + (endFactor - startFactor) * Double(Swift.min(totalIters, epoch))
      / Double(totalIters)
    return baseLrs.map { $0 * factor }
  }
}

/// Runs `schedulers` one after the other, switching at each milestone (`SequentialLR`), e.g. a
/// warm-up then a decay:
///
/// ```swift
/// let warmup = LinearLR(optimizer, startFactor: 0.1, totalIters: 5)
/// let decay = CosineAnnealingLR(optimizer, tMax: 95)
/// let scheduler = SequentialLR(optimizer, schedulers: [warmup, decay], milestones: [5])
/// ```
///
/// After milestone `m`, the next scheduler runs from its own epoch 0 (epoch − m), as in PyTorch.
open class SequentialLR: LRScheduler {
  public let schedulers: [LRScheduler]
  public let milestones: [Int]

  /// Stops, as PyTorch raises, without schedulers, with a scheduler of another optimizer or a
  /// ReduceLROnPlateau, or unless there is one milestone fewer than schedulers.
  public init(_ optimizer: Optimizer, schedulers: [LRScheduler], milestones: [Int]) {
    precondition(
      !schedulers.isEmpty, "SequentialLR expects at least one scheduler, but got no scheduler.")
    for (i, s) in schedulers.enumerated() {
      precondition(
        !(s is ReduceLROnPlateau),
        "SequentialLR does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs to be specified when calling `step`, but got one at index \(i) in the given schedulers sequence."
      )
      precondition(
        s.optimizer === optimizer,
        "SequentialLR expects all schedulers to belong to the same optimizer, but got scheduler \(type(of: s)) at index \(i) with a different optimizer."
      )
    }
    precondition(
      milestones.count == schedulers.count - 1,
      "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers \(schedulers.count) and the number of milestones to be equal to \(milestones.count)"
    )
    self.schedulers = schedulers
    self.milestones = milestones
    super.init(optimizer)
  }

  /// The scheduler running at `epoch` and its own epoch.
  private func locate(_ epoch: Int) -> (scheduler: LRScheduler, epoch: Int) {
    let i = milestones.count(where: { $0 <= epoch })  // bisect_right
    return (schedulers[i], i == 0 ? epoch : epoch - milestones[i - 1])
  }

  open override func lr(at epoch: Int) -> [Double] {
    let (s, local) = locate(epoch)
    return s.lr(at: local)
  }

  open override func apply(at epoch: Int) {
    let (s, local) = locate(epoch)
    s.lastEpoch = local
    s.apply(at: local)
    lastLr = s.lastLr
  }

  /// Its own counters and every scheduler's, under `_schedulers.<i>.<key>`.
  open override func stateDict() -> SchedulerStateDict {
    var state = super.stateDict()
    for (i, s) in schedulers.enumerated() {
      for (key, value) in s.stateDict() { state["_schedulers.\(i).\(key)"] = value }
    }
    return state
  }

  open override func loadStateDict(_ state: SchedulerStateDict) throws {
    var inner = [SchedulerStateDict](repeating: [:], count: schedulers.count)
    var own: SchedulerStateDict = [:]
    for (key, value) in state {
      if key.hasPrefix("_schedulers.") {
        let rest = key.dropFirst("_schedulers.".count)
        guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]),
          inner.indices.contains(i)
        else {
          throw SchedulerStateDictError(
            message:
              "SequentialLR state dict has \"\(key)\" but there are \(schedulers.count) schedulers"
          )
        }
        inner[i][String(rest[rest.index(after: dot)...])] = value
      } else {
        own[key] = value
      }
    }
    let snapshots = schedulers.map { $0.stateDict() }
    let ownSnapshot = super.stateDict()
    do {
      for (s, st) in zip(schedulers, inner) { try s.loadStateDict(st) }
      try super.loadStateDict(own)
    } catch {
      for (s, st) in zip(schedulers, snapshots) { try? s.loadStateDict(st) }
      try? super.loadStateDict(ownSnapshot)
      throw error
    }
  }
}
