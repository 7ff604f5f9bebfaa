"""The audit's untrusted half: runs in a jail, next to the student's definitions only.

    python -I -m probes.runner WORKDIR

WORKDIR holds ``student.py`` (imports, classes and functions taken from one
notebook by the trusted side), ``request.json`` ({"checks": [[unit, object
name], ...]}) and ``inputs-<unit>.npz`` (the inputs the grader chose).  For
each check it runs the probe's ``run`` on the student's object and writes
``outputs.json``: per unit either {"outputs": {key: {"kind", "value"}}} or
{"error": message}.  Only numbers, nested lists, strings and booleans leave
the jail; the trusted side validates them and compares with the reference.
The reference is not in the jail, so a student object finds nothing to copy
or patch, whatever it does here.
"""
import ast
import json
import os
import sys

import numpy as np

from . import UNITS
from .core import CheckFailure, run_probe

STUDENT_FILE = "student.py"


def load_definitions(path):
    """Execute student.py statement by statement; a failing import or definition is skipped."""
    namespace = {"__name__": "student", "__file__": path}
    source = open(path, encoding="utf-8").read()
    failures = []
    for node in ast.parse(source).body:
        code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
        try:
            exec(code, namespace)
        except Exception as exc:  # e.g. importing the reference, which is not here
            failures.append(f"line {node.lineno}: {type(exc).__name__}: {exc}")
    return namespace, failures


def own_code(obj, path):
    """Every function the object (and its bases, but the helper's) defines comes from student.py."""
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


def run_check(namespace, path, unit_name, object_name, workdir):
    unit = UNITS[unit_name]
    obj = namespace.get(object_name)
    if obj is None:
        return {"error": f"{object_name} is not defined by the notebook's imports, classes and functions"}
    if not own_code(obj, path):
        return {"error": f"{object_name} is not defined in the notebook (imported, aliased or inherited code)"}
    with np.load(os.path.join(workdir, f"inputs-{unit_name}.npz"), allow_pickle=False) as data:
        inputs = {key: data[key] for key in data.files}
    try:
        outputs = run_probe(unit, obj, inputs)
    except CheckFailure as failure:
        return {"error": str(failure)}
    return {"outputs": {key: encode(value) for key, value in outputs.items()}}


def main(workdir):
    os.chdir(workdir)
    sys.path.insert(0, workdir)  # the course's nn_helpers.py sits next to student.py
    path = os.path.abspath(STUDENT_FILE)
    namespace, failures = load_definitions(path)
    request = json.load(open("request.json", encoding="utf-8"))
    results = {"definition_errors": failures, "checks": {}}
    for unit_name, object_name in request["checks"]:
        try:
            results["checks"][unit_name] = run_check(namespace, path, unit_name, object_name, workdir)
        except Exception as exc:
            results["checks"][unit_name] = {"error": f"{type(exc).__name__}: {exc}"}
        with open("outputs.json.tmp", "w", encoding="utf-8") as f:  # partial results survive a later hang
            json.dump(results, f)
        os.replace("outputs.json.tmp", "outputs.json")


if __name__ == "__main__":
    main(sys.argv[1])
