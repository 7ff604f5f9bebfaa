"""Re-grade the mutants of a finished `make mutation` session with the checks of another checkout.

    cd OTHER_CHECKOUT && python /path/to/tests/mutation/replay.py /path/to/.cache/mutation/session.sqlite

The same mutants (cosmic-ray's recorded diffs, applied to OTHER_CHECKOUT's solutions/, which must be the
same files) are graded in one process by the checks importable from the current folder, e.g. main's
before a change of the checks: how the survival rate before and after a change is compared.  A mutant
that runs longer than the timeout counts as killed, as cosmic-ray counts it.
"""
import re
import signal
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
sys.path.insert(1, str(Path(__file__).resolve().parent))
from oracle import GRADED  # noqa: E402

from solutions.checks import CheckFailure, check  # noqa: E402

TIMEOUT = 60


def apply(original, diff):
    """The text of ``original`` with the one-hunk unified ``diff`` applied."""
    lines, out = original.splitlines(keepends=True), []
    hunk = re.search(r"^@@ -(\d+)", diff, re.M)
    start = int(hunk[1]) - 1
    body = diff[hunk.end():].split("\n", 1)[1].splitlines()
    removed = [l[1:] for l in body if l.startswith((" ", "-"))]
    added = [l[1:] for l in body if l.startswith((" ", "+"))]
    while len(removed) > len(lines) - start and removed[-1] == added[-1] == "":  # the diff's view of the end
        removed, added = removed[:-1], added[:-1]
    assert [l.rstrip("\n") for l in lines[start:start + len(removed)]] == removed, "diff does not apply"
    out = lines[:start] + [l + "\n" for l in added] + lines[start + len(removed):]
    return "".join(out)


def survives(module, source):
    namespace = {"__name__": f"student_{module}"}
    try:
        exec(compile(source, f"{module}.py", "exec"), namespace)
        for unit, objects in GRADED[module]:
            student = tuple(namespace[o] for o in objects) if isinstance(objects, tuple) else namespace[objects]
            check(unit, student)
    except (CheckFailure, TimeoutError):
        return False
    except Exception:  # the mutant broke its own module
        return False
    return True


def _timeout(signum, frame):
    raise TimeoutError


def main(session):
    signal.signal(signal.SIGALRM, _timeout)
    db = sqlite3.connect(session)
    rows = db.execute("""select s.module_path, r.diff from mutation_specs s join work_results r
                         on r.job_id = s.job_id where r.test_outcome in ('KILLED', 'SURVIVED')""").fetchall()
    survived = []
    for path, diff in rows:
        module = Path(path).stem
        source = apply((Path("solutions") / f"{module}.py").read_text(), diff)
        signal.alarm(TIMEOUT)
        try:
            if survives(module, source):
                survived.append((module, diff))
        finally:
            signal.alarm(0)
    print(f"replayed {len(rows)} mutants with the checks of {Path.cwd()}: {len(survived)} survived "
          f"({len(survived) / max(len(rows), 1):.1%})")
    for module, diff in survived:
        print(f"  {module}: {' / '.join(l[1:].strip() for l in diff.splitlines() if l.startswith('+') and not l.startswith('+++'))}")


if __name__ == "__main__":
    main(sys.argv[1])
