"""A grading outcome as data: what the runner returns and `nnfs check --json` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# How each kind is introduced to a learner: a convention is said kindly, not as a mistake.
LABELS = {
    "known-bug": "known mistake",
    "convention": "another convention",
    "signature": "looks like",
}


@dataclass
class Diagnosis:
    kind: str  # "signature" (a pattern), "known-bug" (a declared mistake) or "convention"
    name: str
    hint: str

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, "looks like")


@dataclass
class TestResult:
    name: str
    part: str
    passed: bool
    points: float
    max_points: float
    message: str = ""
    status: str = "passed"  # passed | failed | not-implemented | error | hung
    diagnosis: Diagnosis | None = None
    extra: dict = field(default_factory=dict)  # e.g. {"loss_curve": [...]} for plots

    def to_json(self) -> dict:
        d = asdict(self)
        d["points"] = self.points
        return d


@dataclass
class Result:
    topic: str
    target: str
    tests: list[TestResult]
    seconds: float = 0.0
    error: str = ""  # the whole run failed (e.g. the overall timeout); tests may be empty
    notes: list[str] = field(default_factory=list)  # e.g. a notebook cell that raised
    printed: str = ""  # what the submission's top level printed while loading

    @property
    def score(self) -> float:
        return round(sum(t.points for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_points for t in self.tests), 6)

    @property
    def passed(self) -> bool:
        return bool(self.tests) and not self.error and all(t.passed for t in self.tests)

    def parts(self) -> dict[str, list[TestResult]]:
        """Tests grouped by part, in grader order."""
        groups: dict[str, list[TestResult]] = {}
        for t in self.tests:
            groups.setdefault(t.part, []).append(t)
        return groups

    def to_json(self) -> dict:
        return {
            "topic": self.topic,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "target": self.target,
            "seconds": round(self.seconds, 3),
            "error": self.error or None,
            "notes": self.notes,
            "printed": self.printed,
            "tests": [t.to_json() for t in self.tests],
        }

    @classmethod
    def from_json(cls, data: dict) -> Result:
        tests = []
        for t in data["tests"]:
            diag = t.get("diagnosis")
            tests.append(
                TestResult(
                    **{k: v for k, v in t.items() if k != "diagnosis"},
                    diagnosis=Diagnosis(**diag) if diag else None,
                )
            )
        return cls(
            data["topic"],
            data.get("target", ""),
            tests,
            data.get("seconds", 0.0),
            data.get("error") or "",
            list(data.get("notes") or []),
            data.get("printed") or "",
        )
