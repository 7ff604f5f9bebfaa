"""Build source/nn_layers/ from the templates in course/authoring/templates/.

One source of truth: every line of answer code lives in ``solutions/``.  A
template is a percent-format script whose cells say what they are for nbgrader:

    # %% [markdown]                       theory (lines start with "# ")
    # %%                                  ordinary code
    # %% solution id=relu                 student's cell; answers go in solution regions
    # %% readonly id=relu_visible_tests   locked visible tests
    # %% hidden id=relu_hidden points=2   graded cell; body sits in a hidden-tests region
    # %% demo id=demo_relu_curves         a demonstration (plots, training): locked, no points, and not
                                          run by the autograder (course.grading.plugins.ExecuteSkippingDemos)

Inside code cells two directives pull code from the reference package:

    # @solution ReLU.forward     the method's body, between BEGIN/END SOLUTION markers
    # @given ReLU.__init__       the method's body as is, for code students are given

The helper module template may say ``# @module probes.base`` to inline that
module, which holds only answer-free base classes.

Usage: python -m course.authoring.build [--check]
"""
import argparse
import ast
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

import nbformat

from ..settings import ASSIGNMENT as ASSIGNMENT_NAME, ROOT

TEMPLATES = Path(__file__).resolve().parent / "templates"
ASSIGNMENT = ROOT / "source" / ASSIGNMENT_NAME
HELPER = "nn_helpers.py"
DEMO_PREFIX = "demo_"  # grade_id of a demonstration cell ("# %% demo id=demo_..."); see is_demo

HEADER = re.compile(r"^# %%(?: \[(?P<markdown>markdown)\])?(?: (?P<kind>solution|readonly|hidden|demo))?(?P<attrs>.*)$")
DIRECTIVE = re.compile(r"^(?P<indent>\s*)# @(?P<what>solution|given|module) (?P<target>[\w.]+)\s*$")
# The helper module is handed out: its header speaks to students (the instructor edits the template).
GENERATED = "Общий модуль курса, выдан вместе с ноутбуками. Не меняйте его: при проверке используется выданная версия."


class TemplateError(Exception):
    pass


def is_demo(cell):
    """A locked, ungraded cell the course marked as a demonstration.  Its source is the course's own:
    nbgrader's OverwriteCells restores every locked cell from the gradebook, and the autograder's
    RobustOverwriteCells strips a grade_id the gradebook does not know, so no student code can pass for
    a demonstration.  (The students' Validate configuration, course/lab/student/nbgrader_config.py, keeps
    its own copy, being self-contained; tests/test_validate.py checks that the two agree.)"""
    meta = cell.metadata.get("nbgrader", {})
    return (cell.cell_type == "code" and bool(meta.get("locked")) and not meta.get("grade")
            and not meta.get("solution") and str(meta.get("grade_id", "")).startswith(DEMO_PREFIX))


def body_source(module, qualname):
    """Source of a function's body without its docstring, dedented."""
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    lines, _ = inspect.getsourcelines(obj)
    source = textwrap.dedent("".join(lines))
    func = ast.parse(source).body[0]
    body, floor = func.body, func.lineno
    if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body, floor = body[1:], body[0].end_lineno
    if not body:
        raise TemplateError(f"{qualname} has an empty body")
    start = body[0].lineno - 1
    # Keep comments that sit just above the first statement.
    while start > floor and source.splitlines()[start - 1].strip().startswith("#"):
        start -= 1
    text = "\n".join(source.splitlines()[start:body[-1].end_lineno])
    return textwrap.dedent(text)


def module_source(name):
    """A module's source without its docstring, for inlining into the helper."""
    module = importlib.import_module(name)
    source = Path(module.__file__).read_text()
    tree = ast.parse(source)
    first = tree.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        source = "\n".join(source.splitlines()[first.end_lineno:])
    return source.strip("\n")


def expand(code, reference):
    out = []
    for line in code.splitlines():
        match = DIRECTIVE.match(line)
        if not match:
            out.append(line)
            continue
        indent, what, target = match["indent"], match["what"], match["target"]
        if what == "module":
            out.append("# --- базовые классы ---")
            out.append(module_source(target))
            out.append("# --- конец базовых классов ---")
            continue
        if reference is None:
            raise TemplateError(f"'# @{what} {target}' needs a '# reference: <module>' line")
        body = textwrap.indent(body_source(reference, target), indent)
        if what == "solution":
            out += [f"{indent}### BEGIN SOLUTION", body, f"{indent}### END SOLUTION"]
        else:
            out.append(body)
    return "\n".join(out)


def parse_cells(text, name):
    """Split a template into (kind, attrs, source) triples."""
    cells, reference, current = [], None, None
    for number, line in enumerate(text.splitlines(), 1):
        if current is None and line.startswith("# reference:"):
            reference = importlib.import_module(line.split(":", 1)[1].strip())
            continue
        match = HEADER.match(line)
        if match:
            kind = "markdown" if match["markdown"] else match["kind"] or "code"
            attrs = dict(pair.split("=", 1) for pair in match["attrs"].split())
            current = [kind, attrs, []]
            cells.append(current)
        elif current is not None:
            current[2].append(line)
        elif line.strip():
            raise TemplateError(f"{name}:{number}: text before the first '# %%' cell")
    result = []
    for kind, attrs, lines in cells:
        source = "\n".join(lines).strip("\n")
        if kind == "markdown":
            source = "\n".join(re.sub(r"^# ?", "", line) for line in source.splitlines())
        else:
            source = expand(source, reference)
        result.append((kind, attrs, source))
    return result


def nbgrader_metadata(kind, attrs, name):
    if kind in ("markdown", "code"):
        return None
    if "id" not in attrs:
        raise TemplateError(f"{name}: a {kind} cell needs id=")
    if (kind == "demo") != attrs["id"].startswith(DEMO_PREFIX):
        raise TemplateError(f"{name}: {attrs['id']}: demo cells, and only they, have ids starting with {DEMO_PREFIX}")
    meta = {"grade": kind == "hidden", "grade_id": attrs["id"], "locked": kind != "solution",
            "schema_version": 3, "solution": kind == "solution", "task": False}
    if kind == "hidden":
        meta["points"] = int(attrs["points"])
    return meta


def build_notebook(template):
    cells = []
    for index, (kind, attrs, source) in enumerate(parse_cells(template.read_text(), template.name)):
        if kind == "hidden":
            body = source.split("\n", 1)
            if len(body) < 2 or not body[0].startswith("#"):
                raise TemplateError(f"{template.name}: hidden cell {attrs.get('id')} must start with a comment "
                                    "line that students will see")
            source = f"{body[0]}\n### BEGIN HIDDEN TESTS\n{body[1]}\n### END HIDDEN TESTS"
        cell = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell)(source)
        cell.id = attrs.get("id", f"{template.stem}-{index}").replace("_", "-")[:64]
        meta = nbgrader_metadata(kind, attrs, template.name)
        if meta:
            cell.metadata["nbgrader"] = meta
        if kind == "hidden":
            cell.metadata["deletable"] = cell.metadata["editable"] = False
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def build_helper(template):
    header = f"# {GENERATED}\n"
    return header + expand(template.read_text(), None).rstrip("\n") + "\n"


def outputs():
    """Every generated file, as {path: text}."""
    files = {ASSIGNMENT / HELPER: build_helper(TEMPLATES / HELPER)}
    for template in sorted(TEMPLATES.glob("[0-9]*.py")):
        files[ASSIGNMENT / f"{template.stem}.ipynb"] = build_notebook(template)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if source/ differs from the templates")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        print("stale generated files (run `make notebooks`):", *stale, sep="\n  ", file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'built'}: {len(outputs())} files, {len(stale)} "
          f"{'stale' if args.check else 'updated'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
