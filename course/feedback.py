"""The feedback leak scan: no feedback page may show a hidden test or reference code.

Secrets are the hidden-test regions of the source notebooks and nbgrader's
hidden-test markers.  Pages are compared as text (tags stripped, entities
decoded), since syntax highlighting splits code into spans.  A secret that
the student's own submitted notebook also contains was written by the
student, not leaked by the grader.
"""
import html
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from .nbgrader_run import ASSIGNMENT, nbgrader

MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def hidden_lines(root):
    """Every code line inside a hidden-test region of the source notebooks."""
    lines = set()
    for path in sorted((Path(root) / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
                lines |= {line.strip() for line in region.splitlines() if line.strip()}
    return lines


def page_text(path):
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text(encoding="utf-8", errors="replace")))


def scan_feedback(root):
    """[(page, secret)] for every secret a feedback page shows that its student did not write."""
    root = Path(root)
    secrets = hidden_lines(root) | set(MARKERS)
    leaks = []
    for page in sorted((root / "feedback").glob(f"*/{ASSIGNMENT}/*.html")):
        text = page_text(page)
        submitted = root / "submitted" / page.parts[-3] / ASSIGNMENT / f"{page.stem}.ipynb"
        own = submitted.read_text(encoding="utf-8", errors="replace") if submitted.exists() else ""
        leaks += [(page, secret) for secret in sorted(secrets) if secret in text and secret not in own]
    return leaks


def write_feedback(root, jobs=2, students=None):
    """``nbgrader generate_feedback`` for every autograded student (or ``students``), ``jobs`` nbgrader
    processes at a time (each takes a share of the class); then the leak scan.  The leaks, [] if none."""
    root = Path(root)
    graded = sorted(p.parent.name for p in (root / "autograded").glob(f"*/{ASSIGNMENT}"))
    wanted = [s for s in graded if not students or s in students]
    shares = [wanted[i::jobs] for i in range(max(1, min(jobs, len(wanted))))]

    def run(share):
        others = [s for s in graded if s not in share]
        exclude = [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []
        nbgrader(root, "generate_feedback", ASSIGNMENT, "--force", *exclude)

    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        list(pool.map(run, shares))
    return scan_feedback(root)
