import Ember
import Testing

private let activationGolden: [UnaryGoldenCase] = [
  UnaryGoldenCase(
    "relu", { $0.relu() }, node: "ReluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [0.0, 0.0, 0.0, 0.0, 0.4000000059604645, 1.5, 2.5],
    grad32: [0.0, 0.0, 0.0, 0.0, 1.1666666269302368, 1.3333333730697632, 1.5],
    out64: [0.0, 0.0, 0.0, 0.0, 0.4, 1.5, 2.5],
    grad64: [0.0, 0.0, 0.0, 0.0, 1.1666666666666667, 1.3333333333333333, 1.5]),
  UnaryGoldenCase(
    "gelu", { $0.gelu() }, node: "GeluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.015524178743362427, -0.1380835920572281, -0.11462657898664474, 0.0, 0.2621687054634094,
      1.3997890949249268, 2.48447585105896,
    ],
    grad32: [
      -0.01880553364753723, -0.07863567769527435, 0.2230602353811264, 0.5, 0.9365179538726807,
      1.5032923221588135, 1.5564165115356445,
    ],
    out64: [
      -0.015524163314440398, -0.13808360426604993, -0.1146265733433142, 0.0, 0.2621686966441297,
      1.399789198096713, 2.4844758366855597,
    ],
    grad64: [
      -0.018805542954072597, -0.0786357305054315, 0.22306019431074176, 0.5, 0.9365180973535958,
      1.5032922563066393, 1.5564166288622177,
    ]),
  UnaryGoldenCase(
    "gelu(tanh)", { $0.gelu(approximate: .tanh) }, node: "GeluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.015084296464920044, -0.13829724490642548, -0.11462908238172531, 0.0, 0.26216116547584534,
      1.3995715379714966, 2.4849157333374023,
    ],
    grad32: [
      -0.01897582598030567, -0.07848410308361053, 0.2230871319770813, 0.5, 0.9364352226257324,
      1.5036144256591797, 1.5569275617599487,
    ],
    out64: [
      -0.015084266089998577, -0.13829723086213508, -0.11462907645724074, 0.0, 0.2621611694273562,
      1.3995715769802328, 2.484915733910001,
    ],
    grad64: [
      -0.01897578810633309, -0.07848408982207505, 0.22308712363433178, 0.5, 0.9364353068239883,
      1.5036143908685773, 1.5569273643189991,
    ]),
  UnaryGoldenCase(
    "silu", { $0.silu() }, node: "SiluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.189645454287529, -0.2777702808380127, -0.12766724824905396, 0.0, 0.2394750714302063,
      1.226361632347107, 2.310354471206665,
    ],
    grad32: [
      -0.049700554460287094, 0.01200125552713871, 0.29351669549942017, 0.5, 0.8105906248092651,
      1.3883923292160034, 1.6491016149520874,
    ],
    out64: [
      -0.18964545005310887, -0.2777702598011788, -0.1276672449565023, 0.0, 0.2394750640449808,
      1.2263617142904655, 2.3103545499468914,
    ],
    grad64: [
      -0.04970055567076342, 0.012001258483210347, 0.29351665806759775, 0.5, 0.8105906181439076,
      1.3883922057321905, 1.64910166701229,
    ]),
  UnaryGoldenCase(
    "softplus", { $0.softplus() }, node: "SoftplusBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5, -30.0, 19.9, 20.0, 25.0],
    out32: [
      0.07888973504304886, 0.26328244805336, 0.554355263710022, 0.6931471824645996,
      0.9130152463912964, 1.7014132738113403, 2.578889846801758, 9.357622912219837e-14,
      19.899999618530273, 20.0, 25.0,
    ],
    grad32: [
      0.03792908787727356, 0.13888512551784515, 0.29789021611213684, 0.4000000059604645,
      0.538818895816803, 0.8175745010375977, 1.0165560245513916, 1.1229147630189076e-13,
      1.2999999523162842, 1.399999976158142, 1.5,
    ],
    out64: [
      0.07888973429254963, 0.26328246733803123, 0.5543552444685271, 0.6931471805599453,
      0.9130152523999526, 1.7014132779827524, 2.5788897342925496, 9.357622968839737e-14,
      19.900000002277924, 20.000000002061153, 25.0,
    ],
    grad64: [
      0.03792909001062178, 0.13888512990058943, 0.29789023823183874, 0.4, 0.5388188941012068,
      0.8175744761936437, 1.0165560019766322, 1.122914756260716e-13, 1.2999999970386948,
      1.3999999971143848, 1.5,
    ]),
  UnaryGoldenCase(
    "softplus(beta:2, threshold:3)", { $0.softplus(beta: 2, threshold: 3) },
    node: "SoftplusBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      0.003357674228027463, 0.043418072164058685, 0.2187439650297165, 0.3465735912322998,
      0.5855503082275391, 1.5242936611175537, 2.5,
    ],
    grad32: [
      0.0033464254811406136, 0.05544845759868622, 0.2952864170074463, 0.5, 0.8049701452255249,
      1.2700988054275513, 1.5,
    ],
    out64: [
      0.003357674244559034, 0.04341807607697484, 0.2187439752429428, 0.34657359027997264,
      0.5855503329738889, 1.524293675786871, 2.5,
    ],
    grad64: [
      0.003346425462142428, 0.055448464329281584, 0.29528641147850376, 0.5, 0.8049702279822146,
      1.2700988357632441, 1.5,
    ]),
  UnaryGoldenCase(
    "elu", { $0.elu() }, node: "EluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.9179149866104126, -0.6988058090209961, -0.25918179750442505, 0.0, 0.4000000059604645, 1.5,
      2.5,
    ],
    grad32: [
      0.041042499244213104, 0.20079612731933594, 0.6173485517501831, 1.0, 1.1666666269302368,
      1.3333333730697632, 1.5,
    ],
    out64: [-0.9179150013761013, -0.6988057880877979, -0.2591817793182821, 0.0, 0.4, 1.5, 2.5],
    grad64: [
      0.0410424993119494, 0.20079614127480142, 0.6173485172347648, 1.0, 1.1666666666666667,
      1.3333333333333333, 1.5,
    ]),
  UnaryGoldenCase(
    "elu(alpha:0.5)", { $0.elu(alpha: 0.5) }, node: "EluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.4589574933052063, -0.34940290451049805, -0.12959089875221252, 0.0, 0.4000000059604645, 1.5,
      2.5,
    ],
    grad32: [
      0.020521249622106552, 0.10039806365966797, 0.30867427587509155, 0.5, 1.1666666269302368,
      1.3333333730697632, 1.5,
    ],
    out64: [-0.45895750068805063, -0.34940289404389896, -0.12959088965914106, 0.0, 0.4, 1.5, 2.5],
    grad64: [
      0.0205212496559747, 0.10039807063740071, 0.3086742586173824, 0.5, 1.1666666666666667,
      1.3333333333333333, 1.5,
    ]),
  UnaryGoldenCase(
    "leakyRelu", { $0.leakyRelu() }, node: "LeakyReluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [
      -0.02499999850988388, -0.012000000104308128, -0.003000000026077032, 0.0, 0.4000000059604645,
      1.5, 2.5,
    ],
    grad32: [
      0.004999999888241291, 0.006666666828095913, 0.008333333767950535, 0.009999999776482582,
      1.1666666269302368, 1.3333333730697632, 1.5,
    ],
    out64: [-0.025, -0.012, -0.003, 0.0, 0.4, 1.5, 2.5],
    grad64: [
      0.005, 0.006666666666666666, 0.008333333333333333, 0.01, 1.1666666666666667,
      1.3333333333333333, 1.5,
    ]),
  UnaryGoldenCase(
    "leakyRelu(0.2)", { $0.leakyRelu(negativeSlope: 0.2) }, node: "LeakyReluBackward0",
    input: [-2.5, -1.2, -0.3, 0.0, 0.4, 1.5, 2.5],
    out32: [-0.5, -0.24000000953674316, -0.06000000238418579, 0.0, 0.4000000059604645, 1.5, 2.5],
    grad32: [
      0.10000000149011612, 0.13333334028720856, 0.1666666716337204, 0.20000000298023224,
      1.1666666269302368, 1.3333333730697632, 1.5,
    ],
    out64: [-0.5, -0.24, -0.06, 0.0, 0.4, 1.5, 2.5],
    grad64: [
      0.1, 0.13333333333333333, 0.16666666666666666, 0.2, 1.1666666666666667, 1.3333333333333333,
      1.5,
    ]),
]

@Suite struct ActivationTests {
  @Test(arguments: activationGolden)
  func goldenForwardAndGradient(_ c: UnaryGoldenCase) throws {
    try c.check()
  }

  static let values = [-1.7, -0.6, -0.2, 0.3, 0.9, 2.1]

  @Test func gradcheckAll() throws {
    let ops: [(String, @Sendable (Tensor) -> Tensor)] = [
      ("relu", { $0.relu() }),
      ("leakyRelu", { $0.leakyRelu(negativeSlope: 0.1) }),
      ("gelu", { $0.gelu() }),
      ("gelu tanh", { $0.gelu(approximate: .tanh) }),
      ("silu", { $0.silu() }),
      ("softplus", { $0.softplus() }),
      ("softplus beta", { $0.softplus(beta: 2, threshold: 1) }),
      ("elu", { $0.elu(alpha: 0.7) }),
    ]
    for (name, op) in ops {
      let x = unaryLeaf(Self.values, [2, 3])
      #expect(try gradcheck({ op($0[0]) }, inputs: [x]), "\(name)")
      #expect(try gradcheck({ op($0[0].t()) }, inputs: [x]), "\(name) transposed")
    }
  }

  @Test func gradgradcheckSmooth() throws {
    let ops: [(String, @Sendable (Tensor) -> Tensor)] = [
      ("gelu", { $0.gelu() }),
      ("gelu tanh", { $0.gelu(approximate: .tanh) }),
      ("silu", { $0.silu() }),
      ("softplus", { $0.softplus() }),
      ("softplus beta", { $0.softplus(beta: 2, threshold: 1) }),
      ("elu", { $0.elu(alpha: 0.7) }),
      // piecewise linear: the second derivative is 0, but the graph must still be differentiable
      ("relu", { $0.relu() * $0 }),
      ("leakyRelu", { $0.leakyRelu(negativeSlope: 0.1) * $0 }),
    ]
    for (name, op) in ops {
      let x = unaryLeaf(Self.values, [2, 3])
      #expect(try gradgradcheck({ op($0[0]) }, inputs: [x]), "\(name)")
    }
  }

  @Test func secondDerivativesMatchPyTorch() throws {
    let input = [-1.3, -0.2, 0.7, 1.9]
    let cases: [(@Sendable (Tensor) -> Tensor, [Double])] = [
      (
        { $0.gelu() },
        [0.05312426353482025, 0.7664436801918936, 0.47150343938380956, -0.1056414617872293]
      ),
      (
        { $0.gelu(approximate: .tanh) },
        [0.054581537701671, 0.7662964585254715, 0.4708629268446337, -0.10497029419139413]
      ),
      (
        { $0.softplus() },
        [0.16829836246906024, 0.24751657271185995, 0.22171287329310904, 0.11318025926193101]
      ),
      (
        { $0.silu() },
        [0.21152227002379154, 0.4900992493359933, 0.3912205946779789, 0.06727572719639105]
      ),
      ({ $0.elu() }, [0.2725317930340126, 0.8187307530779818, 0.0, 0.0]),
    ]
    for (op, expected) in cases {
      try expectSecondDerivative(op, at: input, expected)
    }
  }

  @Test func stableForLargeInputs() throws {
    let big = [-1000.0, -100, -30, 0, 30, 100, 1000]
    for dtype in [DType.float32, .float64] {
      let x = try Tensor(big, dtype: dtype, requiresGrad: true)
      let y = x.softplus()
      let expected =
        dtype == .float64
        ? [0, 3.720075976020836e-44, 9.357622968839737e-14, 0.6931471805599453, 30, 100, 1000]
        : [0, 3.783505853677006e-44, 9.357622912219837e-14, 0.6931471824645996, 30, 100, 1000]
      expectTensor(y, shape: [7], expected, rtol: 1e-6, atol: 1e-300)
      try y.sum().backward()
      expectTensor(
        x.grad, shape: [7], [0, expected[1], 9.3576229688393e-14, 0.5, 1, 1, 1], rtol: 1e-6,
        atol: dtype == .float32 ? 1e-40 : 1e-300)
      // PyTorch 2.15's values and gradients at the same points (not only finite ones)
      let pytorch: [(String, (Tensor) -> Tensor, [Double], [Double])] =
        dtype == .float64
        ? [
          (
            "silu", { $0.silu() },
            [
              -0.0, -3.720075976020836e-42, -2.8072868906517896e-12, 0, 29.999999999997197, 100,
              1000,
            ],
            [-0.0, -3.682875216260627e-42, -2.713710660963134e-12, 0.5, 1.000000000002711, 1, 1]
          ),
          (
            "elu", { $0.elu() }, [-1, -1, -0.9999999999999064, 0, 30, 100, 1000],
            [0, 3.720075976020836e-44, 9.357622968840175e-14, 1, 1, 1, 1]
          ),
          (
            "gelu", { $0.gelu() }, [0, 0, 0, 0, 30, 100, 1000],
            [0, 0, -4.420938404635643e-195, 0.5, 1, 1, 1]
          ),
          (
            "gelu tanh", { $0.gelu(approximate: .tanh) }, [0, 0, 0, 0, 30, 100, 1000],
            [0, 0, 0, 0.5, 1, 1, 1]
          ),
        ]
        : [
          (
            "silu", { $0.silu() }, [0, 0, -2.807286954981114e-12, 0, 30, 100, 1000],
            [0, 0, -2.7137107665164972e-12, 0.5, 1, 1, 1]
          ),
          (
            "elu", { $0.elu() }, [-1, -1, -1, 0, 30, 100, 1000],
            [0, 3.783505853677006e-44, 9.357622912219837e-14, 1, 1, 1, 1]
          ),
          ("gelu", { $0.gelu() }, [0, 0, 0, 0, 30, 100, 1000], [0, 0, 0, 0.5, 1, 1, 1]),
          (
            "gelu tanh", { $0.gelu(approximate: .tanh) }, [0, 0, 0, 0, 30, 100, 1000],
            [0, 0, 0, 0.5, 1, 1, 1]
          ),
        ]
      let tiny = dtype == .float32 ? 1e-40 : 1e-300
      for (name, op, values, grads) in pytorch {
        let z = try Tensor(big, dtype: dtype, requiresGrad: true)
        let out = op(z)
        expectClose(out.toArray(), values, rtol: 1e-6, atol: tiny, "\(name) \(dtype)")
        try out.sum().backward()
        expectClose(z.grad!.toArray(), grads, rtol: 1e-6, atol: tiny, "\(name)' \(dtype)")
      }
    }
  }

  /// ReLU's backward for contiguous float32 gradients (one masked pass) keeps `where(y > 0,
  /// grad, 0)`: NaN inputs, zeros of both signs and an odd length (the scalar tail).
  @Test func reluBackwardFastPathIsWhere() throws {
    let inputs: [Double] = [
      -1, 0, -0.0, 2, .nan, 3.5, -.infinity, .infinity, 1e-30, -1e-30, 4, -4, 0.5, -0.5, 7, 8,
      -9, 10, .nan,
    ]
    let grads = (0..<inputs.count).map { Double($0) - 6.5 }
    for dtype in [DType.float32, .float64] {
      let x = try Tensor(inputs, dtype: dtype, requiresGrad: true)
      try x.relu().backward(gradient: Tensor(grads, dtype: dtype))
      let expected = zip(inputs, grads).map { $0 > 0 ? $1 : 0 }
      #expect(x.grad!.toArray() == expected, "\(dtype)")
      #expect(x.grad!.dtype == dtype)
    }
  }

  @Test func reluOnIntegersKeepsDtype() {
    let y = Tensor([-2, 0, 3]).relu()
    #expect(y.dtype == .int64)
    #expect(y.scalars(as: Int64.self) == [0, 0, 3])
  }

  // MARK: in-place

  @Test func inPlaceValues() throws {
    for dtype in [DType.float32, .float64] {
      let x = Tensor([-1.5, 0, 0.5, 2], dtype: dtype)
      let version = x.storage.version
      try x.reluInPlace()
      #expect(x.toArray() == [0, 0, 0.5, 2])
      #expect(x.storage.version == version + 1)
      let z = Tensor([-1.5, 0, 0.5, 2], dtype: dtype)
      try z.leakyReluInPlace(negativeSlope: 0.2)
      expectTensor(z, shape: [4], [-0.3, 0, 0.5, 2])
      #expect(z.dtype == dtype)
    }
    let ints = Tensor([-3, 4])
    try ints.reluInPlace()
    #expect(ints.scalars(as: Int64.self) == [0, 4])
  }

  @Test func inPlaceThroughViewBumpsVersion() throws {
    let base = Tensor([[-1.0, 2], [3, -4]])
    let col = base.select(1, 1)
    let v0 = base.storage.version
    try col.reluInPlace()
    #expect(base.storage.version == v0 + 1)
    #expect(base.toArray() == [-1, 2, 3, 0])
    try base.t().leakyReluInPlace(negativeSlope: 0.5)
    #expect(col.storage.version == v0 + 2)
    #expect(base.toArray() == [-0.5, 2, 3, 0])
  }

  @Test func inPlaceOnLeafThrows() throws {
    let x = unaryLeaf([-0.5, 1.5], [2])
    #expect(throws: AutogradError.inPlaceOnLeaf) { try x.reluInPlace() }
    #expect(throws: AutogradError.inPlaceOnLeaf) { try x.leakyReluInPlace() }
    #expect(throws: AutogradError.inPlaceOnViewOfLeaf) { try x.view(2).reluInPlace() }
  }

  @Test func inPlaceGradients() throws {
    let x = unaryLeaf([-0.5, 0, 0.7], [3])
    let y = x * 1
    try y.reluInPlace()
    #expect(y.gradFn?.name == "ReluBackward0")
    try y.sum().backward()
    expectTensor(x.grad, shape: [3], [0, 0, 1])

    let x2 = unaryLeaf([-0.5, 0, 0.7], [3])
    let y2 = x2 * 1
    try y2.leakyReluInPlace(negativeSlope: 0.2)
    #expect(y2.gradFn?.name == "LeakyReluBackward1")
    expectTensor(y2, shape: [3], [-0.1, 0, 0.7])
    try y2.sum().backward()
    expectTensor(x2.grad, shape: [3], [0.2, 0.2, 1])
    // relu_ on a view of a non-leaf: gradients reach the untouched part too
    let x3 = unaryLeaf([-0.5, 0.7, -2, 3], [2, 2])
    let y3 = x3 * 1
    try y3.select(0, 1).reluInPlace()
    try (y3 * y3).sum().backward()
    expectTensor(x3.grad, shape: [2, 2], [-1, 1.4, 0, 6])
  }

  @Test func inPlaceLeakyReluWithNegativeSlopeStopsWhenRecording() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let x = try! Tensor([1.0, -1], requiresGrad: true)
      _ = try? (x * 1).leakyReluInPlace(negativeSlope: -0.5)
    }
    #expect(
      stderrText(result).contains(
        "In-place leakyReLu backward calculation is triggered with a negative slope which is not supported. T"
      ))
  }
}

/// NaN passes through the ReLU family as in PyTorch (`torch.relu(nan)` is nan; its gradient 0).
@Suite struct ActivationNaNTests {
  @Test func reluKeepsNaN() throws {
    for dtype in [DType.float32, .float64] {
      let x = try Tensor([Double.nan, -1, 2], dtype: dtype, requiresGrad: true)
      let y = x.relu()
      let v = y.toArray()
      #expect(v[0].isNaN && v[1] == 0 && v[2] == 2)
      try y.sum().backward()
      #expect(x.grad!.toArray() == [0, 0, 1])
      let z = Tensor([Double.nan, -3], dtype: dtype)
      try z.reluInPlace()
      #expect(z.toArray()[0].isNaN && z.toArray()[1] == 0)
      #expect(Tensor([Double.nan], dtype: dtype).leakyRelu().toArray()[0].isNaN)
      #expect(Tensor([Double.nan], dtype: dtype).hardtanh().toArray()[0].isNaN)
    }
  }
}
