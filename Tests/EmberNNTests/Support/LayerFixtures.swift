import EmberNN
import Foundation
import Testing

/// The golden module cases of `Fixtures/layers.json`, written by `make_layer_fixtures.py` with
/// PyTorch: each layer built after `torch.manual_seed`, its initial state as bit patterns, its
/// printed form, and its output and gradients for fixed inputs.
enum LayerFixtures {
  nonisolated(unsafe) static let root: [String: Any] = {
    let url = Bundle.module.url(
      forResource: "layers", withExtension: "json", subdirectory: "Fixtures")!
    return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
  }()

  nonisolated(unsafe) static let byID: [String: [String: Any]] = {
    var out: [String: [String: Any]] = [:]
    for c in root["cases"] as! [[String: Any]] { out[c["id"] as! String] = c }
    return out
  }()

  /// The ids of the cases whose layer is one of `layers`, in file order.
  static func ids(_ layers: Set<String>) -> [String] {
    (root["cases"] as! [[String: Any]])
      .filter { layers.contains($0["layer"] as! String) }
      .map { $0["id"] as! String }
  }

  static func model(_ name: String) -> [String: Any] {
    (root["models"] as! [[String: Any]]).first { ($0["name"] as! String) == name }!
  }

  static func dtype(_ s: String) -> DType {
    switch s {
    case "float32": return .float32
    case "float64": return .float64
    case "int64": return .int64
    case "bool": return .bool
    default: fatalError("unknown dtype \(s)")
    }
  }

  /// A tensor of the fixture encoding: float bit patterns (`bits`) or integers (`data`).
  static func tensor(_ d: [String: Any]) -> Tensor {
    let shape = d["shape"] as! [Int]
    switch dtype(d["dtype"] as! String) {
    case .float32:
      let hex = d["bits"] as! [String]
      return Tensor(shape: shape, scalars: hex.map { Float(bitPattern: UInt32($0, radix: 16)!) })
    case .float64:
      let hex = d["bits"] as! [String]
      return Tensor(
        shape: shape, scalars: hex.map { Double(bitPattern: UInt64($0, radix: 16)!) })
    case .int64:
      return Tensor(shape: shape, scalars: (d["data"] as! [NSNumber]).map(\.int64Value))
    case .bool:
      return Tensor(shape: shape, scalars: (d["data"] as! [NSNumber]).map(\.boolValue))
    }
  }

  /// The bit patterns of a float tensor's elements, as the fixture writes them.
  static func bits(_ t: Tensor) -> [String] {
    switch t.dtype {
    case .float32:
      return t.scalars(as: Float.self).map { hex(UInt64($0.bitPattern), width: 8) }
    case .float64:
      return t.scalars(as: Double.self).map { hex($0.bitPattern, width: 16) }
    default: fatalError("bits of a \(t.dtype) tensor")
    }
  }

  static func hex(_ v: UInt64, width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }

  /// FNV-1a 64 of a tensor's elements as little-endian bytes (the fixture's `fnv1a64`).
  static func fnv1a64(_ t: Tensor) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func feed(_ word: UInt64, bytes: Int) {
      for i in 0..<bytes {
        h ^= (word >> (8 * UInt64(i))) & 0xff
        h = h &* 0x100_0000_01b3
      }
    }
    switch t.dtype {
    case .float32: for v in t.scalars(as: Float.self) { feed(UInt64(v.bitPattern), bytes: 4) }
    case .float64: for v in t.scalars(as: Double.self) { feed(v.bitPattern, bytes: 8) }
    case .int64: for v in t.scalars(as: Int64.self) { feed(UInt64(bitPattern: v), bytes: 8) }
    case .bool: for v in t.scalars(as: Bool.self) { feed(v ? 1 : 0, bytes: 1) }
    }
    return hex(h, width: 16)
  }

  /// Expects every element within `rtol * |expected| + atol * max(1, max |expected|)`: float32
  /// 1e-5 relative, float64 1e-10, with an absolute floor scaled to the tensor's magnitude for
  /// elements that cancel to near zero.
  static func expectClose(
    _ actual: Tensor?, _ expected: Tensor, _ comment: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    guard let actual else {
      Issue.record("\(comment): nil", sourceLocation: sourceLocation)
      return
    }
    #expect(
      actual.shape == expected.shape, "\(comment): shape \(actual.shape) vs \(expected.shape)",
      sourceLocation: sourceLocation)
    #expect(
      actual.dtype == expected.dtype, "\(comment): dtype \(actual.dtype) vs \(expected.dtype)",
      sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let (rtol, atol) = expected.dtype == .float64 ? (1e-10, 1e-12) : (1e-5, 1e-6)
    let e = expected.toArray()
    let a = actual.toArray()
    let scale = max(1, e.map { Swift.abs($0) }.max() ?? 0)
    for i in 0..<e.count {
      let ok =
        a[i] == e[i] || (a[i].isNaN && e[i].isNaN)
        || Swift.abs(a[i] - e[i]) <= rtol * Swift.abs(e[i]) + atol * scale
      if !ok {
        Issue.record(
          "\(comment): element \(i): got \(a[i]), expected \(e[i])", sourceLocation: sourceLocation)
        return
      }
    }
  }

  /// Expects a tensor equal bit for bit to the fixture's.
  static func expectBits(
    _ actual: Tensor, _ expected: [String: Any], _ comment: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let shape = expected["shape"] as! [Int]
    #expect(actual.shape == shape, "\(comment): shape", sourceLocation: sourceLocation)
    #expect(
      actual.dtype == dtype(expected["dtype"] as! String), "\(comment): dtype \(actual.dtype)",
      sourceLocation: sourceLocation)
    guard actual.shape == shape, actual.dtype == dtype(expected["dtype"] as! String) else {
      return
    }
    if let hex = expected["bits"] as? [String] {
      let got = bits(actual)
      if let i = (0..<hex.count).first(where: { got[$0] != hex[$0] }) {
        Issue.record(
          "\(comment): element \(i) has bits \(got[i]) (\(actual.toArray()[i])), PyTorch's are \(hex[i]) (\(tensor(expected).toArray()[i]))",
          sourceLocation: sourceLocation)
      }
    } else {
      #expect(
        actual.toArray() == tensor(expected).toArray(), "\(comment): values",
        sourceLocation: sourceLocation)
    }
  }
}

/// Builds the layer a fixture case names, with PyTorch's constructor arguments mapped to Ember's.
enum LayerBuilder {
  struct Args {
    let pos: [Any]
    let kw: [String: Any]
    func int(_ i: Int) -> Int { (pos[i] as! NSNumber).intValue }
    func double(_ i: Int) -> Double { (pos[i] as! NSNumber).doubleValue }
    func has(_ key: String) -> Bool { kw[key] != nil && !(kw[key] is NSNull) }
    func int(_ key: String) -> Int? { (kw[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (kw[key] as? NSNumber)?.doubleValue }
    func bool(_ key: String) -> Bool? { (kw[key] as? NSNumber)?.boolValue }
    func string(_ key: String) -> String? { kw[key] as? String }
    /// An int or a list of ints, as given.
    static func size(_ v: Any) -> SpatialSize {
      if let list = v as? [NSNumber] { return SpatialSize(list.map(\.intValue)) }
      return SpatialSize((v as! NSNumber).intValue)
    }
    func size(_ i: Int) -> SpatialSize { Args.size(pos[i]) }
    func size(_ key: String) -> SpatialSize? { kw[key].map(Args.size) }
    func padding() -> Padding {
      switch kw["padding"] {
      case nil: return 0
      case let s as String: return s == "same" ? .same : .valid
      case let v?: return .explicit(Args.size(v))
      }
    }
    var reduction: Reduction { Reduction(rawValue: string("reduction") ?? "mean")! }
  }

  static func make(_ c: [String: Any]) -> Module {
    let layer = c["layer"] as! String
    let raw = c["args"] as! [String: Any]
    let a = Args(pos: raw["pos"] as? [Any] ?? [], kw: raw["kw"] as? [String: Any] ?? [:])
    let dt = LayerFixtures.dtype(c["dtype"] as! String)
    let buffers = (c["buffers"] as! [String: [String: Any]]).mapValues(LayerFixtures.tensor)
    let bias = a.bool("bias") ?? true
    switch layer {
    case "Linear": return Linear(a.int(0), a.int(1), bias: bias, dtype: dt)
    case "Bilinear": return Bilinear(a.int(0), a.int(1), a.int(2), bias: bias, dtype: dt)
    case "Conv1d", "Conv2d":
      let args = (
        a.int(0), a.int(1), a.size(2), a.size("stride") ?? 1, a.padding(), a.size("dilation") ?? 1,
        a.int("groups") ?? 1
      )
      return layer == "Conv1d"
        ? Conv1d(
          args.0, args.1, args.2, stride: args.3, padding: args.4, dilation: args.5, groups: args.6,
          bias: bias, dtype: dt)
        : Conv2d(
          args.0, args.1, args.2, stride: args.3, padding: args.4, dilation: args.5, groups: args.6,
          bias: bias, dtype: dt)
    case "ConvTranspose1d":
      return ConvTranspose1d(
        a.int(0), a.int(1), a.size(2), stride: a.size("stride") ?? 1,
        padding: a.size("padding") ?? 0, outputPadding: a.size("output_padding") ?? 0,
        groups: a.int("groups") ?? 1, bias: bias, dilation: a.size("dilation") ?? 1, dtype: dt)
    case "ConvTranspose2d":
      return ConvTranspose2d(
        a.int(0), a.int(1), a.size(2), stride: a.size("stride") ?? 1,
        padding: a.size("padding") ?? 0, outputPadding: a.size("output_padding") ?? 0,
        groups: a.int("groups") ?? 1, bias: bias, dilation: a.size("dilation") ?? 1, dtype: dt)
    case "MaxPool1d":
      return MaxPool1d(
        a.int(0), stride: a.int("stride"), padding: a.int("padding") ?? 0,
        dilation: a.int("dilation") ?? 1, ceilMode: a.bool("ceil_mode") ?? false)
    case "MaxPool2d":
      return MaxPool2d(
        a.size(0), stride: a.size("stride"), padding: a.size("padding") ?? 0,
        dilation: a.size("dilation") ?? 1, ceilMode: a.bool("ceil_mode") ?? false)
    case "AvgPool1d":
      return AvgPool1d(
        a.int(0), stride: a.int("stride"), padding: a.int("padding") ?? 0,
        ceilMode: a.bool("ceil_mode") ?? false,
        countIncludePad: a.bool("count_include_pad") ?? true)
    case "AvgPool2d":
      return AvgPool2d(
        a.size(0), stride: a.size("stride"), padding: a.size("padding") ?? 0,
        ceilMode: a.bool("ceil_mode") ?? false,
        countIncludePad: a.bool("count_include_pad") ?? true,
        divisorOverride: a.int("divisor_override"))
    case "AdaptiveAvgPool2d": return AdaptiveAvgPool2d(a.size(0))
    case "AdaptiveMaxPool2d": return AdaptiveMaxPool2d(a.size(0))
    case "BatchNorm1d", "BatchNorm2d":
      let momentum: Double? = a.kw.keys.contains("momentum") ? a.double("momentum") : 0.1
      let (eps, affine, track) = (
        a.double("eps") ?? 1e-5, a.bool("affine") ?? true, a.bool("track_running_stats") ?? true
      )
      return layer == "BatchNorm1d"
        ? BatchNorm1d(
          a.int(0), eps: eps, momentum: momentum, affine: affine, trackRunningStats: track,
          dtype: dt)
        : BatchNorm2d(
          a.int(0), eps: eps, momentum: momentum, affine: affine, trackRunningStats: track,
          dtype: dt)
    case "LayerNorm":
      let shape = (a.pos[0] as? [NSNumber])?.map(\.intValue) ?? [a.int(0)]
      return LayerNorm(
        shape, eps: a.double("eps") ?? 1e-5,
        elementwiseAffine: a.bool("elementwise_affine") ?? true, bias: bias, dtype: dt)
    case "GroupNorm":
      return GroupNorm(
        a.int(0), a.int(1), eps: a.double("eps") ?? 1e-5, affine: a.bool("affine") ?? true,
        dtype: dt)
    case "Embedding":
      return Embedding(
        a.int(0), a.int(1), paddingIdx: a.int("padding_idx"), maxNorm: a.double("max_norm"),
        dtype: dt)
    case "Dropout": return Dropout(a.pos.isEmpty ? 0.5 : a.double(0))
    case "Dropout1d": return Dropout1d(a.pos.isEmpty ? 0.5 : a.double(0))
    case "Dropout2d": return Dropout2d(a.pos.isEmpty ? 0.5 : a.double(0))
    case "ReLU": return ReLU(inplace: a.bool("inplace") ?? false)
    case "LeakyReLU":
      return LeakyReLU(
        negativeSlope: a.pos.isEmpty ? a.double("negative_slope") ?? 0.01 : a.double(0),
        inplace: a.bool("inplace") ?? false)
    case "GELU":
      return GELU(approximate: GeluApproximation(rawValue: a.string("approximate") ?? "none")!)
    case "SiLU": return SiLU()
    case "ELU": return ELU(alpha: a.double("alpha") ?? 1)
    case "Softplus":
      return Softplus(beta: a.double("beta") ?? 1, threshold: a.double("threshold") ?? 20)
    case "Tanh": return Tanh()
    case "Sigmoid": return Sigmoid()
    case "Softmax": return Softmax(dim: a.int("dim")!)
    case "LogSoftmax": return LogSoftmax(dim: a.int("dim")!)
    case "Hardtanh":
      return Hardtanh(minVal: a.double("min_val") ?? -1, maxVal: a.double("max_val") ?? 1)
    case "ReLU6": return ReLU6()
    case "Identity": return Identity()
    case "Flatten":
      return Flatten(startDim: a.int("start_dim") ?? 1, endDim: a.int("end_dim") ?? -1)
    case "Unflatten":
      return Unflatten(dim: a.int(0), unflattenedSize: (a.pos[1] as! [NSNumber]).map(\.intValue))
    case "MSELoss": return MSELoss(reduction: a.reduction)
    case "L1Loss": return L1Loss(reduction: a.reduction)
    case "SmoothL1Loss": return SmoothL1Loss(reduction: a.reduction, beta: a.double("beta") ?? 1)
    case "HuberLoss": return HuberLoss(reduction: a.reduction, delta: a.double("delta") ?? 1)
    case "CrossEntropyLoss":
      return CrossEntropyLoss(
        weight: buffers["weight"], ignoreIndex: a.int("ignore_index") ?? -100,
        reduction: a.reduction, labelSmoothing: a.double("label_smoothing") ?? 0)
    case "NLLLoss":
      return NLLLoss(
        weight: buffers["weight"], ignoreIndex: a.int("ignore_index") ?? -100,
        reduction: a.reduction)
    case "BCELoss": return BCELoss(weight: buffers["weight"], reduction: a.reduction)
    case "BCEWithLogitsLoss":
      return BCEWithLogitsLoss(
        weight: buffers["weight"], reduction: a.reduction, posWeight: buffers["pos_weight"])
    case "KLDivLoss":
      return KLDivLoss(reduction: a.reduction, logTarget: a.bool("log_target") ?? false)
    default: fatalError("no builder for \(layer)")
    }
  }

  /// Calls the module on its inputs: one tensor, or two for Bilinear and the losses.
  static func call(_ m: Module, _ inputs: [Tensor]) -> Tensor {
    if inputs.count == 1 { return m(inputs[0]) }
    if let b = m as? Bilinear { return b(inputs[0], inputs[1]) }
    if let loss = m as? Loss { return loss(inputs[0], inputs[1]) }
    fatalError("\(m.typeName) with \(inputs.count) inputs")
  }
}

/// PyTorch's grad_fn name for a case (Ember records the same names).
func expectedGradFn(_ name: String?) -> String? { name }

/// Runs one fixture case through Ember and checks it against PyTorch's record, in this process:
/// the layer is built, PyTorch's initial state is loaded into it, and then come its printed form,
/// state-dict keys, shapes and dtypes, output, gradients and buffers after the forward calls.
/// The initial values themselves (same seed, same weights) and dropout's masks come from the
/// global generator, which suites running in parallel share: ``checkSeededLayerCase(_:)`` checks
/// them in a child process.
func checkLayerCase(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
  let c = LayerFixtures.byID[id]!
  let m = LayerBuilder.make(c)

  // the printed form and the state dict's keys in order, shapes and dtypes
  #expect(
    m.description == c["repr"] as! String, "\(id): printed form", sourceLocation: sourceLocation)
  let expectedState = c["state"] as! [[String: Any]]
  let sd = m.stateDict()
  #expect(
    sd.keys == expectedState.map { $0["key"] as! String }, "\(id): state dict keys",
    sourceLocation: sourceLocation)
  for e in expectedState {
    let key = e["key"] as! String
    guard let t = sd[key] else { continue }
    #expect(
      t.shape == e["shape"] as! [Int], "\(id): shape of \(key)", sourceLocation: sourceLocation)
    #expect(
      t.dtype == LayerFixtures.dtype(e["dtype"] as! String), "\(id): dtype of \(key)",
      sourceLocation: sourceLocation)
  }
  // PyTorch's initial values, so what follows does not depend on the generator
  try m.loadStateDict(
    StateDict(expectedState.map { ($0["key"] as! String, LayerFixtures.tensor($0)) }))

  for w in c["warmup"] as! [[[String: Any]]] {
    _ = withNoGrad { LayerBuilder.call(m, w.map(LayerFixtures.tensor)) }
  }
  if (c["mode"] as! String) == "eval" { m.eval() }
  let (inputs, y) = try forward(c, m)
  let expectedOut = LayerFixtures.tensor(c["output"] as! [String: Any])
  let randomMask = m is DropoutModule && m.isTraining
  if randomMask {
    // the mask depends on the generator: here only its form (zero or scaled) is checked
    let p = (m as! DropoutModule).p
    let scale = 1 / (1 - p)
    let x = inputs[0].toArray()
    let got = y.toArray()
    #expect(y.shape == expectedOut.shape, "\(id): shape", sourceLocation: sourceLocation)
    #expect(
      zip(got, x).allSatisfy {
        $0 == 0 || Swift.abs($0 - $1 * scale) <= 1e-6 * Swift.abs($1 * scale)
      },
      "\(id): dropout output is neither 0 nor x / (1 - p)", sourceLocation: sourceLocation)
  } else {
    LayerFixtures.expectClose(y, expectedOut, "\(id): output", sourceLocation: sourceLocation)
  }
  #expect(
    y.gradFn?.name == expectedGradFn(c["grad_fn"] as? String), "\(id): grad_fn",
    sourceLocation: sourceLocation)
  if randomMask {
    if let g = try backward(c, y) {
      let scale = 1 / (1 - (m as! DropoutModule).p)
      let u = LayerFixtures.tensor(c["upstream"] as! [String: Any]).toArray()
      let want = zip(y.toArray(), u).map { $0 == 0 ? 0 : scale * $1 }
      expectClose(inputs[0].grad?.toArray() ?? [], want, "\(id): grad of input")
      _ = g
    }
  } else {
    try expectGrads(c, m, inputs, y, sourceLocation: sourceLocation)
  }

  // the state after the forward calls: running statistics, renormalized embedding rows
  let after = m.stateDict()
  for e in c["state_after"] as! [[String: Any]] {
    let key = e["key"] as! String
    let expected = LayerFixtures.tensor(e)
    if expected.dtype.isFloatingPoint {
      LayerFixtures.expectClose(
        after[key], expected, "\(id): \(key) after forward", sourceLocation: sourceLocation)
    } else {
      #expect(
        after[key]?.toArray() == expected.toArray(), "\(id): \(key) after forward",
        sourceLocation: sourceLocation)
    }
  }
}

/// The generator-dependent half of a case, for a child process: after `manualSeed(seed)` the
/// layer's initial state is PyTorch's bit for bit, and dropout in training mode draws PyTorch's
/// mask (the same output bit for bit, and its gradients).
func checkSeededLayerCase(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
  let c = LayerFixtures.byID[id]!
  manualSeed((c["seed"] as! NSNumber).uint64Value)
  let m = LayerBuilder.make(c)
  let sd = m.stateDict()
  for e in c["state"] as! [[String: Any]] {
    let key = e["key"] as! String
    guard let t = sd[key] else {
      Issue.record("\(id): no \(key) in the state dict", sourceLocation: sourceLocation)
      continue
    }
    LayerFixtures.expectBits(t, e, "\(id): initial \(key)", sourceLocation: sourceLocation)
  }
  guard m is DropoutModule, (c["mode"] as! String) == "train" else { return }
  let (inputs, y) = try forward(c, m)
  LayerFixtures.expectBits(
    y, c["output"] as! [String: Any], "\(id): output", sourceLocation: sourceLocation)
  try expectGrads(c, m, inputs, y, sourceLocation: sourceLocation)
}

/// The case's inputs (those listed in `grad_inputs` requiring grad) and the module's output.
private func forward(_ c: [String: Any], _ m: Module) throws -> ([Tensor], Tensor) {
  let inputs = (c["inputs"] as! [[String: Any]]).map(LayerFixtures.tensor)
  for i in (c["grad_inputs"] as! [NSNumber]).map(\.intValue) { try inputs[i].setRequiresGrad() }
  var forwardInputs = inputs
  if c["clone_input"] as! Bool { forwardInputs[0] = inputs[0].clone() }
  return (inputs, LayerBuilder.call(m, forwardInputs))
}

/// Runs backward of sum(output * upstream) when PyTorch recorded gradients; returns them.
@discardableResult
private func backward(_ c: [String: Any], _ y: Tensor) throws -> [String: Any]? {
  let grads = c["grads"] as! [String: Any]
  guard !grads.isEmpty else { return nil }
  let upstream = LayerFixtures.tensor(c["upstream"] as! [String: Any])
  try (y * upstream).sum().backward()
  return grads
}

/// Expects the gradients of the inputs and every parameter PyTorch's.
private func expectGrads(
  _ c: [String: Any], _ m: Module, _ inputs: [Tensor], _ y: Tensor,
  sourceLocation: SourceLocation
) throws {
  let id = c["id"] as! String
  guard let grads = try backward(c, y) else {
    #expect(!y.requiresGrad || inputs.isEmpty, "\(id): output", sourceLocation: sourceLocation)
    return
  }
  let params = Dictionary(
    uniqueKeysWithValues: m.namedParameters().map { ($0.name, $0.parameter) })
  for (name, g) in grads {
    let actual =
      name.hasPrefix("input") ? inputs[Int(name.dropFirst(5))!].grad : params[name]?.grad
    if let g = g as? [String: Any] {
      LayerFixtures.expectClose(
        actual, LayerFixtures.tensor(g), "\(id): grad of \(name)", sourceLocation: sourceLocation)
    } else if let actual {
      // PyTorch has no gradient there (unused): Ember's, if any, must be zero
      #expect(
        actual.toArray().allSatisfy { $0 == 0 }, "\(id): grad of \(name)",
        sourceLocation: sourceLocation)
    }
  }
}
