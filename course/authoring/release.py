"""Regenerate release/nn_layers/ with nbgrader generate_assignment.

It runs in a scratch copy of the course, so the instructor's gradebook is not
touched, then replaces the committed release folder.
Usage: python -m course.release
"""
import shutil
import sys
import tempfile

from .nbgrader_run import ASSIGNMENT, ROOT, course_copy, generate_release


def main():
    with tempfile.TemporaryDirectory(prefix="nn-release-") as scratch:
        built = generate_release(course_copy(scratch))
        target = ROOT / "release" / ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built, target)
    print(f"release regenerated: {target.relative_to(ROOT)} ({len(list(target.iterdir()))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
