import CEmberKernels

/// Stochastic gradient descent, optionally with momentum (`torch.optim.SGD`), with PyTorch 2.15's
/// defaults and update:
///
///     g = ∇ (or −∇ when maximize);  g += weight_decay · θ
///     b = g on the first step, else b = momentum · b + (1 − dampening) · g
///     g = g + momentum · b (nesterov) or b
///     θ −= lr · g
///
/// State: `"momentum_buffer"` when momentum is not 0.
///
/// ```swift
/// let optimizer = SGD(model.namedParameters(), lr: 0.05, momentum: 0.9)
/// ```
open class SGD: Optimizer {
  /// An optimizer over `groups`; the arguments are the defaults of keys a group does not set.
  ///
  /// Stops, as PyTorch raises, on a negative lr, momentum or weightDecay, and on nesterov
  /// without momentum or with dampening.
  public init(
    _ groups: [ParamGroup], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
    weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
  ) {
    precondition(lr >= 0, "SGD: Invalid learning rate: \(lr)")
    precondition(momentum >= 0, "SGD: Invalid momentum value: \(momentum)")
    precondition(weightDecay >= 0, "SGD: Invalid weight_decay value: \(weightDecay)")
    precondition(
      !nesterov || (momentum > 0 && dampening == 0),
      "SGD: Nesterov momentum requires a momentum and zero dampening")
    super.init(
      groups,
      defaults: [
        "lr": .number(lr), "momentum": .number(momentum), "dampening": .number(dampening),
        "weight_decay": .number(weightDecay), "nesterov": .flag(nesterov),
        "maximize": .flag(maximize),
      ])
  }

  /// One group of `params` (the state dict is keyed by position).
  public convenience init(
    _ params: [Tensor], lr: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
    weightDecay: Double = 0, nesterov: Bool = false, maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(params)], lr: lr, momentum: momentum, dampening: dampening,
      weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
  }

  /// One group of named parameters, e.g. `model.namedParameters()` (the state dict is keyed by
  /// name).
  public convenience init<P: Tensor>(
    _ namedParams: [(name: String, parameter: P)], lr: Double = 1e-3, momentum: Double = 0,
    dampening: Double = 0, weightDecay: Double = 0, nesterov: Bool = false,
    maximize: Bool = false
  ) {
    self.init(
      [ParamGroup(namedParams)], lr: lr, momentum: momentum, dampening: dampening,
      weightDecay: weightDecay, nesterov: nesterov, maximize: maximize)
  }

  open override func update(
    parameter: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup
  ) throws {
    let momentum = group.number("momentum")
    var buffers: [Tensor] = []
    var first = false
    if momentum != 0 {
      if let b = state["momentum_buffer"] {
        buffers = [b]
      } else {
        let b = Tensor.zeros(like: parameter)
        state["momentum_buffer"] = b
        buffers = [b]
        first = true
      }
    }
    let kernel = SGDUpdate(
      lr: group.lr, momentum: momentum, dampening: group.number("dampening"),
      weightDecay: group.number("weight_decay"), nesterov: group.flag("nesterov"),
      maximize: group.flag("maximize"), firstStep: first)
    try applyElementwise(kernel, parameter: parameter, grad: grad, states: buffers)
  }
}

struct SGDUpdate: ElementwiseUpdate {
  let lr, momentum, dampening, weightDecay: Double
  let nesterov, maximize, firstStep: Bool

  func run<T: FloatScalar>(_ pointers: [UnsafeMutablePointer<T>], count: Int) {
    if T.self == Float.self {
      // Fast path: the same operations in C, where the fused multiply-add is one instruction
      // (Swift's baseline x86-64 build calls libm's fmaf for each `addingProduct`). MLP step
      // (784-512-256-10, 1 thread, perf): the update was 40% of the step's samples (fmaf 21%,
      // this loop 17%, the PLT 3%).
      runFloat(
        pointers.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Float.self) }, count)
      return
    }
    let param = pointers[0]
    let grad = pointers[1]
    let buffer: UnsafeMutablePointer<T>? = momentum != 0 ? pointers[2] : nil
    let negLr = T(fromDouble: -lr)
    let decay = T(fromDouble: weightDecay)
    let mu = T(fromDouble: momentum)
    let keep = T(fromDouble: 1 - dampening)
    for i in 0..<count {
      var g = maximize ? -grad[i] : grad[i]
      if weightDecay != 0 { g = g.addingProduct(param[i], decay) }  // grad.add(param, alpha=wd)
      if let buffer {
        // buf = grad.clone() first, then buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        let b = firstStep ? g : (buffer[i] * mu).addingProduct(g, keep)
        buffer[i] = b
        g = nesterov ? g.addingProduct(b, mu) : b  // grad.add(buf, alpha=momentum)
      }
      param[i] = param[i].addingProduct(g, negLr)  // param.add_(grad, alpha=-lr)
    }
  }

  /// The loop of ``run(_:count:)`` for float32, in `ember_sgd_f32`.
  private func runFloat(_ pointers: [UnsafeMutablePointer<Float>], _ count: Int) {
    var flags: Int32 = 0
    if maximize { flags |= Int32(EMBER_SGD_MAXIMIZE) }
    if nesterov { flags |= Int32(EMBER_SGD_NESTEROV) }
    if firstStep { flags |= Int32(EMBER_SGD_FIRST_STEP) }
    ember_sgd_f32(
      pointers[0], pointers[1], momentum != 0 ? pointers[2] : nil, Int64(count), Float(-lr),
      Float(weightDecay), Float(momentum), Float(1 - dampening), flags)
  }
}
