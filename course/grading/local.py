"""The local backend (``--jobs N``): N submissions at a time on this machine's station."""
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from . import job
from .job import Limits, Outcome, Submission
from .results import FAILED
from .station import Station


def failed_outcome(station_name: str, submission, why: str) -> Outcome:
    """Every notebook of ``submission`` failed for a reason of the grader's own (never a silent 0)."""
    notebooks = [job.NotebookOutcome(nb, FAILED, why) for nb in submission.notebooks]
    return job.Outcome(submission.student, notebooks, {}, None, False, station_name)


def _grade(station, submission, limits, template, audit):
    try:
        return job.grade(station, submission, limits, template, audit)
    except Exception as exc:  # noqa: BLE001 -- the grader's own failure: reported per notebook
        traceback.print_exc()
        return failed_outcome(station.name, submission, f"the grader failed: {type(exc).__name__}: {exc}")


class LocalPool:
    """Grades with ``jobs`` threads, each supervising one job at a time (the jobs themselves are processes)."""

    def __init__(self, station: Station, jobs: int):
        self.station, self.jobs = station, jobs

    def grade(self, submissions: Iterable[Submission], limits: Limits, template: Path,
              audit: bool = True) -> Iterator[Outcome]:
        """Yield an ``Outcome`` per submission, as each finishes; reads ``submissions`` lazily."""
        submissions = iter(submissions)
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grade") as pool:
            running = set()
            while True:
                for submission in submissions:
                    running.add(pool.submit(_grade, self.station, submission, limits, template, audit))
                    if len(running) >= self.jobs:
                        break
                if not running:
                    return
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()

    def describe(self) -> str:
        return f"{self.jobs} local jobs"

    def close(self) -> None:
        self.station.close()
