"""`nncourse audit`: audit every graded submission again, out of the kernel, and write the grades of record.

The audit itself is ``course.trust.audit`` (plain data in and out); this module reads the status records,
runs it one jail per submission, ``jobs`` at a time, and writes what it found: the audit into the status
records and the grades of record (``course.grading.record``) into them and into the gradebook.  A
trusted-side failure fails that student's notebooks with the reason; the others go on.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..authoring.apps import grading_env
from ..jail import safefiles, sandbox, zygote
from ..jail.slots import acquire_slot
from ..settings import blas_threads, load
from ..trust.audit import audit_submission
from .gradebook import apply_grade_of_record
from .results import FAILED, MISSING, read_all, write_result


def audit_course(root, students=None, jobs=2, progress=True, timeout=None):
    """Audit every graded submission (one jail per submission, ``jobs`` at a time, warm when root);
    store the audit in the status records and the grades of record (course.grading.record) in them and in
    the gradebook; return the records."""
    from tqdm import tqdm

    root = Path(root)
    assignment = load(root).assignment
    timeout = timeout or load(root).grading.cell_timeout  # each step of the audit, as in autograde
    sandbox.available()  # warns, or refuses under NNCOURSE_SANDBOX=require
    results = [r for r in read_all(root) if r.status not in (FAILED, MISSING)
               and (not students or r.student in students)]
    by_student = {}
    for result in results:
        by_student.setdefault(result.student, []).append(result)
    helper = root / "source" / assignment / "nn_helpers.py"
    threads = blas_threads(jobs)
    warm = zygote.start_kernel_zygote(grading_env(root / "grading" / ".home", threads)) \
        if sandbox.available() else None
    bar = tqdm(total=len(results), desc="audit", unit="notebook", disable=not progress)

    def one(student_results):
        student = student_results[0].student
        notebooks = _submitted(root / "submitted" / student / assignment, [r.notebook for r in student_results])
        with acquire_slot() as slot:
            audits = audit_submission(notebooks,
                                      root / "source" / assignment, helper, slot.number, timeout,
                                      warm.socket if warm else None, threads)
        for result in student_results:
            result.audit = audits[result.notebook].record()
        apply_grade_of_record(root, student_results)
        bar.update(len(student_results))
        return student_results

    def guarded(student_results):
        try:
            return one(student_results)
        except Exception as exc:  # noqa: BLE001 -- the trusted side's own failure: this student alone
            bar.update(len(student_results))
            return audit_failed(root, student_results, f"{type(exc).__name__}: {exc}")

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            done = [r for batch in pool.map(guarded, by_student.values()) for r in batch]
    finally:
        bar.close()
        if warm is not None:
            warm.stop()
    return done


def _submitted(folder, notebooks):
    """{notebook: bytes} of a submission folder, never through a link (b"" for what cannot be read:
    the audit then finds the notebook unreadable)."""
    found = {}
    try:
        fd = safefiles.open_dir(str(folder))
    except (OSError, safefiles.Refused):
        return dict.fromkeys(notebooks, b"")
    try:
        for notebook in notebooks:
            try:
                found[notebook] = safefiles.read_file(f"{notebook}.ipynb", fd)
            except (OSError, safefiles.Refused):
                found[notebook] = b""
    finally:
        os.close(fd)
    return found


def audit_failed(root, results, why):
    """A submission whose audit broke on the trusted side: its notebooks fail to grade, with the reason
    (never an honest-looking score), and the batch goes on."""
    for result in results:
        result.status, result.reason = FAILED, f"the audit failed: {why}"[:600]
        write_result(root, result)
    return results
