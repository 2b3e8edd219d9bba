# The project's copy of ../../../shared/bench/torch_bench.py (the shared spec folder, /work/shared/bench),
# taken 2026-12-02 and otherwise unchanged: PyTorch's side of `ember-bench` (Benchmarks/EmberBench).
"""PyTorch (eager, CPU) reference numbers.
usage: python torch_bench.py {scalar|mlp|cnn|matmul|mnist|gradcheck|elementwise|reduce|lstm}"""
import common as C   # must be first: pins threads
import time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(C.THREADS)
torch.manual_seed(C.SEED)
np.random.seed(C.SEED)


def version():
    return torch.__version__


def extra_env():
    return {"torch_num_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
            "blas": "MKL" if torch.backends.mkl.is_available() else "?",
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


# ------------------------------------------------------------------ W1
def scalar():
    x = torch.tensor(1.0, requires_grad=True)
    n = C.W1_ITERS

    def loop():
        g = 0.0
        t0 = time.perf_counter()
        for _ in range(n):
            y = x * x + 2 * x + 3
            y.backward()
            g = x.grad.item()          # read the grad (host float)
            x.grad.zero_()             # zero the grad
        return (time.perf_counter() - t0) / n * 1e6, g

    loop()  # warm-up
    with C.LoadMonitor() as m:
        runs = [loop() for _ in range(C.W1_REPEATS)]
    us = [r[0] for r in runs]
    assert abs(runs[-1][1] - 4.0) < 1e-6
    # variant: grad = None instead of zero_() (what optimizer.zero_grad() does by default)
    def loop_none():
        t0 = time.perf_counter()
        for _ in range(n):
            y = x * x + 2 * x + 3
            y.backward()
            x.grad.item()
            x.grad = None
        return (time.perf_counter() - t0) / n * 1e6
    loop_none()
    none_us = C.stats([loop_none() for _ in range(3)])["median"]
    return {"value": C.stats(us)["median"], "unit": "us/iter", "stats": C.stats(us), "iters": n,
            "repeats": C.W1_REPEATS, "grad_check_value": runs[-1][1], "variant_grad_none_us": none_us,
            "foreign_cpu": m.foreign}


# ------------------------------------------------------------------ models
def make_mlp():
    ps = C.mlp_init()
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    with torch.no_grad():
        for lin, (W, b) in zip([model[0], model[2], model[4]], zip(ps[0::2], ps[1::2])):
            lin.weight.copy_(t(W.T))
            lin.bias.copy_(t(b))
    return model


def make_cnn():
    ps = C.cnn_init()
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    with torch.no_grad():
        model[0].weight.copy_(t(ps[0])); model[0].bias.copy_(t(ps[1]))
        model[3].weight.copy_(t(ps[2])); model[3].bias.copy_(t(ps[3]))
        model[7].weight.copy_(t(ps[4].T)); model[7].bias.copy_(t(ps[5]))
        model[9].weight.copy_(t(ps[6].T)); model[9].bias.copy_(t(ps[7]))
    return model


def time_steps(model, x, y, lr, warmup, steps):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=C.MOMENTUM)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    ts = []
    with C.LoadMonitor() as m:
        for _ in range(steps):
            t0 = time.perf_counter()
            loss = step()
            ts.append((time.perf_counter() - t0) * 1e3)
    s = C.stats(ts)
    return {"value": s["median"], "unit": "ms/step", "stats": s, "warmup": warmup,
            "final_loss": float(loss.item()), "foreign_cpu": m.foreign}


def mlp():
    x, y = C.mlp_batch()
    return time_steps(make_mlp(), t(x), t(y), C.MLP_LR, C.MLP_WARMUP, C.MLP_STEPS)


def cnn():
    x, y = C.cnn_batch()
    return time_steps(make_cnn(), t(x), t(y), C.CNN_LR, C.CNN_WARMUP, C.CNN_STEPS)


# ------------------------------------------------------------------ W4
def matmul():
    out = {"unit": "GFLOP/s (6n^3 per fwd+bwd)"}
    with C.LoadMonitor() as m:
        for n in C.MM_SIZES:
            A = torch.randn(n, n, requires_grad=True)
            B = torch.randn(n, n, requires_grad=True)

            def it():
                A.grad = None; B.grad = None
                C_ = A @ B
                loss = C_.sum()
                loss.backward()

            for _ in range(C.MM_WARMUP):
                it()
            ts = []
            for _ in range(C.MM_ITERS):
                t0 = time.perf_counter(); it(); ts.append(time.perf_counter() - t0)
            s = C.stats(ts)
            out[f"gflops_{n}"] = 6 * n ** 3 / s["median"] / 1e9
            out[f"ms_{n}"] = C.stats([x * 1e3 for x in ts])
            # sanity variant: C.backward(G) with a random G, and the forward matmul alone
            G = torch.randn(n, n)
            def it_rand():
                A.grad = None; B.grad = None
                (A @ B).backward(G)
            for _ in range(C.MM_WARMUP):
                it_rand()
            tr = []
            for _ in range(C.MM_ITERS):
                t0 = time.perf_counter(); it_rand(); tr.append(time.perf_counter() - t0)
            out[f"randgrad_gflops_{n}"] = 6 * n ** 3 / C.stats(tr)["median"] / 1e9
            with torch.no_grad():
                for _ in range(C.MM_WARMUP):
                    A @ B
                tf = []
                for _ in range(C.MM_ITERS):
                    t0 = time.perf_counter(); A @ B; tf.append(time.perf_counter() - t0)
            out[f"fwd_only_gflops_{n}"] = 2 * n ** 3 / C.stats(tf)["median"] / 1e9
    out["value"] = out["gflops_1024"]
    out["foreign_cpu"] = m.foreign
    return out


# ------------------------------------------------------------------ W5
def mnist():
    xtr, ytr, xte, yte = C.load_mnist()
    Xtr, Ytr, Xte, Yte = t(xtr), t(ytr), t(xte), t(yte)
    model = make_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=C.MNIST_LR, momentum=C.MOMENTUM)
    accs, epoch_s = [], []
    train_s = 0.0
    with C.LoadMonitor() as m:
        for ep in range(C.MNIST_EPOCHS):
            batches = [torch.from_numpy(b) for b in C.mnist_epoch_batches(ep)]
            t0 = time.perf_counter()
            for idx in batches:
                xb, yb = Xtr[idx], Ytr[idx]
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
                loss.backward()
                opt.step()
            dt = time.perf_counter() - t0
            train_s += dt; epoch_s.append(dt)
            with torch.no_grad():
                accs.append(float((model(Xte).argmax(1) == Yte).float().mean()))
    return {"value": train_s, "unit": "s (2 epochs train)", "epoch_s": epoch_s, "test_acc": accs,
            "steps_per_epoch": len(batches), "final_loss": float(loss.item()), "foreign_cpu": m.foreign}


# ------------------------------------------------------------------ W6
def gradcheck():
    g = torch.Generator().manual_seed(C.SEED)
    x = torch.randn(8, 16, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(16, 4, dtype=torch.float64, generator=g, requires_grad=True)
    f = lambda x, w: (x @ w).tanh().sum()
    for _ in range(3):
        assert torch.autograd.gradcheck(f, (x, w))
    ts = []
    with C.LoadMonitor() as m:
        for _ in range(20):
            t0 = time.perf_counter()
            ok = torch.autograd.gradcheck(f, (x, w))
            ts.append((time.perf_counter() - t0) * 1e3)
    s = C.stats(ts)
    return {"value": s["median"], "unit": "ms/gradcheck", "stats": s, "passed": bool(ok),
            "fn": "(x@w).tanh().sum(), x 8x16, w 16x4, float64", "foreign_cpu": m.foreign}


# ------------------------------------------------------------------ W7, W8: memory-bound kernels
def _time_ops(ops, warmup, iters):
    """Median ms per call of each named zero-argument function."""
    out = {}
    with C.LoadMonitor() as m:
        for name, f in ops.items():
            for _ in range(warmup):
                f()
            ts = []
            for _ in range(iters):
                t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1e3)
            out[name + "_ms"] = C.stats(ts)["median"]
    out["foreign_cpu"] = m.foreign
    return out


def elementwise():
    g = torch.Generator().manual_seed(C.SEED)
    n = C.EW_N
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    row = torch.randn(n, generator=g)
    at = a.t()
    ops = {"add": lambda: a + b, "mul": lambda: a * b, "mul_scalar": lambda: a * 2.0, "exp": lambda: a.exp(),
           "relu": lambda: a.relu(), "sigmoid": lambda: a.sigmoid(), "tanh": lambda: a.tanh(),
           "add_broadcast_row": lambda: a + row, "add_transposed": lambda: at + b,
           "where": lambda: torch.where(a > 0, a, b)}
    out = _time_ops(ops, C.EW_WARMUP, C.EW_ITERS)
    ms = [v for k, v in out.items() if k.endswith("_ms")]
    out.update({"value": float(np.exp(np.mean(np.log(ms)))), "unit": "ms/call, geometric mean (1000x1000 float32)"})
    return out


def reduce():
    g = torch.Generator().manual_seed(C.SEED)
    n = C.EW_N
    a = torch.randn(n, n, generator=g)
    ops = {"sum": lambda: a.sum(), "sum_dim0": lambda: a.sum(0), "sum_dim1": lambda: a.sum(1),
           "mean_dim1": lambda: a.mean(1), "max_dim1": lambda: a.max(1), "argmax": lambda: a.argmax(),
           "var_dim1": lambda: a.var(1), "softmax_dim1": lambda: a.softmax(1),
           "log_softmax_dim1": lambda: a.log_softmax(1), "norm": lambda: a.norm()}
    out = _time_ops(ops, C.EW_WARMUP, C.EW_ITERS)
    ms = [v for k, v in out.items() if k.endswith("_ms")]
    out.update({"value": float(np.exp(np.mean(np.log(ms)))), "unit": "ms/call, geometric mean (1000x1000 float32)"})
    return out


# ------------------------------------------------------------------ W9: recurrent model, many small ops
def lstm():
    torch.manual_seed(C.SEED)
    V, H, T, B = C.LSTM_VOCAB, C.LSTM_HIDDEN, C.LSTM_SEQ, C.LSTM_BATCH
    emb, rnn, head = nn.Embedding(V, 64), nn.LSTM(64, H, batch_first=True), nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=C.LSTM_LR, momentum=C.MOMENTUM)
    g = torch.Generator().manual_seed(C.SEED + 3)
    x = torch.randint(0, V, (B, T), generator=g); y = torch.randint(0, V, (B, T), generator=g)

    def step():
        opt.zero_grad()
        out, _ = rnn(emb(x))
        loss = F.cross_entropy(head(out).reshape(B * T, V), y.reshape(B * T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    for _ in range(C.LSTM_WARMUP):
        step()
    ts = []
    with C.LoadMonitor() as m:
        for _ in range(C.LSTM_STEPS):
            t0 = time.perf_counter(); loss = step(); ts.append((time.perf_counter() - t0) * 1e3)
    s = C.stats(ts)
    return {"value": s["median"], "unit": "ms/step", "stats": s, "final_loss": float(loss.item()),
            "shape": f"Embedding({V},64) -> LSTM(64,{H}) -> Linear({H},{V}), batch {B}, seq {T}",
            "foreign_cpu": m.foreign}


if __name__ == "__main__":
    C.run_main("torch", version, {"scalar": scalar, "mlp": mlp, "cnn": cnn, "matmul": matmul,
                                  "mnist": mnist, "gradcheck": gradcheck, "elementwise": elementwise,
                                  "reduce": reduce, "lstm": lstm}, extra_env)
