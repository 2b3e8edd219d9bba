import Foundation
import Testing

@testable import Ember

// MARK: - golden cases of Fixtures/lstm_layer.json (make_lstm_layer_fixtures.py)

private struct LSTMLayerCase: Decodable, Sendable, CustomTestStringConvertible {
  struct Values: Decodable, Sendable {
    let shape: [Int]
    let data: [Double]
  }

  let id: String
  let dtype: String
  let reverse: Bool
  let bias: Bool
  let tensors: [String: Values]
  let output: Values
  let h: Values
  let c: Values
  let grads: [String: Values]

  var testDescription: String { id }
  var type: DType { dtype == "float32" ? .float32 : .float64 }

  func tensor(_ name: String, requiresGrad: Bool = false) -> Tensor {
    let v = tensors[name]!
    let t = Tensor(shape: v.shape, scalars: v.data).to(type)
    if requiresGrad { try! t.setRequiresGrad() }
    return t
  }

  static let all: [LSTMLayerCase] = {
    let url = Bundle.module.url(
      forResource: "lstm_layer", withExtension: "json", subdirectory: "Fixtures")!
    struct File: Decodable { let cases: [LSTMLayerCase] }
    return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
  }()
}

/// The arguments of one layer: input, h0, c0, weight_ih, weight_hh and the biases (if any).
private func layer(
  _ xs: [Tensor], reverse: Bool, composed: Bool = false
) -> (output: Tensor, h: Tensor, c: Tensor) {
  let (bi, bh) = xs.count > 5 ? (xs[5], xs[6]) : (nil, nil)
  if composed {
    return Functional.lstmLayerComposed(
      xs[0], h0: xs[1], c0: xs[2], weightIH: xs[3], weightHH: xs[4], biasIH: bi, biasHH: bh,
      reverse: reverse)
  }
  return Functional.lstmLayer(
    xs[0], h0: xs[1], c0: xs[2], weightIH: xs[3], weightHH: xs[4], biasIH: bi, biasHH: bh,
    reverse: reverse)
}

/// Deterministic leaves for a layer of the given sizes, in `dtype`.
private func leaves(
  steps: Int, batch: Int, input: Int, hidden: Int, bias: Bool, dtype: DType, seed: Int
) -> [Tensor] {
  var shapes = [
    [steps, batch, input], [batch, hidden], [batch, hidden], [4 * hidden, input],
    [4 * hidden, hidden],
  ]
  if bias { shapes += [[4 * hidden], [4 * hidden]] }
  return shapes.enumerated().map { k, shape in
    let t = (leaf64(shape, seed: seed + k).detach() * 0.5).to(dtype)
    try! t.setRequiresGrad()
    return t
  }
}

@Suite(.isolatedGenerator) struct LSTMLayerTests {
  /// Output, final state and every gradient equal PyTorch's nn.LSTM (float32 through its mkldnn
  /// layer, float64 composed), forward and reverse, with and without biases.
  @Test(arguments: LSTMLayerCase.all)
  fileprivate func matchesPyTorch(_ c: LSTMLayerCase) throws {
    var names = ["input", "h0", "c0", "weight_ih", "weight_hh"]
    if c.bias { names += ["bias_ih", "bias_hh"] }
    let xs = names.map { c.tensor($0, requiresGrad: true) }
    let (out, h, cN) = layer(xs, reverse: c.reverse)
    let (rtol, atol) = c.type == .float32 ? (1e-4, 1e-5) : (1e-10, 1e-12)
    expectTensor(out, shape: c.output.shape, c.output.data, rtol: rtol, atol: atol)
    expectTensor(h, shape: c.h.shape, c.h.data, rtol: rtol, atol: atol)
    expectTensor(cN, shape: c.c.shape, c.c.data, rtol: rtol, atol: atol)
    #expect(out.gradFn?.name == "MkldnnRnnLayerBackward0")
    let loss =
      (out * c.tensor("w_out")).sum() + (h * c.tensor("w_h")).sum()
      + (cN * c.tensor("w_c")).sum()
    let gs = try grad(of: [loss], withRespectTo: xs)
    for (name, g) in zip(names, gs) {
      let expected = c.grads[name]!
      expectTensor(g, shape: expected.shape, expected.data, rtol: rtol, atol: atol)
    }
  }

  @Test func fixturesCoverBothDirectionsAndDTypes() {
    let cases = LSTMLayerCase.all
    #expect(cases.count == 4)
    #expect(cases.contains { $0.reverse } && cases.contains { !$0.reverse })
    #expect(cases.contains { !$0.bias })
    #expect(Set(cases.map(\.dtype)) == ["float32", "float64"])
  }

  /// The fused float32 forward agrees with the composed ops to a few ulp (same GEMMs, same
  /// sigmoid/tanh formulas; the fused cell evaluates their polynomials with FMAs, as the C
  /// kernels of large contiguous tensors do, while the composed ops on these small tensors take
  /// the Swift formulas, which round twice), and so do its gradients; also for a transposed
  /// (batch-first) input, no biases, and hidden sizes with vector tails. Hidden 96 with batch
  /// 128 takes the AVX-512 recurrent products (hidden a multiple of 32) and, with two or more
  /// threads, the steps split across threads by hidden units (`Kernel.splitsSteps`). Its sums
  /// are longer (96 terms; the weight gradients add 768 rows, with cancellation) and the paths
  /// add biases and products in different orders: both are about 2e-6 of the largest gradient
  /// away from the float64 result, so it is compared at 10x the forward tolerances and with an
  /// absolute tolerance of 2e-6 times the largest gradient.
  @Test(arguments: [
    (false, true, 19, 3), (true, true, 16, 3), (true, false, 5, 3), (false, true, 96, 128),
    (true, false, 96, 128),
  ])
  func fusedEqualsComposed(reverse: Bool, bias: Bool, hidden: Int, batch: Int) throws {
    let xs = leaves(
      steps: 6, batch: batch, input: 4, hidden: hidden, bias: bias, dtype: .float32, seed: 11)
    // a non-contiguous input, as batch-first layers pass
    let xT = xs[0].transpose(0, 1).contiguous().detach()
    try xT.setRequiresGrad()
    let args = [xT.transpose(0, 1)] + xs.dropFirst()
    let fused = layer(args, reverse: reverse)
    let composed = layer(args, reverse: reverse, composed: true)
    let large = batch > 3
    let scale = large ? 10.0 : 1
    for (a, b) in [(fused.output, composed.output), (fused.h, composed.h), (fused.c, composed.c)] {
      #expect(a.shape == b.shape)
      expectClose(a.toArray(), b.toArray(), rtol: 1e-6 * scale, atol: 1e-7 * scale)
    }
    let w = leaf64(fused.output.shape, seed: 40).detach().to(.float32)
    func gradients(_ r: (output: Tensor, h: Tensor, c: Tensor)) throws -> [Tensor?] {
      let loss = (r.output * w).sum() + r.h.sum() + (r.c * 0.5).sum()
      return try grad(of: [loss], withRespectTo: [xT] + xs.dropFirst())
    }
    for (a, b) in zip(try gradients(fused), try gradients(composed)) {
      let expected = b!.toArray()
      let atol = large ? 2e-6 * expected.map(abs).max()! : 1e-6
      expectClose(a!.toArray(), expected, rtol: 1e-5, atol: atol)
    }
  }

  /// Steps split across threads by hidden units (`Kernel.splitsSteps`: each thread runs the
  /// recurrent product and the cell for its units) give the plain loop's bits, forward and
  /// backward, in both directions. Batch 128 and hidden 96 are large enough for two threads to
  /// share every step. (Without AVX-512 both runs take the plain loop.)
  @Test(arguments: [false, true])
  func splitStepsEqualThePlainLoop(reverse: Bool) {
    let (steps, batch, hidden) = (5, 128, 96)
    let s = Kernel.LSTMShape(steps: steps, batch: batch, hidden: hidden, reverse: reverse)
    func values(_ n: Int, seed: Int) -> [Float] {
      leaf64([n], seed: seed).detach().toArray().map { Float($0 * 0.5) }
    }
    let gates0 = values(steps * batch * 4 * hidden, seed: 1)
    let whh = values(4 * hidden * hidden, seed: 3)
    let (h0, c0) = (values(batch * hidden, seed: 4), values(batch * hidden, seed: 5))
    let dout = values(steps * batch * hidden, seed: 6)
    let (dhN, dcN) = (values(batch * hidden, seed: 7), values(batch * hidden, seed: 8))
    func run(split: Bool) -> [[Float]] {
      var gates = gates0
      var output = [Float](repeating: 0, count: steps * batch * hidden)
      var cells = output
      var (dh, dc) = (dhN, dcN)
      var dgates = gates0.map { _ in Float.nan }
      gates.withUnsafeMutableBufferPointer { g in
        output.withUnsafeMutableBufferPointer { o in
          cells.withUnsafeMutableBufferPointer { c in
            Kernel.lstmForward(
              s, gates: g.baseAddress!, weightHH: whh, h0: h0, c0: c0, output: o.baseAddress!,
              cells: c.baseAddress!, splitSteps: split)
            Kernel.lstmBackward(
              s, gates: UnsafePointer(g.baseAddress!), cells: UnsafePointer(c.baseAddress!),
              c0: c0, weightHH: whh, dout: dout, dh: &dh, dc: &dc, dgates: &dgates,
              needsInitialH: true, splitSteps: split)
          }
        }
      }
      return [gates, output, cells, dh, dc, dgates]
    }
    let (split, plain) = (run(split: true), run(split: false))
    for (k, (a, b)) in zip(split, plain).enumerated() {
      let same = a.elementsEqual(b) { $0.bitPattern == $1.bitPattern }
      #expect(same, "buffer \(k) (gates, output, cells, dh, dc, dgates) differs")
    }
    #expect(split[5].allSatisfy { $0.isFinite })
  }

  @Test func gradcheckFloat64() throws {
    for reverse in [false, true] {
      let xs = leaves(
        steps: 3, batch: 2, input: 3, hidden: 4, bias: true, dtype: .float64, seed: 21)
      try gradcheck(
        { xs in
          let r = layer(xs, reverse: reverse)
          return [r.output, r.h, r.c]
        }, inputs: xs)
    }
  }

  @Test func gradgradcheckFloat64() throws {
    let xs = leaves(steps: 3, batch: 2, input: 2, hidden: 3, bias: true, dtype: .float64, seed: 31)
    try gradgradcheck(
      { xs in
        let r = layer(xs, reverse: true)
        return r.output.sum(dim: 0) + r.c * r.h
      }, inputs: xs)
  }

  /// With createGraph the gradients go through the composed ops: they have history, and the
  /// second derivatives equal those of the composed layer.
  @Test func doubleBackwardEqualsComposed() throws {
    let xs = leaves(steps: 4, batch: 2, input: 3, hidden: 5, bias: true, dtype: .float64, seed: 51)
    func secondOrder(composed: Bool) throws -> [Double] {
      let r = layer(xs, reverse: false, composed: composed)
      let loss = (r.output * r.output).sum() + r.h.sum() + r.c.sum()
      let gs = try grad(of: [loss], withRespectTo: xs, createGraph: true)
      #expect(gs.allSatisfy { $0!.requiresGrad })
      let gsum = gs.map { ($0! * $0!).sum() }.reduce(Tensor(0.0), +)
      let hs = try grad(of: [gsum], withRespectTo: xs)
      return gs.flatMap { $0!.toArray() } + hs.flatMap { $0!.toArray() }
    }
    expectClose(
      try secondOrder(composed: false), try secondOrder(composed: true), rtol: 1e-10, atol: 1e-12)
  }

  @Test func noHistoryWithoutGrad() {
    let xs = leaves(steps: 2, batch: 1, input: 2, hidden: 3, bias: false, dtype: .float32, seed: 61)
    let r = withNoGrad { layer(xs, reverse: false) }
    #expect(!r.output.requiresGrad && r.output.gradFn == nil)
    let composed = layer(xs.map { $0.detach() }, reverse: false, composed: true)
    // a few ulp apart, as in fusedEqualsComposed
    expectClose(r.output.toArray(), composed.output.toArray(), rtol: 1e-6, atol: 1e-7)
  }
}
