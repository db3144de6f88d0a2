"""Broken and hostile submissions, each a change to the reference of perceptron-theory.

A case says what it does to the source, which parts must fail, what the learner must read,
and how nnfs catches it (the report's table is made from these).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from nnfs_cli.catalog import load_catalog

TOPIC = load_catalog().get("perceptron-theory")
ALL = frozenset(
    {
        "step",
        "step_grad",
        "sigmoid",
        "sigmoid_grad",
        "relu",
        "relu_grad",
        "neuron",
        "perceptron_update",
    }
)
RELU = frozenset({"relu", "neuron"})  # neuron calls relu
NONE: frozenset[str] = frozenset()
RELU_BODY = "    return np.maximum(z, 0)\n"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    make: Callable[[str, dict], str]  # (reference source, paths) -> submission source
    fails: frozenset[str]
    says: str  # a phrase the learner must read in a failing message (or the run's error)
    caught_by: str
    slow: bool = False  # waits for a timeout


def relu_body(code: str, keep_return: bool = False) -> Callable[[str, dict], str]:
    body = textwrap.indent(textwrap.dedent(code).strip("\n"), "    ") + "\n"
    return lambda ref, paths: ref.replace(
        RELU_BODY, body.format(**paths) + (RELU_BODY if keep_return else "")
    )


def top(code: str) -> Callable[[str, dict], str]:
    return lambda ref, paths: ref.replace(
        "import numpy as np\n", "import numpy as np\n" + textwrap.dedent(code).format(**paths), 1
    )


def whole(text: str) -> Callable[[str, dict], str]:
    return lambda ref, paths: text


def both(*makers):
    def make(ref, paths):
        for m in makers:
            ref = m(ref, paths)
        return ref

    return make


WRONG_RELU = relu_body("return z")  # a wrong answer that tampering tries to pass off as right

CASES = [
    # -- broken code ---------------------------------------------------------------------
    Case(
        "syntax-error",
        "broken",
        lambda r, p: r + "\ndef broken(:\n    pass\n",
        ALL,
        "syntax error at",
        "compile in the worker; every test reports file and line",
    ),
    Case(
        "import-error",
        "broken",
        top("import nnfs_no_such_module\n"),
        ALL,
        "does not import: ModuleNotFoundError",
        "import in the worker; load error on every test",
    ),
    Case(
        "missing-function",
        "broken",
        lambda r, p: re.sub(r"\ndef relu\(z.*?### END SOLUTION\n", "\n", r, count=1, flags=re.S),
        RELU,
        "no function `relu`",
        "worker lists the module's functions",
    ),
    Case(
        "wrong-signature",
        "broken",
        lambda r, p: r.replace("def relu(z: np.ndarray)", "def relu(z: np.ndarray, extra)"),
        RELU,
        "raised TypeError",
        "the call raises in the worker",
    ),
    Case(
        "returns-none",
        "broken",
        relu_body("return None"),
        RELU,
        "expected a NumPy array, got NoneType",
        "type check before comparing",
    ),
    Case(
        "wrong-type",
        "broken",
        relu_body("return 'relu'"),
        RELU,
        "got str",
        "type check before comparing",
    ),
    Case(
        "nan-outputs",
        "broken",
        relu_body("return np.full_like(z, np.nan)"),
        RELU,
        "NaN or inf",
        "comparison counts non-finite values",
    ),
    Case(
        "inf-outputs",
        "broken",
        relu_body("return np.full_like(z, np.inf)"),
        RELU,
        "NaN or inf",
        "comparison counts non-finite values",
    ),
    Case(
        "not-plain-data",
        "broken",
        relu_body("return object()"),
        RELU,
        "not plain data",
        "worker refuses to send objects; grader unpickles plain data only",
    ),
    Case(
        "object-array",
        "broken",
        relu_body("return np.array([object()])"),
        RELU,
        "not plain data",
        "worker refuses dtype=object",
    ),
    Case(
        "mutates-input",
        "broken",
        relu_body("np.maximum(z, 0, out=z)\nreturn z"),
        RELU,
        "modified its input in place",
        "worker compares inputs before/after each call",
    ),
    Case(
        "keyboard-interrupt",
        "broken",
        relu_body("raise KeyboardInterrupt"),
        RELU,
        "raised KeyboardInterrupt",
        "worker catches BaseException",
    ),
    Case(
        "empty-file",
        "broken",
        whole("\n"),
        ALL,
        "no function",
        "worker lists the module's functions",
    ),
    Case(
        "prints-megabytes-stdout",
        "output",
        relu_body("print('x' * 5_000_000)", keep_return=True),
        NONE,
        "",
        "drained by a thread, only the tail kept",
    ),
    Case(
        "prints-megabytes-stderr",
        "output",
        relu_body("import sys\nsys.stderr.write('y' * 5_000_000)", keep_return=True),
        NONE,
        "",
        "drained by a thread, only the tail kept",
    ),
    # -- hangs ---------------------------------------------------------------------------
    Case(
        "infinite-loop",
        "hang",
        relu_body("while True:\n    pass"),
        RELU,
        "no answer within",
        "per-call wall-clock timeout, process-group kill",
        slow=True,
    ),
    Case(
        "sleep-forever",
        "hang",
        relu_body("import time\ntime.sleep(10**6)"),
        RELU,
        "no answer within",
        "per-call timeout",
        slow=True,
    ),
    Case(
        "c-level-busy-loop",
        "hang",
        relu_body("sum(range(10**13))"),
        RELU,
        "no answer within",
        "per-call timeout; SIGKILL stops C code",
        slow=True,
    ),
    Case(
        "deep-recursion",
        "hang",
        relu_body("def down(n):\n    return down(n + 1)\nreturn down(0)"),
        RELU,
        "recursed too deeply",
        "RecursionError reported by the worker",
    ),
    Case(
        "c-stack-overflow",
        "crash",
        relu_body(
            "import sys\nsys.setrecursionlimit(10**8)\ndef down(n):\n    return list(map(down, [n + 1]))\nreturn down(0)"
        ),
        RELU,
        "died from",
        "worker death detected from its exit signal",
    ),
    Case(
        "thread-never-ends",
        "hang",
        top("import threading, time\nthreading.Thread(target=lambda: time.sleep(10**6)).start()\n"),
        NONE,
        "",
        "worker's process group killed at the end",
    ),
    Case(
        "busy-thread",
        "hang",
        top(
            "import threading\ndef _spin():\n    while True:\n        pass\nthreading.Thread(target=_spin, daemon=True).start()\n"
        ),
        NONE,
        "",
        "worker's process group killed at the end",
    ),
    Case(
        "top-level-infinite-loop",
        "hang",
        top("while True:\n    pass\n"),
        ALL,
        "did not finish importing",
        "load timeout; the submission is failed once, not per test",
        slow=True,
    ),
    Case(
        "fork-outlives",
        "hang",
        relu_body("import os, time\nif os.fork() == 0:\n    time.sleep(10**6)"),
        RELU,
        "may not start other processes",
        "audit hook refuses os.fork",
    ),
    Case(
        "subprocess",
        "hang",
        relu_body("import subprocess\nsubprocess.Popen(['sleep', '1000'])"),
        RELU,
        "may not start other processes",
        "audit hook refuses subprocess",
    ),
    Case(
        "os-system",
        "hang",
        relu_body("import os\nos.system('sleep 1000 &')"),
        RELU,
        "may not start other processes",
        "audit hook refuses os.system",
    ),
    # -- exits and crashes ---------------------------------------------------------------
    Case(
        "sys-exit",
        "exit",
        relu_body("import sys\nsys.exit(0)"),
        RELU,
        "called sys.exit()",
        "SystemExit caught in the worker",
    ),
    Case(
        "sys-exit-at-import",
        "exit",
        top("import sys\nsys.exit(3)\n"),
        ALL,
        "does not import: SystemExit",
        "load error on every test",
    ),
    Case(
        "os-_exit",
        "exit",
        relu_body("import os\nos._exit(0)"),
        RELU,
        "ended the Python process",
        "worker death detected; restarted for the next test",
    ),
    Case(
        "os-_exit-at-import",
        "exit",
        top("import os\nos._exit(0)\n"),
        ALL,
        "does not import",
        "worker death during load",
    ),
    Case(
        "sigkill-self",
        "crash",
        relu_body("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        RELU,
        "died from SIGKILL",
        "exit signal read by the grader",
    ),
    Case(
        "segfault",
        "crash",
        relu_body("import ctypes\nctypes.string_at(0)"),
        RELU,
        "segmentation fault",
        "exit signal read by the grader",
    ),
    Case(
        "kill-parent",
        "crash",
        relu_body("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
        RELU,
        "may not signal other processes",
        "audit hook refuses signals to other processes",
    ),
    # -- memory --------------------------------------------------------------------------
    Case(
        "huge-allocation",
        "memory",
        relu_body("return np.ones((10**6, 10**5))"),
        RELU,
        "more memory than allowed",
        "RLIMIT_AS on the worker",
    ),
    Case(
        "memory-growth",
        "memory",
        relu_body("hog = []\nwhile True:\n    hog.append(np.empty(10**8))"),
        RELU,
        "more memory than allowed",
        "RLIMIT_AS on the worker",
    ),
    # -- tampering -----------------------------------------------------------------------
    Case(
        "patch-np-allclose",
        "tamper",
        both(
            top(
                "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *x, **k: np.ones(np.shape(a), bool)\n"
            ),
            WRONG_RELU,
        ),
        RELU,
        "wrong values",
        "comparisons run in the grader process, not the worker",
    ),
    Case(
        "patch-np-testing",
        "tamper",
        both(
            top("import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"),
            WRONG_RELU,
        ),
        RELU,
        "wrong values",
        "comparisons run in the grader process",
    ),
    Case(
        "patch-check-helpers",
        "tamper",
        both(
            top("import nnfs_cli.checks as _c\n_c.assert_close = lambda *a, **k: None\n"),
            WRONG_RELU,
        ),
        RELU,
        "wrong values",
        "the grader's helpers are bound in another process",
    ),
    Case(
        "patch-pytest",
        "tamper",
        both(
            top(
                "import pytest, _pytest.outcomes\npytest.fail = _pytest.outcomes.fail = lambda *a, **k: None\n"
            ),
            WRONG_RELU,
        ),
        RELU,
        "wrong values",
        "pytest runs in the grader process",
    ),
    Case(
        "patch-torch-allclose",
        "tamper",
        top("import torch\ntorch.allclose = lambda *a, **k: True\n"),
        ALL,
        "importing 'torch' is not allowed",
        "audit hook refuses torch in a NumPy topic",
    ),
    Case(
        "fake-result-file",
        "tamper",
        both(
            relu_body("open('{result}', 'w').write('{{\"tests\": []}}')", keep_return=True),
            WRONG_RELU,
        ),
        RELU,
        "may not write files",
        "audit hook refuses writes; results are written after the worker is killed",
    ),
    Case(
        "edit-progress-store",
        "tamper",
        relu_body("open('{progress}', 'w').write('{{}}')"),
        RELU,
        "may not open",
        "audit hook protects the workspace's .nnfs/",
    ),
    Case(
        "edit-grader",
        "tamper",
        relu_body("open('{grader}', 'a').write('# pass')"),
        RELU,
        "may not open",
        "audit hook protects graders/",
    ),
    Case(
        "delete-workspace-file",
        "tamper",
        relu_body("import os\nos.remove('{learner_file}')"),
        RELU,
        "may not change files",
        "audit hook refuses file changes outside the scratch folder",
    ),
    Case(
        "read-reference",
        "tamper",
        relu_body(
            "src = open('{solution}').read()\nns = {{}}\nexec(src, ns)\nreturn ns['relu'](z)"
        ),
        RELU,
        "may not open",
        "audit hook protects solutions/",
    ),
    Case(
        "import-reference",
        "tamper",
        relu_body(
            "import importlib.util\nspec = importlib.util.spec_from_file_location('r', '{solution}')\nm = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(m)\nreturn m.relu(z)"
        ),
        RELU,
        "may not open",
        "audit hook sees open_code too",
    ),
    Case(
        "network",
        "tamper",
        relu_body("import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)"),
        RELU,
        "may not use the network",
        "audit hook refuses connect",
    ),
    # -- from-scratch violations -----------------------------------------------------------
    Case(
        "torch-import",
        "from-scratch",
        top("import torch\n"),
        ALL,
        "importing 'torch' is not allowed",
        "audit hook on import",
    ),
    Case(
        "torch-importlib",
        "from-scratch",
        relu_body(
            "import importlib\nt = importlib.import_module('torch')\nreturn t.relu(t.as_tensor(z)).numpy()"
        ),
        RELU,
        "importing 'torch' is not allowed",
        "audit hook on import",
    ),
    Case(
        "torch-dunder-import",
        "from-scratch",
        relu_body("t = __import__('torch')\nreturn t.relu(t.as_tensor(z)).numpy()"),
        RELU,
        "importing 'torch' is not allowed",
        "audit hook on import",
    ),
    Case(
        "torch-exec",
        "from-scratch",
        relu_body(
            "ns = {{}}\nexec('import torch', ns)\nreturn ns['torch'].relu(ns['torch'].as_tensor(z)).numpy()"
        ),
        RELU,
        "importing 'torch' is not allowed",
        "audit hook on import",
    ),
    Case(
        "torch-obfuscated",
        "from-scratch",
        relu_body("t = __import__(''.join(['to', 'rch']))\nreturn t.relu(t.as_tensor(z)).numpy()"),
        RELU,
        "importing 'torch' is not allowed",
        "audit hook on import",
    ),
    Case(
        "sklearn-import",
        "from-scratch",
        relu_body("import sklearn"),
        RELU,
        "importing 'sklearn' is not allowed",
        "audit hook on import",
    ),
]
