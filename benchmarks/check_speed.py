"""Median wall time of `nnfs check TOPIC --solution` per available topic, cold and warm.

Cold: every check starts its grading child from scratch (`NNFS_WARM_GRADER=0`). Warm: the
checks after the first are forked from the warm grader the first one started (the first
is not counted; the server is stopped at the end). Also the cost of an empty Python
process, of `import numpy` and of `import torch`, for comparison.
Run: python benchmarks/check_speed.py [--runs 5] [--topic T ...] [--cold-only | --warm-only]
Targets: NumPy graders <= 2 s (Phase 1: <= 8x `import numpy`); graders that import torch <= 4 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading import server


def wall(cmd: list[str], runs: int, env: dict | None = None) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def wait_for_server(cache: Path, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for sock in cache.rglob("*.sock"):
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(str(sock))
                return
            except OSError:
                pass
            finally:
                probe.close()
        time.sleep(0.1)
    raise SystemExit("the warm grader did not start")


def stop_servers(cache: Path) -> None:
    server.stop_all(str(cache))
    shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--topic", action="append", help="only these topics (default: all)")
    parser.add_argument("--cold-only", action="store_true")
    parser.add_argument("--warm-only", action="store_true")
    args = parser.parse_args()
    nnfs = shutil.which("nnfs") or sys.executable
    prefix = [nnfs] if nnfs.endswith("nnfs") else [sys.executable, "-m", "nnfs_cli"]
    numpy = wall([sys.executable, "-c", "import numpy"], args.runs)
    print(f"python -c pass: {wall([sys.executable, '-c', 'pass'], args.runs):.2f} s; "
          f"import numpy: {numpy:.2f} s; "
          f"import torch: {wall([sys.executable, '-c', 'import torch'], args.runs):.2f} s")  # fmt: skip
    cold_env = os.environ | {"NNFS_WARM_GRADER": "0"}
    cache = Path(tempfile.mkdtemp(prefix="nb"))  # short: a socket's path has a length limit
    warm_env = os.environ | {"NNFS_WARM_GRADER": "1", "XDG_CACHE_HOME": str(cache)}
    print(f"| topic | cold, median of {args.runs} (s) | warm (s) | target |")
    print("|---|---:|---:|---|")
    try:
        for topic in load_catalog().topics:
            if not topic.available or (args.topic and topic.id not in args.topic):
                continue
            cmd = [*prefix, "check", topic.id, "--solution"]
            cold = float("nan") if args.warm_only else wall(cmd, args.runs, cold_env)
            warm = float("nan")
            if not args.cold_only:
                wall(cmd, 1, warm_env)
                wait_for_server(cache)
                warm = wall(cmd, args.runs, warm_env)
            target = 4.0 if topic.grader_torch else 2.0
            extra = f" ({cold / numpy:.1f}x / {warm / numpy:.1f}x numpy)" if topic.phase == 1 else ""
            best = min(t for t in (cold, warm) if t == t)
            print(f"| {topic.id} | {cold:.2f} | {warm:.2f} | <= {target:g} s "
                  f"{'ok' if best <= target else 'OVER'}{extra} |", flush=True)  # fmt: skip
    finally:
        stop_servers(cache)


if __name__ == "__main__":
    main()
