"""Job slots, shared by every grading process on the machine: slot N runs its jails as UID 47000 + N.

Parallel jails must not share a UID (RLIMIT_NPROC counts per user, so one
student's fork bomb would starve another's kernel).  A slot is a file lock,
held while a job or an audit runs and released when it ends or its process dies.
"""
import fcntl
import os
import tempfile
from pathlib import Path

SLOTS = 64


class Slot:
    """A job slot held machine-wide with a file lock (released on close, or when the process dies)."""

    def __init__(self, number, handle):
        self.number, self._handle = number, handle

    def release(self):
        self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _slot_folder():
    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
    folder = base / "nncourse-slots"  # machine-wide: every station on this machine takes its slots here
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def acquire_slot():
    """The lowest free slot on this machine."""
    folder = _slot_folder()
    for number in range(SLOTS):
        handle = open(folder / f"{number}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return Slot(number, handle)
        except BlockingIOError:
            handle.close()
    raise RuntimeError(f"all {SLOTS} grading slots of this machine are taken")
