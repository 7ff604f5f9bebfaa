"""The real UI in a real browser: JupyterLab and nbgrader's formgrader, driven by
Playwright in headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM).

Each test starts its own JupyterLab through course.lab (what `make lab` runs) on a
temporary copy of the course, on a free loopback port with a token, and stops it
afterwards, also on failure.  Every step leaves a screenshot in
artifacts/browser/<test>/ (printed at the end of the run).

Run only these: `.venv/bin/python -m pytest -m browser`.
"""
import base64
import io
import json
import os
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from playwright.sync_api import expect, sync_playwright

from course.authoring.apps import course_copy
from course.demo.classroom import reference, submit, untouched
from course.grading.client import autograde
from course.grading.job import Limits
from course.grading.results import GRADED, assignment_structure
from course.lab import server as lab
from course.settings import ASSIGNMENT, ROOT
from students import RELU_ANSWER

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps dialling out of the closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KERNEL_RUN = 90_000  # ms: a notebook's cells on a busy 2-core machine
ERROR_MIME = "application/vnd.jupyter.stderr"  # how JupyterLab renders tracebacks and stderr

# The three curves of 01_activations' figure, in matplotlib's default colours.
CURVES = {"ReLU": (0x1F, 0x77, 0xB4), "Sigmoid": (0xFF, 0x7F, 0x0E), "Tanh": (0x2C, 0xA0, 0x2C)}


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need it. Install Debian's build "
                    "(as root: apt-get update && apt-get install -y --no-install-recommends chromium), "
                    "or point $CHROMIUM at a Chromium binary.", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def start_lab():
    """start_lab(view) -> a running LabServer; every server is stopped after the test, pass or fail."""
    servers = []

    def start(view):
        servers.append(lab.start(view))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


class Screens:
    """Numbered screenshots of one test: shot('name') writes NN-name.png."""

    def __init__(self, page, folder):
        self.page, self.folder, self.count = page, folder, 0

    def shot(self, name, scroll_to=None):
        if scroll_to is not None:
            scroll_to.scroll_into_view_if_needed()
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=path)
        return path


@pytest.fixture
def page(browser, screenshots):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.screens = Screens(page, screenshots)
    yield page
    try:
        page.screens.shot("last")  # the state the test ended in, e.g. where it failed
    finally:
        context.close()


# --- JupyterLab helpers ---------------------------------------------------------------------------

def notebook_cells(path):
    return json.loads(Path(path).read_text())["cells"]


def cell_index(cells, grade_id=None, contains=None):
    """Index of the cell with this nbgrader grade_id, or of the first code cell containing the text."""
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if grade_id and cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return i
        if contains and cell["cell_type"] == "code" and contains in source:
            return i
    raise AssertionError(f"no cell {grade_id or contains!r} in the notebook")


def open_notebook(page, server, path, cells):
    """Open the notebook and wait until every cell is shown and its kernel is idle."""
    page.goto(server.url(path))
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(cells), timeout=60_000)
    wait_kernel_idle(page, timeout=60_000)


def wait_kernel_idle(page, timeout=KERNEL_RUN):
    """No cell queued or running, and the kernel reports idle."""
    expect(page.locator(".jp-Notebook .jp-InputPrompt", has_text="[*]")).to_have_count(0, timeout=timeout)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Python 3 (ipykernel) | Idle", timeout=timeout)


def wait_ran(page, index):
    """Wait until the cell has run (an execution count in its prompt) and the kernel is idle again.

    The cells after it that a run queued show [*] until they finish or are aborted,
    so no [*] left means the whole run is over.
    """
    expect(cell(page, index).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=KERNEL_RUN)
    wait_kernel_idle(page)


def menu(page, top, item):
    page.locator("#jp-menu-panel").get_by_text(top, exact=True).click()
    page.locator(".lm-Menu").get_by_text(item, exact=True).click()


def cell(page, index):
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def output(page, index):
    return cell(page, index).locator(".jp-OutputArea")


def run_cell(page, index):
    """Put the cursor in the cell and press Ctrl+Enter (run it, stay there), as a student does."""
    cell(page, index).locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+Enter")


def figure_png(page, index):
    """The PNG bytes of the image the cell's output shows, after checking the browser decoded it."""
    image = output(page, index).locator("img")
    expect(image).to_have_count(1)
    src = image.get_attribute("src")
    assert src.startswith("data:image/png;base64,"), f"the figure is not an inline PNG: {src[:60]}"
    width, height = image.evaluate("img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])")
    assert width > 300 and height > 100, f"the browser did not render the figure ({width}x{height})"
    return base64.b64decode(src.split(",", 1)[1])


def curve_pixels(png):
    """{curve: number of pixels in its colour} in a PNG of the activations figure."""
    rgb = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    return {name: int(np.all(np.abs(rgb - np.array(colour) / 255) < 0.04, axis=-1).sum())
            for name, colour in CURVES.items()}


# --- the tests ------------------------------------------------------------------------------------

def test_student_first_run(page, start_lab, tmp_path):
    """A student opens the release, pastes a correct ReLU, runs everything and reads the results."""
    view = lab.student_view(folder=tmp_path / "student")
    notebook = view.root / ASSIGNMENT / "01_activations.ipynb"
    cells = notebook_cells(notebook)
    stub, relu_tests = cell_index(cells, "relu"), cell_index(cells, "relu_visible_tests")
    sigmoid_tests, tanh_tests = cell_index(cells, "sigmoid_visible_tests"), cell_index(cells, "tanh_visible_tests")
    tanh_stub = cell_index(cells, "tanh")
    plot = cell_index(cells, contains="plt.show()")
    assert "raise NotImplementedError()" in "".join(cells[stub]["source"])

    server = start_lab(view)
    open_notebook(page, server, f"{ASSIGNMENT}/01_activations.ipynb", cells)
    # The student's side of nbgrader only: Validate, no instructor menu.
    expect(page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True)).to_be_visible()
    expect(page.locator("#jp-menu-panel").get_by_text("Nbgrader", exact=True)).to_have_count(0)
    page.screens.shot("opened")

    # Paste the answer over the stub: click into the cell, select all, paste from the clipboard.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    cell(page, stub).locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.evaluate("text => navigator.clipboard.writeText(text)", RELU_ANSWER)
    page.keyboard.press("ControlOrMeta+v")
    lines = cell(page, stub).locator(".cm-line").all_text_contents()
    assert "\n".join(lines) == RELU_ANSWER, f"the editor holds {lines}"
    page.screens.shot("relu-pasted", scroll_to=cell(page, stub))

    menu(page, "Run", "Run All Cells")
    wait_ran(page, relu_tests)
    expect(output(page, relu_tests)).to_contain_text("✓ открытые тесты ReLU пройдены")
    expect(output(page, relu_tests).locator(f'[data-mime-type="{ERROR_MIME}"]')).to_have_count(0)
    # JupyterLab stops a run at the first error: the Sigmoid stub's visible test.
    expect(output(page, sigmoid_tests)).to_contain_text("NotImplementedError")
    expect(output(page, sigmoid_tests).locator(f'[data-mime-type="{ERROR_MIME}"]')).to_have_count(1)
    expect(cell(page, tanh_tests).locator(".jp-InputPrompt")).to_have_text(re.compile(r"^\s*\[\s*\]:\s*$"))
    page.screens.shot("relu-test-passes", scroll_to=output(page, relu_tests))
    page.screens.shot("sigmoid-not-implemented", scroll_to=cell(page, sigmoid_tests))

    # The student goes on from the Tanh stub: its test fails too; then the plot shows only ReLU.
    cell(page, tanh_stub).locator(".cm-content").click()
    menu(page, "Run", "Run Selected Cell and All Below")
    wait_ran(page, tanh_tests)
    expect(output(page, tanh_tests)).to_contain_text("NotImplementedError")
    expect(cell(page, plot).locator(".jp-InputPrompt")).to_have_text(re.compile(r"^\s*\[\s*\]:\s*$"))
    page.screens.shot("tanh-not-implemented", scroll_to=cell(page, tanh_tests))
    run_cell(page, plot)
    wait_ran(page, plot)
    png = figure_png(page, plot)
    expect(output(page, plot)).to_contain_text("Sigmoid ещё не реализован")
    expect(output(page, plot)).to_contain_text("Tanh ещё не реализован")
    pixels = curve_pixels(png)
    assert pixels["ReLU"] > 300 and pixels["Sigmoid"] < 20 and pixels["Tanh"] < 20, pixels
    page.screens.shot("plot-relu-only", scroll_to=output(page, plot))

    # Saved through the UI: the file on disk holds the pasted answer.
    dirty = page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")
    expect(dirty).to_have_count(1)
    page.keyboard.press("ControlOrMeta+s")
    expect(dirty).to_have_count(0)
    assert "".join(notebook_cells(notebook)[stub]["source"]) == RELU_ANSWER


def validate(page):
    """Click nbgrader's Validate button (it saves, then validates) and return its result dialog."""
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    expect(dialog.locator("#validation-message")).to_be_visible(timeout=KERNEL_RUN)
    return dialog


def test_student_validates(page, start_lab, tmp_path):
    """Validate on the untouched notebook names each failing visible test in Russian; filled, it succeeds."""
    view = lab.student_view(folder=tmp_path / "student")
    path = f"{ASSIGNMENT}/01_activations.ipynb"
    cells = notebook_cells(view.root / path)
    server = start_lab(view)
    open_notebook(page, server, path, cells)
    page.screens.shot("opened")

    dialog = validate(page)
    message = dialog.locator("#validation-message")
    expect(message).to_have_class(re.compile(r"\bvalidation-failed\b"))
    failures = message.locator(".jp-RenderedText pre")  # each failed cell: its source, then the explanation
    expect(failures).to_have_count(6)
    for i, name in enumerate(("ReLU", "Sigmoid", "Tanh")):
        explanation = failures.nth(2 * i + 1)
        expect(explanation).to_contain_text(f"✗ Открытые тесты {name} не пройдены (ячейка {name.lower()}_visible_tests).")
        expect(explanation).to_contain_text(f"В {name}.forward ещё стоит заглушка raise NotImplementedError()")
    expect(message).not_to_contain_text("plt.show()")  # the demonstration is not run
    page.screens.shot("validate-untouched-relu", scroll_to=failures.nth(1))
    page.screens.shot("validate-untouched-tanh", scroll_to=failures.nth(5))
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)

    # The student's answers (the reference) in place; the notebook opened again shows them.
    filled = tmp_path / "filled"
    reference(ROOT / "release" / ASSIGNMENT, ROOT / "source" / ASSIGNMENT, filled)
    (view.root / path).write_bytes((filled / "01_activations.ipynb").read_bytes())
    open_notebook(page, server, path, notebook_cells(view.root / path))
    expect(cell(page, cell_index(cells, "relu")).locator(".cm-content")).to_contain_text("np.maximum")
    page.screens.shot("filled")

    dialog = validate(page)
    message = dialog.locator("#validation-message")
    expect(message).to_have_class(re.compile(r"\bvalidation-success\b"))
    expect(message).to_have_text("Success! Your notebook passes all the tests.")
    page.screens.shot("validate-filled")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()


def test_source_notebook_plots_render(page, start_lab, tmp_path):
    """The instructor runs a source notebook: every cell runs clean and the matplotlib figure shows."""
    view = lab.instructor_view(course_copy(tmp_path / "course"))
    path = f"source/{ASSIGNMENT}/01_activations.ipynb"
    cells = notebook_cells(view.root / path)
    plot = cell_index(cells, contains="plt.show()")

    server = start_lab(view)
    open_notebook(page, server, path, cells)
    page.screens.shot("opened")
    menu(page, "Run", "Run All Cells")
    wait_ran(page, plot)
    png = figure_png(page, plot)
    page.screens.shot("figure", scroll_to=output(page, plot))

    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_text_contents()
    assert all(re.fullmatch(r"\s*\[\d+\]:\s*", p) for p in prompts), f"cells not run: {prompts}"
    errors = page.locator(f'.jp-Notebook [data-mime-type="{ERROR_MIME}"]')
    assert errors.count() == 0, f"errors in the source notebook: {errors.all_text_contents()}"
    pixels = curve_pixels(png)
    assert all(count > 300 for count in pixels.values()), f"curves missing from the figure: {pixels}"
    output(page, plot).locator("img").screenshot(path=page.screens.folder / "figure-only.png")


def test_formgrader_shows_autograded_class(page, start_lab, new_course):
    """After an autograde, the formgrader lists nn_layers, its eight notebooks and each one's submissions."""
    submit(new_course, "alice", reference)
    submit(new_course, "bob", untouched)
    results = autograde(new_course, jobs=2, limits=Limits(feedback=False), progress=False)  # the formgrader shows grades
    assert [r.status for r in results] == [GRADED] * 16, [(r.student, r.notebook, r.status, r.reason) for r in results]
    structure = assignment_structure(new_course)
    maxima = {notebook: sum(cells.values()) for notebook, cells in structure.items()}
    assert len(maxima) == 8

    server = start_lab(lab.instructor_view(new_course))
    page.goto(server.url(f"source/{ASSIGNMENT}"))
    menu(page, "Nbgrader", "Formgrader")  # nbgrader's lab extension opens the formgrader in a tab
    frame = page.frame_locator(".jp-MainAreaWidget iframe")
    table = frame.locator("#main-table")

    def at(*breadcrumbs):
        """Wait for the formgrader page with these breadcrumbs (each page has its own)."""
        expect(frame.locator(".breadcrumb li")).to_have_text(list(breadcrumbs))
        expect(table).not_to_contain_text("Loading")  # its rows come in by a separate request

    at("Assignments")
    row = table.locator("tr", has_text=ASSIGNMENT)
    expect(row).to_have_count(1)
    expect(row.locator(".num-submissions")).to_have_text("2")
    page.screens.shot("manage-assignments")

    frame.get_by_role("link", name="Manual Grading").click()
    at("Manual Grading")
    table.get_by_role("link", name=ASSIGNMENT, exact=True).click()
    at("Manual Grading", ASSIGNMENT)
    expect(table.locator(".name")).to_have_text(list(maxima))
    # One full-marks and one empty submission: every notebook averages half its points.
    expect(table.locator(".avg-score")).to_have_text([f"{m / 2:g} / {m:g}" for m in maxima.values()])
    page.screens.shot("notebooks")

    for notebook, maximum in maxima.items():
        table.get_by_role("link", name=notebook, exact=True).click()
        at("Manual Grading", ASSIGNMENT, notebook)
        scores = table.locator("tr .score")
        expect(scores).to_have_count(2)
        assert sorted(scores.all_text_contents()) == sorted([f"{maximum:g} / {maximum:g}", f"0 / {maximum:g}"]), \
            (notebook, scores.all_text_contents())
        if notebook == "01_activations":
            page.screens.shot("submissions-01_activations")
        frame.locator(".breadcrumb").get_by_role("link", name=ASSIGNMENT).click()
        at("Manual Grading", ASSIGNMENT)

    frame.get_by_role("link", name="Manage Students").click()
    at("Students")
    total = sum(maxima.values())
    expect(table.locator("tr", has_text="alice")).to_contain_text(f"{total:g} / {total:g}")
    expect(table.locator("tr", has_text="bob")).to_contain_text(f"0 / {total:g}")
    page.screens.shot("students")
