"""The grading engine: grade submissions on this machine or on Dask workers; the only writer of the gradebook.

``job`` grades one submission (plain data in, plain data out: ``Submission`` -> ``Outcome``), the one
definition every backend runs; ``child`` is nbgrader's Autograde converter in a forked job process;
``station`` is what a grading machine holds (job and kernel zygotes, slots, the template gradebook);
``local`` and ``dask_backend`` are the backends (``backend.Backend``); ``client.autograde`` decides what to
grade and writes each outcome down (``gradebook``, ``results``), the grade of record (``record``)
included; ``reaudit`` is `nncourse audit`; ``plugins`` are the preprocessors nbgrader_config.py gives
nbgrader's Autograde.  Importing this package loads nothing: import the module you need.
"""
