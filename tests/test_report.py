"""The per-question CSV and the HTML report on a hand-made class (no nbgrader run)."""
import csv

import pytest

from course.grading.results import FAILED, GRADED, MANUAL, MISSING, NotebookResult
from course.reporting.export import pass_rates, per_question_rows, write_csv
from course.reporting.report import write_report

STRUCTURE = {"01_a": {"q1": 2, "q2": 3}, "02_b": {"q3": 4}}
SCRIPT = "<script>alert('x')</script>"
EVIL = '<img src=x onerror="alert(1)">'


def nb(student, notebook, status, cells=None, reason="", seconds=1.0):
    return NotebookResult(student, notebook, status, reason, dict(cells or {}), seconds)


@pytest.fixture
def results():
    return [
        # alice: everything graded, full marks but q2 half
        nb("alice", "01_a", GRADED, {"q1": (2, 2), "q2": (1.5, 3)}),
        nb("alice", "02_b", GRADED, {"q3": (4, 4)}),
        # bob: 01_a failed to grade (reason carries markup), 02_b graded with a 0 on q3
        nb("bob", "01_a", FAILED, {"q1": (None, 2), "q2": (None, 3)}, reason=f"kernel died {SCRIPT}"),
        nb("bob", "02_b", GRADED, {"q3": (0, 4)}),
        # carol: 01_a missing, 02_b waiting for manual grading
        nb("carol", "01_a", MISSING, reason="no notebook submitted"),
        nb("carol", "02_b", MANUAL, {"q3": (None, 4)}, reason="manual cell"),
        # dave: 01_a graded, no record for 02_b at all
        nb("dave", "01_a", GRADED, {"q1": (0, 2), "q2": (3, 3)}),
        # a student id with markup
        nb(EVIL, "01_a", GRADED, {"q1": (2, 2), "q2": (3, 3)}),
        nb(EVIL, "02_b", GRADED, {"q3": (4, 4)}),
    ]


def table(results):
    header, rows = per_question_rows(results, STRUCTURE)
    return header, {row[0]: dict(zip(header, row)) for row in rows}


def test_csv_columns(results):
    header, _ = per_question_rows(results, STRUCTURE)
    assert header == [
        "student",
        "01_a/q1", "01_a/q2", "01_a/total", "01_a/nbgrader", "01_a/status", "01_a/reason",
        "02_b/q3", "02_b/total", "02_b/nbgrader", "02_b/status", "02_b/reason",
        "total", "max_total", "status",
    ]


def test_csv_rows(results):
    _, rows = table(results)
    assert list(rows) == sorted(["alice", "bob", "carol", "dave", EVIL])
    assert all(row["max_total"] == 9 for row in rows.values())

    alice = rows["alice"]
    assert (alice["01_a/q1"], alice["01_a/q2"], alice["01_a/total"]) == (2, 1.5, 3.5)
    assert (alice["02_b/q3"], alice["02_b/total"]) == (4, 4)
    assert (alice["total"], alice["status"]) == (7.5, GRADED)

    bob = rows["bob"]  # failed: empty, never 0; overall total empty too
    assert (bob["01_a/q1"], bob["01_a/q2"], bob["01_a/total"]) == ("", "", "")
    assert bob["01_a/status"] == FAILED and SCRIPT in bob["01_a/reason"]
    assert (bob["02_b/q3"], bob["02_b/total"]) == (0, 0)  # an honest 0 stays 0
    assert bob["total"] == ""
    assert bob["status"] == "failed to grade: 01_a"

    carol = rows["carol"]
    assert (carol["01_a/q1"], carol["01_a/q2"], carol["01_a/total"]) == ("", "", "")
    assert carol["01_a/status"] == MISSING
    assert carol["02_b/q3"] == "" and carol["02_b/status"] == MANUAL
    assert carol["total"] == ""
    assert carol["status"] == "missing: 01_a; needs manual grading: 02_b"

    dave = rows["dave"]
    assert (dave["01_a/q1"], dave["01_a/q2"], dave["01_a/total"]) == (0, 3, 3)
    assert (dave["02_b/q3"], dave["02_b/total"], dave["02_b/status"]) == ("", "", "not graded yet")
    assert dave["total"] == ""
    assert dave["status"] == "not graded yet: 02_b"


def test_grade_of_record_and_nbgrader_own_score_side_by_side():
    checked = nb("frank", "01_a", GRADED, {"q1": (0, 2), "q2": (3, 3)})
    checked.nbgrader = {"q1": 2, "q2": 3}  # nbgrader credited q1, the audit did not: the record keeps 0
    _, rows = table([checked])
    assert (rows["frank"]["01_a/q1"], rows["frank"]["01_a/total"], rows["frank"]["01_a/nbgrader"]) == (0, 3, 5)


def test_grade_of_record_policies():
    from course.grading.record import combine, of_record

    audit = {"cells": {"q1": 0, "q2": 3, "q3": None}}
    assert of_record("min", {"q1": 2, "q2": 1, "q3": 4}, audit) == {"q1": 0, "q2": 1, "q3": 4}
    assert of_record("nbgrader", {"q1": 2, "q2": 1, "q3": 4}, audit) == {"q1": 2, "q2": 1, "q3": 4}
    assert of_record("audit", {"q1": 2, "q2": 1, "q3": 4}, audit) == {"q1": 0, "q2": 3, "q3": 4}
    assert of_record("min", {"q1": 2}, {}) == {"q1": 2}  # not audited (yet): nbgrader's
    assert combine("min", None, 2) is None  # waiting for manual grading stays so


def test_manual_notebook_counts_known_scores():
    results = [nb("eve", "01_a", GRADED, {"q1": (2, 2), "q2": (3, 3)}),
               nb("eve", "02_b", MANUAL, {"q3": (1, 4)})]
    _, rows = table(results)
    assert (rows["eve"]["02_b/total"], rows["eve"]["total"]) == (1, 6)
    assert rows["eve"]["status"] == "needs manual grading: 02_b"


def test_write_csv(tmp_path, results):
    path = write_csv(tmp_path / "grades.csv", results, STRUCTURE)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by = {row["student"]: row for row in rows}
    assert by["alice"]["01_a/q2"] == "1.5" and by["alice"]["01_a/q1"] == "2" and by["alice"]["total"] == "7.5"
    assert by["bob"]["01_a/q1"] == "" and by["bob"]["01_a/total"] == "" and by["bob"]["total"] == ""
    assert by["bob"]["02_b/q3"] == "0"
    assert by["bob"]["01_a/reason"] == f"kernel died {SCRIPT}"


def test_csv_neutralises_formulas(tmp_path):
    results = [nb("x", "01_a", FAILED, reason="=HYPERLINK(\"http://evil\")")]
    path = write_csv(tmp_path / "grades.csv", results, STRUCTURE)
    with path.open(newline="", encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    assert row["01_a/reason"].startswith("'=")


def test_pass_rates_hand_made():
    results = [
        nb("s1", "01_a", GRADED, {"q1": (2, 2), "q2": (3, 3)}),
        nb("s2", "01_a", GRADED, {"q1": (2, 2), "q2": (0, 3)}),
        nb("s3", "01_a", GRADED, {"q1": (1, 2), "q2": (2.5, 3)}),
        nb("s4", "01_a", GRADED, {"q1": (2, 2), "q2": (0, 3)}),
        nb("s5", "01_a", FAILED, {"q1": (None, 2), "q2": (None, 3)}),  # not counted
        nb("s6", "01_a", MANUAL, {"q1": (2, 2), "q2": (3, 3)}),  # not counted
        nb("s1", "02_b", GRADED, {"q3": (4, 4)}),
        nb("s2", "02_b", GRADED, {"q3": (4.0, 4)}),
    ]
    assert pass_rates(results, STRUCTURE) == [
        ("01_a", "q2", 1, 4),  # 25 %
        ("01_a", "q1", 3, 4),  # 75 %
        ("02_b", "q3", 2, 2),  # 100 %
    ]


def test_pass_rates_ungraded_cells_last():
    results = [nb("s1", "01_a", GRADED, {"q1": (0, 2), "q2": (0, 3)})]
    assert pass_rates(results, STRUCTURE) == [("01_a", "q1", 0, 1), ("01_a", "q2", 0, 1), ("02_b", "q3", 0, 0)]


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def pngs(out):
    return sorted(p.name for p in out.glob("*.png"))


def test_report(tmp_path, results):
    flags = [{"student": "alice", "notebook": "02_b", "cell": "q3_answer", "line": 7,
              "rule": "reads-hidden-tests", "detail": f"open('{SCRIPT}')"}]
    path = write_report(tmp_path / "out", results, STRUCTURE, flags)
    assert path == tmp_path / "out" / "report.html"
    text = path.read_text(encoding="utf-8")

    assert "<script" not in text and "onerror=\"" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
    assert text.count("<img ") == 3

    out = tmp_path / "out"
    assert pngs(out) == ["pass_rates.png", "scores.png", "statuses.png"]
    for name in pngs(out):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000
        assert f'src="{name}"' in text

    # every non-graded or flagged submission is listed with its reason
    attention = text.split("Needs attention", 1)[1].split("<h2>", 1)[0]
    for needle in ("bob", "01_a", "kernel died", "carol", "no notebook submitted", "manual cell",
                   "dave", "not graded yet", "alice", "reads-hidden-tests"):
        assert needle in attention
    assert "(5)" in text.split("Needs attention", 1)[1][:10]  # bob, carol x2, dave, alice (flag)
    assert "Cheat-scan flags" in text and "q3_answer" in text


def test_report_without_flags_or_grades(tmp_path):
    path = write_report(tmp_path, [nb("x", "01_a", MISSING), nb("x", "02_b", FAILED, reason="boom")],
                        STRUCTURE)
    text = path.read_text(encoding="utf-8")
    assert "Cheat-scan flags</h2>\n<p>none" in text
    for name in pngs(tmp_path):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
    assert len(pngs(tmp_path)) == 3


def test_report_empty_class(tmp_path):
    path = write_report(tmp_path, [], STRUCTURE, flags=[])
    assert "Cheat-scan flags</h2>\n<p>none</p>" in path.read_text(encoding="utf-8")
    assert len(pngs(tmp_path)) == 3
