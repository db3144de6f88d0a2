"""A class graded by nbgrader's serial autograde against `nnfs course grade` on 1 and 2 workers.

Builds a course, submits the reference for N students per topic, then times, in ABBA order
on the same machine in the same run (so drift in load weighs on every arm alike):
nbgrader autograde (serial, in the kernel), and `nnfs course grade --force --no-feedback`
with 1 and 2 local Dask workers, on SQLite and (with --db both) on a throwaway PostgreSQL.
Each arm is timed twice; the table shows the mean, and the 1-minute load average before
and after each run (the machine may be shared). Autograde only on both sides; then the
serial nbgrader steps that follow a batch (generate_feedback per topic, export) are timed
on the graded class, against a 2-worker arm that makes the feedback pages as tasks of
the batch (what `nnfs course grade` does unless --no-feedback), with --feedback-arm.
Targets (issue 26): speed-up >= 0.8 x workers; nnfs on 1 worker within +10% per
submission of nbgrader.

--linearity grades the class once with nnfs (2 workers, no nbgrader arm) and times every
submission's completion from the command's progress lines: the time per submission in
each quarter of the batch stays flat if grading time grows linearly with the class.

Run:
  python benchmarks/class_batch.py --students 60 -t backprop -t optimizers [--db both]
  python benchmarks/class_batch.py --students 300 -t backprop -t optimizers --linearity
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnfs_cli.catalog import load_catalog  # noqa: E402
from nnfs_cli.course import tools  # noqa: E402
from tests.nbgrader_helpers import make_class  # noqa: E402

BIN = Path(sys.executable).parent


def load() -> float:
    return os.getloadavg()[0]


@dataclass
class Arm:
    name: str
    db: str
    workers: int  # 0: nbgrader's serial autograde
    run: Callable[[], float]
    times: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)

    def time_once(self) -> None:
        self.loads.append(load())
        self.times.append(self.run())
        self.loads.append(load())

    @property
    def mean(self) -> float:
        return sum(self.times) / len(self.times)


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=tools.env_with_bin())
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def nbgrader_serial(course: Path, topics: list[str]) -> float:
    return sum(timed([str(BIN / "nbgrader"), "autograde", t, "--force"], course) for t in topics)


def nnfs_command(
    course: Path, topics: list[str], workers: int, db: str | None, feedback: bool = False
) -> list[str]:
    cmd = [str(BIN / "nnfs"), "course", "grade", str(course), "--force", "--workers", str(workers),
           "--json", "--feedback" if feedback else "--no-feedback"]  # fmt: skip
    for t in topics:
        cmd += ["-t", t]
    return cmd + (["--db", db] if db else [])


def after_the_batch(course: Path, topics: list[str], db: str | None) -> dict[str, float]:
    """The serial nbgrader steps `nnfs course grade` runs after its parallel batch."""
    url = [f"--CourseDirectory.db_url={db}"] if db else []
    nbg = str(BIN / "nbgrader")
    steps = {
        f"generate_feedback {t}": timed([nbg, "generate_feedback", t, "--force", *url], course)
        for t in topics
    }
    steps["export"] = timed([nbg, "export", *url], course)
    return steps


def comparison(args, topics, ids: list[str], dbs: list[tuple[str, str | None]]) -> None:
    with tempfile.TemporaryDirectory(prefix="nnfs-class-") as d:
        ours, theirs = Path(d, "nnfs"), Path(d, "nbgrader")
        make_class(ours, topics, [f"s{i:03d}" for i in range(args.students)])
        shutil.copytree(ours, theirs)
        nbgrader_serial(theirs, ids[:1])  # a warm-up: creates its gradebook, its students
        arms = [
            Arm("nbgrader autograde (serial)", "sqlite", 0, lambda: nbgrader_serial(theirs, ids))
        ]
        for name, url in dbs:
            for w in (1, 2):
                arms.append(Arm(f"nnfs course grade, {w} worker{'s' * (w > 1)}", name, w,
                                lambda w=w, url=url: timed(nnfs_command(ours, ids, w, url), ours)))  # fmt: skip
        if args.feedback_arm:
            # the feedback pages made as tasks of the batch (what `nnfs course grade` does by default)
            name, url = dbs[-1]
            arms.append(Arm("nnfs course grade, 2 workers, with feedback + export", name, 2,
                            lambda: timed(nnfs_command(ours, ids, 2, url, feedback=True), ours)))  # fmt: skip
        for arm in [*arms, *reversed(arms)]:  # ABC..CBA
            arm.time_once()
            print(f"  {arm.name} ({arm.db}): {arm.times[-1]:.1f} s, load {arm.loads[-2]:.1f}-{arm.loads[-1]:.1f}",
                  file=sys.stderr, flush=True)  # fmt: skip
        if args.feedback_arm:
            load_before = load()
            steps = after_the_batch(ours, ids, dbs[-1][1])
            load_after = load()
    n = args.students * len(ids)
    base = arms[0].mean
    print(f"\n{args.students} students x {', '.join(ids)} = {n} submissions (reference), "
          f"{os.cpu_count()} cores, mean of 2 runs in ABBA order; load: 1-minute load "
          "average before-after each run\n")  # fmt: skip
    print("| engine | gradebook | wall (s) | per submission (s) | vs nbgrader per submission "
          "| speed-up vs nbgrader | speed-up vs 1 worker (target >= 0.8 x workers) | load |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for arm in arms:
        one = next((a for a in arms if a.db == arm.db and a.workers == 1), None)
        if "feedback" in arm.name:
            one = None  # not the same work
        scaling = f"{one.mean / arm.mean:.2f}x" if arm.workers and one else "-"
        overhead = f"{100 * (arm.mean / base - 1):+.0f}%" if arm.workers else "-"
        loads = ", ".join(
            f"{a:.1f}-{b:.1f}" for a, b in zip(arm.loads[::2], arm.loads[1::2], strict=True)
        )
        print(f"| {arm.name} | {arm.db} | {arm.mean:.1f} | {arm.mean / n:.2f} | {overhead} "
              f"| {base / arm.mean:.2f}x | {scaling} | {loads} |")  # fmt: skip
    if not args.feedback_arm:
        return
    two, with_pages = [a for a in arms if a.db == dbs[-1][0] and a.workers == 2][-2:]
    total = sum(steps.values())
    print(f"\nFeedback pages and grades.csv ({dbs[-1][0]} gradebook): nbgrader's serial commands "
          f"after the batch (load {load_before:.1f}-{load_after:.1f}) against the same made as "
          "tasks of the 2-worker batch (the difference of its two rows above)\n")  # fmt: skip
    print("| step | wall (s) | per submission (s) | share of the 2-worker batch |")
    print("|---|---:|---:|---:|")
    in_batch = with_pages.mean - two.mean
    for step, s in [*steps.items(), ("serial: feedback + export", total),
                    ("in the batch: feedback + export", in_batch)]:  # fmt: skip
        print(f"| {step} | {s:.1f} | {s / n:.3f} | {100 * s / two.mean:.0f}% |")


def linearity(args, topics, ids: list[str], db: str | None) -> None:
    """One batch; when each submission finished, read off the command's plain progress lines."""
    with tempfile.TemporaryDirectory(prefix="nnfs-class-") as d:
        course = make_class(Path(d, "nnfs"), topics, [f"s{i:03d}" for i in range(args.students)])
        load_before = load()
        started = time.perf_counter()
        proc = subprocess.Popen(nnfs_command(course, ids, 2, db), cwd=course, text=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=tools.env_with_bin())  # fmt: skip
        done, loads = [], []
        for line in proc.stderr:
            if line.startswith("["):  # "[k/n] topic student: score"
                done.append(time.perf_counter() - started)
                loads.append(load())
        if proc.wait() != 0:
            raise SystemExit("nnfs course grade failed")
    n = len(done)
    print(f"\n{args.students} students x {', '.join(ids)} = {n} submissions, nnfs course grade on "
          f"2 workers ({'postgres' if db else 'sqlite'}), one run; load at the start {load_before:.1f}\n")  # fmt: skip
    print("| submissions done | wall (s) | s per submission in this quarter | load (1 min) |")
    print("|---:|---:|---:|---:|")
    marks = [round(n * q / 4) for q in range(1, 5)]
    previous_k, previous_t = 0, 0.0
    for k in marks:
        t = done[k - 1]
        print(f"| {k} | {t:.1f} | {(t - previous_t) / (k - previous_k):.2f} | {loads[k - 1]:.1f} |")
        previous_k, previous_t = k, t
    # the fixed start-up (cluster, gradebook) is in the first quarter; the slope is the rest
    xs, ys = list(range(marks[0], n + 1)), done[marks[0] - 1 :]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    fit = [my + slope * (x - mx) for x in xs]
    r2 = 1 - sum((y - f) ** 2 for y, f in zip(ys, fit, strict=True)) / sum(
        (y - my) ** 2 for y in ys
    )
    print(
        f"\nlinear fit of completion time after the first quarter: {slope:.2f} s per submission, R^2 = {r2:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("-t", "--topic", action="append", dest="topics")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--feedback-arm", action="store_true",
                        help="also time a 2-worker batch that makes the feedback pages, and nbgrader's serial feedback + export")  # fmt: skip
    parser.add_argument("--linearity", action="store_true",
                        help="one nnfs batch on 2 workers, timed submission by submission (e.g. 300 students)")  # fmt: skip
    args = parser.parse_args()
    catalog = load_catalog()
    topics = [catalog.get(t) for t in (args.topics or ["backprop", "optimizers"])]
    ids = [t.id for t in topics]
    dbs: list[tuple[str, str | None]] = []
    server = None
    if args.db in ("sqlite", "both"):
        dbs.append(("sqlite", None))
    if args.db in ("postgres", "both"):
        from tests.pg_server import postgres_server

        server = postgres_server()
        dbs.append(("postgres", server.__enter__().url))
    try:
        if args.linearity:
            linearity(args, topics, ids, dbs[-1][1])
        else:
            comparison(args, topics, ids, dbs)
    finally:
        if server is not None:
            server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
