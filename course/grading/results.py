"""Grading results per (student, notebook): what export and report read.

The parallel autograder writes one status record per graded notebook to
``grading/<student>/<notebook>.json`` (atomically, after the grades are in
the gradebook), so a submission that failed to grade is never an honest 0.
"""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..jail import safefiles
from ..settings import load
from ..trust.flags import HIGH, flag

GRADED = "graded"
FAILED = "failed to grade"
MANUAL = "needs manual grading"
MISSING = "missing"
STATUSES = (GRADED, MANUAL, FAILED, MISSING)


@dataclass
class NotebookResult:
    student: str
    notebook: str
    status: str
    reason: str = ""
    cells: dict = field(default_factory=dict)  # grade_id -> [score of record, max_score] (course.grading.record)
    seconds: float = 0.0
    sandboxed: object = None  # True / False: was the kernel jailed (course.jail.sandbox); None: unknown
    audit: dict = field(default_factory=dict)  # course.trust.audit: {"cells": {grade_id: score}, "reasons", ...}
    station: str = ""  # which grading station (host:pid, a Dask worker or the local batch) graded it
    timed_out: list = field(default_factory=list)  # code cells (1-based) interrupted on the cell timeout
    nbgrader: dict = field(default_factory=dict)  # grade_id -> nbgrader's own score (before the audit's say)
    feedback: str = ""  # its feedback page: "written", "withheld: <what it showed>", or "" (none written)

    @property
    def score(self):
        return sum(score for score, _ in self.cells.values()) if self.status in (GRADED, MANUAL) else None

    @property
    def max_score(self):
        return sum(maximum for _, maximum in self.cells.values())


def status_dir(root):
    return Path(root) / "grading"


def status_path(root, student, notebook):
    return status_dir(root) / student / f"{notebook}.json"


def write_result(root, result):
    path = status_path(root, result.student, result.notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    safefiles.write_json(path, asdict(result))  # a killed batch leaves either no record or a whole one


def forget(root, student):
    """Drop ``student``'s status records (a new submission of theirs was collected): autograde grades it again."""
    for path in (status_dir(root) / student).glob("*.json"):
        path.unlink()


def read_result(root, student, notebook):
    path = status_path(root, student, notebook)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    data["cells"] = {k: tuple(v) for k, v in data["cells"].items()}
    return NotebookResult(**data)


def read_all(root):
    """Every recorded result, sorted by student then notebook."""
    results = []
    for path in sorted(status_dir(root).glob("*/*.json")):
        results.append(read_result(root, path.parent.name, path.stem))
    return results


def assignment_structure(root):
    """{notebook: {grade_id: max_points}} from the source notebooks, in order."""
    import nbformat

    assignment = load(root).assignment

    structure = {}
    for path in sorted((Path(root) / "source" / assignment).glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        structure[path.stem] = {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points
                                for c in cells if c.metadata.get("nbgrader", {}).get("grade")}
    return structure


def grading_flags(results):
    """A flag (as the cheat scan's) for every notebook where a cell had to be interrupted: its score
    stands, but an instructor should know the student's code hung there."""
    timed_out = [flag(r.student, r.notebook, f"cell {cell}", "", "timed-out", HIGH,
                      f"cell {cell} timed out and was interrupted; the cells after it ran")
                 for r in results for cell in (r.timed_out or [])]
    withheld = [flag(r.student, r.notebook, "", "", "feedback-withheld", HIGH,
                     f"its feedback page was withheld (grading/feedback-withheld/): {r.feedback[len('withheld: '):]}")
                for r in results if (r.feedback or "").startswith("withheld")]
    return timed_out + withheld
