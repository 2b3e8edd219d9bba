import Ember
import Foundation

/// The ops the property tests draw cases for, by family.
enum PropertyCatalog {}

extension PropertyCatalog {
  /// A unary op with its float64 reference `f`, on inputs of `kind`.
  static func unary(
    _ name: String, kind: ValueKind = .general, smooth: Bool = true, f32: Double? = 1e-4,
    _ op: @escaping @Sendable (Tensor) -> Tensor, _ f: @escaping @Sendable (Double) -> Double
  ) -> OpProperty {
    OpProperty(name, cases: 125, secondOrder: smooth) { b in
      b.input(b.shape(rank: 0...3, zero: 0.1), kind)
      return b.instance(float32: f32, reference: { $0[0].map(f) }) { op($0[0]) }
    }
  }

  /// A broadcasting binary op with its float64 reference.
  static func binary(
    _ name: String, ka: ValueKind = .general, kb: ValueKind = .general, smooth: Bool = true,
    _ op: @escaping @Sendable (Tensor, Tensor) -> Tensor,
    _ f: @escaping @Sendable (Double, Double) -> Double
  ) -> OpProperty {
    OpProperty(name, cases: 125, secondOrder: smooth) { b in
      let s = b.shape(rank: 0...3, zero: 0.1, maxCount: 8)
      let t = b.broadcastable(to: s)
      if b.chance(0.5) {
        b.input(s, ka)
        b.input(t, kb)
      } else {
        b.input(t, ka)
        b.input(s, kb)
      }
      return b.instance(reference: { NaiveArray.combine($0) { f($0[0], $0[1]) } }) {
        op($0[0], $0[1])
      }
    }
  }

  static func erf(_ x: Double) -> Double { Foundation.erf(x) }
  static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

  static var elementwise: [OpProperty] {
    var all: [OpProperty] = []
    all += elementwise0
    all += elementwise1
    all += elementwise2
    all += elementwise3
    all += elementwise4
    all += elementwise5
    all += elementwise6
    all += elementwise7
    all += elementwise8
    all += elementwise9
    return all
  }

  static let elementwise0: [OpProperty] = [
    unary("neg", { -$0 }, { -$0 }),
    unary("exp", { $0.exp() }, { Foundation.exp($0) }),
    unary("log", kind: .positive, { $0.log() }, { Foundation.log($0) }),
    unary("log1p", kind: .positive, { $0.log1p() }, { Foundation.log1p($0) }),
  ]

  static let elementwise1: [OpProperty] = [
    unary("expm1", { $0.expm1() }, { Foundation.expm1($0) }),
    unary("sqrt", kind: .positive, { $0.sqrt() }, { Foundation.sqrt($0) }),
    unary("rsqrt", kind: .positive, { $0.rsqrt() }, { 1 / Foundation.sqrt($0) }),
    unary("reciprocal", f32: 1e-3, { $0.reciprocal() }, { 1 / $0 }),
  ]

  static let elementwise2: [OpProperty] = [
    unary("sin", { $0.sin() }, { Foundation.sin($0) }),
    unary("cos", { $0.cos() }, { Foundation.cos($0) }),
    unary("tan", kind: .small, { $0.tan() }, { Foundation.tan($0) }),
    unary("tanh", { $0.tanh() }, { Foundation.tanh($0) }),
  ]

  static let elementwise3: [OpProperty] = [
    unary("sigmoid", { $0.sigmoid() }, { sigmoid($0) }),
    unary("abs", smooth: false, { $0.abs() }, { Swift.abs($0) }),
    unary("square", { $0.square() }, { $0 * $0 }),
    unary("relu", smooth: false, { $0.relu() }, { Swift.max($0, 0) }),
  ]

  static let elementwise4: [OpProperty] = [
    unary(
      "leakyRelu", smooth: false, { $0.leakyRelu(negativeSlope: 0.2) }, { $0 > 0 ? $0 : 0.2 * $0 }),
    unary("elu", { $0.elu(alpha: 1.5) }, { $0 > 0 ? $0 : 1.5 * Foundation.expm1($0) }),
    unary("gelu", { $0.gelu() }, { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }),
    unary(
      "geluTanh", { $0.gelu(approximate: .tanh) },
      { x in
        0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
      }
    ),
  ]

  static let elementwise5: [OpProperty] = [
    unary("silu", { $0.silu() }, { $0 * sigmoid($0) }),
    unary(
      "softplus", { $0.softplus(beta: 2) },
      { 2 * $0 > 20 ? $0 : Foundation.log1p(Foundation.exp(2 * $0)) / 2 }),
    unary(
      "hardtanh", smooth: false, { $0.hardtanh(minVal: -1.05, maxVal: 1.05) },
      { Swift.min(Swift.max($0, -1.05), 1.05) }),
    unary(
      "clamp", smooth: false, { $0.clamp(min: -0.95, max: 1.05) },
      { Swift.min(Swift.max($0, -0.95), 1.05) }),
  ]

  static let elementwise6: [OpProperty] = [
    unary("clampMin", smooth: false, { $0.clamp(min: 0.55) }, { Swift.max($0, 0.55) }),
    unary("powScalar", kind: .positive, { $0 ** 2.5 }, { Foundation.pow($0, 2.5) }),
    unary("powInt", { $0 ** 3 }, { $0 * $0 * $0 }),
    unary("scalarPow", { 1.7 ** $0 }, { Foundation.pow(1.7, $0) }),
  ]

  static let elementwise7: [OpProperty] = [
    unary("addScalar", { $0 + 0.75 }, { $0 + 0.75 }),
    unary("rsubScalar", { 0.75 - $0 }, { 0.75 - $0 }),
    unary("mulScalar", { $0 * -1.25 }, { $0 * -1.25 }),
    unary("rdivScalar", f32: 1e-3, { 1.5 / $0 }, { 1.5 / $0 }),
  ]

  static let elementwise8: [OpProperty] = [
    binary("add", { $0 + $1 }, { $0 + $1 }),
    binary("sub", { $0 - $1 }, { $0 - $1 }),
    binary("mul", { $0 * $1 }, { $0 * $1 }),
    binary("div", { $0 / $1 }, { $0 / $1 }),
  ]

  static let elementwise9: [OpProperty] = [
    binary("pow", ka: .positive, kb: .general, { $0 ** $1 }, { Foundation.pow($0, $1) }),
    binary(
      "maximum", ka: .distinct, kb: .distinctShifted, smooth: false, { $0.maximum($1) },
      { Swift.max($0, $1) }),
    binary(
      "minimum", ka: .distinct, kb: .distinctShifted, smooth: false, { $0.minimum($1) },
      { Swift.min($0, $1) }),
    OpProperty("where", cases: 100) { b in
      let s = b.shape(rank: 0...3, zero: 0.1, maxCount: 8)
      let cs = b.broadcastable(to: s)
      let n = cs.reduce(1, *)
      let mask = (0..<n).map { _ in b.chance(0.5) }
      b.note("condition \(cs): \(mask)")
      let cond = Tensor(shape: cs, scalars: mask)
      b.input(s)
      b.input(b.broadcastable(to: s))
      let cn = NaiveArray(shape: cs, values: mask.map { $0 ? 1 : 0 })
      return b.instance(reference: { NaiveArray.combine([cn] + $0) { $0[0] != 0 ? $0[1] : $0[2] } })
      {
        Tensor.where(cond, $0[0], $0[1])
      }
    },
  ]
}
