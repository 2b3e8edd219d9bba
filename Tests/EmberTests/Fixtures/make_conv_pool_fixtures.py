#!/usr/bin/env python3
"""Golden values for Ember's convolution, pooling and linear functional ops, from PyTorch.

Writes conv_pool.json next to this script:

    python3 make_conv_pool_fixtures.py

Each case runs one torch.nn.functional op on seeded random inputs, in float64 and float32, and
stores the output (and the indices of pools that return them), the gradient of every input that
requires grad for a random upstream gradient, the name of the output's grad_fn, and, for the
bilinear ops in float64, Hessian-vector products (the gradients of sum_i (g_i * v_i).sum() with
respect to every input, g_i the first-order gradients taken with create_graph=True).

Case fields: id, op, dtype, kwargs (PyTorch's keyword arguments), inputs (one per tensor
argument, null for an absent bias: {shape, data, requires_grad, transposed}), output, indices,
grad_output, grads, grad_fn, second_order {v, grads}, rtol, atol. An input with "transposed":
true is the transpose (dims 0 and 1) of a contiguous tensor: the op sees a non-contiguous view
whose values are "data"; its gradient is that of the contiguous tensor (dims 0 and 1 swapped).
"""

import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20240615)

CASES = []


def tensor_json(t):
    flat = t.detach().flatten()
    if flat.dtype == torch.float32:
        # the shortest decimals that round-trip through float32
        data = [float(str(v)) for v in flat.numpy()]
    else:
        data = [float(v) for v in flat.tolist()]
    return {"shape": list(t.shape), "data": data}


def index_json(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.flatten().tolist()]}


def make_input(shape, dtype, requires_grad, transposed=False, positive=False):
    if transposed:
        base = torch.randn([shape[1], shape[0]] + list(shape[2:]), dtype=torch.float64)
        t = base.to(dtype).transpose(0, 1)
    else:
        t = torch.randn(shape, dtype=torch.float64).to(dtype)
    if positive:
        t = t.abs() + 0.5
    t = t.detach()
    if transposed:
        leaf = t.transpose(0, 1).contiguous().requires_grad_(requires_grad)
        return leaf, leaf.transpose(0, 1)
    t.requires_grad_(requires_grad)
    return t, t


def case(case_id, op, fn, shapes, kwargs=None, grads=None, transposed=(), second_order=False,
         returns_indices=False):
    """shapes: one shape (or None for an absent bias) per tensor argument, in PyTorch's order."""
    kwargs = kwargs or {}
    grads = grads if grads is not None else [s is not None for s in shapes]
    for dtype in (torch.float64, torch.float32):
        leaves, args = [], []
        for i, s in enumerate(shapes):
            if s is None:
                leaves.append(None)
                args.append(None)
                continue
            leaf, arg = make_input(s, dtype, grads[i], transposed=i in transposed)
            leaves.append(leaf)
            args.append(arg)
        result = fn(*args, **kwargs)
        indices = None
        if returns_indices:
            result, indices = result
        entry = {
            "id": f"{case_id}/{str(dtype).replace('torch.', '')}",
            "op": op,
            "dtype": str(dtype).replace("torch.", ""),
            "kwargs": kwargs,
            "inputs": [
                None if a is None else dict(tensor_json(a), requires_grad=bool(grads[i]),
                                            transposed=i in transposed)
                for i, a in enumerate(args)
            ],
            "output": tensor_json(result),
            "grad_fn": type(result.grad_fn).__name__ if result.grad_fn is not None else None,
            "rtol": 1e-10 if dtype == torch.float64 else 1e-5,
            "atol": 1e-12 if dtype == torch.float64 else 1e-5,
        }
        if indices is not None:
            entry["indices"] = index_json(indices)
        wrt = [l for l in leaves if l is not None and l.requires_grad]
        if wrt:
            gout = torch.randn(result.shape, dtype=torch.float64).to(dtype)
            gs = torch.autograd.grad(result, wrt, gout, create_graph=second_order,
                                     allow_unused=True)
            entry["grad_output"] = tensor_json(gout)
            it = iter(gs)
            entry["grads"] = [
                tensor_json(next(it)) if (l is not None and l.requires_grad) else None
                for l in leaves
            ]
            if second_order and dtype == torch.float64:
                vs = [torch.randn(g.shape, dtype=dtype) for g in gs]
                total = sum((g * v).sum() for g, v in zip(gs, vs) if g.requires_grad)
                hs = torch.autograd.grad(total, wrt, allow_unused=True)
                hs = [h if h is not None else torch.zeros_like(w) for h, w in zip(hs, wrt)]
                it_v, it_h = iter(vs), iter(hs)
                entry["second_order"] = {
                    "v": [tensor_json(next(it_v)) if (l is not None and l.requires_grad) else None
                          for l in leaves],
                    "grads": [
                        tensor_json(next(it_h)) if (l is not None and l.requires_grad) else None
                        for l in leaves
                    ],
                }
        CASES.append(entry)


# conv2d(input, weight, bias)
c2 = lambda x, w, b=None, **k: F.conv2d(x, w, b, **k)
case("conv2d/basic", "conv2d", c2, [[2, 3, 7, 7], [4, 3, 3, 3], [4]], second_order=True)
case("conv2d/stride2_pad1", "conv2d", c2, [[2, 2, 8, 9], [3, 2, 3, 3], [3]],
     {"stride": 2, "padding": 1}, second_order=True)
case("conv2d/rect_params", "conv2d", c2, [[1, 2, 9, 10], [3, 2, 3, 2], [3]],
     {"stride": [2, 1], "padding": [1, 2], "dilation": [2, 1]})
case("conv2d/groups_dilation", "conv2d", c2, [[1, 4, 9, 9], [6, 2, 3, 3], [6]],
     {"padding": 2, "dilation": 2, "groups": 2}, second_order=True)
case("conv2d/depthwise", "conv2d", c2, [[2, 3, 6, 6], [6, 1, 3, 3], [6]],
     {"padding": 1, "groups": 3})
case("conv2d/same_odd", "conv2d", c2, [[2, 3, 6, 7], [4, 3, 3, 5], [4]], {"padding": "same"})
case("conv2d/same_even_dilated", "conv2d", c2, [[1, 2, 6, 7], [3, 2, 2, 4], [3]],
     {"padding": "same", "dilation": [1, 1]}, second_order=True)
case("conv2d/same_even_dilation3", "conv2d", c2, [[1, 2, 8, 7], [3, 2, 4, 2], [3]],
     {"padding": "same", "dilation": [3, 1]})
case("conv2d/valid", "conv2d", c2, [[2, 3, 6, 5], [2, 3, 3, 2], [2]], {"padding": "valid"})
case("conv2d/no_bias", "conv2d", c2, [[2, 3, 5, 5], [4, 3, 3, 3]], {"padding": 1},
     second_order=True)
case("conv2d/pointwise", "conv2d", c2, [[2, 5, 4, 3], [3, 5, 1, 1], [3]], second_order=True)
case("conv2d/pointwise_stride2", "conv2d", c2, [[2, 3, 5, 5], [4, 3, 1, 1], [4]], {"stride": 2})
case("conv2d/unbatched", "conv2d", c2, [[3, 6, 6], [2, 3, 3, 3], [2]], {"padding": 1})
case("conv2d/kernel_equals_input", "conv2d", c2, [[2, 2, 3, 4], [3, 2, 3, 4], [3]])
case("conv2d/weight_grad_only", "conv2d", c2, [[2, 3, 6, 6], [4, 3, 3, 3], [4]],
     {"stride": 2}, grads=[False, True, True])
case("conv2d/input_grad_only", "conv2d", c2, [[2, 3, 6, 6], [4, 3, 3, 3], [4]],
     {"padding": 1}, grads=[True, False, False])
case("conv2d/wide", "conv2d", c2, [[1, 6, 8, 8], [10, 6, 3, 3], [10]], {"padding": 1})
case("conv2d/batch9", "conv2d", c2, [[9, 2, 5, 5], [3, 2, 3, 3], [3]], {"padding": 1})

# conv1d
c1 = lambda x, w, b=None, **k: F.conv1d(x, w, b, **k)
case("conv1d/basic", "conv1d", c1, [[2, 3, 9], [4, 3, 3], [4]], second_order=True)
case("conv1d/stride_pad_dilation", "conv1d", c1, [[2, 2, 11], [3, 2, 3], [3]],
     {"stride": 2, "padding": 2, "dilation": 2})
case("conv1d/groups", "conv1d", c1, [[1, 4, 8], [6, 2, 3], [6]], {"padding": 1, "groups": 2})
case("conv1d/same_even", "conv1d", c1, [[2, 2, 7], [3, 2, 4], [3]], {"padding": "same"})
case("conv1d/unbatched_no_bias", "conv1d", c1, [[3, 8], [2, 3, 3]])

# conv_transpose2d
t2 = lambda x, w, b=None, **k: F.conv_transpose2d(x, w, b, **k)
case("conv_transpose2d/basic", "conv_transpose2d", t2, [[2, 3, 4, 5], [3, 2, 3, 3], [2]],
     second_order=True)
case("conv_transpose2d/stride2_pad1_outpad1", "conv_transpose2d", t2,
     [[1, 2, 4, 4], [2, 3, 3, 3], [3]], {"stride": 2, "padding": 1, "output_padding": 1},
     second_order=True)
case("conv_transpose2d/groups_dilation", "conv_transpose2d", t2,
     [[1, 4, 4, 3], [4, 2, 3, 2], [4]], {"groups": 2, "dilation": 2, "padding": [1, 0]})
case("conv_transpose2d/rect_stride_outpad", "conv_transpose2d", t2,
     [[2, 2, 3, 4], [2, 2, 2, 3], [2]], {"stride": [2, 3], "output_padding": [1, 0]})
case("conv_transpose2d/outpad_below_dilation", "conv_transpose2d", t2,
     [[1, 2, 3, 3], [2, 2, 2, 2], [2]], {"dilation": 2, "output_padding": 1})
case("conv_transpose2d/unbatched_no_bias", "conv_transpose2d", t2, [[3, 4, 4], [3, 2, 2, 2]],
     {"stride": 2})

# conv_transpose1d
t1 = lambda x, w, b=None, **k: F.conv_transpose1d(x, w, b, **k)
case("conv_transpose1d/stride2_outpad1", "conv_transpose1d", t1, [[2, 3, 5], [3, 2, 3], [2]],
     {"stride": 2, "padding": 1, "output_padding": 1}, second_order=True)

# max_pool2d (values, indices)
mp2 = lambda x, **k: F.max_pool2d(x, return_indices=True, **k)
case("max_pool2d/k2", "max_pool2d", mp2, [[2, 3, 6, 6]], {"kernel_size": 2}, returns_indices=True)
case("max_pool2d/k3_s2_p1", "max_pool2d", mp2, [[1, 2, 7, 7]],
     {"kernel_size": 3, "stride": 2, "padding": 1}, returns_indices=True)
case("max_pool2d/ceil", "max_pool2d", mp2, [[2, 2, 5, 7]],
     {"kernel_size": 2, "ceil_mode": True}, returns_indices=True)
case("max_pool2d/ceil_pad", "max_pool2d", mp2, [[1, 2, 6, 6]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, returns_indices=True)
case("max_pool2d/dilation", "max_pool2d", mp2, [[1, 2, 8, 9]],
     {"kernel_size": 3, "stride": 1, "dilation": 2, "padding": 1}, returns_indices=True)
case("max_pool2d/rect", "max_pool2d", mp2, [[2, 1, 6, 8]],
     {"kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 1]}, returns_indices=True)
case("max_pool2d/overlap", "max_pool2d", mp2, [[1, 3, 5, 5]],
     {"kernel_size": 3, "stride": 1}, returns_indices=True)
case("max_pool2d/unbatched", "max_pool2d", mp2, [[3, 5, 6]], {"kernel_size": 2, "stride": 1},
     returns_indices=True)

# max_pool1d
mp1 = lambda x, **k: F.max_pool1d(x, return_indices=True, **k)
case("max_pool1d/k3_s2_p1", "max_pool1d", mp1, [[2, 3, 9]],
     {"kernel_size": 3, "stride": 2, "padding": 1}, returns_indices=True)
case("max_pool1d/ceil_dilation", "max_pool1d", mp1, [[1, 2, 10]],
     {"kernel_size": 2, "dilation": 2, "ceil_mode": True}, returns_indices=True)
case("max_pool1d/unbatched", "max_pool1d", mp1, [[3, 7]], {"kernel_size": 2},
     returns_indices=True)

# avg_pool2d
ap2 = lambda x, **k: F.avg_pool2d(x, **k)
case("avg_pool2d/k2", "avg_pool2d", ap2, [[2, 3, 6, 6]], {"kernel_size": 2})
case("avg_pool2d/k3_s2_p1", "avg_pool2d", ap2, [[1, 2, 7, 7]],
     {"kernel_size": 3, "stride": 2, "padding": 1})
case("avg_pool2d/exclude_pad", "avg_pool2d", ap2, [[1, 2, 7, 7]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False})
case("avg_pool2d/ceil_pad", "avg_pool2d", ap2, [[1, 2, 6, 6]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True})
case("avg_pool2d/ceil_exclude_pad", "avg_pool2d", ap2, [[2, 1, 6, 7]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
      "count_include_pad": False})
case("avg_pool2d/ceil_no_pad", "avg_pool2d", ap2, [[1, 2, 5, 7]],
     {"kernel_size": 2, "ceil_mode": True})
case("avg_pool2d/divisor", "avg_pool2d", ap2, [[1, 2, 6, 6]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 5})
case("avg_pool2d/rect", "avg_pool2d", ap2, [[2, 1, 6, 8]],
     {"kernel_size": [2, 3], "stride": [1, 2], "padding": [1, 1]})
case("avg_pool2d/unbatched", "avg_pool2d", ap2, [[3, 5, 6]], {"kernel_size": 2, "stride": 1})

# avg_pool1d
ap1 = lambda x, **k: F.avg_pool1d(x, **k)
case("avg_pool1d/k3_s2_p1", "avg_pool1d", ap1, [[2, 3, 9]],
     {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False})

# adaptive pools
aap = lambda x, **k: F.adaptive_avg_pool2d(x, **k)
case("adaptive_avg_pool2d/3", "adaptive_avg_pool2d", aap, [[2, 3, 7, 7]], {"output_size": 3})
case("adaptive_avg_pool2d/2x4", "adaptive_avg_pool2d", aap, [[1, 2, 5, 9]],
     {"output_size": [2, 4]})
case("adaptive_avg_pool2d/1", "adaptive_avg_pool2d", aap, [[2, 3, 4, 5]], {"output_size": 1})
case("adaptive_avg_pool2d/larger", "adaptive_avg_pool2d", aap, [[1, 2, 3, 4]],
     {"output_size": [5, 6]})
case("adaptive_avg_pool2d/unbatched", "adaptive_avg_pool2d", aap, [[3, 6, 5]],
     {"output_size": [4, 2]})
amp = lambda x, **k: F.adaptive_max_pool2d(x, return_indices=True, **k)
case("adaptive_max_pool2d/3", "adaptive_max_pool2d", amp, [[2, 3, 7, 7]], {"output_size": 3},
     returns_indices=True)
case("adaptive_max_pool2d/2x4", "adaptive_max_pool2d", amp, [[1, 2, 5, 9]],
     {"output_size": [2, 4]}, returns_indices=True)

# linear(input, weight, bias)
lin = lambda x, w, b=None: F.linear(x, w, b)
case("linear/2d", "linear", lin, [[5, 4], [3, 4], [3]], second_order=True)
case("linear/2d_no_bias", "linear", lin, [[5, 4], [3, 4]], second_order=True)
case("linear/3d", "linear", lin, [[2, 5, 4], [3, 4], [3]], second_order=True)
case("linear/3d_no_bias", "linear", lin, [[2, 5, 4], [3, 4]])
case("linear/1d", "linear", lin, [[4], [3, 4], [3]])
case("linear/1d_no_bias", "linear", lin, [[4], [3, 4]])
case("linear/4d", "linear", lin, [[2, 3, 2, 4], [3, 4], [3]])
case("linear/3d_transposed", "linear", lin, [[2, 5, 4], [3, 4], [3]], transposed=(0,))
case("linear/2d_transposed_input", "linear", lin, [[5, 4], [3, 4], [3]], transposed=(0,))
case("linear/input_grad_only", "linear", lin, [[5, 4], [3, 4], [3]], grads=[True, False, False])

# bilinear(input1, input2, weight, bias)
bil = lambda x1, x2, w, b=None: F.bilinear(x1, x2, w, b)
case("bilinear/2d", "bilinear", bil, [[5, 4], [5, 3], [6, 4, 3], [6]], second_order=True)
case("bilinear/2d_no_bias", "bilinear", bil, [[5, 4], [5, 3], [6, 4, 3]], second_order=True)
case("bilinear/3d", "bilinear", bil, [[2, 3, 4], [2, 3, 2], [3, 4, 2], [3]])
case("bilinear/1d", "bilinear", bil, [[4], [3], [2, 4, 3], [2]])

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "conv_pool.json"), "w") as f:
    json.dump({"generator": "make_conv_pool_fixtures.py", "torch": torch.__version__,
               "cases": CASES}, f, separators=(",", ":"))
print(f"wrote {len(CASES)} cases")
