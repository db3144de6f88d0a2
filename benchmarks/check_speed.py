"""Median wall time of `nnfs check TOPIC --solution` per available topic (5 runs each).

Also the cost of an empty Python process and of `import numpy`, for comparison.
Run: python benchmarks/check_speed.py [--runs 5] [--topic T ...]
Targets: Phase 1 <= 1.0 s; NumPy graders <= 2 s; graders that import torch <= 4 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from nnfs_cli.catalog import load_catalog


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--topic", action="append", help="only these topics (default: all)")
    args = parser.parse_args()
    nnfs = shutil.which("nnfs") or sys.executable
    prefix = [nnfs] if nnfs.endswith("nnfs") else [sys.executable, "-m", "nnfs_cli"]
    rows = [("python -c pass", wall([sys.executable, "-c", "pass"], args.runs), ""),
            ("python -c 'import numpy'", wall([sys.executable, "-c", "import numpy"], args.runs), ""),
            ("python -c 'import torch'", wall([sys.executable, "-c", "import torch"], args.runs), "")]  # fmt: skip
    for topic in load_catalog().topics:
        if not topic.available or (args.topic and topic.id not in args.topic):
            continue
        target = 1.0 if topic.phase == 1 else 4.0 if topic.grader_torch else 2.0
        seconds = wall([*prefix, "check", topic.id, "--solution"], args.runs)
        rows.append(
            (
                f"nnfs check {topic.id} --solution",
                seconds,
                f"<= {target:g} s {'ok' if seconds <= target else 'OVER'}",
            )
        )
    print(f"| command | median of {args.runs} (s) | target |")
    print("|---|---:|---|")
    for name, seconds, target in rows:
        print(f"| `{name}` | {seconds:.2f} | {target} |")


if __name__ == "__main__":
    main()
