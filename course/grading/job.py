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
import json
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

from ..jail import safefiles
from ..jail.slots import acquire_slot
from .results import FAILED, GRADED, MANUAL

MAX_SUBMISSION = 64 * 2**20   # bytes of submitted files a job accepts
MAX_FILES = 1000              # files in a submission
MAX_GRADED = 64 * 2**20       # bytes of graded files it sends back
LOG_TAIL = 200_000
FEEDBACK_TIMEOUT = 30          # seconds for the feedback pages: this, and as much again per notebook
KERNEL_LOG_TAIL = 4000        # bytes of the kernels' own output kept with a failed notebook's log
MARK = "@@nncourse"           # with the job's nonce, a log line that starts a notebook's part of the log


@dataclass
class Limits:
    cell_timeout: int = 120          # seconds per cell (nbgrader's Execute.timeout)
    job_timeout: int = 600           # seconds for one notebook, kernel start to last cell
    blas_threads: int = 1            # BLAS threads per kernel (the station's; set from cores / jobs)
    memory: int = 4 * 2**30          # address space of the job and its kernel: a memory bomb ends in MemoryError
    file_size: int = 256 * 2**20     # largest file a job may write
    feedback: bool = True            # write each graded notebook's feedback page in the job


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
    sandboxed: object = None         # every kernel of the notebook measured itself jailed (None: no kernel ran)


@dataclass
class Outcome:
    student: str
    notebooks: list                  # NotebookOutcome, in the order graded
    files: dict                      # path in the autograded folder -> bytes (graded notebooks and helpers)
    sandboxed: bool
    warm_kernels: bool
    station: str
    feedback: dict = field(default_factory=dict)  # notebook -> its feedback page (HTML bytes), grade of record in it


def read_submission(folder, student: str, notebooks, max_bytes: int = MAX_SUBMISSION) -> Submission:
    """The regular files of a submission folder as a ``Submission``: symlinks, hard links and special files
    are left out, never followed (course.jail.safefiles); too many files or bytes raise ``ValueError``."""
    files = safefiles.read_tree(folder, max_files=MAX_FILES, max_file=max_bytes, max_total=max_bytes)
    return Submission(student, tuple(notebooks), files)


def _prepare(scratch, root, template, submission, assignment):
    (scratch / "submitted" / submission.student).mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", scratch / "nbgrader_config.py")
    (scratch / "source").symlink_to(root / "source")  # read only by nbgrader, never by the kernel
    shutil.copy(template, scratch / "gradebook.db")
    folder = scratch / "submitted" / submission.student / assignment
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
    return submitted & {p.stem for p in (station.root / "source" / station.settings.assignment).glob("*.ipynb")}


def _supervise(station, scratch, submission, notebooks, limits, slot, sockets, whole, mark):
    """Run one child on ``notebooks`` (all in one converter run if ``whole``), killing it when a notebook
    overruns its budget; (exit status or "timeout", progress events)."""
    job = {"slot": slot, "sockets": sockets, "zygote": station.kernels.socket if station.kernels else None,
           "whole": whole, "mark": mark, "assignment": station.settings.assignment,
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

def _log_parts(text, mark):
    """{notebook: its part of the log} (the shared start of the log goes with each)."""
    pieces = re.split(rf"^{re.escape(mark)} (\S+)\n", text, flags=re.M)
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


def _grades(scratch, student, notebooks, settings):
    """{notebook: {grade_id: [score, max_score, needs_manual_grade]}} from the scratch gradebook."""
    from nbgrader.api import Gradebook

    if not notebooks:
        return {}
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}", course_id=settings.course_id) as gb:
        return {notebook: {g.name: [g.auto_score, g.max_score, bool(g.needs_manual_grade)]
                           for g in gb.find_submission_notebook(notebook, settings.assignment, student).grades}
                for notebook in notebooks}


def _graded_files(built, graded, max_bytes=MAX_GRADED):
    """nbgrader's autograded folder (which no kernel ever wrote: kernels work in a copy): the graded
    notebooks and the files nbgrader put beside them."""
    if not built.is_dir():
        return {}

    def ungraded(relative):  # an ungraded or failed notebook: nbgrader's own copy is not a result
        return relative.endswith(".ipynb") and "/" not in relative and relative[:-len(".ipynb")] not in graded

    return safefiles.read_tree(built, max_files=MAX_FILES + 100, max_file=max_bytes, max_total=max_bytes,
                               skip=ungraded)


def _jail_verdicts(scratch):
    """{notebook: [(ok, why), ...]}: what each kernel's jail measured (course.jail.kernel.record_verdict)."""
    verdicts = {}
    try:
        text = safefiles.read_file(str(scratch / "jails.jsonl"), limit=1 << 20).decode()
    except (FileNotFoundError, safefiles.Refused, UnicodeDecodeError):
        return verdicts
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            verdicts.setdefault(entry["notebook"], []).append((entry["ok"] is True, str(entry["why"])))
        except (ValueError, KeyError, TypeError):
            continue
    return verdicts


def _sandboxed(verdicts):
    """True when every kernel of a notebook measured itself jailed; False if one did not; None if none ran."""
    return all(ok for ok, _ in verdicts) if verdicts else None


def _kernel_output(sockets):
    """The tail of what the kernels printed outside their cells (their own log: untrusted text)."""
    try:
        data = safefiles.read_file(str(sockets / "kernels.log"), limit=64 * 2**20)
    except (FileNotFoundError, safefiles.Refused):
        return ""
    return data[-KERNEL_LOG_TAIL:].decode(errors="replace")


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

    source = station.root / "source" / station.settings.assignment
    audits = audit_submission({nb: submission.files[f"{nb}.ipynb"] for nb in notebooks}, source,
                              source / "nn_helpers.py", slot, limits.cell_timeout,
                              station.kernels.socket if station.kernels else None, station.blas_threads)
    for notebook, found in audits.items():
        outcomes[notebook].audit = found.record()


def _grades_of_record(station, outcomes, notebooks):
    """{notebook: {grade_id: score of record}} (course.grading.record) of the graded notebooks."""
    from .record import of_record

    policy = station.settings.audit.grade_of_record
    return {nb: of_record(policy, {gid: score for gid, (score, _, _) in outcomes[nb].cells.items()},
                          outcomes[nb].audit) for nb in notebooks}


def _write_grades_of_record(scratch, student, scores, settings):
    """The grades of record into the job's own gradebook, where nbgrader's feedback reads the scores."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}", course_id=settings.course_id) as gb:
        for notebook, cells in scores.items():
            for grade_id, score in cells.items():
                gb.find_grade(grade_id, notebook, settings.assignment, student).auto_score = score
        gb.db.commit()


def _feedback(station, scratch, submission, notebooks, outcomes, limits):
    """Each graded notebook's feedback page, as `nbgrader generate_feedback` would write it with the grades
    of record, written here while the job's course is warm: {notebook: HTML bytes} ({} if it failed)."""
    _write_grades_of_record(scratch, submission.student, _grades_of_record(station, outcomes, notebooks),
                            station.settings)
    job = {"memory": limits.memory, "file_size": limits.file_size, "blas_threads": station.blas_threads,
           "assignment": station.settings.assignment, "profile": station.profile}
    log = os.open(scratch / "feedback.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        process = station.jobs.spawn({"scratch": str(scratch), "student": submission.student, "notebooks": [],
                                      "job": job, "feedback": True}, [log, log])
    finally:
        os.close(log)
    try:
        status = process.wait(timeout=FEEDBACK_TIMEOUT + FEEDBACK_TIMEOUT * len(notebooks))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return {}
    folder = scratch / "feedback" / submission.student / station.settings.assignment
    if status != 0 or not folder.is_dir():
        return {}
    pages = safefiles.read_tree(folder, max_files=len(notebooks) + 10, max_file=MAX_GRADED, max_total=MAX_GRADED)
    return {name[:-len(".html")]: data for name, data in pages.items() if name[:-len(".html")] in notebooks}


@dataclass
class Round:
    """What one child left: its exit status ("timeout" when stopped), its progress events and its log."""
    status: object
    events: list
    log: str


def decided(pending, events):
    """(started, done): the notebooks of ``pending`` this round decided, and those among them that nbgrader
    finished.  After a failed whole-submission run nbgrader removed every notebook it had finished, so only
    the notebook that failed is decided."""
    times = _times(events)
    started = [nb for nb in pending if nb in times]
    if any(event == "failed-whole" for event, _, _ in events):
        started = [nb for nb in started if "done" not in times[nb]]
    return started, [nb for nb in started if "done" in times[nb]]


def _times(events):
    times = {}
    for event, notebook, when in events:
        times.setdefault(notebook, {})[event] = when
    return times


def round_outcomes(pending, done_round, mark, grades, timed_out, verdicts, limits, scratch="", now=None,
                   kernel_output=""):
    """The ``NotebookOutcome`` of every notebook of ``pending`` that the round ``done_round`` decided.

    Pure (no file, no process): ``grades`` {notebook: cells} and ``timed_out`` {notebook: [cell numbers]}
    for the finished notebooks, ``verdicts`` {notebook: [(ok, why)]} of their kernels' jails; ``scratch``
    is scrubbed from reasons and logs.  If the child never got to a notebook, all of ``pending`` failed.
    """
    now = time.monotonic() if now is None else now
    preamble, parts = _log_parts(done_round.log, mark)
    times = _times(done_round.events)
    running, _ = _running(done_round.events)
    started, _ = decided(pending, done_round.events)
    outcomes = {}
    for notebook in started:
        log = _scrub(preamble + parts.get(notebook, ""), scratch)[-LOG_TAIL:]
        span = times[notebook]
        seconds = round(span.get("done", span.get("failed", now)) - span["start"], 1)
        jailed = _sandboxed(verdicts.get(notebook, []))
        if "done" in span:
            cells = grades[notebook]
            manual = [gid for gid, (_, _, flag) in cells.items() if flag]
            notes = ["manual grading needed: " + ", ".join(manual)] if manual else []
            notes += [f"cell {n} ran longer than {limits.cell_timeout} s and was interrupted (timed out); "
                      f"the cells after it ran" for n in timed_out.get(notebook, [])]
            outcomes[notebook] = NotebookOutcome(notebook, MANUAL if manual else GRADED, "; ".join(notes), cells,
                                                 seconds, log, timed_out=timed_out.get(notebook, []),
                                                 sandboxed=bool(jailed))  # graded, yet no kernel measured: False
            continue
        # failed in nbgrader, or the child died or was stopped while grading it
        refused = [why for ok, why in verdicts.get(notebook, []) if not ok]
        why = (f"the kernel's jail could not be confirmed: {refused[0]}" if refused else
               failure_reason(done_round.status if notebook == running else 0, log, limits))
        if kernel_output:
            log += f"\n--- the kernels' own output (untrusted), last {KERNEL_LOG_TAIL} bytes ---\n{kernel_output}"
        outcomes[notebook] = NotebookOutcome(notebook, FAILED, _scrub(why, scratch), {}, seconds, log,
                                             sandboxed=jailed)
    if not started:  # the child never got to a notebook: nothing more will
        why = _scrub(failure_reason(done_round.status, preamble, limits), scratch)
        for notebook in pending:
            outcomes[notebook] = NotebookOutcome(notebook, FAILED, f"nbgrader did not start: {why}",
                                                 log=_scrub(preamble, scratch)[-LOG_TAIL:])
    return outcomes


def _read_round(scratch, status, events):
    try:
        log = safefiles.read_file(str(scratch / "nbgrader.log"), limit=256 * 2**20).decode(errors="replace")
    except (FileNotFoundError, safefiles.Refused):
        log = ""
    return Round(status, events, log)


def grade(station, submission: Submission, limits: Limits, template: Path, audit: bool = True) -> Outcome:
    """Grade ``submission`` on ``station`` (and audit it, unless ``audit`` is false); an ``Outcome``.
    Never raises for what a student submitted."""
    scratch = station.scratch / f"{submission.student}--{uuid.uuid4().hex[:8]}"
    slot = acquire_slot()
    sockets = Path(tempfile.mkdtemp(prefix=f"nnsb-{os.getpid()}-"))  # short: Unix socket paths are limited
    mark = f"{MARK}-{uuid.uuid4().hex}"  # unguessable: no text that student code makes nbgrader log can forge it
    outcomes = {}
    try:
        try:
            _prepare(scratch, station.root, template, submission, station.settings.assignment)
        except (ValueError, OSError) as exc:
            reason = f"the submission could not be unpacked: {exc}"
            return _outcome(station, submission, {nb: NotebookOutcome(nb, FAILED, reason)
                                                  for nb in submission.notebooks}, {})
        pending = list(submission.notebooks)
        whole = len(pending) > 1 and set(pending) == _gradable(station, submission)
        built = scratch / "autograded" / submission.student / station.settings.assignment
        while pending:
            done_round = _read_round(scratch, *_supervise(station, scratch, submission, pending, limits, slot.number,
                                                          str(sockets), whole, mark))
            _, done = decided(pending, done_round.events)
            grades = _grades(scratch, submission.student, done, station.settings)
            timed_out = {nb: _timed_out_cells(built / f"{nb}.ipynb") for nb in done}
            outcomes.update(round_outcomes(pending, done_round, mark, grades, timed_out, _jail_verdicts(scratch),
                                           limits, str(scratch), kernel_output=_kernel_output(sockets)))
            pending = [nb for nb in pending if nb not in outcomes]
            whole = False  # what is left goes one notebook at a time
        graded = [nb for nb in submission.notebooks if nb in outcomes and outcomes[nb].status != FAILED]
        if audit and graded:
            _audit(station, submission, graded, outcomes, slot.number, limits)
        pages = _feedback(station, scratch, submission, graded, outcomes, limits) if limits.feedback and graded else {}
        return _outcome(station, submission, outcomes, _graded_files(built, set(graded)), pages)
    finally:
        slot.release()
        shutil.rmtree(sockets, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _outcome(station, submission, outcomes, files, feedback=None):
    return Outcome(submission.student, [outcomes[nb] for nb in submission.notebooks if nb in outcomes], files,
                   station.sandboxed, station.kernels is not None, station.name, feedback or {})
