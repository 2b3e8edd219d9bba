import Ember
import Testing

// Golden values come from PyTorch 2.15 (CPU, x86-64) with the same seeds, e.g.
// `torch.manual_seed(0); torch.randn(17)`; every comparison is exact (bit for bit).

/// Asserts a float32 tensor holds exactly `expected`.
private func expectFloat32(
  _ t: Tensor, _ expected: [Float], _ what: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(t.dtype == .float32, "\(what): dtype \(t.dtype)", sourceLocation: sourceLocation)
  let got = t.scalars(as: Float.self)
  #expect(got.count == expected.count, "\(what): count", sourceLocation: sourceLocation)
  if let i = (0..<min(got.count, expected.count)).first(where: { got[$0] != expected[$0] }) {
    Issue.record(
      "\(what): element \(i): got \(got[i]), expected \(expected[i])",
      sourceLocation: sourceLocation)
  }
}

/// Asserts a float64 tensor holds exactly `expected`.
private func expectFloat64(
  _ t: Tensor, _ expected: [Double], _ what: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(t.dtype == .float64, "\(what): dtype \(t.dtype)", sourceLocation: sourceLocation)
  let got = t.scalars(as: Double.self)
  #expect(got.count == expected.count, "\(what): count", sourceLocation: sourceLocation)
  if let i = (0..<min(got.count, expected.count)).first(where: { got[$0] != expected[$0] }) {
    Issue.record(
      "\(what): element \(i): got \(got[i]), expected \(expected[i])",
      sourceLocation: sourceLocation)
  }
}

/// Mean and (population) standard deviation of a tensor's values.
private func moments(_ t: Tensor) -> (mean: Double, std: Double) {
  let v = t.toArray()
  let mean = v.reduce(0, +) / Double(v.count)
  let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
  return (mean, variance.squareRoot())
}

// Most tests use their own Generator: the default generator is shared with every other suite
// running in parallel. The one test of the global `manualSeed` runs in a child process.
@Suite(.isolatedGenerator) struct RandomTests {
  // MARK: the global generator

  @Test func manualSeedDrivesTheDefaultGenerator() async {
    await #expect(processExitsWith: .success) {
      manualSeed(0)
      precondition(initialSeed() == 0)
      let a = Tensor.randn([1, 2]).scalars(as: Float.self)
      let b = Tensor.randn([1]).scalars(as: Float.self)
      precondition(a == [1.5409961, -0.2934289], "randn([1, 2]) gave \(a)")
      precondition(b == [-2.1787894], "randn([1]) gave \(b)")
      manualSeed(0)
      precondition(Tensor.randn([1, 2]).scalars(as: Float.self) == a, "reseeding did not replay")
    }
  }

  @Test func invalidBoundsStop() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Tensor.uniform(low: 1, high: 0, [3])
    }
    #expect(
      stderrText(result).contains(
        "uniform_ expects to return a [from, to) range, but found from=1 > to=0"))
  }

  // MARK: normal

  @Test func randnFloat32MatchesTorchForEverySizePath() {
    // 1, 2, 15: Box-Muller in double with the cached second sample; 16, 17, 100: the blocked
    // fill with PyTorch's AVX2 float polynomials (17 and 100 redraw their last 16 values).
    expectFloat32(Tensor.randn([1], generator: Generator(seed: 0)), [1.5409961], "randn(1)")
    expectFloat32(
      Tensor.randn([2], generator: Generator(seed: 0)), [1.5409961, -0.2934289], "randn(2)")
    expectFloat32(
      Tensor.randn([15], generator: Generator(seed: 0)),
      [
        1.5409961, -0.2934289, -2.1787894, 0.56843126, -1.0845224, -1.3985955, 0.40334684,
        0.83802634, -0.7192576, -0.40334353, -0.59663534, 0.18203649, -0.8566746, 1.1006042,
        -1.0711874,
      ], "randn(15)")
    expectFloat32(
      Tensor.randn([16], generator: Generator(seed: 0)),
      [
        -1.1258398, -1.1523602, -0.25057858, -0.4338788, 0.84871036, 0.69200915, -0.31601277,
        -2.1152194, 0.32227492, -1.2633348, 0.3499832, 0.30813393, 0.11984151, 1.2376579,
        1.1167772, -0.24727815,
      ], "randn(16)")
    expectFloat32(
      Tensor.randn([17], generator: Generator(seed: 0)),
      [
        -1.1258398, -1.6959312, 0.5666506, 0.79350835, 0.59883946, -1.5550951, -0.3413604,
        1.8530061, 0.4680964, -0.58549756, -0.17339675, 0.18347794, 1.3893661, 1.5863342,
        0.94629836, -0.84367675, 0.9318266,
      ], "randn(17)")
    expectFloat32(
      Tensor.randn([100], generator: Generator(seed: 0)),
      [
        -1.1258398, -1.1523602, -0.25057858, -0.4338788, 0.84871036, 0.69200915, -0.31601277,
        -2.1152194, 0.32227492, -1.2633348, 0.3499832, 0.30813393, 0.11984151, 1.2376579,
        1.1167772, -0.24727815, -1.3526537, -1.6959312, 0.5666506, 0.79350835, 0.59883946,
        -1.5550951, -0.3413604, 1.8530061, 0.7501895, -0.58549756, -0.17339675, 0.18347794,
        1.3893661, 1.5863342, 0.94629836, -0.84367675, -0.6135831, 0.03159274, -0.49267697,
        0.24841475, 0.43969584, 0.112411186, 0.64079237, 0.44115627, -0.10230965, 0.792444,
        -0.2896677, 0.052507486, 0.52286047, 2.3022053, -1.4688939, -1.5866888, -0.6730899,
        0.8728312, 1.0553575, 0.17784372, -0.23033547, -0.3917544, 0.5432947, -0.39515755,
        -0.44621718, 0.7440207, 1.5209795, 3.4105027, -1.5311843, -1.234135, 1.8197253, -0.5515287,
        -0.5692481, 0.9199714, 1.1108161, 1.2898741, -1.478174, 2.5672328, -0.4731198, 0.33555076,
        -1.629326, -0.54974365, -0.47983426, -0.49968153, -1.0669804, 1.1149396, -0.14067143,
        0.8057536, -0.093348235, 0.6870502, -0.83831537, 0.00089182175, -2.6133225, -1.6964744,
        -0.22824179, 0.279955, 0.07324605, 1.1133184, 0.28226724, 0.43422565, 0.45694014,
        -0.86537135, 0.78130794, -0.9267894, 0.20641631, -0.33344787, -0.42883, 0.23291829,
      ], "randn(100)")
  }

  @Test func randnFloat64MatchesTorchForEverySizePath() {
    expectFloat64(
      Tensor.randn([1], dtype: .float64, generator: Generator(seed: 0)),
      [
        1.5409961082440433
      ], "randn(1, float64)")
    expectFloat64(
      Tensor.randn([2], dtype: .float64, generator: Generator(seed: 0)),
      [
        1.5409961082440433, -0.2934289057609464,
      ], "randn(2, float64)")
    expectFloat64(
      Tensor.randn([15], dtype: .float64, generator: Generator(seed: 0)),
      [
        1.5409961082440433, -0.2934289057609464, -2.1787893820745574, 0.5684312772806678,
        -1.084522342424021, -1.3985953953708767, 0.4033468476292993, 0.8380263329976598,
        -0.7192575784693592, -0.40334352493217457, -0.5966353626151273, 0.18203648506130554,
        -0.8566745932963743, 1.100604170903427, -1.0711873631091473,
      ], "randn(15, float64)")
    expectFloat64(
      Tensor.randn([16], dtype: .float64, generator: Generator(seed: 0)),
      [
        -2.310411800234176, -0.3732508612577643, -1.0608166785462863, 0.9995093547811761,
        -0.8840250045832653, -1.2755469302148053, -0.623224579866079, -0.8664416019125772,
        -1.2956271403277857, 1.52363162310635, 0.3236605664983738, 2.0177260314861085,
        1.1357423400213507, -1.226881339001083, 0.07138847120511693, 0.3380174030507378,
      ], "randn(16, float64)")
    expectFloat64(
      Tensor.randn([17], dtype: .float64, generator: Generator(seed: 0)),
      [
        -2.310411800234176, -0.6332746088675096, -1.2609246557194385, -0.726951062065411,
        -0.019964750907762653, 0.2102998901016947, 0.17718935139366584, -0.830510051008449,
        0.23871805816817063, -0.2426793824588577, -0.7730112772958181, -1.5951814880783068,
        -0.6870036940435463, 1.4880743158106724, -0.4484158047114511, -0.8910030351707375,
        0.6748575435940039,
      ], "randn(17, float64)")
    expectFloat64(
      Tensor.randn([100], dtype: .float64, generator: Generator(seed: 0)),
      [
        -2.310411800234176, -0.3732508612577643, -1.0608166785462863, 0.9995093547811761,
        -0.8840250045832653, -1.2755469302148053, -0.623224579866079, -0.8664416019125772,
        -1.2956271403277857, 1.52363162310635, 0.3236605664983738, 2.0177260314861085,
        1.1357423400213507, -1.226881339001083, 0.07138847120511693, 0.3380174030507378,
        0.15351883531544036, -0.6332746088675096, -1.2609246557194385, -0.726951062065411,
        -0.019964750907762653, 0.2102998901016947, 0.17718935139366584, -0.830510051008449,
        1.0111892074660187, -0.2426793824588577, -0.7730112772958181, -1.5951814880783068,
        -0.6870036940435463, 1.4880743158106724, -0.4484158047114511, -0.8910030351707375,
        -0.09174174090816388, 0.5563227724483105, -0.009446277892507904, -1.21768777910687,
        -1.2654653080284903, -1.1195351830271254, 1.1664857205254855, 0.9262324572968778,
        0.6539244967350809, 0.14821544548810084, -1.1461092231976013, 1.8727763768553416,
        -0.30991497424174674, 0.24018023403782535, -1.3487610270963772, 0.2443990933828689,
        -3.1452962731231335, -0.11373127757597257, 1.6962024805143952, -0.6652034805381666,
        -0.587222598359879, 2.832104167511146, 0.9039973689601122, 0.947836532432321,
        -1.3809366518587674, -2.0547510174380235, 0.04757655385024031, -0.3855687975933702,
        -0.27503491919216155, 0.886589630091246, 1.4857416299332185, -0.007855617400547969,
        -1.1287986397999445, -0.09376858138313218, 0.998343579451126, -0.08262167465143246,
        0.1825319491801699, 0.9509038124935927, -1.7631617835191395, 1.0107316682629284,
        0.7494883300195011, -0.560555214098722, 0.07424681473465156, 1.9936457271364452,
        0.44986533984459376, 1.5531453898519594, 0.05398594882285299, 1.4744415042312724,
        -0.7012303945657874, 0.326255796287562, -0.8738640219900763, 0.3941269998738486,
        0.4188191254194787, 0.34341487809757076, -0.34859980650048067, -1.2090699446332276,
        -1.0634478839913992, 1.5464062422176883, -0.6454674263414507, 2.572385036506895,
        -0.43942236360685477, 2.7144660166018406, -1.4631736798004056, 0.4357325629861231,
        -0.22762860051083808, 2.1533088741057544, -0.9885056293979503, 0.7255481446372165,
      ], "randn(100, float64)")
  }

  @Test func randnLargeTensorAndShapes() {
    let idx = [0, 1, 15, 16, 500, 983, 984, 999]
    let a = Tensor.randn([1000], generator: Generator(seed: 7)).scalars(as: Float.self)
    #expect(
      idx.map { a[$0] } == [
        -0.8201345, 0.39563116, 1.0901651, -1.5826646, 0.68151426, 0.23855348, 2.1394613,
        -0.8487755,
      ])
    let b = Tensor.randn([1000], dtype: .float64, generator: Generator(seed: 7))
      .scalars(as: Double.self)
    #expect(
      idx.map { b[$0] } == [
        0.06626753966449943, 0.04699155524392409, -1.0492146121597965, 0.12877206565947644,
        -0.7795661567745316, 1.2406668511565089, 1.0018457048485767, -0.47778118391520147,
      ])
    let c = Tensor.randn([2, 3, 4], generator: Generator(seed: 11))
    #expect(c.shape == [2, 3, 4])
    expectFloat32(
      c,
      [
        -0.51079756, 1.0282718, -0.3531516, 0.122991316, -0.18155447, -1.4972281, 0.14210454,
        -0.52428246, 0.07443918, -0.18429555, 0.7960368, 0.9592343, 0.7782747, 0.4825554,
        -1.8291065, -0.55144966, 1.9112736, 0.29790407, -0.70412296, 0.49830028, -0.04881277,
        1.3251518, 0.9240058, 0.22552748,
      ])
  }

  @Test func normalWithMeanAndStd() {
    // 5 elements: double Box-Muller then a fused `* std + mean`; 20: the blocked fill.
    expectFloat32(
      Tensor.normal(mean: 2, std: 3, [5], generator: Generator(seed: 5)),
      [0.5396578, 0.18853524, 0.3257113, 4.002573, 1.4077548])
    expectFloat64(
      Tensor.normal(mean: 2, std: 3, [5], dtype: .float64, generator: Generator(seed: 5)),
      [
        0.5396577478627197, 0.1885352363479884, 0.3257113075289694, 4.002572904603468,
        1.4077547202979832,
      ])
    expectFloat32(
      Tensor.normal(mean: 2, std: 3, [20], generator: Generator(seed: 5)),
      [
        7.5269895, 3.5566616, -3.1357641, -3.104138, 1.611012, 0.1947031, 2.4349957, 1.5505185,
        9.843731, 0.6979311, 3.0570064, 1.8063456, 6.448797, 3.4821143, 2.7476563, 7.2410946,
        4.234331, 2.0949707, -1.5172429, -2.520821,
      ])
    expectFloat64(
      Tensor.normal(mean: 2, std: 3, [20], dtype: .float64, generator: Generator(seed: 5)),
      [
        4.470714179438556, -0.22638281328436227, 0.2167174702958945, 0.8044190259593114,
        -2.208069744643778, 4.111366830575258, 2.152869416158979, 4.511655301066121,
        0.9133858277131124, -0.1376323956399067, 3.821634957931152, 3.492808696359913,
        0.7967339024030439, -0.1596231265401119, 1.1941045933840935, 0.8134351683809762,
        7.751704039255922, 2.756489940153749, 1.6164352981638912, 2.522049841590924,
      ])
  }

  @Test func cachedNormalSampleCarriesAcrossCalls() {
    // randn(1) twice gives both halves of one Box-Muller pair; rand in between does not touch
    // the cache, and randn(3) starts with a fresh pair.
    let g = Generator(seed: 0)
    expectFloat32(Tensor.randn([1], generator: g), [1.5409961])
    expectFloat32(Tensor.randn([1], generator: g), [-0.2934289])
    expectFloat32(Tensor.rand([2], generator: g), [0.30742282, 0.6340787])
    expectFloat32(Tensor.randn([3], generator: g), [1.2644587, -0.6874264, 0.16038126])
    // reseeding drops the cached sample
    let h = Generator(seed: 0)
    _ = Tensor.randn([1], generator: h)
    h.manualSeed(0)
    expectFloat32(Tensor.randn([1], generator: h), [1.5409961])
  }

  // MARK: uniform

  @Test func randAndUniformMatchTorch() {
    expectFloat32(
      Tensor.rand([6], generator: Generator(seed: 3)),
      [
        0.0042635202, 0.10556936, 0.28584248, 0.02695483, 0.47161436, 0.06011629,
      ])
    expectFloat64(
      Tensor.rand([6], dtype: .float64, generator: Generator(seed: 3)),
      [
        0.03410819565052048, 0.28674022672130695, 0.7729149443285843, 0.17492702928129467,
        0.7553698716458989, 0.608250626920705,
      ])
    // (high - low) * u + low is one fused operation in PyTorch's x86 kernels
    expectFloat32(
      Tensor.uniform(low: -3.7, high: 2.3, [6], generator: Generator(seed: 3)),
      [
        -3.674419, -3.0665839, -1.9849452, -3.538271, -0.8703139, -3.3393023,
      ])
    expectFloat64(
      Tensor.uniform(low: -3.7, high: 2.3, [6], dtype: .float64, generator: Generator(seed: 3)),
      [
        -3.4953508260968773, -1.9795586396721585, 0.9374896659715057, -2.650437824312232,
        0.832219229875393, -0.05049623847577034,
      ])
  }

  // MARK: integers, permutations, bernoulli

  @Test func randintMatchesTorch() {
    let r = Tensor.randint(high: 10, [8], generator: Generator(seed: 0))
    #expect(r.dtype == .int64)
    #expect(r.scalars(as: Int64.self) == [4, 9, 3, 0, 3, 9, 7, 3])
    #expect(
      Tensor.randint(low: -5, high: 5, [8], generator: Generator(seed: 0)).scalars(as: Int64.self)
        == [-1, 4, -2, -5, -2, 4, 2, -2])
    // ranges of 2^28 and more draw 64-bit words
    #expect(
      Tensor.randint(low: 0, high: 1 << 40, [4], generator: Generator(seed: 0))
        .scalars(as: Int64.self) == [
          741_280_623_151, 506_137_267_392, 291_447_657_211, 841_157_541_223,
        ])
    #expect(
      Tensor.randint(low: -(1 << 62), high: 1 << 62, [3], generator: Generator(seed: 0))
        .scalars(as: Int64.self) == [
          -3_711_235_831_533_098_449, -642_142_871_786_238_784, -2_716_036_421_228_801_285,
        ])
    let t = Tensor.zeros([4], dtype: .int64)
    try! t.randomInPlace(low: 3, high: 9, generator: Generator(seed: 0))
    #expect(t.scalars(as: Int64.self) == [5, 6, 8, 3])
  }

  @Test func randpermMatchesTorch() {
    let p = Tensor.randperm(10, generator: Generator(seed: 0))
    #expect(p.dtype == .int64)
    #expect(p.scalars(as: Int64.self) == [4, 1, 7, 5, 3, 9, 0, 8, 6, 2])
    #expect(Tensor.randperm(1, generator: Generator(seed: 1)).scalars(as: Int64.self) == [0])
    #expect(Tensor.randperm(0).count == 0)
    let big = Tensor.randperm(1000, generator: Generator(seed: 2)).scalars(as: Int64.self)
    #expect(big.sorted() == (0..<1000).map { Int64($0) })
  }

  @Test func bernoulliMatchesTorch() {
    expectFloat32(
      Tensor.bernoulli(p: 0.3, [10], generator: Generator(seed: 0)),
      [0, 0, 0, 0, 0, 0, 1, 0, 0, 1] as [Float])
    let p32 = Tensor.rand([8], generator: Generator(seed: 0))
    expectFloat32(
      p32,
      [
        0.4962566, 0.7682218, 0.08847743, 0.13203049, 0.30742282, 0.6340787, 0.4900934, 0.89644474,
      ])
    expectFloat32(
      p32.bernoulli(generator: Generator(seed: 1)), [0, 1, 0, 0, 1, 0, 1, 1] as [Float])
    let p64 = Tensor.rand([8], dtype: .float64, generator: Generator(seed: 0))
    expectFloat64(
      p64.bernoulli(generator: Generator(seed: 1)), [1, 1, 1, 1, 1, 1, 0, 0] as [Double])
    let b = Tensor.bernoulli(p: 1, [3], dtype: .bool)
    #expect(b.dtype == .bool && b.scalars(as: Bool.self) == [true, true, true])
  }

  // MARK: generators

  @Test func freshGeneratorUsesTorchDefaultSeed() {
    let g = Generator()
    #expect(g.initialSeed == 67_280_421_310_721)
    expectFloat32(Tensor.randn([3], generator: g), [0.97726315, 1.1568583, -0.38065365])
  }

  @Test func generatorsAreIndependentAndReproducible() {
    let a = Generator(seed: 42)
    let b = Generator(seed: 42)
    let x = Tensor.randn([5, 7], generator: a)
    _ = Tensor.rand([100], generator: Generator(seed: 42))  // another generator: no effect on b
    _ = Tensor.randn([3])  // the default generator: no effect on b
    let y = Tensor.randn([5, 7], generator: b)
    #expect(x.scalars(as: Float.self) == y.scalars(as: Float.self))
    #expect(
      Tensor.randn([5], generator: a).scalars(as: Float.self)
        != Tensor.randn([5], generator: Generator(seed: 43)).scalars(as: Float.self))
    #expect(a.initialSeed == 42)
    a.manualSeed(7)
    #expect(a.initialSeed == 7)
  }

  @Test func stateRoundTrips() {
    let g = Generator(seed: 9)
    _ = Tensor.randn([1], generator: g)  // leaves a cached normal sample in the state
    let saved = g.state
    let first = Tensor.randn([3], generator: g).scalars(as: Float.self)
    _ = Tensor.rand([1000], generator: g)
    g.state = saved
    #expect(Tensor.randn([3], generator: g).scalars(as: Float.self) == first)
    let h = Generator(seed: 1)
    h.state = saved
    #expect(Tensor.randn([3], generator: h).scalars(as: Float.self) == first)
    #expect(saved.nextDoubleNormal != nil)
  }

  @Test func rawWordsMatchMersenneTwister() {
    // torch.randint(0, 2**27, ...) keeps the low 27 bits of each 32-bit word
    let g = Generator(seed: 0)
    #expect(
      (0..<4).map { _ in g.random() % (1 << 27) } == [
        75_434_668, 130_329_135, 118_924_917, 2_215_104,
      ])
    let h = Generator(seed: 0)
    let w1 = UInt64(h.random())
    let w2 = UInt64(h.random())
    #expect(Generator(seed: 0).random64() == w1 << 32 | w2)
  }

  // MARK: in-place fills

  @Test func inPlaceFillsFollowMemoryOrder() throws {
    // a transposed view is filled in storage order, as PyTorch's TensorIterator does
    let u = Tensor.zeros([4, 3]).t()
    try u.uniformInPlace(generator: Generator(seed: 0))
    expectFloat32(
      u,
      [
        0.4962566, 0.13203049, 0.4900934, 0.6323063, 0.7682218, 0.30742282, 0.89644474, 0.34889346,
        0.08847743, 0.6340787, 0.45562798, 0.4017173,
      ])
    let n = Tensor.zeros([5, 4]).t()  // 20 elements, not contiguous: the scalar path
    try n.normalInPlace(generator: Generator(seed: 0))
    expectFloat32(
      n,
      [
        1.5409961, -1.0845224, -0.7192576, -0.8566746, -0.5663175, -0.2934289, -1.3985955,
        -0.40334353, 1.1006042, 0.37311465, -2.1787894, 0.40334684, -0.59663534, -1.0711874,
        -0.8919953, 0.56843126, 0.83802634, 0.18203649, 0.12270124, -1.5091077,
      ])
    let p = Tensor.zeros([2, 3, 4]).permute(2, 0, 1)
    try p.normalInPlace(mean: 1, std: 2, generator: Generator(seed: 0))
    expectFloat32(
      p,
      [
        4.081992, -1.1690447, -0.43851516, -0.71334916, -0.13263495, 1.740787, 0.41314217,
        -1.7971908, 0.19331294, 3.2012084, 1.7462293, 3.913005, -3.3575788, 1.8066937, -0.19327073,
        -1.1423748, -0.7839906, 2.8796198, 2.1368625, 2.6760526, 1.3640729, 1.2454025, -2.0182154,
        2.5496976,
      ])
    let s = Tensor.zeros([6, 6]).slice(1, start: 1, end: 5)
    try s.normalInPlace(generator: Generator(seed: 0))
    expectFloat32(
      s,
      [
        1.5409961, -0.2934289, -2.1787894, 0.56843126, -1.0845224, -1.3985955, 0.40334684,
        0.83802634, -0.7192576, -0.40334353, -0.59663534, 0.18203649, -0.8566746, 1.1006042,
        -1.0711874, 0.12270124, -0.5663175, 0.37311465, -0.8919953, -1.5091077, 0.37039354,
        1.4565026, 0.9398099, 0.7748488,
      ])
  }

  @Test func inPlaceFillsBumpVersionAndRespectAutograd() throws {
    let t = Tensor.zeros([3])
    let v = t.storage.version
    try t.normalInPlace(generator: Generator(seed: 0))
    #expect(t.storage.version == v + 1)
    try t.uniformInPlace(low: 1, high: 2)
    #expect(t.toArray().allSatisfy { $0 >= 1 && $0 < 2 })

    let leaf = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    #expect(throws: AutogradError.inPlaceOnLeaf) { try leaf.uniformInPlace() }
    #expect(throws: AutogradError.inPlaceOnLeaf) { try leaf.normalInPlace() }

    // on a tensor with history the values are replaced and the gradient to the old value is zero
    let x = leaf * 2
    try x.uniformInPlace(generator: Generator(seed: 3))
    #expect(x.gradFn?.name == "UniformBackward0")
    expectFloat32(
      x,
      Array(
        [
          0.0042635202, 0.10556936, 0.28584248, 0.02695483, 0.47161436, 0.06011629,
        ].prefix(3)))
    try (x * 5).sum().backward()
    #expect(leaf.grad?.toArray() == [0, 0, 0])
    let y = leaf * 2
    try y.normalInPlace()
    #expect(y.gradFn?.name == "NormalBackward0")
  }

  // MARK: statistics

  @Test func samplesHaveTheRightMoments() {
    let g = Generator(seed: 123)
    let n = moments(Tensor.randn([100_000], generator: g))
    #expect(abs(n.mean) < 0.01 && abs(n.std - 1) < 0.01)
    let n64 = moments(Tensor.normal(mean: -3, std: 0.5, [100_000], dtype: .float64, generator: g))
    #expect(abs(n64.mean + 3) < 0.005 && abs(n64.std - 0.5) < 0.005)
    let strided = Tensor.zeros([400, 250]).t()  // not contiguous: the per-element double path
    try! strided.normalInPlace(generator: g)
    let s = moments(strided)
    #expect(abs(s.mean) < 0.01 && abs(s.std - 1) < 0.01)
    let u = moments(Tensor.rand([100_000], generator: g))
    #expect(abs(u.mean - 0.5) < 0.005 && abs(u.std - (1.0 / 12).squareRoot()) < 0.005)
    let w = Tensor.uniform(low: -2, high: 6, [100_000], dtype: .float64, generator: g).toArray()
    #expect(w.min()! >= -2 && w.max()! < 6 && abs(moments(Tensor(w)).mean - 2) < 0.03)
    let r = Tensor.randint(low: 3, high: 8, [100_000], generator: g).scalars(as: Int64.self)
    var counts = [Int](repeating: 0, count: 5)
    for x in r { counts[Int(x) - 3] += 1 }
    #expect(counts.allSatisfy { abs($0 - 20_000) < 600 }, "\(counts)")
    let b = moments(Tensor.bernoulli(p: 0.25, [100_000], generator: g))
    #expect(abs(b.mean - 0.25) < 0.006)
  }

  @Test func factoriesOfLikeShapes() {
    let base = Tensor.zeros([2, 5], dtype: .float64)
    let r = Tensor.rand(like: base, generator: Generator(seed: 3))
    #expect(r.shape == [2, 5] && r.dtype == .float64)
    #expect(
      r.scalars(as: Double.self)
        == Tensor.rand([2, 5], dtype: .float64, generator: Generator(seed: 3)).scalars(
          as: Double.self))
    let n = Tensor.randn(like: base, dtype: .float32)
    #expect(n.shape == [2, 5] && n.dtype == .float32 && !n.requiresGrad)
  }
}
