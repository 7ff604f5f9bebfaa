"""Feedback pages with nbconvert's own template and BeautifulSoup's bytes, in a third of the time.

nbconvert's ``HTMLExporter`` renders a page with its template, then parses the whole page with
BeautifulSoup (``html.parser``), gives images without ``alt`` a text and inputs and outputs a
``tabindex`` (three CSS selectors) and serialises the tree again.  That post-pass was most of a page's
time (docs/speed.md).  ``tidy`` makes the same pass in one stream: BeautifulSoup's own parser class
(so every token, entity and attribute is read exactly as BeautifulSoup reads it) drives ``_Stream``,
which stands in for BeautifulSoup's tree and writes, as each element closes, what ``str(soup)`` would
write for it, selectors applied as soupsieve applies them.  Markup the parser rejects goes to
BeautifulSoup itself, which rejects it in its own words.  tests/test_pages.py holds the stream to
BeautifulSoup on the course's pages and on generated markup; the versions are pinned in pyproject.
"""
import re
from collections import Counter
from pathlib import Path

import jinja2
from bs4 import BeautifulSoup
from bs4.builder._htmlparser import BeautifulSoupHTMLParser, HTMLParserTreeBuilder
from bs4.element import CharsetMetaAttributeValue, ContentMetaAttributeValue, PreformattedString
from bs4.formatter import HTMLFormatter
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

ALT_TEXT = "No description has been provided for this image"  # nbconvert's
NOTEBOOK, FOCUSABLE = "jp-Notebook", ("jp-Cell-inputWrapper", "jp-OutputArea-output")  # matched by case
ASCII_SPACES = BeautifulSoup.ASCII_SPACES
OUTPUT_ENCODING = "utf-8"  # what str(soup) passes on to meta charset substitution
WORDS = re.compile(r"\S+")  # how BeautifulSoup splits class="a  b"


START_TAGS_KEPT = 50_000
_start_tags = {}  # (name, attributes, in a notebook?, in a template?) -> what _written_start_tag gives


class _Element:
    __slots__ = ("name", "void", "in_notebook", "in_template")

    def __init__(self, name, void, in_notebook, in_template):
        self.name, self.void = name, void
        self.in_notebook = in_notebook  # it or an ancestor has the class jp-Notebook
        self.in_template = in_template  # an ancestor is a <template>: no selector looks inside one (soupsieve)

    @property
    def is_empty_element(self):  # what BeautifulSoupHTMLParser asks of a new tag
        return self.void


class _Stream:
    """The part of ``BeautifulSoup`` its HTML parser calls, writing ``str(soup)`` as it goes.

    An element's start tag is written when it opens: its attributes are final by then, since the
    selectors depend only on the element and its ancestors.  Its end tag is written when it closes,
    which is where the tree's serialiser would write it, since later content goes to its parent."""

    def __init__(self, builder, formatter):
        self.builder, self.formatter = builder, formatter
        self.out, self.stack, self.data = [], [], []
        self.open = Counter()
        self.preserving = 0  # open <pre>/<textarea>: whitespace-only text kept as it is
        self.images_without_alt = 0
        self.contains_replacement_characters = False

    # -- what BeautifulSoupHTMLParser calls --------------------------------------------------
    def handle_starttag(self, name, namespace, nsprefix, attrs, sourceline=None, sourcepos=None,
                        namespaces=None):
        self.endData()
        parent = self.stack[-1] if self.stack else None
        in_notebook = parent is not None and parent.in_notebook
        in_template = parent is not None and (parent.in_template or parent.name == "template")
        key = (name, tuple(attrs.items()), in_notebook, in_template)
        written = _start_tags.get(key)  # a page repeats a few tags thousands of times (Pygments' spans)
        if written is None:
            written = self._written_start_tag(name, attrs, in_notebook, in_template)
            if len(_start_tags) < START_TAGS_KEPT:
                _start_tags[key] = written
        text, void, notebook_inside, alt_added = written
        self.images_without_alt += alt_added
        element = _Element(name, void, notebook_inside, in_template)
        self.out.append(text)
        self.stack.append(element)
        self.open[name] += 1
        if name in self.builder.preserve_whitespace_tags:
            self.preserving += 1
        return element

    def handle_endtag(self, name, nsprefix=None):
        self.endData()
        if name == BeautifulSoup.ROOT_TAG_NAME:
            return
        while self.stack and self.open.get(name):  # BeautifulSoup._popToTag
            if self._pop().name == name:
                break

    def handle_data(self, data):
        self.data.append(data)

    def endData(self, containerClass=None):  # noqa: N802, N803 -- BeautifulSoup's names: its parser calls them
        if not self.data:
            return
        text = "".join(self.data)
        self.data = []
        if not self.preserving and all(c in ASCII_SPACES for c in text):
            text = "\n" if "\n" in text else " "
        if containerClass is not None and issubclass(containerClass, PreformattedString):
            self.out.append(containerClass.PREFIX + text + containerClass.SUFFIX)
        elif self.stack and self.stack[-1].name in self.formatter.cdata_containing_tags:
            self.out.append(text)
        else:
            self.out.append(self.formatter.entity_substitution(text))

    # -- the tree's serialiser ---------------------------------------------------------------
    def _written_start_tag(self, name, attrs, in_notebook, in_template):
        """(the start tag as written, void?, it or an ancestor of class jp-Notebook?, alt text added?)"""
        values = self._attribute_values(name, attrs)
        classes = values["class"].split(" ") if "class" in values else ()
        alt_added = name == "img" and "alt" not in values and not in_template
        if alt_added:
            values["alt"] = ALT_TEXT
        if name == "div" and in_notebook and not in_template and any(c in FOCUSABLE for c in classes):
            values["tabindex"] = "0"
        void = self.builder.can_be_empty_element(name)
        return self._start_tag(name, values, void), void, in_notebook or NOTEBOOK in classes, int(alt_added)

    def close(self):
        self.endData()
        while self.stack:
            self._pop()
        return "".join(self.out)

    def _pop(self):
        element = self.stack.pop()
        self.open[element.name] -= 1
        if element.name in self.builder.preserve_whitespace_tags:
            self.preserving -= 1
        if not element.void:
            self.out.append(f"</{element.name}>")
        return element

    def _attribute_values(self, name, attrs):
        """{attribute: the string BeautifulSoup's serialiser writes before escaping}."""
        lists = self.builder.cdata_list_attributes
        listed = lists.get("*", set()) | lists.get(name, set())
        values = {key: " ".join(WORDS.findall(value)) if key in listed else value for key, value in attrs.items()}
        if name == "meta":  # HTMLTreeBuilder.set_up_substitutions, written out in utf-8
            if "charset" in values:
                values["charset"] = CharsetMetaAttributeValue(values["charset"]).substitute_encoding(OUTPUT_ENCODING)
            elif "content" in values and values.get("http-equiv", "").lower() == "content-type":
                values["content"] = ContentMetaAttributeValue(values["content"]).substitute_encoding(OUTPUT_ENCODING)
        return values

    def _start_tag(self, name, values, void):
        formatter = self.formatter
        attributes = "".join(f" {key}={formatter.quoted_attribute_value(formatter.attribute_value(value))}"
                             for key, value in sorted(values.items()))
        return f"<{name}{attributes}{formatter.void_element_close_prefix if void else ''}>"


def _soup_pass(html, log=None):
    """nbconvert's own post-pass (HTMLExporter.from_notebook_node), for what the stream hands back."""
    soup = BeautifulSoup(html, features="html.parser")
    missing_alt = 0
    for elem in soup.select("img:not([alt])"):
        elem.attrs["alt"] = ALT_TEXT
        missing_alt += 1
    if missing_alt and log is not None:
        log.warning("Alternative text is missing on %s image(s).", missing_alt)
    for selector in (f".{NOTEBOOK} div.{FOCUSABLE[0]}", f".{NOTEBOOK} div.{FOCUSABLE[1]}"):
        for elem in soup.select(selector):
            elem.attrs["tabindex"] = "0"
    return str(soup)


def tidy(html, log=None):
    """``html`` as nbconvert's HTMLExporter leaves it after its BeautifulSoup pass, byte for byte."""
    builder = HTMLParserTreeBuilder(store_line_numbers=False)
    stream = _Stream(builder, HTMLFormatter.REGISTRY["minimal"])
    parser = BeautifulSoupHTMLParser(stream, *builder.parser_args[0], **builder.parser_args[1])
    try:
        parser.feed(html)
        parser.close()
        page = stream.close()
    except Exception:  # noqa: BLE001 -- markup the parser rejects: BeautifulSoup decides, and says why
        return _soup_pass(html, log)
    if stream.images_without_alt and log is not None:
        log.warning("Alternative text is missing on %s image(s).", stream.images_without_alt)
    return page


# Cells that come in every submission (the course's tests and untouched stubs) are highlighted once: in the
# job zygote (``warm``), whose forks inherit the cache.  The caps bound what one process may keep (one
# `nncourse feedback` process renders a share of the class): the course's cells are a few KB each.
CACHE_LIMIT = 20_000
CACHED_SOURCE = 64 * 1024  # characters
_highlighted = {}


class CachedHighlight(Highlight2HTML):
    """nbconvert's ``highlight_code`` filter (Pygments), remembered.  Of a cell's metadata only
    ``magics_language`` changes the highlighting (nbconvert.filters.highlight._pygments_highlight); the
    rest (nbgrader's ids and checksums, execution times) must not split the cache."""

    def __call__(self, source, language=None, metadata=None):
        if len(source) > CACHED_SOURCE:
            return super().__call__(source, language, metadata)
        magics = repr(metadata["magics_language"]) if metadata and "magics_language" in metadata else None
        key = (self.pygments_lexer, repr(self.extra_formatter_options), source, language, magics)
        page = _highlighted.get(key)
        if page is None:
            page = super().__call__(source, language, metadata)
            if len(_highlighted) < CACHE_LIMIT:
                _highlighted[key] = page
        return page


class CompiledTemplates(jinja2.BytecodeCache):
    """The templates' compiled code, kept in this process: each job makes a new exporter (a new Jinja
    environment), and would compile the templates again.  Jinja takes code from here only for a
    template whose source has the same checksum."""

    def __init__(self):
        self.code = {}

    def load_bytecode(self, bucket):
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


_templates = CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter, with its post-pass made by ``tidy``, its highlighting remembered and its
    templates compiled once per process.  nbgrader's GenerateFeedback takes it as
    ``exporter_class``; the rest is HTMLExporter.from_notebook_node's."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _templates  # one configuration per process: FeedbackExporter's
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code", CachedHighlight(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                 resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return tidy(html, self.log), resources


def warm(folder):
    """Render each notebook of ``folder`` (the release: what every submission starts from) once, as the
    feedback renders it, so that a process forked after this finds nbgrader's feedback template compiled
    and the cells highlighted.  The pages are dropped."""
    import nbformat

    exporter = feedback_exporter()
    for path in sorted(Path(folder).glob("*.ipynb")):
        render_as_feedback(exporter, nbformat.read(path, as_version=4), path.stem)


def feedback_exporter():
    """A ``FeedbackExporter`` configured as nbgrader's GenerateFeedback configures its exporter (the feedback
    template, nbgrader's template folders)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    return FeedbackExporter(config=GenerateFeedback(coursedir=CourseDirectory()).config)


def render_as_feedback(exporter, notebook, name):
    """``notebook``'s page as GenerateFeedback would render it once graded: with the lexer an IPython kernel
    writes into a notebook it runs, and every score 0 (what nbgrader's GetGrades would fill in)."""
    notebook.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for cell in notebook.cells:
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("grade"):
            grading["score"] = 0
    scores = {"notebook": name, "score": 0, "max_score": 0, "late_penalty": 0}
    return exporter.from_notebook_node(notebook, resources={"nbgrader": scores})[0]
