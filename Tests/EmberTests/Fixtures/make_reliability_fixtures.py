"""PyTorch 2.15's values for the reliability tests (Autograd/StressTests.swift,
Ops/NumericalEdgeCaseTests.swift, EmberNNTests/ModuleStressTests.swift).

Run `python3 make_reliability_fixtures.py`; it prints each case's values, which the tests hold as
inline constants (with the case name in a comment). Inputs come from `det(n, k)` below, which the
Swift tests compute the same way (`det` in the test files): math.sin, as glibc, in float64.
"""

import math

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp

torch.set_printoptions(precision=17)


def det(n, k=0, scale=1.0):
    """Deterministic float64 values: scale * sin(0.7 * (i + 10 k) + 0.3)."""
    return [scale * math.sin(0.7 * (i + 10 * k) + 0.3) for i in range(n)]


def t64(shape, k=0, scale=1.0, grad=False):
    n = math.prod(shape)
    return torch.tensor(det(n, k, scale), dtype=torch.float64).reshape(shape).requires_grad_(grad)


def show(name, value):
    if isinstance(value, torch.Tensor):
        value = value.detach().reshape(-1).tolist()
    if isinstance(value, list):
        print(f"{name} = [{', '.join(repr(float(v)) for v in value)}]")
    else:
        print(f"{name} = {value!r}")


def error(f):
    try:
        f()
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"
    return "no error"


print("# --- stress ---")
# diamond
x = t64([4], grad=True)
a = x * 2
b = a.exp()
c = a.sin()
d = b * c + a * a
((d * b).sum() + c.sum()).backward()
show("diamond.grad", x.grad)

# one tensor used many times
x = t64([3], k=1, grad=True)
s = torch.zeros(3, dtype=torch.float64)
for k in range(1000):
    s = s + x * (k % 7) - (x * 0.001 * k).sin()
(s * s).sum().backward()
show("manyUses.grad", x.grad)

# views of views written in place
leaf = t64([4, 5], k=2, grad=True)
y = t64([3, 3], k=3, grad=True)
base = leaf * 1
v = base[1:]
w = v[:, 1:4]
u = w.t()
u.mul_(y)
u[0].add_(1)
print("viewsOfViews.baseGradFn =", type(base.grad_fn).__name__)
print("viewsOfViews.wGradFn =", type(w.grad_fn).__name__)
loss = (base.sin() * t64([4, 5], k=4)).sum()
loss.backward()
show("viewsOfViews.leafGrad", leaf.grad)
show("viewsOfViews.yGrad", y.grad)

# retain_graph, then a second backward
x = t64([3], k=5, grad=True)
h = x.exp() * x
y1 = h.sum()
y2 = (h * h).sum()
y1.backward(retain_graph=True)
show("retain.afterFirst", x.grad)
y2.backward(retain_graph=True)
show("retain.afterSecond", x.grad)
y2.backward()
show("retain.afterThird", x.grad)
print("retain.fourth =", error(lambda: y2.backward()))

# hooks and checkpoint inside a training loop
W1 = t64([4, 3], k=6, scale=0.5, grad=True)
W2 = t64([3, 2], k=7, scale=0.5, grad=True)
X = t64([5, 4], k=8)
Y = t64([5, 2], k=9)
W2.register_hook(lambda g: g * 0.5)
losses = []
for step in range(4):
    h0 = X @ W1
    h0.register_hook(lambda g: g * 2)
    seg = cp.checkpoint(lambda t: t.tanh() * t.sigmoid(), h0, use_reentrant=True)
    out = seg @ W2
    loss = ((out - Y) ** 2).mean()
    loss.backward()
    losses.append(loss.item())
    with torch.no_grad():
        W1 -= 0.1 * W1.grad
        W2 -= 0.1 * W2.grad
    W1.grad = None
    W2.grad = None
print("loop.gradFn =", type(seg.grad_fn).__name__)
show("loop.losses", losses)
show("loop.W1", W1)
show("loop.W2", W2)

print("# --- modules ---")
torch.manual_seed(0)


def mlp():
    m = torch.nn.Sequential(
        torch.nn.Linear(6, 4, dtype=torch.float64), torch.nn.Tanh(),
        torch.nn.Linear(4, 3, dtype=torch.float64))
    with torch.no_grad():
        for j, p in enumerate(m.parameters()):
            p.copy_(t64(list(p.shape), k=20 + j, scale=0.6))
    return m


m = mlp()
X = t64([12, 6], k=30)
T = t64([12, 3], k=31)
F.mse_loss(m(X), T).backward()
show("accum.big.w0", m[0].weight.grad)
show("accum.big.b2", m[2].bias.grad)
m2 = mlp()
for i in range(3):
    (F.mse_loss(m2(X[4 * i:4 * i + 4]), T[4 * i:4 * i + 4]) / 3).backward()
show("accum.micro.w0", m2[0].weight.grad)
diff = max((p.grad - q.grad).abs().max().item() for p, q in zip(m.parameters(), m2.parameters()))
print("accum.maxdiff =", diff)

lin = torch.nn.Linear(3, 2, dtype=torch.float64)
with torch.no_grad():
    lin.weight.copy_(t64([2, 3], k=40))
    lin.bias.copy_(t64([2], k=41))
xin = t64([4, 3], k=42)
with torch.no_grad():
    frozen = lin(xin)
print("nograd.requires_grad =", frozen.requires_grad, frozen.grad_fn)
print("nograd.backward =", error(lambda: frozen.sum().backward()))
live = lin(xin)
print("nograd.then.gradFn =", type(live.grad_fn).__name__)
(live * frozen).sum().backward()
show("nograd.then.weightGrad", lin.weight.grad)
show("nograd.then.biasGrad", lin.bias.grad)

print("# --- numerical ---")
for dt in (torch.float32, torch.float64):
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [1e4, 1e4 - 1, -1e4]], dtype=dt,
                          requires_grad=True)
    show(f"huge.{dt}.logSoftmax", logits.log_softmax(1))
    show(f"huge.{dt}.softmax", logits.softmax(1))
    target = torch.tensor([1, 1, 1])
    ce = F.cross_entropy(logits, target)
    show(f"huge.{dt}.ce", ce.item())
    ce.backward()
    show(f"huge.{dt}.ceGrad", logits.grad)
    z = torch.tensor([[-math.inf] * 3, [-math.inf, 0.0, -math.inf], [-math.inf, 1.0, 2.0]],
                     dtype=dt, requires_grad=True)
    show(f"neginf.{dt}.softmax", z.softmax(1))
    show(f"neginf.{dt}.logSoftmax", z.log_softmax(1))
    z.softmax(1)[2].sum().backward()
    show(f"neginf.{dt}.softmaxGradRow2", z.grad)

x = torch.tensor([1.0, -1.0, 0.0])
show("div.scalarZero", x / 0.0)
show("div.tensorZero", x / torch.zeros(3))
show("div.negZero", x / -torch.zeros(3))
show("div.int", torch.tensor([1, 2, -3]) / torch.tensor([0, 1, 0]))
print("div.floorInt =", error(lambda: torch.div(torch.tensor([1, 2]), torch.tensor([0, 1]),
                                                  rounding_mode="floor")))
print("div.truncInt =", error(lambda: torch.div(torch.tensor([1, 2]), torch.tensor([1, 0]),
                                                  rounding_mode="trunc")))
print("div.remainderInt =", error(lambda: torch.remainder(torch.tensor([1, 2]), torch.tensor([0, 1]))))
show("div.floorFloat", torch.div(torch.tensor([1.0, -1.0, 0.0, 7.0]), torch.tensor([0.0, 0.0, 0.0, -2.0]),
                                  rounding_mode="floor"))

n = torch.tensor([1.0, math.nan, 3.0, -2.0])
show("nan.sum", n.sum().item())
show("nan.mean", n.mean().item())
show("nan.max", n.max().item())
show("nan.min", n.min().item())
show("nan.amax", n.amax().item())
show("nan.prod", n.prod().item())
show("nan.argmax", n.argmax().item())
show("nan.argmin", n.argmin().item())
m2d = torch.tensor([[1.0, math.nan, 3.0], [4.0, 5.0, -6.0], [math.nan, 0.0, math.nan],
                    [-math.inf, math.nan, math.inf]])
for name, r in (("max", m2d.max(1)), ("min", m2d.min(1))):
    show(f"nan.{name}Dim.values", r.values)
    show(f"nan.{name}Dim.indices", r.indices)
show("nan.max0.values", m2d.max(0).values)
show("nan.max0.indices", m2d.max(0).indices)
show("nan.argmaxDim", m2d.argmax(1))
show("nan.argminDim", m2d.argmin(1))
show("nan.amaxDim", m2d.amax(1))
show("nan.aminDim", m2d.amin(1))
show("nan.sumDim", m2d.sum(1))
show("nan.clamp", torch.tensor([math.nan, -5.0, 5.0, 0.5]).clamp(-1, 1))
show("nan.clampMin", torch.tensor([math.nan, -5.0, 5.0]).clamp(min=0))
show("nan.maximum", torch.maximum(torch.tensor([math.nan, 1.0, 2.0]), torch.tensor([0.0, math.nan, 1.0])))
show("nan.minimum", torch.minimum(torch.tensor([math.nan, 1.0, 2.0]), torch.tensor([0.0, math.nan, 1.0])))
# gradient of max/min with NaN
g = torch.tensor([1.0, math.nan, 3.0], requires_grad=True)
g.max().backward()
show("nan.maxGrad", g.grad)

x = torch.tensor([-1.0, 0.0, 4.0], dtype=torch.float64, requires_grad=True)
torch.where(x > 0, x.sqrt(), torch.zeros(())).sum().backward()
show("where.unmasked.sqrt", x.grad)
x.grad = None
torch.where(x > 0, x.log(), torch.zeros(())).sum().backward()
show("where.unmasked.log", x.grad)
x.grad = None
safe = torch.where(x > 0, x, torch.ones(()))
torch.where(x > 0, safe.sqrt(), torch.zeros(())).sum().backward()
show("where.masked.sqrt", x.grad)
x.grad = None
safe = torch.where(x > 0, x, torch.ones(()))
torch.where(x > 0, safe.log(), torch.zeros(())).sum().backward()
show("where.masked.log", x.grad)

N = 10_000_000
i = torch.arange(N, dtype=torch.float64)
v64 = (0.1 + (i * 0.618033988749895) % 1.0).to(torch.float32)
print("sum.float32 =", repr(v64.sum().item()))
print("sum.float64 =", repr(v64.double().sum().item()))
print("sum.relerr =", abs(v64.sum().item() - v64.double().sum().item()) / v64.double().sum().item())
print("mean.float32 =", repr(v64.mean().item()), "mean.float64 =", repr(v64.double().mean().item()))
tenth = torch.full((N,), 0.1, dtype=torch.float32)
print("sum.tenth.float32 =", repr(tenth.sum().item()), "float64 =", repr(tenth.double().sum().item()))
print("sum.tenth.mean =", repr(tenth.mean().item()))
print("sum.tenth.naive =", float(torch.cumsum(tenth, 0)[-1]))  # a running float32 sum
print("bn.train =", error(lambda: F.batch_norm(torch.ones(1, 3), None, None, training=True)))
print("bn.train4d =", error(lambda: F.batch_norm(torch.ones(1, 3, 1, 1), None, None, training=True)))
print("bn.module =", error(lambda: torch.nn.BatchNorm1d(3)(torch.ones(1, 3))))
print("bn.eval =", F.batch_norm(torch.ones(1, 3), torch.zeros(3), torch.ones(3), training=False))
