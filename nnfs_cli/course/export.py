"""A Gradescope autograder for one topic: the same sandboxed grader, Gradescope's results.json.

`write_zip` makes the zip Gradescope asks for (`setup.sh`, `run_autograder`). On
Gradescope's machine `run_autograder` calls `python3 -m nnfs_cli.course.export`, which
grades the file in /autograder/submission and writes /autograder/results/results.json:
the score, one test per part with what failed and the mistake the grader recognised.
The hidden checks themselves never leave the package. A grader that cannot run is the
autograder's failure (exit 1, so Gradescope says so), never a 0 for the student.
"""

from __future__ import annotations

import json
import stat
import sys
import zipfile
from pathlib import Path

from nnfs_cli import __version__
from nnfs_cli.catalog import Topic, load_catalog
from nnfs_cli.errors import NnfsError

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.
set -euo pipefail
apt-get update -qq && apt-get install -y -qq python3 python3-pip >/dev/null
pip3 install --quiet {package}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission (AUTOGRADER_ROOT: for a local try-out).
root="${{AUTOGRADER_ROOT:-/autograder}}"
mkdir -p "$root/results"
exec "${{NNFS_PYTHON:-python3}}" -m nnfs_cli.course.export {topic} "$root/submission" "$root/results/results.json"
"""


def write_zip(topic: Topic, out: Path, package: str | None = None) -> Path:
    """The autograder zip; `package` is what setup.sh installs (a pip spec or a wheel file)."""
    wheel = Path(package) if package and Path(package).is_file() else None
    spec = f"/autograder/source/{wheel.name}" if wheel else package or f"nnfs-lab=={__version__}"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (
            ("setup.sh", SETUP.format(package=spec)),
            ("run_autograder", RUN.format(topic=topic.id)),
        ):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16  # executable once unzipped
            z.writestr(info, text)
        if wheel:
            z.write(wheel, wheel.name)
    return out


def find_submission(topic: Topic, folder: Path) -> Path | None:
    names = [f"{topic.id}.ipynb", f"{topic.module_name}.py", f"{topic.id}.py"]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    found = sorted([*folder.rglob("*.ipynb"), *folder.rglob("*.py")])
    return found[0] if len(found) == 1 else None


def results(topic: Topic, folder: Path) -> dict:
    """Gradescope's results.json for the submission in `folder` (raises NnfsError if the grader cannot run)."""
    from nnfs_cli.course.kernel import part_feedback
    from nnfs_cli.grading.runner import grade

    path = find_submission(topic, folder)
    if path is None:
        wanted = f"{topic.id}.ipynb or {topic.module_name}.py"
        return {"score": 0.0, "output": f"No submission found: upload {wanted}.", "tests": []}
    result = grade(topic, path)
    tests = []
    for part, part_tests in result.parts().items():
        earned, text = part_feedback(result, part)
        total = float(sum(t.max_points for t in part_tests))
        tests.append(
            {
                "name": part,
                "score": earned,
                "max_score": total,
                "output": text,
                "visibility": "visible",
            }
        )
    return {
        "score": result.score,
        "output": f"Graded {path.name} with nnfs {topic.id}."
        + (f"\n{result.error}" if result.error else ""),
        "tests": tests,
        "stdout_visibility": "hidden",  # the grader's own log stays with the instructor
    }


def main(argv: list[str]) -> int:
    topic_id, folder, out = argv
    try:
        data = results(load_catalog().get_available(topic_id), Path(folder))
    except NnfsError as e:
        print(f"nnfs autograder failed (not the student's fault): {e}", file=sys.stderr)
        return 1
    Path(out).write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def write_grades(outcomes: list[dict], csv_path: Path, json_path: Path) -> None:
    """A plain folder's grades: one CSV row per student (total and per part), and the details as JSON."""
    import csv

    parts: list[str] = []
    for o in outcomes:
        parts += [p for p in (o.get("scores") or {}) if p not in parts]
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "student",
                "score",
                "max_score",
                "status",
                "why",
                *(p.removeprefix("test-") for p in parts),
            ]
        )
        for o in sorted(outcomes, key=lambda o: o["student"]):
            scores = o.get("scores") or {}
            why = o.get("problem") or o.get("reason") or ""
            w.writerow([o["student"], o.get("score", ""), o.get("max_score", ""), o["status"], why,
                        *(scores.get(p, "") for p in parts)])  # fmt: skip
    kept = [{k: v for k, v in o.items() if k != "autograded"} for o in outcomes]
    json_path.write_text(
        json.dumps(sorted(kept, key=lambda o: o["student"]), indent=1), encoding="utf-8"
    )
