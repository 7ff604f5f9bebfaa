"""The grading child: nbgrader's own Autograde converter on one submission, in a scratch course.

It runs in a process forked from the station's job zygote (course.grading.station,
course.jail.zygote), where nbgrader is already imported, so a job starts in
milliseconds.  A whole submission is graded by one converter run (nbgrader's
own loop, set up once); notebooks left after a failure are graded one at a time
(``--notebook`` each), so a notebook that fails then removes only its own
output.  It reports progress (``start``/``done``/``failed`` lines, with the
time) to a file the supervisor reads: a notebook that overruns its budget is the
one killed and reported.  Nothing here is run in the kernel.
"""
import os
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

# Imported here, in the forkserver, once for every job it forks.
from nbgrader.apps.autogradeapp import AutogradeApp
from nbgrader.apps.generatefeedbackapp import GenerateFeedbackApp
from nbgrader.converters import Autograde
from nbgrader.converters.base import NbGraderException

from ..jail.kernel import NOTEBOOK_ENV, REPORTS_ENV, SLOT_ENV, SOCKETS_ENV
from ..jail.zygote import ENV as ZYGOTE_ENV
from ..authoring.apps import grading_env
from . import profiling
from .station import RELEASE_ENV

_mark = ""  # the job's marker: a log line "<mark> <notebook>" starts a notebook's part of the log


def _warm_up():
    """Build, once in the zygote, the schema validators every job would otherwise build for itself:
    nbformat's (0.14 s per job in benchmarks/profile_submission.py) and nbgrader's cell-metadata
    schema (course.grading.plugins.CompiledCheckCellMetadata)."""
    import nbformat
    from nbgrader.nbgraderformat import MetadataValidator

    from .plugins import compiled_schema

    for relaxed in (False, True):
        nbformat.validator.get_validator(4, nbformat.v4.nbformat_minor, relax_add_props=relaxed)
    validator = MetadataValidator()
    compiled_schema(validator.schema_version, validator.schema)
    _warm_up_pages(nbformat)


def _warm_up_pages(nbformat):
    """Render the release's pages once (course.grading.pages.warm), so that every job finds the cells all
    submissions share highlighted, the feedback template compiled, and what nbconvert loads on first use
    (the Python lexer, which Pygments finds by scanning its plugins, the markdown renderer, the HTML
    parser) loaded.  Without a release (the station's course has none yet), one tiny page does the
    loading."""
    from .pages import feedback_exporter, render_as_feedback, warm

    release = os.environ.get(RELEASE_ENV, "")
    if release and Path(release).is_dir():
        try:
            warm(release)
            return
        except Exception:  # noqa: BLE001 -- only a cache: grading goes on, and the zygote's log says why
            print(f"the release's pages could not be rendered ahead (jobs highlight every cell themselves):\n"
                  f"{traceback.format_exc()}", file=sys.stderr)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# $x$ *a*"),
                                               nbformat.v4.new_code_cell("import numpy as np")])
    render_as_feedback(feedback_exporter(), notebook, "warm-up")


_warm_up()


def _isolate(scratch, memory, file_size):
    # The zygote made this process a group leader that dies with it (and it with the station).
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    log = os.open(scratch / "nbgrader.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


def _begin(progress, notebook):
    progress.write(f"start {notebook} {time.monotonic()}\n")
    print(f"{_mark} {notebook}", flush=True)
    os.environ[NOTEBOOK_ENV] = notebook  # the kernel manager records its jail's verdict for this notebook
    profiling.notebook(notebook)


def _whole(app, progress):
    """The whole submission in one converter run (nbgrader's own loop, set up once).  On a failure
    nbgrader removes the whole autograded folder: "failed-whole" tells the supervisor so."""
    convert = Autograde.convert_single_notebook

    def reporting(self, filename):
        notebook = Path(filename).stem
        _begin(progress, notebook)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = convert(self, filename)
        profiling.span("nbgrader: one notebook, all", started, cpu_started)
        progress.write(f"done {notebook} {time.monotonic()}\n")
        return result

    Autograde.convert_single_notebook = reporting
    app.coursedir.notebook_id = "*"
    try:
        Autograde(coursedir=app.coursedir, parent=app).start()
    except NbGraderException:
        progress.write(f"failed-whole * {time.monotonic()}\n")


def run_request(request, fds):
    """The job zygote's entry (course.jail.zygote): one request of ``course.grading.job``, to grade or to
    write the feedback."""
    if request.get("feedback"):
        feedback(Path(request["scratch"]), request["student"], request["job"])
    run(Path(request["scratch"]), request["student"], request["notebooks"], request["job"])


def feedback(scratch, student, job):
    """nbgrader's own GenerateFeedback on the graded notebooks of ``scratch`` (its gradebook holds the grades
    of record by now), as `nbgrader generate_feedback` would write them; never returns."""

    def write_pages():
        started, cpu_started = time.perf_counter(), time.process_time()
        app = GenerateFeedbackApp.instance()
        # "*": nothing but the notebooks' pages, as course.reporting.feedback asks of nbgrader too
        app.initialize([job["assignment"], "--student", student, "--force", "--CourseDirectory.ignore=['*']",
                        f"--CourseDirectory.db_url=sqlite:///{scratch / 'gradebook.db'}",
                        # nbconvert's HTMLExporter, faster, to the byte (tests/test_pages.py)
                        "--GenerateFeedback.exporter_class=course.grading.pages.FeedbackExporter"])
        app.start()
        profiling.span("feedback: nbgrader's pages", started, cpu_started)

    _as_a_job(scratch, job, {}, write_pages)


def run(scratch, student, notebooks, job):
    """Grade ``notebooks`` of ``student`` in ``scratch``; never returns (exit status 0 unless nbgrader broke)."""
    global _mark
    _mark = job["mark"]
    env = {SLOT_ENV: str(job["slot"]),  # parallel jails run under different UIDs
           SOCKETS_ENV: job["sockets"], REPORTS_ENV: str(scratch / "jails.jsonl"),
           **({ZYGOTE_ENV: job["zygote"]} if job.get("zygote") else {})}

    def grade():
        if job.get("profile"):
            profiling.install()
        started, cpu_started = time.perf_counter(), time.process_time()
        app = AutogradeApp.instance()
        # The job's own SQLite gradebook, whatever database the course uses (e.g. PostgreSQL).
        app.initialize([job["assignment"], "--student", student, "--force", f"--Execute.timeout={job['cell_timeout']}",
                        f"--CourseDirectory.db_url=sqlite:///{scratch / 'gradebook.db'}"])
        app.coursedir.assignment_id = job["assignment"]
        profiling.span("nbgrader: set-up", started, cpu_started)
        with open(scratch / "progress", "a", buffering=1) as progress:
            if job.get("whole"):
                _whole(app, progress)
            else:
                _one_by_one(app, progress, notebooks)

    _as_a_job(scratch, job, env, grade)


def _one_by_one(app, progress, notebooks):
    for notebook in notebooks:
        _begin(progress, notebook)
        app.coursedir.notebook_id = notebook
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            Autograde(coursedir=app.coursedir, parent=app).start()
            outcome = "done"
        except NbGraderException:
            outcome = "failed"
        profiling.span("nbgrader: one notebook, all", started, cpu_started)
        progress.write(f"{outcome} {notebook} {time.monotonic()}\n")


def _as_a_job(scratch, job, env, work):
    """Run ``work()`` as a fresh nbgrader process would, in ``scratch``, with the job's limits and the
    grading environment plus ``env``; never returns (exit status 0 unless it raised)."""
    code = 1
    try:
        _isolate(scratch, job["memory"], job["file_size"])
        os.chdir(scratch)
        warnings.resetwarnings()  # behave like a fresh nbgrader process
        environment = {**grading_env(scratch / ".home", job["blas_threads"]), **env}  # from this environment
        os.environ.clear()
        os.environ.update(environment)
        work()
        if job.get("profile"):
            profiling.dump(job["profile"])
        code = 0
    except BaseException:  # noqa: BLE001 -- the log says why; the supervisor reads it
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
