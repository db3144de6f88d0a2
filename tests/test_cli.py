"""The learner's CLI, through the real command: every command and its error paths."""

import json
import os

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.stubs import stub_for
from tests.cli_helpers import json_out, nnfs, nnfs_process, write_learner_file

THEORY = load_catalog().get("perceptron-theory")
PLANNED = "<planned>"  # the `planned_topic` fixture's (every real topic is available)


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "my workspace ü"  # spaces and unicode on purpose
    assert nnfs("init", str(root)).exit_code == 0
    return root


def reference_source(topic):
    return topic.solution_path.read_text(encoding="utf-8")


def one_line_error(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def test_init_is_idempotent_and_keeps_progress(ws):
    write_learner_file(ws, THEORY, reference_source(THEORY))
    assert nnfs("check", THEORY.id, "-w", str(ws)).exit_code == 0
    again = nnfs("init", str(ws))
    assert again.exit_code == 0 and "Already" in again.stdout
    listed = {t["id"]: t["status"] for t in json_out(nnfs("list", "--json", "-w", str(ws)))}
    assert listed[THEORY.id] == "passed"


def test_workspace_found_by_option_env_and_upward_search(ws, tmp_path):
    deep = ws / "01_foundations" / "deeper"
    deep.mkdir(parents=True)
    for args, env, cwd in [
        (("-w", str(ws)), {}, tmp_path),
        ((), {"NNFS_WORKSPACE": str(ws)}, tmp_path),
        ((), {}, deep),
    ]:
        r = nnfs("progress", "--json", *args, env=env, cwd=cwd)
        assert r.exit_code == 0, r.stderr
        assert json_out(r)["total"] == 33


def test_outside_a_workspace_says_how_to_create_one(tmp_path):
    r = nnfs("next", cwd=tmp_path, env={"NNFS_WORKSPACE": ""})
    assert r.exit_code == 2
    assert "nnfs init" in one_line_error(r)


def test_next_fetches_first_unfinished_topic_and_never_overwrites(ws):
    r = nnfs("next", "-w", str(ws))
    assert r.exit_code == 0, r.stderr
    first = next(t for t in load_catalog().topics if t.available)
    path = ws / first.relpath
    assert path.read_text(encoding="utf-8") == stub_for(first)
    assert str(path) in r.stdout.replace("\n", "")
    assert "Functions to implement" in r.stdout
    path.write_text("# my work\n", encoding="utf-8")
    r = nnfs("next", "-w", str(ws))
    assert r.exit_code == 0 and path.read_text(encoding="utf-8") == "# my work\n"
    assert "left untouched" in r.stdout


def test_next_moves_on_after_a_pass(ws):
    catalog = load_catalog()
    first = next(t for t in catalog.topics if t.available)
    write_learner_file(ws, first, reference_source(first))
    assert nnfs("check", first.id, "-w", str(ws)).exit_code == 0
    second = next(t for t in catalog.topics if t.available and t.index > first.index)
    nnfs("next", "-w", str(ws))
    assert (ws / second.relpath).exists()


def test_check_stub_scores_zero_not_implemented(ws):
    nnfs("start", THEORY.id, "-w", str(ws))
    r = nnfs("check", THEORY.id, "-w", str(ws), "--json")
    assert r.exit_code == 1
    data = json_out(r)
    assert data["score"] == 0 and data["passed"] is False and data["max_score"] > 0
    assert {"topic", "passed", "score", "max_score", "tests"} <= data.keys()
    for t in data["tests"]:
        assert {"name", "part", "passed", "points", "message", "diagnosis"} <= t.keys()
        assert "not implemented yet" in t["message"]
    table = nnfs("check", THEORY.id, "-w", str(ws))
    assert "not implemented yet" in table.stdout and "Traceback" not in table.stdout


def test_check_reference_passes_and_records_progress(ws):
    write_learner_file(ws, THEORY, reference_source(THEORY))
    r = nnfs("check", THEORY.id, "-w", str(ws))
    assert r.exit_code == 0, r.stdout
    assert "passed with full marks" in r.stdout
    store = json.loads((ws / ".nnfs" / "progress.json").read_text())
    rec = store["topics"][THEORY.id]
    assert (
        rec["attempt_count"] == 1
        and rec["first_pass"]
        and rec["attempts"][0]["score"] == rec["attempts"][0]["max_score"]
    )


def test_check_solution_and_file_options(ws, tmp_path):
    assert nnfs("check", THEORY.id, "--solution").exit_code == 0
    f = tmp_path / "elsewhere.py"
    f.write_text(reference_source(THEORY), encoding="utf-8")
    assert nnfs("check", THEORY.id, "--file", str(f), "-w", str(ws)).exit_code == 0


def test_check_failure_shows_teaching_message_and_diagnosis(ws):
    src = reference_source(THEORY).replace(
        "return s * sigmoid(-np.asarray(z))", "return z * (1 - z)"
    )
    write_learner_file(ws, THEORY, src)
    r = nnfs("check", THEORY.id, "-w", str(ws))
    assert r.exit_code == 1
    out = r.stdout
    for needle in (
        "sigmoid_grad",
        "expected",
        "got",
        "relative error",
        "hint:",
        "sigmoid-grad-on-input",
    ):
        assert needle in out, needle
    data = json_out(nnfs("check", THEORY.id, "-w", str(ws), "--json"))
    diags = [t["diagnosis"] for t in data["tests"] if t["diagnosis"]]
    assert {"kind": "known-bug", "name": "sigmoid-grad-on-input"}.items() <= diags[0].items()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("check", "backpro"), "Did you mean 'backprop'"),
        (("check", ""), "no topic given"),
        (("check", PLANNED), "planned"),
        (("show", "nonsense-topic"), "unknown topic"),
        (("hint", PLANNED), "planned"),
        (("check", THEORY.id, "--file", "/nonexistent/file.py"), "no such file"),
        (("check", THEORY.id, "--file", "/tmp"), "is a folder"),
        (("check", THEORY.id, "--file", __file__.replace(".py", ".txt")), "no such file"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(ws, args, needle, request):
    if PLANNED in args:
        args = tuple(request.getfixturevalue("planned_topic") if a == PLANNED else a for a in args)
    r = nnfs(*args, "-w", str(ws)) if args[0] != "show" else nnfs(*args)
    assert r.exit_code == 2
    assert needle in one_line_error(r)


def test_check_topic_not_fetched_yet(ws):
    r = nnfs("check", THEORY.id, "-w", str(ws))
    assert r.exit_code == 2 and "nnfs next" in one_line_error(r)


def test_syntax_error_names_file_and_line(ws):
    write_learner_file(ws, THEORY, reference_source(THEORY) + "\ndef broken(:\n    pass\n")
    r = nnfs("check", THEORY.id, "-w", str(ws))
    assert r.exit_code == 1
    line = len(reference_source(THEORY).splitlines()) + 2
    assert f"syntax error at line {line}" in r.stdout and "perceptron_theory.py" in r.stdout


def test_sys_exit_in_learner_code_fails_that_part_only(ws):
    src = reference_source(THEORY).replace(
        "    return np.maximum(z, 0)\n", "    import sys\n    sys.exit(0)\n"
    )
    write_learner_file(ws, THEORY, src)
    data = json_out(nnfs("check", THEORY.id, "-w", str(ws), "--json"))
    failed = {t["part"] for t in data["tests"] if not t["passed"]}
    assert failed == {"relu", "neuron"}  # neuron calls relu
    assert any("sys.exit" in t["message"] for t in data["tests"] if not t["passed"])


def test_hanging_function_times_out_and_others_still_graded(ws):
    src = reference_source(THEORY).replace(
        "    return np.maximum(z, 0)\n", "    while True:\n        pass\n"
    )
    write_learner_file(ws, THEORY, src)
    r = nnfs("check", THEORY.id, "-w", str(ws), "--json")
    data = json_out(r)
    assert r.exit_code == 1
    relu = [t for t in data["tests"] if t["part"] == "relu"]
    assert relu and not any(t["passed"] for t in relu)
    assert "no answer within" in relu[0]["message"]
    assert all(t["passed"] for t in data["tests"] if t["part"] not in ("relu", "neuron"))
    assert data["seconds"] < 40


def test_corrupt_progress_is_restored_from_backup(ws):
    write_learner_file(ws, THEORY, reference_source(THEORY))
    assert nnfs("check", THEORY.id, "-w", str(ws)).exit_code == 0
    assert nnfs("check", THEORY.id, "-w", str(ws)).exit_code == 0  # now a good .bak exists
    (ws / ".nnfs" / "progress.json").write_text("{ not json", encoding="utf-8")
    r = nnfs("progress", "--json", "-w", str(ws))
    assert r.exit_code == 0
    assert "restored from the last good copy" in r.stderr
    statuses = {t["id"]: t["status"] for p in json_out(r)["phases"] for t in p["topics"]}
    assert statuses[THEORY.id] == "passed"
    assert list((ws / ".nnfs").glob("progress.json.corrupt-*"))


def test_progress_views(ws, planned_topic):
    write_learner_file(ws, THEORY, reference_source(THEORY))
    nnfs("check", THEORY.id, "-w", str(ws))
    tree = nnfs("progress", "-w", str(ws)).stdout
    for phase in load_catalog().phases:
        assert f"Phase {phase.number}: {phase.title}" in tree
    for topic in load_catalog().topics:
        assert topic.checkbox in tree
    md = nnfs("progress", "--markdown", "-w", str(ws)).stdout
    assert f"- [x] **{THEORY.checkbox}**" in md
    topic_lines = [x for x in md.splitlines() if x.startswith(("- [ ] **", "- [x] **"))]
    assert len(topic_lines) == len(load_catalog().topics)
    assert "- [ ] Milestone: **" in md  # each phase's milestones, ticked once run and passed
    planned = load_catalog().get(planned_topic).checkbox
    assert any(planned in x and "_(planned)_" in x for x in md.splitlines())


def test_list_json(ws):
    items = json_out(nnfs("list", "--json", "-w", str(ws)))
    assert [i["id"] for i in items] == [t.id for t in load_catalog().topics]
    assert {i["status"] for i in items} <= {"planned", "not-started", "attempted", "passed"}
    assert all({"id", "phase", "title", "status"} <= i.keys() for i in items)


def test_show_renders_lesson_and_functions():
    r = nnfs("show", THEORY.id)
    assert r.exit_code == 0
    assert "The neuron and its activations" in r.stdout and "perceptron_update" in r.stdout


def test_hints_are_progressive_and_remembered(ws):
    seen = [nnfs("hint", THEORY.id, "-w", str(ws)).stdout for _ in range(len(THEORY.hints) + 1)]
    for i, text in enumerate(THEORY.hints):
        assert f"Hint {i + 1} of {len(THEORY.hints)}" in seen[i] and text[:30] in seen[i].replace(
            "\n", " "
        )
    assert f"Hint {len(THEORY.hints)} of" in seen[-1]


def test_solution_needs_a_pass_or_force(ws):
    r = nnfs("solution", THEORY.id, "-w", str(ws))
    assert r.exit_code == 2 and "--force" in one_line_error(r)
    shown = nnfs("solution", THEORY.id, "--force", "-w", str(ws)).stdout
    assert "def sigmoid" in shown and "BEGIN SOLUTION" not in shown  # nbgrader's markers are ours
    write_learner_file(
        ws, THEORY, reference_source(THEORY).replace("np.maximum(z, 0)", "np.maximum(0, z)")
    )
    assert nnfs("check", THEORY.id, "-w", str(ws)).exit_code == 0
    assert nnfs("solution", THEORY.id, "-w", str(ws)).exit_code == 0
    diff = nnfs("solution", THEORY.id, "--diff", "-w", str(ws)).stdout
    assert "+    return np.maximum(z, 0)" in diff and "SOLUTION" not in diff


def test_reset_restores_stub_and_backs_up(ws):
    path = write_learner_file(ws, THEORY, "# my precious work\n")
    r = nnfs("reset", THEORY.id, "-w", str(ws))
    assert r.exit_code == 0
    assert path.read_text(encoding="utf-8") == stub_for(THEORY)
    backups = list((ws / ".nnfs" / "backups").iterdir())
    assert [b.read_text(encoding="utf-8") for b in backups] == ["# my precious work\n"]


def test_read_only_workspace_is_a_clean_error(ws):
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    os.chmod(ws / ".nnfs", 0o500)
    try:
        r = nnfs("hint", THEORY.id, "-w", str(ws))
        assert r.exit_code == 2 and "cannot" in one_line_error(r)
    finally:
        os.chmod(ws / ".nnfs", 0o700)


def test_real_subprocess_of_installed_nnfs(ws):
    r = nnfs_process("check", THEORY.id, "--solution", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["passed"] is True
    bad = nnfs_process("check", "backpro", cwd=ws)
    assert bad.returncode == 2 and "Did you mean" in bad.stderr and "Traceback" not in bad.stderr
