"""One term per idea in the course's Russian text.

The course says «прямой проход / обратный проход» (forward / backward pass) and
«скользящие средние» (BatchNorm's running statistics).  The synonyms once used
alongside them are retired; this test finds them in the notebook templates, the
helper module and the hidden checks' messages, and reports file:line for each.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Every inflection: «прямой ход», «при прямом ходе», «обратного хода»...  [\s#]+ lets a
# term run over a line break inside a markdown cell, where each line starts with "# ".
RETIRED = {
    "«прямой ход» — пишите «прямой проход»": r"\bпрям\w*[\s#]+ход\w*",
    "«обратный ход» — пишите «обратный проход»": r"\bобратн\w*[\s#]+ход\w*",
    "«бегущие статистики» — пишите «скользящие средние»": r"\bбегущ\w*",
    "«running-статистики» — пишите «скользящие средние»": r"running-статистик\w*",
    "«накопленные средние» — пишите «скользящие средние»": r"\bнакопленн\w*[\s#]+средн\w*",
}
PATTERNS = {why: re.compile(pattern, re.IGNORECASE) for why, pattern in RETIRED.items()}


def scanned_files():
    """Templates (with nn_helpers.py), the modules that hold hidden-check messages, and the
    student's nbgrader configuration (Validate's messages)."""
    files = sorted((ROOT / "course" / "authoring" / "templates").glob("*.py"))
    files += sorted((ROOT / "probes").glob("*.py"))
    files += sorted((ROOT / "solutions" / "checks").glob("*.py"))
    files += sorted((ROOT / "course" / "lab" / "student").glob("*.py"))  # what Validate tells a student
    return files


def retired_terms(text):
    """[(line number, matched text, why)] for every retired term in ``text``."""
    hits = []
    for why, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            hits.append((line, " ".join(match.group().replace("#", " ").split()), why))
    return sorted(hits)


def test_the_scan_covers_the_course():
    names = {path.relative_to(ROOT).as_posix() for path in scanned_files()}
    assert "course/authoring/templates/01_activations.py" in names and "course/authoring/templates/08_training.py" in names
    assert "course/authoring/templates/nn_helpers.py" in names
    assert "probes/batchnorm.py" in names and "probes/training.py" in names
    assert "solutions/checks/guards.py" in names
    assert "course/lab/student/nbgrader_config.py" in names


@pytest.mark.parametrize("text, line", [
    ("# ## 2.1. Прямой ход\n", 1),
    ("x = 1\n# поэтому транспонировать при прямом ходе не нужно\n", 2),
    ("# Градиенты при обратном\n# ходе затухают так же\n", 1),  # the term runs over a line break
    ("# ## Слой как функция с обратным ходом\n", 1),
    ("# для обратного хода то же рассуждение\n", 1),
    ("#   бегущим статистикам вместо статистик батча\n", 1),
    ('    "state": "evaluate не должна менять running-статистики модели",\n', 1),
    ("# а при инференсе — по накопленным средним\n", 1),
])
def test_the_scan_finds_retired_terms(text, line):
    hits = retired_terms(text)
    assert hits and hits[0][0] == line, hits


@pytest.mark.parametrize("text", [
    "# ## 2.1. Прямой проход\n# ## 2.2. Обратный проход: три градиента\n",
    "# вызовите backward слоёв в ОБРАТНОМ порядке; обратного прохода без forward нет\n",
    "# слой копит скользящие средние; в обратном dropout при инференсе ничего не масштабируется\n",
    "# один проход по всем данным называется эпохой; обратно входит в сумму\n",
])
def test_the_scan_leaves_the_chosen_terms_alone(text):
    assert retired_terms(text) == []


def test_no_retired_terms():
    found = [f"{path.relative_to(ROOT)}:{line}: {term} ({why})"
             for path in scanned_files()
             for line, term, why in retired_terms(path.read_text(encoding="utf-8"))]
    assert not found, "retired terms in the course text:\n" + "\n".join(found)
