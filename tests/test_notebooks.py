"""Static checks of the assignment: generated files are current, notebooks are
well-formed for nbgrader, and the release holds no answers or hidden tests."""
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from course.authoring import build
from solutions.checks import UNITS

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source" / "nn_layers"
RELEASE = ROOT / "release" / "nn_layers"
NOTEBOOKS = sorted(SOURCE.glob("*.ipynb"))
EXPECTED = ["01_activations", "02_linear", "03_sequential", "04_dropout", "05_batchnorm",
            "06_optimizers", "07_losses", "08_training"]


def cells(path):
    return nbformat.read(path, as_version=4).cells


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def test_all_eight_notebooks_exist_in_source_and_release():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED
    assert sorted(p.stem for p in RELEASE.glob("*.ipynb")) == EXPECTED
    assert (RELEASE / "nn_helpers.py").is_file()


def test_source_is_generated_from_templates_and_solutions():
    assert build.main(["--check"]) == 0, "source/ is stale: run `make notebooks`"


def _tamper(change):
    nb = nbformat.read(SOURCE / "05_batchnorm.ipynb", as_version=4)
    graded = [cell for cell in nb.cells if nbgrader_meta(cell).get("grade")]
    change(nb, graded)
    return nb


TAMPERED = {
    "points not a number": lambda nb, graded: graded[0].metadata.nbgrader.update(points="5"),
    "grade_id missing": lambda nb, graded: graded[0].metadata.nbgrader.pop("grade_id"),
    "unknown key": lambda nb, graded: graded[0].metadata.nbgrader.update(extra=1),
    "schema too old": lambda nb, graded: graded[0].metadata.nbgrader.update(schema_version=1),
    "schema too new": lambda nb, graded: graded[0].metadata.nbgrader.update(schema_version=4),
    "duplicate grade_id": lambda nb, graded: [c for c in nb.cells if nbgrader_meta(c).get("solution")][0]
        .metadata.nbgrader.update(grade_id=graded[0].metadata.nbgrader.grade_id),
    "markdown grade cell": lambda nb, graded: graded[0].update(cell_type="markdown"),
}


@pytest.mark.parametrize("what", sorted(TAMPERED))
def test_the_compiled_metadata_check_rejects_what_nbgrader_rejects(what):
    """CompiledCheckCellMetadata (the autograder's, the schema compiled once) says what nbgrader's says."""
    from course.grading.plugins import CompiledMetadataValidator

    errors = []
    for validator in (MetadataValidatorV3(), CompiledMetadataValidator()):
        nb = _tamper(TAMPERED[what])
        with pytest.raises(Exception) as raised:
            validator.validate_nb(nb)
        errors.append((type(raised.value), str(raised.value)))
    assert errors[0] == errors[1], f"{what}: nbgrader says {errors[0]}, the compiled check {errors[1]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_nbgrader_v3_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    MetadataValidatorV3().validate_nb(nb)
    from course.grading.plugins import CompiledMetadataValidator

    CompiledMetadataValidator().validate_nb(nb)  # the autograder's own check accepts it too
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta:
            assert meta["schema_version"] == 3
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: stored with outputs"


def test_grade_ids_and_cell_ids_are_unique_across_the_assignment():
    grade_ids, cell_ids = [], []
    for path in NOTEBOOKS:
        for cell in cells(path):
            cell_ids.append((path.name, cell.id))
            if nbgrader_meta(cell):
                grade_ids.append(nbgrader_meta(cell)["grade_id"])
    assert len(grade_ids) == len(set(grade_ids)), sorted(g for g in grade_ids if grade_ids.count(g) > 1)
    assert len(cell_ids) == len(set(cell_ids))


def hidden_cells():
    for path in NOTEBOOKS:
        for cell in cells(path):
            if nbgrader_meta(cell).get("grade"):
                yield path, cell


def test_every_graded_cell_is_a_short_hidden_test_calling_a_check():
    found = []
    for path, cell in hidden_cells():
        meta = nbgrader_meta(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] > 0, (path.name, meta)
        body = cell.source.split("### BEGIN HIDDEN TESTS", 1)
        assert len(body) == 2 and "### END HIDDEN TESTS" in body[1], f"{meta['grade_id']}: no hidden region"
        code = [line for line in body[1].split("### END HIDDEN TESTS")[0].splitlines() if line.strip()]
        assert 1 <= len(code) <= 3, f"{meta['grade_id']}: a hidden test is a line or two, got {code}"
        found += re.findall(r"\bcheck_(\w+)\(", body[1])
    assert sorted(set(found)) == sorted(UNITS), "every unit graded exactly once"
    assert len(found) == len(set(found))


def test_visible_tests_never_import_the_reference():
    for path in NOTEBOOKS:
        for cell in cells(path):
            if cell.cell_type == "code" and not nbgrader_meta(cell).get("grade"):
                assert not re.search(r"\b(import|from)\s+solutions\b", cell.source), f"{path.name}: {cell.id}"


def solution_lines():
    """Substantial lines from the solution regions of the source notebooks."""
    lines = set()
    for path in NOTEBOOKS:
        for cell in cells(path):
            for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S):
                lines |= {line.strip() for line in region.splitlines() if len(line.strip()) >= 24}
    return lines


def test_release_contains_no_solution_code_hidden_tests_or_reference_import():
    answers = solution_lines()
    assert len(answers) > 50, "the scan must have something to look for"
    for path in sorted(RELEASE.iterdir()):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                             for c in json.loads(text)["cells"])
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path.name}: {marker}"
        assert not re.search(r"\b(import|from)\s+solutions\b", text), f"{path.name} imports the reference"
        assert not re.search(r"\bcheck_\w+\(", text), f"{path.name} calls a hidden check"
        leaked = [line for line in answers if line in text]
        assert not leaked, f"{path.name} contains answer lines: {leaked[:3]}"


def test_release_stubs_raise_not_implemented():
    for path in sorted(RELEASE.glob("*.ipynb")):
        stubs = [c for c in cells(path) if nbgrader_meta(c).get("solution")]
        assert stubs, path.name
        for cell in stubs:
            assert "raise NotImplementedError()" in cell.source, f"{path.name}: {cell.id}"


def test_readme_point_table_matches_the_notebooks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = {(nb, cell, int(points)) for nb, cell, points in
                  re.findall(r"^\| `(\d\d_\w+)` \| `(\w+)` \| `check_\w+` \| (\d+) \|$", readme, re.M)}
    actual = {(path.stem, nbgrader_meta(cell)["grade_id"], nbgrader_meta(cell)["points"])
              for path, cell in hidden_cells()}
    assert documented == actual, f"README point table is out of date: {documented ^ actual}"
    total = re.search(r"^\| \*\*total\*\* \| \| \| \*\*(\d+)\*\* \|$", readme, re.M)
    assert total and int(total[1]) == sum(points for _, _, points in actual)
