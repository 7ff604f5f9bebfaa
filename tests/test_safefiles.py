"""course.jail.safefiles: the one way the trusted side reads and writes where untrusted code could have been.

Every trick a jail or a student could leave in a folder: symlinks to files, folders and devices, hard links,
FIFOs, sockets, device nodes, files that grow, too many files, a folder swapped for a link.  None is
followed, none blocks, none is read past its cap, and writing never goes through a link.
"""
import os
import socket
import stat

import pytest

from course.jail import safefiles
from course.jail.safefiles import Refused


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("secret")
    path.chmod(0o600)
    return path


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "submission"
    path.mkdir()
    (path / "01.ipynb").write_text("{}")
    (path / "data").mkdir()
    (path / "data" / "x.csv").write_text("1,2")
    return path


def test_regular_files_are_read_with_their_folders(folder):
    assert safefiles.read_tree(folder) == {"01.ipynb": b"{}", "data/x.csv": b"1,2"}


@pytest.mark.parametrize("trick", ["file link", "folder link", "device link", "hard link", "fifo", "socket",
                                   "device node", "checkpoints", "pycache"])
def test_every_trick_is_left_out_and_nothing_is_followed(folder, victim, trick):
    if trick == "file link":
        (folder / "link.ipynb").symlink_to(victim)
    elif trick == "folder link":
        (folder / "outside").symlink_to(victim.parent)
    elif trick == "device link":
        (folder / "zero.bin").symlink_to("/dev/zero")
    elif trick == "hard link":
        os.link(victim, folder / "hard.txt")
    elif trick == "fifo":
        os.mkfifo(folder / "pipe.ipynb")  # a reader that opened it would block for ever
    elif trick == "socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(folder / "sock"))
    elif trick == "device node":
        os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    elif trick == "checkpoints":
        (folder / ".ipynb_checkpoints").mkdir()
        (folder / ".ipynb_checkpoints" / "01-checkpoint.ipynb").write_text("old")
    else:
        (folder / "__pycache__").mkdir()
        (folder / "__pycache__" / "m.pyc").write_bytes(b"\0")
    assert safefiles.read_tree(folder) == {"01.ipynb": b"{}", "data/x.csv": b"1,2"}


def test_read_file_refuses_links_and_special_files(folder, victim):
    (folder / "link").symlink_to(victim)
    os.mkfifo(folder / "pipe")
    os.link(victim, folder / "hard")
    fd = safefiles.open_dir(folder)
    try:
        for name, why in (("link", "symlink"), ("pipe", "not a regular file"), ("hard", "hard link")):
            with pytest.raises(Refused, match=why):
                safefiles.read_file(name, fd)
        with pytest.raises(FileNotFoundError):
            safefiles.read_file("missing", fd)
    finally:
        os.close(fd)


def test_a_folder_that_is_a_link_is_refused(tmp_path, folder):
    (tmp_path / "alias").symlink_to(folder)
    with pytest.raises(Refused, match="not a plain folder"):
        safefiles.read_tree(tmp_path / "alias")


def test_caps_on_size_count_and_total(folder):
    (folder / "big.bin").write_bytes(b"x" * 5000)
    with pytest.raises(Refused, match="big.bin"):
        safefiles.read_tree(folder, max_file=4096)
    with pytest.raises(Refused, match="in all"):
        safefiles.read_tree(folder, max_total=5001)
    with pytest.raises(Refused, match="more than 2 files"):
        safefiles.read_tree(folder, max_files=2)
    assert len(safefiles.read_tree(folder, max_files=3, max_file=5000, max_total=5005)) == 3


def test_a_file_is_read_no_further_than_its_cap(tmp_path):
    """The size is checked on the open file, and the reading stops one byte past the cap (a file that
    grows, like /proc or a FIFO fed by a writer, cannot make the reader swallow more)."""
    (tmp_path / "grows").write_bytes(b"x" * 100)
    fd = safefiles.open_dir(tmp_path)
    try:
        assert safefiles.read_file("grows", fd, limit=100) == b"x" * 100
        with pytest.raises(Refused, match="larger than 99"):
            safefiles.read_file("grows", fd, limit=99)
    finally:
        os.close(fd)


def test_writing_replaces_a_planted_link_instead_of_following_it(tmp_path, victim):
    target = tmp_path / "out"
    target.mkdir()
    (target / "graded.ipynb").symlink_to(victim)
    safefiles.write_tree(target, {"graded.ipynb": b"graded", "sub/dir/file.txt": b"deep"})
    assert victim.read_text() == "secret" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not (target / "graded.ipynb").is_symlink() and (target / "graded.ipynb").read_bytes() == b"graded"
    assert (target / "sub" / "dir" / "file.txt").read_bytes() == b"deep"


def test_writing_refuses_a_folder_link_and_a_way_out(tmp_path, victim):
    target = tmp_path / "out"
    target.mkdir()
    (target / "sub").symlink_to(victim.parent)
    with pytest.raises(Refused, match="not a plain folder"):
        safefiles.write_tree(target, {"sub/x.txt": b"x"})
    with pytest.raises(Refused, match="leads out"):
        safefiles.write_tree(target, {"../x.txt": b"x"})
    assert sorted(p.name for p in victim.parent.iterdir()) == ["out", "victim.txt"]
