// numpy's legacy `np.random.RandomState`, the generator common.py draws the benchmark's initial
// weights, batches and MNIST epoch orders with, so Ember starts from PyTorch's exact data.
// Written from numpy's documented algorithms (MT19937 with `init_genrand` seeding, 53-bit
// doubles, the polar Gauss method with its cached second value, masked rejection for bounded
// integers, Fisher-Yates for `permutation`); checked bit for bit against numpy by
// Benchmarks/pytorch/check_random_state.py (`ember-bench randomcheck`).

import Ember

#if canImport(Glibc)
  import Glibc
#endif

struct NumPyRandomState {
  /// numpy's MT19937 is PyTorch's (`init_genrand` seeding from the low 32 bits, the same twist
  /// and tempering), so Ember's generator gives its raw 32-bit words.
  private let mt: Generator
  private var cachedGauss: Double?

  /// `np.random.RandomState(seed)` for an integer seed in 0 ..< 2^32.
  init(seed: UInt32) {
    mt = Generator(seed: UInt64(seed))
  }

  /// The next tempered 32-bit output.
  mutating func nextUInt32() -> UInt32 { mt.random() }

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
