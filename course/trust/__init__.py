"""Trust: what grading must not take on faith, as pure engines (plain data in, plain data out).

``cheatscan`` reads every student code cell statically (never runs it) and raises flags; ``audit``
grades the notebooks' definitions again out of the kernel, in a jail without the reference, and
compares with the same checks the hidden tests use; ``flags`` is the shape of a flag.  Neither writes
the gradebook: course.grading takes their results into the grade of record.
"""
