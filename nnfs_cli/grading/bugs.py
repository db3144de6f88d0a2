"""Known bugs: a mistake learners really make, declared once, used twice.

A `KnownBug` replaces one function of the reference with wrong code. The tests prove the
grader fails it (in the parts listed in `fails`), and the grader uses it as an error
model: when a learner's output matches the bug's output, the failure names the mistake.
"""

from __future__ import annotations

import ast
import importlib.util
import textwrap
import types
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from nnfs_cli.catalog import Topic

KINDS = ("known-bug", "convention")


@dataclass(frozen=True)
class KnownBug:
    """A wrong function the grader recognises.

    kind "known-bug" is a mistake; kind "convention" is code that is right under another
    well-known convention (keep- vs drop-probability, eps inside the root, (out, in)
    weights...): its hint says which one the learner followed, which one the exercise uses
    and why, and the learner sees it as a convention, not as an error.
    """

    name: str  # short, kebab-case: "bias-grad-not-summed"
    function: str  # the function whose code it replaces
    hint: str  # one line: how to fix it (a convention: theirs, ours, and why ours)
    code: str  # the wrong function, a complete `def`
    fails: tuple[str, ...] = field(default=())  # parts that must fail (default: `function`)
    kind: str = "known-bug"  # or "convention"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"KnownBug {self.name}: kind must be one of {KINDS}, not {self.kind!r}"
            )

    @property
    def failing_parts(self) -> tuple[str, ...]:
        return self.fails or (self.function,)


def edited(code: str, *edits: tuple[str, str]) -> str:
    """`code` with each (old, new) fragment replaced; each must occur exactly once.

    For a family of known bugs that each change one line of the same function: the
    correct function is written once in the bugs file and every bug names its edit.
    """
    for old, new in edits:
        if code.count(old) != 1:
            raise ValueError(f"the edit {old!r} must match exactly once")
        code = code.replace(old, new)
    return code


def reference_function(bugs_file: str | Path, name: str) -> str:
    """The source of function `name` as the topic's solution file has it, markers removed.

    Call it from a bugs file with `__file__`: a known bug that is one change is then
    `edited(reference_function(__file__, "f"), (old, new))`, and follows the reference
    whenever the reference changes (graders/<folder>/<m>_bugs.py -> solutions/<folder>/<m>.py,
    in the repository and in the installed package alike).
    """
    bugs = Path(bugs_file).resolve()
    solution = (
        bugs.parents[2] / "solutions" / bugs.parent.name / bugs.name.replace("_bugs.py", ".py")
    )
    source = solution.read_text(encoding="utf-8")
    node = next(
        (n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name),
        None,
    )
    if node is None:
        raise ValueError(f"{solution.name} defines no function {name!r}")
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    lines = source.splitlines()[first - 1 : node.end_lineno]
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    return textwrap.dedent("\n".join(x for x in lines if x.strip() not in markers)) + "\n"


def load_bugs(topic: Topic) -> list[KnownBug]:
    if not topic.bugs_path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"nnfs_bugs_{topic.module_name}", topic.bugs_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.BUGS)


def variant_source(topic: Topic, bug: KnownBug) -> str:
    """The reference with one function replaced: later `def`s win in Python."""
    reference = topic.solution_path.read_text(encoding="utf-8")
    return f"{reference}\n\n# known bug: {bug.name}\n{textwrap.dedent(bug.code).strip()}\n"


@cache
def variant_module(topic: Topic, bug_name: str) -> types.ModuleType:
    bug = next(b for b in load_bugs(topic) if b.name == bug_name)
    module = types.ModuleType(f"{topic.module_name}__{bug.name.replace('-', '_')}")
    exec(compile(variant_source(topic, bug), f"<known bug {bug.name}>", "exec"), module.__dict__)
    return module
