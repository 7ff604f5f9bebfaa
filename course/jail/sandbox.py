"""A jail for student code, built from the system's own tools.

``wrap(cmd, jail)`` turns a command into

    setpriv --pdeathsig=KILL -- unshare --mount --net --pid --ipc --uts --fork --kill-child -- \
        python sandbox.py SPEC -- cmd

and ``course.jail.zygote`` enters the same jail from a forked process (same
namespaces, same ``enter``), so the command or kernel runs
* in fresh mount, network, PID, IPC and UTS namespaces: no network at all
  (the kernel talks over Unix sockets in ``jail.writable``), no other process
  visible;
* in a new root that holds only an allowlist: the system (/usr, /etc), the
  Python installation and venv, ``jail.readable`` (read-only) and
  ``jail.writable``; a private /tmp.  The course folder, the gradebook,
  source/, other students and the instructor's home are simply not there;
* as an unprivileged user with no groups, no capabilities (bounding set
  and inheritable set emptied) and ``no_new_privs``, under rlimits for
  address space, CPU time, processes, open files and file size.

This file, run as a script, is the step after ``unshare``: as root inside the
new namespaces it builds the new root with mount(2), then forks; the child
chroots, drops its privileges (``drop_privileges``) and execs the command,
while this process stays as PID 1, so the whole jail dies with it
(``--kill-child``) even after the command has changed its UID.
It imports nothing outside the standard library.
"""
import ctypes
import functools
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field

UID_BASE = 47000         # jail users: UID_BASE + slot, one per parallel job, no passwd entry needed
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
DEVICES = ("null", "zero", "full", "random", "urandom")
PASS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND", "PYTHONWARNINGS",
            "JPY_SESSION_NAME", "LANG", "LC_ALL")


@dataclass
class Jail:
    workdir: str                                  # the command's cwd, writable
    readable: list = field(default_factory=list)  # extra read-only paths, e.g. the reference package
    writable: list = field(default_factory=list)  # extra writable paths, e.g. the kernel's socket folder
    slot: int = 0                                 # parallel job number: each has its own UID
    memory: int = 4 * 2**30                       # RLIMIT_AS, bytes
    cpu_seconds: int = 600                        # RLIMIT_CPU for the command and its children
    processes: int = 64                           # RLIMIT_NPROC for the jail's UID: stops fork bombs
    file_size: int = 256 * 2**20                  # RLIMIT_FSIZE, bytes
    open_files: int = 256
    tmp_size: int = 256 * 2**20                   # the private /tmp is a tmpfs of this size

    @property
    def uid(self):
        return UID_BASE + self.slot


# --- outside: is a jail possible here, and the command that enters one ----------------------

def _python_roots():
    """Folders the jailed Python needs: its installation and the venv."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    return sorted(roots)


def _system_paths():
    """Top-level system folders, and which of them are symlinks (merged /usr)."""
    binds, links = [], {}
    for name in ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            links[path] = os.readlink(path)
        elif os.path.isdir(path):
            binds.append(path)
    return binds, links


def spec(jail, source=None):
    """What the inside needs to build ``jail``: plain data (it crosses a JSON command line or a socket).
    Its environment takes ``PASS_ENV`` from ``source`` (this process's environment by default)."""
    binds, links = _system_paths()
    return {
        "jail": asdict(jail),
        "system": binds + [p for p in _python_roots() if p not in binds],
        "links": links,
        "readable": [os.path.realpath(p) for p in jail.readable],
        "writable": [os.path.realpath(p) for p in [jail.workdir, *jail.writable]],
        "env": jail_env(jail, source),
    }


def wrap(cmd, jail, source=None):
    """The command line that runs ``cmd`` inside ``jail`` (see the module docstring)."""
    # setpriv --pdeathsig: the jail dies with whoever started it, e.g. a grading job killed on timeout.
    return ["setpriv", "--pdeathsig=KILL", "--", "unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork",
            "--kill-child", "--propagation", "private", "--", sys.executable, "-I", "-S", os.path.abspath(__file__),
            json.dumps(spec(jail, source)), "--", *cmd]


def jail_env(jail, source=None):
    """A clean environment: nothing of the instructor's leaks in, only what the kernel needs
    (``PASS_ENV`` from ``source``, this process's environment by default)."""
    source = os.environ if source is None else source
    env = {key: source[key] for key in PASS_ENV if key in source}
    env.update({
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home", "USER": "student", "LOGNAME": "student",
        "IPYTHONDIR": "/tmp/home/.ipython", "MPLCONFIGDIR": "/tmp/home/.matplotlib",
        "JUPYTER_CONFIG_DIR": "/tmp/home/.jupyter", "JUPYTER_DATA_DIR": "/tmp/home/.local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": "/tmp/home/.local/share/jupyter/runtime", "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "JPY_PARENT_PID": "1",  # ipykernel: the parent is PID 1 of the jail, no parent poller
        "PYDEVD_USE_FRAME_EVAL": "NO",  # what ipykernel's debugpy sets on import (warm kernels import it earlier)
    })
    env.setdefault("LANG", "C.UTF-8")
    return env


@functools.lru_cache(maxsize=None)
def status():
    """(True, "") when jails work here; else (False, why).  Probed once per process by running one."""
    mode = os.environ.get("NNCOURSE_SANDBOX", "auto")
    if mode == "off":
        return False, "switched off (NNCOURSE_SANDBOX=off)"
    if os.geteuid() != 0:
        return False, "grading does not run as root, so it cannot switch to an unprivileged user"
    missing = [tool for tool in ("unshare", "setpriv", "prlimit") if shutil.which(tool) is None]
    if missing:
        return False, f"missing system tools: {', '.join(missing)} (Debian package util-linux)"
    with tempfile.TemporaryDirectory(prefix="nnsb-probe-") as workdir:
        probe = wrap([sys.executable, "-I", "-S", "-c", "import os; print(os.getuid())"], Jail(workdir=workdir))
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"the probe jail did not start: {exc}"
    if done.returncode != 0 or done.stdout.strip() != str(UID_BASE):
        return False, f"the probe jail failed ({done.returncode}): {done.stderr.strip()[-300:]}"
    return True, ""


class Unavailable(RuntimeError):
    """NNCOURSE_SANDBOX=require, and no jail can be built here."""


_warned = False


def available():
    """True when student code will be jailed.  Otherwise warn loudly (once per process) and
    return False, or raise ``Unavailable`` under NNCOURSE_SANDBOX=require."""
    global _warned
    ok, why = status()
    if ok:
        return True
    if os.environ.get("NNCOURSE_SANDBOX", "auto") == "require":
        raise Unavailable(f"NNCOURSE_SANDBOX=require, but no jail can be built: {why}")
    if not _warned:
        bar = "!" * 78
        print(f"{bar}\n!! WARNING: student code runs UNSANDBOXED: {why}.\n!! It can read the gradebook, the "
              f"hidden tests and the reference, and use the network.\n!! Grade as root (e.g. in CI) to jail it."
              f"\n{bar}", file=sys.stderr, flush=True)
        _warned = True
    return False


# --- inside: build the new root, then run the command as PID 2 ------------------------------

_libc = None


def _mount(source, target, fstype=None, flags=0, data=None):
    global _libc
    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _bind(source, root, writable=False, device=False):
    target = root + source
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, flags=MS_BIND)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (0 if device else MS_NODEV) | (0 if writable else MS_RDONLY)
    _mount(None, target, flags=flags)


def build_root(spec, root):
    """Mount the allowlist under ``root`` (we are root in a private mount namespace)."""
    jail = spec["jail"]
    _mount(None, "/", flags=MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    os.makedirs(root + "/tmp")  # first: the venv, the course or a socket folder may live in /tmp
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={jail['tmp_size']}")
    for path in spec["system"] + spec["readable"]:
        _bind(path, root)
    for link, target in spec["links"].items():
        os.symlink(target, root + link)
    for path in spec["writable"]:
        _bind(path, root, writable=True)
    os.makedirs(root + "/dev/shm")
    for name in DEVICES:
        _bind(f"/dev/{name}", root, writable=True, device=True)
    _mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this PID namespace only
    _mount(None, root, flags=MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _libc_call(name, *args):
    global _libc
    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def prctl(option, value=0):
    _libc_call("prctl", option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))


def unshare_namespaces():
    """New mount, network, PID, IPC and UTS namespaces (the new PID namespace holds this process's next child)."""
    _libc_call("unshare", CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _process_status():
    with open("/proc/self/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def drop_privileges(jail):
    """Become the jail's user for good: rlimits, no groups, no capabilities, no_new_privs.

    Called as root after chroot (the jail's own /proc is mounted); reads back from the kernel that
    every step held, and raises otherwise.
    """
    uid = UID_BASE + jail["slot"]
    for limit, value in ((resource.RLIMIT_AS, jail["memory"]), (resource.RLIMIT_CPU, jail["cpu_seconds"]),
                         (resource.RLIMIT_NPROC, jail["processes"]), (resource.RLIMIT_FSIZE, jail["file_size"]),
                         (resource.RLIMIT_NOFILE, jail["open_files"]), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    for cap in range(64):  # the bounding set; needs CAP_SETPCAP, so before the UID change
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == 22 and cap > 31:  # EINVAL: past the last capability this kernel knows
                break
            raise
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # empties the effective and permitted sets
    _libc_call("capset", ctypes.byref(_CapHeader(0x20080522, 0)), ctypes.byref((_CapData * 2)()))  # inheritable
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    status = _process_status()
    caps = [int(status[name], 16) for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
    if (os.getresuid() != (uid,) * 3 or os.getresgid() != (uid,) * 3 or os.getgroups() or any(caps)
            or status.get("NoNewPrivs") != "1"):
        raise PermissionError(f"the jail's privileges did not drop: {status}")


def enter(spec, start):
    """PID 1 of the jail: build the root, run ``start()`` as its child (chrooted, unprivileged, in the
    jail's environment; it must not return), pass its exit status on."""
    root = "/run/nncourse-jail" if os.path.isdir("/run") else "/mnt"
    os.makedirs(root, exist_ok=True)
    build_root(spec, root)
    home = root + "/tmp/home"
    os.makedirs(home)
    os.chown(home, UID_BASE + spec["jail"]["slot"], -1)
    child = os.fork()
    if child == 0:
        try:
            os.chroot(root)
            os.chdir(os.path.realpath(spec["jail"]["workdir"]))
            drop_privileges(spec["jail"])
            os.environ.clear()
            os.environ.update(spec["env"])
            start()
        except BaseException as exc:  # noqa: BLE001 -- report, never run the command half-jailed
            os.write(2, f"jail: {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(127)
    # PID 1 only gets signals it handles: ignore them, the kernel gets its own via the process group.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: None)
    while True:  # reap orphans too; leave when the command itself ends
        pid, wait_status = os.wait()
        if pid == child:
            os._exit(os.waitstatus_to_exitcode(wait_status) & 0xFF)


if __name__ == "__main__":
    separator = sys.argv.index("--")
    jail_spec, command = json.loads(sys.argv[1]), sys.argv[separator + 1:]
    enter(jail_spec, lambda: os.execvpe(command[0], command, jail_spec["env"]))
