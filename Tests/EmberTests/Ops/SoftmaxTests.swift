import Ember
import Testing

/// The 2x3x4 input of the softmax golden values.
private let softmaxInput: [[[Double]]] = [
  [[0.5, -1.25, 2.0, 0.75], [1.5, -0.5, 3.25, -2.0], [0.25, 1.0, -1.5, 2.5]],
  [[-0.75, 2.25, 1.25, -1.0], [3.0, 0.0, -0.25, 1.75], [-2.5, 0.625, 1.125, -0.375]],
]

/// PyTorch's softmax / log_softmax of `softmaxInput` (float64) along dims 0, 1 and -1.
private let softmaxGolden: [Int: [Double]] = [
  0: [
    0.77729986117469108, 0.029312230751356316, 0.67917869917539297, 0.85195280196831058,
    0.18242552380635632, 0.37754066879814546, 0.97068776924864364, 0.022977369910025611,
    0.93991334982599239, 0.59266659995406967, 0.067546691139629106, 0.94659667020017568,
    0.22270013882530884, 0.97068776924864364, 0.32082130082460697, 0.1480471980316895,
    0.81757447619364365, 0.62245933120185459, 0.029312230751356316, 0.97702263008997436,
    0.060086650174007619, 0.40733340004593022, 0.93245330886037092, 0.053403329799824234,
  ],
  1: [
    0.22236638425009483, 0.079335260307281968, 0.22121249332870963, 0.14665916571649201,
    0.6044545015671744, 0.16795274738848678, 0.77210746819243625, 0.0093756067906154254,
    0.17317911418273074, 0.75271199230423125, 0.0066800384788541179, 0.84396522749289271,
    0.022885989172106564, 0.7678657993107757, 0.47491790816082952, 0.054022289410368803,
    0.97313702223969223, 0.080932459814931898, 0.10596850890528317, 0.84505078678747603,
    0.0039769885882011457, 0.15120174087429233, 0.4191135829338874, 0.10092692380215508,
  ],
  -1: [
    0.14410284129998482, 0.025041318995112031, 0.64582412885880269, 0.18503171084610048,
    0.14450584424768501, 0.019556739360606291, 0.83157371800619551, 0.0043636983855131831,
    0.078256386380830503, 0.16566877126826607, 0.013598920861578623, 0.74247592148932484,
    0.034184067895144332, 0.68660535789267563, 0.25258799536687565, 0.026622578845304477,
    0.72723778121789839, 0.036207037133189186, 0.028198068872023172, 0.20835711277688934,
    0.014355952683046163, 0.32673997703376423, 0.53870315012363845, 0.12020092015955108,
  ],
]

private let logSoftmaxGolden: [Int: [Double]] = [
  0: [
    -0.25192908134537295, -3.5297504182726205, -0.3868710061149, -0.16022415043808716,
    -1.7014132779827524, -0.97407698418010669, -0.029750418272620652, -3.7732454643724251,
    -0.061967589003198625, -0.52312326413984012, -2.6949361996449732, -0.054882179158078234,
    -1.501929081345373, -0.029750418272620652, -1.1368710061148999, -1.9102241504380872,
    -0.20141327798275246, -0.47407698418010669, -3.5297504182726205, -0.023245464372425105,
    -2.8119675890031988, -0.89812326413984012, -0.069936199644973329, -2.9298821791580782,
  ],
  1: [
    -1.503428877984625, -2.5340726046861715, -1.5086315311426706, -1.9196439848878797,
    -0.50342887798462499, -1.7840726046861715, -0.25863153114267046, -4.6696439848878795,
    -1.753428877984625, -0.28407260468617146, -5.0086315311426706, -0.16964398488787971,
    -3.7772303822097459, -0.26414030158412216, -0.74461331480801352, -2.9183585507239864,
    -0.027230382209745909, -2.5141403015841224, -2.2446133148080136, -0.16835855072398626,
    -5.5272303822097459, -1.8891403015841222, -0.86961331480801352, -2.2933585507239864,
  ],
  -1: [
    -1.9372280586139026, -3.6872280586139023, -0.43722805861390257, -1.6872280586139026,
    -1.9344353276268542, -3.9344353276268542, -0.18443532762685422, -5.4344353276268542,
    -2.547764837801719, -1.797764837801719, -4.2977648378017195, -0.29776483780171914,
    -3.3759955944750462, -0.37599559447504616, -1.3759955944750462, -3.6259955944750462,
    -0.31850178309840221, -3.318501783098402, -3.568501783098402, -1.5685017830984023,
    -4.2435906016728016, -1.1185906016728011, -0.61859060167280122, -2.1185906016728011,
  ],
]

@Suite struct SoftmaxTests {
  @Test(arguments: [0, 1, -1])
  func goldenValues(dim: Int) {
    for dtype in [DType.float32, .float64] {
      let (rtol, atol) = dtype == .float32 ? (2e-6, 1e-7) : (1e-12, 1e-15)
      let x = Tensor(softmaxInput, dtype: dtype)
      let strided = x.permute(2, 0, 1).contiguous().permute(1, 2, 0)
      for input in [x, strided] {
        let s = input.softmax(dim: dim)
        #expect(s.dtype == dtype)
        expectTensor(s, shape: [2, 3, 4], softmaxGolden[dim]!, rtol: rtol, atol: atol)
        let l = input.logSoftmax(dim: dim)
        expectTensor(l, shape: [2, 3, 4], logSoftmaxGolden[dim]!, rtol: rtol, atol: atol)
      }
    }
  }

  @Test func gradientsAgainstPyTorch() throws {
    let g = Tensor.linspace(-1, 1, steps: 24, dtype: .float64).reshape([2, 3, 4])
    var x = try Tensor(softmaxInput, dtype: .float64, requiresGrad: true)
    let s = x.softmax(dim: 1)
    #expect(s.gradFn?.name == "SoftmaxBackward0")
    try s.backward(gradient: g)
    expectTensor(
      x.grad, shape: [2, 3, 4],
      [
        -0.07354044829707207, -0.046176618652218011, -0.060436603162241483, -0.086582779473277055,
        0.010341379760702072, -0.039337555536128138, 0.057614647151036542, -0.002273971286235868,
        0.063199068536369932, 0.085514174188346156, 0.0028219560112049341, 0.088856750759512951,
        -0.0078098219093871114, -0.10238280319068464, -0.15597058600268648,
        -0.019671716571885014, 0.006400364703217515, 0.017359352740425573, 0.0020568699599180945,
        -0.013786712416263582, 0.001409457206169609, 0.085023450450259122, 0.15391371604276832,
        0.033458428988148638,
      ], rtol: 1e-10, atol: 1e-14)
    x = try Tensor(softmaxInput, dtype: .float64, requiresGrad: true)
    let l = x.logSoftmax(dim: -1)
    #expect(l.gradFn?.name == "LogSoftmaxBackward0")
    try l.backward(gradient: g)
    expectTensor(
      x.grad, shape: [2, 3, 4],
      [
        -0.49877272591309624, -0.82594323827787119, 1.4202578395088792, -0.095541875317911251,
        -0.35059649896135298, -0.52440332655177824, 1.2571973245346688, -0.38219749902153771,
        -0.2499086007785527, -0.10214346346555403, -0.12097466374846708, 0.47302672799257395,
        0.019698039725117009, -0.34720372722968745, 0.041677916266521287, 0.28582777123804909,
        -1.1264092825417014, 0.40269835728725734, 0.50636924757142998, 0.21734167768301349,
        0.68919668631983944, -0.31039992011744094, -0.96070660912569883, 0.5819098429233005,
      ], rtol: 1e-10, atol: 1e-14)
  }

  @Test func stableForLargeAndTinyInputs() {
    let b = Tensor([[0.0, -200, 100], [1000, 1001, 999]], dtype: .float32)
    // e^-100 is a float32 subnormal; PyTorch keeps it, and so do we
    expectTensor(
      b.softmax(dim: 1), shape: [2, 3],
      [
        3.7835058536770061e-44, 0, 1, 0.24472847580909729, 0.66524094343185425,
        0.090030573308467865,
      ],
      rtol: 1e-5, atol: 2e-45)
    let l = b.logSoftmax(dim: 1)
    expectTensor(
      l, shape: [2, 3],
      [-100, -300, 0, -1.4076058864593506, -0.40760594606399536, -2.4076058864593506],
      rtol: 1e-6)
    #expect(!l.isInfinite().any().item(as: Bool.self))
    // PyTorch's special values: NaN or +inf in a row make the row NaN; a -inf entry gets 0
    #expect(Tensor([1.0, .nan, 2]).softmax(dim: 0).toArray().allSatisfy { $0.isNaN })
    #expect(Tensor([1.0, .infinity]).softmax(dim: 0).toArray().allSatisfy { $0.isNaN })
    expectTensor(Tensor([-Double.infinity, 0]).softmax(dim: 0), shape: [2], [0, 1])
    expectTensor(Tensor(3.0).softmax(dim: 0), shape: [], [1])
  }

  /// The vectorized float32 kernel against the float64 path over a wide range of inputs, for
  /// the last dim (contiguous rows, with a ragged tail) and the other dims. Tiny probabilities
  /// carry the rounding of `x - max` in float32 (up to 4e-6 relative for |x - max| near 100).
  @Test func float32KernelMatchesFloat64() {
    let n = 2 * 37 * 45
    let values = (0..<n).map { i in Double((i * 7919) % 2001) / 10 - 100 }  // -100 ... 100
    // the float64 reference reads the same (float32-rounded) inputs
    let x32 = Tensor(shape: [2, 37, 45], scalars: values).to(.float32)
    let x64 = x32.to(.float64)
    for dim in [2, 1, 0] {
      let s32 = x32.softmax(dim: dim).toArray()
      let s64 = x64.softmax(dim: dim).toArray()
      for (a, b) in zip(s32, s64) {
        #expect(Swift.abs(a - b) <= 1e-5 * b + 1e-44, "softmax dim \(dim): \(a) vs \(b)")
      }
      let l32 = x32.logSoftmax(dim: dim).toArray()
      let l64 = x64.logSoftmax(dim: dim).toArray()
      for (a, b) in zip(l32, l64) {
        #expect(Swift.abs(a - b) <= 2e-6 * Swift.abs(b) + 2e-5, "logSoftmax dim \(dim)")
      }
      let sums = x32.softmax(dim: dim).sum(dim: dim).toArray()
      #expect(sums.allSatisfy { Swift.abs($0 - 1) < 1e-5 })
      expectClose(
        x32.logsumexp(dim: dim).toArray(), x64.logsumexp(dim: dim).toArray(), rtol: 1e-6,
        atol: 1e-5)
    }
  }

  @Test func gradcheckAndGradgradcheck() throws {
    for dim in [0, 1, -1] {
      let x = leaf64([2, 3, 4], seed: 17)
      #expect(try gradcheck({ $0[0].softmax(dim: dim) }, inputs: [x]))
      #expect(try gradcheck({ $0[0].logSoftmax(dim: dim) }, inputs: [x]))
      let t = leaf64([4, 3], seed: 19)
      #expect(try gradcheck({ $0[0].t().softmax(dim: dim == 0 ? 0 : 1) }, inputs: [t]))
      let y = leaf64([3, 4], seed: 23)
      let d = dim == 0 ? 0 : 1
      #expect(try gradgradcheck({ $0[0].softmax(dim: d) }, inputs: [y]))
      #expect(try gradgradcheck({ $0[0].logSoftmax(dim: d) }, inputs: [y]))
    }
  }

  @Test func integerInputStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor([1, 2, 3]).softmax(dim: 0)
    }
    #expect(
      stderrText(result).contains(
        "softmax: not implemented for 'Long' (shape [3]); convert to a floating-point dtype first"))
  }
}
