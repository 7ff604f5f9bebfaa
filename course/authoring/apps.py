"""Run nbgrader's own command-line apps on a course folder, hermetically.

Every run gets its own HOME and Jupyter paths, and the venv's bin/ on PATH
(nbgrader shells out to ``alembic`` when it creates a gradebook).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..settings import ASSIGNMENT, ROOT, python_settings

# What a student's machine needs beside the notebooks, kept once in course/lab/student/ and copied into
# every release: the students' Validate configuration (read from the folder Validate runs in) and a README.
STUDENT_SIDE = Path(__file__).resolve().parent.parent / "lab" / "student"
STUDENT_NBGRADER_CONFIG = STUDENT_SIDE / "nbgrader_config.py"
HANDOUT_FILES = (STUDENT_NBGRADER_CONFIG, STUDENT_SIDE / "README.md")
STUDENT_EXCHANGE = STUDENT_SIDE / "nncourse_exchange.py"  # the students' side of the exchange (nncourse hub)


def hermetic_env(home):
    home = Path(home)
    env = dict(os.environ)
    env.update({
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / ".local/share/jupyter/runtime"),
        "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".config/matplotlib"),
        "JUPYTER_PLATFORM_DIRS": "1",
        **python_settings(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    })
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def grading_env(home, blas_threads):
    """The environment nbgrader grades in (and so what its kernels start from)."""
    return {**hermetic_env(home), **python_settings(blas_threads)}


class NbgraderFailed(RuntimeError):
    """An nbgrader app exited with an error."""


def nbgrader(course_dir, *args, check=True, timeout=1800):
    """``nbgrader <args>`` inside ``course_dir``; returns the CompletedProcess (``NbgraderFailed`` if it
    failed and ``check``)."""
    course_dir = Path(course_dir)
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=hermetic_env(course_dir / ".home"),
        capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise NbgraderFailed(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result


def course_copy(dest):
    """A fresh course folder holding the source assignment and the config."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "source", dest / "source", dirs_exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


def generate_release(course_dir):
    """nbgrader's generate_assignment, then the handout files beside the notebooks (release/ as students get it)."""
    nbgrader(course_dir, "generate_assignment", ASSIGNMENT, "--force")
    target = Path(course_dir) / "release" / ASSIGNMENT
    for path in HANDOUT_FILES:
        shutil.copyfile(path, target / path.name)
    return target
