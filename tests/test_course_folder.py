"""A folder of plain .py submissions (one folder per student) graded by the same engine to CSV/JSON."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading.bugs import load_bugs, variant_source

pytestmark = [pytest.mark.slow]
pytest.importorskip("distributed")

TOPIC = load_catalog().get("perceptron-theory")


def test_a_classroom_folder_is_graded_to_csv_and_json(tmp_path):
    classroom = tmp_path / "classroom"
    bug = load_bugs(TOPIC)[0]
    for student, source in (
        ("ada", TOPIC.solution_path.read_text()),
        ("bob", variant_source(TOPIC, bug)),
    ):
        (classroom / student).mkdir(parents=True)
        (classroom / student / f"{TOPIC.module_name}.py").write_text(source)
    (classroom / "cy").mkdir()  # accepted the assignment, pushed nothing
    done = subprocess.run(
        [str(Path(sys.executable).parent / "nnfs"), "course", "grade-folder", str(classroom), "-t", TOPIC.id,
         "--workers", "1", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600, env=os.environ | {"NO_COLOR": "1", "COLUMNS": "150"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8"))}
    assert set(rows) == {"ada", "bob"}
    assert rows["ada"]["score"] == rows["ada"]["max_score"]
    assert float(rows["bob"]["score"]) < float(rows["bob"]["max_score"])
    assert float(rows["bob"][bug.function]) < float(rows["ada"][bug.function])
    details = {d["student"]: d for d in json.loads((tmp_path / "out.json").read_text())}
    assert bug.name in json.dumps(details["bob"]["result"])
    assert "skipped cy" in done.stdout
