"""The Gradescope autograder zip, run against a local /autograder-shaped folder."""

import json
import os
import subprocess
import sys
import zipfile

from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading.bugs import load_bugs, variant_source
from tests.cli_helpers import nnfs

TOPIC = load_catalog().get("perceptron-theory")


def run_autograder(
    tmp_path, files: dict[str, str]
) -> tuple[subprocess.CompletedProcess, dict | None]:
    zipped = tmp_path / "autograder.zip"
    done = nnfs("course", "gradescope", TOPIC.id, "--out", str(zipped))
    assert done.exit_code == 0, done.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zipped) as z:
        assert sorted(z.namelist()) == ["run_autograder", "setup.sh"]
        z.extractall(root / "source")
    (root / "submission").mkdir()
    for name, text in files.items():
        (root / "submission" / name).write_text(text, encoding="utf-8")
    run = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True, timeout=300,
        env=os.environ | {"AUTOGRADER_ROOT": str(root), "NNFS_PYTHON": sys.executable},
    )  # fmt: skip
    results = root / "results" / "results.json"
    return run, json.loads(results.read_text()) if results.exists() else None


def test_a_known_mistake_loses_its_part_and_is_named(tmp_path):
    bug = load_bugs(TOPIC)[0]
    run, results = run_autograder(tmp_path, {f"{TOPIC.module_name}.py": variant_source(TOPIC, bug)})
    assert run.returncode == 0, run.stderr
    tests = {t["name"]: t for t in results["tests"]}
    assert results["score"] == sum(t["score"] for t in tests.values())
    assert results["score"] < sum(t["max_score"] for t in tests.values())
    wrong = tests[bug.function]
    assert wrong["score"] < wrong["max_score"] and bug.name in wrong["output"]
    assert all(t["score"] == t["max_score"] for n, t in tests.items() if n != bug.function)
    assert results["stdout_visibility"] == "hidden"
    assert "HIDDEN" not in json.dumps(results) and "def test_" not in json.dumps(results)


def test_no_submission_is_a_zero_that_says_what_to_upload(tmp_path):
    run, results = run_autograder(tmp_path, {"notes.txt": "hello"})
    assert run.returncode == 0, run.stderr
    assert results["score"] == 0 and f"{TOPIC.id}.ipynb" in results["output"]
