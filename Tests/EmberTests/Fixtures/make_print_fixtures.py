#!/usr/bin/env python3
"""Writes print-cases.json: PyTorch's exact `str(tensor)` text for a broad list of tensors.

Run from this folder with the PyTorch the project checks against (2.15, CPU):

    python3 make_print_fixtures.py

Each case says how to build the tensor, so DescriptionTests.swift can build the same one in Ember
and compare `formatted(PrintOptions(..., style: .pytorch))` with `expected` character for
character:

- dtype: float32 | float64 | int64 | bool
- shape: the sizes
- exactly one of
    values: every element, row-major, as strings (Python repr for floats: "nan", "-inf", "-0.0")
    cycle:  strings repeated to fill the shape
    arange: [start, step] as strings; element i is start + i * step (float64 arithmetic for float
            dtypes, then rounded to the dtype; int64 arithmetic for int64)
- set: [[flat index, value string], ...] written after the fill
- requires_grad: make the tensor a leaf that requires grad (before ops)
- ops: applied in order: mul2 (x * 2), add1 (x + 1), sum, mean, exp, neg, pow2 (x ** 2),
       t (x.t()), reshape_flat (x.reshape(-1)), detach, step2 (x[::2] on dim 0, a strided view)
- options: torch.set_printoptions arguments (precision, threshold, edgeitems, linewidth,
           sci_mode); everything else stays at PyTorch's defaults
"""

import json
import math
import os
import random

import torch

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "int64": torch.int64,
    "bool": torch.bool,
}


def parse(dtype, s):
    if dtype == "bool":
        return s == "True"
    if dtype == "int64":
        return int(s)
    return float(s)


def build(case):
    dtype = case["dtype"]
    shape = case["shape"]
    n = math.prod(shape)
    if "values" in case:
        flat = [parse(dtype, s) for s in case["values"]]
    elif "cycle" in case:
        cyc = [parse(dtype, s) for s in case["cycle"]]
        flat = [cyc[i % len(cyc)] for i in range(n)]
    else:
        start, step = case["arange"]
        if dtype == "int64":
            flat = [int(start) + i * int(step) for i in range(n)]
        else:
            flat = [float(start) + i * float(step) for i in range(n)]
    for index, s in case.get("set", []):
        flat[index] = parse(dtype, s)
    assert len(flat) == n, case["name"]
    if dtype in ("float32", "float64"):
        # float64 first, then rounded to the dtype, as Ember's Float(Double) does
        t = torch.tensor(flat, dtype=torch.float64).to(DTYPES[dtype])
    else:
        t = torch.tensor(flat, dtype=DTYPES[dtype])
    t = t.reshape(shape)
    if case.get("requires_grad"):
        t.requires_grad_()
    for op in case.get("ops", []):
        t = {
            "mul2": lambda x: x * 2,
            "add1": lambda x: x + 1,
            "sum": lambda x: x.sum(),
            "mean": lambda x: x.mean(),
            "exp": lambda x: x.exp(),
            "neg": lambda x: x.neg(),
            "pow2": lambda x: x**2,
            "t": lambda x: x.t(),
            "reshape_flat": lambda x: x.reshape(-1),
            "detach": lambda x: x.detach(),
            "step2": lambda x: x[::2],
        }[op](t)
    return t


def floats(xs):
    return [repr(float(x)) for x in xs]


def gauss(n, seed, scale=1.0):
    rng = random.Random(seed)
    # float32-exact values, so float32 and float64 cases start from the same numbers
    return floats(torch.tensor([rng.gauss(0, scale) for _ in range(n)]).tolist())


CASES = []


def case(name, dtype, shape, **kw):
    c = {"name": name, "dtype": dtype, "shape": shape}
    c.update(kw)
    CASES.append(c)


inf, nan = "inf", "nan"

# --- float32: int mode, fixed, zeros, signed zero, non-finite --------------------------------
case("f32 int-valued", "float32", [3], values=["1.0", "2.0", "3.0"])
case("f32 fixed mixed signs", "float32", [3], values=["1.5", "-2.25", "3.0"])
case("f32 zeros", "float32", [5], cycle=["0.0"])
case("f32 negative zero and one", "float32", [2], values=["-0.0", "1.0"])
case("f32 only negative zeros", "float32", [2], values=["-0.0", "-0.0"])
case("f32 zero and negative zero", "float32", [2], values=["0.0", "-0.0"])
case("f32 negative zero with fractions", "float32", [3], values=["-0.0", "0.5", "-1.25"])
case("f32 one and -inf", "float32", [2], values=["1.0", "-inf"])
case("f32 only non-finite", "float32", [3], values=[inf, "-inf", nan])
case("f32 nan among fractions", "float32", [3], values=[nan, "1.5", inf])
case("f32 single nan", "float32", [1], values=[nan])
case("f32 -inf with big ints", "float32", [3], values=["-inf", "100.0", "-250.0"])
case("f32 nan with tiny value", "float32", [2], values=[nan, "1e-05"])
case("f32 negative ints", "float32", [4], values=["-1.0", "-20.0", "300.0", "0.0"])
case("f32 rounding to 4 places", "float32", [3], values=["0.12345", "2.99996", "-0.5"])
case("f32 rounding goes sci", "float32", [3], values=["0.12345", "2.99996", "-0.00005"])
# --- sci mode choice ---------------------------------------------------------------------------
case("f32 min below 1e-4", "float32", [3], values=["1e-05", "1.0", "100.0"])
case("f32 max above 1e8 ints", "float32", [2], values=["1000000000.0", "1.0"])
case("f32 max exactly 1e8", "float32", [2], values=["100000000.0", "100000.0"])
case("f32 ratio exactly 1000", "float32", [2], values=["1.0", "1000.0"])
case("f32 ratio above 1000 ints", "float32", [2], values=["1.0", "1001.0"])
case("f32 ratio above 1000 fractions", "float32", [2], values=["0.5", "600.0"])
case("f32 1e-4 rounds below 1e-4", "float32", [2], values=["0.0001", "0.05"])
case("f64 1e-4 is not below 1e-4", "float64", [2], values=["0.0001", "0.05"])
case("f32 tiny and huge", "float32", [3], values=["-1e-10", "10000000000.0", "0.0"])
case("f32 sci with non-finite", "float32", [4], values=["1e-08", nan, "-inf", "2.5"])
case("f32 large fractions", "float32", [2], values=["123456.789", "99999.5"])
case("f64 sci three-digit exponent", "float64", [2], values=["1e+300", "1.0"])
case("f64 sci tiny denormal", "float64", [2], values=["5e-324", "1.0"])
# --- print options -----------------------------------------------------------------------------
case("precision 2", "float32", [2], values=["1.12345", "2.5"], options={"precision": 2})
case("precision 0", "float32", [3], values=["1.5", "2.5", "-0.4"], options={"precision": 0})
case("precision 8 float32 noise", "float32", [2], values=["0.1", "0.2"], options={"precision": 8})
case("precision 6 sci", "float64", [2], values=["1e-07", "3.0"], options={"precision": 6})
case("sci_mode True ints", "float32", [2], values=["1.0", "2.0"], options={"sci_mode": True})
case("sci_mode True fractions", "float32", [2], values=["1.5", "-2.0"], options={"sci_mode": True})
case(
    "sci_mode False wide range", "float32", [2], values=["1e-05", "100000.0"],
    options={"sci_mode": False},
)
case(
    "sci_mode False huge int", "float64", [2], values=["1e+30", "1.0"], options={"sci_mode": False}
)
case(
    "sci_mode False longer than 64 characters", "float64", [2], values=["1e+100", "0.5"],
    options={"sci_mode": False},
)
case("sci_mode True zeros only", "float32", [3], cycle=["0.0"], options={"sci_mode": True})
case("threshold 5 int64", "int64", [10], arange=["0", "1"], options={"threshold": 5})
case("threshold 5 float", "float32", [10], arange=["0.0", "0.5"], options={"threshold": 5})
case("threshold 0 one element", "float32", [1], values=["5.0"], options={"threshold": 0})
case("threshold 0 scalar", "float32", [], values=["2.5"], options={"threshold": 0})
case("edgeitems 2", "float32", [2000], arange=["0.0", "1.0"], options={"edgeitems": 2})
case("edgeitems 0 small 1-D", "float32", [4], arange=["0.0", "1.0"], options={"edgeitems": 0})
case("edgeitems 0 small 2-D", "float32", [2, 3], cycle=["1.0"], options={"edgeitems": 0})
case("edgeitems 0 summarized 1-D", "float32", [2000], arange=["0.0", "1.0"], options={"edgeitems": 0})
case(
    "edgeitems 0 summarized 2-D", "float32", [30, 100], cycle=["1.0"], options={"edgeitems": 0}
)
case("edgeitems 0 scalar", "int64", [], values=["7"], options={"edgeitems": 0})
case("linewidth 40", "float32", [20], arange=["0.0", "1.5"], options={"linewidth": 40})
case("linewidth 200", "float32", [40], arange=["0.0", "1.5"], options={"linewidth": 200})
case("linewidth below indent", "float32", [4], arange=["0.0", "1.5"], options={"linewidth": 5})
case(
    "linewidth 30 suffix wrap", "float64", [3], values=["1.5", "2.5", "3.5"],
    requires_grad=True, options={"linewidth": 30},
)
case("short profile values", "float32", [2000], arange=["0.0", "0.25"],
     options={"precision": 2, "edgeitems": 2})
# --- 0-d ---------------------------------------------------------------------------------------
case("0-d fraction", "float32", [], values=["2.5"])
case("0-d negative zero", "float32", [], values=["-0.0"])
case("0-d nan", "float32", [], values=[nan])
case("0-d -inf", "float32", [], values=["-inf"])
case("0-d tiny", "float32", [], values=["1e-05"])
case("0-d int-valued", "float32", [], values=["7.0"])
case("0-d huge int-valued", "float32", [], values=["10000000000.0"])
case("0-d float64", "float64", [], values=["2.5"])
case("0-d int64 above 2^53", "int64", [], values=["9007199254740993"])
case("0-d bool", "bool", [], values=["True"])
case("0-d requires grad", "float32", [], values=["2.5"], requires_grad=True)
# --- float64 -----------------------------------------------------------------------------------
case("f64 ints", "float64", [2], values=["1.0", "2.0"])
case("f64 gauss row wraps", "float64", [20], values=gauss(20, 3))
case("f64 requires grad wraps suffix", "float64", [8], arange=["0.0", "1.25"], requires_grad=True)
case("f64 grad_fn wraps suffix", "float64", [8], arange=["0.0", "1.25"], requires_grad=True,
     ops=["mul2"])
case("f64 2-D requires grad", "float64", [2, 2], values=["1.0", "-2.0", "3.5", "4.0"],
     requires_grad=True)
# --- int64 -------------------------------------------------------------------------------------
case("int64 small", "int64", [3], values=["1", "2", "3"])
case("int64 mixed widths", "int64", [3], values=["-5", "100", "7"])
case("int64 above 2^53", "int64", [2], values=["9007199254740993", "-5"])
case("int64 extremes", "int64", [2], values=["9223372036854775807", "-9223372036854775808"])
case("int64 arange wraps", "int64", [30], arange=["0", "1"])
case("int64 2-D", "int64", [2, 3], values=["1", "-20", "300", "4", "5", "6"])
case("int64 summarized with big middle", "int64", [1500], arange=["0", "1"],
     set=[[700, "123456789012345"]])
case("int64 summarized big edge", "int64", [1500], arange=["0", "1"],
     set=[[1499, "90071992547409930"]])
case("int64 empty", "int64", [0], values=[])
# --- bool --------------------------------------------------------------------------------------
case("bool mixed", "bool", [2], values=["True", "False"])
case("bool all true", "bool", [2], values=["True", "True"])
case("bool 2-D", "bool", [2, 2], values=["True", "False", "False", "True"])
case("bool 0-d false", "bool", [], values=["False"])
case("bool empty", "bool", [0], values=[])
case("bool summarized", "bool", [2000], cycle=["True", "True", "False"])
case("bool row wraps", "bool", [20], cycle=["True", "False", "False"])
# --- empty -------------------------------------------------------------------------------------
case("empty 1-D", "float32", [0], values=[])
case("empty 2x0", "float32", [2, 0], values=[])
case("empty 0x3 float64", "float64", [0, 3], values=[])
case("empty 1-D float64", "float64", [0], values=[])
case("empty 2x0x3 int64", "int64", [2, 0, 3], values=[])
case("empty requires grad", "float32", [0], values=[], requires_grad=True)
case("empty 2x0 requires grad float64", "float64", [2, 0], values=[], requires_grad=True)
# --- 1-D wrapping ------------------------------------------------------------------------------
case("f32 arange*1.5 wraps", "float32", [40], arange=["0.0", "1.5"])
case("f32 ints wrap", "float32", [100], arange=["0.0", "1.0"])
case("f32 gauss row wraps", "float32", [30], values=gauss(30, 1))
case("f32 sci row wraps", "float32", [25], arange=["1e-05", "0.37"])
case("f32 nan in wrapped row", "float32", [12], arange=["0.5", "1.0"], set=[[3, nan], [9, "-inf"]])
# --- 2-D / 3-D / 4-D ---------------------------------------------------------------------------
case("f32 2x3", "float32", [2, 3], values=["1.5", "-2.25", "3.0", "4.125", "0.0", "-0.0"])
case("f32 2-D rows wrap", "float32", [3, 30], arange=["-40.0", "1.5"])
case("f32 3-D zeros", "float32", [2, 3, 2], cycle=["0.0"])
case("f32 4-D arange", "float32", [2, 2, 2, 2], arange=["0.0", "1.0"])
case("f32 3-D rows wrap", "float32", [2, 2, 25], values=gauss(100, 5))
case("f32 transposed view", "float32", [3, 4], arange=["0.0", "0.5"], ops=["t"])
case("f32 strided view", "float32", [6, 2], arange=["0.0", "1.0"], ops=["step2"])
case("f32 column", "float32", [3, 1], values=["1.0", "-2.0", "3.0"])
case("f32 2-D with empty-looking zeros", "float32", [2, 2], values=["0.0", "nan", "-0.0", "inf"])
# --- summarized (> threshold) ------------------------------------------------------------------
case("f32 arange 2000 sci from edges", "float32", [2000], arange=["0.0", "1.0"])
case("f32 arange 1001 ratio 1000", "float32", [1001], arange=["0.0", "1.0"])
case("f32 summarized huge middle ignored", "float32", [2000], arange=["0.0", "1.0"],
     set=[[10, "1e+20"], [1000, "-3e+25"]])
case("f32 summarized tiny and nan middle ignored", "float32", [2000], cycle=["1.5", "2.25"],
     set=[[500, "1e-10"], [1500, nan]])
case("f32 summarized big edge value", "float32", [2000], cycle=["0.5"], set=[[1999, "1000000000.0"]])
case("f32 summarized small edge value", "float32", [2000], cycle=["3.0"], set=[[0, "1e-06"]])
case("f32 summarized 2-D both dims", "float32", [50, 50], arange=["0.0", "1.0"])
case("f32 summarized 3 rows of 1000", "float32", [3, 1000], arange=["0.0", "0.01"])
case("f32 summarized 1000x2", "float32", [1000, 2], arange=["0.0", "1.0"])
case("f32 summarized 3-D", "float32", [20, 20, 20], arange=["0.0", "1.0"])
case("f32 summarized 2-D middle huge ignored", "float32", [40, 40], cycle=["1.25"],
     set=[[20 * 40 + 20, "1e+15"]])
case("f64 summarized gauss", "float64", [1200], values=gauss(1200, 7))
case("int64 summarized 2-D", "int64", [40, 40], arange=["-800", "1"])
# --- autograd suffixes -------------------------------------------------------------------------
case("leaf requires grad", "float32", [3], values=["4.0", "6.0", "8.0"], requires_grad=True)
case("mul grad_fn", "float32", [2], values=["1.0", "2.0"], requires_grad=True, ops=["mul2"])
case("add grad_fn", "float32", [3], values=["4.0", "6.0", "8.0"], requires_grad=True, ops=["add1"])
case("sum grad_fn", "float32", [2], values=["1.0", "2.0"], requires_grad=True, ops=["mul2", "sum"])
case("mean grad_fn", "float32", [4], values=["1.0", "2.0", "3.0", "4.5"], requires_grad=True,
     ops=["mean"])
case("exp grad_fn", "float32", [3], values=["0.0", "1.0", "-1.0"], requires_grad=True, ops=["exp"])
case("neg grad_fn", "float32", [2], values=["1.5", "-0.0"], requires_grad=True, ops=["neg"])
case("pow grad_fn", "float32", [3], values=["1.5", "2.0", "3.0"], requires_grad=True, ops=["pow2"])
case("t grad_fn", "float32", [2, 3], arange=["0.0", "1.0"], requires_grad=True, ops=["t"])
case("reshape grad_fn", "float32", [2, 3], arange=["0.0", "1.0"], requires_grad=True,
     ops=["reshape_flat"])
case("detach drops grad", "float32", [2], values=["1.0", "2.0"], requires_grad=True,
     ops=["mul2", "detach"])
case("summarized grad_fn", "float32", [2000], arange=["0.0", "0.5"], requires_grad=True,
     ops=["mul2"])
case("f64 summarized requires grad", "float64", [2000], arange=["0.0", "0.5"], requires_grad=True)
case("2-D grad_fn float64 last line", "float64", [2, 8], arange=["0.0", "1.25"],
     requires_grad=True, ops=["mul2"])


def main():
    out = []
    names = set()
    for c in CASES:
        assert c["name"] not in names, c["name"]
        names.add(c["name"])
        torch.set_printoptions(profile="default")
        torch.set_printoptions(**c.get("options", {}))
        c["expected"] = str(build(c))
        out.append(c)
    torch.set_printoptions(profile="default")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "print-cases.json")
    with open(path, "w") as f:
        json.dump(
            {"torch": torch.__version__, "cases": out}, f, indent=1, ensure_ascii=True
        )
        f.write("\n")
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
