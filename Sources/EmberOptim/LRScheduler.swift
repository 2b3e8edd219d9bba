/// A scheduler's state (`scheduler.state_dict()`): plain numbers and lists by PyTorch's names
/// (`last_epoch`, `base_lrs`, `_last_lr`, `_step_count`, ...). It encodes to JSON as is
/// (``Hyperparameter`` is `Codable`), e.g. for a checkpoint's safetensors metadata.
public typealias SchedulerStateDict = [String: Hyperparameter]

/// Why a scheduler's `loadStateDict(_:)` refused a state; the scheduler is unchanged.
public struct SchedulerStateDictError: Error, Equatable, CustomStringConvertible {
  public let message: String
  public var description: String { message }
}

/// The base class of the learning-rate schedulers (PyTorch's `LRScheduler`).
///
/// A scheduler keeps its own count of ``step()`` calls, ``lastEpoch`` (0 after construction), and
/// sets each group's `lr` to ``lr(at:)`` of that count: the rate is a function of the count
/// alone, PyTorch's closed form (`_get_closed_form_lr`), not a change to whatever `lr` the group
/// holds. So the rate at step n does not depend on what else wrote to `lr` in between, and a
/// resumed scheduler gives the same rates as one that never stopped.
///
/// Call ``step()`` after `optimizer.step()`, as in PyTorch. When a scheduler's first `step()`
/// comes before the optimizer has ever stepped (the order mistake PyTorch warns about), Ember
/// does what PyTorch does, so ported code gets the same rates: the count advances, and the
/// epoch-0 rate is never used for an update. It is not silent: PyTorch's warning goes to
/// standard error, once per scheduler. Because the rate depends only on the count, the mistake
/// shifts the schedule by exactly one step and nothing else.
///
/// Unlike PyTorch's recursive `step()`, a closed-form rate ignores changes made to a group's
/// `lr` by hand between steps (the next step writes the scheduled value again), and two
/// schedulers on one optimizer do not multiply; compose them with ``SequentialLR``.
///
/// Construction writes the value at epoch 0 into the groups and records each group's
/// `initial_lr` (when not already there), the base of the schedule.
open class LRScheduler {
  /// The optimizer whose groups' `lr` this scheduler sets.
  public let optimizer: Optimizer
  /// How many times ``step()`` ran since construction (PyTorch's `last_epoch`).
  public internal(set) var lastEpoch = 0
  /// Each group's `initial_lr`: the rates the schedule scales.
  public internal(set) var baseLrs: [Double]
  /// The rates last written into the groups.
  public internal(set) var lastLr: [Double] = []
  /// PyTorch's `_step_count`: 1 after construction, then one more per step.
  var stepCount = 1
  private var warnedOrder = false

  /// Records `initial_lr` in each group and writes the rate at epoch 0.
  public init(_ optimizer: Optimizer) {
    self.optimizer = optimizer
    for i in optimizer.paramGroups.indices where optimizer.paramGroups[i]["initial_lr"] == nil {
      optimizer.paramGroups[i]["initial_lr"] = .number(optimizer.paramGroups[i].lr)
    }
    baseLrs = optimizer.paramGroups.map { $0.number("initial_lr") }
    apply(at: 0)
  }

  /// A scheduler that does not change the rates when made (ReduceLROnPlateau).
  init(keepingRatesOf optimizer: Optimizer) {
    self.optimizer = optimizer
    baseLrs = optimizer.paramGroups.map(\.lr)
    lastLr = baseLrs
    stepCount = 0
  }

  /// The rate of each group after `epoch` steps; the one method a schedule overrides.
  open func lr(at epoch: Int) -> [Double] {
    preconditionFailure("\(type(of: self)) must override lr(at:) with its schedule")
  }

  /// Writes the rates of `epoch` into the optimizer's groups and ``lastLr``.
  open func apply(at epoch: Int) {
    let rates = lr(at: epoch)
    precondition(
      rates.count == optimizer.paramGroups.count,
      "\(type(of: self)): the optimizer has \(optimizer.paramGroups.count) param groups, the scheduler was made for \(rates.count)"
    )
    for (i, rate) in rates.enumerated() { optimizer.paramGroups[i].lr = rate }
    lastLr = rates
  }

  /// Advances the schedule by one (`scheduler.step()`): call it after `optimizer.step()`.
  open func step() {
    if stepCount == 1 && optimizer.stepCount == 0 && !warnedOrder {
      warnedOrder = true
      printWarning(
        "Detected call of `lr_scheduler.step()` before `optimizer.step()`. You should call them in the opposite order: `optimizer.step()` before `lr_scheduler.step()`. Failure to do this will result in skipping the first value of the learning rate schedule (as PyTorch does)."
      )
    }
    stepCount += 1
    lastEpoch += 1
    apply(at: lastEpoch)
  }

  /// The rates last written into the groups (`get_last_lr()`).
  public func getLastLr() -> [Double] { lastLr }

  // MARK: state

  /// The scheduler's counters and rates (`state_dict()`); the schedule's settings come from the
  /// initializer, as with a module's architecture.
  open func stateDict() -> SchedulerStateDict {
    [
      "last_epoch": .number(Double(lastEpoch)), "_step_count": .number(Double(stepCount)),
      "base_lrs": .numbers(baseLrs), "_last_lr": .numbers(lastLr),
    ]
  }

  /// Restores ``stateDict()``'s values (`load_state_dict`) and writes the restored rates into the
  /// optimizer's groups, so loading before or after the optimizer's state gives the same rates.
  open func loadStateDict(_ state: SchedulerStateDict) throws {
    let epoch = try Self.integer(state, "last_epoch")
    let count = try Self.integer(state, "_step_count")
    let bases = try Self.list(state, "base_lrs", count: optimizer.paramGroups.count)
    _ = try Self.list(state, "_last_lr", count: optimizer.paramGroups.count)
    lastEpoch = epoch
    stepCount = count
    baseLrs = bases
    apply(at: lastEpoch)
  }

  static func number(_ state: SchedulerStateDict, _ key: String) throws -> Double {
    guard let v = state[key]?.number else {
      throw SchedulerStateDictError(
        message:
          "scheduler state dict needs a number \"\(key)\", got \(state[key].map { "\($0)" } ?? "nothing")"
      )
    }
    return v
  }

  static func integer(_ state: SchedulerStateDict, _ key: String) throws -> Int {
    let v = try number(state, key)
    guard v == v.rounded(), Swift.abs(v) < 1e15 else {
      throw SchedulerStateDictError(
        message: "scheduler state dict needs a whole number \"\(key)\", got \(v)")
    }
    return Int(v)
  }

  static func list(_ state: SchedulerStateDict, _ key: String, count: Int) throws -> [Double] {
    guard let v = state[key]?.numbers, v.count == count else {
      throw SchedulerStateDictError(
        message:
          "scheduler state dict needs \"\(key)\" with one number per param group (\(count)), got \(state[key].map { "\($0)" } ?? "nothing")"
      )
    }
    return v
  }
}
