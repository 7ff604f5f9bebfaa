"""Where grading jobs run: the seam between the client and the machines.

The client (``client.autograde``) hands a backend the submissions as plain data and takes back one
``Outcome`` per submission, in any order, as each finishes; it alone writes them down.  ``LocalPool``
(``--jobs N``, this machine) and ``DaskPool`` (``--scheduler``, Dask workers) are the two backends;
both run ``job.grade`` on a ``Station``.
"""
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from .job import Limits, Outcome, Submission


@runtime_checkable
class Backend(Protocol):
    def grade(self, submissions: Iterable[Submission], limits: Limits, template: Path,
              audit: bool = True) -> Iterator[Outcome]:
        """Yield an ``Outcome`` per submission as each finishes; read ``submissions`` lazily."""

    def describe(self) -> str:
        """One line for the instructor: where the jobs run."""

    def close(self) -> None:
        """Stop what the backend started (stations, the Dask client)."""
