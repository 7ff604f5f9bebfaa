"""nbgrader configuration for a student's machine: what Validate checks and how it reports.

Stock Validate only looks at graded cells.  In this course those are the hidden tests, which
are empty in the release, so an untouched notebook "passes".  Here Validate
(``nbgrader validate`` and JupyterLab's Validate button) reports every cell that fails, the
visible tests above all, each with a short Russian explanation, and runs the notebook as the
autograder does: demonstration cells are skipped and a warning on stderr is not a failure.

Every release carries it beside the notebooks (course.authoring.apps.generate_release), so
``nbgrader validate`` and the Validate button of a JupyterLab started in the assignment's folder
read it there.  It can also be installed as ``~/.jupyter/nbgrader_config.py`` (or any folder of
``jupyter --paths``, e.g. ``/etc/jupyter`` on a JupyterHub image): Validate reads its configuration
from the Jupyter config path and the working folder, never from the notebook's own folder.
``make lab-student`` puts it into its own HOME.  The file is self-contained (the standard
library only) and holds no answer and no hidden test.
"""
import re
import textwrap

SKIP_TAG = "nncourse-demo-not-validated"
WIDTH = 80  # nbgrader indents by 4 and cuts terminal lines at 87 characters
PASSED_LINE = re.compile(r"открытые тесты (.+?) пройдены")
CELL_FRAME = re.compile(r"Cell In\[\d+\], line (\d+), in ([\w.]+)\(")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TEMP_FILE = re.compile(r"\(\d+\.py, line (\d+)\)")
STUB = "raise NotImplementedError()"


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_demo(cell):
    """A demonstration (plots, the training run): locked, no points, grade_id demo_... ."""
    meta = nbgrader_meta(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("locked")) and not meta.get("grade")
            and not meta.get("solution") and str(meta.get("grade_id", "")).startswith("demo_"))


def is_visible_test(cell):
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked")) and not meta.get("grade") and not meta.get("solution") and not is_demo(cell)


def skip_demonstration(cell, cell_index):
    """Execute.on_cell_start: the autograder does not run demonstrations, so Validate does not either
    (the tag is added to Validate's own copy of the notebook, which is never saved)."""
    if is_demo(cell):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if SKIP_TAG not in tags:
            tags.append(SKIP_TAG)


def innermost_cell_frame(traceback):
    """(function, line) of the innermost frame in notebook code, e.g. ("ReLU.forward", 15), or None."""
    frames = CELL_FRAME.findall(ANSI.sub("", "\n".join(traceback)))
    return (frames[-1][1], int(frames[-1][0])) if frames else None


def reason(ename, evalue, traceback):
    """What went wrong, in the student's words."""
    evalue = TEMP_FILE.sub(r"(строка \1)", (evalue or "").strip())
    frame = innermost_cell_frame(traceback)
    where = f" в {frame[0]} (строка {frame[1]} ячейки с его кодом)" if frame else ""
    if ename == "NotImplementedError" and not evalue:
        return f"В {frame[0] if frame else 'вызванном коде'} ещё стоит заглушка {STUB}: замените её своим кодом."
    if ename == "AssertionError":
        return f"Проверка не прошла: {evalue}" if evalue else f"Проверка не прошла{where}."
    if ename == "CellTimeoutError":
        return "Ячейка не уложилась в отведённое время и была прервана: нет ли в коде бесконечного цикла?"
    return f"Ошибка {ename}{where}: {evalue}" if evalue else f"Ошибка {ename}{where}."


def headline(cell):
    meta = nbgrader_meta(cell)
    grade_id = meta.get("grade_id")
    if is_visible_test(cell):
        named = PASSED_LINE.search(cell.get("source", ""))
        return f"✗ Открытые тесты {named.group(1) if named else grade_id} не пройдены (ячейка {grade_id})."
    if meta.get("solution"):
        return f"✗ Ячейка с вашим решением ({grade_id}) выполняется с ошибкой."
    return "✗ Эта ячейка выполняется с ошибкой."


def wrap(text):
    """Lines of at most WIDTH characters; code such as the stub is never split."""
    glued = text.replace(STUB, STUB.replace(" ", "\u00a0"))
    return [line.replace("\u00a0", " ") for paragraph in glued.splitlines() or [""]
            for line in (textwrap.wrap(paragraph, WIDTH, break_long_words=False) or [""])]


def explain_failure(cell, cell_index, execute_reply):
    """Execute.on_cell_error: the error's traceback becomes a short explanation, which is what
    Validate prints in the terminal and shows in JupyterLab's dialog."""
    errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    if not errors:
        return
    error = errors[-1]
    text = headline(cell) + "\n" + reason(error.get("ename"), error.get("evalue"), error.get("traceback", []))
    if not is_visible_test(cell):
        text += "\nЗапустите эту ячейку в ноутбуке: там будет видно, в какой строке ошибка."
    for output in errors:
        output["traceback"] = wrap(text) if output is error else []


c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.Validator.validate_all = True  # every cell, not only the graded (hidden) ones
c.Validator.failed_warning = (
    "ПРОВЕРКА НЕ ПРОЙДЕНА: ячеек с ошибками — {num_failed}. Ниже каждая из них и причина. "
    "Пока открытые тесты не проходят, скрытые тесты тоже, скорее всего, не пройдут, "
    "и полного балла за ноутбук не будет.\n")
c.Validator.changed_warning = (
    "ИЗМЕНЕНЫ ЯЧЕЙКИ, КОТОРЫЕ НЕЛЬЗЯ МЕНЯТЬ: {num_changed}. При проверке они будут заменены "
    "исходными, поэтому результат может отличаться от того, что вы видите сейчас. Верните их "
    "текст (например, скопируйте из выданного ноутбука).\n")
c.Validator.type_changed_warning = (
    "У {num_changed} ЯЧЕЕК ИЗМЕНИЛСЯ ТИП (код или текст): при проверке они не будут засчитаны. "
    "Верните им исходный тип.\n")

c.Execute.timeout = 120  # the autograder's limit per cell
c.Execute.on_cell_start = skip_demonstration
c.Execute.skip_cells_with_tag = SKIP_TAG
c.Execute.on_cell_error = explain_failure
# The autograder does not count a warning on stderr as a failure; Validate, which would, sees it on stdout.
c.Execute.extra_arguments = ["--IPKernelApp.exec_lines=__import__('sys').stderr = __import__('sys').stdout"]
