import Ember
import Foundation
import Testing

// The machinery of the property-based gradient tests: a seeded generator, random shapes, values
// and layouts, float64 reference arrays, and the runner that checks one random case of an op.

/// SplitMix64: seedable and cheap; every case has a seed of its own, printed when it fails.
struct PropertyRNG {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func int(_ range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int(next() % UInt64(range.count))
  }

  mutating func double(_ lo: Double, _ hi: Double) -> Double {
    lo + (hi - lo) * Double(next() >> 11) / Double(UInt64(1) << 53)
  }

  mutating func chance(_ p: Double) -> Bool { double(0, 1) < p }

  mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...(xs.count - 1))] }

  mutating func shuffled<T>(_ xs: [T]) -> [T] {
    var a = xs
    for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(0...i)) }
    return a
  }

  /// A seed for case `index` of the property `name` under the run's base seed.
  static func caseSeed(base: UInt64, name: String, index: Int) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    var r = PropertyRNG(seed: base ^ h ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93))
    return r.next()
  }
}

/// What values an input holds (chosen so gradcheck never sits on a kink or a pole).
enum ValueKind {
  /// Uniform in [-2, 2], at least 0.1 away from 0 (abs, relu, reciprocal).
  case general
  /// Uniform in [0.5, 2.5] (log, sqrt, pow bases).
  case positive
  /// Pairwise at least 0.06 apart (max, min, sort-like ops: no ties).
  case distinct
  /// As `distinct`, on a grid shifted by half a step: never within 0.02 of a `distinct` value.
  case distinctShifted
  /// Uniform in [0.1, 0.9] (probabilities).
  case unit
  /// Uniform in [-1, 1], at least 0.1 away from 0 (tan).
  case small
}

/// How an input reaches the op: the leaf is always a contiguous float64 base; the op sees a view.
enum Layout: CustomStringConvertible {
  case contiguous
  /// `base.transpose(d0, d1)`.
  case transposed(Int, Int)
  /// `base.narrow(dim, start: start, length: n)` of a base `extra` longer in `dim`.
  case narrowed(dim: Int, start: Int, extra: Int)
  /// Every other element of a base twice as long in `dim`, from 1 (`base[..., 1::2]`).
  case strided(dim: Int)
  /// `base.expand(shape)` of a base of size 1 in `dims`.
  case expanded(dims: [Int])

  var description: String {
    switch self {
    case .contiguous: "contiguous"
    case .transposed(let a, let b): "transposed(\(a),\(b))"
    case .narrowed(let d, let s, let e): "narrowed(dim \(d), start \(s), base +\(e))"
    case .strided(let d): "strided(dim \(d), step 2, offset 1)"
    case .expanded(let d): "expanded(dims \(d))"
    }
  }

  func baseShape(for shape: [Int]) -> [Int] {
    var s = shape
    switch self {
    case .contiguous: break
    case .transposed(let a, let b): s.swapAt(a, b)
    case .narrowed(let d, _, let e): s[d] += e
    case .strided(let d): s[d] *= 2
    case .expanded(let dims): for d in dims { s[d] = 1 }
    }
    return s
  }

  func apply(_ base: Tensor, shape: [Int]) -> Tensor {
    switch self {
    case .contiguous: return base
    case .transposed(let a, let b): return base.transpose(a, b)
    case .narrowed(let d, let s, _): return base.narrow(d, start: s, length: shape[d])
    case .strided(let d): return base.slice(d, start: 1, end: nil, step: 2)
    case .expanded: return base.expand(shape)
    }
  }

  static func random(_ rng: inout PropertyRNG, shape: [Int], expand: Bool) -> Layout {
    let r = shape.count
    if r == 0 { return .contiguous }
    var options: [Layout] = [.contiguous, .narrowed(dim: rng.int(0...(r - 1)), start: 1, extra: 2)]
    options.append(.strided(dim: rng.int(0...(r - 1))))
    if r >= 2 {
      let a = rng.int(0...(r - 2))
      options.append(.transposed(a, rng.int((a + 1)...(r - 1))))
    }
    if expand {
      let dims = (0..<r).filter { shape[$0] > 1 && rng.chance(0.6) }
      if !dims.isEmpty { options.append(.expanded(dims: dims)) }
    }
    return rng.pick(options)
  }
}

/// A float64 reference result: a shape and row-major values.
struct NaiveArray {
  var shape: [Int]
  var values: [Double]

  init(shape: [Int], values: [Double]) {
    self.shape = shape
    self.values = values
  }

  init(_ t: Tensor) {
    shape = t.shape
    values = t.toArray()
  }

  var count: Int { shape.reduce(1, *) }
  subscript(_ index: [Int]) -> Double { values[NaiveArray.linear(index, shape)] }

  static func linear(_ index: [Int], _ shape: [Int]) -> Int {
    var off = 0
    for (i, n) in zip(index, shape) { off = off * n + i }
    return off
  }

  /// Every index of `shape` in row-major order.
  static func indices(_ shape: [Int]) -> [[Int]] {
    let n = shape.reduce(1, *)
    if n == 0 { return [] }
    var out: [[Int]] = []
    out.reserveCapacity(n)
    var idx = [Int](repeating: 0, count: shape.count)
    for _ in 0..<n {
      out.append(idx)
      var d = shape.count - 1
      while d >= 0 {
        idx[d] += 1
        if idx[d] < shape[d] { break }
        idx[d] = 0
        d -= 1
      }
    }
    return out
  }

  func map(_ f: (Double) -> Double) -> NaiveArray {
    NaiveArray(shape: shape, values: values.map(f))
  }

  static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let r = Swift.max(a.count, b.count)
    let pa = [Int](repeating: 1, count: r - a.count) + a
    let pb = [Int](repeating: 1, count: r - b.count) + b
    return zip(pa, pb).map { $0 == 1 ? $1 : $0 }
  }

  /// The element of `self` that broadcasting reads for index `out` of a larger shape.
  func broadcastRead(_ out: [Int]) -> Double {
    let lead = out.count - shape.count
    var idx = [Int](repeating: 0, count: shape.count)
    for d in 0..<shape.count { idx[d] = shape[d] == 1 ? 0 : out[lead + d] }
    return self[idx]
  }

  static func combine(_ xs: [NaiveArray], _ f: ([Double]) -> Double) -> NaiveArray {
    let shape = xs.map(\.shape).reduce([], broadcastShape)
    let values = indices(shape).map { i in f(xs.map { $0.broadcastRead(i) }) }
    return NaiveArray(shape: shape, values: values)
  }

  /// Reduces `dims` (all when nil) with `f`, as `sum(dim:keepdim:)` does.
  func reduce(dims: [Int]?, keepdim: Bool, _ f: ([Double]) -> Double) -> NaiveArray {
    let r = shape.count
    let m = Swift.max(r, 1)
    let reduced = Set((dims ?? Array(0..<r)).map { ($0 % m + m) % m })
    let keyShape = (0..<r).map { reduced.contains($0) ? 1 : shape[$0] }
    var groups = [[Double]](repeating: [], count: keyShape.reduce(1, *))
    for idx in NaiveArray.indices(shape) {
      let key = (0..<r).map { reduced.contains($0) ? 0 : idx[$0] }
      groups[NaiveArray.linear(key, keyShape)].append(self[idx])
    }
    let outShape = keepdim ? keyShape : (0..<r).filter { !reduced.contains($0) }.map { shape[$0] }
    return NaiveArray(shape: outShape, values: groups.map(f))
  }

  /// Applies `f` to each line along `dim` (softmax, cumsum).
  func alongDim(_ dim: Int, _ f: ([Double]) -> [Double]) -> NaiveArray {
    let r = shape.count
    if r == 0 { return NaiveArray(shape: [], values: f(values)) }
    let d = (dim + r) % r
    var out = values
    let keyShape = (0..<r).map { $0 == d ? 1 : shape[$0] }
    for key in NaiveArray.indices(keyShape) {
      var positions: [Int] = []
      for i in 0..<shape[d] {
        var idx = key
        idx[d] = i
        positions.append(NaiveArray.linear(idx, shape))
      }
      let line = f(positions.map { values[$0] })
      for (p, v) in Swift.zip(positions, line) { out[p] = v }
    }
    return NaiveArray(shape: shape, values: out)
  }
}

/// One input of a case: a float64 base (the gradcheck leaf) and the layout the op sees it in.
struct PropertyInput {
  let base: Tensor
  let layout: Layout
  let shape: [Int]
  var view: Tensor { layout.apply(base, shape: shape) }
}

/// Draws shapes and inputs for one case; records what it drew for the failure message.
struct CaseBuilder {
  var rng: PropertyRNG
  var inputs: [PropertyInput] = []
  var notes: [String] = []

  init(seed: UInt64) { rng = PropertyRNG(seed: seed) }

  mutating func int(_ range: ClosedRange<Int>) -> Int { rng.int(range) }
  mutating func chance(_ p: Double) -> Bool { rng.chance(p) }
  mutating func pick<T>(_ xs: [T]) -> T { rng.pick(xs) }
  mutating func note(_ s: String) { notes.append(s) }

  /// A random shape of `rank` dims of `size` each (a size-0 dim with probability `zero`), with at
  /// most `maxCount` elements.
  mutating func shape(
    rank: ClosedRange<Int>, size: ClosedRange<Int> = 1...3, zero: Double = 0, maxCount: Int = 12
  ) -> [Int] {
    while true {
      let r = rng.int(rank)
      var s = (0..<r).map { _ in rng.int(size) }
      if r > 0 && rng.chance(zero) { s[rng.int(0...(r - 1))] = 0 }
      if s.reduce(1, *) <= maxCount { return s }
    }
  }

  /// A shape that broadcasts against `shape`: some leading dims dropped, some dims set to 1.
  mutating func broadcastable(to shape: [Int]) -> [Int] {
    let drop = rng.int(0...shape.count)
    return shape.dropFirst(drop).map { rng.chance(0.3) ? 1 : $0 }
  }

  mutating func values(_ n: Int, _ kind: ValueKind) -> [Double] {
    switch kind {
    case .general, .small:
      let m = kind == .small ? 1.0 : 2.0
      return (0..<n).map { _ in
        let v = rng.double(0.1, m)
        return rng.chance(0.5) ? -v : v
      }
    case .positive: return (0..<n).map { _ in rng.double(0.5, 2.5) }
    case .unit: return (0..<n).map { _ in rng.double(0.1, 0.9) }
    case .distinct, .distinctShifted:
      let shift = kind == .distinct ? 0.025 : 0.075
      let grid = (0..<n).map {
        (Double($0) - Double(n) / 2) * 0.1 + shift + rng.double(-0.015, 0.015)
      }
      return rng.shuffled(grid)
    }
  }

  /// Adds a float64 input of logical `shape`; returns its position.
  @discardableResult
  mutating func input(
    _ shape: [Int], _ kind: ValueKind = .general, layout: Bool = true, expand: Bool = true,
    grad: Bool = true
  ) -> Int {
    let l =
      layout
      ? Layout.random(
        &rng, shape: shape, expand: expand && kind != .distinct && kind != .distinctShifted)
      : .contiguous
    let baseShape = l.baseShape(for: shape)
    let base = Tensor(shape: baseShape, scalars: values(baseShape.reduce(1, *), kind))
    if grad { try! base.setRequiresGrad() }
    inputs.append(PropertyInput(base: base, layout: l, shape: shape))
    notes.append("input \(inputs.count - 1): shape \(shape) \(l)\(grad ? "" : " (no grad)")")
    return inputs.count - 1
  }

  /// An int64 tensor of `shape` with values in `range`.
  mutating func indices(_ shape: [Int], _ range: ClosedRange<Int>) -> Tensor {
    let n = shape.reduce(1, *)
    let vs = (0..<n).map { _ in Int64(rng.int(range)) }
    notes.append("indices \(shape): \(vs)")
    return Tensor(shape: shape, scalars: vs)
  }
}

/// One random case: its inputs, the op over their views, and what to compare it with.
struct PropertyInstance {
  var inputs: [PropertyInput]
  var op: ([Tensor]) -> Tensor
  /// Float64 reference from the views (nil: layout invariance and float32 only).
  var reference: (([NaiveArray]) -> NaiveArray)?
  /// Tolerance of the float32 run against float64 (nil: skip that comparison).
  var float32Tolerance: Double?
  var notes: [String]
}

/// An op's property: how to draw a case, how many cases a run checks, whether it is smooth.
struct OpProperty: Sendable, CustomTestStringConvertible {
  let name: String
  let cases: Int
  /// Runs gradgradcheck on every third case.
  let secondOrder: Bool
  let make: @Sendable (inout CaseBuilder) -> PropertyInstance

  var testDescription: String { name }

  init(
    _ name: String, cases: Int = 100, secondOrder: Bool = true,
    _ make: @escaping @Sendable (inout CaseBuilder) -> PropertyInstance
  ) {
    self.name = name
    self.cases = cases
    self.secondOrder = secondOrder
    self.make = make
  }
}

extension CaseBuilder {
  /// The case over the inputs drawn so far.
  func instance(
    float32: Double? = 1e-4, reference: (([NaiveArray]) -> NaiveArray)? = nil,
    _ op: @escaping ([Tensor]) -> Tensor
  ) -> PropertyInstance {
    PropertyInstance(
      inputs: inputs, op: op, reference: reference, float32Tolerance: float32, notes: notes)
  }
}

/// Compares values with `|a - b| <= atol + rtol |b|` (NaN equal to NaN); nil when they match.
func mismatch(_ a: [Double], _ b: [Double], rtol: Double, atol: Double) -> String? {
  if a.count != b.count { return "count \(a.count) != \(b.count)" }
  for (i, (x, y)) in zip(a, b).enumerated() {
    if x.isNaN && y.isNaN { continue }
    if x == y { continue }
    if !(abs(x - y) <= atol + rtol * abs(y)) { return "element \(i): \(x) vs \(y)" }
  }
  return nil
}

/// A file an exit test's child writes its standard output and error to. The parent reads it
/// whatever the outcome: when the child's exit status is not the expected one, Swift Testing
/// returns no result (so no captured output), yet that is when the child's last words matter.
enum ChildLog {
  static func makePath(_ tag: String) -> String {
    let safe = tag.map { $0.isLetter || $0.isNumber ? $0 : "-" }
    return NSTemporaryDirectory()
      + "ember-\(String(safe))-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).log"
  }

  /// In the child: sends stdout and stderr to `path`.
  static func redirect(to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { return }
    dup2(fd, 1)
    dup2(fd, 2)
    close(fd)
  }

  /// In the parent: what the child wrote (the file is removed).
  static func read(_ path: String) -> String {
    defer { try? FileManager.default.removeItem(atPath: path) }
    guard let data = FileManager.default.contents(atPath: path) else { return "" }
    return String(decoding: data, as: UTF8.self)
  }
}
