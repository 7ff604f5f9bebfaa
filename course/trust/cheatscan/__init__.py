"""Static cheat scan: read every student code cell with ``ast``, never run it.

``rules`` says what is suspicious, ``names`` what each name stands for, ``scan`` walks the cells.

What is scanned: every code cell of every ``submitted/<student>/<assignment>/*.ipynb``
except cells whose source is byte-identical to a code cell the course wrote (any
code cell of the release, or a non-solution cell of the source notebooks, i.e. the
hidden tests).  That rule ignores nbgrader metadata on purpose: a student can strip
or edit it, but cannot change a cell's text without it being scanned, and the
course's own code (``from nn_helpers import ...``) never flags.  Names bound in any
cell (``import numpy as np`` in the course's first cell) are known to every cell.

IPython syntax is turned into Python by IPython's own input transformer (what the
kernel runs), so ``%matplotlib inline`` parses, ``!cmd`` becomes a shell call that
is flagged, and the code inside ``%time``/``%%timeit``/``%%capture`` is scanned too.

A flag is a dict: student, notebook, cell (grade_id, cell id, or "cell N"), line
(in the cell), rule, severity ("high": a clear cheat or escape pattern; "low":
worth a look) and detail (why, with the offending line).  A flag is not a zero:
the instructor decides.  Rules:

  import-reference  the course's reference package ``solutions`` (or nbgrader, course)
  import-framework  torch, tensorflow, jax, autograd...: libraries that compute the answers
  monkeypatch       assigning/deleting attributes of modules, builtins or get_ipython();
                    rebinding builtin exceptions, ``__builtins__``... at top level
  sys-modules       sys.modules and the import machinery (sys.path: low)
  dynamic-import    importlib, __import__
  exec-eval         exec, eval, compile, %run, code objects
  file-access       open/os/shutil/pathlib with absolute, ~, .. or course-folder paths
                    (non-literal paths: low), the gradebook, %%writefile
  ctypes, os-exit, process, signal, network, frame-walk, ipython, magic,
  syntax-error (a cell that does not parse), unscannable (too deeply nested for the scan),
  unreadable (a notebook that is not JSON)

sklearn is not flagged: the course itself loads its digits data set with it.
"""
from ..flags import HIGH, LOW  # noqa: F401
from .scan import (AST_LOCK, code_cells, course_cells, load_flags, parse_cell, save_flags, scan_cells,  # noqa: F401
                   scan_course, scan_notebook)
