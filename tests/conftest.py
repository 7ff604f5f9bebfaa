"""Shared test setup: hermetic Jupyter paths under the checkout.

Jupyter, IPython and matplotlib write config and runtime files under HOME and
their own dirs; pointing all of them into .cache/ keeps runs independent of
the machine and of each other.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".cache" / "test-home"

_PATHS = {
    "HOME": HOME,
    "JUPYTER_CONFIG_DIR": HOME / ".jupyter",
    "JUPYTER_DATA_DIR": HOME / ".local" / "share" / "jupyter",
    "JUPYTER_RUNTIME_DIR": HOME / ".local" / "share" / "jupyter" / "runtime",
    "IPYTHONDIR": HOME / ".ipython",
    "MPLCONFIGDIR": HOME / ".config" / "matplotlib",
}
for name, path in _PATHS.items():
    path.mkdir(parents=True, exist_ok=True)
    os.environ[name] = str(path)
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
matplotlib.use("Agg")


@pytest.fixture
def legacy_rng():
    """Seed NumPy's global RNG (Linear init and Dropout draw from it); restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(1234)
    yield
    np.random.set_state(state)


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """A course folder where nbgrader has generated the release (read-only: copy it)."""
    from course.authoring.apps import course_copy, generate_release

    root = course_copy(tmp_path_factory.mktemp("released"))
    generate_release(root)
    return root


@pytest.fixture
def new_course(released_course, tmp_path):
    """A private, writable copy of the released course."""
    import shutil

    return Path(shutil.copytree(released_course, tmp_path / "course", symlinks=True))


# Browser tests (tests/test_browser.py) save a screenshot per step here; CI keeps the folder.
BROWSER_ARTIFACTS = ROOT / "artifacts" / "browser"


@pytest.fixture
def screenshots(request):
    """A fresh folder artifacts/browser/<test name>/ for this test's screenshots."""
    import shutil

    folder = BROWSER_ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def pytest_terminal_summary(terminalreporter):
    ran = any("browser" in getattr(report, "keywords", {})
              for reports in terminalreporter.stats.values() for report in reports)
    if ran:
        terminalreporter.write_line(f"browser screenshots: {BROWSER_ARTIFACTS}")


# --- a throwaway PostgreSQL server (tests/test_postgres.py, tests/test_dask.py) -----------------

def _as_postgres(*cmd, check=True):
    return subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd],
                          check=check, capture_output=True, text=True, timeout=120)


class PostgresServer:
    """Debian's postgresql run as the postgres user on a Unix socket only; ``database(name)`` makes one."""

    def __init__(self, pg, sockets, port):
        self.pg, self.sockets, self.port = pg, sockets, port

    def database(self, name):
        _as_postgres(str(self.pg / "createdb"), "-h", str(self.sockets), "-p", str(self.port), "-U", "grader", name)
        return f"postgresql+psycopg2://grader@/{name}?host={self.sockets}&port={self.port}"


@pytest.fixture(scope="session")
def postgres():
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL server binaries not found: as root, apt-get install -y postgresql "
                    "(`make test` does this when run as root)", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the PostgreSQL tests start a server as the postgres user: run them as root (CI does)",
                    pytrace=False)
    pg = found[-1].parent
    base = Path(tempfile.mkdtemp(prefix="nnpg-"))  # /tmp itself: the postgres user cannot enter pytest's folders
    shutil.chown(base, "postgres", "postgres")
    data, sockets, port = base / "data", base / "sockets", 54329
    _as_postgres("mkdir", str(sockets))
    _as_postgres(str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "grader", "--no-sync")
    _as_postgres(str(pg / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-o",
                 f"-k {sockets} -p {port} -c listen_addresses='' -c fsync=off", "start")
    try:
        yield PostgresServer(pg, sockets, port)
    finally:
        _as_postgres(str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)
