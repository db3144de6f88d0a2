"""Every available topic: the reference passes, the stub scores zero, known bugs fail and are named,
correct alternatives pass. Parametrised over the catalog, so a new topic is tested by being added."""

import pytest

from tests.topic_harness import (
    all_bugs,
    alternatives,
    available,
    failed_parts,
    grade_bug,
    grade_reference,
    grade_reference_notebook,
    grade_source,
    grade_stub,
)

TOPICS = available()


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_reference_gets_full_marks(topic):
    result = grade_reference(topic)
    failures = [f"{t.name}: {t.message}" for t in result.tests if not t.passed]
    assert result.passed, "\n".join(failures)
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_stub_scores_zero_and_says_not_implemented(topic):
    result = grade_stub(topic)
    assert result.score == 0 and result.max_score == grade_reference(topic).max_score
    assert all(t.status == "not-implemented" for t in result.tests), [
        (t.name, t.status, t.message) for t in result.tests if t.status != "not-implemented"
    ]
    assert all("not implemented yet" in t.message for t in result.tests)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_every_part_has_a_known_bug_or_three_bugs_in_all(topic):
    bugs = [b for t, b in all_bugs() if t == topic]
    assert len(bugs) >= 3, f"{topic.id} declares {len(bugs)} known bugs; at least 3 are required"


@pytest.mark.parametrize(
    ("topic", "bug"), all_bugs(), ids=lambda x: getattr(x, "id", None) or getattr(x, "name", "")
)
def test_known_bug_fails_its_parts_and_is_named(topic, bug):
    result = grade_bug(topic, bug)
    assert failed_parts(result) == set(bug.failing_parts), (
        f"{bug.name} should fail exactly {sorted(bug.failing_parts)}, failed {sorted(failed_parts(result))}"
    )
    named = {t.diagnosis.name for t in result.tests if not t.passed and t.diagnosis}
    assert bug.name in named, f"no failing test names {bug.name}; diagnoses: {sorted(named)}"
    others = {
        t.diagnosis.name
        for t in result.tests
        if t.diagnosis and t.diagnosis.kind in ("known-bug", "convention")
    } - {bug.name}
    assert not others, f"{bug.name} was also given the name of another known bug: {sorted(others)}"
    for t in result.tests:
        if not t.passed:
            assert t.message.strip(), f"{t.name} fails without a message"


@pytest.mark.parametrize(
    ("topic", "path"),
    alternatives(),
    ids=lambda x: getattr(x, "id", None) or getattr(x, "name", ""),
)
def test_correct_alternative_gets_full_marks(topic, path):
    result = grade_source(topic, path.read_text(encoding="utf-8"))
    failures = [f"{t.name}: {t.message}" for t in result.tests if not t.passed]
    assert result.passed, "\n".join(failures)
    assert all(t.diagnosis is None for t in result.tests)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_the_reference_as_a_notebook_scores_as_the_file(topic):
    """`nnfs next --notebook`, each function cell filled in: the same verdicts as the .py."""
    result, filled = grade_reference_notebook(topic)
    assert filled >= sum(1 for c in topic.solution_path.read_text(encoding="utf-8").split("\ndef ")[1:]
                         if "### BEGIN SOLUTION" in c), "every exercise function has its own cell"  # fmt: skip
    failures = [f"{t.name}: {t.message}" for t in result.tests if not t.passed]
    assert result.passed, "\n".join(failures)
    assert [(t.name, t.points) for t in result.tests] == [
        (t.name, t.points) for t in grade_reference(topic).tests
    ]


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.id)
def test_topic_has_a_correct_alternative(topic):
    assert any(t == topic for t, _ in alternatives()), (
        f"add tests/alternatives/{topic.module_name}__<style>.py"
    )


def test_reference_results_carry_no_diagnosis():
    for topic in TOPICS:
        assert all(t.diagnosis is None for t in grade_reference(topic).tests)
