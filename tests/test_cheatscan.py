"""The static cheat scan (course/trust/cheatscan/): hostile code is flagged with the right rule,
ordinary student code and the course's own notebooks are not, and nothing crashes it."""
import ast
import csv
import json
import time
from pathlib import Path

import pytest

from course.cli import main as nncourse
from course.demo.classroom import STUDENTS, build_class
from course.grading.results import GRADED, NotebookResult
from course.reporting.export import per_question_rows, write_csv
from course.trust.cheatscan import (
    HIGH,
    LOW,
    course_cells,
    load_flags,
    scan_cells,
    scan_course,
    scan_notebook,
)

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "release" / "nn_layers"
SOURCE = ROOT / "source" / "nn_layers"
# The course's first code cell (as in 01_activations): its imports are known to every later cell.
COURSE_IMPORTS = ("import warnings\n\nimport matplotlib.pyplot as plt\nimport numpy as np\n\n"
                  "from nn_helpers import Layer, gradient_check\n\nnp.random.seed(0)")


def scan(code):
    """Findings of one student cell that follows the course's import cell."""
    return [f for _, f in scan_cells([COURSE_IMPORTS, code], known={COURSE_IMPORTS})]


# (id, student cell, rule that must be among its flags)
HOSTILE = [
    ("import-reference", "import solutions", "import-reference"),
    ("from-reference", "from solutions.activations import ReLU", "import-reference"),
    ("alias-reference", "import solutions.activations\n\nReLU = solutions.activations.ReLU", "import-reference"),
    ("alias-unimported", "ReLU = solutions.activations.ReLU", "import-reference"),
    ("subclass-reference", "from solutions.activations import ReLU as CourseReLU\n\n\n"
                           "class ReLU(CourseReLU):\n    pass", "import-reference"),
    ("dunder-import", "checks = __import__('solutions.checks')", "import-reference"),
    ("importlib-reference", "import importlib\n\nm = importlib.import_module('solutions.activations')",
     "import-reference"),
    ("importlib", "import importlib\n\nm = importlib.import_module(name)", "dynamic-import"),
    ("exec-string-reference", "exec('from solutions.activations import ReLU')", "import-reference"),
    ("magic-time-reference", "%time import solutions", "import-reference"),
    ("cell-magic-reference", "%%capture\nimport solutions.checks", "import-reference"),
    ("timeit-options", "%timeit -n 1 -r 1 __import__('os')._exit(0)", "os-exit"),
    ("nbgrader", "from nbgrader.api import Gradebook", "import-reference"),
    ("torch", "import torch\n\nclass ReLU(Layer):\n    def forward(self, x):\n"
              "        return torch.relu(torch.tensor(x)).numpy()", "import-framework"),
    ("torch-functional", "import torch.nn.functional as F", "import-framework"),
    ("tensorflow", "import tensorflow as tf", "import-framework"),
    ("jax", "from jax import grad", "import-framework"),
    ("autograd", "import autograd.numpy as anp", "import-framework"),
    ("sys-modules-swap", "import sys\nimport types\n\nfake = types.ModuleType('solutions.checks')\n"
                         "sys.modules['solutions.checks'] = fake", "sys-modules"),
    ("sys-modules-read", "import sys\n\nchecks = sys.modules['solutions.checks']", "sys-modules"),
    ("from-sys-modules", "from sys import modules\nmodules.clear()", "sys-modules"),
    ("sys-meta-path", "import sys\nsys.meta_path.insert(0, Finder())", "sys-modules"),
    ("patch-allclose", "np.allclose = lambda *args, **kwargs: True", "monkeypatch"),
    ("patch-assert-allclose", "np.testing.assert_allclose = lambda *args, **kwargs: None", "monkeypatch"),
    ("patch-alias", "import numpy\nn = numpy\nn.allclose = lambda *a, **k: True", "monkeypatch"),
    ("patch-in-function", "def disarm():\n    import numpy\n    numpy.allclose = lambda *a, **k: True",
     "monkeypatch"),
    ("setattr-module", "setattr(np, 'allclose', lambda *args, **kwargs: True)", "monkeypatch"),
    ("lambda-default", "f = lambda m=__import__('os'): m._exit(0)", "dynamic-import"),
    ("setattr-checks", "import solutions.checks as course_checks\n\nfor name in dir(course_checks):\n"
                       "    setattr(course_checks, name, print)", "monkeypatch"),
    ("object-setattr", "object.__setattr__(np, 'allclose', print)", "monkeypatch"),
    ("delattr-module", "delattr(np.testing, 'assert_allclose')", "monkeypatch"),
    ("del-module-attr", "del np.allclose", "monkeypatch"),
    ("vars-module", "vars(np)['allclose'] = print", "monkeypatch"),
    ("module-dict-update", "np.__dict__.update(allclose=print)", "monkeypatch"),
    ("patch-builtins", "import builtins\n\nbuiltins.print = lambda *args, **kwargs: None", "monkeypatch"),
    ("patch-dunder-builtins", "__builtins__.AssertionError = Exception", "monkeypatch"),
    ("builtins-dict", "__builtins__['AssertionError'] = Exception", "monkeypatch"),
    ("rebind-builtins", "__builtins__ = {'__import__': fake_import}", "monkeypatch"),
    ("rebind-assertion", "AssertionError = ZeroDivisionError", "monkeypatch"),
    ("rebind-assertion-class", "class AssertionError(Exception):\n    pass", "monkeypatch"),
    ("rebind-global", "def swap():\n    global AssertionError\n    AssertionError = KeyError", "monkeypatch"),
    ("globals-write", "globals()['AssertionError'] = KeyError", "monkeypatch"),
    ("patch-showtraceback", "get_ipython().showtraceback = lambda *args, **kwargs: None", "monkeypatch"),
    ("patch-shell-alias", "shell = get_ipython()\nshell.showtraceback = lambda *a, **k: None", "monkeypatch"),
    ("patch-interactiveshell", "from IPython.core.interactiveshell import InteractiveShell\n\n"
                               "InteractiveShell.showtraceback = lambda *args, **kwargs: None", "monkeypatch"),
    ("custom-exc", "get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)", "ipython"),
    ("class-swap", "relu = ReLU()\nrelu.__class__ = Reference", "monkeypatch"),
    ("exec", "exec(code_from_somewhere)", "exec-eval"),
    ("eval", "y = eval('np.maximum(x, 0)')", "exec-eval"),
    ("compile", "code = compile(text, 'x', 'exec')", "exec-eval"),
    ("getattr-exec", "import builtins\n\ngetattr(builtins, 'exec')(text)", "exec-eval"),
    ("run-magic", "%run ../../reference/notebook.ipynb", "exec-eval"),
    ("read-gradebook", "import sqlite3\n\nrows = sqlite3.connect('../../../gradebook.db').execute('select 1')",
     "file-access"),
    ("gradebook-name", "path = 'gradebook' + '.db'", "file-access"),
    ("read-other-student", "text = open('../../alice/nn_layers/01_activations.ipynb').read()", "file-access"),
    ("load-other-student", "from nn_helpers import load_from_notebook\n\n"
                           "ReLU = load_from_notebook('../../alice/nn_layers/01_activations.ipynb', 'ReLU')",
     "file-access"),
    ("read-source", "from pathlib import Path\n\nPath('source/nn_layers/01_activations.ipynb').read_text()",
     "file-access"),
    ("read-source-parent", "import json\n\nnb = json.load(open('../../../source/nn_layers/01_activations.ipynb'))",
     "file-access"),
    ("path-parent", "from pathlib import Path\n\nroot = Path.cwd().parent.parent", "file-access"),
    ("path-div", "from pathlib import Path\n\nroot = Path('.') / '..' / '..'", "file-access"),
    ("os-listdir", "import os\n\nos.listdir(os.path.join('..', '..'))", "file-access"),
    ("write-outside", "with open('/tmp/answers.txt', 'w') as f:\n    f.write('x')", "file-access"),
    ("write-home", "np.save('~/stolen.npy', np.zeros(3))", "file-access"),
    ("shutil-copy", "import shutil\n\nshutil.copy('01_activations.ipynb', '/tmp/x.ipynb')", "file-access"),
    ("writefile-magic", "%%writefile ../nn_helpers.py\nprint('hi')", "file-access"),
    ("non-literal-open", "with open(path) as f:\n    text = f.read()", "file-access"),
    ("network", "import socket\n\nsocket.create_connection(('example.com', 80))", "network"),
    ("urllib", "from urllib.request import urlopen\n\nurlopen('http://example.com')", "network"),
    ("fork-bomb", "import os\n\nwhile True:\n    os.fork()", "process"),
    ("subprocess", "import subprocess\n\nsubprocess.run(['cat', '/etc/passwd'])", "process"),
    ("os-system", "import os\n\nos.system('ls ..')", "process"),
    ("multiprocessing", "from multiprocessing import Process", "process"),
    ("shell-escape", "!cat ../../../gradebook.db", "process"),
    ("shell-capture", "files = !ls ..", "process"),
    ("pip-magic", "%pip install torch", "process"),
    ("bash-magic", "%%bash\nrm -rf ~", "process"),
    ("os-exit", "import os\n\nos._exit(1)", "os-exit"),
    ("os-kill", "import os\n\nos.kill(os.getpid(), 9)", "os-exit"),
    ("from-os-exit", "from os import _exit\n_exit(0)", "os-exit"),
    ("getattr-os-exit", "import os\n\ngetattr(os, '_exit')(0)", "os-exit"),
    ("signal", "import signal\n\nsignal.signal(signal.SIGINT, signal.SIG_IGN)", "signal"),
    ("ctypes", "import ctypes\n\nctypes.string_at(0)", "ctypes"),
    ("from-ctypes", "from ctypes import CDLL", "ctypes"),
    ("getframe", "import sys\n\nreference = sys._getframe(2).f_locals['want']", "frame-walk"),
    ("inspect-stack", "import inspect\n\nfor frame in inspect.stack():\n    print(frame.frame.f_locals)",
     "frame-walk"),
    ("f-back", "def grab():\n    frame = __import__('sys')._getframe()\n    return frame.f_back.f_globals",
     "frame-walk"),
    ("gc-objects", "import gc\n\nrefs = [o for o in gc.get_objects() if type(o).__name__ == 'ReLU']",
     "frame-walk"),
    ("subclasses", "classes = object.__subclasses__()", "frame-walk"),
    ("func-globals", "check_globals = gradient_check.__globals__", "frame-walk"),
    ("settrace", "import sys\n\nsys.settrace(tracer)", "frame-walk"),
    ("syntax-error", "class ReLU(Layer):\n    def forward(self, x)\n        return x", "syntax-error"),
]


@pytest.mark.parametrize("code, rule", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_code_is_flagged(code, rule):
    found = scan(code)
    assert rule in {f.rule for f in found}, found
    lines = code.split("\n")
    for f in found:  # the detail quotes the offending line, which exists in the cell
        assert 1 <= f.line <= len(lines) and f.severity in (HIGH, LOW)
        assert lines[f.line - 1].strip()[:40] in f.detail


def test_every_rule_has_a_hostile_case():
    rules = {case[2] for case in HOSTILE}
    assert {"import-reference", "import-framework", "monkeypatch", "sys-modules", "dynamic-import", "exec-eval",
            "file-access", "ctypes", "os-exit", "process", "network", "signal", "frame-walk", "ipython",
            "syntax-error"} <= rules


def test_severity():
    """Clear cheats are high; a non-literal path or sys.path is only worth a look."""
    assert {f.severity for f in scan("import solutions")} == {HIGH}
    assert {f.severity for f in scan("np.allclose = print")} == {HIGH}
    assert {f.severity for f in scan("with open(path) as f:\n    pass")} == {LOW}
    assert {f.severity for f in scan("import sys\nsys.path.append('lib')")} == {LOW}
    assert {f.severity for f in scan("plt.rcdefaults = None")} == {LOW}  # matplotlib: nothing graded
    # a module's name reused for the student's own value: probably not a patch
    assert {f.severity for f in scan("import copy\ncopy = np.zeros(3)\ncopy.flags.writeable = False")} == {LOW}


LEGIT = {
    "relu": '''class ReLU(Layer):
    """ReLU: y = max(0, x)."""

    def forward(self, x):
        self._positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad_output):
        return grad_output * self._positive
''',
    "evaluate-eval-mode": '''def accuracy(model, loader):
    eval_mode = not model.training
    model.eval()
    hits = [(model(x).argmax(axis=1) == y).mean() for x, y in loader]
    if not eval_mode:
        model.train()
    return float(np.mean(hits))
''',
    "own-eval-method": '''class Model(Layer):
    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.eval()
        return self


model = Model()
model.eval()
layer = ReLU()
layer.training = False
layer.cache = {"x": np.ones(3)}
setattr(layer, "scale", 2.0)
print(getattr(layer, "scale"), vars(layer), type(layer).__name__, isinstance(layer, Layer))
''',
    "experiments": '''%matplotlib inline
np.random.seed(0)
rng = np.random.default_rng(42)
x = rng.normal(size=(4, 6))
plt.rcParams["figure.figsize"] = (8, 4)
plt.plot(x[0], label="x")
plt.legend()
plt.show()
print(f"epoch {1}/{10}: {0.5:.3f}")
with np.errstate(over="raise"):
    y = np.exp(-np.abs(x))
np.testing.assert_allclose(y, y)
assert np.allclose(y, y), "y"
warnings.warn("just a warning")
''',
    "magics-and-help": '''%load_ext autoreload
%autoreload 2
%timeit -n 3 -r 2 np.maximum(x, 0)
%time y = np.maximum(x, 0)
np.maximum?
''',
    "cell-magic-time": "%%time\nrelu = ReLU()\ny = relu.forward(np.ones((2, 3)))\n",
    "stderr-and-copies": '''import copy
import sys
import math
from collections import OrderedDict
from IPython.display import display, clear_output
from tqdm.auto import tqdm

best = copy.deepcopy(model)
print("debug", file=sys.stderr)
sys.setrecursionlimit(2000)
for epoch in tqdm(range(3)):
    clear_output(wait=True)
    display(math.sqrt(epoch))
''',
    "relative-files": '''import json
from pathlib import Path

from nn_helpers import load_from_notebook

ReLU = load_from_notebook("01_activations.ipynb", "ReLU")
notes = json.loads(Path("01_activations.ipynb").read_text(encoding="utf-8"))
with open("my_notes.txt", "w") as f:
    f.write("done")
np.save("weights.npy", np.zeros(3))
plt.savefig(f"relu_{1}.png")
''',
    "local-shadowing": '''def step(copy, code, open):
    copy.shape = (3,)
    return code, open


def f():
    np = {"allclose": 1}
    np["allclose"] = 2
    return np
''',
    "sklearn-and-digits": '''from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score

digits = load_digits()
print(accuracy_score(digits.target, digits.target))
''',
}


def student_definitions():
    """Every top-level class and function of the test suite's student modules (alternative correct
    implementations, realistic bugs, the seed notebook) as the source of one notebook cell."""
    cells = {}
    for module in ("correct", "mutants", "seed"):
        text = (ROOT / "tests" / "students" / f"{module}.py").read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                cells[f"{module}.{node.name}"] = ast.get_source_segment(text, node)
    return cells


@pytest.mark.parametrize("code", LEGIT.values(), ids=LEGIT.keys())
def test_student_code_is_not_flagged(code):
    assert scan(code) == []


def test_test_suite_students_are_not_flagged():
    cells = student_definitions()
    assert len(cells) > 60
    flagged = {name: found for name, code in cells.items() if (found := scan(code))}
    assert flagged == {}


@pytest.mark.parametrize("folder", [SOURCE, RELEASE], ids=["source", "release"])
def test_course_notebooks_have_no_flags(folder):
    known = course_cells(ROOT)
    for path in sorted(folder.glob("*.ipynb")):
        assert scan_notebook(path, known) == [], path.name


def test_course_code_never_trips_a_rule():
    """Even unknown (as if a student had edited every cell), the release's code raises nothing,
    and the source only the hidden tests' imports of the reference checks."""
    for path in sorted(RELEASE.glob("*.ipynb")):
        assert scan_notebook(path) == [], path.name
    for path in sorted(SOURCE.glob("*.ipynb")):
        for flag in scan_notebook(path):
            assert flag["cell"].endswith("_hidden") and flag["rule"] == "import-reference", flag
            assert "from solutions.checks import" in flag["detail"]


def notebook_with(tmp_path, *cells, name="01_activations.ipynb"):
    """A minimal notebook file with these (source, metadata) code cells."""
    nb = {"cells": [{"cell_type": "code", "id": f"c{i}", "metadata": md, "source": src, "outputs": [],
                     "execution_count": None} for i, (src, md) in enumerate(cells)],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_whitelist_is_by_source_not_metadata(tmp_path):
    """A hidden-test cell as the course wrote it is skipped; the same cell edited (or stripped of
    its metadata, or claiming to be a test) is scanned; labels are grade_id, cell id or index."""
    known = course_cells(ROOT)
    hidden = next(src for src in known if "check_relu(ReLU)" in src)
    graded = {"nbgrader": {"grade": True, "grade_id": "relu_hidden", "locked": True, "points": 2}}
    path = notebook_with(tmp_path, (hidden, graded), (hidden + "\nimport torch", graded),
                         ("import torch", {}), ("print('ok')", {}))
    flags = scan_notebook(path, known, student="mallory")
    lines = hidden.split("\n")
    import_line = 1 + next(i for i, line in enumerate(lines) if line.startswith("from solutions.checks"))
    assert [(f["cell"], f["line"], f["rule"]) for f in flags] == [
        ("relu_hidden", import_line, "import-reference"), ("relu_hidden", len(lines) + 1, "import-framework"),
        ("c2", 1, "import-framework")]
    assert {f["student"] for f in flags} == {"mallory"} and {f["notebook"] for f in flags} == {"01_activations"}


def test_magic_and_syntax_errors(tmp_path):
    path = notebook_with(tmp_path, ("%matplotlib inline\nx = np.ones(3)", {}),
                         ("x = 1\ny = (\n", {}), ("x = 1\n%%time\ny = 2", {}))
    flags = scan_notebook(path)  # a cell magic below the first line is an unknown line magic to IPython
    assert [(f["cell"], f["rule"]) for f in flags] == [("c1", "syntax-error"), ("c2", "magic")]
    assert flags[0]["line"] == 2 and "y = (" in flags[0]["detail"]


@pytest.mark.parametrize("content", [b"{\"cells\": [", b"[1, 2]", b"{\"cells\": 3}", b"\xff\xfe\x00garbage", b""])
def test_unreadable_notebook_is_one_flag(tmp_path, content):
    path = tmp_path / "02_linear.ipynb"
    path.write_bytes(content)
    (flag,) = scan_notebook(path, student="bob")
    assert (flag["student"], flag["notebook"], flag["rule"]) == ("bob", "02_linear", "unreadable")


def test_odd_cells_do_not_crash(tmp_path):
    nb = {"cells": [7, {"cell_type": "code"}, {"cell_type": "code", "source": ["import ", "torch"], "metadata": None},
                    {"cell_type": "code", "source": "x = '\\d'\n" + "(" * 300 + ")" * 300},
                    {"cell_type": "code", "source": "a = 1\x00"}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert [(f["cell"], f["rule"]) for f in scan_notebook(path)] == [
        ("cell 3", "import-framework"), ("cell 4", "syntax-error"), ("cell 5", "syntax-error")]


# --- the simulated class ------------------------------------------------------------------------

# Students whose notebooks the scan must flag, with the rules; every other student has none.
EXPECTED_CLASS_FLAGS = {
    "invalid_json": {("03_sequential", "unreadable")},
    "monkeypatch_checks": {("01_activations", "import-reference"), ("01_activations", "monkeypatch")},
    "reference_import": {("01_activations", "import-reference")},
    "sigint_ignored": {("01_activations", "signal")},
    "os_exit": {("01_activations", "os-exit")},
    "segfault": {("01_activations", "ctypes")},
}


@pytest.fixture(scope="module")
def class_course(tmp_path_factory):
    """A course folder with the committed release and source and the whole simulated class submitted."""
    root = tmp_path_factory.mktemp("scan_course")
    for folder in ("release", "source", "nbgrader_config.py"):
        (root / folder).symlink_to(ROOT / folder)
    build_class(RELEASE, SOURCE, root / "submitted")
    return root


def test_simulated_class(class_course):
    start = time.perf_counter()
    flags = scan_course(class_course)
    seconds = time.perf_counter() - start
    print(f"\nscan of {len(STUDENTS)} submissions: {seconds:.2f} s, {len(flags)} flags")
    got = {}
    for f in flags:
        got.setdefault(f["student"], set()).add((f["notebook"], f["rule"]))
    assert got == EXPECTED_CLASS_FLAGS
    assert all(f["severity"] == HIGH for f in flags if f["rule"] != "unreadable")
    assert seconds < 30


def test_scan_command_saves_flags(class_course, capsys):
    assert nncourse(["--course", str(class_course), "scan"]) == 0
    saved = load_flags(class_course)
    assert {f["student"] for f in saved} == EXPECTED_CLASS_FLAGS.keys()
    assert "flags (" in capsys.readouterr().out
    assert load_flags(class_course / "nowhere") is None


def test_scan_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        nncourse(["scan", "--help"])
    assert exit_info.value.code == 0 and "cheat scan" in capsys.readouterr().out


# --- the per-question CSV -----------------------------------------------------------------------

def test_csv_flags_column(tmp_path):
    structure = {"01_a": {"q1": 2}, "02_b": {"q2": 3}}
    results = [NotebookResult(s, nb, GRADED, "", {q: (1, m) for q, m in structure[nb].items()})
               for s in ("alice", "bob") for nb in structure]
    flags = [{"student": "bob", "notebook": "02_b", "rule": r, "severity": HIGH} for r in
             ("monkeypatch", "import-reference", "monkeypatch")]
    plain_header, plain_rows = per_question_rows(results, structure)
    assert "01_a/flags" not in plain_header  # unchanged without flags

    header, rows = per_question_rows(results, structure, flags)
    assert header == ["student", "01_a/q1", "01_a/total", "01_a/nbgrader", "01_a/status", "01_a/reason", "01_a/flags",
                      "02_b/q2", "02_b/total", "02_b/nbgrader", "02_b/status", "02_b/reason", "02_b/flags",
                      "total", "max_total", "status"]
    table = {row[0]: dict(zip(header, row)) for row in rows}
    assert table["bob"]["02_b/flags"] == "monkeypatch x2; import-reference"
    assert table["alice"]["02_b/flags"] == table["bob"]["01_a/flags"] == ""
    assert table["bob"]["total"] == 2 and table["bob"]["status"] == GRADED  # a flag is not a grade

    with write_csv(tmp_path / "g.csv", results, structure, flags).open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == header
