"""The roster: who is in the course, read from a CSV and kept in nbgrader's gradebook.

``roster.csv`` has a header row and one row per student:

    id,first_name,last_name,email,lms_id
    ivanova,Анна,Иванова,anna@example.org,12345

``id`` is the student's course id (their login on the course's JupyterHub, their folder under
``submitted/``): lowercase letters, digits, ``_`` and ``-``, starting with a letter or ``_``, at most
32 characters, as a Unix account name must be.  ``lms_id`` (optional) is their id in the LMS (Moodle's
"ID number"; Canvas's user id, the number in its submission downloads and the ``ID`` column of its
gradebook, docs/lms.md); it goes into nbgrader's ``lms_user_id``.  Any other column is
kept out.  A bad row is an error that names its line; nothing is imported then.

``import_roster`` adds the students with nbgrader's own API (``Gradebook.update_or_create_student``);
importing the same file again changes nothing.  ``create_accounts`` (``--create-accounts``, as root) gives
each a Unix account in the students' group, marked as nncourse's in its GECOS field: an account it did
not create is never touched.
"""
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..settings import CourseError

COLUMNS = ("id", "first_name", "last_name", "email")
OPTIONAL = ("lms_id",)
STUDENT_ID = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Person:
    id: str
    first_name: str
    last_name: str
    email: str
    lms_id: str = ""

    def gradebook_fields(self):
        """What nbgrader's Student keeps, under its own names."""
        return {"first_name": self.first_name, "last_name": self.last_name, "email": self.email,
                "lms_user_id": self.lms_id or None}


@dataclass(frozen=True)
class Imported:
    added: tuple
    updated: tuple
    unchanged: tuple


def parse_roster(text, name="roster.csv"):
    """[Person] from the CSV ``text``; ``CourseError`` naming the line of the first bad row."""
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (rows.fieldnames or [])]
    if missing:
        raise CourseError(f"{name}: the header lacks {', '.join(missing)} (needs {', '.join(COLUMNS + OPTIONAL)})")
    people, seen = [], {}
    for line, row in enumerate(rows, start=2):
        values = {key: (row.get(key) or "").strip() for key in COLUMNS + OPTIONAL}
        if not any(values.values()):
            continue  # a blank line
        if not STUDENT_ID.fullmatch(values["id"]):
            raise CourseError(f"{name}:{line}: id {values['id']!r} is not a course id (lowercase letters, digits, "
                              "_ and -, starting with a letter or _, at most 32)")
        if values["id"] in seen:
            raise CourseError(f"{name}:{line}: id {values['id']!r} again (first on line {seen[values['id']]})")
        if values["email"] and not EMAIL.fullmatch(values["email"]):
            raise CourseError(f"{name}:{line}: {values['email']!r} is not an email address")
        seen[values["id"]] = line
        people.append(Person(**values))
    return people


def read_roster(path):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CourseError(f"{path}: not UTF-8 (save the roster as CSV UTF-8)") from None
    except OSError as error:
        raise CourseError(f"{path}: {error.strerror}") from None
    return parse_roster(text, path.name)


def import_roster(course, people):
    """Add or update ``people`` in the course's gradebook; what changed (student ids)."""
    from nbgrader.api import MissingEntry

    from ..grading.gradebook import open_gradebook

    added, updated, unchanged = [], [], []
    with open_gradebook(course) as gb:
        for person in people:
            fields = person.gradebook_fields()
            try:
                student = gb.find_student(person.id)
            except MissingEntry:
                added.append(person.id)
            else:
                now = {key: getattr(student, key) for key in fields}
                (unchanged if now == fields else updated).append(person.id)
            gb.update_or_create_student(person.id, **fields)
    return Imported(tuple(added), tuple(updated), tuple(unchanged))


def roster_of(course):
    """[Person] as the gradebook has them now."""
    from ..grading.gradebook import open_gradebook

    with open_gradebook(course) as gb:
        return [Person(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
                for s in gb.students]


MARK = "nncourse"  # the last GECOS field of an account this tool created: the only accounts it touches


def _account(student):
    import pwd

    try:
        return pwd.getpwnam(student)
    except KeyError:
        return None


def create_accounts(people, group):
    """A system account (home folder, member of ``group``) for each of ``people`` who has none; as root.
    An existing account that this tool did not create stops it before anything changes.  Returns the
    ids of the accounts created."""
    import grp
    import os
    import subprocess

    if os.geteuid() != 0:
        raise CourseError("--create-accounts: only root can create accounts (run it with sudo)")
    foreign = [p.id for p in people if (a := _account(p.id)) and a.pw_gecos.rsplit(",", 1)[-1] != MARK]
    if foreign:
        raise CourseError(f"--create-accounts: {', '.join(foreign)} already exist and were not created by "
                          "nncourse; nothing was changed (rename them in the roster, or remove the accounts)")
    try:
        grp.getgrnam(group)
    except KeyError:
        subprocess.run(["groupadd", group], check=True, capture_output=True)
    created = []
    for person in people:
        if _account(person.id):
            continue
        name = re.sub(r"[,:=\n]", " ", f"{person.first_name} {person.last_name}").strip()
        done = subprocess.run(["useradd", "--create-home", "--user-group", "--groups", group, "--shell",
                               "/bin/bash", "--comment", f"{name},,,,{MARK}", person.id], capture_output=True, text=True)
        if done.returncode:
            raise CourseError(f"useradd {person.id}: {done.stderr.strip()} (created so far: {', '.join(created) or 'none'})")
        created.append(person.id)
    return created
