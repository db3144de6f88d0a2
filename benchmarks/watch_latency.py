"""Seconds from saving an exercise to `nnfs watch` showing its verdict (target <= 0.5 s).

Runs the real `nnfs watch perceptron-theory` (a NumPy topic) in a child process, then
saves a wrong and a right solution in turn and times each save until the verdict is
printed. The first verdict (start-up) is not counted: watch is long-lived and keeps its
grader warm. Usage: python benchmarks/watch_latency.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from nnfs_cli.catalog import load_catalog


def main(rounds: int = 6) -> None:
    topic = load_catalog().get("perceptron-theory")
    right = topic.solution_path.read_text(encoding="utf-8")
    wrong = right.replace("return s * sigmoid(-np.asarray(z))", "return z * (1 - z)")
    if wrong == right:
        sys.exit("error: the reference's sigmoid_grad changed; update the wrong version here")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp, "ws")
        nnfs = [sys.executable, "-m", "nnfs_cli"]
        subprocess.run([*nnfs, "init", str(ws)], check=True, capture_output=True)
        subprocess.run([*nnfs, "start", topic.id, "-w", str(ws)], check=True, capture_output=True)
        path = ws / topic.relpath
        proc = subprocess.Popen([*nnfs, "watch", topic.id, "-w", str(ws)], stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env=os.environ | {"NO_COLOR": "1"})  # fmt: skip
        lines: list[tuple[float, str]] = []
        threading.Thread(target=lambda: [lines.append((time.perf_counter(), x)) for x in proc.stdout], daemon=True).start()

        def wait_for(text: str, after: float) -> float:
            deadline = time.perf_counter() + 60
            while time.perf_counter() < deadline:
                hit = next((t for t, x in list(lines) if t >= after and text in x), None)
                if hit is not None:
                    return hit
                time.sleep(0.005)
            raise TimeoutError(text)

        wait_for("Waiting for your next save", 0)
        times = []
        try:
            for i in range(rounds):
                source, expect = (wrong, "Waiting for your next save") if i % 2 == 0 else (right, "passed!")
                time.sleep(0.5)
                saved = time.perf_counter()
                path.write_text(source, encoding="utf-8")
                times.append(wait_for(expect, saved) - saved)
        finally:
            proc.terminate()
            proc.wait()
    print(f"save -> verdict, {rounds} saves: median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s, max {max(times):.2f} s")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="saves to time (default 6)")
    main(parser.parse_args().rounds)
