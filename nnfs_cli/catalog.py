"""The catalog: phases -> sections -> topics, read from catalog.toml.

Every path a topic has is derived here from its id and its phase folder, so a topic is
named in exactly one place.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from nnfs_cli.errors import NnfsError

PACKAGE_DIR = Path(__file__).resolve().parent


def content_root() -> Path:
    """Where exercises/, solutions/ and graders/ live: inside the wheel, or the checkout."""
    packaged = PACKAGE_DIR / "content"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent


@dataclass(frozen=True)
class Topic:
    id: str
    checkbox: str
    summary: str
    status: str
    hints: tuple[str, ...]
    phase: int
    phase_title: str
    folder: str
    section: str
    section_title: str
    index: int  # position in roadmap order, from 0
    # progressive hints per part (function): ((part, (hint, ...)), ...), from `part_hints`
    part_hints: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # what the sandbox refuses the learner's code: top-level modules (the phase's list
    # unless the topic sets its own) and dotted callables ("torch.nn.LayerNorm", a `*`
    # allowed in the last part) that would do the exercise's job
    forbid_imports: tuple[str, ...] = ()
    forbid_calls: tuple[str, ...] = ()
    grader_torch: bool = False  # the grader imports torch (its speed bar is 4 s, not 2)

    def hints_for(self, part: str) -> tuple[str, ...]:
        return dict(self.part_hints).get(part, ())

    @property
    def available(self) -> bool:
        return self.status == "available"

    @property
    def module_name(self) -> str:
        return self.id.replace("-", "_")

    @property
    def relpath(self) -> Path:
        """Path of the exercise relative to exercises/, solutions/ and a workspace."""
        return Path(self.folder) / f"{self.module_name}.py"

    @property
    def solution_path(self) -> Path:
        return content_root() / "solutions" / self.relpath

    @property
    def exercise_path(self) -> Path:
        return content_root() / "exercises" / self.relpath

    @property
    def grader_path(self) -> Path:
        return content_root() / "graders" / self.relpath

    @property
    def bugs_path(self) -> Path:
        return content_root() / "graders" / self.folder / f"{self.module_name}_bugs.py"


@dataclass(frozen=True)
class Section:
    number: str
    title: str
    topics: tuple[Topic, ...]


@dataclass(frozen=True)
class Phase:
    number: int
    title: str
    folder: str
    sections: tuple[Section, ...]

    @property
    def topics(self) -> tuple[Topic, ...]:
        return tuple(t for s in self.sections for t in s.topics)


@dataclass(frozen=True)
class Catalog:
    phases: tuple[Phase, ...]
    by_id: dict[str, Topic] = field(default_factory=dict)

    @property
    def topics(self) -> tuple[Topic, ...]:
        return tuple(t for p in self.phases for t in p.topics)

    def get(self, topic_id: str) -> Topic:
        """The topic with this id, or an error that suggests the closest ids."""
        if topic_id in self.by_id:
            return self.by_id[topic_id]
        if not topic_id.strip():
            raise NnfsError("no topic given: run `nnfs list` to see the topic ids")
        close = difflib.get_close_matches(topic_id.lower(), list(self.by_id), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise NnfsError(f"unknown topic {topic_id!r}.{hint} Run `nnfs list` to see all topics.")

    def get_available(self, topic_id: str) -> Topic:
        topic = self.get(topic_id)
        if not topic.available:
            raise NnfsError(
                f"topic {topic.id!r} ({topic.checkbox}, phase {topic.phase}) is planned, "
                "not available yet: its exercise and grader are still being written."
            )
        return topic


def parse_catalog(data: dict) -> Catalog:
    phases: list[Phase] = []
    index = 0
    for ph in data["phase"]:
        sections = []
        for sec in ph["section"]:
            topics = []
            for t in sec["topic"]:
                topics.append(
                    Topic(
                        id=t["id"],
                        checkbox=t["checkbox"],
                        summary=t.get("summary", ""),
                        status=t.get("status", "planned"),
                        hints=tuple(t.get("hints", ())),
                        phase=ph["number"],
                        phase_title=ph["title"],
                        folder=ph["folder"],
                        section=sec["number"],
                        section_title=sec["title"],
                        index=index,
                        part_hints=tuple(
                            (part, tuple(hs)) for part, hs in t.get("part_hints", {}).items()
                        ),
                        forbid_imports=tuple(t.get("forbid_imports", ph.get("forbid_imports", ()))),
                        forbid_calls=tuple(t.get("forbid_calls", ())),
                        grader_torch=bool(t.get("torch", False)),
                    )
                )
                index += 1
            sections.append(Section(sec["number"], sec["title"], tuple(topics)))
        phases.append(Phase(ph["number"], ph["title"], ph["folder"], tuple(sections)))
    catalog = Catalog(tuple(phases))
    for topic in catalog.topics:
        catalog.by_id.setdefault(topic.id, topic)
    return catalog


@cache
def load_catalog(path: Path | None = None) -> Catalog:
    path = path or PACKAGE_DIR / "catalog.toml"
    with open(path, "rb") as f:
        return parse_catalog(tomllib.load(f))
