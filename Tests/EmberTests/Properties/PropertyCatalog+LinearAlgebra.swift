import Ember
import Foundation

extension NaiveArray {
  /// `a @ b` of [n, k] and [k, m].
  static func matmul(_ a: NaiveArray, _ b: NaiveArray) -> NaiveArray {
    let (n, k, m) = (a.shape[0], a.shape[1], b.shape[1])
    var out = [Double](repeating: 0, count: n * m)
    for i in 0..<n {
      for j in 0..<m {
        var acc = 0.0
        for p in 0..<k { acc += a.values[i * k + p] * b.values[p * m + j] }
        out[i * m + j] = acc
      }
    }
    return NaiveArray(shape: [n, m], values: out)
  }

  func reshaped(_ s: [Int]) -> NaiveArray { NaiveArray(shape: s, values: values) }

  func transposed2d() -> NaiveArray {
    let (n, m) = (shape[0], shape[1])
    var out = [Double](repeating: 0, count: n * m)
    for i in 0..<n { for j in 0..<m { out[j * n + i] = values[i * m + j] } }
    return NaiveArray(shape: [m, n], values: out)
  }
}

extension PropertyCatalog {
  static let linearAlgebra: [OpProperty] = [
    OpProperty("mm") { b in
      let (n, k, m) = (b.int(0...3), b.int(0...3), b.int(1...3))
      b.input([n, k])
      b.input([k, m])
      return b.instance(reference: { NaiveArray.matmul($0[0], $0[1]) }) { $0[0].mm($0[1]) }
    },
    OpProperty("bmm") { b in
      let (e, n, k, m) = (b.int(0...2), b.int(1...3), b.int(1...3), b.int(1...3))
      b.input([e, n, k])
      b.input([e, k, m])
      return b.instance(
        reference: { x in
          var values: [Double] = []
          for i in 0..<e {
            let a = NaiveArray(
              shape: [n, k], values: Array(x[0].values[(i * n * k)..<((i + 1) * n * k)]))
            let c = NaiveArray(
              shape: [k, m], values: Array(x[1].values[(i * k * m)..<((i + 1) * k * m)]))
            values += NaiveArray.matmul(a, c).values
          }
          return NaiveArray(shape: [e, n, m], values: values)
        }
      ) { $0[0].bmm($0[1]) }
    },
    OpProperty("mv") { b in
      let (n, k) = (b.int(0...3), b.int(1...4))
      b.input([n, k])
      b.input([k])
      return b.instance(
        reference: { NaiveArray.matmul($0[0], $0[1].reshaped([k, 1])).reshaped([n]) }
      ) { $0[0].mv($0[1]) }
    },
    OpProperty("dot") { b in
      let k = b.int(0...5)
      b.input([k])
      b.input([k])
      return b.instance(
        reference: { x in
          NaiveArray(shape: [], values: [zip(x[0].values, x[1].values).map(*).reduce(0, +)])
        }
      ) { $0[0].dot($0[1]) }
    },
    OpProperty("outer") { b in
      let (n, m) = (b.int(0...3), b.int(1...3))
      b.input([n])
      b.input([m])
      return b.instance(
        reference: { NaiveArray.matmul($0[0].reshaped([n, 1]), $0[1].reshaped([1, m])) }
      ) { $0[0].outer($0[1]) }
    },
    // every rank pairing of torch.matmul: vector-vector, matrix-vector, batched with broadcasting
    OpProperty("matmul") { b in
      let k = b.int(1...3)
      let ra = b.int(1...3)
      let rb = b.int(1...3)
      let batch = b.shape(rank: 0...1, size: 1...2)
      var sa = ra == 1 ? [k] : [b.int(1...3), k]
      var sb = rb == 1 ? [k] : [k, b.int(1...3)]
      if ra == 3 { sa = batch + sa }
      if rb == 3 { sb = b.broadcastable(to: batch) + sb }
      b.input(sa)
      b.input(sb)
      return b.instance { $0[0].matmul($0[1]) }
    },
    OpProperty("linear") { b in
      let lead = b.shape(rank: 0...2, zero: 0.1, maxCount: 4)
      let (i, o) = (b.int(1...3), b.int(1...3))
      let hasBias = b.chance(0.6)
      b.input(lead + [i])
      b.input([o, i])
      if hasBias { b.input([o]) }
      return b.instance(
        reference: { x in
          let rows = lead.reduce(1, *)
          var y = NaiveArray.matmul(x[0].reshaped([rows, i]), x[1].transposed2d())
          if hasBias { y = NaiveArray.combine([y, x[2]]) { $0[0] + $0[1] } }
          return y.reshaped(lead + [o])
        }
      ) { Functional.linear($0[0], $0[1], bias: hasBias ? $0[2] : nil) }
    },
    OpProperty("bilinear", cases: 60) { b in
      let n = b.int(1...2)
      let (i1, i2, o) = (b.int(1...2), b.int(1...3), b.int(1...2))
      b.input([n, i1])
      b.input([n, i2])
      b.input([o, i1, i2])
      b.input([o])
      return b.instance { Functional.bilinear($0[0], $0[1], $0[2], bias: $0[3]) }
    },
    OpProperty("attention", cases: 60) { b in
      let (l, s, e, ev) = (b.int(1...3), b.int(1...3), b.int(1...2), b.int(1...2))
      let causal = b.chance(0.3) && l <= s
      b.note("causal \(causal)")
      b.input([l, e])
      b.input([s, e])
      b.input([s, ev])
      return b.instance {
        Functional.scaledDotProductAttention($0[0], $0[1], $0[2], isCausal: causal)
      }
    },
  ]
}
