"""JupyterHub for one course: real system accounts, a JupyterLab per user, nbgrader's exchange.

``nncourse hub`` (``make hub``) starts JupyterHub with the checkout's ``jupyterhub_config.py`` and
the configurable-http-proxy that ``make proxy`` installs into ``.cache/node_modules``, on
127.0.0.1, and prints the address.  ``configure(c, ...)`` is what that file calls:

* users log in with their system password (PAM); only members of the course's two Unix groups
  (``<course id>-students``, ``<course id>-instructors`` by default) may log in;
* each user's JupyterLab runs as that user (``LocalProcessSpawner``), in the user's home folder;
* a student's server gets a Jupyter config folder written by the hub (``<state>/jupyter/student``:
  the exchange root and course id, nbgrader's instructor tools switched off) and, behind it on
  ``JUPYTER_CONFIG_PATH``, ``course/lab/student``: the Validate configuration, deployed as is;
* an instructor's server opens the course folder, with the formgrader, and reads the course's
  own ``nbgrader_config.py`` (``<state>/jupyter/instructor``).

The hub runs as root (PAM reads /etc/shadow; servers are started as their users).  Its state
(database, cookie secret, log) is in ``<state>/private``, readable by root only.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..authoring.apps import STUDENT_EXCHANGE
from ..settings import ROOT, CourseError
from .server import (
    ALWAYS_DISABLED_PLUGINS,
    QUIET_LAB,
    STUDENT_NBGRADER_CONFIG,
    free_port,
    write_disabled_plugins,
)

DEFAULT_PORT = 8000
HUB_CONFIG = ROOT / "jupyterhub_config.py"
PROXY = ROOT / ".cache" / "node_modules" / ".bin" / "configurable-http-proxy"  # `make proxy`
STATE = ROOT / ".cache" / "hub"
# What `nncourse hub` tells its jupyterhub_config.py (a config file cannot take arguments).
ENV_COURSE, ENV_STATE, ENV_GROUPS = "NNCOURSE_HUB_COURSE", "NNCOURSE_HUB_STATE", "NNCOURSE_HUB_GROUPS"
ENV_PYTHON = "NNCOURSE_HUB_PYTHON"

# A student may fetch, validate, submit and fetch feedback; the rest of nbgrader is the instructor's.
HUB_STUDENT_DISABLED_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                                "@jupyter/nbgrader:course-list"]
# A student's submissions go through the course's hardened Submit (stock fetch, list and fetch-feedback).
STUDENT_SUBMIT = f"{STUDENT_EXCHANGE.stem}.PrivateSubmit"
HUB_STUDENT_DISABLED_SERVER_EXTENSIONS = ["nbgrader.server_extensions.formgrader",
                                          "nbgrader.server_extensions.course_list"]


@dataclass(frozen=True)
class Groups:
    """The Unix groups whose members may log in, and which role each gives."""
    students: str
    instructors: str

    @classmethod
    def of(cls, course_id, spec=None):
        """``spec`` "students,instructors" (``nncourse hub --groups``), else ``<course id>-students`` etc."""
        if spec:
            students, _, instructors = spec.partition(",")
            if not students or not instructors:
                raise CourseError(f"--groups {spec!r}: give two Unix groups, students first: STUDENTS,INSTRUCTORS")
            return cls(students, instructors)
        return cls(f"{course_id}-students", f"{course_id}-instructors")


def course_options(course):
    """(course id, exchange root) as the course's nbgrader_config.py sets them (nbgrader's defaults otherwise)."""
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.exchange import Exchange
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return CourseDirectory(config=config).course_id, Exchange(config=config).root


def write_json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_student_config(folder, course_id, exchange):
    """A student's server: the course's exchange, nbgrader's instructor tools off (lab and server)."""
    (folder / "nbgrader_config.py").write_text(
        "# Written by `nncourse hub` at each start: the course's exchange, as its nbgrader_config.py sets it.\n"
        "# Validate's configuration is the next folder on JUPYTER_CONFIG_PATH (from course/lab/student).\n"
        f"c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = {course_id!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        f"c.ExchangeFactory.submit = {STUDENT_SUBMIT!r}  # {STUDENT_EXCHANGE.name}, beside this file\n")
    write_json(folder / "jupyter_server_config.json", {"ServerApp": {"jpserver_extensions": dict.fromkeys(
        HUB_STUDENT_DISABLED_SERVER_EXTENSIONS, False)}})
    write_disabled_plugins(folder, ALWAYS_DISABLED_PLUGINS + HUB_STUDENT_DISABLED_PLUGINS)


def write_instructor_config(folder, course, exchange):
    """An instructor's server: the course's own nbgrader configuration, the formgrader in a tab."""
    # The formgrader reads nbgrader_config.py from the server's working folder, the user's home: point it at
    # the course's own file instead (one source of truth; it also sets the course root).
    (folder / "nbgrader_config.py").write_text(
        "# Written by `nncourse hub` at each start: the course's own configuration.\n"
        f"c = get_config()  # noqa: F821\nload_subconfig('nbgrader_config.py', path={str(course)!r})  # noqa: F821\n"
        f"c.Exchange.root = {str(exchange)!r}  # as the hub read it, with the hub's environment\n")
    # The formgrader opens in a JupyterLab tab, a frame of the same server: JupyterHub forbids every frame.
    write_json(folder / "jupyter_server_config.json", {"ServerApp": {"tornado_settings": {"headers": {
        "Content-Security-Policy": "frame-ancestors 'self'"}}}})
    write_disabled_plugins(folder, ALWAYS_DISABLED_PLUGINS)


def write_role_configs(course, state):
    """The Jupyter config folders the hub deploys: {"student": [folders], "instructor": [folders]}, highest
    priority first (a JUPYTER_CONFIG_PATH each).  Rewritten at every start, so they follow the course."""
    course_id, exchange = course_options(course)
    student, instructor = state / "jupyter" / "student", state / "jupyter" / "instructor"
    validate = state / "jupyter" / "student-validate"
    for folder in student, instructor, validate:
        folder.mkdir(parents=True, exist_ok=True)
    # Deployed, not linked: the checkout may be private to the instructor (it holds solutions/).
    shutil.copyfile(STUDENT_NBGRADER_CONFIG, validate / "nbgrader_config.py")
    write_student_config(student, course_id, exchange)
    # The students' side of the exchange (c.ExchangeFactory.submit), found on their PYTHONPATH: this folder.
    shutil.copyfile(STUDENT_EXCHANGE, student / STUDENT_EXCHANGE.name)
    write_instructor_config(instructor, course, exchange)
    for folder in state / "jupyter", student, instructor, validate, student / "labconfig", instructor / "labconfig":
        folder.chmod(0o755)  # every user's server reads them; nothing in them is secret
    return {"student": [student, validate], "instructor": [instructor]}


def runs_for_everyone(python, imports="jupyterhub, nbgrader, jupyterlab"):
    """Whether an unprivileged user (nobody) can start ``python`` and import ``imports``."""
    import pwd

    nobody = pwd.getpwnam("nobody")
    probe = [str(python), "-c", f"import {imports}"]
    try:  # switched as the spawner switches (setpriv's exec passed where the spawner's failed)
        return subprocess.run(probe, capture_output=True, timeout=120, cwd="/", user=nobody.pw_uid,
                              group=nobody.pw_gid, extra_groups=[]).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def users_python(state, python=None):
    """The Python the users' servers run: ``python`` if given (a students' venv without the course, see
    docs/real-course.md); else this venv's, if every user can run it; else, when this one lives
    in a private folder (e.g. pyenv under /root), the system's Python of the same version with this venv's
    packages: a venv of links in <state>/python, its site-packages, share/ and etc/ this venv's own."""
    if python:
        if not runs_for_everyone(python):
            raise CourseError(f"{python}: an unprivileged user cannot run it, or it lacks jupyterhub, nbgrader "
                              "or jupyterlab")
        return Path(python)
    if runs_for_everyone(sys.executable):
        return Path(sys.executable)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin") / version
    if not system.exists():
        raise CourseError(f"the users cannot run {sys.executable} (a folder on its path is private) and there "
                          f"is no /usr/bin/{version}: install the course with a Python every user can run")
    shim, venv = Path(state) / "python", Path(sys.prefix)
    if shim.exists():
        shutil.rmtree(shim)
    (shim / "bin").mkdir(parents=True)
    (shim / "lib" / version).mkdir(parents=True)
    (shim / "pyvenv.cfg").write_text(f"home = {system.parent}\ninclude-system-site-packages = false\n")
    (shim / "bin" / "python").symlink_to(system)
    (shim / "lib" / version / "site-packages").symlink_to(venv / "lib" / version / "site-packages")
    for data in ("share", "etc"):  # JupyterLab's assets, nbgrader's lab extension, enabled server extensions
        (shim / data).symlink_to(venv / data)
    python = shim / "bin" / "python"
    if not runs_for_everyone(python):
        raise CourseError(f"the users can run neither {sys.executable} nor {system} with the course's packages "
                          f"({venv} must be readable by every user)")
    return python


def role_of(username, groups):
    """"instructor", "student" or None, from the user's Unix groups as they are now."""
    import grp
    import pwd

    try:
        gids = set(os.getgrouplist(username, pwd.getpwnam(username).pw_gid))
    except KeyError:
        return None
    for role, name in (("instructor", groups.instructors), ("student", groups.students)):
        try:
            if grp.getgrnam(name).gr_gid in gids:
                return role
        except KeyError:
            continue
    return None


def reference_warning(python):
    """A warning when the students' servers could import the reference (``solutions``), else ""."""
    if not runs_for_everyone(python, "solutions"):
        return ""
    return (f"WARNING: the students' servers run {python}, which imports the reference solutions/ "
            "(a readable checkout). On a real course give --users-python a students' venv without the course "
            "(docs/real-course.md).")


def configure(c, course, state, groups, python=None):
    """Fill JupyterHub's config ``c`` for ``course`` (jupyterhub_config.py calls this); ``python``: the users'
    servers' interpreter (default: see users_python)."""
    course, state = Path(course).resolve(), Path(state).resolve()
    private = state / "private"
    private.mkdir(parents=True, exist_ok=True)
    private.chmod(0o700)
    folders = write_role_configs(course, state)
    students_python = Path(python) if python else users_python(state)  # `nncourse hub` checked a given one
    # The course's nbgrader_config.py imports the course: an instructor's server runs this venv, which a
    # students' Python given apart lacks (the instructor owns the checkout, so can run it).
    pythons = {"student": students_python, "instructor": Path(sys.prefix, "bin", "python") if python else students_python}

    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = {groups.students, groups.instructors}
    c.JupyterHub.spawner_class = "localprocess"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.db_url = f"sqlite:///{private / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(private / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(private / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.command = [str(PROXY)]
    c.ConfigurableHTTPProxy.pid_file = str(private / "proxy.pid")
    c.Spawner.default_url = "/lab"
    c.Spawner.args = list(QUIET_LAB)
    c.Spawner.http_timeout = c.Spawner.start_timeout = 120  # a busy 2-core server starts JupyterLab slowly

    def by_role(spawner):
        """Each server gets its role's Jupyter config folders; an instructor's opens the course folder."""
        role = role_of(spawner.user.name, groups)
        if role is None:
            raise PermissionError(f"{spawner.user.name} is in neither {groups.students} nor {groups.instructors}")
        spawner.environment = {**spawner.environment, "JUPYTER_CONFIG_PATH": os.pathsep.join(map(str, folders[role]))}
        if role == "student":
            spawner.environment["PYTHONPATH"] = str(folders["student"][0])  # nncourse_exchange.py, nothing else
        spawner.cmd = [str(pythons[role]), "-m", "jupyterhub.singleuser"]
        if role == "instructor":
            spawner.notebook_dir = str(course)

    c.Spawner.pre_spawn_hook = by_role


def hub_command(course, state, port, groups_spec=None, python=None):
    """argv and environment of the hub for ``course``, listening on 127.0.0.1:``port``."""
    env = {**os.environ, ENV_COURSE: str(course), ENV_STATE: str(state)}
    for name, value in ((ENV_GROUPS, groups_spec), (ENV_PYTHON, python)):
        if value:
            env[name] = str(value)
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG), f"--JupyterHub.bind_url=http://127.0.0.1:{port}",
            f"--JupyterHub.hub_port={free_port()}", f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}"]
    return argv, env


class HubServer:
    """A running hub: ``base`` is its address; ``stop()`` ends it, its proxy and the users' servers."""

    def __init__(self, process, base, log_path):
        self.process, self.base, self.log_path = process, base, log_path

    def log_tail(self, chars=6000):
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CourseError(f"JupyterHub exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:  # through the proxy: both are up
                with urllib.request.urlopen(f"{self.base}/hub/api/", timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise CourseError(f"JupyterHub did not answer within {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout=30):
        """SIGTERM: the hub stops the users' servers and its proxy (cleanup_servers); SIGKILL what is left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start(course, state=None, port=None, groups_spec=None, python=None, ready_timeout=120):
    """Start the hub and its proxy for ``course`` and wait until they answer; the log is <state>/private/hub.log."""
    if os.geteuid() != 0:
        raise CourseError("the hub must run as root: PAM checks system passwords and each user's server "
                          "is started as that user (sudo .venv/bin/nncourse hub)")
    if not PROXY.exists():
        raise CourseError(f"no configurable-http-proxy at {PROXY}: run `make proxy` (npm) first")
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise CourseError(f"{course} is not a course folder (no nbgrader_config.py)")
    state = Path(state or STATE).resolve()
    (state / "private").mkdir(parents=True, exist_ok=True)
    (state / "private").chmod(0o700)
    state.chmod(0o755)
    port = port or free_port()
    warning = reference_warning(users_python(state, python))
    if warning:
        print(warning, file=sys.stderr, flush=True)
    argv, hub_env = hub_command(course, state, port, groups_spec, python)
    log_path = state / "private" / "hub.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=state / "private", env=hub_env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    hub = HubServer(process, f"http://127.0.0.1:{port}", log_path)
    try:
        return hub.wait_ready(ready_timeout)
    except BaseException:
        hub.stop()
        raise


def run(course=ROOT, state=None, port=DEFAULT_PORT, groups_spec=None, python=None):
    """``nncourse hub``: start the hub, print its address, serve until Ctrl-C."""
    chosen = free_port(port)
    if chosen != port:
        print(f"port {port} is busy, using {chosen}")
    print(f"starting JupyterHub for {course} ...", flush=True)
    try:
        hub = start(course, state, chosen, groups_spec, python)
    except KeyboardInterrupt:
        return 130
    try:
        print(f"\n  JupyterHub:  {hub.base}/hub/login   (system accounts of the course's groups)"
              f"\n  hub log:     {hub.log_path}\n  Ctrl-C stops the hub, its proxy and every user's server.",
              flush=True)
        hub.process.wait()
        print(f"JupyterHub exited with status {hub.process.returncode}; see {hub.log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping JupyterHub ...", flush=True)
        return 0
    finally:
        hub.stop()

