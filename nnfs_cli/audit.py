"""Mutation testing of graders: does each grader kill wrong variants of its reference?

Mutants are made with a small AST mutator, only inside `### BEGIN SOLUTION` blocks (the
code a learner writes). Each mutant is graded by the topic's real grader, in parallel; a
mutant that still gets full marks *survived*. Mutants reviewed as equivalent (they cannot
change behaviour) are declared next to the topic's known bugs as
`EQUIVALENT = {"mutant-id": "reason"}` and left out of the kill rate.

mutmut and cosmic-ray were considered: both mutate whole projects and drive their own test
runner, while here only solution blocks may change and the judge is the sandboxed grader.
"""

from __future__ import annotations

import ast
import copy
import difflib
import importlib.util
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nnfs_cli.catalog import Topic
from nnfs_cli.errors import NnfsError
from nnfs_cli.grading.runner import grade
from nnfs_cli.stubs import BEGIN, END

SIBLINGS = {
    "max": "min", "min": "max", "maximum": "minimum", "minimum": "maximum", "argmax": "argmin", "argmin": "argmax",
    "sum": "mean", "mean": "sum", "exp": "log", "log": "exp", "zeros": "ones", "ones": "zeros",
    "zeros_like": "ones_like", "ones_like": "zeros_like", "sqrt": "abs", "tanh": "sin", "abs": "negative",
}  # fmt: skip
ARITH = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.MatMult: ast.Mult,
}
COMPARE = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    id: str  # stable: function/operator/description#occurrence
    function: str
    operator: str
    description: str
    source: str
    diff: str


@dataclass
class TopicAudit:
    topic: str
    mutants: int = 0
    killed: int = 0
    survived: list[Mutant] = field(default_factory=list)
    timed_out: int = 0
    equivalent: dict[str, str] = field(default_factory=dict)  # id -> reason (those generated)
    seconds: float = 0.0
    # gradings that never started (the submission did not finish importing, twice): an
    # overloaded machine, not a verdict on the grader, so neither killed nor survived
    unjudged: list[Mutant] = field(default_factory=list)

    @property
    def kill_rate(self) -> float:
        judged = self.mutants - len(self.equivalent) - len(self.unjudged)
        return 1.0 if judged <= 0 else self.killed / judged

    def to_json(self) -> dict:
        return {
            "topic": self.topic,
            "mutants": self.mutants,
            "killed": self.killed,
            "survived": len(self.survived),
            "timed_out": self.timed_out,
            "equivalent": len(self.equivalent),
            "unjudged": [m.id for m in self.unjudged],
            "kill_rate": round(self.kill_rate, 4),
            "survivors": [{"id": m.id, "diff": m.diff} for m in self.survived],
            "equivalents": self.equivalent,
            "seconds": round(self.seconds, 1),
        }


def solution_lines(source: str) -> set[int]:
    """Line numbers (1-based) inside solution blocks."""
    inside, lines = False, set()
    for n, line in enumerate(source.splitlines(), start=1):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            lines.add(n)
    return lines


def _function_of(tree: ast.Module) -> dict[int, str]:
    owner = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for sub in ast.walk(node):
                if hasattr(sub, "lineno"):
                    owner.setdefault(sub.lineno, node.name)
    return owner


def _dotted_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


Edit = tuple[str, str, Callable[[ast.AST], ast.AST | None]]  # (operator, description, transform)


def _edits(node: ast.AST) -> Iterator[Edit]:
    """Every mutation one node admits; a transform returns the replacement (None: delete)."""
    if isinstance(node, ast.BinOp) and type(node.op) in ARITH:
        new = ARITH[type(node.op)]
        yield (
            "arith",
            f"{type(node.op).__name__}->{new.__name__}",
            lambda n, new=new: ast.BinOp(n.left, new(), n.right),
        )
        if isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            yield "drop-term", "keep left", lambda n: n.left
            yield (
                "drop-term",
                "keep right",
                lambda n: (
                    ast.UnaryOp(ast.USub(), n.right) if isinstance(n.op, ast.Sub) else n.right
                ),
            )
        if isinstance(node.op, ast.MatMult) and not (
            isinstance(node.right, ast.Attribute) and node.right.attr == "T"
        ):
            yield (
                "transpose",
                "add .T to right operand",
                lambda n: ast.BinOp(n.left, n.op, ast.Attribute(n.right, "T", ast.Load())),
            )
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE:
        new = COMPARE[type(node.ops[0])]
        yield (
            "compare",
            f"{type(node.ops[0]).__name__}->{new.__name__}",
            lambda n, new=new: ast.Compare(n.left, [new()], n.comparators),
        )
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield (
            "boolean",
            f"{type(node.op).__name__}->{other.__name__}",
            lambda n, other=other: ast.BoolOp(other(), n.values),
        )
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "boolean", "drop not", lambda n: n.operand
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "arith", "drop unary minus", lambda n: n.operand
    elif (
        isinstance(node, ast.Constant)
        and type(node.value) in (int, float)
        and not isinstance(node.value, bool)
    ):
        v = node.value
        changes = {0: [1], 1: [0, 2], 0.5: [1.0]}.get(
            v, [v + 1, v - 1] if isinstance(v, int) else [v * 2]
        )
        for c in changes:
            yield "constant", f"{v!r}->{c!r}", lambda n, c=c: ast.Constant(c)
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield "constant", f"{node.value}->{not node.value}", lambda n: ast.Constant(not n.value)
    elif isinstance(node, ast.Attribute) and node.attr == "T":
        yield "transpose", "remove .T", lambda n: n.value
    elif isinstance(node, ast.Call):
        name = _dotted_name(node.func)
        if name in SIBLINGS:
            sib = SIBLINGS[name]

            def swap(n, sib=sib):
                func = copy.deepcopy(n.func)
                if isinstance(func, ast.Name):
                    func.id = sib
                else:
                    func.attr = sib
                return ast.Call(func, n.args, n.keywords)

            yield "sibling", f"{name}->{sib}", swap
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            yield (
                "swap-args",
                "swap first two arguments",
                lambda n: ast.Call(n.func, [n.args[1], n.args[0], *n.args[2:]], n.keywords),
            )
        for i, kw in enumerate(node.keywords):
            if kw.arg == "axis" and isinstance(kw.value, ast.Constant | ast.UnaryOp):
                val = ast.literal_eval(kw.value)
                if isinstance(val, int):
                    for new in sorted({0, 1, -1} - {val}):
                        yield (
                            "axis",
                            f"axis={val}->{new}",
                            lambda n, i=i, new=new: ast.Call(
                                n.func,
                                n.args,
                                [
                                    *n.keywords[:i],
                                    ast.keyword("axis", ast.Constant(new)),
                                    *n.keywords[i + 1 :],
                                ],
                            ),
                        )
                yield (
                    "axis",
                    "drop axis",
                    lambda n, i=i: ast.Call(
                        n.func, n.args, [*n.keywords[:i], *n.keywords[i + 1 :]]
                    ),
                )
            if kw.arg == "keepdims" and isinstance(kw.value, ast.Constant):
                yield (
                    "axis",
                    f"keepdims={kw.value.value}->{not kw.value.value}",
                    lambda n, i=i: ast.Call(
                        n.func,
                        n.args,
                        [
                            *n.keywords[:i],
                            ast.keyword("keepdims", ast.Constant(not n.keywords[i].value.value)),
                            *n.keywords[i + 1 :],
                        ],
                    ),
                )
    elif isinstance(node, ast.AugAssign):
        yield "delete-update", "delete in-place update", lambda n: None
    elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Subscript) for t in node.targets):
        yield "delete-update", "delete item assignment", lambda n: None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: int, transform) -> None:
        self.target, self.transform, self.count = target, transform, -1

    def generic_visit(self, node):
        return super().generic_visit(node)

    def visit(self, node):
        self.count += 1
        if self.count == self.target:
            new = self.transform(node)
            if new is None:
                return ast.Pass() if isinstance(node, ast.stmt) else node
            return ast.copy_location(new, node)
        return super().visit(node)


def mutants(topic: Topic) -> list[Mutant]:
    source = topic.solution_path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    inside = solution_lines(source)
    owner = _function_of(tree)
    original = ast.unparse(tree)
    out, seen, counts = [], set(), {}
    for position, statement in enumerate(tree.body):
        # each edit copies and re-visits only the top-level statement it is in, not the module
        for index, node in enumerate(_walk_in_order(statement)):
            if getattr(node, "lineno", None) not in inside:
                continue
            for operator, description, transform in _edits(node):
                edited = _Replace(index, transform).visit(copy.deepcopy(statement))
                body = [*tree.body[:position], edited, *tree.body[position + 1 :]]
                try:
                    ast.fix_missing_locations(edited)
                    text = ast.unparse(ast.Module(body=body, type_ignores=[]))
                    compile(text, "<mutant>", "exec")
                except (SyntaxError, ValueError, TypeError, AttributeError):
                    continue
                if text == original or text in seen:
                    continue
                seen.add(text)
                function = owner.get(node.lineno, "?")
                key = f"{function}/{operator}/{description}"
                counts[key] = counts.get(key, 0) + 1
                diff = "".join(
                    list(
                        difflib.unified_diff(original.splitlines(True), text.splitlines(True), n=1)
                    )[2:]
                )
                out.append(
                    Mutant(f"{key}#{counts[key] - 1}", function, operator, description, text, diff)
                )
    return out


def _walk_in_order(tree: ast.AST) -> Iterator[ast.AST]:
    """Nodes in the order NodeTransformer.visit meets them (pre-order)."""
    yield tree
    for child in ast.iter_child_nodes(tree):
        yield from _walk_in_order(child)


def equivalents(topic: Topic) -> dict[str, str]:
    if not topic.bugs_path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(
        f"nnfs_bugs_eq_{topic.module_name}", topic.bugs_path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(getattr(module, "EQUIVALENT", {}))


def never_started(result) -> bool:
    """Every failure is the submission not finishing its import in time (a loaded machine:
    a mutant changes function bodies, never what the module does when imported)."""
    failed = [t for t in result.tests if not t.passed]
    return bool(failed) and all("did not finish importing" in t.message for t in failed)


def _judge(topic: Topic, mutant: Mutant, in_process: bool = False, retry: bool = True) -> str:
    """killed | survived | timeout | unjudged"""
    with tempfile.TemporaryDirectory(prefix="nnfs-mutant-") as d:
        path = Path(d, topic.relpath.name)
        path.write_text(mutant.source, encoding="utf-8")
        try:
            # children fork from the warm grader: no pytest or torch start-up per mutant
            result = grade(topic, path, call_timeout=5.0, run_timeout=120.0, exit_first=True,
                           in_process=in_process, warm=not in_process)  # fmt: skip
        except NnfsError:
            return "killed"
    if result.error:
        return "timeout"
    if result.passed:
        return "survived"
    if never_started(result):
        return _judge(topic, mutant, in_process, retry=False) if retry else "unjudged"
    timed_out = any(
        "no answer within" in t.message or "did not return in time" in t.message
        for t in result.tests
        if not t.passed
    )
    return (
        "timeout"
        if timed_out
        and all(
            ("no answer" in t.message or "did not return" in t.message)
            for t in result.tests
            if not t.passed
        )
        else "killed"
    )


def audit(
    topic: Topic,
    *,
    sample: int | None = None,
    seed: int = 0,
    workers: int | None = None,
    on_done=None,
) -> TopicAudit:
    import time

    started = time.perf_counter()
    all_mutants = mutants(topic)
    if sample is not None and sample < len(all_mutants):
        all_mutants = random.Random(f"{seed}-{topic.id}").sample(all_mutants, sample)
    declared = equivalents(topic)
    report = TopicAudit(topic.id, mutants=len(all_mutants))
    report.equivalent = {m.id: declared[m.id] for m in all_mutants if m.id in declared}
    judged = [m for m in all_mutants if m.id not in declared]
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        # one worker: grade in this process (pytest.main wants the main thread), saving a
        # Python start-up and a torch import per mutant; the mutant still runs sandboxed
        verdicts = (
            map(lambda m: _judge(topic, m, in_process=True), judged)
            if workers == 1
            else pool.map(lambda m: _judge(topic, m), judged)
        )
        for mutant, verdict in zip(judged, verdicts):
            if verdict == "killed":
                report.killed += 1
            elif verdict == "unjudged":
                report.unjudged.append(mutant)
            elif verdict == "timeout":
                report.timed_out += 1
                report.killed += 1  # a mutant that hangs is caught: the learner would see a timeout
            else:
                report.survived.append(mutant)
            if on_done:
                on_done()
    report.seconds = time.perf_counter() - started
    return report
