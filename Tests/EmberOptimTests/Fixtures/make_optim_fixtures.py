#!/usr/bin/env python3
"""Writes optim-cases.json: what PyTorch's optimizers, LR schedulers and gradient clipping compute.

Run from this folder with the PyTorch the project checks against (2.15, CPU):

    python3 make_optim_fixtures.py

Optimizers run PyTorch's default CPU code path (the single-tensor one, foreach=False). Every
float is written as Python's repr of the value (float32 values are exact in a double), so the
Swift tests can compare bit for bit.

Top-level fields:

- defaults: each optimizer's `defaults` (without foreach, fused, differentiable, capturable).
- optimizers: one case per optimizer configuration, each
    name, optimizer (SGD | Adam | AdamW | RMSprop | Adagrad), dtype (float32 | float64),
    kwargs: the constructor's keyword arguments (PyTorch's names; betas as a list),
    groups: [{params: [parameter indices], options: {overrides by PyTorch's keys}}],
    shapes, initial: the parameters' shapes and flat initial values,
    grads: per step, per parameter, the flat gradient set as p.grad before step() (null: no grad),
    steps: per step, params (flat values after step()) and state (per parameter: null, or
           {"step": number (when PyTorch keeps one), <state tensor name>: flat values}),
    correctly_rounded_sqrt (optimizers that take a square root): the last step again, with
           PyTorch's sqrt replaced by NumPy's correctly rounded one and every other op PyTorch's.
           PyTorch's x86 CPU sqrt (MKL's vectorized one) can be one unit in the last place off
           the correctly rounded root, so Ember, which rounds correctly, equals this bit for bit.
- losses: optimizers on a tiny least-squares loss through autograd:
    name, optimizer, kwargs, x [8, 3], y [8], w0 [3], b0 [1], steps of {loss (before the step),
    w, b (after it)}; loss = ((x @ w + b - y) ** 2).mean().
- schedulers: name, kind, groups (SGD or Adam groups: lr and momentum), args, steps: per epoch 0..n
    {lr: get_last_lr() (PyTorch's recursive form), closed: _get_closed_form_lr() when PyTorch has
    it, momentum: per group (SGD momentum or Adam beta1)}, metrics for ReduceLROnPlateau.
- clip: per case grads (null: no grad), kind (norm | value), max_norm, norm_type ("inf" for
    infinity), clip_value, total_norm, clipped grads.
"""

import contextlib
import json
import math
import os

import numpy as np
import torch

torch.set_num_threads(1)

SHAPES = [[2, 3], [37], [5]]
STEPS = 6
NO_GRAD = (2, 2)  # parameter 2 gets no gradient at step index 2


def flat(t):
    return t.detach().reshape(-1).tolist()


def make_params(dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype) for s in SHAPES]


def make_grads(dtype, seed):
    g = torch.Generator().manual_seed(seed + 1000)
    out = []
    for step in range(STEPS):
        row = []
        for i, s in enumerate(SHAPES):
            grad = torch.randn(s, generator=g, dtype=dtype)
            row.append(None if (i, step) == NO_GRAD else grad)
        out.append(row)
    return out


OPTIMIZERS = {
    "SGD": torch.optim.SGD,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RMSprop": torch.optim.RMSprop,
    "Adagrad": torch.optim.Adagrad,
}

# name, optimizer, dtype, kwargs, groups ([(indices, overrides)]; None = one group of all)
OPTIMIZER_CASES = [
    ("sgd_plain", "SGD", "float32", {"lr": 0.1}, None),
    ("sgd_default_lr", "SGD", "float32", {}, None),
    ("sgd_momentum", "SGD", "float32", {"lr": 0.1, "momentum": 0.9}, None),
    (
        "sgd_momentum_dampening_weight_decay",
        "SGD",
        "float32",
        {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
        None,
    ),
    (
        "sgd_nesterov_weight_decay_maximize",
        "SGD",
        "float32",
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1, "maximize": True},
        None,
    ),
    (
        "sgd_two_groups",
        "SGD",
        "float32",
        {"lr": 0.1, "momentum": 0.9},
        [([0, 1], {}), ([2], {"lr": 0.01, "momentum": 0.5, "nesterov": True})],
    ),
    ("sgd_float64_momentum_weight_decay", "SGD", "float64",
     {"lr": 0.1, "momentum": 0.8, "weight_decay": 0.05}, None),
    ("adam_default", "Adam", "float32", {}, None),
    ("adam_weight_decay", "Adam", "float32", {"lr": 0.01, "weight_decay": 0.1}, None),
    ("adam_amsgrad_betas", "Adam", "float32",
     {"lr": 0.05, "betas": [0.8, 0.99], "amsgrad": True}, None),
    ("adam_maximize_eps", "Adam", "float32", {"lr": 0.02, "eps": 1e-6, "maximize": True}, None),
    ("adam_decoupled_weight_decay", "Adam", "float32",
     {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}, None),
    (
        "adam_two_groups",
        "Adam",
        "float32",
        {"lr": 0.01},
        [([0], {"amsgrad": True, "betas": [0.5, 0.9]}), ([1, 2], {"lr": 0.1, "weight_decay": 0.01})],
    ),
    ("adam_float64_amsgrad_weight_decay", "Adam", "float64",
     {"lr": 0.01, "amsgrad": True, "weight_decay": 0.02}, None),
    ("adamw_default", "AdamW", "float32", {"lr": 0.01}, None),
    ("adamw_amsgrad_maximize", "AdamW", "float32",
     {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True, "maximize": True}, None),
    ("rmsprop_default", "RMSprop", "float32", {}, None),
    ("rmsprop_centered", "RMSprop", "float32", {"lr": 0.01, "centered": True}, None),
    ("rmsprop_momentum_weight_decay_alpha", "RMSprop", "float32",
     {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.05, "alpha": 0.9}, None),
    ("rmsprop_centered_momentum_maximize", "RMSprop", "float32",
     {"lr": 0.005, "momentum": 0.5, "centered": True, "maximize": True, "eps": 1e-5}, None),
    (
        "rmsprop_two_groups",
        "RMSprop",
        "float32",
        {"lr": 0.01},
        [([0, 2], {"centered": True}), ([1], {"momentum": 0.9, "alpha": 0.5})],
    ),
    ("rmsprop_float64_centered_momentum", "RMSprop", "float64",
     {"lr": 0.01, "momentum": 0.9, "centered": True}, None),
    ("adagrad_default", "Adagrad", "float32", {}, None),
    ("adagrad_lr_decay_weight_decay_initial", "Adagrad", "float32",
     {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.1}, None),
    ("adagrad_maximize_eps", "Adagrad", "float32", {"lr": 0.05, "eps": 1e-3, "maximize": True}, None),
    ("adagrad_float64_lr_decay", "Adagrad", "float64", {"lr": 0.1, "lr_decay": 0.05}, None),
]


@contextlib.contextmanager
def correctly_rounded_sqrt():
    """Replaces Tensor.sqrt and Tensor.sqrt_ (what the optimizers call) with NumPy's sqrt."""
    saved = torch.Tensor.sqrt, torch.Tensor.sqrt_

    def sqrt(self):
        return torch.from_numpy(np.sqrt(self.detach().numpy()))

    def sqrt_(self):
        with torch.no_grad():
            self.copy_(sqrt(self))
        return self

    torch.Tensor.sqrt, torch.Tensor.sqrt_ = sqrt, sqrt_
    try:
        yield
    finally:
        torch.Tensor.sqrt, torch.Tensor.sqrt_ = saved


def run_optimizer_case(case_index, name, opt_name, dtype_name, kwargs, groups):
    dtype = getattr(torch, dtype_name)
    params = [p.clone().requires_grad_(True) for p in make_params(dtype, case_index)]
    initial = [flat(p) for p in params]
    grads = make_grads(dtype, case_index)
    ctor_kwargs = dict(kwargs)
    if "betas" in ctor_kwargs:
        ctor_kwargs["betas"] = tuple(ctor_kwargs["betas"])
    if groups is None:
        spec = params
    else:
        spec = []
        for indices, options in groups:
            o = {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()}
            spec.append({"params": [params[i] for i in indices], **o})
    opt = OPTIMIZERS[opt_name](spec, foreach=False, **ctor_kwargs)
    steps = []
    for row in grads:
        for p, g in zip(params, row):
            p.grad = None if g is None else g.clone()
        opt.step()
        states = []
        for p in params:
            st = opt.state.get(p)
            if not st:
                states.append(None)
                continue
            entry = {}
            for k, v in st.items():
                if k == "step":
                    entry["step"] = float(v)
                elif torch.is_tensor(v):
                    entry[k] = flat(v)
            states.append(entry)
        steps.append({"params": [flat(p) for p in params], "state": states})
    return {
        "name": name,
        "optimizer": opt_name,
        "dtype": dtype_name,
        "kwargs": kwargs,
        "groups": [{"params": i, "options": o} for i, o in groups] if groups else None,
        "shapes": SHAPES,
        "initial": initial,
        "grads": [[None if g is None else flat(g) for g in row] for row in grads],
        "steps": steps,
    }


LOSS_CASES = [
    ("loss_sgd_nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("loss_adam_amsgrad", "Adam", {"lr": 0.1, "amsgrad": True}),
    ("loss_adamw", "AdamW", {"lr": 0.1}),
]


def run_loss_case(name, opt_name, kwargs):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(8, 3, generator=g)
    y = torch.randn(8, generator=g)
    w = torch.randn(3, generator=g).requires_grad_(True)
    b = torch.zeros(1).requires_grad_(True)
    w0, b0 = flat(w), flat(b)
    opt = OPTIMIZERS[opt_name]([w, b], foreach=False, **kwargs)
    steps = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        opt.step()
        steps.append({"loss": loss.item(), "w": flat(w), "b": flat(b)})
    return {"name": name, "optimizer": opt_name, "kwargs": kwargs, "x": flat(x), "y": flat(y),
            "w0": w0, "b0": b0, "steps": steps}


S = torch.optim.lr_scheduler

# name, optimizer ("SGD" | "Adam"), groups [{lr, momentum}], kind, args, epochs, metrics
SCHEDULER_CASES = [
    ("step", "SGD", None, "StepLR", {"step_size": 3, "gamma": 0.5}, 10),
    ("step_default_gamma", "SGD", None, "StepLR", {"step_size": 2}, 7),
    ("multistep_repeated", "SGD", None, "MultiStepLR", {"milestones": [2, 5, 5, 8], "gamma": 0.3}, 10),
    ("exponential", "SGD", None, "ExponentialLR", {"gamma": 0.9}, 12),
    ("cosine_past_tmax", "SGD", None, "CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}, 15),
    ("cosine_default_eta", "SGD", None, "CosineAnnealingLR", {"T_max": 10}, 10),
    ("linear", "SGD", None, "LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 4}, 8),
    ("linear_default", "SGD", None, "LinearLR", {}, 7),
    ("linear_decay", "SGD", None, "LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 5}, 7),
    ("onecycle_sgd", "SGD", [{"lr": 0.1, "momentum": 0.9}, {"lr": 0.01, "momentum": 0.9}], "OneCycleLR",
     {"max_lr": [1.0, 0.1], "total_steps": 12}, 12),
    ("onecycle_adam_three_phase_linear", "Adam", None, "OneCycleLR",
     {"max_lr": 0.01, "total_steps": 10, "three_phase": True, "anneal_strategy": "linear"}, 10),
    ("onecycle_epochs_no_momentum", "SGD", None, "OneCycleLR",
     {"max_lr": 0.5, "epochs": 3, "steps_per_epoch": 4, "cycle_momentum": False, "pct_start": 0.25,
      "div_factor": 10.0, "final_div_factor": 100.0}, 12),
    ("onecycle_rmsprop_momentum", "RMSprop", None, "OneCycleLR",
     {"max_lr": 0.05, "total_steps": 8, "base_momentum": 0.8, "max_momentum": 0.9}, 8),
    ("sequential_warmup_exponential", "SGD", None, "SequentialLR",
     {"schedulers": [["LinearLR", {"start_factor": 0.1, "total_iters": 3}],
                     ["ExponentialLR", {"gamma": 0.8}]], "milestones": [3]}, 9),
    ("sequential_three", "SGD", None, "SequentialLR",
     {"schedulers": [["LinearLR", {"start_factor": 0.5, "total_iters": 2}],
                     ["CosineAnnealingLR", {"T_max": 5}],
                     ["StepLR", {"step_size": 2, "gamma": 0.5}]], "milestones": [2, 7]}, 12),
]

PLATEAU_CASES = [
    ("plateau_min_rel", {"mode": "min", "factor": 0.5, "patience": 2},
     [1.0, 0.9, 0.95, 0.91, 0.92, 0.93, 0.8, 0.85, 0.86, 0.87, 0.9, 0.9, 0.9]),
    ("plateau_max_abs_cooldown_min_lr",
     {"mode": "max", "factor": 0.3, "patience": 1, "threshold": 0.05, "threshold_mode": "abs",
      "cooldown": 2, "min_lr": 0.005},
     [0.1, 0.2, 0.22, 0.21, 0.3, 0.31, 0.32, 0.33, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]),
    ("plateau_min_lrs_eps",
     {"mode": "min", "factor": 0.1, "patience": 0, "min_lr": [0.001, 0.0005], "eps": 1e-4},
     [5.0, 5.0, 5.0, 5.0, 5.0]),
    ("plateau_default", {}, [1.0] * 14),
]

DEFAULT_GROUPS = [{"lr": 0.1, "momentum": 0.9}, {"lr": 0.01, "momentum": 0.0}]


def make_optimizer(kind, groups):
    tensors = [torch.zeros(2, requires_grad=True) for _ in groups]
    if kind == "SGD":
        spec = [{"params": [t], "lr": g["lr"], "momentum": g["momentum"]} for t, g in zip(tensors, groups)]
        return torch.optim.SGD(spec)
    spec = [{"params": [t], "lr": g["lr"]} for t, g in zip(tensors, groups)]
    return OPTIMIZERS[kind](spec)


def momentum_of(opt):
    out = []
    for g in opt.param_groups:
        if "betas" in g:
            out.append(g["betas"][0])
        else:
            out.append(g.get("momentum"))
    return out


def make_scheduler(opt, kind, args):
    if kind == "SequentialLR":
        inner = [getattr(S, k)(opt, **a) for k, a in args["schedulers"]]
        return S.SequentialLR(opt, inner, milestones=args["milestones"])
    return getattr(S, kind)(opt, **args)


def snapshot(opt, sched):
    entry = {"lr": list(sched.get_last_lr()), "momentum": momentum_of(opt)}
    if hasattr(sched, "_get_closed_form_lr"):
        entry["closed"] = list(sched._get_closed_form_lr())
    return entry


def run_scheduler_case(name, opt_kind, groups, kind, args, epochs):
    groups = groups or DEFAULT_GROUPS
    opt = make_optimizer(opt_kind, groups)
    sched = make_scheduler(opt, kind, args)
    steps = [snapshot(opt, sched)]
    for _ in range(epochs):
        opt.step()
        sched.step()
        steps.append(snapshot(opt, sched))
    return {"name": name, "optimizer": opt_kind, "groups": groups, "kind": kind, "args": args,
            "steps": steps}


def run_plateau_case(name, args, metrics):
    opt = make_optimizer("SGD", DEFAULT_GROUPS)
    sched = S.ReduceLROnPlateau(opt, **args)
    steps = [{"lr": [g["lr"] for g in opt.param_groups]}]
    for m in metrics:
        opt.step()
        sched.step(m)
        steps.append({"lr": list(sched.get_last_lr())})
    return {"name": name, "optimizer": "SGD", "groups": DEFAULT_GROUPS, "kind": "ReduceLROnPlateau",
            "args": args, "metrics": metrics, "steps": steps}


CLIP_CASES = [
    ("norm2_clips", "float32", "norm", {"max_norm": 1.0, "norm_type": 2.0}),
    ("norm2_no_clip", "float32", "norm", {"max_norm": 100.0, "norm_type": 2.0}),
    ("norm_inf", "float32", "norm", {"max_norm": 0.5, "norm_type": math.inf}),
    ("norm1", "float32", "norm", {"max_norm": 2.0, "norm_type": 1.0}),
    ("norm2_float64", "float64", "norm", {"max_norm": 1.5, "norm_type": 2.0}),
    ("value", "float32", "value", {"clip_value": 0.3}),
]


def run_clip_case(index, name, dtype_name, kind, args):
    dtype = getattr(torch, dtype_name)
    g = torch.Generator().manual_seed(500 + index)
    shapes = [[3, 4], [40], [2]]
    params = [torch.zeros(s, dtype=dtype, requires_grad=True) for s in shapes]
    grads = [torch.randn(s, generator=g, dtype=dtype) for s in shapes]
    grads[2] = None  # the last parameter has no gradient
    for p, gr in zip(params, grads):
        p.grad = None if gr is None else gr.clone()
    entry = {"name": name, "dtype": dtype_name, "kind": kind, "shapes": shapes,
             "grads": [None if gr is None else flat(gr) for gr in grads]}
    if kind == "norm":
        total = torch.nn.utils.clip_grad_norm_(params, foreach=False, **args)
        entry["max_norm"] = args["max_norm"]
        entry["norm_type"] = "inf" if math.isinf(args["norm_type"]) else args["norm_type"]
        entry["total_norm"] = total.item()
    else:
        torch.nn.utils.clip_grad_value_(params, foreach=False, **args)
        entry["clip_value"] = args["clip_value"]
    entry["clipped"] = [None if p.grad is None else flat(p.grad) for p in params]
    return entry


DEFAULT_KEYS = {"foreach", "fused", "differentiable", "capturable"}


def optimizer_defaults():
    out = {}
    for name, cls in OPTIMIZERS.items():
        opt = cls([torch.zeros(1, requires_grad=True)])
        out[name] = {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in opt.defaults.items()
            if k not in DEFAULT_KEYS
        }
    return out


def optimizer_cases():
    cases = [run_optimizer_case(i, *c) for i, c in enumerate(OPTIMIZER_CASES)]
    with correctly_rounded_sqrt():
        for i, c in enumerate(OPTIMIZER_CASES):
            if c[1] != "SGD":
                cases[i]["correctly_rounded_sqrt"] = run_optimizer_case(i, *c)["steps"][-1]
    return cases


def main():
    out = {
        "torch": torch.__version__,
        "defaults": optimizer_defaults(),
        "optimizers": optimizer_cases(),
        "losses": [run_loss_case(*c) for c in LOSS_CASES],
        "schedulers": [run_scheduler_case(*c) for c in SCHEDULER_CASES]
        + [run_plateau_case(*c) for c in PLATEAU_CASES],
        "clip": [run_clip_case(i, *c) for i, c in enumerate(CLIP_CASES)],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim-cases.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
