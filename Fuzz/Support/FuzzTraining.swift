import EmberData
import EmberOptim

/// A small training setup the checkpoint and optimizer-state fuzzers restore into: a two-layer
/// model, Adam over its named parameters, a StepLR, after two real steps (so every kind of state
/// exists), and fingerprints of all three to check that a refused load changed nothing.
public final class FuzzTraining {
  public let model = Sequential(Linear(3, 2), Linear(2, 1))
  public let optimizer: Adam
  public let scheduler: StepLR

  public init() {
    let g = Generator(seed: 7)
    for (_, p) in model.namedParameters() {
      withNoGrad { _ = try! p.copy(from: Tensor.randn(p.shape, generator: g)) }
    }
    optimizer = Adam(model.namedParameters(), lr: 0.01)
    scheduler = StepLR(optimizer, stepSize: 2, gamma: 0.5)
    for _ in 0..<2 { try! step() }
  }

  /// One training step on a fixed batch; the loss must stay a number unless the state makes it
  /// infinite (a saved state may hold any floats).
  public func step() throws {
    let x = Tensor(shape: [4, 3], scalars: (0..<12).map { Float($0) / 7 - 0.5 })
    let loss = (model(x) * model(x)).mean()
    optimizer.zeroGrad()
    try loss.backward()
    try optimizer.step()
    scheduler.step()
  }

  /// Everything a load may change, as comparable values (bit patterns for tensors).
  public struct Fingerprint: Equatable {
    var model: [String: [UInt64]]
    var optimizerTensors: [String: [UInt64]]
    var optimizerGroups: [String]
    var optimizerSteps: Int
    var scheduler: [String: String]
  }

  public func fingerprint() -> Fingerprint {
    let o = optimizer.stateDict()
    return Fingerprint(
      model: FuzzTraining.fingerprint(model.stateDict()),
      optimizerTensors: FuzzTraining.fingerprint(o.tensors),
      optimizerGroups: optimizer.paramGroups.map { g in
        g.options.keys.sorted().map { "\($0)=\(g.options[$0]!)" }.joined(separator: ",")
      },
      optimizerSteps: optimizer.stepCount,
      scheduler: scheduler.stateDict().mapValues { "\($0)" })
  }

  /// Each tensor's dtype, shape and bits.
  public static func fingerprint(_ sd: StateDict) -> [String: [UInt64]] {
    var out: [String: [UInt64]] = [:]
    for (k, t) in sd {
      let dtype: UInt64 = [.float32: 0, .float64: 1, .int64: 2, .bool: 3][t.dtype]!
      out[k] = [dtype, UInt64(t.shape.count)] + t.shape.map { UInt64($0) } + bits(t)
    }
    return out
  }

  public static func bits(_ t: Tensor) -> [UInt64] {
    switch t.dtype {
    case .float32: return t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
    case .float64: return t.scalars(as: Double.self).map(\.bitPattern)
    case .int64: return t.scalars(as: Int64.self).map { UInt64(bitPattern: $0) }
    case .bool: return t.scalars(as: Bool.self).map { $0 ? 1 : 0 }
    }
  }

  /// A checkpoint of this setup (model, optimizer, scheduler, generator).
  public func checkpoint() -> Checkpoint {
    Checkpoint(
      model: model.stateDict(), optimizer: optimizer.stateDict(), scheduler: scheduler.stateDict(),
      epoch: 1, step: 2, generator: Generator(seed: 3).state)
  }
}
