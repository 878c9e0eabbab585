"""Render a :class:`~mano_files.CoverageReport` as ONE self-contained HTML file.

Inline CSS and SVG only: no script, no external asset, no network, so it opens the same in any
browser, offline, years from now. Every name that comes from the disk is escaped. Hover details
come from SVG ``<title>`` elements (the browser's own tooltip).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from mano_files._coverage import SENSOR_STREAMS

if TYPE_CHECKING:
    from mano_files._coverage import CoverageReport, ParticipantCoverage
    from mano_files._survey_report import SurveyReport

_CELL_H = 14
_LABEL_W = 96
_MAX_W = 1180
_AXIS_H = 18

_MISSING = "#f4b6ad"  # expected, active period, no data
_NOT_EXPECTED = "#e4e4e4"  # active period, stream not expected (off / wrong OS)
_QUIET = "#f6f1e4"  # event stream (calls, surveys...), expected, no event that day

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px}
.meta{color:#555;margin:0 0 12px}.meta b{color:#1d1d1f}
table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #e6e6e6;text-align:right;white-space:nowrap}
th{background:#f5f5f7;position:sticky;top:0}td.l,th.l{text-align:left}td.pid{font-family:ui-monospace,Menlo,Consolas,monospace}
td.na{color:#aaa}.legend{display:flex;gap:14px;align-items:center;flex-wrap:wrap;margin:8px 0 4px;color:#444;font-size:12px}
.sw{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin-right:4px;border:1px solid #ccc}
svg{display:block;margin:4px 0 0}svg text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#333}
.sub{color:#666;font-size:12px;margin:0}.scroll{overflow-x:auto;max-width:100%}
.maps{display:flex;flex-wrap:wrap;gap:4px 36px}.maps h2{margin-top:14px}td.ev{color:#666;font-style:italic}
"""


def render_html(
    report: CoverageReport, *, title: str | None = None, surveys: SurveyReport | None = None
) -> str:
    """The full HTML document for ``report`` (with a survey section when ``surveys`` is given)."""
    esc = html.escape
    name = title or f"Data coverage: {report.root.name or report.root}"
    people = report.worst_first()
    first, last = report.first_day, report.last_day
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(name)}</h1>",
        '<p class="meta">',
        f"Folder <b>{esc(str(report.root))}</b> · ",
        f"<b>{len(report.participants)}</b> participants · <b>{report.files:,}</b> files · ",
        f"<b>{esc(_human(report.bytes))}</b> on disk",
    ]
    if first is not None and last is not None:
        parts.append(f" · data from <b>{first}</b> to <b>{last}</b> (UTC)")
    if report.start or report.end:
        parts.append(f" · window {esc(str(report.start or '…'))} to {esc(str(report.end or '…'))}")
    forms = ", ".join(f"{esc(k)} {v:,}" for k, v in report.forms.items() if v)
    if forms:
        parts.append(f" · forms: {forms}")
    parts.append(
        " · expected streams from "
        + ("<b>study settings</b>" if report.settings_known else "<b>streams seen in the tree</b>")
    )
    parts.append("</p>")
    if report.ignored_count:
        parts.append(
            f'<p class="sub">{report.ignored_count:,} paths are not data files and were ignored, '
            f"e.g. {esc(', '.join(report.ignored[:5]))}</p>"
        )
    if report.duplicate_count:
        parts.append(
            f'<p class="sub"><b>{report.duplicate_count:,} files are stored in two forms</b> '
            f"(e.g. {esc(report.duplicates[0])}): Forest reads both and counts that data "
            "twice; keep one form.</p>"
        )
    parts.append(_summary_table(report, people))
    parts.append(_legend())
    if first is not None and last is not None:
        index = _index_rows(report)
        parts.append('<div class="maps">')
        for stream in report.streams:
            parts.append(_heatmap(stream, people, first, last, index.get(stream, {})))
        parts.append("</div>")
    parts.append(
        '<p class="sub">Hours: distinct UTC clock hours with at least one file. Active period: '
        "first to last hour with any data. Share: hours with data / active hours, for expected "
        "streams. Longest gap: the longest run of hours without any file inside the active "
        "period.</p>"
    )
    if surveys is not None:
        parts.append(survey_section(surveys))
    parts.append("</body></html>\n")
    return "".join(parts)


def _summary_table(report: CoverageReport, people: Iterable[ParticipantCoverage]) -> str:
    esc = html.escape
    streams = report.streams
    head = "".join(f"<th>{esc(s)}</th>" for s in streams)
    out = [
        '<h2>Summary (worst first)</h2><div class="scroll"><table><thead><tr>',
        '<th class="l">participant</th><th class="l">OS</th><th>first day</th><th>last day</th>',
        "<th>days</th><th>missing days</th><th>longest gap</th><th>any data</th><th>score</th>",
        f"<th>files</th><th>size</th>{head}</tr></thead><tbody>",
    ]
    for p in people:
        days = (
            0 if p.first_day is None or p.last_day is None else (p.last_day - p.first_day).days + 1
        )
        missing_title = esc(", ".join(d.isoformat() for d in p.missing_days))
        out.append(
            "<tr>"
            f'<td class="l pid">{esc(p.participant)}</td><td class="l">{esc(p.os or "?")}</td>'
            f"<td>{p.first_day or '–'}</td><td>{p.last_day or '–'}</td><td>{days}</td>"
            f'<td title="{missing_title}">{len(p.missing_days)}</td>'
            f"<td>{esc(_gap(p.longest_gap_hours))}</td>"
            f"<td>{_pct(p.completeness)}</td><td>{_pct(p.score)}</td>"
            f"<td>{p.files:,}</td><td>{esc(_human(p.bytes))}</td>"
        )
        for stream in streams:
            s = p.stream(stream)
            if s is None or s.share is None:
                note = "" if s is None else s.note
                out.append(f'<td class="na" title="{esc(note)}">–</td>')
            else:
                tip = f"{s.hours} of {s.expected_hours} h; longest gap {_gap(s.longest_gap_hours or 0)}"
                if s.kind == "sensor":
                    style = f' style="background:{_share_colour(s.share)}"'
                else:  # event streams: a low share is normal, so no red
                    style = ' class="ev"'
                    tip += " (event stream: hours without events are normal)"
                out.append(f'<td{style} title="{esc(tip)}">{_pct(s.share)}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _legend() -> str:
    steps = "".join(
        f'<span><span class="sw" style="background:{_hours_colour(h)}"></span>{h} h</span>'
        for h in (1, 6, 12, 18, 24)
    )
    return (
        '<h2>Hours with data per day</h2><div class="legend">'
        f"{steps}"
        f'<span><span class="sw" style="background:{_MISSING}"></span>no data (expected)</span>'
        f'<span><span class="sw" style="background:{_QUIET}"></span>no events (event stream)</span>'
        f'<span><span class="sw" style="background:{_NOT_EXPECTED}"></span>not expected</span>'
        '<span><span class="sw" style="background:#fff"></span>outside active period</span>'
        "</div>"
    )


def _heatmap(
    stream: str,
    people: tuple[ParticipantCoverage, ...],
    first: date,
    last: date,
    rows: dict[str, dict[date, tuple[int, int, int]]],
) -> str:
    esc = html.escape
    n_days = (last - first).days + 1
    cell_w = max(2.0, min(16.0, _MAX_W / n_days))
    width = _LABEL_W + cell_w * n_days + 4
    height = _AXIS_H + _CELL_H * len(people) + 2
    sensor = stream in SENSOR_STREAMS
    out = [
        f'<section><h2 id="s-{esc(stream)}">{esc(stream)}</h2>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
        f'role="img" aria-label="{esc(stream)} heatmap">',
    ]
    # Axis: a label at the first of each month, or weekly for short studies.
    step = 7 if n_days <= 120 else 0
    for i in range(n_days):
        day = first + timedelta(days=i)
        if (step and i % step == 0) or (not step and day.day == 1) or i == 0:
            x = _LABEL_W + i * cell_w
            out.append(f'<text x="{x:.1f}" y="12">{day.strftime("%m-%d")}</text>')
    for index, p in enumerate(people):
        y = _AXIS_H + index * _CELL_H
        out.append(f'<text x="0" y="{y + 11}">{esc(p.participant)}</text>')
        s = p.stream(stream)
        if p.first_day is None or p.last_day is None:
            continue
        cells = rows.get(p.participant, {})
        expected = s is not None and s.expected
        start = (p.first_day - first).days
        for offset in range((p.last_day - p.first_day).days + 1):
            day = p.first_day + timedelta(days=offset)
            hours, files, size = cells.get(day, (0, 0, 0))
            if hours:
                colour = _hours_colour(hours)
            else:
                colour = (_MISSING if sensor else _QUIET) if expected else _NOT_EXPECTED
            x = _LABEL_W + (start + offset) * cell_w
            note = "" if expected or s is None else f" ({s.note})"
            if s is None:
                note = " (not expected)"
            tip = f"{p.participant} · {stream} · {day}: {hours} h, {files} files, {_human(size)}{note}"
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(cell_w - 1, 1):.1f}" '
                f'height="{_CELL_H - 2}" fill="{colour}"><title>{esc(tip)}</title></rect>'
            )
    out.append("</svg></section>")
    return "".join(out)


_Index = dict[str, dict[str, dict[date, tuple[int, int, int]]]]


def _index_rows(report: CoverageReport) -> _Index:
    """stream -> participant -> day -> (hours, files, bytes), for days with files."""
    index: _Index = {}
    for r in report.rows:
        if r.files:
            index.setdefault(r.stream, {}).setdefault(r.participant, {})[r.day] = (
                r.hours,
                r.files,
                r.bytes,
            )
    return index


def _hours_colour(hours: int) -> str:
    # Light to dark blue as the day fills up.
    lightness = 88 - (hours / 24) * 58
    return f"hsl(212,70%,{lightness:.0f}%)"


def _share_colour(share: float) -> str:
    # Red (0 %) through amber to green (100 %), pale so the numbers stay readable.
    hue = 120 * max(0.0, min(1.0, share))
    return f"hsl({hue:.0f},65%,85%)"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _gap(hours: int) -> str:
    if hours >= 48:
        return f"{hours} h ({hours / 24:.1f} d)"
    return f"{hours} h"


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def render_surveys_page(report: SurveyReport, *, title: str | None = None) -> str:
    """A standalone HTML page holding only the survey section."""
    esc = html.escape
    name = title or f"Surveys: {report.root.name or report.root}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(name)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(name)}</h1>{survey_section(report)}</body></html>\n"
    )


def survey_section(report: SurveyReport) -> str:
    """Survey completion per survey and participant, missing answers, recent misses."""
    esc = html.escape
    out = [
        "<h2>Surveys</h2>",
        f'<p class="meta">Deliveries up to <b>{esc(report.as_of.strftime("%Y-%m-%d %H:%M"))}'
        f"</b> UTC, schedules in <b>{esc(report.time_zone)}</b> · "
        + (
            "deliveries from the <b>study settings</b>"
            if report.schedule_known
            else "no settings file: <b>deliveries unknown</b>, sessions counted"
        )
        + "</p>",
    ]
    if report.duplicates:
        out.append(
            f'<p class="sub">{len(report.duplicates)} files exist in two forms (read once); '
            "Forest would count them twice.</p>"
        )
    if not report.rows:
        out.append('<p class="sub">No survey data.</p>')
        return "".join(out)
    out.append(
        '<div class="scroll"><table><thead><tr><th class="l">survey</th>'
        '<th class="l">participant</th><th>delivered</th><th>opened</th><th>submitted</th>'
        "<th>completion</th><th>median min to submit</th><th>extra sessions</th>"
        "</tr></thead><tbody>"
    )
    for r in report.rows:
        share = r.completion
        style = f' style="background:{_share_colour(share)}"' if share is not None else ""
        out.append(
            f'<tr><td class="l">{esc(r.survey_name)}</td><td class="l pid">{esc(r.participant)}'
            f"</td><td>{'–' if r.deliveries is None else r.deliveries}</td><td>{r.opened}</td>"
            f"<td>{r.submitted}</td><td{style}>{_pct(share)}</td>"
            f"<td>{'–' if r.median_minutes_to_submit is None else r.median_minutes_to_submit}"
            f"</td><td>{r.unscheduled}</td></tr>"
        )
    out.append("</tbody></table></div>")
    for sid, name in sorted(report.surveys.items(), key=lambda kv: (kv[1], kv[0])):
        questions = report.questions(sid)
        if not questions:
            continue
        out.append(
            f"<h2>Missing answers: {esc(name)}</h2>"
            '<div class="scroll"><table><thead><tr><th class="l">question</th>'
            "<th>submitted</th><th>missing</th><th>share missing</th></tr></thead><tbody>"
        )
        for q in questions:
            out.append(
                f'<tr><td class="l" title="{esc(q.question_id)}">{esc(q.text or q.question_id)}'
                f"</td><td>{q.submitted}</td><td>{q.missing}</td>"
                f"<td>{_pct(q.share_missing)}</td></tr>"
            )
        out.append("</tbody></table></div>")
    out.append(f"<h2>Missed in the last {report.days} days</h2>")
    if not report.missed:
        out.append('<p class="sub">None.</p>')
    else:
        out.append(
            '<table><thead><tr><th class="l">participant</th><th class="l">survey</th>'
            '<th class="l">delivered (UTC)</th><th class="l">opened</th></tr></thead><tbody>'
        )
        for m in report.missed:
            out.append(
                f'<tr><td class="l pid">{esc(m.participant)}</td><td class="l">'
                f'{esc(m.survey_name)}</td><td class="l">'
                f"{esc(m.delivered.strftime('%Y-%m-%d %H:%M'))}</td>"
                f'<td class="l">{"opened, not submitted" if m.opened else "never opened"}</td></tr>'
            )
        out.append("</tbody></table>")
    return "".join(out)
