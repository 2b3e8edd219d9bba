#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Random tensors that reproduce PyTorch's CPU values for the same seed.
//
// Every sampler draws from a ``Generator`` (the default one unless one is passed) in the order and
// with the arithmetic of PyTorch's CPU kernels (aten/src/ATen/native/cpu/DistributionTemplates.h,
// ATen/core/DistributionsHelper.h, TransformationHelper.h, avx_mathfun.h) as PyTorch's x86-64
// builds run them on AVX2 and AVX-512 machines (normal_ is never dispatched to AVX-512, so both
// use the AVX2 kernel; these builds fuse `a * b + c` into one rounding). Checked bit for bit
// against PyTorch 2.15 on tens of millions of values:
//
// - rand / uniform: float32 takes 24 bits of one 32-bit word, float64 53 bits of a 64-bit word;
//   `u * (high - low) + low` is fused, and a value that rounds to `high` becomes `low`.
// - randn / normal, fewer than 16 elements or a non-contiguous target: Box-Muller in double with
//   PyTorch's cached second sample (kept in the generator across calls, dropped by reseeding),
//   then `* std + mean` fused and the result rounded to the dtype.
// - randn / normal, 16 or more elements into contiguous memory: uniforms for the whole tensor
//   first, then Box-Muller on blocks of 16 (8 pairs), and the last 16 values redrawn when the
//   count is not a multiple of 16. float64 uses libm log/cos/sin; float32 reproduces PyTorch's
//   AVX2 `log256_ps`/`sincos256_ps` Cephes polynomials with the same roundings and fused
//   multiply-adds (emulated through double, see ``FastLaneFMA``).
// - randint / randomInPlace: `word % (high - low) + low`, with a 64-bit word when the range is at
//   least 2^28 and a 32-bit word otherwise.
// - randperm: PyTorch's swap shuffle with `random() % (n - i)` (n < 2^32 / 20), or the inside-out
//   shuffle with `random64()` beyond.
// - bernoulli(p:) / bernoulliInPlace(p:): `double uniform < p`, PyTorch's default kernel. PyTorch
//   builds with MKL use an MKL stream instead on Intel CPUs only; there the values differ (same
//   distribution). bernoulli() with a tensor of probabilities matches everywhere.
//
// Where PyTorch runs other kernels (its DEFAULT capability on CPUs without AVX2, ARM), the float32
// blocked normal path and uniform ranges other than [0, 1) can differ from it in the last bit.
//
// Elements are drawn in memory order (TensorIterator's order): row-major for contiguous tensors,
// and by decreasing stride for permuted views filled in place.

extension Tensor {
  // MARK: uniform

  /// Uniform samples in [0, 1) (`torch.rand`).
  public static func rand(
    _ shape: [Int], dtype: DType = .defaultFloat, generator: Generator? = nil
  ) -> Tensor {
    uniform(low: 0, high: 1, shape, dtype: dtype, generator: generator)
  }

  /// Uniform samples in [low, high) (`torch.empty(shape).uniform_(low, high)`).
  public static func uniform(
    low: Double = 0, high: Double = 1, _ shape: [Int], dtype: DType = .defaultFloat,
    generator: Generator? = nil
  ) -> Tensor {
    RandomKernel.checkUniform(low: low, high: high, dtype: dtype)
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    RandomKernel.uniform(out, layout: out, low: low, high: high, generator ?? .default)
    return out
  }

  /// Uniform samples in [0, 1) with the shape (and, unless given, the dtype) of `t` (`torch.rand_like`).
  public static func rand(like t: Tensor, dtype: DType? = nil, generator: Generator? = nil)
    -> Tensor
  {
    rand(t.shape, dtype: dtype ?? t.dtype, generator: generator)
  }

  // MARK: normal

  /// `Tensor.randn(2, 3)`, as `torch.randn(2, 3)`.
  public static func randn(
    _ shape: Int..., dtype: DType = .defaultFloat, generator: Generator? = nil
  )
    -> Tensor
  {
    randn(shape, dtype: dtype, generator: generator)
  }

  /// `Tensor.rand(2, 3)`, as `torch.rand(2, 3)`.
  public static func rand(
    _ shape: Int..., dtype: DType = .defaultFloat, generator: Generator? = nil
  )
    -> Tensor
  {
    rand(shape, dtype: dtype, generator: generator)
  }

  /// Standard normal samples (`torch.randn`).
  public static func randn(
    _ shape: [Int], dtype: DType = .defaultFloat, generator: Generator? = nil
  ) -> Tensor {
    normal(mean: 0, std: 1, shape, dtype: dtype, generator: generator)
  }

  /// Normal samples with the given mean and standard deviation (`torch.normal(mean, std, size)`).
  public static func normal(
    mean: Double = 0, std: Double = 1, _ shape: [Int], dtype: DType = .defaultFloat,
    generator: Generator? = nil
  ) -> Tensor {
    RandomKernel.checkNormal(std: std, dtype: dtype)
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    RandomKernel.normal(out, layout: out, mean: mean, std: std, generator ?? .default)
    return out
  }

  /// Standard normal samples with the shape (and, unless given, the dtype) of `t` (`torch.randn_like`).
  public static func randn(like t: Tensor, dtype: DType? = nil, generator: Generator? = nil)
    -> Tensor
  {
    randn(t.shape, dtype: dtype ?? t.dtype, generator: generator)
  }

  // MARK: integers and permutations

  /// Integers drawn uniformly from [low, high) (`torch.randint`); int64 unless `dtype` says otherwise.
  public static func randint(
    low: Int = 0, high: Int, _ shape: [Int], dtype: DType = .int64, generator: Generator? = nil
  ) -> Tensor {
    RandomKernel.checkRange(low: low, high: high, op: "random_")
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    RandomKernel.integers(out, layout: out, low: low, high: high, generator ?? .default)
    return out
  }

  /// A random permutation of 0..<n (`torch.randperm`); int64 unless `dtype` says otherwise.
  public static func randperm(_ n: Int, dtype: DType = .int64, generator: Generator? = nil)
    -> Tensor
  {
    precondition(n >= 0, "randperm: n must be non-negative, got \(n)")
    precondition(dtype != .bool, "randperm: \"randperm\" not implemented for 'Bool'")
    precondition(
      dtype != .float32 || n <= (1 << 24) + 1,
      "randperm: n cannot be greater than 2^24+1 for Float type.")
    let perm = RandomKernel.permutation(n, generator ?? .default)
    let out = Tensor(uninitializedShape: [n], dtype: dtype)
    switch dtype {
    case .int64:
      let p = out.basePointer(Int64.self)
      for i in 0..<n { p[i] = perm[i] }
    case .float32:
      let p = out.basePointer(Float.self)
      for i in 0..<n { p[i] = Float(perm[i]) }
    case .float64:
      let p = out.basePointer(Double.self)
      for i in 0..<n { p[i] = Double(perm[i]) }
    case .bool:
      break
    }
    return out
  }

  // MARK: bernoulli

  /// Zeros and ones, each one with probability `p` (`torch.empty(shape).bernoulli_(p)`).
  public static func bernoulli(
    p: Double, _ shape: [Int], dtype: DType = .defaultFloat, generator: Generator? = nil
  ) -> Tensor {
    RandomKernel.checkProbability(p)
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    RandomKernel.bernoulli(out, layout: out, p: p, generator ?? .default)
    return out
  }

  /// Zeros and ones drawn with this tensor's values as probabilities (`torch.bernoulli(input)`).
  /// The result has this tensor's dtype; its gradient is zero (`BernoulliBackward0`).
  public func bernoulli(generator: Generator? = nil) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "bernoulli: expected a floating-point tensor of probabilities, got \(dtype)")
    let out = Tensor(uninitializedShape: shape, dtype: dtype)
    RandomKernel.bernoulli(out, probabilities: self, generator ?? .default)
    if Tensor.needsGrad(self) {
      Tensor.record("BernoulliBackward0", inputs: [self], outputs: [out]) { ctx in
        [Tensor.zeros(like: ctx.grad)]
      }
    }
    return out
  }

  // MARK: in-place fills

  /// Overwrites every element with a uniform sample from [low, high) (`uniform_`).
  /// Throws for a leaf that requires grad; on a tensor with history the gradient becomes zero.
  @discardableResult
  public func uniformInPlace(low: Double = 0, high: Double = 1, generator: Generator? = nil)
    throws -> Tensor
  {
    RandomKernel.checkUniform(low: low, high: high, dtype: dtype)
    let gen = generator ?? .default
    return try randomFill(name: "UniformBackward0") { out in
      RandomKernel.uniform(out, layout: self, low: low, high: high, gen)
    }
  }

  /// Overwrites every element with a normal sample (`normal_`).
  /// Throws for a leaf that requires grad; on a tensor with history the gradient becomes zero.
  @discardableResult
  public func normalInPlace(mean: Double = 0, std: Double = 1, generator: Generator? = nil)
    throws -> Tensor
  {
    RandomKernel.checkNormal(std: std, dtype: dtype)
    let gen = generator ?? .default
    return try randomFill(name: "NormalBackward0") { out in
      RandomKernel.normal(out, layout: self, mean: mean, std: std, gen)
    }
  }

  /// Overwrites every element with an integer drawn uniformly from [low, high) (`random_(from, to)`).
  @discardableResult
  public func randomInPlace(low: Int = 0, high: Int, generator: Generator? = nil) throws -> Tensor {
    RandomKernel.checkRange(low: low, high: high, op: "random_")
    let gen = generator ?? .default
    return try randomFill(name: "RandomBackward0") { out in
      RandomKernel.integers(out, layout: self, low: low, high: high, gen)
    }
  }

  /// Overwrites every element with 1 (probability `p`) or 0 (`bernoulli_(p)`).
  @discardableResult
  public func bernoulliInPlace(p: Double, generator: Generator? = nil) throws -> Tensor {
    RandomKernel.checkProbability(p)
    let gen = generator ?? .default
    return try randomFill(name: "BernoulliBackward2") { out in
      RandomKernel.bernoulli(out, layout: self, p: p, gen)
    }
  }

  /// Runs a random fill as an in-place op: `fill` writes into its argument in this tensor's memory
  /// order, either this tensor itself or (when history is recorded) a fresh contiguous tensor
  /// whose gradient to the old value is zero.
  private func randomFill(name: String, _ fill: (Tensor) -> Void) throws -> Tensor {
    let targetShape = shape
    let targetDType = dtype
    return try inPlace(
      direct: { fill(self) },
      differentiable: { source in
        let out = Tensor(uninitializedShape: targetShape, dtype: targetDType)
        fill(out)
        if Tensor.needsGrad(source) {
          Tensor.record(name, inputs: [source], outputs: [out]) { ctx in
            [Tensor.zeros(like: ctx.grad)]
          }
        }
        return out
      })
  }
}
