"""Reference answers remembered across gradings: same answers, own copies, never stale."""

import time
import types

import numpy as np

from nnfs_cli.grading import memo
from nnfs_cli.grading.memo import Remembering

SOURCE = """
import time
import numpy as np
CALLS = []
def slow_double(x, scale=2.0):
    CALLS.append(1)
    time.sleep(0.03)
    return {"y": x * scale, "note": "ok"}
def slow_len(obj):
    CALLS.append(1)
    time.sleep(0.03)
    return len(obj)
def quick(x):
    CALLS.append(1)
    return x + 1
"""


def _module(source: str = SOURCE, name: str = "nnfs_reference_toy") -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)
    for value in module.__dict__.values():
        if callable(value) and hasattr(value, "__module__"):
            value.__module__ = name
    return module


def test_a_slow_answer_is_remembered_and_each_caller_gets_a_copy():
    module = _module()
    ref = Remembering(module, SOURCE)
    x = np.arange(3.0)
    first = ref.slow_double(x, scale=2.0)
    first["y"][0] = 99.0  # a grader changing what it got changes nobody else's answer
    started = time.perf_counter()
    again = ref.slow_double(x.copy(), scale=2.0)
    assert time.perf_counter() - started < 0.03 and len(module.CALLS) == 1
    assert np.array_equal(again["y"], [0.0, 2.0, 4.0]) and again["note"] == "ok"
    assert np.array_equal(ref.slow_double(x, scale=3.0)["y"], [0.0, 3.0, 6.0])
    assert len(module.CALLS) == 2  # other inputs: asked again
    assert ref.slow_double.__name__ == "slow_double" and ref.np is np


def test_quick_calls_and_inputs_that_are_not_plain_data_always_run():
    module = _module()
    ref = Remembering(module, SOURCE)
    ref.quick(1.0), ref.quick(1.0)
    assert len(module.CALLS) == 2
    for _ in range(2):
        ref.slow_len([np.random.default_rng(0)])  # a generator has state: never keyed
    assert len(module.CALLS) == 4


def test_a_changed_reference_is_never_answered_from_memory():
    changed = SOURCE.replace("x * scale", "x * scale + 1")
    Remembering(_module(), SOURCE).slow_double(np.ones(2))
    got = Remembering(_module(changed), changed).slow_double(np.ones(2))
    assert np.array_equal(got["y"], [3.0, 3.0])


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(memo, "KEEP", 2)
    monkeypatch.setattr(memo, "WORTH", 0.0)
    ref = Remembering(_module(), SOURCE)
    for i in range(4):
        ref.quick(float(i))
    assert len(memo._answers) <= 2


def test_a_later_process_reads_the_answer_from_the_private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(memo, "_folder", None)
    monkeypatch.setattr(memo, "DISK_WORTH", 0.0)
    monkeypatch.setattr(memo, "_answers", memo.OrderedDict())
    module = _module()
    x = np.arange(4.0, dtype=np.float32)
    first = Remembering(module, SOURCE).slow_double(x, 2.0)
    (written,) = [p for p in (tmp_path / "nnfs").rglob("*") if p.is_file() and "answers" in str(p)]
    memo._answers.clear()  # what a new process starts with
    again = Remembering(module, SOURCE).slow_double(x, 2.0)
    assert len(module.CALLS) == 1
    assert again["y"].dtype == np.float32 and np.array_equal(again["y"], first["y"])
    written.write_bytes(b"\x80\x04not an answer")  # damaged: asked again, never trusted
    memo._answers.clear()
    assert np.array_equal(Remembering(module, SOURCE).slow_double(x, 2.0)["y"], first["y"])
    assert len(module.CALLS) == 2
