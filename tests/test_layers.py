"""The course tool's packages depend one way only, from the surface down to the base, with no cycle.

    cli -> demo -> lab, reporting, delivery -> grading -> trust -> jail, authoring -> settings

A module may import its own package and any package on a lower layer; everything may import
``probes`` (answer-free checks) and third-party code; ``solutions`` (the reference) only where a check
or the leak scan needs it.  Every import counts, also one inside a function.  A violation names the
file and line.  Importing a package loads nothing heavy: its ``__init__`` only describes it.
"""
import ast
import subprocess
import sys

import pytest

from course.settings import ROOT

COURSE = ROOT / "course"
LAYERS = {"settings": 0, "jail": 1, "authoring": 1, "trust": 2, "grading": 3, "reporting": 4, "lab": 4,
          "delivery": 4, "demo": 5, "cli": 6}
SOLUTIONS_ALLOWED = ("course/trust/", "course/reporting/feedback.py")  # the audit's reference run, the leak scan
HEAVY = ("nbgrader", "numpy", "sqlalchemy", "jupyter_client", "matplotlib", "distributed", "nbformat")


def modules(root=COURSE):
    """{dotted module name: path} of the course tool (the notebook templates are not modules)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if "templates" in relative.parts or "student" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name, path, source=None):
    """[(imported dotted name, line)] of a module, relative imports resolved; every import, wherever it is."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # "from . import x" imports a module x of the package
            found += [(f"{target}.{alias.name}" if node.module is None else target, node.lineno)
                      for alias in node.names]
    return found


def layer_of(name):
    """The layer (package under course/) a dotted course module belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(graph_modules, sources=None):
    """Imports against the direction (file:line and why), and cycles between course modules."""
    sources = sources or {}
    problems, edges = [], {}
    for name, path in graph_modules.items():
        where = path.relative_to(ROOT).as_posix()
        own = layer_of(name)
        for target, line in imports(name, path, sources.get(name)):
            top = target.split(".")[0]
            if top == "solutions" and not where.startswith(SOLUTIONS_ALLOWED):
                problems.append(f"{where}:{line}: imports the reference ({target}) outside a check")
            if top != "course":
                continue
            other = layer_of(target)
            module = next((m for m in (target, target.rpartition(".")[0]) if m in graph_modules), None)
            if module and module != name:
                edges.setdefault(name, {}).setdefault(module, line)
            if own is None or other is None or other == own:
                continue
            if other not in LAYERS or own not in LAYERS:
                problems.append(f"{where}:{line}: {own} -> {other}: a package without a layer")
            elif LAYERS[other] >= LAYERS[own]:
                problems.append(f"{where}:{line}: {own} (layer {LAYERS[own]}) imports {target} (layer {LAYERS[other]}): "
                                f"upward or sideways")
    problems += [f"cycle: {' -> '.join(cycle)}" for cycle in cycles(edges, graph_modules)]
    return problems


def cycles(edges, graph_modules):
    """Each cycle of the module graph once, as [module (file:line of the import), ...]."""
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for target, line in edges.get(node, {}).items():
            if state.get(target) == "open":
                loop = stack[stack.index(target):] + [target]
                found.append([f"{a} ({graph_modules[a].relative_to(ROOT).as_posix()}:{edges[a][b]})"
                              for a, b in zip(loop, loop[1:])])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for node in sorted(graph_modules):
        if node not in state:
            visit(node, [node])
    return found


def test_every_package_has_a_layer_and_says_what_it_is():
    packages = {p.name for p in COURSE.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(LAYERS), packages - set(LAYERS)
    flat = {p.name for p in COURSE.glob("*.py")}
    assert flat == {"__init__.py", "cli.py", "settings.py"}, flat
    for package in packages:
        doc = ast.get_docstring(ast.parse((COURSE / package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"course/{package}/__init__.py needs a paragraph saying what the package is"


def test_dependencies_point_one_way_and_never_in_a_circle():
    assert violations(modules()) == []


@pytest.mark.parametrize("module, source, expected", [
    ("course.trust.audit", "from ..grading import record\n", "trust (layer 2) imports course.grading"),
    ("course.jail.sandbox", "def f():\n    from course.authoring import apps\n", "jail (layer 1) imports course.authoring"),
    ("course.settings", "from .grading.results import GRADED\n", "settings (layer 0) imports course.grading.results"),
    ("course.grading.job", "import solutions.activations\n", "imports the reference"),
])
def test_the_check_names_an_upward_import(module, source, expected):
    graph = modules()
    found = [p for p in violations(graph, {module: source}) if expected in p]
    assert found, violations(graph, {module: source})
    assert found[0].startswith(graph[module].relative_to(ROOT).as_posix() + ":")


def test_the_check_finds_a_cycle():
    graph = modules()
    found = violations(graph, {"course.grading.results": "from . import gradebook\n"})
    assert any(p.startswith("cycle: ") and "course.grading.gradebook" in p for p in found), found


@pytest.mark.parametrize("package", sorted(p for p in LAYERS if (COURSE / p / "__init__.py").is_file()))
def test_importing_a_package_loads_nothing_heavy(package):
    code = f"import sys, course.{package}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"import course.{package} loads {done.stdout.strip()}"
