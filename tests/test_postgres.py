"""The parallel autograder against a real PostgreSQL gradebook (CourseDirectory.db_url).

A throwaway server (Debian's postgresql, started by conftest's ``postgres``
fixture as the postgres user on a Unix socket only) holds the course gradebook; nbgrader registers the
assignment there, the jobs grade in their own SQLite scratch gradebooks and
the parent merges into PostgreSQL.  `make test` installs postgresql when it is
missing (as root).
"""
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course.authoring.apps import nbgrader
from course.demo.classroom import build_class
from course.grading.client import autograde
from course.grading.job import Limits
from course.grading.results import FAILED, GRADED
from course.settings import ASSIGNMENT, ROOT, load

COURSE_ID = load(ROOT).course_id

pytestmark = pytest.mark.postgres
NOTEBOOKS = ["01_activations", "03_sequential", "07_losses"]
STUDENTS = ["reference", "untouched", "ce_log_eps", "invalid_json"]


@pytest.fixture(scope="module")
def postgres_url(postgres):
    return postgres.database("nn_layers")


@pytest.fixture(scope="module")
def graded(postgres_url, released_course, tmp_path_factory):
    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("pg") / "course", symlinks=True))
    (course / "gradebook.db").unlink()
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")  # registers the assignment in PostgreSQL
    build_class(course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT, course / "submitted", STUDENTS)
    results = autograde(course, notebooks=NOTEBOOKS, jobs=2, limits=Limits(cell_timeout=30, job_timeout=120),
                        progress=False)
    return course, postgres_url, {(r.student, r.notebook): r for r in results}


def test_grades_land_in_postgresql(graded):
    course, url, results = graded
    with Gradebook(url, course_id=COURSE_ID) as gb:
        for notebook in NOTEBOOKS:
            reference = gb.find_submission_notebook(notebook, ASSIGNMENT, "reference")
            untouched = gb.find_submission_notebook(notebook, ASSIGNMENT, "untouched")
            assert reference.score == reference.max_score > 0, notebook
            assert untouched.score == 0, notebook
        ce = {g.name: g.score for g in gb.find_submission_notebook("07_losses", ASSIGNMENT, "ce_log_eps").grades}
        assert ce["cross_entropy_hidden"] == 0 and ce["softmax_hidden"] > 0, ce
    assert not (course / "gradebook.db").exists(), "a SQLite gradebook appeared next to the PostgreSQL one"


def test_status_records_match_postgresql(graded):
    _, _, results = graded
    assert results["reference", "01_activations"].status == GRADED
    assert results["reference", "01_activations"].score == 6
    assert results["invalid_json", "03_sequential"].status == FAILED
    assert "JSON" in results["invalid_json", "03_sequential"].reason
    assert results["invalid_json", "07_losses"].status == GRADED


def test_rerun_is_idempotent_against_postgresql(graded):
    course, url, _ = graded
    with Gradebook(url, course_id=COURSE_ID) as gb:
        before = {(s.student.id, n.name): n.score for s in gb.assignment_submissions(ASSIGNMENT) for n in s.notebooks}
    autograde(course, notebooks=NOTEBOOKS, jobs=2, progress=False)  # every pair has a record: nothing to do
    with Gradebook(url, course_id=COURSE_ID) as gb:
        after = {(s.student.id, n.name): n.score for s in gb.assignment_submissions(ASSIGNMENT) for n in s.notebooks}
    assert before == after and before
