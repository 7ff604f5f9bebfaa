"""A jail for student code, built from the system's own tools and libseccomp.

``wrap(cmd, jail)`` turns a command into

    setpriv --pdeathsig=KILL -- unshare --mount --net --pid --ipc --uts --fork --kill-child -- \
        python sandbox.py SPEC -- cmd

and ``course.jail.zygote`` enters the same jail from a forked process (same
namespaces, same ``enter``), so the command or kernel runs
* in fresh mount, network, PID, IPC and UTS namespaces: no network at all
  (the kernel talks over Unix sockets in a folder of its own), no other process
  visible;
* in a user namespace of its own that maps nothing but the jail's UID, so its
  keyrings and everything else kept per user belong to this jail alone;
* in a new root that holds only an allowlist: the system (/usr, /etc), the
  Python installation and venv, ``jail.readable`` (read-only) and
  ``jail.writable``; its working folder, /tmp and /dev/shm are private,
  size-capped tmpfs that vanish with it.  The working folder starts as a copy of
  ``jail.seed`` (regular files only): nothing the jail writes ever lands in a
  folder of the host, so nothing trusted can be tricked into following it.  The
  course folder, the gradebook, source/, other students and the instructor's
  home are simply not there;
* as an unprivileged user with no groups, no capabilities (bounding set
  and inheritable set emptied) and ``no_new_privs``, under rlimits for
  address space, CPU time, processes, open files and file size;
* under a seccomp filter (``course.jail.syscalls``): no keyrings, ptrace,
  perf, bpf, mounts or new namespaces, and no socket but AF_UNIX.

Then, before anything of the student's runs, the jailed process measures itself
(UID, user map, capabilities, seccomp mode, namespaces, and one denied call) and
writes that as a JSON line to ``spec["report_fd"]``; the trusted side checks it
(``verify``) rather than assume the jail held.

This file, run as a script, is the step after ``unshare``: as root inside the
new namespaces it builds the new root with mount(2), then forks; the child
enters its user namespace, chroots, drops its privileges (``drop_privileges``),
loads the filter and execs the command, while this process stays as PID 1, so
the whole jail dies with it (``--kill-child``) even after the command has
changed its UID.  It imports nothing outside the standard library.
"""
import base64
import ctypes
import errno
import functools
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field

if __package__:
    from . import safefiles
else:  # run as a script (the cold path): its own folder holds safefiles
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import safefiles

UID_BASE = 47000         # jail users: UID_BASE + slot, one per parallel job, no passwd entry needed
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x20000000, 0x40000000
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
SYS_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING = 250, 0, -4  # x86_64 numbers: the probe of the filter
AF_INET = 2
DEVICES = ("null", "zero", "full", "random", "urandom")
NAMESPACES = ("mnt", "net", "pid", "ipc", "uts", "user")
CAPABILITY_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
# What a jailed process keeps of the grader's environment (PYTHONPATH: a grader whose course packages come
# from a checkout on it, e.g. a Dask worker, finds the same reference and probes inside the jail).
PASS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND", "PYTHONWARNINGS",
            "JPY_SESSION_NAME", "LANG", "LC_ALL", "PYTHONPATH")


@dataclass
class Jail:
    workdir: str                                  # the command's cwd: a private tmpfs at this path inside the jail
    seed: str = ""                                # a host folder whose regular files start the working folder
    readable: list = field(default_factory=list)  # extra read-only paths, e.g. the reference package
    writable: list = field(default_factory=list)  # extra writable host paths, e.g. the kernel's socket folder
    slot: int = 0                                 # parallel job number: each has its own UID
    memory: int = 4 * 2**30                       # RLIMIT_AS, bytes
    cpu_seconds: int = 600                        # RLIMIT_CPU for the command and its children
    processes: int = 64                           # RLIMIT_NPROC for the jail's UID: stops fork bombs
    file_size: int = 256 * 2**20                  # RLIMIT_FSIZE, bytes
    open_files: int = 256
    disk: int = 256 * 2**20                       # the working folder is a tmpfs of this size
    tmp_size: int = 256 * 2**20                   # the private /tmp is a tmpfs of this size
    seed_files: int = 2000                        # at most this many files are copied from ``seed``

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


def spec(jail, source=None, report_fd=None):
    """What the inside needs to build ``jail``: plain data (it crosses a JSON command line or a socket).
    Its environment takes ``PASS_ENV`` from ``source`` (this process's environment by default); the
    jailed process writes its measurements to ``report_fd`` (a descriptor number it will hold)."""
    from . import syscalls

    binds, links = _system_paths()
    return {
        "jail": asdict(jail),
        "system": binds + [p for p in _python_roots() if p not in binds],
        "links": links,
        "readable": [os.path.realpath(p) for p in jail.readable],
        "writable": [os.path.realpath(p) for p in jail.writable],
        "workdir": os.path.realpath(jail.workdir),
        "seed": os.path.realpath(jail.seed) if jail.seed else "",
        "env": jail_env(jail, source),
        "filter": base64.b64encode(syscalls.program()).decode(),
        "report_fd": report_fd,
    }


def wrap(cmd, jail, source=None, report_fd=None):
    """The command line that runs ``cmd`` inside ``jail`` (see the module docstring); pass ``report_fd``
    to the process (``pass_fds``) to read the jail's measurements from it."""
    # setpriv --pdeathsig: the jail dies with whoever started it, e.g. a grading job killed on timeout.
    return ["setpriv", "--pdeathsig=KILL", "--", "unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork",
            "--kill-child", "--propagation", "private", "--", sys.executable, "-I", "-S", os.path.abspath(__file__),
            json.dumps(spec(jail, source, report_fd)), "--", *cmd]


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


def host_namespaces():
    """{namespace: inode} of this (trusted) process: a jail must differ in every one."""
    return {name: os.stat(f"/proc/self/ns/{name}").st_ino for name in NAMESPACES}


def verify(report, uid):
    """Why the measurements a jailed process reported (``measure``) show no jail for ``uid``, or ""."""
    if type(report) is not dict:
        return "the jailed process reported nothing"
    wrong = []
    if report.get("uid") != [uid] * 3 or report.get("gid") != [uid] * 3 or report.get("groups") != []:
        wrong.append(f"runs as uid {report.get('uid')} gid {report.get('gid')} groups {report.get('groups')}")
    if report.get("uid_map") != [[uid, uid, 1]]:
        wrong.append(f"its user namespace maps {report.get('uid_map')}")
    if report.get("caps") != [0] * len(CAPABILITY_SETS) or report.get("no_new_privs") != 1:
        wrong.append("it kept capabilities or may gain privileges")
    if report.get("seccomp") != SECCOMP_MODE_FILTER or report.get("keyctl") != errno.EPERM \
            or report.get("inet") not in (errno.EAFNOSUPPORT, errno.EPERM):
        wrong.append(f"no syscall filter (seccomp mode {report.get('seccomp')}, keyctl {report.get('keyctl')}, "
                     f"AF_INET socket {report.get('inet')})")
    shared = [name for name, inode in host_namespaces().items() if (report.get("ns") or {}).get(name) in (inode, None)]
    if shared:
        wrong.append(f"shares the host's {', '.join(shared)} namespaces")
    return "; ".join(wrong)


def read_report(fd, timeout=60.0, alive=None):
    """The first JSON line a jail wrote to the pipe ``fd`` (closed here), or None after ``timeout`` s, at EOF,
    or as soon as ``alive()`` says the process ended."""
    import select
    import time

    deadline, data = time.monotonic() + timeout, b""
    try:
        while b"\n" not in data and len(data) < 65536:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                data += chunk
            elif time.monotonic() > deadline or (alive is not None and not alive()):
                break
    finally:
        os.close(fd)
    try:
        return json.loads(data.split(b"\n", 1)[0])
    except ValueError:
        return None


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
    try:
        from . import syscalls

        syscalls.program()
    except (ImportError, OSError, RuntimeError) as exc:
        return False, f"no syscall filter: {type(exc).__name__}: {exc} (Debian package libseccomp2, PyPI pyseccomp)"
    with tempfile.TemporaryDirectory(prefix="nnsb-probe-") as workdir:
        read, write = os.pipe()
        probe = wrap([sys.executable, "-I", "-S", "-c", "import os; print(os.getuid())"], Jail(workdir=workdir),
                     report_fd=write)
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=60, pass_fds=(write,))
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(read)
            return False, f"the probe jail did not start: {exc}"
        finally:
            os.close(write)
        why = verify(read_report(read, timeout=5), UID_BASE)
    if done.returncode != 0 or done.stdout.strip() != str(UID_BASE):
        return False, f"the probe jail failed ({done.returncode}): {done.stderr.strip()[-300:]}"
    if why:
        return False, f"the probe jail is not a jail: {why}"
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
        logging.getLogger(__name__).warning(
            f"{bar}\n!! WARNING: student code runs UNSANDBOXED: {why}.\n!! It can read the gradebook, the "
            f"hidden tests and the reference, and use the network.\n!! Grade as root (e.g. in CI) to jail it.\n{bar}")
        _warned = True
    return False


# --- inside: build the new root, then run the command as PID 2 ------------------------------

_libc = None


def _lib():
    global _libc
    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    return _libc


def _mount(source, target, fstype=None, flags=0, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _lib().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        errno_ = ctypes.get_errno()
        raise OSError(errno_, f"mount {source} on {target}: {os.strerror(errno_)}")


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


def _seed(spec, target):
    """Copy the regular files of ``spec["seed"]`` (never through a link) into the jail's working folder,
    owned by the jail's user.  Too many files, or more than the folder holds, stops the jail."""
    jail = spec["jail"]
    uid = UID_BASE + jail["slot"]
    files = safefiles.read_tree(spec["seed"], max_files=jail["seed_files"], max_file=jail["disk"],
                                max_total=jail["disk"])
    safefiles.write_tree(target, files)
    for dirpath, dirnames, filenames in os.walk(target):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


def build_root(spec, root):
    """Mount the allowlist under ``root`` (we are root in a private mount namespace)."""
    jail = spec["jail"]
    uid = UID_BASE + jail["slot"]
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
    workdir = root + spec["workdir"]
    os.makedirs(workdir, exist_ok=True)
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0700,uid={uid},gid={uid},size={jail['disk']}")
    if spec["seed"]:
        _seed(spec, workdir)
    os.makedirs(root + "/dev/shm")
    for name in DEVICES:
        _bind(f"/dev/{name}", root, writable=True, device=True)
    _mount("tmpfs", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this PID namespace only
    _mount(None, root, flags=MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _libc_call(name, *args):
    if getattr(_lib(), name)(*args) != 0:
        errno_ = ctypes.get_errno()
        raise OSError(errno_, f"{name}: {os.strerror(errno_)}")


def prctl(option, value=0):
    _libc_call("prctl", option, ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))


def unshare_namespaces():
    """New mount, network, PID, IPC and UTS namespaces (the new PID namespace holds this process's next child)."""
    _libc_call("unshare", CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _process_status():
    with open("/proc/self/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def drop_privileges(jail):
    """Become the jail's user for good: rlimits, no groups, no capabilities, no_new_privs.

    Called after chroot, with every capability of the jail's own user namespace (the jail's /proc is
    mounted); reads back from the kernel that every step held, and raises otherwise.
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
    caps = [int(status[name], 16) for name in CAPABILITY_SETS]
    if (os.getresuid() != (uid,) * 3 or os.getresgid() != (uid,) * 3 or os.getgroups() or any(caps)
            or status.get("NoNewPrivs") != "1"):
        raise PermissionError(f"the jail's privileges did not drop: {status}")


def load_filter(program):
    """Install the seccomp program (``course.jail.syscalls``) for this process and all it starts."""
    count = len(program) // ctypes.sizeof(_SockFilter)
    instructions = (_SockFilter * count).from_buffer_copy(program)
    fprog = _SockFprog(count, ctypes.cast(instructions, ctypes.POINTER(_SockFilter)))
    if _lib().prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                    ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        errno_ = ctypes.get_errno()
        raise OSError(errno_, f"seccomp: {os.strerror(errno_)}")


def _denied(call):
    """The errno of a call that the filter should deny (0 if it was allowed)."""
    ctypes.set_errno(0)
    result = call()
    return ctypes.get_errno() if result == -1 else 0


def measure():
    """What this (jailed) process is, read from the kernel: for ``verify`` on the trusted side."""
    status = _process_status()
    libc = _lib()
    with open("/proc/self/uid_map") as f:
        uid_map = [[int(n) for n in line.split()] for line in f if line.strip()]
    keyctl = _denied(lambda: libc.syscall(ctypes.c_long(SYS_KEYCTL), ctypes.c_long(KEYCTL_GET_KEYRING_ID),
                                          ctypes.c_long(KEY_SPEC_USER_KEYRING), ctypes.c_long(0)))
    ctypes.set_errno(0)
    probe = libc.socket(AF_INET, 1, 0)
    inet = ctypes.get_errno() if probe == -1 else 0
    if probe >= 0:  # no filter: the probe made a socket
        os.close(probe)
    return {"uid": list(os.getresuid()), "gid": list(os.getresgid()), "groups": os.getgroups(), "uid_map": uid_map,
            "caps": [int(status[name], 16) for name in CAPABILITY_SETS],
            "no_new_privs": int(status.get("NoNewPrivs", 0)), "seccomp": int(status.get("Seccomp", 0)),
            "keyctl": keyctl, "inet": inet,
            "ns": {name: os.stat(f"/proc/self/ns/{name}").st_ino for name in NAMESPACES}}


def _write_maps(proc, pid, uid):
    """From PID 1 (root of the parent user namespace): the child's namespace maps the jail's UID and GID only.
    ``proc`` is the jail's own /proc, where ``pid`` means the child."""
    for name in ("uid_map", "gid_map"):
        with open(f"{proc}/{pid}/{name}", "w") as f:
            f.write(f"{uid} {uid} 1\n")


def _enter_user_namespace(go_ahead, done):
    """In the jail's process, still root: a user namespace of its own, once PID 1 has written its maps."""
    _libc_call("unshare", CLONE_NEWUSER)
    os.write(done, b"u")
    if os.read(go_ahead, 1) != b"m":
        raise PermissionError("PID 1 did not map the jail's user")


def enter(spec, start):
    """PID 1 of the jail: build the root, run ``start()`` as its child (chrooted, unprivileged, filtered,
    in the jail's environment; it must not return), pass its exit status on."""
    root = "/run/nncourse-jail" if os.path.isdir("/run") else "/mnt"
    os.makedirs(root, exist_ok=True)
    build_root(spec, root)
    uid = UID_BASE + spec["jail"]["slot"]
    home = root + "/tmp/home"
    os.makedirs(home)
    os.chown(home, uid, -1)
    report = spec.get("report_fd")
    child_reads, parent_writes = os.pipe()
    parent_reads, child_writes = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(parent_writes)
            os.close(parent_reads)
            _enter_user_namespace(child_reads, child_writes)
            os.chroot(root)
            os.chdir(spec["workdir"])
            drop_privileges(spec["jail"])
            load_filter(base64.b64decode(spec["filter"]))
            if report is not None:
                os.write(report, json.dumps(measure()).encode() + b"\n")
                os.close(report)
            os.environ.clear()
            os.environ.update(spec["env"])
            start()
        except BaseException as exc:  # noqa: BLE001 -- report, never run the command half-jailed
            os.write(2, f"jail: {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(127)
    os.close(child_reads)
    os.close(child_writes)
    if report is not None:
        os.close(report)  # the child's alone
    try:
        if os.read(parent_reads, 1) == b"u":
            _write_maps(root + "/proc", child, uid)
            os.write(parent_writes, b"m")
    except OSError as exc:
        os.write(2, f"jail: the user namespace could not be mapped: {exc}\n".encode())
    os.close(parent_writes)
    os.close(parent_reads)
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
