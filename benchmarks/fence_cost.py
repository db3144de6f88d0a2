"""What the fence costs a grading: the same check with the sandbox's fence on and off.

Grades a topic's reference in this process (as `nnfs watch` and a notebook kernel do, so
Python and pytest start-up do not blur the difference), alternating between the normal
worker (kernel fence: Landlock + seccomp, then the audit hook) and a worker with both
layers off, and reports the medians. The target (issue 20) is <= 10% slower.
Workers fork from zygotes, as the warm grader's do (the path of every `nnfs check` after
the first); `--spawned` starts each worker afresh, importing torch under the fence.
Run: python benchmarks/fence_cost.py [--runs 7] [--topic T ...] [--spawned] [--show]
"""

from __future__ import annotations

import argparse
import statistics
import time

from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading import prestart
from nnfs_cli.grading.runner import grade
from nnfs_cli.sandbox.client import SandboxConfig, keep_zygotes, stop_zygotes


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
    parser.add_argument("--show", action="store_true", help="print every sample, sorted")
    parser.add_argument(
        "--spawned", action="store_true", help="no zygotes: every worker starts afresh"
    )
    args = parser.parse_args()
    if not args.spawned:
        keep_zygotes(wait=120)
    catalog = load_catalog()
    ids = args.topic or ["perceptron-theory", "backprop", "lstm", "transformer"]
    print("| topic | fenced (s) | unfenced (s) | cost |")
    print("|---|---:|---:|---:|")
    for topic in (catalog.get(i) for i in ids):
        seconds(topic, True)  # warm this process's imports and caches once
        on, off = [], []
        for i in range(args.runs):  # ABBA: drift in the machine's load, and going first, hit both
            for fenced in (True, False) if i % 2 == 0 else (False, True):
                (on if fenced else off).append(seconds(topic, fenced))
        a, b = statistics.median(on), statistics.median(off)
        if args.show:
            print(
                f"<!-- fenced {sorted(round(x, 2) for x in on)}; unfenced {sorted(round(x, 2) for x in off)} -->"
            )
        print(f"| {topic.id} | {a:.2f} | {b:.2f} | {100 * (a - b) / b:+.1f}% |", flush=True)
    stop_zygotes()


if __name__ == "__main__":
    main()
