"""What the fence costs a grading: the same check with the sandbox's fence on and off.

Grades a topic's reference in this process (as `nnfs watch` and a notebook kernel do, so
Python and pytest start-up do not blur the difference), alternating between the normal
worker (kernel fence: Landlock + seccomp, then the audit hook) and a worker with both
layers off, and reports the medians. The target (issue 20) is <= 10% slower.
Run: python benchmarks/fence_cost.py [--runs 7] [--topic T ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading import prestart
from nnfs_cli.grading.runner import grade
from nnfs_cli.sandbox.client import SandboxConfig


def unfenced(**kwargs) -> SandboxConfig:
    return SandboxConfig(**kwargs, kernel=False, audit_hook=False)


def seconds(topic, fenced: bool) -> float:
    prestart.SandboxConfig = SandboxConfig if fenced else unfenced
    try:
        started = time.perf_counter()
        result = grade(topic, topic.solution_path, in_process=True)
        took = time.perf_counter() - started
    finally:
        prestart.SandboxConfig = SandboxConfig
    assert result.passed, f"{topic.id}: the reference failed ({'fenced' if fenced else 'unfenced'})"
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--topic", action="append",
                        help="default: perceptron-theory (NumPy), backprop, lstm, transformer (torch in the worker)")  # fmt: skip
    args = parser.parse_args()
    catalog = load_catalog()
    ids = args.topic or ["perceptron-theory", "backprop", "lstm", "transformer"]
    print("| topic | fenced (s) | unfenced (s) | cost |")
    print("|---|---:|---:|---:|")
    for topic in (catalog.get(i) for i in ids):
        seconds(topic, True)  # warm this process's imports and caches once
        on, off = [], []
        for _ in range(args.runs):  # alternate, so drift in the machine's load hits both
            on.append(seconds(topic, True))
            off.append(seconds(topic, False))
        a, b = statistics.median(on), statistics.median(off)
        print(f"| {topic.id} | {a:.2f} | {b:.2f} | {100 * (a - b) / b:+.1f}% |", flush=True)


if __name__ == "__main__":
    main()
