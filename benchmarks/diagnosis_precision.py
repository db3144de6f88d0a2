"""Are the names given true? The precision of diagnoses on the audit's mutants.

The audit knows each mutant's edit (an operator changed, a comparison made strict, a
constant changed, an axis, a transpose, an update deleted...). A story is *consistent* with
an edit when that edit can produce it: a changed comparison can be a threshold or "where"
story, never a scale factor; a changed constant can be a factor or an offset, never a
transpose. For each topic this reports the share of failing tests that carry a name
(target >= 50%) and the share of those names that are consistent with the edit
(target >= 95%), and a passing test must never carry one (target: 0).
Run: python benchmarks/diagnosis_precision.py [--sample N] [--topic T ...] [--show] [--dump F]
(--reclassify F judges a dump again without grading: for work on the classification.)
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from diagnosis_coverage import arguments, graded_mutants  # beside this file

from nnfs_cli.audit import Mutant, mutants
from nnfs_cli.catalog import load_catalog
from nnfs_cli.grading.bugs import load_bugs
from nnfs_cli.grading.result import Diagnosis

# Story families, by what they claim about the code.
VALUE = {  # a number in a formula is wrong: a factor, a term, a transform of the result
    "factor-2", "factor-0.5", "scale-factor", "missing-1/N", "extra-1/N", "times-N-for-1/N",
    "constant-offset",
    "sign-flipped", "complement", "reciprocal", "squared", "square-root", "exp-applied",
    "log-applied", "all-zeros", "nan-or-inf", "overflow", "input-returned", "rounded",
    "counter-off-by-one", "clipped", "division-by-zero", "count-off-by-term",
}  # fmt: skip
VALUE_PREFIXES = ("term-", "missing-factor-", "extra-factor-", "step-", "is-", "as-if-")
WHERE = {"border-only", "fill-value", "off-by-one"}  # right except in one region
WHERE_PREFIXES = ("wrong-where-", "threshold-")
SHAPE = {  # the arrangement of values: shapes, axes, transposes, operand order
    "transposed", "wrong-shape", "wrong-axis", "size-1-axis", "reduced-axis",
    "reduced-to-scalar", "off-by-one-length", "matmul-shapes", "matmul-scalar",
    "broadcast-mismatch", "flat-vs-nd", "slice-size", "reshape-size", "swapped-outputs",
    "shape-index", "dot-lengths", "array-not-scalar", "ambiguous-truth", "extra-axis", "number-not-array",
    "array-as-index", "repeated-axis", "contracted-sizes", "add-at-order",
    "view-after-transpose", "concat-sizes",
}  # fmt: skip
SHAPE_PREFIXES = ("reduced-over-axis-",)
INDEX = {"index-out-of-range", "off-by-one-length", "off-by-one", "border-only", "slice-size"}
# facts about the crash, true whatever the edit (a check of the learner's own fired)
ANY_CODE = {"undefined-name", "operand-types", "own-check-fired", "none-value",
            # torch's: which dtypes or kinds of object met, what autograd refused
            "dtype-mismatch", "target-dtype", "mask-dtype", "numpy-meets-tensor",
            "numpy-on-autograd-tensor", "inplace-on-parameter", "no-graph",
            # which kinds of value met a call or a `+` (an argument order, a number for a tensor)
            "argument-type", "list-plus-number", "key-missing"}  # fmt: skip


def family(story: str) -> str:
    for fam, names, prefixes in (
        ("value", VALUE, VALUE_PREFIXES),
        ("where", WHERE, WHERE_PREFIXES),
        ("shape", SHAPE, SHAPE_PREFIXES),
    ):
        if story in names or story.startswith(prefixes):
            return fam
    return "index" if story in INDEX else "other"


def consistent(diag: Diagnosis, mutant: Mutant, bugs: dict[str, str]) -> bool:
    """Can this edit produce what the diagnosis says?"""
    if diag.kind in ("known-bug", "convention"):
        # it reproduced every output of the test: true of the edited function, or a
        # function that calls it
        return bugs.get(diag.name) == mutant.function or mutant.function in diag.hint
    name, op, what = diag.name, mutant.operator, mutant.description
    if name.startswith("through-"):  # the test's function is right, the helper it uses is not
        return name.removeprefix("through-") == mutant.function
    if name in ANY_CODE or op == "swap-args":
        return True
    if name == "float-as-index":  # a float where a whole number belongs: / for //, a float constant
        return (op == "arith" and what.endswith("->Div")) or op == "constant"
    fam = family(name)
    if name in INDEX and op in (
        "constant", "arith", "compare", "boolean", "drop-term", "delete-update"
    ):  # fmt: skip
        return True  # an index, a loop bound or the guard of an edge case changed
    if name == "index-out-of-range" and op == "sibling":
        return True  # an index or a size computed with the wrong function (y.min() for y.max())
    if op == "drop-term":  # the dropped operand may be the one that carried the shape
        return fam in ("value", "where", "shape")
    if fam == "shape" and op in ("arith", "constant") and _builds_shapes(mutant):
        return True  # the edit is in a shape, an index or a size: any shape story can follow
    if op == "arith":
        if "MatMult" in what:
            return fam in ("shape", "value")
        return fam in ("value", "where")
    if op == "constant":
        return fam in ("value", "where")
    if op in ("compare", "boolean"):
        # a comparison decides where or how often, never how much
        return fam == "where" or name in (
            "all-zeros", "sign-flipped", "complement", "input-returned", "counter-off-by-one",
            "clipped", "nan-or-inf", "division-by-zero",
        ) or name.startswith("is-")  # fmt: skip
    if op == "transpose":
        return fam == "shape" or name.startswith("is-")
    if op == "sibling":
        return fam in ("value", "where") or name in ("wrong-axis",)
    if op == "axis":
        return fam == "shape" or name in (
            "missing-1/N", "extra-1/N", "times-N-for-1/N", "scale-factor", "factor-2", "factor-0.5"
        ) or name.startswith(("is-", "term-"))  # fmt: skip
    if op == "delete-update":
        return fam in ("value", "where")
    return False


def _builds_shapes(mutant: Mutant) -> bool:
    """The edited line makes or reads a shape: a size, an index, a range, an axis."""
    changed = [
        x[1:] for x in mutant.diff.splitlines() if x.startswith("+") and not x.startswith("+++")
    ]
    marks = (
        "shape",
        "reshape",
        "zeros(",
        "ones(",
        "empty(",
        "full(",
        "[",
        "range(",
        "axis",
        "len(",
    )
    return any(m in line for line in changed for m in marks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list the inconsistent names")
    parser.add_argument("--dump", help="also write every graded test as JSON lines here")
    parser.add_argument("--reclassify", help="judge the tests of a --dump file again, ungraded")
    args, topics = arguments(__doc__, parser)
    started = time.perf_counter()
    if args.reclassify:
        lines = Path(args.reclassify).read_text(encoding="utf-8").splitlines()
        records = [json.loads(x) for x in lines]
    else:
        records = []
        for topic in topics:
            ms, results = graded_mutants(topic, args.sample)
            records += [
                {"topic": topic.id, "mutant": m.id, "test": t.name, "part": t.part,
                 "passed": t.passed, "name": t.diagnosis.name if t.diagnosis else None}
                for m, r in zip(ms, results) for t in r.tests
            ]  # fmt: skip
    if args.dump:
        Path(args.dump).write_text("".join(json.dumps(d) + "\n" for d in records), "utf-8")
    wrong_names = table(records)
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    if args.show:
        for w in wrong_names:
            print(" ".join(w))


def table(records: list[dict]) -> list[tuple[str, ...]]:
    """Print the per-topic table of graded tests; return the inconsistent names."""
    catalog = load_catalog()
    print(
        "| topic | mutants | failing tests | named | consistent names | passing tests with a name |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    total, wrong_names = Counter(), []
    for topic_id in dict.fromkeys(r["topic"] for r in records):
        topic = catalog.get(topic_id)
        bugs = {b.name: b for b in load_bugs(topic)}
        by_id = {m.id: m for m in mutants(topic)}
        rows = [r for r in records if r["topic"] == topic_id]
        row = Counter()
        for r in rows:
            named = r["name"]
            if r.get("passed"):
                row["passing_named"] += bool(named)
                continue
            row["failing"] += 1
            if not named:
                continue
            row["named"] += 1
            bug = bugs.get(named)
            diag = (
                Diagnosis(bug.kind, named, bug.hint) if bug else Diagnosis("signature", named, "")
            )
            if consistent(diag, by_id[r["mutant"]], {k: b.function for k, b in bugs.items()}):
                row["consistent"] += 1
            else:
                wrong_names.append((topic_id, r["mutant"], r.get("part", ""), named))
        n = len({r["mutant"] for r in rows})
        print(_row(topic_id, n, row))
        total.update(row, mutants=n)
    print(_row("**all**", total["mutants"], total))
    return wrong_names


def _row(label: str, n: int, c: Counter) -> str:
    def share(a: int, b: int) -> str:
        return f"{a} ({a / b:.0%})" if b else "-"

    return (
        f"| {label} | {n} | {c['failing']} | {share(c['named'], c['failing'])} | "
        f"{share(c['consistent'], c['named'])} | {c['passing_named']} |"
    )


if __name__ == "__main__":
    main()
