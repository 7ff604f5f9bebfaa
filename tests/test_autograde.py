"""The parallel autograder (course.grading) against stock nbgrader:
same grades, resumable after SIGKILL, idempotent, and never stopped by a
locked SQLite gradebook."""
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from nbgrader.api import Gradebook

from course.authoring.apps import nbgrader
from course.demo.classroom import reference, submit, untouched
from course.grading.client import autograde
from course.grading.job import Limits
from course.grading.results import GRADED, read_all, status_dir
from course.settings import ASSIGNMENT

NOTEBOOKS = ["01_activations", "03_sequential"]
# Feedback pages are tested in test_feedback.py and test_security.py; here only the grades count.
GRADE = ("autograde", "--jobs", "2", "--quiet", "--no-feedback", "--notebook", NOTEBOOKS[0], "--notebook", NOTEBOOKS[1])
NO_FEEDBACK = Limits(feedback=False)


def scores(course, student):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="nn-layers") as gb:
        return {(nb.name, g.name): g.score for nb in gb.find_submission(ASSIGNMENT, student).notebooks
                for g in nb.grades if nb.name in NOTEBOOKS}


def cli_args(course, *args):
    return [sys.executable, "-m", "course.cli", "--course", str(course), *args]


def cli(course, *args, timeout=300):
    """Run nncourse to completion; its output is shown if it fails."""
    done = subprocess.run(cli_args(course, *args), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_parallel_grades_equal_serial_nbgrader(new_course, tmp_path):
    serial = Path(shutil.copytree(new_course, tmp_path / "serial", symlinks=True))
    for course in (new_course, serial):
        submit(course, "alice", reference)
        submit(course, "bob", untouched)
    for student in ("alice", "bob"):
        for notebook in NOTEBOOKS:
            nbgrader(serial, "autograde", ASSIGNMENT, "--student", student, "--notebook", notebook)
    results = autograde(new_course, notebooks=NOTEBOOKS, jobs=2, limits=NO_FEEDBACK, progress=False)
    assert [r.status for r in results] == [GRADED] * 4
    for student in ("alice", "bob"):
        assert scores(new_course, student) == scores(serial, student)
    assert sum(scores(new_course, "alice").values()) == 9 and sum(scores(new_course, "bob").values()) == 0
    for notebook in NOTEBOOKS:  # the autograded notebooks land where nbgrader puts them
        assert (new_course / "autograded" / "alice" / ASSIGNMENT / f"{notebook}.ipynb").is_file()


def records(course):
    return {p.relative_to(course): p.read_bytes() for p in sorted(status_dir(course).glob("*/*.json"))}


def test_killed_batch_resumes_and_reruns_change_nothing(new_course):
    for student in ("ann", "ben", "cid"):
        submit(new_course, student, reference)
    batch = subprocess.Popen(cli_args(new_course, *GRADE), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(records(new_course)) < 2 and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.2)
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    before = records(new_course)
    assert 1 <= len(before) < 6, f"the kill should land mid-batch, got {len(before)} results"

    cli(new_course, *GRADE)
    after = records(new_course)
    assert len(after) == 6
    assert all(after[path] == data for path, data in before.items()), "a completed grade was redone or lost"
    wrong = [(r.student, r.notebook, r.status, r.score, r.max_score, r.reason, r.audit.get("reasons"))
             for r in read_all(new_course) if r.status != GRADED or r.score != r.max_score]
    assert not wrong, f"after the rerun, not every notebook has full marks: {wrong}"

    cli(new_course, *GRADE)
    assert records(new_course) == after, "a rerun must not regrade anything"


def test_a_locked_gradebook_never_aborts_the_batch(new_course):
    for student in ("dora", "egon"):
        submit(new_course, student, reference)
    stop, held = threading.Event(), []

    def hog():  # another writer holding the SQLite lock for seconds at a time
        db = sqlite3.connect(new_course / "gradebook.db", timeout=60, isolation_level=None)
        while not stop.is_set():
            db.execute("BEGIN EXCLUSIVE")
            held.append(time.monotonic())
            time.sleep(2.5)
            db.execute("COMMIT")
            time.sleep(0.05)
        db.close()

    thread = threading.Thread(target=hog, daemon=True)
    thread.start()
    try:
        results = autograde(new_course, notebooks=NOTEBOOKS, jobs=2, limits=NO_FEEDBACK, progress=False)
    finally:
        stop.set()
        thread.join()
    assert len(held) >= 3, "the lock hog must actually have held the lock during the batch"
    assert [r.status for r in results] == [GRADED] * 4
    assert sum(scores(new_course, "dora").values()) == 9 and sum(scores(new_course, "egon").values()) == 9
