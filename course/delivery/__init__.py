"""Delivery: to and from students — the roster, and the ways an assignment reaches students and their
work comes back (nbgrader's exchange on JupyterHub, an LMS's archives), ending in ``submitted/``.

``roster`` reads the class list (id, names, email, LMS id) and puts it into the gradebook with nbgrader's
API.  ``exchange`` hardens nbgrader's file exchange (its own classes, subclassed); ``loop`` drives
nbgrader's release_assignment, collect and release_feedback through it.  ``handout`` zips the release as
students get it (`release --zip`); ``lms`` collects an LMS's download of all submissions (`collect --zip`),
safely, matching uploaders to the roster.  It sits beside reporting, above grading: it feeds the grader,
it never grades.
"""
