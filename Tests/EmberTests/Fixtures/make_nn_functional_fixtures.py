#!/usr/bin/env python3
"""Writes nn_functional.json: golden values of torch.nn.functional ops computed by PyTorch.

usage: python3 make_nn_functional_fixtures.py [--out nn_functional.json]

Each case runs one functional op in float64 and in float32 on inputs drawn from a seeded
generator and records the output, the upstream gradient fed to backward, the gradient of every
input that requires grad, the grad_fn name, and for batch norm the running statistics after the
call. `dropout` cases record, for a seed (torch.manual_seed), the exact output of the dropout
functions as bit patterns: Ember must draw the same masks and give the same values bit for bit.
"""
import argparse, json, math
import torch
import torch.nn.functional as F

G = torch.Generator().manual_seed(20260611)


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
            "data": t.reshape(-1).tolist()}


def R(*shape, lo=-2.0, hi=2.0):
    return torch.rand(shape, generator=G, dtype=torch.float64) * (hi - lo) + lo


def P(*shape):  # probabilities in (0.05, 0.95)
    return torch.rand(shape, generator=G, dtype=torch.float64) * 0.9 + 0.05


def I(high, *shape):
    return torch.randint(0, high, shape, generator=G)


CASES = []


def case(cid, op, tensors, kwargs=None, fn=None, grad=("input",), dtypes=("float64", "float32")):
    """tensors: name -> float64 (or int64/bool) tensor; names in `grad` require grad.
    fn(**tensors, **kwargs) runs the op; kwargs must be JSON values."""
    kwargs = kwargs or {}
    for dt in dtypes:
        dtype = getattr(torch, dt)
        ts = {}
        for k, v in tensors.items():
            if v is None:
                continue
            t = v.clone()
            if t.dtype == torch.float64:
                t = t.to(dtype)
            if k in grad and t.is_floating_point():
                t.requires_grad_(True)
            ts[k] = t
        before = {k: enc(v) for k, v in ts.items()}
        out = fn(**ts, **kwargs)
        c = {"id": f"{cid}/{dt}", "op": op, "dtype": dt, "inputs": before, "kwargs": kwargs,
             "output": enc(out), "grad_fn": type(out.grad_fn).__name__ if out.grad_fn else None}
        if op == "batch_norm":
            c["after"] = {k: enc(ts[k]) for k in ("running_mean", "running_var") if k in ts}
        diff = [(k, t) for k, t in ts.items() if t.requires_grad]
        go = None
        if out.requires_grad and diff:
            go = (torch.rand(out.shape, generator=G, dtype=torch.float64) + 0.5).to(out.dtype)
            gs = torch.autograd.grad(out, [t for _, t in diff], go, allow_unused=True)
            c["grad_output"] = enc(go)
            c["grads"] = {k: (enc(g) if g is not None else None) for (k, _), g in zip(diff, gs)}
        if dt == "float32":
            # the same op in float64 on the same (float32) values: PyTorch's own float32 error
            # against it sets the tolerance of Ember's float32 result
            ts64 = {k: (v.detach().double().requires_grad_(v.requires_grad) if v.is_floating_point() else v)
                    for k, v in ts.items()}
            for k in ("running_mean", "running_var"):
                if k in ts64:
                    ts64[k] = tensors[k].clone().to(torch.float32).double()
            out64 = fn(**ts64, **kwargs)
            ref = {"output": enc(out64)["data"]}
            if op == "batch_norm":
                ref["after"] = {k: enc(ts64[k])["data"] for k in ("running_mean", "running_var") if k in ts64}
            if go is not None:
                d64 = [(k, ts64[k]) for k, _ in diff]
                gs64 = torch.autograd.grad(out64, [t for _, t in d64], go.double(), allow_unused=True)
                ref["grads"] = {k: (enc(g)["data"] if g is not None else None) for (k, _), g in zip(d64, gs64)}
            c["ref64"] = ref
        CASES.append(c)


def build():
    # ---- activations
    x = R(3, 5) * 2
    for name, fn, kw in [
        ("relu", F.relu, {}), ("relu6", F.relu6, {}), ("leaky_relu", F.leaky_relu, {"negative_slope": 0.2}),
        ("gelu", F.gelu, {}), ("gelu_tanh", F.gelu, {"approximate": "tanh"}), ("silu", F.silu, {}),
        ("elu", F.elu, {"alpha": 0.7}), ("softplus", F.softplus, {"beta": 2.0, "threshold": 3.0}),
        ("tanh", torch.tanh, {}), ("sigmoid", torch.sigmoid, {}),
        ("hardtanh", F.hardtanh, {"min_val": -0.5, "max_val": 1.5}),
        ("softmax", F.softmax, {"dim": 1}), ("log_softmax", F.log_softmax, {"dim": 0}),
    ]:
        op = "gelu" if name == "gelu_tanh" else name
        case(f"{name}/0", op, {"input": x}, kw, lambda input, f=fn, **k: f(input, **k))

    # ---- regression losses
    a, b = R(4, 3), R(4, 3)
    for red in ["mean", "sum", "none"]:
        case(f"mse_loss/{red}", "mse_loss", {"input": a, "target": b}, {"reduction": red},
             F.mse_loss, grad=("input", "target"))
        case(f"l1_loss/{red}", "l1_loss", {"input": a, "target": b}, {"reduction": red},
             F.l1_loss, grad=("input", "target"))
        for beta in [1.0, 0.5, 0.0]:
            case(f"smooth_l1_loss/{red}/beta{beta}", "smooth_l1_loss", {"input": a, "target": b},
                 {"reduction": red, "beta": beta}, F.smooth_l1_loss, grad=("input", "target"))
        for delta in [1.0, 0.7]:
            case(f"huber_loss/{red}/delta{delta}", "huber_loss", {"input": a, "target": b},
                 {"reduction": red, "delta": delta}, F.huber_loss, grad=("input", "target"))
    case("mse_loss/broadcast", "mse_loss", {"input": a, "target": R(3)}, {}, F.mse_loss,
         grad=("input", "target"))

    # ---- binary losses
    p, t = P(4, 3), P(4, 3)
    w3 = R(3, lo=0.2, hi=2.0)
    logits, targets = R(4, 3) * 2, (R(4, 3) > 0).double()
    for red in ["mean", "sum", "none"]:
        case(f"binary_cross_entropy/{red}", "binary_cross_entropy", {"input": p, "target": t},
             {"reduction": red}, F.binary_cross_entropy, grad=("input", "target"))
        case(f"binary_cross_entropy/{red}/weight", "binary_cross_entropy",
             {"input": p, "target": t, "weight": w3}, {"reduction": red}, F.binary_cross_entropy,
             grad=("input", "target"))
        for wname, extra in [("plain", {}), ("weight", {"weight": w3}), ("pos_weight", {"pos_weight": R(3, lo=0.5, hi=3)}),
                             ("both", {"weight": R(4, 3, lo=0.1, hi=1.5), "pos_weight": R(3, lo=0.5, hi=3)})]:
            case(f"bce_with_logits/{red}/{wname}", "binary_cross_entropy_with_logits",
                 {"input": logits, "target": P(4, 3) if wname == "both" else targets, **extra},
                 {"reduction": red}, F.binary_cross_entropy_with_logits, grad=("input", "target"))

    # ---- kl_div
    lp = torch.log_softmax(R(3, 4), 1)
    q = torch.softmax(R(3, 4), 1)
    q0 = q.clone(); q0[0, 1] = 0.0
    for red in ["mean", "sum", "none", "batchmean"]:
        case(f"kl_div/{red}", "kl_div", {"input": lp, "target": q0}, {"reduction": red},
             F.kl_div, grad=("input",))
        case(f"kl_div/{red}/log_target", "kl_div", {"input": lp, "target": torch.log(q)},
             {"reduction": red, "log_target": True}, F.kl_div, grad=("input", "target"))
    case("kl_div/target_grad", "kl_div", {"input": lp, "target": q}, {"reduction": "sum"},
         F.kl_div, grad=("input", "target"))

    # ---- nll_loss and cross_entropy
    t5 = torch.tensor([0, 3, 1, 3, 2])
    t5i = torch.tensor([0, -100, 1, 3, 1])
    w4 = R(4, lo=0.2, hi=2.0)
    logp = torch.log_softmax(R(5, 4) * 2, 1)
    for red in ["mean", "sum", "none"]:
        case(f"nll_loss/2d/{red}", "nll_loss", {"input": logp, "target": t5}, {"reduction": red}, F.nll_loss)
        case(f"nll_loss/2d/{red}/weight", "nll_loss", {"input": logp, "target": t5, "weight": w4},
             {"reduction": red}, F.nll_loss)
        case(f"nll_loss/2d/{red}/ignore", "nll_loss", {"input": logp, "target": t5i, "weight": w4},
             {"reduction": red}, F.nll_loss)
        case(f"nll_loss/2d/{red}/ignore1", "nll_loss", {"input": logp, "target": t5},
             {"reduction": red, "ignore_index": 3}, F.nll_loss)
        case(f"nll_loss/1d/{red}", "nll_loss", {"input": logp[0], "target": torch.tensor(2)},
             {"reduction": red}, F.nll_loss)
        case(f"nll_loss/4d/{red}", "nll_loss",
             {"input": torch.log_softmax(R(2, 3, 2, 3), 1), "target": I(3, 2, 2, 3), "weight": R(3, lo=0.5, hi=2)},
             {"reduction": red}, F.nll_loss)
        case(f"nll_loss/3d/{red}", "nll_loss", {"input": torch.log_softmax(R(2, 3, 4), 1), "target": I(3, 2, 4)},
             {"reduction": red}, F.nll_loss)
        case(f"nll_loss/5d/{red}", "nll_loss", {"input": torch.log_softmax(R(2, 3, 2, 2, 2), 1), "target": I(3, 2, 2, 2, 2)},
             {"reduction": red}, F.nll_loss)

    logits5 = R(5, 4) * 2
    probs5 = torch.softmax(R(5, 4), 1)
    for red in ["mean", "sum", "none"]:
        case(f"cross_entropy/{red}", "cross_entropy", {"input": logits5, "target": t5}, {"reduction": red}, F.cross_entropy)
        case(f"cross_entropy/{red}/weight_ignore", "cross_entropy", {"input": logits5, "target": t5i, "weight": w4},
             {"reduction": red}, F.cross_entropy)
        case(f"cross_entropy/{red}/smoothing", "cross_entropy", {"input": logits5, "target": t5},
             {"reduction": red, "label_smoothing": 0.2}, F.cross_entropy)
        case(f"cross_entropy/{red}/smoothing_weight_ignore", "cross_entropy",
             {"input": logits5, "target": t5i, "weight": w4},
             {"reduction": red, "label_smoothing": 0.15}, F.cross_entropy)
        case(f"cross_entropy/{red}/smoothing_ignore", "cross_entropy", {"input": logits5, "target": t5i},
             {"reduction": red, "label_smoothing": 0.3}, F.cross_entropy)
        case(f"cross_entropy/{red}/probs", "cross_entropy", {"input": logits5, "target": probs5},
             {"reduction": red}, F.cross_entropy, grad=("input", "target"))
        case(f"cross_entropy/{red}/probs_weight_smoothing", "cross_entropy",
             {"input": logits5, "target": probs5, "weight": w4},
             {"reduction": red, "label_smoothing": 0.1}, F.cross_entropy, grad=("input", "target"))
        case(f"cross_entropy/{red}/1d", "cross_entropy", {"input": logits5[1], "target": torch.tensor(3)},
             {"reduction": red}, F.cross_entropy)
        case(f"cross_entropy/{red}/4d", "cross_entropy",
             {"input": R(2, 3, 2, 2) * 2, "target": I(3, 2, 2, 2), "weight": R(3, lo=0.5, hi=2)},
             {"reduction": red, "label_smoothing": 0.1}, F.cross_entropy)
        case(f"cross_entropy/{red}/3d", "cross_entropy", {"input": R(2, 4, 3) * 2, "target": I(4, 2, 3)},
             {"reduction": red}, F.cross_entropy)
        case(f"cross_entropy/{red}/4d_probs", "cross_entropy",
             {"input": R(2, 3, 2, 2), "target": torch.softmax(R(2, 3, 2, 2), 1)},
             {"reduction": red}, F.cross_entropy)

    # ---- batch norm
    def bn(input, running_mean=None, running_var=None, weight=None, bias=None, **k):
        return F.batch_norm(input, running_mean, running_var, weight, bias, **k)
    for shape in [(6, 3), (4, 3, 5), (2, 3, 3, 4)]:
        sx = "x".join(map(str, shape))
        for train in [True, False]:
            for affine in [True, False]:
                ts = {"input": R(*shape) * 2 + 0.5, "running_mean": R(3) * 0.1,
                      "running_var": R(3, lo=0.5, hi=1.5)}
                if affine:
                    ts["weight"], ts["bias"] = R(3), R(3)
                case(f"batch_norm/{sx}/{'train' if train else 'eval'}/{'affine' if affine else 'plain'}",
                     "batch_norm", ts, {"training": train, "momentum": 0.3, "eps": 1e-4}, bn,
                     grad=("input", "weight", "bias"))
    case("batch_norm/no_running", "batch_norm", {"input": R(5, 2, 3), "weight": R(2), "bias": R(2)},
         {"training": True}, bn, grad=("input", "weight", "bias"))
    case("batch_norm/weight_only", "batch_norm", {"input": R(5, 2), "weight": R(2)},
         {"training": True}, bn, grad=("input", "weight"))

    # ---- layer norm
    def ln(input, weight=None, bias=None, normalized_shape=None, **k):
        return F.layer_norm(input, normalized_shape, weight, bias, **k)
    xl = R(3, 4, 5) * 2 + 1
    case("layer_norm/last", "layer_norm", {"input": xl, "weight": R(5), "bias": R(5)}, {"normalized_shape": [5]}, ln,
         grad=("input", "weight", "bias"))
    case("layer_norm/last2", "layer_norm", {"input": xl, "weight": R(4, 5), "bias": R(4, 5)},
         {"normalized_shape": [4, 5], "eps": 1e-3}, ln, grad=("input", "weight", "bias"))
    case("layer_norm/plain", "layer_norm", {"input": xl}, {"normalized_shape": [5]}, ln)
    case("layer_norm/weight_only", "layer_norm", {"input": R(2, 6), "weight": R(6)}, {"normalized_shape": [6]}, ln,
         grad=("input", "weight"))
    case("layer_norm/all", "layer_norm", {"input": R(3, 4), "weight": R(3, 4), "bias": R(3, 4)},
         {"normalized_shape": [3, 4]}, ln, grad=("input", "weight", "bias"))

    # ---- group norm
    def gn(input, weight=None, bias=None, num_groups=None, **k):
        return F.group_norm(input, num_groups, weight, bias, **k)
    for shape, groups in [((2, 6, 5), 3), ((2, 4, 3, 2), 2), ((3, 8), 2), ((2, 6, 4), 1), ((2, 6, 4), 6)]:
        sx = "x".join(map(str, shape))
        c = shape[1]
        case(f"group_norm/{sx}/g{groups}", "group_norm", {"input": R(*shape) * 2 + 0.3, "weight": R(c), "bias": R(c)},
             {"num_groups": groups}, gn, grad=("input", "weight", "bias"))
    case("group_norm/plain", "group_norm", {"input": R(2, 4, 3)}, {"num_groups": 2, "eps": 1e-3}, gn)

    # ---- embedding
    idx = torch.tensor([[0, 2, 4], [2, 6, 0], [1, 2, 2]])
    case("embedding/plain", "embedding", {"input": idx, "weight": R(7, 4)}, {}, F.embedding, grad=("weight",))
    case("embedding/padding", "embedding", {"input": idx, "weight": R(7, 4)}, {"padding_idx": 2}, F.embedding,
         grad=("weight",))
    case("embedding/padding_negative", "embedding", {"input": idx, "weight": R(7, 4)}, {"padding_idx": -1},
         F.embedding, grad=("weight",))
    case("embedding/scale_grad", "embedding", {"input": idx, "weight": R(7, 4)},
         {"scale_grad_by_freq": True, "padding_idx": 0}, F.embedding, grad=("weight",))
    case("embedding/1d", "embedding", {"input": torch.tensor([3, 1, 3]), "weight": R(5, 2)}, {}, F.embedding,
         grad=("weight",))

    def emb_max_norm(input, weight, **k):  # renormalizes a copy: the weight leaf stays a leaf
        w = weight * 1.0
        return F.embedding(input, w, **k)
    case("embedding/max_norm", "embedding_max_norm", {"input": idx, "weight": R(7, 4) * 2},
         {"max_norm": 1.5}, emb_max_norm, grad=())
    case("embedding/max_norm_p1", "embedding_max_norm", {"input": idx, "weight": R(7, 4) * 2},
         {"max_norm": 2.0, "norm_type": 1.0}, emb_max_norm, grad=())

    # ---- pad
    def pad(input, pad=None, **k):
        return F.pad(input, pad, **k)
    x3, x4, x5 = R(2, 3, 5), R(1, 2, 4, 5), R(1, 2, 3, 4, 3)
    for mode in ["reflect", "replicate", "circular"]:
        case(f"pad/{mode}/1d", "pad", {"input": x3}, {"pad": [2, 1], "mode": mode}, pad)
        case(f"pad/{mode}/1d_neg", "pad", {"input": x3}, {"pad": [-1, 3], "mode": mode}, pad)
        case(f"pad/{mode}/2d", "pad", {"input": x4}, {"pad": [1, 2, 3, 0], "mode": mode}, pad)
        case(f"pad/{mode}/3d", "pad", {"input": x5}, {"pad": [1, 1, 0, 2, 2, 1], "mode": mode}, pad)
        case(f"pad/{mode}/unbatched2d", "pad", {"input": R(2, 3, 4)}, {"pad": [1, 1, 2, 1], "mode": mode}, pad)
    case("pad/constant", "pad", {"input": x3}, {"pad": [1, 2]}, pad)
    case("pad/constant_value", "pad", {"input": x4}, {"pad": [1, 0, 2, 1, 0, 1], "value": 2.5}, pad)
    case("pad/constant_neg", "pad", {"input": x4}, {"pad": [-1, 2, 1, -2]}, pad)
    case("pad/constant_all_dims", "pad", {"input": R(2, 3)}, {"pad": [1, 0, 1, 1], "value": -1.0}, pad)

    # ---- interpolate
    def interp(input, **k):
        return F.interpolate(input, **k)
    y3, y4, y5 = R(2, 2, 5), R(1, 2, 4, 5), R(1, 1, 3, 4, 2)
    for kw in [{"size": [7, 8]}, {"size": [2, 3]}, {"scale_factor": 2.0}, {"scale_factor": 1.7}, {"size": [8, 10]},
               {"scale_factor": [0.6, 1.5]}, {"scale_factor": 1.5, "recompute_scale_factor": True}]:
        tag = "_".join(f"{k}{v}" for k, v in kw.items()).replace(" ", "")
        case(f"interpolate/nearest/{tag}", "interpolate", {"input": y4}, {"mode": "nearest", **kw}, interp)
        case(f"interpolate/nearest-exact/{tag}", "interpolate", {"input": y4}, {"mode": "nearest-exact", **kw}, interp)
        for ac in [False, True]:
            case(f"interpolate/bilinear/{tag}/ac{ac}", "interpolate", {"input": y4},
                 {"mode": "bilinear", "align_corners": ac, **kw}, interp)
    for kw in [{"size": 9}, {"size": 3}, {"scale_factor": 2.5}]:
        tag = "_".join(f"{k}{v}" for k, v in kw.items())
        case(f"interpolate/nearest1d/{tag}", "interpolate", {"input": y3}, {"mode": "nearest", **kw}, interp)
        case(f"interpolate/linear/{tag}", "interpolate", {"input": y3}, {"mode": "linear", **kw}, interp)
        case(f"interpolate/linear/{tag}/ac", "interpolate", {"input": y3},
             {"mode": "linear", "align_corners": True, **kw}, interp)
    case("interpolate/nearest3d", "interpolate", {"input": y5}, {"mode": "nearest", "size": [5, 6, 3]}, interp)
    case("interpolate/trilinear", "interpolate", {"input": y5}, {"mode": "trilinear", "size": [5, 3, 4]}, interp)

    # ---- scaled dot-product attention
    q, k, v = R(2, 2, 3, 4), R(2, 2, 5, 4), R(2, 2, 5, 3)
    sdpa_grad = ("query", "key", "value")
    def sdpa(query, key, value, attn_mask=None, **kw):
        return F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, **kw)
    case("sdpa/plain", "sdpa", {"query": q, "key": k, "value": v}, {}, sdpa, grad=sdpa_grad)
    case("sdpa/scale", "sdpa", {"query": q, "key": k, "value": v}, {"scale": 0.3}, sdpa, grad=sdpa_grad)
    case("sdpa/negative_scale", "sdpa", {"query": q, "key": k, "value": v}, {"scale": -0.4}, sdpa, grad=sdpa_grad)
    qc, kc, vc = R(1, 2, 4, 3), R(1, 2, 4, 3), R(1, 2, 4, 2)
    case("sdpa/causal", "sdpa", {"query": qc, "key": kc, "value": vc}, {"is_causal": True}, sdpa, grad=sdpa_grad)
    bmask = R(3, 5) > -0.8
    bmask[1, :] = False  # a fully masked row gives zeros
    case("sdpa/bool_mask", "sdpa", {"query": q, "key": k, "value": v, "attn_mask": bmask}, {}, sdpa, grad=sdpa_grad)
    case("sdpa/float_mask", "sdpa", {"query": q, "key": k, "value": v, "attn_mask": R(2, 1, 3, 5)}, {}, sdpa,
         grad=sdpa_grad + ("attn_mask",))
    case("sdpa/3d", "sdpa", {"query": R(2, 3, 4), "key": R(2, 5, 4), "value": R(2, 5, 2)}, {}, sdpa, grad=sdpa_grad)


def bits(t):
    """The exact bit patterns of a float tensor, as hex strings (JSON readers may round decimals)."""
    t = t.detach().contiguous().reshape(-1)
    if t.dtype == torch.float64:
        return [format(v & (2**64 - 1), "016x") for v in t.view(torch.int64).tolist()]
    return [format(v & (2**32 - 1), "08x") for v in t.view(torch.int32).tolist()]


def enc_bits(t):
    return {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "bits": bits(t)}


def dropout_cases():
    out = []
    fns = {"dropout": F.dropout, "dropout1d": F.dropout1d, "dropout2d": F.dropout2d, "dropout3d": F.dropout3d,
           "alpha_dropout": F.alpha_dropout, "feature_alpha_dropout": F.feature_alpha_dropout}
    specs = [
        ("dropout", (7,), 0.5), ("dropout", (16,), 0.3), ("dropout", (17,), 0.5), ("dropout", (5, 13), 0.25),
        ("dropout", (3, 4, 5), 0.7), ("dropout", (1000,), 0.1), ("dropout", (33, 31), 0.5),
        ("dropout", (4, 6), 1.0), ("dropout", (4, 6), 0.0),
        ("dropout2d", (2, 5, 3, 3), 0.5), ("dropout2d", (3, 4, 6), 0.4), ("dropout1d", (3, 7, 4), 0.5),
        ("dropout1d", (7, 4), 0.5), ("dropout3d", (2, 3, 2, 2, 2), 0.5), ("dropout3d", (3, 2, 2, 2), 0.6),
        ("alpha_dropout", (5, 7), 0.3), ("feature_alpha_dropout", (2, 6, 3), 0.4),
    ]
    for i, (name, shape, p) in enumerate(specs):
        for dt in ["float32", "float64"]:
            for layout in ["contiguous", "transposed"] if len(shape) == 2 and name == "dropout" else ["contiguous"]:
                seed = 100 + i
                base = R(*shape).to(getattr(torch, dt))
                x = base.t().contiguous().t() if layout == "transposed" else base
                torch.manual_seed(seed)
                y = fns[name](x, p=p, training=True)
                out.append({"id": f"{name}/{'x'.join(map(str, shape))}/p{p}/{dt}/{layout}", "fn": name, "seed": seed,
                            "p": p, "layout": layout, "input": enc_bits(base), "output": enc_bits(y)})
    # the generator is left where PyTorch leaves it: a second draw continues the stream
    torch.manual_seed(7)
    x = torch.ones(20)
    first = F.dropout(x, 0.5)
    second = F.dropout(x, 0.5)
    out.append({"id": "dropout/sequence", "fn": "dropout_twice", "seed": 7, "p": 0.5, "layout": "contiguous",
                "input": enc_bits(x), "output": enc_bits(torch.stack([first, second]))})
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="nn_functional.json")
    a = ap.parse_args()
    build()
    drops = dropout_cases()
    with open(a.out, "w") as f:
        json.dump({"generator": "torch " + torch.__version__, "cases": CASES, "dropout": drops}, f)
    print(f"{len(CASES)} cases, {len(drops)} dropout cases -> {a.out}")
