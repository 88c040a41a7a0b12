"""The class report: one self-contained HTML page (no scripts, no external resources).

Score distribution, pass rate per exercise, who is missing, and the learners' table.
Every learner string is HTML-escaped; the page forbids loading anything (CSP).
"""

from __future__ import annotations

from html import escape

from learnbackend.assignment.gradebook import Gradebook, distribution, exercise_pass_rates

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
td.num{text-align:right}.bar{background:#3b7dd8;height:1rem;display:inline-block}
.passed{color:#176f2c}.failed{color:#b3261e}.error{color:#8a4b00}.missing,.skipped{color:#777}
.hist{display:flex;align-items:flex-end;gap:4px;height:10rem;border-bottom:1px solid #999}
.hist div{background:#3b7dd8;width:2.5rem;text-align:center;color:#fff;font-size:.8rem}
.labels{display:flex;gap:4px}.labels span{width:2.5rem;text-align:center;font-size:.75rem}
"""


def to_html(book: Gradebook) -> str:
    submitted = [e for e in book.rows if e.submitted]
    counts = distribution(book)
    tallest = max(counts) or 1
    rates = exercise_pass_rates(book)
    title = escape(book.title or book.assignment or "Assignment")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{title}: class report</title><style>{_STYLE}</style></head><body>",
        f"<h1>{title}: class report</h1>",
        f'<p id="summary">{len(submitted)} submitted, {len(book.missing)} missing; '
        f"{sum(e.passed for e in submitted)} passed (pass mark {book.pass_mark:g} %)"
        + (f"; due {escape(book.due.isoformat())}" if book.due else "") + ".</p>",
        '<h2>Score distribution</h2><div class="hist" id="distribution">',
    ]
    for index, count in enumerate(counts):
        height = 0 if not count else max(8, round(100 * count / tallest))
        parts.append(f'<div style="height:{height}%" title="{index * 10}-{index * 10 + 10} %: {count}" data-count="{count}">{count or ""}</div>')
    parts.append('</div><div class="labels">' + "".join(f"<span>{i * 10}%</span>" for i in range(len(counts))) + "</div>")
    parts.append('<h2>Pass rate per exercise</h2><table id="exercises"><tr><th>#</th><th>exercise</th><th>points</th><th>passed</th><th></th></tr>')
    for number, exercise in enumerate(book.exercises, start=1):
        rate = rates[exercise]
        parts.append(f'<tr><td class="num">{number}</td><td>{escape(exercise)}</td><td class="num">{book.max_points.get(exercise, 0):g}</td>'
                     f'<td class="num">{rate:g} %</td><td><span class="bar" style="width:{rate * 2:.0f}px"></span></td></tr>')
    parts.append("</table>")
    parts.append('<h2>Missing</h2><ul id="missing">' + "".join(f"<li>{escape(name)}</li>" for name in book.missing) + "</ul>"
                 if book.missing else '<h2>Missing</h2><p id="missing">Nobody.</p>')
    parts.append('<h2>Learners</h2><table id="learners"><tr><th>student</th><th>points</th><th>%</th><th>pass</th><th>late</th><th>commit</th>'
                 + "".join(f'<th title="{escape(x)}">{n}</th>' for n, x in enumerate(book.exercises, start=1)) + "</tr>")
    for entry in book.rows:
        late = "—" if entry.late is None else f"{entry.days_late} d" if entry.late else "on time"
        cells = "".join(f'<td class="{escape(entry.cells[x].status) if x in entry.cells else "missing"}">'
                        f"{entry.cells[x].points:g}</td>" if x in entry.cells else '<td class="missing">·</td>' for x in book.exercises)
        parts.append(f"<tr><td>{escape(entry.student)}</td><td class=\"num\">{entry.points:g}/{entry.max_points:g}</td>"
                     f"<td class=\"num\">{entry.percent:g}</td><td>{'yes' if entry.passed else 'no'}</td><td>{late}</td>"
                     f"<td>{escape((entry.commit or '')[:12])}</td>{cells}</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"
