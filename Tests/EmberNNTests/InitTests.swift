import EmberNN
import Foundation
import Testing

// torch.nn.init against PyTorch (Fixtures/layers.json, `init` and `gains`): after manualSeed each
// function fills its tensor with PyTorch's values for torch.manual_seed, bit for bit (orthogonal,
// whose QR is LAPACK's in PyTorch, to rounding), and leaves the generator where PyTorch leaves it.

private func initCases() -> [[String: Any]] { LayerFixtures.root["init"] as! [[String: Any]] }

private func run(_ c: [String: Any]) -> Tensor {
  let kw = c["kwargs"] as! [String: Any]
  func d(_ k: String) -> Double? { (kw[k] as? NSNumber)?.doubleValue }
  let mode = (kw["mode"] as? String).map { Init.FanMode(rawValue: $0)! } ?? .fanIn
  let nonlinearity =
    (kw["nonlinearity"] as? String).map { Init.Nonlinearity(rawValue: $0)! } ?? .leakyRelu
  let t = Tensor.empty(c["shape"] as! [Int], dtype: LayerFixtures.dtype(c["dtype"] as! String))
  switch c["fn"] as! String {
  case "uniform": Init.uniform(t, a: d("a") ?? 0, b: d("b") ?? 1)
  case "normal": Init.normal(t, mean: d("mean") ?? 0, std: d("std") ?? 1)
  case "constant": Init.constant(t, d("val")!)
  case "ones": Init.ones(t)
  case "zeros": Init.zeros(t)
  case "eye": Init.eye(t)
  case "xavier_uniform": Init.xavierUniform(t, gain: d("gain") ?? 1)
  case "xavier_normal": Init.xavierNormal(t, gain: d("gain") ?? 1)
  case "kaiming_uniform":
    Init.kaimingUniform(t, a: d("a") ?? 0, mode: mode, nonlinearity: nonlinearity)
  case "kaiming_normal":
    Init.kaimingNormal(t, a: d("a") ?? 0, mode: mode, nonlinearity: nonlinearity)
  case "trunc_normal":
    Init.truncNormal(t, mean: d("mean") ?? 0, std: d("std") ?? 1, a: d("a") ?? -2, b: d("b") ?? 2)
  case "orthogonal": Init.orthogonal(t, gain: d("gain") ?? 1)
  default: fatalError("no Init mapping for \(c["fn"]!)")
  }
  return t
}

@Suite struct InitTests {
  @Test func sameSeedSameValues() async {
    // the global generator is shared with suites running in parallel: a child process
    await #expect(processExitsWith: .success) {
      for c in initCases() {
        let id = c["id"] as! String
        manualSeed((c["seed"] as! NSNumber).uint64Value)
        let t = run(c)
        let expected = c["result"] as! [String: Any]
        if (c["fn"] as! String) == "orthogonal" {
          LayerFixtures.expectClose(t, LayerFixtures.tensor(expected), "\(id)")
        } else {
          LayerFixtures.expectBits(t, expected, "\(id)")
        }
        let next = Tensor.randint(high: 1 << 30, [1]).toArray()[0]
        #expect(
          next == (c["next_randint"] as! NSNumber).doubleValue, "\(id): generator left elsewhere")
      }
    }
  }

  @Test func orthogonalIsOrthogonal() {
    let g = Generator(seed: 3)
    let q = Init.orthogonal(Tensor.empty([5, 3], dtype: .float64), generator: g)
    let qtq = q.t().matmul(q)
    expectClose(qtq.toArray(), Tensor.eye(3, dtype: .float64).toArray(), rtol: 0, atol: 1e-12)
  }

  @Test func calculateGainIsPyTorchs() {
    let gains = LayerFixtures.root["gains"] as! [String: NSNumber]
    func gain(_ key: String) -> Double { gains[key]!.doubleValue }
    #expect(Init.calculateGain(.linear) == gain("linear/None"))
    #expect(Init.calculateGain(.conv2d) == gain("conv2d/None"))
    #expect(Init.calculateGain(.sigmoid) == gain("sigmoid/None"))
    #expect(Init.calculateGain(.tanh) == gain("tanh/None"))
    #expect(Init.calculateGain(.relu) == gain("relu/None"))
    #expect(Init.calculateGain(.leakyRelu) == gain("leaky_relu/None"))
    #expect(Init.calculateGain(.leakyRelu, param: 0.2) == gain("leaky_relu/0.2"))
    #expect(Init.calculateGain(.leakyRelu, param: 0) == gain("leaky_relu/0"))
    #expect(Init.calculateGain(.selu) == gain("selu/None"))
  }

  @Test func fansOfAConvWeight() {
    let (fanIn, fanOut) = Init.fans(Tensor.empty([8, 3, 5, 5]))
    #expect(fanIn == 75)
    #expect(fanOut == 200)
  }
}
