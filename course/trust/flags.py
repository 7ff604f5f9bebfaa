"""A flag: something an instructor should look at, from the cheat scan, the audit or the grader.

A flag is a dict (it goes into grading/flags.json, the CSV and the report as is): student, notebook,
cell (grade_id, cell id or "cell N"), line (in the cell, or ""), rule, severity and detail.  A flag is
not a grade: the instructor decides.
"""
HIGH, LOW = "high", "low"  # a clear cheat or escape pattern; worth a look


def flag(student, notebook, cell, line, rule, severity, detail):
    return {"student": student, "notebook": notebook, "cell": cell, "line": line, "rule": rule,
            "severity": severity, "detail": detail}
