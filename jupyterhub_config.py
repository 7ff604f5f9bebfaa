"""JupyterHub for this course: `nncourse hub` (or `make hub`) starts JupyterHub with this file.

Everything is set by course.lab.hub.configure (PAM logins for the course's two Unix groups, a
JupyterLab per user started as that user, nbgrader's Assignments tab for students and the
formgrader for instructors).  Site changes go below it, e.g. another authenticator
(docs/real-course.md, "Logging in with OAuth or LTI").
"""
import os
from pathlib import Path

from course.lab.hub import ENV_COURSE, ENV_GROUPS, ENV_PYTHON, ENV_STATE, STATE, Groups, configure, course_options

c = get_config()  # noqa: F821 -- provided by traitlets when JupyterHub loads this file

course = Path(os.environ.get(ENV_COURSE, Path(__file__).resolve().parent))
configure(c, course, os.environ.get(ENV_STATE, STATE), Groups.of(course_options(course)[0], os.environ.get(ENV_GROUPS)),
          python=os.environ.get(ENV_PYTHON))
