"""The grade of record: what a graded cell is worth when two graders looked at it (gradebook.py writes it).

nbgrader grades in the student's kernel; the audit (``course.trust.audit``)
grades the same definitions out of it, where no student code can reach the
checks.  ``c.Audit.grade_of_record`` in nbgrader_config.py chooses what counts:

* ``"min"`` (default): the lower of the two, so a point stands only where both
  graders agree it was earned (an in-kernel cheat gets nbgrader's points and the
  audit's 0; a notebook whose early cell hangs gets the audit's points and
  nbgrader's 0);
* ``"nbgrader"`` or ``"audit"``: that grader's score alone.

A cell the audit did not score (no audit yet, or it could not run) counts
nbgrader's score.  The grading client writes the grade of record into the
gradebook itself, so the formgrader, ``nbgrader export`` and the CSV agree.
"""
from ..settings import load


def policy(root):
    """``c.Audit.grade_of_record`` of the course at ``root`` (course.settings.Audit)."""
    return load(root).audit.grade_of_record


def combine(choice, nbgrader_score, audit_score):
    """One cell's score of record."""
    if audit_score is None or nbgrader_score is None or choice == "nbgrader":
        return nbgrader_score
    if choice == "audit":
        return audit_score
    return min(nbgrader_score, audit_score)


def of_record(choice, nbgrader_scores, audit):
    """{grade_id: score of record} from nbgrader's {grade_id: score} and an audit record ({"cells": ...})."""
    audited = (audit or {}).get("cells") or {}
    return {gid: combine(choice, score, audited.get(gid)) for gid, score in nbgrader_scores.items()}
