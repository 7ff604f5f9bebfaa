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
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from . import sandbox

SLOT_ENV = "NNCOURSE_JOB_SLOT"  # set by the parallel autograder: one jail UID per job
SOCKETS_ENV = "NNCOURSE_SOCKETS"  # set by the parallel autograder: a folder it removes even if the job is killed


def test_code_dirs():
    """What the hidden tests import: the reference and the probes of the checks."""
    return [path for package in ("solutions", "probes")
            for path in importlib.util.find_spec(package).submodule_search_locations]


class SandboxedKernelManager(AsyncKernelManager):
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
        return sandbox.wrap(cmd, self.jail)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self.jail is not None and self.jail.writable and not restart:
            shutil.rmtree(self.jail.writable.pop(), ignore_errors=True)
            if self._workdir_owner:
                workdir, uid, gid = self._workdir_owner
                if os.path.isdir(workdir):
                    os.chown(workdir, uid, gid)

    cleanup_resources = _async_cleanup_resources  # the async manager's public name for it
