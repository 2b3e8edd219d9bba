import Ember
import Foundation
import Testing

// MARK: - golden cases of Fixtures/conv_pool.json (make_conv_pool_fixtures.py)

/// A tensor of the fixture file.
struct FixtureTensor: Decodable, Sendable {
  let shape: [Int]
  let data: [Double]
  let requiresGrad: Bool?
  let transposed: Bool?

  enum CodingKeys: String, CodingKey {
    case shape, data, transposed
    case requiresGrad = "requires_grad"
  }
}

/// A keyword argument of a fixture case.
enum FixtureValue: Decodable, Sendable {
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case list([Int])
  case null

  init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? c.decode(Int.self) {
      self = .int(i)
    } else if let d = try? c.decode(Double.self) {
      self = .double(d)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else {
      self = .list(try c.decode([Int].self))
    }
  }
}

/// One golden case: an op of torch.nn.functional run by PyTorch on fixed inputs.
struct FixtureCase: Decodable, Sendable {
  struct SecondOrder: Decodable, Sendable {
    let v: [FixtureTensor?]
    let grads: [FixtureTensor?]
  }
  let id: String
  let op: String
  let dtype: String
  let kwargs: [String: FixtureValue]
  let inputs: [FixtureTensor?]
  let output: FixtureTensor
  let indices: FixtureTensor?
  let gradOutput: FixtureTensor?
  let grads: [FixtureTensor?]?
  let gradFn: String?
  let secondOrder: SecondOrder?
  let rtol: Double
  let atol: Double

  enum CodingKeys: String, CodingKey {
    case id, op, dtype, kwargs, inputs, output, indices, grads, rtol, atol
    case gradOutput = "grad_output"
    case gradFn = "grad_fn"
    case secondOrder = "second_order"
  }
}

enum ConvPoolFixture {
  static let cases: [FixtureCase] = {
    let url = Bundle.module.url(
      forResource: "conv_pool", withExtension: "json", subdirectory: "Fixtures")!
    struct File: Decodable { let cases: [FixtureCase] }
    return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
  }()

  /// Ids of the cases of these ops.
  static func ids(_ ops: Set<String>) -> [String] {
    cases.filter { ops.contains($0.op) }.map(\.id)
  }

  static func named(_ id: String) -> FixtureCase { cases.first { $0.id == id }! }

  static func tensor(_ t: FixtureTensor, _ dtype: DType) -> Tensor {
    dtype == .float32
      ? Tensor(shape: t.shape, scalars: t.data.map { Float($0) })
      : Tensor(shape: t.shape, scalars: t.data)
  }

  /// Runs the case's op on Ember: its output, and the indices for pools that return them.
  static func run(_ c: FixtureCase, _ a: [Tensor?]) -> (Tensor, Tensor?) {
    func size(_ key: String) -> SpatialSize? {
      switch c.kwargs[key] {
      case .int(let i): return SpatialSize(i)
      case .list(let l): return SpatialSize(l)
      default: return nil
      }
    }
    func int(_ key: String) -> Int? {
      if case .int(let i) = c.kwargs[key] { return i }
      return nil
    }
    func flag(_ key: String) -> Bool? {
      if case .bool(let b) = c.kwargs[key] { return b }
      return nil
    }
    var padding: Padding {
      switch c.kwargs["padding"] {
      case .string("same"): return .same
      case .string("valid"): return .valid
      default: return .explicit(size("padding") ?? 0)
      }
    }
    let ceil = flag("ceil_mode") ?? false
    switch c.op {
    case "conv1d", "conv2d":
      let f = c.op == "conv1d" ? Functional.conv1d : Functional.conv2d
      let y = f(
        a[0]!, a[1]!, a.count > 2 ? a[2] : nil, size("stride") ?? 1, padding,
        size("dilation") ?? 1, int("groups") ?? 1)
      return (y, nil)
    case "conv_transpose1d", "conv_transpose2d":
      let f = c.op == "conv_transpose1d" ? Functional.convTranspose1d : Functional.convTranspose2d
      let y = f(
        a[0]!, a[1]!, a.count > 2 ? a[2] : nil, size("stride") ?? 1, size("padding") ?? 0,
        size("output_padding") ?? 0, int("groups") ?? 1, size("dilation") ?? 1)
      return (y, nil)
    case "max_pool2d":
      let r = Functional.maxPool2dWithIndices(
        a[0]!, kernelSize: size("kernel_size")!, stride: size("stride"),
        padding: size("padding") ?? 0, dilation: size("dilation") ?? 1, ceilMode: ceil)
      return (r.output, r.indices)
    case "max_pool1d":
      let r = Functional.maxPool1dWithIndices(
        a[0]!, kernelSize: int("kernel_size")!, stride: int("stride"), padding: int("padding") ?? 0,
        dilation: int("dilation") ?? 1, ceilMode: ceil)
      return (r.output, r.indices)
    case "avg_pool2d":
      let y = Functional.avgPool2d(
        a[0]!, kernelSize: size("kernel_size")!, stride: size("stride"),
        padding: size("padding") ?? 0, ceilMode: ceil,
        countIncludePad: flag("count_include_pad") ?? true, divisorOverride: int("divisor_override")
      )
      return (y, nil)
    case "avg_pool1d":
      let y = Functional.avgPool1d(
        a[0]!, kernelSize: int("kernel_size")!, stride: int("stride"), padding: int("padding") ?? 0,
        ceilMode: ceil, countIncludePad: flag("count_include_pad") ?? true)
      return (y, nil)
    case "adaptive_avg_pool2d":
      return (Functional.adaptiveAvgPool2d(a[0]!, outputSize: size("output_size")!), nil)
    case "adaptive_max_pool2d":
      let r = Functional.adaptiveMaxPool2dWithIndices(a[0]!, outputSize: size("output_size")!)
      return (r.output, r.indices)
    case "linear":
      return (Functional.linear(a[0]!, a[1]!, bias: a.count > 2 ? a[2] : nil), nil)
    case "bilinear":
      return (Functional.bilinear(a[0]!, a[1]!, a[2]!, bias: a.count > 3 ? a[3] : nil), nil)
    default:
      fatalError("no Ember mapping for \(c.op)")
    }
  }

  /// Checks the output, indices, grad_fn name, gradients and second-order gradients of a case.
  static func check(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let c = named(id)
    let dtype: DType = c.dtype == "float32" ? .float32 : .float64
    var leaves: [Tensor?] = []
    var args: [Tensor?] = []
    for input in c.inputs {
      guard let input else {
        leaves.append(nil)
        args.append(nil)
        continue
      }
      let x = tensor(input, dtype)
      if input.transposed == true {
        let leaf = x.transpose(0, 1).contiguous()
        try leaf.setRequiresGrad(input.requiresGrad ?? false)
        leaves.append(leaf)
        args.append(leaf.transpose(0, 1))
      } else {
        try x.setRequiresGrad(input.requiresGrad ?? false)
        leaves.append(x)
        args.append(x)
      }
    }
    let (out, indices) = run(c, args)
    func compare(_ t: Tensor?, _ want: FixtureTensor, _ what: String) {
      guard let t else {
        Issue.record("\(id) \(what): missing", sourceLocation: sourceLocation)
        return
      }
      #expect(t.shape == want.shape, "\(id) \(what): shape", sourceLocation: sourceLocation)
      expectClose(
        t.toArray(), want.data, rtol: c.rtol, atol: c.atol, "\(id) \(what)",
        sourceLocation: sourceLocation)
    }
    #expect(out.dtype == dtype, "\(id): dtype", sourceLocation: sourceLocation)
    compare(out, c.output, "output")
    if let want = c.indices {
      #expect(indices?.dtype == .int64, sourceLocation: sourceLocation)
      #expect(indices?.shape == want.shape, sourceLocation: sourceLocation)
      #expect(
        indices?.toArray() == want.data, "\(id): indices", sourceLocation: sourceLocation)
    }
    #expect(out.gradFn?.name == c.gradFn, "\(id): grad_fn", sourceLocation: sourceLocation)
    guard let gradOutput = c.gradOutput, let grads = c.grads else { return }
    let wrt = leaves.enumerated().compactMap { i, l in l?.requiresGrad == true ? i : nil }
    let gs = try grad(
      of: [out], withRespectTo: wrt.map { leaves[$0]! },
      gradOutputs: [tensor(gradOutput, dtype)], createGraph: c.secondOrder != nil,
      allowUnused: true)
    for (k, i) in wrt.enumerated() {
      compare(gs[k] ?? Tensor.zeros(like: leaves[i]!), grads[i]!, "grad \(i)")
    }
    guard let so = c.secondOrder else { return }
    var total: Tensor? = nil
    for (k, i) in wrt.enumerated() {
      guard let g = gs[k], g.requiresGrad, let v = so.v[i] else { continue }
      let term = (g * tensor(v, dtype)).sum()
      total = total.map { $0 + term } ?? term
    }
    let hs = try grad(of: [total!], withRespectTo: wrt.map { leaves[$0]! }, allowUnused: true)
    for (k, i) in wrt.enumerated() {
      compare(hs[k] ?? Tensor.zeros(like: leaves[i]!), so.grads[i]!, "second-order grad \(i)")
    }
  }
}

// MARK: - a direct convolution, for shapes the fixtures do not reach

/// Direct loops for a 2-D convolution: output, and the input and weight gradients for `gy`.
private func referenceConv2d(
  x: [Double], xShape: [Int], w: [Double], wShape: [Int], gy: [Double], stride: Int, pad: Int,
  dilation: Int, groups: Int
) -> (y: [Double], gx: [Double], gw: [Double], yShape: [Int]) {
  let (n, cin, h, wd) = (xShape[0], xShape[1], xShape[2], xShape[3])
  let (cout, cig, kh, kw) = (wShape[0], wShape[1], wShape[2], wShape[3])
  let oh = (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1
  let ow = (wd + 2 * pad - dilation * (kw - 1) - 1) / stride + 1
  let cog = cout / groups
  var y = [Double](repeating: 0, count: n * cout * oh * ow)
  var gx = [Double](repeating: 0, count: x.count)
  var gw = [Double](repeating: 0, count: w.count)
  for b in 0..<n {
    for o in 0..<cout {
      let grp = o / cog
      for i in 0..<oh {
        for j in 0..<ow {
          let yi = ((b * cout + o) * oh + i) * ow + j
          var s = 0.0
          for c in 0..<cig {
            let ci = grp * cig + c
            for p in 0..<kh {
              let ih = i * stride - pad + p * dilation
              if ih < 0 || ih >= h { continue }
              for q in 0..<kw {
                let iw = j * stride - pad + q * dilation
                if iw < 0 || iw >= wd { continue }
                let xi = ((b * cin + ci) * h + ih) * wd + iw
                let wi = ((o * cig + c) * kh + p) * kw + q
                s += x[xi] * w[wi]
                gx[xi] += gy.isEmpty ? 0 : gy[yi] * w[wi]
                gw[wi] += gy.isEmpty ? 0 : gy[yi] * x[xi]
              }
            }
          }
          y[yi] = s
        }
      }
    }
  }
  return (y, gx, gw, [n, cout, oh, ow])
}

private func values(_ count: Int, seed: UInt64) -> [Double] {
  var state = seed
  return (0..<count).map { _ in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Double(state >> 11) / Double(1 << 53) * 2 - 1
  }
}

@Suite struct ConvolutionTests {
  @Test(
    arguments: ConvPoolFixture.ids(["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]))
  func goldenCase(id: String) throws {
    try ConvPoolFixture.check(id)
  }

  /// Shapes large enough for several column blocks, channel blocks and batch chunks, against
  /// direct loops, in both dtypes.
  @Test(arguments: [
    (x: [3, 16, 40, 40], w: [8, 8, 3, 3], stride: 1, pad: 1, dilation: 1, groups: 2),
    (x: [10, 6, 21, 23], w: [5, 6, 3, 2], stride: 2, pad: 1, dilation: 2, groups: 1),
    (x: [1, 12, 30, 30], w: [4, 12, 1, 1], stride: 1, pad: 0, dilation: 1, groups: 1),
  ])
  func largeShapesMatchDirectLoops(
    _ s: (x: [Int], w: [Int], stride: Int, pad: Int, dilation: Int, groups: Int)
  ) throws {
    let xv = values(s.x.reduce(1, *), seed: 1)
    let wv = values(s.w.reduce(1, *), seed: 2)
    let yShape = referenceConv2d(
      x: [], xShape: [0] + s.x.dropFirst(), w: [], wShape: s.w, gy: [], stride: s.stride,
      pad: s.pad, dilation: s.dilation, groups: s.groups
    ).yShape
    let gyv = values(s.x[0] * s.w[0] * yShape[2] * yShape[3], seed: 3)
    let ref = referenceConv2d(
      x: xv, xShape: s.x, w: wv, wShape: s.w, gy: gyv, stride: s.stride, pad: s.pad,
      dilation: s.dilation, groups: s.groups)
    for dtype in [DType.float64, .float32] {
      let tol = dtype == .float64 ? 1e-12 : 2e-5
      let x = try Tensor(shape: s.x, scalars: xv).to(dtype).setRequiresGrad()
      let w = try Tensor(shape: s.w, scalars: wv).to(dtype).setRequiresGrad()
      let y = Functional.conv2d(
        x, w, stride: [s.stride], padding: [s.pad], dilation: [s.dilation], groups: s.groups)
      expectTensor(y, shape: ref.yShape, ref.y, rtol: tol, atol: tol)
      try y.backward(gradient: Tensor(shape: ref.yShape, scalars: gyv).to(dtype))
      expectTensor(x.grad, shape: s.x, ref.gx, rtol: tol, atol: tol)
      expectTensor(w.grad, shape: s.w, ref.gw, rtol: tol, atol: tol)
    }
  }

  @Test func conv2dGradcheckAndGradgradcheck() throws {
    let configs:
      [(
        x: [Int], w: [Int], stride: SpatialSize, padding: Padding, dilation: SpatialSize,
        groups: Int
      )] = [
        ([1, 2, 5, 4], [2, 2, 2, 3], 1, 1, 1, 1),
        ([2, 2, 5, 5], [2, 1, 3, 2], [2, 1], [1, 0], [1, 2], 2),
        ([1, 2, 4, 5], [1, 2, 2, 2], 1, .same, [2, 1], 1),
        ([1, 3, 3, 3], [2, 3, 1, 1], 1, .valid, 1, 1),
      ]
    for (i, c) in configs.enumerated() {
      let x = leaf64(c.x, seed: 10 + i)
      let w = leaf64(c.w, seed: 20 + i)
      let b = leaf64([c.w[0]], seed: 30 + i)
      let f: ([Tensor]) -> Tensor = {
        Functional.conv2d(
          $0[0], $0[1], bias: $0[2], stride: c.stride, padding: c.padding, dilation: c.dilation,
          groups: c.groups)
      }
      #expect(try gradcheck(f, inputs: [x, w, b]), "config \(i)")
      #expect(try gradgradcheck(f, inputs: [x, w, b]), "config \(i)")
    }
  }

  @Test func conv1dAndUnbatchedGradgradcheck() throws {
    let x = leaf64([2, 2, 6], seed: 1)
    let w = leaf64([4, 1, 3], seed: 2)
    #expect(
      try gradgradcheck(
        { Functional.conv1d($0[0], $0[1], stride: 2, padding: 1, dilation: 1, groups: 2) },
        inputs: [x, w]))
    let u = leaf64([2, 4, 3], seed: 3)
    let v = leaf64([1, 2, 2, 2], seed: 4)
    #expect(try gradgradcheck({ Functional.conv2d($0[0], $0[1], padding: 1) }, inputs: [u, v]))
  }

  @Test func convTransposeGradcheckAndGradgradcheck() throws {
    let x = leaf64([1, 2, 3, 3], seed: 5)
    let w = leaf64([2, 2, 3, 2], seed: 6)
    let b = leaf64([2], seed: 7)
    let f: ([Tensor]) -> Tensor = {
      Functional.convTranspose2d(
        $0[0], $0[1], bias: $0[2], stride: 2, padding: [1, 0], outputPadding: [1, 0])
    }
    #expect(try gradcheck(f, inputs: [x, w, b]))
    #expect(try gradgradcheck(f, inputs: [x, w, b]))
    let x1 = leaf64([2, 4, 3], seed: 8)
    let w1 = leaf64([4, 1, 2], seed: 9)
    let g: ([Tensor]) -> Tensor = {
      Functional.convTranspose1d($0[0], $0[1], stride: 2, groups: 2, dilation: 2)
    }
    #expect(try gradcheck(g, inputs: [x1, w1]))
    #expect(try gradgradcheck(g, inputs: [x1, w1]))
  }

  /// Third derivatives go through the same three kernels.
  @Test func thirdOrderThroughConvolution() throws {
    let x = leaf64([1, 1, 3, 3], seed: 11)
    let w = leaf64([1, 1, 2, 2], seed: 12)
    let y = (Functional.conv2d(x, w) ** 2).sum()
    let gx = try grad(of: y, withRespectTo: x, createGraph: true)
    #expect(gx.gradFn?.name == "ConvolutionBackward0")
    let gw = try grad(of: gx.sum(), withRespectTo: w, createGraph: true)
    let h = try grad(of: (gw * gw).sum(), withRespectTo: x)
    // d/dx of sum((d/dw sum(d/dx sum(conv^2)))^2)
    expectClose(
      h.toArray(),
      try referenceThirdOrder(x: x.detach(), w: w.detach()), rtol: 1e-10, atol: 1e-10)
  }

  /// The same third-order quantity as ``thirdOrderThroughConvolution()``, by finite
  /// differences of the (already gradchecked) second-order function.
  private func referenceThirdOrder(x: Tensor, w: Tensor) throws -> [Double] {
    func f(_ x: Tensor) throws -> Double {
      let xl = try x.clone().setRequiresGrad()
      let wl = try w.clone().setRequiresGrad()
      let y = (Functional.conv2d(xl, wl) ** 2).sum()
      let gx = try grad(of: y, withRespectTo: xl, createGraph: true)
      let gw = try grad(of: gx.sum(), withRespectTo: wl, createGraph: true)
      return (gw * gw).sum().item()
    }
    let base = x.toArray()
    return try base.indices.map { i in
      var plus = base
      var minus = base
      plus[i] += 1e-5
      minus[i] -= 1e-5
      let fp = try f(Tensor(shape: x.shape, scalars: plus))
      let fm = try f(Tensor(shape: x.shape, scalars: minus))
      return (fp - fm) / 2e-5
    }
  }

  @Test func gradFnAndNextFunctions() throws {
    let x = leaf64([1, 2, 4, 4])
    let w = leaf64([3, 2, 3, 3], seed: 2)
    let y = Functional.conv2d(x, w)
    #expect(y.gradFn?.name == "ConvolutionBackward0")
    let next = y.gradFn!.nextFunctions
    #expect(next.count == 3)
    #expect(next[0].node?.name == "AccumulateGrad")
    #expect(next[1].node?.name == "AccumulateGrad")
    #expect(next[2].node == nil)
    let u = Functional.conv2d(leaf64([2, 4, 4]), w)
    #expect(u.gradFn?.name == "SqueezeBackward1")
    #expect(u.gradFn?.nextFunctions[0].node?.name == "ConvolutionBackward0")
    #expect(
      u.gradFn?.nextFunctions[0].node?.nextFunctions[0].node?.name == "UnsqueezeBackward0")
  }

  @Test func noHistoryWithoutGradOrInNoGrad() throws {
    let x = Tensor.ones([1, 1, 3, 3])
    let w = Tensor.ones([1, 1, 2, 2])
    let y = Functional.conv2d(x, w)
    #expect(y.gradFn == nil)
    expectTensor(y, shape: [1, 1, 2, 2], [4, 4, 4, 4])
    let wg = try Tensor.ones([1, 1, 2, 2]).setRequiresGrad()
    let z = withNoGrad { Functional.conv2d(x, wg) }
    #expect(z.gradFn == nil && !z.requiresGrad)
  }

  @Test func emptyBatch() throws {
    let x = try Tensor.zeros([0, 2, 5, 5]).setRequiresGrad()
    let w = try Tensor.ones([3, 2, 3, 3]).setRequiresGrad()
    let y = Functional.conv2d(x, w, bias: Tensor.zeros([3]), padding: 1)
    #expect(y.shape == [0, 3, 5, 5])
    try y.sum().backward()
    #expect(x.grad?.shape == [0, 2, 5, 5])
    expectTensor(w.grad, shape: [3, 2, 3, 3], [Double](repeating: 0, count: 54))
  }

  @Test func nonContiguousInputs() throws {
    // a transposed input and a weight sliced from a larger one give the contiguous result
    let xv = values(2 * 3 * 5 * 6, seed: 4)
    let wv = values(4 * 3 * 2 * 2, seed: 5)
    let x = Tensor(shape: [2, 3, 5, 6], scalars: xv)
    let w = Tensor(shape: [4, 3, 2, 2], scalars: wv)
    let xt = x.transpose(2, 3).contiguous().transpose(2, 3)
    let wBig = Tensor.cat([w, w], dim: 3)
    let ws = wBig.narrow(3, start: 2, length: 2)
    #expect(!xt.isContiguous && !ws.isContiguous)
    expectClose(
      Functional.conv2d(xt, ws, padding: 1).toArray(),
      Functional.conv2d(x, w, padding: 1).toArray(), rtol: 0, atol: 0)
  }

  @Test func samePaddingKeepsSize() {
    let x = Tensor.ones([1, 1, 5, 6])
    for k in [[1, 1], [2, 2], [3, 4], [5, 2]] {
      let y = Functional.conv2d(x, Tensor.ones([1, 1] + k), padding: .same)
      #expect(y.shape == [1, 1, 5, 6])
    }
    // the extra zero of an even kernel goes after: the first output row sees one row of padding
    let y = Functional.conv2d(x, Tensor.ones([1, 1, 2, 2]), padding: .same)
    expectClose(Array(y.toArray().prefix(6)), [4, 4, 4, 4, 4, 2])
  }

  @Test func badInputStopsWithPyTorchsMessage() async {
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.conv2d(Tensor.zeros([64, 3, 28, 28]), Tensor.zeros([32, 1, 3, 3]))
      },
      "conv2d: Given groups=1, weight of size [32, 1, 3, 3], expected input[64, 3, 28, 28] to have 1 channels, but got 3 channels instead"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.conv2d(
          Tensor.zeros([1, 3, 5, 5]), Tensor.zeros([4, 3, 3, 3]), stride: 2, padding: .same)
      },
      "conv2d: padding='same' is not supported for strided convolutions")
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.conv2d(Tensor.zeros([1, 1, 2, 2]), Tensor.zeros([3, 1, 3, 3]))
      },
      "conv2d: Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.conv1d(Tensor.zeros([1, 3, 5, 5]), Tensor.zeros([4, 3, 3]))
      },
      "conv1d: Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: [1, 3, 5, 5]"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.conv2d(
          Tensor.zeros([1, 3, 5, 5]), Tensor.zeros([4, 3, 3, 3]), bias: Tensor.zeros([3]))
      },
      "conv2d: Given weight of size [4, 3, 3, 3], expected bias to be 1-dimensional with 4 elements, but got bias of size [3] instead"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.convTranspose2d(
          Tensor.zeros([1, 3, 5, 5]), Tensor.zeros([3, 2, 3, 3]), outputPadding: 1)
      },
      "conv_transpose2d: output padding must be smaller than either stride or dilation, but got output_padding_height: 1 output_padding_width: 1 stride_height: 1 stride_width: 1 dilation_height: 1 dilation_width: 1"
    )
    expectStderr(
      await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        _ = Functional.convTranspose2d(Tensor.zeros([1, 3, 5, 5]), Tensor.zeros([4, 2, 3, 3]))
      },
      "conv_transpose2d: Given transposed=1, weight of size [4, 2, 3, 3], expected input[1, 3, 5, 5] to have 4 channels, but got 3 channels instead"
    )
  }
}

/// Expects the exit test's stderr to contain `message` (PyTorch's text, prefixed by the op).
func expectStderr(
  _ result: ExitTest.Result?, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  let stderr = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
  #expect(stderr.contains(message), "stderr: \(stderr)", sourceLocation: sourceLocation)
}
