"""The attack catalogue: hostile submissions through the real grader, jail, audit and cheat scan.

Every attacker hands in the untouched release with 01's ReLU answer cell
replaced by the attack, so no honest point is deserved.  Each attack must be
blocked, score 0, or be flagged (cheat scan or audit mismatch); none may keep
undeserved points unflagged.  A correct student grades in the same batch.
CI runs as root, so the jail is exercised; elsewhere the jail tests fail
loudly rather than pass vacuously.
"""
import errno
import hashlib
import json
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from course.authoring.apps import HANDOUT_FILES
from course.demo.classroom import reference, untouched
from course.grading.client import autograde
from course.grading.job import Limits
from course.grading.reaudit import audit_course
from course.jail import sandbox
from course.jail.syscalls import DENIED
from course.reporting.feedback import WITHHELD, scan_feedback, write_feedback
from course.settings import ASSIGNMENT, ROOT
from course.trust.audit import audit_flags, audit_notebook
from course.trust.cheatscan import HIGH, scan_course

pytestmark = pytest.mark.security
NOTEBOOK = "01_activations"
CELLS = ("relu_hidden", "sigmoid_hidden", "tanh_hidden")
MARK = "nncourse-attack"
STUB_RELU = '''
class ReLU(Layer):
    def forward(self, x):
        raise NotImplementedError()

    def backward(self, grad_output):
        raise NotImplementedError()
'''
FAKE_CHECKS = '''
import sys, types
fake = types.ModuleType("solutions.checks")
fake.__getattr__ = lambda name: (lambda *args, **kwargs: print("ok"))
sys.modules["solutions"] = types.ModuleType("solutions")
sys.modules["solutions.checks"] = fake
'''
FIND = '''
import glob, os
found = []
for pattern in {patterns!r}:
    for path in glob.glob(pattern, recursive=True):
        if os.path.realpath(path).startswith(os.getcwd()):
            continue  # its own working folder is allowed
        try:
            with open(path, "rb") as f:
                found.append((path, f.read(300)))
        except OSError as exc:
            pass
print("{mark}-found", len(found), found[:3])
'''


def finder(*patterns):
    return FIND.format(patterns=patterns, mark=MARK)


KEYRING = '''
import ctypes, errno
def _keys():
    libc = ctypes.CDLL(None, use_errno=True)
    found = []
    for call in (lambda: libc.syscall(248, b"user", b"nncourse-answer", b"42", 2, -4),  # add_key to the user keyring
                 lambda: libc.syscall(250, 0, -4, 0),                                  # keyctl: the keyring's id
                 lambda: libc.syscall(249, b"user", b"nncourse-answer", None, 0)):      # request_key
        ctypes.set_errno(0)
        found.append(errno.errorcode.get(ctypes.get_errno(), "OK") if call() == -1 else "OK")
    return found
'''
PLANT_LINKS = '''
import os
planted = []
for name, target in [("victim-link", "{outside}/victim.txt"), ("config-link", "{course}/nbgrader_config.py"),
                     ("01_activations.ipynb.new", "{outside}/victim.txt"), ("zero.bin", "/dev/zero"),
                     ("dir-link", "{outside}")]:
    try:
        os.symlink(target, name)
        planted.append(name)
    except OSError as exc:
        planted.append(f"{name}:{type(exc).__name__}")
os.mkfifo("fifo")
with open("{mark}-written.txt", "w") as f:
    f.write("kernel")
print("{mark}-planted", (planted, sorted(os.listdir("."))))
'''
FILL_DISK = '''
import errno, os
def _fill(folder):
    written, chunk = 0, b"x" * 2**20
    for n in range(10_000):
        try:
            with open(os.path.join(folder, f"fill-{n}.bin"), "wb") as f:
                for _ in range(64):
                    f.write(chunk)
                    written += len(chunk)
        except OSError as exc:
            return written, errno.errorcode.get(exc.errno)
    return written, "no limit"
print("{mark}-filled", (_fill("."), _fill("/tmp")))
for name in os.listdir("."):
    if name.startswith("fill-"):
        os.remove(name)
'''
DEEP_JSON = '''
import os, stat, sys
def _flood():
    if not sys.argv[0].endswith("runner.py"):
        return 0  # only the audit's jail: its channel to the trusted side is a pipe
    sent = 0
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, b"[" * 200_000 + b"]" * 200_000 + b"\\n")
                sent += 1
        except OSError:
            pass
    return sent
'''


ATTACKS = {
    # reaching the reference
    "import_reference": "from solutions.activations import ReLU",
    "alias_reference": "import solutions.activations\nReLU = solutions.activations.ReLU",
    "subclass_reference": "from solutions.activations import ReLU as Answer\n\nclass ReLU(Answer):\n    pass",
    # swapping modules
    "sys_modules_swap": FAKE_CHECKS + STUB_RELU,
    "shadow_file": STUB_RELU,  # plus a solutions/ package and solutions.py in the submission folder
    # patching the tests
    "patch_allclose": "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True"
                      + STUB_RELU.replace("raise NotImplementedError()", "return x", 1),
    "patch_assert_allclose": "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n"
                             "np.max = lambda *a, **k: 0.0" + STUB_RELU.replace("raise NotImplementedError()",
                                                                                "return x", 1),
    "patch_builtins": "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\n"
                      "builtins.isinstance = lambda *a: True" + STUB_RELU,
    "patch_showtraceback": "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                           "ip._showtraceback = lambda *a, **k: None" + STUB_RELU,
    "patch_custom_exc": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)" + STUB_RELU,
    # reading what it must not
    "read_gradebook": finder("{course}/gradebook.db", "../../../gradebook.db", "../../../../gradebook.db",
                             "../../../../../gradebook.db", "/tmp/**/gradebook.db") + STUB_RELU,
    "read_other_student": finder("../../*/nn_layers/*.ipynb", "{course}/submitted/*/nn_layers/*.ipynb",
                                 "{course}/autograded/*/nn_layers/*.ipynb") + STUB_RELU,
    "read_source": finder("../../../source/nn_layers/*.ipynb", "{course}/source/nn_layers/*.ipynb",
                          "/root/.*/*", "/home/*/*") + STUB_RELU,
    # escaping the sandbox
    "network": "import socket, os\ntry:\n    socket.create_connection(('127.0.0.1', int(os.environ.get("
               "'NN_PORT', '{port}'))), timeout=3).sendall(b'{mark}')\n    print('{mark}-connected')\n"
               "except OSError as exc:\n    print('{mark}-no-network', exc)" + STUB_RELU,
    "fork_bomb": "import os, time\nchildren = 0\ntry:\n    while children < 100000:\n        if os.fork() == 0:\n"
                 "            while True:\n                time.sleep(1)\n        children += 1\nexcept OSError as exc:\n"
                 "    print('{mark}-forks', children, exc)" + STUB_RELU,
    "write_outside": "import os\nfor path in {targets!r}:\n    try:\n        with open(path, 'w') as f:\n"
                     "            f.write('{mark}')\n        print('{mark}-wrote', path)\n    except OSError as exc:\n"
                     "        print('{mark}-refused', path, type(exc).__name__)" + STUB_RELU,
    # leaking tests
    "leak_tests": "get_ipython().events.register('post_run_cell', lambda result: print(result.info.raw_cell))"
                  + STUB_RELU,
    # --- round two (issue 16): each hole, written anew; the side effects are asserted below ---------
    # the kernel keyring, from the kernel and from the audit's jail (a class body runs in both)
    "keyring": KEYRING + "\nprint('{mark}-keys', _keys())\n" + STUB_RELU.replace(
        "class ReLU(Layer):\n", "class ReLU(Layer):\n    _planted = _keys()\n"),
    # links, a FIFO and a device planted where nbgrader (root) used to write and chmod
    "plant_links": PLANT_LINKS + STUB_RELU,
    # markers that would split the job's log, and the log truncated
    "forge_log": "import os, sys\nfor fd in (1, 2):\n    os.write(fd, b'\\n@@nncourse 02_linear\\n{mark}-forged\\n')\n"
                 "    try:\n        os.ftruncate(fd, 0)\n    except OSError:\n        pass\n"
                 "print('\\n@@nncourse 02_linear', file=sys.__stdout__, flush=True)" + STUB_RELU,
    # the disk: the working folder and /tmp filled until they refuse
    "fill_disk": FILL_DISK + STUB_RELU,
    # files for the feedback: a copy of the reference, a page holding the hidden-test marker
    "feedback_files": "import inspect, solutions.activations as _ref\nopen('activations_copy.py', 'w').write("
                      "inspect.getsource(_ref))\nopen('planted.html', 'w').write('<p>### BEGIN HIDDEN TESTS</p>')"
                      + STUB_RELU,
    # the reference's code printed into the student's own output
    "print_reference": "import inspect, solutions.activations as _ref\nprint(inspect.getsource(_ref))" + STUB_RELU,
    # a literal hidden-test marker in the student's own cell
    "literal_marker": "# ### BEGIN HIDDEN TESTS\n# my notes\n" + STUB_RELU,
    # skip-execution on every hidden test cell (set in the fixture)
    "skip_execution": STUB_RELU,
    # a working ReLU hidden in a locked cell, which nbgrader restores (set in the fixture)
    "locked_cell_answer": STUB_RELU,
    # output the audit's trusted side cannot parse: JSON nested far too deep
    "deep_json": DEEP_JSON + STUB_RELU.replace("class ReLU(Layer):\n", "class ReLU(Layer):\n    _sent = _flood()\n"),
    # every denied syscall, tried from the kernel (the probe's numbers come from libseccomp, see SYSCALLS)
    "syscalls": "{syscall_probe}\nprint('{mark}-syscalls', _json.dumps(_probe()))" + STUB_RELU,
}


def _relu_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")


@pytest.fixture(scope="module")
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    hits, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                hits.append(conn.recv(100))
                conn.close()
            except OSError:
                pass
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


def snapshot(*folders):
    """{path: (owner, group, mode, type, content digest)} of everything under ``folders``, links not followed."""
    found = {}
    for folder in folders:
        for path in [Path(folder), *sorted(Path(folder).rglob("*"))]:
            info = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else ""
            found[str(path)] = (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), stat.S_IFMT(info.st_mode), digest)
    return found


def jail_key_users():
    """The jail UIDs that own kernel keys now (/proc/key-users lists every user with a key)."""
    lines = Path("/proc/key-users").read_text().splitlines()
    uids = {int(line.split(":")[0]) for line in lines if line.strip()}
    return sorted(uid for uid in uids if sandbox.UID_BASE <= uid < sandbox.UID_BASE + 64)


@pytest.fixture(scope="module")
def attacked(released_course, tmp_path_factory, listener):
    port, hits = listener
    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("attacks") / "course", symlinks=True))
    outside = tmp_path_factory.mktemp("outside")
    (outside / "victim.txt").write_text("victim")
    (outside / "victim.txt").chmod(0o640)
    targets = [str(outside / "escape.txt"), f"/tmp/nncourse-attack-{uuid.uuid4().hex}.txt", "../../../gradebook.db",
               "../../../source/nn_layers/nn_helpers.py", "../../../release/nn_layers/escape.txt"]
    release, source = course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT
    submitted = course / "submitted"
    reference(release, source, submitted / "honest" / ASSIGNMENT)
    for name, code in ATTACKS.items():
        folder = submitted / name / ASSIGNMENT
        untouched(release, source, folder)
        path = folder / f"{NOTEBOOK}.ipynb"
        nb = nbformat.read(path, as_version=4)
        _relu_cell(nb).source = code.replace("{syscall_probe}", syscall_probe()).replace("{port}", str(port)).replace(
            "{mark}", MARK).replace("{targets!r}", repr(targets)).replace("{course}", str(course)).replace(
            "{outside}", str(outside))
        nbformat.write(nb, path)
    _tag_hidden_cells(submitted / "skip_execution" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", "skip-execution")
    _answer_in_locked_cell(submitted / "locked_cell_answer" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    shadow = submitted / "shadow_file" / ASSIGNMENT
    (shadow / "solutions" / "checks").mkdir(parents=True)
    (shadow / "solutions" / "__init__.py").write_text("")
    (shadow / "solutions" / "checks" / "__init__.py").write_text(
        "def __getattr__(name):\n    return lambda *a, **k: None\n")
    (shadow / "solutions.py").write_text("def __getattr__(name):\n    return lambda *a, **k: None\n")
    protected = [course / name for name in ("source", "release", "submitted", "nbgrader_config.py")] + [outside]
    before = snapshot(*protected)
    results = autograde(course, notebooks=[NOTEBOOK], jobs=2, limits=Limits(cell_timeout=20, job_timeout=120),
                        progress=False)
    audited = audit_course(course, jobs=2, progress=False)
    leaks, unwritten = write_feedback(course, jobs=2)
    after = snapshot(*protected)
    by_student = {r.student: r for r in audited}
    flags = scan_course(course, ASSIGNMENT) + audit_flags(audited)
    return {"course": course, "results": {r.student: r for r in results}, "audited": by_student,
            "flags": flags, "hits": hits, "targets": targets, "outside": outside, "leaks": leaks,
            "unwritten": unwritten, "before": before, "after": after, "key_users": jail_key_users()}


def _tag_hidden_cells(path, tag):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["tags"] = [tag]
    nbformat.write(nb, path)


def _answer_in_locked_cell(path):
    """A working ReLU in the locked visible-test cell (nbgrader puts the course's cell back)."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu_visible_tests")
    cell.source = ("class ReLU(Layer):\n    def forward(self, x):\n        self.mask = x > 0\n"
                   "        return np.where(self.mask, x, 0.0)\n\n    def backward(self, grad_output):\n"
                   "        return grad_output * self.mask\n")
    nbformat.write(nb, path)


def _outputs(course, student):
    """What the attack cell printed when it was graded."""
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    return json.dumps(_relu_cell(nb).get("outputs", []), ensure_ascii=False)


def test_grading_runs_in_the_jail():
    ok, why = sandbox.status()
    assert ok, f"the jail must work here (CI runs as root): {why}"


def test_catalogue_has_every_required_attack():
    assert len(ATTACKS) >= 26


def test_honest_student_keeps_full_marks(attacked):
    honest = attacked["results"]["honest"]
    assert honest.status == "graded" and honest.score == honest.max_score == 6, honest
    assert honest.sandboxed is True
    assert not [m for m in audit_flags([attacked["audited"]["honest"]])], "the audit disagrees with an honest grade"


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_undeserved_points_go_unflagged(attacked, name):
    result = attacked["results"][name]
    flagged = [f for f in attacked["flags"] if f["student"] == name and f.get("severity") == HIGH]
    points = result.score if result.status == "graded" else 0
    assert points == 0 or flagged, f"{name} kept {points} points and was not flagged: {result}"
    audit = attacked["audited"].get(name)
    if audit is not None:  # the audit never credits an attacker: none of them wrote a working ReLU
        assert all(not score for score in audit.audit["cells"].values()), audit.audit


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_attack_keeps_a_point_in_the_gradebook(attacked, name):
    """Under the default grade of record (the lower of nbgrader's and the audit's score), after
    `nncourse autograde` and `nncourse audit`, an attacker has 0 in the status record and in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    result = attacked["audited"].get(name) or attacked["results"][name]
    assert not result.score, f"{name}: {result.cells} (nbgrader gave {result.nbgrader})"
    with Gradebook(f"sqlite:///{attacked['course'] / 'gradebook.db'}", course_id="nn-layers") as gb:
        try:
            notebook = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, name)
        except MissingEntry:  # failed to grade: no grade at all, which the CSV says (never a 0, never a point)
            assert result.status == "failed to grade", result
            return
        assert not notebook.score, {g.name: g.score for g in notebook.grades}


@pytest.mark.parametrize("name", ["import_reference", "alias_reference", "subclass_reference", "patch_allclose",
                                  "patch_assert_allclose", "patch_showtraceback", "patch_custom_exc",
                                  "read_gradebook", "read_source", "read_other_student", "network", "fork_bomb",
                                  "write_outside", "leak_tests", "patch_builtins", "shadow_file"])
def test_blocked_in_the_kernel(attacked, name):
    """These attacks get 0 from nbgrader itself: the guards, the jail and the ignore list stop them."""
    result = attacked["results"][name]
    assert result.status in ("graded", "failed to grade"), result
    assert not result.score, f"{name}: {result.cells}"


def test_module_swaps_are_flagged_by_scan_and_audit(attacked):
    for name in ("sys_modules_swap",):
        rules = {f["rule"] for f in attacked["flags"] if f["student"] == name}
        assert "audit-mismatch" in rules or not attacked["results"][name].score, rules
        assert rules & {"sys-modules", "import-reference"}, rules


def test_jail_hides_gradebook_source_and_other_students(attacked):
    for name in ("read_gradebook", "read_other_student", "read_source"):
        text = _outputs(attacked["course"], name)
        assert f"{MARK}-found 0 " in text, f"{name} found files: {text[:2000]}"
        assert "SQLite format" not in text and "BEGIN HIDDEN TESTS" not in text


def test_no_network(attacked):
    assert f"{MARK}-no-network" in _outputs(attacked["course"], "network")
    assert not attacked["hits"], "a jailed kernel connected to the host"


def test_no_writes_outside_the_working_folder(attacked):
    text = _outputs(attacked["course"], "write_outside")
    for target in attacked["targets"]:
        if not target.startswith("/tmp/nncourse"):  # the jail's /tmp is its own, gone with it
            assert f"{MARK}-wrote {target}" not in text, text[:2000]
    assert f"{MARK}-refused ../../../gradebook.db" in text
    assert not any(Path(t).exists() for t in attacked["targets"] if t.startswith("/"))
    assert [p.name for p in attacked["outside"].iterdir()] == ["victim.txt"]  # the links' target, untouched
    assert not (attacked["course"] / "release" / ASSIGNMENT / "escape.txt").exists()


def test_fork_bomb_is_contained(attacked):
    text = _outputs(attacked["course"], "fork_bomb")
    assert f"{MARK}-forks" in text, text[:2000]
    assert int(text.split(f"{MARK}-forks", 1)[1].split()[0]) < sandbox.Jail("").processes


def test_feedback_shows_no_hidden_test(attacked):
    leaks = scan_feedback(attacked["course"])
    assert not leaks, leaks
    page = next((attacked["course"] / "feedback" / "leak_tests" / ASSIGNMENT).glob(f"{NOTEBOOK}.html"))
    assert "скрытый тест" in page.read_text(encoding="utf-8"), "the leak attempt printed nothing to redact"


# --- round two (issue 16): the side effects of each hole ---------------------------------------------

SYSCALL_PROBE = '''
import ctypes, errno, json as _json, os, socket
_NUMBERS, _ARGS = %r, %r
def _probe(skip=()):
    libc = ctypes.CDLL(None, use_errno=True)
    found = {}
    for name, number in _NUMBERS.items():
        if name in skip:
            continue
        args = [os.getpid() if a == "PID" else a for a in _ARGS.get(name, (0, 0, 0, 0, 0, 0))]
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(number), *[ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a)
                                                       for a in args])
        found[name] = errno.errorcode.get(ctypes.get_errno(), "?") if result == -1 else "OK"
    for family, kind in (("AF_INET", socket.SOCK_STREAM), ("AF_INET6", socket.SOCK_DGRAM),
                         ("AF_PACKET", socket.SOCK_RAW), ("AF_NETLINK", socket.SOCK_RAW), ("AF_UNIX", socket.SOCK_STREAM)):
        try:
            socket.socket(getattr(socket, family), kind).close()
            found["socket " + family] = "OK"
        except OSError as exc:
            found["socket " + family] = errno.errorcode.get(exc.errno, "?")
    with open("/proc/self/status") as status:
        found["seccomp mode"] = dict(line.split(":", 1) for line in status if ":" in line)["Seccomp"].strip()
    return found
'''
# Arguments that make each call harmless; where an unfiltered process may make the call, it succeeds or
# fails with something other than EPERM, which tells the filter's answer from the kernel's.
SYSCALL_ARGS = {
    "add_key": (b"user", b"nncourse-probe", b"1", 1, -2),   # into the process keyring: gone with the process
    "keyctl": (0, -2, 1), "request_key": (b"user", b"nncourse-none", 0, 0), "ptrace": (0, 0, 0, 0),
    "process_vm_readv": ("PID", 0, 0, 0, 0, 0), "kcmp": ("PID", "PID", 1, 0, 0), "pidfd_getfd": (-1, -1, 0),
    "unshare": (0x10000000,), "setns": (-1, 0), "clone": (0x10000000 | 17, 0, 0, 0, 0), "userfaultfd": (1,),
}
# Calls an unprivileged process may make, or that fail differently when it is not the filter that refuses them.
OBSERVABLE = {"add_key", "keyctl", "request_key", "ptrace", "process_vm_readv", "kcmp", "pidfd_getfd", "unshare",
              "setns", "clone3", "socket AF_INET", "socket AF_NETLINK", "socket AF_PACKET"}


def syscall_numbers():
    import pyseccomp

    names = [*DENIED, "clone", "clone3"]
    numbers = {name: pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name) for name in names}
    return {name: number for name, number in numbers.items() if number >= 0}


def syscall_probe():
    return SYSCALL_PROBE % (syscall_numbers(), SYSCALL_ARGS)


def _printed(attacked, name, label):
    """What an attack cell printed after ``<mark>-<label>``, as a Python literal."""
    import ast

    text = json.loads(_outputs(attacked["course"], name))
    out = "".join(o.get("text", "") for o in text if o.get("output_type") == "stream")
    line = next((line for line in out.splitlines() if line.startswith(f"{MARK}-{label} ")), None)
    assert line is not None, f"{name} printed no {label}: {out[-2000:]}"
    return ast.literal_eval(line[len(f"{MARK}-{label} "):])


def test_every_notebook_measured_its_jail(attacked):
    """`sandboxed` is what each kernel and each audit jail measured of itself, never an assumption."""
    for name, result in attacked["audited"].items():
        assert result.sandboxed is True and result.audit.get("sandboxed") is True, (name, result)


def test_the_filter_denies_every_listed_syscall_in_a_real_jailed_kernel(attacked):
    jailed = _printed(attacked, "syscalls", "syscalls")
    assert jailed.pop("seccomp mode") == "2"
    expected = {name: "EPERM" for name in syscall_numbers() if name != "clone3"}
    refused = errno.errorcode[errno.EAFNOSUPPORT]
    expected.update({"clone3": "ENOSYS", "socket AF_INET": refused, "socket AF_INET6": refused,
                     "socket AF_PACKET": refused, "socket AF_NETLINK": errno.errorcode[errno.EOPNOTSUPP],
                     "socket AF_UNIX": "OK"})
    assert jailed == expected
    # The same probe unfiltered, as an unprivileged user of the host: where it gets another answer, the
    # jailed kernel's refusal is the filter's (the rest are refused by the missing capabilities too).
    control = subprocess.run(["setpriv", "--reuid=47999", "--regid=47999", "--clear-groups", "--no-new-privs", "--",
                              sys.executable, "-I", "-c", syscall_probe() + "\nprint(_json.dumps(_probe(skip=('clone',))))"],
                             capture_output=True, text=True, timeout=60)
    assert control.returncode == 0, control.stderr
    free = json.loads(control.stdout.splitlines()[-1])
    assert free.pop("seccomp mode") == "0"
    differ = {name for name, answer in free.items() if answer != jailed[name]}
    assert OBSERVABLE <= differ, {name: (free[name], jailed[name]) for name in OBSERVABLE - differ}


def test_no_kernel_key_survives_and_none_is_made(attacked):
    assert _printed(attacked, "keyring", "keys") == ["EPERM", "EPERM", "EPERM"]
    assert attacked["key_users"] == [], "a jail UID owns kernel keys after the batch"


def test_no_file_outside_the_jail_changes_owner_mode_or_content(attacked):
    planted = _printed(attacked, "plant_links", "planted")[0]
    assert planted == ["victim-link", "config-link", "01_activations.ipynb.new", "zero.bin", "dir-link"]
    assert attacked["after"] == attacked["before"]
    graded = attacked["course"] / "autograded" / "plant_links" / ASSIGNMENT
    for path in graded.rglob("*"):
        assert stat.S_ISREG(path.lstat().st_mode), f"{path} is not a regular file"
    handout = sorted([f"{NOTEBOOK}.ipynb", "nn_helpers.py", *(f.name for f in HANDOUT_FILES)])
    assert sorted(p.name for p in graded.iterdir()) == handout  # what the kernel planted stayed in its jail


def test_the_jobs_log_cannot_be_forged_or_truncated(attacked):
    result = attacked["results"]["forge_log"]
    assert result.status == "graded", result
    log = (attacked["course"] / "grading" / "forge_log" / f"{NOTEBOOK}.log").read_text()
    assert "@@nncourse 02_linear" not in log and f"{MARK}-forged" not in log
    assert "[AutogradeApp" in log, log[-2000:]


def test_the_working_folder_and_tmp_are_capped(attacked):
    (cwd_bytes, cwd_error), (tmp_bytes, tmp_error) = _printed(attacked, "fill_disk", "filled")
    jail = sandbox.Jail("")
    assert cwd_error == "ENOSPC" and cwd_bytes <= jail.disk, (cwd_bytes, cwd_error)
    assert tmp_error == "ENOSPC" and tmp_bytes <= jail.tmp_size, (tmp_bytes, tmp_error)


def test_feedback_holds_nothing_but_the_graded_pages(attacked):
    feedback = attacked["course"] / "feedback"
    assert attacked["unwritten"] == []
    withheld = {page.parts[-3] for page, _ in attacked["leaks"]}
    for folder in feedback.glob(f"*/{ASSIGNMENT}"):
        pages = [] if folder.parent.name in withheld else [f"{NOTEBOOK}.html"]
        assert [p.name for p in folder.iterdir()] == pages, folder
    graded = attacked["course"] / "autograded" / "feedback_files" / ASSIGNMENT
    assert not (graded / "activations_copy.py").exists() and not (graded / "planted.html").exists()


def test_a_page_that_shows_reference_code_is_withheld_alone(attacked):
    course = attacked["course"]
    withheld = {page.parts[-3]: secret for page, secret in attacked["leaks"]}
    assert set(withheld) == {"print_reference"} and withheld["print_reference"].startswith("reference code"), withheld
    assert (course / WITHHELD / "print_reference" / ASSIGNMENT / f"{NOTEBOOK}.html").exists()
    assert not list((course / "feedback" / "print_reference").glob("*/*.html"))
    assert (course / "feedback" / "honest" / ASSIGNMENT / f"{NOTEBOOK}.html").exists()


def test_a_literal_marker_in_a_students_cell_stops_no_ones_feedback(attacked):
    page = attacked["course"] / "feedback" / "literal_marker" / ASSIGNMENT / f"{NOTEBOOK}.html"
    text = page.read_text(encoding="utf-8")
    assert "маркер скрытых тестов" in text and "BEGIN HIDDEN TESTS" not in text


def test_skip_execution_on_a_hidden_test_earns_nothing_from_nbgrader_alone(attacked):
    result = attacked["results"]["skip_execution"]
    assert result.status == "graded" and result.nbgrader == dict.fromkeys(CELLS, 0), result


def test_the_audit_reads_locked_cells_as_the_course_wrote_them(attacked):
    result = attacked["audited"]["locked_cell_answer"]
    assert result.nbgrader["relu_hidden"] == 0 and result.audit["cells"]["relu_hidden"] == 0, result


def test_output_the_audit_cannot_parse_fails_closed_for_that_student_alone(attacked):
    result = attacked["audited"]["deep_json"]
    assert result.status == "graded" and result.audit["cells"] == dict.fromkeys(CELLS, 0), result
    assert attacked["audited"]["honest"].audit["cells"] == {"relu_hidden": 2, "sigmoid_hidden": 2, "tanh_hidden": 2}


# --- the audit's trusted side, attacked directly ----------------------------------------------------

SOURCE = ROOT / "source" / ASSIGNMENT
HELPER = ROOT / "release" / ASSIGNMENT / "nn_helpers.py"


def _notebook_with_relu(tmp_path, code):
    nb = nbformat.read(ROOT / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    _relu_cell(nb).source = code
    path = tmp_path / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, path)
    return path


FORGE_PROGRESS = '''
import json, os, stat, sys, time
def _stall():
    if not sys.argv[0].endswith("runner.py"):
        return
    steps = [["01_activations", "<definitions>"], ["01_activations", "relu"], ["01_activations", "sigmoid"],
             ["01_activations", "tanh"]]
    for second in range(600):  # one more step "reached" every 2 s, before each step's timeout (3 s)
        for fd in range(3, 64):
            try:
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    for step in steps[:second + 1]:
                        os.write(fd, (json.dumps({"at": step}) + "\\n").encode())
            except OSError:
                pass
        time.sleep(2)
'''


def test_the_audit_ends_within_its_cap_whatever_the_jail_sends(tmp_path):
    path = _notebook_with_relu(tmp_path, FORGE_PROGRESS + STUB_RELU.replace(
        "class ReLU(Layer):\n", "class ReLU(Layer):\n    _ = _stall()\n"))
    started = time.monotonic()
    result = audit_notebook(path, SOURCE / f"{NOTEBOOK}.ipynb", HELPER, timeout=3)
    elapsed = time.monotonic() - started
    cap = 3 * (4 + 1)  # the definitions and three checks, and one more
    assert elapsed < cap + 6, f"the audit ran {elapsed:.0f} s, its cap is {cap} s"
    assert result.cells == dict.fromkeys(CELLS, 0)
    assert all("stopped" in reason for reason in result.reasons.values()), result.reasons


def test_the_audit_never_writes_where_the_jail_can(tmp_path):
    """The jail gets its inputs read-only and sends results through a pipe: a link planted for the
    second round's request (after a check hangs) has nowhere to go, and the host files stay as they were."""
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    code = f'''
import os, sys, time
def _plant():
    if not sys.argv[0].endswith("runner.py"):
        return []
    done = []
    inputs = sys.path[0]
    for target, name in [({str(victim)!r}, os.path.join(inputs, "request.json")), ({str(victim)!r}, "request.json")]:
        try:
            if os.path.lexists(name):
                os.remove(name)
            os.symlink(target, name)
            done.append(name)
        except OSError as exc:
            done.append(type(exc).__name__)
    return done
class ReLU(Layer):
    _ = _plant()
    def forward(self, x):
        while True:
            time.sleep(1)
    def backward(self, grad_output):
        raise NotImplementedError()
'''
    before = snapshot(tmp_path)
    (tmp_path / "nb").mkdir()
    result = audit_notebook(_notebook_with_relu(tmp_path / "nb", code), SOURCE / f"{NOTEBOOK}.ipynb", HELPER,
                            timeout=3)
    assert "stopped after 3 s" in result.reasons["relu_hidden"], result.reasons
    assert "NotImplementedError" in result.reasons["sigmoid_hidden"], "the second round ran"
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if "/nb" not in k} == {k: v for k, v in before.items() if "/nb" not in k}


def test_verify_refuses_a_process_that_is_not_jailed():
    why = sandbox.verify(sandbox.measure(), sandbox.UID_BASE)
    for part in ("runs as uid", "no syscall filter", "shares the host's"):
        assert part in why, why
    assert sandbox.verify(None, sandbox.UID_BASE) == "the jailed process reported nothing"
