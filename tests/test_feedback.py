"""The feedback a student receives (`nncourse feedback`) reads well: the seed student's pages.

The seed notebook's student (tests/students/seed.py, course.classroom's
seed_student: 18 of 47) is graded for real (nbgrader in the jailed kernel and
the audit), then nbgrader writes the feedback.  Every hidden test that cost a
point must say which check failed and why, in Russian, in one line: no
traceback, no hidden-test code, no path of the grader's.
"""
import html
import re
import shutil
from pathlib import Path

import pytest

from course.demo.classroom import build_class
from course.grading.client import autograde
from course.grading.job import Limits
from course.authoring.apps import nbgrader
from course.reporting.feedback import scan_feedback, write_feedback
from course.settings import ASSIGNMENT

SCORE = re.compile(r"^Score: ([\d.]+) / ([\d.]+)")
CYRILLIC = re.compile(r"[а-яё]", re.I)
GRADED_OBJECTS = {"ReLU", "Sigmoid", "Tanh", "Linear", "Sequential", "Dropout", "BatchNorm", "SGD", "Adam", "softmax",
                  "one_hot_encode", "CrossEntropyLoss", "MSELoss", "DataLoader", "train_epoch", "evaluate"}
GRADER_PATHS = ("/tmp/", "/work/", "/root/", ".work", "station-", "nnsb-", "nnaudit", "scratch", "/.venv/")


@pytest.fixture(scope="module")
def pages(released_course, tmp_path_factory):
    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("feedback") / "course", symlinks=True))
    build_class(course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT, course / "submitted",
                ["seed_student", "reference"])
    results = autograde(course, jobs=2, limits=Limits(cell_timeout=60), progress=False)
    PAGES["while grading"] = pages_of(course)
    assert write_feedback(course, jobs=2) == ([], [])  # `nncourse feedback`: nbgrader, our exporter
    PAGES["nncourse feedback"] = pages_of(course)
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force", "--CourseDirectory.ignore=['*']")  # stock
    return course, results


PAGES = {}


def pages_of(course):
    return {page.relative_to(course): page.read_bytes() for page in sorted((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))}


@pytest.mark.parametrize("ours", ["while grading", "nncourse feedback"])
def test_our_pages_are_what_stock_nbgrader_generate_feedback_writes(pages, ours):
    """The grading job and `nncourse feedback` write each page with nbgrader's own GenerateFeedback, the
    grades of record and course.grading.pages' exporter; stock `nbgrader generate_feedback` (nbconvert's
    HTMLExporter) on the course gradebook writes the same bytes."""
    course, results = pages
    stock = pages_of(course)
    assert len(stock) == 16 and all(r.feedback == "written" for r in results), [r.feedback for r in results]
    assert PAGES[ours].keys() == stock.keys()
    differ = [str(name) for name, data in stock.items() if PAGES[ours][name] != data]
    assert not differ, differ


def page_lines(path):
    """The visible text of a feedback page, a line per block."""
    text = re.sub(r"<(style|script)\b.*?</\1>", "", path.read_text(encoding="utf-8"), flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    return [line.strip() for line in text.splitlines() if line.strip()]


def hidden_cells(lines):
    """[(score, max, the cell's first comment line, what it printed)] for each hidden-test cell of a page."""
    found = []
    for i, line in enumerate(lines):
        if line.startswith("# Скрытые тесты"):
            score = next(SCORE.match(lines[j]) for j in range(i - 1, max(i - 4, -1), -1) if SCORE.match(lines[j]))
            found.append((float(score.group(1)), float(score.group(2)), line, lines[i + 1] if i + 1 < len(lines) else ""))
    return found


def test_the_seed_student_scores_18_of_47(pages):
    course, results = pages
    seed = [r for r in results if r.student == "seed_student"]
    assert all(r.status == "graded" for r in seed) and sum(r.score for r in seed) == 18
    assert sum(r.max_score for r in seed) == 47


def test_every_lost_point_names_its_check_and_why_in_russian(pages):
    course, _ = pages
    lost = 0
    for page in sorted((course / "feedback" / "seed_student" / ASSIGNMENT).glob("*.html")):
        cells = hidden_cells(page_lines(page))
        assert cells, f"{page.name}: no hidden-test cell found"
        for score, maximum, title, said in cells:
            assert CYRILLIC.search(title), title  # the cell's own comment says what it tests
            if score == maximum:
                assert said.startswith("✓"), (page.name, title, said)
                continue
            lost += maximum - score
            assert said.startswith("CheckFailure: "), (page.name, title, said)
            message = said[len("CheckFailure: "):]
            named = re.match(r"[A-Za-z_]\w*", message)  # the object checked: ReLU, Sequential.parameters(), ...
            assert named and named.group() in GRADED_OBJECTS and CYRILLIC.search(message), (page.name, said)
            assert "Traceback" not in said and 'File "' not in said, (page.name, said)
    assert lost == 47 - 18


def test_no_hidden_test_code_and_no_grader_paths(pages):
    course, _ = pages
    assert scan_feedback(course) == []
    for page in sorted((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html")):
        text = "\n".join(page_lines(page))
        for secret in ("solutions", "check_", "BEGIN HIDDEN TESTS", "Traceback (most recent"):
            assert secret not in text, (page, secret)
        for path in GRADER_PATHS:
            assert path not in text, (page, path, text[max(0, text.find(path) - 200):text.find(path) + 100])


def test_status_records_name_cells_not_files(pages):
    _, results = pages
    for result in results:
        for reason in [result.reason, *(result.audit.get("reasons") or {}).values()]:
            assert "student_" not in reason and not any(p in reason for p in GRADER_PATHS), (result.notebook, reason)
