#!/usr/bin/env python3
"""Makes the bad-input corpus (Fixtures/bad-input) with PyTorch 2.15 and safetensors 0.8.0.

    python3 make_bad_input.py

- idx/: IDX files (raw and gzipped) with a wrong magic, an unknown type code, dimensions whose
  product overflows or exceeds the file, a truncated gzip stream, a bad CRC-32 or ISIZE, trailing
  garbage, zero dimensions, a gzip "bomb"; idx/cases.json names each one's problem.
- statedict/: state dicts of nn.Sequential(Linear(4, 3), ReLU(), Linear(3, 2)) with a missing,
  an unexpected, a wrongly shaped key, or other dtypes; statedict/cases.json holds what
  PyTorch's load_state_dict(strict=True) says, and the state it leaves when it accepts.
- checkpoint/: good.safetensors is a checkpoint Ember wrote (`ember-fuzz-checkpoint
  --write-seeds`, mode byte dropped) of the fuzzers' training setup; the others are it with bad
  metadata or tensors; checkpoint/cases.json says at which stage Ember must refuse each and
  what the message says.
- safetensors-bitflips.json: which single-bit flips of pt-mlp.safetensors' length and header
  the reference reader still accepts.
"""

import gzip
import json
import os
import struct
import zlib

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad-input")


def write(folder, name, data):
    with open(os.path.join(HERE, folder, name), "wb") as f:
        f.write(data)


def write_cases(folder, cases):
    with open(os.path.join(HERE, folder, "cases.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)


# ---------------------------------------------------------------------------------------------
# IDX


def idx(t, dims, payload=b""):
    return bytes([0, 0, t, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def make_idx():
    good = idx(8, [3, 2, 2], bytes(range(12)))
    gz = gzip.compress(good, mtime=0)
    bad_crc = gz[:-8] + bytes([gz[-8] ^ 1]) + gz[-7:]
    bad_isize = gz[:-4] + bytes([gz[-4] ^ 1]) + gz[-3:]
    cases = [
        ("wrong-magic.idx", b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00", "badMagic"),
        ("wrong-dtype-code.idx", idx(0x07, [1], b"\x00"), "unknownType"),
        ("dims-overflow.idx", idx(8, [0xFFFFFFFF] * 3, b"\x01\x02"), "sizeOverflow"),
        ("dims-overflow-with-zero.idx", idx(8, [0] + [0xFFFFFFFF] * 3), "sizeOverflow"),
        ("dims-exceed-file.idx", idx(0x0E, [60000, 28, 28], b"\x01\x02\x03"), "truncated"),
        ("claims-2e40-elements.idx", idx(0x0D, [1 << 20, 1 << 20], b"\x00" * 16), "truncated"),
        ("header-truncated.idx", idx(8, [3, 2, 2])[:10], "headerTruncated"),
        ("too-short.idx", b"\x00\x00", "headerTruncated"),
        ("trailing-garbage.idx", good + b"\xde\xad", "trailingBytes"),
        ("zero-dims-no-data.idx", idx(8, []), "truncated"),
        ("zero-dims-two-bytes.idx", idx(8, [], b"\x01\x02"), "trailingBytes"),
        ("truncated.idx.gz", gz[: len(gz) // 2], "gzip"),
        ("truncated-trailer.idx.gz", gz[:-3], "gzip"),
        ("bad-crc.idx.gz", bad_crc, "gzip"),
        ("bad-isize.idx.gz", bad_isize, "gzip"),
        ("trailing-garbage.idx.gz", gz + b"\x00\x01\x02", "gzip"),
        ("dims-exceed-file.idx.gz", gzip.compress(idx(8, [1 << 20, 1 << 20], b"\x05" * 64), mtime=0),
         "truncated"),
        # 4 bytes of header describe 10 elements; the stream inflates to 16 MB of zeros
        ("bomb.idx.gz", gzip.compress(idx(8, [10]) + bytes(16 << 20), compresslevel=9, mtime=0),
         "inflatesTooLarge"),
        ("gzip-trailing-byte-in-data.idx.gz", gzip.compress(good + b"\x00", mtime=0), "trailingBytes"),
    ]
    out = []
    for name, data, problem in cases:
        write("idx", name, data)
        out.append({"file": name, "problem": problem})
    write_cases("idx", out)


# ---------------------------------------------------------------------------------------------
# state dicts that do not fit their model


def mlp():
    torch.manual_seed(5)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))


def pytorch_verdict(sd):
    model = mlp()
    for p in model.parameters():
        p.data.fill_(0.25)
    try:
        model.load_state_dict(sd, strict=True)
    except Exception as e:
        return {"accepted": False, "message": f"{type(e).__name__}: {e}"}
    return {"accepted": True,
            "state": {k: v.double().flatten().tolist() for k, v in model.state_dict().items()}}


def make_statedict():
    base = mlp().state_dict()
    variants = {
        "missing-key": {k: v for k, v in base.items() if k != "2.bias"},
        "unexpected-key": {**base, "4.weight": torch.ones(2, 2)},
        "wrong-shape": {**base, "0.weight": base["0.weight"].t().contiguous()},
        "missing-and-wrong-shape": {**{k: v for k, v in base.items() if k != "0.bias"},
                                    "2.weight": torch.zeros(3, 3)},
        "wrong-dtype-f64": {k: v.double() for k, v in base.items()},
        "wrong-dtype-f16": {k: v.half() for k, v in base.items()},
        "wrong-dtype-i64": {k: (v * 10).long() for k, v in base.items()},
        "wrong-dtype-bool": {k: v > 0 for k, v in base.items()},
    }
    cases = []
    for name, sd in variants.items():
        path = os.path.join(HERE, "statedict", name + ".safetensors")
        save_file(sd, path, metadata={"format": "pt"})
        cases.append({"file": name + ".safetensors", **pytorch_verdict(load_file(path))})
    write_cases("statedict", cases)


# ---------------------------------------------------------------------------------------------
# checkpoints with bad metadata


def read_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    tensors = load_file(path)
    return meta, tensors


def make_checkpoint():
    good = os.path.join(HERE, "checkpoint", "good.safetensors")
    meta, tensors = read_st(good)
    opt = json.loads(meta["optimizer"])

    def with_opt(**changes):
        o = json.loads(meta["optimizer"])
        o["param_groups"][0].update(changes)
        return json.dumps(o)

    def m(**kv):
        out = dict(meta)
        for k, v in kv.items():
            if v is None:
                out.pop(k.replace("_", "."), None)
            else:
                out[k.replace("_", ".")] = v
        return out

    t = dict(tensors)
    no_words = {k: v for k, v in t.items() if k != "generator.words"}
    big_words = {**t, "generator.words": t["generator.words"].clone()}
    big_words["generator.words"][5] = 1 << 33
    cases = [
        # (name, metadata, tensors, stage, message)
        ("no-marker", m(ember_checkpoint=None), t, "load", "not an Ember training checkpoint"),
        ("version-2", m(ember_checkpoint="2"), t, "load", "version"),
        ("epoch-not-a-number", m(epoch="one"), t, "load", "epoch or step"),
        ("step-missing", {k: v for k, v in meta.items() if k != "step"}, t, "load", "epoch or step"),
        ("epoch-negative", m(epoch="-1"), t, "load", "epoch or step"),
        ("optimizer-json-invalid", {**meta, "optimizer": "{\"format\":"}, t, "load",
         "optimizer state is unreadable"),
        ("optimizer-format-unknown", {**meta, "optimizer": meta["optimizer"].replace(
            "ember.optimizer.v1", "ember.optimizer.v9")}, t, "load", "unknown format"),
        ("optimizer-lr-list", {**meta, "optimizer": with_opt(lr=[0.1, 0.2])}, t, "restore",
         "\"lr\""),
        ("optimizer-betas-one", {**meta, "optimizer": with_opt(betas=[0.9])}, t, "restore",
         "\"betas\""),
        ("optimizer-is-sgd", {**meta, "optimizer": json.dumps({**opt, "optimizer": "SGD"})}, t,
         "restore", "SGD"),
        ("optimizer-step-fraction", meta, {**t, "optimizer.state.0.weight.step": torch.tensor(1.5)},
         "restore", "not a step count"),
        ("optimizer-step-huge", meta,
         {**t, "optimizer.state.0.bias.step": torch.tensor(1 << 62, dtype=torch.int64)},
         "restore", "not a step count"),
        ("optimizer-state-wrong-shape", meta,
         {**t, "optimizer.state.0.weight.exp_avg": torch.zeros(3, 2)}, "restore", "saved shape"),
        ("optimizer-bad-key", meta, {**t, "optimizer.junk": torch.zeros(1)}, "restore",
         "state.<parameter>.<field>"),
        ("scheduler-json-invalid", {**meta, "scheduler": "[1,"}, t, "load", "scheduler state"),
        ("scheduler-missing-key", {**meta, "scheduler": json.dumps({"last_epoch": 2})}, t,
         "restore", "scheduler"),
        ("generator-json-invalid", {**meta, "generator": "{}"}, t, "load", "generator state"),
        ("generator-out-of-range", {**meta, "generator": json.dumps({"left": 1, "next": 700,
                                                                       "seed": 3})}, t, "load",
         "generator state"),
        ("generator-words-missing", meta, no_words, "load", "generator state"),
        ("generator-words-wrong-dtype", meta, {**t, "generator.words": t["generator.words"].float()},
         "load", "generator state"),
        ("generator-words-not-32-bit", meta, big_words, "load", "32-bit"),
        ("unexpected-tensor", meta, {**t, "other.x": torch.zeros(1)}, "load", "unexpected tensor"),
        ("model-wrong-shape", meta, {**t, "model.0.weight": torch.zeros(3, 2)}, "restore",
         "size mismatch"),
        ("model-missing-key", meta, {k: v for k, v in t.items() if k != "model.1.bias"}, "restore",
         "Missing key"),
        ("model-unexpected-key", meta, {**t, "model.2.weight": torch.zeros(1)}, "restore",
         "Unexpected key"),
    ]
    out = []
    for name, md, ts, stage, message in cases:
        path = os.path.join(HERE, "checkpoint", name + ".safetensors")
        save_file({k: v.contiguous() for k, v in ts.items()}, path, metadata=md)
        out.append({"file": name + ".safetensors", "stage": stage, "message": message})
    data = open(good, "rb").read()
    write("checkpoint", "truncated.safetensors", data[:-10])
    out.append({"file": "truncated.safetensors", "stage": "load", "message": "truncated"})
    write_cases("checkpoint", out)


# ---------------------------------------------------------------------------------------------
# every single-bit flip in the length and header of a PyTorch-written file, with the reference
# reader's verdict


def make_bitflips():
    path = os.path.join(HERE, "..", "pt-mlp.safetensors")
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    accepted = []
    tmp = os.path.join(HERE, "flip.tmp")
    for bit in range((8 + n) * 8):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with open(tmp, "wb") as f:
            f.write(flipped)
        try:
            load_file(tmp)
            accepted.append(bit)
        except Exception:
            pass
    os.remove(tmp)
    with open(os.path.join(HERE, "safetensors-bitflips.json"), "w") as f:
        json.dump({"file": "pt-mlp.safetensors", "bits": (8 + n) * 8, "accepted": accepted}, f)


if __name__ == "__main__":
    assert torch.__version__.startswith("2.15"), torch.__version__
    make_idx()
    make_statedict()
    make_checkpoint()
    make_bitflips()
    print("bad-input corpus written to", HERE)
