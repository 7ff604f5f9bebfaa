"""Where the time of one submission's feedback pages goes: nbconvert's template, Pygments, the markdown
renderer, nbgrader's preprocessors and gradebook, and the leak scan.

Grades one submission (the reference by default) without feedback, then renders its 8 pages with
nbgrader's own GenerateFeedback in this process, as the grading job does, under cProfile, for
``--rounds`` warm rounds (after one round that pays the first-use loads), and prints the time per
submission by the package whose code ran (self time, so nothing is counted twice), then the leak
scan's time per page.  Shares are measured in one run, so they hold on a loaded machine too:

    .venv/bin/python benchmarks/profile_feedback.py [--rounds 5] [--student reference]
"""
import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course.authoring.apps import course_copy, generate_release  # noqa: E402
from course.cli import main as nncourse  # noqa: E402
from course.demo.classroom import build_class  # noqa: E402
from course.settings import ASSIGNMENT  # noqa: E402
from course.trust.leakscan import page_leaks  # noqa: E402

# Which part of the page's making a file's code belongs to, by the first match in its path.
PARTS = (("pygments", "Pygments: syntax highlighting"), ("mistune", "mistune: markdown"),
         ("jinja2", "Jinja2: the template"), ("markupsafe", "Jinja2: the template"),
         ("bs4", "nbconvert's HTML post-pass (BeautifulSoup, html.parser)"), ("html5lib", "nbconvert's HTML post-pass (BeautifulSoup, html.parser)"),
         ("lxml", "nbconvert's HTML post-pass (BeautifulSoup, html.parser)"),
         ("html/parser.py", "nbconvert's HTML post-pass (BeautifulSoup, html.parser)"), ("_markupbase.py", "nbconvert's HTML post-pass (BeautifulSoup, html.parser)"), ("nbconvert", "nbconvert: exporter and filters"),
         ("nbformat", "nbformat: reading, validating"), ("jsonschema", "nbformat: reading, validating"),
         ("fastjsonschema", "nbformat: reading, validating"), ("sqlalchemy", "nbgrader's gradebook (SQLAlchemy)"),
         ("nbgrader", "nbgrader: app and preprocessors"), ("traitlets", "traitlets: configuration"),
         ("course", "the course's preprocessors"))


def part_of(filename):
    for needle, part in PARTS:
        if f"/{needle}/" in filename or filename.endswith(f"/{needle}"):
            return part
    return "Python and the rest (json, re, io, …)"


def render_pages(course, student):
    """nbgrader's GenerateFeedback for ``student``, in this process, as course.grading.child does it."""
    from nbgrader.apps.generatefeedbackapp import GenerateFeedbackApp

    GenerateFeedbackApp.clear_instance()
    app = GenerateFeedbackApp.instance()
    app.initialize([ASSIGNMENT, "--student", student, "--force", "--CourseDirectory.ignore=['*']",
                    f"--CourseDirectory.root={course}"])
    app.start()


def profile_round(course, student):
    """({part: self seconds}, wall seconds) of one round of pages."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(render_pages, course, student)
    wall = time.perf_counter() - started
    parts = defaultdict(float)
    for (filename, _, _), (_, _, self_time, _, _) in pstats.Stats(profiler).stats.items():
        parts[part_of(filename)] += self_time
    return parts, wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--student", default="reference")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-feedback-", dir=ROOT / ".cache") as scratch:
        course = course_copy(Path(scratch) / "course")
        build_class(generate_release(course), course / "source" / ASSIGNMENT, course / "submitted", [args.student])
        if nncourse(["--course", str(course), "autograde", "--no-feedback", "--no-audit", "--quiet"]) != 0:
            raise SystemExit("autograde failed")
        started = time.perf_counter()
        render_pages(course, args.student)
        first = time.perf_counter() - started
        plain, rounds = [], []
        for _ in range(args.rounds):  # alternating, so both see the same machine
            started = time.perf_counter()
            render_pages(course, args.student)
            plain.append(time.perf_counter() - started)
            rounds.append(profile_round(course, args.student))
        pages = sorted((course / "feedback" / args.student / ASSIGNMENT).glob("*.html"))
        scans = []
        for page in pages:
            started = time.perf_counter()
            page_leaks(course, page, args.student)
            scans.append(time.perf_counter() - started)
    walls = [wall for _, wall in rounds]
    profiled = statistics.median(sum(parts.values()) for parts, _ in rounds)
    names = sorted({name for parts, _ in rounds for name in parts},
                   key=lambda name: -statistics.median(parts.get(name, 0.0) for parts, _ in rounds))
    print(f"\nfeedback pages of one submission ({args.student}, {len(pages)} pages): first round in a fresh "
          f"process {first:.2f} s; warm rounds {statistics.median(plain):.2f} s, "
          f"{statistics.median(walls):.2f} s under cProfile "
          f"(median of {args.rounds})\n")
    print("| part (self time) | seconds per submission | share |\n| --- | ---: | ---: |")
    for name in names:
        seconds = statistics.median(parts.get(name, 0.0) for parts, _ in rounds)
        print(f"| {name} | {seconds:.3f} | {seconds / profiled:.0%} |")
    print(f"\nleak scan: {sum(scans):.3f} s per submission ({statistics.median(scans):.3f} s per page, median)")


if __name__ == "__main__":
    main()
