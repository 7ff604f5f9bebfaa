"""The feedback leak scan finds hidden tests even inside syntax-highlighted HTML,
and does not blame the grader for text the student wrote."""
from pathlib import Path

from course.reporting.feedback import scan_feedback
from course.trust import leakscan
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


def test_a_reference_run_is_found_wherever_it_sits_against_what_earlier_pages_began_with():
    """Pages of one notebook begin alike, and that beginning is scanned once (leakscan._runs_shown).  A run
    of the reference code is found whether it lies after the point where a page leaves the first page's
    text, across it (the first page held its beginning), or ends at it in the middle of a word; and the
    scan finds what a scan of the whole page finds."""
    secret = leakscan.reference_shingles(str(ROOT))
    run = next(r for r in sorted(secret) if len(r[-1]) >= 2 and r[-1].isidentifier())
    beginning = "".join(f".jp-Cell-{i} {{ margin: {i}px; }}\n" for i in range(400))  # like the template's CSS
    line = " ".join(run)
    cases = [(beginning + "def forward(self, x):\n", beginning + line + "\n")]  # after
    cases += [(beginning + " ".join(run[:m]) + "\nprint(1)\n", beginning + " ".join(run[:m]) + "\n" + " ".join(run[m:]) + "\n")
              for m in range(1, len(run))]  # across: the first page held the run's first m tokens
    cases += [(beginning + line[:-1] + "Q\n", beginning + line + "\n")]  # the pages part inside its last word
    for first, page in cases:
        leakscan._BEGINNINGS.clear()
        assert run not in leakscan._runs_shown(first, secret, "09_test")
        found = leakscan._runs_shown(page, secret, "09_test")
        assert found == leakscan._shown(leakscan.tokens(page), secret), (first[-60:], page[-60:])
        assert run in found, (first[-60:], page[-60:])
        assert leakscan._BEGINNINGS["09_test", secret][1], "the shared beginning was not taken from the cache"
