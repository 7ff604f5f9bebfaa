"""The simulated class (course/demo/classroom.py).

Every student builds from the committed release and source; each differs from
its base exactly where intended; every patch still finds its text in the
reference; build_class replaces old folders cleanly.  The bug and noise
students are also executed cell by cell in a plain Python subprocess (hidden
tests restored from the source, as nbgrader restores them), so an expectation
such as "zero on batchnorm_hidden, full elsewhere" is known to hold before a
real grader is asked.  The in-kernel exploits are graded for real: their grade
of record (nbgrader's and the audit's, the lower) must be 0.
"""
import ast
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from course.demo import classroom
from course.demo.classroom import (
    ALL_CELLS,
    GRADE_IDS,
    STUDENTS,
    Expect,
    build_class,
    is_valid_json,
    strip_markers,
)
from course.grading.results import FAILED, GRADED, MISSING, assignment_structure

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "release" / "nn_layers"
SOURCE = ROOT / "source" / "nn_layers"
NOTEBOOKS = sorted(GRADE_IDS)
STUB = "# ВАШ КОД ЗДЕСЬ\nraise NotImplementedError()"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every student, built once: {name: folder}."""
    root = tmp_path_factory.mktemp("submitted")
    assert build_class(RELEASE, SOURCE, root).keys() == STUDENTS.keys()
    return {name: root / name / "nn_layers" for name in STUDENTS}


def cells(path):
    """{cell id: cell} of one notebook (ids are unique and stable across release, source and submissions)."""
    return {c.id: c for c in nbformat.read(path, as_version=4).cells}


def nbgrader_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def diff(a, b):
    """{(notebook file, cell id)} where two submission folders differ; whole-file keys for added/removed files."""
    files_a = {p.name for p in a.glob("*.ipynb")}
    files_b = {p.name for p in b.glob("*.ipynb")}
    changed = {(name, "*") for name in files_a ^ files_b}
    for name in files_a & files_b:
        if not is_valid_json(a / name) or not is_valid_json(b / name):
            if (a / name).read_bytes() != (b / name).read_bytes():
                changed.add((name, "*"))
            continue
        ca, cb = cells(a / name), cells(b / name)
        changed |= {(name, cid) for cid in ca.keys() ^ cb.keys()}
        changed |= {(name, cid) for cid in ca.keys() & cb.keys() if ca[cid] != cb[cid]}
    return changed


# --- the class as a whole ---------------------------------------------------------------------------

def test_grade_ids_are_the_assignments():
    structure = assignment_structure(ROOT)
    assert {nb: tuple(ids) for nb, ids in structure.items()} == GRADE_IDS


def test_class_is_large_and_well_formed():
    assert len(STUDENTS) >= 12
    assert {"reference", "untouched", "seed_student", "bn_momentum", "adam_counter", "relu_kink",
            "dropout_keep_prob", "softmax_unstable", "invalid_json", "missing_notebook", "renamed_notebook",
            "extra_notebook", "test_cell_deleted", "test_cell_edited", "metadata_stripped", "grade_id_changed",
            "infinite_loop", "sigint_ignored", "os_exit", "segfault", "memory_bomb", "output_flood",
            "noisy_correct", "shadow_files"} <= STUDENTS.keys()
    for name, student in STUDENTS.items():
        assert student.kind in {"correct", "bug", "file", "tamper", "kernel", "noise", "exploit"}, name
        assert student.base in {"", "reference", "untouched"}, name
        assert isinstance(student.expect, Expect) and str(student.expect), name
        assert student.description, name


def test_every_student_builds_valid_notebooks(built):
    for name, folder in built.items():
        assert (folder / "nn_helpers.py").exists(), name
        for path in folder.glob("*.ipynb"):
            if (name, path.stem) == ("invalid_json", "03_sequential"):
                assert not is_valid_json(path)
                continue
            nbformat.validate(nbformat.read(path, as_version=4))
        expected = {f"{nb}.ipynb" for nb in NOTEBOOKS}
        if name not in {"missing_notebook", "renamed_notebook", "extra_notebook"}:
            assert {p.name for p in folder.glob("*.ipynb")} == expected, name


def test_builders_refuse_a_non_empty_folder(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(FileExistsError):
        classroom.reference(RELEASE, SOURCE, tmp_path)


def test_build_class_is_idempotent(tmp_path, built):
    names = ["reference", "relu_kink", "extra_notebook", "shadow_files"]
    assert list(build_class(RELEASE, SOURCE, tmp_path, names)) == names
    folder = tmp_path / "relu_kink" / "nn_layers"
    (folder / "stale.ipynb").write_text("{}")
    (folder / "01_activations.ipynb").write_text("garbage")
    (tmp_path / "relu_kink" / "other_assignment").mkdir()
    build_class(RELEASE, SOURCE, tmp_path, names)
    assert (tmp_path / "relu_kink" / "other_assignment").is_dir()  # only <name>/nn_layers is replaced
    for name in names:
        rebuilt, first = tmp_path / name / "nn_layers", built[name]
        assert sorted(p.name for p in rebuilt.rglob("*")) == sorted(p.name for p in first.rglob("*")), name
        for path in first.rglob("*"):
            if path.is_file():
                assert (rebuilt / path.relative_to(first)).read_bytes() == path.read_bytes(), (name, path)
    with pytest.raises(KeyError):
        build_class(RELEASE, SOURCE, tmp_path, ["nobody"])


# --- the two bases --------------------------------------------------------------------------------

def release_stub(source_text):
    """What nbgrader's ClearSolutions makes of a source answer: each marked region -> the stub, same indent."""
    out, inside = [], False
    for line in source_text.split("\n"):
        if line.strip() == "### BEGIN SOLUTION":
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + stub_line for stub_line in STUB.split("\n")]
            inside = True
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def test_reference_is_the_release_with_the_source_answers(built):
    for nb in NOTEBOOKS:
        release, source = cells(RELEASE / f"{nb}.ipynb"), cells(SOURCE / f"{nb}.ipynb")
        reference = cells(built["reference"] / f"{nb}.ipynb")
        assert reference.keys() == release.keys() == source.keys()
        answers = [cid for cid, c in release.items() if c.metadata.get("nbgrader", {}).get("solution")]
        assert answers, nb
        for cid, cell in reference.items():
            if cid in answers:
                assert release[cid].source == release_stub(source[cid].source), f"{nb}/{cid}: release is stale"
                assert cell.source == strip_markers(source[cid].source)
                assert "### " not in cell.source and "NotImplementedError()" not in cell.source
                assert cell.metadata == release[cid].metadata
            else:
                assert cell == release[cid], f"{nb}/{cid}"
    assert diff(built["untouched"], RELEASE) == set()
    assert (built["untouched"] / "nn_helpers.py").read_bytes() == (RELEASE / "nn_helpers.py").read_bytes()


# --- every student differs from its base exactly where intended -------------------------------------

def cell_key(notebook, grade_id):
    return f"{notebook}.ipynb", grade_id.replace("_", "-")


EXPECTED_DIFF = {  # students without patches: {(file, cell id or '*')}
    "invalid_json": {("03_sequential.ipynb", "*")},
    "missing_notebook": {("04_dropout.ipynb", "*")},
    "renamed_notebook": {("01_activations.ipynb", "*"), ("01_activations (1).ipynb", "*")},
    "extra_notebook": {("02_linear-Copy1.ipynb", "*")},
    "test_cell_deleted": {cell_key(*classroom.TAMPERED)},
    "test_cell_edited": {cell_key(*classroom.TAMPERED)},
    "metadata_stripped": {cell_key(*classroom.TAMPERED)},
    "grade_id_changed": {cell_key(*classroom.TAMPERED)},
    "points_inflated": {cell_key(*classroom.TAMPERED)},
    "cheat_edited_test": {cell_key(*classroom.TAMPERED), cell_key("05_batchnorm", "batchnorm")},
    "reference_import": {cell_key("01_activations", "relu")},
    "hidden_test_as_demo": {cell_key("01_activations", "relu_hidden")},
    "shadow_files": set(),
}


def test_cell_ids_follow_grade_ids():
    for nb in NOTEBOOKS:
        for cid, cell in cells(RELEASE / f"{nb}.ipynb").items():
            if nbgrader_id(cell):
                assert cid == nbgrader_id(cell).replace("_", "-")


@pytest.mark.parametrize("name", [n for n, s in STUDENTS.items() if s.base])
def test_student_differs_from_its_base_where_intended(built, name):
    student = STUDENTS[name]
    expected = EXPECTED_DIFF[name] if name in EXPECTED_DIFF else {cell_key(p.notebook, p.cell) for p in student.patches}
    assert expected or name == "shadow_files", f"{name}: no patches and no expected difference"
    assert diff(built[name], built[student.base]) == expected


def test_file_students(built):
    ref = built["reference"]
    assert ref.joinpath("03_sequential.ipynb").read_text().startswith(
        built["invalid_json"].joinpath("03_sequential.ipynb").read_text())
    assert diff(built["renamed_notebook"], ref) == EXPECTED_DIFF["renamed_notebook"]
    assert ((built["renamed_notebook"] / "01_activations (1).ipynb").read_bytes()
            == (ref / "01_activations.ipynb").read_bytes())
    assert ((built["extra_notebook"] / "02_linear-Copy1.ipynb").read_bytes()
            == (ref / "02_linear.ipynb").read_bytes())


def test_tampered_cells(built):
    nb, grade_id = classroom.TAMPERED
    key = grade_id.replace("_", "-")
    ref = cells(built["reference"] / f"{nb}.ipynb")[key]
    assert ref.metadata.nbgrader.grade and ref.metadata.nbgrader.points == 5
    assert key not in cells(built["test_cell_deleted"] / f"{nb}.ipynb")
    edited = cells(built["test_cell_edited"] / f"{nb}.ipynb")[key]
    assert edited.source == "print('ok')" and edited.metadata == ref.metadata
    stripped = cells(built["metadata_stripped"] / f"{nb}.ipynb")[key]
    assert "nbgrader" not in stripped.metadata and stripped.source == ref.source
    renamed = cells(built["grade_id_changed"] / f"{nb}.ipynb")[key]
    assert renamed.metadata.nbgrader.grade_id == grade_id + "_v2" and renamed.source == ref.source
    assert cells(built["points_inflated"] / f"{nb}.ipynb")[key].metadata.nbgrader.points == 50
    cheat = cells(built["cheat_edited_test"] / f"{nb}.ipynb")
    assert cheat[key].source == "print('ok')"
    assert cheat["batchnorm"].source == cells(RELEASE / f"{nb}.ipynb")["batchnorm"].source


def test_shadow_files(built):
    folder = built["shadow_files"]
    for path in ("solutions/__init__.py", "solutions/checks/__init__.py", "solutions.py"):
        assert (folder / path).is_file(), path
        compile((folder / path).read_text(), path, "exec")
    helpers = (folder / "nn_helpers.py").read_text()
    assert helpers.startswith((RELEASE / "nn_helpers.py").read_text())
    assert "def gradient_check" in helpers.split("# --- added by the student ---")[1]


# --- patches: drift, syntax, and where injected code runs -------------------------------------------

@pytest.mark.parametrize("name", [n for n, s in STUDENTS.items() if s.patches])
def test_patch_text_is_in_the_base(built, name):
    """Each patch's old text occurs exactly once in the base's cell: a change of the reference is caught."""
    student = STUDENTS[name]
    for patch in student.patches:
        cell = cells(built[student.base] / f"{patch.notebook}.ipynb")[patch.cell.replace("_", "-")]
        assert cell.source.count(patch.old) == 1, (name, patch.cell, patch.old)


def test_every_bug_patch_is_used():
    used = {p for s in STUDENTS.values() for p in s.patches}
    for name, bug in classroom.BUGS.items():
        assert set(bug.patches) <= used, name
        assert bug.zero <= ALL_CELLS and bug.zero, name


@pytest.mark.parametrize("name", [n for n, s in STUDENTS.items() if s.patches])
def test_patched_cells_parse(built, name):
    for patch in STUDENTS[name].patches:
        ast.parse(cells(built[name] / f"{patch.notebook}.ipynb")[patch.cell.replace("_", "-")].source)


KEPT = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef)  # what nn_helpers.load_from_notebook runs


@pytest.mark.parametrize("name", [n for n, s in STUDENTS.items() if s.kind == "kernel"])
def test_hostile_code_stays_out_of_other_notebooks(built, name):
    """02, 03 and 08 load ReLU from 01 with load_from_notebook, which keeps only imports and definitions:
    the hostile statements must be top-level statements of another kind, and class ReLU unchanged."""
    relu = cells(built[name] / "01_activations.ipynb")["relu"].source
    reference = cells(built["reference"] / "01_activations.ipynb")["relu"].source
    kept = [n for n in ast.parse(relu).body if isinstance(n, KEPT)]
    dropped = [n for n in ast.parse(relu).body if not isinstance(n, KEPT)]
    assert dropped, name
    assert [ast.dump(n) for n in kept if not isinstance(n, (ast.Import, ast.ImportFrom))] == \
        [ast.dump(n) for n in ast.parse(reference).body]
    body = ast.parse(relu).body
    if name == "output_flood":  # after the class: ReLU exists even if the flood is interrupted
        assert isinstance(body[0], ast.ClassDef) and len(body) == 2
    else:  # before the class: if it never returns, ReLU is never defined
        assert isinstance(body[-1], ast.ClassDef) and len(body) > 1


# --- Expect --------------------------------------------------------------------------------------

def fake_results(expect_scores, status=None):
    """{notebook: result} with status GRADED and the given {grade_id: score}; maxima from the structure."""
    structure = assignment_structure(ROOT)
    status = status or {}
    return {nb: SimpleNamespace(notebook=nb, status=status.get(nb, GRADED), reason="",
                                cells={g: (expect_scores.get(g, m), m) for g, m in ids.items()})
            for nb, ids in structure.items()}


def test_expect_violations():
    structure = assignment_structure(ROOT)
    full = fake_results({})
    assert classroom.FULL.violations(full, structure) == []
    assert classroom.FULL.violations(list(full.values()), structure) == []
    assert classroom.ZERO.violations(fake_results(dict.fromkeys(ALL_CELLS, 0)), structure) == []
    assert len(classroom.ZERO.violations(full, structure)) == len(ALL_CELLS)

    relu_lost = STUDENTS["infinite_loop"].expect
    assert relu_lost.violations(fake_results({"relu_hidden": 0}), structure) == []
    assert relu_lost.violations(fake_results({}, {"01_activations": FAILED}), structure) == []
    assert relu_lost.violations(fake_results({}), structure) == ["01_activations/relu_hidden: 2/2, expected 0"]
    assert relu_lost.violations(fake_results({"relu_hidden": 0, "tanh_hidden": 0}), structure)
    assert relu_lost.violations(fake_results({"relu_hidden": 0}, {"02_linear": FAILED}), structure)
    gone = STUDENTS["os_exit"].expect
    assert gone.violations(fake_results({"relu_hidden": 0, "tanh_hidden": 0}), structure) == []

    missing = STUDENTS["missing_notebook"].expect
    assert missing.violations(fake_results({}, {"04_dropout": MISSING}), structure) == []
    assert missing.violations(fake_results({}, {"04_dropout": FAILED}), structure)
    assert missing.violations(fake_results({}), structure)
    assert STUDENTS["invalid_json"].expect.violations(fake_results({}, {"03_sequential": FAILED}), structure) == []

    inflated = fake_results({})
    inflated["05_batchnorm"].cells["batchnorm_hidden"] = (50, 50)
    assert classroom.FULL.violations(inflated, structure) == [
        "05_batchnorm/batchnorm_hidden: max 50, the assignment says 5"]
    partial = dict(full)
    del partial["08_training"]
    assert classroom.FULL.violations(partial, structure) == ["08_training: no result (expected graded)"]


def test_expect_summaries():
    assert str(STUDENTS["reference"].expect) == "full"
    assert str(STUDENTS["untouched"].expect) == "zero on every cell"
    assert str(STUDENTS["relu_kink"].expect) == "zero: relu_hidden; full marks elsewhere"
    assert str(STUDENTS["missing_notebook"].expect) == "missing: 04_dropout; full marks elsewhere"
    assert STUDENTS["seed_student"].expect.full_notebooks() == {"04_dropout"}
    assert STUDENTS["reference"].expect.full_notebooks() == set(NOTEBOOKS)


# --- the expectations of bug and noise students hold when their code runs ------------------------------

RUNNER = r'''
import json, os, sys
nb_path, source_path = sys.argv[1], sys.argv[2]
folder = os.path.dirname(os.path.abspath(nb_path))
os.chdir(folder)
sys.path.insert(0, folder)
import matplotlib
matplotlib.use("Agg")
hidden = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
          for c in json.load(open(source_path, encoding="utf-8"))["cells"]
          if c["metadata"].get("nbgrader", {}).get("grade")}
namespace, results, first = {"__name__": "__main__"}, {}, True
for cell in json.load(open(nb_path, encoding="utf-8"))["cells"]:
    if cell["cell_type"] != "code":
        continue
    meta = cell["metadata"].get("nbgrader", {})
    if not meta and not first:
        continue  # demos and plots: slow, and no grade depends on them
    first = False
    source = hidden[meta["grade_id"]] if meta.get("grade") else "".join(cell["source"])
    try:
        exec(compile(source, "<cell>", "exec"), namespace)
        passed = True
    except Exception as exc:
        passed = f"{type(exc).__name__}: {exc}"[:200]
    if meta.get("grade"):
        results[meta["grade_id"]] = passed
print("RESULTS " + json.dumps(results, ensure_ascii=False))
'''


def run_notebook(path):
    """{grade_id: True or the error} of one notebook run as nbgrader would score it, in a fresh process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", RUNNER, str(path), str(SOURCE / path.name)],
                            capture_output=True, text=True, timeout=300, env=env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULTS ")]
    assert lines, result.stderr[-2000:]
    return json.loads(lines[-1][len("RESULTS "):])


EXECUTED = [n for n, s in STUDENTS.items() if s.kind in ("bug", "noise")] + ["cheat_edited_test"]


def test_expectations_hold_when_the_code_runs(built):
    """Reference: every hidden test passes.  Bug and noise students: exactly their `zero` cells fail, in the
    notebooks they change (the others are the reference's).  Runs the code in plain Python, not a kernel."""
    jobs = {("reference", nb): built["reference"] / f"{nb}.ipynb" for nb in NOTEBOOKS}
    for name in EXECUTED:
        for file, _ in diff(built[name], built["reference"]):
            jobs[(name, Path(file).stem)] = built[name] / file
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        outcomes = dict(zip(jobs, pool.map(run_notebook, jobs.values())))
    problems = []
    for (name, nb), outcome in sorted(outcomes.items()):
        assert set(outcome) == set(GRADE_IDS[nb]), (name, nb)
        for grade_id, passed in outcome.items():
            rule = STUDENTS[name].expect.cell_rule(grade_id)
            if (rule == "zero") == (passed is True):
                problems.append(f"{name} {grade_id}: expected {rule}, got {passed}")
    assert problems == []
    for name in EXECUTED:  # every zero cell was actually exercised
        for grade_id in STUDENTS[name].expect.zero:
            nb = next(nb for nb, ids in GRADE_IDS.items() if grade_id in ids)
            assert (name, nb) in outcomes, (name, grade_id)


EXPLOITS = [n for n, s in STUDENTS.items() if s.kind == "exploit"]


@pytest.fixture(scope="module")
def exploits_graded(released_course, tmp_path_factory):
    """The exploit students graded for real: nbgrader in the jailed kernel, then the audit (autograde runs both)."""
    import shutil

    from course.grading.client import autograde
    from course.grading.job import Limits

    course = Path(shutil.copytree(released_course, tmp_path_factory.mktemp("exploits") / "course", symlinks=True))
    build_class(course / "release" / "nn_layers", course / "source" / "nn_layers", course / "submitted", EXPLOITS)
    results = autograde(course, notebooks=["01_activations"], jobs=2, limits=Limits(cell_timeout=30),
                        progress=False)
    return course, {r.student: r for r in results}


@pytest.mark.parametrize("name", EXPLOITS)
def test_cheats_inside_the_kernel_gain_nothing(exploits_graded, name):
    """The exploits' grade of record is 0 in the status record and in the gradebook, whatever nbgrader gave;
    where nbgrader was fooled (the checks patched in the kernel) the audit disagrees and says so."""
    from nbgrader.api import Gradebook

    from course.trust.audit import audit_flags

    course, results = exploits_graded
    result = results[name]
    assert result.status == GRADED and result.score == 0, result
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="nn-layers") as gb:
        notebook = gb.find_submission_notebook("01_activations", "nn_layers", name)
        assert notebook.score == 0, {g.name: g.score for g in notebook.grades}
    fooled = sum(score for score in result.nbgrader.values())
    flags = audit_flags([result])
    assert bool(fooled) == bool(flags), (result.nbgrader, flags)
    if name == "monkeypatch_checks":
        assert fooled == 6 and {f["cell"] for f in flags} == set(GRADE_IDS["01_activations"]), flags
        assert all(f["detail"].startswith("nbgrader 2, audit 0") for f in flags), flags
