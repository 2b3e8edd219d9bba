// numpy's legacy `np.random.RandomState`, the generator common.py draws the benchmark's initial
// weights, batches and MNIST epoch orders with, so Ember starts from PyTorch's exact data.
// Written from numpy's documented algorithms (MT19937 with `init_genrand` seeding, 53-bit
// doubles, the polar Gauss method with its cached second value, masked rejection for bounded
// integers, Fisher-Yates for `permutation`); checked bit for bit against numpy by
// Benchmarks/pytorch/check_random_state.py (`ember-bench randomcheck`).

#if canImport(Glibc)
  import Glibc
#endif

struct NumPyRandomState {
  private var key = [UInt32](repeating: 0, count: 624)
  private var pos = 624
  private var cachedGauss: Double?

  /// `np.random.RandomState(seed)` for an integer seed in 0 ..< 2^32.
  init(seed: UInt32) {
    var s = seed
    for i in 0..<624 {
      key[i] = s
      s = 1_812_433_253 &* (s ^ (s >> 30)) &+ UInt32(i + 1)
    }
    pos = 624
  }

  /// Refills the 624-word state (the MT19937 twist).
  private mutating func twist() {
    let upper: UInt32 = 0x8000_0000
    let lower: UInt32 = 0x7fff_ffff
    let matrixA: UInt32 = 0x9908_b0df
    for i in 0..<624 {
      let y = (key[i] & upper) | (key[(i + 1) % 624] & lower)
      key[i] = key[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : matrixA)
    }
    pos = 0
  }

  /// The next tempered 32-bit output.
  mutating func nextUInt32() -> UInt32 {
    if pos == 624 { twist() }
    var y = key[pos]
    pos += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c_5680
    y ^= (y << 15) & 0xefc6_0000
    y ^= y >> 18
    return y
  }

  /// `random_sample()`: a double in [0, 1) from two outputs (27 + 26 bits).
  mutating func nextDouble() -> Double {
    let a = Double(nextUInt32() >> 5)
    let b = Double(nextUInt32() >> 6)
    return (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
  }

  /// `uniform(low, high, count)` as float64 (`low + (high - low) * random_sample()`).
  mutating func uniform(_ low: Double, _ high: Double, count: Int) -> [Double] {
    let range = high - low
    return (0..<count).map { _ in low + range * nextDouble() }
  }

  /// One standard normal (legacy `gauss`: polar method, the second value kept for the next call).
  mutating func gauss() -> Double {
    if let g = cachedGauss {
      cachedGauss = nil
      return g
    }
    var x1 = 0.0
    var x2 = 0.0
    var r2 = 0.0
    repeat {
      x1 = 2 * nextDouble() - 1
      x2 = 2 * nextDouble() - 1
      r2 = x1 * x1 + x2 * x2
    } while r2 >= 1 || r2 == 0
    let f = (-2 * log(r2) / r2).squareRoot()
    cachedGauss = f * x1
    return f * x2
  }

  /// `randn(count)`.
  mutating func randn(count: Int) -> [Double] { (0..<count).map { _ in gauss() } }

  /// `randint(low, high, count)` (int64, high exclusive): masked rejection on 32-bit outputs, as
  /// legacy numpy does for ranges below 2^32.
  mutating func randint(_ low: Int, _ high: Int, count: Int) -> [Int64] {
    let range = UInt64(high - low - 1)
    precondition(range < 0xffff_ffff, "randint: range beyond 32 bits is not ported")
    if range == 0 { return [Int64](repeating: Int64(low), count: count) }
    let mask = UInt32(smallestMask(range))
    return (0..<count).map { _ in
      var v: UInt32
      repeat { v = nextUInt32() & mask } while UInt64(v) > range
      return Int64(low) + Int64(v)
    }
  }

  /// A value in 0 ... max by masked rejection (numpy's `random_interval`).
  mutating func interval(_ max: Int) -> Int {
    if max == 0 { return 0 }
    let mask = smallestMask(UInt64(max))
    precondition(max <= 0xffff_ffff, "interval: 64-bit ranges are not ported")
    var v: UInt64
    repeat { v = UInt64(nextUInt32()) & mask } while v > UInt64(max)
    return Int(v)
  }

  /// `permutation(n)`: arange(n) shuffled from the end (Fisher-Yates with `interval`).
  mutating func permutation(_ n: Int) -> [Int] {
    var a = Array(0..<n)
    var i = n - 1
    while i >= 1 {
      let j = interval(i)
      a.swapAt(i, j)
      i -= 1
    }
    return a
  }

  private func smallestMask(_ x: UInt64) -> UInt64 {
    var m = x
    m |= m >> 1
    m |= m >> 2
    m |= m >> 4
    m |= m >> 8
    m |= m >> 16
    m |= m >> 32
    return m
  }
}
