"""Name tracking for the cheat scan: what each name of a notebook stands for (imports, aliases, the
notebook's own bindings), so ``n.testing.assert_allclose = ...`` is seen as patching NumPy."""
import ast
from collections import deque

from .rules import BUILTIN_NAMES, GET_IPYTHON, IMPORT_BY_NAME, _string


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


