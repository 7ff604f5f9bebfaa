"""``autograde``: grade every submitted notebook that has no result yet, on a backend.

The client decides what to grade (status records), reads each submission
folder into a ``Submission`` (plain bytes), hands the submissions to a backend
(the local pool, or Dask workers), and writes each ``Outcome`` down as it
arrives (course.grading.gradebook): it alone writes the course gradebook.
"""
import dataclasses
import logging
import shutil
import time
from pathlib import Path

from ..jail import sandbox
from ..settings import CourseError, blas_threads, load
from . import gradebook
from .backend import Backend
from .job import Limits, read_submission
from .local import LocalPool, failed_outcome
from .results import FAILED, MISSING, assignment_structure, read_result
from .station import Station

log = logging.getLogger(__name__)


def students_in(root):
    submitted, assignment = Path(root) / "submitted", load(root).assignment
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) if submitted.exists() else []


def autograde(root, students=None, notebooks=None, jobs=2, force=False, limits=None, progress=True,
              scheduler=None, warm_kernels=True, audit=True):
    """Grade every (student, notebook) without a status record; return the results of these pairs.

    ``scheduler``: a Dask scheduler address (course.grading.dask_backend); else ``jobs`` local jobs.
    ``audit``: re-grade each graded notebook out of the kernel too (course.trust.audit).
    """
    root = Path(root).resolve()
    limits = dataclasses.replace(limits or Limits(), blas_threads=blas_threads(jobs))
    structure = assignment_structure(root)
    unknown = set(notebooks or ()) - set(structure)
    if unknown:
        raise CourseError(f"unknown notebooks: {', '.join(sorted(unknown))}")
    gradebook.check_assignment(root)
    students = list(students or students_in(root))
    wanted = [nb for nb in structure if not notebooks or nb in notebooks]
    todo = {}
    for student in students:
        due = [nb for nb in wanted if force or read_result(root, student, nb) is None]
        if due:
            todo[student] = due
    shutil.rmtree(root / "grading" / ".work", ignore_errors=True)
    if todo:
        sandbox.available()  # warns, or refuses under NNCOURSE_SANDBOX=require
        _grade(root, todo, structure, jobs, limits, progress, scheduler, warm_kernels, audit)
    return [read_result(root, s, nb) for s in students for nb in wanted]


def _submissions(root, todo, structure, bar, failed):
    """A ``Submission`` per student with something to grade; records the notebooks that are missing."""
    for student, notebooks in todo.items():
        folder = root / "submitted" / student / load(root).assignment
        present = []
        for notebook in notebooks:
            if (folder / f"{notebook}.ipynb").is_file():
                present.append(notebook)
            else:
                gradebook.missing(root, student, notebook, structure)
                failed.append(MISSING)
                bar.update(1)
        if not present:
            continue
        try:
            yield read_submission(folder, student, present)
        except (ValueError, OSError) as exc:
            outcome = failed_outcome("client", _Unread(student, tuple(present)), f"the submission could not be read: {exc}")
            for result in gradebook.record(root, outcome, structure):
                failed.append(result.status)
                bar.update(1)


@dataclasses.dataclass
class _Unread:
    student: str
    notebooks: tuple


def _grade(root, todo, structure, jobs, limits, progress, scheduler, warm_kernels, audit):
    from tqdm import tqdm

    total = sum(len(nbs) for nbs in todo.values())
    bar = tqdm(total=total, unit="notebook", desc="autograde", disable=not progress, dynamic_ncols=True)
    failed = []
    template = gradebook.template_db(root)
    started = time.monotonic()
    if scheduler:
        from .dask_backend import DaskPool

        backend: Backend = DaskPool(scheduler, root)
    else:
        backend = LocalPool(Station(root, root / "grading" / ".work", limits.blas_threads, warm_kernels), jobs)
    log.info("grading %d notebooks of %d submissions on %s", total, len(todo), backend.describe())
    try:
        if progress and scheduler:
            bar.write(backend.describe())
        for outcome in backend.grade(_submissions(root, todo, structure, bar, failed), limits, template, audit):
            for result in gradebook.record(root, outcome, structure):
                failed.append(result.status)
                bar.update(1)
            bar.set_postfix(failed=sum(s in (FAILED, MISSING) for s in failed))
    finally:
        backend.close()
        bar.close()
    return time.monotonic() - started
