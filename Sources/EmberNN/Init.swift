#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Weight initialization (PyTorch's `torch.nn.init`). Every function fills its tensor in place
/// without recording history and draws from the generator exactly as PyTorch's does, so the
/// same seed gives the same weights. Each returns the tensor it filled.
public enum Init {
  /// The nonlinearities `calculateGain` knows (PyTorch's strings).
  public enum Nonlinearity: String, Sendable {
    case linear, conv1d, conv2d, conv3d
    case convTranspose1d = "conv_transpose1d"
    case convTranspose2d = "conv_transpose2d"
    case convTranspose3d = "conv_transpose3d"
    case sigmoid, tanh, relu
    case leakyRelu = "leaky_relu"
    case selu
  }

  /// Which fan a kaiming init scales by.
  public enum FanMode: String, Sendable {
    case fanIn = "fan_in"
    case fanOut = "fan_out"
  }

  /// The recommended gain for a nonlinearity (`calculate_gain`); `param` is leaky ReLU's
  /// negative slope (0.01 when nil).
  public static func calculateGain(_ nonlinearity: Nonlinearity, param: Double? = nil) -> Double {
    switch nonlinearity {
    case .linear, .conv1d, .conv2d, .conv3d, .convTranspose1d, .convTranspose2d, .convTranspose3d,
      .sigmoid:
      return 1
    case .tanh: return 5.0 / 3
    case .relu: return 2.0.squareRoot()
    case .leakyRelu:
      let slope = param ?? 0.01
      return (2.0 / (1 + pow(slope, 2))).squareRoot()
    case .selu: return 3.0 / 4
    }
  }

  /// PyTorch's `_calculate_fan_in_and_fan_out`: dim 1 (inputs) and dim 0 (outputs), times the
  /// receptive field (the product of the remaining dims).
  public static func fans(_ t: Tensor) -> (fanIn: Int, fanOut: Int) {
    precondition(
      t.rank >= 2,
      "Init: Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape \(t.shape))"
    )
    let receptive = t.shape.dropFirst(2).reduce(1, *)
    return (t.shape[1] * receptive, t.shape[0] * receptive)
  }

  // MARK: fills

  @discardableResult
  public static func uniform(_ t: Tensor, a: Double = 0, b: Double = 1, generator: Generator? = nil)
    -> Tensor
  {
    fill(t) { try $0.uniformInPlace(low: a, high: b, generator: generator) }
  }

  @discardableResult
  public static func normal(
    _ t: Tensor, mean: Double = 0, std: Double = 1, generator: Generator? = nil
  ) -> Tensor {
    fill(t) { try $0.normalInPlace(mean: mean, std: std, generator: generator) }
  }

  @discardableResult
  public static func constant(_ t: Tensor, _ value: Double) -> Tensor {
    fill(t) { try $0.fill(value) }
  }

  @discardableResult
  public static func ones(_ t: Tensor) -> Tensor { constant(t, 1) }

  @discardableResult
  public static func zeros(_ t: Tensor) -> Tensor { constant(t, 0) }

  /// The identity matrix in a 2-D tensor (`eye_`).
  @discardableResult
  public static func eye(_ t: Tensor) -> Tensor {
    precondition(
      t.rank == 2, "Init.eye: Only tensors with 2 dimensions are supported (shape \(t.shape))")
    return fill(t) { try $0.copy(from: Tensor.eye(t.shape[0], t.shape[1], dtype: t.dtype)) }
  }

  /// U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)) (`xavier_uniform_`).
  @discardableResult
  public static func xavierUniform(_ t: Tensor, gain: Double = 1, generator: Generator? = nil)
    -> Tensor
  {
    let (fanIn, fanOut) = fans(t)
    let std = gain * (2.0 / Double(fanIn + fanOut)).squareRoot()
    let a = 3.0.squareRoot() * std
    return uniform(t, a: -a, b: a, generator: generator)
  }

  /// N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)) (`xavier_normal_`).
  @discardableResult
  public static func xavierNormal(_ t: Tensor, gain: Double = 1, generator: Generator? = nil)
    -> Tensor
  {
    let (fanIn, fanOut) = fans(t)
    let std = gain * (2.0 / Double(fanIn + fanOut)).squareRoot()
    return normal(t, mean: 0, std: std, generator: generator)
  }

  /// U(-bound, bound) with bound = gain * sqrt(3 / fan) (`kaiming_uniform_`); Linear and Conv
  /// layers use `a: sqrt(5)`, which gives bound = 1 / sqrt(fanIn).
  @discardableResult
  public static func kaimingUniform(
    _ t: Tensor, a: Double = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu,
    generator: Generator? = nil
  ) -> Tensor {
    if t.shape.contains(0) { return t }  // PyTorch warns and leaves it
    let std = calculateGain(nonlinearity, param: a) / Double(fan(t, mode)).squareRoot()
    let bound = 3.0.squareRoot() * std
    return uniform(t, a: -bound, b: bound, generator: generator)
  }

  /// N(0, std^2) with std = gain / sqrt(fan) (`kaiming_normal_`).
  @discardableResult
  public static func kaimingNormal(
    _ t: Tensor, a: Double = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu,
    generator: Generator? = nil
  ) -> Tensor {
    if t.shape.contains(0) { return t }
    let std = calculateGain(nonlinearity, param: a) / Double(fan(t, mode)).squareRoot()
    return normal(t, mean: 0, std: std, generator: generator)
  }

  /// A normal distribution N(mean, std^2) truncated to [a, b] (`trunc_normal_`), drawn as
  /// PyTorch 2.15 draws it, so the same seed gives the same values: when [a, b] holds more than
  /// 30% of the mass, normal samples with every out-of-range element redrawn (a full-size normal
  /// draw per round); otherwise uniform candidates on [a, b] accepted by comparing the log of a
  /// uniform draw with the log density relative to its peak (two full-size uniform draws per
  /// round).
  @discardableResult
  public static func truncNormal(
    _ t: Tensor, mean: Double = 0, std: Double = 1, a: Double = -2, b: Double = 2,
    generator: Generator? = nil
  ) -> Tensor {
    switch t.dtype {
    case .float32: truncNormal(t, Float.self, mean: mean, std: std, a: a, b: b, generator)
    case .float64: truncNormal(t, Double.self, mean: mean, std: std, a: a, b: b, generator)
    default:
      preconditionFailure("Init.truncNormal: expected a floating-point tensor, got \(t.dtype)")
    }
    return t
  }

  private static func truncNormal<T: FloatScalar>(
    _ t: Tensor, _: T.Type, mean: Double, std: Double, a: Double, b: Double,
    _ generator: Generator?
  ) {
    func cdf(_ x: Double) -> Double { (1 + erf(x / 2.0.squareRoot())) / 2 }
    // fresh full-size draws, as PyTorch's normal_ / uniform_ on a tensor like `t`
    func draw(_ body: (Tensor) throws -> Tensor) -> [T] {
      let buffer = Tensor.empty(t.shape, dtype: t.dtype)
      fill(buffer) { _ = try body($0) }
      return buffer.scalars(as: T.self)
    }
    var result: [T]
    let mass = cdf((b - mean) / std) - cdf((a - mean) / std)
    if mass > 0.3 {
      // the bounds rounded to the tensor's dtype, as PyTorch compares them
      let (lo, hi) = (T(a), T(b))
      result = draw { try $0.normalInPlace(mean: mean, std: std, generator: generator) }
      while true {
        let outside = result.indices.filter { result[$0] < lo || result[$0] > hi }
        if outside.isEmpty { break }
        let fresh = draw { try $0.normalInPlace(mean: mean, std: std, generator: generator) }
        for i in outside { result[i] = fresh[i] }
      }
    } else {
      let mode = Swift.max(a, Swift.min(mean, b))
      let z = (mode - mean) / std
      let logPeak = -0.5 * (z * z)
      // PyTorch's sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak), in the tensor's dtype
      func logDensity(_ x: T) -> T {
        let u = (x - T(mean)) / T(std)
        return u * u * T(-0.5) - T(logPeak)
      }
      func logUniform() -> [T] {
        let buffer = Tensor.empty(t.shape, dtype: t.dtype)
        fill(buffer) { try $0.uniformInPlace(generator: generator) }
        return buffer.log().scalars(as: T.self)
      }
      result = draw { try $0.uniformInPlace(low: a, high: b, generator: generator) }
      var pending = zip(logUniform(), result).map { $0 > logDensity($1) }
      while pending.contains(true) {
        let candidates = draw { try $0.uniformInPlace(low: a, high: b, generator: generator) }
        let accept = logUniform()
        for i in pending.indices where pending[i] {
          result[i] = candidates[i]
          pending[i] = accept[i] > logDensity(candidates[i])
        }
      }
    }
    let values = result
    fill(t) { try $0.copy(from: Tensor(shape: t.shape, scalars: values)) }
  }

  /// A (semi-)orthogonal matrix from the QR decomposition of a normal sample (`orthogonal_`).
  @discardableResult
  public static func orthogonal(_ t: Tensor, gain: Double = 1, generator: Generator? = nil)
    -> Tensor
  {
    precondition(
      t.rank >= 2, "Init.orthogonal: Only tensors with 2 or more dimensions are supported")
    if t.count == 0 { return t }
    let rows = t.shape[0]
    let cols = t.count / rows
    let sample = Tensor.zeros([rows, cols], dtype: t.dtype)
    fill(sample) { try $0.normalInPlace(mean: 0, std: 1, generator: generator) }
    // work on the tall orientation, as PyTorch transposes a wide sample first
    var a = sample.toArray()
    var m = rows
    var n = cols
    if rows < cols {
      a = transpose(a, rows: rows, cols: cols)
      (m, n) = (cols, rows)
    }
    var q = householderQ(a, rows: m, cols: n)
    if rows < cols { q = transpose(q, rows: m, cols: n) }
    let result = Tensor(shape: [rows, cols], scalars: q.map { $0 * gain }).to(t.dtype)
    return fill(t) { try $0.copy(from: result.reshape(t.shape)) }
  }

  // MARK: helpers

  private static func fan(_ t: Tensor, _ mode: FanMode) -> Int {
    let (fanIn, fanOut) = fans(t)
    return mode == .fanIn ? fanIn : fanOut
  }

  /// Runs an in-place fill without history (PyTorch's init functions run under no_grad).
  @discardableResult
  static func fill(_ t: Tensor, _ body: (Tensor) throws -> Void) -> Tensor {
    do { try withNoGrad { try body(t) } } catch { preconditionFailure("Init: \(error)") }
    return t
  }

  private static func transpose(_ a: [Double], rows: Int, cols: Int) -> [Double] {
    var out = [Double](repeating: 0, count: a.count)
    for i in 0..<rows { for j in 0..<cols { out[j * rows + i] = a[i * cols + j] } }
    return out
  }

  /// Q (m x n, m >= n) of the QR decomposition of `a` by Householder reflections, with columns
  /// signed so R's diagonal is non-negative (PyTorch multiplies q by sign(diag(r))).
  private static func householderQ(_ a: [Double], rows m: Int, cols n: Int) -> [Double] {
    var r = a
    var vs: [[Double]] = []
    for k in 0..<n {
      var v = (k..<m).map { r[$0 * n + k] }
      let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
      let alpha = v[0] >= 0 ? -norm : norm
      v[0] -= alpha
      let vnorm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
      if vnorm > 0 { v = v.map { $0 / vnorm } }
      vs.append(v)
      for j in k..<n {
        var dot = 0.0
        for i in k..<m { dot += v[i - k] * r[i * n + j] }
        for i in k..<m { r[i * n + j] -= 2 * v[i - k] * dot }
      }
    }
    // Q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity
    var q = [Double](repeating: 0, count: m * n)
    for i in 0..<n { q[i * n + i] = 1 }
    for k in stride(from: n - 1, through: 0, by: -1) {
      let v = vs[k]
      for j in 0..<n {
        var dot = 0.0
        for i in k..<m { dot += v[i - k] * q[i * n + j] }
        for i in k..<m { q[i * n + j] -= 2 * v[i - k] * dot }
      }
    }
    for j in 0..<n where r[j * n + j] < 0 {
      for i in 0..<m { q[i * n + j] = -q[i * n + j] }
    }
    return q
  }
}
