"""The autograder's preprocessors, which nbgrader_config.py plugs into nbgrader's own Autograde pipeline.

(The feedback's are in course.reporting.plugins.)
"""
import copy
import traceback
from pathlib import Path

import jsonschema
import nbformat
from nbgrader.api import MissingEntry
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, Execute, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_grade

from ..authoring.build import is_demo

DEMO_SKIPPED = ("Демонстрация: при автопроверке не выполняется (баллов она не даёт). "
                "Запустите ноутбук сами, чтобы её увидеть.\n")


class ExecuteSkippingDemos(Execute):
    """Autograde: nbgrader's Execute, except for demonstration cells (plots, the training run), which
    carry no points and would cost most of a notebook's grading time: they get a note instead."""

    def preprocess_cell(self, cell, resources, index):
        if is_demo(cell):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=DEMO_SKIPPED)]
            cell.execution_count = None
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


class StderrIsNotAFailure(NbGraderPreprocessor):
    """Autograde: in graded cells, turn stderr streams into stdout.

    nbgrader scores a graded cell 0 if it wrote anything to stderr, so a
    correct answer would lose its points to a warning or to a tqdm bar.
    Exceptions still score 0: they are 'error' outputs, not streams.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


def error_reply_is_an_error(cell, cell_index, execute_reply):
    """Execute hook (on_cell_error): a cell whose execution failed gets an error output, shown or not.

    nbgrader scores a graded cell by its outputs; student code that patches
    IPython's traceback display would make a failed test cell look passed.
    The kernel's execute_reply still says "error", so trust that instead.
    """
    content = execute_reply.get("content", {}) if execute_reply else {}
    shown = any(output.get("output_type") == "error" for output in cell.get("outputs", []))
    if content.get("status") == "error" and not shown:
        cell.outputs.append(nbformat.v4.new_output(
            "error", ename=content.get("ename") or "Error", evalue=content.get("evalue") or "",
            traceback=["the cell failed, but its error was not displayed (tampered traceback display?)"]))


class RobustOverwriteCells(OverwriteCells):
    """Autograde: nbgrader's OverwriteCells, hardened against tampered graded and locked cells.

    Stock nbgrader 0.9.6 crashes the whole submission (KeyError) when a graded
    cell was deleted after a visible-test cell, lost its metadata, had its
    grade_id renamed, or took another cell's grade_id: it restores a missing
    cell only after another graded or solution cell, and cannot read the empty
    metadata DeduplicateIds leaves on a duplicate.  Here a cell whose grade_id the gradebook does not know is
    an ordinary cell, and a missing graded cell goes back after the nearest
    earlier source cell that is still present, so it runs and scores.

    Stock nbgrader also restores a locked cell's source but not the rest of its metadata, so a
    ``skip-execution`` tag on a hidden test cell made nbclient skip it (and the cell kept its points).
    Here a locked cell gets all of its metadata back from the source notebook.
    """

    def preprocess(self, nb, resources):
        for cell in nb.cells:  # DeduplicateIds leaves a duplicate an empty nbgrader dict, which stock code trips on
            if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata.nbgrader:
                del cell.metadata["nbgrader"]
        self._source_metadata = self._locked_metadata(resources)
        return super().preprocess(nb, resources)

    def _locked_metadata(self, resources):
        """{grade_id: metadata} of the locked cells of the course's source notebook."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.source_directory, ".", resources["nbgrader"]["assignment"]),
                    f"{resources['nbgrader']['notebook']}.ipynb")
        cells = nbformat.read(path, as_version=4).cells
        return {cell.metadata.nbgrader.grade_id: cell.metadata for cell in cells
                if cell.metadata.get("nbgrader", {}).get("locked") and "grade_id" in cell.metadata.nbgrader}

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader")
        if meta is not None and (meta.get("grade") or meta.get("solution") or meta.get("locked")):
            try:
                self.gradebook.find_source_cell(meta["grade_id"], self.notebook_id, self.assignment_id)
            except (KeyError, MissingEntry):
                self.log.warning("Cell %r is not in the gradebook; grading it as an ordinary cell",
                                 meta.get("grade_id"))
                del cell.metadata["nbgrader"]
                return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, index)
        source = self._source_metadata.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if source is not None and cell.metadata.nbgrader.get("locked"):
            restored = copy.deepcopy({key: value for key, value in source.items() if key != "nbgrader"})
            cell.metadata = nbformat.NotebookNode({**restored, "nbgrader": cell.metadata.nbgrader})
        return cell, resources

    def add_missing_grade_cells(self, nb, resources):
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source.source_cells]
        solutions = {cell.name for cell in source.solution_cells}

        def position(grade_id):
            return next((i for i, cell in enumerate(nb.cells)
                         if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id), None)

        for grade_cell in source.grade_cells:
            if position(grade_cell.name) is not None:
                continue
            self.log.warning("Graded cell %s is missing; restoring it", grade_cell.name)
            at = order.index(grade_cell.name)
            restored = self.missing_cell_transform(source.source_cells[at], grade_cell.max_score,
                                                   is_solution=grade_cell.name in solutions)
            before = (position(name) for name in reversed(order[:at]))
            nb.cells.insert(next((i for i in before if i is not None), -1) + 1, restored)
        return nb, resources


_COMPILED = {}  # schema version -> nbgrader's cell-metadata schema, checked and compiled once per process


def compiled_schema(version, schema):
    if version not in _COMPILED:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        _COMPILED[version] = cls(schema)
    return _COMPILED[version]


class _CompiledSchema(BaseMetadataValidator):
    def validate_cell(self, cell):
        meta = cell.metadata.get("nbgrader")
        if meta is None or meta.get("schema_version", 0) != self.schema_version:
            return super().validate_cell(cell)  # nbgrader's own answer: nothing to check, or a version error
        error = jsonschema.exceptions.best_match(compiled_schema(self.schema_version, self.schema).iter_errors(meta))
        if error is not None:
            raise error


class CompiledMetadataValidator(MetadataValidator, _CompiledSchema):
    """nbgrader's validator, whose own checks (``super().validate_cell``) reach _CompiledSchema
    before BaseMetadataValidator in this MRO."""


class CompiledCheckCellMetadata(CheckCellMetadata):
    """nbgrader's CheckCellMetadata with the same schema and checks, but the schema compiled once:
    the stock one (``jsonschema.validate`` per cell) re-checks the schema itself for every cell,
    0.4 s of a submission's grading (benchmarks/profile_submission.py)."""

    def preprocess(self, nb, resources):
        try:
            CompiledMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources
