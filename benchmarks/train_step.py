"""Time one training step of the reference MLP against PyTorch and a GEMM-only bound.

What it measures
----------------
One training step of the course's reference MLP (``solutions``)::

    784 -> Linear 512 -> BatchNorm -> ReLU -> Dropout(0.2)
        -> Linear 256 -> BatchNorm -> ReLU -> Dropout(0.2)
        -> Linear 128 -> BatchNorm -> ReLU -> Dropout(0.2)
        -> Linear 10

on a float32 batch of 128 random inputs (x ~ N(0, 1), labels in 0..9), with
Adam and CrossEntropyLoss.  A step is::

    optimizer.zero_grad(); logits = model(x); loss = loss_fn(logits, y)
    model.backward(loss_fn.backward()); optimizer.step()

Three things are timed side by side, interleaved in one run (each round times
K steps of each, in a rotating order, after a warm-up), and the median and the
minimum per-step time over the rounds are reported:

* ``reference``  the NumPy reference (``solutions``), cast to float32;
* ``torch``      the same network in PyTorch on the CPU (nn.Sequential,
                 torch.optim.Adam, F.cross_entropy), float32;
* ``GEMM-only``  only the matrix products the reference step has to do, in
                 NumPy float32: x @ W forward, grad @ W.T and x.T @ grad
                 backward, for each of the 4 Linear layers.  The reference
                 step cannot be faster than this.

Both libraries get the same number of threads (``--threads``, default 1):
torch.set_num_threads(n), and NumPy's BLAS is limited to n through
threadpoolctl (and, as a fallback, through OPENBLAS/OMP/MKL_NUM_THREADS set
before NumPy is imported).  The BLAS configuration (threadpoolctl info and
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which are reported but never changed)
is printed so readers know which kernels ran.

The target is: reference step <= 1.5 x PyTorch's step (median).

Notes: GEMM-only runs with hot caches, so it is a bound, not an estimate.
PyTorch skips the input gradient of the first layer (x needs no grad); the
reference's Linear.backward always computes it, and GEMM-only counts it too.
With --threads equal to the core count, NumPy's idle OpenBLAS threads and
torch's idle OpenMP threads spin while the other library runs, so interleaved
multi-threaded numbers are noisy; the default of 1 thread avoids that.

How to run
----------
From the repository root::

    make bench
    # or
    .venv/bin/python benchmarks/train_step.py [--threads N] [--rounds R] [--steps K]

It takes well under a minute with the defaults.  ``--package NAME`` times
another importable copy of the reference (for before/after comparisons).
"""
import argparse
import os
import sys

TARGET_RATIO = 1.5
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
BLAS_KERNEL_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both NumPy's BLAS and torch (default 1)")
    parser.add_argument("--rounds", type=int, default=40, help="interleaved measurement rounds (default 40)")
    parser.add_argument("--steps", type=int, default=10, help="steps per variant per round (default 10)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed warm-up steps per variant (default 20)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--package", default="solutions", help="module providing the reference layers (default solutions)")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.rounds < 1 or args.steps < 1 or args.warmup < 0 or args.batch < 2:
        parser.error("--threads, --rounds, --steps must be >= 1, --warmup >= 0, --batch >= 2")
    return args


ARGS = parse_args()
# Must happen before NumPy (or torch) is imported: BLAS pools are sized at load time.
# threadpoolctl below is the primary mechanism; this is the fallback.
for _name in BLAS_THREAD_VARS:
    os.environ[_name] = str(ARGS.threads)

import gc  # noqa: E402
import importlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

try:
    import threadpoolctl
except ImportError:  # pragma: no cover - the venv ships it, but stay usable without
    threadpoolctl = None

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = (784, 512, 256, 128, 10)
NUM_CLASSES = SIZES[-1]
DROPOUT = 0.2


# --------------------------------------------------------------------------- reference (NumPy)

def build_reference(ref):
    layers = []
    for fan_in, fan_out in zip(SIZES[:-2], SIZES[1:-1]):
        layers += [ref.Linear(fan_in, fan_out), ref.BatchNorm(fan_out), ref.ReLU(), ref.Dropout(DROPOUT)]
    layers.append(ref.Linear(SIZES[-2], SIZES[-1]))
    return ref.Sequential(*layers)


def cast_to_float32(model):
    """Replace every floating ndarray attribute of each layer by a float32 copy.

    Must run before the optimizer's first step (Adam allocates its state like
    the parameters) and before any forward, so no cached activations exist yet.
    """
    for layer in model.layers:
        for name, value in vars(layer).items():
            if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
                setattr(layer, name, value.astype(np.float32))
    return model


def reference_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    logits = model(x)
    loss = loss_fn(logits, y)
    model.backward(loss_fn.backward())
    optimizer.step()
    return logits, loss


def check_float32(model, loss_fn, optimizer, x, y):
    """One step, then assert everything stayed float32; name the layer that upcasts if not."""
    logits, _ = reference_step(model, loss_fn, optimizer, x, y)
    problems = []
    # Walk forward and backward once more, layer by layer, to pin down an upcast:
    # report each layer that turns a float32 input into something else.
    h = x
    for i, layer in enumerate(model.layers):
        h_in, h = h, layer.forward(h)
        if h_in.dtype == np.float32 and h.dtype != np.float32:
            problems.append(f"layer {i} {type(layer).__name__}.forward: float32 in, {h.dtype} out")
    loss_fn(h, y)
    g = loss_fn.backward()
    if h.dtype == np.float32 and g.dtype != np.float32:
        problems.append(f"{type(loss_fn).__name__}.backward: float32 logits, {g.dtype} gradient")
    for i in reversed(range(len(model.layers))):
        layer = model.layers[i]
        g_in, g = g, layer.backward(g)
        if g_in.dtype == np.float32 and g.dtype != np.float32:
            problems.append(f"layer {i} {type(layer).__name__}.backward: float32 in, {g.dtype} out")
    model.zero_grad()
    if logits.dtype != np.float32:
        problems.append(f"logits are {logits.dtype}")
    for i, layer in enumerate(model.layers):
        for name, value in vars(layer).items():
            if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating) and value.dtype != np.float32:
                problems.append(f"layer {i} {type(layer).__name__}.{name} is {value.dtype}")
    for name in ("m", "v"):
        for j, state in enumerate(getattr(optimizer, name, None) or []):
            if state.dtype != np.float32:
                problems.append(f"{type(optimizer).__name__}.{name}[{j}] is {state.dtype}")
    assert not problems, "reference is not float32 throughout:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- PyTorch

def build_torch(reference_model):
    layers = []
    for fan_in, fan_out in zip(SIZES[:-2], SIZES[1:-1]):
        layers += [nn.Linear(fan_in, fan_out), nn.BatchNorm1d(fan_out), nn.ReLU(), nn.Dropout(DROPOUT)]
    layers.append(nn.Linear(SIZES[-2], SIZES[-1]))
    model = nn.Sequential(*layers).float().train()
    # Same starting weights as the reference (torch stores weight as (out, in)).
    with torch.no_grad():
        for ours, theirs in zip(reference_model.layers, model):
            if isinstance(theirs, nn.Linear):
                theirs.weight.copy_(torch.from_numpy(np.ascontiguousarray(ours.weight.T)))
                theirs.bias.copy_(torch.from_numpy(ours.bias))
    return model


def torch_step(model, optimizer, x, y):
    optimizer.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    optimizer.step()
    return logits, loss


# --------------------------------------------------------------------------- GEMM-only bound

def make_gemm_step(x, weights, batch, rng):
    # Inputs of each Linear (x, then hidden activations) and upstream gradients:
    # finite random data, so no NaN/inf or denormals reach the kernels.
    acts = [x] + [rng.standard_normal((batch, w.shape[0]), dtype=np.float32) for w in weights[1:]]
    grads = [rng.standard_normal((batch, w.shape[1]), dtype=np.float32) * 1e-2 for w in weights]

    def step():
        h = x
        for w in weights:
            h = h @ w                      # forward: (N, in) @ (in, out)
        for a, w, g in zip(acts, weights, grads):
            a.T @ g                        # grad_weight: (in, N) @ (N, out)
            g @ w.T                        # grad_input:  (N, out) @ (out, in)
        return h

    return step


def gemm_flops(batch):
    return 3 * 2 * batch * sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:]))


# --------------------------------------------------------------------------- measurement

def time_block(fn, steps):
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - start) / steps
    finally:
        gc.enable()


def measure(variants, rounds, steps, warmup):
    for fn in variants.values():
        for _ in range(warmup):
            fn()
    names = list(variants)
    samples = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate to spread drift evenly
        for name in order:
            samples[name].append(time_block(variants[name], steps))
    return samples


def describe_environment(args):
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}")
    print(f"threads: {args.threads} (torch.get_num_threads() = {torch.get_num_threads()}, "
          f"os.cpu_count() = {os.cpu_count()})")
    for name in BLAS_KERNEL_VARS + BLAS_THREAD_VARS:
        print(f"  {name} = {os.environ.get(name, '<unset>')}")
    if threadpoolctl is not None:
        print("threadpoolctl:")
        for pool in threadpoolctl.threadpool_info():
            extra = {k: pool.get(k) for k in ("version", "architecture", "threading_layer") if pool.get(k)}
            print(f"  {pool['user_api']:6s} {pool['internal_api']:8s} num_threads={pool['num_threads']} "
                  f"{' '.join(f'{k}={v}' for k, v in extra.items())}  ({Path(pool['filepath']).name})")
    else:
        print("threadpoolctl not installed; numpy BLAS config:")
        np.show_config()
    print(f"torch: mkldnn enabled={torch.backends.mkldnn.is_available()}, "
          f"mkl={torch.backends.mkl.is_available()}")


def main(args):
    torch.set_num_threads(args.threads)
    limiter = threadpoolctl.threadpool_limits(limits=args.threads) if threadpoolctl else None
    try:
        run(args)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()


def run(args):
    ref = importlib.import_module(args.package)
    describe_environment(args)
    print(f"reference package: {args.package} ({Path(ref.__file__).parent})")

    np.random.seed(args.seed)  # the reference draws its init and dropout masks from the global RNG
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    batch = args.batch
    x = rng.standard_normal((batch, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, NUM_CLASSES, size=batch)

    # Reference, float32.
    model = cast_to_float32(build_reference(ref)).train()
    loss_fn = ref.CrossEntropyLoss()
    optimizer = ref.Adam(model, learning_rate=1e-3)
    check_float32(model, loss_fn, optimizer, x, y)
    print("float32 check: logits, parameters, gradients, running stats and Adam state are float32")

    # PyTorch, float32, same initial weights.
    tmodel = build_torch(model)
    toptimizer = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))
    tlogits, _ = torch_step(tmodel, toptimizer, tx, ty)
    assert tlogits.dtype == torch.float32

    # GEMM-only, float32, the reference's own weight shapes.
    weights = [layer.weight.copy() for layer in model.layers if isinstance(layer, ref.Linear)]
    gemm = make_gemm_step(x, weights, batch, rng)

    variants = {
        "reference": lambda: reference_step(model, loss_fn, optimizer, x, y),
        "torch": lambda: torch_step(tmodel, toptimizer, tx, ty),
        "GEMM-only": gemm,
    }
    start = time.perf_counter()
    samples = measure(variants, args.rounds, args.steps, args.warmup)
    elapsed = time.perf_counter() - start

    med = {k: statistics.median(v) for k, v in samples.items()}
    low = {k: min(v) for k, v in samples.items()}
    flops = gemm_flops(batch)
    print()
    print(f"MLP {'-'.join(map(str, SIZES))}, batch {batch}, float32, Adam + cross-entropy; "
          f"{args.rounds} rounds x {args.steps} steps, interleaved ({elapsed:.1f} s)")
    print(f"{'per step':<12}{'median ms':>11}{'min ms':>10}{'GEMM GFLOP/s':>14}")
    for name in variants:
        print(f"{name:<12}{med[name] * 1e3:>11.3f}{low[name] * 1e3:>10.3f}{flops / med[name] / 1e9:>14.1f}")
    print(f"{'ratio':<12}{'median':>11}{'min':>10}")
    for label, num, den in (("ref/torch", "reference", "torch"), ("ref/GEMM", "reference", "GEMM-only"),
                            ("torch/GEMM", "torch", "GEMM-only")):
        print(f"{label:<12}{med[num] / med[den]:>11.2f}{low[num] / low[den]:>10.2f}")
    ratio = med["reference"] / med["torch"]
    verdict = "MET" if ratio <= TARGET_RATIO else "NOT MET"
    print(f"target: reference step <= {TARGET_RATIO}x PyTorch's -> {verdict} "
          f"(median ratio {ratio:.2f}, min ratio {low['reference'] / low['torch']:.2f})")


if __name__ == "__main__":
    main(ARGS)
