"""The `nnfs` command: argument definitions only. Work lives in app.py, views in views.py."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated

import typer

from nnfs_cli import app as core
from nnfs_cli import views
from nnfs_cli.catalog import load_catalog
from nnfs_cli.errors import NnfsError
from nnfs_cli.workspace import find_workspace, init_workspace

app = typer.Typer(
    help="nnfs: learn neural networks from scratch, one auto-graded exercise at a time.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must never print a grader's arrays
    add_completion=True,
)
dev_app = typer.Typer(
    help="Maintainer tools: stubs, catalog validation, known bugs.", no_args_is_help=True
)
app.add_typer(dev_app, name="dev")
course_app = typer.Typer(
    help="Instructors: nbgrader courses built from the catalog.", no_args_is_help=True
)
app.add_typer(course_app, name="course")

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (else NNFS_WORKSPACE, else the nearest .nnfs/ above).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file", "-f", help="Use this file (.py or .ipynb) instead of the workspace copy."
    ),
]
SolutionOpt = Annotated[
    bool, typer.Option("--solution", help="Use the reference solution (instructors, tests).")
]


def _complete_topic(incomplete: str) -> list[str]:
    """Shell completion of topic ids (available ones first)."""
    topics = sorted(load_catalog().topics, key=lambda t: not t.available)
    return [t.id for t in topics if t.id.startswith(incomplete)]


TopicArg = Annotated[
    str,
    typer.Argument(
        help="Topic id, e.g. backprop (see `nnfs list`).",
        show_default=False,
        autocompletion=_complete_topic,
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", help="Seconds each call of your function may take (0.5 to 600)."),
]


def _call_timeout(seconds: float) -> float:
    """Checked here, not by Click, so that a bad value is one line like every usage error."""
    if not 0.5 <= seconds <= 600:
        raise NnfsError(f"--timeout {seconds:g} is out of range: give 0.5 to 600 seconds")
    return seconds


NotebookOpt = Annotated[
    bool, typer.Option("--notebook", help="Also write the exercise as a Jupyter notebook.")
]


def _guard(fn):
    """Turn expected errors into one red line and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NnfsError as e:
            views.error(str(e))
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            views.error("interrupted")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as e:  # a bug in nnfs: still one line unless asked
            if os.environ.get("NNFS_DEBUG"):
                raise
            views.error(
                f"internal error: {type(e).__name__}: {e} (set NNFS_DEBUG=1 for the traceback)"
            )
            raise typer.Exit(2) from None

    return wrapper


def _workspace(explicit: Path | None):
    return find_workspace(explicit)


def _optional_workspace(explicit: Path | None, needed: bool):
    """The workspace, or None when the command can do without one (--file, --solution)."""
    try:
        return _workspace(explicit)
    except NnfsError:
        if needed:
            raise
        return None


def _load(ws) -> dict:
    """The workspace's progress, telling the user if a damaged store was recovered."""
    data = ws.store.load()
    _show_notices(ws)
    return data


def _show_notices(ws) -> None:
    for note in ws.store.notices:
        views.notice(note)
    ws.store.notices.clear()


@app.command()
@_guard
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the workspace.")] = Path("."),
) -> None:
    """Create a workspace (safe to run again).

    Example: nnfs init ~/nnfs-workspace
    """
    ws, created = init_workspace(directory)
    c = views.console()
    c.print(f"{'Created' if created else 'Already a'} nnfs workspace: {ws.root}")
    c.print("Next: `nnfs next` fetches your first exercise.")


@app.command("next")
@_guard
def next_(notebook: NotebookOpt = False, workspace: WorkspaceOpt = None) -> None:
    """Fetch the first unfinished exercise into the workspace and show its lesson.

    Example: nnfs next --notebook
    """
    ws = _workspace(workspace)
    catalog = load_catalog()
    data = _load(ws)
    topic = core.next_topic(catalog, data)
    c = views.console()
    if topic is None:
        c.print("Every available topic is passed. More phases are on the way: see `nnfs progress`.")
        return
    _fetch_and_show(ws, topic, notebook)


def _fetch_and_show(ws, topic, notebook: bool) -> None:
    from nnfs_cli.grading.runner import start_warm_grader

    c = views.console()
    copied = ws.fetch_notebook(topic) if notebook else ws.fetch(topic)
    start_warm_grader()  # warm by the time the learner has read the lesson and checks
    path = ws.notebook(topic) if notebook else ws.exercise(topic)
    views.lesson(c, topic, core.lesson(topic), core.todos(topic), str(path))
    if notebook:
        c.print(
            f"`nnfs check {topic.id}` grades whichever of your {topic.id} files you saved last."
        )
        c.print("Open it with Jupyter: `jupyter lab` in this folder; no Jupyter in this environment? "
                "`pip install jupyterlab` (or `bash scripts/setup.sh notebook` in the nnfs checkout).", soft_wrap=True)  # fmt: skip
    if not copied:
        c.print("(your file was already there and was left untouched)")


@app.command()
@_guard
def start(topic: TopicArg, notebook: NotebookOpt = False, workspace: WorkspaceOpt = None) -> None:
    """Fetch a given exercise (out of roadmap order) and show its lesson.

    Example: nnfs start backprop
    """
    ws = _workspace(workspace)
    _fetch_and_show(ws, load_catalog().get_available(topic), notebook)


@app.command()
@_guard
def check(
    topic: TopicArg,
    file: FileOpt = None,
    solution: SolutionOpt = False,
    part: Annotated[
        list[str] | None, typer.Option("--part", help="Only this part (function); repeatable.")
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show every failing check, not only the first per part."
        ),
    ] = False,
    timeout: TimeoutOpt = 10.0,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Grade an exercise: exit 0 if every check passes, 1 if any fails, 2 on a usage error.

    Example: nnfs check backprop
    """
    t = load_catalog().get_available(topic)
    _call_timeout(timeout)
    if file is not None and solution:
        raise NnfsError("give --file or --solution, not both")
    ws = None if solution else _optional_workspace(workspace, needed=file is None)
    target = core.resolve_target(t, ws, file, solution)
    with views.spinner(f"grading {t.id} ({target.name})", enabled=not json_out) as progress:
        result = core.check(
            t,
            target,
            ws,
            record=not solution,
            parts=tuple(part or ()),
            call_timeout=timeout,
            on_progress=progress,
            warm=True,
        )
    if ws is not None:
        _show_notices(ws)
    if json_out:
        views.print_json(result.to_json())
    else:
        views.result(views.console(), result, verbose)
        if ws is not None:
            _figures(result, ws.root / "plots", terminal=False)
    raise typer.Exit(0 if result.passed else 1)


def _figures(result, outdir: Path, terminal: bool) -> None:
    from nnfs_cli import plots

    c = views.console()
    try:
        paths = plots.save_figures(result, outdir)
    except OSError as e:
        views.notice(f"could not save figures in {outdir}: {e.strerror}")
        return
    for path in paths:
        c.print(f"figure: {path}", soft_wrap=True)  # a path is never wrapped
    if terminal:
        for text in plots.terminal_plots(result, width=min(c.width, 90)):
            c.print(text, markup=False, highlight=False)


@app.command()
@_guard
def plot(
    topic: TopicArg,
    file: FileOpt = None,
    solution: SolutionOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Grade, then draw what the code did: PNG files in <workspace>/plots and a terminal plot.

    Example: nnfs plot training-dynamics
    """
    t = load_catalog().get_available(topic)
    ws = _optional_workspace(workspace, needed=file is None and not solution)
    target = core.resolve_target(t, ws, file, solution)
    with views.spinner(f"grading {t.id} ({target.name})"):
        result = core.check(t, target, ws, record=False, warm=True)
    from nnfs_cli import plots

    if not plots.figure_specs(result):
        views.console().print(f"{t.id} has no figures to draw: its checks compare values; "
                              "topics with figures include perceptron, backprop and training-dynamics.")  # fmt: skip
        return
    _figures(result, (ws.root if ws else Path.cwd()) / "plots", terminal=True)


@app.command()
@_guard
def milestone(
    name: Annotated[
        str | None,
        typer.Argument(help="Milestone to run (none: list them).", show_default=False),
    ] = None,
    solution: SolutionOpt = False,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Run your own code from several topics together on real data; a figure and a verdict.

    Example: nnfs milestone digits-mlp
    """
    from nnfs_cli import milestones

    ws = _optional_workspace(workspace, needed=not solution and name is not None)
    records = core.milestone_statuses(_load(ws)) if ws else {}
    if name is None:
        rows = [{"id": m.id, "phase": m.phase, "title": m.title, "topics": list(m.topics),
                 "passed": bool(records.get(m.id, {}).get("passed"))} for m in milestones.load_milestones()]  # fmt: skip
        views.print_json(rows) if json_out else views.milestone_list(views.console(), rows)
        return
    with views.spinner(f"milestone {name}: running your code"):
        m, outcome = core.run_milestone(load_catalog(), name, ws, solution)
    if json_out:
        views.print_json({"id": m.id, "passed": outcome.passed, "verdict": outcome.verdict,
                          "seconds": round(outcome.seconds, 2), "figures": outcome.figures})  # fmt: skip
    else:
        from nnfs_cli import plots

        c = views.console()
        outdir = (ws.root if ws else Path.cwd()) / "plots"
        try:
            for path in plots.save_specs(outcome.figures, outdir, "milestone"):
                c.print(f"figure: {path}", soft_wrap=True)
        except OSError as e:
            views.notice(f"could not save figures in {outdir}: {e.strerror}")
        for text in plots.terminal_specs(outcome.figures, width=min(c.width, 90)):
            c.print(text, markup=False, highlight=False)
        views.milestone_verdict(c, m, outcome)
    raise typer.Exit(0 if outcome.passed else 1)


@app.command()
@_guard
def stats(json_out: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """Attempts, time to first pass and hints used, per topic.

    Example: nnfs stats
    """
    ws = _workspace(workspace)
    rows = core.stats(load_catalog(), _load(ws))
    if json_out:
        views.print_json(rows)
    else:
        views.stats(views.console(), rows)


@app.command()
@_guard
def watch(
    topic: Annotated[
        str | None,
        typer.Argument(
            help="Topic to watch (default: the file you last saved).", show_default=False
        ),
    ] = None,
    timeout: TimeoutOpt = 10.0,
    workspace: WorkspaceOpt = None,
) -> None:
    """Re-grade your exercise every time you save it; Ctrl-C to leave.

    Example: nnfs watch
    """
    from nnfs_cli.watch import watch_loop

    _call_timeout(timeout)
    ws = _workspace(workspace)
    watch_loop(ws, load_catalog().get_available(topic) if topic else None, call_timeout=timeout)


@app.command()
@_guard
def progress(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown checklist.")
    ] = False,
    json_out: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show the whole roadmap with your ticked boxes.

    Example: nnfs progress --markdown > PROGRESS.md
    """
    ws = _workspace(workspace)
    catalog = load_catalog()
    data = _load(ws)
    statuses = core.statuses(catalog, data)
    if json_out:
        views.print_json(
            {
                "passed": sum(s == "passed" for s in statuses.values()),
                "total": len(statuses),
                "phases": [
                    {"phase": p.number, "title": p.title,
                     "topics": [{"id": t.id, "section": t.section, "checkbox": t.checkbox, "status": statuses[t.id]} for t in p.topics]}
                    for p in catalog.phases
                ],
                "milestones": core.milestone_statuses(data),
            }
        )  # fmt: skip
    elif markdown:
        print(views.progress_markdown(catalog, statuses, core.milestone_statuses(data)), end="")
    else:
        views.progress_tree(views.console(), catalog, statuses, core.milestone_statuses(data))


@app.command("list")
@_guard
def list_(json_out: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """List every topic in roadmap order with its status.

    Example: nnfs list --json
    """
    catalog = load_catalog()
    try:
        ws = _workspace(workspace)
        data = _load(ws)
    except NnfsError:
        if workspace is not None:
            raise
        data = {"topics": {}}
    statuses = core.statuses(catalog, data)
    if json_out:
        views.print_json([
            {"id": t.id, "phase": t.phase, "section": t.section, "title": t.checkbox, "summary": t.summary, "status": statuses[t.id]}
            for t in catalog.topics
        ])  # fmt: skip
    else:
        views.topic_list(views.console(), catalog, statuses)


@app.command()
@_guard
def doctor(json_out: JsonOpt = False) -> None:
    """Show how learner code is fenced on this machine: one line per mechanism.

    Exit 0 when the kernel enforces every mechanism, 1 when some fall back to the audit hook.
    Example: nnfs doctor
    """
    from nnfs_cli.sandbox.kernel import mechanisms

    found = mechanisms()
    if json_out:
        views.print_json(
            [{"mechanism": m.name, "enforced": m.enforced, "why": m.why} for m in found]
        )
    else:
        for m in found:
            mark = "[green]enforced[/]" if m.enforced else "[yellow]not enforced[/]"
            views.console().print(f"{mark:>28}  {m.name} [dim]({m.why})[/]", highlight=False)
    raise typer.Exit(0 if all(m.enforced for m in found) else 1)


@app.command()
@_guard
def show(topic: TopicArg) -> None:
    """Show a topic's lesson and the functions to implement.

    Example: nnfs show backprop
    """
    t = load_catalog().get_available(topic)
    views.lesson(views.console(), t, core.lesson(t), core.todos(t))


@app.command()
@_guard
def hint(
    topic: TopicArg,
    part: Annotated[
        str | None,
        typer.Argument(help="A part (function) for hints about it alone.", show_default=False),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show the next hint for a topic, or for one part of it (each call reveals one more).

    Example: nnfs hint backprop dense_backward
    """
    t = load_catalog().get_available(topic)
    ws = _workspace(workspace)
    n, total, text = core.next_hint(t, ws, part)
    c = views.console()
    c.print(f"Hint {n} of {total} for {t.id}{' ' + part if part else ''}: {text}", soft_wrap=True)
    if n == total:
        c.print("(that was the last hint: `nnfs show` has the lesson again)")
    if part is None and t.part_hints:
        c.print(
            f"Stuck on one function? `nnfs hint {t.id} PART`, PART one of: {', '.join(p for p, _ in t.part_hints)}"
        )


@app.command()
@_guard
def solution(
    topic: TopicArg,
    force: Annotated[
        bool, typer.Option("--force", help="Show it even if you have not passed the topic.")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Show your file beside the reference (a diff).")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Show the reference solution, once you have passed the topic.

    Example: nnfs solution perceptron --diff
    """
    t = load_catalog().get_available(topic)
    ws = _optional_workspace(workspace, needed=not force)
    passed = ws is not None and core.statuses(load_catalog(), _load(ws))[t.id] == "passed"
    if not passed and not force:
        raise NnfsError(f"pass {t.id} first (`nnfs check {t.id}`), or use --force to look now")
    c = views.console()
    if diff:
        if ws is None or not ws.has_exercise(t):
            raise NnfsError(f"no file of yours for {t.id} to compare")
        views.diff(c, core.solution_diff(t, ws.exercise(t)))
    else:
        views.source(c, core.solution_text(t), f"reference solution: {t.id}")


@app.command()
@_guard
def reset(topic: TopicArg, workspace: WorkspaceOpt = None) -> None:
    """Restore a fresh exercise file; your current file is backed up first.

    Example: nnfs reset backprop
    """
    t = load_catalog().get_available(topic)
    ws = _workspace(workspace)
    backup = ws.reset(t)
    c = views.console()
    c.print(f"Restored a fresh {ws.exercise(t)}")
    if backup:
        c.print(f"Your previous file is kept as {backup}")


@dev_app.command("stubs")
@_guard
def dev_stubs(
    check_only: Annotated[
        bool, typer.Option("--check", help="Only report stubs that are out of date.")
    ] = False,
) -> None:
    """Regenerate exercises/ from solutions/ (or check they are up to date)."""
    from nnfs_cli.stubs import outdated_stubs, write_stubs

    catalog = load_catalog()
    if check_only:
        stale = outdated_stubs(catalog)
        if stale:
            raise NnfsError(
                "out-of-date stubs: " + ", ".join(t.id for t in stale) + " (run `nnfs dev stubs`)",
                exit_code=1,
            )
        views.console().print("all stubs up to date")
        return
    written = write_stubs(catalog)
    views.console().print(
        "regenerated: " + (", ".join(t.id for t in written) or "nothing (all up to date)")
    )


@dev_app.command("validate")
@_guard
def dev_validate(
    grade: Annotated[
        bool, typer.Option("--grade", help="Also grade every stub and solution (slower).")
    ] = False,
) -> None:
    """Validate the catalog and content, as rustlings' `dev check` does."""
    from nnfs_cli.validate import validate

    problems = validate(load_catalog(), grade=grade)
    c = views.console()
    for p in problems:
        c.print(f"- {p}")
    if problems:
        raise NnfsError(f"{len(problems)} problem(s) in the catalog or content", exit_code=1)
    c.print("catalog and content are consistent")


@dev_app.command("bugs")
@_guard
def dev_bugs(topic: TopicArg) -> None:
    """Grade every known bug of a topic: each must fail its parts and be named."""
    from nnfs_cli.dev import bug_report

    ok = True
    c = views.console()
    for bug, failed, named, good in bug_report(load_catalog().get_available(topic)):
        ok &= good
        c.print(
            f"{'OK ' if good else 'BAD'} {bug.name}: failed {sorted(failed)} (declared {list(bug.failing_parts)}); named {sorted(named)}"
        )
    raise typer.Exit(0 if ok else 1)


@app.command()
@_guard
def audit(
    topic: Annotated[
        list[str] | None, typer.Argument(help="Topics to audit.", show_default=False)
    ] = None,
    all_topics: Annotated[bool, typer.Option("--all", help="Audit every available topic.")] = False,
    sample: Annotated[
        int | None,
        typer.Option("--sample", min=1, help="Grade only this many mutants per topic (seeded)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Mutation-test graders: mutants of the reference must fail (maintainers, instructors).

    Example: nnfs audit backprop --sample 20
    """
    from nnfs_cli import audit as auditing

    catalog = load_catalog()
    if all_topics == bool(topic):
        raise NnfsError("name topics to audit, or use --all")
    topics = (
        [t for t in catalog.topics if t.available]
        if all_topics
        else [catalog.get_available(i) for i in topic]
    )
    reports = []
    for t in topics:
        total = min(sample, len(auditing.mutants(t))) if sample else len(auditing.mutants(t))
        with views.progress_bar(f"audit {t.id}", total=total) as advance:
            reports.append(auditing.audit(t, sample=sample, seed=seed, on_done=advance))
    if json_out:
        views.print_json([r.to_json() for r in reports])
    else:
        views.audit_report(views.console(), reports)


WorkersOpt = Annotated[
    int,
    typer.Option("--workers", "-n", min=0, help="Local worker processes (default: one per core)."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="An existing Dask scheduler, e.g. tcp://host:8786 (default: a local cluster).",
    ),
]


@course_app.command("build")
@_guard
def course_build(
    directory: Annotated[
        Path, typer.Argument(help="The nbgrader course folder (created if missing).")
    ],
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic", "-t", help="A topic to include (repeatable; default: all available)."
        ),
    ] = None,
) -> None:
    """Write nbgrader_config.py and one source notebook per topic (safe to rerun).

    Example: nnfs course build ~/course -t perceptron -t backprop
    """
    from nnfs_cli.course import build

    topics = build.select(load_catalog(), topic)
    with views.progress_bar("building notebooks", total=len(topics)) as advance:
        written = []
        for t in topics:
            written += build.build(directory, [t])
            advance()
    c = views.console()
    for path in written:
        c.print(f"wrote {path}")
    c.print(
        f"Next, in {directory}: nbgrader generate_assignment TOPIC, collect submissions in submitted/<student>/TOPIC/, "
        "then `nnfs course grade`."
    )


@course_app.command("grade")
@_guard
def course_grade(
    directory: Annotated[Path, typer.Argument(help="The nbgrader course folder.")],
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            help="An assignment to grade (repeatable; default: every one with submissions).",
        ),
    ] = None,
    student: Annotated[
        list[str] | None,
        typer.Option("--student", "-s", help="Grade only this student (repeatable)."),
    ] = None,
    workers: WorkersOpt = 0,
    scheduler: SchedulerOpt = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Gradebook SQLAlchemy URL (default: the course's nbgrader_config.py, else SQLite).",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds allowed to grade one submission.")
    ] = 600,
    force: Annotated[
        bool, typer.Option("--force", help="Regrade submissions already graded and unchanged.")
    ] = False,
    feedback: Annotated[
        bool,
        typer.Option("--feedback/--no-feedback", help="Write nbgrader feedback and grades.csv."),
    ] = True,
    json_out: JsonOpt = False,
) -> None:
    """Grade a class in parallel (Dask), record scores in nbgrader's gradebook, write feedback.

    Exit 0: every submission graded; 1: some could not be graded (named, rerun to finish
    them); 2: a setup error. Example: nnfs course grade ~/course -t backprop --workers 8
    """
    import time

    from nnfs_cli.course import batch, tools
    from nnfs_cli.course import views as course_views

    settings = tools.settings(directory, db)
    plan = batch.plan(directory, settings, load_catalog(), topic, student, force)
    engine = batch.Engine(workers, scheduler)
    # feedback pages are tasks of the batch too; an unchanged submission gets its page if missing
    pages = None
    if feedback:
        pages = batch.FeedbackPages(batch.missing_feedback(directory, plan.unchanged))
    started = time.perf_counter()
    with course_views.batch_progress(len(plan.jobs)) as on_done:
        outcomes = batch.run(directory, settings, plan.jobs, engine, timeout, on_done, pages)
    report = batch.BatchReport(outcomes, plan, time.perf_counter() - started,
                               workers or (0 if scheduler else os.cpu_count() or 1))  # fmt: skip
    trouble = ""
    if pages and pages.failed:  # the grades are saved; say why feedback is missing
        more = f" (and {len(pages.failed) - 3} more)" if len(pages.failed) > 3 else ""
        trouble = "; ".join(pages.failed[:3]) + more
    if feedback and (report.graded or pages.also):
        try:
            batch.export(directory, settings)
        except NnfsError as e:
            trouble = "; ".join(filter(None, (trouble, str(e))))
    if json_out:
        views.print_json(report.to_json() | {"feedback_error": trouble or None})
    else:
        course_views.batch_report(views.console(), report)
    if trouble:
        views.error(trouble)
    raise typer.Exit(1 if report.ungraded else 2 if trouble else 0)


@course_app.command("grade-folder")
@_guard
def course_grade_folder(
    folder: Annotated[
        Path, typer.Argument(help="One folder per student, each with its .py or .ipynb.")
    ],
    topic: Annotated[str, typer.Option("--topic", "-t", help="The topic the submissions answer.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output prefix (default: grades-TOPIC): .csv and .json."),
    ] = None,
    workers: WorkersOpt = 0,
    scheduler: SchedulerOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds allowed per submission.")
    ] = 600,
) -> None:
    """Grade plain submissions (e.g. a GitHub Classroom folder) with the same engine, to CSV and JSON.

    Example: nnfs course grade-folder ~/classroom/backprop -t backprop --workers 8
    """
    from nnfs_cli.course import batch, export
    from nnfs_cli.course import views as course_views

    if not folder.is_dir():
        raise NnfsError(f"no folder at {folder}")
    t = load_catalog().get_available(topic)
    plan = batch.plan_folder(folder, t)
    with course_views.batch_progress(len(plan.jobs)) as on_done:
        outcomes = batch.run(
            folder, None, plan.jobs, batch.Engine(workers, scheduler), timeout, on_done
        )
    prefix = out or Path(f"grades-{t.id}")
    csv_path, json_path = (
        prefix.with_name(prefix.name + ".csv"),
        prefix.with_name(prefix.name + ".json"),
    )
    export.write_grades(outcomes, csv_path, json_path)
    report = batch.BatchReport(outcomes, plan, 0.0, workers or os.cpu_count() or 1)
    course_views.batch_report(views.console(), report)
    views.console().print(f"wrote {csv_path} and {json_path}")
    raise typer.Exit(1 if report.ungraded else 0)


@course_app.command("report")
@_guard
def course_report(
    directory: Annotated[Path, typer.Argument(help="The nbgrader course folder.")],
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic", "-t", help="An assignment (repeatable; default: every graded one)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The HTML page to write (default: COURSE/class_report.html)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The class's scores, the pass rate of each part and the mistakes the grader named.

    Writes one self-contained HTML page and prints the same. Example: nnfs course report ~/course
    """
    from nnfs_cli.course import report
    from nnfs_cli.course import views as course_views

    reports = report.class_report(directory, topic)
    if not any(r.scores or r.ungraded for r in reports):
        raise NnfsError(
            f"nothing graded in {directory} yet: run `nnfs course grade {directory}` first"
        )
    page = out or directory / "class_report.html"
    page.write_text(report.to_html(reports), encoding="utf-8")
    if json_out:
        views.print_json({"html": str(page), "assignments": [r.to_json() for r in reports]})
        return
    course_views.class_report(views.console(), reports)
    views.console().print(f"wrote {page}")


@course_app.command("gradescope")
@_guard
def course_gradescope(
    topic: TopicArg,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The zip to write (default: TOPIC-gradescope.zip)."),
    ] = None,
    package: Annotated[
        str | None,
        typer.Option(
            "--package",
            help="What setup.sh installs: a pip spec, or a wheel file to ship in the zip.",
        ),
    ] = None,
) -> None:
    """Write a Gradescope autograder zip that grades TOPIC with the same sandboxed grader.

    Example: nnfs course gradescope backprop --package dist/nnfs_lab-0.1.0-py3-none-any.whl
    """
    from nnfs_cli.course import export

    t = load_catalog().get_available(topic)
    path = export.write_zip(t, out or Path(f"{t.id}-gradescope.zip"), package)
    views.console().print(
        f"wrote {path}: upload it as the assignment's autograder (setup.sh, run_autograder)"
    )


def main() -> None:
    app(prog_name="nnfs")
