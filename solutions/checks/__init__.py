"""Grading checks: one per gradable unit, each a line in a hidden test cell.

    from solutions.checks import check_relu
    check_relu(ReLU)

(``check_trains_digits(train_epoch, evaluate)`` takes two objects.)

A check raises AssertionError (``CheckFailure``) with a short Russian message
when the student's object disagrees with the reference.
"""
import sys as _sys

# Reference modules already loaded when the hidden tests first import the checks
# were imported by student code (the checks load them themselves, below).
EARLY_IMPORTS = sorted(name for name in _sys.modules
                       if name.split(".")[0] == "solutions" and name not in ("solutions", "solutions.checks"))

import dataclasses  # noqa: E402
import importlib  # noqa: E402

import numpy as np  # noqa: E402

import probes  # noqa: E402
from probes.core import SEED, CheckFailure, run_probe  # noqa: E402

from . import guards  # noqa: E402


def _reference(name):
    """The reference object named e.g. "activations.ReLU"."""
    module, attribute = name.split(".")
    return getattr(importlib.import_module(f"solutions.{module}"), attribute)


def _bind(unit):
    """A probe with its reference object (or objects) in place of the reference's name (or names)."""
    reference = unit.reference
    return dataclasses.replace(unit, reference=tuple(map(_reference, reference)) if isinstance(reference, tuple)
                               else _reference(reference))


UNITS = {name: _bind(unit) for name, unit in probes.UNITS.items()}


def _graded(unit, student):
    """[(title, student's object, reference object)]: one pair, or one per object a check takes."""
    if unit.arity == 1:
        return [(unit.title, student, unit.reference)]
    if not isinstance(student, tuple) or len(student) != unit.arity:
        raise CheckFailure(f"{unit.title}: проверке нужны {unit.arity} объекта")
    return [(reference.__name__, obj, reference) for obj, reference in zip(student, unit.reference)]


def grade(unit, student, seed=SEED):
    """Run ``unit`` on the student's object (a tuple of objects if it takes several) and on the reference;
    compare."""
    graded = _graded(unit, student)
    for title, obj, _ in graded:
        if obj is None:
            raise CheckFailure(f"{title}: объект не найден (None)")
    for title, obj, reference in graded:
        guards.verify_kernel(title, obj, reference, EARLY_IMPORTS)
    inputs = unit.make_inputs(np.random.default_rng(seed))
    got = run_probe(unit, student, inputs, seed)
    want = run_probe(unit, unit.reference, inputs, seed)
    unit.compare(inputs, got, want)
    print(f"✓ {unit.title}: все проверки пройдены")


def check(name, student):
    """Grade ``student`` (a class or function) as unit ``name`` of ``UNITS``."""
    grade(UNITS[name], student)


def check_relu(cls):
    check("relu", cls)


def check_sigmoid(cls):
    check("sigmoid", cls)


def check_tanh(cls):
    check("tanh", cls)


def check_linear(cls):
    check("linear", cls)


def check_sequential(cls):
    check("sequential", cls)


def check_dropout(cls):
    check("dropout", cls)


def check_batchnorm(cls):
    check("batchnorm", cls)


def check_sgd(cls):
    check("sgd", cls)


def check_adam(cls):
    check("adam", cls)


def check_softmax(fn):
    check("softmax", fn)


def check_one_hot_encode(fn):
    check("one_hot_encode", fn)


def check_cross_entropy(cls):
    check("cross_entropy", cls)


def check_mse(cls):
    check("mse", cls)


def check_dataloader(cls):
    check("dataloader", cls)


def check_train_epoch(fn):
    check("train_epoch", fn)


def check_evaluate(fn):
    check("evaluate", fn)


def check_trains_digits(train_epoch, evaluate):
    """The student's train_epoch trains a small network on digits; the student's evaluate measures it."""
    check("trains_digits", (train_epoch, evaluate))


__all__ = ["UNITS", "CheckFailure", "check", "grade"] + [f"check_{name}" for name in UNITS]
