"""`nncourse collect --zip`: an LMS's "download all submissions" archive into ``submitted/<student>/<assignment>/``.

The archive is hostile input.  nbgrader's ``zip_collect`` extracts it with ``shutil.unpack_archive``,
which writes every member where its name says; here nothing is ever written under a member's name.
The archive is read in two passes over zipfile's own view of it:

1. *Plan*, from the central directory alone: each member's name is decoded (UTF-8, else cp866 or
   cp1251, the Cyrillic code pages of Windows zip tools), checked (no ``..``, no absolute name, no
   symlink or device, no duplicate, not encrypted, within the caps of ``c.Collect``), matched to the
   LMS's naming with nbgrader's own ``FileNameCollectorPlugin`` (one subclass per LMS), and the
   uploader matched to a student of the roster.  A student's latest upload of a file wins.
2. *Copy*, student by student: the chosen members are read (capped, CRC-checked by zipfile) and
   written by their base name alone through ``course.jail.safefiles`` into a fresh folder, which
   then replaces the student's folder in one rename.

A bad member is skipped and named; it never costs another member, or another student, anything.
Only an archive that cannot be read at all, or that breaks a cap of the whole (member count, total
size), stops the collection, before anything is written.
"""
import logging
import os
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from ..jail import safefiles
from ..settings import CourseError, load
from .roster import STUDENT_ID

log = logging.getLogger(__name__)
# nbgrader's collector warns of every name it cannot parse; `collect` lists those itself (UNMATCHED).
COLLECTOR_LOG = logging.getLogger(__name__ + ".collector")
COLLECTOR_LOG.setLevel(logging.ERROR)
ARCHIVES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz")

MB = 2**20
UTF8_FLAG = 0x800
ENCRYPTED_FLAG = 0x1
SYSTEM_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
SAFE_NAME = re.compile(r"[^\x00-\x1f/\\:*?\"<>|]{1,200}")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
RESUBMISSION = re.compile(r"^(?P<stem>.+?)-(?P<number>\d+)(?P<ext>\.[^.]+)$")


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's collector, for every file: stock ``collect`` drops all but ``valid_ext`` (notebooks),
    and this course keeps the other files beside the notebooks."""

    def collect(self, submitted_file):
        return self._match(submitted_file)


class MoodleCollector(LmsCollector):
    """Moodle's "Download all submissions": ``Full Name_12345_assignsubmission_file_/name`` (in folders)
    or ``Full Name_12345_assignsubmission_file_name`` (flat).  12345 is Moodle's participant number."""

    named_regexp = Unicode(r"^(?P<full_name>[^/]+?)_(?P<student_id>\d+)_assignsubmission_(?:file|onlinetext)_"
                           r"/?(?:.*/)?(?P<file_id>[^/]+)$")

    def order(self, info, found):
        return (info.date_time,)  # Moodle stamps each file with its upload time


class CanvasCollector(LmsCollector):
    """Canvas's "Download Submissions": ``login_[late_]userid_fileid_name``; Canvas adds ``-1``, ``-2``
    to a file submitted again under the same name."""

    named_regexp = Unicode(r"^(?:.*/)?(?P<login>[^_/]+)_(?:(?P<late>[Ll][Aa][Tt][Ee])_)?(?P<student_id>\d+)_"
                           r"(?P<file_number>\d+)_(?P<file_id>[^/]+)$")

    def collect(self, submitted_file):
        found = super().collect(submitted_file)
        if found:
            again = RESUBMISSION.match(found["file_id"])
            found["resubmission"] = int(again["number"]) if again else 0
            if again:
                found["file_id"] = again["stem"] + again["ext"]
        return found

    def order(self, info, found):
        return (found["resubmission"], int(found["file_number"]))  # Canvas numbers files in upload order


COLLECTORS = {"moodle": MoodleCollector, "canvas": CanvasCollector}


@dataclass
class Upload:
    member: zipfile.ZipInfo
    name: str       # the member's decoded name, as the report shows it
    file: str       # the file name it goes under in submitted/
    order: tuple    # later uploads sort higher


@dataclass
class Collected:
    """What `collect` did: per student, the files written; and everything the instructor must see."""
    written: dict = field(default_factory=dict)     # student -> [file names]
    unchanged: list = field(default_factory=list)   # students whose folder already held exactly this
    kept: list = field(default_factory=list)        # students whose different folder was left (no --force)
    problems: list = field(default_factory=list)    # (member or student, what is wrong)
    unmatched: list = field(default_factory=list)   # (member, why no student)
    wrong_names: list = field(default_factory=list)  # (student, file): a notebook the assignment does not have
    packed: list = field(default_factory=list)       # (student, file): an archive, kept as a file, not unpacked


def decoded_name(info):
    """The member's name as its writer meant it: UTF-8 when flagged or valid, else cp866 or cp1251,
    whichever reads as more Cyrillic letters (zipfile decodes unflagged names as cp437)."""
    if info.flag_bits & UTF8_FLAG:
        return info.orig_filename
    raw = info.orig_filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = [raw.decode(codec, errors="replace") for codec in ("cp866", "cp1251")]
    return max(candidates, key=lambda text: len(CYRILLIC.findall(text)) - 2 * text.count("\ufffd"))


def member_problem(info, name):
    """Why a member may not be collected, or None."""
    parts = name.split("/")
    if "\x00" in name:
        return "its name holds a NUL byte"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or name.startswith("\\"):
        return "an absolute name (it would be written outside the course)"
    if ".." in parts:
        return "a name with '..' (zip-slip: it would be written outside its folder)"
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode and stat.S_IFMT(mode) not in (stat.S_IFREG, 0):
        return "a symlink" if stat.S_ISLNK(mode) else "not a regular file"
    if info.flag_bits & ENCRYPTED_FLAG:
        return "encrypted"
    return None


def read_member(archive, info, limit):
    """The member's bytes, at most ``limit``; zipfile checks its CRC at the end."""
    chunks, size = [], 0
    with archive.open(info) as stream:
        while chunk := stream.read(MB):
            size += len(chunk)
            if size > limit:
                raise ValueError(f"more than {limit // MB} MB uncompressed")
            chunks.append(chunk)
    return b"".join(chunks)


class Roster:
    """The students of the gradebook, found by LMS id, course id or full name (either order; ё = е)."""

    def __init__(self, people):
        self.keys, clashes = {}, set()
        for person in people:
            if not STUDENT_ID.fullmatch(person.id):  # not a folder name submitted/ can take
                log.warning("%r is not a course id: no upload is collected for it", person.id)
                continue
            names = {f"{person.first_name} {person.last_name}", f"{person.last_name} {person.first_name}"}
            keys = {("lms", person.lms_id), ("id", person.id)} | {("name", self.norm(n)) for n in names} \
                | {("login", self.squash(n)) for n in names}
            for key in keys:
                if key[1] and self.keys.get(key, person.id) != person.id:
                    clashes.add(key)
                self.keys.setdefault(key, person.id)
        for key in clashes:  # two students answer to it: it names neither
            del self.keys[key]

    @staticmethod
    def norm(name):
        return " ".join(name.casefold().replace("ё", "е").split())

    @staticmethod
    def squash(name):
        return re.sub(r"\W|_", "", Roster.norm(name))

    def find(self, found):
        """The course id of the uploader named by a collector's match, or None."""
        # A full name first: Moodle's number is its participant number, not the roster's ID number.
        tries = [("name", self.norm(found.get("full_name") or "")), ("lms", found.get("student_id", "")),
                 ("id", found.get("login") or ""), ("login", self.squash(found.get("login") or ""))]
        return next((self.keys[key] for key in tries if key[1] and key in self.keys), None)


def plan(archive, lms, roster, settings, done):
    """{student: {file: Upload}} from the central directory; problems go into ``done``."""
    infos = archive.infolist()
    caps = settings.collect
    if len(infos) > caps.max_members:
        raise CourseError(f"the archive holds {len(infos)} members, more than c.Collect.max_members = "
                          f"{caps.max_members}: nothing was collected")
    total = sum(info.file_size for info in infos)
    if total > caps.max_total_mb * MB:
        raise CourseError(f"the archive unpacks to {total // MB} MB, more than c.Collect.max_total_mb = "
                          f"{caps.max_total_mb}: nothing was collected (a zip bomb?)")
    collector = COLLECTORS[lms]()
    collector.log = COLLECTOR_LOG
    names = [decoded_name(info).replace("\\", "/") for info in infos]
    counts = {}
    for name in names:
        key = re.sub(r"/+", "/", name.removeprefix("./"))
        counts[key] = counts.get(key, 0) + 1
    chosen = {}
    for info, name in zip(infos, names):
        if info.is_dir() or name.endswith("/") or SYSTEM_JUNK.search(name):
            continue
        problem = member_problem(info, name)
        if problem is None and counts[re.sub(r"/+", "/", name.removeprefix("./"))] > 1:
            problem = "a duplicate member: the archive holds this name more than once, and no copy is taken"
        if problem is None and info.file_size > caps.max_member_mb * MB:
            problem = f"{info.file_size // MB} MB uncompressed, more than c.Collect.max_member_mb = {caps.max_member_mb}"
        if problem:
            done.problems.append((name, problem))
            continue
        found = collector.collect(name)
        if not found:
            done.unmatched.append((name, f"not named as {lms.capitalize()} names submissions"))
            continue
        student = roster.find(found)
        if student is None:
            who = found.get("full_name") or found.get("login")
            done.unmatched.append((name, f"no student of the roster is {who!r} (LMS id {found['student_id']})"))
            continue
        file = found["file_id"]
        if not SAFE_NAME.fullmatch(file) or file.startswith("."):
            done.problems.append((name, f"the file name {file!r} cannot be a file in submitted/"))
            continue
        upload = Upload(info, name, file, collector.order(info, found))
        current = chosen.setdefault(student, {}).get(file)
        if current is None or upload.order > current.order:
            chosen[student][file] = upload
            if current:
                log.info("%s: %s supersedes the earlier upload %s", student, name, current.name)
    return chosen


def replace_folder(parent, assignment, files, force):
    """Write ``files`` ({name: bytes}) as ``parent/<assignment>``; "written", "unchanged" or "kept"."""
    target = parent / assignment
    parent.mkdir(parents=True, exist_ok=True)
    fd = safefiles.open_dir(parent)
    try:
        if os.path.lexists(target):
            try:
                old = safefiles.read_tree(target, max_files=10_000, max_file=2**40, max_total=2**40)
            except safefiles.Refused:
                old = None
            if old == files:
                return "unchanged"
            if not force:
                return "kept"
        fresh = f".{assignment}.collect-{os.getpid()}"
        shutil.rmtree(parent / fresh, ignore_errors=True)
        os.mkdir(fresh, 0o755, dir_fd=fd)
        safefiles.write_tree(parent / fresh, files)
        if os.path.lexists(target):
            stale = f".{assignment}.old-{os.getpid()}"
            os.rename(assignment, stale, src_dir_fd=fd, dst_dir_fd=fd)
            if (parent / stale).is_symlink():
                os.unlink(parent / stale)
            else:
                shutil.rmtree(parent / stale)
        os.rename(fresh, assignment, src_dir_fd=fd, dst_dir_fd=fd)
        return "written"
    finally:
        os.close(fd)


def released_notebooks(course):
    settings = load(course)
    return {p.name for p in (Path(course) / "release" / settings.assignment).glob("*.ipynb")}


def collect_zip(course, archive_path, lms, people, force=False):
    """Collect the LMS archive into ``course``'s ``submitted/``; a ``Collected`` report."""
    course = Path(course)
    settings = load(course)
    if lms not in COLLECTORS:
        raise CourseError(f"unknown LMS {lms!r} (one of {', '.join(COLLECTORS)})")
    if not people:
        raise CourseError("the gradebook knows no students: pass --roster roster.csv (nncourse roster import)")
    notebooks = released_notebooks(course)
    if not notebooks:
        raise CourseError(f"no release/{settings.assignment}: run `nncourse release` first")
    done = Collected()
    try:
        archive = zipfile.ZipFile(archive_path)
    except FileNotFoundError:
        raise CourseError(f"{archive_path}: no such file") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise CourseError(f"{archive_path} is not a readable zip archive ({error}): it is damaged or truncated; "
                          "download it again. Nothing was collected.") from None
    with archive:
        chosen = plan(archive, lms, Roster(people), settings, done)
        submitted = course / "submitted"
        for student, uploads in sorted(chosen.items()):
            files = {}
            for file, upload in sorted(uploads.items()):
                try:
                    files[file] = read_member(archive, upload.member, settings.collect.max_member_mb * MB)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as error:
                    done.problems.append((upload.name, f"cannot be read ({error}): {student} lacks {file}"))
                    continue
                if file.endswith(".ipynb") and file not in notebooks:
                    done.wrong_names.append((student, file))
                elif file.lower().endswith(ARCHIVES):
                    done.packed.append((student, file))
            if not files:
                continue
            try:
                outcome = replace_folder(submitted / student, settings.assignment, files, force)
            except (safefiles.Refused, OSError) as error:
                done.problems.append((f"submitted/{student}", f"not written: {error}"))
                continue
            if outcome == "written":
                done.written[student] = sorted(files)
            else:
                (done.unchanged if outcome == "unchanged" else done.kept).append(student)
    return done
