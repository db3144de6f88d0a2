"""A class graded by nbgrader's serial autograde against `nnfs course grade` on 1 and 2 workers.

Builds a course, submits the reference for N students per topic, then times, in ABBA order
on the same machine in the same run (so drift in load weighs on every arm alike):
nbgrader autograde (serial, in the kernel), and `nnfs course grade --force --no-feedback`
with 1 and 2 local Dask workers, on SQLite and (with --db both) on a throwaway PostgreSQL.
Each arm is timed twice; the table shows the mean. Autograde only on both sides: feedback
and export are the same nbgrader commands afterwards.
Target: speed-up >= 0.8 x workers; nnfs on 1 worker within +10% per student of nbgrader.
Run: python benchmarks/class_batch.py [--students 60] [-t backprop -t optimizers] [--db both]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnfs_cli.catalog import load_catalog  # noqa: E402
from nnfs_cli.course import build, tools  # noqa: E402
from tests.nbgrader_helpers import submit  # noqa: E402

BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=tools.env_with_bin())
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def nbgrader_serial(course: Path, topics: list[str]) -> float:
    return sum(timed([str(BIN / "nbgrader"), "autograde", t, "--force"], course) for t in topics)


def nnfs_grade(course: Path, topics: list[str], workers: int, db: str | None) -> float:
    cmd = [str(BIN / "nnfs"), "course", "grade", str(course), "--force", "--no-feedback",
           "--workers", str(workers), "--json"]  # fmt: skip
    for t in topics:
        cmd += ["-t", t]
    if db:
        cmd += ["--db", db]
    return timed(cmd, course)


def make_class(root: Path, topics, students: int) -> None:
    build.build(root, topics)
    for t in topics:
        tools.nbgrader(root, "generate_assignment", t.id, "--force")
        for i in range(students):
            submit(root, f"s{i:03d}", t.id, t.solution_path.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("-t", "--topic", action="append", dest="topics")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument(
        "--no-nbgrader", action="store_true", help="only time nnfs (e.g. 300 students)"
    )
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
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="nnfs-class-") as d:
            ours, theirs = Path(d, "nnfs"), Path(d, "nbgrader")
            make_class(ours, topics, args.students)
            shutil.copytree(ours, theirs)
            if not args.no_nbgrader:  # a warm-up: creates its gradebook, its students
                nbgrader_serial(theirs, ids[:1])
            arms = (
                []
                if args.no_nbgrader
                else [
                    ("nbgrader autograde (serial)", "sqlite", lambda: nbgrader_serial(theirs, ids))
                ]
            )
            for name, url in dbs:
                for w in (1, 2):
                    arms.append((f"nnfs course grade, {w} worker{'s' * (w > 1)}", name,
                                 lambda w=w, url=url: nnfs_grade(ours, ids, w, url)))  # fmt: skip
            times: dict[int, list[float]] = {i: [] for i in range(len(arms))}
            for i in [*range(len(arms)), *reversed(range(len(arms)))]:  # ABC..CBA
                times[i].append(arms[i][2]())
            n = args.students * len(ids)
            base = sum(times[0]) / 2 if not args.no_nbgrader else None
            for i, (name, db, _) in enumerate(arms):
                mean = sum(times[i]) / 2
                rows.append((name, db, mean, mean / n, base / mean if base else None))
    finally:
        if server is not None:
            server.__exit__(None, None, None)
    print(f"{args.students} students x {', '.join(ids)} = {n} submissions (reference), "
          f"{os.cpu_count()} cores, mean of 2 runs in ABBA order\n")  # fmt: skip
    print("| engine | gradebook | wall (s) | per submission (s) | speed-up vs nbgrader |")
    print("|---|---|---:|---:|---:|")
    for name, db, mean, per, speed in rows:
        print(f"| {name} | {db} | {mean:.1f} | {per:.2f} | {f'{speed:.2f}x' if speed else '-'} |")


if __name__ == "__main__":
    main()
