"""Reference draws of numpy's legacy RandomState for ember-bench's port of it
(Benchmarks/EmberBench/NumPyRandomState.swift), and checksums of every array common.py draws for
the benchmarks. Prints one JSON line of decimal strings; `ember-bench randomcheck` runs this and
compares Ember's values bit for bit.

Checksums: sum over i of bits(x_i) * (i + 1) mod 2^64, bits = the float32 bit pattern (uint32) or
the int64 value (two's complement), i = row-major position."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402  (pins threads; its data helpers are what is checked)
import numpy as np  # noqa: E402


def bits64(a):
    return [str(int(v)) for v in np.asarray(a, dtype=np.float64).view(np.uint64)]


def ints(a):
    return [str(int(v)) for v in np.asarray(a, dtype=np.int64)]


def checksum(a):
    a = np.ascontiguousarray(a)
    if a.dtype == np.float32:
        b = a.view(np.uint32).astype(np.uint64).ravel()
    else:
        b = a.astype(np.int64).view(np.uint64).ravel()
    w = np.arange(1, b.size + 1, dtype=np.uint64)
    return str(int(np.sum(b * w, dtype=np.uint64)))


out = {}
r = np.random.RandomState(0)
out["random_sample_seed0"] = bits64(r.random_sample(8))
r = np.random.RandomState(1)
out["randn7_then_sample_seed1"] = bits64(np.concatenate([r.randn(7), r.random_sample(1)]))
r = np.random.RandomState(4294967295)
out["uniform_seed_max"] = bits64(r.uniform(-0.5, 0.5, 5))
r = np.random.RandomState(2)
out["randint_0_10_seed2"] = ints(r.randint(0, 10, 50))
out["randint_3_1000_seed2_next"] = ints(r.randint(3, 1000, 20))
out["permutation20_seed1000"] = ints(np.random.RandomState(1000).permutation(20))
for i, p in enumerate(C.mlp_init()):
    out[f"mlp_init_{i}"] = checksum(p)
for i, p in enumerate(C.cnn_init()):
    out[f"cnn_init_{i}"] = checksum(p)
x, y = C.mlp_batch()
out["mlp_batch_x"], out["mlp_batch_y"] = checksum(x), checksum(y)
x, y = C.cnn_batch()
out["cnn_batch_x"], out["cnn_batch_y"] = checksum(x), checksum(y)
for ep in range(C.MNIST_EPOCHS):
    out[f"mnist_epoch_{ep}"] = checksum(np.concatenate(C.mnist_epoch_batches(ep)))
print(json.dumps(out))
