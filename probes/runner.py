"""The audit's untrusted half: runs in a jail, next to one submission's definitions only.

    python -P -m probes.runner INPUTS

INPUTS is a read-only folder holding ``request.json`` ({"notebooks": [{"id",
"name", "file", "checks": [[unit, [object name, ...]], ...]}, ...]}: one name,
or two for a check such as ``check_trains_digits(train_epoch, evaluate)``),
one ``<file>`` per notebook (imports, classes and functions taken from that
notebook by the trusted side; each notebook gets its own namespace, as each had
its own kernel), ``inputs-<unit>.npz`` (the inputs the grader chose) and the
course's ``nn_helpers.py``.  The working folder is the jail's own scratch space.

The results go to what was this process's stdout, one JSON line each (student
code that prints goes to /dev/null instead): {"at": [name, step]} when a step
begins (``DEFINITIONS`` while a notebook's definitions load, then each unit),
so when this process is stopped the trusted side knows which step hung, and
{"record": [name, unit], "result": ...} once per check, where the result is
{"outputs": {key: {"kind", "value"}}} or {"error": message}.  Only numbers,
nested lists, strings and booleans leave the jail; the trusted side validates
them and compares with the reference.  The reference is not in the jail, so a
student object finds nothing to copy or patch, whatever it does here.
"""
import ast
import json
import os
import sys

import numpy as np

from . import UNITS
from .core import CheckFailure, run_probe

DEFINITIONS = "<definitions>"  # the step while a notebook's definitions load


def load_definitions(path):
    """Execute a definitions file statement by statement; a failing import or definition is skipped."""
    namespace = {"__name__": "student", "__file__": path}
    with open(path, encoding="utf-8") as f:
        source = f.read()
    failures = []
    for node in ast.parse(source).body:
        code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
        try:
            exec(code, namespace)
        except Exception as exc:  # e.g. importing the reference, which is not here
            failures.append(f"line {node.lineno}: {type(exc).__name__}: {exc}")
    return namespace, failures


def own_code(obj, path):
    """Every function the object (and its bases, but the helper's) defines comes from the notebook's file."""
    owners = obj.__mro__ if isinstance(obj, type) else (obj,)
    for owner in owners:
        if owner is object or getattr(owner, "__module__", "") == "nn_helpers":
            continue
        members = vars(owner).values() if isinstance(owner, type) else (owner,)
        for member in members:
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None and os.path.abspath(code.co_filename) != path:
                return False
    return True


def encode(value):
    """Plain data only: numbers, nested lists of numbers, strings, booleans."""
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, str):
        return {"kind": "str", "value": value[:10_000]}
    if isinstance(value, (int, np.integer)):
        return {"kind": "int", "value": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"kind": "float", "value": float(value)}
    array = np.asarray(value, dtype=np.float64)
    return {"kind": "array", "shape": list(array.shape), "value": array.ravel().tolist()}


def run_check(namespace, path, unit_name, object_names, inputs):
    unit = UNITS[unit_name]
    if type(object_names) is not list or len(object_names) != unit.arity:
        return {"error": f"the check takes {unit.arity} object(s), the request names {object_names!r}"}
    objects = []
    for object_name in object_names:
        obj = namespace.get(object_name)
        if obj is None:
            return {"error": f"{object_name} is not defined by the notebook's imports, classes and functions"}
        if not own_code(obj, path):
            return {"error": f"{object_name} is not defined in the notebook (imported, aliased or inherited code)"}
        objects.append(obj)
    with np.load(os.path.join(inputs, f"inputs-{unit_name}.npz"), allow_pickle=False) as data:
        inputs = {key: data[key] for key in data.files}
    try:
        outputs = run_probe(unit, objects[0] if unit.arity == 1 else tuple(objects), inputs)
    except CheckFailure as failure:
        return {"error": str(failure)}
    return {"outputs": {key: encode(value) for key, value in outputs.items()}}


class Results:
    """The channel to the trusted side: this process's stdout, taken before any student code runs."""

    def __init__(self):
        self.fd = os.dup(1)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.close(quiet)
        sys.stdout = open(1, "w", closefd=False)

    def send(self, message):
        data = (json.dumps(message) + "\n").encode()  # dumps, not dump: only the former has the C encoder
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]


def main(inputs):
    results = Results()
    sys.path.insert(0, inputs)  # the course's nn_helpers.py sits next to the definitions
    with open(os.path.join(inputs, "request.json"), encoding="utf-8") as f:
        request = json.load(f)
    for notebook in request["notebooks"]:
        name, path = notebook["name"], os.path.join(inputs, notebook["file"])
        results.send({"at": [name, DEFINITIONS]})
        namespace, _ = load_definitions(path)
        for unit_name, object_names in notebook["checks"]:
            results.send({"at": [name, unit_name]})
            try:
                record = run_check(namespace, path, unit_name, object_names, inputs)
            except Exception as exc:
                record = {"error": f"{type(exc).__name__}: {exc}"}
            results.send({"record": [name, unit_name], "result": record})  # each at once: partial results survive a hang


if __name__ == "__main__":
    main(sys.argv[1])
