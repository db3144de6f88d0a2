"""The reference's vectorised conv2d (forward, backward) against torch's CPU conv2d.

Input (16, 3, 32, 32), 16 filters of 3x3, stride 1, padding 1, float32 and float64; median
of --runs timings of --repeat calls each. torch's backward is autograd's (dx, dw, db) for a
given upstream gradient, as the reference's conv2d_backward computes them.
One thread on each side (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)): on a shared
2-core machine, idle BLAS threads spin and a two-thread timing measures the neighbours.
Run: python benchmarks/conv_speed.py [--runs 7] [--repeat 20]
Target: the reference within 10x torch, forward and backward.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads its BLAS
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from nnfs_cli.catalog import load_catalog


def load_reference():
    """The topic's solution module, imported from its file."""
    import importlib.util

    path = load_catalog().get("convolution").solution_path
    spec = importlib.util.spec_from_file_location("convolution_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median_seconds(fn, runs: int, repeat: int) -> float:
    fn()  # warm-up: first-call allocations and torch's kernel selection
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        times.append((time.perf_counter() - started) / repeat)
    return statistics.median(times)


def timed_calls(ref, dtype, tdtype):
    """(pass, reference call, torch call) for the forward and the backward, in one dtype."""
    geometry = ((1, 1), (1, 1), (1, 1))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 32, 32)).astype(dtype)
    w = rng.normal(size=(16, 3, 3, 3)).astype(dtype)
    b = rng.normal(size=16).astype(dtype)
    dout = rng.normal(size=(16, 16, 32, 32)).astype(dtype)
    xt, wt, bt = (torch.tensor(a, dtype=tdtype, requires_grad=True) for a in (x, w, b))
    dt = torch.tensor(dout, dtype=tdtype)
    out_t = torch.nn.functional.conv2d(xt, wt, bt, 1, 1, 1)

    def torch_forward():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, wt, bt, 1, 1, 1)

    def torch_backward():
        torch.autograd.grad(out_t, (xt, wt, bt), dt, retain_graph=True)

    return [
        ("forward", lambda: ref.conv2d(x, w, b, *geometry), torch_forward),
        ("backward", lambda: ref.conv2d_backward(dout, x, w, *geometry), torch_backward),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    ref = load_reference()
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print("| dtype | pass | reference (ms) | torch (ms) | ratio |")
    print("|---|---|---:|---:|---:|")
    for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        for name, ours, theirs in timed_calls(ref, dtype, tdtype):
            a = median_seconds(ours, args.runs, args.repeat)
            t = median_seconds(theirs, args.runs, args.repeat)
            row = [np.dtype(dtype).name, name, f"{a * 1e3:.2f}", f"{t * 1e3:.2f}", f"{a / t:.1f}x"]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
