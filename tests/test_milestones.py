"""Milestones: the learner's own code from several topics, run through the real `nnfs milestone`."""

from __future__ import annotations

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.milestones import load_milestones
from tests.cli_helpers import json_out, nnfs, write_learner_file

CATALOG = load_catalog()


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    assert nnfs("init", str(root)).exit_code == 0
    return root


MILESTONES = load_milestones()
MILESTONE_TOPICS = tuple(dict.fromkeys(tid for m in MILESTONES for tid in m.topics))


@pytest.fixture
def solved_ws(ws):
    for tid in MILESTONE_TOPICS:
        topic = CATALOG.get(tid)
        write_learner_file(ws, topic, topic.solution_path.read_text(encoding="utf-8"))
    return ws


def test_milestones_are_listed_and_need_the_learners_files(ws):
    r = nnfs("milestone", "-w", str(ws))
    assert r.exit_code == 0 and "digits-mlp" in r.stdout and "xor" in r.stdout
    r = nnfs("milestone", "digits-mlp", "-w", str(ws))
    assert r.exit_code == 2 and "nnfs start forward-propagation" in r.stderr


@pytest.mark.parametrize("name", [m.id for m in MILESTONES])
def test_a_milestone_runs_the_learners_code_draws_and_is_recorded(solved_ws, name):
    r = nnfs("milestone", name, "-w", str(solved_ws))
    assert r.exit_code == 0, r.stdout + r.stderr
    assert f"✔ {name}:" in r.stdout and "┤" in r.stdout  # the verdict and a terminal figure
    figures = sorted((solved_ws / "plots").glob(f"milestone-{name}-*.png"))
    assert figures and figures[0].stat().st_size > 10_000
    listed = json_out(nnfs("milestone", "--json", "-w", str(solved_ws)))
    assert next(m for m in listed if m["id"] == name)["passed"]
    assert "[x] Milestone" in nnfs("progress", "--markdown", "-w", str(solved_ws)).stdout


def test_a_broken_learner_function_fails_the_milestone_with_its_reason(solved_ws):
    topic = CATALOG.get("perceptron")
    src = topic.solution_path.read_text(encoding="utf-8").replace(
        "return (z >= 0).astype(np.int64)", "return (z < 0).astype(np.int64)"
    )
    write_learner_file(solved_ws, topic, src)
    r = nnfs("milestone", "perceptron-separates", "-w", str(solved_ws))
    assert r.exit_code == 1 and "✘ perceptron-separates" in r.stdout


@pytest.mark.parametrize(
    "old, new, reason",
    [
        # a cache that reads the position table from 0 at every step: the tokens differ
        ('p["wpe"][start : start + T]', 'p["wpe"][:T]', "differ from full recomputation"),
        # absmax over 255 levels (zero-point's count): half the range clamps, tokens flip
        ("scale = amax / 127 + (amax == 0)", "scale = amax / 255 + (amax == 0)", "not a near-tie"),
    ],
)
def test_a_broken_cache_or_quantizer_fails_the_inference_milestone(solved_ws, old, new, reason):
    topic = CATALOG.get("inference")
    src = topic.solution_path.read_text(encoding="utf-8")
    assert src.count(old) == 1
    write_learner_file(solved_ws, topic, src.replace(old, new))
    r = nnfs("milestone", "kv-cache-int8", "-w", str(solved_ws))
    assert r.exit_code == 1 and "✘ kv-cache-int8" in r.stdout
    assert reason in " ".join(r.stdout.split())
