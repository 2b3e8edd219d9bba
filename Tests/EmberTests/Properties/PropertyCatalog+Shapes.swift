import Ember
import Foundation

extension PropertyCatalog {
  /// A view or shape op checked by layout invariance (and a reference when given).
  static func shaped(
    _ name: String, cases: Int = 100,
    _ make: @escaping @Sendable (inout CaseBuilder) -> PropertyInstance
  ) -> OpProperty {
    OpProperty(name, cases: cases, secondOrder: true, make)
  }

  static let shapes: [OpProperty] = [
    shaped("reshape") { b in
      let s = b.shape(rank: 0...3, zero: 0.1)
      let n = s.reduce(1, *)
      // a factorization of n, with a -1 sometimes
      var target: [Int] = n == 0 ? [0, b.int(1...2)] : []
      var rest = n
      while rest > 1 {
        let f = (2...rest).first { rest % $0 == 0 }!
        target.append(f)
        rest /= f
      }
      if target.isEmpty && b.chance(0.5) { target = [1] }
      target = b.rng.shuffled(target)
      if !target.isEmpty && n > 0 && b.chance(0.3) { target[b.int(0...(target.count - 1))] = -1 }
      b.note("reshape to \(target)")
      b.input(s)
      return b.instance(
        reference: { x in
          let shape = target.map { $0 == -1 ? n / target.filter { $0 != -1 }.reduce(1, *) : $0 }
          return NaiveArray(shape: shape, values: x[0].values.map { $0 * 1.5 })
        }
      ) { $0[0].reshape(target) * 1.5 }
    },
    shaped("permute") { b in
      let s = b.shape(rank: 0...3, zero: 0.1)
      let p = b.rng.shuffled(Array(s.indices))
      b.note("dims \(p)")
      b.input(s)
      return b.instance(
        reference: { x in
          let shape = p.map { s[$0] }
          let values = NaiveArray.indices(shape).map { i in
            var src = [Int](repeating: 0, count: s.count)
            for (k, d) in p.enumerated() { src[d] = i[k] }
            return x[0][src]
          }
          return NaiveArray(shape: shape, values: values)
        }
      ) { $0[0].permute(p) }
    },
    shaped("transpose") { b in
      let s = b.shape(rank: 1...3, zero: 0.1)
      let (d0, d1) = (b.dim(rank: s.count), b.dim(rank: s.count))
      b.note("dims \(d0), \(d1)")
      b.input(s)
      return b.instance { $0[0].transpose(d0, d1).exp() }
    },
    shaped("expand") { b in
      let s = b.shape(rank: 0...3, maxCount: 6)
      let small = b.broadcastable(to: s)
      let target = s.enumerated().map { i, n in
        let lead = s.count - small.count
        return i >= lead && small[i - lead] == n && b.chance(0.3) ? -1 : n
      }
      b.note("expand to \(target)")
      b.input(small)
      let weights = (0..<s.reduce(1, *)).map { Double($0) * 0.25 + 1 }
      let w = NaiveArray(shape: s, values: weights)
      return b.instance(reference: { x in NaiveArray.combine([x[0], w]) { $0[0] * $0[1] } }) {
        $0[0].expand(target) * Tensor(shape: s, scalars: weights).to($0[0].dtype)
      }
    },
    shaped("squeezeUnsqueeze") { b in
      let s = b.shape(rank: 0...3, size: 1...2)
      let d = b.int(0...s.count) - (b.chance(0.3) ? s.count + 1 : 0)
      b.note("unsqueeze \(d) then squeeze")
      b.input(s)
      return b.instance { x in (x[0].unsqueeze(d) * 2).squeeze() }
    },
    shaped("flatten") { b in
      let s = b.shape(rank: 1...3, zero: 0.1)
      let a = b.int(0...(s.count - 1))
      let e = b.int(a...(s.count - 1))
      b.note("flatten \(a)...\(e)")
      b.input(s)
      return b.instance { $0[0].flatten(startDim: a, endDim: e).sin() }
    },
    shaped("narrowSelect") { b in
      let s = b.shape(rank: 1...3, size: 1...4)
      let d = b.int(0...(s.count - 1))
      let start = b.int(0...(s[d] - 1))
      let length = b.int(0...(s[d] - start))
      let i = b.int(0...(s[d] - 1))
      b.note("narrow(\(d), \(start), \(length)), select(\(d), \(i))")
      b.input(s)
      return b.instance { x in
        Tensor.cat(
          [x[0].narrow(d, start: start, length: length), x[0].select(d, i).unsqueeze(d)], dim: d)
      }
    },
    shaped("slice") { b in
      let s = b.shape(rank: 1...3, size: 1...5)
      let d = b.int(0...(s.count - 1))
      let start = b.int(0...s[d])
      let step = b.int(1...3)
      b.note("slice(\(d), start \(start), step \(step))")
      b.input(s)
      return b.instance { $0[0].slice(d, start: start, end: nil, step: step).square() }
    },
    shaped("cat") { b in
      let r = b.int(1...3)
      let d = b.int(0...(r - 1))
      let s = b.shape(rank: r...r, maxCount: 8)
      let n = b.int(1...3)
      for _ in 0..<n {
        var t = s
        t[d] = b.int(0...2)
        b.input(t)
      }
      b.note("dim \(d)")
      return b.instance { Tensor.cat($0, dim: d) }
    },
    shaped("stack") { b in
      let s = b.shape(rank: 0...2, zero: 0.1, maxCount: 6)
      let d = b.int(0...s.count)
      let n = b.int(1...3)
      for _ in 0..<n { b.input(s) }
      b.note("dim \(d)")
      return b.instance { Tensor.stack($0, dim: d) }
    },
    shaped("splitChunk") { b in
      let s = b.shape(rank: 1...3, size: 1...4)
      let d = b.int(0...(s.count - 1))
      let size = b.int(1...3)
      b.note("split(size \(size), dim \(d)), weighted")
      b.input(s)
      return b.instance { x in
        let parts = x[0].split(size: size, dim: d)
        return Tensor.cat(parts.enumerated().map { $1 * Double($0 + 1) }, dim: d)
      }
    },
    shaped("indexSelect") { b in
      let s = b.shape(rank: 1...3, size: 1...3)
      let d = b.int(0...(s.count - 1))
      let idx = b.indices([b.int(0...4)], 0...(s[d] - 1))
      let iv = idx.scalars(as: Int64.self).map(Int.init)
      b.note("dim \(d)")
      b.input(s)
      return b.instance(
        reference: { x in
          var shape = s
          shape[d] = iv.count
          let values = NaiveArray.indices(shape).map { i in
            var src = i
            src[d] = iv[i[d]]
            return x[0][src]
          }
          return NaiveArray(shape: shape, values: values)
        }
      ) { $0[0].indexSelect(dim: d, index: idx) }
    },
    shaped("gather") { b in
      let s = b.shape(rank: 1...3, size: 1...3)
      let d = b.int(0...(s.count - 1))
      var ishape = s.map { b.int(1...$0) }
      ishape[d] = b.int(1...4)
      let idx = b.indices(ishape, 0...(s[d] - 1))
      let iv = idx.scalars(as: Int64.self).map(Int.init)
      b.note("dim \(d)")
      b.input(s)
      return b.instance(
        reference: { x in
          let values = NaiveArray.indices(ishape).enumerated().map { k, i in
            var src = i
            src[d] = iv[k]
            return x[0][src]
          }
          return NaiveArray(shape: ishape, values: values)
        }
      ) { $0[0].gather(dim: d, index: idx) }
    },
    shaped("scatterAdd") { b in
      let s = b.shape(rank: 1...3, size: 1...3)
      let d = b.int(0...(s.count - 1))
      var ishape = s.map { b.int(1...$0) }
      ishape[d] = b.int(1...4)
      let idx = b.indices(ishape, 0...(s[d] - 1))
      b.note("dim \(d)")
      b.input(s)
      b.input(ishape)
      return b.instance { $0[0].scatterAdd(dim: d, index: idx, src: $0[1]) }
    },
    shaped("scatter") { b in
      // distinct targets along dim so no two sources write one place
      let s = b.shape(rank: 1...3, size: 1...3)
      let d = b.int(0...(s.count - 1))
      var ishape = s.map { b.int(1...$0) }
      ishape[d] = b.int(1...s[d])
      var values: [Int64] = []
      for _ in 0..<(ishape.reduce(1, *) / ishape[d]) {
        values += b.rng.shuffled(Array(0..<Int64(s[d]))).prefix(ishape[d])
      }
      // values are laid out with dim d last: move it into place
      var permuted = ishape
      permuted.remove(at: d)
      permuted.append(ishape[d])
      var order = Array(0..<(ishape.count - 1))
      order.insert(ishape.count - 1, at: d)
      let idx = Tensor(shape: permuted, scalars: values).permute(order).contiguous()
      b.note("dim \(d), index \(idx.scalars(as: Int64.self))")
      b.input(s)
      b.input(ishape)
      return b.instance { $0[0].scatter(dim: d, index: idx, src: $0[1]) }
    },
    shaped("indexAdd") { b in
      let s = b.shape(rank: 1...3, size: 1...3)
      let d = b.int(0...(s.count - 1))
      let idx = b.indices([b.int(0...4)], 0...(s[d] - 1))
      var src = s
      src[d] = idx.count
      b.note("dim \(d)")
      b.input(s)
      b.input(src)
      return b.instance { $0[0].indexAdd(dim: d, index: idx, source: $0[1], alpha: 0.5) }
    },
    shaped("maskedFill") { b in
      let s = b.shape(rank: 0...3, zero: 0.1)
      let ms = b.broadcastable(to: s)
      let mask = Tensor(shape: ms, scalars: (0..<ms.reduce(1, *)).map { _ in b.chance(0.4) })
      b.note("mask \(ms): \(mask.toArray())")
      b.input(s)
      return b.instance { $0[0].maskedFill(mask, -0.5) * $0[0] }
    },
  ]
}
