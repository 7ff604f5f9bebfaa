"""course/lab/server.py without a browser: nbgrader's extensions load with the pinned versions,
the student's copy survives a restart, and each view serves what it should."""
import re
import subprocess
import sys
import urllib.error
import urllib.request

import psutil

from course.authoring.apps import course_copy, hermetic_env
from course.lab import server as lab
from course.settings import ASSIGNMENT

NBGRADER_SERVER_EXTENSIONS = ("formgrader", "validate_assignment", "assignment_list", "course_list")


def jupyter(*args, home):
    done = subprocess.run([sys.executable, "-m", "jupyter", *args], env=hermetic_env(home),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # drop the colour codes


def test_nbgrader_extensions_load_with_the_pinned_versions(tmp_path):
    labextensions = jupyter("labextension", "list", home=tmp_path)
    assert "JupyterLab v4.6.6" in labextensions
    assert re.search(r"@jupyter/nbgrader v0\.9\.6 enabled\s+OK", labextensions), labextensions
    server = jupyter("server", "extension", "list", home=tmp_path)
    for name in NBGRADER_SERVER_EXTENSIONS:
        assert re.search(rf"nbgrader\.server_extensions\.{name} enabled", server), server
        assert re.search(rf"nbgrader\.server_extensions\.{name}\s+OK", server), server


def test_the_students_copy_is_kept_until_fresh(tmp_path):
    course = course_copy(tmp_path / "course")
    (course / "release").symlink_to(lab.ROOT / "release")
    folder = tmp_path / "student"
    view = lab.student_view(course, folder)
    notebook = view.root / ASSIGNMENT / "01_activations.ipynb"
    notebook.write_text("the student's work")
    lab.student_view(course, folder)
    assert notebook.read_text() == "the student's work"
    lab.student_view(course, folder, fresh=True)
    assert notebook.read_bytes() == (lab.ROOT / "release" / ASSIGNMENT / "01_activations.ipynb").read_bytes()


def status(server, path, token=True):
    headers = {"Authorization": f"token {server.token}"} if token else {}
    request = urllib.request.Request(server.base + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_only_the_instructor_gets_the_formgrader_and_stop_leaves_nothing(tmp_path):
    views = {"instructor": lab.instructor_view(course_copy(tmp_path / "course")),
             "student": lab.student_view(folder=tmp_path / "student")}
    for role, view in views.items():
        with lab.start(view) as server:
            assert status(server, "/api/status") == 200
            assert status(server, "/formgrader") == (200 if role == "instructor" else 404)
            assert status(server, "/api/status", token=False) == 403
            kernel = urllib.request.Request(server.base + "/api/kernels", data=b"{}", method="POST",
                                            headers={"Authorization": f"token {server.token}"})
            with urllib.request.urlopen(kernel, timeout=60):
                pass
            family = psutil.Process(server.process.pid).children(recursive=True)
            assert family, "the kernel should be a child of the server"
        assert server.process.returncode is not None
        assert not [p for p in family if alive(p)], "the server's kernels outlived it"


def alive(process):
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
