"""Serial stock `nbgrader autograde` against `nncourse autograde --jobs N` on the demo class.

Both start from the same released course and the same submissions: the demo
class without the students that hang on purpose (stock nbgrader has no
watchdog for a kernel that ignores interrupts).  Prints seconds per
submission and the speedup.  Run: .venv/bin/python benchmarks/autograde_speedup.py [--jobs 2]
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course.grading import Limits, autograde  # noqa: E402
from course.classroom import STUDENTS, build_class  # noqa: E402
from course.nbgrader_run import ASSIGNMENT, course_copy, generate_release, nbgrader  # noqa: E402

HANGING = {"infinite_loop", "sigint_ignored", "output_flood", "memory_bomb", "segfault", "os_exit"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    names = [name for name in STUDENTS if name not in HANGING]
    with tempfile.TemporaryDirectory(prefix="speedup-", dir=ROOT / ".cache") as scratch:
        serial = course_copy(Path(scratch) / "serial")
        release = generate_release(serial)
        build_class(release, serial / "source" / ASSIGNMENT, serial / "submitted", names)
        parallel = Path(shutil.copytree(serial, Path(scratch) / "parallel", symlinks=True))
        cell_timeout = "--Execute.timeout=30"

        start = time.perf_counter()
        nbgrader(serial, "autograde", ASSIGNMENT, cell_timeout, check=False)
        serial_s = time.perf_counter() - start

        start = time.perf_counter()
        autograde(parallel, jobs=args.jobs, limits=Limits(cell_timeout=30), progress=False)
        parallel_s = time.perf_counter() - start
    n = len(names)
    print(f"demo class: {n} submissions x 8 notebooks ({', '.join(names)})")
    print(f"serial nbgrader autograde : {serial_s:7.1f} s  ({serial_s / n:5.1f} s per submission)")
    print(f"nncourse --jobs {args.jobs}        : {parallel_s:7.1f} s  ({parallel_s / n:5.1f} s per submission)")
    print(f"speedup: {serial_s / parallel_s:.2f}x on {args.jobs} workers (target >= 1.8x on 2 cores)")


if __name__ == "__main__":
    main()
