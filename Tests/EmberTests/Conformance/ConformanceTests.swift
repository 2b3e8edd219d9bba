import Ember
import Foundation
import Testing

/// One case of a golden file, by position (the parameter of ``ConformanceTests/golden(_:)``).
struct ConformanceCase: Sendable, CustomTestStringConvertible {
  let path: String
  let index: Int
  let id: String
  var file: String { URL(fileURLWithPath: path).lastPathComponent }
  var testDescription: String { "\(file) \(id)" }
}

/// Golden forward values, gradients and Hessian-vector products computed by PyTorch in float64
/// (../shared/conformance, copied into Fixtures). Also reads every `*.json` in the folder named by
/// `EMBER_CONFORMANCE_DIR` when it is set.
///
/// Each case is a test case of its own: a failure names it, and so does a trap, because the suite
/// runs serially and writes `conformance: running <file> <id>` to stderr before each case (the
/// last such line before a crash is the case that crashed).
@Suite(.serialized) struct ConformanceTests {
  static func caseFiles() throws -> [URL] {
    var files: [URL] = []
    if let url = Bundle.module.url(
      forResource: "cases-public", withExtension: "json", subdirectory: "Fixtures")
    {
      files.append(url)
    }
    if let dir = ProcessInfo.processInfo.environment["EMBER_CONFORMANCE_DIR"] {
      let url = URL(fileURLWithPath: dir)
      let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter {
        $0.hasSuffix(".json")
      }.sorted()
      files += names.map { url.appendingPathComponent($0) }
    }
    return files
  }

  /// The parsed files, read once (read-only after that).
  nonisolated(unsafe) static let parsed: [String: [[String: Any]]] = {
    var out: [String: [[String: Any]]] = [:]
    for file in (try? caseFiles()) ?? [] {
      guard let data = try? Data(contentsOf: file),
        let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let cases = root["cases"] as? [[String: Any]]
      else {
        out[file.path] = []
        continue
      }
      out[file.path] = cases
    }
    return out
  }()

  static func allCases() throws -> [ConformanceCase] {
    try caseFiles().flatMap { file in
      (parsed[file.path] ?? []).enumerated().map { i, raw in
        ConformanceCase(path: file.path, index: i, id: raw["id"] as? String ?? "#\(i)")
      }
    }
  }

  @Test func everyFileHasCases() throws {
    let files = try Self.caseFiles()
    #expect(!files.isEmpty, "cases-public.json fixture missing")
    for file in files {
      #expect(Self.parsed[file.path]?.isEmpty == false, "\(file.lastPathComponent): no cases read")
    }
    let n = try Self.allCases().count
    print("conformance: \(n) cases")
    #expect(n >= 90)
  }

  @Test(arguments: try ConformanceTests.allCases())
  func golden(_ c: ConformanceCase) throws {
    FileHandle.standardError.write(Data("conformance: running \(c.file) \(c.id)\n".utf8))
    let g = GoldenCase(Self.parsed[c.path]![c.index])
    if let problem = try g.check() {
      Issue.record(Comment(rawValue: "\(c.file) \(c.id): \(problem)"))
    }
  }

  // MARK: the checker itself

  static func publicCase(_ id: String) throws -> [String: Any] {
    let file = try #require(try caseFiles().first)
    return try #require(parsed[file.path]?.first { $0["id"] as? String == id })
  }

  /// A copy of `tensor` (a fixture dictionary) whose element `i` is scaled by `1 + delta`.
  static func perturbed(_ tensor: [String: Any], element i: Int, delta: Double) -> [String: Any] {
    var t = tensor
    var data = t["data"] as! [Any]
    data[i] = (data[i] as! NSNumber).doubleValue * (1 + delta)
    t["data"] = data
    return t
  }

  @Test func checkerPassesTheUnchangedCase() throws {
    #expect(try GoldenCase(Self.publicCase("exp/2d")).check() == nil)
  }

  @Test func checkerReportsAWrongForwardValue() throws {
    var raw = try Self.publicCase("exp/2d")
    var outputs = raw["outputs"] as! [[String: Any]]
    outputs[0] = Self.perturbed(outputs[0], element: 1, delta: 1e-6)
    raw["outputs"] = outputs
    let problem = try GoldenCase(raw).check()
    #expect(problem?.hasPrefix("output 0: element 1 is ") == true, "\(problem ?? "no problem")")
  }

  @Test func checkerReportsAWrongGradient() throws {
    var raw = try Self.publicCase("exp/2d")
    var grads = raw["grads"] as! [Any]
    grads[0] = Self.perturbed(grads[0] as! [String: Any], element: 0, delta: 1e-6)
    raw["grads"] = grads
    let problem = try GoldenCase(raw).check()
    #expect(problem?.hasPrefix("grad 0: element 0 is ") == true, "\(problem ?? "no problem")")
  }

  @Test func checkerReportsAWrongSecondOrderGradient() throws {
    var raw = try Self.publicCase("exp/2d")
    var so = raw["second_order"] as! [String: Any]
    var hs = so["grads"] as! [Any]
    hs[0] = Self.perturbed(hs[0] as! [String: Any], element: 2, delta: 1e-6)
    so["grads"] = hs
    raw["second_order"] = so
    let problem = try GoldenCase(raw).check()
    #expect(
      problem?.hasPrefix("second-order grad 0: element 2 is ") == true, "\(problem ?? "no problem")"
    )
  }

  @Test func checkerReportsMissingParts() throws {
    let base = try Self.publicCase("exp/2d")
    var noGrads = base
    noGrads["grads"] = nil
    #expect(
      try GoldenCase(noGrads).check()
        == "inputs require grad but the case has no grad_output/grads")
    var noV = base
    var so = noV["second_order"] as! [String: Any]
    so["v"] = [NSNull()]
    noV["second_order"] = so
    #expect(
      try GoldenCase(noV).check()
        == "input 0 requires grad but the case has no second-order direction v for it")
    var noH = base
    so = noH["second_order"] as! [String: Any]
    so["grads"] = [NSNull()]
    noH["second_order"] = so
    #expect(
      try GoldenCase(noH).check()
        == "input 0 requires grad but the case has no second-order gradient for it")
    var unknown = base
    unknown["op"] = "no_such_op"
    #expect(try GoldenCase(unknown).check() == "no Ember mapping for op no_such_op")
  }
}

/// One case of the golden file (see FORMAT.md).
struct GoldenCase {
  let id: String
  let op: String
  let inputs: [[String: Any]]
  let kwargs: [String: Any]
  let outputs: [[String: Any]]
  let gradOutput: [String: Any]?
  let grads: [Any]?
  let secondOrder: [String: Any]?
  let rtol: Double
  let atol: Double

  init(_ d: [String: Any]) {
    id = d["id"] as! String
    op = d["op"] as! String
    inputs = d["inputs"] as! [[String: Any]]
    kwargs = d["kwargs"] as? [String: Any] ?? [:]
    outputs = d["outputs"] as! [[String: Any]]
    gradOutput = d["grad_output"] as? [String: Any]
    grads = d["grads"] as? [Any]
    secondOrder = d["second_order"] as? [String: Any]
    rtol = d["rtol"] as? Double ?? 1e-7
    atol = d["atol"] as? Double ?? 1e-9
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

  static func tensor(_ d: [String: Any]) -> Tensor {
    let shape = d["shape"] as! [Int]
    let dtype = dtype(d["dtype"] as! String)
    let values = (d["data"] as! [Any]).map { v -> Double in
      if let b = v as? Bool { return b ? 1 : 0 }
      return (v as! NSNumber).doubleValue
    }
    if (d["layout"] as? String) == "transposed" && shape.count == 2 {
      // contiguous tensor of the reversed shape holding the transposed values, then .t()
      var tv = [Double](repeating: 0, count: values.count)
      for i in 0..<shape[0] {
        for j in 0..<shape[1] { tv[j * shape[0] + i] = values[i * shape[1] + j] }
      }
      return makeTensor([shape[1], shape[0]], tv, dtype).t().detach()
    }
    return makeTensor(shape, values, dtype)
  }

  static func makeTensor(_ shape: [Int], _ values: [Double], _ dtype: DType) -> Tensor {
    switch dtype {
    case .float64: return Tensor(shape: shape, scalars: values)
    case .float32: return Tensor(shape: shape, scalars: values.map { Float($0) })
    case .int64: return Tensor(shape: shape, scalars: values.map { Int64($0) })
    case .bool: return Tensor(shape: shape, scalars: values.map { $0 != 0 })
    }
  }

  func intArg(_ key: String) -> Int? { (kwargs[key] as? NSNumber)?.intValue }
  func doubleArg(_ key: String) -> Double? { (kwargs[key] as? NSNumber)?.doubleValue }
  func dimsArg() -> [Int]? {
    if let list = kwargs["dim"] as? [NSNumber] { return list.map(\.intValue) }
    return intArg("dim").map { [$0] }
  }
  var keepdim: Bool { kwargs["keepdim"] as? Bool ?? false }
  var reduction: Reduction { (kwargs["reduction"] as? String).flatMap(Reduction.init) ?? .mean }
  /// An int-or-tuple argument (kernel_size, stride, padding, dilation).
  func sizeArg(_ key: String) -> SpatialSize? {
    if let list = kwargs[key] as? [NSNumber] { return SpatialSize(list.map(\.intValue)) }
    return intArg(key).map { SpatialSize($0) }
  }
  /// A convolution's padding: a number, a list, "same" or "valid".
  func paddingArg() -> Padding {
    switch kwargs["padding"] as? String {
    case "same": return .same
    case "valid": return .valid
    default: return .explicit(sizeArg("padding") ?? 0)
    }
  }

  enum Arg {
    case tensor(Tensor)
    case scalar(Double)
    var t: Tensor {
      guard case .tensor(let t) = self else { fatalError("expected a tensor argument") }
      return t
    }
  }

  /// Runs the op on Ember; returns its outputs.
  func run(_ a: [Arg]) -> [Tensor] {
    func unary(_ f: (Tensor) -> Tensor) -> [Tensor] { [f(a[0].t)] }
    func binary(_ tt: (Tensor, Tensor) -> Tensor, _ ts: (Tensor, Double) -> Tensor) -> [Tensor] {
      switch (a[0], a[1]) {
      case (.tensor(let x), .tensor(let y)): return [tt(x, y)]
      case (.tensor(let x), .scalar(let s)): return [ts(x, s)]
      default: fatalError("unsupported argument kinds for \(op)")
      }
    }
    switch op {
    case "neg": return unary { -$0 }
    case "exp": return unary { $0.exp() }
    case "log": return unary { $0.log() }
    case "sin": return unary { $0.sin() }
    case "cos": return unary { $0.cos() }
    case "tanh": return unary { $0.tanh() }
    case "sigmoid": return unary { $0.sigmoid() }
    case "square": return unary { $0.square() }
    case "sqrt": return unary { $0.sqrt() }
    case "rsqrt": return unary { $0.rsqrt() }
    case "reciprocal": return unary { $0.reciprocal() }
    case "relu": return unary { $0.relu() }
    case "abs": return unary { $0.abs() }
    case "gelu": return unary { $0.gelu() }
    case "silu": return unary { $0.silu() }
    case "softplus": return unary { $0.softplus() }
    case "elu": return unary { $0.elu() }
    case "leaky_relu":
      return unary { $0.leakyRelu(negativeSlope: doubleArg("negative_slope") ?? 0.01) }
    case "clamp": return unary { $0.clamp(min: doubleArg("min"), max: doubleArg("max")) }
    case "add": return binary({ $0 + $1 }, { $0 + $1 })
    case "sub": return binary({ $0 - $1 }, { $0 - $1 })
    case "mul": return binary({ $0 * $1 }, { $0 * $1 })
    case "div": return binary({ $0 / $1 }, { $0 / $1 })
    case "maximum":
      return binary({ $0.maximum($1) }, { x, s in x.maximum(Tensor.full([], s, dtype: x.dtype)) })
    case "minimum":
      return binary({ $0.minimum($1) }, { x, s in x.minimum(Tensor.full([], s, dtype: x.dtype)) })
    case "pow":
      switch (a[0], a[1]) {
      case (.tensor(let x), .tensor(let y)): return [x ** y]
      case (.tensor(let x), .scalar(let s)): return [x ** s]
      case (.scalar(let s), .tensor(let y)): return [s ** y]
      default: fatalError("pow: unsupported arguments")
      }
    case "sum":
      return unary { x in dimsArg().map { x.sum(dim: $0, keepdim: keepdim) } ?? x.sum() }
    case "mean":
      return unary { x in dimsArg().map { x.mean(dim: $0, keepdim: keepdim) } ?? x.mean() }
    case "amax": return unary { $0.amax(dim: dimsArg() ?? [], keepdim: keepdim) }
    case "max":
      if let d = intArg("dim") {
        let r = a[0].t.max(dim: d, keepdim: keepdim)
        return [r.values, r.indices]
      }
      return unary { $0.max() }
    case "min":
      if let d = intArg("dim") {
        let r = a[0].t.min(dim: d, keepdim: keepdim)
        return [r.values, r.indices]
      }
      return unary { $0.min() }
    case "prod":
      return unary { x in intArg("dim").map { x.prod(dim: $0, keepdim: keepdim) } ?? x.prod() }
    case "var":
      return unary {
        $0.var(dim: dimsArg(), correction: doubleArg("correction") ?? 1, keepdim: keepdim)
      }
    case "std":
      return unary {
        $0.std(dim: dimsArg(), correction: doubleArg("correction") ?? 1, keepdim: keepdim)
      }
    case "logsumexp": return unary { $0.logsumexp(dim: dimsArg() ?? [], keepdim: keepdim) }
    case "norm": return unary { $0.norm() }
    case "matmul": return [a[0].t.matmul(a[1].t)]
    case "reshape": return unary { $0.reshape((kwargs["shape"] as! [NSNumber]).map(\.intValue)) }
    case "permute": return unary { $0.permute((kwargs["dims"] as! [NSNumber]).map(\.intValue)) }
    case "transpose": return unary { $0.transpose(intArg("dim0")!, intArg("dim1")!) }
    case "expand": return unary { $0.expand((kwargs["size"] as! [NSNumber]).map(\.intValue)) }
    case "squeeze": return unary { x in intArg("dim").map { x.squeeze($0) } ?? x.squeeze() }
    case "unsqueeze": return unary { $0.unsqueeze(intArg("dim")!) }
    case "flatten":
      return unary {
        $0.flatten(startDim: intArg("start_dim") ?? 0, endDim: intArg("end_dim") ?? -1)
      }
    case "cat": return [Tensor.cat(a.map(\.t), dim: intArg("dim") ?? 0)]
    case "stack": return [Tensor.stack(a.map(\.t), dim: intArg("dim") ?? 0)]
    case "narrow":
      return unary { $0.narrow(intArg("dim")!, start: intArg("start")!, length: intArg("length")!) }
    case "index_select": return [a[0].t.indexSelect(dim: intArg("dim")!, index: a[1].t)]
    case "gather": return [a[0].t.gather(dim: intArg("dim")!, index: a[1].t)]
    case "where": return [Tensor.where(a[0].t, a[1].t, a[2].t)]
    case "softmax": return unary { $0.softmax(dim: intArg("dim")!) }
    case "log_softmax": return unary { $0.logSoftmax(dim: intArg("dim")!) }
    case "cross_entropy": return [Functional.crossEntropy(a[0].t, a[1].t, reduction: reduction)]
    case "nll_loss": return [Functional.nllLoss(a[0].t, a[1].t, reduction: reduction)]
    case "mse_loss": return [Functional.mseLoss(a[0].t, a[1].t, reduction: reduction)]
    case "l1_loss": return [Functional.l1Loss(a[0].t, a[1].t, reduction: reduction)]
    case "binary_cross_entropy_with_logits":
      return [Functional.binaryCrossEntropyWithLogits(a[0].t, a[1].t, reduction: reduction)]
    case "layer_norm":
      return [
        Functional.layerNorm(
          a[0].t, normalizedShape: a[1].t.shape, weight: a[1].t, bias: a[2].t,
          eps: doubleArg("eps") ?? 1e-5)
      ]
    case "batch_norm":
      return [
        Functional.batchNorm(
          a[0].t, runningMean: nil, runningVar: nil, weight: a[1].t, bias: a[2].t, training: true,
          eps: doubleArg("eps") ?? 1e-5)
      ]
    case "embedding": return [Functional.embedding(a[0].t, a[1].t)]
    case "linear": return [Functional.linear(a[0].t, a[1].t, bias: a.count > 2 ? a[2].t : nil)]
    case "conv2d":
      return [
        Functional.conv2d(
          a[0].t, a[1].t, bias: a.count > 2 ? a[2].t : nil, stride: sizeArg("stride") ?? 1,
          padding: paddingArg(), dilation: sizeArg("dilation") ?? 1, groups: intArg("groups") ?? 1)
      ]
    case "max_pool2d":
      return unary {
        Functional.maxPool2d(
          $0, kernelSize: sizeArg("kernel_size")!, stride: sizeArg("stride"),
          padding: sizeArg("padding") ?? 0, dilation: sizeArg("dilation") ?? 1,
          ceilMode: kwargs["ceil_mode"] as? Bool ?? false)
      }
    case "avg_pool2d":
      return unary {
        Functional.avgPool2d(
          $0, kernelSize: sizeArg("kernel_size")!, stride: sizeArg("stride"),
          padding: sizeArg("padding") ?? 0, ceilMode: kwargs["ceil_mode"] as? Bool ?? false,
          countIncludePad: kwargs["count_include_pad"] as? Bool ?? true,
          divisorOverride: intArg("divisor_override"))
      }
    default: return []
    }
  }

  func compare(_ t: Tensor?, _ expected: [String: Any], _ what: String) -> String? {
    let want = GoldenCase.tensor(expected)
    guard let t else { return "\(what): missing" }
    if t.shape != want.shape { return "\(what): shape \(t.shape) != \(want.shape)" }
    if t.dtype != want.dtype { return "\(what): dtype \(t.dtype) != \(want.dtype)" }
    for (i, (x, y)) in zip(t.toArray(), want.toArray()).enumerated() {
      if !(abs(x - y) <= atol + rtol * abs(y)) && !(x.isNaN && y.isNaN) {
        return "\(what): element \(i) is \(x), PyTorch gives \(y)"
      }
    }
    return nil
  }

  /// Nil when every output, gradient and second-order gradient matches.
  func check() throws -> String? {
    let args: [Arg] = inputs.map { d in
      if let s = d["scalar"] as? NSNumber { return .scalar(s.doubleValue) }
      let t = GoldenCase.tensor(d)
      if d["requires_grad"] as? Bool == true { try! t.setRequiresGrad() }
      return .tensor(t)
    }
    let outs = run(args)
    if outs.isEmpty { return "no Ember mapping for op \(op)" }
    for (i, o) in outputs.enumerated() {
      if let p = compare(i < outs.count ? outs[i] : nil, o, "output \(i)") { return p }
    }
    var leaves: [(Int, Tensor)] = []
    for (i, a) in args.enumerated() {
      if case .tensor(let t) = a, t.requiresGrad { leaves.append((i, t)) }
    }
    // a case whose inputs require grad must say what the gradients are: a missing part is a
    // failure of the fixture, not a reason to check less
    guard let gradOutput, let grads else {
      return leaves.isEmpty ? nil : "inputs require grad but the case has no grad_output/grads"
    }
    let gs = try grad(
      of: [outs[0]], withRespectTo: leaves.map(\.1), gradOutputs: [GoldenCase.tensor(gradOutput)],
      createGraph: secondOrder != nil, allowUnused: true)
    for (k, (i, t)) in leaves.enumerated() {
      guard i < grads.count, let expected = grads[i] as? [String: Any] else {
        return "input \(i) requires grad but the case has no gradient for it"
      }
      if let p = compare(gs[k] ?? Tensor.zeros(like: t), expected, "grad \(i)") { return p }
    }
    if let so = secondOrder {
      let vs = so["v"] as? [Any] ?? []
      let hs = so["grads"] as? [Any] ?? []
      var total: Tensor? = nil
      for (k, (i, _)) in leaves.enumerated() {
        // a gradient without history has a zero derivative: nothing to add to the product
        guard let g = gs[k], g.requiresGrad else { continue }
        guard i < vs.count, let v = vs[i] as? [String: Any] else {
          return "input \(i) requires grad but the case has no second-order direction v for it"
        }
        let term = (g * GoldenCase.tensor(v)).sum()
        total = total.map { $0 + term } ?? term
      }
      // no first-order gradient depends on the inputs: every second-order gradient is zero
      let h =
        try total.map { try grad(of: [$0], withRespectTo: leaves.map(\.1), allowUnused: true) }
        ?? leaves.map { _ in nil }
      for (k, (i, t)) in leaves.enumerated() {
        guard i < hs.count, let expected = hs[i] as? [String: Any] else {
          return "input \(i) requires grad but the case has no second-order gradient for it"
        }
        if let p = compare(h[k] ?? Tensor.zeros(like: t), expected, "second-order grad \(i)") {
          return p
        }
      }
    }
    return nil
  }
}
