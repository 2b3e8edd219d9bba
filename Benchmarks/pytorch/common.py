# The project's copy of ../../../shared/bench/common.py (the shared spec folder, /work/shared/bench),
# taken 2026-12-02; one change: MNIST_DIR defaults to the repository's Data/mnist instead of
# ../data/mnist beside the shared folder.
"""Shared helpers for the peer-library benchmarks (torch, jax, HIPS autograd, tinygrad, micrograd).

Import this module FIRST in every *_bench.py: it pins the thread count through the usual
environment variables before numpy / torch / jax are imported.

Environment knobs (all optional):
  PEER_THREADS            threads for BLAS/OpenMP/intra-op pools (default 2)
  PEER_OPENBLAS_NATIVE    1 = unset OPENBLAS_CORETYPE (let OpenBLAS pick its AVX-512 'SkylakeX'
                          kernels instead of the forced 'Haswell' AVX2 ones), default see below.
                          Only matters for numpy-based libraries (HIPS autograd).
  PEER_W1_ITERS           override the W1 loop length (default 20000)
  PEER_MNIST_DIR          MNIST directory (default ../data/mnist beside this folder)
  PEER_CACHE              where a decoded .npz copy of MNIST is cached (default: the temp dir)
"""
import os, sys, json, time, gzip, platform, statistics

THREADS = int(os.environ.get("PEER_THREADS", "2"))
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_v, str(THREADS))

ORIG_OPENBLAS = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def openblas_native(default: bool):
    """Decide (before numpy is imported) which OpenBLAS overrides are dropped for this process.
    PEER_OPENBLAS_NATIVE: 0 = keep OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE as set in the environment,
    1 = unset OPENBLAS_CORETYPE only (OPENBLAS_L2_SIZE kept), 2 = unset both."""
    mode = os.environ.get("PEER_OPENBLAS_NATIVE", "1" if default else "0")
    if mode in ("1", "2"):
        os.environ.pop("OPENBLAS_CORETYPE", None)
    if mode == "2":
        os.environ.pop("OPENBLAS_L2_SIZE", None)
    return mode


MNIST_DIR = os.environ.get("PEER_MNIST_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Data", "mnist"))
import tempfile
CACHE_DIR = os.environ.get("PEER_CACHE", os.path.join(tempfile.gettempdir(), "ember-bench-cache"))
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

# ---------------------------------------------------------------- hyper-parameters (shared)
W1_ITERS = int(os.environ.get("PEER_W1_ITERS", "20000"))
W1_REPEATS = 5
MLP_SIZES = (784, 512, 256, 10)
MLP_BATCH, MLP_WARMUP, MLP_STEPS, MLP_LR, MOMENTUM = 128, 10, 100, 0.01, 0.9
CNN_BATCH, CNN_WARMUP, CNN_STEPS, CNN_LR = 64, 5, 30, 0.01
MM_SIZES, MM_WARMUP, MM_ITERS = (1024, 256), 3, 20
MNIST_BATCH, MNIST_LR, MNIST_EPOCHS, SEED = 128, 0.05, 2, 0
EW_N, EW_WARMUP, EW_ITERS = 1000, 10, 200
LSTM_VOCAB, LSTM_HIDDEN, LSTM_SEQ, LSTM_BATCH, LSTM_LR, LSTM_WARMUP, LSTM_STEPS = 64, 256, 50, 32, 0.1, 3, 20


# ---------------------------------------------------------------- timing / noise helpers
def _proc_stat_busy():
    """(busy_seconds_all_cpus) from /proc/stat; USER_HZ = 100."""
    try:
        with open("/proc/stat") as f:
            p = f.readline().split()[1:]
        v = [int(x) for x in p]
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except Exception:
        return None


class LoadMonitor:
    """Measures how much CPU *other* processes used while we were timing (foreign load).

    foreign_cpu = (system busy CPU-seconds - our own CPU-seconds) / (wall * ncpu), in [0,1].
    0.0 = machine otherwise idle; 0.5 on a 2-core box = another process took a whole core."""

    def __init__(self):
        self.ncpu = os.cpu_count() or 1

    def __enter__(self):
        self.t0, self.b0, self.o0 = time.perf_counter(), _proc_stat_busy(), sum(os.times()[:2])
        return self

    def __exit__(self, *a):
        wall = time.perf_counter() - self.t0
        b1, o1 = _proc_stat_busy(), sum(os.times()[:2])
        if self.b0 is None or b1 is None or wall <= 0:
            self.foreign = None
        else:
            self.foreign = max(0.0, ((b1 - self.b0) - (o1 - self.o0)) / (wall * self.ncpu))
        self.wall = wall
        return False


def stats(xs):
    xs = sorted(xs)
    n = len(xs)
    q = lambda p: xs[min(n - 1, max(0, int(round(p * (n - 1)))))]
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "p10": q(0.1), "p90": q(0.9), "n": n}


def rnd(d, k=4):
    if isinstance(d, float):
        return float(f"{d:.{k}g}")
    if isinstance(d, dict):
        return {a: rnd(b, k) for a, b in d.items()}
    if isinstance(d, (list, tuple)):
        return [rnd(b, k) for b in d]
    return d


def emit(lib, version, workload, result, extra_env=None):
    """Print exactly one JSON line on stdout."""
    out = {"lib": lib, "version": version, "workload": workload}
    out.update(result)
    out["threads"] = THREADS
    out["env"] = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                 "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "XLA_FLAGS")
                  if os.environ.get(k) is not None}
    if extra_env:
        out["env"].update(extra_env)
    out["python"] = platform.python_version()
    out["loadavg1"] = round(os.getloadavg()[0], 2)
    out["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    print(json.dumps(rnd(out)), flush=True)


def run_main(lib, version_fn, workloads, extra_env_fn=None):
    if len(sys.argv) < 2 or sys.argv[1] not in workloads:
        print(f"usage: {sys.argv[0]} {{{'|'.join(workloads)}}}", file=sys.stderr)
        sys.exit(2)
    w = sys.argv[1]
    try:
        res = workloads[w]()
    except Exception as e:  # report, don't crash the harness
        import traceback
        traceback.print_exc(file=sys.stderr)
        res = {"status": "error", "reason": f"{type(e).__name__}: {e}"[:300]}
    res.setdefault("status", "ok")
    emit(lib, version_fn(), w, res, extra_env_fn() if extra_env_fn else None)


# ---------------------------------------------------------------- data / init (numpy, identical for all libraries)
def np_rng(seed):
    import numpy as np
    return np.random.RandomState(seed)


def mlp_init(seed=SEED, sizes=MLP_SIZES):
    """PyTorch-default-like init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W (in,out) and b (out,)."""
    import numpy as np
    r = np_rng(seed)
    ps = []
    for fi, fo in zip(sizes[:-1], sizes[1:]):
        k = 1.0 / np.sqrt(fi)
        ps.append(r.uniform(-k, k, (fi, fo)).astype(np.float32))
        ps.append(r.uniform(-k, k, (fo,)).astype(np.float32))
    return ps   # [W1 (784,512), b1, W2 (512,256), b2, W3 (256,10), b3]


def cnn_init(seed=SEED):
    """conv weights (out,in,kh,kw); linear weights (in,out)."""
    import numpy as np
    r = np_rng(seed)
    def u(shape, fan_in):
        k = 1.0 / np.sqrt(fan_in)
        return r.uniform(-k, k, shape).astype(np.float32)
    return [u((32, 1, 3, 3), 9), u((32,), 9), u((64, 32, 3, 3), 288), u((64,), 288),
            u((3136, 128), 3136), u((128,), 3136), u((128, 10), 128), u((10,), 128)]


def mlp_batch(seed=1):
    r = np_rng(seed)
    import numpy as np
    return r.randn(MLP_BATCH, 784).astype(np.float32), r.randint(0, 10, MLP_BATCH).astype(np.int64)


def cnn_batch(seed=2):
    r = np_rng(seed)
    import numpy as np
    return r.randn(CNN_BATCH, 1, 28, 28).astype(np.float32), r.randint(0, 10, CNN_BATCH).astype(np.int64)


def _read_idx(path):
    import numpy as np
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist():
    """Returns (Xtr (60000,784) f32 normalized, ytr int64, Xte (10000,784), yte)."""
    import numpy as np
    cache = os.path.join(CACHE_DIR, "mnist_norm.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return z["xtr"], z["ytr"], z["xte"], z["yte"]
    def prep(x):
        return ((x.reshape(x.shape[0], -1).astype(np.float32) / 255.0 - MNIST_MEAN) / MNIST_STD).astype(np.float32)
    xtr = prep(_read_idx(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")))
    ytr = _read_idx(os.path.join(MNIST_DIR, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xte = prep(_read_idx(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")))
    yte = _read_idx(os.path.join(MNIST_DIR, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    try:
        os.makedirs(CACHE_DIR, exist_ok=True)
        np.savez(cache + ".tmp.npz", xtr=xtr, ytr=ytr, xte=xte, yte=yte)
        os.replace(cache + ".tmp.npz", cache)
    except OSError:
        pass
    return xtr, ytr, xte, yte


def mnist_epoch_batches(epoch, n=60000, bs=MNIST_BATCH, seed=SEED):
    """Same shuffled order for every library: numpy RandomState(seed+epoch) permutation, drop_last."""
    perm = np_rng(seed + 1000 + epoch).permutation(n)
    nb = n // bs
    return [perm[i * bs:(i + 1) * bs] for i in range(nb)]
