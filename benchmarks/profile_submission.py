"""Where one submission's grading time goes, with cold and with warm kernels, side by side.

Grades the same submission (the reference solution: every cell runs, nothing
fails early) on a station with cold kernels (each one a new Python process,
as stock nbgrader starts them) and on one with warm kernels (forked by the
kernel zygote), alternating, and prints the median of each stage:
nbgrader's set-up, kernel start (jail included), each notebook's cells, the
hidden checks, kernel shutdown, the rest of nbgrader's work, the merge into
the gradebook and the audit.  Run as root so kernels are jailed, as in CI:

    .venv/bin/python benchmarks/profile_submission.py [--rounds 3] [--student reference]
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course.authoring.apps import course_copy, generate_release  # noqa: E402
from course.demo.classroom import build_class  # noqa: E402
from course.grading import gradebook, job  # noqa: E402
from course.grading.results import assignment_structure  # noqa: E402
from course.grading.station import Station  # noqa: E402
from course.settings import ASSIGNMENT  # noqa: E402
from course.trust.audit import audit_submission  # noqa: E402
from autograde_speedup import compute_bound  # noqa: E402  (benchmarks/, this script's folder)

NOTEBOOK_STAGES = ("kernel start: launch", "kernel start: until ready", "notebook cells", "hidden checks",
                   "kernel shutdown")


def profile_once(station, course, student, limits, template, structure):
    """{stage: seconds} of grading ``student`` once on ``station``."""
    spans_file = station.scratch / "spans.jsonl"
    spans_file.unlink(missing_ok=True)
    station.profile = str(spans_file)
    folder = course / "submitted" / student / ASSIGNMENT
    submission = job.read_submission(folder, student, list(structure))
    started = time.perf_counter()
    outcome = job.grade(station, submission, limits, template, audit=False)
    job_seconds = time.perf_counter() - started
    assert all(n.status == "graded" for n in outcome.notebooks), [n.reason for n in outcome.notebooks]
    started = time.perf_counter()
    gradebook.record(course, outcome, structure)
    merge_seconds = time.perf_counter() - started
    started = time.perf_counter()
    source = course / "source" / ASSIGNMENT
    audits = audit_submission({nb: submission.files[f"{nb}.ipynb"] for nb in structure}, source,
                              source / "nn_helpers.py", zygote_socket=station.kernels.socket if station.kernels else None)
    assert all(score is not None for a in audits.values() for score in a.cells.values())  # every cell audited
    audit_seconds = time.perf_counter() - started

    stages = defaultdict(float)
    spans = [json.loads(line) for line in spans_file.read_text().splitlines()]
    for span in spans:
        if span["what"] in NOTEBOOK_STAGES:
            stages[span["what"]] += span["seconds"]
        if span["what"] == "notebook cells" or span["what"] == "hidden checks":
            stages[f"  cells of {span['notebook']}"] += span["seconds"]
        if span["what"] == "nbgrader: set-up":
            stages["nbgrader set-up (per job)"] += span["seconds"]
    whole = sum(s["seconds"] for s in spans if s["what"] == "nbgrader: whole notebook")
    every = sum(s["seconds"] for s in spans if s["what"] == "nbgrader: one notebook, all")
    inside = sum(stages[s] for s in NOTEBOOK_STAGES)
    stages["nbgrader's other work on a notebook (sanitize, preprocessors, gradebook, files)"] = whole - inside
    stages["nbgrader's set-up of each notebook (gradebook, copies)"] = every - whole
    opens = [s for s in spans if s["what"] == "nbgrader: gradebook opens and closes"]
    stages[f"  of nbgrader's work: {len(opens) // 2} gradebook opens (and closes)"] = sum(s["seconds"] for s in opens)
    feedback = sum(s["seconds"] for s in spans if s["what"] == "feedback: nbgrader's pages")
    stages["feedback pages (nbgrader's GenerateFeedback, in the job)"] = feedback
    stages["supervisor: unpack, start the job, read the grades, files and pages back"] = \
        job_seconds - every - stages["nbgrader set-up (per job)"] - feedback
    stages["grading job, total"] = job_seconds
    stages["merge into the course gradebook (client)"] = merge_seconds
    stages["audit, 8 notebooks in one jail"] = audit_seconds
    return stages


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--student", default="reference")
    args = parser.parse_args()
    limits = job.Limits(cell_timeout=60)
    with tempfile.TemporaryDirectory(prefix="profile-", dir=ROOT / ".cache") as scratch:
        course = course_copy(Path(scratch) / "course")
        build_class(generate_release(course), course / "source" / ASSIGNMENT, course / "submitted", [args.student])
        structure = assignment_structure(course)
        template = gradebook.template_db(course)
        results = {"cold": [], "warm": []}
        stations = {}
        for kind in results:
            started = time.perf_counter()
            stations[kind] = Station(course, course / "grading" / ".work", warm_kernels=kind == "warm")
            print(f"{kind} station ready in {time.perf_counter() - started:.1f} s (zygotes start once per batch)")
        try:
            for _ in range(args.rounds):
                for kind in results:
                    results[kind].append(profile_once(stations[kind], course, args.student, limits, template,
                                                      structure))
        finally:
            for station in stations.values():
                station.close()
        bound = compute_bound(course, [args.student])  # the same graded notebooks, cells alone
    order = list(dict.fromkeys(k for r in results["cold"] + results["warm"] for k in r))
    order.sort(key=lambda k: (k.startswith("grading job") or k.startswith("merge") or k.startswith("audit"),
                              k.startswith("  ")))
    print(f"\none submission ({args.student}, 8 notebooks), median of {args.rounds} rounds, seconds "
          f"(jailed: {stations['warm'].sandboxed})\n")
    print("| stage | cold kernels | warm kernels |\n| --- | ---: | ---: |")
    for key in order:
        cold = statistics.median(r.get(key, 0.0) for r in results["cold"])
        warm = statistics.median(r.get(key, 0.0) for r in results["warm"])
        print(f"| {key} | {cold:.2f} | {warm:.2f} |")
    warm = {key: statistics.median(r.get(key, 0.0) for r in results["warm"]) for key in order}
    whole = sum(warm[key] for key in order if key.startswith(("grading job", "merge", "audit")))
    in_kernels = warm["notebook cells"] + warm["hidden checks"]
    print(f"\nwarm kernels: grading, merge and audit {whole:.2f} s; the course's cells and checks as their kernels ran "
          f"them {in_kernels:.2f} s ({whole / in_kernels:.2f}x); the same cells alone in one process, no Jupyter "
          f"(the compute bound of benchmarks/autograde_speedup.py) {bound:.2f} s ({whole / bound:.2f}x)")


if __name__ == "__main__":
    main()
