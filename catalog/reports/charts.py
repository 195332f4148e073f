"""Server-side SVG charts for the reform report: no script, no inline style, printable, accessible.

Every function returns one ``<svg>`` element as ``Markup``, sized by its viewBox only, named by a
``<title>`` and described by a ``<desc>`` (a text alternative computed from the data). Every
``<circle>`` is a data point with its own ``<title>``; legend samples are paths. Colour is never
the only cue: rule-breaking points are hollow rings, series differ by dash pattern and marker.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from markupsafe import Markup, escape

from catalog.ratios import MAX_PROMISED_DAYS, MIN_ITEM_COMPRESSION, PolicyRule, time_limit_rules

FONT_FAMILY = "Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif"
TEXT, MUTED, AXIS, GRID, TRACK = "#1a1a1a", "#4d4d4d", "#595959", "#d9d9d9", "#ececec"
COMPLIANT, BREAKING = "#1f5fa8", "#b3261e"  # both above 4.5:1 on white
PALETTE = ("#1f5fa8", "#b3261e", "#2e7d32", "#6a3d9a", "#8a4b00", "#333333")
DASHES = ("", "8 4", "2 3", "10 3 2 3", "5 5", "1 2")
NO_DATA = "暂无数据"
WIDTH = 640  # the desktop drawing, in viewBox units; its 11-unit text is ≥ 11 px from 640 px up
NARROW = 340  # a phone's drawing: about 1 unit a pixel at 360–390 px, so text keeps its size

Number = int | float | Decimal
_CHART_ID = re.compile(r"[A-Za-z][\w-]*\Z")


def _n(value: float) -> str:
    """A coordinate with at most one decimal, without a trailing '.0'."""
    return f"{round(float(value), 1):g}"


def _text_width(text: str, size: float) -> float:
    """An estimate of the rendered width: CJK characters are square, others about 0.6 em."""
    return sum(size if ord(char) > 0x2E7F else size * 0.6 for char in text)


def _text(x: float, y: float, text: str, *, size=12, anchor="start", fill=TEXT, halo=False) -> str:
    halo_attributes = ' stroke="#ffffff" stroke-width="3" paint-order="stroke"' if halo else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{halo_attributes}>{escape(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width=1, dash="") -> str:
    dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
        f'stroke-width="{width}"{dash_attribute}/>'
    )


def _marker(cx: float, cy: float, r: float, paint: str, tooltip="", *, legend=False) -> str:
    """A data point: a <circle> with its tooltip; for a legend the same dot drawn as a <path>."""
    if legend:
        d = f"M{_n(cx - r)},{_n(cy)}a{r},{r} 0 1,0 {2 * r},0a{r},{r} 0 1,0 {-2 * r},0"
        return f'<path d="{d}" {paint}/>'
    title = f"<title>{escape(tooltip)}</title>" if tooltip else ""
    return f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{r}" {paint}>{title}</circle>'


def _svg(
    chart_id: str, title: str, desc: str, height: float, body: Sequence[str], width=WIDTH
) -> Markup:
    if not _CHART_ID.match(chart_id):
        raise ValueError(f"chart_id must be a plain HTML id, not {chart_id!r}")
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {_n(height)}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" font-family="{FONT_FAMILY}">'
        f'<title id="{title_id}">{escape(title)}</title><desc id="{desc_id}">{escape(desc)}</desc>'
        f"{''.join(body)}</svg>"
    )


def _describe(description: str, computed: str) -> str:
    """The caller's description, then the text alternative computed from the data."""
    description = description.strip()
    if not description or description.endswith(("。", "；", ".")):
        return description + computed
    return f"{description}。{computed}"


def _empty(chart_id: str, title: str, description: str, width=WIDTH) -> Markup:
    body = [_text(width / 2, 36, NO_DATA, size=16, anchor="middle", fill=MUTED)]
    return _svg(chart_id, title, _describe(description, NO_DATA), 60, body, width)


def _ticks(maximum: float) -> list[int]:
    """Round integer ticks (steps of 1, 2 or 5 times a power of ten) from 0 to ≥ `maximum`."""
    maximum = max(maximum, 1)
    magnitude = 10 ** math.floor(math.log10(maximum / 5))
    step = max(1, next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= maximum / 5))
    return list(range(0, math.ceil(maximum / step) * step + 1, step))


def _percent_text(value: Number) -> str:
    return f"{value:.2f}%"


def _whole_percent(share: Fraction) -> str:
    return f"{float(share):.0%}"


def limits_chart(
    points: Sequence[tuple[str, int | None, int] | tuple[str, int | None, int, int]],
    *,
    chart_id: str,
    title: str,
    description="",
    width=WIDTH,
) -> Markup:
    """Promised against statutory days: one circle per pair of limits that handling items have.

    `points` are (label, statutory_days, promised_days[, count]): promised days as the
    compression counts them (0 for an instant item); `count` handling items share the point
    (1 when left out; points with equal limits are merged, so a province draws hundreds of
    circles, not a circle per item). Items without a statutory limit are counted, not drawn.
    """
    merged: dict[tuple[int | None, int], list] = {}
    for label, statutory, promised, *count in points:
        entry = merged.setdefault((statutory, promised), [0, []])
        entry[0] += count[0] if count else 1
        entry[1].append(label)
    plotted = [(labels, statutory, promised, count)
               for (statutory, promised), (count, labels) in merged.items()
               if statutory is not None]  # fmt: skip
    if not plotted:
        return _empty(chart_id, title, description, width)
    left, right, top = 56, width - 20, 52
    bottom = top + min(328, right - left)
    x_ticks = _ticks(max(statutory for _, statutory, _, _ in plotted))
    y_ticks = _ticks(max(MAX_PROMISED_DAYS + 1, *(promised for _, _, promised, _ in plotted)))
    x_max, y_max = x_ticks[-1], y_ticks[-1]

    def sx(days: float) -> float:
        return left + days / x_max * (right - left)

    def sy(days: float) -> float:
        return bottom - days / y_max * (bottom - top)

    body = []
    for tick in x_ticks:
        body.append(_line(sx(tick), top, sx(tick), bottom, GRID))
        body.append(_text(sx(tick), bottom + 18, str(tick), size=11, anchor="middle", fill=MUTED))
    for tick in y_ticks:
        body.append(_line(left, sy(tick), right, sy(tick), GRID))
        body.append(_text(left - 8, sy(tick) + 4, str(tick), size=11, anchor="end", fill=MUTED))
    body.append(_line(left, bottom, right, bottom, AXIS))
    body.append(_line(left, top, left, bottom, AXIS))
    body.append(_text((left + right) / 2, bottom + 42, "法定时限（工作日）", anchor="middle"))
    body.append(_text(8, top - 18, "承诺时限（工作日）"))

    # Reference lines clipped to the plot, each labelled at its second end: promised = statutory,
    # promised = 25 % of statutory (the 75 % compression rule), promised = 10 working days.
    share, minimum = 1 - MIN_ITEM_COMPRESSION, _whole_percent(MIN_ITEM_COMPRESSION)
    diagonal, quarter = min(x_max, y_max), min(Fraction(x_max), y_max / share)
    limit, quarter_label = MAX_PROMISED_DAYS, f"承诺=法定×{_whole_percent(share)}（压缩{minimum}）"
    for x1, y1, x2, y2, colour, dash, label, dx, dy, anchor in (
        (0, 0, diagonal, diagonal, AXIS, "6 4", "承诺=法定", 6, 14, "start"),
        (0, 0, quarter, quarter * share, BREAKING, "2 3", quarter_label, -4, -8, "end"),
        (x_max, limit, 0, limit, BREAKING, "8 3", f"承诺上限{limit}个工作日", 6, -6, "start"),
    ):
        body.append(_line(sx(x1), sy(y1), sx(x2), sy(y2), colour, dash=dash))
        fill = MUTED if colour == AXIS else colour
        x, y = sx(x2) + dx, sy(y2) + dy
        body.append(_text(x, y, label, size=11, anchor=anchor, fill=fill, halo=True))

    ok_paint = f'fill="{COMPLIANT}" fill-opacity="0.5" stroke="{COMPLIANT}"'
    bad_paint = f'fill="#ffffff" stroke="{BREAKING}" stroke-width="2.5"'
    compliant, breaking, broken = [], [], []
    shown = {True: 0, False: 0}  # handling items drawn, by whether they break a rule
    for labels, statutory, promised, count in plotted:
        rules = time_limit_rules(statutory, promised, promised)
        broken += rules * count
        shown[bool(rules)] += count
        limits = f"法定{statutory}个工作日，承诺{promised}个工作日"
        if count == 1:
            tooltip = f"{labels[0]}：{limits}"
        else:
            sample = "、".join(labels[:3]) + ("等" if count > 3 else "")
            tooltip = f"{limits}：{count}个业务办理项（{sample}）"
        tooltip += "".join(f"；{rule.label}" for rule in rules)
        if rules:
            paint = f'{bad_paint} data-rules="{" ".join(rules)}"'
            breaking.append(_marker(sx(statutory), sy(promised), 6, paint, tooltip))
        else:
            compliant.append(_marker(sx(statutory), sy(promised), 5, ok_paint, tooltip))
    body += compliant + breaking  # rule breakers drawn on top

    legend_ok = f"符合要求（{shown[False]}）"
    legend_bad = f"超过{limit}个工作日或压缩不足{minimum}（{shown[True]}）"
    x = right - _text_width(legend_ok, 12) - _text_width(legend_bad, 12) - 52
    if x >= 8:  # both entries on one line, right-aligned
        body += [_marker(x + 6, 16, 5, ok_paint, legend=True), _text(x + 16, 20, legend_ok)]
        x += 36 + _text_width(legend_ok, 12)
        body += [_marker(x + 6, 16, 6, bad_paint, legend=True), _text(x + 16, 20, legend_bad)]
    else:  # a narrow drawing: one entry a line, above the plot moved down to make room
        shift = 40
        body = [f'<g transform="translate(0 {shift})">', *body, "</g>"]
        body += [_marker(14, 12, 5, ok_paint, legend=True), _text(24, 16, legend_ok)]
        body += [_marker(14, 34, 6, bad_paint, legend=True), _text(24, 38, legend_bad)]
        bottom += shift

    summary = (
        f"{sum(count for *_, count in plotted)}个有法定时限的业务办理项；"
        f"{broken.count(PolicyRule.compression_below_minimum)}个低于{minimum}压缩要求，"
        f"{broken.count(PolicyRule.promised_over_limit)}个承诺时限超过{limit}个工作日"
    )
    unlimited = {promised: count for (statutory, promised), (count, _) in merged.items()
                 if statutory is None}  # fmt: skip
    if unlimited:
        summary += f"；另有{sum(unlimited.values())}个无法定时限的未绘出"
        if unlimited_over := sum(n for promised, n in unlimited.items() if promised > limit):
            summary += f"（其中{unlimited_over}个承诺时限超过{limit}个工作日）"
    return _svg(chart_id, title, _describe(description, summary), bottom + 54, body, width)


def share_bars(
    bars: Sequence[tuple[str, int, int, Number | None]],
    *,
    chart_id: str,
    title: str,
    description="",
    width=WIDTH,
) -> Markup:
    """Horizontal bars of percentages on a 0–100 scale, each labelled "90.95%（181/199）"."""
    if not bars:
        return _empty(chart_id, title, description, width)
    left, track, row = 8, min(400, width - 150), 48
    body, summary = [], []
    for index, (label, numerator, denominator, percent) in enumerate(bars):
        y = 8 + index * row
        body.append(_text(left, y + 14, label, size=13))
        body.append(f'<rect x="{left}" y="{y + 22}" width="{track}" height="16" fill="{TRACK}"/>')
        if percent is None:
            value, end = "无数据", left
        else:
            value = f"{_percent_text(percent)}（{numerator}/{denominator}）"
            length = min(max(float(percent), 0.0), 100.0) / 100 * track
            body.append(
                f'<rect x="{left}" y="{y + 22}" width="{_n(length)}" height="16" '
                f'fill="{COMPLIANT}" data-percent="{escape(percent)}"/>'
            )
            end = left + length
        body.append(_text(end + 6, y + 35, value, fill=MUTED if percent is None else TEXT))
        summary.append(f"{label}：{value}")
    description = _describe(description, "；".join(summary))
    return _svg(chart_id, title, description, 8 + len(bars) * row, body, width)


def trend_chart(
    series: Sequence[tuple[str, Sequence[Number | None]]],
    labels: Sequence[str],
    *,
    chart_id: str,
    title: str,
    description="",
    width=WIDTH,
) -> Markup:
    """Percentages (0–100) over snapshots: per series one dash pattern, colour and marker."""
    if not series or not labels:
        return _empty(chart_id, title, description, width)
    for name, values in series:
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    left, right = 52, width - 20
    body, legend_row, x = [], 0, left
    for index, (name, _) in enumerate(series):
        if x > left and x + 34 + _text_width(name, 12) > right:
            legend_row, x = legend_row + 1, left
        body += _series_mark(index, x, 16 + legend_row * 22, legend_end=x + 28)
        body.append(_text(x + 34, 20 + legend_row * 22, name))
        x += 58 + _text_width(name, 12)
    top = 44 + legend_row * 22
    bottom, band = top + 240, (right - left) / len(labels)

    def sx(position: int) -> float:
        return left + (position + 0.5) * band

    def sy(value: Number) -> float:
        return bottom - min(max(float(value), 0.0), 100.0) / 100 * (bottom - top)

    for tick in range(0, 101, 20):
        body.append(_line(left, sy(tick), right, sy(tick), GRID if tick else AXIS))
        body.append(_text(left - 8, sy(tick) + 4, f"{tick}%", size=11, anchor="end", fill=MUTED))
    every = math.ceil((max(_text_width(label, 11) for label in labels) + 8) / band)
    for position, label in enumerate(labels[::every]):
        x = sx(position * every)
        body.append(_text(x, bottom + 18, label, size=11, anchor="middle", fill=MUTED))

    summary = []
    for index, (name, values) in enumerate(series):
        colour, dash = PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        runs: list[list[int]] = [[]]  # positions of consecutive values; None breaks the line
        for position, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(position)
        for run in (run for run in runs if len(run) > 1):
            coordinates = " ".join(f"{_n(sx(p))},{_n(sy(values[p]))}" for p in run)
            body.append(
                f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash_attribute}/>'
            )
        present = [(labels[p], value) for p, value in enumerate(values) if value is not None]
        for position, value in enumerate(values):
            if value is not None:
                tooltip = f"{name}：{labels[position]}，{_percent_text(value)}"
                body += _series_mark(index, sx(position), sy(value), tooltip=tooltip)
        first_and_last = [present[0], present[-1]] if len(present) > 1 else present
        ends = " → ".join(f"{label} {_percent_text(value)}" for label, value in first_and_last)
        summary.append(f"{name}：{ends or '无数据'}")
    description = _describe(description, "；".join(summary))
    return _svg(chart_id, title, description, bottom + 30, body, width)


def _series_mark(index: int, x: float, y: float, *, tooltip="", legend_end=None) -> list[str]:
    """A data point of series `index`, or its legend sample: a stroke to `legend_end` and a dot.

    Even series have filled markers, odd ones hollow, so series differ by more than colour.
    """
    colour, dash = PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
    fill = colour if index % 2 == 0 else "#ffffff"
    paint = f'fill="{fill}" stroke="{colour}" stroke-width="2"'
    if legend_end is None:
        return [_marker(x, y, 4, paint, tooltip)]
    sample = _line(x, y, legend_end, y, colour, width=2, dash=dash)
    return [sample, _marker((x + legend_end) / 2, y, 4, paint, legend=True)]
