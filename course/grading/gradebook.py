"""The client's side of grading: the course gradebook, the autograded folder and the status records.

Jobs never touch the course: they return an ``Outcome`` (course.grading.job),
and only the process that runs ``autograde`` writes it down here: the grades of
record (``course.grading.record``: nbgrader's and the audit's, combined) into the
gradebook (one transaction per submission, retried while the database is
busy), the graded files into ``autograded/``, the logs, and last the status
records (``course.grading.results``), which mark the notebooks as done.
A client killed half-way leaves no record for what it did not finish, so a
rerun grades exactly that again, and writing the same outcome twice changes
nothing.
"""
import logging
import shutil
import sqlite3
import time
import warnings
from contextlib import closing
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import OperationalError, SAWarning

from ..jail import safefiles
from ..settings import FEEDBACK_WITHHELD, PROCESS_LOCK, CourseError, load, nbgrader_config
from ..trust.audit import nbgrader_scores
from ..trust.leakscan import html_text, leaks
from . import record as of_record
from .results import FAILED, MISSING, NotebookResult, write_result

log = logging.getLogger(__name__)


def db_url(root):
    """The course gradebook as nbgrader_config.py sets it (CourseDirectory.db_url), SQLite by default.

    SQLite gets a 30 s busy timeout; any other database (e.g. PostgreSQL) is used as configured.
    """
    url = load(root).db_url
    if url.startswith("sqlite:") and "?" not in url:
        url += "?timeout=30"
    return url


def open_gradebook(root):
    """nbgrader's Gradebook on the course's database."""
    return Gradebook(db_url(root), course_id=load(root).course_id)


def check_assignment(root):
    assignment = load(root).assignment
    with open_gradebook(root) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"the gradebook has no assignment {assignment!r}: run `nncourse release` first") from None


def template_db(root):
    """The SQLite gradebook every job starts from: a consistent snapshot of the course's own
    (SQLite's backup API, safe while this process writes), or, for any other database
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
    from ..authoring.apps import nbgrader

    nbgrader(template, "generate_assignment", load(root).assignment, "--force",
             f"--CourseDirectory.db_url=sqlite:///{template / 'gradebook.db'}")
    return template / "gradebook.db"


def set_due_date(root, when):
    """The assignment's due date in the gradebook (naive UTC, as nbgrader keeps it; None: none)."""
    with open_gradebook(root) as gb:
        gb.update_or_create_assignment(load(root).assignment, duedate=when)


def write_scores(root, student, notebooks):
    """The scores of ``notebooks`` ({notebook: {grade_id: score}}) into the gradebook, one transaction."""
    _write_grades(root, student, {nb: {gid: (score, None, None) for gid, score in cells.items()}
                                  for nb, cells in notebooks.items()})


def _write_grades(root, student, notebooks, timestamp=None):
    """The grades of ``notebooks`` ({notebook: {grade_id: (score, max, manual or None to keep)}}), and the
    submission's ``timestamp`` if given, in one transaction; whether a late penalty is to be (re)assessed."""
    deadline, assignment = time.monotonic() + 300, load(root).assignment
    while True:
        try:
            with open_gradebook(root) as gb, PROCESS_LOCK, warnings.catch_warnings():
                # nbgrader's own API trips SQLAlchemy's autoflush warning here; the writes are fine.
                warnings.simplefilter("ignore", SAWarning)
                gb.update_or_create_student(student)
                submission = gb.update_or_create_submission(
                    assignment, student, **({"timestamp": timestamp} if timestamp else {}))
                for notebook, cells in notebooks.items():
                    for name, (score, _, manual) in cells.items():
                        grade = gb.find_grade(name, notebook, assignment, student)
                        grade.auto_score = score
                        if manual is not None:
                            grade.needs_manual_grade = manual
                late = submission.total_seconds_late > 0 or any(
                    nb.late_submission_penalty is not None for nb in submission.notebooks if nb.name in notebooks)
                gb.db.commit()
            return late
        except OperationalError:  # busy beyond the driver's own timeout: wait, never abort the batch
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def collected_at(root, student):
    """When the submission was handed in: its timestamp.txt (nncourse collect writes it), or None."""
    from nbgrader.utils import parse_utc

    path = Path(root) / "submitted" / student / load(root).assignment / "timestamp.txt"
    try:
        return parse_utc(safefiles.read_file(str(path), limit=256).decode())
    except (OSError, safefiles.Refused, ValueError):
        return None


def _late_penalties(root, student, notebooks):
    """nbgrader's own late-submission step (AssignLatePenalties and its plugin, as nbgrader_config.py sets
    them) on the course gradebook, against the assignment's due date (c.Delivery.due_date)."""
    from nbformat.v4 import new_notebook
    from nbgrader.preprocessors import AssignLatePenalties

    step = AssignLatePenalties(config=nbgrader_config(root))
    with PROCESS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        for notebook in notebooks:
            step.preprocess(new_notebook(), {"nbgrader": {"notebook": notebook, "assignment": load(root).assignment,
                                                          "student": student, "db_url": db_url(root)}})


def _write_files(root, student, files, notebook=None):
    """The outcome's files into autograded/: one graded notebook, or (notebook=None) every non-notebook file.
    Through directory fds only, replacing rather than following whatever is there (course.jail.safefiles)."""
    target = Path(root) / "autograded" / student / load(root).assignment
    target.mkdir(parents=True, exist_ok=True)
    chosen = {}
    for name, data in files.items():
        is_notebook = name.endswith(".ipynb") and "/" not in name
        if (notebook is None) != is_notebook and (notebook is None or name == f"{notebook}.ipynb"):
            chosen[name] = data
    safefiles.write_tree(target, chosen)


def record(root, outcome, structure):
    """Write one submission's ``Outcome`` down (grades in one transaction, then files, logs and, last,
    the status records); return its ``NotebookResult`` records."""
    root = Path(root)
    choice = of_record.policy(root)
    own, graded = {}, {}  # nbgrader's scores, and the grades of record, of the notebooks that were graded
    for g in outcome.notebooks:
        if g.status != FAILED:
            own[g.notebook] = {gid: score for gid, (score, _, _) in g.cells.items()}
            scores = of_record.of_record(choice, own[g.notebook], g.audit)
            graded[g.notebook] = {gid: (scores[gid], maximum, manual) for gid, (_, maximum, manual) in g.cells.items()}
    problem = ""
    if graded:
        try:
            if _write_grades(root, outcome.student, graded, collected_at(root, outcome.student)):
                _late_penalties(root, outcome.student, graded)
        except MissingEntry as exc:
            problem = f"gradebook entry missing: {exc}"
    _write_files(root, outcome.student, outcome.files)
    results = []
    for graded_nb in outcome.notebooks:
        log = root / "grading" / outcome.student / f"{graded_nb.notebook}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(graded_nb.log)
        cells = {cell: (None, maximum) for cell, maximum in structure[graded_nb.notebook].items()}
        status, reason = graded_nb.status, graded_nb.reason
        if status != FAILED and problem:
            status, reason = FAILED, problem
        elif status != FAILED:
            cells = {name: (score, maximum) for name, (score, maximum, _) in graded[graded_nb.notebook].items()}
            _write_files(root, outcome.student, outcome.files, graded_nb.notebook)
        ok = status != FAILED
        feedback = write_page(root, outcome.student, graded_nb.notebook, outcome.feedback.get(graded_nb.notebook)
                              if ok else None)
        jailed = graded_nb.sandboxed if graded_nb.sandboxed is not None else outcome.sandboxed  # measured, per notebook
        result = NotebookResult(outcome.student, graded_nb.notebook, status, reason, cells, graded_nb.seconds,
                                sandboxed=jailed, audit=graded_nb.audit if ok else {},
                                station=outcome.station, timed_out=graded_nb.timed_out if ok else [],
                                nbgrader=own[graded_nb.notebook] if ok else {}, feedback=feedback)
        write_result(root, result)
        results.append(result)
    return results


def write_page(root, student, notebook, page):
    """A notebook's feedback page (bytes, or None when there is none) into feedback/, scanned first: a page
    that shows a hidden test or reference code goes to the instructor's FEEDBACK_WITHHELD folder instead
    (course.trust.leakscan).  A page of an earlier round is removed either way.  What happened, for the
    status record: "", "written" or "withheld: <what it showed>"."""
    assignment = load(root).assignment
    name = f"{notebook}.html"
    for folder in (Path(root) / "feedback", Path(root) / FEEDBACK_WITHHELD):
        (folder / student / assignment / name).unlink(missing_ok=True)
    if page is None:
        return ""
    found = leaks(root, html_text(page.decode("utf-8", errors="replace")), student, notebook)
    folder = Path(root) / (FEEDBACK_WITHHELD if found else "feedback") / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    safefiles.write_tree(folder, {name: page})
    if found:
        log.warning("feedback of %s/%s withheld: it shows %s", student, notebook, found[0][:200])
        return f"withheld: {found[0][:300]}"
    return "written"


def missing(root, student, notebook, structure):
    """The record of a notebook that was not handed in (naming any notebook of an unexpected name)."""
    folder = Path(root) / "submitted" / student / load(root).assignment
    unknown = sorted(p.name for p in folder.glob("*.ipynb") if p.stem not in structure)
    reason = f"{notebook}.ipynb was not submitted"
    if unknown:
        reason += f"; unexpected notebooks: {', '.join(unknown)}"
    cells = {cell: (None, maximum) for cell, maximum in structure[notebook].items()}
    result = NotebookResult(student, notebook, MISSING, reason, cells)
    write_result(root, result)
    return result


def apply_grade_of_record(root, results):
    """Recompute the records' scores of record from nbgrader's and the audit's, write them into the
    gradebook (one transaction per student) and the status records; return the records."""
    choice = of_record.policy(root)
    by_student = {}
    for result in results:
        if result.status in (FAILED, MISSING):
            continue
        own = nbgrader_scores(result)
        scores = of_record.of_record(choice, own, result.audit)
        result.nbgrader = own
        result.cells = {gid: (scores.get(gid, score), maximum) for gid, (score, maximum) in result.cells.items()}
        by_student.setdefault(result.student, []).append(result)
    for student, student_results in by_student.items():
        write_scores(root, student, {r.notebook: {gid: score for gid, (score, _) in r.cells.items()}
                                     for r in student_results})
        for result in student_results:
            write_result(root, result)
    return results
