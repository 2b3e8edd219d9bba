/// Cuts the rate by `factor` when a metric stops improving for `patience` epochs
/// (`ReduceLROnPlateau`), with PyTorch's defaults and rules. Step it with the metric:
/// `scheduler.step(validationLoss)`.
///
/// A metric is better than the best so far when it beats it by `threshold` (relative: below
/// `best · (1 − threshold)` in `.min` mode; absolute: below `best − threshold`; mirrored in
/// `.max` mode). After `patience` epochs without improvement each rate becomes
/// `max(lr · factor, minLr)` (unless that changes it by `eps` or less), then `cooldown` epochs
/// pass before bad epochs count again. It keeps the rates the optimizer has when made.
open class ReduceLROnPlateau: LRScheduler {
  /// Whether lower (`.min`, e.g. a loss) or higher (`.max`, e.g. an accuracy) is better.
  public enum Mode: String, Sendable {
    case min, max
  }

  /// Whether `threshold` is relative to the best value or absolute.
  public enum ThresholdMode: String, Sendable {
    case rel, abs
  }

  public let mode: Mode
  public let factor: Double
  public let patience: Int
  public let threshold: Double
  public let thresholdMode: ThresholdMode
  public let cooldown: Int
  public let eps: Double
  /// The lowest rate of each group (`min_lrs`).
  public private(set) var minLrs: [Double]
  private let defaultMinLr: Double?

  /// The best metric so far (infinity, or minus infinity in `.max` mode, before the first).
  public private(set) var best: Double
  /// Epochs since the metric last improved (`num_bad_epochs`).
  public private(set) var numBadEpochs = 0
  /// Epochs of cooldown left (`cooldown_counter`).
  public private(set) var cooldownCounter = 0

  /// One lowest rate for every group.
  ///
  /// Stops, as PyTorch raises, when `factor` is 1 or more.
  public convenience init(
    _ optimizer: Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
    threshold: Double = 1e-4, thresholdMode: ThresholdMode = .rel, cooldown: Int = 0,
    minLr: Double = 0, eps: Double = 1e-8
  ) {
    self.init(
      optimizer, mode: mode, factor: factor, patience: patience, threshold: threshold,
      thresholdMode: thresholdMode, cooldown: cooldown, minLrs: nil, defaultMinLr: minLr,
      eps: eps)
  }

  /// One lowest rate per group.
  public convenience init(
    _ optimizer: Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
    threshold: Double = 1e-4, thresholdMode: ThresholdMode = .rel, cooldown: Int = 0,
    minLrs: [Double], eps: Double = 1e-8
  ) {
    precondition(
      minLrs.count == optimizer.paramGroups.count,
      "ReduceLROnPlateau: expected \(optimizer.paramGroups.count) min_lrs, got \(minLrs.count)")
    self.init(
      optimizer, mode: mode, factor: factor, patience: patience, threshold: threshold,
      thresholdMode: thresholdMode, cooldown: cooldown, minLrs: minLrs, defaultMinLr: nil,
      eps: eps)
  }

  private init(
    _ optimizer: Optimizer, mode: Mode, factor: Double, patience: Int, threshold: Double,
    thresholdMode: ThresholdMode, cooldown: Int, minLrs: [Double]?, defaultMinLr: Double?,
    eps: Double
  ) {
    precondition(factor < 1, "ReduceLROnPlateau: Factor should be < 1.0.")
    self.mode = mode
    self.factor = factor
    self.patience = patience
    self.threshold = threshold
    self.thresholdMode = thresholdMode
    self.cooldown = cooldown
    self.eps = eps
    self.defaultMinLr = defaultMinLr
    self.minLrs = minLrs ?? Array(repeating: defaultMinLr!, count: optimizer.paramGroups.count)
    best = mode == .min ? .infinity : -.infinity
    super.init(keepingRatesOf: optimizer)
  }

  /// Not available: ReduceLROnPlateau needs the metric, `step(_:)`.
  open override func step() {
    preconditionFailure("ReduceLROnPlateau.step() needs the metric: call step(metric)")
  }

  /// Records one epoch's metric and cuts the rates after `patience` epochs without improvement.
  open func step(_ metric: Double) {
    lastEpoch += 1
    if isBetter(metric, than: best) {
      best = metric
      numBadEpochs = 0
    } else {
      numBadEpochs += 1
    }
    if cooldownCounter > 0 {
      cooldownCounter -= 1
      numBadEpochs = 0  // ignore any bad epochs in cooldown
    }
    if numBadEpochs > patience {
      reduceLr()
      cooldownCounter = cooldown
      numBadEpochs = 0
    }
    lastLr = optimizer.paramGroups.map(\.lr)
  }

  /// ``step(_:)`` with a one-element tensor (a loss).
  public func step(_ metric: Tensor) { step(metric.item()) }

  private func reduceLr() {
    if optimizer.paramGroups.count != minLrs.count {
      guard let defaultMinLr else {
        preconditionFailure(
          "ReduceLROnPlateau: The number of param groups in the `optimizer` (\(optimizer.paramGroups.count)) differs from when `ReduceLROnPlateau` was initialized (\(minLrs.count)), usually due to a new param group being added to the optimizer. Please modify the `min_lrs` field to match the length of the `optimizer` param groups."
        )
      }
      minLrs = Array(repeating: defaultMinLr, count: optimizer.paramGroups.count)
    }
    for i in optimizer.paramGroups.indices {
      let old = optimizer.paramGroups[i].lr
      let new = Swift.max(old * factor, minLrs[i])
      if old - new > eps { optimizer.paramGroups[i].lr = new }
    }
  }

  private func isBetter(_ a: Double, than best: Double) -> Bool {
    switch (mode, thresholdMode) {
    case (.min, .rel): return a < best * (1.0 - threshold)
    case (.min, .abs): return a < best - threshold
    case (.max, .rel): return a > best * (threshold + 1.0)
    case (.max, .abs): return a > best + threshold
    }
  }

  /// There is no closed form: the rates are the groups' current ones.
  open override func lr(at epoch: Int) -> [Double] { optimizer.paramGroups.map(\.lr) }

  /// Writes ``lastLr`` back into the groups (after loading a state).
  open override func apply(at epoch: Int) {
    for (i, rate) in lastLr.enumerated() where i < optimizer.paramGroups.count {
      optimizer.paramGroups[i].lr = rate
    }
  }

  open override func stateDict() -> SchedulerStateDict {
    [
      "last_epoch": .number(Double(lastEpoch)), "best": .number(best),
      "num_bad_epochs": .number(Double(numBadEpochs)),
      "cooldown_counter": .number(Double(cooldownCounter)), "min_lrs": .numbers(minLrs),
      "_last_lr": .numbers(lastLr),
    ]
  }

  open override func loadStateDict(_ state: SchedulerStateDict) throws {
    let n = optimizer.paramGroups.count
    let epoch = try Self.integer(state, "last_epoch")
    let best = try Self.number(state, "best")
    let bad = try Self.integer(state, "num_bad_epochs")
    let cooldown = try Self.integer(state, "cooldown_counter")
    let mins = try Self.list(state, "min_lrs", count: n)
    let last = try Self.list(state, "_last_lr", count: n)
    lastEpoch = epoch
    self.best = best
    numBadEpochs = bad
    cooldownCounter = cooldown
    minLrs = mins
    lastLr = last
    apply(at: epoch)
  }
}
