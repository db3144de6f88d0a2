"""Everything nnfs shows on a terminal. The only module that imports Rich."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from nnfs_cli.app import Todo
from nnfs_cli.catalog import Catalog, Topic
from nnfs_cli.grading.result import Result
from nnfs_cli.milestones import load_milestones

STATUS_STYLE = {"passed": "green", "attempted": "yellow", "not-started": "white", "planned": "dim"}
MARK = {"passed": "[x]", "attempted": "[~]", "not-started": "[ ]", "planned": "[ ]"}


def _markdown(text: str):
    from rich.markdown import Markdown  # imported when needed: 0.1 s of every `nnfs check`

    return Markdown(text)


def _syntax(text: str, lexer: str, **options):
    from rich.syntax import Syntax  # imported when needed (it brings pygments)

    return Syntax(text, lexer, **options)


def console(stderr: bool = False) -> Console:
    """Colour only on a terminal and without NO_COLOR; a fixed width when not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return Console(
        file=stream,
        no_color=bool(os.environ.get("NO_COLOR")) or not tty,
        highlight=False,
        width=None if tty else int(os.environ.get("COLUMNS", 100)),
        soft_wrap=False,
    )


def error(message: str) -> None:
    # soft_wrap: an error stays one line, however long, for people and for scripts
    console(stderr=True).print(
        Text("error: ", style="bold red") + Text(message, style="red"), soft_wrap=True
    )


def notice(message: str) -> None:
    console(stderr=True).print(Text("note: ", style="bold yellow") + Text(message), soft_wrap=True)


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def lesson(c: Console, topic: Topic, text: str, todos: list[Todo], path: str | None = None) -> None:
    title = f"{topic.id}  ·  phase {topic.phase}, {topic.section} {topic.section_title}: {topic.checkbox}"
    c.print(
        Panel(
            _markdown(text or "_(no lesson text)_"),
            title=title,
            title_align="left",
            border_style="cyan",
        )
    )
    if todos:
        table = Table(
            title="Functions to implement",
            title_justify="left",
            show_header=False,
            box=None,
            padding=(0, 2),
        )
        for t in todos:
            table.add_row(Text(t.signature, style="bold"), t.summary)
        c.print(table)
    if path:
        c.print(Text.assemble("Your file: ", (path, "bold cyan")), soft_wrap=True)  # a path never wraps
        c.print(
            Text.assemble(
                "When ready: ",
                (f"nnfs check {topic.id}", "bold"),
                "    stuck? ",
                (f"nnfs hint {topic.id}", "bold"),
            )
        )


def _part_cell(tests) -> Text:
    if all(t.passed for t in tests):
        return Text("passed", style="green")
    if all(t.status == "not-implemented" for t in tests if not t.passed):
        return Text("not implemented yet", style="yellow")
    if any(t.status == "hung" for t in tests):
        return Text("hung", style="red")
    failed = sum(not t.passed for t in tests)
    return Text(f"failed {failed} of {len(tests)}", style="red")


def result(c: Console, res: Result, verbose: bool = False) -> None:
    if res.target:
        c.print(Text.assemble(("graded ", "dim"), (res.target, "dim")), soft_wrap=True)
    if not res.tests:
        c.print(
            Panel(
                Text(res.error or "the grader ran no checks", style="red"),
                title=f"{res.topic}: not graded",
                title_align="left",
                border_style="red",
            )
        )
        return
    parts = res.parts()
    table = Table(
        title=f"{res.topic}: {res.score:g} / {res.max_score:g} points", title_justify="left"
    )
    table.add_column("part")
    table.add_column("result")
    table.add_column("points", justify="right")
    for part, tests in parts.items():
        got = sum(t.points for t in tests)
        table.add_row(part, _part_cell(tests), f"{got:g}/{sum(t.max_points for t in tests):g}")
    c.print(table)
    if res.error:
        c.print(Text(res.error, style="bold red"))
    if res.notes:
        c.print(Panel(Text("\n".join(res.notes)), title="part of your notebook did not run",
                      title_align="left", border_style="yellow"))  # fmt: skip
    if res.printed and (verbose or _load_failed(res)):
        c.print(Panel(Text(res.printed), title="your file printed while loading", title_align="left"))
    shown_load_error = False
    for part, tests in parts.items():
        failing = [t for t in tests if not t.passed]
        if not failing or all(t.status == "not-implemented" for t in failing):
            continue
        first = failing[0]
        if "syntax error" in first.message or "does not import" in first.message:
            if shown_load_error:
                continue
            shown_load_error = True
            c.print(
                Panel(
                    Text(first.message, style="red"),
                    title="your file does not run",
                    border_style="red",
                    title_align="left",
                )
            )
            continue
        body = [Text(first.message)]
        if first.diagnosis:
            label = first.diagnosis.label
            body.append(
                Text.assemble(
                    (f"{label}: {first.diagnosis.name}", "bold magenta"),
                    " — ",
                    first.diagnosis.hint,
                )
            )
        body += _printed(first, verbose)
        more = len(failing) - 1
        subtitle = f"{more} more failing check(s) in this part" if more else None
        c.print(
            Panel(
                Group(*body),
                title=f"{part}: {first.extra.get('description') or first.name}",
                title_align="left",
                subtitle=subtitle,
                subtitle_align="right",
                border_style="red",
            )
        )
        if verbose:
            for t in failing[1:]:
                c.print(
                    Panel(
                        Group(Text(t.message), *_printed(t, verbose)),
                        title=f"{part}: {t.name}",
                        title_align="left",
                        border_style="red",
                    )
                )
    if res.passed:
        for t in res.tests:  # what a grader wants shown after a pass (e.g. a comparison)
            if t.extra.get("table"):
                c.print(Panel(Text(t.extra["table"]), title=t.extra.get("title", "what your code did"),
                              title_align="left", border_style="green"))  # fmt: skip
        c.print(
            Text(f"✔ {res.topic} passed with full marks. `nnfs next` moves on.", style="bold green")
        )
    else:
        n_parts = len(parts)
        ok = sum(all(t.passed for t in tests) for tests in parts.values())
        todo = "Fix the error above" if shown_load_error else "Fix the first red part above"
        c.print(Text(f"{ok} of {n_parts} parts pass. {todo}, then run the check again.", style="bold"))


def _load_failed(res: Result) -> bool:
    return any("syntax error" in t.message or "does not import" in t.message for t in res.tests)


def _printed(test, verbose: bool, lines: int = 12) -> list[Text]:
    """What the learner's code printed during a failing test: the first call's, or all with -v."""
    calls = test.extra.get("printed") or []
    out = []
    for name, text in calls if verbose else calls[:1]:
        shown = text.rstrip("\n").splitlines()
        if not verbose and len(shown) > lines:
            shown = shown[:lines] + [f"... ({len(shown) - lines} more lines: -v shows all)"]
        out.append(Text(f"your `{name}` printed:", style="bold"))
        out.append(Text("\n".join(shown), style="dim"))
    if not verbose and len(calls) > 1:
        out.append(Text(f"(and {len(calls) - 1} more call(s) printed: -v shows them)", style="dim"))
    return out


def milestone_list(c: Console, rows: list[dict]) -> None:
    table = Table(title="Milestones: your own code from several topics, on real data", title_justify="left")
    for col in ("phase", "milestone", "uses your", "status"):
        table.add_column(col)
    for r in rows:
        status = Text("passed", style="green") if r["passed"] else Text("not yet", style="dim")
        table.add_row(str(r["phase"]), Text.assemble((r["id"], "bold"), f"  {r['title']}"), ", ".join(r["topics"]), status)
    c.print(table)
    c.print("Run one: nnfs milestone NAME")


def milestone_verdict(c: Console, milestone, outcome) -> None:
    mark, style = ("✔", "bold green") if outcome.passed else ("✘", "bold red")
    c.print(Text(f"{mark} {milestone.id}: {outcome.verdict} ({outcome.seconds:.1f} s)", style=style), soft_wrap=True)


@contextmanager
def spinner(label: str, enabled: bool = True):
    """A spinner on stderr while something runs (only on a terminal), gone when it ends.

    Yields a callback for grading's progress events: the spinner then shows the current test
    and the learner call it is waiting for (so a hang is visible while it happens).
    """
    if not enabled or not sys.stderr.isatty():
        yield lambda event: None
        return
    state = {"test": ""}
    with console(stderr=True).status(label) as status:

        def show(event: dict) -> None:
            if event.get("event") == "test":
                state["test"] = f"test {event.get('index')}/{event.get('total')} ({event.get('part')})"
                status.update(f"{label}: {state['test']}")
            elif event.get("event") == "call":
                status.update(f"{label}: {state['test']}, waiting for {event.get('call')}")

        yield show


def progress_tree(
    c: Console, catalog: Catalog, statuses: dict[str, str], milestones: dict | None = None
) -> None:
    root = Tree(Text("Neural networks from scratch: the roadmap", style="bold"))
    for phase in catalog.phases:
        done = sum(statuses[t.id] == "passed" for t in phase.topics)
        avail = sum(t.available for t in phase.topics)
        label = Text.assemble(
            (f"Phase {phase.number}: {phase.title}", "bold"), f"  {done}/{len(phase.topics)}"
        )
        if avail < len(phase.topics):
            label.append(f"  ({len(phase.topics) - avail} planned)", style="dim")
        branch = root.add(label)
        _milestone_lines(branch, phase.number, milestones or {})
        for section in phase.sections:
            sec = branch.add(Text(f"{section.number} {section.title}"))
            for t in section.topics:
                st = statuses[t.id]
                sec.add(
                    Text.assemble(
                        (MARK[st] + " ", STATUS_STYLE[st]),
                        (t.checkbox, STATUS_STYLE[st]),
                        (f"  {t.id}", "dim"),
                        (f"  {st}", STATUS_STYLE[st]) if st != "not-started" else "",
                    )
                )
    c.print(root)
    available = sum(s != "planned" for s in statuses.values())
    done = sum(s == "passed" for s in statuses.values())
    c.print(Text.assemble(("Overall ", "bold"), f"{done} of {available} available topics passed "
                          f"({len(statuses)} on the roadmap)  "), end="")  # fmt: skip
    c.print(ProgressBar(total=available or 1, completed=done, width=40))


def _milestone_lines(branch, phase: int, records: dict) -> None:
    for m in load_milestones():
        if m.phase == phase:
            done = bool(records.get(m.id, {}).get("passed"))
            branch.add(Text.assemble(("★ " if done else "☆ ", "green" if done else "dim"), f"milestone: {m.title}",
                                     (f"  nnfs milestone {m.id}", "dim"), ("  passed", "green") if done else ""))  # fmt: skip


def progress_markdown(catalog: Catalog, statuses: dict[str, str], milestones: dict | None = None) -> str:
    lines = ["# My neural-networks-from-scratch progress", ""]
    for phase in catalog.phases:
        lines += [f"## Phase {phase.number}: {phase.title}", ""]
        goals = [m for m in load_milestones() if m.phase == phase.number]
        for m in goals:
            done = bool((milestones or {}).get(m.id, {}).get("passed"))
            lines.append(f"- [{'x' if done else ' '}] Milestone: **{m.title}** (`nnfs milestone {m.id}`)")
        lines += [""] if goals else []
        for section in phase.sections:
            lines += [f"### {section.number} {section.title}"]
            for t in section.topics:
                st = statuses[t.id]
                box = "x" if st == "passed" else " "
                note = " _(planned)_" if st == "planned" else ""
                lines.append(f"- [{box}] **{t.checkbox}** (`{t.id}`){note}")
            lines.append("")
    done = sum(s == "passed" for s in statuses.values())
    available = sum(s != "planned" for s in statuses.values())
    lines.append(f"{done} of {available} available topics passed ({len(statuses)} on the roadmap).")
    return "\n".join(lines) + "\n"


def topic_list(c: Console, catalog: Catalog, statuses: dict[str, str]) -> None:
    table = Table(title="Topics", title_justify="left")
    for col in ("#", "id", "phase", "topic", "status"):
        table.add_column(col)
    for t in catalog.topics:
        st = statuses[t.id]
        table.add_row(
            str(t.index + 1), t.id, f"{t.section}", t.checkbox, Text(st, style=STATUS_STYLE[st])
        )
    c.print(table)


def source(c: Console, text: str, title: str) -> None:
    c.print(
        Panel(
            _syntax(text, "python", line_numbers=True, word_wrap=False),
            title=title,
            title_align="left",
        )
    )


def diff(c: Console, text: str) -> None:
    c.print(_syntax(text or "(no differences)", "diff"))


@contextmanager
def progress_bar(label: str, total: int):
    """A progress bar on stderr for long operations; yields a function that advances it."""
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console(stderr=True), transient=True, disable=not sys.stderr.isatty())  # fmt: skip
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def audit_report(c: Console, reports) -> None:
    table = Table(title="Grader audit: mutants of each reference", title_justify="left")
    for col in (
        "topic",
        "mutants",
        "killed",
        "survived",
        "timed out",
        "equivalent",
        "kill rate",
        "seconds",
    ):
        table.add_column(col, justify="left" if col == "topic" else "right")
    for r in reports:
        style = "green" if r.kill_rate >= 0.95 else "yellow" if r.kill_rate >= 0.8 else "red"
        table.add_row(r.topic, str(r.mutants), str(r.killed), str(len(r.survived)), str(r.timed_out),
                      str(len(r.equivalent)), Text(f"{r.kill_rate:.1%}", style=style), f"{r.seconds:.0f}")  # fmt: skip
    c.print(table)
    for r in reports:
        if r.unjudged:
            c.print(f"{r.topic}: {len(r.unjudged)} mutants could not be judged (their gradings did not start "
                    "in time: a loaded machine) and are left out of the kill rate; run the audit again")  # fmt: skip
        for m in r.survived:
            c.print(
                Panel(
                    _syntax(m.diff, "diff"),
                    title=f"{r.topic}: survived {m.id}",
                    title_align="left",
                    border_style="yellow",
                )
            )


def stats(c: Console, rows: list[dict]) -> None:
    if not rows:
        c.print("No attempts yet: `nnfs next` fetches your first exercise.")
        return
    table = Table(title="Your statistics", title_justify="left")
    for col in (
        "topic",
        "attempts",
        "best score",
        "passed after",
        "attempts to pass",
        "hints used",
    ):
        table.add_column(col, justify="left" if col == "topic" else "right")
    for r in rows:
        after = r["first_pass_after_s"]
        when = (
            "-" if after is None else f"{after / 60:.0f} min" if after >= 60 else f"{after:.0f} s"
        )
        table.add_row(r["id"], str(r["attempts"]), f"{r['best']:g}/{r['max_score']:g}", when,
                      str(r["attempts_to_pass"] or "-"), f"{r['hints_used']}/{r['hints_total']}")  # fmt: skip
    c.print(table)


def watch_status(res: Result, path: str) -> Group:
    """The compact live view of `nnfs watch`: parts passed and the first failure."""
    parts = res.parts()
    ok = sum(all(t.passed for t in tests) for tests in parts.values())
    head = Text.assemble((f"{res.topic}", "bold"), f"  {path}\n", (f"{ok}/{len(parts)} parts pass", "green" if res.passed else "yellow"),
                         f"   {res.score:g}/{res.max_score:g} points   ({res.seconds:.1f} s)")  # fmt: skip
    body = [head]
    if res.error:
        body.append(Text(res.error, style="red"))
    body += [Text(note, style="yellow") for note in res.notes]
    first = next((t for t in res.tests if not t.passed), None)
    if first is not None:
        body.append(Panel(Text(first.message), title=f"{first.part}: {first.extra.get('description') or first.name}",
                          title_align="left", border_style="yellow" if first.status == "not-implemented" else "red"))  # fmt: skip
        if first.diagnosis:
            body.append(Text.assemble((first.diagnosis.label + ": ", "bold magenta"),
                                      f"{first.diagnosis.name} — {first.diagnosis.hint}"))  # fmt: skip
    return Group(*body)
