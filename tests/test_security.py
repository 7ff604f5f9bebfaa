"""The attack catalogue: hostile submissions through the real grader, jail, audit and cheat scan.

Every attacker hands in the untouched release with 01's ReLU answer cell
replaced by the attack, so no honest point is deserved.  Each attack must be
blocked, score 0, or be flagged (cheat scan or audit mismatch); none may keep
undeserved points unflagged.  A correct student grades in the same batch.
CI runs as root, so the jail is exercised; elsewhere the jail tests fail
loudly rather than pass vacuously.
"""
import json
import shutil
import socket
import threading
import uuid
from pathlib import Path

import nbformat
import pytest

from course.jail import sandbox
from course.trust.audit import audit_course, audit_flags
from course.grading import Limits, autograde
from course.trust.cheatscan import HIGH, scan_course
from course.classroom import reference, untouched
from course.feedback import scan_feedback
from course.nbgrader_run import ASSIGNMENT, nbgrader

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


@pytest.fixture(scope="module")
def attacked(released_course, tmp_path_factory, listener):
    port, hits = listener
    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("attacks") / "course", symlinks=True))
    outside = tmp_path_factory.mktemp("outside")
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
        _relu_cell(nb).source = code.replace("{port}", str(port)).replace("{mark}", MARK).replace(
            "{targets!r}", repr(targets)).replace("{course}", str(course))
        nbformat.write(nb, path)
    shadow = submitted / "shadow_file" / ASSIGNMENT
    (shadow / "solutions" / "checks").mkdir(parents=True)
    (shadow / "solutions" / "__init__.py").write_text("")
    (shadow / "solutions" / "checks" / "__init__.py").write_text(
        "def __getattr__(name):\n    return lambda *a, **k: None\n")
    (shadow / "solutions.py").write_text("def __getattr__(name):\n    return lambda *a, **k: None\n")
    results = autograde(course, notebooks=[NOTEBOOK], jobs=2, limits=Limits(cell_timeout=20, job_timeout=120),
                        progress=False)
    audited = audit_course(course, jobs=2, progress=False)
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    by_student = {r.student: r for r in audited}
    flags = scan_course(course, ASSIGNMENT) + audit_flags(audited)
    return {"course": course, "results": {r.student: r for r in results}, "audited": by_student,
            "flags": flags, "hits": hits, "targets": targets, "outside": outside}


def _outputs(course, student):
    """What the attack cell printed when it was graded."""
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    return json.dumps(_relu_cell(nb).get("outputs", []), ensure_ascii=False)


def test_grading_runs_in_the_jail():
    ok, why = sandbox.status()
    assert ok, f"the jail must work here (CI runs as root): {why}"


def test_catalogue_has_every_required_attack():
    assert len(ATTACKS) >= 14


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
    assert not list(attacked["outside"].iterdir())
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
