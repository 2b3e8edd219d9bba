import Ember
import Foundation

extension PropertyCatalog {
  static func reduce(_ xs: NaiveArray, _ reduction: Reduction) -> NaiveArray {
    switch reduction {
    case .none: return xs
    case .sum: return NaiveArray(shape: [], values: [xs.values.reduce(0, +)])
    default:
      return NaiveArray(shape: [], values: [xs.values.reduce(0, +) / Double(xs.values.count)])
    }
  }

  /// A pointwise loss of input and target of one shape, against its float64 formula.
  static func pointwiseLoss(
    _ name: String, ki: ValueKind = .distinct, kt: ValueKind = .distinctShifted,
    smooth: Bool = true,
    _ op: @escaping @Sendable (Tensor, Tensor, Reduction) -> Tensor,
    _ f: @escaping @Sendable (Double, Double) -> Double
  ) -> OpProperty {
    OpProperty(name, cases: 100, secondOrder: smooth) { b in
      let reduction = b.pick([Reduction.none, .mean, .sum])
      // the mean of no elements is NaN (as in PyTorch), which finite differences cannot check
      let s = b.shape(rank: 0...3, zero: reduction == .mean ? 0 : 0.1)
      let targetGrad = b.chance(0.5)
      b.note("reduction \(reduction)")
      b.input(s, ki)
      b.input(s, kt, grad: targetGrad)
      return b.instance(
        reference: { x in reduce(NaiveArray.combine(x) { f($0[0], $0[1]) }, reduction) }
      ) { op($0[0], $0[1], reduction) }
    }
  }

  static let normsAndLosses: [OpProperty] = [
    OpProperty("batchNorm", cases: 75) { b in
      var s: [Int]
      repeat {
        s = [b.int(1...3), b.int(1...2)] + b.shape(rank: 0...2, size: 1...2, maxCount: 4)
      } while s
        .enumerated().filter({ $0.offset != 1 }).map(\.element).reduce(1, *) < 2
      let c = s[1]
      b.input(s)
      b.input([c])
      b.input([c])
      return b.instance(
        reference: { x in
          var stats: [(Double, Double)] = []
          for ch in 0..<c {
            let vs = NaiveArray.indices(s).filter { $0[1] == ch }.map { x[0][$0] }
            let m = vs.reduce(0, +) / Double(vs.count)
            stats.append((m, variance(vs, correction: 0)))
          }
          let values = NaiveArray.indices(s).map { i in
            let (m, v) = stats[i[1]]
            return (x[0][i] - m) / (v + 1e-5).squareRoot() * x[1].values[i[1]] + x[2].values[i[1]]
          }
          return NaiveArray(shape: s, values: values)
        }
      ) {
        Functional.batchNorm(
          $0[0], runningMean: nil, runningVar: nil, weight: $0[1], bias: $0[2], training: true)
      }
    },
    OpProperty("layerNorm", cases: 75) { b in
      let s = b.shape(rank: 1...3, size: 1...3)
      let k = b.int(1...s.count)
      let normalized = Array(s.suffix(k))
      let affine = b.chance(0.7)
      b.note("normalized shape \(normalized), affine \(affine)")
      b.input(s)
      if affine {
        b.input(normalized)
        b.input(normalized)
      }
      let inner = normalized.reduce(1, *)
      return b.instance(
        float32: 1e-3,
        reference: { x in
          var out: [Double] = []
          for r in 0..<(x[0].values.count / inner) {
            let vs = Array(x[0].values[(r * inner)..<((r + 1) * inner)])
            let m = vs.reduce(0, +) / Double(inner)
            let sd = (variance(vs, correction: 0) + 1e-5).squareRoot()
            for (j, v) in vs.enumerated() {
              out.append(affine ? (v - m) / sd * x[1].values[j] + x[2].values[j] : (v - m) / sd)
            }
          }
          return NaiveArray(shape: s, values: out)
        }
      ) {
        Functional.layerNorm(
          $0[0], normalizedShape: normalized, weight: affine ? $0[1] : nil,
          bias: affine ? $0[2] : nil)
      }
    },
    OpProperty("groupNorm", cases: 60) { b in
      let (n, g, cg) = (b.int(1...2), b.int(1...2), b.int(1...2))
      let spatial = b.shape(rank: 0...1, size: 1...3)
      b.note("groups \(g)")
      b.input([n, g * cg] + spatial)
      b.input([g * cg])
      b.input([g * cg])
      return b.instance(float32: 1e-3) {
        Functional.groupNorm($0[0], numGroups: g, weight: $0[1], bias: $0[2])
      }
    },
    pointwiseLoss(
      "mseLoss", ki: .general, kt: .general, { Functional.mseLoss($0, $1, reduction: $2) },
      {
        ($0 - $1) * ($0 - $1)
      }),
    pointwiseLoss(
      "l1Loss", smooth: false, { Functional.l1Loss($0, $1, reduction: $2) },
      {
        Swift.abs($0 - $1)
      }),
    pointwiseLoss(
      "smoothL1Loss", smooth: false, { Functional.smoothL1Loss($0, $1, reduction: $2, beta: 0.5) },
      { x, t in
        let d = Swift.abs(x - t)
        return d < 0.5 ? 0.5 * d * d / 0.5 : d - 0.25
      }),
    pointwiseLoss(
      "huberLoss", smooth: false, { Functional.huberLoss($0, $1, reduction: $2, delta: 0.5) },
      { x, t in
        let d = Swift.abs(x - t)
        return d < 0.5 ? 0.5 * d * d : 0.5 * (d - 0.25)
      }),
    pointwiseLoss(
      "binaryCrossEntropy", ki: .unit, kt: .unit,
      { Functional.binaryCrossEntropy($0, $1, reduction: $2) },
      { x, t in -(t * Foundation.log(x) + (1 - t) * Foundation.log(1 - x)) }),
    pointwiseLoss(
      "bceWithLogits", ki: .general, kt: .unit,
      { Functional.binaryCrossEntropyWithLogits($0, $1, reduction: $2) },
      { x, t in Swift.max(x, 0) - x * t + Foundation.log1p(Foundation.exp(-Swift.abs(x))) }),
    pointwiseLoss(
      "klDiv", ki: .general, kt: .unit, { Functional.klDiv($0, $1, reduction: $2) },
      { x, t in t * (Foundation.log(t) - x) }),
    OpProperty("crossEntropy", cases: 100) { b in
      let spatial = b.chance(0.2)
      let batched = spatial || b.chance(0.8)
      let (n, c, l) = (b.int(1...3), b.int(1...4), b.int(1...2))
      let shape = batched ? (spatial ? [n, c, l] : [n, c]) : [c]
      let tshape = batched ? (spatial ? [n, l] : [n]) : []
      let reduction = b.pick([Reduction.none, .mean, .sum])
      let smoothing = b.pick([0, 0.1])
      b.note("reduction \(reduction), label smoothing \(smoothing)")
      let target = b.indices(tshape, 0...(c - 1))
      let tv = target.scalars(as: Int64.self).map(Int.init)
      b.input(shape)
      return b.instance(
        reference: { x in
          let cd = batched ? 1 : 0
          let logp = x[0].alongDim(cd) { xs in
            let m = logSumExp(xs)
            return xs.map { $0 - m }
          }
          let losses = NaiveArray.indices(tshape).enumerated().map { k, i in
            var idx = i
            idx.insert(0, at: cd)
            var nll = 0.0
            var mean = 0.0
            for cls in 0..<c {
              idx[cd] = cls
              if cls == tv[k] { nll = -logp[idx] }
              mean -= logp[idx] / Double(c)
            }
            return (1 - smoothing) * nll + smoothing * mean
          }
          return reduce(NaiveArray(shape: tshape, values: losses), reduction)
        }
      ) { Functional.crossEntropy($0[0], target, reduction: reduction, labelSmoothing: smoothing) }
    },
    OpProperty("nllLoss", cases: 75) { b in
      let (n, c) = (b.int(1...3), b.int(1...4))
      let reduction = b.pick([Reduction.none, .mean, .sum])
      b.note("reduction \(reduction)")
      let target = b.indices([n], 0...(c - 1))
      let tv = target.scalars(as: Int64.self).map(Int.init)
      b.input([n, c])
      return b.instance(
        reference: { x in
          reduce(NaiveArray(shape: [n], values: (0..<n).map { -x[0][[$0, tv[$0]]] }), reduction)
        }
      ) { Functional.nllLoss($0[0], target, reduction: reduction) }
    },
    OpProperty("embedding", cases: 75) { b in
      let (v, d) = (b.int(1...4), b.int(1...3))
      let ishape = b.shape(rank: 0...2, zero: 0.1, maxCount: 6)
      let idx = b.indices(ishape, 0...(v - 1))
      let iv = idx.scalars(as: Int64.self).map(Int.init)
      b.input([v, d])
      return b.instance(
        reference: { x in
          NaiveArray(
            shape: ishape + [d], values: iv.flatMap { r in (0..<d).map { x[0][[r, $0]] } })
        }
      ) { Functional.embedding(idx, $0[0]) }
    },
  ]
}

extension PropertyCatalog {
  static let resampling: [OpProperty] = [
    OpProperty("padConstant", cases: 75) { b in
      let s = b.shape(rank: 1...3, size: 1...3, zero: 0.05)
      let k = b.int(1...s.count)
      var pads: [Int] = []
      for i in 0..<k {
        let n = s[s.count - 1 - i]
        let left = b.int(-Swift.min(1, n)...2)
        pads += [left, b.int(-Swift.min(1, n + Swift.min(left, 0))...2)]
      }
      b.note("pad \(pads)")
      b.input(s)
      return b.instance(
        reference: { x in
          var shape = s
          for i in 0..<k { shape[s.count - 1 - i] += pads[2 * i] + pads[2 * i + 1] }
          let values = NaiveArray.indices(shape).map { o -> Double in
            var src = o
            for i in 0..<k {
              let d = s.count - 1 - i
              src[d] -= pads[2 * i]
              if src[d] < 0 || src[d] >= s[d] { return 0.25 }
            }
            return x[0][src]
          }
          return NaiveArray(shape: shape, values: values)
        }
      ) { Functional.pad($0[0], pads, value: 0.25) }
    },
    OpProperty("padModes", cases: 75) { b in
      let mode = b.pick([PadMode.reflect, .replicate, .circular])
      let spatial = b.int(1...2)
      let s = [b.int(1...2), b.int(1...2)] + (0..<spatial).map { _ in b.int(2...4) }
      let pads = (0..<(2 * spatial)).map { i in
        let n = s[s.count - 1 - i / 2]
        return b.int(0...(mode == .replicate ? 2 : Swift.min(2, n - 1)))
      }
      b.note("mode \(mode), pad \(pads)")
      b.input(s)
      return b.instance { Functional.pad($0[0], pads, mode: mode) }
    },
    OpProperty("interpolate", cases: 75) { b in
      let mode = b.pick([
        InterpolationMode.nearest, .nearestExact, .linear, .bilinear,
      ])
      let spatial = mode == .linear ? 1 : (mode == .bilinear ? 2 : b.int(1...2))
      let s = [b.int(1...2), b.int(1...2)] + (0..<spatial).map { _ in b.int(1...3) }
      let size = (0..<spatial).map { _ in b.int(1...4) }
      let align: Bool? = mode == .linear || mode == .bilinear ? b.chance(0.5) : nil
      b.note("mode \(mode), size \(size), alignCorners \(align.map { "\($0)" } ?? "nil")")
      b.input(s)
      return b.instance {
        Functional.interpolate($0[0], size: size, mode: mode, alignCorners: align)
      }
    },
  ]
}
