"""Authoring: the course's notebooks, from templates to what students get.

``templates/`` holds one percent-format script per notebook (theory, stubs, visible and hidden tests)
and the students' helper module; ``build`` turns them into ``source/nn_layers`` with the answers taken
from ``solutions/`` (one source of truth); ``release`` runs nbgrader's generate_assignment to make
``release/`` (the one release path, for `nncourse release` and `make notebooks`); ``apps`` runs
nbgrader's own command-line apps hermetically.  Below grading and trust: it knows nothing of them.
"""
