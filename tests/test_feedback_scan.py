"""The feedback leak scan finds hidden tests even inside syntax-highlighted HTML,
and does not blame the grader for text the student wrote."""
from pathlib import Path

from course.reporting.feedback import scan_feedback
from course.trust.leakscan import hidden_lines
from course.settings import ASSIGNMENT, ROOT

HIGHLIGHTED = ('<div class="highlight"><pre><span class="n">check_relu</span><span class="p">(</span>'
               '<span class="n">ReLU</span><span class="p">)</span></pre></div>')


def page(root, student, body):
    path = Path(root) / "feedback" / student / ASSIGNMENT / "01_activations.html"
    path.parent.mkdir(parents=True)
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    return path


def test_hidden_lines_are_the_check_calls_of_the_source_notebooks():
    lines = hidden_lines(ROOT)
    assert "check_relu(ReLU)" in lines and "from solutions.checks import check_relu" in lines


def test_a_highlighted_hidden_test_is_found(tmp_path):
    for name in ("source", "nbgrader_config.py"):
        (tmp_path / name).symlink_to(ROOT / name)
    leaked = page(tmp_path, "ann", HIGHLIGHTED)
    page(tmp_path, "bob", "<p>CheckFailure: ReLU.forward: ещё не реализовано</p>")
    assert scan_feedback(tmp_path) == [(leaked, "check_relu(ReLU)")]


def test_text_the_student_wrote_is_not_a_leak(tmp_path):
    for name in ("source", "nbgrader_config.py"):
        (tmp_path / name).symlink_to(ROOT / name)
    page(tmp_path, "cid", HIGHLIGHTED)
    own = tmp_path / "submitted" / "cid" / ASSIGNMENT / "01_activations.ipynb"
    own.parent.mkdir(parents=True)
    own.write_text('{"cells": [{"source": "check_relu(ReLU)"}]}')
    assert scan_feedback(tmp_path) == []
