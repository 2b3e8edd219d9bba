// Reproduces every example of the seed tutorials (../shared/seeds, Chinese posts about PyTorch
// autograd), one line per item: `S<n> <label>: <value>`, tensors printed as PyTorch prints them and
// `error: <message>` where PyTorch raises. ../shared/seeds/EXPECTED.md lists PyTorch's output.
import EmberNN

PrintOptions.shared = PrintOptions(precision: 4, style: .pytorch)

/// Prints one item. 0-d tensors print as Python floats, as the tutorials' `.item()`/`float` reads.
func show(_ label: String, _ value: Any?) {
  print("\(label): \(text(value))")
}

func text(_ value: Any?) -> String {
  switch value {
  case nil: return "None"
  case let t as Tensor: return t.rank == 0 ? String(t.item()) : t.description
  case let b as Bool: return b ? "True" : "False"
  case let d as Double: return String(d)
  case let bs as [Bool]: return "[" + bs.map { $0 ? "True" : "False" }.joined(separator: ", ") + "]"
  case let ds as [Double]: return "[" + ds.map { String($0) }.joined(separator: ", ") + "]"
  case let ss as [String]: return "[" + ss.map { "'\($0)'" }.joined(separator: ", ") + "]"
  case let s as String: return s
  default: return "\(value!)"
  }
}

/// Runs `body`, printing `error: <message>` if it throws (PyTorch raising) or `no error`.
func expectError(_ label: String, _ body: () throws -> Void) {
  do {
    try body()
    print("\(label): no error")
  } catch {
    print("\(label): error: \(error)")
  }
}

func rounded(_ v: Double, _ digits: Int) -> Double {
  var p = 1.0
  for _ in 0..<digits { p *= 10 }
  return (v * p).rounded() / p
}

func run() throws {
  // S1: y = x^2 + 2x + 3 at x = 1
  do {
    let x = try Tensor(1.0, requiresGrad: true)
    let y = x ** 2 + 2 * x + 3
    try y.backward()
    show("S1 x.grad", x.grad)
  }
  // S2: two scalars
  do {
    let x1 = try Tensor(1.0, requiresGrad: true)
    let x2 = try Tensor(2.0, requiresGrad: true)
    let y = x1 ** 2 + 3 * x2 + 5
    try y.backward()
    show("S2 x1.grad", x1.grad)
    show("S2 x2.grad", x2.grad)
  }
  // S3: a vector, summed
  do {
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    var y = x ** 2 + 2 * x + 5
    show("S3 y", y)
    y = y.sum()
    show("S3 y.sum", y)
    try y.backward()
    show("S3 x.grad", x.grad)
  }
  // S4: two vectors, sum then mean
  do {
    let x1 = try Tensor([1.0, 2.0], requiresGrad: true)
    let x2 = try Tensor([2.0, 5.0], requiresGrad: true)
    try (x1 ** 2 + 3 * x2 + 5).sum().backward()
    show("S4 sum x1.grad", x1.grad)
    show("S4 sum x2.grad", x2.grad)
  }
  do {
    let x1 = try Tensor([1.0, 2.0], requiresGrad: true)
    let x2 = try Tensor([2.0, 5.0], requiresGrad: true)
    try (x1 ** 2 + 3 * x2 + 5).mean().backward()
    show("S4 mean x1.grad", x1.grad)
    show("S4 mean x2.grad", x2.grad)
  }
  // S5: matrices
  do {
    let x1 = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
    try (x1 ** 2 + 3 * x1 + 5).sum().backward()
    show("S5 x1.grad", x1.grad)
  }
  do {
    let x1 = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
    let x2 = try Tensor([[11.0, 2.0], [1.0, 22.0]], requiresGrad: true)
    try (x1 ** 2 + 3 * x2 + 5).sum().backward()
    show("S5b x1.grad", x1.grad)
    show("S5b x2.grad", x2.grad)
  }
  // S6: controlling gradient tracking
  do {
    let x = Tensor(3.0)
    let y = x ** 2 + 2 * x + 3
    expectError("S6 backward on no-grad tensor") { try y.backward() }
  }
  do {
    let x = try Tensor(3.0, requiresGrad: true)
    setGradEnabled(false)
    let y = x ** 2 + 2 * x + 3
    expectError("S6 backward with grad disabled") { try y.backward() }
    setGradEnabled(true)
  }
  do {
    let x = try Tensor(3.0, requiresGrad: true)
    let y = withNoGrad { x ** 2 + 2 * x + 3 }
    show("S6 no_grad y.requires_grad", y.requiresGrad)
    expectError("S6 backward after no_grad") { try y.backward() }
  }
  // S7: gradients accumulate
  do {
    let x = try Tensor(4.0, requiresGrad: true)
    try (2 * x ** 2 + 7).backward()
    show("S7 first", x.grad)
    try (x ** 2).backward()
    show("S7 accumulated", x.grad)
  }
  do {
    let x = try Tensor(4.0, requiresGrad: true)
    show("S7 grad before backward is None", x.grad == nil)
    expectError("S7 zero_ before any backward") {
      guard let g = x.grad else { throw TutorialError.gradIsNil }
      try g.zero()
    }
    try (2 * x ** 2 + 7).backward()
    try (x ** 2).backward()
    try x.grad!.zero()
    show("S7 after zero_", x.grad)
    show("S7 after zero_ is None", x.grad == nil)
  }
  // S8: gradient descent on w^2 with learning rate 0.4
  do {
    let w = try Tensor(5.0, requiresGrad: true)
    var num = 0
    var trace: [Double] = []
    while true {
      num += 1
      if num > 50 { break }
      let loss = w ** 2
      var a = 0.0
      if let g = w.grad {
        a = g.item()
        try g.zero()
      }
      try loss.backward()
      let b = w.grad!.item()
      if (b > a && a != 0) || b == 0 { break }
      w.data = w.data - 0.4 * w.grad!
      trace.append(rounded(w.item(), 6))
    }
    show("S8 w trace (first 6)", Array(trace.prefix(6)))
    show("S8 steps", String(trace.count))
    show("S8 final w", w.item())
  }
  // S9: detach and raw memory
  do {
    let x = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    expectError("S9 numpy on requires_grad") {
      try x.withUnsafeMutableBufferPointer(as: Float.self) { _ in }
    }
    let x3 = x.detach()
    show("S9 detach", x3)
    show("S9 detach requires_grad", x3.requiresGrad)
    x3[0] = 10.0
    show("S9 shares storage x", x)
  }
  // S10 (seed 001): z = sum(x^2)
  do {
    let x = try Tensor([[1.0, 0.0], [-1.0, 1.0]], requiresGrad: true)
    let z = x.pow(2).sum()
    try z.backward()
    show("S10 x.grad", x.grad)
    show("S10 x.is_leaf", x.isLeaf)
    show("S10 z.is_leaf", z.isLeaf)
    show("S10 z.grad_fn", z.gradFn!.name)
  }
  // S11 (seed 002): z = (w x + b)^2
  do {
    let x = try Tensor(2.0, requiresGrad: true)
    let w = try Tensor(3.0, requiresGrad: true)
    let b = try Tensor(1.0, requiresGrad: true)
    let y = w * x + b
    let z = y ** 2
    show("S11 z.grad_fn", z.gradFn!.name)
    show("S11 next_functions", z.gradFn!.nextFunctions.map { $0.node?.name ?? "None" })
    show("S11 y.grad_fn", y.gradFn!.name)
    try z.backward()
    show("S11 dz/dx", x.grad)
    show("S11 dz/dw", w.grad)
    show("S11 dz/db", b.grad)
  }
  // S12: accumulation on a vector
  do {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    try x.sum().backward()
    try x.sum().backward()
    show("S12 twice", x.grad)
    try x.grad!.zero()
    try x.sum().backward()
    show("S12 after zero", x.grad)
  }
  // S13: vector-Jacobian products
  do {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = Tensor.stack([x[0] ** 2, x[1] ** 3])
    try y.backward(gradient: Tensor([1.0, 0.5]))
    show("S13 vjp", x.grad)
  }
  do {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    let y = Tensor.stack([x[0] ** 2, x[1] ** 3])
    expectError("S13 non-scalar without gradient") { try y.backward() }
  }
  // S14-S15: custom functions
  try customFunctions()
  // S16: in-place operations
  do {
    let x = try Tensor([1.0, 2.0], requiresGrad: true)
    _ = x ** 2
    expectError("S16 in-place on leaf") { try x.addInPlace(Tensor(1.0)) }
    let a = try Tensor([1.0, 2.0], requiresGrad: true)
    let b = a * 2
    let c = b ** 2
    try b.addInPlace(Tensor(1.0))
    expectError("S16 saved tensor modified") { try c.sum().backward() }
  }
  // S17: backward twice
  do {
    let x = try Tensor(2.0, requiresGrad: true)
    let y = x ** 3
    try y.backward(retainGraph: true)
    show("S17 first", x.grad)
    try y.backward()
    show("S17 retained second", x.grad)
  }
  do {
    let x = try Tensor(2.0, requiresGrad: true)
    let y = x ** 3
    try y.backward()
    expectError("S17 backward twice") { try y.backward() }
  }
  // S18: second derivative with createGraph
  do {
    let x = try Tensor(2.0, requiresGrad: true)
    let y = x ** 3
    let g = try grad(of: y, withRespectTo: x, createGraph: true)
    show("S18 dy/dx", g)
    let g2 = try grad(of: g, withRespectTo: x)
    show("S18 d2y/dx2", g2)
  }
  try lineFunction()
  // S20 (seed 004): requiresGrad propagation, backward with a gradient
  do {
    let xa = Tensor.randn([2, 2])
    let ya = Tensor.randn([2, 2])
    let za = try Tensor.randn([2, 2]).setRequiresGrad()
    let a = xa + ya
    let bb = a + za
    show("S20 requires_grad x y z", [xa.requiresGrad, ya.requiresGrad, za.requiresGrad])
    show("S20 requires_grad a b", [a.requiresGrad, bb.requiresGrad])
  }
  do {
    let a = try Tensor([2.0, 3.0], requiresGrad: true)
    let b = a + 3
    let c = b * b * 3
    let out = c.mean()
    try out.backward(retainGraph: true)
    show("S20 a.grad", a.grad)
  }
  do {
    let m = try Tensor([2.0, 3.0], requiresGrad: true)
    let n = Tensor.zeros([2])
    n[0] = m[0] ** 2
    n[1] = m[1] ** 3
    try n.backward(gradient: Tensor([1.0, 1.0]), retainGraph: true)
    show("S20 m.grad", m.grad)
  }
  show(
    "S20 dtypes",
    "["
      + [Tensor([2, 3], dtype: .float32).dtype, Tensor([2, 3]).dtype].map(\.pytorchName).joined(
        separator: ", ") + "]")
  expectError("S20 int tensor requires grad") { _ = try Tensor([2, 3], requiresGrad: true) }
  // S21 (seed 002): a linear model cannot fit XOR (the loss stays near 0.25)
  do {
    manualSeed(0)
    let w = try Tensor.randn([1, 2]).setRequiresGrad()
    let b = try Tensor.randn([1]).setRequiresGrad()
    let x = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype: .float32)
    let y = Tensor([[0], [1], [1], [0]], dtype: .float32)
    var loss = Tensor(0.0)
    for _ in 0..<1000 {
      let pred = x.matmul(w.t()) + b
      loss = ((pred - y) ** 2).mean()
      try loss.backward()
      try withNoGrad {
        try w.subInPlace(0.01 * w.grad!)
        try b.subInPlace(0.01 * b.grad!)
      }
      try w.grad!.zero()
      try b.grad!.zero()
    }
    show("S21 linear XOR final loss (>= 0.25 - tiny)", rounded(loss.item(), 4))
  }
}

/// The tutorials' `torch.autograd.Function` examples.
enum CustomReLU: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs[0])
    return inputs[0].clamp(min: 0)
  }
  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let input = try ctx.savedTensors[0]
    let gradInput = gradOutputs[0].clone()
    try gradInput.maskedFillInPlace(input .< 0, 0)  // grad_input[input < 0] = 0
    return [gradInput]
  }
}

/// y = a x^2 + b x + c, with its derivatives written by hand.
enum Quadratic: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    let (x, a, b, c) = (inputs[0], inputs[1], inputs[2], inputs[3])
    ctx.saveForBackward(x, a, b, c)
    return a * x ** 2 + b * x + c
  }
  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let s = try ctx.savedTensors
    let (x, a, b) = (s[0], s[1], s[2])
    let g = gradOutputs[0]
    return [g * (2 * a * x + b), g * x ** 2, g * x, g]
  }
}

/// out = w x + b (seed 003).
enum Line: CustomFunction {
  static func forward(_ ctx: FunctionContext, _ inputs: [Tensor]) throws -> Tensor {
    ctx.saveForBackward(inputs[0], inputs[1], inputs[2])
    return inputs[0] * inputs[1] + inputs[2]
  }
  static func backward(_ ctx: FunctionContext, _ gradOutputs: [Tensor]) throws -> [Tensor?] {
    let s = try ctx.savedTensors
    let g = gradOutputs[0]
    return [g * s[1], g * s[0], g]
  }
}

func customFunctions() throws {
  // S14: a custom ReLU
  do {
    let x = try Tensor([-1.0, 2.0, 0.5], requiresGrad: true)
    let y = try CustomReLU.apply(x)
    try y.backward(gradient: Tensor([1.0, 1.0, 1.0]))
    show("S14 custom relu grad", x.grad)
  }
  // S15: a quadratic with four inputs, and gradcheck in float64
  do {
    let x = try Tensor(3.0, requiresGrad: true)
    let a = try Tensor(2.0, requiresGrad: true)
    let b = try Tensor(1.0, requiresGrad: true)
    let c = try Tensor(4.0, requiresGrad: true)
    let y = try Quadratic.apply(x, a, b, c)
    try y.backward()
    show("S15 grads x a b c", [x, a, b, c].map { $0.grad!.item() })
    let inputs = try [3.0, 2.0, 1.0, 4.0].map {
      try Tensor($0, dtype: .float64, requiresGrad: true)
    }
    show("S15 gradcheck", try gradcheck({ try Quadratic.apply($0) }, inputs: inputs, eps: 1e-6))
  }
}

func lineFunction() throws {
  // S19: a custom line w x + b with a 2x2 gradient of ones
  do {
    let w = try Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
    let x = try Tensor([[5.0, 6.0], [7.0, 8.0]], requiresGrad: true)
    let b = try Tensor([[0.5, 0.5], [0.5, 0.5]], requiresGrad: true)
    let out = try Line.apply(w, x, b)
    try out.backward(gradient: Tensor.ones([2, 2]))
    show("S19 w.grad", w.grad)
    show("S19 x.grad", x.grad)
    show("S19 b.grad", b.grad)
  }
}

enum TutorialError: Error, CustomStringConvertible {
  case gradIsNil
  var description: String {
    "x.grad is nil: no backward pass has reached this tensor yet, so there is no gradient to zero"
  }
}

do {
  try run()
  try nnOverview()
} catch {
  print("unexpected error: \(error)")
}
