"""The class demo: release the assignment, grade a small class, print the grades.

Runs real nbgrader in the course folder (this checkout): generate_assignment,
autograde and generate_feedback.  The simulated class is the reference
solution and an untouched release; later work adds buggy and hostile students.
Usage: python -m course.demo
"""
import shutil
import sys
import time

from nbgrader.api import Gradebook

from .nbgrader_run import ASSIGNMENT, ROOT, nbgrader

STUDENTS = ("reference", "untouched")


def submit(root):
    release = root / "release" / ASSIGNMENT
    for student in STUDENTS:
        target = root / "submitted" / student / ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(release, target)
    for notebook in (root / "source" / ASSIGNMENT).glob("*.ipynb"):
        shutil.copy(notebook, root / "submitted" / "reference" / ASSIGNMENT / notebook.name)


def table(root):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="nn-layers") as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        notebooks = [nb.name for nb in assignment.notebooks]
        rows = []
        for student in STUDENTS:
            submission = gb.find_submission(ASSIGNMENT, student)
            scores = {nb.name: nb.score for nb in submission.notebooks}
            rows.append([student] + [f"{scores[n]:g}" for n in notebooks] + [f"{submission.score:g}"])
        maxima = ["max"] + [f"{nb.max_score:g}" for nb in assignment.notebooks] + [f"{assignment.max_score:g}"]
    header = ["student"] + [n.split("_", 1)[0] for n in notebooks] + ["total"]
    widths = [max(len(r[i]) for r in [header, maxima, *rows]) for i in range(len(header))]
    for row in [header, maxima, *rows]:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))


def main():
    start = time.perf_counter()
    nbgrader(ROOT, "generate_assignment", ASSIGNMENT, "--force")
    submit(ROOT)
    for student in STUDENTS:
        nbgrader(ROOT, "autograde", ASSIGNMENT, "--student", student, "--force")
    nbgrader(ROOT, "generate_feedback", ASSIGNMENT, "--force")
    print(f"graded {len(STUDENTS)} submissions in {time.perf_counter() - start:.0f} s; "
          f"feedback in feedback/<student>/{ASSIGNMENT}/\n")
    table(ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
