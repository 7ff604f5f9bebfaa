"""Grading on Dask: a real scheduler and real workers on loopback, the real PostgreSQL gradebook.

The workers are ``dask worker`` processes started here (no nanny, one thread
each) on this checkout; the client is ``autograde(..., scheduler=...)`` or the
``nncourse`` command.  Checked: grades equal the local backend's cell by cell;
a worker killed with SIGKILL mid-batch loses nothing and duplicates nothing;
a client killed mid-batch leaves a rerun only what is missing; a worker on
other course files is refused.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text

from course.authoring.apps import nbgrader
from course.demo.classroom import build_class, reference, submit
from course.grading.client import autograde
from course.grading.job import Limits
from course.grading.results import FAILED, GRADED, MISSING, read_all, status_dir
from course.settings import ASSIGNMENT, ROOT, load

COURSE_ID = load(ROOT).course_id

pytestmark = [pytest.mark.dask, pytest.mark.postgres]
NOTEBOOKS = ["01_activations", "03_sequential", "07_losses"]
STUDENTS = ["reference", "untouched", "seed_student", "relu_kink", "ce_log_eps", "softmax_unstable",
            "invalid_json", "renamed_notebook", "noisy_correct"]
LIMITS = Limits(cell_timeout=30, job_timeout=120)
DASK = Path(sys.executable).parent / "dask"


class Cluster:
    """A scheduler on loopback and its workers, each a real process; stopped with the fixture."""

    def __init__(self, folder):
        self.folder, self.workers = folder, {}
        self.file = folder / "scheduler.json"
        with open(folder / "scheduler.log", "wb") as log:
            self.scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                               "--no-dashboard", "--scheduler-file", str(self.file)],
                                              stdout=subprocess.DEVNULL, stderr=log)
        self.address = None
        deadline = time.monotonic() + 60
        while self.address is None and time.monotonic() < deadline:
            try:
                self.address = json.loads(self.file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)
        assert self.address, (folder / "scheduler.log").read_text()[-2000:]

    def start_worker(self, name, checkout=None):
        """``dask worker`` named ``name``; from another checkout of the course if given (its packages first)."""
        env = dict(os.environ)
        if checkout is not None:
            env["PYTHONPATH"] = str(checkout)
        with open(self.folder / f"{name}.log", "wb") as log:
            self.workers[name] = subprocess.Popen(
                [str(DASK), "worker", "--scheduler-file", str(self.file), "--nthreads", "1", "--no-nanny",
                 "--name", name, "--local-directory", str(self.folder / name)],
                cwd=checkout or ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        self.wait_for(lambda names: name in names, f"worker {name}")

    def names(self):
        from distributed import Client

        with Client(self.address, timeout="20s") as client:
            return {w["name"]: address for address, w in client.scheduler_info()["workers"].items()}

    def wait_for(self, condition, what):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if condition(self.names()):
                return
            time.sleep(0.3)
        logs = {p.name: p.read_text(errors="replace")[-1500:] for p in self.folder.glob("*.log")}
        raise AssertionError(f"{what} did not join: {logs}")

    def stop_worker(self, name, signum=signal.SIGTERM):
        process = self.workers.pop(name)
        process.send_signal(signum)
        process.wait(timeout=60)

    def close(self):
        for process in [*self.workers.values(), self.scheduler]:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        for name in ("w1", "w2"):
            cluster.start_worker(name)
        yield cluster
    finally:
        cluster.close()


def _course(released, folder, db_url=None):
    course = Path(shutil.copytree(released, folder, symlinks=True))
    if db_url:
        (course / "gradebook.db").unlink()
        with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
            config.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
        nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")  # registers the assignment there
    build_class(course / "release" / ASSIGNMENT, course / "source" / ASSIGNMENT, course / "submitted", STUDENTS)
    return course


def cell_scores(url):
    with Gradebook(url, course_id=COURSE_ID) as gb:
        return {(s.student.id, nb.name, g.name): g.score
                for s in gb.assignment_submissions(ASSIGNMENT) for nb in s.notebooks for g in nb.grades
                if nb.name in NOTEBOOKS}


def grade_rows(url):
    """How many grade rows each (student, notebook, cell) has, and how many submitted notebooks each
    (student, notebook): nbgrader keeps exactly one of each."""
    engine = create_engine(url)
    with engine.connect() as db:
        rows = db.execute(text(
            "SELECT st.id, n.name, bc.name, count(*) FROM grade g "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id JOIN notebook n ON sn.notebook_id = n.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id JOIN student st ON sa.student_id = st.id "
            "JOIN base_cell bc ON g.cell_id = bc.id GROUP BY st.id, n.name, bc.name")).all()
        rows += db.execute(text(
            "SELECT st.id, n.name, '(notebook)', count(*) FROM submitted_notebook sn "
            "JOIN notebook n ON sn.notebook_id = n.id JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
            "JOIN student st ON sa.student_id = st.id GROUP BY st.id, n.name")).all()
    engine.dispose()
    return {(s, nb, cell): count for s, nb, cell, count in rows}


@pytest.fixture(scope="module")
def graded(cluster, postgres, released_course, tmp_path_factory):
    """The class graded on the cluster (PostgreSQL gradebook) and locally with --jobs 2 (SQLite)."""
    folder = tmp_path_factory.mktemp("dask-class")
    url = postgres.database("nn_layers_dask")
    on_dask = _course(released_course, folder / "dask", url)
    local = _course(released_course, folder / "local")
    started = time.monotonic()
    results = autograde(on_dask, notebooks=NOTEBOOKS, limits=LIMITS, progress=False, scheduler=cluster.address)
    dask_seconds = time.monotonic() - started
    started = time.monotonic()
    autograde(local, notebooks=NOTEBOOKS, jobs=2, limits=LIMITS, progress=False)
    print(f"\n{len(STUDENTS)} submissions x {len(NOTEBOOKS)} notebooks: two Dask workers on loopback "
          f"{dask_seconds:.1f} s, --jobs 2 {time.monotonic() - started:.1f} s")
    return on_dask, url, local, results


def test_grades_equal_the_local_backend_cell_by_cell(cluster, graded):
    on_dask, url, local, results = graded
    assert len(results) == len(STUDENTS) * len(NOTEBOOKS) and all(r is not None for r in results)
    remote = cell_scores(url)
    here = cell_scores(f"sqlite:///{local / 'gradebook.db'}")
    assert remote == here and len(remote) > 30
    assert sum(remote[k] for k in remote if k[0] == "reference") == 6 + 3 + 8
    assert all(count == 1 for count in grade_rows(url).values())
    failed = {(r.student, r.notebook): r.status for r in results if r.status in (FAILED, MISSING)}
    assert failed == {("invalid_json", "03_sequential"): FAILED, ("renamed_notebook", "01_activations"): MISSING}
    local_records = {(r.student, r.notebook): (r.status, r.cells, r.audit.get("cells")) for r in read_all(local)}
    dask_records = {(r.student, r.notebook): (r.status, r.cells, r.audit.get("cells")) for r in read_all(on_dask)}
    assert dask_records == local_records, "status records (status, scores, audit scores) differ"
    workers = {f":{process.pid}" for process in cluster.workers.values()}
    stations = {r.station for r in results if r.status == GRADED}
    assert len(stations) == 2 and all(s[s.rindex(":"):] in workers for s in stations), (stations, workers)
    assert all(r.sandboxed for r in results if r.status == GRADED), "workers run as root: jailed kernels"


def test_a_worker_on_other_course_files_is_refused(cluster, postgres, released_course, tmp_path, caplog):
    """A worker whose course files differ is refused: before the batch by the client, and by its own station
    at every task, also when its files change after it has graded (a checkout updated under a running worker)."""
    from distributed import Client

    from course.grading.dask_backend import remote_grade
    from course.grading.job import read_submission
    from course.grading.station import fingerprint

    checkout = tmp_path / "other-checkout"
    for name in ("course", "solutions", "probes", "source"):
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", checkout / "nbgrader_config.py")
    cluster.start_worker("stale", checkout)
    try:
        course = Path(shutil.copytree(released_course, tmp_path / "course", symlinks=True))
        for student in ("amy", "bo", "cy"):
            submit(course, student, reference)
        submission = read_submission(course / "submitted" / "amy" / ASSIGNMENT, "amy", ["01_activations"])
        template = (course / "gradebook.db").read_bytes()
        stale = cluster.names()["stale"]
        with Client(cluster.address, timeout="20s") as client:  # the same files: it grades
            first = client.submit(remote_grade, submission, LIMITS, template, fingerprint(course), True,
                                  workers=[stale], allow_other_workers=False, pure=False).result(timeout=300)
        assert [(n.status, sum(score for score, _, _ in n.cells.values())) for n in first.notebooks] == [(GRADED, 6)]
        with open(checkout / "probes" / "activations.py", "a") as changed:
            changed.write("\n# a later commit of the checks\n")
        results = autograde(course, notebooks=["01_activations"], limits=LIMITS, progress=False,
                            scheduler=cluster.address)
        said = caplog.text  # a warning of course.grading.dask_backend: `nncourse` prints it on stderr
        assert "REFUSED worker" in said and str(checkout) in said, said[-2000:]
        assert all(r.status == GRADED and r.score == 6 for r in results), [(r.student, r.reason) for r in results]
        assert not [r for r in results if r.station.endswith(f":{cluster.workers['stale'].pid}")]
        with Client(cluster.address, timeout="20s") as client:  # a task sent to it anyway: its station refuses
            future = client.submit(remote_grade, submission, LIMITS, template, fingerprint(course), True,
                                   workers=[stale], allow_other_workers=False, pure=False)
            with pytest.raises(Exception, match="runs course files"):
                future.result(timeout=120)
    finally:
        cluster.stop_worker("stale")


def _records(course):
    return {p.relative_to(course): p.read_bytes() for p in sorted(status_dir(course).glob("*/*.json"))}


def test_a_killed_client_leaves_a_rerun_only_what_is_missing(cluster, released_course, tmp_path):
    course = Path(shutil.copytree(released_course, tmp_path / "course", symlinks=True))
    students = [f"s{i}" for i in range(6)]
    for student in students:
        submit(course, student, reference)
    command = [sys.executable, "-m", "course.cli", "--course", str(course), "autograde", "--quiet",
               "--scheduler", cluster.address, "--notebook", "01_activations", "--notebook", "03_sequential"]
    client = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(_records(course)) < 2 and time.monotonic() < deadline and client.poll() is None:
        time.sleep(0.1)
    client.send_signal(signal.SIGKILL)
    client.wait()
    before = _records(course)
    assert 2 <= len(before) < 12, f"the kill should land mid-batch, got {len(before)} records"
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    after = _records(course)
    assert len(after) == 12 and all(after[path] == data for path, data in before.items()), \
        "a rerun regraded or lost what the killed client had written"
    assert all(r.status == GRADED and r.score == r.max_score for r in read_all(course))
    rows = grade_rows(f"sqlite:///{course / 'gradebook.db'}")
    assert all(count == 1 for count in rows.values()) and len(rows) == 6 * (17 + 8), len(rows)


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(cluster, graded):
    on_dask, url, _, first = graded
    expected = cell_scores(url)
    started = time.time()
    outcome = {}

    def run():
        outcome["results"] = autograde(on_dask, notebooks=NOTEBOOKS, limits=LIMITS, progress=False, force=True,
                                       scheduler=cluster.address)

    batch = threading.Thread(target=run)
    batch.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and batch.is_alive():
        fresh = [p for p in status_dir(on_dask).glob("*/*.json") if p.stat().st_mtime > started]
        if fresh:
            break
        time.sleep(0.1)
    killed_at = time.time()
    cluster.stop_worker("w1", signal.SIGKILL)
    batch.join(timeout=600)
    assert not batch.is_alive()
    results = outcome["results"]
    assert len(results) == len(first) and all(r.station for r in results if r.status == GRADED)
    assert {(r.student, r.notebook): r.status for r in results} == {(r.student, r.notebook): r.status for r in first}
    assert cell_scores(url) == expected, "a regrade after the kill changed a grade"
    assert all(count == 1 for count in grade_rows(url).values()), "a grade was written twice"
    records = list(status_dir(on_dask).glob("*/*.json"))
    assert all(p.stat().st_mtime > started for p in records), "every notebook was regraded (--force)"
    late = [r for r in read_all(on_dask) if (status_dir(on_dask) / r.student / f"{r.notebook}.json").stat().st_mtime
            > killed_at + 1 and r.status == GRADED]
    survivor = f":{cluster.workers['w2'].pid}"
    assert late and all(r.station.endswith(survivor) for r in late), "after the kill the other worker graded the rest"
