"""nbgrader's exchange, hardened (course.delivery.exchange), as the real Unix users (docs/exchange.md).

As root, the module creates four throwaway student accounts with `nncourse roster import --create-accounts`
(deleted in a finalizer, even when a test fails), publishes the release to an exchange in a temporary
folder, and lets the students act through nbgrader's own apps as themselves (setpriv): fetch, submit,
and every attack the properties rule out.  The instructor's steps are the `nncourse` commands.
"""
import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course import cli
from course.authoring.apps import STUDENT_SIDE
from course.delivery.loop import publish
from students import RELU_ANSWER

ASSIGNMENT, COURSE_ID = "nn_layers", "nn-layers"
NEEDS_ROOT = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("useradd"),
                                reason="needs root, setpriv and useradd (real accounts)")
pytestmark = [NEEDS_ROOT]

# What a student's JupyterLab needs to use the exchange (besides the Validate configuration).
STUDENT_CONFIG = """c = get_config()
c.Exchange.root = {root!r}
c.CourseDirectory.course_id = "nn-layers"
c.ExchangeFactory.submit = "nncourse_exchange.PrivateSubmit"
"""


class Student:
    def __init__(self, name, exchange):
        self.name, self.exchange = name, exchange
        account = pwd.getpwnam(name)
        self.uid, self.gid, self.home = account.pw_uid, account.pw_gid, Path(account.pw_dir)
        self.run("sh", "-c", f"cat > nbgrader_config.py <<'EOF'\n{STUDENT_CONFIG.format(root=str(exchange))}EOF")

    def run(self, *cmd, check=True):
        """``cmd`` as this student: their uid, gid and groups, their HOME, in their home folder."""
        env = {"HOME": str(self.home), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
               "PYTHONPATH": str(STUDENT_SIDE)}  # the students' side of the exchange, as `nncourse hub` deploys it
        done = subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", *cmd],
                              cwd=self.home, env=env, capture_output=True, text=True, timeout=120)
        if check and done.returncode:
            raise AssertionError(f"{self.name}: {cmd} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def nbgrader(self, *args, check=True):
        return self.run(sys.executable, "-m", "nbgrader", *args, check=check)

    def may(self, script):
        """Does a Python ``script`` run as this student succeed (no OSError)?"""
        return self.run(sys.executable, "-c", script, check=False).returncode == 0


def submission_of(exchange, student):
    """The path of ``student``'s own folder in the inbound (the test, as root, may list it)."""
    inbound = exchange / COURSE_ID / "inbound"
    owned = [p for p in inbound.iterdir() if p.name.startswith(f"{student.name}+") and p.stat().st_uid == student.uid]
    assert len(owned) == 1, owned
    return owned[0]


def answer_relu(student):
    path = student.home / ASSIGNMENT / "01_activations.ipynb"
    script = f"""import json
nb = json.load(open({str(path)!r}))
for cell in nb["cells"]:
    if cell["metadata"].get("nbgrader", {{}}).get("grade_id") == "relu":
        cell["source"] = {RELU_ANSWER!r}
json.dump(nb, open({str(path)!r}, "w"))
"""
    student.run(sys.executable, "-c", script)


@pytest.fixture(scope="module")
def scene(tmp_path_factory, released_course):
    """Four students with accounts, the release published, everyone's submission in the inbound: a (answers
    ReLU, then plants links in their submission), b (untouched), c (a 3 GB file), d (too many files); b also
    plants a folder under a's name."""
    tag = uuid.uuid4().hex[:6]
    names = {k: f"nnx{tag}{k}" for k in "abcd"}
    group = f"nnx{tag}-students"
    exchange = Path(tempfile.mkdtemp(prefix="nnx-exchange-", dir="/tmp"))
    os.chmod(exchange, 0o755)
    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("exchange") / "course", symlinks=True))
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Delivery.students_group = {group!r}\n"  # the accounts' group: this test's own
                     "c.Delivery.due_date = '2000-01-01T00:00:00+00:00'\n"  # everyone is late
                     "c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    roster = course / "roster.csv"
    roster.write_text("id,first_name,last_name,email\n" + "".join(
        f"{n},Студент,{k.upper()},{n}@example.org\n" for k, n in names.items()), encoding="utf-8")
    old = os.environ.get("NNCOURSE_EXCHANGE")
    os.environ["NNCOURSE_EXCHANGE"] = str(exchange)
    try:
        assert cli.main(["--course", str(course), "roster", "import", str(roster), "--create-accounts"]) == 0
        publish(course)
        people = {k: Student(n, exchange) for k, n in names.items()}
        reach = people["a"].run(sys.executable, "-c", "import nncourse_exchange", check=False)
        assert reach.returncode == 0, ("a student cannot run this checkout's Python (a student's JupyterLab on "
                                       f"the hub would run it too): make its folders o+rx\n{reach.stderr[-500:]}")
        a, b, c, d = people.values()
        work = {a: lambda: answer_relu(a), d: lambda: d.run("sh", "-c", f"mkdir {ASSIGNMENT}/many && "
                                                                       f"cd {ASSIGNMENT}/many && seq 1 400 | xargs touch")}

        def student_works(student):
            student.nbgrader("fetch_assignment", ASSIGNMENT)
            work.get(student, lambda: None)()
            student.nbgrader("submit", ASSIGNMENT)

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(student_works, people.values()))
        # nbgrader's submit leaves out a file this large; a student can still put it in afterwards
        c.run("truncate", "-s", "3G", str(submission_of(exchange, c) / "weights.npy"))
        yield course, exchange, people
    finally:
        for name in names.values():
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(exchange, ignore_errors=True)
        if old is None:
            os.environ.pop("NNCOURSE_EXCHANGE", None)
        else:
            os.environ["NNCOURSE_EXCHANGE"] = old


def test_no_student_can_list_read_change_or_delete_another_students_submission(scene):
    course, exchange, people = scene
    a, b = people["a"], people["b"]
    theirs = submission_of(exchange, a)
    inbound = theirs.parent
    assert a.may(f"open({str(theirs / '01_activations.ipynb')!r}).read()")  # the owner can: the check can fail
    assert not b.may(f"import os; os.listdir({str(inbound)!r})")
    assert not b.may(f"open({str(theirs / '01_activations.ipynb')!r}).read()")
    assert not b.may(f"import os; os.listdir({str(theirs)!r})")
    assert not b.may(f"open({str(theirs / '01_activations.ipynb')!r}, 'a').write(' ')")
    assert not b.may(f"open({str(theirs / 'extra.py')!r}, 'w')")
    assert not b.may(f"import os; os.rename({str(theirs)!r}, {str(inbound / 'gone')!r})")
    assert not b.may(f"import shutil; shutil.rmtree({str(theirs)!r})")
    assert theirs.is_dir() and (theirs / "01_activations.ipynb").is_file()


def test_no_student_can_write_the_released_assignment(scene):
    course, exchange, people = scene
    b = people["b"]
    outbound = exchange / COURSE_ID / "outbound" / ASSIGNMENT
    notebook = outbound / "01_activations.ipynb"
    before = notebook.read_bytes()
    assert b.may(f"open({str(notebook)!r}).read()")  # students fetch it
    for attack in (f"open({str(notebook)!r}, 'a').write(' ')",
                   f"open({str(outbound / 'nn_helpers2.py')!r}, 'w')",
                   f"import os; os.unlink({str(notebook)!r})",
                   f"import os; os.rename({str(outbound)!r}, {str(outbound.parent / 'old')!r})",
                   f"import os; os.rename({str(exchange / COURSE_ID)!r}, {str(exchange / 'old')!r})"):
        assert not b.may(attack), attack
    assert notebook.read_bytes() == before


@pytest.fixture(scope="module")
def collected(scene):
    """Attacks on the collect, then `nncourse collect` twice: (first run's exit code, its output, the second's)."""
    course, exchange, people = scene
    a, b = people["a"], people["b"]
    theirs = submission_of(exchange, a)
    # b plants a later "submission" under a's name (an empty ReLU notebook cell would cost a their points)
    b.run("sh", "-c", f"mkdir {exchange}/{COURSE_ID}/inbound/'{a.name}+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+x' "
                      f"&& echo planted > {exchange}/{COURSE_ID}/inbound/'{a.name}+{ASSIGNMENT}+2999-01-01 00:00:00.000000 UTC+x'/planted.txt")
    # a links their submission out: to /etc/shadow, and to the instructor's source/ notebook (root makes the
    # hard link: the kernel's protected_hardlinks would stop a student, a looser machine would not)
    a.run("ln", "-s", "/etc/shadow", str(theirs / "shadow.txt"))
    a.run("rm", str(theirs / "02_linear.ipynb"))
    a.run("ln", "-s", str(course / "source" / ASSIGNMENT / "02_linear.ipynb"), str(theirs / "02_linear.ipynb"))
    os.link(course / "source" / ASSIGNMENT / "03_sequential.ipynb", theirs / "answers.ipynb")
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "course.cli", "--course", str(course), "collect"],
                             capture_output=True, text=True, timeout=300)
        runs.append(out)
    return runs


def files_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_submission_under_another_students_name_is_not_collected_for_them(scene, collected):
    course, exchange, people = scene
    a = people["a"]
    got = course / "submitted" / a.name / ASSIGNMENT
    assert "planted.txt" not in files_of(got)
    assert "np.maximum(x, 0)" in (got / "01_activations.ipynb").read_text(encoding="utf-8")  # a's own
    assert f"IGNORED {a.name}: {a.name}+{ASSIGNMENT}+2999-01-01" in collected[0].stderr


def test_collect_never_follows_a_symlink_or_hard_link_out_of_the_submission(scene, collected):
    course, exchange, people = scene
    got = files_of(course / "submitted" / people["a"].name / ASSIGNMENT)
    assert "01_activations.ipynb" in got  # the submission was collected, without what points out of it
    assert not {"shadow.txt", "02_linear.ipynb", "answers.ipynb"} & set(got)
    secrets = [Path("/etc/shadow").read_bytes()[:64], (course / "source" / ASSIGNMENT / "02_linear.ipynb").read_bytes(),
               (course / "source" / ASSIGNMENT / "03_sequential.ipynb").read_bytes()]
    assert not [name for name, data in got.items() for secret in secrets if secret and secret in data]


def test_a_too_large_submission_is_refused_with_a_message_and_the_others_are_collected(scene, collected):
    course, exchange, people = scene
    first, again = collected
    assert first.returncode == 1, first.stderr
    assert f"REFUSED {people['c'].name}: " in first.stderr and "MiB" in first.stderr
    assert f"REFUSED {people['d'].name}: more than 300 files" in first.stderr
    for key in "cd":
        assert not (course / "submitted" / people[key].name).exists()
    for key in "ab":
        assert (course / "submitted" / people[key].name / ASSIGNMENT / "timestamp.txt").is_file()
    assert "2 collected, 0 unchanged, 2 refused, 2 late, 1 folders ignored" in first.stdout
    assert "0 collected, 2 unchanged, 2 refused, 2 late, 1 folders ignored" in again.stdout  # idempotent


def test_feedback_reaches_its_student_alone(scene, collected):
    course, exchange, people = scene
    a, b = people["a"], people["b"]
    base = ["--course", str(course)]
    # feedback --release writes the pages again, as nbgrader's generate_feedback, before it releases them
    assert cli.main(base + ["autograde", "--notebook", "01_activations", "--quiet", "--no-audit", "--no-feedback",
                            "--student", a.name, "--student", b.name]) == 0
    assert cli.main(base + ["feedback", "--release", "--student", a.name, "--student", b.name]) == 0
    pages = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda student: student.nbgrader("fetch_feedback", ASSIGNMENT), (a, b)))
    for student in (a, b):
        [page] = (student.home / ASSIGNMENT / "feedback").glob("*/01_activations.html")
        pages[student.name] = page.read_text(encoding="utf-8")
    assert pages[a.name] != pages[b.name]
    # late (the due date is in 2000), penalised by nbgrader's plugin as configured ("zero"), and told so
    from course.grading.gradebook import open_gradebook

    with open_gradebook(course) as gb:
        mine = gb.find_submission_notebook("01_activations", ASSIGNMENT, a.name)
        assert mine.score > 0 and mine.late_submission_penalty == mine.score
        assert gb.find_submission(ASSIGNMENT, a.name).total_seconds_late > 0
    assert "Late submission penalty" in pages[a.name]
    released = sorted((exchange / COURSE_ID / "feedback").glob("*.html"))
    assert {p.stat().st_uid for p in released} == {a.uid, b.uid}
    for page in released:
        reader, other = (a, b) if page.stat().st_uid == a.uid else (b, a)
        assert reader.may(f"open({str(page)!r}).read()")
        assert not other.may(f"open({str(page)!r}).read()")
        assert not other.may(f"import os; os.unlink({str(page)!r})")
    assert not b.may(f"import os; os.listdir({str(exchange / COURSE_ID / 'feedback')!r})")


def test_create_accounts_refuses_an_account_it_did_not_create_and_changes_nothing_twice():
    from course.delivery.roster import create_accounts, parse_roster
    from course.settings import CourseError

    tag = uuid.uuid4().hex[:6]
    mine, foreign, group = f"nnx{tag}m", f"nnx{tag}f", f"nnx{tag}-students"
    people = parse_roster(f"id,first_name,last_name,email\n{mine},Анна,Иванова,a@example.org\n"
                          f"{foreign},Пётр,Петров,p@example.org\n")
    subprocess.run(["useradd", foreign], check=True)
    try:
        with pytest.raises(CourseError, match=f"{foreign} already exist"):
            create_accounts(people, group)
        with pytest.raises(KeyError):
            pwd.getpwnam(mine)  # nothing was created
        assert pwd.getpwnam(foreign).pw_gecos == ""  # nor changed
        assert create_accounts(people[:1], group) == [mine]
        assert create_accounts(people[:1], group) == []
        account = pwd.getpwnam(mine)
        assert account.pw_gecos.startswith("Анна Иванова") and Path(account.pw_dir).is_dir()
        assert mine in grp.getgrnam(group).gr_mem
    finally:
        for name in (mine, foreign):
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


def test_a_due_date_without_a_time_zone_is_refused(tmp_path):
    from course.settings import CourseError, load

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.Delivery.due_date = '2027-03-01 23:59'\n")
    with pytest.raises(CourseError, match="not an ISO 8601 time with a time zone"):
        load(tmp_path)




def test_a_new_submission_is_collected_and_graded_again(scene, collected):
    course, exchange, people = scene
    a = people["a"]
    graded = course / "grading" / a.name / "01_activations.json"
    if not graded.exists():  # run alone: a result to be forgotten
        assert cli.main(["--course", str(course), "autograde", "--notebook", "01_activations", "--quiet",
                         "--no-audit", "--student", a.name]) == 0
    before = (course / "submitted" / a.name / ASSIGNMENT / "timestamp.txt").read_text()
    a.nbgrader("submit", ASSIGNMENT)
    out = subprocess.run([sys.executable, "-m", "course.cli", "--course", str(course), "collect"],
                         capture_output=True, text=True, timeout=300)
    assert "1 collected, 1 unchanged" in out.stdout, out.stdout + out.stderr
    assert (course / "submitted" / a.name / ASSIGNMENT / "timestamp.txt").read_text() > before
    assert not graded.exists()  # so `nncourse autograde` grades the new submission
