"""`nncourse export --lms moodle|canvas`: the grade of record per student, in the CSV each LMS's grade import reads.

* Moodle ("Import grades from CSV"): ``First name, Last name, ID number, Email address`` and one column for
  the assignment; map "ID number" (the roster's ``lms_id``) or "Email address" to the user on import.
* Canvas (Gradebook > Import): ``Student, ID, SIS User ID, SIS Login ID, Section``, one column for the
  assignment, and the "Points Possible" row Canvas writes in its own export.  ``ID`` is the roster's
  ``lms_id`` (Canvas's user id, the number in its download's file names), ``SIS Login ID`` the course id.

The grade is the sum of the grades of record over the notebooks (all, or those of ``--notebook``), in points
or as a percent of their maximum (``c.Export.lms_scale``).  A student gets a number only when every one of
those notebooks is graded; otherwise the cell is EMPTY, never 0, and ``lms_rows`` says why, for the warning.
"""

from ..grading.results import GRADED
from .export import _num, notebook_total, overall_status, status_of

LMS = ("moodle", "canvas")


def gradebook_students(course):
    """[{id, first_name, last_name, email, lms_id}] of nbgrader's gradebook (`nncourse roster import` fills it)."""
    from ..grading.gradebook import open_gradebook

    with open_gradebook(course) as gb:
        return [{"id": s.id, "first_name": s.first_name or "", "last_name": s.last_name or "",
                 "email": s.email or "", "lms_id": s.lms_user_id or ""} for s in gb.students]


def grade(student, notebooks, index):
    """(points of record, None) when every notebook is graded, else (None, why)."""
    results = {nb: index.get((student, nb)) for nb in notebooks}
    if not any(results.values()):
        return None, "nothing collected or graded"
    if all(r is not None and r.status == GRADED for r in results.values()):
        return _num(sum(notebook_total(r) for r in results.values())), None
    why = overall_status({nb: status_of(r) for nb, r in results.items()})
    reasons = [f"{nb}: {r.reason}" for nb, r in results.items() if r is not None and r.status != GRADED and r.reason]
    return None, why + (f" ({'; '.join(reasons)})" if reasons else "")


def lms_rows(lms, people, results, structure, assignment, notebooks=None, scale="points"):
    """(header, rows, [(student, why its cell is empty)]) of ``lms``'s grade import."""
    notebooks = list(notebooks or structure)
    unknown = [nb for nb in notebooks if nb not in structure]
    if unknown:
        from ..settings import CourseError
        raise CourseError(f"no notebook {', '.join(unknown)} in the assignment (one of {', '.join(structure)})")
    maximum = _num(sum(sum(structure[nb].values()) for nb in notebooks))
    title = assignment if notebooks == list(structure) else f"{assignment}: {', '.join(notebooks)}"
    index = {(r.student, r.notebook): r for r in results}
    known = {p["id"] for p in people}
    people = sorted(people, key=lambda p: p["id"]) + [
        {"id": s, "first_name": "", "last_name": "", "email": "", "lms_id": ""}
        for s in sorted({r.student for r in results} - known)]
    rows, empty = [], []
    for person in people:
        points, why = grade(person["id"], notebooks, index)
        if points is None:
            empty.append((person["id"], why))
            value = ""
        else:
            value = points if scale == "points" else round(100 * points / maximum, 2) if maximum else ""
        if lms == "moodle":
            rows.append([person["first_name"], person["last_name"], person["lms_id"], person["email"], value])
        else:
            sortable = ", ".join(n for n in (person["last_name"], person["first_name"]) if n) or person["id"]
            rows.append([sortable, person["lms_id"], "", person["id"], "", value])
    if lms == "moodle":
        header = ["First name", "Last name", "ID number", "Email address",
                  f"Assignment: {title} ({'Real' if scale == 'points' else 'Percentage'})"]
    else:
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title]
        rows.insert(0, ["Points Possible", "", "", "", "", maximum if scale == "points" else 100])
    return header, rows, empty


