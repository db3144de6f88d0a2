"""Rich output of the course commands (the only course module that prints)."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text


@contextmanager
def batch_progress(total: int, console: Console | None = None):
    """Yields on_done(outcome): a bar with done/failed counts and an ETA on a terminal,
    one plain line per submission otherwise (logs, CI). "failed" counts the submissions
    left ungraded (the infrastructure's faults); a student's broken code is graded, so done."""
    err = console or Console(stderr=True)
    counts = {"done": 0, "failed": 0}
    if not err.is_terminal:

        def line(o: dict) -> None:
            counts["done" if o["status"] == "graded" else "failed"] += 1
            what = f"{o['score']:g}/{o['max_score']:g}" if o["status"] == "graded" else "UNGRADED"
            print(f"[{sum(counts.values())}/{total}] {o['topic']} {o['student']}: {what}",
                  file=err.file, flush=True)  # fmt: skip

        yield line
        return
    bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("ETA"),
                   TimeRemainingColumn(), console=err, transient=True)  # fmt: skip
    with bar:
        task = bar.add_task("grading", total=total, counts="done 0 failed 0")

        def advance(o: dict) -> None:
            counts["done" if o["status"] == "graded" else "failed"] += 1
            bar.update(task, advance=1, counts=f"done {counts['done']} failed {counts['failed']}")

        yield advance


def _score_text(o: dict | None) -> Text:
    if o is None:
        return Text("-", style="dim")
    if o["status"] != "graded":
        return Text("ungraded", style="bold red")
    full = o["score"] == o["max_score"]
    style = "green" if full else "red" if o["score"] == 0 else "yellow"
    return Text(f"{o['score']:g}/{o['max_score']:g}", style=style)


def batch_report(c: Console, report) -> None:
    """Scores of what this run graded, then every student it could not grade, and why."""
    outcomes = report.outcomes
    if outcomes:
        topics = sorted({o["topic"] for o in outcomes})
        table = Table(title="Graded in this run (score / max)", title_justify="left")
        table.add_column("student")
        for t in topics:
            table.add_column(t, justify="right")
        cells = {(o["student"], o["topic"]): o for o in outcomes}
        for s in sorted({o["student"] for o in outcomes}):
            table.add_row(s, *(_score_text(cells.get((s, t))) for t in topics))
        c.print(table)
    for o in report.graded:
        if o.get("problem"):
            c.print(
                Text(
                    f"{o['student']}/{o['topic']}: graded, but its code failed: {o['problem']}",
                    style="yellow",
                )
            )
    for o in report.ungraded:
        c.print(Text(f"NOT GRADED {o['student']}/{o['topic']}: {o['reason']}", style="bold red"))
    if report.plan.unchanged:
        c.print(f"{len(report.plan.unchanged)} submission(s) already graded and unchanged "
                "(skipped; --force regrades them)")  # fmt: skip
    for s in report.plan.skipped:
        c.print(Text(f"skipped {s}", style="dim"))
    c.print(f"{len(report.graded)} graded, {len(report.ungraded)} not graded, "
            f"in {report.seconds:.1f} s on {report.workers} worker(s)")  # fmt: skip


def _bars(scores: list[float], top: float, bins: int = 10) -> list[str]:
    """A text histogram of scores: one line per bin of the score range."""
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, int(bins * s / top)) if top else 0] += 1
    widest = max(counts) or 1
    lines = []
    for i, n in enumerate(counts):
        lo, hi = top * i / bins, top * (i + 1) / bins
        lines.append(f"  {lo:6.1f}-{hi:<6.1f} {'█' * round(30 * n / widest):<30} {n}")
    return lines


def class_report(c: Console, reports) -> None:
    for r in reports:
        c.rule(f"[bold]{r.topic}[/]: {len(r.scores)} graded, {len(r.ungraded)} not graded")
        if r.scores:
            c.print("score distribution (students per score range):")
            for line in _bars(list(r.scores.values()), r.max_score):
                c.print(line, markup=False, highlight=False)
        parts = Table(title="pass rate of each part", title_justify="left")
        for col in ("part", "passed", "rate"):
            parts.add_column(col, justify="left" if col == "part" else "right")
        for p, (ok, n) in r.parts.items():
            parts.add_row(p, f"{ok}/{n}", f"{100 * ok / n:.0f}%")
        c.print(parts)
        if r.mistakes:
            table = Table(title="mistakes the grader named", title_justify="left")
            for col in ("mistake", "students", "who"):
                table.add_column(col, justify="right" if col == "students" else "left")
            for m in r.mistakes:
                table.add_row(m.name, str(len(m.students)), ", ".join(m.students))
            c.print(table)
        for s, why in sorted(r.problems.items()):
            c.print(Text(f"{s}: graded, but its code failed: {why}", style="yellow"))
        for s, why in sorted(r.ungraded.items()):
            c.print(Text(f"NOT GRADED {s}: {why}", style="bold red"))
        if r.seconds:
            times = sorted(r.seconds.values())
            c.print(
                f"grading time per student: median {times[len(times) // 2]:.1f} s, max {times[-1]:.1f} s"
            )
