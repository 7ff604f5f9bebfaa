"""Static cheat scan: read every student code cell with ``ast``, never run it.

What is scanned: every code cell of every ``submitted/<student>/<assignment>/*.ipynb``
except cells whose source is byte-identical to a code cell the course wrote (any
code cell of the release, or a non-solution cell of the source notebooks, i.e. the
hidden tests).  That rule ignores nbgrader metadata on purpose: a student can strip
or edit it, but cannot change a cell's text without it being scanned, and the
course's own code (``from nn_helpers import ...``) never flags.  Names bound in any
cell (``import numpy as np`` in the course's first cell) are known to every cell.

IPython syntax is turned into Python by IPython's own input transformer (what the
kernel runs), so ``%matplotlib inline`` parses, ``!cmd`` becomes a shell call that
is flagged, and the code inside ``%time``/``%%timeit``/``%%capture`` is scanned too.

A flag is a dict: student, notebook, cell (grade_id, cell id, or "cell N"), line
(in the cell), rule, severity ("high": a clear cheat or escape pattern; "low":
worth a look) and detail (why, with the offending line).  A flag is not a zero:
the instructor decides.  Rules:

  import-reference  the course's reference package ``solutions`` (or nbgrader, course)
  import-framework  torch, tensorflow, jax, autograd...: libraries that compute the answers
  monkeypatch       assigning/deleting attributes of modules, builtins or get_ipython();
                    rebinding builtin exceptions, ``__builtins__``... at top level
  sys-modules       sys.modules and the import machinery (sys.path: low)
  dynamic-import    importlib, __import__
  exec-eval         exec, eval, compile, %run, code objects
  file-access       open/os/shutil/pathlib with absolute, ~, .. or course-folder paths
                    (non-literal paths: low), the gradebook, %%writefile
  ctypes, os-exit, process, signal, network, frame-walk, ipython, magic,
  syntax-error (a cell that does not parse), unscannable (too deeply nested for the scan),
  unreadable (a notebook that is not JSON)

sklearn is not flagged: the course itself loads its digits data set with it.
"""
import ast
import builtins
import json
import os
import re
import threading
import warnings
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HIGH, LOW = "high", "low"
FLAGS_FILE = Path("grading") / "flags.json"
DETAIL_LENGTH = 160


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


def _truncate(text, length=DETAIL_LENGTH):
    return text if len(text) <= length else text[:length - 1] + "…"


# CPython 3.11's AST constructor keeps its recursion depth in global state: two threads parsing at once
# can fail with "SystemError: AST constructor recursion depth mismatch" (the audit runs in threads).
# So can warnings.catch_warnings, which swaps process-wide filters.  Every parse here holds this lock.
AST_LOCK = threading.RLock()


@lru_cache(maxsize=4096)  # the course's own cells recur in every submission; trees are only read
def parse_cell(source):
    """IPython source -> ast.Module (SyntaxError if it does not parse).  Never runs it."""
    with AST_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes etc. in student code are not our warnings
        if any(c in source for c in "%!?"):  # else there is no IPython syntax to turn into Python
            source = _ipython_to_python(source)
        try:
            return ast.parse(source)
        except (ValueError, RecursionError, MemoryError) as error:  # null bytes, absurd nesting
            raise SyntaxError(str(error)) from None


def _ipython_to_python(source):
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - a transformer failure leaves the plain source to the parser
        return source


# -------------------------------------------------------------- names ----

class Names:
    """What the names of one notebook stand for: imports and module aliases, and the
    names its top level binds otherwise (they shadow builtins)."""

    def __init__(self):
        self.aliases = {}  # name -> dotted name, e.g. "np" -> "numpy"
        self.top_level = set()
        self._alias_targets = set()  # ids of the Name nodes an alias assignment binds

    def learn(self, tree):
        """Imports anywhere (a function may import and patch); other bindings at the top level."""
        for node, top in _nodes_with_scope(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:  # import a.b as x: x is a.b
                        self.aliases[alias.asname] = alias.name
                    else:  # import a.b: binds a
                        self.aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}".lstrip(".")
            elif top:
                self._learn_binding(node)

    def _learn_binding(self, node):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            qualified = self.qualify(node.value)
            if qualified is not None:  # `n = numpy`, `shell = get_ipython()`: an alias
                self.aliases.setdefault(target, qualified)
                self._alias_targets.add(id(node.targets[0]))
                return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.top_level.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in self._alias_targets:
            self.top_level.add(node.id)

    def is_also_variable(self, name):
        """A module's name the notebook also binds to its own value (`copy = x.copy()`)."""
        return name in self.aliases and name in self.top_level

    def qualify(self, node, is_local=lambda name: False):
        """The dotted name an expression stands for ("numpy.testing.assert_allclose",
        "builtins.exec", "get_ipython().events"), or None for the student's own values."""
        if isinstance(node, ast.Name):
            return self._qualify_name(node.id, is_local)
        if isinstance(node, ast.Attribute):
            if node.attr == "__builtins__":
                return "builtins"
            base = self.qualify(node.value, is_local)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):
            key = _string(node.slice)
            if key and self.qualify(node.value, is_local) == "sys.modules":
                return key
            return None
        if isinstance(node, ast.Call):
            return self._qualify_call(node, is_local)
        return None

    def _qualify_name(self, name, is_local):
        if is_local(name):
            return None
        if name in self.aliases:
            return self.aliases[name]
        if name == "__builtins__":
            return "builtins"
        if name in self.top_level:
            return None
        if name in BUILTIN_NAMES:
            return f"builtins.{name}"
        return "solutions" if name == "solutions" else None  # the reference, even without an import here

    def _qualify_call(self, node, is_local):
        func = self.qualify(node.func, is_local)
        first = _string(node.args[0]) if node.args else None
        second = _string(node.args[1]) if len(node.args) > 1 else None
        if func in GET_IPYTHON:
            return "get_ipython()"
        if func in IMPORT_BY_NAME and first:
            return first
        if func == "builtins.getattr" and second:
            base = self.qualify(node.args[0], is_local)
            return f"{base}.{second}" if base else None
        if func == "builtins.vars":
            base = self.qualify(node.args[0], is_local) if node.args else "globals()"
            return base and (base if base == "globals()" else f"{base}.__dict__")
        if func == "builtins.globals":
            return "globals()"
        return None


def _nodes_with_scope(tree):
    """(node, at top level) for every node, in source order for the top level: a node inside a
    function, class or lambda body is not at the top level (the def itself is)."""
    todo = deque((node, True) for node in tree.body)
    while todo:
        node, top = todo.popleft()
        yield node, top
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
        todo.extend((child, inner) for child in ast.iter_child_nodes(node))


def _function_locals(node):
    """Names a function (or lambda) binds itself: parameters and assigned names, minus globals."""
    args = node.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a}
    body = node.body if isinstance(node.body, list) else [node.body]
    declared = set()
    for sub in (n for stmt in body for n in ast.walk(stmt)):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            declared.update(sub.names)
    return names - declared, declared


# ------------------------------------------------------------ findings ----

@dataclass(frozen=True)
class Finding:
    line: int
    rule: str
    severity: str
    detail: str


class Findings:
    """The findings of one cell: one per (line, rule); a whole package once per cell."""

    def __init__(self, source):
        self.lines = source.split("\n")
        self.found = {}
        self.packages = set()

    def add(self, line, rule, why, package=None):
        if package in self.packages:
            return
        if package:
            self.packages.add(package)
        line = min(max(int(line or 1), 1), len(self.lines))
        text = self.lines[line - 1].strip()
        self.found.setdefault((line, rule.rule), Finding(line, rule.rule, rule.severity, _truncate(f"{why}: {text}")))

    def sorted(self):
        return sorted(self.found.values(), key=lambda f: (f.line, f.rule))


# ------------------------------------------------------------- scanner ----

class CellScanner(ast.NodeVisitor):
    """Walks one cell's tree and records what it finds; ``offset`` maps nested code
    (a %%time body, an exec string) back to the cell's own line numbers."""

    def __init__(self, names, findings, offset=0):
        self.names = names
        self.findings = findings
        self.offset = offset
        self.scopes = []  # (local names, global declarations) per enclosing function
        self.depth = 0  # function/class nesting: 0 is the notebook's top level

    # -- plumbing

    def flag(self, node, rule, why=None, package=None):
        self.findings.add(getattr(node, "lineno", 1) + self.offset, rule, why or rule.why, package)

    def is_local(self, name):
        return any(name in local for local, _ in self.scopes)

    def qualify(self, node):
        return self.names.qualify(node, self.is_local)

    def binds_top_level(self, name):
        return self.depth == 0 or bool(self.scopes and name in self.scopes[-1][1])

    def scan_nested(self, source, line):
        """Scan code held in a string, starting on cell line ``line``; False if it does not parse."""
        try:
            tree = parse_cell(source)
        except SyntaxError:
            return False
        CellScanner(self.names, self.findings, self.offset + line - 1).visit(tree)
        return True

    def lookup(self, node):
        qualified = self.qualify(node)
        if qualified:
            self.flag_use(node, qualified)

    def flag_use(self, node, qualified):
        """Flag the use of a dotted name NAMES knows (a module, a module's function, a builtin)."""
        rule, key = rule_for(qualified)
        if rule:
            self.flag(node, rule, f"{rule.why} ({qualified})", package=None if "." in key else key)

    # -- scopes

    def visit_FunctionDef(self, node):
        self._check_rebinding(node, node.name)
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._in_scope(node, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._in_scope(node, [node.body])

    def _in_scope(self, node, body):
        for default in [*node.args.defaults, *node.args.kw_defaults]:  # evaluated in the enclosing scope
            if default is not None:
                self.visit(default)
        self.scopes.append(_function_locals(node))
        self.depth += 1
        for stmt in body:
            self.visit(stmt)
        self.depth -= 1
        self.scopes.pop()

    def visit_ClassDef(self, node):
        self._check_rebinding(node, node.name)
        for sub in [*node.bases, *node.keywords, *node.decorator_list]:
            self.visit(sub)
        self.depth += 1
        for stmt in node.body:
            self.visit(stmt)
        self.depth -= 1

    # -- names, imports

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):  # binding a name is not using what it used to mean
            self.lookup(node)

    def visit_Attribute(self, node):
        self.lookup(node)
        if node.attr in FRAME_ATTRS:
            self.flag(node, FRAME_WALK, f"reads .{node.attr}")
        if node.attr in ("parent", "parents") and self._climbs(node.value):
            self.flag(node, OUTSIDE, "goes up from the working folder")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        self.lookup(node)
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self.flag_use(node, alias.name)

    def visit_ImportFrom(self, node):
        module = (node.module or "").lstrip(".")
        for name in [module, *(f"{module}.{alias.name}" for alias in node.names)]:
            self.flag_use(node, name.lstrip("."))

    def visit_Constant(self, node):
        if isinstance(node.value, str) and "gradebook" in node.value.lower():
            self.flag(node, DATABASE, "names the gradebook")

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Div):  # path / "..": a string divided is a path
            for side in (node.left, node.right):
                why = _string(side) is not None and suspicious_path(side)
                if why:
                    self.flag(node, OUTSIDE, why)
        self.generic_visit(node)

    # -- assignments: monkeypatching and rebinding builtins

    def visit_Assign(self, node):  # also +=, annotated assignment and del
        for target in getattr(node, "targets", None) or [node.target]:
            self._check_target(target)
        self.generic_visit(node)

    visit_AugAssign = visit_AnnAssign = visit_Delete = visit_Assign

    def _check_target(self, target):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
        elif isinstance(target, ast.Starred):
            self._check_target(target.value)
        elif isinstance(target, ast.Attribute):
            root = target.value
            while isinstance(root, ast.Attribute):
                root = root.value
            own = isinstance(root, ast.Name) and self.names.is_also_variable(root.id)
            self._check_attribute_patch(target, self.qualify(target.value), target.attr, own)
        elif isinstance(target, ast.Subscript):
            self._check_namespace_write(target, self.qualify(target.value), _string(target.slice))
        elif isinstance(target, ast.Name):
            self._check_rebinding(target, target.id)

    def _check_attribute_patch(self, node, owner, attr, maybe_own=False):
        if owner:
            low = maybe_own or owner.split(".")[0] in LOW_RISK_PATCH
            note = f" (or the student's own variable {owner.split('.')[0]})" if maybe_own else ""
            self.flag(node, PATCH_LOW if low else PATCH, f"patches {owner}.{attr}{note}")
        elif attr in DUNDER_PATCH:
            self.flag(node, PATCH, f"patches .{attr}")

    def _check_namespace_write(self, node, namespace, key):
        if namespace is None or not _is_namespace(namespace):
            return
        serious = namespace != "globals()" or key is None or key in PROTECTED
        self.flag(node, PATCH if serious else PATCH_LOW, f"writes into {namespace}" + (f" [{key!r}]" if key else ""))

    def _check_rebinding(self, node, name):
        if name in PROTECTED and self.binds_top_level(name):
            self.flag(node, PATCH, f"rebinds the builtin {name}")

    # -- calls

    def visit_Call(self, node):
        func = self.qualify(node.func)
        if func in IPYTHON_RUNNERS:
            self._check_ipython_runner(node, func.rsplit(".", 1)[1])
            for sub in [*node.args, *node.keywords]:
                self.visit(sub)
            return
        self.lookup(node)
        if func in EXEC_CALLS and node.args and _string(node.args[0]):
            self.scan_nested(_string(node.args[0]), node.lineno)
        if func in ("builtins.setattr", "builtins.delattr") and node.args:
            self._check_attribute_patch(node, self.qualify(node.args[0]), _first_string(node.args[1:]) or "<computed>")
        self._check_method_call(node)
        if func:
            self._check_paths(node, func)
        self.generic_visit(node)

    def _check_method_call(self, node):
        """``X.__setattr__(...)``, ``np.__dict__.update(...)``, ``Path.cwd().joinpath("..")``."""
        if not isinstance(node.func, ast.Attribute):
            return
        receiver, method = self.qualify(node.func.value), node.func.attr
        if method in ("__setattr__", "__delattr__"):  # np.__setattr__(name, f), object.__setattr__(np, name, f)
            owner = receiver if receiver and receiver != "builtins.object" else \
                (self.qualify(node.args[0]) if node.args else None)
            self._check_attribute_patch(node, owner, _first_string(node.args) or "<computed>")
        elif method in NAMESPACE_MUTATORS and receiver and _is_namespace(receiver):
            self._check_namespace_write(node, receiver, None)
        elif any(func.startswith("pathlib.") for func in self._calls_in(node.func.value)):
            self._check_suspicious_args(node, f"pathlib .{method}")

    def _check_paths(self, node, func):
        if longest_prefix(FILE_ROOTS, func):
            self._check_suspicious_args(node, func)
        if func == "os.path.dirname" and any(self._climbs(arg) for arg in node.args):
            self.flag(node, OUTSIDE, "goes up from the working folder")
        key = longest_prefix(PATH_CALLS, func)
        if key is None:
            return
        positions = PATH_CALLS[key]
        chosen = node.args if positions is None else [node.args[i] for i in positions if i < len(node.args)]
        chosen += [k.value for k in node.keywords if k.arg in ("file", "path", "fname", "src", "dst", "database")]
        if any(not _is_literal_path(arg, self.qualify) for arg in chosen):
            self.flag(node, NON_LITERAL_PATH, f"path not a literal ({func})")

    def _check_suspicious_args(self, node, what):
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            why = suspicious_path(arg)
            if why:
                self.flag(node, OUTSIDE, f"{why} ({what})")

    def _calls_in(self, node):
        """Dotted names of the calls inside an expression ("" for the student's own)."""
        return [self.qualify(sub.func) or "" for sub in ast.walk(node) if isinstance(sub, ast.Call)]

    def _climbs(self, node):
        """Does a path expression start from the working folder or home (so .parent leaves it)?"""
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call):
                continue
            func = self.qualify(sub.func) or ""
            if func.startswith(("pathlib.", "os.")) and func.rsplit(".", 1)[-1] in CLIMB_CALLS:
                return True
            if func.startswith("pathlib.") and all(_string(a) in (".", "") for a in sub.args):
                return True  # Path() or Path("."): the working folder
        return False

    # -- IPython magics (after the input transformer they are calls on get_ipython())

    def _check_ipython_runner(self, node, method):
        if method in ("system", "getoutput"):
            self.flag(node, SHELL, "runs a shell command")
            return
        texts = [_string(arg) for arg in node.args]
        if method == "magic" and texts and texts[0]:
            name, _, line = texts[0].partition(" ")
            texts = [name, line]
        if not texts or texts[0] is None:
            self.flag(node, IPYTHON, "runs a magic chosen at run time")
            return
        name, line = texts[0], texts[1] if len(texts) > 1 else ""
        body = texts[2] if method == "run_cell_magic" and len(texts) > 2 else None
        self._check_magic(node, name, line or "", body)

    def _check_magic(self, node, name, line, body):
        rule = MAGICS.get(name)
        if rule:
            self.flag(node, rule, f"{'%%' if body is not None else '%'}{name}: {rule.why}")
        elif name == "load_ext":
            if line.strip() != "autoreload":
                self.flag(node, ODD_MAGIC, f"loads the IPython extension {line.strip()!r}")
        elif name in CODE_MAGICS:
            self._scan_magic_code(node, name, line, body)
        elif name not in SAFE_MAGICS:
            self.flag(node, ODD_MAGIC, f"unusual magic %{name}")

    def _scan_magic_code(self, node, name, line, body):
        if body is not None:  # a cell magic: the body starts on the cell's second line
            if not self.scan_nested(body, node.lineno + 1):
                self.flag(node, SYNTAX, f"%%{name} body does not parse")
            if name != "timeit":
                return
        code = TIMEIT_OPTIONS.sub("", line, count=1) if name in ("timeit", "prun") else line
        if code.strip() and not self.scan_nested(code, node.lineno):
            self.flag(node, ODD_MAGIC, f"could not read the code of %{name}")


def _first_string(nodes):
    return next((_string(n) for n in nodes if _string(n) is not None), None)


def _is_namespace(qualified):
    return qualified in ("builtins", "globals()") or qualified.endswith(".__dict__") \
        or qualified.startswith("get_ipython()")


def _is_literal_path(node, qualify):
    if _string(node) is not None:
        return True
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        return _is_literal_path(node.left, qualify) and _is_literal_path(node.right, qualify)
    if isinstance(node, ast.Call):
        func = qualify(node.func) or ""
        return func.startswith(("pathlib.", "os.path.join")) and all(_is_literal_path(a, qualify) for a in node.args)
    return False


# ----------------------------------------------------------- notebooks ----

def scan_cells(sources, known=frozenset()):
    """[(cell index, Finding)] for a notebook's code cells in order; cells whose source is
    in ``known`` (the course's own code) are not scanned but their imports count."""
    names, trees = Names(), []
    for source in sources:
        try:
            tree = parse_cell(source)
        except SyntaxError as error:
            tree = error
        else:
            names.learn(tree)
        trees.append(tree)
    found = []
    for index, (source, tree) in enumerate(zip(sources, trees)):
        if source in known:
            continue
        findings = Findings(source)
        if isinstance(tree, SyntaxError):
            findings.add(tree.lineno, SYNTAX, f"does not parse ({tree.msg})")
        else:
            try:
                CellScanner(names, findings).visit(tree)
            except RecursionError:  # it parses, so it runs, but we cannot read it
                findings.add(1, UNSCANNABLE, UNSCANNABLE.why)
        found += [(index, f) for f in findings.sorted()]
    return found


def _source_text(cell):
    source = cell.get("source", "")
    return "".join(str(s) for s in source) if isinstance(source, list) else str(source)


def _cell_label(cell, index):
    metadata = cell.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return str(grade_id or cell.get("id") or f"cell {index + 1}")


def code_cells(path):
    """[(label, source)] of a notebook's code cells; ValueError/OSError if it is not a notebook."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise ValueError("no list of cells")
    return [(_cell_label(cell, i), _source_text(cell)) for i, cell in enumerate(cells)
            if isinstance(cell, dict) and cell.get("cell_type") == "code"]


def _flag(student, notebook, cell, line, rule, severity, detail):
    return {"student": student, "notebook": notebook, "cell": cell, "line": line, "rule": rule,
            "severity": severity, "detail": detail}


def scan_notebook(path, known=frozenset(), student=""):
    """The flags of one notebook file; an unreadable file is one flag, never an exception."""
    notebook = Path(path).stem
    try:
        cells = code_cells(path)
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return [_flag(student, notebook, "", 0, "unreadable", LOW, _truncate(f"not a readable notebook: {error}"))]
    found = scan_cells([source for _, source in cells], known)
    return [_flag(student, notebook, cells[index][0], f.line, f.rule, f.severity, f.detail) for index, f in found]


def course_cells(root, assignment="nn_layers"):
    """Sources of the code cells the course wrote: every code cell of the release and the
    non-solution code cells (visible and hidden tests) of the source notebooks."""
    known = set()
    for folder, keep_solutions in (("release", True), ("source", False)):
        for path in sorted((Path(root) / folder / assignment).glob("*.ipynb")):
            notebook = json.loads(path.read_text(encoding="utf-8"))
            for cell in notebook["cells"]:
                solution = cell.get("metadata", {}).get("nbgrader", {}).get("solution", False)
                if cell["cell_type"] == "code" and (keep_solutions or not solution):
                    known.add(_source_text(cell))
    return frozenset(known)


def scan_course(root, assignment="nn_layers"):
    """Flags for every ``submitted/<student>/<assignment>/*.ipynb``, by student then notebook."""
    root = Path(root)
    known = course_cells(root, assignment)
    flags = []
    for path in sorted((root / "submitted").glob(f"*/{assignment}/*.ipynb")):
        flags += scan_notebook(path, known, student=path.parent.parent.name)
    return flags


def save_flags(root, flags):
    path = Path(root) / FLAGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(flags, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # readers see the old list or the new one, never half
    return path


def load_flags(root):
    """The saved flags, or None if no scan was saved."""
    path = Path(root) / FLAGS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
