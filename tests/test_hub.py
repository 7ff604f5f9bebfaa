"""The course on a real JupyterHub, end to end in Chromium: fetch, edit, validate, submit, grade, feedback.

As root, the test creates two Unix groups (students, instructors), an instructor and two student
accounts with random passwords, a private course folder (mode 0700, the instructor's) and a
temporary exchange; it starts the hub and its proxy on loopback with the course's
jupyterhub_config.py (`nncourse hub`), and removes accounts, groups and folders afterwards, also
when the test fails.  Student A logs in on the hub's login page, fetches nn_layers in the
Assignments tab, replaces the ReLU stub, validates and submits; student B submits the untouched
assignment; the instructor collects, autogrades 01_activations and releases the feedback; each
student fetches it and reads the points.  Screenshots go to artifacts/browser/test_course_on_jupyterhub/;
with NNCOURSE_DOCS_SCREENSHOTS=1 the ones docs/real-course.md shows are also written to docs/img/.

Run only this: `.venv/bin/python -m pytest -m hub` (as root; needs `make proxy chromium`).
"""
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import expect
from test_feedback import CYRILLIC, hidden_cells, page_lines
from test_browser import RELU_ANSWER, Screens, browser, cell, cell_index, menu, notebook_cells, validate  # noqa: F401

from course.authoring.apps import course_copy, generate_release
from course.delivery.loop import publish
from course.lab import hub as course_hub
from course.settings import ASSIGNMENT, ROOT

pytestmark = [pytest.mark.hub, pytest.mark.browser]

TAG = "nnhub" + secrets.token_hex(3)  # accounts and groups of this run only
DOCS_IMG = ROOT / "docs" / "img"
NOTEBOOK = "01_activations"
SPAWN = 120_000  # ms: the hub starts a JupyterLab for the user on a busy 2-core machine


# --- accounts, course and exchange ------------------------------------------------------------------

def run_root(*cmd, stdin=None):
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(cmd)}: {done.stderr}"


class Accounts:
    """System accounts made for this test: ``password[name]``; ``remove()`` deletes them and their processes."""

    def __init__(self):
        self.groups = {"students": f"{TAG}-s", "instructors": f"{TAG}-i"}
        self.password, self.made_groups = {}, []

    def group(self, role):
        run_root("groupadd", self.groups[role])
        self.made_groups.append(self.groups[role])

    def user(self, name, role):
        name = f"{TAG}{name}"
        run_root("useradd", "--create-home", "--shell", "/bin/bash", "--groups", self.groups[role], name)
        self.password[name] = secrets.token_urlsafe(12)
        run_root("chpasswd", stdin=f"{name}:{self.password[name]}\n")
        return name

    def remove(self):
        import pwd

        for name in self.password:
            try:
                uid = pwd.getpwnam(name).pw_uid
            except KeyError:
                continue
            for process in psutil.process_iter(["uids"]):  # servers and kernels the hub left behind
                if process.info["uids"] and process.info["uids"].real == uid:
                    try:
                        process.kill()
                    except psutil.NoSuchProcess:
                        pass
            subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=60)
        for group in self.made_groups:
            subprocess.run(["groupdel", group], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def accounts():
    if os.geteuid() != 0:
        pytest.fail("the hub test creates system accounts and runs JupyterHub: run it as root (CI does)",
                    pytrace=False)
    if not course_hub.PROXY.exists():
        pytest.fail(f"no configurable-http-proxy at {course_hub.PROXY}: run `make proxy`", pytrace=False)
    made = Accounts()
    try:
        made.group("students")
        made.group("instructors")
        made.instructor = made.user("i", "instructors")
        made.student_a, made.student_b = made.user("a", "students"), made.user("b", "students")
        yield made
    finally:
        made.remove()


@pytest.fixture(scope="module")
def site(accounts):
    """(course folder, exchange root): a private course of the first notebook alone (nbgrader's Assignments tab
    offers feedback only once every notebook of a submission has some), the instructor's, mode 0700, and an
    exchange in /tmp (pytest's own folders are root's and closed to the students)."""
    base = Path(tempfile.mkdtemp(prefix=f"{TAG}-"))
    base.chmod(0o755)
    course = course_copy(base / "course")
    for other in (course / "source" / ASSIGNMENT).glob("*.ipynb"):
        if other.stem != NOTEBOOK:
            other.unlink()
    generate_release(course)
    run_root("chown", "-R", f"{accounts.instructor}:", str(course))
    course.chmod(0o700)
    exchange = base / "exchange"  # made by the first `release --exchange` (course.delivery.exchange)
    saved = os.environ.get("NNCOURSE_EXCHANGE")
    os.environ["NNCOURSE_EXCHANGE"] = str(exchange)  # read by the course's nbgrader_config.py
    try:
        yield course, exchange
    finally:
        if saved is None:
            os.environ.pop("NNCOURSE_EXCHANGE", None)
        else:
            os.environ["NNCOURSE_EXCHANGE"] = saved
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(site, accounts):
    course, _ = site
    groups = f"{accounts.groups['students']},{accounts.groups['instructors']}"
    server = course_hub.start(course, state=course.parent / "hub", groups_spec=groups)
    try:
        yield server
    finally:
        server.stop()
        print(f"hub log (tail):\n{server.log_tail(3000)}")


def instructor(course, command, *args):
    """The instructor's step ``command`` on the course, as root: `nncourse collect`, `autograde` or `feedback`
    (``release`` publishes the release that ``site`` generated: `release --exchange` would rebuild all of
    source/ from the templates, and this course holds the first notebook only)."""
    if command == "release":
        return f"published to the exchange: {publish(course)}"
    done = subprocess.run([sys.executable, "-m", "course.cli", "--course", str(course), command, *args],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"nncourse {command} {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


# --- the browser ------------------------------------------------------------------------------------

class Shots(Screens):
    """Screens that also keep the named shots for docs/real-course.md when NNCOURSE_DOCS_SCREENSHOTS=1."""

    def shot(self, name, scroll_to=None, docs=None):
        path = super().shot(name, scroll_to)
        if docs and os.environ.get("NNCOURSE_DOCS_SCREENSHOTS") == "1":
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMG / f"hub-{docs}.png")
        return path


@pytest.fixture
def login(browser, hub, accounts, screenshots):  # noqa: F811 -- the browser fixture of test_browser
    """login(user) -> a page of the user's JupyterLab, reached through the hub's login page."""
    contexts = []

    def log_in(user, docs=None):
        context = browser.new_context(viewport={"width": 1200, "height": 760})
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.screens = Shots(page, screenshots)
        page.user, page.base = user, f"{hub.base}/user/{user}"
        page.goto(f"{hub.base}/hub/login")
        page.locator("#username_input").fill(user)
        page.locator("#password_input").fill(accounts.password[user])
        if docs:
            page.screens.shot(f"{user}-login", docs=docs)
        page.locator("#login_submit").click()
        page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=SPAWN)
        expect(page.locator("#jp-menu-panel")).to_be_visible(timeout=SPAWN)
        return page

    yield log_in
    for context in contexts:
        try:
            for page in context.pages:  # the state each user's page ended in, e.g. where it failed
                page.screens.shot(f"{page.user}-last")
        finally:
            context.close()


def assignments(page):
    """The Assignments tab (nbgrader's assignment list) with its lists loaded."""
    menu(page, "Nbgrader", "Assignment List")
    tab = page.locator("#nbgrader-assignment-list")
    expect(tab.locator(".list_loading:visible")).to_have_count(0, timeout=60_000)
    return tab


def fetch(page, docs=None):
    tab = assignments(page)
    released = tab.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    expect(released).to_have_count(1, timeout=60_000)
    if docs:
        page.screens.shot("assignments-released", docs=docs)
    released.get_by_role("button", name="Fetch").click()
    expect(tab.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first).to_be_visible(timeout=60_000)
    return tab


def submit(page, docs=None):
    tab = assignments(page)
    tab.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).get_by_role(
        "button", name="Submit").click()
    expect(tab.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first).to_be_visible(
        timeout=60_000)
    if docs:
        page.screens.shot("submitted", docs=docs)


def fetch_feedback(page, docs=None):
    """Fetch the released feedback in the Assignments tab, open NOTEBOOK's page; return the HTML it shows."""
    tab = assignments(page)
    submitted = tab.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
    submitted.get_by_role("button", name="Fetch Feedback").click()
    view = tab.locator("#submitted_assignments_list").get_by_text("(view feedback)")
    expect(view).to_have_count(1, timeout=60_000)
    if docs:
        page.screens.shot("feedback-fetched", docs=docs)
    view.click()  # the file browser goes to the feedback folder
    pages = sorted(Path("/home", page.user, ASSIGNMENT, "feedback").glob(f"*/{NOTEBOOK}.html"))
    assert len(pages) == 1, pages
    relative = pages[0].relative_to(Path("/home", page.user))
    page.goto(f"{page.base}/files/{relative}")  # as the file browser's "Open in New Browser Tab" does
    expect(page.locator("body")).to_contain_text("Score:")
    shown = page.screens.folder / f"{page.user}-feedback.html"  # what the browser got, kept with the screenshots
    shown.write_text(page.content(), encoding="utf-8")
    return shown


def replace_stub(page, index, text):
    """Click into the cell, select all, paste ``text`` from the clipboard (as test_browser does)."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.base.split("/user/")[0])
    cell(page, index).locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.keyboard.press("ControlOrMeta+v")
    assert "\n".join(cell(page, index).locator(".cm-line").all_text_contents()) == text


# --- the test ---------------------------------------------------------------------------------------

def test_students_cannot_read_the_course(site, accounts):
    """The course folder is the instructor's alone: a student cannot list source/ nor read a source notebook."""
    course, _ = site
    for path in (course / "source", course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", course / "gradebook.db"):
        done = subprocess.run(["setpriv", f"--reuid={accounts.student_a}", f"--regid={accounts.student_a}",
                               "--init-groups", "--", "cat" if path.suffix else "ls", str(path)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode != 0 and "Permission denied" in done.stderr, (path, done.stdout[:200], done.stderr)


def test_course_on_jupyterhub(login, site, accounts):
    course, exchange = site
    instructor(course, "release")
    released = course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    cells = notebook_cells(released)
    stub = cell_index(cells, "relu")

    # Student A: log in, fetch, open the notebook from the Assignments tab, answer ReLU, validate, submit.
    a = login(accounts.student_a, docs="login")
    tab = fetch(a, docs="released")
    fetched = tab.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first
    fetched.locator("a", has_text=ASSIGNMENT).first.click()  # unfolds its notebooks
    a.locator("#fetched_assignments_list a", has_text=NOTEBOOK).click()
    expect(a.locator(".jp-Notebook .jp-Cell")).to_have_count(len(cells), timeout=60_000)
    assert a.request.get(f"{a.base}/formgrader").status == 404  # the instructor's tools are not served to students
    replace_stub(a, stub, RELU_ANSWER)
    a.screens.shot("relu-answered", scroll_to=cell(a, stub), docs="relu-answered")
    a.keyboard.press("ControlOrMeta+s")
    expect(a.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0)
    dialog = validate(a)
    message = dialog.locator("#validation-message")
    expect(message).to_have_class(re.compile(r"\bvalidation-failed\b"))  # Sigmoid and Tanh are still stubs
    expect(message).to_contain_text("Открытые тесты Sigmoid не пройдены")
    expect(message).not_to_contain_text("Открытые тесты ReLU не пройдены")
    a.screens.shot("validated", scroll_to=message.get_by_text("Открытые тесты Sigmoid не пройдены"), docs="validate")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    submit(a, docs="submitted")
    home_a = Path("/home", accounts.student_a, ASSIGNMENT, f"{NOTEBOOK}.ipynb")
    assert "".join(notebook_cells(home_a)[stub]["source"]) == RELU_ANSWER

    # Student B hands in the assignment untouched.
    b = login(accounts.student_b)
    fetch(b)
    submit(b)

    # The instructor collects, grades 01_activations of both and releases the feedback.
    instructor(course, "collect")
    for student in (accounts.student_a, accounts.student_b):
        assert (course / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").is_file(), student
    instructor(course, "autograde", "--notebook", NOTEBOOK, "--no-feedback")  # feedback --release writes them
    instructor(course, "feedback", "--release")

    # Student A: full marks for ReLU, nothing for the stubs; student B: nothing, each lost point with a reason.
    cells_a = hidden_cells(page_lines(fetch_feedback(a, docs="feedback")))
    a.screens.shot("feedback-relu", scroll_to=a.get_by_text("Score: 2.0 / 2.0").last, docs="feedback-relu")
    assert [(score, maximum) for score, maximum, title, _ in cells_a if "ReLU" in title] == [(2, 2)], cells_a
    assert len(cells_a) == 3 and sum(score for score, *_ in cells_a) == 2, cells_a
    cells_b = hidden_cells(page_lines(fetch_feedback(b)))
    b.screens.shot("feedback-zero", scroll_to=b.get_by_text("CheckFailure").first, docs="feedback-zero")
    assert len(cells_b) == 3 and all(score == 0 for score, *_ in cells_b), cells_b
    for _, _, title, said in cells_b + [lost for lost in cells_a if lost[0] == 0]:
        assert said.startswith("CheckFailure: ") and CYRILLIC.search(said), (title, said)

    # The instructor's JupyterLab opens the course with the formgrader on its gradebook.
    teacher = login(accounts.instructor)
    menu(teacher, "Nbgrader", "Formgrader")
    row = teacher.frame_locator(".jp-MainAreaWidget iframe").locator("#main-table tr", has_text=ASSIGNMENT)
    expect(row.locator(".num-submissions")).to_have_text("2", timeout=60_000)
    teacher.screens.shot("formgrader", scroll_to=row, docs="formgrader")


def test_each_role_gets_its_nbgrader_configuration(tmp_path, released_course):
    """What nbgrader reads in a server of each role, from its home (not the course): a student's has the
    exchange and Validate's options, an instructor's is the course's own."""
    course = released_course
    folders = course_hub.write_role_configs(course, tmp_path / "state")
    course_id, exchange = course_hub.course_options(course)
    probe = ("from nbgrader.apps.baseapp import NbGrader; from nbgrader.exchange import ExchangeFactory; "
             "app = NbGrader(); app.load_config_file(); c = app.config; "
             "print(c.CourseDirectory.course_id, c.Exchange.root, c.Validator.get('validate_all'), "
             "c.CourseDirectory.get('root'), ExchangeFactory(config=c).submit.__module__)")
    seen = {}
    for role, paths in folders.items():
        env = {**os.environ, "JUPYTER_CONFIG_PATH": os.pathsep.join(map(str, paths)), "HOME": str(tmp_path),
               "PYTHONPATH": str(paths[0]) if role == "student" else ""}  # as the hub's spawner sets it
        done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        seen[role] = done.stdout.split()
    assert seen["student"] == [course_id, str(exchange), "True", "None", "nncourse_exchange"], seen
    assert seen["instructor"] == [course_id, str(exchange), "None", str(course), "nbgrader.exchange.default.submit"], seen
