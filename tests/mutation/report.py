"""Summarise a cosmic-ray session of `make mutation`: counts, survival rate and every surviving mutant.

    python -m tests.mutation.report .cache/mutation/session.sqlite
"""
import sqlite3
import sys
from collections import Counter


def survivors(db):
    """(module, line, function, operator, the mutated line) of every mutant no check killed."""
    rows = db.execute("""select s.module_path, s.start_pos_row, s.definition_name, s.operator_name, r.diff
                         from mutation_specs s join work_results r on r.job_id = s.job_id
                         where r.test_outcome = 'SURVIVED' order by s.module_path, s.start_pos_row""")
    for module, line, function, operator, diff in rows:
        changed = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
        yield module.rsplit("/", 1)[-1], line, function, operator.removeprefix("core/"), " / ".join(changed)


def main(path):
    db = sqlite3.connect(path)
    total = db.execute("select count(*) from mutation_specs").fetchone()[0]
    outcomes = Counter(dict(db.execute("select test_outcome, count(*) from work_results group by test_outcome")))
    workers = Counter(dict(db.execute("select worker_outcome, count(*) from work_results group by worker_outcome")))
    done = sum(outcomes.values())
    print(f"mutants: {total}, run: {done}, killed: {outcomes['KILLED']}, survived: {outcomes['SURVIVED']}, "
          f"incompetent: {outcomes['INCOMPETENT']} (worker outcomes: {dict(workers)})")
    if done:
        print(f"survival rate: {outcomes['SURVIVED'] / done:.1%} ({outcomes['SURVIVED']} of {done})")
    for module, line, function, operator, mutated in survivors(db):
        print(f"  {module}:{line} {function} [{operator}] {mutated}")


if __name__ == "__main__":
    main(sys.argv[1])
