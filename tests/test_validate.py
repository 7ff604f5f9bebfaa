"""Validate tells the truth: a student's `nbgrader validate` and JupyterLab's Validate button.

Stock nbgrader validates only graded cells, which here are the hidden tests (empty in the
release), so an untouched notebook "passes".  The student's configuration
(course/lab/student/nbgrader_config.py, installed by `make lab-student` in the view's Jupyter
config folder) makes Validate check every cell and explain each failure in Russian.  These
tests run the real `nbgrader validate` on a copy of the release as a student has it, and ask the
Validate endpoint of a student's JupyterLab; tests/test_browser.py clicks the button.
"""
import ast
import itertools
import json
import re
import runpy
import shutil
import subprocess
import sys
import urllib.request

import nbformat
import pytest
from traitlets.config import Config

from course.authoring.apps import hermetic_env
from course.demo.classroom import STUDENTS, reference
from course.lab import server as lab
from course.settings import ASSIGNMENT, ROOT

RELEASE, SOURCE = ROOT / "release" / ASSIGNMENT, ROOT / "source" / ASSIGNMENT
SUCCESS = "Success! Your notebook passes all the tests."
FAILED = "ПРОВЕРКА НЕ ПРОЙДЕНА: ячеек с ошибками — {}."
STUB_LEFT = "В {}.forward ещё стоит заглушка raise NotImplementedError(): замените её своим"
ACTIVATIONS = ("ReLU", "Sigmoid", "Tanh")


def headline(name, grade_id):
    return f"✗ Открытые тесты {name} не пройдены (ячейка {grade_id})."


def student(tmp_path, build=None):
    """A student's folder (the release, or ``build``'s submission) with the student's Jupyter config."""
    folder = tmp_path / "student"
    if build is not None:
        build(RELEASE, SOURCE, folder / ASSIGNMENT)
    view = lab.student_view(folder=folder)  # copies the release unless the folder holds a submission
    lab.write_student_nbgrader_config(view.home)
    return view


def validate(view, *notebooks):
    """`nbgrader validate` in a terminal of the student's JupyterLab: its folder, its HOME; the report (stdout)."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", *notebooks], cwd=view.root,
                          env=hermetic_env(view.home), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]  # nbgrader reports failing cells on stdout, exit status 0
    assert "fatal error" not in done.stderr, done.stderr[-3000:]
    return done.stdout


# --- the student's configuration --------------------------------------------------------------------

def test_the_student_config_is_self_contained_and_holds_no_answer():
    text = lab.STUDENT_NBGRADER_CONFIG.read_text(encoding="utf-8")
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(text))
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(text))
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"re", "textwrap"}, imported  # a student's machine has no course package
    for secret in ("solutions", "probes", "check_", "BEGIN HIDDEN", "BEGIN SOLUTION"):
        assert secret not in text, secret


def load_config():
    config = Config()
    namespace = runpy.run_path(str(lab.STUDENT_NBGRADER_CONFIG), init_globals={"get_config": lambda: config})
    return namespace, config


def test_the_students_copy_of_is_demo_agrees_with_the_courses():
    """The student's configuration keeps its own is_demo (it is self-contained); it must say what the
    autograder's says (course.authoring.build.is_demo) for every cell of the course and for tampered ones."""
    from course.authoring.build import is_demo

    namespace, _ = load_config()
    cells = [cell for path in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb"))
             for cell in nbformat.read(path, as_version=4).cells]
    for kind, locked, grade, solution, grade_id in itertools.product(
            ("code", "markdown"), (True, False), (True, False), (True, False), ("demo_curves", "relu", "")):
        meta = {"locked": locked, "grade": grade, "solution": solution, "grade_id": grade_id}
        cells.append(nbformat.NotebookNode({"cell_type": kind, "source": "", "metadata": {"nbgrader": meta}}))
    cells.append(nbformat.NotebookNode({"cell_type": "code", "source": "", "metadata": {}}))
    assert sum(is_demo(cell) for cell in cells) > 8
    assert [namespace["is_demo"](cell) for cell in cells] == [is_demo(cell) for cell in cells]


def test_the_config_sets_nbgraders_own_switches():
    namespace, config = load_config()
    assert config.Validator.validate_all is True
    assert config.Execute.on_cell_error is namespace["explain_failure"]
    assert config.Execute.on_cell_start is namespace["skip_demonstration"]
    assert config.Execute.skip_cells_with_tag == namespace["SKIP_TAG"]
    for key in ("failed_warning", "changed_warning", "type_changed_warning"):
        assert re.search(r"[а-яА-Я]", config.Validator[key]), key


@pytest.mark.parametrize("ename, evalue, traceback, expected", [
    ("NotImplementedError", "", ["Cell In[2], line 15, in ReLU.forward(self, x)"],
     "В ReLU.forward ещё стоит заглушка raise NotImplementedError(): замените её своим кодом."),
    ("AssertionError", "backward: получено [1], ожидалось [0]", [], "Проверка не прошла: backward: получено [1], ожидалось [0]"),
    ("AssertionError", "", ["Cell In[4], line 3, in check(a)"], "Проверка не прошла в check (строка 3 ячейки с его кодом)."),
    ("CellTimeoutError", "", [], "Ячейка не уложилась в отведённое время и была прервана: нет ли в коде бесконечного цикла?"),
    ("SyntaxError", "invalid syntax (3046412.py, line 5)", [], "Ошибка SyntaxError: invalid syntax (строка 5)"),
    ("TypeError", "bad operand", ["\x1b[0;31mCell In[7], line 30, in DataLoader.__init__(self)\x1b[0m"],
     "Ошибка TypeError в DataLoader.__init__ (строка 30 ячейки с его кодом): bad operand"),
])
def test_each_error_reads_as_a_reason(ename, evalue, traceback, expected):
    namespace, _ = load_config()
    assert namespace["reason"](ename, evalue, traceback) == expected


def test_explanations_fit_the_terminal_and_keep_code_whole():
    namespace, _ = load_config()
    cell = nbformat.v4.new_code_cell('print("✓ открытые тесты forward/backward/инициализации Linear пройдены")')
    cell.metadata["nbgrader"] = {"grade_id": "linear_visible_tests", "locked": True, "grade": False, "solution": False}
    cell.outputs = [nbformat.v4.new_output("error", ename="NotImplementedError", evalue="",
                                           traceback=["Cell In[5], line 9, in Linear.backward(self, grad_output)"])]
    namespace["explain_failure"](cell=cell, cell_index=3, execute_reply={})
    lines = cell.outputs[0].traceback
    assert all(len(line) <= namespace["WIDTH"] for line in lines), lines
    assert " ".join(lines).startswith(headline("forward/backward/инициализации Linear", "linear_visible_tests"))
    assert any("raise NotImplementedError()" in line for line in lines), lines


# --- the terminal ------------------------------------------------------------------------------------

def test_untouched_release_names_each_failing_visible_test(tmp_path):
    view = student(tmp_path)
    output = validate(view, f"{ASSIGNMENT}/01_activations.ipynb")
    assert FAILED.format(3) in output and SUCCESS not in output
    joined = " ".join(output.split())  # nbgrader indents and the explanations wrap
    for name in ACTIVATIONS:
        assert headline(name, f"{name.lower()}_visible_tests") in joined, name
        assert STUB_LEFT.format(name) in joined, name
    assert output.count("The following cell failed:") == 3
    assert "plt.show()" not in output  # the demonstration is not run, so never reported
    assert "Traceback" not in output and "/tmp/" not in output


def test_the_filled_notebooks_validate_clean(tmp_path):
    """The reference answers in the release: all eight notebooks, demonstrations included, validate clean."""
    view = student(tmp_path, reference)
    output = validate(view, *(f"{ASSIGNMENT}/{path.name}" for path in sorted(RELEASE.glob("*.ipynb"))))
    assert output.count(SUCCESS) == 8 and "ПРОВЕРКА" not in output and "✗" not in output, output[-3000:]


def test_the_source_notebooks_validate_clean(tmp_path):
    """The instructor's source notebooks, hidden tests included, pass the student's stricter Validate too."""
    folder = tmp_path / "course"
    shutil.copytree(SOURCE, folder / ASSIGNMENT)
    view = lab.LabView("student", folder, folder / ".home", ASSIGNMENT)
    lab.write_student_nbgrader_config(view.home)
    output = validate(view, f"{ASSIGNMENT}/*.ipynb")
    assert output.count(SUCCESS) == 8 and "✗" not in output, output[-3000:]


def test_one_bug_fails_exactly_its_visible_test(tmp_path):
    view = student(tmp_path, STUDENTS["relu_kink"].build)
    output = validate(view, f"{ASSIGNMENT}/01_activations.ipynb")
    joined = " ".join(output.split())
    assert FAILED.format(1) in output
    assert headline("ReLU", "relu_visible_tests") in joined
    assert "Проверка не прошла: backward: получено" in joined and "в нуле производная ReLU равна 0" in joined


def test_broken_code_is_reported_but_warnings_and_demonstrations_are_not(tmp_path):
    """A syntax error in the Sigmoid answer fails its own cell and the Sigmoid tests; a scratch cell that
    only warns, and the demonstration that would now fail too, are not failures."""
    def build(release, source, dest):
        reference(release, source, dest)
        path = dest / "01_activations.ipynb"
        nb = nbformat.read(path, as_version=4)
        sigmoid = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid")
        sigmoid.source = sigmoid.source.replace("def backward(self, grad_output):", "def backward(self, grad_output)")
        nb.cells.insert(nb.cells.index(sigmoid), nbformat.v4.new_code_cell(
            'import sys\nwarnings.warn("черновик")\nprint("отладка", file=sys.stderr)\nprint("ok")'))
        nbformat.write(nb, path)

    view = student(tmp_path, build)
    output = validate(view, f"{ASSIGNMENT}/01_activations.ipynb")
    joined = " ".join(output.split())
    assert FAILED.format(2) in output, output[-3000:]
    assert "✗ Ячейка с вашим решением (sigmoid) выполняется с ошибкой. Ошибка SyntaxError" in joined
    assert headline("Sigmoid", "sigmoid_visible_tests") in joined
    assert "Ошибка NameError: name 'Sigmoid' is not defined" in joined
    assert "черновик" not in output and "plt.show()" not in output


# --- JupyterLab's Validate endpoint (the button's request; the browser test clicks it) -----------------

def post_validate(server, path):
    request = urllib.request.Request(f"{server.base}/assignments/validate?path={path}", data=b"", method="POST",
                                     headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def test_jupyterlab_validate_reads_the_students_config(tmp_path):
    view = student(tmp_path)
    path = f"{ASSIGNMENT}/01_activations.ipynb"
    with lab.start(view) as server:
        answer = post_validate(server, path)
        assert answer["success"] is True, answer
        failed = answer["value"]["failed"]
        assert [" ".join(f["raw_error"].split()).split(" Открытые тесты ")[1].split()[0] for f in failed] \
            == list(ACTIVATIONS)
        assert all(f["raw_error"].startswith("✗ Открытые тесты") for f in failed), failed

        reference(RELEASE, SOURCE, tmp_path / "filled")
        shutil.copy(tmp_path / "filled" / "01_activations.ipynb", view.root / path)
        assert post_validate(server, path) == {"success": True, "value": {}}
