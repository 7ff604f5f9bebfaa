"""The tamper-proof audit: every notebook re-graded out of the notebook kernel.

For each submission (all its notebooks at once):

1. the trusted side takes each notebook's definitions (imports, classes,
   functions and constant assignments, by AST) and the checks its hidden test
   cells call; it makes each check's inputs and runs the reference on them;
2. one jail (``course.jail.sandbox``, another UID, no network, no keyring;
   forked warm from the station's zygote when there is one) that sees, read-only,
   the definitions (locked cells restored from the source notebook, as nbgrader
   does), the course's ``nn_helpers.py`` and the answer-free ``probes``
   package, but not the reference, the hidden tests or the gradebook, runs
   ``probes.runner``, each notebook in its own namespace, and sends plain JSON
   lines back through a pipe: the jail and the trusted side share no writable
   folder.  A check that hangs or kills the runner is stopped and scores 0; the
   others run again without it.  Every step has a wall-clock cap that nothing
   the jail sends can extend;
3. the trusted side, which never runs student code, validates that JSON
   (kinds and shapes must match the reference's) and compares with the same
   ``compare`` the hidden tests use.  Anything missing or malformed scores 0.

A graded cell's audit score is its points if its check passes, else 0; every
graded cell of the course is audited (one whose hidden test called no known
check would not be).  The scores go into the notebook's status record; a
notebook whose audit and nbgrader scores differ is flagged in the export and
the report.
"""
import ast
import dataclasses
import functools
import json
import math
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import numpy as np

from probes.runner import DEFINITIONS

from ..jail import safefiles, sandbox, zygote
from ..settings import python_settings
from .cheatscan import AST_LOCK, parse_cell
from .flags import HIGH, flag

TIMEOUT = 120            # seconds for one notebook's audit
MAX_OUTPUT = 20 * 2**20  # bytes of outputs.json the trusted side will read
NOT_AUDITED = "not audited"
OUT_OF_TIME = "stopped: the audit of this submission ran out of time (the cell timeout for each step)"


def hidden_checks(source_notebook):
    """{grade_id: (unit, (object name, ...)) or None} from the hidden test cells: ``check_<unit>(Name)``,
    or ``check_<unit>(A, B)`` for a check that takes two objects (``check_trains_digits(train_epoch, evaluate)``)."""
    import probes

    checks = {}
    for cell in nbformat.read(source_notebook, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        found = None
        with AST_LOCK:
            tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("check_")
                    and node.func.id[6:] in probes.UNITS and not node.keywords):
                continue
            unit = node.func.id[6:]
            if len(node.args) == probes.UNITS[unit].arity and all(isinstance(a, ast.Name) for a in node.args):
                found = (unit, tuple(a.id for a in node.args))
        checks[meta["grade_id"]] = found
    return checks


def _is_constant(node):
    return all(isinstance(n, (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp, ast.BinOp, ast.operator,
                              ast.unaryop, ast.Load, ast.Store, ast.Name)) for n in ast.walk(node.value))


def _kept(node):
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return True
    return isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_constant(node)  # EPS = 1e-8


def definitions(notebook, where=None):
    """The student's imports, classes, functions and constant assignments, as one Python source.

    Each statement keeps its own lines where it can, so ``where`` (a list, if given) gets, for every
    line of the result, (cell number, line in that cell): a failure in the audit can point at the cell.
    """
    with AST_LOCK:  # see course.trust.cheatscan.AST_LOCK
        return _definitions(notebook, where)


def _definitions(notebook, where):
    keep, places = [], []
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "code":
            continue
        try:
            tree = parse_cell(cell.source)  # IPython syntax (magics, !shell) as the kernel reads it
        except SyntaxError:
            continue  # the kernel would fail on it too
        lines = cell.source.splitlines()
        for node in filter(_kept, tree.body):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            text = "\n".join(lines[first - 1:node.end_lineno])
            try:
                same = ast.dump(ast.parse(text).body[0]) == ast.dump(node)
            except (SyntaxError, IndexError, ValueError, RecursionError, MemoryError):
                same = False
            if not same:  # e.g. two statements on a line, or IPython syntax: fall back to the AST's text
                text, first = ast.unparse(node), None
            keep.append(text)
            places += [(number, None if first is None else first + k) for k in range(len(text.splitlines()))]
    if where is not None:
        where[:] = places
    return "\n".join(keep)


def _cell_locations(reason, file_name, where):
    """"строка N в student_K.py" (a line of the definitions file) as the notebook's own cell and line."""
    def replace(match):
        line = int(match.group(1))
        if 1 <= line <= len(where) and where[line - 1][1] is not None:
            cell, cell_line = where[line - 1]
            return f"строка {cell_line} в ячейке {cell}"
        return "в коде ноутбука"
    return re.sub(rf"строка (\d+) в {re.escape(file_name)}", replace, reason)


# --- the trusted comparison ---------------------------------------------------------------

class Malformed(Exception):
    pass


def _kind(value):
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return "array"


def decode(item, expected):
    """One output from the jail, checked against the kind of the reference's value; exact types only."""
    if type(item) is not dict or set(item) - {"kind", "value", "shape"}:
        raise Malformed("not an output record")
    kind, value = item.get("kind"), item.get("value")
    if kind != _kind(expected) and not (kind in ("int", "float") and _kind(expected) in ("int", "float")):
        raise Malformed(f"kind {kind!r}, expected {_kind(expected)!r}")
    if kind == "bool" and type(value) is bool:
        return value
    if kind == "str" and type(value) is str:
        return value
    if kind in ("int", "float") and type(value) in (int, float) and type(value) is not bool:
        return type(expected)(value) if _kind(expected) == "float" else value
    if kind == "array":
        shape = item.get("shape")
        if (type(shape) is not list or not all(type(n) is int and 0 <= n < 10**7 for n in shape)
                or type(value) is not list or len(value) != math.prod(shape)):
            raise Malformed("array record with a bad shape")
        numbers = np.array(value)  # a flat list of JSON numbers, and nothing else, makes a 1-D int or float array
        if numbers.ndim != 1 or numbers.dtype.kind not in "if" or len(numbers) != len(value):
            raise Malformed("array record with non-numbers")
        return numbers.astype(np.float64).reshape(shape)
    raise Malformed(f"bad {kind!r} value")


def judge(unit, inputs, want, record):
    """(passed, reason) for one check from the jail's record of it."""
    from probes.core import CheckFailure

    if type(record) is not dict:
        return False, "no output (the audit process stopped before this check)"
    if "error" in record:
        return False, f"failed in the audit: {str(record['error'])[:300]}"
    outputs = record.get("outputs")
    if type(outputs) is not dict:
        return False, "malformed output"
    try:
        got = {key: decode(outputs[key], expected) for key, expected in want.items() if key in outputs}
    except Malformed as exc:
        return False, f"malformed output: {exc}"
    try:
        unit.compare(inputs, got, want)
    except CheckFailure as failure:
        return False, str(failure)
    except Exception as exc:  # a missing key or an odd value the compare could not digest
        return False, f"output not comparable: {type(exc).__name__}: {exc}"
    return True, ""


# --- one submission ----------------------------------------------------------------------

@dataclasses.dataclass
class Audit:
    cells: dict          # grade_id -> audit score, or None when the cell is not audited
    reasons: dict        # grade_id -> why it scored 0
    sandboxed: bool
    seconds: float

    def record(self):
        """What a status record keeps (course.grading.results.NotebookResult.audit)."""
        return {"cells": self.cells, "reasons": self.reasons, "sandboxed": self.sandboxed, "seconds": self.seconds}


_REFERENCE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _reference_run_cached(unit_name):
    import probes
    from solutions.checks import UNITS

    unit = UNITS[unit_name]
    inputs = unit.make_inputs(np.random.default_rng(probes.core.SEED))
    return inputs, probes.core.run_probe(unit, unit.reference, inputs)


def _reference_run(unit_name):
    """(inputs, reference outputs) of a check: the same for every student, computed once.
    Locked: the probes seed NumPy's global RNG, which parallel audits must not share."""
    with _REFERENCE_LOCK:
        return _reference_run_cached(unit_name)


@functools.lru_cache(maxsize=None)
def _plan(source):
    """({grade_id: (unit, (object name, ...)) or None}, {grade_id: points}) of a source notebook."""
    points = {c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points
              for c in nbformat.read(source, as_version=4).cells if c.metadata.get("nbgrader", {}).get("grade")}
    return hidden_checks(source), points


def _read(submitted):
    """A notebook from a path or from its bytes."""
    if isinstance(submitted, (bytes, bytearray)):
        return nbformat.reads(submitted.decode("utf-8"), as_version=4)
    return nbformat.read(submitted, as_version=4)


@functools.lru_cache(maxsize=None)
def _locked_sources(source):
    """{grade_id: source} of the source notebook's locked cells (hidden tests, demonstrations, given code)."""
    return {c.metadata.nbgrader.grade_id: c.source for c in nbformat.read(source, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("locked") and "grade_id" in c.metadata.nbgrader}


def restore_locked(notebook, source):
    """As nbgrader's OverwriteCells does: every locked cell the course knows gets the course's source back,
    so the audit runs the same definitions nbgrader ran, whatever a student wrote into a locked cell."""
    locked = _locked_sources(source)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and meta.get("grade_id") in locked:
            cell.source = locked[meta["grade_id"]]
    return notebook


def _steps(entries):
    """The order the runner goes through: each notebook's definitions, then each of its checks."""
    return [(e["name"], step) for e in entries for step in [DEFINITIONS, *(unit for unit, _ in e["checks"])]]


class _Channel:
    """What the jail sends back, read as plain data: lines of JSON, capped in size, each parsed on its
    own (a line that is not JSON, or that the parser cannot take, e.g. nested too deep, is dropped)."""

    def __init__(self, fd):
        self.fd, self.buffer, self.size, self.closed = fd, b"", 0, False

    def read(self, wait):
        """The messages that arrived within ``wait`` seconds."""
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return []
        chunk = os.read(self.fd, 1 << 20)
        self.closed = not chunk
        self.size += len(chunk)
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        messages = []
        for line in lines:
            try:
                messages.append(json.loads(line))
            except Exception:  # noqa: BLE001 -- RecursionError, MemoryError, ValueError: student data
                continue
        return messages

    @property
    def too_big(self):
        return self.size > MAX_OUTPUT


def _spawn(inputs, work, slot, timeout, zygote_socket, steps, blas_threads, results, report):
    """probes.runner on ``inputs`` in a jail (warm from the zygote when there is one), or unjailed
    where no jail can be built; the process, and whether it is jailed."""
    import probes

    source = {**os.environ, **python_settings(blas_threads)}  # as the grading kernels have it
    quiet = os.open(os.devnull, os.O_WRONLY)
    try:
        if sandbox.available():
            jail = sandbox.Jail(workdir=str(work), readable=[str(inputs), *probes.__path__], slot=slot,
                                cpu_seconds=timeout * (steps + 2), memory=2 * 2**30, file_size=MAX_OUTPUT)
            if zygote_socket:
                try:
                    return zygote.spawn_jailed(zygote_socket, sandbox.spec(jail, source, zygote.REPORT_FD),
                                               "probes.runner", [str(inputs)], fds=[results, quiet, report]), True
                except zygote.Refused:
                    pass
            cmd = sandbox.wrap([sys.executable, "-P", "-m", "probes.runner", str(inputs)], jail, source, report)
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=results, stderr=quiet,
                                    pass_fds=(report,), env=sandbox.jail_env(sandbox.Jail(""), source)), True
        cmd = [sys.executable, "-P", "-m", "probes.runner", str(inputs)]
        return subprocess.Popen(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=results, stderr=quiet,
                                env=sandbox.jail_env(sandbox.Jail(""), source)), False
    finally:
        os.close(quiet)


@dataclasses.dataclass
class _RunOutcome:
    records: dict        # (notebook, unit) -> what the runner sent for that check
    culprit: tuple       # the step under way when the runner stopped or died early, or None
    stopped: str         # why it was stopped ("" if it ended by itself)
    jailed: bool         # its jail confirmed by the jail's own measurements


def _run_once(folder, entries, slot, timeout, zygote_socket, blas_threads, deadline):
    """One run of probes.runner on ``entries``.  Stopped when a step (one check, or one notebook's
    definitions) takes longer than ``timeout`` s since the runner reached it (a step counts only when it
    lies further along than the last one, so the runner cannot buy itself more time), or at ``deadline``
    (``time.monotonic()``), the cap of the whole audit, whatever the runner sends."""
    inputs, work = folder / "inputs", folder / "work"
    fd = safefiles.open_dir(str(inputs))
    try:
        safefiles.write_file(fd, "request.json", json.dumps({"notebooks": entries}).encode())
    finally:
        os.close(fd)
    steps = _steps(entries)
    order = {step: index for index, step in enumerate(steps)}
    expected = {(e["name"], unit) for e in entries for unit, _ in e["checks"]}
    results_read, results_write = os.pipe()
    report_read, report_write = os.pipe()
    try:
        process, jailed = _spawn(inputs, work, slot, timeout, zygote_socket, len(steps), blas_threads,
                                 results_write, report_write)
    finally:
        os.close(results_write)
        os.close(report_write)
    try:
        if jailed:
            report = sandbox.read_report(report_read, 60, lambda: process.poll() is None)
            jailed = not sandbox.verify(report, sandbox.UID_BASE + slot)
        else:
            os.close(report_read)
        channel, records, current = _Channel(results_read), {}, -1
        since = time.monotonic()
        stopped = ""
        while not channel.closed:
            for message in channel.read(0.05):
                if type(message) is not dict:
                    continue
                step = message.get("at")
                if type(step) is list and len(step) == 2 and order.get(tuple(map(str, step)), -1) > current:
                    current, since = order[tuple(map(str, step))], time.monotonic()
                key = message.get("record")
                if type(key) is list and len(key) == 2 and tuple(map(str, key)) in expected:
                    records[tuple(map(str, key))] = message.get("result")
            now = time.monotonic()
            if channel.too_big:
                stopped = f"stopped: sent more than {MAX_OUTPUT // 2**20} MiB"
            elif now > deadline:
                stopped = OUT_OF_TIME
            elif now - since > timeout:
                stopped = f"stopped after {timeout} s without finishing"
            if stopped:
                break
        process.kill()
        process.wait()
    finally:
        os.close(results_read)
    done = all(key in records for key in expected)
    culprit = steps[current] if current >= 0 and (stopped or not done) else None
    return _RunOutcome(records, culprit, stopped, jailed)


def _run(folder, entries, slot, timeout, zygote_socket, blas_threads):
    """probes.runner on ``entries`` until every check has a record: a step that hangs or kills the runner
    gets an error record and the rest run again without it.  ({(notebook, unit): record}, jailed)."""
    records, remaining, jailed = {}, entries, True
    deadline = time.monotonic() + timeout * (len(_steps(entries)) + 1)  # the whole audit, every round
    while remaining:
        run = _run_once(folder, remaining, slot, timeout, zygote_socket, blas_threads, deadline)
        jailed = jailed and run.jailed
        records.update(run.records)
        if run.stopped == OUT_OF_TIME:
            for entry in remaining:
                for unit, _ in entry["checks"]:
                    records.setdefault((entry["name"], unit), {"error": OUT_OF_TIME})
            break
        what = run.stopped or "the audit process died"
        left = []
        for entry in remaining:
            checks = [c for c in entry["checks"] if (entry["name"], c[0]) not in records]
            if run.culprit and run.culprit[0] == entry["name"]:
                for unit, _ in checks:
                    if run.culprit[1] in (unit, DEFINITIONS):
                        where = " while loading the notebook's definitions" if run.culprit[1] == DEFINITIONS else ""
                        records[(entry["name"], unit)] = {"error": what + where}
                checks = [c for c in checks if (entry["name"], c[0]) not in records]
            if checks:
                left.append({**entry, "checks": checks})
        if run.culprit is None or left == remaining:
            break  # finished, or no progress: what is left has no output
        remaining = left
    return records, jailed


def audit_submission(notebooks, source_dir, helper, slot=0, timeout=TIMEOUT, zygote_socket=None, blas_threads=1):
    """Audit a submission's notebooks ({name: path or bytes}) in one jail; {name: Audit}.

    Never raises for student input.  ``zygote_socket``: a kernel zygote (course.jail.zygote) to fork the
    jail from, warm; else the jail starts a new Python.
    """
    from solutions.checks import UNITS

    start = time.monotonic()
    audits, plans, entries, locations = {}, {}, [], {}
    with tempfile.TemporaryDirectory(prefix="nnaudit-") as tmp:  # root's, 0700: the jail sees inputs/ read-only
        folder = Path(tmp)
        inputs = folder / "inputs"
        inputs.mkdir(mode=0o755)
        (folder / "work").mkdir(mode=0o700)  # the runner's working folder when no jail can be built
        shutil.copy(helper, inputs / "nn_helpers.py")
        for index, (name, submitted) in enumerate(notebooks.items()):
            source = Path(source_dir) / f"{name}.ipynb"
            checks, points = _plan(source)
            cells = {gid: (None if check is None else 0) for gid, check in checks.items()}
            reasons = {gid: NOT_AUDITED for gid, check in checks.items() if check is None}
            plans[name] = (checks, points, cells, reasons)
            where = []
            try:
                source_text = definitions(restore_locked(_read(submitted), source), where)
            except Exception as exc:
                why = f"notebook unreadable: {type(exc).__name__}: {exc}"[:300]
                reasons.update({gid: why for gid in cells if cells[gid] == 0})
                continue
            locations[name] = (f"student_{index}.py", where)
            wanted = []
            for gid, check in checks.items():
                if check is not None:
                    unit_inputs, _ = _reference_run(check[0])
                    np.savez(inputs / f"inputs-{check[0]}.npz", **unit_inputs)
                    wanted.append([check[0], list(check[1])])
            if wanted:
                (inputs / f"student_{index}.py").write_text(source_text, encoding="utf-8")
                entries.append({"id": index, "name": name, "file": f"student_{index}.py", "checks": wanted})
        for path in inputs.iterdir():
            path.chmod(0o644)  # readable by the jail's user, written by nobody but us
        records, jailed = _run(folder, entries, slot, timeout, zygote_socket, blas_threads) if entries \
            else ({}, sandbox.status()[0])
    seconds = round(time.monotonic() - start, 2)
    for name, (checks, points, cells, reasons) in plans.items():
        for gid, check in checks.items():
            if check is None or gid in reasons:
                continue
            inputs_of, want = _reference_run(check[0])
            passed, reason = judge(UNITS[check[0]], inputs_of, want, records.get((name, check[0])))
            cells[gid] = points[gid] if passed else 0
            if not passed:
                reasons[gid] = _cell_locations(reason, *locations[name]) if name in locations else reason
        audits[name] = Audit(cells, reasons, jailed, seconds)
    return audits


def audit_notebook(submitted, source, helper, slot=0, timeout=TIMEOUT):
    """Audit one submitted notebook against its source notebook (a submission of one)."""
    return audit_submission({Path(source).stem: submitted}, Path(source).parent, helper, slot, timeout)[Path(source).stem]


# --- the class ----------------------------------------------------------------------------

def nbgrader_scores(result):
    """{grade_id: nbgrader's own score} of a status record."""
    return result.nbgrader or {gid: score for gid, (score, _) in result.cells.items()}


def mismatches(result):
    """Graded cells whose audit score differs from nbgrader's (audited cells only)."""
    audit = getattr(result, "audit", None) or {}
    own = nbgrader_scores(result)
    out = []
    for gid, score in (audit.get("cells") or {}).items():
        graded = own.get(gid)
        if score is not None and graded is not None and abs(float(graded) - float(score)) > 1e-9:
            out.append((gid, graded, score, (audit.get("reasons") or {}).get(gid, "")))
    return out


def audit_flags(results):
    """A cheat-scan-style flag for every cell whose audit and nbgrader scores differ, with both numbers."""
    flags = []
    for result in results:
        hung = "; ".join(f"cell {n} timed out" for n in (result.timed_out or []))
        for gid, graded, audited, reason in mismatches(result):
            detail = f"nbgrader {graded:g}, audit {audited:g}" + (f" ({hung})" if hung else "")
            flags.append(flag(result.student, result.notebook, gid, "", "audit-mismatch", HIGH,
                              detail + (f": {reason}" if reason else "")))
    return flags


def unsandboxed(results):
    """Why the class report must say "unsandboxed", or "" when every kernel and audit was jailed."""
    kernel = sum(r.sandboxed is False for r in results)
    audit = sum((r.audit or {}).get("sandboxed") is False for r in results)
    parts = [f"{n} {what}" for n, what in ((kernel, "notebooks graded"), (audit, "notebooks audited")) if n]
    return (", ".join(parts) + " without a sandbox") if parts else ""
