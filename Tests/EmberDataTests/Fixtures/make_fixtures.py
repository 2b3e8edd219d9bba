#!/usr/bin/env python3
"""Makes the EmberDataTests fixtures with PyTorch (2.15) and the safetensors package (0.8.0).

    python3 make_fixtures.py                 # writes every fixture next to this script
    python3 make_fixtures.py --verify FILE   # checks a file Ember saved (ember-saved.safetensors)
    python3 make_fixtures.py --verify-mlp FILE  # checks an Ember-saved MLP state dict

Fixtures:
- loader-cases.json: DataLoader batches (indices) and the global generator's next value after each
  epoch, for seeds, sizes, batch sizes, shuffle/drop_last and explicit generators.
- random-split.json: random_split subsets and the generator's next value.
- mnist.json: the float32 normalization of every pixel value, and checksums of the normalized sets.
- pt-*.safetensors (+ pt-values.json): files written by safetensors.torch.save_file.
- malformed/*.safetensors (+ malformed/cases.json): a corpus of bad files, with what the
  reference reader says about each.
"""

import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, TensorDataset, random_split

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def write_json(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def order_checksum(batches):
    """sum(index * (position % 1000 + 1)) over the epoch's flattened order."""
    total = 0
    p = 0
    for b in batches:
        for i in b:
            total += i * (p % 1000 + 1)
            p += 1
    return total


# ---------------------------------------------------------------------------------------------
# DataLoader


def loader_case(seed, n, bs, shuffle=True, drop_last=False, gen_seed=None, break_after=None,
                epochs=2):
    torch.manual_seed(seed)
    torch.rand(5)  # stands for a model's initialization
    g = None
    if gen_seed is not None:
        g = torch.Generator()
        g.manual_seed(gen_seed)
    loader = DataLoader(TensorDataset(torch.arange(n)), batch_size=bs, shuffle=shuffle,
                        drop_last=drop_last, generator=g)
    out = []
    for _ in range(epochs):
        batches = []
        for k, (b,) in enumerate(loader):
            batches.append(b.tolist())
            if break_after is not None and k + 1 == break_after:
                break
        e = {
            "count": len(batches),
            "first": batches[:3],
            "last": batches[-1] if batches else [],
            "checksum": order_checksum(batches),
            "next_rand": torch.rand(1).item(),
        }
        if g is not None:
            e["generator_next_rand"] = torch.rand(1, generator=g).item()
        out.append(e)
    return {
        "seed": seed, "n": n, "batch_size": bs, "shuffle": shuffle, "drop_last": drop_last,
        "generator_seed": gen_seed, "break_after": break_after, "len": len(loader),
        "epochs": out,
    }


def make_loader_cases():
    cases = []
    for seed in (0, 1, 42):
        for n in (10, 100, 60000):
            for bs in (1, 7, 128):
                cases.append(loader_case(seed, n, bs))
    for seed in (0, 42):
        for n, bs in ((10, 3), (100, 10), (60000, 128), (5, 7)):
            cases.append(loader_case(seed, n, bs, drop_last=True))
            cases.append(loader_case(seed, n, bs, shuffle=False))
            cases.append(loader_case(seed, n, bs, gen_seed=seed + 7))
            cases.append(loader_case(seed, n, bs, drop_last=True, gen_seed=seed + 7))
    cases.append(loader_case(0, 100, 7, break_after=2))
    cases.append(loader_case(0, 100, 7, gen_seed=3, break_after=2))
    cases.append(loader_case(0, 100, 10, gen_seed=3, break_after=10))
    write_json("loader-cases.json", {"torch": torch.__version__, "cases": cases})


def make_random_split():
    cases = []
    for seed, n, lengths, explicit in (
        (0, 10, [3, 7], False), (42, 10, [3, 7], True), (0, 30, [0.3, 0.3, 0.4], False),
        (1, 11, [0.5, 0.5], False), (7, 101, [0.1, 0.2, 0.7], True), (0, 1000, [600, 400], False),
    ):
        torch.manual_seed(seed)
        g = torch.Generator().manual_seed(seed + 100) if explicit else torch.default_generator
        subsets = random_split(range(n), lengths, generator=g)
        cases.append({
            "seed": seed, "n": n, "lengths": lengths, "explicit_generator_seed": seed + 100 if explicit else None,
            "subsets": [list(s.indices) for s in subsets],
            "next_rand": torch.rand(1).item(),
        })
    write_json("random-split.json", {"cases": cases})


# ---------------------------------------------------------------------------------------------
# MNIST


def read_idx(path):
    with gzip.open(path) as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def weighted_bits(x):
    """sum(bits(x[i]) * (i % 65521 + 1)) mod 2^64 over the flattened float32 tensor."""
    bits = x.contiguous().view(-1).numpy().view(np.uint32).astype(np.uint64)
    weights = (np.arange(bits.size, dtype=np.uint64) % np.uint64(65521)) + np.uint64(1)
    with np.errstate(over="ignore"):
        return int(np.sum(bits * weights, dtype=np.uint64))


def make_mnist():
    table = ((torch.arange(256, dtype=torch.uint8).float() / 255 - 0.1307) / 0.3081).tolist()
    sets = {}
    for name, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(os.path.join(REPO, "Data", "mnist", f"{prefix}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(REPO, "Data", "mnist", f"{prefix}-labels-idx1-ubyte.gz"))
        x = torch.from_numpy(images.copy()).float().unsqueeze(1)
        x = (x / 255 - 0.1307) / 0.3081
        sets[name] = {
            "count": int(x.shape[0]),
            "shape": list(x.shape),
            "labels_first": labels[:20].tolist(),
            "label_counts": np.bincount(labels, minlength=10).tolist(),
            "pixel_checksum": weighted_bits(x),
            "pixel_sum": x.double().sum().item(),
            "image0_row14": x[0, 0, 14].tolist(),
        }
    write_json("mnist.json", {"table": table, "sets": sets})


# ---------------------------------------------------------------------------------------------
# safetensors written by PyTorch


def pt_tensors():
    g = torch.Generator().manual_seed(5)
    return {
        "f32": torch.randn(3, 4, generator=g),
        "f64": torch.randn(5, generator=g, dtype=torch.float64),
        "i64": torch.tensor([1, -2, 2**40, -(2**62)], dtype=torch.int64),
        "bool": torch.tensor([[True, False], [False, True]]),
        "f16": torch.tensor([0.5, -2.0, 65504.0, 6e-8, 1 / 3, float("inf")], dtype=torch.float16),
        "bf16": torch.tensor([0.5, -2.0, 3e38, 1 / 3, -1e-30], dtype=torch.bfloat16),
        "i32": torch.tensor([7, -8, 2**31 - 1, -(2**31)], dtype=torch.int32),
        "i16": torch.tensor([[300, -300], [32767, -32768]], dtype=torch.int16),
        "i8": torch.tensor([127, -128, 0], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }


def value_record(t):
    conv = t.float() if t.dtype in (torch.float16, torch.bfloat16) else t
    if conv.dtype in (torch.int8, torch.int16, torch.int32, torch.uint8):
        conv = conv.long()
    flat = conv.reshape(-1).tolist()
    if conv.dtype == torch.bool:
        flat = [int(v) for v in flat]
    elif conv.dtype.is_floating_point:
        flat = [v if np.isfinite(v) else repr(v) for v in flat]  # "inf", "-inf", "nan" as strings
    return {"dtype": str(t.dtype).split(".")[-1], "shape": list(t.shape), "values": flat}


def mlp():
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2),
                                torch.nn.BatchNorm1d(2))
    model(torch.randn(6, 4))  # one training step of BatchNorm: running stats and the count move
    return model


def ember_saved_expected():
    """What the Ember test saves as ember-saved.safetensors."""
    return {
        "weight": torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8,
        "bias": torch.tensor([0.5, -1.5, 2.25]),
        "steps": torch.tensor([1, -2, 2**40], dtype=torch.int64),
        "mask": torch.tensor([[True, False], [False, True]]),
        "double": torch.tensor([0.1, -1e300], dtype=torch.float64),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "layer.0.weight": torch.tensor([[1.0, -1.0]]),
    }


def make_pt_files():
    t = pt_tensors()
    save_file(t, os.path.join(HERE, "pt-dtypes.safetensors"), metadata={"format": "pt", "note": "dtypes"})
    model = mlp()
    sd = model.state_dict()
    save_file(sd, os.path.join(HERE, "pt-mlp.safetensors"), metadata={"format": "pt"})
    # the layout Ember's writer must reproduce byte for byte
    save_file(ember_saved_expected(), os.path.join(HERE, "pt-layout.safetensors"), metadata={"format": "pt"})
    write_json("pt-values.json", {
        "dtypes": {k: value_record(v) for k, v in t.items()},
        "mlp": {k: value_record(v) for k, v in sd.items()},
        "layout": {k: value_record(v) for k, v in ember_saved_expected().items()},
    })


# ---------------------------------------------------------------------------------------------
# malformed files


def header_file(header, data=b"", n=None, pad=True):
    h = header.encode() if isinstance(header, str) else header
    if pad:
        h += b" " * (-len(h) % 8)
    n = len(h) if n is None else n
    return struct.pack("<Q", n) + h + data


GOOD_HEADER = ('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
               '"b":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}}')
GOOD_DATA = struct.pack("<6f", 1, 2, 3, 4, 5, 6)


def malformed_files():
    good = header_file(GOOD_HEADER, GOOD_DATA)
    n = struct.unpack("<Q", good[:8])[0]
    flip = lambda b, i, bit: b[:i] + bytes([b[i] ^ (1 << bit)]) + b[i + 1:]
    first_brace = 8
    first_quote = 9
    offset_digit = 8 + GOOD_HEADER.index("[0,8]") + 3  # the "8" ending a's offsets
    return [
        ("empty", b"", "headerTooSmall"),
        ("short", good[:5], "headerTooSmall"),
        ("header-too-large", struct.pack("<Q", 100_000_001) + b"{}" + b" " * 6, "headerTooLarge"),
        ("header-length-past-end", struct.pack("<Q", n + 1000) + good[8:], "invalidHeaderLength"),
        ("truncated-header", good[:8 + n // 2], "invalidHeaderLength"),
        ("truncated-data", good[:-4], "truncated"),
        ("trailing-bytes", good + b"\x00", "trailingBytes"),
        ("bitflip-utf8", flip(good, first_brace, 7), "invalidUTF8"),
        ("bitflip-json", flip(good, first_quote, 0), "invalidJSON"),
        ("bitflip-offset", flip(good, offset_digit, 0), "sizeMismatch"),
        ("overlapping-offsets", header_file(GOOD_HEADER.replace("[8,24]", "[4,20]"), GOOD_DATA[:20]),
         "invalidOffset"),
        ("gap-offsets", header_file(GOOD_HEADER.replace("[8,24]", "[12,28]"), GOOD_DATA + b"\0" * 4),
         "invalidOffset"),
        ("end-before-begin", header_file(GOOD_HEADER.replace("[0,8]", "[0,8]").replace("[8,24]", "[8,4]"),
                                         GOOD_DATA[:8]), "invalidOffset"),
        ("size-mismatch", header_file(GOOD_HEADER.replace('"shape":[2]', '"shape":[3]'), GOOD_DATA),
         "sizeMismatch"),
        ("unknown-dtype", header_file(GOOD_HEADER.replace('"F32","shape":[2]', '"F31","shape":[2]'), GOOD_DATA),
         "unknownDType"),
        ("duplicate-key", header_file(
            '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', GOOD_DATA[:8]), "duplicateName"),
        ("duplicate-key-different-offsets", header_file(GOOD_HEADER.replace('"b"', '"a"'), GOOD_DATA),
         "duplicateName"),
        ("offset-out-of-bounds", header_file(
            '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            '"b":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[8,4398046511112]}}',
            GOOD_DATA), "truncated"),
        ("size-overflow", header_file(
            '{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', GOOD_DATA[:8]),
         "overflow"),
        ("negative-shape", header_file(GOOD_HEADER.replace('"shape":[2]', '"shape":[-2]'), GOOD_DATA),
         "invalidTensorInfo"),
        ("missing-field", header_file(GOOD_HEADER.replace('"shape":[2],', ''), GOOD_DATA),
         "invalidTensorInfo"),
        ("metadata-not-string", header_file('{"__metadata__":{"format":3},' + GOOD_HEADER[1:], GOOD_DATA),
         "invalidHeader"),
        ("not-an-object", header_file("[1,2]"), "invalidHeader"),
        ("deep-nesting", header_file('{"a":' + "[" * 10000 + "]" * 10000 + "}"), "invalidJSON"),
        ("zero-length-header", struct.pack("<Q", 0), "invalidJSON"),
        # added with the fuzzers (docs/reliability.md)
        ("header-length-max", struct.pack("<Q", 2**64 - 1) + b"{}      ", "headerTooLarge"),
        ("offsets-sum-overflow", header_file(
            "{" + ",".join(f'"t{i:02}":{{"dtype":"U8","shape":[{2**59 - (i == 15)}],'
                           f'"data_offsets":[{i * 2**59},{(i + 1) * 2**59 - (i == 15)}]}}'
                           for i in range(16)) + "}", b"\0" * 8), "truncated"),
        ("zero-size-huge-dims", header_file(
            '{"a":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}'),
         "overflow"),
        ("dtype-size-mismatch", header_file(GOOD_HEADER.replace('"F32","shape":[2]', '"I64","shape":[2]'),
                                            GOOD_DATA), "sizeMismatch"),
        ("dtype-not-string", header_file(GOOD_HEADER.replace('"F32","shape":[2]', '32,"shape":[2]'),
                                         GOOD_DATA), "invalidTensorInfo"),
        ("dtype-lowercase", header_file(GOOD_HEADER.replace('"F32","shape":[2]', '"f32","shape":[2]'),
                                        GOOD_DATA), "unknownDType"),
        ("offsets-three-numbers", header_file(GOOD_HEADER.replace("[0,8]", "[0,4,8]"), GOOD_DATA),
         "invalidTensorInfo"),
        ("offsets-fraction", header_file(GOOD_HEADER.replace("[0,8]", "[0,8.0]"), GOOD_DATA),
         "invalidTensorInfo"),
        ("shape-not-array", header_file(GOOD_HEADER.replace('"shape":[2]', '"shape":2'), GOOD_DATA),
         "invalidTensorInfo"),
        ("metadata-duplicate-key", header_file(
            '{"__metadata__":{"format":"pt","format":"np"},' + GOOD_HEADER[1:], GOOD_DATA),
         "invalidHeader"),
    ]


def reference_verdict(path):
    try:
        load_file(path)
        return "accepted"
    except Exception as e:  # the reference reader's message
        return f"{type(e).__name__}: {e}"


def make_malformed():
    folder = os.path.join(HERE, "malformed")
    os.makedirs(folder, exist_ok=True)
    cases = []
    for name, data, problem in malformed_files():
        path = os.path.join(folder, name + ".safetensors")
        with open(path, "wb") as f:
            f.write(data)
        cases.append({"file": name + ".safetensors", "problem": problem,
                      "reference": reference_verdict(path)})
    write_json(os.path.join("malformed", "cases.json"), {"cases": cases})


# ---------------------------------------------------------------------------------------------
# gzip streams of each kind (stored, fixed and dynamic Huffman blocks, several members, FNAME)


def make_gzip():
    import zlib
    folder = os.path.join(HERE, "gzip")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    text = b"Ember reads gzip without zlib. " * 3
    noisy = bytes(rng.integers(0, 4, 70000, dtype=np.uint8)) + bytes(5000) + text * 50
    streams = {
        "fixed": gzip.compress(b"hello, hello, hello gzip", mtime=0),
        "stored": gzip.compress(noisy, compresslevel=0, mtime=0),
        "dynamic": gzip.compress(noisy, compresslevel=9, mtime=0),
        "members": gzip.compress(text, mtime=0) + gzip.compress(noisy[:1000], mtime=0),
    }
    import io
    buf = io.BytesIO()
    with gzip.GzipFile(filename="named.bin", mode="wb", fileobj=buf, mtime=0) as f:
        f.write(text)
    streams["fname"] = buf.getvalue()
    cases = []
    for name, data in streams.items():
        with open(os.path.join(folder, name + ".gz"), "wb") as f:
            f.write(data)
        raw = gzip.decompress(data)
        cases.append({"file": name + ".gz", "length": len(raw), "crc32": zlib.crc32(raw),
                      "first": list(raw[:16])})
    write_json(os.path.join("gzip", "cases.json"), {"cases": cases})


# ---------------------------------------------------------------------------------------------
# verification of files Ember saved


def verify(path):
    got = load_file(path)
    expected = ember_saved_expected()
    assert list(got.keys()) == list(load_file(os.path.join(HERE, "pt-layout.safetensors")).keys())
    assert set(got) == set(expected), (set(got), set(expected))
    for k, v in expected.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape and torch.equal(got[k], v), k
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        assert f.metadata() == {"format": "pt"}, f.metadata()
    tmp = path + ".pt-check"
    save_file(expected, tmp, metadata={"format": "pt"})
    same = open(tmp, "rb").read() == open(path, "rb").read()
    os.remove(tmp)
    assert same, "Ember's bytes differ from save_file's"
    print(f"OK: {path} loads in PyTorch with identical values, metadata and bytes")


def verify_mlp(path):
    model = mlp()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    for p in model.parameters():
        p.data.zero_()
    for b in model.buffers():
        b.data.zero_()
    model.load_state_dict(load_file(path), strict=True)
    for k, v in model.state_dict().items():
        assert torch.equal(v, reference[k]), k
    print(f"OK: {path} loads into nn.Sequential with load_state_dict(strict=True), values equal")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        verify(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--verify-mlp":
        verify_mlp(sys.argv[2])
    else:
        assert torch.__version__.startswith("2.15"), torch.__version__
        make_loader_cases()
        make_random_split()
        make_mnist()
        make_pt_files()
        make_malformed()
        make_gzip()
        print("fixtures written to", HERE)
