"""Grading a class in parallel on Dask: one task per (student, assignment).

Each task copies the student's submitted notebook into a private temporary folder and
grades the copy with `nnfs check`'s sandboxed grader (`grading.runner.grade`): the grader
runs in a fresh pytest process, the student's code in its fenced worker, and the course
folder is closed to that code. So the score comes from processes the student's code never
ran in (nbgrader's kernel is not used), and a student cannot touch the gradebook, the
source or another student's files. Scores are recorded through nbgrader's gradebook API
(gradebook.py): by the command itself for SQLite (one writer: SQLite has one write lock,
and a write takes milliseconds against seconds of grading), by the tasks themselves for a
server database such as PostgreSQL (parallel writers).

Failures are sorted by whose they are. A student's code that fails, hangs, crashes or
fills memory is graded (the parts it lost score 0) and listed with the reason. A fault of
the infrastructure (the grader cannot run, the database write fails, a worker died twice)
leaves the submission ungraded and named; the command then exits 1, and a rerun grades
exactly those (plus anything changed since: a checksum decides).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nnfs_cli.catalog import Catalog, Topic, load_catalog
from nnfs_cli.course import gradebook, tools
from nnfs_cli.errors import NnfsError

# Messages of the sandbox that mean the student's code, not the infrastructure, failed.
_STUDENT_FAULTS = ("no answer within", "did not finish importing", "died from", "ended the Python process",
                   "ran out of memory", "does not import", "has a syntax error", "may not", "could not be read")  # fmt: skip


@dataclass(frozen=True)
class Job:
    student: str
    topic: str
    notebook: Path
    checksum: str


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    unchanged: list[tuple[str, str]] = field(default_factory=list)  # (student, topic) done before
    skipped: list[str] = field(default_factory=list)  # "topic: why it was not graded"


@dataclass
class BatchReport:
    outcomes: list[dict] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    seconds: float = 0.0
    workers: int = 0

    @property
    def graded(self) -> list[dict]:
        return [o for o in self.outcomes if o["status"] == "graded"]

    @property
    def ungraded(self) -> list[dict]:
        return [o for o in self.outcomes if o["status"] != "graded"]

    def to_json(self) -> dict:
        keep = ("student", "topic", "status", "score", "max_score", "problem", "reason", "seconds")
        return {
            "graded": [{k: o.get(k) for k in keep} for o in self.graded],
            "ungraded": [{k: o.get(k) for k in keep} for o in self.ungraded],
            "unchanged": [{"student": s, "topic": t} for s, t in self.plan.unchanged],
            "skipped": self.plan.skipped,
            "seconds": round(self.seconds, 2),
            "workers": self.workers,
        }


def _notebook_of(folder: Path, topic_id: str) -> Path | None:
    named = folder / f"{topic_id}.ipynb"
    if named.is_file():
        return named
    found = sorted(folder.glob("*.ipynb"))
    return found[0] if found else None


def plan(course: Path, settings: tools.Settings, catalog: Catalog, topics: list[str] | None = None,
         students: list[str] | None = None, force: bool = False) -> Plan:  # fmt: skip
    """What to grade: assignments with submissions (the rest are named as skipped)."""
    submitted = course / "submitted"
    built = sorted(p.name for p in (course / "source").glob("*") if p.is_dir())
    found = Plan()
    if not topics:  # an instructor's own nbgrader assignments are not ours to grade
        found.skipped += [f"{b}: not an nnfs topic" for b in built if b not in catalog.by_id]
        built = [b for b in built if b in catalog.by_id]
    for topic_id in topics or built:
        catalog.get_available(topic_id)  # an unknown or planned topic is a usage error
        if topic_id not in built:
            raise NnfsError(
                f"{topic_id} is not built in {course}: run `nnfs course build {course} -t {topic_id}`"
            )
        folders = sorted(submitted.glob(f"*/{topic_id}"))
        folders = [f for f in folders if not students or f.parent.name in students]
        jobs = []
        for folder in folders:
            nb = _notebook_of(folder, topic_id)
            if nb is None:
                found.skipped.append(f"{folder.parent.name}/{topic_id}: no .ipynb in {folder}")
                continue
            job = Job(folder.parent.name, topic_id, nb, gradebook.checksum(nb))
            done = gradebook.read_record(course, topic_id, job.student)
            if (not force and done and done.get("status") == "graded"
                    and done.get("checksum") == job.checksum and done.get("db_url") == settings.db_url):  # fmt: skip
                found.unchanged.append((job.student, topic_id))
            else:
                jobs.append(job)
        if not folders:
            found.skipped.append(f"{topic_id}: no submissions in submitted/*/{topic_id}/")
        found.jobs += jobs
    return found


def _problem(result) -> str:
    """The reason a student's code failed as a whole (a hang, a crash...), or ''."""
    if result.error:
        return result.error
    for t in result.tests:
        first = t.message.strip().splitlines()[:1]
        if not t.passed and first and any(m in first[0] for m in _STUDENT_FAULTS):
            return f"{t.part}: {first[0]}"
    # a notebook cell that raised (the other cells ran, and their functions were graded)
    return result.notes[0] if result.notes else ""


def _autograded(course: Path, job: Job, result) -> dict:
    """The student's notebook as nbgrader's autograde leaves it: locked cells restored from the
    source, and each test cell's output the part's feedback (what generate_feedback shows)."""
    import json

    from nnfs_cli.course.kernel import part_feedback

    nb = json.loads(job.notebook.read_text(encoding="utf-8"))
    source = json.loads(
        (course / "source" / job.topic / f"{job.topic}.ipynb").read_text(encoding="utf-8")
    )
    originals = {c["metadata"]["nbgrader"]["grade_id"]: c for c in source["cells"]
                 if c["metadata"].get("nbgrader", {}).get("locked")}  # fmt: skip
    for i, c in enumerate(nb.get("cells", [])):
        grade_id = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in originals:
            c = nb["cells"][i] = json.loads(json.dumps(originals[grade_id]))
        if c["metadata"].get("nbgrader", {}).get("grade") and c["cell_type"] == "code":
            _, text = part_feedback(result, grade_id.removeprefix("test-"))
            c["outputs"] = [{"name": "stdout", "output_type": "stream", "text": text + "\n"}]
    return nb


def is_course_notebook(root: Path, job: Job) -> bool:
    """A course notebook (nbgrader feedback is made for it), not a plain folder's file."""
    return job.notebook.suffix == ".ipynb" and (root / "source" / job.topic).is_dir()


def grade_task(course: str, job: Job, timeout: float, settings: tools.Settings | None) -> dict:
    """One Dask task: grade a private copy of one submission; record it too when `settings`."""
    from nnfs_cli.grading.runner import grade

    root = Path(course)
    started = time.perf_counter()
    outcome = {"student": job.student, "topic": job.topic, "checksum": job.checksum,
               "worker_pid": os.getpid()}  # fmt: skip
    topic = load_catalog().get_available(job.topic)
    with tempfile.TemporaryDirectory(prefix="nnfs-task-") as tmp:
        copy = Path(tmp) / job.notebook.name
        shutil.copyfile(job.notebook, copy)
        if gradebook.checksum(copy) != job.checksum:
            return outcome | {
                "status": "ungraded",
                "reason": "the submission changed while the batch ran; run again",
            }
        try:
            result = grade(topic, copy, protect=(root.resolve(),), run_timeout=timeout)
        except NnfsError as e:
            return outcome | {"status": "ungraded", "reason": f"the grader could not run: {e}"}
    parts = result.parts()
    outcome |= {
        "status": "graded",
        "score": result.score,
        "max_score": result.max_score,
        "scores": {f"test-{p}": float(sum(t.points for t in tests)) for p, tests in parts.items()},
        "problem": _problem(result),
        "result": result.to_json(),
        "autograded": _autograded(root, job, result) if is_course_notebook(root, job) else None,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if settings is not None:
        try:
            gradebook.record(root, settings, outcome)
        except Exception as e:  # the database (e.g. a stopped server), not the student
            return _write_failed(outcome, e)
    return outcome


def _write_failed(outcome: dict, e: Exception) -> dict:
    reason = " ".join(str(e).split())[:300]
    kept = {k: v for k, v in outcome.items() if k not in ("autograded", "scores")}
    return kept | {
        "status": "ungraded",
        "reason": f"the gradebook write failed: {type(e).__name__}: {reason}",
    }


def _prepare(course: Path, settings: tools.Settings, jobs: list[Job]) -> None:
    """The assignments and students in the gradebook before any task runs."""
    for topic_id in sorted({j.topic for j in jobs}):
        if not gradebook.has_assignment(settings, topic_id):
            tools.nbgrader(course, "generate_assignment", topic_id, "--force",
                           f"--CourseDirectory.db_url={settings.db_url}")  # fmt: skip
    gradebook.add_students(settings, {j.student for j in jobs})


@dataclass
class Engine:
    """Where tasks run: a LocalCluster started for the command, or an existing scheduler."""

    workers: int = 0
    scheduler: str | None = None

    def client(self):
        try:
            import dask
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise NnfsError(
                f"setup error: dask.distributed is not installed: {tools.INSTALL}"
            ) from None
        if self.scheduler:
            return Client(self.scheduler, timeout="30s"), None
        # a worker that dies is the infrastructure's fault: its task runs once more, then
        # it is reported (the student's own code never runs in a Dask worker)
        dask.config.set({"distributed.scheduler.allowed-failures": 1})
        # shutting the cluster down logs harmless heartbeat errors from its workers
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
        logging.getLogger("distributed").setLevel(logging.ERROR)
        n = self.workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=":0", scheduler_port=0)  # fmt: skip
        return Client(cluster), cluster


def run(course: Path, settings: tools.Settings | None, jobs: list[Job], engine: Engine,
        timeout: float = 600, on_done: Callable[[dict], None] | None = None,
        feedback: FeedbackPages | None = None) -> list[dict]:  # fmt: skip
    """Grade `jobs` on the engine; one outcome per job (graded or ungraded). With `settings`
    each graded one is recorded in that gradebook; without (plain folders), only returned.
    With `feedback` too, the feedback page of each one graded is made on the engine as soon
    as its grade is recorded (and those of `feedback.also`)."""
    if not jobs and not (feedback and feedback.also):
        return []
    if settings is not None and jobs:
        _prepare(course, settings, jobs)
    parallel_writes = settings is not None and not settings.db_url.startswith("sqlite")
    client, cluster = engine.client()
    outcomes = []
    try:
        from dask.distributed import as_completed

        futures = {
            client.submit(grade_task, str(course.resolve()), job, timeout,
                          settings if parallel_writes else None, pure=False, key=f"grade-{job.topic}-{job.student}-{job.checksum[:8]}"): job
            for job in jobs
        }  # fmt: skip
        pages = _FeedbackTasks(client, course, settings, feedback or FeedbackPages())
        pending = as_completed(futures)
        for student, topic in pages.pages.also:
            pending.add(pages.submit(student, topic))
        with gradebook.opened(settings) if settings else contextlib.nullcontext() as gb:
            for future in pending:
                if pages.collect(future):
                    continue
                job = futures[future]
                outcome = _collect(course, settings, gb, job, future, parallel_writes)
                if settings is not None and outcome["status"] != "graded":
                    gradebook.record_failure(course, outcome)
                elif settings is not None and feedback is not None:
                    pending.add(pages.submit(job.student, job.topic))
                outcomes.append(outcome)
                if on_done:
                    on_done(outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return outcomes


@dataclass
class FeedbackPages:
    """Feedback pages a batch makes besides those of what it grades, and those that failed."""

    also: list[tuple[str, str]] = field(default_factory=list)  # (student, topic)
    failed: list[str] = field(default_factory=list)  # why, one line each


class _FeedbackTasks:
    """The feedback tasks of a batch: submitted once a grade is recorded, failures listed."""

    def __init__(self, client, course: Path, settings: tools.Settings | None, pages: FeedbackPages):
        self.client, self.course, self.settings, self.pages = (
            client,
            str(course.resolve()),
            settings,
            pages,
        )
        self.futures: set = set()

    def submit(self, student: str, topic: str):
        future = self.client.submit(feedback_task, self.course, topic, student,
                                    self.settings.db_url, pure=False)  # fmt: skip
        self.futures.add(future)
        return future

    def collect(self, future) -> bool:
        """True if `future` was a feedback task (its failure, if any, is listed)."""
        if future not in self.futures:
            return False
        try:
            why = future.result()
        except Exception as e:  # a worker that died twice, or nbgrader itself
            why = f"a feedback task failed: {type(e).__name__}: {e}"
        if why:
            self.pages.failed.append(why)
        return True


def _collect(course, settings, gb, job: Job, future, written: bool) -> dict:
    base = {"student": job.student, "topic": job.topic, "checksum": job.checksum}
    try:
        outcome = future.result()
    except Exception as e:  # KilledWorker after the retry, or a bug in the task
        return base | {
            "status": "ungraded",
            "reason": f"the grading task failed: {type(e).__name__}: {e}",
        }
    if outcome["status"] == "graded" and settings is not None and not written:
        try:
            gradebook.record(course, settings, outcome, gb)
        except Exception as e:
            return _write_failed(outcome, e)
    return outcome


def plan_folder(folder: Path, topic: Topic, students: list[str] | None = None) -> Plan:
    """A folder of plain submissions, one folder per student (as GitHub Classroom collects them)."""
    from nnfs_cli.course.export import find_submission

    found = Plan()
    for student_dir in sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
    ):
        if students and student_dir.name not in students:
            continue
        path = find_submission(topic, student_dir)
        if path is None:
            found.skipped.append(
                f"{student_dir.name}: no {topic.module_name}.py (or single .py/.ipynb) found"
            )
            continue
        found.jobs.append(Job(student_dir.name, topic.id, path, gradebook.checksum(path)))
    return found


_FEEDBACK_CONFIG: dict[tuple, object] = {}  # per worker process: the course's, read once


def _feedback_config(course: str, db_url: str):
    """The course's nbgrader_config.py as nbgrader's own command reads it, on `db_url`."""
    key = (course, db_url, Path(course, "nbgrader_config.py").stat().st_mtime_ns)  # edits count
    if key not in _FEEDBACK_CONFIG:
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=course).load_config()
        config.CourseDirectory.root = course
        config.CourseDirectory.db_url = db_url
        config.HTMLExporter.template_name = "feedback"  # as nbgrader's own API sets it
        config.GenerateFeedback.log_level = logging.ERROR  # not on the command's terminal
        _FEEDBACK_CONFIG[key] = config
    return _FEEDBACK_CONFIG[key]


def feedback_task(course: str, topic: str, student: str, db_url: str) -> str:
    """One Dask task: nbgrader's feedback page for one graded submission ('' or why not).

    nbgrader's own converter (what `nbgrader generate_feedback --student S` runs) in the
    worker's process: nbgrader and nbconvert are imported once per worker, and the pages
    of a class are made in parallel instead of by one serial command after the batch."""
    tools.put_bin_on_path()
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    config = _feedback_config(course, db_url)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = topic, student
    app = GenerateFeedback(coursedir=coursedir, config=config)
    app.force = True
    with warnings.catch_warnings():  # nbformat's notes about cell ids, on the worker's stderr
        warnings.simplefilter("ignore")
        done = capture_log(app)
    if done["success"]:
        return ""
    why = (done.get("error") or done.get("log") or "no reason given").strip().splitlines()
    return f"feedback for {student}/{topic} failed: {why[-1] if why else ''}"


def missing_feedback(course: Path, done: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (student, topic) pairs among `done` with no feedback page yet."""
    return [(s, t) for s, t in done if not (course / "feedback" / s / t / f"{t}.html").exists()]


def export(course: Path, settings: tools.Settings) -> None:
    """nbgrader's grades.csv from the gradebook: one command for the class, whatever its size."""
    tools.nbgrader(course, "export", f"--CourseDirectory.db_url={settings.db_url}")
