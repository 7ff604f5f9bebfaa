"""Two Dask workers on loopback against `nncourse autograde --jobs 2`, on the same class, side by side.

Starts a Dask LocalCluster (a scheduler and two worker processes with one
thread each, on 127.0.0.1) and grades the demo class without its hanging
students once there and once with the local pool, each on its own copy of
the released course.  Run as root so kernels are jailed, as in CI:

    .venv/bin/python benchmarks/dask_loopback.py
"""
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course.authoring.apps import course_copy, generate_release  # noqa: E402
from course.demo.classroom import STUDENTS, build_class  # noqa: E402
from course.grading.client import autograde  # noqa: E402
from course.grading.job import Limits  # noqa: E402
from course.settings import ASSIGNMENT  # noqa: E402

HANGING = {"infinite_loop", "sigint_ignored", "output_flood", "memory_bomb", "segfault", "os_exit"}


def main():
    from distributed import LocalCluster

    names = [name for name in STUDENTS if name not in HANGING]
    (ROOT / ".cache").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dask-loopback-", dir=ROOT / ".cache") as scratch:
        local = course_copy(Path(scratch) / "local")
        build_class(generate_release(local), local / "source" / ASSIGNMENT, local / "submitted", names)
        on_dask = Path(shutil.copytree(local, Path(scratch) / "dask", symlinks=True))
        limits = Limits(cell_timeout=30)
        with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                          local_directory=str(Path(scratch) / "workers")) as cluster:
            start = time.perf_counter()
            autograde(on_dask, limits=limits, progress=False, scheduler=cluster.scheduler_address)
            dask_s = time.perf_counter() - start
        start = time.perf_counter()
        autograde(local, jobs=2, limits=limits, progress=False)
        local_s = time.perf_counter() - start
    n = len(names)
    print(f"demo class without its hanging students: {n} submissions x 8 notebooks, with the audit")
    print(f"two Dask workers on loopback: {dask_s:6.1f} s ({dask_s / n:.2f} s per submission, "
          f"worker start-up included)")
    print(f"nncourse --jobs 2           : {local_s:6.1f} s ({local_s / n:.2f} s per submission)")


if __name__ == "__main__":
    main()
