"""The per-question grade table: a row per student, a column per graded cell, a status per notebook.

Input is what the autograder records (``course.grading.results``): one ``NotebookResult`` per
(student, notebook) and the assignment structure ``{notebook: {grade_id: max_points}}``.  A notebook
that failed to grade, is missing, or has no record yet gets EMPTY score cells and total, never 0, so it
can never pass for an honest 0; the student's overall total is empty too then.
"""
import csv
from pathlib import Path

from ..grading.results import FAILED, GRADED, MANUAL, MISSING

NOT_GRADED = "not graded yet"  # no record for this (student, notebook) at all
# Worst last: the overall status of a student is the worst of their notebooks.
SEVERITY = {GRADED: 0, MANUAL: 1, NOT_GRADED: 2, FAILED: 3, MISSING: 4}
SCORED = (GRADED, MANUAL)  # statuses whose cell scores are real grades


def _layout(results, structure):
    """{notebook: {grade_id: max}}: the structure in order, plus anything only the results know."""
    layout = {nb: dict(cells) for nb, cells in structure.items()}
    for r in results:
        cells = layout.setdefault(r.notebook, {})
        for grade_id, (_, maximum) in r.cells.items():
            cells.setdefault(grade_id, maximum)
    return layout


def _num(x):
    """A score as int when whole (CSV shows 2, not 2.0), else float."""
    if x is None:
        return None
    x = float(x)
    return int(x) if x.is_integer() else x


def _fmt(x):
    return "" if x is None else f"{_num(x):g}"


def _index(results):
    index = {}
    for r in results:
        index[r.student, r.notebook] = r
    return index


def _students(results):
    return sorted({r.student for r in results})


def notebook_total(result):
    """Sum of the known cell scores, or None when the notebook has no real grade."""
    if result is None or result.status not in SCORED:
        return None
    return _num(sum(score for score, _ in result.cells.values() if score is not None))


def nbgrader_total(result):
    """nbgrader's own total for a graded notebook (before the audit's say), or None."""
    if result is None or result.status not in SCORED or not result.nbgrader:
        return None
    return _num(sum(score for score in result.nbgrader.values() if score is not None))


def status_of(result):
    return NOT_GRADED if result is None else result.status


def overall_status(statuses):
    """"graded" if every notebook is graded; else the worst status first, then every
    non-graded status with its notebooks, e.g. "failed to grade: 02_linear; missing: 08_training".

    ``statuses`` is {notebook: status}."""
    bad = {}
    for notebook, status in statuses.items():
        if status != GRADED:
            bad.setdefault(status, []).append(notebook)
    if not bad:
        return GRADED
    order = sorted(bad, key=lambda s: -SEVERITY.get(s, len(SEVERITY)))
    return "; ".join(f"{s}: {', '.join(bad[s])}" for s in order)


def flags_by_notebook(flags):
    """{(student, notebook): [flag, ...]} of cheat-scan flags (course.trust.cheatscan)."""
    grouped = {}
    for f in flags or ():
        grouped.setdefault((str(f.get("student", "")), str(f.get("notebook", ""))), []).append(f)
    return grouped


def flag_summary(flags):
    """Short text for a CSV cell: the rules in order of appearance, with a count when repeated."""
    counts = {}
    for f in flags:
        counts[f.get("rule", "")] = counts.get(f.get("rule", ""), 0) + 1
    return "; ".join(rule if n == 1 else f"{rule} x{n}" for rule, n in counts.items())


def per_question_rows(results, structure, flags=None):
    """(header, rows) of the per-question grade table, one row per student.

    Columns: student; per notebook ``<nb>/<grade_id>``..., ``<nb>/total`` (the grades of
    record), ``<nb>/nbgrader`` (nbgrader's own total), ``<nb>/status``, ``<nb>/reason`` (and
    ``<nb>/flags``, the cheat-scan and audit flags, when ``flags`` is given); then ``total``,
    ``max_total``, ``status``.  Scores are numbers, empty cells are "" (never 0)."""
    layout = _layout(results, structure)
    index = _index(results)
    flagged = flags_by_notebook(flags)
    extra = ["flags"] if flags is not None else []
    header = ["student"]
    for nb, cells in layout.items():
        header += [f"{nb}/{g}" for g in cells] + [f"{nb}/{c}" for c in ("total", "nbgrader", "status", "reason",
                                                                          *extra)]
    header += ["total", "max_total", "status"]
    max_total = _num(sum(m for cells in layout.values() for m in cells.values()))

    rows = []
    for student in _students(results):
        row, totals, statuses = [student], [], {}
        for nb, cells in layout.items():
            r = index.get((student, nb))
            status, total = status_of(r), notebook_total(r)
            for g in cells:
                score = r.cells.get(g, (None, None))[0] if total is not None else None
                row.append("" if score is None else _num(score))
            own = nbgrader_total(r)
            row += ["" if total is None else total, "" if own is None else own, status, r.reason if r else ""]
            row += [flag_summary(flagged.get((student, nb), []))] if extra else []
            totals.append(total)
            statuses[nb] = status
        complete = all(t is not None for t in totals)
        row += [_num(sum(totals)) if complete else "", max_total, overall_status(statuses)]
        rows.append(row)
    return header, rows


def _csv_safe(value):
    """Numbers as 2 / 1.5; text that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, (int, float)):
        return f"{value:g}"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(path, results, structure, flags=None):
    return write_table(path, *per_question_rows(results, structure, flags))


def write_table(path, header, rows):
    """A CSV of ``header`` and ``rows``, each cell neutralised against spreadsheet formulas."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([_csv_safe(v) for v in row] for row in rows)
    return path


def pass_rates(results, structure):
    """Per graded cell: (notebook, grade_id, full_marks, graded_students), lowest pass rate first.

    Only notebooks with status "graded" count; a cell nobody has been graded on yet
    (graded_students == 0) sorts last."""
    layout = _layout(results, structure)
    rates = []
    for nb, cells in layout.items():
        graded = [r for r in results if r.notebook == nb and r.status == GRADED]
        for g, maximum in cells.items():
            scores = [r.cells.get(g, (None, maximum))[0] for r in graded]
            full = sum(1 for s in scores if s is not None and s >= maximum - 1e-9)
            rates.append((nb, g, full, len(graded)))
    order = {(nb, g): i for i, (nb, g, _, _) in enumerate(rates)}
    return sorted(rates, key=lambda t: (t[3] == 0, t[2] / t[3] if t[3] else 0, order[t[0], t[1]]))


