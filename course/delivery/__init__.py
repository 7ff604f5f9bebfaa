"""Delivery: to and from students — the roster, and the ways an assignment reaches students and their
work comes back (nbgrader's exchange on JupyterHub, an LMS's archives), ending in ``submitted/``.

``exchange`` hardens nbgrader's file exchange (its own classes, subclassed); ``loop`` drives nbgrader's
release_assignment, collect and release_feedback through it.  ``roster`` reads the class list (id, names,
email, LMS id) and puts it into the gradebook with nbgrader's API.  It sits beside reporting, above grading: it feeds the grader, it never grades.
"""
