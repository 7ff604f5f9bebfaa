"""The simulated class and `make demo`.

``classroom`` builds submission folders from the real release (the reference, an untouched release,
the seed notebook's student, one-bug students, hostile and broken submissions) with what a correct
grader must report for each (``Expect``); the test suite uses the same class.  ``run`` is the demo:
release, the class, autograde and audit, feedback, export and report, and a table.
"""
