/// Loops behind indexSelect, indexAdd, gather, scatter and advanced indexing (Ops/Tensor+Indexing
/// and Ops/Tensor+Scatter hold the ops and their backward rules).
extension Kernel {
  /// out[o, i, :] = src[o, index[i], :] for contiguous `src` and `out` (dim `d` in the middle).
  static func indexSelect(
    _ src: Tensor, dim d: Int, index: Tensor, into out: Tensor
  ) {
    if out.count == 0 { return }
    let outer = src.shape[..<d].reduce(1, *)
    let inner = src.shape[(d + 1)...].reduce(1, *)
    let n = src.shape[d]
    let m = index.count
    let idx = index.contiguousCopyIfNeeded()
    let pi = idx.basePointer(Int64.self)
    func run<T: TensorScalar>(_: T.Type) {
      let ps = src.basePointer(T.self)
      let po = out.basePointer(T.self)
      @inline(__always) func copyRow(_ o: Int, _ i: Int) {
        let s = ps + (o * n + Int(pi[i])) * inner
        let dst = po + (o * m + i) * inner
        if inner == 1 {
          dst.pointee = s.pointee
        } else {
          dst.update(from: s, count: inner)
        }
      }
      if outer > 1 {
        Parallel.forRange(outer, costPerItem: m * inner) { r in
          for o in r {
            for i in 0..<m { copyRow(o, i) }
          }
        }
      } else {
        Parallel.forRange(m, costPerItem: inner) { r in
          for i in r { copyRow(0, i) }
        }
      }
    }
    switch src.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int64: run(Int64.self)
    case .bool: run(Bool.self)
    }
  }

  /// out[o, index[i], :] += alpha * source[o, i, :] for contiguous `out` (any `source` layout).
  static func indexAdd(
    _ out: Tensor, dim d: Int, index: Tensor, source: Tensor, alpha: Double
  ) {
    let m = index.count
    if m == 0 || out.count == 0 { return }
    let outer = out.shape[..<d].reduce(1, *)
    let inner = out.shape[(d + 1)...].reduce(1, *)
    let n = out.shape[d]
    let src = source.contiguousCopyIfNeeded()
    let idx = index.contiguousCopyIfNeeded()
    let pi = idx.basePointer(Int64.self)
    func run<T: NumericScalar>(_: T.Type) {
      let ps = src.basePointer(T.self)
      let po = out.basePointer(T.self)
      let a = T(fromDouble: alpha)
      let scaled = alpha != 1
      // rows o are independent; when there is only one, split the inner positions instead
      if outer > 1 {
        Parallel.forRange(outer, costPerItem: m * inner) { r in
          for o in r {
            for i in 0..<m {
              let dst = po + (o * n + Int(pi[i])) * inner
              let s = ps + (o * m + i) * inner
              if scaled {
                for j in 0..<inner { dst[j] = T.wrappingAdd(dst[j], T.wrappingMultiply(a, s[j])) }
              } else {
                for j in 0..<inner { dst[j] = T.wrappingAdd(dst[j], s[j]) }
              }
            }
          }
        }
      } else {
        Parallel.forRange(inner, costPerItem: m) { r in
          for i in 0..<m {
            let dst = po + Int(pi[i]) * inner
            let s = ps + i * inner
            if scaled {
              for j in r { dst[j] = T.wrappingAdd(dst[j], T.wrappingMultiply(a, s[j])) }
            } else {
              for j in r { dst[j] = T.wrappingAdd(dst[j], s[j]) }
            }
          }
        }
      }
    }
    switch out.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int64: run(Int64.self)
    case .bool: preconditionFailure("index_add_(): not supported for bool tensors")
    }
  }

  /// Visits the positions of `shape` outside dim `d` in blocks, in parallel. Blocks are disjoint
  /// sets of non-`d` positions, so kernels that write through an index along `d` do not race.
  /// `body(o0, o1, o2, n, s0, s1, s2)` gets each operand's offset at the block's first position,
  /// the block length, and each operand's stride between consecutive positions of the block.
  @inline(__always)
  static func indexingForEachBlock(
    shape: [Int], dim d: Int, strides: [[Int]], costPerPosition: Int,
    _ body: (Int, Int, Int, Int, Int, Int, Int) -> Void
  ) {
    var sh = shape
    sh.remove(at: d)
    let st = strides.map { s -> [Int] in
      var s = s
      s.remove(at: d)
      return s
    }
    let plan = StridedPlan(shape: sh, strides: st)
    let inner = plan.innerCount
    let rows = plan.rowCount
    let outerRank = plan.shape.count - 1
    let (is0, is1, is2) = (
      plan.strides[0][outerRank], plan.strides[1][outerRank], plan.strides[2][outerRank]
    )
    let block = Swift.min(inner, 256)
    let blocks = (inner + block - 1) / block
    Parallel.forRange(rows * blocks, costPerItem: block * Swift.max(costPerPosition, 1)) { r in
      for item in r {
        let row = item / blocks
        let j0 = (item - row * blocks) * block
        var rem = row
        var (o0, o1, o2) = (j0 * is0, j0 * is1, j0 * is2)
        var k = outerRank - 1
        while k >= 0 {
          let c = rem % plan.shape[k]
          rem /= plan.shape[k]
          o0 += c * plan.strides[0][k]
          o1 += c * plan.strides[1][k]
          o2 += c * plan.strides[2][k]
          k -= 1
        }
        body(o0, o1, o2, Swift.min(block, inner - j0), is0, is1, is2)
      }
    }
  }

  /// out[..., k, ...] = src[..., index[..., k, ...], ...] along `d`; `out` has `index`'s shape.
  static func gather(
    _ src: Tensor, dim d: Int, index: Tensor, into out: Tensor
  ) {
    if out.count == 0 { return }
    let dimSize = index.shape[d]
    let (outDim, idxDim, srcDim) = (out.strides[d], index.strides[d], src.strides[d])
    let pi = index.basePointer(Int64.self)
    func run<T: TensorScalar>(_: T.Type) {
      let po = out.basePointer(T.self)
      let ps = src.basePointer(T.self)
      indexingForEachBlock(
        shape: index.shape, dim: d, strides: [out.strides, index.strides, src.strides],
        costPerPosition: dimSize
      ) { o0, i0, s0, n, os, ist, sst in
        if n > 1 && idxDim > ist {
          // the indexed dim is the outer one: walk each block row by row
          for k in 0..<dimSize {
            let ob = po + o0 + k * outDim
            let ib = pi + i0 + k * idxDim
            for j in 0..<n { ob[j * os] = ps[s0 + j * sst + Int(ib[j * ist]) * srcDim] }
          }
        } else {
          for j in 0..<n {
            let ob = po + o0 + j * os
            let ib = pi + i0 + j * ist
            let sb = ps + s0 + j * sst
            for k in 0..<dimSize { ob[k * outDim] = sb[Int(ib[k * idxDim]) * srcDim] }
          }
        }
      }
    }
    switch src.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    case .int64: run(Int64.self)
    case .bool: run(Bool.self)
    }
  }

}

extension Kernel {
  /// out[..., index[..., k, ...], ...] = (or +=) src[..., k, ...] (or `value`) along `d`.
  /// Blocks of non-`d` positions are disjoint in `out`, so they run in parallel without races.
  static func scatter(
    _ out: Tensor, dim d: Int, index: Tensor, src: Tensor?, value: Double, add: Bool
  ) {
    if index.count == 0 { return }
    let out1 = out.indexingAtLeast1D()
    let index1 = index.indexingAtLeast1D()
    let src1 = src?.indexingAtLeast1D()
    let dimSize = index1.shape[d]
    let srcStrides = src1?.strides ?? [Int](repeating: 0, count: index1.rank)
    let (outDim, idxDim, srcDim) = (out1.strides[d], index1.strides[d], srcStrides[d])
    let pi = index1.basePointer(Int64.self)
    func run<T: TensorScalar>(_: T.Type, _ combine: (T, T) -> T) {
      let po = out1.basePointer(T.self)
      // with a scalar value, read it from a one-element buffer with stride 0
      let scalar = UnsafeMutablePointer<T>.allocate(capacity: 1)
      defer { scalar.deallocate() }
      scalar.initialize(to: T(fromDouble: value))
      let ps = src1?.basePointer(T.self) ?? scalar
      indexingForEachBlock(
        shape: index1.shape, dim: d, strides: [out1.strides, index1.strides, srcStrides],
        costPerPosition: dimSize
      ) { o0, i0, s0, n, os, ist, sst in
        if n > 1 && idxDim > ist {
          for k in 0..<dimSize {
            let ib = pi + i0 + k * idxDim
            let sb = ps + s0 + k * srcDim
            for j in 0..<n {
              let p = po + o0 + j * os + Int(ib[j * ist]) * outDim
              p.pointee = combine(p.pointee, sb[j * sst])
            }
          }
        } else {
          for j in 0..<n {
            let ob = po + o0 + j * os
            let ib = pi + i0 + j * ist
            let sb = ps + s0 + j * sst
            for k in 0..<dimSize {
              let p = ob + Int(ib[k * idxDim]) * outDim
              p.pointee = combine(p.pointee, sb[k * srcDim])
            }
          }
        }
      }
    }
    switch out.dtype {
    case .float32: run(Float.self) { add ? $0 + $1 : $1 }
    case .float64: run(Double.self) { add ? $0 + $1 : $1 }
    case .int64: run(Int64.self) { add ? $0 &+ $1 : $1 }
    case .bool: run(Bool.self) { add ? $0 || $1 : $1 }
    }
  }

  /// out[i] = src[selfOffset(i) + offsets(i)] over the advanced-index result.
  static func indexRead<T: TensorScalar>(
    _: T.Type, _ src: Tensor, _ plan: IndexingPlan, _ out: Tensor
  ) {
    let sp = StridedPlan(
      shape: plan.outShape, strides: [out.strides, plan.selfStrides, plan.offsetStrides])
    let po = out.basePointer(T.self)
    let ps = src.basePointer(T.self)
    let pk = plan.offsets.basePointer(Int64.self)
    sp.forEachRow { off, n, st in
      var o = po + off[0]
      var s = ps + off[1]
      var k = pk + off[2]
      let (so, ss, sk) = (st[0], st[1], st[2])
      for _ in 0..<n {
        o.pointee = s[Int(k.pointee)]
        o += so
        s += ss
        k += sk
      }
    }
  }

  /// target[selfOffset(i) + offsets(i)] = combine(old, values[i]) over the advanced-index result.
  /// `serial` runs rows in order on one thread (needed when repeated positions accumulate).
  static func indexWrite<T: TensorScalar>(
    _ target: Tensor, _ plan: IndexingPlan, _ values: Tensor, serial: Bool,
    _ combine: (T, T) -> T
  ) {
    let vs = Shape.broadcastStrides(shape: values.shape, strides: values.strides, to: plan.outShape)
    let sp = StridedPlan(shape: plan.outShape, strides: [plan.selfStrides, plan.offsetStrides, vs])
    let pt = target.basePointer(T.self)
    let pk = plan.offsets.basePointer(Int64.self)
    let pv = values.basePointer(T.self)
    func row(_ off: UnsafePointer<Int>, _ n: Int, _ st: UnsafePointer<Int>) {
      var t = pt + off[0]
      var k = pk + off[1]
      var v = pv + off[2]
      let (stt, sk, sv) = (st[0], st[1], st[2])
      for _ in 0..<n {
        let p = t + Int(k.pointee)
        p.pointee = combine(p.pointee, v.pointee)
        t += stt
        k += sk
        v += sv
      }
    }
    if !serial {
      sp.forEachRow(row)
      return
    }
    // the same odometer as StridedPlan.forEachRow, on the calling thread
    let outerRank = sp.shape.count - 1
    let nOps = sp.strides.count
    let inner = sp.shape[outerRank]
    var rows = 1
    for d in 0..<outerRank { rows *= sp.shape[d] }
    var counter = [Int](repeating: 0, count: Swift.max(outerRank, 1))
    var offsets = [Int](repeating: 0, count: nOps)
    let innerStrides = (0..<nOps).map { sp.strides[$0][outerRank] }
    innerStrides.withUnsafeBufferPointer { isp in
      offsets.withUnsafeMutableBufferPointer { off in
        for _ in 0..<rows {
          row(UnsafePointer(off.baseAddress!), inner, isp.baseAddress!)
          var d = outerRank - 1
          while d >= 0 {
            counter[d] += 1
            for j in 0..<nOps { off[j] += sp.strides[j][d] }
            if counter[d] < sp.shape[d] { break }
            for j in 0..<nOps { off[j] -= sp.strides[j][d] * sp.shape[d] }
            counter[d] = 0
            d -= 1
          }
        }
      }
    }
  }
}
