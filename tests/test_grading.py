"""The assignment through real nbgrader: generate, autograde, feedback.

One module-scoped course copy holds three submissions: the source notebooks as
a student would submit them (must score full marks), the untouched release
(must score 0 on every graded cell without any grading failure), and the
untouched release plus files that try to shadow the reference package with
checks that always pass (must score 0 too).
"""
import filecmp
import re
import shutil
import time

import nbformat
import pytest
from nbgrader.api import Gradebook

from course.authoring.apps import course_copy, generate_release, nbgrader
from course.authoring.build import is_demo
from course.grading.plugins import DEMO_SKIPPED
from course.reporting.feedback import scan_feedback
from course.settings import ASSIGNMENT, ROOT

STUDENTS = ("reference", "untouched", "shadow")
FAKE_CHECKS = "def __getattr__(name):\n    return lambda *args, **kwargs: print('✓ passed')\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = course_copy(tmp_path_factory.mktemp("course"))
    release = generate_release(root)
    for student in STUDENTS:
        shutil.copytree(release, root / "submitted" / student / ASSIGNMENT)
    for notebook in (root / "source" / ASSIGNMENT).glob("*.ipynb"):
        shutil.copy(notebook, root / "submitted" / "reference" / ASSIGNMENT / notebook.name)
    shadow = root / "submitted" / "shadow" / ASSIGNMENT
    (shadow / "solutions").mkdir()
    (shadow / "solutions" / "__init__.py").write_text("")
    (shadow / "solutions" / "checks.py").write_text(FAKE_CHECKS)
    (shadow / "solutions.py").write_text(FAKE_CHECKS)
    seconds = {}
    for student in STUDENTS:
        start = time.perf_counter()
        result = nbgrader(root, "autograde", ASSIGNMENT, "--student", student)
        seconds[student] = time.perf_counter() - start
        # nbgrader's own errors, not a kernel's teardown noise on its stderr.
        assert "| ERROR]" not in result.stderr, result.stderr[-3000:]
    print("\nautograde of one full submission (8 notebooks): " +
          ", ".join(f"{s} {t:.1f} s" for s, t in seconds.items()))
    nbgrader(root, "generate_feedback", ASSIGNMENT)
    return root


def grades(root, student):
    """{(notebook, grade_id): (score, max_score)} from nbgrader's gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="nn-layers") as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        return {(nb.name, grade.name): (grade.score, grade.max_score)
                for nb in submission.notebooks for grade in nb.grades}


def test_committed_release_is_what_nbgrader_generates(course):
    fresh, committed = course / "release" / ASSIGNMENT, ROOT / "release" / ASSIGNMENT
    comparison = filecmp.dircmp(fresh, committed)
    assert not comparison.left_only and not comparison.right_only, "release/ is stale: run `make notebooks`"
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, comparison.common_files, shallow=False)
    assert not mismatch and not errors, f"release/ is stale (run `make notebooks`): {mismatch + errors}"


def test_reference_submission_gets_full_marks(course):
    scores = grades(course, "reference")
    assert len(scores) >= 16
    lost = {cell: score for cell, score in scores.items() if score[0] != score[1]}
    assert not lost, f"correct work lost points: {lost}"


@pytest.mark.parametrize("student", ["untouched", "shadow"])
def test_stubs_score_zero_on_every_graded_cell(course, student):
    scores = grades(course, student)
    assert set(scores) == set(grades(course, "reference"))
    assert all(max_score > 0 for _, max_score in scores.values())
    earned = {cell: score for cell, score in scores.items() if score[0] != 0}
    assert not earned, f"{student}: stubs earned points: {earned}"


def test_submitted_files_cannot_shadow_the_reference(course):
    autograded = course / "autograded" / "shadow" / ASSIGNMENT
    assert not (autograded / "solutions").exists() and not (autograded / "solutions.py").exists()


def test_untouched_release_was_graded_not_crashed(course):
    """Each graded cell of the untouched release ran and failed with a readable reason."""
    for path in sorted((course / "autograded" / "untouched" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if not cell.metadata.get("nbgrader", {}).get("grade"):
                continue
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert errors, f"{path.name}:{cell.metadata.nbgrader.grade_id} has no error output"
            assert errors[0].ename in ("CheckFailure", "NotImplementedError", "NameError"), \
                f"{path.name}: unexpected {errors[0].ename}: {errors[0].evalue}"
    assert len(list((course / "autograded" / "untouched" / ASSIGNMENT).glob("*.ipynb"))) == 8


def test_reference_notebooks_ran_without_errors_or_stderr(course):
    for path in sorted((course / "autograded" / "reference" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                assert output.output_type != "error", f"{path.name}: {output.ename}: {output.evalue}"
                assert output.get("name") != "stderr", f"{path.name}: stderr: {output.text[:300]}"


def test_demonstrations_are_not_run_by_the_autograder(course):
    demos = 0
    for path in sorted((course / "autograded" / "reference" / ASSIGNMENT).glob("*.ipynb")):
        cells = [c for c in nbformat.read(path, as_version=4).cells if is_demo(c)]
        assert cells, f"{path.name}: no demonstration cell (its plots would cost grading time)"
        for cell in cells:
            assert [o.get("text") for o in cell.outputs] == [DEMO_SKIPPED], (path.name, cell.outputs)
        demos += len(cells)
    assert demos >= 14


def test_feedback_never_shows_hidden_tests(course):
    pages = sorted((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    assert len(pages) == 8 * len(STUDENTS)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for secret in ("BEGIN HIDDEN TESTS", "solutions.checks", "solutions/checks", "import solutions"):
            assert secret not in html, f"{page}: {secret}"
        assert not re.search(r"check_\w+\(", html), f"{page}: a hidden check call is visible"
    assert scan_feedback(course) == []
    untouched = (course / "feedback" / "untouched" / ASSIGNMENT / "01_activations.html").read_text()
    assert "ещё не реализовано" in untouched, "feedback must still say why a hidden test failed"
