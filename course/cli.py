"""nncourse: the instructor's command line for the course.

Each command drives nbgrader's own apps; this tool adds the build from
templates, parallel autograding, per-question export with a status per
notebook, the class report and the demo.  Run it from the course folder
(the checkout), or pass --course.  Commands only parse, call the library and
turn its exceptions into messages and exit codes (2: something to fix first).
"""
import argparse
import logging
import sys
import time
from pathlib import Path

from .settings import ROOT, CourseError, describe, load

log = logging.getLogger("course")


def cmd_release(args):
    """Rebuild source/ from the templates and regenerate release/ (registers the assignment); with --exchange
    (or c.Delivery.publish) also publish it to nbgrader's exchange, as root."""
    from .authoring.release import release

    target = release(args.course)
    print(f"{target.relative_to(args.course)} regenerated; the gradebook knows the assignment")
    if args.zip:
        from .delivery.handout import write_zip

        archive, digest = write_zip(args.course)
        print(f"{archive.relative_to(args.course)} written for students (SHA-256 {digest}, also in "
              f"{archive.name}.sha256)")
    if args.exchange or load(args.course).delivery.publish:
        from .delivery.loop import publish

        print(f"published to the exchange: {publish(args.course)}")
    return 0


def _collect_from_zip(args):
    """An LMS's "download all submissions" archive (Moodle or Canvas naming), uploaders matched to the roster;
    safe against hostile archives.  Running it again changes nothing; --force replaces what is there."""
    from .delivery.lms import collect_zip
    from .delivery.roster import import_roster, read_roster, roster_of

    if args.roster:
        people = read_roster(args.roster)
        done = import_roster(args.course, people)
        print(f"{len(people)} students in {args.roster.name}: {len(done.added)} added, {len(done.updated)} updated")
    done = collect_zip(args.course, args.zip, args.lms, roster_of(args.course), force=args.force)
    for student, files in done.written.items():
        print(f"{student}: {', '.join(files)}")
    for student, file in done.wrong_names:
        print(f"WRONG NAME  {student}: {file} is not a notebook of the assignment; autograde will report the "
              "notebook as missing, naming this file", file=sys.stderr)
    for student, file in done.packed:
        print(f"NOT UNPACKED {student}: {file} is an archive; it is kept as a file, and its notebooks are not "
              "collected: ask for the notebooks themselves", file=sys.stderr)
    for member, why in done.unmatched:
        print(f"UNMATCHED   {member}: {why}", file=sys.stderr)
    for member, why in done.problems:
        print(f"SKIPPED     {member}: {why}", file=sys.stderr)
    if done.kept:
        print(f"KEPT        {', '.join(done.kept)}: already collected and different from this archive; "
              "--force replaces them", file=sys.stderr)
    print(f"{len(done.written)} students collected into submitted/, {len(done.unchanged)} unchanged, "
          f"{len(done.kept)} kept; {len(done.unmatched)} files match no student, {len(done.problems)} skipped"
          + (". Grade again what changed: nncourse autograde --force --student ID" if args.force and done.written
             else ""))
    return 0


def cmd_collect(args):
    """Collect into submitted/<student>/nn_layers/: each student's latest submission from nbgrader's exchange
    (as root; late ones are named), or with --zip an LMS's download of all submissions.  Resumable: an
    unchanged submission is left alone."""
    if args.zip:
        return _collect_from_zip(args)
    from .delivery.loop import collect

    result = collect(args.course)
    for verb in ("IGNORED", "REFUSED"):
        for student, reason in sorted(result.of(verb).items()):
            print(f"{verb} {student}: {reason}", file=sys.stderr)
    for student, seconds in sorted(result.late.items()):
        print(f"LATE {student}: {seconds / 3600:.1f} h after the due date")
    print(f"{len(result.of('COLLECTED'))} collected, {len(result.of('UNCHANGED'))} unchanged, "
          f"{len(result.of('REFUSED'))} refused, {len(result.late)} late, "
          f"{len(result.of('IGNORED'))} folders ignored (not of the student they name)")
    return 1 if result.of("REFUSED") else 0


def cmd_autograde(args):
    """Grade submissions in parallel, and audit them out of the kernel; resumable (only notebooks without a
    result are graded unless --force).  Locally with --jobs, or on Dask workers with --scheduler."""
    from .grading.client import autograde
    from .grading.job import Limits
    from .grading.results import GRADED

    grading = load(args.course).grading
    start = time.perf_counter()
    limits = Limits(cell_timeout=args.cell_timeout or grading.cell_timeout,
                    job_timeout=args.job_timeout or grading.job_timeout, feedback=not args.no_feedback)
    results = autograde(args.course, students=args.student, notebooks=args.notebook, jobs=args.jobs or grading.jobs,
                        force=args.force, limits=limits, progress=not args.quiet, scheduler=args.scheduler,
                        warm_kernels=not args.cold_kernels, audit=not args.no_audit)
    bad = [r for r in results if r is not None and r.status != GRADED]
    print(f"{len(results)} notebooks in {time.perf_counter() - start:.0f} s; "
          f"{len(bad)} not graded: " + ("; ".join(f"{r.student}/{r.notebook}: {r.status} ({r.reason})"
                                                  for r in bad) or "none"))
    return 0


def cmd_feedback(args):
    """Generate feedback HTML with nbgrader and scan it: a page that shows a hidden test or reference code
    is withheld (moved to grading/feedback-withheld/), the others stay in feedback/; --release gives each
    student their pages through nbgrader's exchange (as root)."""
    from .reporting.feedback import write_feedback

    leaks, unwritten = write_feedback(args.course, args.jobs, args.student)
    for page, secret in leaks:
        print(f"WITHHELD {page.relative_to(args.course / 'feedback')}: shows {secret[:200]}", file=sys.stderr)
    for student in unwritten:
        print(f"NOT WRITTEN: nbgrader could not write the feedback of {student} (its log: grading/feedback.log)",
              file=sys.stderr)
    withheld = len({page for page, _ in leaks})
    print(f"feedback written to feedback/<student>/{load(args.course).assignment}/ and scanned: "
          + (f"{withheld} pages withheld in grading/feedback-withheld/, the rest show no hidden test or "
             "reference code" if withheld else "no hidden test or reference code shown"))
    if args.release:
        from .delivery.loop import release_feedback

        result = release_feedback(args.course, args.student)
        for student, reason in sorted(result.of("REFUSED").items()):
            print(f"NOT RELEASED {student}: {reason}", file=sys.stderr)
        print(f"feedback released to the exchange for {len(result.of('RELEASED'))} students")
        unwritten = unwritten or result.of("REFUSED")
    return 1 if unwritten else 0


def current_flags(course):
    """Scan the submissions as they are now (static, a second or two) and save the flags."""
    from .trust.cheatscan import save_flags, scan_course

    flags = scan_course(course, load(course).assignment)
    save_flags(course, flags)
    return flags


def cmd_scan(args):
    """Static cheat scan of every student code cell (never runs it); writes grading/flags.json."""
    from .trust.flags import HIGH

    flags = current_flags(args.course)
    for f in flags:
        print(f"{f['severity']:<4}  {f['student']}/{f['notebook']}  {f['cell']}:{f['line']}  {f['rule']}: {f['detail']}")
    high = sum(f["severity"] == HIGH for f in flags)
    submissions = len({(f["student"], f["notebook"]) for f in flags})
    print(f"{len(flags)} flags ({high} high) in {submissions} notebooks; saved to grading/flags.json. "
          "A flag is not a grade: look at the code and decide.")
    return 0


def cmd_audit(args):
    """Re-grade every graded notebook out of the kernel, in a jail without the reference; flag mismatches and
    write the grades of record (c.Audit.grade_of_record, the lower of both by default) into the gradebook."""
    from .grading.reaudit import audit_course
    from .trust.audit import audit_flags

    from .grading.results import read_all
    from .reporting.feedback import write_feedback

    before = {(r.student, r.notebook): r.cells for r in read_all(args.course)}
    results = audit_course(args.course, students=args.student, jobs=args.jobs, progress=not args.quiet)
    flags = audit_flags(results)
    for f in flags:
        print(f"MISMATCH  {f['student']}/{f['notebook']}  {f['cell']}: {f['detail']}")
    print(f"{len(results)} notebooks audited; {len(flags)} cells differ from nbgrader's grade")
    changed = sorted({r.student for r in results if before.get((r.student, r.notebook)) != r.cells})
    if changed:  # their feedback pages showed the old grades of record
        leaks, _ = write_feedback(args.course, args.jobs, changed)
        print(f"feedback rewritten for {len(changed)} students whose grades of record changed"
              + (f"; {len({p for p, _ in leaks})} pages withheld" if leaks else ""))
    return 0


def graded_results(course):
    """The status records (scores of record, nbgrader's and the audit's) and every flag."""
    from .grading.results import grading_flags, read_all
    from .trust.audit import audit_flags

    results = read_all(course)
    return results, current_flags(course) + audit_flags(results) + grading_flags(results)


def cmd_export(args):
    """Per-question grades: a row per student, a column per graded cell, a status and cheat-scan flags per notebook."""
    from .grading.results import assignment_structure
    from .reporting.export import write_csv

    if args.lms:
        return export_lms(args)
    output = args.output or args.course / "grades_per_question.csv"
    results, flags = graded_results(args.course)
    path = write_csv(output, results, assignment_structure(args.course), flags)
    print(f"per-question grades written to {path}")
    return 0


def export_lms(args):
    """export --lms: the grade of record per student in the LMS's import CSV; empty cells are named."""
    from .grading.results import assignment_structure, read_all
    from .reporting.export import write_table
    from .reporting.lms import gradebook_students, lms_rows

    settings = load(args.course)
    header, rows, empty = lms_rows(args.lms, gradebook_students(args.course), read_all(args.course),
                                   assignment_structure(args.course), settings.assignment, args.notebook,
                                   settings.export.lms_scale)
    path = write_table(args.output or args.course / f"grades_{args.lms}.csv", header, rows)
    print(f"{args.lms} grade import ({settings.export.lms_scale}) written to {path}")
    if empty:
        print(f"WARNING: {len(empty)} students get an empty cell, not 0 (their grade is not known):\n"
              + "\n".join(f"  {student}: {why}" for student, why in empty), file=sys.stderr)
    return 0


def cmd_report(args):
    """HTML class report with figures: score distributions, pass rate per test, submissions to check."""
    from .grading.results import assignment_structure
    from .reporting.report import write_report

    results, flags = graded_results(args.course)
    page = write_report(args.output or args.course / "report", results, assignment_structure(args.course), flags)
    print(f"report written to {page}")
    return 0


def cmd_demo(args):
    """The whole flow on a simulated class: release, submissions, parallel autograde, feedback, export, report."""
    from .demo.run import run_demo

    return run_demo(args.course, jobs=args.jobs)


def cmd_lab(args):
    """JupyterLab on the course: the instructor's view with the formgrader, or --student for a student's copy of the release."""
    from .lab.server import run

    return run(args.course, student=args.student, folder=args.folder, fresh=args.fresh, port=args.port)


def cmd_hub(args):
    """JupyterHub for the course on 127.0.0.1 (as root): students log in with their system accounts, fetch,
    validate and submit in the Assignments tab; instructors get the formgrader (docs/real-course.md)."""
    from .lab.hub import run

    return run(args.course, state=args.state, port=args.port, groups_spec=args.groups, python=args.users_python)


def cmd_roster(args):
    """The class list: `roster import roster.csv` adds the students (id, first_name, last_name, email and
    optionally lms_id) to the gradebook with nbgrader's API; importing the same file again changes nothing."""
    from .delivery.roster import create_accounts, import_roster, read_roster

    people = read_roster(args.file)
    if args.create_accounts:
        created = create_accounts(people, load(args.course).delivery.students_group)
        print(f"{len(created)} accounts created" + (f": {', '.join(created)} (set their passwords with chpasswd)"
                                                    if created else ""))
    done = import_roster(args.course, people)
    print(f"{len(people)} students in {args.file.name}: {len(done.added)} added, {len(done.updated)} updated, "
          f"{len(done.unchanged)} unchanged")
    return 0


def cmd_config(args):
    """The course's options in nbgrader_config.py (c.Grading, c.Audit): current values and help."""
    settings = load(args.course)
    print(f"course folder {settings.root}, course id {settings.course_id!r}, gradebook {settings.db_url}, "
          f"exchange {settings.exchange_root}\n")
    print(describe(settings))
    return 0


def parser():
    main = argparse.ArgumentParser(prog="nncourse", description=__doc__.split("\n")[0])
    main.add_argument("--course", type=Path, default=ROOT, help="course folder (default: this checkout)")
    main.add_argument("-v", "--verbose", action="count", default=0, help="say more (-vv: debugging detail)")
    sub = main.add_subparsers(dest="command", required=True)

    def add(name, func, **kwargs):
        command = sub.add_parser(name, help=func.__doc__, description=func.__doc__, **kwargs)
        command.set_defaults(func=func)
        return command

    release = add("release", cmd_release)
    release.add_argument("--zip", action="store_true",
                         help="also write <assignment>.zip (what students get) and its .sha256")
    release.add_argument("--exchange", action="store_true",
                         help="also publish to nbgrader's exchange (c.Exchange.root; as root)")
    collect = add("collect", cmd_collect)
    collect.add_argument("--zip", type=Path, metavar="ARCHIVE",
                         help="an LMS's download of all submissions instead of the exchange")
    collect.add_argument("--lms", choices=["moodle", "canvas"], default="moodle",
                         help="with --zip: its naming (default moodle)")
    collect.add_argument("--roster", type=Path, help="with --zip: roster.csv to import first (id,first_name,"
                                                     "last_name,email,lms_id); default: the students in the gradebook")
    collect.add_argument("--force", action="store_true", help="with --zip: replace submissions already collected")
    grade = add("autograde", cmd_autograde)
    grade.add_argument("--jobs", "-j", type=int, help="parallel workers (default c.Grading.jobs: 2)")
    grade.add_argument("--student", action="append", help="grade only this student (repeatable)")
    grade.add_argument("--notebook", action="append", help="grade only this notebook, e.g. 01_activations")
    grade.add_argument("--force", action="store_true", help="regrade notebooks that already have a result")
    grade.add_argument("--cell-timeout", type=int, help="seconds per cell (default c.Grading.cell_timeout: 120)")
    grade.add_argument("--job-timeout", type=int, help="seconds per notebook (default c.Grading.job_timeout: 600)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on Dask workers, e.g. tcp://10.0.0.5:8786 (see docs/scaling.md); default: this machine")
    grade.add_argument("--no-audit", action="store_true", help="skip the out-of-kernel audit (nncourse audit runs it later)")
    grade.add_argument("--no-feedback", action="store_true",
                       help="write no feedback pages while grading (nncourse feedback writes them later)")
    grade.add_argument("--cold-kernels", action="store_true",
                       help="start every kernel as a new Python process instead of forking it warm (slower)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    feedback = add("feedback", cmd_feedback)
    feedback.add_argument("--student", action="append", help="only this student (repeatable)")
    feedback.add_argument("--jobs", "-j", type=int, default=2, help="parallel nbgrader processes (default 2)")
    feedback.add_argument("--release", action="store_true", help="release it to the students through the exchange")
    add("scan", cmd_scan)
    audit = add("audit", cmd_audit)
    audit.add_argument("--jobs", "-j", type=int, default=2, help="parallel jails (default 2)")
    audit.add_argument("--student", action="append", help="audit only this student (repeatable)")
    audit.add_argument("--quiet", action="store_true", help="no progress bar")
    export = add("export", cmd_export)
    export.add_argument("--output", type=Path, help="CSV path (default: <course>/grades_per_question.csv, "
                                                    "or grades_<lms>.csv)")
    export.add_argument("--lms", choices=["moodle", "canvas"],
                        help="the grade of record per student in this LMS's grade-import CSV (c.Export.lms_scale)")
    export.add_argument("--notebook", action="append", help="with --lms: only these notebooks (repeatable)")
    report = add("report", cmd_report)
    report.add_argument("--output", type=Path, help="output folder (default: <course>/report)")
    demo = add("demo", cmd_demo)
    demo.add_argument("--jobs", "-j", type=int, default=2, help="parallel workers (default 2)")
    lab = add("lab", cmd_lab)
    lab.add_argument("--student", action="store_true", help="a student's view: a copy of release/nn_layers")
    lab.add_argument("--folder", type=Path, help="the student's folder (default: <course>/.cache/lab-student)")
    lab.add_argument("--fresh", action="store_true", help="replace the student's copy by a new one from release/")
    lab.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default 8888, or a free one)")
    hub = add("hub", cmd_hub)
    hub.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000, or a free one)")
    hub.add_argument("--groups", metavar="STUDENTS,INSTRUCTORS",
                     help="the Unix groups that may log in (default <course id>-students,<course id>-instructors)")
    hub.add_argument("--state", type=Path,
                     help="the hub's database, secret, log and users' config folders (default <checkout>/.cache/hub)")
    hub.add_argument("--users-python", type=Path, metavar="PYTHON",
                     help="the interpreter of the users' servers: a students' venv without the course "
                          "(default: this one; docs/real-course.md)")
    roster = add("roster", cmd_roster)
    roster.add_argument("action", choices=["import"], help="import: add the roster's students to the gradebook")
    roster.add_argument("file", type=Path, help="roster.csv: id,first_name,last_name,email[,lms_id]")
    roster.add_argument("--create-accounts", action="store_true",
                        help="also create the students' system accounts and group (as root)")
    add("config", cmd_config)
    return main


def _logging(verbosity):
    """The library logs to "course.*"; warnings always show, -v adds what it does, -vv the details."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s" if verbosity < 2 else "%(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.WARNING if not verbosity else logging.INFO if verbosity == 1 else logging.DEBUG)


def main(argv=None):
    from .authoring.apps import NbgraderFailed
    from .jail.sandbox import Unavailable

    args = parser().parse_args(argv)
    args.course = args.course.resolve()
    _logging(args.verbose)
    try:
        return args.func(args)
    except (CourseError, Unavailable, NbgraderFailed) as problem:
        print(f"nncourse {args.command}: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
