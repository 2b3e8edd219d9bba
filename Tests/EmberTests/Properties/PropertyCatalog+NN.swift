import Ember
import Foundation

extension NaiveArray {
  /// A direct 2-d cross-correlation (`F.conv2d`) of [N, C, H, W] with [O, C/groups, kh, kw].
  static func conv2d(
    _ x: NaiveArray, _ w: NaiveArray, bias: NaiveArray?, stride: [Int], padding: [Int],
    dilation: [Int], groups: Int
  ) -> NaiveArray {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0] + 1
    let ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1] + 1
    let og = o / groups
    precondition(cg * groups == c)
    var out = [Double](repeating: 0, count: n * o * oh * ow)
    for b in 0..<n {
      for oc in 0..<o {
        let g = oc / og
        for i in 0..<oh {
          for j in 0..<ow {
            var acc = bias?.values[oc] ?? 0
            for ci in 0..<cg {
              for p in 0..<kh {
                for q in 0..<kw {
                  let y = i * stride[0] - padding[0] + p * dilation[0]
                  let z = j * stride[1] - padding[1] + q * dilation[1]
                  if y < 0 || y >= h || z < 0 || z >= wd { continue }
                  acc += x[[b, g * cg + ci, y, z]] * w[[oc, ci, p, q]]
                }
              }
            }
            out[((b * o + oc) * oh + i) * ow + j] = acc
          }
        }
      }
    }
    return NaiveArray(shape: [n, o, oh, ow], values: out)
  }
}

extension CaseBuilder {
  /// A kernel size, stride, padding and dilation giving at least one output along a dim of `n`.
  /// With `coveredWindows`, every window holds at least one input element (dilation 1 where
  /// there is padding): a max pool window entirely in the padding gives -inf, which finite
  /// differences cannot check (PoolingTests.windowsEntirelyInThePadding covers that case).
  mutating func window(_ n: Int, maxKernel: Int = 3, coveredWindows: Bool = false) -> (
    k: Int, s: Int, p: Int, d: Int
  ) {
    while true {
      let k = int(1...maxKernel)
      let p = int(0...(k / 2))
      let d = coveredWindows && p > 0 ? 1 : int(1...2)
      let s = int(1...2)
      if n + 2 * p - d * (k - 1) - 1 >= 0 { return (k, s, p, d) }
    }
  }
}

extension PropertyCatalog {
  static let nn: [OpProperty] = convolutionsAndPools + normsAndLosses + resampling

  static let convolutionsAndPools: [OpProperty] = [
    OpProperty("conv2d", cases: 60) { b in
      let (n, g) = (b.int(1...2), b.int(1...2))
      let (cg, og) = (b.int(1...2), b.int(1...2))
      let (h, w) = (b.int(1...4), b.int(1...4))
      let (wh, ww) = (b.window(h), b.window(w))
      let hasBias = b.chance(0.5)
      b.note("stride \([wh.s, ww.s]) padding \([wh.p, ww.p]) dilation \([wh.d, ww.d]) groups \(g)")
      b.input([n, g * cg, h, w])
      b.input([g * og, cg, wh.k, ww.k])
      if hasBias { b.input([g * og]) }
      let (st, pd, dl) = ([wh.s, ww.s], [wh.p, ww.p], [wh.d, ww.d])
      return b.instance(
        reference: { x in
          NaiveArray.conv2d(
            x[0], x[1], bias: hasBias ? x[2] : nil, stride: st, padding: pd, dilation: dl,
            groups: g)
        }
      ) {
        Functional.conv2d(
          $0[0], $0[1], bias: hasBias ? $0[2] : nil, stride: SpatialSize(st),
          padding: .explicit(SpatialSize(pd)), dilation: SpatialSize(dl), groups: g)
      }
    },
    OpProperty("conv1d", cases: 60) { b in
      let (n, g) = (b.int(1...2), b.int(1...2))
      let (cg, og) = (b.int(1...2), b.int(1...2))
      let l = b.int(1...5)
      let wl = b.window(l)
      b.note("stride \(wl.s) padding \(wl.p) dilation \(wl.d) groups \(g)")
      b.input([n, g * cg, l])
      b.input([g * og, cg, wl.k])
      b.input([g * og])
      return b.instance(
        reference: { x in
          let y = NaiveArray.conv2d(
            x[0].reshaped([n, g * cg, 1, l]), x[1].reshaped([g * og, cg, 1, wl.k]), bias: x[2],
            stride: [1, wl.s], padding: [0, wl.p], dilation: [1, wl.d], groups: g)
          return y.reshaped([n, g * og, y.shape[3]])
        }
      ) {
        Functional.conv1d(
          $0[0], $0[1], bias: $0[2], stride: SpatialSize(wl.s),
          padding: .explicit(SpatialSize(wl.p)),
          dilation: SpatialSize(wl.d), groups: g)
      }
    },
    OpProperty("convTranspose2d", cases: 50) { b in
      let (n, g) = (b.int(1...2), b.int(1...2))
      let (cg, og) = (b.int(1...2), b.int(1...2))
      let (h, w) = (b.int(1...3), b.int(1...3))
      let (k, s) = (b.int(1...3), b.int(1...2))
      let p = b.int(0...(k - 1) / 2)
      let op = b.int(0...(s - 1))
      b.note("kernel \(k) stride \(s) padding \(p) output padding \(op) groups \(g)")
      b.input([n, g * cg, h, w])
      b.input([g * cg, og, k, k])
      b.input([g * og])
      return b.instance {
        Functional.convTranspose2d(
          $0[0], $0[1], bias: $0[2], stride: SpatialSize(s), padding: SpatialSize(p),
          outputPadding: SpatialSize(op), groups: g)
      }
    },
    OpProperty("maxPool2d", cases: 75, secondOrder: false) { b in
      let batch = b.chance(0.7) ? [b.int(1...2)] : []
      let (c, h, w) = (b.int(1...2), b.int(1...4), b.int(1...4))
      let (wh, ww) = (b.window(h, coveredWindows: true), b.window(w, coveredWindows: true))
      let ceil = b.chance(0.3)
      b.note(
        "kernel \([wh.k, ww.k]) stride \([wh.s, ww.s]) padding \([wh.p, ww.p]) dilation \([wh.d, ww.d]) ceil \(ceil)"
      )
      b.input(batch + [c, h, w], .distinct)
      return b.instance {
        Functional.maxPool2d(
          $0[0], kernelSize: SpatialSize([wh.k, ww.k]), stride: SpatialSize([wh.s, ww.s]),
          padding: SpatialSize([wh.p, ww.p]), dilation: SpatialSize([wh.d, ww.d]), ceilMode: ceil)
      }
    },
    OpProperty("maxPool1d", cases: 75, secondOrder: false) { b in
      let (n, c, l) = (b.int(1...2), b.int(1...2), b.int(1...6))
      let wl = b.window(l, coveredWindows: true)
      b.note("kernel \(wl.k) stride \(wl.s) padding \(wl.p) dilation \(wl.d)")
      b.input([n, c, l], .distinct)
      return b.instance {
        Functional.maxPool1d(
          $0[0], kernelSize: wl.k, stride: wl.s, padding: wl.p, dilation: wl.d)
      }
    },
    OpProperty("avgPool2d", cases: 75) { b in
      let (n, c, h, w) = (b.int(1...2), b.int(1...2), b.int(1...4), b.int(1...4))
      var (wh, ww) = (b.window(h), b.window(w))
      (wh.d, ww.d) = (1, 1)
      let (ceil, include) = (b.chance(0.3), b.chance(0.5))
      b.note(
        "kernel \([wh.k, ww.k]) stride \([wh.s, ww.s]) padding \([wh.p, ww.p]) ceil \(ceil) countIncludePad \(include)"
      )
      b.input([n, c, h, w])
      return b.instance {
        Functional.avgPool2d(
          $0[0], kernelSize: SpatialSize([wh.k, ww.k]), stride: SpatialSize([wh.s, ww.s]),
          padding: SpatialSize([wh.p, ww.p]), ceilMode: ceil, countIncludePad: include)
      }
    },
    OpProperty("avgPool1d", cases: 75) { b in
      let (n, c, l) = (b.int(1...2), b.int(1...2), b.int(1...6))
      let wl = b.window(l)
      b.note("kernel \(wl.k) stride \(wl.s) padding \(wl.p)")
      b.input([n, c, l])
      return b.instance {
        Functional.avgPool1d($0[0], kernelSize: wl.k, stride: wl.s, padding: wl.p)
      }
    },
    OpProperty("adaptiveAvgPool2d", cases: 75) { b in
      let (n, c, h, w) = (b.int(1...2), b.int(1...2), b.int(1...4), b.int(1...4))
      let size = [b.int(1...3), b.int(1...3)]
      b.note("output size \(size)")
      b.input([n, c, h, w])
      return b.instance { Functional.adaptiveAvgPool2d($0[0], outputSize: SpatialSize(size)) }
    },
    OpProperty("adaptiveMaxPool2d", cases: 75, secondOrder: false) { b in
      let (n, c, h, w) = (b.int(1...2), b.int(1...2), b.int(1...4), b.int(1...4))
      let size = [b.int(1...3), b.int(1...3)]
      b.note("output size \(size)")
      b.input([n, c, h, w], .distinct)
      return b.instance { Functional.adaptiveMaxPool2d($0[0], outputSize: SpatialSize(size)) }
    },
  ]
}
