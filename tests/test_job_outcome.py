"""How a grading job turns one child's round into notebook outcomes: a pure function, tested without a fork.

``course.grading.job.round_outcomes`` reads the child's progress events, its log (split per notebook at
the job's own marker), the grades and the jails' verdicts.  Every notebook the round decided gets exactly
one outcome; a notebook the round did not reach is left for the next round.
"""
from course.grading.job import MARK, Limits, Round, decided, round_outcomes
from course.grading.results import FAILED, GRADED, MANUAL

NONCE = f"{MARK}-0123abcd"
LIMITS = Limits(cell_timeout=30, job_timeout=60)
CELLS = {"a_hidden": [2.0, 2.0, False]}


def log(*notebooks, preamble="[AutogradeApp | INFO] set-up\n"):
    return preamble + "".join(f"{NONCE} {nb}\n[AutogradeApp | INFO] grading {nb}\n" for nb in notebooks)


def events(*steps):
    return [(event, notebook, float(t)) for t, (event, notebook) in enumerate(steps)]


def outcomes(round_, pending=("01", "02", "03"), verdicts=None, grades=None, timed_out=None):
    done = decided(list(pending), round_.events)[1]
    grades = grades if grades is not None else {nb: dict(CELLS) for nb in done}
    verdicts = verdicts if verdicts is not None else {nb: [(True, "")] for nb in pending}
    return round_outcomes(list(pending), round_, NONCE, grades, timed_out or {}, verdicts, LIMITS, "/scratch/x",
                          now=100.0)


def test_a_whole_run_that_finished_grades_every_notebook_with_its_own_log():
    steps = events(("start", "01"), ("done", "01"), ("start", "02"), ("done", "02"), ("start", "03"), ("done", "03"))
    found = outcomes(Round(0, steps, log("01", "02", "03")))
    assert {nb: o.status for nb, o in found.items()} == {"01": GRADED, "02": GRADED, "03": GRADED}
    assert "grading 02" in found["02"].log and "grading 01" not in found["02"].log and "set-up" in found["02"].log
    assert all(o.sandboxed is True and o.seconds == 1.0 for o in found.values())


def test_after_a_failed_whole_run_only_the_failed_notebook_is_decided():
    steps = events(("start", "01"), ("done", "01"), ("start", "02"), ("failed-whole", "*"))
    found = outcomes(Round(0, steps, log("01", "02") + "[AutogradeApp | ERROR] boom\n"))
    assert list(found) == ["02"] and found["02"].status == FAILED and "boom" in found["02"].reason


def test_a_notebook_that_overran_is_the_one_timed_out():
    steps = events(("start", "01"), ("done", "01"), ("start", "02"))
    found = outcomes(Round("timeout", steps, log("01", "02")))
    assert found["01"].status == GRADED and found["02"].status == FAILED and "03" not in found
    assert "timed out" in found["02"].reason and found["02"].seconds == 98.0


def test_a_child_that_never_reached_a_notebook_fails_them_all_with_its_reason():
    found = outcomes(Round(1, [], "[AutogradeApp | ERROR] No notebooks were matched\n"))
    assert {o.status for o in found.values()} == {FAILED} and len(found) == 3
    assert all(o.reason.startswith("nbgrader did not start: No notebooks were matched") for o in found.values())


def test_a_jail_that_was_not_confirmed_is_the_reason():
    steps = events(("start", "01"), ("failed", "01"))
    found = outcomes(Round(0, steps, log("01")), pending=("01",),
                     verdicts={"01": [(False, "no syscall filter (seccomp mode 0)")]})
    assert found["01"].status == FAILED and found["01"].sandboxed is False
    assert found["01"].reason == "the kernel's jail could not be confirmed: no syscall filter (seccomp mode 0)"


def test_graded_without_a_measured_jail_is_not_called_sandboxed():
    steps = events(("start", "01"), ("done", "01"))
    assert outcomes(Round(0, steps, log("01")), pending=("01",), verdicts={})["01"].sandboxed is False
    mixed = {"01": [(True, ""), (False, "no jail: not root")]}
    assert outcomes(Round(0, steps, log("01")), pending=("01",), verdicts=mixed)["01"].sandboxed is False


def test_a_marker_without_the_jobs_nonce_splits_nothing():
    steps = events(("start", "01"), ("done", "01"), ("start", "02"), ("done", "02"))
    text = log("01") + f"{MARK} 02\nforged\n" + f"{MARK}-ffff 02\nforged too\n" + log("02", preamble="")
    found = outcomes(Round(0, steps, text), pending=("01", "02"))
    assert "forged" in found["01"].log and "forged" not in found["02"].log


def test_manual_cells_and_interrupted_cells_are_noted():
    steps = events(("start", "01"), ("done", "01"))
    found = outcomes(Round(0, steps, log("01")), pending=("01",), grades={"01": {"a": [None, 2.0, True]}},
                     timed_out={"01": [4]})
    assert found["01"].status == MANUAL and found["01"].timed_out == [4]
    assert "manual grading needed: a" in found["01"].reason and "cell 4 ran longer than 30 s" in found["01"].reason


def test_the_scratch_path_is_scrubbed_from_reasons_and_logs():
    steps = events(("start", "01"), ("failed", "01"))
    text = log("01") + "[AutogradeApp | ERROR] cannot read /scratch/x/autograded/s/01.ipynb\n"
    found = outcomes(Round(0, steps, text), pending=("01",))
    assert "/scratch/x" not in found["01"].reason and "/scratch/x" not in found["01"].log
    assert "autograded/s/01.ipynb" in found["01"].reason


def test_both_backends_have_the_backends_interface():
    """LocalPool and DaskPool are interchangeable for the client: the Protocol's methods, same signatures."""
    import inspect

    from course.grading.backend import Backend
    from course.grading.dask_backend import DaskPool
    from course.grading.local import LocalPool

    for method in ("grade", "describe", "close"):
        want = inspect.signature(getattr(Backend, method))
        for backend in (LocalPool, DaskPool):
            got = inspect.signature(getattr(backend, method))
            assert got == want, f"{backend.__name__}.{method}{got} is not Backend.{method}{want}"
