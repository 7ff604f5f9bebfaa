"""Parallel, resumable autograding on top of nbgrader's own AutogradeApp.

nbgrader grades one student at a time (its issue #174).  Here each
(student, notebook) pair is one job:

* the job runs ``nbgrader autograde --student S --notebook N`` in a forked
  child (nbgrader is imported once, in the parent), inside a scratch course
  folder with its own SQLite gradebook, so jobs never contend for a lock;
* the child gets its own session and resource limits and dies with the parent;
  a job that overruns its time budget is killed with its kernel;
* only the parent writes the course gradebook, one transaction per job,
  retrying while the database is busy, so "database is locked" cannot abort
  the batch; then it records the job's status (``course/results.py``);
* a job with a status record is done: a killed batch, run again, grades only
  what is missing, and reruns change nothing unless ``force``.

A job that nbgrader could not grade (invalid JSON, crash, timeout) gets the
status "failed to grade" with the reason, never a silent 0.
"""
import ctypes
import dataclasses
import functools
import os
import resource
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import OperationalError, SAWarning

from ..nbgrader_run import ASSIGNMENT, hermetic_env
from ..jail import sandbox
from ..jail.kernel import SLOT_ENV, SOCKETS_ENV
from .results import FAILED, GRADED, MANUAL, MISSING, NotebookResult, assignment_structure, read_result, write_result

COURSE_ID = "nn-layers"
MEMORY_LIMIT = 4 * 2**30      # address space per process: a memory bomb ends in MemoryError
FILE_LIMIT = 256 * 2**20      # largest file a job may write
PR_SET_PDEATHSIG = 1


class Job(NamedTuple):
    """A running grading job, by the PID of its forked child."""
    student: str
    notebooks: tuple
    scratch: Path
    start: float       # time.monotonic()
    slot: int          # which jail UID it uses
    sockets: str       # its kernels' socket folder, removed by the parent


@dataclass
class Limits:
    cell_timeout: int = 120      # seconds per cell (nbgrader's Execute.timeout)
    job_timeout: int = 600       # seconds for one notebook, kernel start to last cell
    blas_threads: int = 1        # BLAS threads per job's kernel (set from cores / jobs)


@functools.lru_cache(maxsize=None)
def db_url(root):
    """The course gradebook as nbgrader_config.py sets it (CourseDirectory.db_url), SQLite by default.

    SQLite gets a 30 s busy timeout; any other database (e.g. PostgreSQL) is used as configured.
    """
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    url = CourseDirectory(config=config, root=str(root)).db_url
    if url.startswith("sqlite:") and "?" not in url:
        url += "?timeout=30"
    return url


def students_in(root):
    submitted = Path(root) / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / ASSIGNMENT).is_dir()) if submitted.exists() else []


# --- the child: one nbgrader autograde in a scratch course --------------------------------

def _prepare_scratch(root, template_db, student, notebooks):
    label = notebooks[0] if len(notebooks) == 1 else "all"
    scratch = Path(root) / "grading" / ".work" / f"{student}--{label}--{uuid.uuid4().hex[:8]}"
    (scratch / "submitted" / student).mkdir(parents=True)
    shutil.copy(Path(root) / "nbgrader_config.py", scratch / "nbgrader_config.py")
    shutil.copytree(Path(root) / "source", scratch / "source")
    shutil.copy(template_db, scratch / "gradebook.db")
    shutil.copytree(Path(root) / "submitted" / student / ASSIGNMENT, scratch / "submitted" / student / ASSIGNMENT,
                    symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return scratch


def _run_child(scratch, student, notebooks, limits, slot, sockets):
    """In the forked child: grade ``notebooks`` of ``student`` (one, or the whole submission); never returns."""
    code = 1
    try:
        os.setsid()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the batch
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        log = os.open(scratch / "nbgrader.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        # The parent's sys.stdout/stderr may be other files (pytest's capture): use fds 1 and 2.
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        os.chdir(scratch)
        warnings.resetwarnings()  # behave like a fresh nbgrader process, whatever the parent set
        env = hermetic_env(scratch / ".home")
        # Share the cores between parallel jobs: kernels whose BLAS threads outnumber
        # the cores spin against each other and run several times slower.
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(limits.blas_threads)
        env[SLOT_ENV] = str(slot)  # parallel jails run under different UIDs
        env[SOCKETS_ENV] = sockets
        os.environ.clear()
        os.environ.update(env)
        from nbgrader.apps.nbgraderapp import NbGraderApp

        # The job's own SQLite gradebook, whatever database the course uses (e.g. PostgreSQL).
        argv = ["autograde", ASSIGNMENT, "--student", student, "--force", f"--Execute.timeout={limits.cell_timeout}",
                f"--CourseDirectory.db_url=sqlite:///{scratch / 'gradebook.db'}"]
        if len(notebooks) == 1:
            argv += ["--notebook", notebooks[0]]
        try:
            NbGraderApp.launch_instance(argv=argv)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


# --- the parent --------------------------------------------------------------------------

def _nbgrader_errors(log_text):
    lines = [line.split("| ERROR]", 1)[1].strip() for line in log_text.splitlines() if "| ERROR]" in line]
    useful = [line for line in lines if line and not line.startswith("Please see")]
    return "; ".join(dict.fromkeys(useful))[:600]


def _failure_reason(status, seconds, log_text, limits):
    if status == "timeout":
        return f"grading exceeded {limits.job_timeout} s for this notebook and was stopped"
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return f"the grading process was killed by {sig}" + (" (out of memory?)" if sig == "SIGKILL" else "")
    errors = _nbgrader_errors(log_text)
    if "NotJSONError" in log_text or "Notebook does not appear to be JSON" in log_text:
        return "the notebook file is not valid JSON (corrupted or not a notebook)"
    if "DeadKernelError" in log_text or "Kernel died" in log_text:
        return "the kernel died while running the notebook (e.g. os._exit, a crash)" + (f": {errors}" if errors else "")
    if "MemoryError" in log_text:
        return "the grader ran out of memory (huge output?)"
    return errors or f"nbgrader exited with status {os.WEXITSTATUS(status)}"


def _merge(root, scratch, student, notebook):
    """Copy the scratch grades for one notebook into the course gradebook; return {grade_id: (score, max)}."""
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        nb = gb.find_submission_notebook(notebook, ASSIGNMENT, student)
        grades = {g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in nb.grades}
    deadline = time.monotonic() + 300
    while True:
        try:
            with Gradebook(db_url(Path(root)), course_id=COURSE_ID) as gb, warnings.catch_warnings():
                # nbgrader's own API trips SQLAlchemy's autoflush warning here; the writes are fine.
                warnings.simplefilter("ignore", SAWarning)
                gb.update_or_create_student(student)
                gb.update_or_create_submission(ASSIGNMENT, student)
                for name, (score, _, manual) in grades.items():
                    grade = gb.find_grade(name, notebook, ASSIGNMENT, student)
                    grade.auto_score, grade.needs_manual_grade = score, manual
                gb.db.commit()
            break
        except OperationalError:  # busy beyond sqlite's own timeout: wait, never abort the batch
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    target = Path(root) / "autograded" / student / ASSIGNMENT
    target.mkdir(parents=True, exist_ok=True)
    built = scratch / "autograded" / student / ASSIGNMENT
    for item in built.iterdir():
        if item.suffix == ".ipynb" and item.stem != notebook:
            continue  # other notebooks are only unsanitized copies of the submission
        dest = target / item.name
        if dest.is_dir():
            shutil.rmtree(dest)
        elif dest.exists():
            dest.unlink()
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, dest)
    return grades


def _result_from_scratch(root, scratch, student, notebook, status, seconds, limits, structure):
    log_text = (scratch / "nbgrader.log").read_text(errors="replace") if (scratch / "nbgrader.log").exists() else ""
    log_copy = Path(root) / "grading" / student / f"{notebook}.log"
    log_copy.parent.mkdir(parents=True, exist_ok=True)
    log_copy.write_text(log_text[-200_000:])
    cells = {cell: (None, maximum) for cell, maximum in structure[notebook].items()}
    built = scratch / "autograded" / student / ASSIGNMENT / f"{notebook}.ipynb"
    if status == 0 and built.exists():
        try:
            grades = _merge(root, scratch, student, notebook)
        except MissingEntry as exc:
            return NotebookResult(student, notebook, FAILED, f"gradebook entry missing: {exc}", cells, seconds)
        cells = {name: (score, maximum) for name, (score, maximum, _) in grades.items()}
        manual = [name for name, (_, _, flag) in grades.items() if flag]
        if manual:
            return NotebookResult(student, notebook, MANUAL, "manual grading needed: " + ", ".join(manual),
                                  cells, seconds)
        return NotebookResult(student, notebook, GRADED, "", cells, seconds)
    return NotebookResult(student, notebook, FAILED, _failure_reason(status, seconds, log_text, limits),
                          cells, seconds)


def _missing(root, student, notebook, structure):
    folder = Path(root) / "submitted" / student / ASSIGNMENT
    unknown = sorted(p.name for p in folder.glob("*.ipynb") if p.stem not in structure)
    reason = f"{notebook}.ipynb was not submitted"
    if unknown:
        reason += f"; unexpected notebooks: {', '.join(unknown)}"
    cells = {cell: (None, maximum) for cell, maximum in structure[notebook].items()}
    return NotebookResult(student, notebook, MISSING, reason, cells)


def _template_db(root):
    """The SQLite gradebook a job starts from: a consistent snapshot of the course's own
    (SQLite's backup API, safe while the parent writes), or, for any other database
    (e.g. PostgreSQL), one built by nbgrader from source/."""
    template = Path(root) / "grading" / ".template"
    shutil.rmtree(template, ignore_errors=True)
    template.mkdir(parents=True)
    url = db_url(Path(root))
    if url.startswith("sqlite:///"):
        with closing(sqlite3.connect(url[len("sqlite:///"):].split("?")[0])) as course_db, \
                closing(sqlite3.connect(template / "gradebook.db")) as copy:
            course_db.backup(copy)
        return template / "gradebook.db"
    shutil.copy(Path(root) / "nbgrader_config.py", template / "nbgrader_config.py")
    shutil.copytree(Path(root) / "source", template / "source")
    from ..nbgrader_run import nbgrader

    nbgrader(template, "generate_assignment", ASSIGNMENT, "--force",
             f"--CourseDirectory.db_url=sqlite:///{template / 'gradebook.db'}")
    return template / "gradebook.db"


def autograde(root, students=None, notebooks=None, jobs=2, force=False, limits=None, progress=True):
    """Grade every (student, notebook) without a status record; return the results of these pairs."""
    root = Path(root).resolve()
    limits = dataclasses.replace(limits or Limits(), blas_threads=max(1, (os.cpu_count() or 1) // max(1, jobs)))
    structure = assignment_structure(root)
    unknown = set(notebooks or ()) - set(structure)
    if unknown:
        raise SystemExit(f"unknown notebooks: {', '.join(sorted(unknown))}")
    with Gradebook(db_url(Path(root)), course_id=COURSE_ID) as gb:
        try:
            gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            raise SystemExit(f"the gradebook has no assignment {ASSIGNMENT!r}: run the release command first") from None
    students = list(students or students_in(root))
    wanted = [nb for nb in structure if not notebooks or nb in notebooks]
    todo = [(s, nb) for s in students for nb in wanted if force or read_result(root, s, nb) is None]
    shutil.rmtree(root / "grading" / ".work", ignore_errors=True)
    if todo:
        sandbox.available()  # warns, or refuses under NNCOURSE_SANDBOX=require
        template = _template_db(root)
        _run_jobs(root, template, todo, jobs, limits, structure, progress)
    return [read_result(root, s, nb) for s in students for nb in wanted]


def _first_jobs(todo, structure):
    """A student whose whole submission is due is one job (nbgrader's own loop, set up once);
    otherwise one job per notebook."""
    by_student = {}
    for student, notebook in todo:
        by_student.setdefault(student, []).append(notebook)
    jobs = []
    for student, notebooks in by_student.items():
        whole = len(notebooks) == len(structure) and len(structure) > 1
        jobs += [(student, tuple(notebooks))] if whole else [(student, (nb,)) for nb in notebooks]
    return jobs


def _run_jobs(root, template, todo, jobs, limits, structure, progress):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: this process forks
    bar = tqdm(total=len(todo), unit="notebook", desc="autograde", disable=not progress, dynamic_ncols=True)
    running, queue, failed = {}, _first_jobs(todo, structure), 0
    _remove_stale_socket_folders()

    jailed = sandbox.available()

    def record(result):
        nonlocal failed
        result.sandboxed = jailed if result.status != MISSING else None
        write_result(root, result)
        failed += result.status in (FAILED, MISSING)
        bar.update(1)
        bar.set_postfix(failed=failed)

    try:
        while queue or running:
            while queue and len(running) < jobs:
                student, notebooks = queue.pop(0)
                folder = root / "submitted" / student / ASSIGNMENT
                absent = [nb for nb in notebooks if not (folder / f"{nb}.ipynb").exists()]
                for notebook in absent:
                    record(_missing(root, student, notebook, structure))
                notebooks = tuple(nb for nb in notebooks if nb not in absent)
                if not notebooks:
                    continue
                scratch = _prepare_scratch(root, template, student, notebooks)
                slot = min(set(range(jobs)) - {job.slot for job in running.values()})
                sockets = tempfile.mkdtemp(prefix=f"nnsb-{os.getpid()}-")  # short: Unix socket paths are limited
                pid = os.fork()
                if pid == 0:
                    _run_child(scratch, student, notebooks, limits, slot, sockets)
                running[pid] = Job(student, notebooks, scratch, time.monotonic(), slot, sockets)
            for pid, status in _reap(running, limits):
                student, notebooks, scratch, start, _, sockets = running.pop(pid)
                shutil.rmtree(sockets, ignore_errors=True)
                seconds = round((time.monotonic() - start) / len(notebooks), 1)
                built = scratch / "autograded" / student / ASSIGNMENT
                for notebook in notebooks:
                    if len(notebooks) > 1 and not (status == 0 and (built / f"{notebook}.ipynb").exists()):
                        queue.append((student, (notebook,)))  # isolate the failure: one job per notebook
                        continue
                    record(_result_from_scratch(root, scratch, student, notebook, status, seconds, limits, structure))
                shutil.rmtree(scratch, ignore_errors=True)
    finally:
        for pid, job in running.items():  # interrupted: take the jobs' kernels down too
            _kill_group(pid)
            shutil.rmtree(job.sockets, ignore_errors=True)
        bar.close()


def _remove_stale_socket_folders():
    """Socket folders of batches that were killed (SIGKILL leaves no chance to clean up)."""
    for folder in Path(tempfile.gettempdir()).glob("nnsb-*-*"):
        try:
            os.kill(int(folder.name.split("-")[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (ValueError, PermissionError):
            pass


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _reap(running, limits):
    """Wait a little; return [(pid, status)] of finished jobs; kill overdue ones."""
    finished = []
    deadline = time.monotonic() + 0.2
    while not finished and time.monotonic() < deadline:
        for pid, job in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                _kill_group(pid)  # leftovers of a job, e.g. its kernel
                finished.append((pid, status))
            elif time.monotonic() - job.start > limits.job_timeout * len(job.notebooks):
                _kill_group(pid)
                finished.append((pid, "timeout"))
        if not finished:
            time.sleep(0.05)
    return finished
