#!/usr/bin/env python3
"""Writes layers.json: golden values of torch.nn modules computed by PyTorch.

usage: python3 make_layer_fixtures.py [--out layers.json]

Each case builds one layer after torch.manual_seed(seed) and records:
- its initial state dict (keys in order, shapes, dtypes, and every value as the hex bit pattern
  of the float, so the test can check Ember's weights bit for bit; int64 buffers as ints),
- repr(module),
- for fixed inputs (a sin formula, not the generator; stored as bit patterns), the output after
  the optional warm-up forward calls, in training or evaluation mode,
- the gradients of the inputs and of every parameter for the upstream gradient `upstream`
  (the backward of sum(output * upstream)),
- the state dict after the forward calls (running statistics, max-norm renormalized rows).

`models` records the MNIST MLP and CNN and a BatchNorm2d after torch.manual_seed(0): the state
dict keys, shapes, dtypes and an FNV-1a 64 hash of each tensor's little-endian bytes (with the
first bit patterns), and the printed module. `init` records torch.nn.init functions after
torch.manual_seed on an empty tensor (result bits, and the next randint to show where the
generator was left); `gains` records calculate_gain.
"""
import argparse, json, math, struct
import torch
import torch.nn as nn

DT = {"float32": torch.float32, "float64": torch.float64}


def bits(t):
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.float32:
        return [format(x & 0xFFFFFFFF, "08x") for x in t.view(torch.int32).tolist()]
    if t.dtype == torch.float64:
        return [format(x & 0xFFFFFFFFFFFFFFFF, "016x") for x in t.view(torch.int64).tolist()]
    raise ValueError(t.dtype)


def enc(t):
    t = t.detach()
    d = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
    if t.is_floating_point():
        d["bits"] = bits(t)
    else:
        d["data"] = t.reshape(-1).tolist()
    return d


def fixed(shape, k, dtype, scale=2.0, shift=0.0):
    """Deterministic values from a formula: scale * sin(0.731 i + 0.37 k + 0.1) + shift."""
    n = math.prod(shape)
    i = torch.arange(n, dtype=torch.float64)
    return (scale * torch.sin(0.731 * i + 0.37 * k + 0.1) + shift).reshape(shape).to(dtype)


def upstream(shape, dtype):
    n = math.prod(shape)
    i = torch.arange(n, dtype=torch.float64)
    return (0.5 + 0.25 * torch.cos(0.413 * i)).reshape(shape).to(dtype)


def indices(shape, high, k=0):
    n = math.prod(shape)
    return torch.tensor([(i * 7 + 3 * k) % high for i in range(n)], dtype=torch.int64).reshape(shape)


def state(m):
    return [dict(key=k, **enc(v)) for k, v in m.state_dict().items()]


CASES = []


def py_args(args):
    """JSON args -> Python values (lists become tuples, {"tensor": ...} becomes a tensor)."""
    def conv(v):
        if isinstance(v, list):
            return tuple(conv(x) for x in v)
        return v
    return [conv(a) for a in args.get("pos", [])], {k: conv(v) for k, v in args.get("kw", {}).items()}


def case(cid, layer, args, inputs, seed=0, dtypes=("float32", "float64"), warmup=(), mode="train",
         grad_inputs=None, clone_input=False, buffers=None, typed=True):
    """inputs: list of (kind, spec): ("float", shape, k) | ("index", shape, high, k) |
    ("tensor", float64 tensor). `grad_inputs`: which inputs require grad (default: the float ones).
    `buffers`: constructor tensor kwargs (name -> float64 tensor), cast to the case's dtype.
    `warmup`: input lists run forward (training mode) before the recorded call."""
    for dt in dtypes:
        dtype = DT[dt]
        pos, kw = py_args(args)
        bufs = {k: v.to(dtype) for k, v in (buffers or {}).items()}
        torch.manual_seed(seed)
        ctor = getattr(nn, layer)
        m = ctor(*pos, **kw, **bufs, **({"dtype": dtype} if typed else {}))
        init = state(m)

        def make(specs):
            out = []
            for s in specs:
                if s[0] == "float":
                    out.append(fixed(s[1], s[2], dtype))
                elif s[0] == "index":
                    out.append(indices(s[1], s[2], s[3]))
                elif s[0] == "tensor":
                    out.append(s[1].to(dtype) if s[1].is_floating_point() else s[1].clone())
            return out

        for w in warmup:
            with torch.no_grad():
                m(*make(w))
        if mode == "eval":
            m.eval()
        xs = make(inputs)
        gi = grad_inputs if grad_inputs is not None else [i for i, x in enumerate(xs) if x.is_floating_point()]
        for i in gi:
            xs[i].requires_grad_(True)
        enc_in = [enc(x) for x in xs]
        fwd = [x.clone() if clone_input and i == 0 else x for i, x in enumerate(xs)]
        y = m(*fwd)
        u = upstream(list(y.shape), y.dtype)
        params = list(m.named_parameters())
        leaves = [xs[i] for i in gi] + [p for _, p in params]
        grads = {}
        if y.requires_grad and leaves:
            gs = torch.autograd.grad((y * u).sum(), leaves, allow_unused=True)
            names = [f"input{i}" for i in gi] + [n for n, _ in params]
            grads = {n: (enc(g) if g is not None else None) for n, g in zip(names, gs)}
        CASES.append({
            "id": f"{cid}/{dt}", "layer": layer, "args": args,
            "buffers": {k: enc(v) for k, v in bufs.items()}, "typed": typed,
            "seed": seed, "dtype": dt, "mode": mode, "clone_input": clone_input,
            "warmup": [[enc(x) for x in make(w)] for w in warmup],
            "repr": repr(m), "state": init, "inputs": enc_in, "grad_inputs": gi,
            "output": enc(y), "upstream": enc(u), "grads": grads, "state_after": state(m),
            "grad_fn": type(y.grad_fn).__name__ if y.grad_fn is not None else None,
        })


def F(shape, k=0):
    return ("float", shape, k)


def build():
    # Linear / Bilinear
    case("Linear/bias", "Linear", {"pos": [5, 3]}, [F([4, 5])], seed=1)
    case("Linear/nobias", "Linear", {"pos": [5, 3], "kw": {"bias": False}}, [F([4, 5])], seed=2)
    case("Linear/3d", "Linear", {"pos": [4, 6]}, [F([2, 3, 4])], seed=3)
    case("Linear/1d", "Linear", {"pos": [4, 2]}, [F([4])], seed=4)
    case("Bilinear/bias", "Bilinear", {"pos": [3, 4, 2]}, [F([5, 3]), F([5, 4], 1)], seed=5)
    case("Bilinear/nobias", "Bilinear", {"pos": [2, 3, 4], "kw": {"bias": False}},
         [F([3, 2]), F([3, 3], 1)], seed=6)
    case("Bilinear/unbatched", "Bilinear", {"pos": [2, 3, 2]}, [F([2]), F([3], 1)], seed=7)
    case("Linear/wide_float64_init", "Linear", {"pos": [37, 9]}, [F([2, 37])], seed=8)

    # Convolutions
    case("Conv1d/default", "Conv1d", {"pos": [3, 4, 3]}, [F([2, 3, 9])], seed=10)
    case("Conv1d/stride2pad1nobias", "Conv1d", {"pos": [2, 4, 3], "kw": {"stride": 2, "padding": 1, "bias": False}},
         [F([2, 2, 10])], seed=11)
    case("Conv1d/same_dilation2", "Conv1d", {"pos": [2, 3, 4], "kw": {"padding": "same", "dilation": 2}},
         [F([2, 2, 11])], seed=12)
    case("Conv1d/valid_groups2", "Conv1d", {"pos": [4, 6, 3], "kw": {"padding": "valid", "groups": 2}},
         [F([2, 4, 8])], seed=13)
    case("Conv1d/unbatched", "Conv1d", {"pos": [2, 3, 2]}, [F([2, 7])], seed=14)
    case("Conv2d/default", "Conv2d", {"pos": [2, 3, 3]}, [F([2, 2, 6, 5])], seed=20)
    case("Conv2d/rect_stride_pad", "Conv2d",
         {"pos": [2, 4, [2, 3]], "kw": {"stride": [2, 1], "padding": [1, 2]}}, [F([2, 2, 7, 6])], seed=21)
    case("Conv2d/same_even_kernel", "Conv2d", {"pos": [3, 2, 4], "kw": {"padding": "same", "bias": False}},
         [F([1, 3, 6, 7])], seed=22)
    case("Conv2d/dilation_groups", "Conv2d",
         {"pos": [4, 6, 3], "kw": {"dilation": 2, "groups": 2, "padding": 2}}, [F([2, 4, 7, 7])], seed=23)
    case("Conv2d/depthwise", "Conv2d", {"pos": [3, 3, 3], "kw": {"groups": 3, "stride": 2}},
         [F([2, 3, 7, 8])], seed=24)
    case("Conv2d/unbatched", "Conv2d", {"pos": [2, 2, 2]}, [F([2, 4, 5])], seed=25)
    case("ConvTranspose1d/default", "ConvTranspose1d", {"pos": [3, 2, 3]}, [F([2, 3, 5])], seed=30)
    case("ConvTranspose1d/stride_pad_outpad", "ConvTranspose1d",
         {"pos": [2, 4, 3], "kw": {"stride": 2, "padding": 1, "output_padding": 1, "bias": False}},
         [F([2, 2, 6])], seed=31)
    case("ConvTranspose1d/groups_dilation", "ConvTranspose1d",
         {"pos": [4, 6, 2], "kw": {"groups": 2, "dilation": 2}}, [F([1, 4, 5])], seed=32)
    case("ConvTranspose2d/default", "ConvTranspose2d", {"pos": [2, 3, 3]}, [F([2, 2, 4, 3])], seed=33)
    case("ConvTranspose2d/stride_pad_outpad", "ConvTranspose2d",
         {"pos": [2, 3, [3, 2]], "kw": {"stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2]}},
         [F([2, 2, 4, 3])], seed=34)
    case("ConvTranspose2d/groups_nobias", "ConvTranspose2d",
         {"pos": [4, 2, 3], "kw": {"groups": 2, "stride": 2, "bias": False, "dilation": [1, 2]}},
         [F([1, 4, 3, 3])], seed=35)

    case("Conv2d/same_dilation_even", "Conv2d", {"pos": [2, 2, [2, 4]], "kw": {"padding": "same", "dilation": [3, 1]}},
         [F([1, 2, 7, 6])], seed=26)
    case("Conv1d/padding_list", "Conv1d", {"pos": [2, 2, 3], "kw": {"padding": [2], "stride": [3]}}, [F([2, 2, 8])],
         seed=15)
    case("ConvTranspose2d/unbatched", "ConvTranspose2d", {"pos": [2, 2, 2], "kw": {"stride": 2}}, [F([2, 3, 2])],
         seed=36)

    # Pools
    case("MaxPool1d/unbatched", "MaxPool1d", {"pos": [2], "kw": {"stride": 1}}, [F([3, 6])], typed=False)
    case("MaxPool2d/unbatched", "MaxPool2d", {"pos": [2], "kw": {"padding": 1}}, [F([2, 5, 5])], typed=False)
    case("AvgPool2d/unbatched", "AvgPool2d", {"pos": [2], "kw": {"stride": 1}}, [F([2, 3, 4])], typed=False)
    case("AdaptiveAvgPool2d/upsample_unbatched", "AdaptiveAvgPool2d", {"pos": [[4, 5]]}, [F([2, 3, 3])], typed=False)
    case("AdaptiveMaxPool2d/upsample", "AdaptiveMaxPool2d", {"pos": [[4, 5]]}, [F([1, 2, 3, 3])], typed=False)
    case("MaxPool1d/default", "MaxPool1d", {"pos": [2]}, [F([2, 3, 9])], typed=False)
    case("MaxPool1d/stride_pad_dil_ceil", "MaxPool1d",
         {"pos": [3], "kw": {"stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}}, [F([2, 2, 12])],
         typed=False)
    case("MaxPool2d/default", "MaxPool2d", {"pos": [2]}, [F([2, 3, 6, 7])], typed=False)
    case("MaxPool2d/rect_ceil", "MaxPool2d",
         {"pos": [[2, 3]], "kw": {"stride": [1, 2], "padding": 1, "ceil_mode": True}}, [F([2, 2, 5, 8])],
         typed=False)
    case("MaxPool2d/dilation", "MaxPool2d", {"pos": [3], "kw": {"stride": 1, "dilation": 2}},
         [F([1, 2, 7, 7])], typed=False)
    case("AvgPool1d/default", "AvgPool1d", {"pos": [3]}, [F([2, 3, 10])], typed=False)
    case("AvgPool1d/pad_exclude_ceil", "AvgPool1d",
         {"pos": [3], "kw": {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}},
         [F([2, 2, 10])], typed=False)
    case("AvgPool2d/default", "AvgPool2d", {"pos": [2]}, [F([2, 3, 6, 5])], typed=False)
    case("AvgPool2d/pad_include", "AvgPool2d", {"pos": [3], "kw": {"stride": 2, "padding": 1}},
         [F([2, 2, 7, 6])], typed=False)
    case("AvgPool2d/pad_exclude_ceil", "AvgPool2d",
         {"pos": [[3, 2]], "kw": {"stride": [2, 2], "padding": [1, 1], "ceil_mode": True,
                                  "count_include_pad": False}}, [F([2, 2, 6, 7])], typed=False)
    case("AvgPool2d/divisor", "AvgPool2d", {"pos": [2], "kw": {"divisor_override": 3}}, [F([1, 2, 4, 6])],
         typed=False)
    case("AdaptiveAvgPool2d/rect", "AdaptiveAvgPool2d", {"pos": [[2, 3]]}, [F([2, 3, 5, 7])], typed=False)
    case("AdaptiveAvgPool2d/one", "AdaptiveAvgPool2d", {"pos": [1]}, [F([2, 3, 4, 4])], typed=False)
    case("AdaptiveMaxPool2d/rect", "AdaptiveMaxPool2d", {"pos": [[3, 2]]}, [F([2, 2, 7, 5])], typed=False)
    case("AdaptiveMaxPool2d/square", "AdaptiveMaxPool2d", {"pos": [2]}, [F([1, 3, 4, 6])], typed=False)

    # Normalization
    case("BatchNorm1d/train", "BatchNorm1d", {"pos": [3]}, [F([4, 3], 2)], warmup=[[F([4, 3], 1)]])
    case("BatchNorm1d/train3d_momentum_none", "BatchNorm1d", {"pos": [3], "kw": {"momentum": None}},
         [F([2, 3, 4], 2)], warmup=[[F([2, 3, 4], 1)]])
    case("BatchNorm1d/eval", "BatchNorm1d", {"pos": [3]}, [F([5, 3], 3)],
         warmup=[[F([5, 3], 1)], [F([5, 3], 2)]], mode="eval")
    case("BatchNorm1d/noaffine", "BatchNorm1d", {"pos": [3], "kw": {"affine": False, "momentum": 0.3}},
         [F([4, 3], 2)], warmup=[[F([4, 3], 1)]])
    case("BatchNorm2d/train", "BatchNorm2d", {"pos": [3]}, [F([2, 3, 4, 3], 2)], warmup=[[F([2, 3, 4, 3], 1)]])
    case("BatchNorm2d/train_momentum_none", "BatchNorm2d", {"pos": [2], "kw": {"momentum": None}},
         [F([3, 2, 3, 3], 2)], warmup=[[F([3, 2, 3, 3], 1)]])
    case("BatchNorm2d/eval", "BatchNorm2d", {"pos": [3], "kw": {"eps": 1e-3}}, [F([2, 3, 3, 3], 3)],
         warmup=[[F([2, 3, 3, 3], 1)], [F([2, 3, 3, 3], 2)]], mode="eval")
    case("BatchNorm2d/eval_momentum_none", "BatchNorm2d", {"pos": [2], "kw": {"momentum": None}},
         [F([2, 2, 3, 3], 3)], warmup=[[F([2, 2, 3, 3], 1)], [F([2, 2, 3, 3], 2)]], mode="eval")
    case("BatchNorm2d/no_running_stats", "BatchNorm2d", {"pos": [2], "kw": {"track_running_stats": False}},
         [F([2, 2, 3, 3], 2)], warmup=[[F([2, 2, 3, 3], 1)]])
    case("BatchNorm2d/no_running_stats_eval", "BatchNorm2d", {"pos": [2], "kw": {"track_running_stats": False}},
         [F([2, 2, 3, 3], 2)], mode="eval")
    case("LayerNorm/last", "LayerNorm", {"pos": [5]}, [F([3, 5])])
    case("LayerNorm/unbatched", "LayerNorm", {"pos": [5]}, [F([5])])
    case("BatchNorm1d/no_running_stats_eval", "BatchNorm1d", {"pos": [3], "kw": {"track_running_stats": False}},
         [F([4, 3], 2)], warmup=[[F([4, 3], 1)]], mode="eval")
    case("BatchNorm2d/momentum0", "BatchNorm2d", {"pos": [2], "kw": {"momentum": 0.0}}, [F([2, 2, 2, 3], 2)],
         warmup=[[F([2, 2, 2, 3], 1)]])
    case("LayerNorm/two_dims", "LayerNorm", {"pos": [[3, 4]]}, [F([2, 3, 4])])
    case("LayerNorm/noaffine_eps", "LayerNorm", {"pos": [[2, 3]], "kw": {"elementwise_affine": False, "eps": 1e-3}},
         [F([2, 2, 2, 3])])
    case("LayerNorm/nobias", "LayerNorm", {"pos": [[4]], "kw": {"bias": False}}, [F([3, 2, 4])])
    case("GroupNorm/2x6", "GroupNorm", {"pos": [2, 6]}, [F([2, 6, 3])])
    case("GroupNorm/3x6_4d_noaffine", "GroupNorm", {"pos": [3, 6], "kw": {"affine": False}}, [F([2, 6, 2, 2])])
    case("GroupNorm/1x4_eps", "GroupNorm", {"pos": [1, 4], "kw": {"eps": 1e-2}}, [F([3, 4])])
    case("GroupNorm/4x4", "GroupNorm", {"pos": [4, 4]}, [F([2, 4, 5])])

    # Embedding
    case("Embedding/default", "Embedding", {"pos": [10, 3]}, [("index", [2, 4], 10, 0)], seed=40)
    case("Embedding/padding", "Embedding", {"pos": [8, 4], "kw": {"padding_idx": 0}},
         [("index", [3, 5], 8, 1)], seed=41)
    case("Embedding/padding_negative", "Embedding", {"pos": [6, 2], "kw": {"padding_idx": -2}},
         [("index", [7], 6, 2)], seed=42)
    case("Embedding/scalar_index", "Embedding", {"pos": [4, 3]}, [("tensor", torch.tensor(2))], seed=44)
    case("Embedding/max_norm", "Embedding", {"pos": [5, 3], "kw": {"max_norm": 1.0}},
         [("tensor", torch.tensor([[0, 2, 4], [2, 1, 0]]))], seed=43)

    # Dropout (training: same seed, same mask; eval: identity)
    for name, shape in [("Dropout", [4, 6]), ("Dropout1d", [2, 5, 4]), ("Dropout2d", [2, 4, 3, 3])]:
        case(f"{name}/default", name, {}, [F(shape)], seed=50, typed=False)
        case(f"{name}/p0.2", name, {"pos": [0.2]}, [F(shape)], seed=51, typed=False)
        case(f"{name}/eval", name, {"pos": [0.3]}, [F(shape)], seed=52, typed=False, mode="eval")
    case("Dropout/unbatched1d", "Dropout1d", {"pos": [0.5]}, [F([5, 4])], seed=53, typed=False)

    # Activations
    act = [("ReLU", {}), ("ReLU/inplace", {"kw": {"inplace": True}}), ("LeakyReLU", {}),
           ("LeakyReLU/0.2", {"pos": [0.2]}), ("LeakyReLU/inplace", {"kw": {"negative_slope": 0.1, "inplace": True}}),
           ("GELU", {}), ("GELU/tanh", {"kw": {"approximate": "tanh"}}), ("SiLU", {}), ("ELU", {}),
           ("ELU/0.7", {"kw": {"alpha": 0.7}}), ("Softplus", {}), ("Softplus/beta2_threshold1", {"kw": {"beta": 2.0, "threshold": 1.0}}),
           ("Tanh", {}), ("Sigmoid", {}), ("Softmax", {"kw": {"dim": 1}}), ("Softmax/neg", {"kw": {"dim": -1}}),
           ("LogSoftmax", {"kw": {"dim": 1}}), ("LogSoftmax/0", {"kw": {"dim": 0}}), ("Hardtanh", {}),
           ("Hardtanh/range", {"kw": {"min_val": -0.5, "max_val": 1.5}}), ("ReLU6", {})]
    for cid, args in act:
        layer = cid.split("/")[0]
        case(f"{cid}", layer, args, [F([3, 4, 2], 0 if layer != "ReLU6" else 0)], typed=False,
             clone_input=args.get("kw", {}).get("inplace", False))
    case("ReLU6/wide", "ReLU6", {}, [("tensor", fixed([3, 5], 4, torch.float64, scale=8.0))], typed=False)
    case("Hardtanh/wide", "Hardtanh", {"kw": {"min_val": -2.0, "max_val": 3.0}},
         [("tensor", fixed([3, 5], 4, torch.float64, scale=4.0))], typed=False)

    # Reshaping
    case("Identity", "Identity", {}, [F([2, 3])], typed=False)
    case("Softmax/1d", "Softmax", {"kw": {"dim": 0}}, [F([5])], typed=False)
    case("LogSoftmax/4d", "LogSoftmax", {"kw": {"dim": -1}}, [F([2, 2, 2, 3])], typed=False)
    case("Flatten/1d", "Flatten", {"kw": {"start_dim": 0}}, [F([4])], typed=False)
    case("Flatten/default", "Flatten", {}, [F([2, 3, 2, 2])], typed=False)
    case("Flatten/range", "Flatten", {"kw": {"start_dim": 0, "end_dim": 2}}, [F([2, 3, 2, 2])], typed=False)
    case("Unflatten", "Unflatten", {"pos": [1, [2, 3]]}, [F([2, 6, 2])], typed=False)
    case("Unflatten/neg", "Unflatten", {"pos": [-1, [2, 2]]}, [F([3, 4])], typed=False)

    # Losses
    def T(shape, k, **kw):
        return ("tensor", fixed(shape, k, torch.float64, **kw))

    def prob(shape, k):
        return ("tensor", torch.sigmoid(fixed(shape, k, torch.float64)))

    logits = T([5, 4], 0)
    cls = ("tensor", torch.tensor([0, 3, 1, 2, 3]))
    cls_ignore = ("tensor", torch.tensor([0, -100, 1, 2, 3]))
    cls_ignore1 = ("tensor", torch.tensor([1, 3, 1, 2, 0]))
    w4 = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=torch.float64)
    for red in ["mean", "sum", "none"]:
        case(f"MSELoss/{red}", "MSELoss", {"kw": {"reduction": red}}, [T([3, 4], 0), T([3, 4], 1)], typed=False)
        case(f"L1Loss/{red}", "L1Loss", {"kw": {"reduction": red}}, [T([3, 4], 0), T([3, 4], 1)], typed=False)
    case("MSELoss/target_grad", "MSELoss", {}, [T([3, 4], 0), T([3, 4], 1)], typed=False, grad_inputs=[0, 1])
    case("L1Loss/target_grad", "L1Loss", {}, [T([3, 4], 0), T([3, 4], 1)], typed=False, grad_inputs=[0, 1])
    case("SmoothL1Loss/default", "SmoothL1Loss", {}, [T([3, 4], 0), T([3, 4], 1)], typed=False)
    case("SmoothL1Loss/beta", "SmoothL1Loss", {"kw": {"beta": 0.5, "reduction": "sum"}},
         [T([3, 4], 0), T([3, 4], 1)], typed=False)
    case("HuberLoss/default", "HuberLoss", {}, [T([3, 4], 0), T([3, 4], 1)], typed=False)
    case("HuberLoss/delta", "HuberLoss", {"kw": {"delta": 0.7, "reduction": "none"}},
         [T([3, 4], 0), T([3, 4], 1)], typed=False)
    case("CrossEntropyLoss/default", "CrossEntropyLoss", {}, [logits, cls], typed=False)
    case("CrossEntropyLoss/weight", "CrossEntropyLoss", {}, [logits, cls], typed=False, buffers={"weight": w4})
    case("CrossEntropyLoss/ignore_default", "CrossEntropyLoss", {}, [logits, cls_ignore], typed=False)
    case("CrossEntropyLoss/ignore_index", "CrossEntropyLoss", {"kw": {"ignore_index": 1}}, [logits, cls_ignore1],
         typed=False, buffers={"weight": w4})
    case("CrossEntropyLoss/label_smoothing", "CrossEntropyLoss", {"kw": {"label_smoothing": 0.1}},
         [logits, cls], typed=False)
    case("CrossEntropyLoss/label_smoothing_weight_sum", "CrossEntropyLoss",
         {"kw": {"label_smoothing": 0.2, "reduction": "sum", "ignore_index": 3}}, [logits, cls], typed=False,
         buffers={"weight": w4})
    case("CrossEntropyLoss/none", "CrossEntropyLoss", {"kw": {"reduction": "none"}}, [logits, cls_ignore],
         typed=False)
    case("CrossEntropyLoss/probabilities", "CrossEntropyLoss", {"kw": {"label_smoothing": 0.05}},
         [logits, ("tensor", torch.softmax(fixed([5, 4], 3, torch.float64), 1))], typed=False,
         buffers={"weight": w4})
    case("CrossEntropyLoss/spatial", "CrossEntropyLoss", {},
         [T([2, 3, 2, 2], 0), ("tensor", indices([2, 2, 2], 3))], typed=False)
    case("CrossEntropyLoss/spatial_weight_ignore_smoothing", "CrossEntropyLoss",
         {"kw": {"ignore_index": 1, "label_smoothing": 0.15}},
         [T([2, 4, 2, 3], 0), ("tensor", indices([2, 2, 3], 4))], typed=False, buffers={"weight": w4})
    case("CrossEntropyLoss/none_weight_smoothing", "CrossEntropyLoss",
         {"kw": {"reduction": "none", "label_smoothing": 0.3}}, [logits, cls_ignore], typed=False,
         buffers={"weight": w4})
    case("CrossEntropyLoss/unbatched", "CrossEntropyLoss", {}, [T([4], 0), ("tensor", torch.tensor(2))], typed=False)
    logp = ("tensor", torch.log_softmax(fixed([5, 4], 0, torch.float64), 1))
    case("NLLLoss/spatial_weight", "NLLLoss", {"kw": {"ignore_index": 0}},
         [("tensor", torch.log_softmax(fixed([2, 4, 3, 2], 1, torch.float64), 1)), ("tensor", indices([2, 3, 2], 4, 1))],
         typed=False, buffers={"weight": w4})
    case("BCELoss/none", "BCELoss", {"kw": {"reduction": "none"}}, [prob([3, 4], 0), prob([3, 4], 5)], typed=False)
    case("KLDivLoss/log_target_batchmean", "KLDivLoss", {"kw": {"reduction": "batchmean", "log_target": True}},
         [logp, ("tensor", torch.log_softmax(fixed([5, 4], 3, torch.float64), 1))], typed=False)
    case("KLDivLoss/none", "KLDivLoss", {"kw": {"reduction": "none"}},
         [logp, ("tensor", torch.softmax(fixed([5, 4], 3, torch.float64), 1))], typed=False)
    case("NLLLoss/default", "NLLLoss", {}, [logp, cls], typed=False)
    case("NLLLoss/weight_ignore", "NLLLoss", {"kw": {"ignore_index": 3}}, [logp, cls], typed=False,
         buffers={"weight": w4})
    case("NLLLoss/none", "NLLLoss", {"kw": {"reduction": "none"}}, [logp, cls_ignore], typed=False,
         buffers={"weight": w4})
    case("BCELoss/default", "BCELoss", {}, [prob([3, 4], 0), prob([3, 4], 5)], typed=False)
    case("BCELoss/weight_sum", "BCELoss", {"kw": {"reduction": "sum"}}, [prob([3, 4], 0), prob([3, 4], 5)],
         typed=False, buffers={"weight": fixed([4], 2, torch.float64, scale=0.5, shift=1.0)})
    case("BCEWithLogitsLoss/default", "BCEWithLogitsLoss", {}, [T([3, 4], 0, scale=4.0), prob([3, 4], 5)],
         typed=False)
    case("BCEWithLogitsLoss/pos_weight", "BCEWithLogitsLoss", {}, [T([3, 4], 0, scale=4.0), prob([3, 4], 5)],
         typed=False, buffers={"pos_weight": fixed([4], 1, torch.float64, scale=1.0, shift=2.0)})
    case("BCEWithLogitsLoss/weight_pos_weight_none", "BCEWithLogitsLoss", {"kw": {"reduction": "none"}},
         [T([3, 4], 0, scale=4.0), prob([3, 4], 5)], typed=False,
         buffers={"weight": fixed([4], 2, torch.float64, scale=0.5, shift=1.0),
                  "pos_weight": fixed([4], 1, torch.float64, scale=1.0, shift=2.0)})
    case("KLDivLoss/batchmean", "KLDivLoss", {"kw": {"reduction": "batchmean"}},
         [logp, ("tensor", torch.softmax(fixed([5, 4], 3, torch.float64), 1))], typed=False)
    case("KLDivLoss/log_target_sum", "KLDivLoss", {"kw": {"reduction": "sum", "log_target": True}},
         [logp, ("tensor", torch.log_softmax(fixed([5, 4], 3, torch.float64), 1))], typed=False,
         grad_inputs=[0, 1])
    case("KLDivLoss/mean", "KLDivLoss", {}, [logp, ("tensor", torch.softmax(fixed([5, 4], 3, torch.float64), 1))],
         typed=False, grad_inputs=[0, 1])


def fnv1a64(t):
    data = t.detach().contiguous().numpy().tobytes()
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "016x")


def model_record(name, build_fn, seed=0):
    torch.manual_seed(seed)
    m = build_fn()
    entries = []
    for k, v in m.state_dict().items():
        e = {"key": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""), "fnv1a64": fnv1a64(v)}
        if v.is_floating_point():
            e["first_bits"] = bits(v.reshape(-1)[:6])
        else:
            e["data"] = v.reshape(-1).tolist()[:6]
        entries.append(e)
    return {"name": name, "seed": seed, "repr": repr(m), "state": entries}


def models():
    mlp = lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                                nn.Linear(256, 10))
    cnn = lambda: nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    return [model_record("mlp", mlp), model_record("cnn", cnn), model_record("batchnorm2d", lambda: nn.BatchNorm2d(64)),
            model_record("mlp_seed7", mlp, seed=7)]


def init_cases():
    """torch.nn.init after torch.manual_seed(seed) on torch.empty(shape, dtype): the result bits."""
    I = nn.init
    specs = [
        ("uniform", [3, 4], {"a": -0.5, "b": 2.0}), ("normal", [5, 3], {"mean": 1.0, "std": 0.3}),
        ("normal", [17], {}), ("constant", [2, 3], {"val": 0.25}), ("ones", [3], {}), ("zeros", [2, 2], {}),
        ("eye", [3, 5], {}), ("xavier_uniform", [4, 6], {}), ("xavier_uniform", [3, 2, 3, 3], {"gain": 2.0}),
        ("xavier_normal", [5, 4], {}), ("xavier_normal", [2, 3, 4], {"gain": 0.5}),
        ("kaiming_uniform", [6, 5], {}), ("kaiming_uniform", [4, 3, 2, 2], {"a": math.sqrt(5)}),
        ("kaiming_uniform", [5, 4], {"mode": "fan_out", "nonlinearity": "relu"}),
        ("kaiming_normal", [6, 5], {}), ("kaiming_normal", [3, 4, 3], {"a": 0.2, "mode": "fan_out"}),
        ("kaiming_normal", [4, 4], {"nonlinearity": "tanh"}), ("kaiming_normal", [4, 7], {"nonlinearity": "selu"}),
        ("trunc_normal", [20], {}), ("trunc_normal", [4, 5], {"mean": 0.5, "std": 0.7, "a": -0.5, "b": 1.0}),
        ("trunc_normal", [6, 3], {"std": 0.02}), ("trunc_normal", [40], {"a": 1.5, "b": 3.0}),
        ("trunc_normal", [5, 7], {"mean": 0.3, "std": 0.5, "a": -0.1, "b": 0.1}),
        ("trunc_normal", [3, 33], {"a": -3.0, "b": -2.0}), ("trunc_normal", [64], {"std": 0.5, "a": 1.0, "b": 1.4}), ("orthogonal", [4, 4], {}), ("orthogonal", [3, 5], {}),
        ("orthogonal", [6, 2], {"gain": 2.0}), ("orthogonal", [2, 3, 2], {}),
    ]
    out = []
    for i, (fn, shape, kw) in enumerate(specs):
        for dt in ["float32", "float64"]:
            seed = 200 + i
            torch.manual_seed(seed)
            t = torch.empty(shape, dtype=DT[dt])
            getattr(I, fn + "_")(t, **kw)
            after = torch.randint(0, 1 << 30, (1,)).item()  # where the generator was left
            out.append({"id": f"{fn}/{'x'.join(map(str, shape))}/{i}/{dt}", "fn": fn, "shape": shape, "dtype": dt,
                        "seed": seed, "kwargs": kw, "result": enc(t), "next_randint": after})
    gains = {f"{n}/{p}": I.calculate_gain(n, p) for n, p in
             [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
              ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("selu", None)]}
    return out, gains


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="layers.json")
    a = ap.parse_args()
    build()
    inits, gains = init_cases()
    doc = {"torch": torch.__version__, "cases": CASES, "models": models(), "init": inits, "gains": gains}
    with open(a.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {len(CASES)} cases and {len(doc['models'])} models to {a.out}")


if __name__ == "__main__":
    main()
