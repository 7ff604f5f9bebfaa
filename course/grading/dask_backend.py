"""The Dask backend (``--scheduler tcp://HOST:8786``): each submission is a task on whichever worker is free.

What crosses the network is plain data: the task carries the submission's
files as bytes (``course.grading.job.Submission``) and returns the graded
notebooks, the grades and the audit as bytes and numbers (``Outcome``); the
template gradebook goes to each worker once.  So a worker needs no shared
file system, only a checkout of the course at the client's commit (its own
``source/``, ``nbgrader_config.py`` and packages grade the notebooks) with the
same virtualenv, running as root so it can jail student code.  It grades
exactly as ``--jobs`` does locally (``job.grade`` on the worker's own
``Station``: jails, rlimits, warm kernels), and only the client writes the
course gradebook.

Faults: a worker that dies mid-task loses nothing, the scheduler runs its
tasks again on another worker (a submission that kills three workers is
reported as failed to grade); the client writes an outcome only once, and a
client killed mid-batch leaves status records only for what it wrote, so a
rerun grades the rest.  A worker whose course files differ from the
client's is refused before the batch, with the reason; should one join later,
its station refuses every task (``Station.check``).
"""
import logging
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from ..settings import CourseError
from .job import Limits, Outcome, Submission, grade
from .local import failed_outcome
from .station import fingerprint, worker_station

log = logging.getLogger(__name__)


def _worker_fingerprint():
    """Run on each worker: the worker's course files (its station starts lazily, at the first task)."""
    from ..settings import ROOT

    return {**fingerprint(ROOT), "root": str(ROOT), "root_user": os.geteuid() == 0}


def remote_grade(submission, limits, template, expected, audit):
    """The task: grade one submission on this worker's station (made at the first task, kept for its life)."""
    from distributed import get_worker

    station = worker_station(get_worker().state.nthreads)
    station.check(expected)
    return grade(station, submission, limits, station.template(template), audit)


class DaskPool:
    """Submissions as Dask tasks on the workers of a scheduler whose course files match the client's."""

    def __init__(self, address, root):
        from distributed import Client

        self.client = Client(address, timeout="30s")
        self.expected = fingerprint(root)
        found = self.client.run(_worker_fingerprint)
        self.workers = sorted(w for w, fp in found.items() if fp["digest"] == self.expected["digest"])
        self.refused = {w: fp for w, fp in found.items() if w not in self.workers}
        for worker, fp in sorted(self.refused.items()):
            log.warning(f"REFUSED worker {worker}: its course files are {fp['digest']} (commit {fp['commit']}, "
                        f"{fp['root']}), this course's are {self.expected['digest']} (commit "
                        f"{self.expected['commit']}): check out the same commit there and restart the worker")
        unjailed = [w for w in self.workers if not found[w]["root_user"]]
        if unjailed:
            log.warning(f"workers not running as root grade UNSANDBOXED: {', '.join(unjailed)}")
        if not self.workers:
            self.client.close()
            raise CourseError(f"no Dask worker at {address} grades with this course's files "
                             f"({self.expected['digest']}, commit {self.expected['commit']})")
        info = self.client.scheduler_info()
        self.threads = sum(info["workers"].get(w, {}).get("nthreads", 1) for w in self.workers)
        self.dashboard = self.client.dashboard_link if "dashboard" in info.get("services", {}) else None

    def describe(self) -> str:
        text = f"Dask scheduler {self.client.scheduler.address}: {len(self.workers)} workers, {self.threads} threads"
        if self.refused:
            text += f", {len(self.refused)} refused"
        return text + (f"; dashboard {self.dashboard}" if self.dashboard else "")

    def grade(self, submissions: Iterable[Submission], limits: Limits, template: Path,
              audit: bool = True) -> Iterator[Outcome]:
        """Yield an ``Outcome`` per submission as workers finish them; at most two tasks per thread in flight."""
        from distributed import as_completed

        template_data = self.client.scatter(template.read_bytes(), broadcast=True, workers=self.workers)
        pending, window = {}, as_completed()
        submissions = iter(submissions)

        def submit_more():
            for submission in submissions:
                future = self.client.submit(remote_grade, submission, limits, template_data, self.expected, audit,
                                            workers=self.workers, allow_other_workers=False, pure=False,
                                            key=f"grade-{submission.student}-{os.urandom(4).hex()}")
                pending[future.key] = submission
                window.add(future)
                if len(pending) >= 2 * self.threads:
                    return

        submit_more()
        for future in window:
            submission = pending.pop(future.key)
            try:
                outcome = future.result()
            except FutureTimeout:  # pragma: no cover -- as_completed only yields finished futures
                raise
            except Exception as exc:  # noqa: BLE001 -- KilledWorker, a refusal, the grader's own error
                outcome = failed_outcome("dask", submission, f"the Dask task failed: {type(exc).__name__}: {exc}")
            future.release()
            yield outcome
            submit_more()

    def close(self) -> None:
        self.client.close()
