"""Maintainer tools behind `nnfs dev ...`: regenerate stubs, grade known bugs, validate.

Also runnable without the CLI: `python -m nnfs_cli.dev grade TOPIC [FILE]`,
`python -m nnfs_cli.dev bugs TOPIC`, `python -m nnfs_cli.dev stubs`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from nnfs_cli.catalog import Topic, load_catalog
from nnfs_cli.grading.bugs import KnownBug, load_bugs, variant_source
from nnfs_cli.grading.result import Result
from nnfs_cli.grading.runner import grade
from nnfs_cli.stubs import write_stubs


def grade_bug(topic: Topic, bug: KnownBug) -> Result:
    with tempfile.TemporaryDirectory(prefix="nnfs-bug-") as d:
        path = Path(d, topic.relpath.name)
        path.write_text(variant_source(topic, bug), encoding="utf-8")
        return grade(topic, path, warm=True)  # forked from the warm grader after the first


def bug_report(topic: Topic) -> list[tuple[KnownBug, set[str], set[str], bool]]:
    """(bug, failed parts, diagnosis names, as declared?) for each known bug of a topic."""
    rows = []
    for bug in load_bugs(topic):
        result = grade_bug(topic, bug)
        failed = {t.part for t in result.tests if not t.passed}
        named = {t.diagnosis.name for t in result.tests if not t.passed and t.diagnosis}
        rows.append((bug, failed, named, failed == set(bug.failing_parts) and bug.name in named))
    return rows


def _print_result(result: Result) -> None:
    print(
        f"{result.topic}: {result.score:g}/{result.max_score:g} passed={result.passed} in {result.seconds:.2f}s"
    )
    for t in result.tests:
        if not t.passed:
            diag = f"  [{t.diagnosis.kind}: {t.diagnosis.name}]" if t.diagnosis else ""
            print(
                f"- {t.name} ({t.part}, {t.status}){diag}\n    " + t.message.replace("\n", "\n    ")
            )


def main(argv: list[str]) -> int:
    catalog = load_catalog()
    if argv[:1] == ["stubs"]:
        print(
            "regenerated:",
            ", ".join(t.id for t in write_stubs(catalog)) or "nothing (all up to date)",
        )
        return 0
    if argv[:1] == ["grade"] and len(argv) >= 2:
        topic = catalog.get(argv[1])
        result = grade(topic, Path(argv[2]) if len(argv) > 2 else topic.solution_path)
        _print_result(result)
        return 0 if result.passed else 1
    if argv[:1] == ["bugs"] and len(argv) == 2:
        ok = True
        for bug, failed, named, good in bug_report(catalog.get(argv[1])):
            ok &= good
            print(
                f"{'OK ' if good else 'BAD'} {bug.name}: failed {sorted(failed)} (declared {list(bug.failing_parts)}); named {sorted(named)}"
            )
        return 0 if ok else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
