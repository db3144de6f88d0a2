"""A report of the class: scores, the parts that failed, and the mistakes the grader named.

Built from the records `nnfs course grade` keeps (`nnfs_results/<topic>/<student>.json`),
so it needs no database and shows what no gradebook holds: which named mistakes the class
made, and who made them. `to_html` writes one self-contained page (figures inline as PNG
data URLs); the terminal view is in views.py.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from nnfs_cli.course import gradebook


@dataclass
class Mistake:
    name: str
    hint: str
    students: list[str]


@dataclass
class AssignmentReport:
    topic: str
    max_score: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # student -> score
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)  # part -> (passed, graded)
    mistakes: list[Mistake] = field(default_factory=list)  # most frequent first
    problems: dict[str, str] = field(default_factory=dict)  # graded, but the code failed
    ungraded: dict[str, str] = field(default_factory=dict)  # student -> why not graded
    seconds: dict[str, float] = field(default_factory=dict)  # student -> grading time

    def to_json(self) -> dict:
        return {
            "topic": self.topic,
            "max_score": self.max_score,
            "scores": self.scores,
            "part_pass_rate": {p: ok / n for p, (ok, n) in self.parts.items() if n},
            "mistakes": [{"name": m.name, "students": m.students, "hint": m.hint} for m in self.mistakes],
            "problems": self.problems,
            "ungraded": self.ungraded,
            "seconds": self.seconds,
        }  # fmt: skip


def assignment_report(course: Path, topic_id: str) -> AssignmentReport:
    report = AssignmentReport(topic_id)
    passed: dict[str, int] = defaultdict(int)
    graded: dict[str, int] = defaultdict(int)
    who: dict[str, set[str]] = defaultdict(set)
    hints: dict[str, str] = {}
    for rec in gradebook.records(course, topic_id):
        student = rec["student"]
        if rec.get("status") != "graded":
            report.ungraded[student] = rec.get("reason", "")
            continue
        report.scores[student] = rec["score"]
        report.max_score = max(report.max_score, rec["max_score"])
        report.seconds[student] = rec.get("seconds", 0.0)
        if rec.get("problem"):
            report.problems[student] = rec["problem"]
        by_part: dict[str, bool] = {}
        for t in rec["result"]["tests"]:
            by_part[t["part"]] = by_part.get(t["part"], True) and t["passed"]
            if not t["passed"] and t.get("diagnosis"):
                who[t["diagnosis"]["name"]].add(student)
                hints[t["diagnosis"]["name"]] = t["diagnosis"]["hint"]
        for part, ok in by_part.items():
            graded[part] += 1
            passed[part] += ok
    report.parts = {p: (passed[p], graded[p]) for p in graded}
    report.mistakes = sorted(
        (Mistake(n, hints[n], sorted(s)) for n, s in who.items()),
        key=lambda m: (-len(m.students), m.name),
    )
    return report


def class_report(course: Path, topics: list[str] | None = None) -> list[AssignmentReport]:
    folder = course / gradebook.RESULTS
    ids = topics or sorted(p.name for p in folder.glob("*") if p.is_dir())
    return [assignment_report(course, t) for t in ids]


def histogram_png(report: AssignmentReport) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    scores = list(report.scores.values())
    top = report.max_score or 1.0
    ax.hist(
        scores,
        bins=min(20, max(5, len(scores))),
        range=(0, top),
        color="#4c72b0",
        edgecolor="white",
    )
    ax.set_xlabel(f"score (of {top:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{report.topic}: {len(scores)} graded")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.bad{color:#b00020}section{margin-bottom:3rem}"""


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in numeric else ''}>{html.escape(str(c))}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"  # fmt: skip
        for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def to_html(reports: list[AssignmentReport], title: str = "nnfs class report") -> str:
    sections = []
    for r in reports:
        png = base64.b64encode(histogram_png(r)).decode("ascii")
        mean = sum(r.scores.values()) / len(r.scores) if r.scores else 0.0
        parts = [[p, f"{ok}/{n}", f"{100 * ok / n:.0f}%"] for p, (ok, n) in r.parts.items()]
        mistakes = [[m.name, len(m.students), ", ".join(m.students), m.hint] for m in r.mistakes]
        times = sorted(r.seconds.values())
        median = times[len(times) // 2] if times else 0.0
        sections.append(
            f"<section id='{html.escape(r.topic)}'><h2>{html.escape(r.topic)}</h2>"
            f"<p>{len(r.scores)} graded, mean {mean:.1f} of {r.max_score:g}; "
            f"{len(r.ungraded)} could not be graded; grading time per student: median {median:.1f} s, "
            f"max {times[-1] if times else 0:.1f} s.</p>"
            f"<img alt='score distribution of {html.escape(r.topic)}' src='data:image/png;base64,{png}'>"
            "<h3>Pass rate of each part</h3>" + _table(["part", "passed", "rate"], parts, {1, 2})
            + "<h3>Mistakes the grader named</h3>"
            + (_table(["mistake", "students", "who", "hint"], mistakes, {1}) if mistakes else "<p>none</p>")
            + "<h3>Code that failed as a whole (graded)</h3>"
            + (_table(["student", "why"], sorted(r.problems.items())) if r.problems else "<p>none</p>")
            + "<h3 class=bad>Not graded</h3>"
            + (_table(["student", "why"], sorted(r.ungraded.items())) if r.ungraded else "<p>none</p>")
            + "</section>"
        )  # fmt: skip
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>"
    )
