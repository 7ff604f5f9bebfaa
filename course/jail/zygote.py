"""Warm processes: a zygote imports the heavy libraries once and forks each new process from there.

Two kinds serve a grading station:

* **jailed Python: kernels and the audit**.  A new kernel spends about 1.3 s
  of CPU before its first cell: Python, ipykernel, NumPy, matplotlib,
  scikit-learn's datasets.  This zygote imports those (nothing of the course,
  never student code) and forks one process per kernel (or audit run).  The
  fork enters the same jail that ``sandbox.wrap`` builds for a command
  (``sandbox.unshare_namespaces`` and ``sandbox.enter``: namespaces, the
  allowlisted root, an unprivileged UID, rlimits) and only then runs
  ``python -m ipykernel_launcher ...`` (or ``probes.runner``) in-process.
  Every kernel is a new process that has run nothing but those imports, and
  is never reused;
* **grading jobs** (``course.grading.child``), forked with nbgrader imported.

Protocol, over a SOCK_SEQPACKET Unix socket in a folder only root can enter:
the client sends one JSON request with its stdout and stderr as SCM_RIGHTS
file descriptors (and optionally a third, which the process gets as fd 3: the
jail writes its measurements there); the zygote answers {"pid": N} (also the process group) or
{"error": why}, and {"exit": wait status} when the process ends.  A closed
connection kills the process: a client that dies takes its process along.
A request may carry {"startup": {variable: value}}: the values the process
would have read when Python started or a library loaded (BLAS threads,
matplotlib's backend, warning filters); the zygote refuses if its own differ.

    python -m course.jail.zygote FOLDER PARENT_PID ENTRY [IMPORT ...]
"""
import gc
import importlib
import importlib.util
import json
import logging
import os
import resource
import runpy
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from . import sandbox

log = logging.getLogger(__name__)
ENV = "NNCOURSE_ZYGOTE"  # the kernel zygote's socket, for the kernel managers of a grading job
SOCKET_NAME = "zygote.sock"
KERNEL_IMPORTS = ("numpy", "matplotlib", "matplotlib.pyplot", "ipykernel.kernelapp", "ipykernel.ipkernel",
                  "ipykernel.zmqshell", "ipykernel.debugger", "sklearn.datasets", "sklearn.model_selection")
KERNEL_MODULE = ["-m", "ipykernel_launcher"]
# Read once, when Python starts or a library loads: a kernel may fork from the zygote only if it
# would have read the same values.
STARTUP_ENV = tuple(name for name in sandbox.PASS_ENV if name != "JPY_SESSION_NAME")


class Refused(RuntimeError):
    pass


# --- the client side -----------------------------------------------------------------------

class Forked:
    """A process forked by a zygote, with subprocess.Popen's interface (what jupyter_client keeps)."""

    stdin = stdout = stderr = None

    def __init__(self, connection, pid):
        self._connection, self.pid, self.returncode = connection, pid, None

    def _read_exit(self, timeout):
        self._connection.settimeout(timeout)
        try:
            data = self._connection.recv(4096)
        except (TimeoutError, BlockingIOError, InterruptedError):
            return None
        except OSError:
            data = b""
        if data:
            self.returncode = os.waitstatus_to_exitcode(json.loads(data)["exit"])
        else:  # the zygote is gone, and the process with it (PR_SET_PDEATHSIG)
            self.returncode = -signal.SIGKILL
        self._connection.close()
        return self.returncode

    def poll(self):
        return self.returncode if self.returncode is not None else self._read_exit(0)

    def wait(self, timeout=None):
        if self.returncode is None and self._read_exit(timeout) is None:
            raise subprocess.TimeoutExpired("forked process", timeout)
        return self.returncode

    def send_signal(self, signum):
        if self.returncode is None:
            try:
                os.killpg(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def close(self):
        """Hang up: the zygote kills the process if it still runs."""
        self._connection.close()


class Zygote:
    """A running zygote (``start``), stopped by whoever started it."""

    def __init__(self, process, folder):
        self.process, self.folder = process, folder
        self.socket = str(Path(folder) / SOCKET_NAME)

    def spawn(self, request, fds=None):
        return spawn(self.socket, request, fds)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(entry, imports, env):
    """Start a zygote that imports ``imports`` and forks ``entry`` ("module:function") per request.

    ``env`` is its environment (and so the starting environment of what it forks).
    """
    return launch(entry, imports, env).wait()


class Launching:
    """A zygote still warming up; ``wait()`` gives the ``Zygote`` once it is ready (``Refused`` if not), so
    that two zygotes can warm up at once."""

    def __init__(self, process, folder, entry):
        self.process, self.folder, self.entry = process, folder, entry

    def wait(self):
        process, folder = self.process, self.folder
        if process.stdout.readline().strip() != b"ready":
            process.kill()
            process.wait()
            why = (Path(folder) / "zygote.log").read_text(errors="replace").strip()[-500:]
            shutil.rmtree(folder, ignore_errors=True)
            raise Refused(f"the zygote for {self.entry} did not start: {why}")
        process.stdout.close()
        return Zygote(process, folder)


def launch(entry, imports, env):
    """Start a zygote as ``start`` does, without waiting for it to be ready."""
    folder = tempfile.mkdtemp(prefix=f"nnzy-{os.getpid()}-")  # 0700, root's: no jail and no other user reaches the socket
    home = Path(folder) / "home"  # e.g. matplotlib's font cache, built once
    home.mkdir()
    env = {**env, "HOME": str(home), "MPLCONFIGDIR": str(home)}
    errors = open(Path(folder) / "zygote.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", __name__, folder, str(os.getpid()), entry, *imports],
                               cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
    errors.close()
    return Launching(process, folder, entry)


def spawn(path, request, fds=None):
    """Ask the zygote at ``path`` to fork; a ``Forked`` handle, or ``Refused``."""
    fds = [sys.stdout.fileno(), sys.stderr.fileno()] if fds is None else fds
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        connection.connect(path)
        socket.send_fds(connection, [json.dumps(request).encode()], fds)
        reply = json.loads(connection.recv(4096) or b'{"error": "the zygote hung up"}')
    except OSError as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    if "pid" not in reply:
        connection.close()
        raise Refused(reply.get("error", "no answer"))
    return Forked(connection, reply["pid"])


# --- jailed Python: kernels and the audit ----------------------------------------------------

def start_kernel_zygote(kernel_env):
    """The zygote for jailed Python (kernels, the audit) started by a process with environment ``kernel_env``;
    None if it cannot start (then kernels start cold)."""
    if not sandbox.available():
        return None
    env = sandbox.jail_env(sandbox.Jail(""), kernel_env)  # what a cold kernel of that process would get
    try:
        return start(f"{__name__}:jailed_child", KERNEL_IMPORTS, env)
    except Refused as refusal:
        log.warning("warm kernels unavailable, kernels start cold: %s", refusal)
        return None


def can_fork(cmd):
    """Whether ``cmd`` is a kernel the zygote of this job can stand for: this Python running ipykernel."""
    return bool(os.environ.get(ENV)) and len(cmd) > 4 and cmd[1:4] == ["-P", *KERNEL_MODULE] \
        and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable)


REPORT_FD = 3  # where a forked process finds the third descriptor of its request


def spawn_jailed(path, spec, module, argv, fds=None):
    """``python -P -m module argv...`` in the jail ``spec``, forked by the zygote at ``path``.

    As with ``-P``, nothing of the working folder is put before sys.path (a kernel adds it when
    its first cell runs, course.jail.kernel).  ``fds``: stdout,
    stderr and optionally the jail's report pipe (``spec["report_fd"]`` must then be ``REPORT_FD``).
    Raises ``Refused``.
    """
    startup = {name: spec["env"].get(name) for name in STARTUP_ENV}
    return spawn(path, {"spec": spec, "module": module, "argv": list(argv), "startup": startup}, fds)


def spawn_kernel(spec, cmd, fds):
    """A kernel running ``cmd`` (``python -P -m ipykernel_launcher ...``) in the jail ``spec``, forked by
    this job's zygote; None if refused."""
    try:
        return spawn_jailed(os.environ[ENV], spec, cmd[3], cmd[4:], fds=fds)
    except Refused as refusal:
        log.warning("warm kernel refused, starting it cold: %s", refusal)
        return None


def jailed_child(request, fds):
    """The jail's outer process (what ``unshare`` is for ``sandbox.wrap``): namespaces, then PID 1 and the program."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # meant for the program
    sandbox.unshare_namespaces()
    child = os.fork()
    if child == 0:
        sandbox.prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL)  # PID 1: the jail dies with this process
        sandbox.enter(request["spec"], lambda: _run_module(request["module"], request["argv"]))
    _, wait_status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(wait_status) & 0xFF)


def _run_module(module, argv):
    """In the jail, as the jail's user: become ``python -P -m module argv...`` started in the working folder."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    for name in [n for n in sys.modules if n == "course" or n.startswith("course.")]:
        del sys.modules[name]  # the zygote's own code is no business of the program's
    sys.path[0:1] = []  # as -P: no module of the working folder shadows a library
    sys.argv = [importlib.util.find_spec(module).origin, *argv]
    import random

    import numpy

    random.seed()  # a fresh process draws fresh seeds: so does every fork
    numpy.random.seed()
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


# --- the zygote ------------------------------------------------------------------------------

def _fork(entry, request, fds, zygote_pid):
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)  # the zygote's, not the child's
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if pid:
        try:
            os.setpgid(pid, pid)  # here too, so the client can signal the group as soon as it has the PID
        except OSError:
            pass
        return pid
    try:
        os.setpgid(0, 0)
        sandbox.prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the zygote
        if os.getppid() != zygote_pid:
            os._exit(127)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for number, fd in enumerate(fds[2:], REPORT_FD):
            os.dup2(fd, number)
        # the zygote's sockets and others' fds
        os.closerange(REPORT_FD + len(fds) - 2, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        entry(request, fds)
    except BaseException as exc:  # noqa: BLE001
        os.write(2, f"zygote: {type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(127)


def _warm(entry_name, imports):
    """Import the entry and the libraries, then freeze the heap: the fork's starting point."""
    module, function = entry_name.split(":")
    entry = getattr(importlib.import_module(module), function)
    for name in imports:
        importlib.import_module(name)
    if threading.active_count() != 1:
        raise RuntimeError("an import started a thread: forking would be unsafe")
    # Forks share the zygote's memory until they write to it; the garbage collector would write to
    # every object it scans, copying the whole heap into each fork.  Frozen objects are never scanned.
    gc.collect()
    gc.freeze()
    return entry


class _Server:
    """The zygote's event loop: accept a client, answer its one request with a fork, report the fork's
    exit, and kill the fork when its client hangs up."""

    def __init__(self, folder, entry):
        self.entry, self.me = entry, os.getpid()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(str(Path(folder) / SOCKET_NAME))
        self.listener.listen(64)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        wake_up, self.woken = socket.socketpair()  # SIGCHLD wakes the loop: an ended process is reported at once
        wake_up.setblocking(False)
        self.woken.setblocking(False)
        signal.set_wakeup_fd(wake_up.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.woken, selectors.EVENT_READ)
        self._wake_up = wake_up
        self.pid_of, self.connection_of = {}, {}  # connection -> pid, pid -> connection

    def serve(self, parent_pid):
        while os.getppid() == parent_pid:
            for key, _ in self.selector.select(timeout=0.2):
                if key.fileobj is self.woken:
                    self._drain_wake_ups()
                elif key.fileobj is self.listener:
                    self.accept()
                else:
                    self.request(key.fileobj)
            self.reap()

    def _drain_wake_ups(self):
        while True:
            try:
                self.woken.recv(4096)
            except BlockingIOError:
                return

    def accept(self):
        connection, _ = self.listener.accept()
        self.selector.register(connection, selectors.EVENT_READ)

    def request(self, connection):
        """A client's one request (a fork), or, once it has its process, its hang-up."""
        if connection in self.pid_of:
            if not connection.recv(4096):
                self.hang_up(connection)
            return
        try:
            message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        except OSError:
            message, fds = b"", []
        if not message:
            self.hang_up(connection)
            return
        try:
            request = json.loads(message)
            if len(fds) not in (2, 3):
                raise ValueError("expected the client's stdout and stderr, and at most a report pipe")
            mine = {name: os.environ.get(name) for name in request.get("startup", {})}
            if mine != request.get("startup", {}):
                raise ValueError(f"this zygote started with {mine}, the request needs {request['startup']}")
            pid = _fork(self.entry, request, fds, self.me)
            self.pid_of[connection], self.connection_of[pid] = pid, connection
            connection.send(json.dumps({"pid": pid}).encode())
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            connection.send(json.dumps({"error": str(exc)}).encode())
        finally:
            for fd in fds:
                os.close(fd)

    def hang_up(self, connection):
        """A client gone: its process goes too."""
        pid = self.pid_of.pop(connection, None)
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.selector.unregister(connection)
        connection.close()

    def reap(self):
        """Collect ended processes and tell their clients how they ended."""
        while self.connection_of:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            connection = self.connection_of.pop(pid, None)
            if connection is not None and self.pid_of.pop(connection, None) is not None:
                try:
                    connection.send(json.dumps({"exit": wait_status}).encode())
                except OSError:
                    pass


def serve(folder, parent_pid, entry_name, imports):
    entry = _warm(entry_name, imports)
    sandbox.prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        return
    server = _Server(folder, entry)
    print("ready", flush=True)
    server.serve(parent_pid)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])
