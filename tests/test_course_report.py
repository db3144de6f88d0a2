"""The class report: what it counts, and the HTML page rendered in a real headless Chromium."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from nnfs_cli.course import gradebook, report
from tests.cli_helpers import nnfs


def _test(part: str, passed: bool, mistake: str | None = None) -> dict:
    return {"name": f"test_{part}", "part": part, "passed": passed, "points": float(passed),
            "max_points": 1.0, "message": "" if passed else "wrong", "status": "passed" if passed else "failed",
            "diagnosis": {"kind": "known-bug", "name": mistake, "hint": f"fix {mistake}"} if mistake else None,
            "extra": {}}  # fmt: skip


def _record(course: Path, student: str, tests: list[dict] | None, reason: str = "") -> None:
    rec = {"student": student, "topic": "backprop", "checksum": "x"}
    if tests is None:
        rec |= {"status": "ungraded", "reason": reason}
    else:
        rec |= {"status": "graded", "score": sum(t["points"] for t in tests), "max_score": float(len(tests)),
                "problem": "", "seconds": 2.5, "result": {"tests": tests}}  # fmt: skip
    path = gradebook.record_path(course, "backprop", student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


@pytest.fixture
def course(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    _record(tmp_path, "ada", [_test("dense_backward", True), _test("softmax", True)])
    _record(
        tmp_path,
        "bob",
        [_test("dense_backward", False, "bias-grad-averaged"), _test("softmax", True)],
    )
    _record(tmp_path, "cy", [_test("dense_backward", False, "bias-grad-averaged"),
                             _test("softmax", False, "softmax-overflow")])  # fmt: skip
    _record(tmp_path, "dee", None, "the gradebook write failed: OperationalError")
    return tmp_path


def test_counts_named_mistakes_pass_rates_and_the_ungraded(course):
    (r,) = report.class_report(course)
    assert r.scores == {"ada": 2.0, "bob": 1.0, "cy": 0.0}
    assert r.parts == {"dense_backward": (1, 3), "softmax": (2, 3)}
    assert [(m.name, m.students) for m in r.mistakes] == [
        ("bias-grad-averaged", ["bob", "cy"]),
        ("softmax-overflow", ["cy"]),
    ]
    assert r.ungraded == {"dee": "the gradebook write failed: OperationalError"}


def test_the_command_prints_and_writes_the_page(course):
    done = nnfs("course", "report", str(course))
    assert done.exit_code == 0, done.stderr
    assert "bias-grad-averaged" in done.stdout and "bob, cy" in done.stdout
    assert "NOT GRADED dee" in done.stdout
    assert (course / "class_report.html").exists()


def test_nothing_graded_is_a_usage_error(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    done = nnfs("course", "report", str(tmp_path))
    assert done.exit_code == 2 and "nothing graded" in done.stderr


PROBE = """<script>window.addEventListener('load', () => {
  const ok = [...document.images].filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute('data-images', ok + '/' + document.images.length);
});</script>"""


@pytest.mark.slow
def test_the_page_renders_in_headless_chromium_with_its_figure(course, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    page = report.to_html(report.class_report(course))
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
         "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    dom = done.stdout
    assert 'data-images="1/1"' in dom, (done.returncode, done.stderr[-1500:])
    for text in ("bias-grad-averaged", "bob, cy", "dense_backward", "33%", "Not graded", "dee"):
        assert text in dom, text
