"""The grading kernel, jailed: nbgrader's Execute starts kernels through this manager.

``nbgrader_config.py`` sets ``Execute.kernel_manager_class`` to
``SandboxedKernelManager``, so autograde and validate run every student
notebook in a ``course.jail.sandbox`` jail that can read its working folder (a
private copy, course.jail.sandbox) and the reference package the hidden tests
import, and nothing else of the course.  The kernel has no network, so it talks
to nbgrader over Unix sockets (ZeroMQ's ipc transport) in a folder of its own.

Nothing trusted follows a path the kernel could write:

* the kernel works in a private copy of nbgrader's folder, so nbgrader writes
  and chmods only files the kernel never saw;
* the socket folder is writable by the kernel only until its five sockets are
  bound (before any cell runs: the kernel puts its working folder on sys.path
  only when the first cell runs); then it is made read-only to it, and each
  socket is checked to be a socket of the jail's user before nbgrader connects;
* the kernel's stdout and stderr go to a log of their own, not to nbgrader's.

The jail's own measurements (``sandbox.verify``) must show a jail before the
kernel is used; in a grading job each verdict is recorded for the notebook.
Where no jail can be built (not root), the kernel runs as before, after a
loud warning; ``NNCOURSE_SANDBOX=require`` turns that into an error.
"""
import importlib.util
import json
import os
import shutil
import stat
import tempfile
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from . import sandbox, zygote

SLOT_ENV = "NNCOURSE_JOB_SLOT"  # set by the parallel autograder: one jail UID per job
SOCKETS_ENV = "NNCOURSE_SOCKETS"  # set by the parallel autograder: a folder it removes even if the job is killed
REPORTS_ENV = "NNCOURSE_JAIL_REPORTS"  # set by the parallel autograder: where each kernel's jail verdict goes
NOTEBOOK_ENV = "NNCOURSE_NOTEBOOK"  # set by the grading child while it grades a notebook
CHANNELS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
SOCKET_WAIT = 60  # seconds for a kernel to report its jail and bind its sockets
# The working folder joins sys.path when the first cell runs (as `python -m` would have put it first),
# not while the kernel starts: no module of the student's can run before its sockets are checked.
CWD_ON_FIRST_CELL = ("__import__('IPython').get_ipython().events.register('pre_execute', lambda: None "
                     "if '' in __import__('sys').path else __import__('sys').path.insert(0, ''))")
KERNEL_ARGUMENTS = ["--InteractiveShellApp.ignore_cwd=True", f"--InteractiveShellApp.exec_lines={CWD_ON_FIRST_CELL}"]


def test_code_dirs():
    """What the hidden tests import: the reference and the probes of the checks."""
    return [path for package in ("solutions", "probes")
            for path in importlib.util.find_spec(package).submodule_search_locations]


def record_verdict(ok, why):
    """In a grading job: append this kernel's jail verdict for the notebook being graded."""
    path = os.environ.get(REPORTS_ENV)
    if not path:
        return
    line = json.dumps({"notebook": os.environ.get(NOTEBOOK_ENV, ""), "ok": ok, "why": why}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


class PromptClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel is: a kernel starts in a tenth of a second
    here, and jupyter_client's waits of 0.2 s (for IOPub to speak, then for it to fall silent) were
    most of that.

    Ready means what jupyter_client checks: the kernel answers kernel_info on the shell channel and
    IOPub is connected (it has delivered a message; a subscription made too late misses the first
    ones, so kernel_info is asked again until one arrives).  The start-up messages are not drained:
    nbclient matches outputs to requests by the parent message id.
    """

    async def _async_wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.02)  # IOPub is connected once it speaks
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _async_wait_for_ready  # the base class binds its own function to this name


class JailRefused(RuntimeError):
    """The kernel did not start in a jail that its own measurements confirm."""


class SandboxedKernelManager(AsyncKernelManager):
    client_class = DottedObjectName("course.jail.kernel.PromptClient")
    client_factory = Type(PromptClient, klass=AsyncKernelClient)  # AsyncKernelManager fixes its own default

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.jail = None
        self._log = self._own_parent = None
        if not sandbox.available():
            record_verdict(False, f"no jail: {sandbox.status()[1]}")
            return
        self.jail = sandbox.Jail(workdir="", readable=test_code_dirs(), slot=int(os.environ.get(SLOT_ENV, "0")))
        self.transport = "ipc"

    async def _async_pre_start_kernel(self, **kw):
        if self.jail is not None and not self.jail.writable:
            # Short paths: a Unix socket path may not exceed 107 bytes.  Root's folder, writable by the
            # kernel (and reachable by nobody else: its parent is root's, 0700) until its sockets are bound.
            parent = os.environ.get(SOCKETS_ENV)
            if not parent:  # outside a grading job: a 0700 parent of our own (removed with the kernel)
                parent = self._own_parent = tempfile.mkdtemp(prefix=f"nnsb-{os.getpid()}-")
            sockets = tempfile.mkdtemp(prefix="k-", dir=parent)
            os.chmod(sockets, 0o777)
            self.jail.writable = [sockets]
            self.connection_file = os.path.join(sockets, "kernel.json")
            self.ip = os.path.join(sockets, "kernel-ipc")
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.jail is None:
            return cmd
        if len(cmd) > 2 and cmd[1] == "-m":
            cmd = [cmd[0], "-P", *cmd[1:]]  # as the zygote does: nothing of the working folder first on sys.path
        self.jail.workdir = self.jail.seed = os.path.realpath(self._launch_args.get("cwd") or os.getcwd())
        os.chown(self.connection_file, self.jail.uid, self.jail.uid)  # written 0600 by us
        return [*cmd, *KERNEL_ARGUMENTS]

    async def _async_wait(self, pollinterval=0.1):
        """Wait for the kernel's process to end, looking every 10 ms (jupyter_client looks every 100 ms:
        a killed grading kernel is gone at once)."""
        await super()._async_wait(pollinterval=0.01)

    def _kernel_log(self):
        """In a grading job, the kernel's stdout and stderr go to a log of their own (never nbgrader's)."""
        folder = os.environ.get(SOCKETS_ENV)
        if folder and self._log is None:
            self._log = os.open(os.path.join(folder, "kernels.log"),
                                os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        return self._log

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """Start the kernel in its jail (forked warm from the job's zygote, course.jail.zygote, when there
        is one), then refuse it unless its measurements show the jail and its sockets are its own."""
        if self.jail is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        log = self._kernel_log()
        read, write = os.pipe()
        try:
            warm = None
            if zygote.can_fork(kernel_cmd):
                spec = sandbox.spec(self.jail, report_fd=zygote.REPORT_FD)
                warm = zygote.spawn_kernel(spec, kernel_cmd, [log or 1, log or 2, write])
            if warm is None:
                if log is not None:
                    kw.update(stdout=log, stderr=log)
                await super()._async_launch_kernel(sandbox.wrap(kernel_cmd, self.jail, report_fd=write),
                                                   pass_fds=(write,), **kw)
            else:
                provisioner = self.provisioner
                provisioner.process, provisioner.pid, provisioner.pgid = warm, warm.pid, warm.pid
                provisioner.cwd = kw.get("cwd")
                self._reconcile_connection_info(provisioner.connection_info)
        finally:
            os.close(write)
        process = self.provisioner.process
        why = sandbox.verify(sandbox.read_report(read, SOCKET_WAIT, lambda: process.poll() is None), self.jail.uid)
        why = why or self._seal_sockets(process)
        record_verdict(not why, why)
        if why:
            process.kill()
            raise JailRefused(f"the kernel's jail could not be confirmed: {why}")

    def _socket_paths(self):
        return [f"{self.ip}-{getattr(self, channel)}" for channel in CHANNELS]

    def _seal_sockets(self, process):
        """Once the kernel has bound its sockets, make their folder read-only to it and check that each is
        a socket of the jail's user (not a link the kernel planted); why not, or ""."""
        paths, deadline = self._socket_paths(), time.monotonic() + SOCKET_WAIT

        def bound(path):
            try:
                return stat.S_ISSOCK(os.lstat(path).st_mode)
            except FileNotFoundError:
                return False

        while not all(bound(path) for path in paths):
            if process.poll() is not None or time.monotonic() > deadline:
                return "the kernel did not bind its sockets"
            time.sleep(0.005)
        os.chmod(self.jail.writable[0], 0o755)  # in root's 0700 folder: no link can stand in for it
        for path in paths:
            info = os.lstat(path)
            if not stat.S_ISSOCK(info.st_mode) or info.st_uid != self.jail.uid:
                return f"{os.path.basename(path)} is not the kernel's socket"
        return ""

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self.jail is not None and self.jail.writable and not restart:
            shutil.rmtree(self.jail.writable.pop(), ignore_errors=True)
            if self._own_parent:
                shutil.rmtree(self._own_parent, ignore_errors=True)
                self._own_parent = None
        if self._log is not None and not restart:
            os.close(self._log)
            self._log = None

    cleanup_resources = _async_cleanup_resources  # the async manager's public name for it
