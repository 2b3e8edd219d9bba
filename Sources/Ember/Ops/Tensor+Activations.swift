import CEmberKernels

/// Activation functions (PyTorch's `torch.nn.functional` elementwise ones), each with its
/// forward kernel and a backward rule in tensor ops so it can be differentiated twice.

/// Which form of GELU to compute (`approximate=` in PyTorch).
public enum GeluApproximation: String, Sendable {
  /// The exact form x * Φ(x), with Φ the standard normal CDF (`'none'`).
  case none
  /// The tanh approximation 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))) (`'tanh'`).
  case tanh
}

// Constants as computed properties: a global `let` is lazily initialized, and the check would
// stop the kernel loops from vectorizing.
/// sqrt(2 / pi), the tanh-GELU scale.
private var geluBeta: Double { 0.7978845608028654 }
/// The cubic coefficient of tanh-GELU.
private var geluKappa: Double { 0.044715 }
/// 1 / sqrt(2).
private var sqrtHalf: Double { 0.7071067811865476 }
/// 1 / sqrt(2 pi), the standard normal density at 0.
private var invSqrt2Pi: Double { 0.3989422804014327 }

enum GeluOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T {
    T(0.5) * x * (1 + T.erf(x * T(sqrtHalf)))
  }
  @inline(__always) static func apply32(_ x: Float) -> Float {
    0.5 * x * (1 + FastMath.erf(x * Float(sqrtHalf)))
  }
}

enum GeluTanhOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T {
    let inner = T(geluBeta) * (x + T(geluKappa) * x * x * x)
    return T(0.5) * x * (1 + T.tanh(inner))
  }
  @inline(__always) static func apply32(_ x: Float) -> Float {
    let inner = Float(geluBeta) * (x + Float(geluKappa) * x * x * x)
    return 0.5 * x * (1 + FastMath.tanh(inner))
  }
}

enum SiluOp: FloatUnaryOp {
  @inline(__always) static func apply<T: FloatScalar>(_ x: T) -> T { x * SigmoidOp.apply(x) }
  @inline(__always) static func apply32(_ x: Float) -> Float { x * FastMath.sigmoid(x) }
}

extension Tensor {
  /// Stops an activation on an integer or bool tensor, as PyTorch does.
  private func requireFloat(_ op: String) {
    precondition(
      dtype.isFloatingPoint,
      "\(op): expected a floating-point tensor, got \(dtype) (shape \(shape))")
  }

  /// The float kernel of an activation for this tensor's dtype (float32 or float64).
  @inline(__always)
  private func activationMap(_ f32: (Float) -> Float, _ f64: (Double) -> Double) -> Tensor {
    dtype == .float32 ? Kernel.map(self, f32) : Kernel.map(self, f64)
  }

  // MARK: ReLU family

  /// max(x, 0) (`relu`); the gradient at 0 is 0, NaN stays NaN (as PyTorch). Integer tensors
  /// keep their dtype. (`x <= 0 ? 0 : x` is one compare, so NaN costs nothing.)
  public func relu() -> Tensor {
    let out: Tensor
    if dtype == .float32 && isContiguous && count >= Kernel.simdMinCount {
      // contiguous float32: the C kernel (AVX vectors; the Swift loop compiles to SSE2)
      out = Tensor(uninitializedShape: shape, dtype: dtype)
      _ = Kernel.simdApply(into: out, self, costPerItem: 1, ember_relu_f32)
    } else {
      out = mapNumeric("relu", { $0 <= 0 ? 0 : $0 }, { $0 <= 0 ? 0 : $0 }, { $0 > 0 ? $0 : 0 })
    }
    if Tensor.needsGrad(self) {
      Tensor.record("ReluBackward0", inputs: [self], outputs: [out], savingOutputs: [0]) { ctx in
        let y = try ctx.saved(0)
        if let fast = Tensor.reluBackwardFloat(ctx.grad, y) { return [fast] }
        return [Tensor.where(y .> 0, ctx.grad, ctx.grad.zeroScalar)]
      }
    }
    return out
  }

  /// `where(y > 0, grad, 0)` in one pass for contiguous float32 tensors of one shape, when no
  /// graph is recorded (PyTorch's fused `threshold_backward`); nil otherwise. CNN step
  /// (1 thread, perf): the comparison plus the three-operand `where` were 16% of the samples.
  /// The pass is `ember_relu_backward_f32` (eight-lane masks: a plain loop compiles to a branch
  /// per element, which mispredicts on activations of random sign). Against the Swift SIMD8 loop
  /// it replaced: within noise in ember-bench layers (0.19-0.39 ms both ways on
  /// [64, 32, 28, 28], memory-bound), 197 -> 171 perf samples of a 1-thread cnn run.
  static func reluBackwardFloat(_ grad: Tensor, _ y: Tensor) -> Tensor? {
    guard grad.dtype == .float32, y.dtype == .float32, grad.shape == y.shape,
      grad.isContiguous, y.isContiguous, !Tensor.needsGrad(grad)
    else { return nil }
    let out = Tensor(uninitializedShape: grad.shape, dtype: .float32)
    let (g, v, o) = (
      grad.basePointer(Float.self), y.basePointer(Float.self), out.basePointer(Float.self)
    )
    Parallel.forRange(out.count, costPerItem: 1) { r in
      let lo = r.lowerBound
      ember_relu_backward_f32(g + lo, v + lo, o + lo, Int64(r.count))
    }
    return out
  }

  /// max(x, 0) in place (`relu_`).
  @discardableResult
  public func reluInPlace() throws -> Tensor {
    try inPlace(
      direct: {
        // contiguous float32: relu()'s C kernel, which reads and writes one element at a time
        if dtype == .float32 && Kernel.simdApply(into: self, self, costPerItem: 1, ember_relu_f32) {
          return
        }
        applyNumericInPlace("relu", { $0 <= 0 ? 0 : $0 }, { $0 <= 0 ? 0 : $0 }, { $0 > 0 ? $0 : 0 })
      },
      differentiable: { $0.relu() })
  }

  /// x where x > 0, else `negativeSlope * x` (`leaky_relu`).
  public func leakyRelu(negativeSlope: Double = 0.01) -> Tensor {
    requireFloat("leaky_relu")
    let (s32, s64) = (Float(negativeSlope), negativeSlope)
    let out = activationMap({ $0 > 0 ? $0 : $0 * s32 }, { $0 > 0 ? $0 : $0 * s64 })
    if Tensor.needsGrad(self) {
      Tensor.record("LeakyReluBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        return [Tensor.where(x .> 0, ctx.grad, ctx.grad * negativeSlope)]
      }
    }
    return out
  }

  /// Leaky ReLU in place (`leaky_relu_`). Its backward reads the result, so with history a
  /// negative slope is rejected, as in PyTorch.
  @discardableResult
  public func leakyReluInPlace(negativeSlope: Double = 0.01) throws -> Tensor {
    requireFloat("leaky_relu_")
    let (s32, s64) = (Float(negativeSlope), negativeSlope)
    return try inPlace(
      direct: {
        applyFloatInPlace({ $0 > 0 ? $0 : $0 * s32 }, { $0 > 0 ? $0 : $0 * s64 })
      },
      differentiable: { x in
        precondition(
          negativeSlope >= 0,
          "In-place leakyReLu backward calculation is triggered with a negative slope which is not supported. This is caused by calling in-place forward function with a negative slope, please call out-of-place version instead. File an issue at https://github.com/pytorch/pytorch if you do require supporting in-place leakRelu backward calculation with negative slope"
        )
        let out = withNoGrad { x.leakyRelu(negativeSlope: negativeSlope) }
        Tensor.record("LeakyReluBackward1", inputs: [x], outputs: [out], savingOutputs: [0]) {
          ctx in
          let y = try ctx.saved(0)
          return [Tensor.where(y .> 0, ctx.grad, ctx.grad * negativeSlope)]
        }
        return out
      })
  }

  /// x clamped to [minVal, maxVal] (`hardtanh`); the gradient is 1 strictly inside the range
  /// and 0 elsewhere. Integer tensors keep their dtype. `relu6` is `hardtanh(minVal: 0, maxVal: 6)`.
  public func hardtanh(minVal: Double = -1, maxVal: Double = 1) -> Tensor {
    precondition(minVal <= maxVal, "hardtanh: min_val cannot be greater than max_val")
    let (lo32, hi32) = (Float(minVal), Float(maxVal))
    let (lo64, hi64) = (Int64(minVal.rounded(.up)), Int64(maxVal.rounded(.down)))
    let out = mapNumeric(
      "hardtanh",
      { $0 <= lo32 ? lo32 : ($0 >= hi32 ? hi32 : $0) },
      { $0 <= minVal ? minVal : ($0 >= maxVal ? maxVal : $0) },
      { $0 <= lo64 ? lo64 : ($0 >= hi64 ? hi64 : $0) })
    if Tensor.needsGrad(self) {
      Tensor.record("HardtanhBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        let inside = (x .> minVal).logicalAnd(x .< maxVal)
        return [Tensor.where(inside, ctx.grad, ctx.grad.zeroScalar)]
      }
    }
    return out
  }

  /// min(max(x, 0), 6) (`relu6`), recorded as PyTorch records it (`HardtanhBackward0`).
  public func relu6() -> Tensor { hardtanh(minVal: 0, maxVal: 6) }

  /// x where x > 0, else `alpha * (e^x - 1)` (`elu`).
  public func elu(alpha: Double = 1) -> Tensor {
    requireFloat("elu")
    let (a32, a64) = (Float(alpha), alpha)
    let out = activationMap(
      { $0 > 0 ? $0 : a32 * Float.expm1($0) }, { $0 > 0 ? $0 : a64 * Double.expm1($0) })
    if Tensor.needsGrad(self) {
      Tensor.record("EluBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        let positive = x .> 0
        // exp of the non-positive part only, so large x cannot overflow into the unused branch
        let negativePart = Tensor.where(positive, x.zeroScalar, x)
        return [Tensor.where(positive, ctx.grad, ctx.grad * negativePart.exp() * alpha)]
      }
    }
    return out
  }

  // MARK: smooth activations

  /// Gaussian error linear unit (`gelu`): x Φ(x), or its tanh approximation.
  public func gelu(approximate: GeluApproximation = .none) -> Tensor {
    requireFloat("gelu")
    let out: Tensor
    switch approximate {
    case .none: out = mapFloat("gelu", GeluOp.self)
    case .tanh: out = mapFloat("gelu", GeluTanhOp.self)
    }
    if Tensor.needsGrad(self) {
      Tensor.record("GeluBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        switch approximate {
        case .none:
          // d/dx x Φ(x) = Φ(x) + x φ(x)
          let cdf = ((x * sqrtHalf).erfForGradient() + 1) * 0.5
          let pdf = (x * x * -0.5).exp() * invSqrt2Pi
          return [ctx.grad * (cdf + x * pdf)]
        case .tanh:
          let x2 = x * x
          let t = ((x + x2 * x * geluKappa) * geluBeta).tanh()
          let dInner = (x2 * (3 * geluKappa) + 1) * geluBeta
          let d = (t + 1) * 0.5 + x * 0.5 * (1 - t * t) * dInner
          return [ctx.grad * d]
        }
      }
    }
    return out
  }

  /// x * sigmoid(x) (`silu`, also called swish).
  public func silu() -> Tensor {
    requireFloat("silu")
    let out = mapFloat("silu", SiluOp.self)
    if Tensor.needsGrad(self) {
      Tensor.record("SiluBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let x = try ctx.saved(0)
        let s = x.sigmoid()
        return [ctx.grad * s * (x * (1 - s) + 1)]
      }
    }
    return out
  }

  /// log(1 + e^(beta x)) / beta (`softplus`); reverts to x where beta x > threshold.
  public func softplus(beta: Double = 1, threshold: Double = 20) -> Tensor {
    requireFloat("softplus")
    let (b32, t32) = (Float(beta), Float(threshold))
    let out = activationMap(
      { x in
        let z = x * b32
        return z > t32 ? x : Float.log1p(Float.exp(z)) / b32
      },
      { x in
        let z = x * beta
        return z > threshold ? x : Double.log1p(Double.exp(z)) / beta
      })
    if Tensor.needsGrad(self) {
      Tensor.record("SoftplusBackward0", inputs: [self], outputs: [out], saving: [self]) { ctx in
        let z = try ctx.saved(0) * beta
        return [Tensor.where(z .> threshold, ctx.grad, ctx.grad * z.sigmoid())]
      }
    }
    return out
  }
}
