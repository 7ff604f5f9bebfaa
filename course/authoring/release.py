"""The one release path: templates -> source/ (``build``) -> release/ (nbgrader's generate_assignment).

``release(course)`` rebuilds ``source/`` from the templates and runs
``nbgrader generate_assignment`` in the course folder, which writes
``release/`` and registers the assignment in the gradebook (`nncourse release`);
the students' Validate configuration and README are copied beside the notebooks.
``refresh()`` regenerates the committed ``release/`` of this checkout in a
scratch copy of the course, so the instructor's gradebook is not touched
(`make notebooks`).

Usage: python -m course.authoring.release
"""
import logging
import shutil
import sys
import tempfile

from ..settings import ASSIGNMENT, ROOT, CourseError
from . import build
from .apps import course_copy, generate_release

log = logging.getLogger(__name__)


def release(course):
    """Rebuild ``source/`` from the templates, then ``release/`` with nbgrader, in ``course``."""
    if build.main([]) != 0:
        raise CourseError("the templates do not build (see above)")
    return generate_release(course)


def refresh():
    """Regenerate this checkout's release/ in a scratch copy of the course."""
    with tempfile.TemporaryDirectory(prefix="nn-release-") as scratch:
        built = generate_release(course_copy(scratch))
        target = ROOT / "release" / ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built, target)
    return target


def main():
    target = refresh()
    print(f"release regenerated: {target.relative_to(ROOT)} ({len(list(target.iterdir()))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
