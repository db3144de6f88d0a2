"""The pytest plugin every grader runs under (`pytest -p nnfs_cli.grading.plugin`).

It gives graders their fixtures (`learner`, `ref`, `learner_source`, `topic`), records
every learner call of a test, turns each test's outcome into a `TestResult` (with a
teaching message and, when the evidence is exact, a diagnosis) and writes them all as
JSON for the runner. Learner code runs only in the sandbox worker.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import os
import re
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from nnfs_cli.catalog import load_catalog
from nnfs_cli.checks import GradeFailure
from nnfs_cli.diagnosis import from_exception
from nnfs_cli.grading import prestart
from nnfs_cli.grading.bugs import load_bugs, variant_module
from nnfs_cli.grading.call_stories import ATOL, RTOL, call_story
from nnfs_cli.grading.result import Diagnosis, TestResult
from nnfs_cli.grading.server import private_cache
from nnfs_cli.sandbox.client import LearnerError, LearnerRaised, LearnerTimeout, Sandbox

_CALLS = pytest.StashKey[list]()
_REPORT = pytest.StashKey[dict]()
# An in-process grading (runner._run_in_process) gives its progress callback here and
# takes the results from here; a child grading writes both to --nnfs-result-fd.
in_process_channel: dict = {}


@dataclass
class _State:
    topic: object
    sandbox: Sandbox
    result_fd: int | None
    results: list[TestResult] = field(default_factory=list)
    collect_errors: list[str] = field(default_factory=list)
    current: list | None = None
    reference: object = None
    index: int = 0
    total: int = 0


_state: _State | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nnfs")
    group.addoption("--nnfs-topic", help="topic id to grade")
    group.addoption("--nnfs-target", help="the submission (.py or .ipynb)")
    group.addoption(
        "--nnfs-result-fd", type=int, help="pipe for progress events and the JSON results"
    )
    group.addoption(
        "--nnfs-deadline", type=float, help="time.time() by which every learner call must end"
    )
    group.addoption(
        "--nnfs-progress", action="store_true", help="send an event for every learner call"
    )
    group.addoption("--nnfs-parts", default="", help="comma-separated parts to run (default all)")
    group.addoption(
        "--nnfs-protect", action="append", default=[], help="a folder learner code may not open"
    )
    group.addoption(
        "--nnfs-call-timeout", type=float, default=10.0, help="seconds per learner call"
    )


def pytest_configure(config: pytest.Config) -> None:
    global _state
    config.addinivalue_line(
        "markers", "part(name, points=1): the exercise function a test grades, and its points"
    )
    if not config.getoption("--nnfs-topic"):
        return
    # No pytest traceback is ever shown (the messages are ours). Without the terminal plugin
    # (in-process runs) `--tb=no` does not exist, and pytest would parse the grader's source
    # to format each failure's traceback: seconds on a stub where every test fails.
    config.option.tbstyle = "no"
    topic = load_catalog().get(config.getoption("--nnfs-topic"))
    target = Path(config.getoption("--nnfs-target")).resolve()
    protect = tuple(config.getoption("--nnfs-protect"))
    call_timeout = config.getoption("--nnfs-call-timeout")
    sandbox = prestart.take(topic, target, protect, call_timeout)
    sandbox.config.deadline = config.getoption("--nnfs-deadline")
    if config.getoption("--nnfs-progress") or in_process_channel.get("on_event"):
        sandbox.on_call = lambda call: _emit({"event": "call", "call": call})
    result_fd = config.getoption("--nnfs-result-fd")
    if result_fd is not None:
        from nnfs_cli.sandbox.kernel import not_dumpable

        not_dumpable()  # nothing of this user's may read the grader's memory (the reference)
    _state = _State(topic, sandbox, result_fd)


@contextlib.contextmanager
def _private_bytecode():
    """Graders, references and known bugs never load bytecode from beside their source.

    A `.pyc` planted in graders/__pycache__ (valid source hash, rewritten asserts) would
    replace the grader. While they are imported, bytecode is read from and written to
    nnfs's private cache instead (pytest's assertion rewriting follows the same prefix).
    """
    saved = sys.pycache_prefix, sys.dont_write_bytecode
    sys.pycache_prefix = os.path.join(private_cache(), "pycache")
    sys.dont_write_bytecode = (
        False  # our own folder: cached even where PYTHONDONTWRITEBYTECODE is set
    )
    try:
        yield
    finally:
        sys.pycache_prefix, sys.dont_write_bytecode = saved


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session):
    with _private_bytecode():
        yield


def _emit(event: dict) -> None:
    """A progress event (or, last, the results) to whoever runs the grading."""
    if _state is None:
        return
    if _state.result_fd is None:
        on_event = in_process_channel.get("on_event")
        if event["event"] == "result":
            in_process_channel["result"] = event
        elif on_event is not None:
            on_event(event)
        return
    data = (json.dumps(event, default=float) + "\n").encode("utf-8")
    view = memoryview(data)
    while view:
        view = view[os.write(_state.result_fd, view) :]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {p for p in config.getoption("--nnfs-parts").split(",") if p}
    if not wanted:
        return
    # a test that marks its part while running ("?" now) is kept; its result is dropped later
    keep = [i for i in items if _part(i)[0] in wanted | {"?"}]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def _part(item: pytest.Item) -> tuple[str, float]:
    mark = item.get_closest_marker("part")
    if mark is None:
        return "?", 0.0
    return mark.args[0], float(mark.kwargs.get("points", mark.args[1] if len(mark.args) > 1 else 1))


class LearnerFunction:
    """A learner function seen from the grader: calls go to the sandbox and are recorded."""

    def __init__(self, sandbox: Sandbox, name: str, timeout: float | None = None) -> None:
        self._sandbox, self._name, self._timeout = sandbox, name, timeout

    def with_timeout(self, seconds: float) -> LearnerFunction:
        """The same function with a longer limit (training loops)."""
        return LearnerFunction(self._sandbox, self._name, seconds)

    def __call__(self, *args, **kwargs):
        return self._record(
            self._sandbox.call(self._name, args, kwargs, self._timeout), args, kwargs
        )

    def traced(self, *args, **kwargs) -> tuple[object, dict | None]:
        """(result, what the call did at run time: lines of the submission run, routines called)."""
        result = self._sandbox.call(self._name, args, kwargs, self._timeout, trace=True)
        return self._record(result, args, kwargs), self._sandbox.last_trace

    @property
    def name(self) -> str:
        return self._name

    def _record(self, result, args, kwargs):
        if _state is not None and _state.current is not None:
            _state.current.append((self._name, copy.deepcopy(args), copy.deepcopy(kwargs), result))
        return result


class Learner:
    """`learner.sigmoid(z)` calls the learner's `sigmoid` in the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def __getattr__(self, name: str) -> LearnerFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        return LearnerFunction(self._sandbox, name)


@pytest.fixture(scope="session")
def topic():
    return _state.topic


@pytest.fixture(scope="session")
def learner() -> Learner:
    return Learner(_state.sandbox)


@pytest.fixture(scope="session")
def learner_source() -> str:
    """The submission's Python source (a notebook's code cells joined)."""
    return _state.sandbox.submission.source


def _load_reference():
    if _state.reference is None:
        path = _state.topic.solution_path
        spec = importlib.util.spec_from_file_location(
            f"nnfs_reference_{_state.topic.module_name}", path
        )
        module = importlib.util.module_from_spec(spec)
        with _private_bytecode():
            spec.loader.exec_module(module)
        _state.reference = module
    return _state.reference


@pytest.fixture(scope="session")
def ref():
    """The trusted reference solution, imported in the grader process; its answers are
    remembered across the gradings of a long-lived process (`memo`)."""
    from nnfs_cli.grading.memo import Remembering

    return Remembering(_load_reference(), _state.topic.solution_path.read_text(encoding="utf-8"))


@pytest.fixture
def report(request) -> dict:
    """Data a test wants shown or kept even when it passes (e.g. {"table": "..."})."""
    return request.node.stash.setdefault(_REPORT, {})


def pytest_collection_finish(session: pytest.Session) -> None:
    if _state is not None:
        _state.total = len(session.items)


def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_CALLS] = []
    if _state is not None:
        _state.current = item.stash[_CALLS]
        _state.sandbox.printed.clear()  # what the learner prints is kept per test
        _state.index += 1
        if _state.result_fd is not None and not item.config.getoption("--nnfs-progress"):
            return  # nobody is listening: no event per test
        _emit({"event": "test", "part": _part(item)[0], "test": item.name,
               "index": _state.index, "total": _state.total})  # fmt: skip


def _same(a: object, b: object) -> bool:
    """Outputs equal within float32-level tolerance (evidence for a known-bug match)."""
    a, b = _untensor(a), _untensor(b)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if _whole(a) and _whole(b):
        # counts (parameters, MACs, indices) are exact: 744 apart out of 138 M is within
        # float32's tolerance, and was a wrong name
        return np.shape(a) == np.shape(b) and bool(np.array_equal(np.asarray(a), np.asarray(b)))
    try:
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return a == b
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True))


def _detach(value: object) -> tuple[object, bool]:
    """`value` with every torch tensor in it (nested in tuples, lists, dicts) as a NumPy
    array, and whether there was one."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy(), True
    if isinstance(value, tuple | list):
        parts = [_detach(v) for v in value]
        return type(value)(p for p, _ in parts), any(t for _, t in parts)
    if isinstance(value, dict):
        parts = {k: _detach(v) for k, v in value.items()}
        return {k: p for k, (p, _) in parts.items()}, any(t for _, t in parts.values())
    return value, False


def _as_tensors(value: object) -> object:
    """The learner's answer (arrays) as tensors again, for a torch reference to go on with."""
    import torch

    if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        return torch.from_numpy(np.array(value))
    if isinstance(value, tuple | list):
        return type(value)(_as_tensors(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    return value


def _untensor(a: object) -> object:
    """A torch tensor as the NumPy array the learner's would arrive as (a reference or known
    bug run here may return one that requires grad, which np.asarray refuses)."""
    if type(a).__module__.startswith("torch") and hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    return a


def _whole(a: object) -> bool:
    """An integer or an array of integers (not bool)."""
    if isinstance(a, bool | np.bool_):
        return False
    if isinstance(a, int | np.integer):
        return True
    return isinstance(a, np.ndarray) and a.dtype.kind in "iu"


def _known_bug(part: str, calls: list) -> Diagnosis | None:
    """The one known bug that reproduces every recorded learner output of this test, if any.

    When two known bugs both explain the evidence (the inputs cannot tell them apart), no
    name is given: a wrong name is worse than none.
    """
    calls = [c for c in calls if c[3] is not None]
    if not calls:
        return None
    reference = _load_reference()
    matches = []
    with _private_bytecode():
        bugs = load_bugs(_state.topic)
    for bug in bugs:
        if part not in bug.failing_parts:
            continue
        shows = False
        try:  # a known bug that fails to build (a grader's mistake) is skipped, never fatal
            variant = variant_module(_state.topic, bug.name)
            for name, args, kwargs, got in calls:
                theirs = getattr(variant, name)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
                if not _same(theirs, got):
                    break
                ours = getattr(reference, name)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
                shows = shows or not _same(theirs, ours)
            else:
                if shows:
                    matches.append(bug)
        except Exception:
            continue
    if len(matches) == 1:
        return Diagnosis(matches[0].kind, matches[0].name, matches[0].hint)
    return None


def _referenced_functions(module, name: str) -> list[str]:
    """The module's other public functions that its function `name` names in its body."""
    import ast
    import inspect

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(module, name))))
    except (OSError, TypeError, SyntaxError, AttributeError):
        return []
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return sorted(
        n for n in names
        if n != name and not n.startswith("_") and inspect.isfunction(getattr(module, n, None))
        and getattr(module, n).__module__ == module.__name__
    )  # fmt: skip


def _through_story(part: str, calls: list) -> Diagnosis | None:
    """`part` is right, and wrong only through the learner's own helper it uses.

    The reference's function, run with one function it calls replaced by the learner's (in
    the sandbox), reproduces every learner output of the test: the mistake is in that
    helper, which its own tests show. Exact evidence, like a known bug's.
    """
    calls = [c for c in calls if c[3] is not None]
    if not calls or any(c[0] != calls[0][0] for c in calls):
        return None
    name, reference = calls[0][0], _load_reference()
    found = []
    for helper in _referenced_functions(reference, name):
        module = types.ModuleType(f"{reference.__name__}__through_{helper}")
        module.__dict__.update(vars(reference))

        def theirs(*args, _helper=helper, **kwargs):
            # a torch reference hands its helpers tensors: the sandbox takes arrays, and the
            # reference goes on with tensors (the graph through the helper is cut: forward
            # evidence only)
            plain, tensors = _detach((args, kwargs))
            out = _state.sandbox.call(_helper, plain[0], plain[1])
            return _as_tensors(out) if tensors else out

        module.__dict__[helper] = theirs
        rebound = types.FunctionType(
            getattr(reference, name).__code__, module.__dict__, name,
            getattr(reference, name).__defaults__, getattr(reference, name).__closure__,
        )  # fmt: skip
        shows = False
        try:
            for _, args, kwargs, got in calls:
                with np.errstate(all="ignore"):
                    mixed = rebound(*copy.deepcopy(args), **copy.deepcopy(kwargs))
                if not _same(mixed, got):
                    break
                ours = getattr(reference, name)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
                shows = shows or not _same(mixed, ours)
            else:
                if shows:
                    found.append(helper)
        except Exception:  # the learner's helper raised or hung: no evidence either way
            continue
    if len(found) != 1:
        return None
    return Diagnosis(
        "signature",
        f"through-{found[0]}",
        f"`{name}` itself is right: it is wrong only through your `{found[0]}`, which it uses "
        f"(its result equals the exercise's `{name}` run with your `{found[0]}`); fix "
        f"`{found[0]}` (its own tests say how) and this test follows",
    )


def _call_story(calls: list) -> Diagnosis | None:
    try:
        return call_story(_load_reference(), [c for c in calls if c[3] is not None])
    except Exception:  # a story is a bonus: never let it break the report
        return None


def _raised_story(exc: BaseException | None, valid: bool = True) -> Diagnosis | None:
    """The story of an exception the learner raised; `valid`: on inputs the grader did not
    expect to raise on (else the learner's own `raise` is no evidence of a wrong check)."""
    if isinstance(exc, LearnerRaised) and not exc.forbidden:
        # the sandbox quotes the learner's raising line: "raised T at line N (`code`): ..."
        line = re.search(r" raised \w+ at [^\n]*?\(`(.*?)`\): ", str(exc)) if valid else None
        return from_exception(exc.exc_type, exc.detail, line.group(1) if line else "")
    return None


def _message(exc: BaseException) -> tuple[str, str, Diagnosis | None, dict]:
    """(message, status, diagnosis, extra) for a failed test's exception."""
    if isinstance(exc, GradeFailure):
        # a grader that turned the learner's exception into a failure keeps its story
        cause = exc.__cause__ or exc.__context__
        valid = "on valid inputs" in str(exc).partition("\n")[0]
        return str(exc), "failed", exc.diagnosis or _raised_story(cause, valid), exc.extra
    if isinstance(exc, LearnerError):
        status = (
            "not-implemented"
            if exc.not_implemented
            else "hung"
            if isinstance(exc, LearnerTimeout)
            else "error"
        )
        return str(exc), status, _raised_story(exc), {}
    if isinstance(exc, AssertionError):
        return str(exc) or "a check failed", "failed", None, {}
    return (
        f"could not check your result ({type(exc).__name__}: {exc}); does it have the type and "
        "shape the docstring asks for?",
        "error",
        None,
        {},
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if _state is None or report.when == "teardown" or (report.when == "setup" and report.passed):
        return
    part, points = _part(item)
    wanted = {p for p in item.config.getoption("--nnfs-parts").split(",") if p}
    if wanted and part not in wanted:
        return
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
    kept = dict(item.stash.get(_REPORT, {}))
    if report.passed:
        _state.results.append(
            TestResult(
                item.name,
                part,
                True,
                points,
                points,
                "",
                "passed",
                None,
                kept | {"description": doc[0] if doc else ""},
            )
        )
        _state.current = None
        return
    if report.skipped:
        return
    exc = call.excinfo.value if call.excinfo else RuntimeError(report.longreprtext)
    message, status, diagnosis, extra = _message(exc)
    if isinstance(exc, GradeFailure):
        calls = item.stash.get(_CALLS, [])
        diagnosis = (
            _known_bug(part, calls)
            or _through_story(part, calls)
            or diagnosis
            or _call_story(calls)
        )
    if part == "?":
        message = f"grader error: test {item.name} has no @pytest.mark.part marker"
        status = "error"
    extra = kept | dict(extra) | {"description": doc[0] if doc else ""}
    if _state.sandbox.printed:
        extra["printed"] = [list(p) for p in _state.sandbox.printed[:20]]
    _state.results.append(
        TestResult(item.name, part, False, 0.0, points, message, status, diagnosis, extra)
    )
    _state.current = None


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if _state is not None and report.failed:
        _state.collect_errors.append(report.longreprtext[-3000:])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _state is None:
        return
    # Kill the learner's process group *before* reporting: nothing of theirs outlives this.
    _state.sandbox.close()
    _emit(
        {
            "event": "result",
            "tests": [t.to_json() for t in _state.results],
            "collect_errors": _state.collect_errors,
            "learner_output_bytes": _state.sandbox.output_bytes,
            "fence_missing": _state.sandbox.fence_missing or [],
            "notes": _state.sandbox.load_notes,
            "printed": _state.sandbox.printed_at_load,
        }
    )
    if _state.result_fd is not None:
        os.close(_state.result_fd)
