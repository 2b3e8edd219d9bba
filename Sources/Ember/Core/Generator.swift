import CEmberKernels
import Synchronization

/// A seedable source of random bits, bit-compatible with PyTorch's CPU generator
/// (`torch.Generator()`, CPUGeneratorImpl).
///
/// The engine is the 32-bit Mersenne Twister (mt19937) seeded the way PyTorch seeds it
/// (`state[0] = seed & 0xffffffff`), so the same seed gives the same stream of 32-bit words
/// (`random()`) and 64-bit words (`random64()`, two words, the first one high), and the random
/// factories in Tensor+Random.swift turn them into values the way PyTorch's CPU kernels do.
/// The generator also keeps PyTorch's cached second Box-Muller sample, so `randn([1])` twice
/// gives the same pair of numbers as PyTorch.
///
/// Each generator guards its state with a `Mutex`: one generator may be shared between threads
/// (each fill takes the lock once, as PyTorch's kernels do).
public final class Generator: Sendable {
  /// The seed a fresh generator starts with when none is given (PyTorch's `default_rng_seed_val`).
  public static let defaultSeed: UInt64 = 67_280_421_310_721

  /// The generator used when no generator is passed (`torch.default_generator`): the
  /// process-wide one, or the one ``withDefaultGenerator(_:_:)`` put in place for the current
  /// task or thread.
  public static var `default`: Generator { scopedDefault ?? processDefault }

  /// The process-wide default generator.
  public static let processDefault = Generator()

  @TaskLocal static var scopedDefault: Generator?

  let engine: Mutex<RandomEngine>

  /// A generator seeded with `seed` (`torch.Generator().manual_seed(seed)`).
  public init(seed: UInt64 = Generator.defaultSeed) {
    engine = Mutex(RandomEngine(seed: seed))
  }

  /// Re-seeds the generator and forgets any cached normal sample (`manual_seed`).
  @discardableResult
  public func manualSeed(_ seed: UInt64) -> Generator {
    locked { $0.reseed(seed) }
    return self
  }

  /// The seed the generator was last seeded with (`initial_seed()`).
  public var initialSeed: UInt64 { locked { $0.mt.seed } }

  /// Re-seeds the generator from the system's entropy source and returns the new seed (`seed()`).
  @discardableResult
  public func seed() -> UInt64 {
    let s = UInt64.random(in: 0...UInt64.max)
    manualSeed(s)
    return s
  }

  /// A copy of the full generator state (`get_state()`); assigning it back (`set_state()`)
  /// resumes the stream exactly where it was.
  public var state: State {
    get { locked { $0.snapshot() } }
    set { locked { $0.restore(newValue) } }
  }

  /// The next raw 32-bit word of the stream (PyTorch's `CPUGeneratorImpl::random()`).
  public func random() -> UInt32 { locked { $0.mt.next() } }

  /// The next raw 64-bit word: two 32-bit words, the first one high (`random64()`).
  public func random64() -> UInt64 { locked { $0.random64() } }

  /// The engine under its lock, the lock made visible to ThreadSanitizer (see sanitizer.c).
  @inline(__always)
  private func locked<R: Sendable>(_ body: (inout RandomEngine) -> R) -> R {
    let key = Unmanaged.passUnretained(self).toOpaque()
    return engine.withLock { e in
      ember_lock_acquired(key)
      defer { ember_lock_releasing(key) }
      return body(&e)
    }
  }

  /// Runs `body` with exclusive access to the engine (one lock for a whole fill).
  func withEngine<R: Sendable>(_ body: (inout RandomEngine) -> R) -> R {
    locked { e in body(&e) }
  }

  /// A saved generator state (PyTorch's `get_state()` byte tensor, as a value).
  public struct State: Sendable, Equatable {
    /// The 624 Mersenne Twister words.
    public var words: [UInt32]
    /// Index of the next word to temper.
    public var next: Int
    /// Words left before the next twist (1 right after seeding).
    public var left: Int
    /// The seed the state grew from.
    public var seed: UInt64
    /// The cached second Box-Muller sample of the double-precision normal sampler.
    public var nextDoubleNormal: Double?
    /// The cached second Box-Muller sample of the single-precision normal sampler.
    public var nextFloatNormal: Float?

    /// A state from its parts (as saved in a checkpoint). `words` must hold 624 words.
    public init(
      words: [UInt32], next: Int, left: Int, seed: UInt64, nextDoubleNormal: Double?,
      nextFloatNormal: Float?
    ) {
      precondition(words.count == 624, "Generator.State: expected 624 words, got \(words.count)")
      self.words = words
      self.next = next
      self.left = left
      self.seed = seed
      self.nextDoubleNormal = nextDoubleNormal
      self.nextFloatNormal = nextFloatNormal
    }
  }
}

/// Runs `body` with `generator` as the default generator of the current task (or thread):
/// `manualSeed`, layer initialization, dropout and shuffling inside draw from it, so code that
/// seeds and draws can run beside other such code (tests in parallel, two trainings in two tasks)
/// without mixing their streams. Outside, the process-wide generator is untouched.
public func withDefaultGenerator<R>(_ generator: Generator = Generator(), _ body: () throws -> R)
  rethrows -> R
{
  try Generator.$scopedDefault.withValue(generator) { try body() }
}

/// ``withDefaultGenerator(_:_:)`` for async code (the generator follows the task).
public func withDefaultGenerator<R>(
  _ generator: Generator = Generator(), _ body: () async throws -> R
) async rethrows -> R {
  try await Generator.$scopedDefault.withValue(generator) { try await body() }
}

/// Re-seeds the default generator (`torch.manual_seed`), returning it.
@discardableResult
public func manualSeed(_ seed: UInt64) -> Generator {
  Generator.default.manualSeed(seed)
}

/// The seed of the default generator (`torch.initial_seed()`).
public func initialSeed() -> UInt64 { Generator.default.initialSeed }

// MARK: - engine

/// PyTorch's `mt19937_engine` (MT19937RNGEngine.h): the 624-word state lives in its own buffer so
/// drawing a word is a pointer read, and the struct is non-copyable so it is owned exactly once.
struct MT19937: ~Copyable {
  static let n = 624
  static let m = 397
  static let matrixA: UInt32 = 0x9908_b0df
  static let upperMask: UInt32 = 0x8000_0000
  static let lowerMask: UInt32 = 0x7fff_ffff

  let words: UnsafeMutablePointer<UInt32>
  var index = 0
  var left = 1
  var seed: UInt64 = 0

  init(seed: UInt64) {
    words = .allocate(capacity: MT19937.n)
    reseed(seed)
  }

  deinit { words.deallocate() }

  /// `init_with_uint32`: only the low 32 bits of the seed reach the state, as in PyTorch.
  mutating func reseed(_ seed: UInt64) {
    self.seed = seed
    words[0] = UInt32(truncatingIfNeeded: seed)
    for j in 1..<MT19937.n {
      let prev = words[j - 1]
      words[j] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(j)
    }
    left = 1
    index = 0
  }

  /// The next tempered 32-bit word.
  @inline(__always)
  mutating func next() -> UInt32 {
    left -= 1
    if left == 0 { twist() }
    var y = words[index]
    index += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c_5680
    y ^= (y << 15) & 0xefc6_0000
    y ^= y >> 18
    return y
  }

  @inline(__always)
  private static func mix(_ u: UInt32, _ v: UInt32) -> UInt32 {
    (((u & upperMask) | (v & lowerMask)) >> 1) ^ ((v & 1) != 0 ? matrixA : 0)
  }

  /// `next_state()`: regenerates all 624 words.
  mutating func twist() {
    let p = words
    let n = MT19937.n
    let m = MT19937.m
    for k in 0..<(n - m) {
      p[k] = p[k + m] ^ MT19937.mix(p[k], p[k + 1])
    }
    for k in (n - m)..<(n - 1) {
      p[k] = p[k + m - n] ^ MT19937.mix(p[k], p[k + 1])
    }
    p[n - 1] = p[m - 1] ^ MT19937.mix(p[n - 1], p[0])
    left = n
    index = 0
  }
}

/// The engine plus PyTorch's cached normal samples (the state behind a ``Generator``'s lock).
struct RandomEngine: ~Copyable {
  var mt: MT19937
  var nextDoubleNormal: Double?
  var nextFloatNormal: Float?

  init(seed: UInt64) { mt = MT19937(seed: seed) }

  /// `set_current_seed`: a fresh engine and no cached normal samples.
  mutating func reseed(_ seed: UInt64) {
    mt.reseed(seed)
    nextDoubleNormal = nil
    nextFloatNormal = nil
  }

  func snapshot() -> Generator.State {
    Generator.State(
      words: Array(UnsafeBufferPointer(start: mt.words, count: MT19937.n)), next: mt.index,
      left: mt.left, seed: mt.seed, nextDoubleNormal: nextDoubleNormal,
      nextFloatNormal: nextFloatNormal)
  }

  mutating func restore(_ s: Generator.State) {
    precondition(
      s.words.count == MT19937.n && s.left >= 1 && s.left <= MT19937.n && s.next >= 0
        && s.next + s.left <= MT19937.n + 1,
      "Generator.state: invalid mt19937 state (\(s.words.count) words, next \(s.next), left \(s.left))"
    )
    for j in 0..<MT19937.n { mt.words[j] = s.words[j] }
    mt.index = s.next
    mt.left = s.left
    mt.seed = s.seed
    nextDoubleNormal = s.nextDoubleNormal
    nextFloatNormal = s.nextFloatNormal
  }

  /// `random()`.
  @inline(__always)
  mutating func random() -> UInt32 { mt.next() }

  /// `random64()`: the first word is the high half.
  @inline(__always)
  mutating func random64() -> UInt64 {
    let hi = UInt64(mt.next())
    let lo = UInt64(mt.next())
    return (hi << 32) | lo
  }

  /// `uniform_real_distribution<float>(0, 1)`: 24 random bits scaled to [0, 1).
  @inline(__always)
  mutating func unitFloat() -> Float {
    Float(mt.next() & 0x00ff_ffff) * (1 / 16_777_216 as Float)
  }

  /// `uniform_real_distribution<double>(0, 1)`: 53 bits of `random64()` scaled to [0, 1).
  @inline(__always)
  mutating func unitDouble() -> Double {
    Double(random64() & 0x001f_ffff_ffff_ffff) * (1 / 9_007_199_254_740_992 as Double)
  }

  /// `normal_distribution<double>(mean, std)`: Box-Muller on two doubles, caching the sine
  /// sample for the next call; the final `val * std + mean` is fused as in PyTorch's x86 builds.
  @inline(__always)
  mutating func normalDouble(mean: Double, std: Double) -> Double {
    if let cached = nextDoubleNormal {
      nextDoubleNormal = nil
      return RandomKernel.fusedAdd(mean, cached, std)
    }
    let u1 = unitDouble()
    let u2 = unitDouble()
    let r = (-2.0 * Double.log1p(-u2)).squareRoot()
    let theta = 2.0 * Double.pi * u1
    nextDoubleNormal = r * Double.sin(theta)
    return RandomKernel.fusedAdd(mean, r * Double.cos(theta), std)
  }
}
