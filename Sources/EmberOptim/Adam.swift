#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Adam (`torch.optim.Adam`), with PyTorch 2.15's defaults and update (t is the parameter's step):
///
///     g = ∇ (or −∇ when maximize)
///     θ *= 1 − lr · weight_decay (decoupled), or g += weight_decay · θ (coupled L2, the default)
///     m = lerp(m, g, 1 − β₁);  v = β₂ · v + (1 − β₂) · g²
///     v̂ = max(v̂, v) (amsgrad)
///     θ −= lr / (1 − β₁ᵗ) · m / (√v (or √v̂) / √(1 − β₂ᵗ) + eps)
///
/// State: `"exp_avg"`, `"exp_avg_sq"`, and `"max_exp_avg_sq"` with amsgrad. Check: θ = 1, g = 2,
/// lr = 0.1 gives 0.9 after one step.
open class Adam: Optimizer {
  /// An optimizer over `groups`; the arguments are the defaults of keys a group does not set.
  ///
  /// Stops, as PyTorch raises, on a negative lr, eps or weightDecay, or a beta outside [0, 1).
  public init(
    _ groups: [ParamGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
    eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
    decoupledWeightDecay: Bool = false
  ) {
    let name = decoupledWeightDecay ? "AdamW" : "Adam"
    precondition(lr >= 0, "\(name): Invalid learning rate: \(lr)")
    precondition(eps >= 0, "\(name): Invalid epsilon value: \(eps)")
    precondition(
      betas.0 >= 0 && betas.0 < 1, "\(name): Invalid beta parameter at index 0: \(betas.0)")
    precondition(
      betas.1 >= 0 && betas.1 < 1, "\(name): Invalid beta parameter at index 1: \(betas.1)")
    precondition(weightDecay >= 0, "\(name): Invalid weight_decay value: \(weightDecay)")
    super.init(
      groups,
      defaults: [
        "lr": .number(lr), "betas": .numbers([betas.0, betas.1]), "eps": .number(eps),
        "weight_decay": .number(weightDecay), "amsgrad": .flag(amsgrad),
        "maximize": .flag(maximize), "decoupled_weight_decay": .flag(decoupledWeightDecay),
      ])
  }

  /// One group of `params` (the state dict is keyed by position).
  public convenience init(
    _ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
    eps: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
    decoupledWeightDecay: Bool = false
  ) {
    self.init(
      [ParamGroup(params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
      amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: decoupledWeightDecay)
  }

  /// One group of named parameters, e.g. `model.namedParameters()` (the state dict is keyed by
  /// name).
  public convenience init<P: Tensor>(
    _ namedParams: [(name: String, parameter: P)], lr: Double = 1e-3,
    betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8, weightDecay: Double = 0,
    amsgrad: Bool = false, maximize: Bool = false, decoupledWeightDecay: Bool = false
  ) {
    self.init(
      [ParamGroup(namedParams)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
      amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: decoupledWeightDecay)
  }

  open override func update(
    parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup
  ) throws {
    let amsgrad = group.flag("amsgrad")
    var states = [
      state.tensor("exp_avg") { Tensor.zeros(like: parameter) },
      state.tensor("exp_avg_sq") { Tensor.zeros(like: parameter) },
    ]
    if amsgrad { states.append(state.tensor("max_exp_avg_sq") { Tensor.zeros(like: parameter) }) }
    let betas = group.numbers("betas")
    precondition(betas.count == 2, "\(typeName): \"betas\" must hold two numbers, got \(betas)")
    let kernel = AdamUpdate(
      step: state.step, lr: group.lr, beta1: betas[0], beta2: betas[1], eps: group.number("eps"),
      weightDecay: group.number("weight_decay"), amsgrad: amsgrad,
      maximize: group.flag("maximize"),
      decoupled: group.options["decoupled_weight_decay"].flatMap(\.flag) ?? false)
    try applyElementwise(kernel, parameter: parameter, grad: grad, states: states)
  }
}

/// Adam with decoupled weight decay (`torch.optim.AdamW`): `θ *= 1 − lr · weight_decay` before the
/// Adam step, with weight_decay 0.01 by default.
open class AdamW: Adam {
  /// An optimizer over `groups`; the arguments are the defaults of keys a group does not set.
  public init(
    _ groups: [ParamGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
    eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false
  ) {
    super.init(
      groups, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
      maximize: maximize, decoupledWeightDecay: true)
  }

  /// One group of `params` (the state dict is keyed by position).
  public convenience init(
    _ params: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
    eps: Double = 1e-8, weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(params)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
      amsgrad: amsgrad, maximize: maximize)
  }

  /// One group of named parameters, e.g. `model.namedParameters()` (the state dict is keyed by
  /// name).
  public convenience init<P: Tensor>(
    _ namedParams: [(name: String, parameter: P)], lr: Double = 1e-3,
    betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8, weightDecay: Double = 1e-2,
    amsgrad: Bool = false, maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(namedParams)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay,
      amsgrad: amsgrad, maximize: maximize)
  }
}

struct AdamUpdate: ElementwiseUpdate {
  let step: Int
  let lr, beta1, beta2, eps, weightDecay: Double
  let amsgrad, maximize, decoupled: Bool

  func run<T: FloatScalar>(_ pointers: [UnsafeMutablePointer<T>], count: Int) {
    let param = pointers[0]
    let grad = pointers[1]
    let expAvg = pointers[2]
    let expAvgSq = pointers[3]
    let maxExpAvgSq: UnsafeMutablePointer<T>? = amsgrad ? pointers[4] : nil
    // The scalars PyTorch computes in Python floats, then passes to the kernels.
    let t = Double(step)
    let biasCorrection1 = 1 - pow(beta1, t)
    let biasCorrection2 = 1 - pow(beta2, t)
    let stepSize = lr / biasCorrection1
    let biasCorrection2Sqrt = pow(biasCorrection2, 0.5)
    let decay = T(fromDouble: weightDecay)
    let shrink = T(fromDouble: 1 - lr * weightDecay)
    let w1 = T(fromDouble: 1 - beta1)
    let b2 = T(fromDouble: beta2)
    let c2 = T(fromDouble: 1 - beta2)
    let scale = T(fromDouble: biasCorrection2Sqrt)
    let epsilon = T(fromDouble: eps)
    let negStep = T(fromDouble: -stepSize)
    for i in 0..<count {
      var g = maximize ? -grad[i] : grad[i]
      if weightDecay != 0 {
        if decoupled {
          param[i] = param[i] * shrink  // param.mul_(1 - lr * weight_decay)
        } else {
          g = g.addingProduct(param[i], decay)  // grad.add(param, alpha=weight_decay)
        }
      }
      let m = lerp(expAvg[i], g, weight: w1)  // exp_avg.lerp_(grad, 1 - beta1)
      expAvg[i] = m
      // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
      let v = (expAvgSq[i] * b2).addingProduct(c2 * g, g)
      expAvgSq[i] = v
      var second = v
      if let maxExpAvgSq {
        second = nanMaximum(maxExpAvgSq[i], v)
        maxExpAvgSq[i] = second
      }
      let denom = second.squareRoot() / scale + epsilon  // (v.sqrt() / bc2_sqrt).add_(eps)
      param[i] = param[i] + (negStep * m) / denom  // param.addcdiv_(m, denom, value=-step_size)
    }
  }
}
