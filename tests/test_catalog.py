"""The catalog is the only list of topics, and the content agrees with it."""

from pathlib import Path

import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.stubs import make_stub, outdated_stubs
from nnfs_cli.validate import EXPECTED_TOPICS, curriculum_ids, validate

CURRICULUM = Path(__file__).resolve().parents[2] / "shared" / "curriculum.md"


def test_content_is_consistent_with_the_catalog(catalog):
    assert validate(catalog, curriculum=CURRICULUM) == []


@pytest.mark.skipif(not CURRICULUM.exists(), reason="shared/ is not beside this checkout")
def test_ids_are_exactly_the_curriculum_ids_in_order(catalog):
    assert [t.id for t in catalog.topics] == curriculum_ids(CURRICULUM)


def test_every_roadmap_checkbox_is_a_topic(catalog):
    assert len(catalog.topics) == EXPECTED_TOPICS
    assert [p.number for p in catalog.phases] == list(range(1, 8))
    assert len({t.id for t in catalog.topics}) == EXPECTED_TOPICS


def test_stubs_are_up_to_date(catalog):
    stale = [t.id for t in outdated_stubs(catalog)]
    assert stale == [], f"run `nnfs dev stubs`: {stale}"


def test_stub_generation_replaces_blocks_with_a_named_raise():
    src = "import numpy as np\n\n\ndef f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    stub = make_stub(src, "demo")
    assert "return" not in stub
    assert '    raise NotImplementedError("demo: implement f")' in stub


def test_top_level_solution_blocks_are_refused():
    from nnfs_cli.errors import NnfsError

    with pytest.raises(NnfsError, match="inside a function"):
        make_stub("### BEGIN SOLUTION\ndef _helper():\n    return 1\n### END SOLUTION\n", "demo")


def test_unbalanced_markers_are_reported():
    from nnfs_cli.errors import NnfsError

    with pytest.raises(NnfsError, match="never closed"):
        make_stub("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "demo")


def test_validator_catches_a_broken_catalog(tmp_path):
    from nnfs_cli.catalog import parse_catalog

    bad = parse_catalog({"phase": [{"number": 1, "title": "x", "folder": "01_foundations", "section": [{"number": "1.1", "title": "s", "topic": [
        {"id": "dup", "checkbox": "A", "status": "available", "hints": ["h1", "h2"]},
        {"id": "dup", "checkbox": "B", "status": "planned", "hints": ["only one"]},
    ]}]}]})  # fmt: skip
    problems = "\n".join(validate(bad))
    assert "duplicate topic ids: dup" in problems
    assert "needs 2-4 non-empty hints" in problems
    assert "missing" in problems
    assert "stray file" in problems


def test_validate_grade_checks_the_reference_and_the_stub(catalog):
    """`nnfs dev validate --grade` on one topic (every topic's reference and stub are graded
    by tests/test_topics.py; grading them all here again cost 90 s of the suite)."""
    from types import SimpleNamespace

    from nnfs_cli.validate import _grade_problems

    one = SimpleNamespace(topics=(catalog.get("linear-algebra"),))
    assert _grade_problems(one) == []


def test_planned_topics_have_no_content_files(catalog):
    for t in load_catalog().topics:
        if not t.available:
            assert not t.solution_path.exists() and not t.grader_path.exists(), t.id
