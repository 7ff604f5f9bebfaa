"""The checks' verdicts must not hinge on one lucky seed: replay the whole
catalogue (alternatives and mutants) under other input seeds."""
import contextlib
import io

import pytest
from test_checks_accept import ALTERNATIVES
from test_mutants import MUTANTS

from solutions.checks import UNITS, CheckFailure, grade

SEEDS = range(1, 6)


def accepted(unit, impl, seed):
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            grade(UNITS[unit], impl, seed=seed)
    except CheckFailure:
        return False
    return True


@pytest.mark.parametrize("seed", SEEDS)
def test_verdicts_hold_for_other_seeds(seed):
    wrongly_rejected = [cid for unit, impl, cid, reason in ALTERNATIVES
                        if reason is None and not accepted(unit, impl, seed)]
    wrongly_accepted = [cid for unit, impl, cid, reason in MUTANTS
                        if reason is None and accepted(unit, impl, seed)]
    assert not wrongly_rejected and not wrongly_accepted, (
        f"seed {seed}: rejected correct {wrongly_rejected}, accepted buggy {wrongly_accepted}")
