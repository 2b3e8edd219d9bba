import Ember
import Foundation

extension CaseBuilder {
  /// A random non-empty list of distinct dims of a rank-`r` tensor, some written negatively.
  mutating func dims(rank r: Int) -> [Int] {
    var ds = (0..<r).filter { _ in chance(0.5) }
    if ds.isEmpty { ds = [int(0...(r - 1))] }
    return shuffledDims(ds, rank: r)
  }

  mutating func shuffledDims(_ ds: [Int], rank r: Int) -> [Int] {
    rng.shuffled(ds).map { chance(0.3) ? $0 - r : $0 }
  }

  mutating func dim(rank r: Int) -> Int {
    let d = int(0...(r - 1))
    return chance(0.3) ? d - r : d
  }
}

extension PropertyCatalog {
  /// A reduction over random dims (or all) with random keepdim, against `f` on each group.
  static func reduction(
    _ name: String, kind: ValueKind = .general, zero: Double = 0.1, smooth: Bool = true,
    minGroup: Int = 0, f32: Double? = 1e-4,
    all: (@Sendable (Tensor) -> Tensor)? = nil,
    _ op: @escaping @Sendable (Tensor, [Int], Bool) -> Tensor,
    _ f: @escaping @Sendable ([Double]) -> Double
  ) -> OpProperty {
    OpProperty(name, cases: 125, secondOrder: smooth) { b in
      var s: [Int]
      var dims: [Int]?
      repeat {
        s = b.shape(rank: 0...3, zero: zero)
        dims = s.isEmpty || (all != nil && b.chance(0.25)) ? nil : b.dims(rank: s.count)
      } while (dims ?? Array(s.indices)).map({ s[($0 + s.count) % Swift.max(s.count, 1)] })
        .reduce(1, *) < minGroup
      let keepdim = b.chance(0.5)
      b.input(s, kind)
      b.note("dims \(dims.map { "\($0)" } ?? "all"), keepdim \(keepdim)")
      return b.instance(
        float32: f32,
        reference: { $0[0].reduce(dims: dims, keepdim: dims == nil ? false : keepdim, f) }
      ) { x in
        guard let dims else { return all?(x[0]) ?? op(x[0], Array(0..<s.count), false) }
        return op(x[0], dims, keepdim)
      }
    }
  }

  /// An op along one dim (softmax, cumsum), against `f` on each line.
  static func alongDim(
    _ name: String, f32: Double? = 1e-4, _ op: @escaping @Sendable (Tensor, Int) -> Tensor,
    _ f: @escaping @Sendable ([Double]) -> [Double]
  ) -> OpProperty {
    OpProperty(name, cases: 125) { b in
      let s = b.shape(rank: 0...3, zero: 0.1)
      let d = s.isEmpty ? b.pick([0, -1]) : b.dim(rank: s.count)
      b.input(s)
      b.note("dim \(d)")
      return b.instance(float32: f32, reference: { $0[0].alongDim(d, f) }) { op($0[0], d) }
    }
  }

  static func logSumExp(_ xs: [Double]) -> Double {
    guard let m = xs.max() else { return -.infinity }
    return m + Foundation.log(xs.map { Foundation.exp($0 - m) }.reduce(0, +))
  }

  static func variance(_ xs: [Double], correction: Double) -> Double {
    let mean = xs.reduce(0, +) / Double(xs.count)
    return xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (Double(xs.count) - correction)
  }

  static let reductions: [OpProperty] = [
    reduction(
      "sum", all: { $0.sum() }, { x, d, k in x.sum(dim: d, keepdim: k) }, { $0.reduce(0, +) }),
    reduction(
      "mean", minGroup: 1, all: { $0.mean() }, { x, d, k in x.mean(dim: d, keepdim: k) },
      { $0.reduce(0, +) / Double($0.count) }),
    OpProperty("prod", cases: 125) { b in
      let s = b.shape(rank: 0...3, zero: 0.1)
      let d: Int? = s.isEmpty || b.chance(0.3) ? nil : b.dim(rank: s.count)
      let keepdim = b.chance(0.5)
      b.note("dim \(d.map { "\($0)" } ?? "all"), keepdim \(keepdim)")
      b.input(s)
      return b.instance(
        reference: { x in
          d.map { x[0].reduce(dims: [$0], keepdim: keepdim) { $0.reduce(1, *) } }
            ?? x[0].reduce(dims: nil, keepdim: false) { $0.reduce(1, *) }
        }
      ) { x in d.map { x[0].prod(dim: $0, keepdim: keepdim) } ?? x[0].prod() }
    },
    reduction(
      "amax", kind: .distinct, zero: 0, smooth: false, minGroup: 1,
      { x, d, k in x.amax(dim: d, keepdim: k) }, { $0.max()! }),
    reduction(
      "amin", kind: .distinct, zero: 0, smooth: false, minGroup: 1,
      { x, d, k in x.amin(dim: d, keepdim: k) }, { $0.min()! }),
    reduction(
      "var", zero: 0, minGroup: 2, f32: 1e-3, { x, d, k in x.var(dim: d, keepdim: k) },
      { variance($0, correction: 1) }),
    reduction(
      "varBiased", zero: 0, minGroup: 1, f32: 1e-3,
      { x, d, k in x.var(dim: d, correction: 0, keepdim: k) }, { variance($0, correction: 0) }),
    reduction(
      "std", zero: 0, minGroup: 2, f32: 1e-3, { x, d, k in x.std(dim: d, keepdim: k) },
      { variance($0, correction: 1).squareRoot() }),
    reduction(
      "logsumexp", zero: 0, minGroup: 1, { x, d, k in x.logsumexp(dim: d, keepdim: k) },
      logSumExp),
    reduction(
      "norm", zero: 0, minGroup: 1, { x, d, k in x.norm(dim: d, keepdim: k) },
      { $0.map { $0 * $0 }.reduce(0, +).squareRoot() }),
    reduction(
      "norm1", zero: 0, smooth: false, minGroup: 1, { x, d, k in x.norm(p: 1, dim: d, keepdim: k) },
      { $0.map { Swift.abs($0) }.reduce(0, +) }),
    OpProperty("maxAll", cases: 100, secondOrder: false) { b in
      b.input(b.shape(rank: 0...3, size: 1...3), .distinct)
      return b.instance(reference: { NaiveArray(shape: [], values: [$0[0].values.max()!]) }) {
        $0[0].max()
      }
    },
    OpProperty("maxDim", cases: 100, secondOrder: false) { b in
      let s = b.shape(rank: 1...3)
      let d = b.dim(rank: s.count)
      let keepdim = b.chance(0.5)
      b.note("dim \(d), keepdim \(keepdim)")
      b.input(s, .distinct)
      return b.instance(reference: { $0[0].reduce(dims: [d], keepdim: keepdim) { $0.max()! } }) {
        $0[0].max(dim: d, keepdim: keepdim).values
      }
    },
    OpProperty("minDim", cases: 100, secondOrder: false) { b in
      let s = b.shape(rank: 1...3)
      let d = b.dim(rank: s.count)
      let keepdim = b.chance(0.5)
      b.note("dim \(d), keepdim \(keepdim)")
      b.input(s, .distinct)
      return b.instance(reference: { $0[0].reduce(dims: [d], keepdim: keepdim) { $0.min()! } }) {
        $0[0].min(dim: d, keepdim: keepdim).values
      }
    },
    alongDim(
      "softmax", { $0.softmax(dim: $1) },
      { xs in
        let l = logSumExp(xs)
        return xs.map { Foundation.exp($0 - l) }
      }),
    alongDim(
      "logSoftmax", { $0.logSoftmax(dim: $1) },
      { xs in
        let l = logSumExp(xs)
        return xs.map { $0 - l }
      }),
    alongDim(
      "cumsum", { $0.cumsum(dim: $1) },
      { xs in
        var acc = 0.0
        return xs.map {
          acc += $0
          return acc
        }
      }),
  ]
}
