"""The loop with real students, through nbgrader's own apps and the hardened exchange (course.delivery.exchange):
publish the release, collect the submissions into ``submitted/``, release the feedback.

Each step is idempotent and resumable: publishing again replaces the release, collecting again takes
only what changed (a folder is swapped in whole), releasing again rewrites the same pages.  The
instructor runs them as root (docs/exchange.md says why).  nbgrader's apps log one line per student
(``COLLECTED``, ``UNCHANGED``, ``REFUSED``, ``RELEASED``), read back here.
"""
import datetime
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..authoring.apps import nbgrader
from ..grading.results import forget
from ..settings import CourseError, due_datetime, load

LINE = re.compile(r"\b(COLLECTED|UNCHANGED|REFUSED|IGNORED|RELEASED) ([a-z_][a-z0-9_-]*): (.*)$")


@dataclass
class Outcome:
    """Per student: what nbgrader's app did (verb -> {student: detail}), and who submitted late (seconds)."""
    done: dict = field(default_factory=dict)
    late: dict = field(default_factory=dict)

    def of(self, verb):
        return self.done.get(verb, {})


def _read(log):
    outcome = Outcome()
    for line in log.splitlines():
        found = LINE.search(line)
        if found:
            outcome.done.setdefault(found[1], {})[found[2]] = found[3].strip()
    return outcome


def _check_root():
    if os.geteuid() != 0:
        raise CourseError("the exchange steps run as root (sudo): only root can read the students' private "
                          "submissions and give each student their feedback alone (docs/exchange.md)")


def due_date(course):
    """c.Delivery.due_date into the gradebook, as nbgrader's due date (naive UTC); returns it, or None."""
    from ..grading.gradebook import set_due_date

    text = load(course).delivery.due_date
    when = due_datetime(text).astimezone(datetime.timezone.utc).replace(tzinfo=None) if text else None
    set_due_date(course, when)
    return when


def publish(course):
    """``nbgrader release_assignment`` (again: replaced); the exchange folder it published to."""
    _check_root()
    settings = load(course)
    due_date(course)
    nbgrader(course, "release_assignment", settings.assignment, "--force")
    return Path(settings.exchange_root) / settings.course_id / "outbound" / settings.assignment


def collect(course):
    """``nbgrader collect``: each student's latest submission into submitted/<student>/<assignment>/; a
    student with a new one loses their old status records, so that `nncourse autograde` grades it."""
    from nbgrader.utils import parse_utc

    _check_root()
    settings = load(course)
    published = Path(settings.exchange_root) / settings.course_id / "outbound" / settings.assignment
    if not published.is_dir():
        raise CourseError(f"nothing to collect: {settings.assignment} is not published in the exchange "
                          f"({published}); run `sudo nncourse release --exchange` first, or collect an LMS's "
                          "archive with --zip")
    due = due_date(course)
    result = _read(nbgrader(course, "collect", settings.assignment).stderr)
    for student in result.of("COLLECTED"):  # a new submission: the old results no longer hold
        forget(course, student)
    if due is not None:
        for student in {**result.of("COLLECTED"), **result.of("UNCHANGED")}:
            stamp = Path(course) / "submitted" / student / settings.assignment / "timestamp.txt"
            seconds = (parse_utc(stamp.read_text()).replace(tzinfo=None) - due).total_seconds()
            if seconds > 0:
                result.late[student] = seconds
    return result


def release_feedback(course, students=None):
    """``nbgrader release_feedback``: each feedback page in feedback/ to its student alone."""
    _check_root()
    settings = load(course)
    only = [f"--CourseDirectory.student_id={students[0]}"] if students and len(students) == 1 else []
    if students and len(students) > 1:
        graded = {p.parent.name for p in (Path(course) / "feedback").glob(f"*/{settings.assignment}")}
        only = [f"--CourseDirectory.student_id_exclude={','.join(sorted(graded - set(students)))}"]
    return _read(nbgrader(course, "release_feedback", settings.assignment, *only).stderr)
