"""Run one visible-test cell of a source notebook with a chosen implementation of its unit.

The notebook is replayed as a student's kernel would run it, up to that cell: its plain code cells
(imports, test fixtures such as TinyModel or SpyModel), the reference answers of the other solution
cells (the source notebook holds them), and in place of the unit's own answer the implementation
under test.  Hidden tests, demonstrations and the other visible tests are skipped.
"""
import ast
import contextlib
import io
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source" / "nn_layers"
RELEASE = ROOT / "release" / "nn_layers"


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


@lru_cache(maxsize=None)
def _cells(notebook):
    return nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4).cells


def visible_cells():
    """[(notebook, visible-test cell id, unit)]: every locked test cell, with the answer it follows."""
    found = []
    for path in sorted(SOURCE.glob("*.ipynb")):
        unit = None
        for cell in _cells(path.stem):
            meta = _meta(cell)
            if meta.get("solution"):
                unit = meta["grade_id"]
            elif cell.cell_type == "code" and meta.get("locked") and not meta.get("grade") \
                    and not meta["grade_id"].startswith("demo_"):
                found.append((path.stem, meta["grade_id"], unit))
    return found


def _defined_name(source):
    """The class or function a solution cell defines."""
    return next(node.name for node in ast.parse(source).body if isinstance(node, (ast.ClassDef, ast.FunctionDef)))


def run_visible(notebook, cell_id, unit, impl):
    """None if the visible-test cell passes with ``impl`` as ``unit``'s answer, else the exception it raised."""
    if str(RELEASE) not in sys.path:
        sys.path.insert(0, str(RELEASE))  # nn_helpers, as next to the notebook
    namespace = {"__name__": "__main__"}
    state = np.random.get_state()
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a kernel prints warnings; it does not fail on them
            for cell in _cells(notebook):
                meta = _meta(cell)
                if cell.cell_type != "code" or meta.get("grade"):
                    continue
                if meta.get("solution") and meta["grade_id"] == unit:
                    namespace[_defined_name(cell.source)] = impl
                    continue
                if meta.get("locked") and meta["grade_id"] != cell_id:
                    continue  # other visible tests and demonstrations
                try:
                    exec(compile(cell.source, f"<{notebook}:{meta.get('grade_id', 'code')}>", "exec"), namespace)
                except Exception as exc:
                    if meta.get("grade_id") == cell_id:
                        return exc
                if meta.get("grade_id") == cell_id:
                    return None
    finally:
        np.random.set_state(state)
    raise LookupError(f"{notebook} has no cell {cell_id}")
