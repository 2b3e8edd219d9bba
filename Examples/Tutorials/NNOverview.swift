// The seeds' torch.nn overview (seed 003, ../shared/seeds/examples_nn.py), lines N1-N7 of
// ../shared/seeds/EXPECTED-nn.md: parameters and their containers, Linear/Conv2d/MaxPool2d with
// PyTorch's default init from the seeded generator, losses, functional forms, containers and
// state-dict loading; N8-N9 train the seeds' XOR with optimizers.
import EmberNN
import EmberOptim
import Foundation

/// A Python list of strings and ints as PyTorch's script prints it.
func pythonList(_ items: [Any]) -> String {
  "[" + items.map { ($0 as? String).map { "'\($0)'" } ?? "\($0)" }.joined(separator: ", ") + "]"
}

/// Runs `body`, printing its error's lines joined by ` | ` (as the seeds' script prints them).
func expectErrorLines(_ label: String, _ body: () throws -> Void) {
  do {
    try body()
    print("\(label): no error")
  } catch {
    let lines = "\(error)".split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    print("\(label): error: \(lines.joined(separator: " | "))")
  }
}

func nnOverview() throws {
  // N1 Parameter, ParameterList, ParameterDict
  do {
    let p = Parameter(Tensor.ones(2))
    show("N1 parameter", p)
    show("N1 requires_grad is_leaf", [p.requiresGrad, p.isLeaf])
    let pl = ParameterList([Parameter(Tensor.zeros(2, 3)), Parameter(Tensor.ones(3))])
    show("N1 list shapes", pl.map(\.shape))
    let pd = ParameterDict(["w": Parameter(Tensor.ones(2, 2)), "b": Parameter(Tensor.zeros(2))])
    show("N1 dict keys", pd.keys)
  }
  // N2 Linear: default init from the seeded generator, forward, parameters
  do {
    manualSeed(0)
    let lin = Linear(3, 2)
    show("N2 linear", lin)
    show("N2 weight", lin.weight)
    show("N2 bias", lin.bias)
    let x = Tensor([[1.0, 2.0, 3.0]])
    show("N2 output", lin(x))
    show(
      "N2 named_parameters",
      "["
        + lin.namedParameters().map { "('\($0.name)', \($0.parameter.shape))" }.joined(
          separator: ", ") + "]")
  }
  // N3 Conv2d, ReLU, MaxPool2d on a fixed image
  do {
    manualSeed(1)
    let conv = Conv2d(1, 2, 3, padding: 1)
    let img = Tensor.arange(0.0, 16.0).reshape(1, 1, 4, 4) / 16 - 0.5
    let y = MaxPool2d(2)(ReLU()(conv(img)))
    show("N3 conv", conv)
    show("N3 conv weight shape", conv.weight.shape)
    show("N3 pooled", y)
    show("N3 pooled grad_fn", y.gradFn!.name)
  }
  // N4 MSELoss and its gradient
  do {
    let pred = try Tensor([1.0, 2.0, 3.0], requiresGrad: true)
    let target = Tensor([1.5, 2.0, 2.0])
    let loss = MSELoss()(pred, target)
    try loss.backward()
    show("N4 mse", loss)
    show("N4 mse grad", pred.grad)
  }
  // N5 functional matches the modules
  do {
    let t = Tensor([-1.0, 0.0, 2.0])
    show("N5 F.relu", F.relu(t))
    show("N5 nn.ReLU", ReLU()(t))
    show(
      "N5 F.mse_loss sum",
      F.mseLoss(Tensor([1.0, 2.0]), Tensor([0.0, 0.0]), reduction: .sum))
  }
  // N6 Sequential, ModuleList, ModuleDict
  do {
    manualSeed(0)
    let seq = Sequential(Linear(2, 4), ReLU(), Linear(4, 1))
    show("N6 sequential", seq)
    show("N6 state_dict keys", seq.stateDict().keys)
    show("N6 parameter count", seq.parameters().reduce(0) { $0 + $1.numel() })
    let ml = ModuleList((0..<3).map { _ in Linear(2, 2) })
    show("N6 module list", pythonList(ml.map(\.typeName) + [ml.parameters().count]))
    let md = ModuleDict(["conv": Conv2d(1, 1, 3), "act": ReLU()])
    show("N6 module dict keys", md.keys)
  }
  // N7 loadStateDict with a missing key, and with a wrong shape
  expectErrorLines("N7 load missing key") {
    try Linear(2, 2).loadStateDict(["weight": Tensor.zeros(2, 2)])
  }
  expectErrorLines("N7 load wrong shape") {
    try Linear(2, 2).loadStateDict(["weight": Tensor.zeros(3, 2), "bias": Tensor.zeros(2)])
  }
  // N8 the seeds' ManualLinear on XOR, with SGD doing the update (seed 002)
  let x = Tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype: .float32)
  let y = Tensor([[0], [1], [1], [0]], dtype: .float32)
  do {
    manualSeed(0)
    let w = try Tensor.randn(1, 2).setRequiresGrad()
    let b = try Tensor.randn(1).setRequiresGrad()
    let opt = SGD([w, b], lr: 0.01)
    var loss = Tensor(0.0)
    for _ in 0..<1000 {
      loss = ((x.matmul(w.t()) + b - y) ** 2).mean()
      opt.zeroGrad()
      try loss.backward()
      try opt.step()
    }
    show("N8 linear XOR loss", rounded(loss.item(), 4))
  }
  // N9 an MLP solves XOR with nn + optim
  do {
    manualSeed(0)
    let net = Sequential(Linear(2, 8), Tanh(), Linear(8, 1))
    let opt = Adam(net.parameters(), lr: 0.05)
    var loss = Tensor(0.0)
    for _ in 0..<500 {
      loss = F.mseLoss(net(x), y)
      opt.zeroGrad()
      try loss.backward()
      try opt.step()
    }
    show("N9 mlp XOR loss < 0.01", loss.item() < 0.01)
    // The trained net's outputs for the two 0 targets are float32 noise around zero (PyTorch:
    // +4.7e-8 and +3.2e-8, loss 3e-15), so the sign of their rounded value depends on the last
    // bit of any op on the way; adding 0 turns a -0.0 into 0.0, and the line reads as the
    // seed's.
    show("N9 mlp XOR predictions", (net(x).detach().round() + 0).flatten().toArray())
  }
}
