"""JupyterLab on the course: the instructor's view and a student's view.

* Instructor (``nncourse lab``, ``make lab``): JupyterLab rooted at the course
  folder with nbgrader's extensions, so the formgrader (menu Nbgrader >
  Formgrader, or ``/formgrader``) shows the gradebook of this course.
* Student (``nncourse lab --student``, ``make lab-student``): JupyterLab on a
  private copy of ``release/nn_layers`` in a scratch folder (made once, kept
  across runs so the work is not lost), with only the student's side of
  nbgrader: the Validate button.  The formgrader, course list, assignment list
  and create-assignment tools are switched off (nbgrader's install docs show
  the same for students' machines).  The student's nbgrader configuration
  (``course/lab/student/nbgrader_config.py``: Validate reports failing visible tests)
  goes into the view's Jupyter config folder, where a student's machine has it.

Either way the server listens on 127.0.0.1 only, with a fresh token, and all
Jupyter, IPython and matplotlib state goes to a hermetic HOME inside the folder
it serves (``course.authoring.apps.hermetic_env``).  ``start`` returns a ``LabServer``
that the browser tests drive too, so they test exactly what ``make lab`` runs.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..authoring.apps import STUDENT_NBGRADER_CONFIG, hermetic_env
from ..settings import ASSIGNMENT, ROOT, CourseError

DEFAULT_PORT = 8888
# STUDENT_NBGRADER_CONFIG: what a student's ~/.jupyter/ holds (Validate checks every cell, not only the hidden ones).
STUDENT_FOLDER = Path(".cache") / "lab-student"  # relative to the course folder

# nbgrader's instructor tools, hidden from a student (they need the course's gradebook).
STUDENT_DISABLED_PLUGINS = [
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:menu",
]
# The news pop-up asks to fetch a feed from the internet and covers the notebook.
ALWAYS_DISABLED_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]
STUDENT_DISABLED_SERVER_EXTENSIONS = [
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.assignment_list",
]
# Nothing may reach for the network: no news feed, no update check, no PyPI extension manager.
QUIET_LAB = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]


@dataclass
class LabView:
    """What one JupyterLab serves: its root folder, hermetic HOME and the path it opens first."""
    role: str           # "instructor" or "student"
    root: Path          # the server's root_dir (and working directory: nbgrader reads its config there)
    home: Path
    open_path: str      # relative to root, opened by the printed URL ("" = the root folder)


def instructor_view(course=ROOT):
    """The course folder itself, nbgrader fully enabled (formgrader, create assignment)."""
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise CourseError(f"{course} is not a course folder (no nbgrader_config.py)")
    return LabView("instructor", course, course / ".home" / "lab", "")


def student_view(course=ROOT, folder=None, fresh=False):
    """A student's copy of the release in ``folder`` (default <course>/.cache/lab-student);
    an existing copy is kept unless ``fresh``."""
    course = Path(course).resolve()
    release = course / "release" / ASSIGNMENT
    if not release.is_dir():
        raise CourseError(f"no release at {release}: run `make notebooks` first")
    folder = Path(folder).resolve() if folder else course / STUDENT_FOLDER
    work = folder / ASSIGNMENT
    if fresh and work.exists():
        shutil.rmtree(work)
    if not work.exists():
        shutil.copytree(release, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return LabView("student", folder, folder / ".home", ASSIGNMENT)


def free_port(preferred=None):
    """``preferred`` if it is free on 127.0.0.1, else any free port."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port on 127.0.0.1")


def write_disabled_plugins(config_dir, disabled):
    """Disable JupyterLab plugins for servers reading the Jupyter config folder ``config_dir``
    (its labconfig/page_config.json)."""
    labconfig = Path(config_dir) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    page_config = {"disabledExtensions": dict.fromkeys(disabled, True)}
    (labconfig / "page_config.json").write_text(json.dumps(page_config, indent=2) + "\n")


def write_page_config(view):
    """Disable JupyterLab plugins for this view."""
    disabled = ALWAYS_DISABLED_PLUGINS + (STUDENT_DISABLED_PLUGINS if view.role == "student" else [])
    write_disabled_plugins(view.home / ".jupyter", disabled)


def write_student_nbgrader_config(home):
    """Install the student's nbgrader configuration in the Jupyter config folder of ``home`` (what
    ``hermetic_env(home)`` calls JUPYTER_CONFIG_DIR), read by Validate in JupyterLab and in a terminal."""
    target = Path(home) / ".jupyter" / "nbgrader_config.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STUDENT_NBGRADER_CONFIG, target)
    return target


def lab_command(view, port, token):
    """argv and environment of the JupyterLab server for ``view``."""
    env = hermetic_env(view.home)
    write_page_config(view)
    # ipykernel picks the inline backend only when MPLBACKEND is unset; Agg would hide every figure.
    env.pop("MPLBACKEND", None)
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={view.root}", *QUIET_LAB]
    if os.geteuid() == 0:  # CI and containers run as root; Jupyter refuses that unless told
        argv.append("--allow-root")
    if view.role == "student":
        argv += [f"--ServerApp.jpserver_extensions={name}=False" for name in STUDENT_DISABLED_SERVER_EXTENSIONS]
        write_student_nbgrader_config(view.home)
    return argv, env


class LabServer:
    """A running JupyterLab: ``url(path)`` gives an address with the token; ``stop()`` ends it and its kernels."""

    def __init__(self, view, port, token, process, log_path):
        self.view, self.port, self.token, self.process, self.log_path = view, port, token, process, log_path
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path="", token=True):
        """``/lab/tree/<path>`` for a file or folder, ``/lab`` for ""; a path starting with '/' is used as is."""
        address = self.base + (path if path.startswith("/") else "/lab/tree/" + quote(path) if path else "/lab")
        return address + (f"?token={self.token}" if token else "")

    def log_tail(self, chars=4000):
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def wait_ready(self, timeout=120):
        """Block until the REST API answers; raise with the server's log if it exits or never answers."""
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(f"{self.base}/api/status", headers={"Authorization": f"token {self.token}"})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout=20):
        """SIGTERM (the server shuts its kernels down), then SIGKILL whatever of it is left."""
        if self.process.poll() is None:
            import psutil

            try:
                family = psutil.Process(self.process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                family = []
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            # Kernels live in sessions of their own: a killed server would leave them behind.
            for child in family:
                try:
                    child.kill()
                except psutil.NoSuchProcess:
                    pass
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(view, port=None, token=None, ready_timeout=120):
    """Start JupyterLab for ``view`` on 127.0.0.1 and wait until it answers; its log goes to <home>/lab.log."""
    port = port or free_port()
    token = token or secrets.token_hex(24)
    argv, env = lab_command(view, port, token)
    view.home.mkdir(parents=True, exist_ok=True)
    log_path = view.home / "lab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=view.root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(view, port, token, process, log_path)
    try:
        return server.wait_ready(ready_timeout)
    except BaseException:  # e.g. Ctrl-C while it starts: never leave a server behind
        server.stop()
        raise


def run(course=ROOT, student=False, folder=None, fresh=False, port=DEFAULT_PORT):
    """``nncourse lab``: start the view, print its addresses, serve until Ctrl-C."""
    view = student_view(course, folder, fresh) if student else instructor_view(course)
    chosen = free_port(port)
    if chosen != port:
        print(f"port {port} is busy, using {chosen}")
    print(f"starting JupyterLab ({view.role} view) on {view.root} ...", flush=True)
    try:
        server = start(view, chosen)
    except KeyboardInterrupt:
        return 130
    try:
        print(f"\n  {view.role} view:  {server.url(view.open_path)}")
        if view.role == "instructor":
            print(f"  formgrader:       {server.url('/formgrader')}")
            if not (view.root / "gradebook.db").exists():
                print("  (no gradebook yet: `nncourse release` registers the assignment, `make demo` grades a class)")
        print(f"\n  server log: {server.log_path}\n  Ctrl-C stops the server and its kernels.", flush=True)
        server.process.wait()
        print(f"JupyterLab exited with status {server.process.returncode}; see {server.log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping JupyterLab ...", flush=True)
        return 0
    finally:
        server.stop()
