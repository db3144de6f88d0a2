"""How often a failing test names the mistake (issue: "name the mistake").

For every available topic: each known-bug variant must be named correctly (target 100%);
among the tests that the audit's mutants fail, count those with a diagnosis, by kind
(target >= 50% for Phase 1-2); a passing test must never carry one (target: 0).
Run: python benchmarks/diagnosis_coverage.py [--sample N] [--topic T ...] [--unnamed F]
(--unnamed F writes each mutant-failed test with no name, its mutant's edit and message, as
JSON lines: what to read when looking for the next story to tell.)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nnfs_cli.audit import equivalents, mutants, never_started
from nnfs_cli.catalog import load_catalog
from nnfs_cli.dev import grade_bug
from nnfs_cli.grading.bugs import load_bugs
from nnfs_cli.grading.runner import grade


def grade_text(topic, source: str):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, topic.relpath.name)
        path.write_text(source, encoding="utf-8")
        # forked from the warm grader, as the audit's: no pytest or torch start-up per mutant
        return grade(topic, path, call_timeout=5.0, warm=True)


def arguments(doc: str, parser: argparse.ArgumentParser | None = None):
    """(args, topics) for a benchmark over the mutants of some topics."""
    parser = parser or argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="mutants per topic (default: all)")
    parser.add_argument("--topic", action="append")
    args = parser.parse_args()
    catalog = load_catalog()
    topics = (
        [catalog.get(t) for t in args.topic]
        if args.topic
        else [t for t in catalog.topics if t.available]
    )
    return args, topics


def graded_mutants(topic, sample: int | None) -> tuple[list, list]:
    """(mutants, their results): the topic's non-equivalent mutants, evenly sampled. A grading
    that never started (the submission did not finish importing: a loaded machine) is tried
    once more, then left out and said, as the audit does: it is no test of a diagnosis."""
    ms = [m for m in mutants(topic) if m.id not in equivalents(topic)]
    if sample:
        ms = ms[:: max(1, len(ms) // sample)][:sample]

    def graded(m):
        result = grade_text(topic, m.source)
        return grade_text(topic, m.source) if never_started(result) else result

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(graded, ms))
    kept = [(m, r) for m, r in zip(ms, results) if not never_started(r)]
    if len(kept) < len(ms):
        print(
            f"<!-- {topic.id}: {len(ms) - len(kept)} mutants left out: never finished importing -->"
        )
    return [m for m, _ in kept], [r for _, r in kept]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unnamed", help="write the unnamed mutant failures here (JSON lines)")
    args, topics = arguments(__doc__, parser)
    unnamed = []
    print(
        "| topic | known bugs named | mutant failing tests | diagnosed | signature | known-bug | passing tests with a diagnosis |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    started = time.perf_counter()
    total = Counter()
    for topic in topics:
        bugs = load_bugs(topic)
        named = sum(
            any(t.diagnosis and t.diagnosis.name == b.name for t in grade_bug(topic, b).tests)
            for b in bugs
        )
        ms, results = graded_mutants(topic, args.sample)
        unnamed += [
            {"topic": topic.id, "mutant": m.id, "diff": m.diff, "test": t.name,
             "status": t.status, "message": t.message}
            for m, r in zip(ms, results) for t in r.tests if not t.passed and not t.diagnosis
        ]  # fmt: skip
        failing = [t for r in results for t in r.tests if not t.passed]
        kinds = Counter(t.diagnosis.kind for t in failing if t.diagnosis)
        wrong = sum(1 for r in results for t in r.tests if t.passed and t.diagnosis)
        diag = sum(kinds.values())
        share = f"{diag / len(failing):.0%}" if failing else "-"
        print(
            f"| {topic.id} | {named}/{len(bugs)} | {len(failing)} | {diag} ({share}) | {kinds['signature']} | {kinds['known-bug']} | {wrong} |"
        )
        total.update(
            bugs=len(bugs), named=named, failing=len(failing), diag=diag, wrong=wrong, **kinds
        )
    share = f"{total['diag'] / total['failing']:.0%}" if total["failing"] else "-"
    print(
        f"| **all** | {total['named']}/{total['bugs']} | {total['failing']} | {total['diag']} ({share}) | {total['signature']} | {total['known-bug']} | {total['wrong']} |"
    )
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    if args.unnamed:
        Path(args.unnamed).write_text("".join(json.dumps(u) + "\n" for u in unnamed), "utf-8")


if __name__ == "__main__":
    main()
