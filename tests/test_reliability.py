"""The reliability catalogue: hostile and broken submissions through the real
parallel autograder, in one batch with a correct student.

For each case: the batch continues; the submission gets the right grade or an
explicit "failed to grade"/"missing" status with a readable reason; the
correct student's grades are untouched; nothing is written outside the
course folder.
"""
import os
import tempfile
from pathlib import Path

import pytest

from course.demo.classroom import GRADE_IDS, STUDENTS, build_class
from course.grading.client import autograde
from course.grading.job import Limits
from course.grading.results import FAILED, GRADED, MISSING, assignment_structure
from course.settings import ASSIGNMENT

CASES = [name for name, student in STUDENTS.items() if student.kind in ("file", "tamper", "kernel", "noise")]
# A kernel that ignores interrupts is killed at 40 s.  Only grades and statuses count here; feedback for
# hostile submissions is test_security.py's.
LIMITS = Limits(cell_timeout=10, job_timeout=40, feedback=False)


def touched_notebooks(name):
    """The notebooks a case changes, by comparing its expectation and its files with the reference."""
    expect = STUDENTS[name].expect
    notebooks = set(expect.failed | expect.missing | expect.may_fail)
    notebooks |= {nb for nb, ids in GRADE_IDS.items() if set(ids) & (expect.zero | expect.free)}
    return notebooks


def outside_state():
    """What a grading run could leave outside the course: /tmp entries and the real HOME's Jupyter dirs."""
    home = Path(os.path.expanduser("~"))
    entries = set(os.listdir(tempfile.gettempdir()))
    for sub in (".jupyter", ".local/share/jupyter", ".ipython", ".config/matplotlib", ".cache/matplotlib"):
        folder = home / sub
        if folder.exists():
            entries |= {f"~/{sub}/{p.relative_to(folder)}" for p in folder.rglob("*")}
    return entries


@pytest.fixture(scope="module")
def graded(released_course, tmp_path_factory):
    import shutil

    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("hostile") / "course", symlinks=True))
    build_class(course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT, course / "submitted",
                ["reference"] + CASES)
    notebooks = sorted(set().union(*(touched_notebooks(n) for n in CASES)) | {"02_linear"})
    before = outside_state()
    results = autograde(course, notebooks=notebooks, jobs=2, limits=LIMITS, progress=False)
    new_outside = {e for e in outside_state() - before if not e.startswith("pytest-of-")}
    by_student = {}
    for result in results:
        by_student.setdefault(result.student, {})[result.notebook] = result
    return course, by_student, notebooks, new_outside


def test_catalogue_is_large_enough():
    assert len(CASES) >= 15
    assert {STUDENTS[n].kind for n in CASES} == {"file", "tamper", "kernel", "noise"}


@pytest.mark.parametrize("name", CASES)
def test_hostile_submission_is_graded_right_or_fails_loudly(graded, name):
    course, by_student, notebooks, _ = graded
    results = by_student[name]
    structure = {nb: cells for nb, cells in assignment_structure(course).items() if nb in notebooks}
    problems = STUDENTS[name].expect.violations(results, structure)
    assert not problems, f"{name}: {problems}"
    for result in results.values():
        if result.status in (FAILED, MISSING):
            assert len(result.reason) > 10, f"{name}/{result.notebook}: no readable reason"
            assert "exited with status" not in result.reason, f"{name}/{result.notebook}: a vague reason: {result.reason}"
            assert result.score is None, "a notebook that failed to grade must not carry a score"


def test_the_correct_student_in_the_same_batch_is_untouched(graded):
    _, by_student, notebooks, _ = graded
    reference = by_student["reference"]
    assert set(reference) == set(notebooks)
    for result in reference.values():
        assert result.status == GRADED and result.score == result.max_score, result


def test_nothing_is_written_outside_the_course(graded):
    _, _, _, new_outside = graded
    assert not new_outside, f"grading wrote outside the course folder: {sorted(new_outside)[:10]}"
