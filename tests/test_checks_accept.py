"""The grading checks accept correct code: the reference, and correct student code written differently.

``check`` refuses the reference object itself, so the reference is graded through
a trivial subclass (classes) or a pass-through wrapper (functions).  The
alternatives live in ``tests/students`` and are standalone notebook-style code.
A correct alternative the checks reject stays listed, marked xfail(strict=True)
with the reason, so that fixing the check turns it into an XPASS to clean up.
"""
import inspect
import re
import sys

import numpy as np
import pytest
from students import TOPIC, correct, seed

from solutions.checks import UNITS, check

# (unit, implementation, pytest id, xfail reason or None)
ALTERNATIVES = [
    ("relu", correct.ReLUMultiplyMask, "relu-x-times-mask", None),
    ("relu", seed.SeedReLU, "seed-relu-copy-and-zero", None),
    ("sigmoid", correct.SigmoidViaTanh, "sigmoid-via-tanh", None),
    ("tanh", correct.TanhViaSigmoid, "tanh-via-stable-sigmoid", None),
    ("linear", correct.LinearEinsum, "linear-einsum-broadcast-bias", None),
    ("sequential", correct.SequentialReduce, "sequential-functools-reduce", None),
    ("dropout", correct.DropoutBinomial, "dropout-binomial-bool-mask", None),
    ("dropout", seed.SeedDropout, "seed-dropout-float32-mask", None),
    ("batchnorm", correct.BatchNormCompact, "batchnorm-compact-backward", None),
    ("batchnorm", seed.SeedBatchNormFixed, "seed-batchnorm-formula-fixed", None),
    ("sgd", correct.SGDById, "sgd-velocity-dict-by-id", None),
    ("adam", correct.AdamEpsHat, "adam-eps-hat", None),
    ("softmax", correct.softmax_logsumexp, "softmax-logsumexp", None),
    ("softmax", seed.seed_softmax, "seed-softmax", None),
    ("one_hot_encode", correct.one_hot_eye, "one-hot-eye-rows", None),
    ("cross_entropy", correct.CrossEntropyLogSoftmax, "cross-entropy-log-softmax", None),
    ("mse", correct.MSEDot, "mse-dot-product", None),
    ("dataloader", correct.DataLoaderWithIterator, "dataloader-separate-iterator", None),
    ("train_epoch", correct.train_epoch_weighted, "train-epoch-size-weighted-mean", None),
    ("evaluate", correct.evaluate_collect, "evaluate-collect-then-score", None),
    # The loss train_epoch returns is only required to be finite here: a plain mean of batch means passes.
    ("trains_digits", (correct.train_epoch_unweighted, correct.evaluate_collect), "digits-unweighted-and-collect",
     None),
]


def _marks(unit, reason=None):
    marks = [getattr(pytest.mark, TOPIC[unit])]
    if reason:
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    return marks


def _stand_in(reference):
    """The reference as a student would hand it in: its module's source run again as new code.

    A new object, neither the reference nor a subclass nor code of the package,
    so the checks' guards treat it as the student's own."""
    module = sys.modules[reference.__module__]
    source = re.sub(r"^from \.(\w*) import", lambda m: f"from solutions.{m.group(1)} import".replace(". ", " "),
                    inspect.getsource(module), flags=re.M)
    namespace = {"__name__": f"student_copy_of_{module.__name__}"}
    exec(compile(source, f"<student copy of {module.__name__}>", "exec"), namespace)
    return namespace[reference.__name__]


@pytest.mark.parametrize("unit", [pytest.param(unit, marks=_marks(unit), id=f"reference-{unit}") for unit in UNITS])
def test_check_accepts_reference(unit):
    reference = UNITS[unit].reference
    check(unit, tuple(map(_stand_in, reference)) if UNITS[unit].arity > 1 else _stand_in(reference))


@pytest.mark.parametrize(("unit", "impl"), [
    pytest.param(unit, impl, marks=_marks(unit, reason), id=case_id) for unit, impl, case_id, reason in ALTERNATIVES
])
def test_check_accepts_alternative(unit, impl):
    check(unit, impl)


def test_alternatives_are_standalone_and_cover_every_unit():
    assert set(TOPIC) == set(UNITS)
    assert {unit for unit, *_ in ALTERNATIVES} == set(UNITS)
    ids = [case_id for _, _, case_id, _ in ALTERNATIVES]
    assert len(ids) == len(set(ids))
    for unit, impl, case_id, _ in ALTERNATIVES:
        pairs = zip(impl, UNITS[unit].reference) if UNITS[unit].arity > 1 else [(impl, UNITS[unit].reference)]
        for obj, reference in pairs:
            assert obj is not reference, case_id
            assert not (isinstance(obj, type) and issubclass(obj, reference)), f"{case_id} subclasses the reference"


def test_the_training_check_reads_scikit_learns_digits():
    """The end-to-end check reads the digits file directly (importing scikit-learn costs a second)."""
    from sklearn.datasets import load_digits

    from probes.training import digits

    X, y = digits()
    expected = load_digits()
    assert np.array_equal(X, expected.data) and np.array_equal(y, expected.target)
