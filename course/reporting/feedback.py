"""Feedback: nbgrader's pages, scanned for leaks (course.trust.leakscan); a page that leaks is withheld.

``nncourse autograde`` writes each graded notebook's page in the grading job already (with the grade of
record); ``write_feedback`` runs ``nbgrader generate_feedback`` for the whole class again (after manual
grading, or `nncourse audit` changed a grade), so that only the graded notebooks' HTML reaches
``feedback/`` (never a file beside them), then scans every page.  A page that leaks is withheld: moved
out of ``feedback/`` into ``grading/feedback-withheld/`` for the instructor, so one student's page never
holds back another's.
"""
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..authoring.apps import nbgrader
from ..settings import FEEDBACK_WITHHELD as WITHHELD
from ..settings import load
from ..trust.leakscan import page_leaks

LOG = Path("grading") / "feedback.log"  # nbgrader's own log of the last run


def scan_feedback(root):
    """[(page, secret)] for every secret a feedback page shows that its student did not write."""
    root = Path(root)
    return [(page, secret) for page in sorted((root / "feedback").glob(f"*/{load(root).assignment}/*.html"))
            for secret in page_leaks(root, page, page.parts[-3])]


def withhold(root, leaks):
    """Move each leaking page out of feedback/ (into grading/feedback-withheld/, for the instructor)."""
    root = Path(root)
    for page in sorted({page for page, _ in leaks}):
        target = root / WITHHELD / page.relative_to(root / "feedback")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(page), target)


PAGES = "course.grading.pages.FeedbackExporter"  # nbconvert's HTMLExporter's bytes, faster (tests/test_pages.py)


def write_feedback(root, jobs=2, students=None):
    """``nbgrader generate_feedback`` for every autograded student (or ``students``), ``jobs`` nbgrader
    processes at a time (each takes a share of the class), writing only the graded notebooks' HTML with
    the exporter the grading job uses (``PAGES``); then the leak scan.  Leaking pages are withheld
    (``withhold``).  Returns (leaks, students whose feedback nbgrader could not write)."""
    root = Path(root)
    assignment = load(root).assignment
    graded = sorted(p.parent.name for p in (root / "autograded").glob(f"*/{assignment}"))
    wanted = [s for s in graded if not students or s in students]
    shares = [wanted[i::jobs] for i in range(max(1, min(jobs, len(wanted))))]

    def run(share):
        others = [s for s in graded if s not in share]
        exclude = [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []
        # "*": nothing but the notebooks' pages, never a file that sat beside them in autograded/
        return nbgrader(root, "generate_feedback", assignment, "--force", "--CourseDirectory.ignore=['*']",
                        f"--GenerateFeedback.exporter_class={PAGES}", *exclude, check=False).stderr

    if wanted:
        with ThreadPoolExecutor(max_workers=len(shares)) as pool:
            logs = list(pool.map(run, shares))
        (root / LOG).parent.mkdir(parents=True, exist_ok=True)
        (root / LOG).write_text("\n".join(logs), encoding="utf-8")
    failed = [s for s in wanted
              if {p.stem for p in (root / "autograded" / s / assignment).glob("*.ipynb")}
              - {p.stem for p in (root / "feedback" / s / assignment).glob("*.html")}]
    leaks = [(page, secret) for page, secret in scan_feedback(root) if page.parts[-3] in wanted]
    withhold(root, leaks)
    return leaks, failed
