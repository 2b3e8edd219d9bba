/// Statistics and scans: `var`, `std`, `logsumexp`, `norm` and `cumsum`.
///
/// Each reduction takes `dim:` as one `Int` or a list `[Int]`; `nil` (the default) or `[]` covers
/// every dim.

// MARK: - var, std, logsumexp, norm

extension Tensor {
  /// Variance over `dim` (all dims when nil or empty) with Bessel-style `correction` (`var`);
  /// floating-point tensors only.
  ///
  /// `var` is a Swift keyword, but a member can still be called by that name: write `x.var()`,
  /// `x.var(dim: 1, correction: 0)`. Only the declaration (and an unqualified call inside a
  /// `Tensor` extension) needs backticks.
  public func `var`(dim: [Int]? = nil, correction: Double = 1, keepdim: Bool = false) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "var: std and var only support floating point and complex dtypes (got \(dtype))")
    let d = reductionDims(dim, op: "var")
    let keep = varianceKeep(dim: d, correction: correction)
    let out = reductionOutput(keep, dim: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      let n = d.reduce(1) { $0 * shape[$1] }
      Tensor.record("VarBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        return [
          Tensor.varianceBackward(
            ctx.grad.reshape(keepShape), x, dim: d, count: n, correction: correction)
        ]
      }
    }
    return out
  }

  /// Variance over one dim (`var(dim, correction, keepdim)`).
  public func `var`(dim: Int, correction: Double = 1, keepdim: Bool = false) -> Tensor {
    self.var(dim: [dim], correction: correction, keepdim: keepdim)
  }

  /// Standard deviation over `dim` (all dims when nil or empty) with `correction` (`std`). The
  /// gradient is 0 where the result is 0, as in PyTorch.
  public func std(dim: [Int]? = nil, correction: Double = 1, keepdim: Bool = false) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "std: std and var only support floating point and complex dtypes (got \(dtype))")
    let d = reductionDims(dim, op: "std")
    let v = varianceKeep(dim: d, correction: correction)
    let keep: Tensor
    if dtype == .float32 {
      keep = Kernel.map(v) { (x: Float) in x.squareRoot() }
    } else {
      keep = Kernel.map(v) { (x: Double) in x.squareRoot() }
    }
    let out = reductionOutput(keep, dim: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      let n = d.reduce(1) { $0 * shape[$1] }
      Tensor.record(
        "StdBackward0", inputs: [self], outputs: [out], saving: [self], savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        let isZero = result .== 0
        let one = Tensor.scalar(1, dtype: result.dtype)
        let zero = Tensor.scalar(0, dtype: result.dtype)
        let g = ctx.grad.reshape(keepShape)
        let gradVar = Tensor.where(isZero, zero, g / (Tensor.where(isZero, one, result) * 2))
        return [
          Tensor.varianceBackward(gradVar, x, dim: d, count: n, correction: correction)
        ]
      }
    }
    return out
  }

  /// Standard deviation over one dim (`std(dim, correction, keepdim)`).
  public func std(dim: Int, correction: Double = 1, keepdim: Bool = false) -> Tensor {
    std(dim: [dim], correction: correction, keepdim: keepdim)
  }

  /// d var / d x applied to a keepdim-shaped gradient: `2 / (n - correction) * g * (x - mean)`.
  static func varianceBackward(
    _ g: Tensor, _ x: Tensor, dim: [Int], count n: Int, correction: Double
  ) -> Tensor {
    (g * (2.0 / (Double(n) - correction))) * (x - x.mean(dim: dim, keepdim: true))
  }

  /// Variance over the dims `d` in keepdim layout (no autograd): two passes in double per slice
  /// (mean, then compensated squared deviations).
  private func varianceKeep(dim d: [Int], correction: Double) -> Tensor {
    let (rows, outer, inner) = Kernel.reducedRows(self, dim: d)
    let out = Tensor(uninitializedShape: reducedShape(d, keepdim: true), dtype: dtype)
    let divisor = Swift.max(0, Double(inner) - correction)
    func run<T: FloatScalar>(_: T.Type) {
      let px = UnsafePointer(rows.basePointer(T.self))
      let po = out.basePointer(T.self)
      func slice(_ p: UnsafePointer<T>) -> T {
        let total = Kernel.blockReduce(
          count: inner, initial: 0.0,
          { r in
            var a = 0.0
            for i in r { a += p[i].doubleValue }
            return a
          }, +)
        let mean = total / Double(inner)
        let (m2, c) = Kernel.blockReduce(
          count: inner, initial: (0.0, 0.0),
          { r in
            var s = 0.0
            var c = 0.0
            for i in r {
              let dv = p[i].doubleValue - mean
              s += dv * dv
              c += dv
            }
            return (s, c)
          }, { ($0.0 + $1.0, $0.1 + $1.1) })
        return T(fromDouble: (m2 - c * c / Double(inner)) / divisor)
      }
      withExtendedLifetime(rows) {
        Parallel.forRange(outer, costPerItem: inner * 2) { r in
          for o in r { po[o] = slice(px + o * inner) }
        }
      }
    }
    if dtype == .float32 && outer > 1 && inner > 0 {
      // rows of floats: the two passes in double in the C kernel (var(1) of 1000x1000: 1.3 ms
      // in the scalar loops above, 0.14 ms here)
      withExtendedLifetime(rows) {
        Kernel.varianceRowsFloat(
          UnsafePointer(rows.basePointer(Float.self)), out.basePointer(Float.self), rows: outer,
          n: inner, divisor: divisor)
      }
      return out
    }
    if dtype == .float32 { run(Float.self) } else { run(Double.self) }
    return out
  }

  /// log(sum(exp(x))) over `dim` (all dims when nil or empty), computed stably (`logsumexp`);
  /// integer inputs give float32. PyTorch requires `dim`; here it defaults to every dim.
  public func logsumexp(dim: [Int]? = nil, keepdim: Bool = false) -> Tensor {
    if !dtype.isFloatingPoint { return to(.defaultFloat).logsumexp(dim: dim, keepdim: keepdim) }
    let d = reductionDims(dim, op: "logsumexp")
    let keep = logsumexpKeep(dim: d)
    let out = reductionOutput(keep, dim: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(
        "LogsumexpBackward0", inputs: [self], outputs: [out], saving: [self], savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [ctx.grad.reshape(keepShape) * (x - result).exp()]
      }
    }
    return out
  }

  /// log(sum(exp(x))) over one dim (`logsumexp(dim)`).
  public func logsumexp(dim: Int, keepdim: Bool = false) -> Tensor {
    logsumexp(dim: [dim], keepdim: keepdim)
  }

  /// logsumexp over the dims `d` in keepdim layout (no autograd): shifts by the slice maximum
  /// (0 when it is infinite, as PyTorch).
  private func logsumexpKeep(dim d: [Int]) -> Tensor {
    let (rows, outer, inner) = Kernel.reducedRows(self, dim: d)
    let out = Tensor(uninitializedShape: reducedShape(d, keepdim: true), dtype: dtype)
    /// The scalar path, also used when the maximum is +inf.
    func slow<T: FloatScalar>(_ p: UnsafePointer<T>) -> T {
      var m = -T.infinity
      for i in 0..<inner where p[i] > m { m = p[i] }
      let shift = m.isInfinite ? 0 : m
      var s = 0.0
      for i in 0..<inner { s += T.exp(p[i] - shift).doubleValue }
      return T.log(T(fromDouble: s)) + shift
    }
    withExtendedLifetime(rows) {
      if dtype == .float32 {
        let px = UnsafePointer(rows.basePointer(Float.self))
        let po = out.basePointer(Float.self)
        Parallel.forRange(outer, costPerItem: inner * 8) { r in
          for o in r {
            let p = px + o * inner
            let m = Kernel.maxIgnoringNaN(p, inner)
            if m == .infinity {
              po[o] = slow(p)
              continue
            }
            let shift: Float = m.isInfinite ? 0 : m
            po[o] = Float.log(Kernel.sumExpShifted(p, inner, shift: shift)) + shift
          }
        }
      } else {
        let px = UnsafePointer(rows.basePointer(Double.self))
        let po = out.basePointer(Double.self)
        Parallel.forRange(outer, costPerItem: inner * 8) { r in
          for o in r { po[o] = slow(px + o * inner) }
        }
      }
    }
    return out
  }

  /// The vector p-norm over `dim` (all dims when nil or empty) (`norm`, `linalg.vector_norm`):
  /// p = 2 by default; 0 counts non-zeros, ±infinity take the largest/smallest magnitude. The
  /// p = 2 gradient is 0 at the zero vector, as PyTorch. Every form is recorded as
  /// `LinalgVectorNormBackward0`, as PyTorch 2 records `x.norm()`, `x.norm(p, dim)` and
  /// `torch.linalg.vector_norm`.
  public func norm(p: Double = 2, dim: [Int]? = nil, keepdim: Bool = false) -> Tensor {
    precondition(
      dtype.isFloatingPoint,
      "linalg.vector_norm: Expected a floating point or complex tensor as input. Got \(dtype)")
    let d = reductionDims(dim, op: "norm")
    if p == -.infinity {
      for k in d where shape[k] == 0 {
        preconditionFailure(
          "linalg.vector_norm: cannot compute the -inf norm on an empty dimension (dim \(k), shape \(shape))"
        )
      }
    }
    let keep =
      dtype == .float32 ? normKeep(Float.self, p: p, dim: d) : normKeep(Double.self, p: p, dim: d)
    let out = reductionOutput(keep, dim: d, keepdim: keepdim)
    if Tensor.needsGrad(self) {
      let keepShape = keep.shape
      Tensor.record(
        "LinalgVectorNormBackward0", inputs: [self], outputs: [out],
        saving: [self], savingOutputs: [0]
      ) { ctx in
        let x = try ctx.saved(0)
        let result = try ctx.saved(1).reshape(keepShape)
        return [Tensor.normBackward(ctx.grad.reshape(keepShape), x, result, p: p, dim: d)]
      }
    }
    return out
  }

  /// p-norm over one dim (`norm(p, dim, keepdim)`).
  public func norm(p: Double = 2, dim: Int, keepdim: Bool = false) -> Tensor {
    norm(p: p, dim: [dim], keepdim: keepdim)
  }

  /// The p-norm over the dims `d` in keepdim layout (no autograd), accumulated in double.
  private func normKeep<T: FloatScalar>(_: T.Type, p: Double, dim d: [Int]) -> Tensor {
    let maxMerge: (Double, Double) -> Double = { a, b in a != a ? a : (b != b || b > a ? b : a) }
    let minMerge: (Double, Double) -> Double = { a, b in a != a ? a : (b != b || b < a ? b : a) }
    if p == 2 {
      if let fast = fastFold(NormTwoFold<T>.self, dim: d, merge: +) { return fast }
      return foldReduce(
        dim: d, initial: 0.0, { (a: inout Double, v: T) in a += v.doubleValue * v.doubleValue },
        merge: +, { a in T(fromDouble: a.squareRoot()) })
    }
    if p == 1 {
      return foldReduce(
        dim: d, initial: 0.0, { (a: inout Double, v: T) in a += v.doubleValue.magnitude },
        merge: +, { a in T(fromDouble: a) })
    }
    if p == .infinity {
      return foldReduce(
        dim: d, initial: 0.0,
        { (a: inout Double, v: T) in
          let m = v.doubleValue.magnitude
          if a == a && (m > a || m != m) { a = m }
        }, merge: maxMerge, { a in T(fromDouble: a) })
    }
    if p == -.infinity {
      return foldReduce(
        dim: d, initial: Double.infinity,
        { (a: inout Double, v: T) in
          let m = v.doubleValue.magnitude
          if a == a && (m < a || m != m) { a = m }
        }, merge: minMerge, { a in T(fromDouble: a) })
    }
    if p == 0 {
      return foldReduce(
        dim: d, initial: 0.0, { (a: inout Double, v: T) in a += v == 0 ? 0 : 1 }, merge: +,
        { a in T(fromDouble: a) })
    }
    return foldReduce(
      dim: d, initial: 0.0,
      { (a: inout Double, v: T) in a += Double.pow(v.doubleValue.magnitude, p) }, merge: +,
      { a in T(fromDouble: Double.pow(a, 1 / p)) })
  }

  /// The gradient of the p-norm (keepdim-shaped `g` and `norm`), PyTorch's norm_backward in
  /// tensor ops with safe denominators so double backward stays finite.
  static func normBackward(_ g: Tensor, _ x: Tensor, _ norm: Tensor, p: Double, dim: [Int])
    -> Tensor
  {
    let zero = Tensor.scalar(0, dtype: x.dtype)
    let one = Tensor.scalar(1, dtype: x.dtype)
    let sign = x.signValues()
    let magnitude = x * sign  // |x| with derivative sign(x)
    let normIsZero = norm .== 0
    let safeNorm = Tensor.where(normIsZero, one, norm)
    if p == 0 { return Tensor.zeros(like: x) * g }
    if p == 1 { return sign * g }
    if p == 2 { return g * Tensor.where(normIsZero, zero, x / safeNorm) }
    if p.isInfinite {
      let mask = (magnitude .== norm).logicalOr(x.isNaN().logicalAnd(norm.isNaN()))
      let count = mask.sum(dim: dim, keepdim: true).to(x.dtype)
      return sign * Tensor.where(mask, g / count, zero)
    }
    let xIsZero = x .== 0
    let safeMagnitude = Tensor.where(xIsZero, one, magnitude)
    if p < 1 {
      let scaled = sign * Tensor.where(xIsZero, zero, safeMagnitude.pow(p - 1))
      return scaled * g * norm.pow(1 - p)
    }
    let scale = Tensor.where(normIsZero, zero, g / safeNorm.pow(p - 1))
    if p < 2 {
      return sign * Tensor.where(xIsZero, zero, safeMagnitude.pow(p - 1)) * scale
    }
    return x * magnitude.pow(p - 2) * scale
  }

  /// -1, 0 or 1 by the sign of each element (NaN stays NaN), with no history.
  private func signValues() -> Tensor {
    switch dtype {
    case .float32:
      return Kernel.map(self) { (v: Float) -> Float in v > 0 ? 1 : (v < 0 ? -1 : v) }
    default:
      return Kernel.map(self) { (v: Double) -> Double in v > 0 ? 1 : (v < 0 ? -1 : v) }
    }
  }
}

// MARK: - cumsum

extension Tensor {
  /// Running sums along `dim` (`cumsum`); integer and bool tensors give int64.
  public func cumsum(dim: Int) -> Tensor {
    let d = Shape.normalize(dim, rank: rank, op: "cumsum")
    let source = dtype == .bool ? to(.int64) : self
    let out = Kernel.cumsum(source, dim: d, reverse: false)
    if Tensor.needsGrad(self) {
      Tensor.record("CumsumBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.reverseCumsum(dim: d)]
      }
    }
    return out
  }

  /// Running sums along `dim` from the end (PyTorch's `flip(cumsum(flip(x)))`), the backward of
  /// cumsum; its own backward is cumsum.
  func reverseCumsum(dim d: Int) -> Tensor {
    let out = Kernel.cumsum(self, dim: d, reverse: true)
    if Tensor.needsGrad(self) {
      Tensor.record("ReverseCumsumBackward0", inputs: [self], outputs: [out]) { ctx in
        [ctx.grad.cumsum(dim: d)]
      }
    }
    return out
  }
}
