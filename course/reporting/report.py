"""The HTML class report with figures, from the per-question table (``course.reporting.export``).

Everything a student controls (ids, failure reasons, cheat-scan details) is escaped in the HTML.
"""
import datetime
import html
from pathlib import Path

from ..grading.results import FAILED, GRADED, MANUAL, MISSING
from ..trust.audit import unsandboxed as why_unsandboxed
from .export import (NOT_GRADED, SEVERITY, _fmt, _index, _layout, _students, flags_by_notebook, nbgrader_total,
                     notebook_total, pass_rates, per_question_rows, status_of)
COLOURS = {GRADED: "#d8f0d8", MANUAL: "#fff2b3", NOT_GRADED: "#e4e8f0",
           FAILED: "#f7c6c6", MISSING: "#dddddd"}
FLAGGED = "#fbd3a5"
FIGURE_COLOURS = {GRADED: "#4c9a4c", MANUAL: "#e0b000", NOT_GRADED: "#8fa3c7",
                  FAILED: "#c83c3c", MISSING: "#999999"}
FIGURES = {"scores": "scores.png", "pass_rates": "pass_rates.png", "statuses": "statuses.png"}


# ------------------------------------------------------------- figures ----

def _figure(width, height):
    from matplotlib.figure import Figure

    # A bare Figure renders with Agg on savefig: no pyplot state, no GUI backend,
    # nothing to close, and the caller's backend (e.g. a notebook's) is left alone.
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _empty(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#666666",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _short(notebook):
    return notebook.replace("_", "\n", 1)


def _plot_scores(path, results, layout):
    """Box + jittered points of graded notebook scores as % of max, one column per notebook."""
    import numpy as np

    names = list(layout)
    fig = _figure(max(6.0, 1.0 * len(names) + 2.0), 4.2)
    ax = fig.add_subplot()
    data = []
    for nb in names:
        maximum = sum(layout[nb].values())
        data.append([100 * notebook_total(r) / maximum for r in results
                     if r.notebook == nb and r.status == GRADED and maximum > 0])
    if not any(data):
        _empty(ax, "no graded notebooks yet")
    else:
        rng = np.random.default_rng(0)
        filled = [i for i, d in enumerate(data) if d]
        ax.boxplot([data[i] for i in filled], positions=filled, widths=0.55, showfliers=False,
                   medianprops={"color": "#1f4e79", "linewidth": 2},
                   boxprops={"color": "#555555"}, whiskerprops={"color": "#555555"},
                   capprops={"color": "#555555"})
        for i in filled:
            x = i + rng.uniform(-0.18, 0.18, len(data[i]))
            ax.scatter(x, data[i], s=14, alpha=0.6, color="#2b7bba", edgecolor="none", zorder=3)
        ax.set_xticks(range(len(names)), [_short(n) for n in names], fontsize=8)
        for i, d in enumerate(data):
            ax.annotate(f"n={len(d)}", (i, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, color="#666666")
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.set_ylim(-5, 105)
        ax.set_ylabel("score, % of notebook maximum")
        ax.grid(axis="y", alpha=0.3)
    ax.set_title("Score distribution per notebook (graded submissions only)", fontsize=11, pad=14)
    fig.savefig(path)


def _plot_pass_rates(path, rates):
    """Horizontal bars: share of graded students with full points on each hidden test, worst on top."""
    fig = _figure(7.5, max(2.5, 0.28 * len(rates) + 1.2))
    ax = fig.add_subplot()
    rated = [t for t in rates if t[3]]
    if not rated:
        _empty(ax, "no graded notebooks yet")
    else:
        labels = [f"{nb} / {g}" for nb, g, _, _ in rated]
        values = [100 * full / n for _, _, full, n in rated]
        colours = ["#c83c3c" if v < 50 else "#e0a030" if v < 80 else "#4c9a4c" for v in values]
        y = range(len(rated))
        ax.barh(y, values, color=colours, height=0.7)
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()  # lowest pass rate on top
        for yi, v, (_, _, full, n) in zip(y, values, rated):
            ax.text(min(v, 100) + 1, yi, f"{v:.0f}%  ({full}/{n})", va="center", fontsize=7)
        ax.set_xlim(0, 118)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_xlabel("students with full points, % of graded")
        ax.grid(axis="x", alpha=0.3)
    ax.set_title("Pass rate per hidden test (lowest first)", fontsize=11)
    fig.savefig(path)


def _plot_statuses(path, statuses_by_notebook):
    """Stacked bars: how many students are in each grading status, per notebook."""
    names = list(statuses_by_notebook)
    fig = _figure(max(6.0, 0.9 * len(names) + 2.5), 3.6)
    ax = fig.add_subplot()
    if not names or not any(statuses_by_notebook.values()):
        _empty(ax, "no students yet")
    else:
        bottom = [0] * len(names)
        for status in SEVERITY:
            counts = [statuses_by_notebook[nb].count(status) for nb in names]
            if any(counts):
                ax.bar(range(len(names)), counts, bottom=bottom, label=status, width=0.65,
                       color=FIGURE_COLOURS[status])
                bottom = [b + c for b, c in zip(bottom, counts)]
        ax.set_xticks(range(len(names)), [_short(n) for n in names], fontsize=8)
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        handles, labels = ax.get_legend_handles_labels()  # legend top-down like the stack
        ax.legend(handles[::-1], labels[::-1], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  frameon=False)
    ax.set_title("Grading status per notebook", fontsize=11)
    fig.savefig(path)


# ---------------------------------------------------------------- HTML ----

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.muted { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; }
th { background: #f3f3f3; } td.name, th.name, td.text { text-align: left; }
td.text { white-space: pre-wrap; max-width: 46em; overflow-wrap: anywhere; }
tfoot td { font-style: italic; background: #fafafa; }
.summary td:first-child { text-align: left; }
.warning { background: #f7c6c6; border: 2px solid #c83c3c; padding: 0.6em; font-weight: bold; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 6px; border: 1px solid #ccc; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.scroll { overflow-x: auto; }
"""


def _e(text):
    return html.escape(str(text), quote=True)


def _cell(r, nb_max, flags=()):
    status = status_of(r)
    reason = r.reason if r else ""
    title = status + (f": {reason}" if reason else "")
    title += "".join(f"\nflag {f.get('rule', '')}: {f.get('detail', '')}" for f in flags)
    total = notebook_total(r)
    own = nbgrader_total(r)
    if own is not None and own != total:
        title += f"\ngrade of record {_fmt(total)}; nbgrader gave {_fmt(own)} (see the audit flags)"
    if status == GRADED:
        text = f"{_fmt(total)}/{_fmt(nb_max)}"
    elif status == MANUAL:
        text = f"{_fmt(total)}/{_fmt(nb_max)}?"
    else:
        text = {FAILED: "failed", MISSING: "missing", NOT_GRADED: "—"}.get(status, status)
    if flags:
        text += " ⚑"
    return f'<td style="background:{COLOURS.get(status, "#fff")}" title="{_e(title)}">{_e(text)}</td>'


def _flags_section(flags):
    if not flags:
        note = "none" if flags is not None else "none (no cheat scan was run)"
        return f"<h2>Cheat-scan flags</h2>\n<p>{note}</p>"
    rows = "\n".join(
        "<tr>" + "".join(f'<td class="{c}">{_e(f.get(k, ""))}</td>' for k, c in (
            ("student", "name"), ("notebook", "name"), ("cell", "name"), ("line", ""),
            ("rule", "name"), ("severity", "name"), ("detail", "text"))) + "</tr>"
        for f in flags)
    return ("<h2>Cheat-scan flags</h2>\n<div class=scroll><table>\n<thead><tr>"
            '<th class=name>student</th><th class=name>notebook</th><th class=name>cell</th>'
            '<th>line</th><th class=name>rule</th><th class=name>severity</th><th class=name>detail</th>'
            '</tr></thead>\n'
            f"<tbody>\n{rows}\n</tbody></table></div>")


def _attention(results, layout, students, flags):
    """(student, notebook, status, flagged, why) for every non-graded or flagged submission."""
    index = _index(results)
    flagged = flags_by_notebook(flags)
    items = []
    for student in students:
        for nb in layout:
            r = index.get((student, nb))
            status = status_of(r)
            own = flagged.pop((student, nb), [])
            why = [r.reason] if r and r.reason else []
            why += [f"flag {f.get('rule', '')} (cell {f.get('cell', '')}, line {f.get('line', '')}): "
                    f"{f.get('detail', '')}" for f in own]
            if status != GRADED or own:
                items.append((student, nb, status, bool(own), "\n".join(why)))
    for (student, nb), fs in flagged.items():  # flags on notebooks outside the structure
        items.append((student, nb, status_of(index.get((student, nb))), True, "\n".join(
            f"flag {f.get('rule', '')}: {f.get('detail', '')}" for f in fs)))
    return sorted(items, key=lambda t: (-SEVERITY.get(t[2], 0), not t[3], t[0], t[1]))


class _Class:
    """What every part of the report reads: the results indexed, the layout, the per-question table by name."""

    def __init__(self, results, structure, flags):
        self.results, self.flags = results, flags
        self.layout = _layout(results, structure)
        self.students = _students(results)
        self.index = _index(results)
        header, rows = per_question_rows(results, structure)
        self.table = {row[0]: dict(zip(header, row)) for row in rows}  # columns by name
        self.nb_max = {nb: sum(cells.values()) for nb, cells in self.layout.items()}
        self.max_total = sum(self.nb_max.values())
        self.statuses = {nb: [status_of(self.index.get((s, nb))) for s in self.students] for nb in self.layout}
        self.totals = [row["total"] for row in self.table.values() if row["total"] != ""]
        self.flag_map = flags_by_notebook(flags)
        self.rates = pass_rates(results, structure)

    def pct(self, x):
        return f"{100 * x / self.max_total:.1f} %" if self.max_total else "—"


def _median(values):
    ordered, n = sorted(values), len(values)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def _summary(c):
    """(label, value) rows of the summary table."""
    all_statuses = [s for v in c.statuses.values() for s in v]
    counts = {s: all_statuses.count(s) for s in SEVERITY}
    complete = sum(1 for row in c.table.values() if row["status"] == GRADED)
    summary = [("students", len(c.students)), ("notebooks per student", len(c.layout)),
               ("students fully graded", f"{complete} of {len(c.students)}")]
    summary += [(f"notebooks — {s}", counts[s]) for s in SEVERITY if counts[s] or s in (GRADED, FAILED)]
    if c.totals:
        mean, median = sum(c.totals) / len(c.totals), _median(c.totals)
        summary += [(f"mean total (n = {len(c.totals)} with every notebook scored)",
                     f"{mean:.1f} / {_fmt(c.max_total)} ({c.pct(mean)})"),
                    ("median total", f"{_fmt(median)} / {_fmt(c.max_total)} ({c.pct(median)})")]
    else:
        summary.append(("mean total", "— (no student has every notebook scored)"))
    audited = [r for r in c.results if (r.audit or {}).get("cells")]
    mismatched = sum(any(f.get("rule") == "audit-mismatch" for f in c.flag_map.get((r.student, r.notebook), ()))
                     for r in audited)
    summary.append(("out-of-kernel audit", f"{len(audited)} notebooks audited, {mismatched} differ from "
                                           "nbgrader (flagged audit-mismatch)" if audited else "not run"))
    seconds = [(r.seconds, r) for r in c.results if r.seconds]
    if seconds:
        slowest = max(seconds, key=lambda t: t[0])[1]
        summary.append(("grading time", f"{sum(s for s, _ in seconds):.0f} s in all; slowest "
                                        f"{slowest.seconds:.1f} s ({slowest.student} / {slowest.notebook})"))
    return summary


def _head(c):
    unsandboxed = why_unsandboxed(c.results)
    return [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Grading report</title>", f"<style>{CSS}</style></head><body>",
        "<h1>Grading report</h1>",
        f'<p class="muted">generated {_e(datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))}; '
        f"maximum {_e(_fmt(c.max_total))} points over {len(c.layout)} notebooks</p>",
        *([f'<p class="warning">UNSANDBOXED: {_e(unsandboxed)}. Student code could read the gradebook, '
           "the hidden tests and the reference: treat these grades as untrusted.</p>"] if unsandboxed else []),
        "<h2>Summary</h2>", '<table class="summary">',
        *(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in _summary(c)),
        "</table>",
    ]


def _attention_section(c):
    attention = _attention(c.results, c.layout, c.students, c.flags)
    parts = [f"<h2>Needs attention ({len(attention)})</h2>"]
    if not attention:
        return parts + ["<p>none: every submission graded, nothing flagged</p>"]
    parts += ['<div class=scroll><table><thead><tr><th class=name>student</th><th class=name>notebook</th>'
              '<th class=name>status</th><th class=name>reason</th></tr></thead><tbody>']
    parts += [f'<tr><td class=name>{_e(s)}</td><td class=name>{_e(nb)}</td>'
              f'<td class=name style="background:{FLAGGED if fl else COLOURS.get(st, "#fff")}">'
              f'{_e(st)}{" + flagged" if fl else ""}</td>'
              f'<td class=text>{_e(why)}</td></tr>' for s, nb, st, fl, why in attention]
    return parts + ["</tbody></table></div>"]


def _students_section(c):
    legend = "".join(f'<span style="background:{COLOURS[s]}">{_e(s)}</span>' for s in SEVERITY)
    parts = ["<h2>Students</h2>",
             f'<p class="legend muted">{legend} &nbsp;cells show score/max; '
             "“?” = awaiting manual grading, ⚑ = flagged by the cheat scan; hover a cell for the reason</p>",
             '<div class=scroll><table><thead><tr><th class=name>student</th>',
             *(f'<th title="{_e(nb)}">{_e(_short(nb).split(chr(10))[0])}<br>'
               f'<span class=muted>/{_e(_fmt(c.nb_max[nb]))}</span></th>' for nb in c.layout),
             f'<th>total<br><span class=muted>/{_e(_fmt(c.max_total))}</span></th>'
             '<th class=name>status</th></tr></thead><tbody>']
    for student in c.students:
        row = c.table[student]
        worst = max((status_of(c.index.get((student, nb))) for nb in c.layout),
                    key=lambda s: SEVERITY.get(s, len(SEVERITY)), default=GRADED)
        parts.append(f"<tr><td class=name>{_e(student)}</td>"
                     + "".join(_cell(c.index.get((student, nb)), c.nb_max[nb], c.flag_map.get((student, nb), ()))
                               for nb in c.layout)
                     + f"<td><b>{_e(_fmt(row['total'] if row['total'] != '' else None))}</b></td>"
                     + f'<td class=name style="background:{COLOURS[worst]}">{_e(row["status"])}</td></tr>')
    means = []
    for nb in c.layout:
        graded = [notebook_total(c.index[s, nb]) for s in c.students
                  if (s, nb) in c.index and c.index[s, nb].status == GRADED]
        means.append(f"<td>{sum(graded) / len(graded):.1f}</td>" if graded else "<td>—</td>")
    return parts + ["</tbody><tfoot><tr><td class=name>mean of graded</td>", *means,
                    f"<td>{sum(c.totals) / len(c.totals):.1f}</td>" if c.totals else "<td>—</td>",
                    "<td></td></tr></tfoot></table></div>"]


def _figures_section(c, out_dir):
    _plot_scores(out_dir / FIGURES["scores"], c.results, c.layout)
    _plot_pass_rates(out_dir / FIGURES["pass_rates"], c.rates)
    _plot_statuses(out_dir / FIGURES["statuses"], c.statuses)
    return [
        "<h2>Figures</h2>",
        f'<img src="{FIGURES["scores"]}" alt="score distribution per notebook">',
        '<p class="muted">Each dot is one graded submission; boxes show the quartiles and median. '
        "Failed, missing and manual notebooks are left out.</p>",
        f'<img src="{FIGURES["pass_rates"]}" alt="pass rate per hidden test">',
        '<p class="muted">Share of students graded on that notebook who got full points on the '
        "test; the tests most students fail are on top.</p>",
        f'<img src="{FIGURES["statuses"]}" alt="grading status per notebook">',
    ]


def write_report(out_dir, results, structure, flags=None):
    """Write out_dir/report.html and its PNG figures next to it; return the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = _Class(results, structure, flags)
    parts = [*_head(c), *_attention_section(c), *_students_section(c), *_figures_section(c, out_dir),
             _flags_section(flags), "</body></html>"]
    path = out_dir / "report.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
