import Ember
import Foundation
import Testing

/// The golden cases of Fixtures/nn_functional.json (written by make_nn_functional_fixtures.py
/// with PyTorch): each runs one `Functional` op in float64 and float32 and checks the output, the
/// gradient of every input that requires grad, the `grad_fn` name and, for batch norm, the
/// running statistics after the call.
enum NNFixtures {
  struct Case: @unchecked Sendable, CustomTestStringConvertible {
    let id: String
    let op: String
    let dtype: DType
    let inputs: [String: [String: Any]]
    let kwargs: [String: Any]
    let output: [String: Any]
    let gradFn: String?
    let gradOutput: [String: Any]?
    let grads: [String: Any]
    let after: [String: [String: Any]]
    /// For float32 cases: the same op run by PyTorch in float64 on the same values.
    let ref64: [String: Any]?

    var testDescription: String { id }

    init(_ d: [String: Any]) {
      id = d["id"] as! String
      op = d["op"] as! String
      dtype = NNFixtures.dtype(d["dtype"] as! String)
      inputs = d["inputs"] as! [String: [String: Any]]
      kwargs = d["kwargs"] as? [String: Any] ?? [:]
      output = d["output"] as! [String: Any]
      gradFn = d["grad_fn"] as? String
      gradOutput = d["grad_output"] as? [String: Any]
      grads = d["grads"] as? [String: Any] ?? [:]
      after = d["after"] as? [String: [String: Any]] ?? [:]
      ref64 = d["ref64"] as? [String: Any]
    }

    func int(_ key: String) -> Int? { (kwargs[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (kwargs[key] as? NSNumber)?.doubleValue }
    func bool(_ key: String) -> Bool? { (kwargs[key] as? NSNumber)?.boolValue }
    func string(_ key: String) -> String? { kwargs[key] as? String }
    func ints(_ key: String) -> [Int]? { (kwargs[key] as? [NSNumber])?.map(\.intValue) }
    func doubles(_ key: String) -> [Double]? { (kwargs[key] as? [NSNumber])?.map(\.doubleValue) }
    var reduction: Reduction { string("reduction").map { Reduction(rawValue: $0)! } ?? .mean }
  }

  struct DropoutCase: @unchecked Sendable, CustomTestStringConvertible {
    let id: String
    let fn: String
    let seed: UInt64
    let p: Double
    let transposed: Bool
    let input: [String: Any]
    let output: [String: Any]
    var testDescription: String { id }

    init(_ d: [String: Any]) {
      id = d["id"] as! String
      fn = d["fn"] as! String
      seed = (d["seed"] as! NSNumber).uint64Value
      p = (d["p"] as! NSNumber).doubleValue
      transposed = (d["layout"] as! String) == "transposed"
      input = d["input"] as! [String: Any]
      output = d["output"] as! [String: Any]
    }
  }

  nonisolated(unsafe) static let root: [String: Any] = {
    let url = Bundle.module.url(
      forResource: "nn_functional", withExtension: "json", subdirectory: "Fixtures")!
    return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
  }()

  /// The cases whose op is one of `ops`.
  static func cases(_ ops: Set<String>) -> [Case] {
    (root["cases"] as! [[String: Any]]).map(Case.init).filter { ops.contains($0.op) }
  }

  static var dropoutCases: [DropoutCase] {
    (root["dropout"] as! [[String: Any]]).map(DropoutCase.init)
  }

  static func dtype(_ s: String) -> DType {
    switch s {
    case "float64": return .float64
    case "float32": return .float32
    case "int64": return .int64
    case "bool": return .bool
    default: fatalError("unknown dtype \(s)")
    }
  }

  /// A tensor of the fixture encoding, in its dtype.
  static func tensor(_ d: [String: Any]) -> Tensor {
    let shape = d["shape"] as! [Int]
    let values = (d["data"] as! [Any]).map { v -> Double in
      if let b = v as? Bool { return b ? 1 : 0 }
      return (v as! NSNumber).doubleValue
    }
    switch dtype(d["dtype"] as! String) {
    case .float64: return Tensor(shape: shape, scalars: values)
    case .float32: return Tensor(shape: shape, scalars: values.map { Float($0) })
    case .int64: return Tensor(shape: shape, scalars: values.map { Int64($0) })
    case .bool: return Tensor(shape: shape, scalars: values.map { $0 != 0 })
    }
  }

  /// A float tensor from exact bit patterns (`{"shape", "dtype", "bits": [hex]}`).
  static func tensor(bits d: [String: Any]) -> Tensor {
    let shape = d["shape"] as! [Int]
    let hex = d["bits"] as! [String]
    if (d["dtype"] as! String) == "float64" {
      return Tensor(shape: shape, scalars: hex.map { Double(bitPattern: UInt64($0, radix: 16)!) })
    }
    return Tensor(shape: shape, scalars: hex.map { Float(bitPattern: UInt32($0, radix: 16)!) })
  }

  static func tolerance(_ dtype: DType) -> (rtol: Double, atol: Double) {
    dtype == .float64 ? (1e-9, 1e-11) : (1e-5, 1e-6)
  }

  static func doubles(_ v: Any?) -> [Double]? {
    (v as? [Any])?.map { ($0 as? NSNumber)?.doubleValue ?? .nan }
  }

  /// Expects `actual` within `atol + rtol * |expected|` of PyTorch's `expected`, widened for
  /// float32 by twice PyTorch's own distance from the float64 result `reference`: Ember's float32
  /// must be about as close to the exact value as PyTorch's is.
  static func expectNear(
    _ actual: [Double], _ expected: [Double], reference: [Double]?, dtype: DType,
    _ comment: String, sourceLocation: SourceLocation
  ) {
    let (rtol, atol) = tolerance(dtype)
    #expect(actual.count == expected.count, "\(comment): count", sourceLocation: sourceLocation)
    for i in 0..<min(actual.count, expected.count) {
      let (a, b) = (actual[i], expected[i])
      let slack = reference.map { 2 * Swift.abs(b - $0[i]) } ?? 0
      let ok =
        (a.isNaN && b.isNaN) || a == b || Swift.abs(a - b) <= atol + rtol * Swift.abs(b) + slack
      if !ok {
        Issue.record(
          "\(comment): element \(i): got \(a), expected \(b) (float64 \(reference.map { "\($0[i])" } ?? "-"))",
          sourceLocation: sourceLocation)
        return
      }
    }
  }

  /// Runs the case's op on Ember.
  static func run(_ c: Case, _ t: [String: Tensor]) -> Tensor {
    typealias F = Functional
    let x = t["input"]
    switch c.op {
    case "relu": return F.relu(x!)
    case "relu6": return F.relu6(x!)
    case "leaky_relu": return F.leakyRelu(x!, negativeSlope: c.double("negative_slope")!)
    case "gelu":
      return F.gelu(x!, approximate: c.string("approximate") == "tanh" ? .tanh : .none)
    case "silu": return F.silu(x!)
    case "elu": return F.elu(x!, alpha: c.double("alpha")!)
    case "softplus":
      return F.softplus(x!, beta: c.double("beta")!, threshold: c.double("threshold")!)
    case "tanh": return F.tanh(x!)
    case "sigmoid": return F.sigmoid(x!)
    case "hardtanh":
      return F.hardtanh(x!, minVal: c.double("min_val")!, maxVal: c.double("max_val")!)
    case "softmax": return F.softmax(x!, dim: c.int("dim")!)
    case "log_softmax": return F.logSoftmax(x!, dim: c.int("dim")!)
    case "mse_loss": return F.mseLoss(x!, t["target"]!, reduction: c.reduction)
    case "l1_loss": return F.l1Loss(x!, t["target"]!, reduction: c.reduction)
    case "smooth_l1_loss":
      return F.smoothL1Loss(x!, t["target"]!, reduction: c.reduction, beta: c.double("beta")!)
    case "huber_loss":
      return F.huberLoss(x!, t["target"]!, reduction: c.reduction, delta: c.double("delta")!)
    case "binary_cross_entropy":
      return F.binaryCrossEntropy(x!, t["target"]!, weight: t["weight"], reduction: c.reduction)
    case "binary_cross_entropy_with_logits":
      return F.binaryCrossEntropyWithLogits(
        x!, t["target"]!, weight: t["weight"], reduction: c.reduction, posWeight: t["pos_weight"])
    case "kl_div":
      return F.klDiv(
        x!, t["target"]!, reduction: c.reduction, logTarget: c.bool("log_target") ?? false)
    case "nll_loss":
      return F.nllLoss(
        x!, t["target"]!, weight: t["weight"], ignoreIndex: c.int("ignore_index") ?? -100,
        reduction: c.reduction)
    case "cross_entropy":
      return F.crossEntropy(
        x!, t["target"]!, weight: t["weight"], ignoreIndex: c.int("ignore_index") ?? -100,
        reduction: c.reduction, labelSmoothing: c.double("label_smoothing") ?? 0)
    case "batch_norm":
      return F.batchNorm(
        x!, runningMean: t["running_mean"], runningVar: t["running_var"], weight: t["weight"],
        bias: t["bias"], training: c.bool("training") ?? false,
        momentum: c.double("momentum") ?? 0.1,
        eps: c.double("eps") ?? 1e-5)
    case "layer_norm":
      return F.layerNorm(
        x!, normalizedShape: c.ints("normalized_shape")!, weight: t["weight"], bias: t["bias"],
        eps: c.double("eps") ?? 1e-5)
    case "group_norm":
      return F.groupNorm(
        x!, numGroups: c.int("num_groups")!, weight: t["weight"], bias: t["bias"],
        eps: c.double("eps") ?? 1e-5)
    case "embedding", "embedding_max_norm":
      return F.embedding(
        x!, t["weight"]!, paddingIdx: c.int("padding_idx"), maxNorm: c.double("max_norm"),
        normType: c.double("norm_type") ?? 2, scaleGradByFreq: c.bool("scale_grad_by_freq") ?? false
      )
    case "pad":
      return F.pad(
        x!, c.ints("pad")!, mode: PadMode(rawValue: c.string("mode") ?? "constant")!,
        value: c.double("value") ?? 0)
    case "interpolate":
      let mode = InterpolationMode(rawValue: c.string("mode")!)!
      let ac = c.bool("align_corners")
      if let size = c.ints("size") {
        return F.interpolate(x!, size: size, mode: mode, alignCorners: ac)
      }
      if let size = c.int("size") {
        return F.interpolate(x!, size: size, mode: mode, alignCorners: ac)
      }
      let recompute = c.bool("recompute_scale_factor") ?? false
      if let s = c.doubles("scale_factor") {
        return F.interpolate(
          x!, scaleFactors: s, mode: mode, alignCorners: ac, recomputeScaleFactor: recompute)
      }
      return F.interpolate(
        x!, scaleFactor: c.double("scale_factor")!, mode: mode, alignCorners: ac,
        recomputeScaleFactor: recompute)
    case "sdpa":
      return F.scaledDotProductAttention(
        t["query"]!, t["key"]!, t["value"]!, attnMask: t["attn_mask"],
        isCausal: c.bool("is_causal") ?? false, scale: c.double("scale"))
    default: fatalError("no Ember mapping for \(c.op)")
    }
  }

  /// grad_fn names where Ember records a different (documented) node than PyTorch.
  static func expectedGradFn(_ c: Case) -> String? {
    switch (c.op, c.gradFn) {
    case ("sdpa", _): return nil  // composed: the last matmul's node
    default: return c.gradFn
    }
  }

  /// Runs one case and checks everything it records.
  static func check(_ c: Case, sourceLocation: SourceLocation = #_sourceLocation) throws {
    var t: [String: Tensor] = [:]
    let differentiable = Set(c.grads.keys)
    for (name, enc) in c.inputs {
      let v = tensor(enc)
      if differentiable.contains(name) { try v.setRequiresGrad() }
      t[name] = v
    }
    let out = run(c, t)
    let want = tensor(c.output)
    #expect(out.dtype == want.dtype, "\(c.id): dtype", sourceLocation: sourceLocation)
    #expect(out.shape == want.shape, "\(c.id): shape", sourceLocation: sourceLocation)
    expectNear(
      out.toArray(), want.toArray(), reference: doubles(c.ref64?["output"]), dtype: c.dtype,
      "\(c.id) output", sourceLocation: sourceLocation)
    if let expected = expectedGradFn(c) {
      #expect(out.gradFn?.name == expected, "\(c.id): grad_fn", sourceLocation: sourceLocation)
    }
    for (name, enc) in c.after {
      let ref = (c.ref64?["after"] as? [String: Any]).flatMap { doubles($0[name]) }
      expectNear(
        t[name]!.toArray(), tensor(enc).toArray(), reference: ref, dtype: c.dtype,
        "\(c.id) \(name) after", sourceLocation: sourceLocation)
    }
    guard let go = c.gradOutput else { return }
    let names = c.grads.keys.sorted()
    let gs = try grad(
      of: [out], withRespectTo: names.map { t[$0]! }, gradOutputs: [tensor(go)], allowUnused: true)
    for (name, g) in zip(names, gs) {
      guard let enc = c.grads[name] as? [String: Any] else {
        #expect(
          g == nil, "\(c.id): grad of \(name) should be unused", sourceLocation: sourceLocation)
        continue
      }
      let want = tensor(enc)
      let got = g ?? Tensor.zeros(like: want)
      #expect(
        got.shape == want.shape, "\(c.id): grad \(name) shape", sourceLocation: sourceLocation)
      let ref = (c.ref64?["grads"] as? [String: Any]).flatMap { doubles($0[name]) }
      expectNear(
        got.toArray(), want.toArray(), reference: ref, dtype: c.dtype, "\(c.id) grad \(name)",
        sourceLocation: sourceLocation)
    }
  }
}
