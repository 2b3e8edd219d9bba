#!/usr/bin/env python3
"""Golden values for Ember's fused LSTM layer (`Functional.lstmLayer`), from PyTorch.

Writes lstm_layer.json next to this script:

    python3 make_lstm_layer_fixtures.py

Each case is one torch.nn.LSTM layer in one direction (the reverse direction is the layer run
on the time-flipped input, flipped back) with seeded random input, initial state and weights.
It stores the output, the final h and c, and the gradients of
sum(output * w_out) + sum(h * w_h) + sum(c * w_c) with respect to the input, h0, c0 and every
weight. Hidden sizes that are not multiples of 16 exercise the vector kernels' tails.

Case fields: id, dtype, reverse, bias, tensors {name: {shape, data}} for input, h0, c0,
weight_ih, weight_hh, bias_ih, bias_hh, w_out, w_h, w_c; output, h, c; grads {name: {shape,
data}}.
"""

import json
import os

import torch

torch.manual_seed(20261202)


def tensor_json(t):
    flat = t.detach().flatten()
    if flat.dtype == torch.float32:
        data = [float(str(v)) for v in flat.numpy()]
    else:
        data = [float(v) for v in flat.tolist()]
    return {"shape": list(t.shape), "data": data}


def case(case_id, dtype, steps, batch, inp, hidden, reverse, bias):
    lstm = torch.nn.LSTM(inp, hidden, bias=bias).to(dtype)
    x = torch.randn(steps, batch, inp, dtype=dtype, requires_grad=True)
    h0 = torch.randn(batch, hidden, dtype=dtype, requires_grad=True)
    c0 = torch.randn(batch, hidden, dtype=dtype, requires_grad=True)
    xs = x.flip(0) if reverse else x
    out, (h, c) = lstm(xs, (h0.unsqueeze(0), c0.unsqueeze(0)))
    if reverse:
        out = out.flip(0)
    h, c = h[0], c[0]
    w_out = torch.randn_like(out)
    w_h = torch.randn_like(h)
    w_c = torch.randn_like(c)
    loss = (out * w_out).sum() + (h * w_h).sum() + (c * w_c).sum()
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
    params = [getattr(lstm, n + "_l0") for n in names]
    grads = torch.autograd.grad(loss, [x, h0, c0] + params)
    tensors = {"input": x, "h0": h0, "c0": c0, "w_out": w_out, "w_h": w_h, "w_c": w_c}
    tensors.update(dict(zip(names, params)))
    return {
        "id": case_id,
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "reverse": reverse,
        "bias": bias,
        "tensors": {k: tensor_json(v) for k, v in tensors.items()},
        "output": tensor_json(out),
        "h": tensor_json(h),
        "c": tensor_json(c),
        "grads": {k: tensor_json(g) for k, g in zip(["input", "h0", "c0"] + names, grads)},
    }


CASES = [
    case("f32_forward", torch.float32, 5, 3, 4, 17, False, True),
    case("f32_reverse_nobias", torch.float32, 4, 2, 3, 20, True, False),
    case("f32_wide", torch.float32, 3, 4, 6, 32, False, True),
    case("f64_reverse", torch.float64, 4, 3, 5, 7, True, True),
]

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lstm_layer.json")
with open(path, "w") as f:
    json.dump({"torch": torch.__version__, "cases": CASES}, f)
print(f"wrote {len(CASES)} cases to {path}")
