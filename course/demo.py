"""The class demo (`make demo`): the whole instructor flow on a simulated class.

Release the assignment, build submissions from the real release notebooks
(the reference, an untouched release, students with the seed notebook's and
other typical bugs, hostile and broken submissions), autograde them in
parallel, write feedback, the per-question CSV and the HTML report, and print
a per-student, per-notebook table.  Everything is written inside the course
folder (git-ignored): submitted/, autograded/, feedback/, grading/, report/,
grades_per_question.csv and gradebook.db.
"""
import shutil
import sys
import time
from pathlib import Path

from .trust.audit import audit_course, audit_flags, with_grade_of_record
from .grading import Limits, autograde
from .trust.cheatscan import save_flags, scan_course
from .classroom import build_class
from .feedback import scan_feedback
from .nbgrader_run import ASSIGNMENT, ROOT, nbgrader
from .report import write_csv, write_report
from .grading.results import FAILED, GRADED, MANUAL, MISSING, assignment_structure, read_all

# Hostile students hang on purpose: keep the demo's waits short.
DEMO_LIMITS = Limits(cell_timeout=30, job_timeout=240)
SHORT = {FAILED: "FAIL", MISSING: "MISS", MANUAL: "MANU"}


def fresh_course_state(root):
    for folder in ("submitted", "feedback", "grading", "report"):
        shutil.rmtree(root / folder, ignore_errors=True)
    for student in (root / "autograded").glob("*/"):
        shutil.rmtree(student, ignore_errors=True)
    for path in (root / "gradebook.db", root / "grades_per_question.csv"):
        path.unlink(missing_ok=True)


def print_table(results, structure, descriptions):
    by_student = {}
    for result in results:
        by_student.setdefault(result.student, {})[result.notebook] = result
    notebooks = list(structure)
    header = ["student"] + [nb.split("_", 1)[0] for nb in notebooks] + ["total", "status"]
    maxima = ["max"] + [f"{sum(structure[nb].values()):g}" for nb in notebooks] + \
             [f"{sum(sum(c.values()) for c in structure.values()):g}", ""]
    rows = []
    for student in sorted(by_student):
        cells, total, status = [student], 0.0, GRADED
        for nb in notebooks:
            result = by_student[student].get(nb)
            if result is None or result.status in (FAILED, MISSING):
                cells.append(SHORT.get(result.status if result else FAILED))
                total, status = None, (result.status if result else FAILED)
            else:
                cells.append(f"{result.score:g}")
                total = None if total is None else total + result.score
        cells += ["—" if total is None else f"{total:g}", status]
        rows.append(cells)
    widths = [max(len(str(row[i])) for row in [header, maxima, *rows]) for i in range(len(header))]
    for row in [header, maxima, *rows]:
        print("  ".join(str(cell).ljust(w) if i in (0, len(row) - 1) else str(cell).rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))))
    print("\nFAIL = failed to grade, MISS = notebook missing: never counted as an honest 0.")
    print("\nstudents:")
    for name in sorted(descriptions):
        print(f"  {name:<20} {descriptions[name]}")


def run_demo(root=ROOT, jobs=2):
    root = Path(root).resolve()
    start = time.perf_counter()
    fresh_course_state(root)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    descriptions = build_class(root / "release" / ASSIGNMENT, root / "source" / ASSIGNMENT, root / "submitted")
    flags = scan_course(root, ASSIGNMENT)
    save_flags(root, flags)
    print(f"class of {len(descriptions)} submissions built in submitted/; cheat scan: {len(flags)} flags in "
          f"{len({f['student'] for f in flags})} students; autograding with {jobs} workers")
    autograde(root, jobs=jobs, limits=DEMO_LIMITS)
    results = audit_course(root, jobs=jobs)
    flags += audit_flags(results)
    results = with_grade_of_record(read_all(root), root)
    nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    leaks = scan_feedback(root)
    if leaks:
        print(f"feedback leaks hidden tests: {leaks[:3]}", file=sys.stderr)
        return 2
    structure = assignment_structure(root)
    csv_path = write_csv(root / "grades_per_question.csv", results, structure, flags)
    report = write_report(root / "report", results, structure, flags)
    print(f"\ndone in {time.perf_counter() - start:.0f} s: feedback/ (scanned, no hidden test shown), "
          f"{csv_path.relative_to(root)}, {report.relative_to(root)}\n")
    print_table(results, structure, descriptions)
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
