"""The hidden tests are never weaker than the visible ones.

For every visible-test cell and every implementation of its unit in the suite's catalogue (the
mutants, the seed's code and the correct alternatives): if the visible cell fails on it, the unit's
hidden check fails on it too.  A student who ignores a red visible test cannot keep the points.
Each visible cell is failed by at least one implementation of the catalogue, so the rule is never
vacuous, and passed by the reference and every correct alternative.
"""
import pytest
from students import TOPIC
from test_checks_accept import ALTERNATIVES, _stand_in
from test_mutants import MUTANTS
from visible import run_visible, visible_cells

from solutions.checks import UNITS, CheckFailure, check

CELLS = visible_cells()


def _catalogue(unit):
    """(pytest id, implementation) of every single-object implementation of ``unit`` the suite has."""
    return [(case_id, impl) for u, impl, case_id, _ in MUTANTS + ALTERNATIVES if u == unit and UNITS[u].arity == 1]


def _hidden_fails(unit, impl):
    try:
        check(unit, impl)
    except CheckFailure:
        return True
    return False


CASES = [pytest.param(notebook, cell, unit, impl, id=f"{cell}-{case_id}", marks=getattr(pytest.mark, TOPIC[unit]))
         for notebook, cell, unit in CELLS for case_id, impl in _catalogue(unit)]


def test_every_visible_cell_is_found_with_its_unit():
    assert len(CELLS) >= 17, CELLS
    assert {unit for _, _, unit in CELLS} == {u for u in UNITS if UNITS[u].arity == 1}


@pytest.mark.parametrize(("notebook", "cell", "unit", "impl"), CASES)
def test_what_fails_a_visible_test_fails_the_hidden_check(notebook, cell, unit, impl):
    failure = run_visible(notebook, cell, unit, impl)
    if failure is not None:
        assert _hidden_fails(unit, impl), (
            f"{cell} fails ({type(failure).__name__}: {str(failure)[:200]}) but the hidden check {unit} passes")


@pytest.mark.parametrize(("notebook", "cell", "unit"), [pytest.param(*c, id=c[1]) for c in CELLS])
def test_every_visible_cell_is_failed_by_some_bug_and_passed_by_correct_code(notebook, cell, unit):
    reference = UNITS[unit].reference
    assert run_visible(notebook, cell, unit, _stand_in(reference)) is None, f"the reference fails {cell}"
    for u, impl, case_id, _ in ALTERNATIVES:
        if u == unit:
            failure = run_visible(notebook, cell, unit, impl)
            assert failure is None, f"correct {case_id} fails {cell}: {failure}"
    failing = [case_id for case_id, impl in _catalogue(unit) if run_visible(notebook, cell, unit, impl) is not None]
    assert failing, f"no implementation in the catalogue fails {cell}: the rule above would be vacuous for it"
