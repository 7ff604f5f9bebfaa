"""The leak scan: no feedback page may show a hidden test or the reference's code.

Secrets are

* the hidden-test regions of the source notebooks and nbgrader's hidden-test
  markers, line by line;
* the reference's code: every run of ``SHINGLE`` tokens of ``solutions/`` that
  the students' own copy of the notebooks (the source without its solution and
  hidden-test regions) does not also hold.

Pages are compared as text (tags stripped, entities decoded), since syntax
highlighting splits code into spans.  A secret that the student's own submitted
notebook also contains was written by the student, not leaked by the grader.
"""
import functools
import html
import io
import json
import os
import re
import tokenize
from pathlib import Path

import nbformat

from ..jail import safefiles
from ..settings import load

HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")  # nbgrader's ClearHiddenTests delimiters
MARKERS = HIDDEN_MARKERS
SHINGLE = 20  # tokens: two or three lines of code; short idioms (np.maximum(x, 0)) stay below it
TOKEN = re.compile(r"[^\W\d]\w*|\d+(?:\.\d+)?|[^\w\s]")
LITERAL = "\0"  # where a string literal was
FSTRING = {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, name)}
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END \1\n?", re.S)


def hidden_lines(root):
    """Every code line inside a hidden-test region of the source notebooks."""
    return _hidden_lines(str(Path(root).resolve()))


@functools.lru_cache(maxsize=None)  # read once per course folder: every page of every student asks
def _hidden_lines(root):
    lines = set()
    for path in sorted((Path(root) / "source" / load(root).assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
                lines |= {line.strip() for line in region.splitlines() if line.strip()}
    return frozenset(lines)


def tokens(text):
    return TOKEN.findall(text)


def code_tokens(source):
    """The tokens of Python code, string literals and comments left out: a check's messages are meant
    for the student (they print), its code is not.  A literal leaves a mark no page text can match."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING or token.type in FSTRING:
                if not found or found[-1] != LITERAL:
                    found.append(LITERAL)
            elif token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                    tokenize.DEDENT, tokenize.ENDMARKER):
                found += tokens(token.string)
    except (tokenize.TokenError, SyntaxError):  # e.g. IPython syntax in a notebook cell
        return tokens(source)
    return found


def shingles(text, k=SHINGLE, code=False):
    """{run of k tokens} of a text (of Python code, literals and comments left out, if ``code``)."""
    found = code_tokens(text) if code else tokens(text)
    return {tuple(found[i:i + k]) for i in range(len(found) - k + 1)}


@functools.lru_cache(maxsize=None)
def reference_shingles(root):
    """The runs of ``SHINGLE`` code tokens of the reference package that no student is given."""
    import solutions

    secret = set()
    for path in sorted(Path(solutions.__file__).parent.rglob("*.py")):
        secret |= shingles(path.read_text(encoding="utf-8"), code=True)
    given = set()
    for path in sorted((Path(root) / "source" / load(root).assignment).iterdir()):
        if path.suffix == ".ipynb":
            for cell in nbformat.read(path, as_version=4).cells:
                given |= shingles(REGION.sub("", cell.source), code=True)
        elif path.suffix == ".py":
            given |= shingles(path.read_text(encoding="utf-8"), code=True)
    return frozenset(secret - given)


def page_text(path):
    return html_text(Path(path).read_text(encoding="utf-8", errors="replace"))


def html_text(page):
    """What a page shows: tags stripped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _own_text(root, student, notebook):
    """Every string of the student's submitted notebook (sources, outputs), or "" if there is none."""
    try:
        fd = safefiles.open_dir(str(Path(root) / "submitted" / student / load(root).assignment))
    except (OSError, safefiles.Refused):
        return ""
    try:
        raw = safefiles.read_file(f"{notebook}.ipynb", fd).decode("utf-8", errors="replace")
    except (OSError, safefiles.Refused):
        return ""
    finally:
        os.close(fd)
    try:
        return "\n".join(_strings(json.loads(raw)))
    except Exception:  # noqa: BLE001 -- not JSON (or nested too deep): compare with the raw text
        return raw


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            yield "".join(value)  # nbformat splits multi-line text into a list of lines
        else:
            for item in value:
                yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def page_leaks(root, page, student):
    """[secret] that the page file ``page`` shows and its student did not write."""
    return leaks(root, page_text(page), student, Path(page).stem)


def leaks(root, text, student, notebook):
    """[secret] that a page's ``text`` (tags stripped) shows and ``student`` did not write in ``notebook``."""
    own = _own_text(root, student, notebook)
    found = [secret for secret in sorted(hidden_lines(root) | set(MARKERS)) if secret in text and secret not in own]
    code = _runs_shown(text, reference_shingles(str(Path(root).resolve())), notebook)
    if code:
        code -= shingles(own)  # only now: most pages show no run of the reference at all
    if code:
        found.append("reference code: " + " ".join(min(code)))
    return found


def _shown(page, secret, k=SHINGLE):
    """The runs of ``secret`` among the page's tokens.  A run is looked for only where the page's next
    three tokens begin one (a page has tens of thousands of tokens, the secret a few thousand runs)."""
    starts = _starts(secret)
    return {run for i in range(len(page) - k + 1) if tuple(page[i:i + 3]) in starts
            for run in (tuple(page[i:i + k]),) if run in secret}


# The pages of one notebook begin alike: the template's head (125 KB of CSS) and the course's first cells.
# That beginning is tokenised and scanned once per notebook: {(notebook, secret): (the first page's text,
# {length of the shared beginning: (its last SHINGLE - 1 tokens, the runs it shows)})}.
_BEGINNINGS = {}
BEGINNINGS_KEPT = 64


def _runs_shown(text, secret, notebook, k=SHINGLE):
    """``_shown(tokens(text), secret)``, with the part of ``text`` that an earlier page of ``notebook``
    began with taken from the cache.  Exact: cut just after a newline, the text's tokens are the tokens of
    either side (no token holds whitespace), and a run that crosses the cut lies in the k - 1 tokens each
    side of it."""
    first, known = _BEGINNINGS.setdefault((notebook, secret), (text, {}))
    cut = text.rfind("\n", 0, _shared_length(text, first)) + 1
    if cut < 4096:  # little in common: this page is the one later pages are compared with
        _BEGINNINGS[notebook, secret] = (text, {})
        return _shown(tokens(text), secret, k)
    entry = known.get(cut)  # merges may run in threads: read once
    if entry is None:
        if len(known) >= BEGINNINGS_KEPT:
            known.clear()
        before = tokens(text[:cut])
        entry = known[cut] = (before[len(before) - (k - 1):], _shown(before, secret, k))
    tail, runs = entry
    after = tokens(text[cut:])
    return runs | _shown(after, secret, k) | _shown(tail + after[:k - 1], secret, k)


def _shared_length(a, b):
    """How many characters ``a`` and ``b`` begin with alike (a binary search of C-speed comparisons)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


@functools.lru_cache(maxsize=4)
def _starts(secret):
    return frozenset(run[:3] for run in secret)
