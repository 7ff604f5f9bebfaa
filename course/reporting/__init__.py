"""Reporting: what comes out of grading for the instructor and the students.

``export`` is the per-question table (CSV, a status per notebook, never a 0 for a failure),
``report`` the HTML class report with figures, ``feedback`` nbgrader's feedback pages with the leak
scan, and ``plugins`` the preprocessors nbgrader_config.py gives nbgrader's GenerateFeedback.  It reads
the grading records; it never grades.
"""
