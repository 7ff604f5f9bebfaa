"""The grading engine: grade submissions on this machine or on Dask workers; only the client writes.

* ``job``: grade one submission (plain data in, plain data out) — the one definition every backend runs;
* ``child``: nbgrader's Autograde converter in a forked job process;
* ``station``: what a grading machine holds (job and kernel zygotes, slots, the template gradebook);
* ``local``, ``dask_backend``: where the jobs run;
* ``client``: ``autograde``, which decides what to grade and writes the results (``gradebook``, ``results``).
"""
from .client import autograde  # noqa: F401
from .job import COURSE_ID, Limits  # noqa: F401
