"""The grading kernel, jailed: nbgrader's Execute starts kernels through this manager.

``nbgrader_config.py`` sets ``Execute.kernel_manager_class`` to
``SandboxedKernelManager``, so autograde and validate run every student
notebook in a ``course.jail.sandbox`` jail that can read its working folder and
the reference package the hidden tests import, and nothing else of the
course.  The kernel has no network, so it talks to nbgrader over Unix
sockets (ZeroMQ's ipc transport) in a folder of its own.

Where no jail can be built (not root), the kernel runs as before, after a
loud warning; ``NNCOURSE_SANDBOX=require`` turns that into an error.
"""
import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from . import sandbox, zygote

SLOT_ENV = "NNCOURSE_JOB_SLOT"  # set by the parallel autograder: one jail UID per job
SOCKETS_ENV = "NNCOURSE_SOCKETS"  # set by the parallel autograder: a folder it removes even if the job is killed


def test_code_dirs():
    """What the hidden tests import: the reference and the probes of the checks."""
    return [path for package in ("solutions", "probes")
            for path in importlib.util.find_spec(package).submodule_search_locations]


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


class SandboxedKernelManager(AsyncKernelManager):
    client_class = DottedObjectName("course.jail.kernel.PromptClient")
    client_factory = Type(PromptClient, klass=AsyncKernelClient)  # AsyncKernelManager fixes its own default

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.jail = None
        if not sandbox.available():
            return
        self.jail = sandbox.Jail(workdir="", readable=test_code_dirs(), slot=int(os.environ.get(SLOT_ENV, "0")))
        self.transport = "ipc"
        self._workdir_owner = None

    async def _async_pre_start_kernel(self, **kw):
        if self.jail is not None and not self.jail.writable:
            # Short paths: a Unix socket path may not exceed 107 bytes.
            sockets = tempfile.mkdtemp(prefix="k-", dir=os.environ.get(SOCKETS_ENV) or tempfile.gettempdir())
            os.chown(sockets, self.jail.uid, self.jail.uid)
            self.jail.writable = [sockets]
            self.connection_file = os.path.join(sockets, "kernel.json")
            self.ip = os.path.join(sockets, "kernel-ipc")
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.jail is None:
            return cmd
        workdir = os.path.realpath(self._launch_args.get("cwd") or os.getcwd())
        self.jail.workdir = workdir
        # nbgrader's per-student autograded folder becomes writable for the student's code; any
        # other folder (e.g. `nbgrader validate` on a notebook in release/) stays read-only to it.
        if "autograded" in Path(workdir).parts and self._workdir_owner is None:
            stat = os.stat(workdir)
            self._workdir_owner = (workdir, stat.st_uid, stat.st_gid)
            os.chown(workdir, self.jail.uid, self.jail.uid)
        os.chown(self.connection_file, self.jail.uid, self.jail.uid)  # written 0600 by us
        self._kernel_cmd = cmd
        return sandbox.wrap(cmd, self.jail)

    async def _async_wait(self, pollinterval=0.1):
        """Wait for the kernel's process to end, looking every 10 ms (jupyter_client looks every 100 ms:
        a killed grading kernel is gone at once)."""
        await super()._async_wait(pollinterval=0.01)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """A grading batch's kernels fork from its zygote (course.jail.zygote): same jail, warm imports."""
        warm = None
        if self.jail is not None and zygote.can_fork(self._kernel_cmd):
            warm = zygote.spawn_kernel(sandbox.spec(self.jail), self._kernel_cmd)
        if warm is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = warm, warm.pid, warm.pid
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self.jail is not None and self.jail.writable and not restart:
            shutil.rmtree(self.jail.writable.pop(), ignore_errors=True)
            if self._workdir_owner:
                workdir, uid, gid = self._workdir_owner
                if os.path.isdir(workdir):
                    os.chown(workdir, uid, gid)

    cleanup_resources = _async_cleanup_resources  # the async manager's public name for it
