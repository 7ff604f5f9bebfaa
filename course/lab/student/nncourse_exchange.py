"""The students' side of the course's hardened nbgrader exchange: Submit with a private folder.

Stock nbgrader chmods each submission folder 0777 and its files 0644 "so the instructor can delete
them later", so a student who learns a folder's name can read or change another's work.  Here the
folder is the student's alone (0700, files 0600); the instructor collects as root
(course/delivery/exchange.py, docs/exchange.md).

Self-contained, like the Validate configuration beside it: nbgrader and the standard library only, so
a student's Python needs neither the course package nor the checkout (which holds the reference).
``nncourse hub`` copies this file into the students' Jupyter config folder and puts that folder on their
PYTHONPATH; the configuration names it ``c.ExchangeFactory.submit = "nncourse_exchange.PrivateSubmit"``.
"""
import os

from nbgrader.exchange.default import ExchangeSubmit


class PrivateSubmit(ExchangeSubmit):
    def copy_files(self):
        super().copy_files()
        self.set_perms(os.path.join(self.inbound_path, self.assignment_filename), fileperms=0o600, dirperms=0o700)
