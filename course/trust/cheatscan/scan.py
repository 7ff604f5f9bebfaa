"""The cheat scan's walk: every code cell parsed (never run) and visited, notebooks and the course read,
flags saved.  The rules are in ``rules``, what names stand for in ``names``."""
import ast
import json
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...jail import safefiles
from ...settings import PROCESS_LOCK, load
from ..flags import LOW, flag
from .names import Names, _function_locals
from .rules import (
    CLIMB_CALLS,
    CODE_MAGICS,
    DATABASE,
    DUNDER_PATCH,
    EXEC_CALLS,
    FILE_ROOTS,
    FRAME_ATTRS,
    FRAME_WALK,
    IPYTHON,
    IPYTHON_RUNNERS,
    LOW_RISK_PATCH,
    MAGICS,
    NAMESPACE_MUTATORS,
    NON_LITERAL_PATH,
    ODD_MAGIC,
    OUTSIDE,
    PATCH,
    PATCH_LOW,
    PATH_CALLS,
    PROTECTED,
    SAFE_MAGICS,
    SHELL,
    SYNTAX,
    TIMEIT_OPTIONS,
    UNSCANNABLE,
    _string,
    longest_prefix,
    rule_for,
    suspicious_path,
)

FLAGS_FILE = Path("grading") / "flags.json"
DETAIL_LENGTH = 160


def _truncate(text, length=DETAIL_LENGTH):
    return text if len(text) <= length else text[:length - 1] + "…"


AST_LOCK = PROCESS_LOCK  # every parse holds it: the audit parses in the grader's threads (course.settings)


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


def scan_notebook(path, known=frozenset(), student=""):
    """The flags of one notebook file; an unreadable file is one flag, never an exception."""
    notebook = Path(path).stem
    try:
        cells = code_cells(path)
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return [flag(student, notebook, "", 0, "unreadable", LOW, _truncate(f"not a readable notebook: {error}"))]
    found = scan_cells([source for _, source in cells], known)
    return [flag(student, notebook, cells[index][0], f.line, f.rule, f.severity, f.detail) for index, f in found]


def course_cells(root, assignment=None):
    """Sources of the code cells the course wrote: every code cell of the release and the
    non-solution code cells (visible and hidden tests) of the source notebooks."""
    assignment = assignment or load(root).assignment
    known = set()
    for folder, keep_solutions in (("release", True), ("source", False)):
        for path in sorted((Path(root) / folder / assignment).glob("*.ipynb")):
            notebook = json.loads(path.read_text(encoding="utf-8"))
            for cell in notebook["cells"]:
                solution = cell.get("metadata", {}).get("nbgrader", {}).get("solution", False)
                if cell["cell_type"] == "code" and (keep_solutions or not solution):
                    known.add(_source_text(cell))
    return frozenset(known)


def scan_course(root, assignment=None):
    """Flags for every ``submitted/<student>/<assignment>/*.ipynb``, by student then notebook."""
    root = Path(root)
    assignment = assignment or load(root).assignment
    known = course_cells(root, assignment)
    flags = []
    for path in sorted((root / "submitted").glob(f"*/{assignment}/*.ipynb")):
        flags += scan_notebook(path, known, student=path.parent.parent.name)
    return flags


def save_flags(root, flags):
    path = Path(root) / FLAGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    safefiles.write_json(path, flags)  # readers see the old list or the new one, never half
    return path


def load_flags(root):
    """The saved flags, or None if no scan was saved."""
    path = Path(root) / FLAGS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
