"""The audit's untrusted half: runs in a jail, next to one submission's definitions only.

    python -I -m probes.runner WORKDIR

WORKDIR holds ``request.json`` ({"notebooks": [{"id", "name", "file",
"checks": [[unit, [object name, ...]], ...]}, ...]}: one name, or two for a
check such as ``check_trains_digits(train_epoch, evaluate)``), one ``<file>`` per notebook
(imports, classes and functions taken from that notebook by the trusted side;
each notebook gets its own namespace, as each had its own kernel) and
``inputs-<unit>.npz`` (the inputs the grader chose).  For each check it runs
the probe's ``run`` on the student's object (or objects) and writes its record once,
``record-<id>-<unit>.json``: {"outputs": {key: {"kind", "value"}}} or
{"error": message}.  ``current.json`` names the check under way ([name,
unit], null when all are done), so when this process is stopped the trusted
side knows which check hung.  Only numbers, nested lists, strings
and booleans leave the jail; the trusted side validates them and compares
with the reference.  The reference is not in the jail, so a student object
finds nothing to copy or patch, whatever it does here.
"""
import ast
import json
import os
import sys

import numpy as np

from . import UNITS
from .core import CheckFailure, run_probe

DEFINITIONS = "<definitions>"  # "current" while a notebook's definitions load
CURRENT = "current.json"


def record_file(notebook_id, unit_name):
    return f"record-{notebook_id}-{unit_name}.json"


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


def run_check(namespace, path, unit_name, object_names, workdir):
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
    with np.load(os.path.join(workdir, f"inputs-{unit_name}.npz"), allow_pickle=False) as data:
        inputs = {key: data[key] for key in data.files}
    try:
        outputs = run_probe(unit, objects[0] if unit.arity == 1 else tuple(objects), inputs)
    except CheckFailure as failure:
        return {"error": str(failure)}
    return {"outputs": {key: encode(value) for key, value in outputs.items()}}


def _write(name, data):
    """Atomically: a half-written file is never read."""
    with open(name + ".tmp", "w", encoding="utf-8") as f:
        f.write(json.dumps(data))  # dumps, not dump: only the former has the C encoder
    os.replace(name + ".tmp", name)


def main(workdir):
    os.chdir(workdir)
    sys.path.insert(0, workdir)  # the course's nn_helpers.py sits next to the definitions
    with open("request.json", encoding="utf-8") as f:
        request = json.load(f)
    for notebook in request["notebooks"]:
        name, path = notebook["name"], os.path.abspath(notebook["file"])
        _write(CURRENT, [name, DEFINITIONS])
        namespace, _ = load_definitions(path)
        for unit_name, object_names in notebook["checks"]:
            _write(CURRENT, [name, unit_name])
            try:
                record = run_check(namespace, path, unit_name, object_names, workdir)
            except Exception as exc:
                record = {"error": f"{type(exc).__name__}: {exc}"}
            _write(record_file(notebook["id"], unit_name), record)  # each once: partial results survive a hang
    _write(CURRENT, None)


if __name__ == "__main__":
    main(sys.argv[1])
