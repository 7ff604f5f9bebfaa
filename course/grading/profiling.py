"""Where a grading job's time goes: spans recorded inside the child, for benchmarks/profile_submission.py.

Off unless a job asks for it (``job["profile"]``): ``install`` wraps a few
nbclient and nbgrader methods with timers and ``dump`` writes the spans as
JSON lines ({"what", "notebook", "seconds", "cpu"}).  ``cpu`` is this process's
CPU time (nbgrader's own work); a kernel's CPU shows as the wall time of the
cells it runs.
"""
import functools
import json
import time

_spans = []
_notebook = {"name": None}


def _record(what, started, cpu_started):
    _spans.append({"what": what, "notebook": _notebook["name"], "seconds": time.perf_counter() - started,
                   "cpu": time.process_time() - cpu_started})


def _timed(what):
    def wrap(function):
        @functools.wraps(function)
        async def run(*args, **kwargs):
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                return await function(*args, **kwargs)
            finally:
                _record(what, started, cpu_started)
        return run
    return wrap


def _cell_kind(client, cell, *args, **kwargs):
    if cell.cell_type != "code":
        return None
    meta = cell.metadata.get("nbgrader", {})
    return "hidden checks" if meta.get("grade") and not meta.get("solution") else "notebook cells"


def install():
    from jupyter_core.utils import run_sync
    from nbclient.client import NotebookClient
    from nbgrader.converters import Autograde

    NotebookClient.async_start_new_kernel = _timed("kernel start: launch")(NotebookClient.async_start_new_kernel)
    NotebookClient.async_start_new_kernel_client = _timed("kernel start: until ready")(
        NotebookClient.async_start_new_kernel_client)
    NotebookClient._async_cleanup_kernel = _timed("kernel shutdown")(NotebookClient._async_cleanup_kernel)
    execute_cell = NotebookClient.async_execute_cell

    async def timed_cell(self, cell, *args, **kwargs):
        kind = _cell_kind(self, cell)
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return await execute_cell(self, cell, *args, **kwargs)
        finally:
            if kind:
                _record(kind, started, cpu_started)

    NotebookClient.async_execute_cell = timed_cell
    # The sync names are bound at class creation: rebind them to the timed coroutines.
    NotebookClient.execute_cell = run_sync(timed_cell)
    NotebookClient.start_new_kernel = run_sync(NotebookClient.async_start_new_kernel)
    NotebookClient.start_new_kernel_client = run_sync(NotebookClient.async_start_new_kernel_client)
    NotebookClient._cleanup_kernel = run_sync(NotebookClient._async_cleanup_kernel)
    convert = Autograde.convert_single_notebook

    def timed_convert(self, filename):
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return convert(self, filename)
        finally:
            _record("nbgrader: whole notebook", started, cpu_started)

    Autograde.convert_single_notebook = timed_convert
    _time_gradebook()


def _time_gradebook():
    """nbgrader's preprocessors each open the gradebook for themselves (an engine, a schema check): count
    and time those opens and closes."""
    from nbgrader.api import Gradebook

    for name in ("__init__", "close"):
        method = getattr(Gradebook, name)

        def timed(self, *args, _method=method, **kwargs):
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                return _method(self, *args, **kwargs)
            finally:
                _record("nbgrader: gradebook opens and closes", started, cpu_started)

        setattr(Gradebook, name, timed)


def notebook(name):
    _notebook["name"] = name


def span(what, started, cpu_started):
    _record(what, started, cpu_started)


def dump(path):
    with open(path, "a") as f:
        for item in _spans:
            f.write(json.dumps(item) + "\n")
    _spans.clear()
