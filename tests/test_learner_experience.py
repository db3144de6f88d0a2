"""Learner experience: figures, notebooks, stats, help, completion, and `nnfs watch` in a real terminal."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.notebooks import chunks
from tests.cli_helpers import json_out, nnfs, write_learner_file

CATALOG = load_catalog()
THEORY = CATALOG.get("perceptron-theory")
PERCEPTRON = CATALOG.get("perceptron")


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    assert nnfs("init", str(root)).exit_code == 0
    return root


def assert_real_figure(path: Path) -> None:
    import matplotlib.image as mpimg

    assert path.exists() and path.stat().st_size > 10_000, path
    pixels = mpimg.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 400
    assert float(np.std(pixels[..., :3])) > 0.05, "the image is (nearly) blank"


@pytest.mark.parametrize("topic_id", ["perceptron", "training-dynamics", "optimizers"])
def test_plot_saves_titled_figures(ws, topic_id):
    r = nnfs("plot", topic_id, "--solution", "-w", str(ws))
    assert r.exit_code == 0, r.stderr
    pngs = list((ws / "plots").glob(f"{topic_id}-*.png"))
    assert pngs, r.stdout
    for png in pngs:
        assert_real_figure(png)


def test_check_draws_figures_into_the_workspace(ws):
    write_learner_file(ws, PERCEPTRON, PERCEPTRON.solution_path.read_text(encoding="utf-8"))
    r = nnfs("check", PERCEPTRON.id, "-w", str(ws))
    assert r.exit_code == 0 and "figure:" in r.stdout
    assert list((ws / "plots").glob("perceptron-*.png"))


def test_convergence_failure_shows_the_curve_and_can_be_plotted(ws):
    topic = CATALOG.get("training-dynamics")
    src = topic.solution_path.read_text(encoding="utf-8").replace("params, velocity = momentum_step(params, grads, velocity, lr, beta)",
                                                                  "params, velocity = momentum_step(params, grads, velocity, -lr, beta)")  # fmt: skip
    write_learner_file(ws, topic, src)
    data = json_out(nnfs("check", topic.id, "-w", str(ws), "--json"))
    spiral = next(t for t in data["tests"] if t["name"] == "test_train_mlp_learns_the_spiral")
    assert not spiral["passed"] and "did not converge" in spiral["message"]
    assert "┤" in spiral["message"], "the loss curve is drawn in the message"
    assert spiral["extra"]["figure"]["curves"]["yours"]


def test_next_notebook_then_check_the_notebook(ws):
    r = nnfs("start", THEORY.id, "--notebook", "-w", str(ws))
    assert r.exit_code == 0
    nb_path = ws / THEORY.folder / f"{THEORY.id}.ipynb"
    nb = json.loads(nb_path.read_text())
    assert nb["cells"][0]["cell_type"] == "markdown" and "neuron" in nb["cells"][0]["source"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) == 1 + len(
        [c for c in chunks(THEORY.solution_path.read_text()) if c.kind == "function"]
    )
    stub = json_out(
        nnfs("check", THEORY.id, "-w", str(ws), "--json")
    )  # the notebook is the workspace copy
    assert stub["score"] == 0 and stub["target"].endswith(".ipynb")
    solutions = {
        c.name: c.source for c in chunks(THEORY.solution_path.read_text()) if c.kind == "function"
    }
    for cell in code:
        for name, src in solutions.items():
            if cell["source"].startswith(f"def {name}("):
                cell["source"] = src
    nb_path.write_text(json.dumps(nb))
    solved = json_out(nnfs("check", THEORY.id, "--file", str(nb_path), "-w", str(ws), "--json"))
    assert solved["passed"] and solved["score"] == solved["max_score"]


def test_stats_counts_attempts_hints_and_first_pass(ws):
    write_learner_file(ws, THEORY, "import numpy as np\n")
    nnfs("check", THEORY.id, "-w", str(ws))
    nnfs("hint", THEORY.id, "-w", str(ws))
    write_learner_file(ws, THEORY, THEORY.solution_path.read_text(encoding="utf-8"))
    nnfs("check", THEORY.id, "-w", str(ws))
    (row,) = json_out(nnfs("stats", "--json", "-w", str(ws)))
    assert row["attempts"] == 2 and row["attempts_to_pass"] == 2 and row["hints_used"] == 1
    assert row["first_pass_after_s"] is not None and row["best"] == row["max_score"] > 0
    table = nnfs("stats", "-w", str(ws)).stdout
    assert THEORY.id in table and "hints used" in table


def test_every_command_has_help_with_an_example():
    from nnfs_cli.cli import app

    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert len(commands) >= 14
    for name in commands:
        r = nnfs(name, "--help")
        assert r.exit_code == 0 and "Example" in r.stdout, name


def test_topic_ids_complete():
    from nnfs_cli.cli import _complete_topic

    assert _complete_topic("back") == ["backprop"]
    assert _complete_topic("perceptron")[:2] == ["perceptron-theory", "perceptron"]
    assert set(_complete_topic("")) == {t.id for t in CATALOG.topics}


# ----------------------------------------------------------------------------- watch, in tmux

needs_tmux = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)


class Tmux:
    def __init__(self, cwd: Path) -> None:
        self.name = f"nnfs-{uuid.uuid4().hex[:8]}"
        self.cwd = cwd

    def start(self, command: str) -> None:
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "160",
                "-y",
                "50",
                "-c",
                str(self.cwd),
                command,
            ],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name, "-S", "-200"],
            capture_output=True,
            text=True,
        ).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def start_watching(ws, *options):
    """`nnfs watch perceptron-theory` on a fresh stub, in a tmux session; the file and the session."""
    nnfs("start", THEORY.id, "-w", str(ws))
    tmux = Tmux(ws)
    exe = shutil.which("nnfs")
    cmd = (
        " ".join([exe] if exe else [sys.executable, "-m", "nnfs_cli"])
        + f" watch {THEORY.id} "
        + " ".join(options)
    )
    tmux.start(f"env NO_COLOR=1 {cmd}; echo WATCH-ENDED; sleep 30")
    return ws / THEORY.relpath, tmux


@needs_tmux
def test_watch_regrades_on_save_announces_pass_and_offers_next(ws):
    path, tmux = start_watching(ws)
    try:
        tmux.wait_for("not implemented yet")
        wrong = THEORY.solution_path.read_text(encoding="utf-8").replace(
            "return s * sigmoid(-np.asarray(z))", "return z * (1 - z)"
        )
        path.write_text(wrong, encoding="utf-8")
        tmux.wait_for("sigmoid-grad-on-input")
        path.write_text(THEORY.solution_path.read_text(encoding="utf-8"), encoding="utf-8")
        screen = tmux.wait_for("passed!")
        assert "Type n and Enter to fetch the next exercise" in screen
        tmux.keys("n", "Enter")
        tmux.wait_for("Fetched ")
        assert any(p.is_file() for p in ws.rglob("*.py") if p != path)
        tmux.keys("C-c")
        tmux.wait_for("WATCH-ENDED")
        assert "Traceback" not in tmux.screen()
        assert "Stopped watching" in tmux.screen()
    finally:
        tmux.kill()


@needs_tmux
def test_watch_survives_a_hang_and_a_half_saved_file(ws):
    path, tmux = start_watching(ws, "--timeout", "1")
    try:
        tmux.wait_for("not implemented yet")
        ref = THEORY.solution_path.read_text(encoding="utf-8")
        path.write_text(ref[: len(ref) // 2], encoding="utf-8")  # an editor caught mid-save
        tmux.wait_for("syntax error")
        path.write_text(
            ref.replace(
                "def step(z: np.ndarray) -> np.ndarray:\n",
                "def step(z: np.ndarray) -> np.ndarray:\n    while True:\n        pass\n",
            ),
            encoding="utf-8",
        )
        tmux.wait_for("no answer within 1 s")
        path.write_text(ref, encoding="utf-8")
        tmux.wait_for("passed!")
    finally:
        tmux.kill()


def test_filter_grids_and_attention_heatmaps_are_drawn(tmp_path):
    """The figure kinds later phases attach (CNN filters, attention maps) draw real images."""
    from nnfs_cli.grading.result import Result, TestResult
    from nnfs_cli.plots import save_figures

    rng = np.random.default_rng(0)
    attn = rng.random((6, 6))
    specs = [
        {"kind": "filters", "title": "conv1 filters", "kernels": rng.normal(size=(12, 5, 5)).tolist()},
        {"kind": "heatmap", "title": "attention, head 0", "matrix": (attn / attn.sum(1, keepdims=True)).tolist(),
         "xticks": list("abcdef"), "yticks": list("abcdef")},
    ]  # fmt: skip
    result = Result(
        "demo",
        "x.py",
        [TestResult(f"t{i}", "p", True, 1, 1, extra={"figure": s}) for i, s in enumerate(specs)],
    )
    paths = save_figures(result, tmp_path)
    assert len(paths) == 2
    assert_real_figure(next(p for p in paths if "attention" in p.name))
    assert next(p for p in paths if "filters" in p.name).stat().st_size > 5_000


def test_optimizers_comparison_is_shown_after_a_pass():
    r = nnfs("check", "optimizers", "--solution")
    assert r.exit_code == 0
    assert "How your optimizers compare" in r.stdout
    for name in ("AdaGrad", "RMSprop", "Adam"):
        assert name in r.stdout
