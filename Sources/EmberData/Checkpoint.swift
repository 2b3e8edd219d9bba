import EmberOptim

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// A training checkpoint in one safetensors file: the model's state dict, the optimizer's and
/// the scheduler's state, the epoch and step reached, and the generator's state, so a resumed run
/// continues exactly as the uninterrupted one would (same shuffles, same dropout masks).
///
/// Layout: tensors `model.<key>`, `optimizer.<key>` and `generator.words` (the 624 Mersenne
/// Twister words as int64); `__metadata__` holds `ember.checkpoint` (the format version),
/// `epoch`, `step`, `optimizer` (its JSON metadata), `scheduler` and `generator` (JSON) and any
/// `extra` entries. PyTorch reads the file as plain safetensors.
///
/// ```swift
/// try Checkpoint(model: net.stateDict(), optimizer: opt.stateDict(), epoch: 1, step: 469,
///                generator: Generator.default.state).save(to: url)
/// let resumed = try Checkpoint.load(from: url)
/// ```
public struct Checkpoint {
  public var model: StateDict
  public var optimizer: OptimizerStateDict?
  public var scheduler: SchedulerStateDict?
  public var epoch: Int
  public var step: Int
  public var generator: Generator.State?
  public var extra: [String: String]

  public init(
    model: StateDict, optimizer: OptimizerStateDict? = nil, scheduler: SchedulerStateDict? = nil,
    epoch: Int, step: Int, generator: Generator.State? = nil, extra: [String: String] = [:]
  ) {
    self.model = model
    self.optimizer = optimizer
    self.scheduler = scheduler
    self.epoch = epoch
    self.step = step
    self.generator = generator
    self.extra = extra
  }

  /// The generator's state apart from its words, as JSON.
  struct GeneratorMeta: Codable {
    var next: Int
    var left: Int
    var seed: UInt64
    var nextDoubleNormal: Double?
    var nextFloatNormal: Float?
  }

  /// Writes the checkpoint atomically (see ``SafeTensors/save(_:to:metadata:)``).
  public func save(to url: URL) throws {
    var tensors = StateDict()
    for (k, t) in model { tensors["model." + k] = t }
    var metadata = extra
    metadata["ember.checkpoint"] = "1"
    metadata["epoch"] = String(epoch)
    metadata["step"] = String(step)
    if let optimizer {
      for (k, t) in optimizer.tensors { tensors["optimizer." + k] = t }
      metadata["optimizer"] = optimizer.metadataJSON()
    }
    if let scheduler {
      metadata["scheduler"] = String(decoding: try JSONEncoder().encode(scheduler), as: UTF8.self)
    }
    if let generator {
      tensors["generator.words"] = Tensor(shape: [624], scalars: generator.words.map(Int64.init))
      let meta = GeneratorMeta(
        next: generator.next, left: generator.left, seed: generator.seed,
        nextDoubleNormal: generator.nextDoubleNormal, nextFloatNormal: generator.nextFloatNormal)
      metadata["generator"] = String(decoding: try JSONEncoder().encode(meta), as: UTF8.self)
    }
    try SafeTensors.save(tensors, to: url, metadata: metadata)
  }

  /// Reads a checkpoint ``save(to:)`` wrote; throws a ``CheckpointError`` naming the file when it
  /// is not one (or a ``SafeTensorsError`` when it is no valid safetensors file).
  public static func load(from url: URL) throws -> Checkpoint {
    let file = try SafeTensors.File(contentsOf: url)
    let meta = file.metadata
    func fail(_ problem: String) -> CheckpointError {
      CheckpointError(file: url.path, problem: problem)
    }
    guard let version = meta["ember.checkpoint"] else {
      throw fail("not an Ember training checkpoint (no \"ember.checkpoint\" metadata)")
    }
    guard version == "1" else {
      throw fail("checkpoint format version \"\(version)\" is not supported (this Ember reads 1)")
    }
    guard let epoch = meta["epoch"].flatMap(Int.init), let step = meta["step"].flatMap(Int.init),
      epoch >= 0, step >= 0
    else {
      throw fail("the epoch or step in the metadata is missing or not a non-negative number")
    }
    let all = try file.stateDict()
    var model = StateDict()
    var optimizerTensors = StateDict()
    var words: Tensor?
    for (k, t) in all {
      if k.hasPrefix("model.") {
        model[String(k.dropFirst(6))] = t
      } else if k.hasPrefix("optimizer.") {
        optimizerTensors[String(k.dropFirst(10))] = t
      } else if k == "generator.words" {
        words = t
      } else {
        throw fail("unexpected tensor \"\(k)\"")
      }
    }
    var optimizer: OptimizerStateDict?
    if let json = meta["optimizer"] {
      do {
        optimizer = try OptimizerStateDict(tensors: optimizerTensors, metadataJSON: json)
      } catch {
        throw fail("the optimizer state is unreadable: \(error)")
      }
    }
    var scheduler: SchedulerStateDict?
    if let json = meta["scheduler"] {
      guard
        let s = try? JSONDecoder().decode(SchedulerStateDict.self, from: Data(json.utf8))
      else { throw fail("the scheduler state is not valid JSON") }
      scheduler = s
    }
    var generator: Generator.State?
    if let json = meta["generator"] {
      guard let g = try? JSONDecoder().decode(GeneratorMeta.self, from: Data(json.utf8)),
        let words, words.shape == [624], words.dtype == .int64,
        g.next >= 0, g.next <= 624, g.left >= 1, g.left <= 625
      else { throw fail("the generator state is incomplete or out of range") }
      let values = words.scalars(as: Int64.self)
      guard values.allSatisfy({ $0 >= 0 && $0 <= Int64(UInt32.max) }) else {
        throw fail("the generator words are not 32-bit values")
      }
      generator = Generator.State(
        words: values.map { UInt32($0) }, next: g.next, left: g.left, seed: g.seed,
        nextDoubleNormal: g.nextDoubleNormal, nextFloatNormal: g.nextFloatNormal)
    }
    var extra = meta
    for k in ["ember.checkpoint", "epoch", "step", "optimizer", "scheduler", "generator", "format"]
    {
      extra[k] = nil
    }
    return Checkpoint(
      model: model, optimizer: optimizer, scheduler: scheduler, epoch: epoch, step: step,
      generator: generator, extra: extra)
  }
}

extension Checkpoint {
  /// Puts the checkpoint's state into a model, its optimizer and scheduler, and the default
  /// generator, all or nothing: the model's and the optimizer's state dicts are checked first
  /// (``Module/checkStateDict(_:strict:)``, ``Optimizer/checkStateDict(_:strict:)``), and when
  /// the scheduler refuses its state the optimizer is put back, so on any error nothing has
  /// changed.
  ///
  /// - Parameters:
  ///   - strict: passed to both state-dict loads.
  ///   - restoreGenerator: sets `Generator.default.state` from the checkpoint (when it has one).
  /// - Throws: ``CheckpointError`` naming `file` and the problem (the model's or the optimizer's
  ///   error in its text), or the scheduler's error.
  public func restore(
    model module: Module, optimizer: Optimizer? = nil, scheduler: LRScheduler? = nil,
    strict: Bool = true, restoreGenerator: Bool = true, file: String = "checkpoint"
  ) throws {
    func fail(_ problem: String) -> CheckpointError {
      CheckpointError(file: file, problem: problem)
    }
    do {
      try module.checkStateDict(model, strict: strict)
    } catch {
      throw fail("the model state does not fit the model: \(error)")
    }
    if let optimizer {
      guard let saved = self.optimizer else {
        throw fail("the checkpoint has no optimizer state")
      }
      do {
        try optimizer.checkStateDict(saved, strict: strict)
      } catch {
        throw fail("the optimizer state does not fit the optimizer: \(error)")
      }
    }
    if scheduler != nil && self.scheduler == nil {
      throw fail("the checkpoint has no scheduler state")
    }
    // checked: the loads below cannot refuse; only the scheduler's can
    let optimizerBefore = optimizer?.stateDict()
    let groupsBefore = optimizer?.paramGroups
    if let optimizer, let saved = self.optimizer {
      try optimizer.loadStateDict(saved, strict: strict)
    }
    if let scheduler, let saved = self.scheduler {
      do {
        try scheduler.loadStateDict(saved)
      } catch {
        if let optimizer, let optimizerBefore, let groupsBefore {
          _ = try? optimizer.loadStateDict(optimizerBefore)
          optimizer.paramGroups = groupsBefore
        }
        throw fail("the scheduler state does not fit the scheduler: \(error)")
      }
    }
    try module.loadStateDict(model, strict: strict)
    if restoreGenerator, let generator { Generator.default.state = generator }
  }
}

/// A file that is valid safetensors but not a usable checkpoint.
public struct CheckpointError: Error, Equatable, CustomStringConvertible {
  public let file: String
  public let problem: String
  public var description: String { "\(file): \(problem)" }
}
