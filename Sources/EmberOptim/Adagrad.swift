/// Adagrad (`torch.optim.Adagrad`), with PyTorch 2.15's defaults and update (t is the
/// parameter's step):
///
///     g = ∇ (or −∇ when maximize);  g += weight_decay · θ
///     clr = lr / (1 + (t − 1) · lr_decay)
///     s += g²  (s starts at initial_accumulator_value)
///     θ −= clr · g / (√s + eps)
///
/// State: `"sum"`.
open class Adagrad: Optimizer {
  /// An optimizer over `groups`; the arguments are the defaults of keys a group does not set.
  ///
  /// Stops, as PyTorch raises, on a negative lr, lrDecay, weightDecay,
  /// initialAccumulatorValue or eps.
  public init(
    _ groups: [ParamGroup], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
    initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false
  ) {
    precondition(lr >= 0, "Adagrad: Invalid learning rate: \(lr)")
    precondition(lrDecay >= 0, "Adagrad: Invalid lr_decay value: \(lrDecay)")
    precondition(weightDecay >= 0, "Adagrad: Invalid weight_decay value: \(weightDecay)")
    precondition(
      initialAccumulatorValue >= 0,
      "Adagrad: Invalid initial_accumulator_value value: \(initialAccumulatorValue)")
    precondition(eps >= 0, "Adagrad: Invalid epsilon value: \(eps)")
    super.init(
      groups,
      defaults: [
        "lr": .number(lr), "lr_decay": .number(lrDecay), "weight_decay": .number(weightDecay),
        "initial_accumulator_value": .number(initialAccumulatorValue), "eps": .number(eps),
        "maximize": .flag(maximize),
      ])
  }

  /// One group of `params` (the state dict is keyed by position).
  public convenience init(
    _ params: [Tensor], lr: Double = 1e-2, lrDecay: Double = 0, weightDecay: Double = 0,
    initialAccumulatorValue: Double = 0, eps: Double = 1e-10, maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(params)], lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
      initialAccumulatorValue: initialAccumulatorValue, eps: eps, maximize: maximize)
  }

  /// One group of named parameters, e.g. `model.namedParameters()` (the state dict is keyed by
  /// name).
  public convenience init<P: Tensor>(
    _ namedParams: [(name: String, parameter: P)], lr: Double = 1e-2, lrDecay: Double = 0,
    weightDecay: Double = 0, initialAccumulatorValue: Double = 0, eps: Double = 1e-10,
    maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(namedParams)], lr: lr, lrDecay: lrDecay, weightDecay: weightDecay,
      initialAccumulatorValue: initialAccumulatorValue, eps: eps, maximize: maximize)
  }

  open override func update(
    parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup
  ) throws {
    let initial = group.number("initial_accumulator_value")
    let sum = state.tensor("sum") { Tensor.full(like: parameter, initial) }
    let kernel = AdagradUpdate(
      step: state.step, lr: group.lr, lrDecay: group.number("lr_decay"),
      weightDecay: group.number("weight_decay"), eps: group.number("eps"),
      maximize: group.flag("maximize"))
    try applyElementwise(kernel, parameter: parameter, grad: grad, states: [sum])
  }
}

struct AdagradUpdate: ElementwiseUpdate {
  let step: Int
  let lr, lrDecay, weightDecay, eps: Double
  let maximize: Bool

  func run<T: FloatScalar>(_ pointers: [UnsafeMutablePointer<T>], count: Int) {
    let param = pointers[0]
    let grad = pointers[1]
    let sum = pointers[2]
    let clr = lr / (1 + (Double(step) - 1) * lrDecay)
    let decay = T(fromDouble: weightDecay)
    let epsilon = T(fromDouble: eps)
    let negClr = T(fromDouble: -clr)
    for i in 0..<count {
      var g = maximize ? -grad[i] : grad[i]
      if weightDecay != 0 { g = g.addingProduct(param[i], decay) }
      let s = sum[i].addingProduct(g, g)  // state_sum.addcmul_(grad, grad, value=1)
      sum[i] = s
      let std = s.squareRoot() + epsilon  // state_sum.sqrt().add_(eps)
      param[i] = param[i] + (negClr * g) / std  // param.addcdiv_(grad, std, value=-clr)
    }
  }
}
