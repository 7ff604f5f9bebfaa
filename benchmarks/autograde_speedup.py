"""Serial stock `nbgrader autograde` against `nncourse autograde --jobs N`, side by side in one run.

Default: the demo class without the students that hang on purpose (stock
nbgrader has no watchdog for a kernel that ignores interrupts): serial stock
nbgrader, then nncourse without and with the audit, all on copies of the same
released course and submissions, jailed kernels on every side (run as root).

--class-size N: a simulated class of N submissions, copies of the demo's
honest and buggy students (the reference, the untouched release, the seed
student and the one-bug students), graded by nncourse only (serial stock
nbgrader would take hours); prints the wall time and the time per submission.

    .venv/bin/python benchmarks/autograde_speedup.py [--jobs 2] [--class-size 200]
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course.authoring.apps import course_copy, generate_release, nbgrader  # noqa: E402
from course.authoring.build import is_demo  # noqa: E402
from course.demo.classroom import STUDENTS, build_class  # noqa: E402
from course.grading.client import autograde  # noqa: E402
from course.grading.job import Limits  # noqa: E402
from course.grading.results import FAILED, MISSING  # noqa: E402
from course.settings import ASSIGNMENT  # noqa: E402

HANGING = {"infinite_loop", "sigint_ignored", "output_flood", "memory_bomb", "segfault", "os_exit"}
CELL_TIMEOUT = 30


def timed(label, run, submissions):
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    print(f"{label:<34}: {seconds:7.1f} s  ({seconds / submissions:5.2f} s per submission)", flush=True)
    return seconds


def nncourse(course, jobs, audit, warm=True):
    def run():
        results = autograde(course, jobs=jobs, limits=Limits(cell_timeout=CELL_TIMEOUT), progress=False,
                            audit=audit, warm_kernels=warm)
        bad = [r for r in results if r.status in (FAILED, MISSING)]
        assert len(bad) <= 4, [(r.student, r.notebook, r.reason) for r in bad]  # the demo's file cases
    return run


def _cells_alone(notebook, pipe):
    """In a forked child: exec ``notebook``'s code cells in one namespace, as its kernel would, and write
    the seconds they took to ``pipe``; never returns."""
    import nbformat

    seconds = 0.0
    try:
        signal.alarm(CELL_TIMEOUT * 4)
        os.chdir(notebook.parent)  # the notebooks import nn_helpers from their folder
        sys.path.insert(0, str(notebook.parent))
        cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code" and not is_demo(c)]
        namespace = {"__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for cell in cells:
                started = time.perf_counter()
                try:
                    exec(compile(cell.source, str(notebook), "exec"), namespace)  # noqa: S102
                except BaseException:  # noqa: BLE001: a failing cell costs its time, as in grading
                    pass
                seconds += time.perf_counter() - started
    finally:
        os.write(pipe, json.dumps(seconds).encode())
        os._exit(0)


def compute_bound(course, students):
    """Seconds per submission of the course's own work alone: every graded notebook's cells (the student's
    code and the checks the autograder restored; demonstrations skipped, as it skips them), exec'd in a
    process forked from this one, where the kernels' libraries are already imported.  No nbgrader, no
    Jupyter, no jail, no feedback: what no grader can go below."""
    import matplotlib

    matplotlib.use("Agg")
    for module in ("numpy", "matplotlib.pyplot", "sklearn.datasets", "sklearn.model_selection", "nbformat"):
        __import__(module)
    total = 0.0
    for student in students:
        for notebook in sorted((course / "autograded" / student / ASSIGNMENT).glob("*.ipynb")):
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read)
                _cells_alone(notebook, write)
            os.close(write)
            answer = os.read(read, 64)
            os.close(read)
            os.waitpid(pid, 0)
            total += json.loads(answer or b"0")
    return total / len(students)


def report_bound(course, students, jobs, seconds, submissions):
    bound = compute_bound(course, students)
    used = seconds * jobs / submissions
    print(f"compute bound (the cells and checks alone, one process, no nbgrader): {bound:.2f} s per submission; "
          f"nncourse used {used:.2f} core-seconds per submission ({seconds / submissions:.2f} s of wall x {jobs} "
          f"jobs): {used / bound:.2f}x the bound (target <= 1.8x)", flush=True)


def speedup(scratch, jobs):
    names = [name for name in STUDENTS if name not in HANGING]
    serial = course_copy(scratch / "serial")
    release = generate_release(serial)
    build_class(release, serial / "source" / ASSIGNMENT, serial / "submitted", names)
    copies = {kind: Path(shutil.copytree(serial, scratch / kind, symlinks=True)) for kind in ("plain", "audited")}
    n = len(names)
    print(f"demo class: {n} submissions x 8 notebooks, jailed kernels, cell timeout {CELL_TIMEOUT} s", flush=True)
    serial_s = timed("serial nbgrader autograde", lambda: nbgrader(serial, "autograde", ASSIGNMENT,
                                                                   f"--Execute.timeout={CELL_TIMEOUT}", check=False), n)
    plain_s = timed(f"nncourse --jobs {jobs} --no-audit (feedback)", nncourse(copies["plain"], jobs, audit=False), n)
    audited_s = timed(f"nncourse --jobs {jobs} (audit, feedback)", nncourse(copies["audited"], jobs, audit=True), n)
    print(f"speedup over serial stock nbgrader: {serial_s / plain_s:.2f}x without the audit, "
          f"{serial_s / audited_s:.2f}x with it (target >= 1.9x on 2 cores)")
    report_bound(copies["audited"], names, jobs, audited_s, n)


def big_class(scratch, jobs, size):
    base = [name for name, student in STUDENTS.items() if student.kind in ("correct", "bug")]
    course = course_copy(scratch / "class")
    release = generate_release(course)
    build_class(release, course / "source" / ASSIGNMENT, scratch / "base", base)
    for i in range(size):
        name = base[i % len(base)]
        shutil.copytree(scratch / "base" / name, course / "submitted" / f"s{i:03d}-{name}")
    print(f"simulated class: {size} submissions x 8 notebooks, copies of {', '.join(base)}", flush=True)
    seconds = timed(f"nncourse --jobs {jobs} (with the audit and feedback)", nncourse(course, jobs, audit=True), size)
    copies = [f"s{i:03d}-{base[i % len(base)]}" for i in range(size)]
    report_bound(course, copies[:len(base)], jobs, seconds, size)  # the copies' mix, one of each


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--class-size", type=int, help="grade a simulated class of this size instead")
    args = parser.parse_args()
    (ROOT / ".cache").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="speedup-", dir=ROOT / ".cache") as scratch:
        if args.class_size:
            big_class(Path(scratch), args.jobs, args.class_size)
        else:
            speedup(Path(scratch), args.jobs)


if __name__ == "__main__":
    main()
