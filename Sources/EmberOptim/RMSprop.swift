/// RMSprop (`torch.optim.RMSprop`), with PyTorch 2.15's defaults and update:
///
///     g = ∇ (or −∇ when maximize);  g += weight_decay · θ
///     v = α · v + (1 − α) · g²
///     centered: ḡ = lerp(ḡ, g, 1 − α), avg = √(v − ḡ²) + eps; else avg = √v + eps
///     momentum > 0: b = momentum · b + g / avg, θ −= lr · b; else θ −= lr · g / avg
///
/// State: `"square_avg"`, `"momentum_buffer"` when momentum > 0, `"grad_avg"` when centered.
open class RMSprop: Optimizer {
  /// An optimizer over `groups`; the arguments are the defaults of keys a group does not set.
  ///
  /// Stops, as PyTorch raises, on a negative lr, alpha, eps, momentum or weightDecay.
  public init(
    _ groups: [ParamGroup], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
    weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false
  ) {
    precondition(lr >= 0, "RMSprop: Invalid learning rate: \(lr)")
    precondition(eps >= 0, "RMSprop: Invalid epsilon value: \(eps)")
    precondition(momentum >= 0, "RMSprop: Invalid momentum value: \(momentum)")
    precondition(weightDecay >= 0, "RMSprop: Invalid weight_decay value: \(weightDecay)")
    precondition(alpha >= 0, "RMSprop: Invalid alpha value: \(alpha)")
    super.init(
      groups,
      defaults: [
        "lr": .number(lr), "alpha": .number(alpha), "eps": .number(eps),
        "weight_decay": .number(weightDecay), "momentum": .number(momentum),
        "centered": .flag(centered), "maximize": .flag(maximize),
      ])
  }

  /// One group of `params` (the state dict is keyed by position).
  public convenience init(
    _ params: [Tensor], lr: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8,
    weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(params)], lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
      momentum: momentum, centered: centered, maximize: maximize)
  }

  /// One group of named parameters, e.g. `model.namedParameters()` (the state dict is keyed by
  /// name).
  public convenience init<P: Tensor>(
    _ namedParams: [(name: String, parameter: P)], lr: Double = 1e-2, alpha: Double = 0.99,
    eps: Double = 1e-8, weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false,
    maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(namedParams)], lr: lr, alpha: alpha, eps: eps, weightDecay: weightDecay,
      momentum: momentum, centered: centered, maximize: maximize)
  }

  open override func update(
    parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup
  ) throws {
    let momentum = group.number("momentum")
    let centered = group.flag("centered")
    var states = [state.tensor("square_avg") { Tensor.zeros(like: parameter) }]
    if momentum > 0 {
      states.append(state.tensor("momentum_buffer") { Tensor.zeros(like: parameter) })
    }
    if centered { states.append(state.tensor("grad_avg") { Tensor.zeros(like: parameter) }) }
    let kernel = RMSpropUpdate(
      lr: group.lr, alpha: group.number("alpha"), eps: group.number("eps"),
      weightDecay: group.number("weight_decay"), momentum: momentum, centered: centered,
      maximize: group.flag("maximize"))
    try applyElementwise(kernel, parameter: parameter, grad: grad, states: states)
  }
}

struct RMSpropUpdate: ElementwiseUpdate {
  let lr, alpha, eps, weightDecay, momentum: Double
  let centered, maximize: Bool

  func run<T: FloatScalar>(_ pointers: [UnsafeMutablePointer<T>], count: Int) {
    let param = pointers[0]
    let grad = pointers[1]
    let squareAvg = pointers[2]
    let buffer: UnsafeMutablePointer<T>? = momentum > 0 ? pointers[3] : nil
    let gradAvg: UnsafeMutablePointer<T>? = centered ? pointers[momentum > 0 ? 4 : 3] : nil
    let decay = T(fromDouble: weightDecay)
    let a = T(fromDouble: alpha)
    let rest = T(fromDouble: 1 - alpha)
    let epsilon = T(fromDouble: eps)
    let mu = T(fromDouble: momentum)
    let negLr = T(fromDouble: -lr)
    for i in 0..<count {
      var g = maximize ? -grad[i] : grad[i]
      if weightDecay != 0 { g = g.addingProduct(param[i], decay) }
      // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
      let v = (squareAvg[i] * a).addingProduct(rest * g, g)
      squareAvg[i] = v
      var avg: T
      if let gradAvg {
        let m = lerp(gradAvg[i], g, weight: rest)  // grad_avg.lerp_(grad, 1 - alpha)
        gradAvg[i] = m
        avg = v.addingProduct(-m, m).squareRoot()  // square_avg.addcmul(m, m, value=-1).sqrt_()
      } else {
        avg = v.squareRoot()
      }
      avg = avg + epsilon
      if let buffer {
        let b = buffer[i] * mu + g / avg  // buf.mul_(momentum).addcdiv_(grad, avg)
        buffer[i] = b
        param[i] = param[i].addingProduct(b, negLr)  // param.add_(buf, alpha=-lr)
      } else {
        param[i] = param[i] + (negLr * g) / avg  // param.addcdiv_(grad, avg, value=-lr)
      }
    }
  }
}
