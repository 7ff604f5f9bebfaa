"""The out-of-kernel audit on its own: it covers every graded cell, agrees with the hidden tests on
honest and buggy students (broken training loops included), and it fails closed on anything
malformed, missing or hanging."""
import math

import nbformat
import numpy as np
import pytest
from test_classroom import run_notebook

from course.demo import classroom
from course.demo.classroom import STUDENTS, Patch, build_class
from course.grading.results import NotebookResult
from course.settings import ASSIGNMENT, ROOT
from course.trust import audit
from solutions.checks import UNITS

SOURCE = ROOT / "source" / ASSIGNMENT
RELEASE = ROOT / "release" / ASSIGNMENT
HELPER = RELEASE / "nn_helpers.py"
BUGGY = ["seed_student", "bn_momentum", "adam_counter", "ce_log_eps", "relu_kink", "dropout_keep_prob"]


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    build_class(ROOT / "release" / ASSIGNMENT, SOURCE, folder, ["reference", "untouched"] + BUGGY)
    return folder


def _audit(students, name, notebook, **kwargs):
    return audit.audit_notebook(students / name / ASSIGNMENT / f"{notebook}.ipynb", SOURCE / f"{notebook}.ipynb",
                                HELPER, **kwargs)


def test_every_graded_cell_is_audited():
    checks = {gid: check for source in SOURCE.glob("*.ipynb") for gid, check in audit.hidden_checks(source).items()}
    assert checks.keys() == classroom.ALL_CELLS
    assert all(check is not None for check in checks.values()), checks
    assert checks["training_hidden"] == ("trains_digits", ("train_epoch", "evaluate"))
    assert checks["relu_hidden"] == ("relu", ("ReLU",))


def test_reference_gets_every_point_and_untouched_none(students):
    for source in sorted(SOURCE.glob("*.ipynb")):
        points = {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points
                  for c in nbformat.read(source, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade")}
        full = _audit(students, "reference", source.stem)
        assert full.cells == points, (source.stem, full.reasons)
        empty = _audit(students, "untouched", source.stem)
        assert empty.cells == dict.fromkeys(points, 0), (source.stem, empty.cells)
        assert all(empty.reasons[gid] for gid in points), empty.reasons
    assert "NotImplementedError" in empty.reasons["training_hidden"], empty.reasons


@pytest.mark.parametrize("name", BUGGY)
def test_audit_fails_exactly_the_cells_the_bug_breaks(students, name):
    expect = STUDENTS[name].expect
    touched = {nb for nb, ids in classroom.GRADE_IDS.items() if set(ids) & expect.zero}
    assert touched, name
    for notebook in sorted(touched):
        result = _audit(students, name, notebook)
        assert result.cells.keys() == set(classroom.GRADE_IDS[notebook])
        for grade_id, score in result.cells.items():
            assert score is not None and (score == 0) == (grade_id in expect.zero), \
                (name, grade_id, score, result.reasons)


# Broken training loops (the reference with one answer of 08_training patched) and the cells they lose.
LOOPS = {
    "trains_nothing": ([Patch("08_training", "train_epoch", "        optimizer.step()\n", "")],
                       {"train_epoch_hidden", "training_hidden"}),
    "made_up_accuracy": ([Patch("08_training", "evaluate", "    return correct / count", "    return 0.97")],
                         {"evaluate_hidden", "training_hidden"}),
    "no_zero_grad": ([Patch("08_training", "train_epoch", "        optimizer.zero_grad()  # layers add to grad_*, "
                            "so clear last batch's gradients\n", "")], {"train_epoch_hidden", "training_hidden"}),
}


@pytest.fixture(scope="module")
def loops(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loops")
    for name, (patches, _) in LOOPS.items():
        classroom.patched(*patches)(RELEASE, SOURCE, folder / name / ASSIGNMENT)
    return folder


@pytest.mark.parametrize("name", LOOPS)
def test_a_broken_training_loop_scores_zero_in_the_audit_as_in_the_hidden_tests(loops, name):
    """A loop that trains nothing or reports a made-up accuracy loses the training cell in both graders."""
    path = loops / name / ASSIGNMENT / "08_training.ipynb"
    zero = LOOPS[name][1]
    result = audit.audit_notebook(path, SOURCE / "08_training.ipynb", HELPER)
    assert {gid for gid, score in result.cells.items() if score == 0} == zero, result.reasons
    assert None not in result.cells.values()
    assert "цикл обучения" in result.reasons["training_hidden"], result.reasons
    hidden = run_notebook(path)  # the hidden tests restored and run, as nbgrader scores them
    assert {gid for gid, passed in hidden.items() if passed is not True} == zero, hidden


def test_the_runner_requires_both_objects_of_a_two_object_check_to_be_the_notebooks_own(tmp_path):
    from probes.runner import load_definitions, run_check

    path = tmp_path / "student_0.py"
    path.write_text("from statistics import mean as evaluate\n\n\ndef train_epoch(model, loss_fn, optimizer, loader):\n"
                    "    return 0.0\n", encoding="utf-8")
    namespace, failures = load_definitions(str(path))
    assert not failures
    record = run_check(namespace, str(path), "trains_digits", ["train_epoch", "evaluate"], str(tmp_path))
    assert "evaluate is not defined in the notebook" in record["error"], record
    record = run_check(namespace, str(path), "trains_digits", ["train_epoch", "fit"], str(tmp_path))
    assert "fit is not defined" in record["error"], record
    record = run_check(namespace, str(path), "trains_digits", ["train_epoch"], str(tmp_path))
    assert "takes 2 object(s)" in record["error"], record


def test_a_hanging_student_scores_zero_with_a_reason(tmp_path):
    notebook = nbformat.read(ROOT / "release" / ASSIGNMENT / "01_activations.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    cell.source = "class ReLU(Layer):\n    def forward(self, x):\n        while True:\n            pass\n"
    path = tmp_path / "01_activations.ipynb"
    nbformat.write(notebook, path)
    result = audit.audit_notebook(path, SOURCE / "01_activations.ipynb", HELPER, timeout=5)
    assert result.cells == {"relu_hidden": 0, "sigmoid_hidden": 0, "tanh_hidden": 0}
    assert "stopped after 5 s" in result.reasons["relu_hidden"], result.reasons
    assert "NotImplementedError" in result.reasons["sigmoid_hidden"], "the checks after the hang still ran"


def test_an_unreadable_notebook_scores_zero(tmp_path):
    path = tmp_path / "01_activations.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    result = audit.audit_notebook(path, SOURCE / "01_activations.ipynb", HELPER)
    assert set(result.cells.values()) == {0} and "unreadable" in result.reasons["relu_hidden"]


# --- the trusted side's validation of what crosses the boundary ----------------------------------

WANT = {"forward": np.zeros((2, 3)), "flag": True, "order": "[5, 5]", "loss": 0.5}


@pytest.mark.parametrize("record", [
    None, "text", [], {"outputs": []}, {"error": "boom"},
    {"outputs": {"forward": {"kind": "array", "shape": [2, 3], "value": [0] * 5}}},          # too few numbers
    {"outputs": {"forward": {"kind": "array", "shape": [3, 2], "value": [0] * 6}}},          # wrong shape
    {"outputs": {"forward": {"kind": "array", "shape": [2, 3], "value": ["0"] * 6}}},        # strings
    {"outputs": {"forward": {"kind": "array", "shape": [2, 3], "value": [True] * 6}}},       # booleans
    {"outputs": {"forward": {"kind": "array", "shape": [10**8], "value": []}}},              # absurd shape
    {"outputs": {"forward": {"kind": "str", "value": "[[0, 0, 0], [0, 0, 0]]"}}},            # wrong kind
    {"outputs": {"forward": {"kind": "array", "shape": [2, 3], "value": [0] * 6, "x": 1}}},  # extra field
    {"outputs": {"forward": {"kind": "array", "shape": [2, 3], "value": [0] * 6},
                 "flag": {"kind": "bool", "value": 1}}},                                     # int posing as bool
], ids=lambda r: str(r)[:60])
def test_malformed_output_fails_closed(record):
    def compare(inputs, got, want):
        for key in want:
            if key not in got:
                raise AssertionError(f"no {key}")

    unit = UNITS["relu"].__class__(title="t", reference=None, make_inputs=None, run=None, compare=compare)
    passed, reason = audit.judge(unit, {}, WANT, record)
    assert not passed and reason


def test_well_formed_output_is_decoded_exactly():
    record = {"forward": {"kind": "array", "shape": [2, 3], "value": [0.5] * 6},
              "flag": {"kind": "bool", "value": True}, "order": {"kind": "str", "value": "[5, 5]"},
              "loss": {"kind": "int", "value": 1}}
    got = {key: audit.decode(item, WANT[key]) for key, item in record.items()}
    assert got["forward"].shape == (2, 3) and got["flag"] is True and got["order"] == "[5, 5]"
    assert isinstance(got["loss"], float) and math.isclose(got["loss"], 1.0)


def test_mismatches_become_flags():
    result = NotebookResult("s", "01_activations", "graded", cells={"relu_hidden": (2, 2), "tanh_hidden": (2, 2)},
                            audit={"cells": {"relu_hidden": 0, "tanh_hidden": 2}, "reasons": {"relu_hidden": "x"}})
    flags = audit.audit_flags([result])
    assert [(f["cell"], f["rule"], f["severity"]) for f in flags] == [("relu_hidden", "audit-mismatch", "high")]
