"""nbgrader's file exchange, hardened: four subclasses of its own exchange classes (docs/exchange.md).

Stock nbgrader makes the exchange root and each submission folder world-writable (0777) and every
submitted file world-readable, so a student who learns a folder's name can read, change, rename or
delete another's work; its collect only warns when a submission is not owned by the student it names,
and follows symlinks.  Here:

* ``HardenedRelease`` (instructor, as root): the exchange root and the course's inbound get the sticky
  bit, so nobody renames or deletes what they do not own; the release stays root's, read-only.
* ``PrivateSubmit`` (students): the submission folder is the student's alone (0700, files 0600).  It lives
  in ``course/lab/student/nncourse_exchange.py``, self-contained, so that students need no course code.
* ``SafeCollect`` (instructor, as root): a submission is taken only from a folder owned by the student
  it names, read through ``course.jail.safefiles`` (no symlink, hard link or special file followed; a
  cap on files and bytes refuses it with a reason), its time read from the file system (the latest
  ctime in it, which no student can set back), and swapped into ``submitted/`` whole.
* ``PrivateFeedback`` (instructor, as root): each page is given to its student (owner, mode 0400)
  under nbgrader's own name for it, so stock fetch_feedback finds it and nobody else can read it.

The collect and the feedback import the course's file helpers when they run.  Configure with
``c.ExchangeFactory.*`` (nbgrader_config.py).
"""
import datetime
import fnmatch
import glob
import os
import pwd
import re
import shutil
import stat

from nbgrader.exchange.default import ExchangeCollect, ExchangeReleaseAssignment, ExchangeReleaseFeedback
from nbgrader.utils import notebook_hash
from traitlets import Integer

STICKY_ROOT = 0o1777   # everyone may create (stock checks the root is writable), nobody removes another's
STICKY_INBOUND = 0o3733  # write+search only: no listing; sticky: no renaming or deleting another's folder
USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")  # a Unix account name (course.delivery.roster's course id)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's own timestamp.txt format


class HardenedRelease(ExchangeReleaseAssignment):
    def ensure_root(self):
        if not os.path.isdir(self.root):
            os.makedirs(self.root)
        os.chmod(self.root, STICKY_ROOT)

    def init_dest(self):
        super().init_dest()
        os.chmod(self.inbound_path, STICKY_INBOUND)


def owner_uid(student):
    """The uid of ``student``'s account, or None."""
    if not USER.fullmatch(student or ""):
        return None
    try:
        return pwd.getpwnam(student).pw_uid
    except KeyError:
        return None


class SafeCollect(ExchangeCollect):
    max_files = Integer(300, help="Files one submission may hold; more and it is refused.").tag(config=True)
    max_megabytes = Integer(50, help="MiB one submission may hold in all; more and it is refused.").tag(config=True)

    def _owned(self, record):
        """Is the record's folder a real folder owned by the student its name claims?"""
        try:
            info = os.lstat(os.path.join(self.inbound_path, record["filename"]))
        except OSError:
            return False
        return stat.S_ISDIR(info.st_mode) and info.st_uid == owner_uid(record["username"])

    def _sort_by_timestamp(self, records):
        # a student's own folders first: one planted under their name never hides their latest
        for record in records:
            if not self._owned(record):
                self.log.warning("IGNORED %s: %s is not a folder of theirs (planted under their name?)",
                                 record["username"], record["filename"])
        return sorted(records, key=lambda r: (self._owned(r), r["timestamp"]), reverse=True)

    def copy_files(self):
        if not self.src_records:
            self.log.warning("No submissions of %r to collect", self.coursedir.assignment_id)
        for record in self.src_records:
            student = record["username"]
            try:
                verb, when = self._collect(record)
            except Exception as refusal:  # one student's folder never stops the others
                self.log.warning("REFUSED %s: %s", student, refusal)
            else:
                self.log.info("%s %s: %s", verb, student, when)

    def _collect(self, record):
        from course.jail.safefiles import Refused, read_file, read_tree, write_tree

        if not self._owned(record):
            raise Refused(f"no folder of theirs in the inbound, only {record['filename']} (not collected)")
        student, source = record["username"], os.path.join(self.inbound_path, record["filename"])
        limit = self.max_megabytes * 2**20
        try:
            files = read_tree(source, max_files=self.max_files, max_file=limit, max_total=limit,
                              skip=self._ignored)
        except RecursionError:
            raise Refused("folders nested too deep") from None
        except Refused as refusal:
            raise Refused(f"{refusal} (the limits are c.SafeCollect.max_files = {self.max_files} and "
                          f"c.SafeCollect.max_megabytes = {self.max_megabytes})") from None
        when = self._submitted_at(source, list(files))
        files["timestamp.txt"] = when.strftime(TIME_FORMAT).encode()
        dest = self.coursedir.format_path(self.coursedir.submitted_directory, student, self.coursedir.assignment_id)
        stamp = os.path.join(dest, "timestamp.txt")
        if os.path.isfile(stamp) and read_file(stamp, limit=256) == files["timestamp.txt"]:
            return "UNCHANGED", when.strftime(TIME_FORMAT)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fresh, old = dest + ".collecting", dest + ".replaced"
        for leftover in (fresh, old):  # an interrupted run's
            shutil.rmtree(leftover, ignore_errors=True)
        os.mkdir(fresh, 0o755)
        write_tree(fresh, files)
        if os.path.isdir(dest):
            os.rename(dest, old)
        os.rename(fresh, dest)
        shutil.rmtree(old, ignore_errors=True)
        return "COLLECTED", when.strftime(TIME_FORMAT)

    def _ignored(self, relative):
        name = relative.rsplit("/", 1)[-1]
        return name == "timestamp.txt" or any(fnmatch.fnmatch(name, p) for p in self.coursedir.ignore)

    @staticmethod
    def _submitted_at(folder, names):
        """The latest ctime of ``folder`` and of the files ``names`` in it and their folders: a student can
        set a file's mtime back, never its ctime (and only what was read is walked, so the caps hold)."""
        paths = {""} | {"/".join(name.split("/")[:depth]) for name in names for depth in range(1, name.count("/") + 2)}
        latest = max(os.lstat(os.path.join(folder, p)).st_ctime for p in paths)
        return datetime.datetime.fromtimestamp(latest, datetime.timezone.utc)


class PrivateFeedback(ExchangeReleaseFeedback):
    def copy_files(self):
        from course.jail.safefiles import open_dir

        exclude = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        pages = os.path.join(self.coursedir.format_path(self.coursedir.feedback_directory,
                                                        self.coursedir.student_id or "*",
                                                        self.coursedir.assignment_id), "*.html")
        students = sorted({p.split(os.sep)[-3] for p in glob.glob(pages)} - exclude)
        dest = open_dir(self.dest_path)
        try:
            for student in students:
                try:
                    done = self._release(student, dest)
                except Exception as refusal:
                    self.log.warning("REFUSED %s: %s", student, refusal)
                else:
                    self.log.info("RELEASED %s: %d pages", student, done)
        finally:
            os.close(dest)

    def _release(self, student, dest):
        from course.jail.safefiles import Refused, read_file, write_file

        uid = owner_uid(student)
        if uid is None:
            raise Refused(f"no account {student!r} on this machine: nobody could fetch the feedback")
        submitted = self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                               self.coursedir.assignment_id)
        try:
            secret = read_file(os.path.join(submitted, "submission_secret.txt"), limit=4096).decode()
        except FileNotFoundError:
            raise Refused("no submission_secret.txt in the submission (not collected from the exchange)") from None
        folder = self.coursedir.format_path(self.coursedir.feedback_directory, student, self.coursedir.assignment_id)
        pages = sorted(n for n in os.listdir(folder) if n.endswith(".html"))
        for name in pages:
            target = f"{notebook_hash(secret=secret, notebook_id=name[:-5])}.html"
            try:
                holder = os.stat(target, dir_fd=dest, follow_symlinks=False).st_uid
            except FileNotFoundError:
                holder = uid
            if holder != uid:  # a secret copied from another student's submission
                raise Refused(f"{target} already belongs to uid {holder}")
            write_file(dest, target, read_file(os.path.join(folder, name)), mode=0o400, owner=uid)
        return len(pages)
