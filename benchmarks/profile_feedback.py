"""Where the time of one submission's feedback pages goes: nbconvert's template, Pygments, the markdown
renderer, nbgrader's preprocessors and gradebook, and the leak scan.

Grades one submission (the reference by default) without feedback, then renders its 8 pages with
nbgrader's own GenerateFeedback in this process, as the grading job does (course.grading.pages'
exporter, its cache warmed from the release), for ``--rounds`` rounds after one that pays the
first-use loads.  Each round also renders them with nbconvert's stock HTMLExporter, unprofiled, and
once more the job's way under cProfile.  It prints both times, then the profiled time per submission by
the package whose code ran (self time, so nothing is counted twice), then the leak scan's time per
page.  Shares are measured in one run, so they hold on a loaded machine too:

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
from course.grading.pages import _soup_pass, tidy, warm  # noqa: E402
from course.settings import ASSIGNMENT  # noqa: E402
from course.trust.leakscan import page_leaks  # noqa: E402

# Which part of the page's making a file's code belongs to, by the first match in its path.
POST_PASS = "the HTML post-pass (html.parser; BeautifulSoup for stock, course.grading.pages' stream for ours)"
PARTS = (("pygments", "Pygments: syntax highlighting"), ("mistune", "mistune: markdown"),
         ("jinja2", "Jinja2: the template"), ("markupsafe", "Jinja2: the template"),
         ("bleach", "nbconvert's clean_html filter (bleach, its html5lib)"),
         ("bs4", POST_PASS), ("soupsieve", POST_PASS), ("html/parser.py", POST_PASS), ("_markupbase.py", POST_PASS),
         ("grading/pages.py", POST_PASS), ("nbconvert", "nbconvert: exporter and filters"),
         ("nbformat", "nbformat: reading, validating"), ("jsonschema", "nbformat: reading, validating"),
         ("fastjsonschema", "nbformat: reading, validating"), ("sqlalchemy", "nbgrader's gradebook (SQLAlchemy)"),
         ("nbgrader", "nbgrader: app and preprocessors"), ("traitlets", "traitlets: configuration"),
         ("course", "the course's preprocessors"))


def part_of(filename):
    for needle, part in PARTS:
        if f"/{needle}/" in filename or filename.endswith(f"/{needle}"):
            return part
    return "Python and the rest (json, re, io, …)"


JOB_EXPORTER = "course.grading.pages.FeedbackExporter"  # what the grading job renders with
STOCK_EXPORTER = "nbconvert.exporters.HTMLExporter"  # what `nbgrader generate_feedback` renders with


def render_pages(course, student, exporter=JOB_EXPORTER):
    """nbgrader's GenerateFeedback for ``student``, in this process, as course.grading.child does it."""
    from nbgrader.apps.generatefeedbackapp import GenerateFeedbackApp

    GenerateFeedbackApp.clear_instance()
    app = GenerateFeedbackApp.instance()
    app.initialize([ASSIGNMENT, "--student", student, "--force", "--CourseDirectory.ignore=['*']",
                    f"--CourseDirectory.root={course}", f"--GenerateFeedback.exporter_class={exporter}"])
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
        # two more students, for the leak scan: the beginning their pages share with the first student's is
        # scanned for the first of them, and found in the cache for the second
        others = [name for name in ("untouched", "seed_student", "reference") if name != args.student][:2]
        build_class(generate_release(course), course / "source" / ASSIGNMENT, course / "submitted",
                    [args.student, *others])
        if nncourse(["--course", str(course), "autograde", "--no-feedback", "--no-audit", "--quiet"]) != 0:
            raise SystemExit("autograde failed")
        started = time.perf_counter()
        render_pages(course, args.student)
        first = time.perf_counter() - started
        started = time.perf_counter()
        warm(course / "release" / ASSIGNMENT)  # as the job zygote does, once per station
        warming = time.perf_counter() - started
        plain, stock, rounds = [], [], []
        for _ in range(args.rounds):  # alternating, so all see the same machine
            started = time.perf_counter()
            render_pages(course, args.student)
            plain.append(time.perf_counter() - started)
            started = time.perf_counter()
            render_pages(course, args.student, STOCK_EXPORTER)
            stock.append(time.perf_counter() - started)
            rounds.append(profile_round(course, args.student))
        for student in others:
            render_pages(course, student)
        scans = {}
        for student in (args.student, *others):
            scans[student] = []
            for page in sorted((course / "feedback" / student / ASSIGNMENT).glob("*.html")):
                started = time.perf_counter()
                page_leaks(course, page, student)
                scans[student].append(time.perf_counter() - started)
        pages = scans[args.student]
        texts = [page.read_text(encoding="utf-8")
                 for page in sorted((course / "feedback" / args.student / ASSIGNMENT).glob("*.html"))]
        post_pass = {"BeautifulSoup (nbconvert's)": [], "the stream (course.grading.pages.tidy)": []}
        for _ in range(args.rounds):  # on the finished pages: the pass leaves them as they are
            for (name, times), run in zip(post_pass.items(), (_soup_pass, tidy)):
                started = time.perf_counter()
                for text in texts:
                    assert run(text) == text
                times.append(time.perf_counter() - started)
    walls = [wall for _, wall in rounds]
    profiled = statistics.median(sum(parts.values()) for parts, _ in rounds)
    names = sorted({name for parts, _ in rounds for name in parts},
                   key=lambda name: -statistics.median(parts.get(name, 0.0) for parts, _ in rounds))
    print(f"\nfeedback pages of one submission ({args.student}, {len(pages)} pages), median of {args.rounds} "
          f"rounds, side by side:\n"
          f"  nbgrader's GenerateFeedback with nbconvert's HTMLExporter (stock): {statistics.median(stock):.2f} s\n"
          f"  with course.grading.pages.FeedbackExporter, as the grading job: {statistics.median(plain):.2f} s "
          f"({statistics.median(stock) / statistics.median(plain):.2f}x faster; "
          f"{statistics.median(walls):.2f} s under cProfile)\n"
          f"  first round in a fresh process, before the cache is warmed: {first:.2f} s; "
          f"warming it from the release (once per station): {warming:.2f} s\n")
    print("| part (self time) | seconds per submission | share |\n| --- | ---: | ---: |")
    for name in names:
        seconds = statistics.median(parts.get(name, 0.0) for parts, _ in rounds)
        print(f"| {name} | {seconds:.3f} | {seconds / profiled:.0%} |")
    print("the post-pass alone, unprofiled, per submission: " + "; ".join(
        f"{name} {statistics.median(times):.3f} s" for name, times in post_pass.items()))
    for student, times in scans.items():
        print(f"leak scan of {student}'s pages: "
              f"{sum(times):.3f} s per submission ({statistics.median(times):.3f} s per page, median)")


if __name__ == "__main__":
    main()
