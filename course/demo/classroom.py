"""A simulated class: submission folders built from the real release and source notebooks.

Every student starts from ``release/nn_layers`` as handed out.  ``reference``
fills each solution cell with the answer from ``source/nn_layers`` (the
``### BEGIN/END SOLUTION`` marker lines removed, as a student would type it);
a buggy student is the reference with a line or two of one answer patched
(``Patch``: a textual replace whose old text must occur exactly once, so a
change of the reference is caught, not silently skipped).  Hostile students
break files, tamper with graded cells, hang or kill the kernel, flood the
output, are noisy on stderr, or try to shadow or disarm the checks.
``Student.kind`` groups them: correct, bug, file, tamper, kernel (slow: they
wait for a timeout or a dying kernel), noise, exploit (beats nbgrader's in-kernel score; the audit flags it).

Pure file manipulation (nbformat, json, shutil): nothing here runs nbgrader,
a kernel or student code.

    build_class(ROOT / "release/nn_layers", ROOT / "source/nn_layers", ROOT / "submitted")

writes ``submitted/<name>/nn_layers/`` for every student in ``STUDENTS`` and
returns ``{name: description}``.  Each student's ``expect`` (an ``Expect``)
states what a correct grader must report; ``Expect.violations`` compares it
with the grader's ``NotebookResult`` records (course.grading.results).
"""
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from ..grading.results import FAILED, GRADED, MANUAL, MISSING
from ..settings import ASSIGNMENT
IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

# The graded cells of the assignment, per notebook (tests keep this in sync with source/).
GRADE_IDS = {
    "01_activations": ("relu_hidden", "sigmoid_hidden", "tanh_hidden"),
    "02_linear": ("linear_hidden",),
    "03_sequential": ("sequential_hidden",),
    "04_dropout": ("dropout_hidden",),
    "05_batchnorm": ("batchnorm_hidden",),
    "06_optimizers": ("sgd_hidden", "adam_hidden"),
    "07_losses": ("softmax_hidden", "one_hot_encode_hidden", "cross_entropy_hidden", "mse_hidden"),
    "08_training": ("dataloader_hidden", "train_epoch_hidden", "evaluate_hidden", "training_hidden"),
}
ALL_CELLS = frozenset(g for ids in GRADE_IDS.values() for g in ids)


# --- expectations ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """What a correct grader must report for one submission.

    Every notebook of the assignment is GRADED and every graded cell scores
    full marks, except:
      zero     grade_ids that must score exactly 0;
      free     grade_ids whose score is not asserted;
      failed   notebooks that must be FAILED (present, but no grade is possible);
      missing  notebooks that must be MISSING (no file under the expected name);
      may_fail notebooks that may be FAILED instead; if graded, the cell rules hold.
    A graded cell's maximum must always be the assignment's (a submission cannot change it).
    MANUAL ("needs manual grading") counts as graded: the scores must still obey the rules.
    """
    zero: frozenset = frozenset()
    free: frozenset = frozenset()
    failed: frozenset = frozenset()
    missing: frozenset = frozenset()
    may_fail: frozenset = frozenset()

    def __post_init__(self):
        for name in ("zero", "free", "failed", "missing", "may_fail"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        notebooks = self.failed | self.missing | self.may_fail
        assert notebooks <= GRADE_IDS.keys(), notebooks - GRADE_IDS.keys()
        assert (self.zero | self.free) <= ALL_CELLS, (self.zero | self.free) - ALL_CELLS
        assert not self.zero & self.free and not self.failed & self.missing
        assert not (self.failed | self.missing) & self.may_fail

    def notebook_rule(self, notebook):
        """'failed', 'missing', 'graded or failed' or 'graded'."""
        if notebook in self.failed:
            return "failed"
        if notebook in self.missing:
            return "missing"
        return "graded or failed" if notebook in self.may_fail else "graded"

    def cell_rule(self, grade_id):
        """'zero', 'any' or 'full' (when its notebook is graded)."""
        return "zero" if grade_id in self.zero else "any" if grade_id in self.free else "full"

    def full_notebooks(self):
        """Notebooks that must be graded with full marks on every cell."""
        return {nb for nb, ids in GRADE_IDS.items()
                if self.notebook_rule(nb) == "graded" and all(self.cell_rule(g) == "full" for g in ids)}

    def violations(self, results, structure=None):
        """Where ``results`` break the expectation: a list of messages, empty if none.

        results: {notebook: NotebookResult} or an iterable of NotebookResult (one student);
        structure: {notebook: {grade_id: max_points}} (course.grading.results.assignment_structure),
        GRADE_IDS with unchecked maxima if None.
        """
        if not isinstance(results, Mapping):
            results = {r.notebook: r for r in results}
        if structure is None:
            structure = {nb: dict.fromkeys(ids) for nb, ids in GRADE_IDS.items()}
        problems = []
        for notebook, cells in structure.items():
            rule, result = self.notebook_rule(notebook), results.get(notebook)
            if result is None:
                problems.append(f"{notebook}: no result (expected {rule})")
                continue
            status = result.status
            graded = status in (GRADED, MANUAL)
            ok = {"failed": status == FAILED, "missing": status == MISSING,
                  "graded or failed": graded or status == FAILED, "graded": graded}[rule]
            if not ok:
                problems.append(f"{notebook}: {status} ({result.reason}), expected {rule}")
                continue
            if not graded:
                continue
            for grade_id, maximum in cells.items():
                if grade_id not in result.cells:
                    problems.append(f"{notebook}/{grade_id}: no score")
                    continue
                score, got_max = result.cells[grade_id]
                if maximum is not None and got_max != maximum:
                    problems.append(f"{notebook}/{grade_id}: max {got_max}, the assignment says {maximum}")
                cell_rule = self.cell_rule(grade_id)
                if cell_rule == "zero" and score != 0:
                    problems.append(f"{notebook}/{grade_id}: {score}/{got_max}, expected 0")
                elif cell_rule == "full" and score != got_max:
                    problems.append(f"{notebook}/{grade_id}: {score}/{got_max}, expected full marks")
        return problems

    def __str__(self):
        parts = []
        if self.failed:
            parts.append("failed: " + ", ".join(sorted(self.failed)))
        if self.missing:
            parts.append("missing: " + ", ".join(sorted(self.missing)))
        if self.may_fail:
            parts.append("graded or failed: " + ", ".join(sorted(self.may_fail)))
        if self.zero == ALL_CELLS:
            parts.append("zero on every cell")
        elif self.zero:
            parts.append("zero: " + ", ".join(sorted(self.zero)))
        if self.free:
            parts.append("not asserted: " + ", ".join(sorted(self.free)))
        if not parts:
            return "full"
        if self.zero != ALL_CELLS:
            parts.append("full marks elsewhere")
        return "; ".join(parts)


FULL = Expect()
ZERO = Expect(zero=ALL_CELLS)


# --- the two base submissions ---------------------------------------------------------------------

def _new_folder(dest):
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty; build_class replaces a student's folder, builders do not")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def untouched(release_dir, source_dir, dest):
    """The release exactly as handed out: every answer a stub."""
    shutil.copytree(release_dir, _new_folder(dest), ignore=IGNORED, dirs_exist_ok=True)


def strip_markers(text):
    """The answer as a student would type it: nbgrader's marker lines removed."""
    return "\n".join(line for line in text.split("\n") if line.strip() not in MARKERS)


def _solution_cells(nb):
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def reference(release_dir, source_dir, dest):
    """The release with every solution cell's code taken from the source notebook (full marks)."""
    untouched(release_dir, source_dir, dest)
    dest, source_dir = Path(dest), Path(source_dir)
    for path in sorted(dest.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        answers = _solution_cells(nbformat.read(source_dir / path.name, as_version=4))
        cells = _solution_cells(nb)
        assert cells.keys() == answers.keys(), f"{path.name}: solution cells {sorted(cells)} != {sorted(answers)}"
        for grade_id, cell in cells.items():
            cell.source = strip_markers(answers[grade_id].source)
        nbformat.write(nb, path)


def submit(course, student, build=reference):
    """Hand in ``build``'s submission (e.g. ``reference``, ``untouched``) as ``student`` of ``course``."""
    course = Path(course)
    build(course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT, course / "submitted" / student / ASSIGNMENT)


# --- editing one notebook of a built submission -----------------------------------------------------

@dataclass(frozen=True)
class Patch:
    """Replace ``old`` (must occur exactly once) by ``new`` in one solution cell."""
    notebook: str
    cell: str  # grade_id of the solution cell
    old: str
    new: str


def _edit(dest, notebook, change):
    path = Path(dest) / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def _cell(nb, grade_id):
    found = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(found) == 1, f"{len(found)} cells with grade_id {grade_id!r}"
    return found[0]


def apply_patch(dest, patch):
    def change(nb):
        cell = _cell(nb, patch.cell)
        assert cell.metadata.nbgrader.get("solution"), f"{patch.cell} is not a solution cell"
        count = cell.source.count(patch.old)
        assert count == 1, f"{patch.notebook}/{patch.cell}: {patch.old!r} occurs {count} times (the reference changed?)"
        cell.source = cell.source.replace(patch.old, patch.new)
    _edit(dest, patch.notebook, change)


def patched(*patches, base=reference):
    """A builder: ``base`` (reference by default) with ``patches`` applied in order."""
    def build(release_dir, source_dir, dest):
        base(release_dir, source_dir, dest)
        for patch in patches:
            apply_patch(dest, patch)
    return build


def then(base, *changes):
    """A builder: ``base``, then each ``change(dest)`` in order."""
    def build(release_dir, source_dir, dest):
        base(release_dir, source_dir, dest)
        for change in changes:
            change(Path(dest))
    return build


# --- bugs: each a few lines of one answer -------------------------------------------------------------

@dataclass(frozen=True)
class Bug:
    description: str
    patches: tuple
    zero: frozenset  # the graded cells that must score 0


def _bug(description, notebook, cell, zero, *old_new):
    pairs = list(zip(old_new[::2], old_new[1::2]))
    return Bug(description, tuple(Patch(notebook, cell, old, new) for old, new in pairs), frozenset(zero))


BUGS = {
    # the seed notebook's mistakes (/work/shared/seed, tests/students/seed.py)
    "sigmoid_overflow": _bug(
        "Sigmoid as 1 / (1 + exp(-x)): exp overflows at x = -1000", "01_activations", "sigmoid", {"sigmoid_hidden"},
        "        z = np.exp(-np.abs(x))  # never overflows: the exponent is <= 0\n"
        "        self._y = np.where(x >= 0, 1 / (1 + z), z / (1 + z))",
        "        self._y = 1 / (1 + np.exp(-x))"),
    "tanh_clip": _bug(
        "Tanh output clipped to ±0.999999", "01_activations", "tanh", {"tanh_hidden"},
        "self._y = np.tanh(x)", "self._y = np.clip(np.tanh(x), -0.999999, 0.999999)"),
    "linear_zero_grad_rebinds": _bug(
        "Linear.zero_grad creates new arrays instead of zeroing in place", "02_linear", "linear", {"linear_hidden"},
        "return [self.grad_weight] if self.bias is None else [self.grad_weight, self.grad_bias]",
        "return [self.grad_weight] if self.bias is None else [self.grad_weight, self.grad_bias]\n\n"
        "    def zero_grad(self):\n"
        "        self.grad_weight = np.zeros_like(self.grad_weight)\n"
        "        if self.bias is not None:\n"
        "            self.grad_bias = np.zeros_like(self.grad_bias)"),
    "sequential_generator": _bug(
        "Sequential.parameters()/gradients() are generators yielding each layer's list whole",
        "03_sequential", "sequential", {"sequential_hidden"},
        "        return [p for layer in self.layers for p in layer.parameters()]",
        "        for layer in self.layers:\n            yield layer.parameters()",
        "        return [g for layer in self.layers for g in layer.gradients()]",
        "        for layer in self.layers:\n            yield layer.gradients()"),
    "bn_momentum": _bug(
        "BatchNorm running statistics with the momentum weights swapped (momentum on the old value)",
        "05_batchnorm", "batchnorm", {"batchnorm_hidden"},
        "m = self.momentum\n", "m = 1 - self.momentum\n"),
    "bn_biased_var": _bug(
        "BatchNorm running_var fed the biased batch variance (divides by N, not N - 1)",
        "05_batchnorm", "batchnorm", {"batchnorm_hidden"},
        "self.running_var += m * var * n / (n - 1)", "self.running_var += m * var"),
    "adam_counter": _bug(
        "Adam advances its step counter t once per parameter instead of once per step()",
        "06_optimizers", "adam", {"adam_hidden"},
        "        # Once per call, not per parameter: every m and v has been updated t times.\n"
        "        self.t += 1\n", "",
        "        correction1, correction2 = 1 - b1**self.t, 1 - b2**self.t\n", "",
        "            m *= b1\n",
        "            self.t += 1\n"
        "            correction1, correction2 = 1 - b1**self.t, 1 - b2**self.t\n"
        "            m *= b1\n"),
    "ce_log_eps": _bug(
        "CrossEntropyLoss as -mean(log(p + 1e-15)): caps a confidently wrong sample's loss at 34.5",
        "07_losses", "cross_entropy", {"cross_entropy_hidden"},
        "return float(-log_probs[np.arange(len(target)), target].mean())",
        "return float(-np.mean(np.log(np.exp(log_probs)[np.arange(len(target)), target] + 1e-15)))"),
    "mse_batch_mean": _bug(
        "MSELoss gradient divided by the batch size instead of the number of elements",
        "07_losses", "mse", {"mse_hidden"},
        "return 2 * self._diff / self._diff.size", "return 2 * self._diff / len(self._diff)"),
    "dataloader_range": _bug(
        "DataLoader calls list(range(dataset)) on the (X, y) tuple: TypeError on every construction",
        "08_training", "dataloader", {"dataloader_hidden"},
        "        self.arrays = arrays\n", "        self.arrays = arrays\n        self.order = list(range(dataset))\n"),
    # typical mistakes
    "relu_kink": _bug(
        "ReLU mask x >= 0: gradient 1 at x = 0", "01_activations", "relu", {"relu_hidden"},
        "self._positive = x > 0", "self._positive = x >= 0"),
    "dropout_keep_prob": _bug(
        "Dropout treats p as the keep probability (keeps with p, scales by 1/p)",
        "04_dropout", "dropout", {"dropout_hidden"},
        "keep = np.random.rand(*x.shape) >= p", "keep = np.random.rand(*x.shape) < p",
        "scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)", "scale = 0.0 if p == 0.0 else 1.0 / p"),
    "softmax_unstable": _bug(
        "softmax without subtracting the row maximum: exp overflows for logits ~ 1e3",
        "07_losses", "softmax", {"softmax_hidden"},
        "z = np.exp(x - x.max(axis=-1, keepdims=True))", "z = np.exp(x)"),
}
SEED_BUGS = ("sigmoid_overflow", "tanh_clip", "linear_zero_grad_rebinds", "sequential_generator", "bn_momentum",
             "bn_biased_var", "adam_counter", "ce_log_eps", "mse_batch_mean", "dataloader_range")


# --- hostile edits ------------------------------------------------------------------------------------

TAMPERED = ("05_batchnorm", "batchnorm_hidden")  # the hidden cell the tampering students touch (5 points)
RELU_HEAD = "class ReLU(Layer):\n"
RELU_TAIL = "return grad_output * self._positive"


def _inject_before_relu(code):
    """Code at the top level of 01's relu answer cell, before the class (so ReLU is never defined if it
    does not return).  Top-level statements other than imports are skipped by nn_helpers.load_from_notebook,
    so 02, 03 and 08, which load ReLU from 01, do not run it."""
    return Patch("01_activations", "relu", RELU_HEAD, code + "\n\n" + RELU_HEAD)


def _write_invalid_json(notebook):
    def change(dest):
        path = dest / f"{notebook}.ipynb"
        text = path.read_text(encoding="utf-8")
        path.write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-file, as by an interrupted upload
    return change


def _delete(notebook):
    return lambda dest: (dest / f"{notebook}.ipynb").unlink()


def _rename(notebook, new_name):
    return lambda dest: (dest / f"{notebook}.ipynb").rename(dest / new_name)


def _copy(notebook, new_name):
    return lambda dest: shutil.copy(dest / f"{notebook}.ipynb", dest / new_name)


def _on_cell(notebook, grade_id, change):
    def edit(dest):
        def on_nb(nb):
            change(nb, _cell(nb, grade_id))
        _edit(dest, notebook, on_nb)
    return edit


def _remove(nb, cell):
    nb.cells.remove(cell)


def _set_source(text):
    def change(nb, cell):
        cell.source = text
    return change


def _strip_nbgrader(nb, cell):
    del cell.metadata["nbgrader"]


def _rename_grade_id(nb, cell):
    cell.metadata.nbgrader.grade_id += "_v2"


def _inflate_points(nb, cell):
    cell.metadata.nbgrader.points *= 10


def _as_demo(demo_id):
    """Relabel a hidden-test cell as the course's demonstration ``demo_id`` (which the grader skips)."""
    def change(nb, cell):
        cell.metadata.nbgrader = {"grade": False, "grade_id": demo_id, "locked": True, "schema_version": 3,
                                  "solution": False, "task": False}
    return change


def _with_release_stub(notebook, grade_id, *changes):
    """reference, but one answer left as the release's stub, then ``changes``."""
    def build(release_dir, source_dir, dest):
        reference(release_dir, source_dir, dest)
        stub = _cell(nbformat.read(Path(release_dir) / f"{notebook}.ipynb", as_version=4), grade_id).source
        _edit(dest, notebook, lambda nb: setattr(_cell(nb, grade_id), "source", stub))
        for change in changes:
            change(Path(dest))
    return build


FAKE_CHECKS = '''"""Checks that always pass (a student's attempt to shadow the course's solutions package)."""


def __getattr__(name):
    return lambda *args, **kwargs: print("✓ пройдено")
'''
FAKE_SOLUTIONS_MODULE = '''"""Installs a fake solutions.checks, so `from solutions.checks import ...` finds it."""
import sys
import types

checks = types.ModuleType("solutions.checks")
checks.__getattr__ = lambda name: (lambda *args, **kwargs: print("✓ пройдено"))
sys.modules["solutions.checks"] = checks
'''
FAKE_HELPERS_TAIL = '''

# --- added by the student ---
def gradient_check(layer, x, seed=0, tolerance=1e-6):
    print(f"{type(layer).__name__}: относительная ошибка градиента 0.00e+00")
    return 0.0


try:  # disarm the course's checks in whatever kernel imports this module
    import solutions.checks as _checks
    for _name in dir(_checks):
        if _name.startswith("check_"):
            setattr(_checks, _name, lambda *args, **kwargs: print("✓ пройдено"))
except ImportError:
    pass
'''
REFERENCE_RELU = '''from solutions.activations import ReLU as CourseReLU


class ReLU(CourseReLU):
    """The course's own ReLU, importable in the grading kernel."""'''
MONKEYPATCH_CHECKS = '''import solutions.checks as course_checks

for name in dir(course_checks):
    if name.startswith("check_"):
        setattr(course_checks, name, lambda *args, **kwargs: print("✓ пройдено"))'''


def _add_shadow_files(dest):
    (dest / "solutions" / "checks").mkdir(parents=True)
    (dest / "solutions" / "__init__.py").write_text("", encoding="utf-8")
    (dest / "solutions" / "checks" / "__init__.py").write_text(FAKE_CHECKS, encoding="utf-8")
    (dest / "solutions.py").write_text(FAKE_SOLUTIONS_MODULE, encoding="utf-8")
    helpers = dest / "nn_helpers.py"
    helpers.write_text(helpers.read_text(encoding="utf-8") + FAKE_HELPERS_TAIL, encoding="utf-8")


# --- the class ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Student:
    description: str
    build: Callable  # build(release_dir, source_dir, dest): writes the nn_layers folder at dest
    expect: Expect
    kind: str = "correct"  # correct | bug | file | tamper | kernel | noise | exploit (beats nbgrader's in-kernel score; the audit flags it)
    base: str = ""  # the student it starts from ("reference" or "untouched"); "" for those two
    patches: tuple = field(default=())  # the Patches applied to the base's answers, if any

    @property
    def slow(self):
        """Grading it waits for a per-cell timeout or a dying kernel."""
        return self.kind == "kernel"


def _bug_student(*names, description=None):
    patches = tuple(p for name in names for p in BUGS[name].patches)
    zero = frozenset().union(*(BUGS[name].zero for name in names))
    return Student(description or BUGS[names[0]].description, patched(*patches), Expect(zero=zero), "bug",
                   "reference", patches)


def _patched_student(description, expect, kind, *patches, base=reference):
    return Student(description, patched(*patches, base=base), expect, kind, base.__name__, patches)


RELU_LOST = Expect(zero={"relu_hidden"}, may_fail={"01_activations"})
RELU_LOST_KERNEL_GONE = Expect(zero={"relu_hidden"}, free={"sigmoid_hidden", "tanh_hidden"},
                               may_fail={"01_activations"})
NB, CELL = TAMPERED

def _on_reference(description, expect, kind, *changes):
    return Student(description, then(reference, *changes), expect, kind, "reference")


STUDENTS = {
    # -- the two bases
    "reference": Student("the release with every answer from the source notebooks", reference, FULL),
    "untouched": Student("the release as handed out, every answer a stub", untouched, ZERO),
    # -- the seed student and single bugs
    "seed_student": _bug_student(
        *SEED_BUGS, description="the seed notebook's mistakes together: naive sigmoid, tanh clip, Linear zero_grad "
                                "rebinding, Sequential generators, BatchNorm momentum and biased running_var, Adam "
                                "counter per parameter, CE log(p + 1e-15), MSE / batch size, DataLoader range(tuple)"),
    "bn_momentum": _bug_student("bn_momentum"),
    "adam_counter": _bug_student("adam_counter"),
    "ce_log_eps": _bug_student("ce_log_eps"),
    "relu_kink": _bug_student("relu_kink"),
    "dropout_keep_prob": _bug_student("dropout_keep_prob"),
    "softmax_unstable": _bug_student("softmax_unstable"),
    # -- broken or missing files (reference otherwise)
    "invalid_json": _on_reference(
        "reference, but 03_sequential.ipynb cut in half (not valid JSON)",
        Expect(failed={"03_sequential"}), "file", _write_invalid_json("03_sequential")),
    "missing_notebook": _on_reference(
        "reference without 04_dropout.ipynb", Expect(missing={"04_dropout"}), "file", _delete("04_dropout")),
    "renamed_notebook": _on_reference(
        "reference with 01_activations.ipynb renamed to '01_activations (1).ipynb'",
        Expect(missing={"01_activations"}), "file", _rename("01_activations", "01_activations (1).ipynb")),
    "extra_notebook": _on_reference(
        "reference plus '02_linear-Copy1.ipynb', a stray copy with the same graded cells",
        FULL, "file", _copy("02_linear", "02_linear-Copy1.ipynb")),
    # -- tampered graded cells: the submission's own answers are correct, the grade must not change
    "test_cell_deleted": _on_reference(
        f"reference with the hidden-test cell {CELL} deleted", FULL, "tamper", _on_cell(NB, CELL, _remove)),
    "test_cell_edited": _on_reference(
        f"reference with the hidden-test cell {CELL} replaced by print('ok')",
        FULL, "tamper", _on_cell(NB, CELL, _set_source("print('ok')"))),
    "metadata_stripped": _on_reference(
        f"reference with the nbgrader metadata of {CELL} removed", FULL, "tamper", _on_cell(NB, CELL, _strip_nbgrader)),
    "grade_id_changed": _on_reference(
        f"reference with {CELL} renamed {CELL}_v2", FULL, "tamper", _on_cell(NB, CELL, _rename_grade_id)),
    "points_inflated": _on_reference(
        f"reference with the points of {CELL} multiplied by 10 in its metadata",
        FULL, "tamper", _on_cell(NB, CELL, _inflate_points)),
    "hidden_test_as_demo": Student(
        "untouched stubs, and 01's relu_hidden test cell relabelled as the course's demonstration "
        "demo_activation_curves, which the autograder does not run",
        then(untouched, _on_cell("01_activations", "relu_hidden", _as_demo("demo_activation_curves"))),
        ZERO, "tamper", "untouched"),
    # -- cheating: wrong answers must not gain points
    "cheat_edited_test": Student(
        f"reference, but the BatchNorm answer left a stub and {CELL} replaced by print('ok')",
        _with_release_stub(NB, "batchnorm", _on_cell(NB, CELL, _set_source("print('ok')"))),
        Expect(zero={CELL}), "tamper", "reference"),
    "shadow_files": Student(
        "untouched stubs plus a solutions/ package and a solutions.py whose checks always pass, and an "
        "nn_helpers.py whose gradient_check passes and which disarms solutions.checks on import",
        then(untouched, _add_shadow_files), ZERO, "tamper", "untouched"),
    # -- cheats on the kernel: the guards stop the subclass; patching the checks beats nbgrader's score,
    #    and the out-of-kernel audit and the cheat scan flag it
    "monkeypatch_checks": _patched_student(
        "untouched stubs; 01's relu cell replaces every solutions.checks.check_* by a function that passes",
        ZERO, "exploit", _inject_before_relu(MONKEYPATCH_CHECKS), base=untouched),
    "reference_import": Student(
        "untouched stubs, but 01's ReLU subclasses the course's reference solutions.activations.ReLU",
        then(untouched, _on_cell("01_activations", "relu", _set_source(REFERENCE_RELU))),
        ZERO, "exploit", "untouched"),
    # -- code that hangs or kills the kernel: 01's relu cell, reference otherwise
    "infinite_loop": _patched_student(
        "`while True: pass` at the top of 01's relu cell (needs the per-cell timeout and an interrupt)",
        RELU_LOST, "kernel", _inject_before_relu("while True:\n    pass")),
    "sigint_ignored": _patched_student(
        "SIGINT ignored, then an infinite loop at the top of 01's relu cell (an interrupt cannot stop it)",
        RELU_LOST_KERNEL_GONE, "kernel",
        _inject_before_relu("import signal\n\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")),
    "os_exit": _patched_student(
        "`os._exit(1)` at the top of 01's relu cell (the kernel process exits)",
        RELU_LOST_KERNEL_GONE, "kernel", _inject_before_relu("import os\n\nos._exit(1)")),
    "segfault": _patched_student(
        "`ctypes.string_at(0)` at the top of 01's relu cell (the kernel segfaults)",
        RELU_LOST_KERNEL_GONE, "kernel", _inject_before_relu("import ctypes\n\nctypes.string_at(0)")),
    "memory_bomb": _patched_student(
        "allocates 100 MB blocks until memory runs out, at the top of 01's relu cell (MemoryError under an "
        "address-space limit, the OOM killer without one)",
        RELU_LOST_KERNEL_GONE, "kernel", _inject_before_relu("hog = [bytearray(10**8) for _ in range(10**6)]")),
    "output_flood": _patched_student(
        "prints 5000 lines of 1 MB (5 GB) at the end of 01's relu cell, after the class is defined",
        Expect(may_fail={"01_activations"}), "kernel",
        Patch("01_activations", "relu", RELU_TAIL, RELU_TAIL + "\n\n\nfor _ in range(5000):\n    print('x' * 10**6)")),
    # -- noise from correct code
    "noisy_correct": _patched_student(
        "reference, but ReLU.forward warns (UserWarning) and prints to stderr, ReLU.backward prints to stderr: "
        "correct code that is noisy during the hidden test",
        FULL, "noise",
        _inject_before_relu("import sys\nimport warnings"),
        Patch("01_activations", "relu", "        self._positive = x > 0\n",
              '        warnings.warn(f"ReLU.forward: вход {x.shape}")\n'
              '        print(f"ReLU.forward: {x.shape}", file=sys.stderr)\n'
              '        self._positive = x > 0\n'),
        Patch("01_activations", "relu", "        " + RELU_TAIL,
              '        print("ReLU.backward", file=sys.stderr)\n        ' + RELU_TAIL)),
}


def build_class(release_dir, source_dir, submitted_dir, names=None):
    """Write ``submitted_dir/<name>/nn_layers/`` for each student (all by default), replacing any old one.

    Returns {name: description}, in STUDENTS order.
    """
    names = list(STUDENTS) if names is None else list(names)
    unknown = [n for n in names if n not in STUDENTS]
    if unknown:
        raise KeyError(f"unknown students: {unknown}")
    built = {}
    for name in names:
        dest = Path(submitted_dir) / name / ASSIGNMENT
        if dest.exists():
            shutil.rmtree(dest)
        STUDENTS[name].build(release_dir, source_dir, dest)
        built[name] = STUDENTS[name].description
    return built


def is_valid_json(path):
    try:
        json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError:
        return False
    return True
