"""Preprocessors that nbgrader_config.py plugs into nbgrader's own pipelines."""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade


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


class HideTestInternals(NbGraderPreprocessor):
    """Feedback: graded cells show only the failure message, never a traceback.

    A traceback quotes the hidden test's source and the frames of the checks;
    the message of a CheckFailure is written for the student and names what
    is wrong without revealing the test.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
