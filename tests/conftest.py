import os

import pytest

from nnfs_cli.catalog import load_catalog

os.environ.setdefault("NO_COLOR", "1")
# `nnfs check` forks gradings from a warm grader it starts in the background; the suite's
# hundreds of checks (many with their own HOME) would leave one running per cache folder.
# tests/test_warm_grader.py turns it on for itself and stops what it started.
os.environ.setdefault("NNFS_WARM_GRADER", "0")

# Files whose tests share one worker (their module fixtures build a graded class once,
# and two nbgrader batches at once would fight over 2 cores). pytest 9.2 drops the nodeid
# suffix xdist's `--dist loadgroup` relies on (pytest-xdist issue 1386): the class was
# built twice, 4.5 minutes of a CI run, so the grouping is by file here.
WORKER_GROUPS = {
    "tests/test_nbgrader.py": "nbgrader",
    "tests/test_course_faults.py": "nbgrader",
}


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # a hook only pytest-xdist defines
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadGroupScheduling

    class ByFile(LoadGroupScheduling):
        """loadgroup, with the groups above; every other test is scheduled on its own."""

        def _split_scope(self, nodeid: str) -> str:
            group = WORKER_GROUPS.get(nodeid.split("::")[0])
            return group or super()._split_scope(nodeid)

    return ByFile(config, log)


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture
def planned_topic(tmp_path, monkeypatch):
    """The id of a topic that is still planned. Every topic of the curriculum is available
    now, so the catalog's last topic is marked planned in a copy the CLI reads instead."""
    import re

    from nnfs_cli import catalog as module

    last = load_catalog().topics[-1].id
    text = (module.PACKAGE_DIR / "catalog.toml").read_text(encoding="utf-8")
    start = text.index(f'id = "{last}"')
    entry = re.compile(r'status = "available"').search(text, start)
    copy = tmp_path / "catalog.toml"
    copy.write_text(
        text[: entry.start()] + 'status = "planned"' + text[entry.end() :], encoding="utf-8"
    )
    function = getattr(module.load_catalog, "__wrapped__", module.load_catalog)  # under its cache
    monkeypatch.setattr(function, "__defaults__", (copy,))
    clear = getattr(module.load_catalog, "cache_clear", lambda: None)
    clear()
    assert not load_catalog().get(last).available
    yield last
    monkeypatch.undo()
    clear()


@pytest.fixture(scope="session", autouse=True)
def warm_workers():
    """In-process gradings fork the learner's worker from a zygote, as the warm grader's
    do (tests/hostile/test_fence.py proves the fence both ways)."""
    from nnfs_cli.sandbox.client import keep_zygotes, stop_zygotes

    keep_zygotes()
    yield
    stop_zygotes()
