"""The course's settings, read once from ``nbgrader_config.py``; a leaf that imports nothing of the course.

``nbgrader_config.py`` is the one file an instructor configures.  Besides
nbgrader's own options (the course id, the gradebook) it holds the course's,
declared here as traitlets ``Configurable`` classes, as nbgrader declares its
own: ``c.Grading.*``, ``c.Audit.*``, ``c.Collect.*`` and ``c.Export.*``.  A bad value gets traitlets' own error
(raised as ``CourseError``), and ``nncourse config`` lists every option with
its help and current value.  ``load(root)`` reads the file once per course
folder.

It also holds the few facts every layer needs: where this checkout is, the
environment variables kernels and the audit start with, and how many BLAS
threads a job gets.
"""
import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from traitlets import Bool, Enum, Integer, TraitError, Unicode, validate
from traitlets.config import Configurable

ROOT = Path(__file__).resolve().parent.parent  # this checkout: the course folder unless --course says otherwise
ASSIGNMENT = "nn_layers"  # the one assignment the templates build (course.authoring)
FEEDBACK_WITHHELD = Path("grading") / "feedback-withheld"  # in a course folder: pages the leak scan held back
# CPython 3.11 keeps some state process-wide that threads must not touch at once: warnings.catch_warnings
# swaps the warning filters, and the AST constructor counts its recursion depth globally (two threads
# parsing at once fail with "AST constructor recursion depth mismatch").  Code that may run in the
# grader's threads (the audit, the gradebook writer) holds this lock around either.
PROCESS_LOCK = threading.RLock()
EXCHANGE_ROOT = "/srv/nbgrader/exchange"  # nbgrader_config.py's default; NNCOURSE_EXCHANGE overrides it


class CourseError(Exception):
    """Something about the course folder or its configuration that the instructor has to fix."""


class Grading(Configurable):
    """Defaults of `nncourse autograde` (its flags override them)."""

    jobs = Integer(2, min=1, help="Submissions graded at a time on this machine (--jobs).").tag(config=True)
    cell_timeout = Integer(120, min=1, help="Seconds a cell may run before it is interrupted; also each "
                                            "step of the audit (--cell-timeout).").tag(config=True)
    job_timeout = Integer(600, min=1, help="Seconds one notebook may take, kernel start to last cell, before "
                                           "it is stopped and reported as timed out (--job-timeout).").tag(config=True)


class Audit(Configurable):
    """The out-of-kernel audit and the grade of record."""

    grade_of_record = Enum(("min", "nbgrader", "audit"), default_value="min",
                           help="What a graded cell is worth: the lower of nbgrader's and the audit's score "
                                "(min), or one grader's alone.").tag(config=True)


class Collect(Configurable):
    """`nncourse collect --zip`: caps on an LMS archive, checked before anything is written (a zip bomb stops there)."""

    max_members = Integer(5000, min=1, help="Most members (files and folders) an archive may hold.").tag(config=True)
    max_member_mb = Integer(50, min=1, help="Largest uncompressed size of one file, in MB; a bigger "
                                            "file is skipped and named.").tag(config=True)
    max_total_mb = Integer(1000, min=1, help="Largest uncompressed size of the whole archive, in MB; "
                                             "beyond it nothing is collected.").tag(config=True)


class Export(Configurable):
    """`nncourse export --lms`: the grade the LMS imports."""

    lms_scale = Enum(("points", "percent"), default_value="points",
                     help="The assignment's grade as points of record (out of the assignment's maximum) "
                          "or as a percent of that maximum.").tag(config=True)


class Delivery(Configurable):
    """The exchange on JupyterHub: release, collect, feedback (docs/exchange.md)."""

    publish = Bool(False, help="`nncourse release` also publishes the assignment to nbgrader's exchange "
                               "(as --exchange does).").tag(config=True)
    due_date = Unicode("", help="When the assignment is due: ISO 8601 with its time zone, e.g. "
                                "'2027-03-01T23:59:00+03:00'.  A later submission is marked late and "
                                "penalised as c.LateSubmissionPlugin.penalty_method says; empty: no due "
                                "date.").tag(config=True)
    students_group = Unicode("nn-layers-students", help="Unix group of the students' accounts "
                                                        "(`roster import --create-accounts`).").tag(config=True)

    @validate("due_date")
    def _due_date(self, proposal):
        if proposal.value and due_datetime(proposal.value) is None:
            raise TraitError(f"c.Delivery.due_date = {proposal.value!r}: not an ISO 8601 time with a time zone, "
                             "e.g. '2027-03-01T23:59:00+03:00'")
        return proposal.value


def due_datetime(text):
    """The aware datetime of an ISO 8601 time with a zone, or None."""
    from datetime import datetime

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else None


OPTIONS = (Grading, Audit, Collect, Export, Delivery)


@dataclass(frozen=True)
class Settings:
    """A course folder's settings: nbgrader's course id and gradebook, and the course's own options."""

    root: Path
    course_id: str
    db_url: str
    grading: Grading
    audit: Audit
    collect: Collect
    export: Export
    delivery: Delivery
    exchange_root: str  # nbgrader's c.Exchange.root
    assignment: str = ASSIGNMENT  # the templates build this one assignment (course.authoring)


@functools.lru_cache(maxsize=None)
def nbgrader_config(root=ROOT):
    """The traitlets ``Config`` of ``root/nbgrader_config.py`` (read once per process), for nbgrader's own
    classes run in this process; ``CourseError`` when there is none."""
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise CourseError(f"{root} is not a course folder: it has no nbgrader_config.py")
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


@functools.lru_cache(maxsize=None)
def load(root=ROOT):
    """The settings of the course at ``root`` (read once per process); ``CourseError`` when there is no
    configuration or a value is invalid."""
    from nbgrader.coursedir import CourseDirectory

    root = Path(root).resolve()
    config = nbgrader_config(root)
    try:
        options = {cls.__name__: cls(config=config) for cls in OPTIONS}
        for instance in options.values():  # traitlets validates a config value only when it is read
            for name in instance.trait_names(config=True):
                getattr(instance, name)
    except TraitError as error:
        raise CourseError(f"nbgrader_config.py: {error}") from None
    coursedir = CourseDirectory(config=config, root=str(root))
    return Settings(root, coursedir.course_id, coursedir.db_url, options["Grading"], options["Audit"],
                    options["Collect"], options["Export"], options["Delivery"],
                    config.Exchange.get("root", EXCHANGE_ROOT))


def describe(settings):
    """Every course option with its current value and help, for `nncourse config`."""
    lines = []
    for instance in (settings.grading, settings.audit, settings.collect, settings.export, settings.delivery):
        cls = type(instance)
        lines.append(f"{cls.__name__}: {cls.__doc__.strip()}")
        for name, trait in sorted(instance.traits(config=True).items()):
            values = f" (one of {', '.join(map(str, trait.values))})" if isinstance(trait, Enum) else ""
            lines.append(f"  c.{cls.__name__}.{name} = {getattr(instance, name)!r}{values}\n      {trait.help}")
    return "\n".join(lines)


def blas_threads(jobs):
    """BLAS threads per kernel when ``jobs`` grade side by side: the cores shared out, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def python_settings(threads=None):
    """Variables the kernels and the audit start with: no GUI backend, quiet deprecations, and with
    ``threads``, that many BLAS threads (parallel kernels must not spin against each other)."""
    settings = {"MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    if threads is not None:
        settings.update({name: str(threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                         "MKL_NUM_THREADS")})
    return settings
