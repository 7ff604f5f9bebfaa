"""nbgrader configuration of the course (run nbgrader from this folder)."""
import os
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, ClearHiddenTests, ClearOutput,
                                    DeduplicateIds, GetGrades, IgnorePattern, LimitOutput, OverwriteKernelspec,
                                    SaveAutoGrades)

from course.grading.plugins import (CompiledCheckCellMetadata, ExecuteSkippingDemos, RobustOverwriteCells,
                                    StderrIsNotAFailure, error_reply_is_an_error)
from course.reporting.plugins import HideTestInternals, RedactHiddenTests

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "nn-layers"
# Never copy a student's file that could shadow the reference package, nor a database.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "solutions", "solutions.*", "*.db", "*.sqlite"]

c.ClearSolutions.code_stub = {"python": "# ВАШ КОД ЗДЕСЬ\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ВАШ ОТВЕТ ЗДЕСЬ"

# Per-cell limits: the slowest cell, training on digits, takes a few seconds.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# Student code runs in a jail: no gradebook, source/ or network (course/jail/).
c.Execute.kernel_manager_class = "course.jail.kernel.SandboxedKernelManager"
# A failed cell scores 0 even if student code hid its traceback.
c.Execute.on_cell_error = error_reply_is_an_error
# A grading kernel is thrown away after its notebook: kill it rather than wait for a polite exit.
c.Execute.shutdown_kernel = "immediate"
# IPython's default tracebacks read and colour the source around every frame: a notebook of
# unfinished stubs spent most of its grading time formatting them.  Plain ones say the same.
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Plain"]

# A student who deleted a graded cell gets it back, so it still runs and scores.
c.OverwriteCells.add_missing_cells = True

c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RobustOverwriteCells,  # stock OverwriteCells crashes on a deleted or renamed graded cell
    CompiledCheckCellMetadata,  # CheckCellMetadata, the schema compiled once rather than per cell
]

c.Autograde.autograde_preprocessors = [
    ExecuteSkippingDemos,  # Execute, but demonstration cells (no points) are not run
    StderrIsNotAFailure,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CompiledCheckCellMetadata,
]

c.GenerateFeedback.preprocessors = [
    GetGrades,
    RedactHiddenTests,  # hidden-test lines printed by student code, before the cells lose them
    ClearHiddenTests,
    HideTestInternals,
    CSSHTMLHeaderPreprocessor,
]

# A graded cell is worth what both graders agree on: nbgrader in the student's kernel and the
# out-of-kernel audit (run by `nncourse autograde` and `nncourse audit`), which no student code
# can reach.  "min" (the default) takes the lower score; "nbgrader" or "audit" takes that one.
# Every difference is flagged with both numbers.  (course/grading/record.py)
c.Audit.grade_of_record = "min"

# nbgrader's exchange on JupyterHub (docs/exchange.md): stock classes, hardened.  The instructor's side
# (`sudo nncourse release --exchange`, `collect`, `feedback --release`) runs as root; the students'
# configuration needs only the root, the course id and c.ExchangeFactory.submit = "nncourse_exchange.PrivateSubmit"
# (course/lab/student/nncourse_exchange.py, self-contained; `nncourse hub` deploys both).
c.Exchange.root = os.environ.get("NNCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
c.ExchangeFactory.release_assignment = "course.delivery.exchange.HardenedRelease"
c.ExchangeFactory.collect = "course.delivery.exchange.SafeCollect"
c.ExchangeFactory.release_feedback = "course.delivery.exchange.PrivateFeedback"
c.SafeCollect.max_files = 300  # a submission with more files, or more MiB, is refused with a message
c.SafeCollect.max_megabytes = 50
# The due date (ISO 8601 with its zone; "" = none): a later submission is marked late, and
# nbgrader's late-submission plugin decides what it costs ("none" or "zero").
c.Delivery.due_date = ""
c.LateSubmissionPlugin.penalty_method = "none"
c.Delivery.publish = False  # True: `nncourse release` also publishes to the exchange
