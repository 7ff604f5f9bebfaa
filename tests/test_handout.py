"""The handout as a student gets it: `nncourse release --zip`, unzipped, in a clean HOME.

A student who downloads the assignment has nothing but the folder: no ``~/.jupyter`` configuration, no
course package.  The folder itself carries the students' Validate configuration (copied at release time
from its one source, course/lab/student/nbgrader_config.py) and a README in Russian, so `nbgrader validate`
run in the folder, and the Validate button of a JupyterLab started there, name the failing visible tests
in Russian.
"""
import hashlib
import json
import re
import subprocess
import sys
import urllib.request
import zipfile

import pytest

from course.authoring.apps import HANDOUT_FILES, STUDENT_NBGRADER_CONFIG, hermetic_env
from course.delivery.handout import write_zip
from course.lab import server as lab
from course.settings import ASSIGNMENT, ROOT

RELEASE = ROOT / "release" / ASSIGNMENT
FAILED = "ПРОВЕРКА НЕ ПРОЙДЕНА: ячеек с ошибками — 3."
ACTIVATIONS = ("ReLU", "Sigmoid", "Tanh")


def headline(name):
    return f"✗ Открытые тесты {name} не пройдены (ячейка {name.lower()}_visible_tests)."


def test_the_committed_release_carries_the_handout_files_from_their_one_source():
    for source in HANDOUT_FILES:
        assert (RELEASE / source.name).read_bytes() == source.read_bytes(), f"{source.name}: run `make notebooks`"
    readme = (RELEASE / "README.md").read_text(encoding="utf-8")
    for needed in ("nbgrader validate 01_activations.ipynb", "Validate", "08_training.ipynb", "jupyter lab"):
        assert needed in readme, needed
    assert len(re.findall(r"[а-яё]", readme)) > 500  # written in Russian


def test_release_is_written_only_by_the_one_release_path():
    """A raw `nbgrader generate_assignment` on the course would leave release/ without the handout files
    (it removes the folder first); only generate_release runs it there.  (make demo once did.)"""
    allowed = {"course/authoring/apps.py",  # generate_release: nbgrader's, then the handout files
               "course/grading/gradebook.py"}  # a gradebook template, built in grading/.template
    callers = {str(path.relative_to(ROOT)) for path in (ROOT / "course").rglob("*.py")
               if '"generate_assignment"' in path.read_text(encoding="utf-8")}
    assert callers <= allowed, callers - allowed


def test_what_students_read_in_the_given_code_is_russian():
    helper = (RELEASE / "nn_helpers.py").read_text(encoding="utf-8")
    assert re.search(r"[а-яё]", helper.splitlines()[0]) and "make notebooks" not in helper
    assert "course/" not in helper and "generated" not in helper.lower()
    dropout = (RELEASE / "04_dropout.ipynb").read_text(encoding="utf-8")
    assert "must lie" not in dropout and "dropout_rate должна лежать в [0, 1], а получено" in dropout


@pytest.fixture(scope="module")
def unzipped(released_course, tmp_path_factory):
    """The zip written by `release --zip` from a released course, unzipped where a student keeps it."""
    import shutil

    course = shutil.copytree(released_course, tmp_path_factory.mktemp("handout") / "course", symlinks=True)
    archive, digest = write_zip(course)
    again, same = write_zip(course)
    student = tmp_path_factory.mktemp("student")
    with zipfile.ZipFile(archive) as z:
        z.extractall(student / "downloads")
    return {"course": course, "archive": archive, "digest": digest, "same": same,
            "folder": student / "downloads" / ASSIGNMENT, "home": student / "home"}


def test_the_zip_is_the_release_with_its_checksum(unzipped):
    archive = unzipped["archive"]
    assert unzipped["digest"] == unzipped["same"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert (archive.parent / "nn_layers.zip.sha256").read_text() == f"{unzipped['digest']}  nn_layers.zip\n"
    release = unzipped["course"] / "release" / ASSIGNMENT
    assert sorted(p.name for p in unzipped["folder"].iterdir()) == sorted(p.name for p in release.iterdir())
    for path in release.iterdir():
        assert (unzipped["folder"] / path.name).read_bytes() == path.read_bytes()
    assert (unzipped["folder"] / "nbgrader_config.py").read_bytes() == STUDENT_NBGRADER_CONFIG.read_bytes()


def student_env(home):
    """A clean HOME: no nbgrader configuration anywhere in the student's Jupyter paths."""
    env = hermetic_env(home)
    assert not list(home.rglob("nbgrader_config.py"))
    return env


def test_nbgrader_validate_in_the_unzipped_folder_names_the_failing_visible_tests(unzipped):
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "01_activations.ipynb"],
                          cwd=unzipped["folder"], env=student_env(unzipped["home"]), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "No nbgrader_config.py file found" not in done.stderr
    assert FAILED in done.stdout and "Success!" not in done.stdout
    joined = " ".join(done.stdout.split())
    for name in ACTIVATIONS:
        assert headline(name) in joined, name


def test_the_validate_button_of_a_jupyterlab_started_in_the_folder(unzipped):
    """JupyterLab started in the unzipped folder (not the course's student view: nothing is written into its
    HOME); the Validate button's request."""
    home = unzipped["home"].parent / "lab-home"
    view = lab.LabView("instructor", unzipped["folder"], home, "")
    student_env(home)
    with lab.start(view) as server:
        request = urllib.request.Request(f"{server.base}/assignments/validate?path=01_activations.ipynb", data=b"",
                                         method="POST", headers={"Authorization": f"token {server.token}"})
        with urllib.request.urlopen(request, timeout=300) as response:
            answer = json.loads(response.read())
    assert answer["success"] is True, answer
    failed = answer["value"]["failed"]
    assert [" ".join(f["raw_error"].split())[:len(headline(name))] for f, name in zip(failed, ACTIVATIONS)] \
        == [headline(name) for name in ACTIVATIONS]
    assert len(failed) == 3 and not list(home.rglob("nbgrader_config.py"))
