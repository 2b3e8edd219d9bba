/// Elementwise float math (exp, log, trig, sigmoid, ...) and the golden table of all unary ops.
import Ember
import Testing

private let unaryGolden: [UnaryGoldenCase] = [
  UnaryGoldenCase(
    "exp", { $0.exp() }, node: "ExpBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      0.08208499848842621, 0.3011941909790039, 0.740818202495575, 1.0, 1.491824746131897,
      4.481688976287842, 12.182494163513184,
    ],
    grad32: [
      0.041042499244213104, 0.20079612731933594, 0.6173485517501831, 1.0, 1.7404621839523315,
      5.975585460662842, 18.273740768432617,
    ],
    out64: [
      0.0820849986238988, 0.30119421191220214, 0.7408182206817179, 1.0, 1.4918246976412703,
      4.4816890703380645, 12.182493960703473,
    ],
    grad64: [
      0.0410424993119494, 0.20079614127480142, 0.6173485172347648, 1.0, 1.7404621472481487,
      5.975585427117419, 18.27374094105521,
    ]),
  UnaryGoldenCase(
    "log", { $0.log() }, node: "LogBackward0",
    input: [0.1, 0.5, 1.0, 2.0, 3.7],
    out32: [-2.3025851249694824, -0.6931471824645996, 0.0, 0.6931471824645996, 1.3083328008651733],
    grad32: [5.0, 1.5, 1.0, 0.625, 0.4054054021835327],
    out64: [-2.3025850929940455, -0.6931471805599453, 0.0, 0.6931471805599453, 1.308332819650179],
    grad64: [5.0, 1.5, 1.0, 0.625, 0.4054054054054054]),
  UnaryGoldenCase(
    "log1p", { $0.log1p() }, node: "Log1PBackward0",
    input: [-0.5, -0.1, 0.0, 1e-05, 2.0],
    out32: [
      -0.6931471824645996, -0.10536051541566849, 0.0, 9.999949725170154e-06, 1.0986123085021973,
    ],
    grad32: [1.0, 0.8333333730697632, 1.0, 1.2499874830245972, 0.5],
    out64: [
      -0.6931471805599453, -0.10536051565782631, 0.0, 9.999950000333332e-06, 1.0986122886681098,
    ],
    grad64: [1.0, 0.8333333333333333, 1.0, 1.2499875001249987, 0.5]),
  UnaryGoldenCase(
    "expm1", { $0.expm1() }, node: "Expm1Backward0",
    input: [-2.0, -1e-05, 0.0, 0.0001, 1.5],
    out32: [
      -0.8646647334098816, -9.999949725170154e-06, 0.0, 0.00010000499605666846, 3.481688976287842,
    ],
    grad32: [0.0676676332950592, 0.7499924898147583, 1.0, 1.2501250505447388, 6.722533226013184],
    out64: [
      -0.8646647167633873, -9.999950000166666e-06, 0.0, 0.00010000500016667084, 3.481689070338065,
    ],
    grad64: [0.06766764161830635, 0.7499925000374998, 1.0, 1.2501250062502085, 6.722533605507098]),
  UnaryGoldenCase(
    "sqrt", { $0.sqrt() }, node: "SqrtBackward0",
    input: [0.1, 0.5, 1.0, 2.0, 3.7],
    out32: [0.3162277638912201, 0.7071067690849304, 1.0, 1.4142135381698608, 1.9235384464263916],
    grad32: [0.7905694246292114, 0.5303301215171814, 0.5, 0.4419417381286621, 0.3899064362049103],
    out64: [0.31622776601683794, 0.7071067811865476, 1.0, 1.4142135623730951, 1.9235384061671346],
    grad64: [0.7905694150420948, 0.5303300858899106, 0.5, 0.44194173824159216, 0.38990643368252725]),
  UnaryGoldenCase(
    "rsqrt", { $0.rsqrt() }, node: "RsqrtBackward0",
    input: [0.1, 0.5, 1.0, 2.0, 3.7],
    out32: [3.1622776985168457, 1.4142135381698608, 1.0, 0.7071067690849304, 0.5198752284049988],
    grad32: [
      -7.905694007873535, -1.0606601238250732, -0.5, -0.22097083926200867, -0.105380117893219,
    ],
    out64: [3.162277660168379, 1.414213562373095, 1.0, 0.7071067811865475, 0.5198752449100363],
    grad64: [
      -7.905694150420946, -1.060660171779821, -0.5, -0.22097086912079605, -0.10538011721149387,
    ]),
  UnaryGoldenCase(
    "reciprocal", { $0.reciprocal() }, node: "ReciprocalBackward0",
    input: [-2.0, -0.5, 0.25, 1.0, 3.0],
    out32: [-0.5, -2.0, 4.0, 1.0, 0.3333333432674408],
    grad32: [-0.125, -3.0, -16.0, -1.25, -0.1666666865348816],
    out64: [-0.5, -2.0, 4.0, 1.0, 0.3333333333333333],
    grad64: [-0.125, -3.0, -16.0, -1.25, -0.16666666666666666]),
  UnaryGoldenCase(
    "abs", { $0.abs() }, node: "AbsBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [2.5, 1.2000000476837158, 0.30000001192092896, 0.0, 0.4000000059604645, 1.5, 2.5],
    grad32: [
      -0.5, -0.6666666865348816, -0.8333333730697632, 0.0, 1.1666666269302368, 1.3333333730697632,
      1.5,
    ],
    out64: [2.5, 1.2, 0.3, 0.0, 0.4, 1.5, 2.5],
    grad64: [
      -0.5, -0.6666666666666666, -0.8333333333333333, 0.0, 1.1666666666666667, 1.3333333333333333,
      1.5,
    ]),
  UnaryGoldenCase(
    "sign", { $0.sign() }, node: "SignBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [-1.0, -1.0, -1.0, 0.0, 1.0, 1.0, 1.0],
    grad32: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    out64: [-1.0, -1.0, -1.0, 0.0, 1.0, 1.0, 1.0],
    grad64: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
  UnaryGoldenCase(
    "square", { $0.square() }, node: "PowBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [6.25, 1.440000057220459, 0.09000000357627869, 0.0, 0.1600000113248825, 2.25, 6.25],
    grad32: [-2.5, -1.6000001430511475, -0.5000000596046448, 0.0, 0.9333333373069763, 4.0, 7.5],
    out64: [6.25, 1.44, 0.09, 0.0, 0.16000000000000003, 2.25, 6.25],
    grad64: [-2.5, -1.5999999999999999, -0.49999999999999994, 0.0, 0.9333333333333335, 4.0, 7.5]),
  UnaryGoldenCase(
    "sin", { $0.sin() }, node: "SinBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.5984721183776855, -0.9320390820503235, -0.29552021622657776, 0.0, 0.389418363571167,
      0.9974949955940247, 0.5984721183776855,
    ],
    grad32: [
      -0.4005717933177948, 0.2415718138217926, 0.7961137890815735, 1.0, 1.074571132659912,
      0.094316266477108, -1.201715350151062,
    ],
    out64: [
      -0.5984721441039565, -0.9320390859672263, -0.29552020666133955, 0.0, 0.3894183423086505,
      0.9974949866040544, 0.5984721441039565,
    ],
    grad64: [
      -0.40057180777346685, 0.2415718363177824, 0.7961137409380049, 1.0, 1.0745711596700327,
      0.09431626889027053, -1.2017154233204006,
    ]),
  UnaryGoldenCase(
    "cos", { $0.cos() }, node: "CosBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.8011435866355896, 0.3623577058315277, 0.9553365111351013, 1.0, 0.9210609793663025,
      0.07073719799518585, -0.8011435866355896,
    ],
    grad32: [
      0.2992360591888428, 0.6213594079017639, 0.24626685678958893, -0.0, -0.45432141423225403,
      -1.3299933671951294, -0.8977081775665283,
    ],
    out64: [
      -0.8011436155469337, 0.3623577544766736, 0.955336489125606, 1.0, 0.9210609940028851,
      0.0707372016677029, -0.8011436155469337,
    ],
    grad64: [
      0.2992360720519783, 0.6213593906448175, 0.2462668388844496, -0.0, -0.4543213993600923,
      -1.3299933154720724, -0.8977082161559349,
    ]),
  UnaryGoldenCase(
    "tan", { $0.tan() }, node: "TanBackward0",
    input: [-1.2, -0.5, 0.0, 0.3, 1.1],
    out32: [
      -2.5721518993377686, -0.5463024973869324, 0.0, 0.30933627486228943, 1.9647597074508667,
    ],
    grad32: [3.8079826831817627, 0.9738348126411438, 1.0, 1.369611144065857, 7.290421485900879],
    out64: [
      -2.5721516221263188, -0.5463024898437905, 0.0, 0.30933624960962325, 1.9647596572486523,
    ],
    grad64: [3.8079819836035265, 0.9738348078071436, 1.0, 1.369611144153184, 7.290420766127763]),
  UnaryGoldenCase(
    "tanh", { $0.tanh() }, node: "TanhBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.9866142868995667, -0.8336546421051025, -0.29131263494491577, 0.0, 0.3799489736557007,
      0.9051482677459717, 0.9866142868995667,
    ],
    grad32: [
      0.013296124525368214, 0.2033466398715973, 0.7626141309738159, 1.0, 0.9982452392578125,
      0.24094216525554657, 0.039888374507427216,
    ],
    out64: [
      -0.9866142981514303, -0.8336546070121552, -0.2913126124515909, 0.0, 0.3799489622552249,
      0.9051482536448664, 0.9866142981514303,
    ],
    grad64: [
      0.013296113341580285, 0.20334666413827268, 0.7626141348555242, 1.0, 0.9982452504280407,
      0.24094218523153146, 0.039888340024740856,
    ]),
  UnaryGoldenCase(
    "sigmoid", { $0.sigmoid() }, node: "SigmoidBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      0.07585817575454712, 0.23147521913051605, 0.4255574941635132, 0.5, 0.5986876487731934,
      0.8175744414329529, 0.9241418242454529,
    ],
    grad32: [
      0.0350518561899662, 0.11859629303216934, 0.2037152647972107, 0.25, 0.2803041934967041,
      0.1988619714975357, 0.1051555722951889,
    ],
    out64: [
      0.07585818002124355, 0.23147521650098238, 0.425557483188341, 0.5, 0.598687660112452,
      0.8175744761936437, 0.9241418199787566,
    ],
    grad64: [
      0.035051858272554075, 0.11859629376453715, 0.20371525974228819, 0.25, 0.28030420336511735,
      0.19886193609377714, 0.1051555748176621,
    ]),
  UnaryGoldenCase(
    "floor", { $0.floor() }, node: "FloorBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [-3.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0],
    grad32: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    out64: [-3.0, -2.0, -1.0, 0.0, 0.0, 1.0, 2.0],
    grad64: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
  UnaryGoldenCase(
    "ceil", { $0.ceil() }, node: "CeilBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [-2.0, -1.0, -0.0, 0.0, 1.0, 2.0, 3.0],
    grad32: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    out64: [-2.0, -1.0, -0.0, 0.0, 1.0, 2.0, 3.0],
    grad64: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
  UnaryGoldenCase(
    "round", { $0.round() }, node: "RoundBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [-2.0, -1.0, -0.0, 0.0, 0.0, 2.0, 2.0],
    grad32: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    out64: [-2.0, -1.0, -0.0, 0.0, 0.0, 2.0, 2.0],
    grad64: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
  UnaryGoldenCase(
    "clamp(min:-1, max:1)", { $0.clamp(min: -1, max: 1) }, node: "ClampBackward1",
    input: [-2.5, -1.0, -0.3, 0.0, 1.0, 1.5],
    out32: [-1.0, -1.0, -0.30000001192092896, 0.0, 1.0, 1.0],
    grad32: [0.0, 0.0, 0.8999999761581421, 1.100000023841858, 0.0, 0.0],
    out64: [-1.0, -1.0, -0.3, 0.0, 1.0, 1.0],
    grad64: [0.0, 0.0, 0.9, 1.1, 0.0, 0.0]),
  UnaryGoldenCase(
    "clamp(min:0.5)", { $0.clamp(min: 0.5) }, node: "ClampBackward1",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [0.5, 0.5, 0.5, 0.5, 0.5, 1.5, 2.5],
    grad32: [0.0, 0.0, 0.0, 0.0, 0.0, 1.3333333730697632, 1.5],
    out64: [0.5, 0.5, 0.5, 0.5, 0.5, 1.5, 2.5],
    grad64: [0.0, 0.0, 0.0, 0.0, 0.0, 1.3333333333333333, 1.5]),
  UnaryGoldenCase(
    "clamp(max:-0.3)", { $0.clamp(max: -0.3) }, node: "ClampBackward1",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -2.5, -1.2000000476837158, -0.30000001192092896, -0.30000001192092896, -0.30000001192092896,
      -0.30000001192092896, -0.30000001192092896,
    ],
    grad32: [0.5, 0.6666666865348816, 0.0, 0.0, 0.0, 0.0, 0.0],
    out64: [-2.5, -1.2, -0.3, -0.3, -0.3, -0.3, -0.3],
    grad64: [0.5, 0.6666666666666666, 0.0, 0.0, 0.0, 0.0, 0.0]),
  UnaryGoldenCase(
    "clamp(min:1, max:-1)", { $0.clamp(min: 1, max: -1) }, node: "ClampBackward1",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0],
    grad32: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    out64: [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0],
    grad64: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
]

@Suite struct UnaryMathTests {
  @Test(arguments: unaryGolden)
  func goldenForwardAndGradient(_ c: UnaryGoldenCase) throws {
    try c.check()
  }

  // MARK: finite differences

  /// (name, op, values in its smooth domain) for every differentiable op.
  static let smoothOps: [(String, @Sendable (Tensor) -> Tensor, [Double])] = [
    ("exp", { $0.exp() }, [-1.5, -0.4, 0.3, 0.9, 1.7, 2.2]),
    ("log", { $0.log() }, [0.2, 0.7, 1.1, 1.9, 2.6, 3.3]),
    ("sqrt", { $0.sqrt() }, [0.2, 0.7, 1.1, 1.9, 2.6, 3.3]),
    ("rsqrt", { $0.rsqrt() }, [0.2, 0.7, 1.1, 1.9, 2.6, 3.3]),
    ("reciprocal", { $0.reciprocal() }, [-1.7, -0.6, 0.4, 0.9, 1.6, 2.8]),
    ("square", { $0.square() }, [-1.5, -0.4, 0.3, 0.9, 1.7, 2.2]),
    ("sin", { $0.sin() }, [-1.5, -0.4, 0.3, 0.9, 1.7, 2.2]),
    ("cos", { $0.cos() }, [-1.5, -0.4, 0.3, 0.9, 1.7, 2.2]),
    ("tanh", { $0.tanh() }, [-1.5, -0.4, 0.3, 0.9, 1.7, 2.2]),
    ("sigmoid", { $0.sigmoid() }, [-1.5, -0.4, 0.3, 0.9, 1.7, 2.2]),
    ("log1p", { $0.log1p() }, [-0.6, -0.2, 0.3, 0.9, 1.7, 2.2]),
    ("expm1", { $0.expm1() }, [-1.5, -0.4, 0.3, 0.9, 1.7, 2.2]),
    ("tan", { $0.tan() }, [-1.1, -0.4, 0.3, 0.6, 0.9, 1.2]),
  ]

  @Test func gradcheckSmoothOps() throws {
    for (name, op, values) in Self.smoothOps {
      let x = unaryLeaf(values, [2, 3])
      #expect(try gradcheck({ op($0[0]) }, inputs: [x]), "\(name)")
      // through a non-contiguous view as well
      #expect(try gradcheck({ op($0[0].t()) }, inputs: [x]), "\(name) transposed")
    }
  }

  @Test func gradgradcheckSmoothOps() throws {
    for (name, op, values) in Self.smoothOps {
      let x = unaryLeaf(values, [2, 3])
      #expect(try gradgradcheck({ op($0[0]) }, inputs: [x]), "\(name)")
    }
  }

  @Test func secondDerivativesMatchPyTorch() throws {
    let cases: [(@Sendable (Tensor) -> Tensor, [Double], [Double])] = [
      (
        { $0.tanh() }, [-1.3, -0.2, 0.7, 1.9],
        [0.4436722951502281, 0.3793723330256684, -0.7672323100919166, -0.1637268316079244]
      ),
      (
        { $0.sigmoid() }, [-1.3, -0.2, 0.7, 1.9],
        [0.09621111916486842, 0.02466948043863311, -0.07457878844034183, -0.08372883754077419]
      ),
      (
        { $0.rsqrt() }, [0.3, 0.8, 1.7, 2.9],
        [15.214515486254616, 1.3101960805662836, 0.1990393569673106, 0.052368033844949785]
      ),
    ]
    for (op, values, expected) in cases {
      try expectSecondDerivative(op, at: values, expected)
    }
  }

  @Test func boolInputs() {
    let b = Tensor([true, false])
    #expect(b.sign().dtype == .bool)
    #expect(b.sign().scalars(as: Bool.self) == [true, false])
    #expect(b.square().dtype == .int64)
    #expect(b.square().scalars(as: Int64.self) == [1, 0])
    // float functions promote to float32
    #expect(b.sqrt().dtype == .float32)
    expectTensor(b.sigmoid(), shape: [2], [0.7310585786300049, 0.5])
  }

  @Test func floatFunctionsPromoteIntegers() {
    let x = Tensor([1, 4, 9])
    let y = x.sqrt()
    #expect(y.dtype == .float32)
    #expect(y.toArray() == [1, 2, 3])
    expectTensor(x.log(), shape: [3], [0, 1.3862943611198906, 2.1972245773362196])
    expectTensor(x.reciprocal(), shape: [3], [1, 0.25, 1.0 / 9])
  }

  @Test func sigmoidIsStableForLargeInputs() throws {
    for dtype in [DType.float32, .float64] {
      let x = try Tensor([-1000.0, -100, -20, 0, 20, 100, 1000], dtype: dtype, requiresGrad: true)
      let y = x.sigmoid()
      let expected: [Double] =
        dtype == .float64
        ? [0, 3.7200759760208356e-44, 2.0611536181902037e-09, 0.5, 0.9999999979388463, 1, 1]
        : [0, 0, 2.06115369216775e-09, 0.5, 1, 1, 1]
      expectTensor(y, shape: [7], expected, rtol: 1e-6, atol: dtype == .float32 ? 1e-40 : 1e-300)
      try y.sum().backward()
      // PyTorch 2.15's gradients (float32 rounds sigmoid(20) to 1, so its gradient is 0 there)
      let grads: [Double] =
        dtype == .float64
        ? [0, 3.7200759760208356e-44, 2.0611536139418496e-09, 0.25, 2.0611536879193953e-09, 0, 0]
        : [0, 0, 2.06115369216775e-09, 0.25, 0, 0, 0]
      expectTensor(
        x.grad, shape: [7], grads, rtol: 1e-6, atol: dtype == .float32 ? 1e-40 : 1e-300)
      #expect(x.grad!.toArray()[3] == 0.25)
    }
    let t = Tensor([-1000.0, 1000]).tanh().toArray()
    #expect(t == [-1, 1])
  }

  /// The float32 kernels of exp, sigmoid, tanh and erf use branch-free approximations: compare them
  /// on a dense grid with the float64 results rounded to float32.
  @Test func float32FastKernelsAreAccurate() {
    var grid: [Double] = (0...20_000).map { -105 + 210 * Double($0) / 20_000 }
    grid += (0...20_000).map { -1 + 2 * Double($0) / 20_000 }
    grid += [0, -0.0, 1e-30, -1e-30, 88.7, 88.8, -87.3, -103.9, -104.1, .infinity, -.infinity]
    // (name, op, absolute slack): silu underflows in float32 below the smallest subnormal, and
    // gelu-tanh's 1 + tanh(u) cancels for negative x in any float32 evaluation
    let ops: [(String, (Tensor) -> Tensor, Double)] = [
      ("exp", { $0.exp() }, 1e-44), ("sigmoid", { $0.sigmoid() }, 1e-44),
      ("tanh", { $0.tanh() }, 1e-44), ("silu", { $0.silu() }, 1e-36),
      ("gelu tanh", { $0.gelu(approximate: .tanh) }, 1e-6), ("gelu", { $0.gelu() }, 1e-6),
    ]
    for (name, op, atol) in ops {
      let x32 = Tensor(grid, dtype: .float32)
      let got = op(x32).toArray()
      let want = op(x32.to(.float64)).to(.float32).toArray()
      var bad = 0
      for i in got.indices {
        let (g, w) = (got[i], want[i])
        let ok = g == w || (g.isNaN && w.isNaN) || Swift.abs(g - w) <= 5e-7 * Swift.abs(w) + atol
        if !ok {
          bad += 1
          if bad < 3 { Issue.record("\(name)(\(Float(grid[i]))) = \(g), expected \(w)") }
        }
      }
      #expect(bad == 0, "\(name)")
    }
    // the sign of zero survives
    #expect(Tensor([-0.0], dtype: .float32).tanh().item().sign == .minus)
    #expect(Tensor([Float.nan]).exp().item().isNaN)
    #expect(Tensor([Float.nan]).sigmoid().item().isNaN)
    #expect(Tensor([Float.nan]).tanh().item().isNaN)
  }

  // MARK: in-place variants

  @Test func inPlaceValues() throws {
    let values = [0.2, 0.7, 1.1, 1.9]
    let cases: [(String, (Tensor) throws -> Tensor, (Tensor) -> Tensor)] = [
      ("exp", { try $0.expInPlace() }, { $0.exp() }),
      ("log", { try $0.logInPlace() }, { $0.log() }),
      ("sqrt", { try $0.sqrtInPlace() }, { $0.sqrt() }),
      ("abs", { try $0.neg().absInPlace() }, { $0.abs() }),
      ("neg", { try $0.negInPlace() }, { $0.neg() }),
      ("sigmoid", { try $0.sigmoidInPlace() }, { $0.sigmoid() }),
      ("tanh", { try $0.tanhInPlace() }, { $0.tanh() }),
      ("clamp", { try $0.clampInPlace(min: 0.5, max: 1.5) }, { $0.clamp(min: 0.5, max: 1.5) }),
    ]
    for dtype in [DType.float32, .float64] {
      for (name, inPlace, outOfPlace) in cases {
        let x = Tensor(values, dtype: dtype)
        let expected = outOfPlace(x).toArray()
        let version = x.storage.version
        let r = try inPlace(x)
        #expect(r.dtype == dtype, "\(name)")
        #expect(r.toArray() == expected, "\(name) \(dtype)")
        #expect(r.storage === x.storage || name == "abs", "\(name) writes in place")
        #expect(x.storage.version > version || name == "abs", "\(name) bumps the version")
      }
    }
  }

  @Test func inPlaceBumpsVersionSeenThroughViews() throws {
    let base = Tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], dtype: .float64)
    let row = base.select(0, 1)
    let flat = base.view(6)
    let v0 = flat.storage.version
    try row.expInPlace()
    #expect(flat.storage.version == v0 + 1)
    expectClose(
      base.toArray(),
      [0.1, 0.2, 0.3, 1.4918246976412703, 1.6487212707001282, 1.8221188003905089])
    try base.t().sqrtInPlace()  // a non-contiguous view
    #expect(flat.storage.version == v0 + 2)
    expectClose(
      flat.toArray(),
      [
        0.31622776601683794, 0.4472135954999579, 0.5477225575051661, 1.2214027581601699,
        1.2840254166877414, 1.3498588075760032,
      ])
  }

  @Test func inPlaceOnLeafThrows() throws {
    let ops: [(Tensor) throws -> Tensor] = [
      { try $0.expInPlace() }, { try $0.logInPlace() }, { try $0.sqrtInPlace() },
      { try $0.absInPlace() }, { try $0.negInPlace() }, { try $0.sigmoidInPlace() },
      { try $0.tanhInPlace() }, { try $0.clampInPlace(min: 0) },
    ]
    for op in ops {
      let x = unaryLeaf([0.5, 1.5], [2])
      #expect(throws: AutogradError.inPlaceOnLeaf) { try op(x) }
      #expect(throws: AutogradError.inPlaceOnViewOfLeaf) { try op(x.view(2)) }
      // allowed without grad mode, and then not recorded
      try withNoGrad { _ = try op(x) }
      #expect(x.isLeaf)
    }
  }

  @Test func inPlaceGradients() throws {
    let values = [0.3, 0.8, 1.4]
    // (op, grad_fn name, d/dx of op at values)
    let cases: [((Tensor) throws -> Tensor, String, [Double])] = [
      (
        { try $0.expInPlace() }, "ExpBackward0",
        [1.3498588075760032, 2.225540928492468, 4.0551999668446745]
      ),
      ({ try $0.logInPlace() }, "LogBackward0", [1 / 0.3, 1 / 0.8, 1 / 1.4]),
      (
        { try $0.sqrtInPlace() }, "SqrtBackward0",
        [0.9128709291752769, 0.5590169943749475, 0.4225771273642583]
      ),
      ({ try $0.absInPlace() }, "AbsBackward0", [1, 1, 1]),
      ({ try $0.negInPlace() }, "NegBackward0", [-1, -1, -1]),
      (
        { try $0.sigmoidInPlace() }, "SigmoidBackward0",
        [0.24445831169074586, 0.2139096965202944, 0.15868489749561468]
      ),
      (
        { try $0.tanhInPlace() }, "TanhBackward0",
        [0.9151369618266292, 0.559055167732244, 0.21615245902553717]
      ),
      ({ try $0.clampInPlace(min: 0.5) }, "ClampBackward1", [0, 1, 1]),
    ]
    for (op, node, expected) in cases {
      let x = unaryLeaf(values, [3])
      let y = x * 1
      _ = try op(y)
      #expect(y.gradFn?.name == node)
      try y.sum().backward()
      expectTensor(x.grad, shape: [3], expected, rtol: 1e-12, atol: 1e-14)
    }
  }

  @Test func inPlaceThroughViewOfNonLeaf() throws {
    let x = unaryLeaf([0.3, 0.8, 1.4, 2.0], [4])
    let y = x * 1
    try y.slice(0, start: 1, end: 3).tanhInPlace()
    expectClose(y.toArray(), [0.3, 0.664036770267849, 0.8853516482022625, 2.0])
    try y.sum().backward()
    expectTensor(x.grad, shape: [4], [1, 0.559055167732244, 0.21615245902553717, 1], rtol: 1e-12)
  }

  @Test func inPlaceInvalidatesSavedInput() throws {
    let x = unaryLeaf([0.3, 0.8], [2])
    let y = x * 1
    let z = y.sin()  // saves y
    try y.expInPlace()
    #expect(throws: AutogradError.self) { try z.sum().backward() }
    // exp saves its output, so overwriting the input afterwards is fine
    let w = x * 1
    let e = w.exp()
    try w.negInPlace()
    try e.sum().backward()
    expectTensor(x.grad, shape: [2], [1.3498588075760032, 2.225540928492468], rtol: 1e-12)
  }

  @Test func inPlaceFloatFunctionOnIntegerStops() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Tensor([1, 2]).expInPlace()
    }
    #expect(
      stderrText(result).contains(
        "exp_: result type Float can't be cast to the desired output type Long"))
  }
}
