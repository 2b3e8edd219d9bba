#!/usr/bin/env python3
"""Writes rnn-cases.json and attention-cases.json: PyTorch's RNN, LSTM, GRU and
MultiheadAttention on fixed inputs, for RecurrentTests.swift and MultiheadAttentionTests.swift.

Run from this folder with the PyTorch the project checks against (2.15, CPU):

    python3 make_rnn_fixtures.py

Every case records:
- module, args (PyTorch's constructor arguments), dtype, seed: `torch.manual_seed(seed)`, then
  the module is constructed (in float32, as PyTorch does by default), then converted with
  `.double()` for float64 cases. `params` holds the initial parameters in `named_parameters()`
  order with their exact values (Python floats; float32 values are exact as doubles), so Ember's
  same-seed weights can be compared bit for bit.
- train: the module's mode. With `forward_seed`, `torch.manual_seed(forward_seed)` runs right
  before the forward pass (dropout masks come from it).
- the inputs (flat, row-major, with shapes), the outputs, and the gradients of the inputs and of
  every parameter for the loss `sum(out * w_out) + sum(h_n * w_h) [+ sum(c_n * w_c)]` (attention:
  `sum(out * w_out) [+ sum(weights * w_weights)]`), whose weights are in the case as well.
- repr: `repr(module)`; state_dict: [key, shape, dtype] in order.

Non-finite floats are written as the strings "inf", "-inf" and "nan".

The script also checks, before writing, that a plain re-implementation of the recurrences (one
`addmm` per step, masks drawn as `torch.empty_like(x).bernoulli_(1 - p)` on each layer's output
in seq-first layout, after both directions ran) reproduces PyTorch's training-mode results, so
the draw order Ember copies is PyTorch's.
"""

import json
import math
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


def enc(x):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def tensor_json(t):
    if t is None:
        return None
    t = t.detach()
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "dtype": "bool", "values": [bool(v) for v in t.reshape(-1).tolist()]}
    return {
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
        "values": [enc(float(v)) for v in t.reshape(-1).tolist()],
    }


def loss_weights(shape, salt, dtype):
    n = math.prod(shape)
    vals = [math.sin(0.37 * i + salt) for i in range(n)]
    return torch.tensor(vals, dtype=dtype).reshape(shape)


def state_dict_json(m):
    return [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in m.state_dict().items()]


# ---------------------------------------------------------------------------------------------
# A plain re-implementation, to confirm the step math and the order of dropout draws.


def ref_rnn(m, x, hx):
    """Seq-first x (T, B, I); hx a tensor or an (h, c) pair of (L*D, B, H)."""
    mode = m.mode
    D = 2 if m.bidirectional else 1
    is_lstm = mode == "LSTM"
    h0 = hx[0] if is_lstm else hx
    c0 = hx[1] if is_lstm else None
    layer_input = x
    hs, cs = [], []
    for layer in range(m.num_layers):
        outs = []
        for d in range(D):
            sfx = "_reverse" if d == 1 else ""
            w_ih = getattr(m, f"weight_ih_l{layer}{sfx}")
            w_hh = getattr(m, f"weight_hh_l{layer}{sfx}")
            b_ih = getattr(m, f"bias_ih_l{layer}{sfx}", None) if m.bias else None
            b_hh = getattr(m, f"bias_hh_l{layer}{sfx}", None) if m.bias else None
            w_hr = getattr(m, f"weight_hr_l{layer}{sfx}", None) if m.proj_size else None
            proj = torch.nn.functional.linear(layer_input, w_ih, b_ih)
            h = h0[layer * D + d]
            c = c0[layer * D + d] if is_lstm else None
            steps = range(x.shape[0]) if d == 0 else reversed(range(x.shape[0]))
            out = [None] * x.shape[0]
            for t in steps:
                hp = torch.nn.functional.linear(h, w_hh, b_hh)
                if mode == "GRU":
                    ir, iz, in_ = proj[t].chunk(3, 1)
                    hr, hz, hn = hp.chunk(3, 1)
                    r = (hr + ir).sigmoid()
                    z = (hz + iz).sigmoid()
                    n = (in_ + hn * r).tanh()
                    h = (h - n) * z + n
                elif is_lstm:
                    g = hp + proj[t]
                    i, f, gg, o = g.chunk(4, 1)
                    c = f.sigmoid() * c + i.sigmoid() * gg.tanh()
                    h = o.sigmoid() * c.tanh()
                    if w_hr is not None:
                        h = h @ w_hr.t()
                else:
                    a = hp + proj[t]
                    h = a.tanh() if mode == "RNN_TANH" else a.relu()
                out[t] = h
            outs.append(torch.stack(out))
            hs.append(h)
            cs.append(c)
        layer_input = torch.cat(outs, -1)
        if m.dropout and m.training and layer < m.num_layers - 1:
            p = m.dropout
            noise = torch.empty_like(layer_input).bernoulli_(1 - p)
            noise.div_(1 - p)
            layer_input = layer_input * noise
    h_n = torch.stack(hs)
    if is_lstm:
        return layer_input, (h_n, torch.stack(cs))
    return layer_input, h_n


# ---------------------------------------------------------------------------------------------
# Recurrent cases

RNN_CONFIGS = [
    # name, class, kwargs, input shape, initial state, train, forward seed
    ("rnn_tanh", "RNN", dict(input_size=3, hidden_size=4), [5, 2, 3], False, False, None),
    ("rnn_relu_2layer_h0", "RNN", dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu"), [4, 3, 3], True, False, None),
    ("rnn_bidir_batchfirst_nobias", "RNN", dict(input_size=3, hidden_size=4, bias=False, batch_first=True, bidirectional=True), [2, 5, 3], True, False, None),
    ("rnn_unbatched_2layer", "RNN", dict(input_size=3, hidden_size=4, num_layers=2), [5, 3], True, False, None),
    ("rnn_dropout_train", "RNN", dict(input_size=3, hidden_size=4, num_layers=3, dropout=0.4, bidirectional=True), [4, 2, 3], False, True, 11),
    ("lstm_basic", "LSTM", dict(input_size=3, hidden_size=4), [5, 2, 3], False, False, None),
    ("lstm_2layer_bidir_h0", "LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), [4, 3, 3], True, False, None),
    ("lstm_batchfirst_nobias_dropout_eval", "LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bias=False, batch_first=True, dropout=0.3), [2, 5, 3], False, False, None),
    ("lstm_proj_bidir", "LSTM", dict(input_size=3, hidden_size=5, num_layers=2, proj_size=2, bidirectional=True), [4, 2, 3], True, False, None),
    ("lstm_unbatched_bidir", "LSTM", dict(input_size=3, hidden_size=4, bidirectional=True), [5, 3], True, False, None),
    ("lstm_dropout_train", "LSTM", dict(input_size=3, hidden_size=4, num_layers=3, dropout=0.5, bidirectional=True), [4, 2, 3], False, True, 5),
    ("gru_basic", "GRU", dict(input_size=3, hidden_size=4), [5, 2, 3], False, False, None),
    ("gru_2layer_bidir_h0", "GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), [4, 3, 3], True, False, None),
    ("gru_batchfirst_nobias", "GRU", dict(input_size=3, hidden_size=4, bias=False, batch_first=True), [2, 5, 3], True, False, None),
    ("gru_unbatched", "GRU", dict(input_size=3, hidden_size=4, num_layers=2), [5, 3], False, False, None),
    ("gru_dropout_train", "GRU", dict(input_size=3, hidden_size=4, num_layers=2, dropout=0.25, batch_first=True), [2, 4, 3], True, True, 3),
]


def make_rnn_case(name, cls, kwargs, in_shape, with_state, train, fseed, dtype, seed):
    torch.manual_seed(seed)
    m = getattr(nn, cls)(**kwargs)
    params0 = [[n, list(p.shape), [float(v) for v in p.detach().reshape(-1).tolist()]] for n, p in m.named_parameters()]
    if dtype == torch.float64:
        m = m.double()
    m.train(train)
    gen = torch.Generator().manual_seed(1000 + seed)
    x = torch.randn(in_shape, generator=gen, dtype=dtype).requires_grad_()
    D = 2 if m.bidirectional else 1
    batched = len(in_shape) == 3
    B = (in_shape[0] if m.batch_first else in_shape[1]) if batched else None
    h_out = m.proj_size if m.proj_size else m.hidden_size
    lead = [m.num_layers * D] + ([B] if batched else [])
    h0 = c0 = None
    if with_state:
        h0 = torch.randn(lead + [h_out], generator=gen, dtype=dtype).requires_grad_()
        if cls == "LSTM":
            c0 = torch.randn(lead + [m.hidden_size], generator=gen, dtype=dtype).requires_grad_()
    state = None
    if with_state:
        state = (h0, c0) if cls == "LSTM" else h0
    if fseed is not None:
        torch.manual_seed(fseed)
    out, hid = m(x, state)
    h_n, c_n = (hid if cls == "LSTM" else (hid, None))
    w_out = loss_weights(list(out.shape), 0.1, dtype)
    w_h = loss_weights(list(h_n.shape), 0.7, dtype)
    loss = (out * w_out).sum() + (h_n * w_h).sum()
    w_c = None
    if c_n is not None:
        w_c = loss_weights(list(c_n.shape), 1.3, dtype)
        loss = loss + (c_n * w_c).sum()
    loss.backward()

    # self-check against the plain re-implementation (same forward seed, same draws)
    with torch.no_grad():
        xs = x.detach()
        if not batched:
            xs = xs.unsqueeze(1)
        elif m.batch_first:
            xs = xs.transpose(0, 1)
        if with_state:
            hs = h0.detach() if batched else h0.detach().unsqueeze(1)
            cs = None
            if cls == "LSTM":
                cs = c0.detach() if batched else c0.detach().unsqueeze(1)
        else:
            Bn = xs.shape[1]
            hs = torch.zeros(m.num_layers * D, Bn, h_out, dtype=dtype)
            cs = torch.zeros(m.num_layers * D, Bn, m.hidden_size, dtype=dtype)
        if fseed is not None:
            torch.manual_seed(fseed)
        r_out, r_hid = ref_rnn(m, xs, (hs, cs) if cls == "LSTM" else hs)
        if not batched:
            r_out = r_out.squeeze(1)
        elif m.batch_first:
            r_out = r_out.transpose(0, 1)
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        assert torch.allclose(r_out, out, atol=tol, rtol=tol), name
        r_h = r_hid[0] if cls == "LSTM" else r_hid
        if not batched:
            r_h = r_h.squeeze(1)
        assert torch.allclose(r_h, h_n, atol=tol, rtol=tol), name

    grads = {"input": tensor_json(x.grad)}
    if h0 is not None:
        grads["h0"] = tensor_json(h0.grad)
    if c0 is not None:
        grads["c0"] = tensor_json(c0.grad)
    for n, p in m.named_parameters():
        grads[n] = tensor_json(p.grad)
    args = dict(kwargs)
    return {
        "name": f"{name}_{str(dtype).replace('torch.', '')}",
        "module": cls,
        "args": args,
        "dtype": str(dtype).replace("torch.", ""),
        "seed": seed,
        "train": train,
        "forward_seed": fseed,
        "params": params0,
        "input": tensor_json(x),
        "h0": tensor_json(h0),
        "c0": tensor_json(c0),
        "output": tensor_json(out),
        "h_n": tensor_json(h_n),
        "c_n": tensor_json(c_n),
        "w_out": tensor_json(w_out),
        "w_h": tensor_json(w_h),
        "w_c": tensor_json(w_c),
        "grads": grads,
        "repr": repr(m),
        "state_dict": state_dict_json(m),
    }


# ---------------------------------------------------------------------------------------------
# Attention cases

MHA_CONFIGS = [
    # name, kwargs, (T, S, B) or None B for unbatched, qkv sharing, masks, flags, train, forward seed
    ("mha_self", dict(embed_dim=8, num_heads=2), (3, 3, 2), "qkv", {}, {}, False, None),
    ("mha_self_sdpa", dict(embed_dim=8, num_heads=2), (3, 3, 2), "qkv", {}, dict(need_weights=False), False, None),
    ("mha_cross_masks", dict(embed_dim=8, num_heads=2), (4, 3, 2), "kv", dict(kpm="bool", attn="bool2d"), {}, False, None),
    ("mha_cross_masks_sdpa", dict(embed_dim=8, num_heads=2), (4, 3, 2), "kv", dict(kpm="bool", attn="bool2d"), dict(need_weights=False), False, None),
    ("mha_separate_float3d_perhead", dict(embed_dim=6, num_heads=3), (2, 4, 2), "none", dict(attn="float3d"), dict(average_attn_weights=False), False, None),
    ("mha_batchfirst_causal", dict(embed_dim=8, num_heads=4, batch_first=True), (4, 4, 2), "qkv", dict(attn="causal"), dict(is_causal=True), False, None),
    ("mha_batchfirst_causal_sdpa", dict(embed_dim=8, num_heads=4, batch_first=True), (4, 4, 2), "qkv", dict(attn="causal"), dict(is_causal=True, need_weights=False), False, None),
    ("mha_nobias_floatkpm", dict(embed_dim=4, num_heads=1, bias=False), (3, 5, 2), "none", dict(kpm="float"), {}, False, None),
    ("mha_unbatched", dict(embed_dim=8, num_heads=2), (3, 4, None), "kv", dict(kpm="bool"), {}, False, None),
    ("mha_unbatched_attn3d_sdpa", dict(embed_dim=8, num_heads=2), (3, 3, None), "qkv", dict(attn="bool3d"), dict(need_weights=False), False, None),
    ("mha_fully_masked_row_sdpa", dict(embed_dim=4, num_heads=2), (3, 3, 2), "qkv", dict(kpm="full_row"), dict(need_weights=False), False, None),
    ("mha_dropout_train", dict(embed_dim=8, num_heads=2, dropout=0.5), (3, 4, 2), "kv", dict(kpm="bool"), {}, True, 7),
    ("mha_dropout_train_sdpa", dict(embed_dim=8, num_heads=2, dropout=0.5), (3, 4, 2), "kv", {}, dict(need_weights=False), True, 9),
]


def make_mask(kind, T, S, B, H, dtype, gen):
    if kind == "bool":
        if B is None:
            m = torch.zeros(S, dtype=torch.bool)
            m[-1] = True
        else:
            m = torch.zeros(B, S, dtype=torch.bool)
            m[0, -1] = True
            m[1, 0] = True
        return m
    if kind == "full_row":
        m = torch.zeros(B, S, dtype=torch.bool)
        m[0, :] = True
        m[1, 1] = True
        return m
    if kind == "float":
        m = torch.randn(B, S, generator=gen, dtype=dtype)
        m[0, 2] = float("-inf")
        return m
    if kind == "bool2d":
        m = torch.zeros(T, S, dtype=torch.bool)
        m[0, 1] = True
        m[2, 0] = True
        return m
    if kind == "bool3d":
        n = H if B is None else B * H
        m = torch.rand(n, T, S, generator=gen) < 0.3
        m[..., 0] = False
        return m
    if kind == "float3d":
        return torch.randn(B * H, T, S, generator=gen, dtype=dtype)
    if kind == "causal":
        return torch.triu(torch.ones(T, S, dtype=torch.bool), diagonal=1)
    raise ValueError(kind)


def make_mha_case(name, kwargs, dims, sharing, masks, flags, train, fseed, dtype, seed):
    torch.manual_seed(seed)
    m = nn.MultiheadAttention(**kwargs)
    params0 = [[n, list(p.shape), [float(v) for v in p.detach().reshape(-1).tolist()]] for n, p in m.named_parameters()]
    if dtype == torch.float64:
        m = m.double()
    m.train(train)
    T, S, B = dims
    E = kwargs["embed_dim"]
    H = kwargs["num_heads"]
    bf = kwargs.get("batch_first", False)
    gen = torch.Generator().manual_seed(2000 + seed)

    def shape(L):
        if B is None:
            return [L, E]
        return [B, L, E] if bf else [L, B, E]

    q = torch.randn(shape(T), generator=gen, dtype=dtype).requires_grad_()
    if sharing == "qkv":
        k = v = q
    elif sharing == "kv":
        k = torch.randn(shape(S), generator=gen, dtype=dtype).requires_grad_()
        v = k
    else:
        k = torch.randn(shape(S), generator=gen, dtype=dtype).requires_grad_()
        v = torch.randn(shape(S), generator=gen, dtype=dtype).requires_grad_()
    kpm = make_mask(masks["kpm"], T, S, B, H, dtype, gen) if "kpm" in masks else None
    attn = make_mask(masks["attn"], T, S, B, H, dtype, gen) if "attn" in masks else None
    need_weights = flags.get("need_weights", True)
    average = flags.get("average_attn_weights", True)
    is_causal = flags.get("is_causal", False)
    if fseed is not None:
        torch.manual_seed(fseed)
    out, weights = m(q, k, v, key_padding_mask=kpm, need_weights=need_weights, attn_mask=attn,
                     average_attn_weights=average, is_causal=is_causal)
    w_out = loss_weights(list(out.shape), 0.2, dtype)
    loss = (out * w_out).sum()
    w_weights = None
    if weights is not None:
        w_weights = loss_weights(list(weights.shape), 0.9, dtype)
        loss = loss + (weights * w_weights).sum()
    loss.backward()
    grads = {"query": tensor_json(q.grad)}
    if sharing != "qkv":
        grads["key"] = tensor_json(k.grad)
    if sharing == "none":
        grads["value"] = tensor_json(v.grad)
    for n, p in m.named_parameters():
        grads[n] = tensor_json(p.grad)
    return {
        "name": f"{name}_{str(dtype).replace('torch.', '')}",
        "module": "MultiheadAttention",
        "args": kwargs,
        "dtype": str(dtype).replace("torch.", ""),
        "seed": seed,
        "train": train,
        "forward_seed": fseed,
        "params": params0,
        "sharing": sharing,
        "query": tensor_json(q),
        "key": tensor_json(k) if sharing != "qkv" else None,
        "value": tensor_json(v) if sharing == "none" else None,
        "key_padding_mask": tensor_json(kpm),
        "attn_mask": tensor_json(attn),
        "need_weights": need_weights,
        "average_attn_weights": average,
        "is_causal": is_causal,
        "output": tensor_json(out),
        "weights": tensor_json(weights),
        "w_out": tensor_json(w_out),
        "w_weights": tensor_json(w_weights),
        "grads": grads,
        "repr": repr(m),
        "state_dict": state_dict_json(m),
    }


def main():
    assert torch.__version__.startswith("2.15"), torch.__version__
    rnn_cases = []
    for i, cfg in enumerate(RNN_CONFIGS):
        for dtype in (torch.float32, torch.float64):
            rnn_cases.append(make_rnn_case(*cfg, dtype=dtype, seed=i))
    mha_cases = []
    for i, cfg in enumerate(MHA_CONFIGS):
        for dtype in (torch.float32, torch.float64):
            mha_cases.append(make_mha_case(*cfg, dtype=dtype, seed=100 + i))

    # printed forms of a few more constructor combinations
    reprs = {
        "rnn_relu": repr(nn.RNN(3, 4, nonlinearity="relu")),
        "lstm_all": repr(nn.LSTM(3, 4, 2, bias=False, batch_first=True, dropout=0.5, bidirectional=True, proj_size=2)),
        "gru_dropout": repr(nn.GRU(10, 20, num_layers=3, dropout=0.25)),
        "mha_nobias_bf": repr(nn.MultiheadAttention(8, 2, dropout=0.1, bias=False, batch_first=True)),
    }
    meta = {"torch": torch.__version__}
    with open(os.path.join(HERE, "rnn-cases.json"), "w") as f:
        json.dump({"meta": meta, "cases": rnn_cases, "reprs": reprs}, f, separators=(",", ":"))
    with open(os.path.join(HERE, "attention-cases.json"), "w") as f:
        json.dump({"meta": meta, "cases": mha_cases}, f, separators=(",", ":"))
    print(f"wrote {len(rnn_cases)} recurrent cases and {len(mha_cases)} attention cases")


if __name__ == "__main__":
    main()
