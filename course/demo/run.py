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

from ..authoring.apps import generate_release
from ..grading.client import autograde
from ..grading.job import Limits
from ..grading.results import FAILED, GRADED, MANUAL, MISSING, assignment_structure, grading_flags, read_all
from ..reporting.export import write_csv
from ..reporting.report import write_report
from ..settings import ASSIGNMENT, ROOT
from ..trust.audit import audit_flags
from ..trust.cheatscan import save_flags, scan_course
from .classroom import build_class

# Hostile students hang on purpose: the demo waits 15 s for a cell (the default is 120 s) and 45 s
# for a notebook, and says so.
DEMO_LIMITS = Limits(cell_timeout=15, job_timeout=45)
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
                cells.append(f"{result.score:g}" + ("T" if result.timed_out else ""))
                total = None if total is None else total + result.score
        cells += ["—" if total is None else f"{total:g}", status]
        rows.append(cells)
    widths = [max(len(str(row[i])) for row in [header, maxima, *rows]) for i in range(len(header))]
    for row in [header, maxima, *rows]:
        print("  ".join(str(cell).ljust(w) if i in (0, len(row) - 1) else str(cell).rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))))
    print("\nFAIL = failed to grade, MISS = notebook missing: never counted as an honest 0; "
          "T = a cell timed out and was interrupted (flagged).")
    print("\nstudents:")
    for name in sorted(descriptions):
        print(f"  {name:<20} {descriptions[name]}")


class Steps:
    """Times each step of the demo and prints it as it ends."""

    def __init__(self):
        self.start = self.last = time.perf_counter()

    def done(self, what):
        now = time.perf_counter()
        print(f"  {what}: {now - self.last:.1f} s", flush=True)
        self.last = now

    def total(self):
        return time.perf_counter() - self.start


def run_demo(root=ROOT, jobs=2):
    root = Path(root).resolve()
    steps = Steps()
    fresh_course_state(root)
    release = generate_release(root)  # the one release path: nbgrader's, then the handout files
    steps.done("release (nbgrader generate_assignment)")
    descriptions = build_class(release, root / "source" / ASSIGNMENT, root / "submitted")
    flags = scan_course(root, ASSIGNMENT)
    save_flags(root, flags)
    steps.done(f"class of {len(descriptions)} submissions built in submitted/, cheat scan: {len(flags)} flags in "
               f"{len({f['student'] for f in flags})} students")
    print(f"autograding and auditing with {jobs} jobs; the demo's students hang on purpose, so a cell may run "
          f"{DEMO_LIMITS.cell_timeout} s and a notebook {DEMO_LIMITS.job_timeout} s (the defaults are "
          f"{Limits.cell_timeout} s and {Limits.job_timeout} s)", flush=True)
    autograde(root, jobs=jobs, limits=DEMO_LIMITS)
    steps.done("autograde, audit and feedback pages (leak-scanned)")
    results = read_all(root)
    flags += audit_flags(results) + grading_flags(results)
    unwritten = [f"{r.student}/{r.notebook}: {r.feedback or 'no page'}" for r in results
                 if r.status in (GRADED, MANUAL) and r.feedback != "written"]
    if unwritten:
        print(f"feedback: {len(unwritten)} graded notebooks have no page in feedback/: {unwritten[:3]}", file=sys.stderr)
        return 2
    structure = assignment_structure(root)
    csv_path = write_csv(root / "grades_per_question.csv", results, structure, flags)
    report = write_report(root / "report", results, structure, flags)
    steps.done("CSV and report")
    print(f"\nfeedback/ (scanned, no hidden test shown), {csv_path.relative_to(root)}, "
          f"{report.relative_to(root)}\n")
    print_table(results, structure, descriptions)
    print(f"\nmake demo: {len(descriptions)} submissions released, graded, audited and reported in "
          f"{steps.total():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
