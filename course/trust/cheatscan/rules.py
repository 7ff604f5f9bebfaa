"""The cheat scan's rules: which names, magics, paths and patterns are suspicious, and how much."""
import ast
import builtins
import re
from dataclasses import dataclass

from ..flags import HIGH, LOW


@dataclass(frozen=True)
class Rule:
    rule: str
    severity: str
    why: str


def _rules(names, rule, severity, why):
    return dict.fromkeys(names.split(), Rule(rule, severity, why))


# Rules the scanner raises itself (NAMES below maps names to rules).
PATCH = Rule("monkeypatch", HIGH, "patches a module, builtins or the shell")
PATCH_LOW = Rule("monkeypatch", LOW, "patches a module nothing graded relies on")
FRAME_WALK = Rule("frame-walk", HIGH, "reaches other code's frames or objects")
OUTSIDE = Rule("file-access", HIGH, "reaches outside the working folder")
DATABASE = Rule("file-access", HIGH, "opens a database (the gradebook is one)")
NON_LITERAL_PATH = Rule("file-access", LOW, "path not a literal")
IPYTHON = Rule("ipython", HIGH, "drives the IPython shell")
SHELL = Rule("process", HIGH, "runs a shell or another program")
ODD_MAGIC = Rule("magic", LOW, "unusual magic")
SYNTAX = Rule("syntax-error", LOW, "does not parse")
UNSCANNABLE = Rule("unscannable", HIGH, "too deeply nested to scan")

OS_PROCESS = ("system popen fork forkpty posix_spawn posix_spawnp spawnl spawnle spawnlp spawnlpe spawnv spawnve "
              "spawnvp spawnvpe execl execle execlp execlpe execv execve execvp execvpe")

# Dotted names (modules, functions, attributes) and what using one means.  The longest
# matching prefix wins ("importlib.reload" over "importlib").  A key without a dot is a
# whole package: it is flagged once per cell, not on every line that uses it.
NAMES = {
    **_rules("solutions nbgrader course", "import-reference", HIGH, "uses the course's reference or grader code"),
    **_rules("torch tensorflow keras jax jaxlib flax autograd mxnet paddle chainer theano tinygrad mlx lightning "
             "pytorch_lightning", "import-framework", HIGH, "a framework that computes the answers"),
    **_rules("ctypes _ctypes cffi", "ctypes", HIGH, "calls C code directly"),
    **_rules("subprocess multiprocessing pty pexpect concurrent.futures.ProcessPoolExecutor "
             "asyncio.create_subprocess_exec asyncio.create_subprocess_shell "
             + " ".join(f"os.{name}" for name in OS_PROCESS.split()), "process", HIGH, "starts processes"),
    **_rules("resource", "process", LOW, "changes resource limits"),
    **_rules("os._exit os.abort os.kill os.killpg", "os-exit", HIGH, "kills or exits the kernel"),
    **_rules("builtins.exit builtins.quit", "os-exit", LOW, "asks the kernel to exit"),
    **_rules("signal", "signal", HIGH, "changes signal handling"),
    **_rules("socket ssl http urllib requests httpx aiohttp ftplib smtplib poplib imaplib telnetlib xmlrpc "
             "socketserver websocket websockets zmq paramiko webbrowser", "network", HIGH, "network access"),
    **_rules("sys.modules sys.meta_path sys.path_hooks sys.path_importer_cache", "sys-modules", HIGH,
             "touches the import machinery"),
    **_rules("sys.path", "sys-modules", LOW, "changes where imports come from"),
    **_rules("importlib imp zipimport builtins.__import__", "dynamic-import", HIGH, "imports by name at run time"),
    **_rules("importlib.reload", "dynamic-import", LOW, "reloads a module"),
    **_rules("builtins.exec builtins.eval builtins.compile types.FunctionType types.CodeType runpy code codeop",
             "exec-eval", HIGH, "runs code built at run time"),
    **dict.fromkeys("sys._getframe sys._current_frames sys.settrace sys.setprofile threading.settrace "
                    "threading.setprofile inspect.stack inspect.currentframe inspect.getouterframes "
                    "inspect.getinnerframes inspect.trace gc.get_objects gc.get_referrers gc.get_referents "
                    "traceback.walk_stack".split(), FRAME_WALK),
    **_rules("sys.addaudithook", "monkeypatch", HIGH, "installs an audit hook"),
    "sqlite3": DATABASE,
    **dict.fromkeys("pathlib.Path.home os.path.expanduser os.pardir".split(), OUTSIDE),
    "get_ipython()": IPYTHON,
}
# Attributes that walk frames or reach other modules' globals, whatever object they are read from.
FRAME_ATTRS = frozenset("f_back f_globals f_builtins gi_frame cr_frame ag_frame __subclasses__ __globals__".split())
# Assigning these on any object swaps code or class behind the grader's back.
DUNDER_PATCH = frozenset("__class__ __bases__ __code__ __globals__ __defaults__ __kwdefaults__ __dict__".split())
# Patching these modules changes nothing the grader relies on: low severity.
LOW_RISK_PATCH = frozenset("matplotlib tqdm seaborn pandas mpl_toolkits".split())
NAMESPACE_MUTATORS = frozenset("update setdefault pop popitem clear __setitem__ __delitem__".split())
GET_IPYTHON = frozenset({"builtins.get_ipython", "IPython.get_ipython", "IPython.core.getipython.get_ipython"})
IMPORT_BY_NAME = frozenset({"builtins.__import__", "importlib.import_module", "importlib.__import__"})
EXEC_CALLS = frozenset({"builtins.exec", "builtins.eval", "builtins.compile"})
IPYTHON_RUNNERS = {"get_ipython()." + m for m in ("run_line_magic", "run_cell_magic", "magic", "system", "getoutput")}
IPYTHON_EXTRAS = frozenset({"get_ipython", "display", "exit", "quit"})  # names the kernel adds to builtins

# Calls that open or change files, and which positional arguments are paths (None: all).
# A non-literal path there is a low flag; a suspicious literal anywhere in a call into
# FILE_ROOTS is a high one.
PATH_CALLS = {
    **dict.fromkeys("builtins.open io.open codecs.open os.open os.listdir os.scandir os.walk os.remove os.unlink "
                    "os.rmdir os.removedirs os.mkdir os.makedirs os.chdir os.chmod os.chown os.truncate glob.glob "
                    "glob.iglob numpy.load numpy.save numpy.savez numpy.savez_compressed numpy.loadtxt numpy.savetxt "
                    "numpy.genfromtxt numpy.fromfile numpy.memmap sqlite3.connect tarfile.open zipfile.ZipFile".split(),
                    (0,)),
    **dict.fromkeys("os.rename os.renames os.replace os.symlink os.link shutil".split(), (0, 1)),
    **dict.fromkeys("pathlib.Path pathlib.PurePath pathlib.PosixPath".split(), None),
}
FILE_ROOTS = frozenset({*PATH_CALLS, "os", "pathlib", "nn_helpers.load_from_notebook", "matplotlib.pyplot.savefig"})
COURSE_FOLDERS = frozenset("source release submitted autograded feedback grading solutions".split())
CLIMB_CALLS = frozenset("cwd home resolve absolute expanduser getcwd abspath".split())

SAFE_MAGICS = frozenset(
    "matplotlib config precision xmode who whos who_ls autoreload aimport pinfo pinfo2 pdoc pdef psource debug pdb "
    "tb lsmagic magic page pprint colors history hist quickref reset reset_selective xdel doctest_mode html HTML "
    "markdown latex svg".split())
CODE_MAGICS = frozenset("time timeit prun capture".split())  # their argument or body is Python: scanned
MAGICS = {
    **dict.fromkeys("sx system bash sh script perl ruby python python2 python3 pypy pip conda mamba micromamba uv "
                    "alias killbgscripts".split(), SHELL),
    **_rules("writefile file save store cd pushd popd bookmark logstart notebook", "file-access", HIGH,
             "writes files or changes folder"),
    **_rules("run load loadpy macro edit", "exec-eval", HIGH, "runs or loads code from elsewhere"),
    **_rules("env set_env", "process", LOW, "changes environment variables"),
}
TIMEIT_OPTIONS = re.compile(r"^(?:\s*-(?:[nrp]\s*\d+|[tcqov]+)(?=\s))*\s*")


def _protected_builtins():
    """Builtin names whose top-level rebinding changes how later cells (and tests) behave."""
    exceptions = {name for name, value in vars(builtins).items()
                  if isinstance(value, type) and issubclass(value, BaseException)}
    return frozenset(exceptions | {"__builtins__", "__import__", "__build_class__", "isinstance", "issubclass",
                                   "get_ipython"})


PROTECTED = _protected_builtins()
BUILTIN_NAMES = frozenset(dir(builtins)) | IPYTHON_EXTRAS


# ------------------------------------------------------------ helpers ----

def longest_prefix(keys, qualified):
    """The longest dotted prefix of ``qualified`` ("os.path.join" -> "os.path", "os") in ``keys``, or None."""
    parts = qualified.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in keys:
            return key
    return None


def rule_for(qualified):
    """(Rule, matched key) for ``qualified`` in NAMES, or (None, None)."""
    key = longest_prefix(NAMES, qualified)
    return (NAMES[key], key) if key else (None, None)


def _string(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _leading_text(node):
    """The literal text a path expression starts with ("" if it starts with a variable)."""
    if isinstance(node, ast.JoinedStr):
        return _leading_text(node.values[0]) if node.values else ""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _leading_text(node.left)
    return _string(node) or ""


def suspicious_path(node):
    """Why a path expression points outside the student's folder, or None."""
    lead = _leading_text(node)
    if lead.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:[\\/]", lead):
        return f"absolute path {lead[:40]!r}"
    for sub in ast.walk(node):
        text = _string(sub)
        if text is None:
            continue
        parts = set(re.split(r"[\\/]", text))
        if ".." in parts:
            return f"parent folder in {text[:40]!r}"
        if "gradebook" in text.lower() or text.endswith(".db"):
            return f"database {text[:40]!r}"
        if parts & COURSE_FOLDERS:
            return f"course folder in {text[:40]!r}"
    return None
