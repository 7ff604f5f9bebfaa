"""The feedback's preprocessors, which nbgrader_config.py plugs into nbgrader's GenerateFeedback pipeline."""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade

from ..trust.leakscan import HIDDEN_MARKERS


class RedactHiddenTests(NbGraderPreprocessor):
    """Feedback: hidden-test lines that student code printed anywhere (e.g. from ``In`` or a
    post_run_cell hook) are blanked out of every output, and hidden-test markers that a student typed
    into a cell of their own are defused (nbgrader's ClearHiddenTests would stop on them and leave the
    student without feedback).  Runs before ClearHiddenTests; only graded cells, which the autograder
    restored from the course, keep their hidden-test regions."""

    placeholder = "[скрытый тест]"
    marker_placeholder = "[маркер скрытых тестов]"

    def preprocess(self, nb, resources):
        hidden = set()
        for cell in nb.cells:
            if not is_grade(cell):
                continue
            inside = False
            for line in cell.source.splitlines():
                marker = line.strip()
                if marker == "### BEGIN HIDDEN TESTS":
                    inside = True
                    hidden.add(marker)
                elif marker == "### END HIDDEN TESTS":
                    inside = False
                    hidden.add(marker)
                elif inside and len(marker) >= 8:
                    hidden.add(marker)
        self._hidden = sorted(hidden, key=len, reverse=True)
        return super().preprocess(nb, resources)

    def _redact(self, text):
        for line in self._hidden:
            text = text.replace(line, self.placeholder)
        for marker in HIDDEN_MARKERS:
            text = text.replace(marker, self.marker_placeholder)
        return text

    def preprocess_cell(self, cell, resources, index):
        if not is_grade(cell):
            for marker in HIDDEN_MARKERS:
                cell.source = cell.source.replace(marker, self.marker_placeholder)
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = self._redact(output.text)
            for key, value in output.get("data", {}).items():
                if key.startswith("text/") and isinstance(value, str):
                    output.data[key] = self._redact(value)
            if output.output_type == "error":
                output.evalue = self._redact(output.evalue)
                output.traceback = [self._redact(line) for line in output.traceback]
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
