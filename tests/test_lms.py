"""A course without JupyterHub: collect an LMS's download of all submissions, grade, export for the LMS.

The archives are real zips in each LMS's own naming, built here: Moodle's "Download all submissions"
(in folders and flat) and Canvas's ``login_[late_]userid_fileid_name`` with its ``-1`` resubmission
suffix, for a class of five with Cyrillic names: honest, buggy, a late resubmission (buggy, then
right), a notebook under a wrong name, and one that is not JSON; plus an upload by someone not on the
roster.  The Moodle class is collected and graded once (01_activations only) with the real
`nncourse autograde`, and both LMS exports are checked cell by cell against the status records.
The hostile archives need no grading: each shows what the instructor sees, and that the good
members around the bad one are collected and nothing lands outside ``submitted/``.
"""
import contextlib
import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course.cli import main as nncourse
from course.demo.classroom import STUDENTS, reference
from course.grading.results import FAILED, GRADED, MISSING, read_all
from course.settings import ASSIGNMENT, ROOT

RELEASE, SOURCE = ROOT / "release" / ASSIGNMENT, ROOT / "source" / ASSIGNMENT
NOTEBOOK = "01_activations"
ROSTER = ("id,first_name,last_name,email,lms_id\n"
          "ivanova,Анна,Иванова,anna@example.org,1001\n"
          "petrov,Пётр,Петров,petr@example.org,1002\n"
          "sidorova,Мария,Сидорова,maria@example.org,1003\n"
          "kuznetsov,Алексей,Кузнецов,alex@example.org,1004\n"
          "smirnov,Сергей,Смирнов,sergey@example.org,1005\n")
MOODLE = "{name}_{number}_assignsubmission_file_"


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    """The bytes of 01_activations as the honest and the buggy (ReLU's kink) student hand it in."""
    folder = tmp_path_factory.mktemp("work")
    reference(RELEASE, SOURCE, folder / "honest")
    STUDENTS["relu_kink"].build(RELEASE, SOURCE, folder / "buggy")
    return {kind: (folder / kind / f"{NOTEBOOK}.ipynb").read_bytes() for kind in ("honest", "buggy")}


def make_zip(path, members, raw_names=None):
    """A zip of [(name, bytes, date)] as an LMS writes it.  ``raw_names`` {name: bytes} writes those names
    as raw bytes without the UTF-8 flag, as Windows zip tools do (same length placeholders, patched after)."""
    raw_names = raw_names or {}
    placeholders = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data, date) in enumerate(members):
            if name in raw_names:
                raw = raw_names[name]
                placeholder = f"P{index:03d}".ljust(len(raw), "x")
                placeholders[placeholder.encode()] = raw
                name = placeholder
            info = zipfile.ZipInfo(name, date)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    if placeholders:
        content = path.read_bytes()
        for placeholder, raw in placeholders.items():
            assert content.count(placeholder) == 2  # the local header and the central directory
            content = content.replace(placeholder, raw)
        path.write_bytes(content)
    return path


def moodle_class(notebooks, flat=False):
    """The class's uploads in Moodle's naming; in folders unless ``flat``."""
    sep = "" if flat else "/"

    def member(name, number, file, data, date=(2026, 3, 1, 12, 0, 0)):
        return (MOODLE.format(name=name, number=number) + sep + file, data, date)

    earlier = [] if flat else [  # a late resubmission: the buggy upload first, the right one later
        member("Мария Сидорова", 503, f"{NOTEBOOK}.ipynb", notebooks["buggy"], (2026, 3, 1, 9, 0, 0))]
    return earlier + [
        member("Анна Иванова", 501, f"{NOTEBOOK}.ipynb", notebooks["honest"]),
        member("Пётр Петров", 502, f"{NOTEBOOK}.ipynb", notebooks["buggy"]),
        member("Пётр Петров", 502, "заметки.txt", "мои заметки".encode()),
        member("Мария Сидорова", 503, f"nn_layers/{NOTEBOOK}.ipynb" if not flat else f"{NOTEBOOK}.ipynb",
               notebooks["honest"], (2026, 3, 5, 23, 59, 0)),
        member("Алексей Кузнецов", 504, f"{NOTEBOOK} (1).ipynb", notebooks["honest"]),
        member("Сергей Смирнов", 505, f"{NOTEBOOK}.ipynb", b'{"cells": [ not json'),
        member("Фёдор Незнакомов", 599, f"{NOTEBOOK}.ipynb", notebooks["honest"]),
    ]


def run(course, *argv, process=False):
    """`nncourse --course COURSE ...`, in this process or as one: (exit status, stdout, stderr)."""
    if process:
        done = subprocess.run([sys.executable, "-m", "course.cli", "--course", str(course), *argv],
                              capture_output=True, text=True, timeout=900, cwd=ROOT)
        return done.returncode, done.stdout, done.stderr
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = nncourse(["--course", str(course), *argv])
    return status, out.getvalue(), err.getvalue()


def submitted(course):
    """{student/file: bytes} of submitted/."""
    base = course / "submitted"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(released_course, tmp_path_factory, notebooks):
    """The Moodle class collected (twice, then changed without and with --force), graded and exported."""
    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("lms") / "course", symlinks=True))
    roster = course.parent / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    archive = make_zip(course.parent / "moodle.zip", moodle_class(notebooks))
    runs = {"first": run(course, "collect", "--zip", str(archive), "--lms", "moodle", "--roster", str(roster))}
    runs["first_files"] = submitted(course)
    runs["again"] = run(course, "collect", "--zip", str(archive), "--lms", "moodle")
    changed = make_zip(course.parent / "changed.zip", [m if not m[0].startswith("Анна") else (m[0], notebooks["buggy"], m[2])
                                                       for m in moodle_class(notebooks)])
    runs["changed"] = run(course, "collect", "--zip", str(changed))
    runs["changed_files"] = submitted(course)
    runs["forced"] = run(course, "collect", "--zip", str(changed), "--force")
    runs["forced_files"] = submitted(course)
    runs["restored"] = run(course, "collect", "--zip", str(archive), "--force")
    runs["autograde"] = run(course, "autograde", "--notebook", NOTEBOOK, "--quiet", "--no-feedback", process=True)
    runs["moodle"] = run(course, "export", "--lms", "moodle", "--notebook", NOTEBOOK)
    runs["canvas"] = run(course, "export", "--lms", "canvas", "--notebook", NOTEBOOK)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write('\nc.Export.lms_scale = "percent"\n')
    runs["percent"] = run(course, "export", "--lms", "moodle", "--notebook", NOTEBOOK, "--output",
                          str(course / "percent.csv"), process=True)  # a new process reads the changed config
    return course, runs


def test_collect_maps_each_upload_to_its_student(graded, notebooks):
    course, runs = graded
    status, out, err = runs["first"]
    assert status == 0, err
    files = runs["first_files"]
    assert sorted(files) == [f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb", f"kuznetsov/{ASSIGNMENT}/{NOTEBOOK} (1).ipynb",
                             f"petrov/{ASSIGNMENT}/{NOTEBOOK}.ipynb", f"petrov/{ASSIGNMENT}/заметки.txt",
                             f"sidorova/{ASSIGNMENT}/{NOTEBOOK}.ipynb", f"smirnov/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]
    assert files[f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"] == notebooks["honest"]
    assert files[f"petrov/{ASSIGNMENT}/{NOTEBOOK}.ipynb"] == notebooks["buggy"]
    assert files[f"sidorova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"] == notebooks["honest"]  # the later upload counts
    assert files[f"petrov/{ASSIGNMENT}/заметки.txt"] == "мои заметки".encode()
    assert "petrov: 01_activations.ipynb, заметки.txt" in out
    assert f"WRONG NAME  kuznetsov: {NOTEBOOK} (1).ipynb is not a notebook of the assignment" in err
    assert (f"UNMATCHED   Фёдор Незнакомов_599_assignsubmission_file_/{NOTEBOOK}.ipynb: no student of the roster is "
            "'Фёдор Незнакомов'") in err
    assert "5 students collected into submitted/, 0 unchanged, 0 kept; 1 files match no student, 0 skipped" in out


def test_collect_again_changes_nothing_and_force_replaces(graded):
    course, runs = graded
    status, out, _ = runs["again"]
    assert status == 0 and "0 students collected into submitted/, 5 unchanged, 0 kept" in out
    status, out, err = runs["changed"]
    assert status == 0 and "4 unchanged, 1 kept" in out
    assert "KEPT        ivanova: already collected and different from this archive; --force replaces them" in err
    assert runs["changed_files"] == runs["first_files"]
    status, out, _ = runs["forced"]
    assert status == 0 and "1 students collected" in out and "nncourse autograde --force --student ID" in out
    honest = runs["first_files"][f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]
    assert runs["forced_files"][f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"] != honest
    assert runs["restored"][0] == 0 and submitted(course) == runs["first_files"]


def test_autograde_of_the_collected_class(graded):
    course, runs = graded
    status, out, err = runs["autograde"]
    assert status == 0, err[-3000:]
    results = {r.student: r for r in read_all(course) if r.notebook == NOTEBOOK}
    assert set(results) == {"ivanova", "petrov", "sidorova", "kuznetsov", "smirnov"}
    assert results["ivanova"].status == results["sidorova"].status == results["petrov"].status == GRADED
    assert results["kuznetsov"].status == MISSING and f"{NOTEBOOK} (1).ipynb" in results["kuznetsov"].reason
    assert results["smirnov"].status == FAILED


def exported(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def points(course):
    """{student: grade of record of 01_activations} from the status records, and its maximum."""
    results = {r.student: r for r in read_all(course) if r.notebook == NOTEBOOK and r.status == GRADED}
    return ({s: sum(score for score, _ in r.cells.values()) for s, r in results.items()},
            sum(maximum for _, maximum in results["ivanova"].cells.values()))


def number(value):
    return f"{value:g}"


def test_moodle_export_cell_by_cell(graded):
    course, runs = graded
    status, out, err = runs["moodle"]
    assert status == 0, err
    assert f"moodle grade import (points) written to {course / 'grades_moodle.csv'}" in out
    got, maximum = points(course)
    assert got["ivanova"] == got["sidorova"] == maximum == 6 and 0 < got["petrov"] < maximum
    assert exported(course / "grades_moodle.csv") == [
        ["First name", "Last name", "ID number", "Email address", f"Assignment: {ASSIGNMENT}: {NOTEBOOK} (Real)"],
        ["Анна", "Иванова", "1001", "anna@example.org", number(got["ivanova"])],
        ["Алексей", "Кузнецов", "1004", "alex@example.org", ""],
        ["Пётр", "Петров", "1002", "petr@example.org", number(got["petrov"])],
        ["Мария", "Сидорова", "1003", "maria@example.org", number(got["sidorova"])],
        ["Сергей", "Смирнов", "1005", "sergey@example.org", ""],
    ]
    assert "WARNING: 2 students get an empty cell, not 0" in err
    assert f"  kuznetsov: missing: {NOTEBOOK}" in err and f"{NOTEBOOK} (1).ipynb" in err
    assert f"  smirnov: failed to grade: {NOTEBOOK}" in err


def test_canvas_export_cell_by_cell(graded):
    course, runs = graded
    assert runs["canvas"][0] == 0, runs["canvas"][2]
    got, maximum = points(course)
    assert exported(course / "grades_canvas.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{ASSIGNMENT}: {NOTEBOOK}"],
        ["Points Possible", "", "", "", "", number(maximum)],
        ["Иванова, Анна", "1001", "", "ivanova", "", number(got["ivanova"])],
        ["Кузнецов, Алексей", "1004", "", "kuznetsov", "", ""],
        ["Петров, Пётр", "1002", "", "petrov", "", number(got["petrov"])],
        ["Сидорова, Мария", "1003", "", "sidorova", "", number(got["sidorova"])],
        ["Смирнов, Сергей", "1005", "", "smirnov", "", ""],
    ]


def test_percent_export(graded):
    course, runs = graded
    assert runs["percent"][0] == 0 and "(percent)" in runs["percent"][1]
    got, maximum = points(course)
    rows = exported(course / "percent.csv")
    assert rows[0][-1] == f"Assignment: {ASSIGNMENT}: {NOTEBOOK} (Percentage)"
    assert [row[-1] for row in rows[1:]] == ["100", "", number(round(100 * got["petrov"] / maximum, 2)), "100", ""]


# --- the same class from Canvas, and from Moodle without folders: the same submitted/ ----------------------

def canvas_class(notebooks):
    nb = f"{NOTEBOOK}.ipynb"
    return [
        (f"ivanovaanna_1001_7001_{nb}", notebooks["honest"], (2026, 3, 1, 12, 0, 0)),
        (f"petrovpetr_1002_7002_{nb}", notebooks["buggy"], (2026, 3, 1, 12, 0, 0)),
        ("petrovpetr_1002_7003_заметки.txt", "мои заметки".encode(), (2026, 3, 1, 12, 0, 0)),
        (f"sidorovamariia_1003_7004_{nb}", notebooks["buggy"], (2026, 3, 1, 12, 0, 0)),
        (f"sidorovamariia_late_1003_7010_{NOTEBOOK}-1.ipynb", notebooks["honest"], (2026, 3, 1, 12, 0, 0)),
        (f"kuznetsovaleksei_1004_7005_{NOTEBOOK} (1).ipynb", notebooks["honest"], (2026, 3, 1, 12, 0, 0)),
        (f"smirnovsergei_1005_7006_{nb}", b'{"cells": [ not json', (2026, 3, 1, 12, 0, 0)),
        (f"neznakomov_1099_7099_{nb}", notebooks["honest"], (2026, 3, 1, 12, 0, 0)),
    ]


@pytest.mark.parametrize("lms, flat", [("canvas", False), ("moodle", True)])
def test_other_layouts_collect_the_same_class(new_course, notebooks, graded, lms, flat, capsys):
    (new_course.parent / "roster.csv").write_text(ROSTER, encoding="utf-8")
    members = canvas_class(notebooks) if lms == "canvas" else moodle_class(notebooks, flat=True)
    archive = make_zip(new_course.parent / f"{lms}.zip", members)
    assert nncourse(["--course", str(new_course), "collect", "--zip", str(archive), "--lms", lms,
                     "--roster", str(new_course.parent / "roster.csv")]) == 0
    assert submitted(new_course) == graded[1]["first_files"]
    err = capsys.readouterr().err
    assert err.count("UNMATCHED") == 1 and err.count("WRONG NAME") == 1


# --- hostile archives ------------------------------------------------------------------------------------

@pytest.fixture
def course(new_course):
    (new_course.parent / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return new_course


def honest_member(notebooks):
    return (MOODLE.format(name="Анна Иванова", number=501) + f"/{NOTEBOOK}.ipynb", notebooks["honest"],
            (2026, 3, 1, 12, 0, 0))


def collect(course, archive, capsys, *more):
    """Run `nncourse collect` as the instructor does: (exit status, stdout, stderr); and check that nothing
    was written anywhere but submitted/."""
    before = {p for p in course.parent.rglob("*")}
    status = nncourse(["--course", str(course), "collect", "--zip", str(archive), "--roster",
                       str(course.parent / "roster.csv"), *more])
    captured = capsys.readouterr()
    new = set(course.parent.rglob("*")) - before
    assert all(p.is_relative_to(course / "submitted") for p in new), sorted(new)
    return status, captured.out, captured.err


@pytest.mark.parametrize("name, why", [
    ("../../../evil.ipynb", "zip-slip"),
    (MOODLE.format(name="Пётр Петров", number=502) + "/../../../../evil.ipynb", "zip-slip"),
    ("/tmp/evil.ipynb", "an absolute name"),
    ("C:\\Users\\evil.ipynb", "an absolute name"),
    ("Пётр Петров_502_assignsubmission_file_\\..\\..\\evil.ipynb", "zip-slip"),
])
def test_a_member_named_outside_is_skipped(course, notebooks, capsys, name, why):
    archive = make_zip(course.parent / "a.zip", [honest_member(notebooks), (name, b"{}", (2026, 3, 1, 0, 0, 0))])
    status, out, err = collect(course, archive, capsys)
    assert status == 0 and f"SKIPPED     {name.replace(chr(92), '/')}: " in err and why in err
    assert sorted(submitted(course)) == [f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]
    assert not list(Path("/tmp").glob("evil.ipynb")) and not list(course.parent.rglob("evil.ipynb"))


def test_a_symlink_member_is_skipped(course, notebooks, capsys):
    link = zipfile.ZipInfo(MOODLE.format(name="Пётр Петров", number=502) + f"/{NOTEBOOK}.ipynb")
    link.create_system, link.external_attr = 3, (0o120777 << 16)
    archive = course.parent / "links.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(zipfile.ZipInfo(honest_member(notebooks)[0]), notebooks["honest"])
        z.writestr(link, "/etc/passwd")
    status, _, err = collect(course, archive, capsys)
    assert status == 0 and f"SKIPPED     {link.filename}: a symlink" in err
    assert sorted(submitted(course)) == [f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]


def test_a_zip_bomb_member_is_skipped_and_a_bomb_archive_refused(course, notebooks, capsys):
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.Collect.max_member_mb = 1\nc.Collect.max_total_mb = 3\nc.Collect.max_members = 5\n")
    bomb = (MOODLE.format(name="Пётр Петров", number=502) + f"/{NOTEBOOK}.ipynb", bytes(2 * 2**20),
            (2026, 3, 1, 0, 0, 0))
    archive = make_zip(course.parent / "bomb.zip", [honest_member(notebooks), bomb])
    assert archive.stat().st_size < 50_000  # 2 MB of zeros, deflated
    status, _, err = collect(course, archive, capsys)
    assert status == 0 and "2 MB uncompressed, more than c.Collect.max_member_mb = 1" in err
    assert sorted(submitted(course)) == [f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]

    shutil.rmtree(course / "submitted")
    archive = make_zip(course.parent / "bombs.zip", [honest_member(notebooks)] + [
        (f"{bomb[0]}{n}.txt", bytes(2**20 - 1), bomb[2]) for n in range(3)])
    status, _, err = collect(course, archive, capsys)
    assert status == 2 and "more than c.Collect.max_total_mb = 3: nothing was collected (a zip bomb?)" in err
    archive = make_zip(course.parent / "many.zip", [honest_member(notebooks)] + [
        (f"{bomb[0]}{n}.txt", b"x", bomb[2]) for n in range(5)])
    status, _, err = collect(course, archive, capsys)
    assert status == 2 and "holds 6 members, more than c.Collect.max_members = 5: nothing was collected" in err
    assert not (course / "submitted").exists()


def test_a_truncated_archive_is_refused_whole(course, notebooks, capsys):
    whole = make_zip(course.parent / "whole.zip", moodle_class(notebooks)).read_bytes()
    archive = course.parent / "truncated.zip"
    archive.write_bytes(whole[:len(whole) * 2 // 3])
    status, out, err = collect(course, archive, capsys)
    assert status == 2 and "is not a readable zip archive" in err and "damaged or truncated" in err
    assert "Nothing was collected" in err and not (course / "submitted").exists()


def test_a_corrupt_member_costs_only_itself(course, notebooks, capsys):
    petrov = (MOODLE.format(name="Пётр Петров", number=502) + f"/{NOTEBOOK}.ipynb", notebooks["buggy"],
              (2026, 3, 1, 0, 0, 0))
    archive = make_zip(course.parent / "corrupt.zip", [honest_member(notebooks), petrov])
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo(petrov[0])
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 100, start + 140):
        data[offset] ^= 0x5A
    archive.write_bytes(bytes(data))
    status, _, err = collect(course, archive, capsys)
    assert status == 0 and f"SKIPPED     {petrov[0]}: cannot be read (" in err and "petrov lacks 01_activations" in err
    assert sorted(submitted(course)) == [f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]


def test_duplicate_members_are_all_skipped(course, notebooks, capsys):
    twice = MOODLE.format(name="Пётр Петров", number=502) + f"/{NOTEBOOK}.ipynb"
    archive = course.parent / "twice.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(archive, "w") as z:
        z.writestr(honest_member(notebooks)[0], notebooks["honest"])
        z.writestr(twice, notebooks["honest"])
        z.writestr(twice, notebooks["buggy"])
    status, _, err = collect(course, archive, capsys)
    assert status == 0 and err.count(f"SKIPPED     {twice}: a duplicate member") == 2
    assert sorted(submitted(course)) == [f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb"]


@pytest.mark.parametrize("codec", ["cp866", "cp1251"])
def test_names_in_windows_code_pages(course, notebooks, capsys, codec):
    names = [MOODLE.format(name="Анна Иванова", number=501) + f"/{NOTEBOOK}.ipynb",
             MOODLE.format(name="Пётр Петров", number=502) + "/заметки.txt"]
    archive = make_zip(course.parent / f"{codec}.zip", [(names[0], notebooks["honest"], (2026, 3, 1, 0, 0, 0)),
                                                        (names[1], b"notes", (2026, 3, 1, 0, 0, 0))],
                       raw_names={name: name.encode(codec) for name in names})
    with zipfile.ZipFile(archive) as z:
        assert not any(info.flag_bits & 0x800 for info in z.infolist())  # no UTF-8 flag: raw code-page bytes
    status, out, err = collect(course, archive, capsys)
    assert status == 0 and "UNMATCHED" not in err and "SKIPPED" not in err, err
    assert submitted(course) == {f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb": notebooks["honest"],
                                 f"petrov/{ASSIGNMENT}/заметки.txt": b"notes"}


def test_collect_without_a_zip_or_a_roster_says_what_is_missing(new_course, capsys, monkeypatch):
    monkeypatch.setenv("NNCOURSE_EXCHANGE", str(new_course.parent / "no-exchange"))
    assert nncourse(["--course", str(new_course), "collect"]) == 2
    assert "nothing to collect: nn_layers is not published in the exchange" in capsys.readouterr().err
    archive = make_zip(new_course.parent / "a.zip", [("x.txt", b"x", (2026, 3, 1, 0, 0, 0))])
    assert nncourse(["--course", str(new_course), "collect", "--zip", str(archive)]) == 2
    assert "the gradebook knows no students: pass --roster roster.csv" in capsys.readouterr().err
    assert not os.path.exists(new_course / "submitted")


def test_a_zip_that_is_not_a_zip(course, capsys):
    (course.parent / "page.zip").write_bytes(b"<html>session expired</html>")
    status, _, err = collect(course, course.parent / "page.zip", capsys)
    assert status == 2 and "is not a readable zip archive" in err



def test_an_uploaded_zip_is_kept_but_not_unpacked(course, notebooks, capsys):
    inner = MOODLE.format(name="Пётр Петров", number=502) + "/nn_layers.zip"
    archive = make_zip(course.parent / "nested.zip", [honest_member(notebooks), (inner, b"PK\x05\x06" + bytes(18),
                                                                                 (2026, 3, 1, 0, 0, 0))])
    status, _, err = collect(course, archive, capsys)
    assert status == 0 and "NOT UNPACKED petrov: nn_layers.zip is an archive" in err
    assert sorted(submitted(course)) == [f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb", f"petrov/{ASSIGNMENT}/nn_layers.zip"]


def test_force_replaces_a_link_in_submitted_without_following_it(course, notebooks, capsys, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("victim")
    (course / "submitted" / "ivanova").mkdir(parents=True)
    (course / "submitted" / "ivanova" / ASSIGNMENT).symlink_to(outside)
    archive = make_zip(course.parent / "a.zip", [honest_member(notebooks)])
    status, out, err = collect(course, archive, capsys)
    assert status == 0 and "KEPT        ivanova" in err
    status, out, err = collect(course, archive, capsys, "--force")
    assert status == 0 and "1 students collected" in out
    assert not (course / "submitted" / "ivanova" / ASSIGNMENT).is_symlink()
    assert [p.name for p in outside.iterdir()] == ["victim.txt"] and (outside / "victim.txt").read_text() == "victim"
    assert submitted(course) == {f"ivanova/{ASSIGNMENT}/{NOTEBOOK}.ipynb": notebooks["honest"]}
