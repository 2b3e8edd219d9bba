"""PyTorch's values behind OracleTests, BlindSpotTests and the large-input activation tests.

Run with PyTorch 2.15 (CPU): python3 make_property_references.py. It prints what the Swift tests
hard-code: gradcheck/gradgradcheck verdicts for deliberately wrong backward rules
(Tests/EmberTests/Properties/OracleTests.swift), the gradients of backward(create_graph=True) used
twice, the print options' output, reduction and broadcast gradients (BlindSpotTests.swift), and
silu/elu/gelu/sigmoid at +-1000 (Ops/ActivationTests.swift, Ops/UnaryMathTests.swift).
"""
import torch.nn.functional as F
import torch
from torch.autograd import gradcheck, gradgradcheck
class Cube(torch.autograd.Function):
    factor = 1.0
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 3 * x * x * Cube.factor
x = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float64, requires_grad=True)
for f in [1.0, 1 + 5e-4, 1 + 2e-3, 2.0, 1e3]:
    Cube.factor = f
    try:
        print(f, gradcheck(Cube.apply, (x,), eps=1e-6, atol=1e-5, rtol=1e-3))
    except Exception as e:
        print(f, "FAIL", str(e).splitlines()[0])
class Cube2(torch.autograd.Function):
    a = 1.0
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        a = Cube2.a
        return g * 3 * (a * x * x + (1 - a) * x.detach() * x.detach())
for a in [1.0, 1 + 5e-4, 1 + 2e-3, 0.0]:
    Cube2.a = a
    try:
        print("gg", a, gradcheck(Cube2.apply, (x,)), gradgradcheck(Cube2.apply, (x,)))
    except Exception as e:
        print("gg", a, "FAIL", str(e).splitlines()[0])

x = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float64, requires_grad=True)
y = (x**3).sum(); y.backward(create_graph=True); y.backward()
print("retain", x.grad.tolist())
x.grad = None
y = (x**3).sum(); y.backward(create_graph=True); g = x.grad; print(g.requires_grad); g.sum().backward(); print("accum", x.grad.tolist())
x.grad=None
(x**3).sum().backward(create_graph=True); (x**3).sum().backward(create_graph=True); print("twice", x.grad.tolist(), x.grad.requires_grad)
t = torch.tensor([[0.123456, 1.0, -2.5], [3.14159, 10.5, 0.001]], dtype=torch.float64)
torch.set_printoptions(precision=2); print(repr(str(t))); torch.set_printoptions(precision=6); print(repr(str(t)))
torch.set_printoptions(precision=4, threshold=5); print(repr(str(torch.arange(10.)))); print(repr(str(torch.arange(12.).reshape(3,4))))
torch.set_printoptions(profile="default")
a = torch.arange(6., dtype=torch.float64).reshape(2,3).requires_grad_()
a.mean(dim=1).backward(torch.tensor([1., 2.], dtype=torch.float64)); print("mean", a.grad.tolist())
a.grad=None; a.mean(dim=0).backward(torch.tensor([1., 2., 3.], dtype=torch.float64)); print("mean0", a.grad.tolist())
a.grad=None; a.sum(dim=[0,1]).backward(torch.tensor(2., dtype=torch.float64)); print("sumall", a.grad.tolist())
b = torch.tensor([1., 2., 3.], dtype=torch.float64, requires_grad=True)
c = torch.tensor([[1.],[2.]], dtype=torch.float64, requires_grad=True)
(a*b*c).backward(torch.arange(6., dtype=torch.float64).reshape(2,3)+1)
print("b", b.grad.tolist(), "c", c.grad.tolist())

big=[-1000.0, -100, -30, 0, 30, 100, 1000]
for dt in [torch.float32, torch.float64]:
    for name, f in [("silu", F.silu), ("elu", F.elu), ("gelu", F.gelu), ("geluTanh", lambda x: F.gelu(x, approximate="tanh"))]:
        x = torch.tensor(big, dtype=dt, requires_grad=True)
        y = f(x); y.sum().backward()
        print(dt, name, [float(v) for v in y.tolist()], [float(v) for v in x.grad.tolist()])
    x = torch.tensor([-1000.0, -100, -20, 0, 20, 100, 1000], dtype=dt, requires_grad=True)
    torch.sigmoid(x).sum().backward(); print(dt, "sigmoidgrad", [float(v) for v in x.grad.tolist()])
