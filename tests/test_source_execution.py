"""Every source notebook (reference answers in place) executes cleanly:
no error, nothing on stderr, every hidden check passes, figures render, and
the demonstrations (which the autograder skips) run here."""
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.authoring.build import is_demo
from course.grading.plugins import DEMO_SKIPPED

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "source" / "nn_layers").glob("*.ipynb"))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("source")
    shutil.copytree(ROOT / "source" / "nn_layers", folder, dirs_exist_ok=True)
    return folder


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_source_notebook_executes_cleanly(name, workdir):
    nb = nbformat.read(workdir / name, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    print(f"\n{name}: executed in {time.perf_counter() - start:.1f} s")
    images = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{name}: {output.ename}: {output.evalue}"
            assert output.get("name") != "stderr", f"{name}: stderr: {output.text[:500]}"
            images += "image/png" in output.get("data", {})
        if cell.metadata.get("nbgrader", {}).get("grade"):
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "✓" in text, f"{name}: hidden check {cell.metadata.nbgrader.grade_id} printed no success line"
    assert images >= 1, f"{name}: no figure rendered"
    demos = [c for c in nb.cells if is_demo(c)]
    assert demos and all(c.outputs and DEMO_SKIPPED not in str(c.outputs) for c in demos), \
        f"{name}: a demonstration did not run"
