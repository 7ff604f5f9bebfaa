"""Feedback pages: course.grading.pages writes what nbconvert's HTMLExporter writes, byte for byte.

The grading job renders each page with ``FeedbackExporter``: nbconvert's template, its highlighting
remembered, and BeautifulSoup's post-pass made in one stream (``tidy``).  A student controls much of a
page (outputs and markdown reach it unsanitised, as nbconvert's default has it), so the stream is held
to BeautifulSoup on generated markup as well as on the course's own notebooks.  tests/test_feedback.py
compares the pages of a real grading run with stock `nbgrader generate_feedback`'s.
"""
import base64
import copy
import warnings

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbconvert.exporters import HTMLExporter

from course.grading import pages
from course.settings import ASSIGNMENT, ROOT

SOURCE = ROOT / "source" / ASSIGNMENT
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()

# Pieces of markup a student's output can carry, chosen where html.parser and BeautifulSoup do something
# of their own: void and self-closed tags, stray and unclosed end tags, whitespace-only text (collapsed
# outside <pre>), entities and character references (windows-1252, invalid, unknown), attribute quoting,
# multi-valued attributes, meta charsets, comments, declarations, raw-text elements, <template> (whose
# contents no selector sees), and the classes of the post-pass's selectors in every case.
FRAGMENTS = (
    "<div>", "</div>", "<div class='jp-Notebook'>", '<div class="jp-Cell-inputWrapper  x">',
    "<div class=jp-OutputArea-output tabindex=5>", "<DIV CLASS=JP-NOTEBOOK>", "<div class='jp-outputarea-output'>",
    "<section class='jp-Notebook'>", "<span class='jp-Cell-inputWrapper'>", "<img src=x.png>", "<img alt=''>",
    "<IMG SRC='a.png' ALT=b>", "<img src=y/>", "<br>", "</br>", "<br/>", "<p/>", "<hr>", "<input disabled>",
    "<pre>", "</pre>", "<textarea>", "</textarea>", "<script>", "</script>", "<style>", "</style>", "<title>",
    "</title>", "<template>", "</template>", "<rt>", " ", "\n", "\t", "  \n ", "\r\n", "\x0c", "text", "a<b", "a>b",
    "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#39;", "&#x27;", "&nbsp;", "&copy", "&notanentity;", "&#128;",
    "&#150;", "&#0;", "&#xD800;", "&#99999999;", "&#x;", "&#12a;", "&", "<!-- c -->", "<!---->", "<!--",
    "<!DOCTYPE html>", "<!doctype x>", "<![CDATA[x]]>", "<?php x ?>", "<!x>", '<a href="x&y" title=\'q"s\'>',
    "<a title=\"it's\">", "<a title='\"both\" it&#39;s'>", "<span class=' a  b '>", "<td headers=' h1  h2 '>",
    "<a rel='x  y'>", "<meta charset='latin-1'>", "<meta http-equiv='Content-Type' content='text/html; charset=ISO-8859-1'>",
    "<meta charset=utf8>", "<div id=a id=b>", "<div class=a class=jp-OutputArea-output>", "</span>", "</p>", "<p>",
    "<table>", "<tr>", "<td>", "</td>", "<svg><circle r=1/></svg>", "<x-y a=b>", "<a\nhref=x>", "</div >", "< div>",
    "<", ">", "</", "<div", '="', "'", "\x00", "\u00a0", "é", "<![if x]>", "</body>", "</html>", "<body>", "<html>",
    "<div>\n<pre>  </pre>\n</div>", "<main class='jp-Notebook'><div class='jp-Cell-inputWrapper'>",
    "<template class=jp-Notebook><div class=jp-OutputArea-output><img>", "<TEMPLATE>",
)
MARKUP = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=30).map("".join)


def quietly(function, *args):
    """What ``function`` returns, or the name of what it raised (markup html.parser rejects is rejected by
    both, in BeautifulSoup's words)."""
    with warnings.catch_warnings():  # e.g. BeautifulSoup's "looks like a URL": a warning, not bytes
        warnings.simplefilter("ignore")
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001
            return f"raised {type(exc).__name__}"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MARKUP)
def test_the_stream_writes_what_beautifulsoup_writes(markup):
    assert quietly(pages.tidy, markup) == quietly(pages._soup_pass, markup), markup


def render(exporter, notebook):
    return quietly(lambda: exporter.from_notebook_node(copy.deepcopy(notebook))[0])


def notebook_showing(markup):
    """A notebook whose markdown cell and whose output both carry ``markup``, as a student can write them."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# Ответ\n\n{markup}"),
        nbformat.v4.new_code_cell("display(HTML(answer))", outputs=[
            nbformat.v4.new_output("display_data", data={"text/html": markup, "text/plain": "<HTML>"})]),
    ])
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return notebook


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MARKUP)
def test_a_page_with_any_students_markup_is_nbconverts_page(markup):
    """The whole exporter against nbconvert's own, so the post-pass the stream copies is nbconvert's."""
    notebook = notebook_showing(markup)
    assert render(pages.FeedbackExporter(), notebook) == render(HTMLExporter(), notebook), markup


def with_outputs(notebook):
    """``notebook`` with what graded cells show: text, an error with ANSI colours, an image without alt
    text, HTML and markdown, on every code cell."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text="loss 0.25 < 1 & ok\n"),
                nbformat.v4.new_output("error", ename="AssertionError", evalue="ReLU: неверный градиент",
                                       traceback=["\x1b[0;31mAssertionError\x1b[0m: ReLU <x> & 'y'"]),
                nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                nbformat.v4.new_output("execute_result", execution_count=1,
                                       data={"text/html": "<table><tr><td>1</td></tr></table>",
                                             "text/markdown": "**да** & <нет>", "text/plain": "x"}),
            ]
    return notebook


@pytest.mark.parametrize("path", sorted(SOURCE.glob("*.ipynb")), ids=lambda p: p.stem)
def test_the_courses_pages_are_nbconverts_and_take_the_stream(path, monkeypatch):
    """Each source notebook, with outputs on every code cell: the same bytes as nbconvert, and the stream
    wrote them (BeautifulSoup is never asked)."""
    notebook = with_outputs(nbformat.read(path, as_version=4))
    expected = render(HTMLExporter(), notebook)
    assert expected.startswith("<!DOCTYPE html>"), expected[:200]

    def refuse(html, log):
        raise AssertionError("the stream handed a page of the course to BeautifulSoup")

    monkeypatch.setattr(pages, "_soup_pass", refuse)
    assert render(pages.FeedbackExporter(), notebook) == expected


def test_remembered_highlighting_never_gives_one_cell_anothers_page():
    """The cache keys hold what changes a cell's page: the notebook's lexer and a cell's magics language;
    pages rendered in either order are nbconvert's."""
    source = "%timeit relu(x)\nprint('<b>')"
    ipython = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    ipython.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    plain = copy.deepcopy(ipython)
    plain.metadata["language_info"] = {"name": "python", "pygments_lexer": "python"}
    magics = copy.deepcopy(ipython)
    magics.cells[0].metadata["magics_language"] = "bash"
    stock = [render(HTMLExporter(), nb) for nb in (ipython, plain, magics)]
    assert len(set(stock)) == 3, "the three notebooks must highlight differently for this test to mean anything"
    for order in ((0, 1, 2), (2, 1, 0)):
        pages._highlighted.clear()
        exporter = pages.FeedbackExporter()
        assert [render(exporter, (ipython, plain, magics)[i]) for i in order] == [stock[i] for i in order]


def test_warming_from_the_release_fills_the_caches_that_a_students_page_then_hits():
    """What the job zygote does (course.grading.child): after it, an untouched submission's page needs no
    cell highlighted and no template compiled again."""
    for cache in (pages._highlighted, pages._templates.code):
        cache.clear()
    pages.warm(ROOT / "release" / ASSIGNMENT)
    remembered = len(pages._highlighted), len(pages._templates.code)
    assert remembered[0] > 20 and remembered[1] >= 5, remembered
    untouched = nbformat.read(ROOT / "release" / ASSIGNMENT / "01_activations.ipynb", as_version=4)
    page = quietly(pages.render_as_feedback, pages.feedback_exporter(), untouched, "01_activations")
    assert "ReLU" in page and (len(pages._highlighted), len(pages._templates.code)) == remembered


def test_a_release_that_cannot_be_rendered_ahead_costs_speed_not_grading(tmp_path, monkeypatch, capsys):
    """The job zygote's warm-up is a cache: a release notebook nbconvert cannot render is reported in the
    zygote's log, and the zygote starts anyway (course.grading.child)."""
    from course.grading import child
    from course.grading.station import RELEASE_ENV

    (tmp_path / "01_activations.ipynb").write_text('{"cells": [', encoding="utf-8")  # cut in half
    monkeypatch.setenv(RELEASE_ENV, str(tmp_path))
    child._warm_up_pages(nbformat)
    assert "could not be rendered ahead" in capsys.readouterr().err


def test_a_huge_cell_is_highlighted_but_not_kept():
    pages._highlighted.clear()
    huge = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"x = '{'a' * pages.CACHED_SOURCE}'")])
    huge.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    assert render(pages.FeedbackExporter(), huge) == render(HTMLExporter(), huge)
    assert not pages._highlighted
