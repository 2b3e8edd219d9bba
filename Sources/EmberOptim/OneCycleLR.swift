#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The 1cycle policy (`OneCycleLR`): the rate rises from `maxLr / divFactor` to `maxLr` over the
/// first `pctStart` of `totalSteps`, then anneals to `initial_lr / finalDivFactor`; with
/// `threePhase`, it comes back down symmetrically first and then anneals. Step it after every
/// batch.
///
/// With `cycleMomentum` (the default), the momentum moves the other way, between `maxMomentum`
/// and `baseMomentum`: SGD's and RMSprop's `"momentum"`, or Adam's and AdamW's beta1
/// (`"betas"[0]`). It writes `initial_lr`, `max_lr`, `min_lr`, `max_momentum` and
/// `base_momentum` into each group, as PyTorch does.
///
/// Stepping past `totalSteps` stops the program, as PyTorch raises.
open class OneCycleLR: LRScheduler {
  /// How the rate moves within a phase (`anneal_strategy`).
  public enum AnnealStrategy: String, Sendable {
    case cos, linear
  }

  private struct Phase {
    let endStep: Double
    let startLr, endLr, startMomentum, endMomentum: String
  }

  public let totalSteps: Int
  public let annealStrategy: AnnealStrategy
  public let cycleMomentum: Bool
  /// Whether the momentum cycled is Adam's beta1 (the optimizer has `"betas"`).
  public let usesBeta1: Bool
  private let phases: [Phase]

  /// A schedule of `totalSteps` steps, or `epochs · stepsPerEpoch`, peaking at `maxLr` (one rate
  /// for every group).
  public convenience init(
    _ optimizer: Optimizer, maxLr: Double, totalSteps: Int? = nil, epochs: Int? = nil,
    stepsPerEpoch: Int? = nil, pctStart: Double = 0.3, annealStrategy: AnnealStrategy = .cos,
    cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95,
    divFactor: Double = 25, finalDivFactor: Double = 1e4, threePhase: Bool = false
  ) {
    self.init(
      optimizer, maxLrs: Array(repeating: maxLr, count: optimizer.paramGroups.count),
      totalSteps: totalSteps, epochs: epochs, stepsPerEpoch: stepsPerEpoch, pctStart: pctStart,
      annealStrategy: annealStrategy, cycleMomentum: cycleMomentum, baseMomentum: baseMomentum,
      maxMomentum: maxMomentum, divFactor: divFactor, finalDivFactor: finalDivFactor,
      threePhase: threePhase)
  }

  /// A schedule with one peak rate per group.
  ///
  /// Stops, as PyTorch raises, without a positive `totalSteps` or `epochs` and
  /// `stepsPerEpoch`, with `pctStart` outside [0, 1], with a `maxLrs` count other than the
  /// groups', or with `cycleMomentum` on an optimizer without momentum or betas.
  public init(
    _ optimizer: Optimizer, maxLrs: [Double], totalSteps: Int? = nil, epochs: Int? = nil,
    stepsPerEpoch: Int? = nil, pctStart: Double = 0.3, annealStrategy: AnnealStrategy = .cos,
    cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95,
    divFactor: Double = 25, finalDivFactor: Double = 1e4, threePhase: Bool = false
  ) {
    let total: Int
    if let totalSteps {
      precondition(
        totalSteps > 0, "OneCycleLR: Expected positive integer total_steps, but got \(totalSteps)")
      total = totalSteps
    } else if let epochs, let stepsPerEpoch {
      precondition(epochs > 0, "OneCycleLR: Expected positive integer epochs, but got \(epochs)")
      precondition(
        stepsPerEpoch > 0,
        "OneCycleLR: Expected positive integer steps_per_epoch, but got \(stepsPerEpoch)")
      total = epochs * stepsPerEpoch
    } else {
      preconditionFailure(
        "OneCycleLR: You must define either total_steps OR (epochs AND steps_per_epoch)")
    }
    let t = Double(total)
    if threePhase {
      phases = [
        Phase(
          endStep: pctStart * t - 1, startLr: "initial_lr", endLr: "max_lr",
          startMomentum: "max_momentum", endMomentum: "base_momentum"),
        Phase(
          endStep: 2 * pctStart * t - 2, startLr: "max_lr", endLr: "initial_lr",
          startMomentum: "base_momentum", endMomentum: "max_momentum"),
        Phase(
          endStep: t - 1, startLr: "initial_lr", endLr: "min_lr",
          startMomentum: "max_momentum", endMomentum: "max_momentum"),
      ]
    } else {
      phases = [
        Phase(
          endStep: pctStart * t - 1, startLr: "initial_lr", endLr: "max_lr",
          startMomentum: "max_momentum", endMomentum: "base_momentum"),
        Phase(
          endStep: t - 1, startLr: "max_lr", endLr: "min_lr",
          startMomentum: "base_momentum", endMomentum: "max_momentum"),
      ]
    }
    precondition(
      pctStart >= 0 && pctStart <= 1,
      "OneCycleLR: Expected float between 0 and 1 pct_start, but got \(pctStart)")
    precondition(
      maxLrs.count == optimizer.paramGroups.count,
      "OneCycleLR: max_lr must have the same length as optimizer.param_groups. max_lr has \(maxLrs.count) values, param_groups has \(optimizer.paramGroups.count)."
    )
    self.totalSteps = total
    self.annealStrategy = annealStrategy
    self.cycleMomentum = cycleMomentum
    usesBeta1 = optimizer.defaults["betas"] != nil
    for (i, maxLr) in maxLrs.enumerated() {
      let initial = maxLr / divFactor
      optimizer.paramGroups[i]["initial_lr"] = .number(initial)
      optimizer.paramGroups[i]["max_lr"] = .number(maxLr)
      optimizer.paramGroups[i]["min_lr"] = .number(initial / finalDivFactor)
    }
    if cycleMomentum {
      precondition(
        optimizer.defaults["momentum"] != nil || usesBeta1,
        "OneCycleLR: optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
      )
      for i in optimizer.paramGroups.indices {
        OneCycleLR.setMomentum(maxMomentum, in: &optimizer.paramGroups[i], beta1: usesBeta1)
        optimizer.paramGroups[i]["max_momentum"] = .number(maxMomentum)
        optimizer.paramGroups[i]["base_momentum"] = .number(baseMomentum)
      }
    }
    super.init(optimizer)
  }

  private static func setMomentum(_ m: Double, in group: inout ParamGroup, beta1: Bool) {
    if beta1 {
      var betas = group.numbers("betas")
      betas[0] = m
      group["betas"] = .numbers(betas)
    } else {
      group["momentum"] = .number(m)
    }
  }

  private func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
    switch annealStrategy {
    case .cos:
      let cosOut = cos(Double.pi * pct) + 1
      return end + (start - end) / 2.0 * cosOut
    case .linear:
      return (end - start) * pct + start
    }
  }

  /// Each group's rate and momentum after `epoch` steps.
  private func values(at epoch: Int) -> [(lr: Double, momentum: Double?)] {
    precondition(
      epoch <= totalSteps,
      "OneCycleLR: Tried to step \(epoch) times. The specified number of total steps is \(totalSteps)"
    )
    return optimizer.paramGroups.map { group in
      var start = 0.0
      for (i, phase) in phases.enumerated() {
        if Double(epoch) <= phase.endStep || i == phases.count - 1 {
          let pct = (Double(epoch) - start) / (phase.endStep - start)
          let lr = anneal(group.number(phase.startLr), group.number(phase.endLr), pct)
          let momentum =
            cycleMomentum
            ? anneal(group.number(phase.startMomentum), group.number(phase.endMomentum), pct)
            : nil
          return (lr, momentum)
        }
        start = phase.endStep
      }
      fatalError("unreachable: the last phase always matches")
    }
  }

  open override func lr(at epoch: Int) -> [Double] { values(at: epoch).map(\.lr) }

  /// Writes the rates and, with `cycleMomentum`, the momentum (or beta1) of `epoch`.
  open override func apply(at epoch: Int) {
    let all = values(at: epoch)
    for (i, v) in all.enumerated() {
      optimizer.paramGroups[i].lr = v.lr
      if let m = v.momentum {
        OneCycleLR.setMomentum(m, in: &optimizer.paramGroups[i], beta1: usesBeta1)
      }
    }
    lastLr = all.map(\.lr)
  }
}
