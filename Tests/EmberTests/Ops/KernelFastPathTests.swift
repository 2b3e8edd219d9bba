import Ember
import Foundation
import Testing

/// The float32 C fast paths (Sources/CEmberKernels/reduce.c, strided.c) against references
/// computed here in Double from the same elements, on shapes whose sizes leave vector tails
/// (and, for argmax, span several parallel blocks).
@Suite struct KernelFastPathTests {
  /// Deterministic float32 values in about [-3, 3].
  static func values(_ n: Int, phase: Double = 0) -> [Float] {
    (0..<n).map { Float(3 * sin(Double($0) * 0.377 + phase)) }
  }

  static func tensor(_ shape: [Int], phase: Double = 0) -> (Tensor, [Float]) {
    let v = values(shape.reduce(1, *), phase: phase)
    return (Tensor(shape: shape, scalars: v), v)
  }

  @Test func transposedAndBroadcastBinaryOps() {
    let (rows, cols) = (37, 45)
    let (a, av) = Self.tensor([cols, rows])  // read transposed: a.t()[i, j] = av[j * rows + i]
    let (b, bv) = Self.tensor([rows, cols], phase: 1)
    let (r, rv) = Self.tensor([cols], phase: 2)
    let at = a.t()
    let ops: [(Tensor, (Float, Float) -> Float)] = [
      (at + b, { $0 + $1 }), (at - b, { $0 - $1 }), (at * b, { $0 * $1 }), (at / b, { $0 / $1 }),
    ]
    for (out, f) in ops {
      let got = out.scalars(as: Float.self)
      var want: [Float] = []
      for i in 0..<rows { for j in 0..<cols { want.append(f(av[j * rows + i], bv[i * cols + j])) } }
      #expect(got == want)
    }
    let rowSum = (b + r).scalars(as: Float.self)
    var want: [Float] = []
    for i in 0..<rows { for j in 0..<cols { want.append(bv[i * cols + j] + rv[j]) } }
    #expect(rowSum == want)
    let tt = (at + at).scalars(as: Float.self)
    #expect(tt == (at.contiguous() + at.contiguous()).scalars(as: Float.self))
  }

  @Test func comparisonsWhereAndRelu() {
    var (a, av) = Self.tensor([5, 13])
    av[3] = .nan
    av[4] = -0.0
    a = Tensor(shape: [5, 13], scalars: av)
    let (b, bv) = Self.tensor([5, 13], phase: 1)
    #expect((a .> 0.5).scalars(as: Bool.self) == av.map { $0 > 0.5 })
    #expect((a .<= 0).scalars(as: Bool.self) == av.map { $0 <= 0 })
    #expect((a .!= 0).scalars(as: Bool.self) == av.map { $0 != 0 })
    #expect((a .< b).scalars(as: Bool.self) == zip(av, bv).map { $0 < $1 })
    #expect((a .== a).scalars(as: Bool.self) == av.map { $0 == $0 })
    let w = Tensor.where(a .> 0, a, b).scalars(as: Float.self)
    #expect(w == zip(av, bv).map { $0 > 0 ? $0 : $1 })
    let relu = a.relu().scalars(as: Float.self)
    for (x, y) in zip(av, relu) {
      if x.isNaN { #expect(y.isNaN) } else { #expect(y == (x <= 0 ? 0 : x)) }
    }
  }

  @Test func maxMinWithIndicesAndArgmax() {
    let (rows, n) = (6, 53)
    var v = Self.values(rows * n)
    v[1 * n + 40] = 9  // a late maximum
    v[1 * n + 45] = 9  // and a tie after it: the first wins
    v[2 * n + 17] = .nan
    v[2 * n + 30] = .nan
    let x = Tensor(shape: [rows, n], scalars: v)
    let (mx, imx) = x.max(dim: 1)
    let (mn, imn) = x.min(dim: 1)
    for r in 0..<rows {
      let row = Array(v[(r * n)..<((r + 1) * n)])
      if let k = row.firstIndex(where: { $0.isNaN }) {
        #expect(mx.scalars(as: Float.self)[r].isNaN && mn.scalars(as: Float.self)[r].isNaN)
        #expect(imx.scalars(as: Int64.self)[r] == Int64(k))
        #expect(imn.scalars(as: Int64.self)[r] == Int64(k))
        continue
      }
      let big = row.max()!
      let small = row.min()!
      #expect(mx.scalars(as: Float.self)[r] == big)
      #expect(imx.scalars(as: Int64.self)[r] == Int64(row.firstIndex(of: big)!))
      #expect(mn.scalars(as: Float.self)[r] == small)
      #expect(imn.scalars(as: Int64.self)[r] == Int64(row.firstIndex(of: small)!))
    }
    // one long run split into parallel blocks: the first of two equal maxima, in a later block
    var long = Self.values(100_003)
    long[70_001] = 5
    long[99_999] = 5
    #expect(Tensor(shape: [100_003], scalars: long).argmax().item(as: Int64.self) == 70_001)
    long[80_000] = .nan
    #expect(Tensor(shape: [100_003], scalars: long).argmax().item(as: Int64.self) == 80_000)
  }

  @Test func sumsVarianceNormAndSoftmax() {
    let (rows, n) = (7, 301)
    let (x, v) = Self.tensor([rows, n])
    func row(_ r: Int) -> [Double] { v[(r * n)..<((r + 1) * n)].map { Double($0) } }
    let total = v.reduce(0.0) { $0 + Double($1) }
    let squares = v.reduce(0.0) { $0 + Double($1) * Double($1) }
    expectClose(
      [x.sum().item(), x.norm().item()], [total, squares.squareRoot()], rtol: 1e-6, atol: 1e-4)
    var sums: [Double] = []
    var variances: [Double] = []
    var softmax: [Double] = []
    var logSoftmax: [Double] = []
    for r in 0..<rows {
      let xs = row(r)
      let sum = xs.reduce(0, +)
      sums.append(sum)
      let mean = sum / Double(n)
      variances.append(xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1))
      let m = xs.max()!
      let z = xs.reduce(0) { $0 + exp($1 - m) }
      softmax += xs.map { exp($0 - m) / z }
      logSoftmax += xs.map { $0 - m - log(z) }
    }
    expectClose(x.sum(dim: 1).toArray(), sums, rtol: 1e-6, atol: 1e-5)
    expectClose(x.var(dim: 1).toArray(), variances, rtol: 1e-6)
    expectClose(x.softmax(dim: 1).toArray(), softmax, rtol: 1e-5, atol: 1e-7)
    expectClose(x.logSoftmax(dim: 1).toArray(), logSoftmax, rtol: 1e-5, atol: 1e-6)
    let s0 = x.sum(dim: 0).scalars(as: Float.self)
    for j in 0..<n {
      var a = 0.0
      for r in 0..<rows { a += Double(v[r * n + j]) }
      #expect(s0[j] == Float(a))
    }
  }
}
