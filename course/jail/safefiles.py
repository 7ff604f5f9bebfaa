"""Reading and writing files that untrusted code could have touched, without following it anywhere.

The trusted side (nbgrader's driver, the supervisor, the audit's driver, the
feedback step) reads student files and files a jail produced only through
these functions.  They

* walk from a directory file descriptor (``openat``), so no path is resolved
  twice and a folder swapped for a symlink half-way is not followed;
* open every name with ``O_NOFOLLOW`` (a symlink is refused, never followed)
  and ``O_NONBLOCK`` (a FIFO cannot hang the reader), then ``fstat`` the open
  file: only a regular file with one link is read (no FIFO, socket or device
  node, and no hard link to a file elsewhere);
* cap the number of files, each file's size and the total, reading at most
  one byte past a cap (a file that grows while read is still capped);
* write only by creating a new file in a directory fd, replacing what was
  there atomically (``rename`` never follows a link at the target).

Standard library only: the jail's launcher imports it (course/jail/sandbox.py).
"""
import errno
import os
import stat

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
SKIPPED_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints"})


class Refused(ValueError):
    """A folder or file the trusted side will not take, with the reason."""


def open_dir(path, dir_fd=None):
    """A directory fd for ``path`` (relative to ``dir_fd`` if given); a symlink is refused."""
    try:
        return os.open(path, DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Refused(f"{path}: not a plain folder (a symlink or a file)") from None
        raise


def _read_open(fd, name, limit):
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"{name}: not a regular file")
    if info.st_nlink != 1:
        raise Refused(f"{name}: a hard link ({info.st_nlink} names)")
    if info.st_size > limit:
        raise Refused(f"{name}: larger than {limit} bytes")
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, min(1 << 20, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise Refused(f"{name}: larger than {limit} bytes")


def read_file(name, dir_fd=None, limit=64 * 2**20):
    """The bytes of a regular file, never through a link; ``Refused`` otherwise."""
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"{name}: a symlink") from None
        raise
    try:
        return _read_open(fd, name, limit)
    finally:
        os.close(fd)


def read_tree(folder, max_files=1000, max_file=64 * 2**20, max_total=64 * 2**20, skip=None):
    """{relative path: bytes} of the regular files under ``folder``.

    Symlinks, special files, hard links and ``SKIPPED_DIRS`` are left out (``skip(relative path)``
    may leave out more); exceeding a cap raises ``Refused``.  The folder itself must not be a symlink.
    """
    files, total = {}, 0

    def walk(dir_fd, prefix):
        nonlocal total
        for entry in sorted(os.listdir(dir_fd)):
            relative = prefix + entry
            if skip is not None and skip(relative):
                continue
            try:
                info = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if entry in SKIPPED_DIRS:
                    continue
                child = open_dir(entry, dir_fd)
                try:
                    walk(child, relative + "/")
                finally:
                    os.close(child)
            elif stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                if len(files) >= max_files:
                    raise Refused(f"more than {max_files} files")
                try:
                    data = read_file(entry, dir_fd, min(max_file, max_total - total))
                except Refused as refusal:
                    if "larger than" in str(refusal):
                        raise Refused(f"{relative}: more than {max_file // 2**20} MiB in this file, or more "
                                      f"than {max_total // 2**20} MiB in all") from None
                    continue  # swapped for something else since the stat: left out, as above
                except FileNotFoundError:
                    continue
                total += len(data)
                files[relative] = data

    fd = open_dir(folder)
    try:
        walk(fd, "")
    finally:
        os.close(fd)
    return files


def write_file(dir_fd, name, data, mode=0o644, owner=None):
    """Create or replace ``name`` (one path component) in the folder ``dir_fd`` with ``data``: a new file
    written under a temporary name, then renamed over the old one (a symlink there is replaced, not followed).
    With ``owner`` (a uid; root only) the file is given to that user before it appears under ``name``."""
    if "/" in name or name in ("", ".", ".."):
        raise Refused(f"{name!r}: not a file name")
    temporary = f".{name}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if owner is not None:
            os.fchown(fd, owner, 0)
    except BaseException:
        os.close(fd)
        os.unlink(temporary, dir_fd=dir_fd)
        raise
    os.close(fd)
    os.rename(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def make_dirs(dir_fd, relative):
    """A directory fd for ``relative`` under ``dir_fd``, creating plain folders as needed; refuses symlinks
    and ``..``.  The caller closes the fd."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Refused(f"{relative!r}: leads out of its folder")
    fd = os.dup(dir_fd)
    for part in parts:
        try:
            os.mkdir(part, 0o755, dir_fd=fd)
        except FileExistsError:
            pass
        try:
            child = open_dir(part, fd)
        finally:
            os.close(fd)
        fd = child
    return fd


def write_tree(folder, files, mode=0o644):
    """Write {relative path: bytes} under ``folder`` (which must exist) through directory fds only."""
    root = open_dir(folder)
    try:
        for relative, data in files.items():
            head, _, name = relative.rpartition("/")
            fd = make_dirs(root, head)
            try:
                write_file(fd, name, data, mode)
            finally:
                os.close(fd)
    finally:
        os.close(root)


def write_json(path, data):
    """``data`` as JSON at ``path``, atomically: a reader sees the old file or the new one, never half."""
    import json

    fd = open_dir(os.path.dirname(os.path.abspath(path)))
    try:
        write_file(fd, os.path.basename(path), json.dumps(data, ensure_ascii=False, indent=1).encode())
    finally:
        os.close(fd)
