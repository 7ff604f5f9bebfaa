"""Grade one submission: the one definition that the local pool and the Dask workers both run.

``grade(station, submission, limits, template)`` takes plain data and returns
plain data: the submitted files go in as bytes (``Submission``), and the graded
notebooks, the grades and a status per notebook come out as bytes and numbers
(``Outcome``), so the same call runs on this machine or on another one.  Only
the client writes the course gradebook (course.grading.gradebook).

Inside, nbgrader grades the submission in a child forked by the station's job
zygote (``course.grading.child``), in a scratch course with its own SQLite
gradebook: all notebooks in one converter run, and after a failure the rest one
at a time.  The supervisor here reads the child's progress: a notebook that
overruns ``Limits.job_timeout`` is killed with its kernel and reported as timed
out, and the notebooks after it are graded in a new child.  One that fails
never costs the others a grade.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..jail.slots import acquire_slot
from ..nbgrader_run import ASSIGNMENT
from .child import MARK
from .results import FAILED, GRADED, MANUAL

COURSE_ID = "nn-layers"
MAX_SUBMISSION = 64 * 2**20   # bytes of submitted files a job accepts
MAX_GRADED = 64 * 2**20       # bytes of graded files it sends back
LOG_TAIL = 200_000


@dataclass
class Limits:
    cell_timeout: int = 120          # seconds per cell (nbgrader's Execute.timeout)
    job_timeout: int = 600           # seconds for one notebook, kernel start to last cell
    blas_threads: int = 1            # BLAS threads per kernel (the station's; set from cores / jobs)
    memory: int = 4 * 2**30          # address space of the job and its kernel: a memory bomb ends in MemoryError
    file_size: int = 256 * 2**20     # largest file a job may write


@dataclass
class Submission:
    student: str
    notebooks: tuple                 # the notebooks to grade, all present in ``files``
    files: dict                      # path in the submission folder -> bytes (regular files only)


@dataclass
class NotebookOutcome:
    notebook: str
    status: str                      # GRADED, MANUAL or FAILED
    reason: str = ""
    cells: dict = field(default_factory=dict)   # grade_id -> [score, max_score, needs_manual_grade]
    seconds: float = 0.0
    log: str = ""
    audit: dict = field(default_factory=dict)   # course.trust.audit.Audit.record(), when audited
    timed_out: list = field(default_factory=list)  # code cells (1-based) interrupted on the cell timeout


@dataclass
class Outcome:
    student: str
    notebooks: list                  # NotebookOutcome, in the order graded
    files: dict                      # path in the autograded folder -> bytes (graded notebooks and helpers)
    sandboxed: bool
    warm_kernels: bool
    station: str


def read_submission(folder, student, notebooks, max_bytes=MAX_SUBMISSION):
    """The regular files of a submission folder as a ``Submission`` (symlinks and special files are skipped)."""
    folder, files, total = Path(folder), {}, 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_symlink() or not path.is_file() or {"__pycache__", ".ipynb_checkpoints"} & set(relative.parts):
            continue
        total += path.stat().st_size
        if total > max_bytes:
            raise ValueError(f"the submission holds more than {max_bytes // 2**20} MiB of files")
        files[str(relative)] = path.read_bytes()
    return Submission(student, tuple(notebooks), files)


def _prepare(scratch, root, template, submission):
    (scratch / "submitted" / submission.student).mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", scratch / "nbgrader_config.py")
    (scratch / "source").symlink_to(root / "source")  # read only by nbgrader, never by the kernel
    shutil.copy(template, scratch / "gradebook.db")
    folder = scratch / "submitted" / submission.student / ASSIGNMENT
    for name, data in submission.files.items():
        path = (folder / name).resolve()
        if folder.resolve() not in path.parents:
            raise ValueError(f"a submitted file lies outside its folder: {name!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# --- watching one child ------------------------------------------------------------------------

def _progress(scratch):
    """[(event, notebook, time)] the child wrote so far."""
    path = scratch / "progress"
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            events.append((parts[0], parts[1], float(parts[2])))
    return events


def _running(events):
    """(notebook, started) the child is grading now, or (None, None)."""
    finished = {nb for event, nb, _ in events if event in ("done", "failed")}
    for event, notebook, when in reversed(events):
        if event == "start" and notebook not in finished:
            return notebook, when
    return None, None


def _gradable(station, submission):
    """The notebooks nbgrader's converter would grade in one run: submitted, and in the assignment."""
    submitted = {Path(name).stem for name in submission.files if name.endswith(".ipynb") and "/" not in name}
    return submitted & {p.stem for p in (station.root / "source" / ASSIGNMENT).glob("*.ipynb")}


def _supervise(station, scratch, submission, notebooks, limits, slot, sockets, whole):
    """Run one child on ``notebooks`` (all in one converter run if ``whole``), killing it when a notebook
    overruns its budget; (exit status or "timeout", progress events)."""
    job = {"slot": slot, "sockets": sockets, "zygote": station.kernels.socket if station.kernels else None,
           "whole": whole,
           "cell_timeout": limits.cell_timeout, "blas_threads": station.blas_threads,
           "memory": limits.memory, "file_size": limits.file_size, "profile": station.profile}
    (scratch / "progress").unlink(missing_ok=True)  # this child's events only
    log = os.open(scratch / "nbgrader.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        process = station.jobs.spawn({"scratch": str(scratch), "student": submission.student,
                                      "notebooks": list(notebooks), "job": job}, [log, log])
    finally:
        os.close(log)
    started = time.monotonic()
    while True:
        try:
            return process.wait(timeout=0.2), _progress(scratch)
        except subprocess.TimeoutExpired:
            pass
        events = _progress(scratch)
        _, since = _running(events)
        since = started if since is None else since
        if time.monotonic() - since > limits.job_timeout:
            process.kill()  # the child's group; its kernel dies with the child's connection to the zygote
            process.wait()
            return "timeout", _progress(scratch)


# --- what the child left -------------------------------------------------------------------

def _log_parts(text):
    """{notebook: its part of the log} (the shared start of the log goes with each)."""
    pieces = re.split(rf"^{MARK} (\S+)\n", text, flags=re.M)
    preamble, parts = pieces[0], {}
    for notebook, body in zip(pieces[1::2], pieces[2::2]):
        parts[notebook] = parts.get(notebook, "") + body
    return preamble, parts


def _nbgrader_errors(log_text):
    lines = [line.split("| ERROR]", 1)[1].strip() for line in log_text.splitlines() if "| ERROR]" in line]
    useful = [line for line in lines if line and not line.startswith("Please see")]
    return "; ".join(dict.fromkeys(useful))[:600]


def failure_reason(status, log_text, limits):
    if status == "timeout":
        return f"grading exceeded {limits.job_timeout} s for this notebook and was stopped (timed out)"
    if isinstance(status, int) and status < 0:
        sig = signal.Signals(-status).name
        return f"the grading process was killed by {sig}" + (" (out of memory?)" if sig == "SIGKILL" else "")
    errors = _nbgrader_errors(log_text)
    if "NotJSONError" in log_text or "Notebook does not appear to be JSON" in log_text:
        return "the notebook file is not valid JSON (corrupted or not a notebook)"
    if "DeadKernelError" in log_text or "Kernel died" in log_text:
        return "the kernel died while running the notebook (e.g. os._exit, a crash)" + (f": {errors}" if errors else "")
    if "MemoryError" in log_text:
        return "the grader ran out of memory (huge output?)"
    if "CellTimeoutError" in log_text or "Cell execution timed out" in log_text:
        return f"a cell ran longer than {limits.cell_timeout} s and could not be interrupted (timed out)" + \
            (f": {errors}" if errors else "")
    return errors or f"nbgrader stopped with status {status} without saying why (see the log)"


def _grades(scratch, student, notebooks):
    """{notebook: {grade_id: [score, max_score, needs_manual_grade]}} from the scratch gradebook."""
    from nbgrader.api import Gradebook

    if not notebooks:
        return {}
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        return {notebook: {g.name: [g.auto_score, g.max_score, bool(g.needs_manual_grade)]
                           for g in gb.find_submission_notebook(notebook, ASSIGNMENT, student).grades}
                for notebook in notebooks}


def _graded_files(built, graded, max_bytes=MAX_GRADED):
    """The autograded folder's regular files: graded notebooks and everything that is not a notebook."""
    files, total = {}, 0
    if not built.is_dir():
        return files
    for path in sorted(built.rglob("*")):
        relative = path.relative_to(built)
        if path.is_symlink() or not path.is_file():
            continue
        if path.suffix == ".ipynb" and len(relative.parts) == 1 and path.stem not in graded:
            continue  # an ungraded or failed notebook: nbgrader's own copy is not a result
        total += path.stat().st_size
        if total > max_bytes:
            break  # what the student's code wrote beyond this is dropped; the notebooks come first
        files[str(relative)] = path.read_bytes()
    return files


def _timed_out_cells(path):
    """Numbers (1-based, code cells) of the cells nbgrader interrupted on its cell timeout."""
    import nbformat

    try:
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    except Exception:  # noqa: BLE001 -- nbgrader wrote it; if it cannot be read, there is nothing to report
        return []
    return [n for n, cell in enumerate(cells, 1)
            if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs)]


def _scrub(text, scratch):
    """Reasons and logs without the job's scratch paths (meaningless to a reader, and internal)."""
    return text.replace(str(scratch) + "/", "").replace(str(scratch), "")


# --- one submission ------------------------------------------------------------------------

def _audit(station, submission, notebooks, outcomes, slot, limits):
    """The out-of-kernel audit of the graded notebooks (course.trust.audit), in one jail."""
    from ..trust.audit import audit_submission

    source = station.root / "source" / ASSIGNMENT
    audits = audit_submission({nb: submission.files[f"{nb}.ipynb"] for nb in notebooks}, source,
                              source / "nn_helpers.py", slot, limits.cell_timeout,
                              station.kernels.socket if station.kernels else None, station.blas_threads)
    for notebook, found in audits.items():
        outcomes[notebook].audit = found.record()


def grade(station, submission, limits, template, audit=True):
    """Grade ``submission`` on ``station`` (and audit it, unless ``audit`` is false); an ``Outcome``.
    Never raises for what a student submitted."""
    scratch = station.scratch / f"{submission.student}--{uuid.uuid4().hex[:8]}"
    slot = acquire_slot()
    sockets = Path(tempfile.mkdtemp(prefix=f"nnsb-{os.getpid()}-"))  # short: Unix socket paths are limited
    outcomes = {}
    try:
        try:
            _prepare(scratch, station.root, template, submission)
        except (ValueError, OSError) as exc:
            reason = f"the submission could not be unpacked: {exc}"
            return _outcome(station, submission, {nb: NotebookOutcome(nb, FAILED, reason)
                                                  for nb in submission.notebooks}, {})
        pending = list(submission.notebooks)
        whole = len(pending) > 1 and set(pending) == _gradable(station, submission)
        while pending:
            status, events = _supervise(station, scratch, submission, pending, limits, slot.number, str(sockets),
                                        whole)
            log_text = (scratch / "nbgrader.log").read_text(errors="replace") if (scratch / "nbgrader.log").exists() else ""
            preamble, parts = _log_parts(log_text)
            times = {}
            for event, notebook, when in events:
                times.setdefault(notebook, {})[event] = when
            running, _ = _running(events)
            started = [nb for nb in pending if nb in times]
            if any(event == "failed-whole" for event, _, _ in events):
                # nbgrader removed the whole autograded folder: only the notebook that failed is decided
                started = [nb for nb in started if "done" not in times[nb]]
            grades = _grades(scratch, submission.student, [nb for nb in started if "done" in times[nb]])
            for notebook in started:
                log = _scrub(preamble + parts.get(notebook, ""), scratch)[-LOG_TAIL:]
                span = times[notebook]
                seconds = round(span.get("done", span.get("failed", time.monotonic())) - span["start"], 1)
                if "done" in span:
                    cells = grades[notebook]
                    manual = [gid for gid, (_, _, flag) in cells.items() if flag]
                    timed_out = _timed_out_cells(scratch / "autograded" / submission.student / ASSIGNMENT
                                                 / f"{notebook}.ipynb")
                    notes = ["manual grading needed: " + ", ".join(manual)] if manual else []
                    notes += [f"cell {n} ran longer than {limits.cell_timeout} s and was interrupted (timed out); "
                              f"the cells after it ran" for n in timed_out]
                    outcomes[notebook] = NotebookOutcome(notebook, MANUAL if manual else GRADED, "; ".join(notes),
                                                         cells, seconds, log, timed_out=timed_out)
                else:  # failed in nbgrader, or the child died or was stopped while grading it
                    why = failure_reason(status if notebook == running else 0, log, limits)
                    outcomes[notebook] = NotebookOutcome(notebook, FAILED, _scrub(why, scratch), {}, seconds, log)
            if not started:  # the child never got to a notebook: nothing more will
                why = _scrub(failure_reason(status, preamble, limits), scratch)
                for notebook in pending:
                    outcomes[notebook] = NotebookOutcome(notebook, FAILED, f"nbgrader did not start: {why}",
                                                         log=_scrub(preamble, scratch)[-LOG_TAIL:])
            pending = [nb for nb in pending if nb not in outcomes]
            whole = False  # what is left goes one notebook at a time
        built = scratch / "autograded" / submission.student / ASSIGNMENT
        graded = [nb for nb in submission.notebooks if nb in outcomes and outcomes[nb].status != FAILED]
        if audit and graded:
            _audit(station, submission, graded, outcomes, slot.number, limits)
        return _outcome(station, submission, outcomes, _graded_files(built, set(graded)))
    finally:
        slot.release()
        shutil.rmtree(sockets, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _outcome(station, submission, outcomes, files):
    return Outcome(submission.student, [outcomes[nb] for nb in submission.notebooks if nb in outcomes], files,
                   station.sandboxed, station.kernels is not None, station.name)
