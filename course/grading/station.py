"""A grading station: what one machine needs to grade submissions of this course.

One per grading process: the local batch, or each Dask worker.  It holds

* the course checkout it grades with (this package's own) and its fingerprint,
  so a client can refuse a worker that runs other code;
* the template gradebook the jobs start from (nbgrader's SQLite file, sent by
  the client, who owns the course gradebook);
* a job zygote where nbgrader is imported once (``course.grading.child``):
  every job is a fresh fork of it, started in milliseconds from any thread;
* a kernel zygote for warm, jailed kernels (``course.jail.zygote``);
* its jobs take machine-wide slots (``course.jail.slots``): each running job
  has its own jail UID, so parallel jails never share a process quota.
"""
import atexit
import hashlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..jail import sandbox, zygote
from ..authoring.apps import grading_env
from ..settings import ROOT, blas_threads, load

RELEASE_ENV = "NNCOURSE_RELEASE_PAGES"  # tells the job zygote which pages to render once (course.grading.pages)
PACKAGES = ("course", "solutions", "probes")  # the grader, the reference and its checks, the probes
# What a grading job imports: nbgrader (with the child), then what its first notebook would load lazily.
JOB_IMPORTS = ("course.grading.child", "course.grading.plugins", "course.reporting.plugins", "ipykernel.kernelspec", "IPython.core.interactiveshell",
               "sqlalchemy.dialects.sqlite")


def _package_dir(name):
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


# The gradebook's address is the client's business (workers write no gradebook): it may differ.
DB_URL_LINE = re.compile(rb"^\s*c\.CourseDirectory\.db_url\s*=.*$", re.M)


def fingerprint(root, commit=True):
    """A digest of every file that decides a grade (the course's config and source notebooks, the
    grader, the reference and the checks), and the git commit of the code when there is one (and
    ``commit`` is true)."""
    digest = hashlib.sha256()
    config = (Path(root) / "nbgrader_config.py").read_bytes()
    digest.update(b"nbgrader_config.py\0" + DB_URL_LINE.sub(b"", config).rstrip() + b"\0")
    for label, path in [("source", Path(root) / "source")] + [(name, _package_dir(name)) for name in PACKAGES]:
        for file in sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                           and p.suffix != ".pyc"):
            digest.update(f"{label}/{file.relative_to(path)}".encode() + b"\0" + file.read_bytes() + b"\0")
    if not commit:
        return {"digest": digest.hexdigest()[:16], "commit": "unknown"}
    try:
        commit = subprocess.run(["git", "-C", str(_package_dir("course")), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"digest": digest.hexdigest()[:16], "commit": commit or "unknown"}


class CourseMismatch(RuntimeError):
    """A station whose course files differ from the client's: its grades would not be the course's."""


class Station:
    """Grading on this machine with the course files of ``root`` (see the module docstring)."""

    def __init__(self, root=ROOT, scratch=None, blas_threads=1, warm_kernels=True):
        self.root = Path(root).resolve()
        self.settings = load(self.root)
        self.blas_threads = blas_threads
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.fingerprint = fingerprint(self.root)
        base = Path(scratch) if scratch else self.root / "grading" / ".work"
        base.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix=f"station-{os.getpid()}-", dir=base))
        self.templates = {}  # digest -> path of a template gradebook
        self.profile = None  # a file for the jobs' timings (course.grading.profiling), when benchmarking
        self._lock = threading.Lock()
        _remove_stale(Path(tempfile.gettempdir()), ("nnsb-", "nnzy-"))
        _remove_stale(base, ("station-",))
        self.sandboxed = sandbox.available()
        self.kernel_env = grading_env(self.scratch / ".home", blas_threads)
        started = time.monotonic()
        # Both zygotes warm up at once; the job zygote renders the release's pages (course.grading.child).
        jobs = zygote.launch("course.grading.child:run_request", JOB_IMPORTS,
                             {**os.environ, RELEASE_ENV: str(self.root / "release" / self.settings.assignment)})
        try:
            self.kernels = zygote.start_kernel_zygote(self.kernel_env) if warm_kernels and self.sandboxed else None
        finally:
            self.jobs = jobs.wait()
        self.start_seconds = round(time.monotonic() - started, 2)

    def check(self, expected):
        """Refuse to grade for a client whose course files differ from this station's, read again now:
        a worker whose files changed since it started grades no more (about 10 ms per task)."""
        if expected and fingerprint(self.root, commit=False)["digest"] != expected["digest"]:
            self.fingerprint = fingerprint(self.root)
            raise CourseMismatch(
                f"grading station {self.name} runs course files {self.fingerprint['digest']} (commit "
                f"{self.fingerprint['commit']}, {self.root}), the client's are {expected['digest']} "
                f"(commit {expected['commit']}): check out the client's commit there and restart the worker")

    def template(self, data):
        """A template gradebook (SQLite bytes) stored once in this station; its path."""
        digest = hashlib.sha256(data).hexdigest()[:16]
        with self._lock:
            if digest not in self.templates:
                path = self.scratch / f"template-{digest}.db"
                path.write_bytes(data)
                self.templates[digest] = path
            return self.templates[digest]

    def close(self):
        for server in (self.kernels, self.jobs):
            if server is not None:
                server.stop()
        self.kernels = self.jobs = None
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _remove_stale(folder, prefixes):
    """Folders of grading processes that were killed (SIGKILL leaves no chance to clean up): <prefix><pid>-..."""
    for path in folder.iterdir():
        prefix = next((p for p in prefixes if path.name.startswith(p)), None)
        if prefix is None:
            continue
        try:
            os.kill(int(path.name[len(prefix):].split("-")[0]), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, PermissionError):
            pass


_station = None
_station_lock = threading.Lock()


def worker_station(nthreads):
    """This Dask worker's station, made at its first task and kept for its life; its scratch space is
    the worker's own local directory, its kernels share the cores between the worker's ``nthreads``."""
    global _station
    from distributed import get_worker

    with _station_lock:
        if _station is None:
            scratch = Path(get_worker().local_directory) / "nncourse"
            _station = Station(ROOT, scratch, blas_threads=blas_threads(nthreads))
            atexit.register(_station.close)
        return _station
