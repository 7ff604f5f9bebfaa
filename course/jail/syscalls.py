"""The jail's syscall filter, compiled once by the trusted side with libseccomp.

``program()`` is a classic-BPF seccomp program (bytes) that the jail loads
just before it runs anything of the student's (``sandbox.load_filter``), as
bubblewrap's ``--seccomp FD`` does: libseccomp (Debian's ``libseccomp2``,
through the ``pyseccomp`` binding) writes the program, the jail only hands it
to the kernel.  Everything not named here is allowed; each denied call fails
with an error (``EPERM`` unless said otherwise), so a library that tries one
gets an exception, not a crash.  Calls of any other architecture (i386, x32)
kill the process: the filter is written for this one.
"""
import errno
import functools
import tempfile

# name -> why it is denied (docs/security.md lists the same)
DENIED = {
    # kernel keyrings outlive a process and are shared by a UID: they would connect jails
    "add_key": "keyring", "request_key": "keyring", "keyctl": "keyring",
    # reading or steering another process
    "ptrace": "other processes", "process_vm_readv": "other processes", "process_vm_writev": "other processes",
    "kcmp": "other processes", "pidfd_getfd": "other processes", "process_madvise": "other processes",
    # large kernel attack surface that no notebook needs
    "perf_event_open": "kernel surface", "bpf": "kernel surface", "userfaultfd": "kernel surface",
    "io_uring_setup": "kernel surface", "io_uring_enter": "kernel surface", "io_uring_register": "kernel surface",
    "fanotify_init": "kernel surface", "open_by_handle_at": "kernel surface", "name_to_handle_at": "kernel surface",
    "lookup_dcookie": "kernel surface", "uselib": "kernel surface", "quotactl": "kernel surface",
    # new namespaces, mounts and roots: the jail's own must stay as built
    "mount": "namespaces", "umount2": "namespaces", "pivot_root": "namespaces", "chroot": "namespaces",
    "unshare": "namespaces", "setns": "namespaces", "fsopen": "namespaces", "fsconfig": "namespaces",
    "fsmount": "namespaces", "fspick": "namespaces", "move_mount": "namespaces", "open_tree": "namespaces",
    "mount_setattr": "namespaces",
    # the machine itself
    "kexec_load": "machine", "kexec_file_load": "machine", "reboot": "machine", "init_module": "machine",
    "finit_module": "machine", "delete_module": "machine", "swapon": "machine", "swapoff": "machine",
    "acct": "machine", "syslog": "machine", "settimeofday": "machine", "clock_settime": "machine",
    "clock_adjtime": "machine", "adjtimex": "machine", "sethostname": "machine", "setdomainname": "machine",
    "iopl": "machine", "ioperm": "machine", "vhangup": "machine",
}
AF_UNIX, AF_NETLINK = 1, 16
# clone flags that make a namespace (CLONE_NEWTIME shares its bit with the exit signal in clone(2))
CLONE_NEW = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
             "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
             "CLONE_NEWNET": 0x40000000}


@functools.lru_cache(maxsize=None)
def program():
    """The filter as bytes of ``struct sock_filter``, for ``prctl(PR_SET_SECCOMP)``."""
    import pyseccomp as seccomp

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) >= 0:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
    # sockets: only AF_UNIX (the kernel's channel to nbgrader); no IP, raw, packet or netlink socket.
    # Netlink says EOPNOTSUPP: libzmq (the kernel's messaging) asks the interfaces through netlink and
    # reads that as "no interfaces", while any other error aborts it.
    # (A rule compares an argument once, so the families below AF_NETLINK are listed one by one.)
    for name in ("socket", "socketpair"):
        for family in [0, *range(AF_UNIX + 1, AF_NETLINK)]:
            rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), name, seccomp.Arg(0, seccomp.EQ, family))
        rules.add_rule(seccomp.ERRNO(errno.EOPNOTSUPP), name, seccomp.Arg(0, seccomp.EQ, AF_NETLINK))
        rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), name, seccomp.Arg(0, seccomp.GT, AF_NETLINK))
    for flag in CLONE_NEW.values():
        rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory, where a filter cannot look: ENOSYS makes the C library use clone
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()
