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
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course.authoring.apps import course_copy, generate_release, nbgrader  # noqa: E402
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
    plain_s = timed(f"nncourse --jobs {jobs} --no-audit", nncourse(copies["plain"], jobs, audit=False), n)
    audited_s = timed(f"nncourse --jobs {jobs} (with the audit)", nncourse(copies["audited"], jobs, audit=True), n)
    print(f"speedup over serial stock nbgrader: {serial_s / plain_s:.2f}x without the audit, "
          f"{serial_s / audited_s:.2f}x with it (target >= 1.9x on 2 cores)")


def big_class(scratch, jobs, size):
    base = [name for name, student in STUDENTS.items() if student.kind in ("correct", "bug")]
    course = course_copy(scratch / "class")
    release = generate_release(course)
    build_class(release, course / "source" / ASSIGNMENT, scratch / "base", base)
    for i in range(size):
        name = base[i % len(base)]
        shutil.copytree(scratch / "base" / name, course / "submitted" / f"s{i:03d}-{name}")
    print(f"simulated class: {size} submissions x 8 notebooks, copies of {', '.join(base)}", flush=True)
    timed(f"nncourse --jobs {jobs} (with the audit)", nncourse(course, jobs, audit=True), size)


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
