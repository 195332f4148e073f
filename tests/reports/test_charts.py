"""The report's SVG charts: well-formed, accessible, escaped, and true to the data they draw."""

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from catalog.reports.charts import NARROW, WIDTH, limits_chart, share_bars, trend_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "A & B ' </svg>"]
LABELS = ["2020-12", "2021-06", "2021-12", "2022-06", "2022-12"]


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    root = ET.fromstring(str(markup))
    assert root.tag == f"{SVG}svg"
    return root


def elements(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(f"{SVG}{tag}"))


def texts(root: ET.Element) -> list[str]:
    return ["".join(text.itertext()) for text in elements(root, "text")]


def desc(root: ET.Element) -> str:
    return root.find(f"{SVG}desc").text


def data_circles(root: ET.Element) -> list[ET.Element]:
    return elements(root, "circle")


def breaks_rules(statutory: int, promised: int) -> bool:
    """The two time-limit rules, written independently of the module under test."""
    return promised > 10 or 4 * promised > statutory


POINTS = [
    ("XCJT-01-001-01", 20, 5),  # 75 % compressed exactly: fine
    ("XCJT-01-001-02", 20, 6),  # compression 70 %
    ("XCJT-01-002-01", 20, 0),
    ("XCJT-01-002-02", 20, 0),  # same coordinates as the one before
    ("XCJT-01-003-01", 60, 12),  # over 10 working days, 80 % compressed
    ("XCJT-01-003-02", 30, 14),  # both rules
    ("XCJT-01-004-01", None, 3),
    ("XCJT-01-004-02", None, 15),
    ("XCJT-01-005-01", 0, 0),  # a zero limit: no compression to break
    ("XCJT-01-005-02", 5, 1),
]
LIMITED = [point for point in POINTS if point[1] is not None]


def all_charts() -> list[Markup]:
    return [
        limits_chart(POINTS, chart_id="limits", title="法定时限与承诺时限"),
        share_bars([("不见面审批", 181, 199, 90.95)], chart_id="shares", title="比例"),
        trend_chart([("即办件", [50.0, None, 52.76])], LABELS[:3], chart_id="trend", title="趋势"),
        limits_chart([], chart_id="empty", title="空"),
    ]


@pytest.mark.parametrize("index", range(4))
def test_every_chart_is_an_accessible_svg_without_script_or_inline_style(index):
    markup = all_charts()[index]
    root = parse(markup)
    assert root.get("role") == "img"
    assert "viewBox" in root.attrib and "width" not in root.attrib
    assert "Noto Sans CJK SC" in root.get("font-family")
    title_id, desc_id = root.get("aria-labelledby").split()
    children = {child.get("id"): child.tag for child in root}
    assert children[title_id] == f"{SVG}title" and children[desc_id] == f"{SVG}desc"
    assert desc(root)
    assert "style=" not in markup and "<script" not in markup
    assert all("style" not in element.attrib for element in root.iter())
    assert not elements(root, "script") and not elements(root, "foreignObject")


def test_ids_derive_from_the_chart_id_and_bad_ids_are_refused():
    first = parse(share_bars([("a", 1, 2, 50.0)], chart_id="one", title="t"))
    second = parse(share_bars([("a", 1, 2, 50.0)], chart_id="two", title="t"))
    assert first.get("aria-labelledby") == "one-title one-desc"
    assert second.get("aria-labelledby") == "two-title two-desc"
    with pytest.raises(ValueError):
        share_bars([], chart_id='x" onload="alert(1)', title="t")


def test_limits_chart_draws_one_circle_per_pair_of_limits_with_a_statutory_limit():
    root = parse(limits_chart(POINTS, chart_id="limits", title="t"))
    circles = data_circles(root)
    pairs = {(statutory, promised) for _, statutory, promised in LIMITED}
    assert len(circles) == len(pairs) == len(LIMITED) - 1 == 7  # -02-01 and -02-02 share one
    tooltips = sorted(circle.find(f"{SVG}title").text for circle in circles)
    assert "XCJT-01-001-01：法定20个工作日，承诺5个工作日" in tooltips
    assert "法定20个工作日，承诺0个工作日：2个业务办理项（XCJT-01-002-01、XCJT-01-002-02）" in (
        tooltips
    )
    assert not any("XCJT-01-004" in tooltip for tooltip in tooltips)


def test_counted_points_are_drawn_once_and_counted_in_full():
    many = [("20/5", 20, 5, 1000), ("20/12", 20, 12, 30), ("无期限", None, 3, 7)]
    root = parse(limits_chart(many, chart_id="limits", title="t"))
    assert len(data_circles(root)) == 2
    assert desc(root).startswith(
        "1030个有法定时限的业务办理项；30个低于75%压缩要求，30个承诺时限超过"
    )
    assert "另有7个无法定时限的未绘出" in desc(root)


def test_limits_chart_places_points_on_its_axes():
    root = parse(limits_chart(POINTS, chart_id="limits", title="t"))
    by_label = {
        circle.find(f"{SVG}title").text.split("：")[0]: (
            float(circle.get("cx")),
            float(circle.get("cy")),
        )
        for circle in data_circles(root)
    }
    tick_x = {
        "".join(text.itertext()): float(text.get("x"))
        for text in elements(root, "text")
        if text.get("text-anchor") == "middle"
    }
    assert by_label["XCJT-01-001-01"][0] == tick_x["20"]
    shared = by_label["法定20个工作日，承诺0个工作日"]  # -02-01 and -02-02, drawn once
    assert shared[1] > by_label["XCJT-01-001-01"][1]  # fewer days is lower
    assert by_label["XCJT-01-005-02"][0] < by_label["XCJT-01-001-01"][0]
    assert {"法定时限（工作日）", "承诺时限（工作日）", "承诺=法定", "承诺上限10个工作日"} <= set(
        texts(root)
    )
    assert any("压缩75%" in text for text in texts(root))


def test_rule_breaking_points_are_marked_by_more_than_colour():
    root = parse(limits_chart(POINTS, chart_id="limits", title="t"))
    marked = {}
    for circle in data_circles(root):
        label = circle.find(f"{SVG}title").text.split("：")[0]
        marked[label] = circle
    expected = {
        label for label, statutory, promised in LIMITED if breaks_rules(statutory, promised)
    }
    assert expected == {"XCJT-01-001-02", "XCJT-01-003-01", "XCJT-01-003-02"}
    assert {label for label, circle in marked.items() if circle.get("data-rules")} == expected
    assert set(marked["XCJT-01-003-02"].get("data-rules").split()) == {
        "promised_over_limit",
        "compression_below_minimum",
    }
    assert marked["XCJT-01-003-01"].get("data-rules") == "promised_over_limit"
    assert marked["XCJT-01-001-02"].get("data-rules") == "compression_below_minimum"
    good, bad = marked["XCJT-01-001-01"], marked["XCJT-01-001-02"]
    for attribute in ("fill", "stroke", "stroke-width", "r"):
        assert good.get(attribute) != bad.get(attribute), attribute
    assert "时限压缩比低于75%" in bad.find(f"{SVG}title").text


def test_limits_chart_desc_counts_the_data():
    root = parse(limits_chart(POINTS, chart_id="limits", title="t", description="2020年改革后"))
    below = sum(4 * promised > statutory > 0 for _, statutory, promised in LIMITED)
    over = sum(promised > 10 for _, _, promised in LIMITED)
    unlimited = len(POINTS) - len(LIMITED)
    assert (below, over, unlimited) == (2, 2, 2)
    assert desc(root) == (
        f"2020年改革后。{len(LIMITED)}个有法定时限的业务办理项；{below}个低于75%压缩要求，"
        f"{over}个承诺时限超过10个工作日；另有{unlimited}个无法定时限的未绘出"
        "（其中1个承诺时限超过10个工作日）"
    )
    assert {f"符合要求（{len(LIMITED) - 3}）", "超过10个工作日或压缩不足75%（3）"} <= set(
        texts(root)
    )


def test_share_bars_are_proportional_and_labelled():
    bars = [("不见面审批", 9, 10, 90.0), ("即办件", 1, 10, 10.0), ("全部", 10, 10, 100.0)]
    root = parse(share_bars(bars, chart_id="shares", title="t"))
    widths = [
        float(rect.get("width")) for rect in elements(root, "rect") if rect.get("data-percent")
    ]
    assert len(widths) == 3
    assert widths[0] == pytest.approx(9 * widths[1])
    assert widths[2] == pytest.approx(widths[0] / 0.9)
    assert {"90.00%（9/10）", "10.00%（1/10）", "100.00%（10/10）"} <= set(texts(root))
    assert (
        desc(root) == "不见面审批：90.00%（9/10）；即办件：10.00%（1/10）；全部：100.00%（10/10）"
    )


def test_share_bar_without_data_draws_no_bar():
    bars = [("不见面审批", 181, 199, 90.95), ("空项", 0, 0, None)]
    root = parse(share_bars(bars, chart_id="shares", title="t"))
    assert len([rect for rect in elements(root, "rect") if rect.get("data-percent")]) == 1
    assert "无数据" in texts(root)
    assert "90.95%（181/199）" in texts(root)
    assert desc(root).endswith("空项：无数据")


def test_hostile_labels_are_escaped_everywhere():
    points = [(label, 20, 5) for label in HOSTILE]
    bars = [(label, 1, 2, 50.0) for label in HOSTILE]
    series = [(label, [10.0, 20.0]) for label in HOSTILE]
    for markup in (
        limits_chart(points, chart_id="limits", title=HOSTILE[0], description=HOSTILE[1]),
        share_bars(bars, chart_id="shares", title=HOSTILE[0]),
        trend_chart(series, HOSTILE[:2], chart_id="trend", title=HOSTILE[0]),
    ):
        assert "<script" not in markup and "<img" not in markup
        root = parse(markup)
        assert root.find(f"{SVG}title").text == HOSTILE[0]
        shown = texts(root) + [title.text for title in elements(root, "title")]
        for label in HOSTILE:
            assert any(label in text for text in shown), label
        assert not elements(root, "script") and not list(root.iter("img"))


@pytest.mark.parametrize(
    "render",
    [
        lambda: limits_chart([], chart_id="c", title="t"),
        lambda: limits_chart([("XCJT-01-001-01", None, 5)], chart_id="c", title="t"),
        lambda: share_bars([], chart_id="c", title="t"),
        lambda: trend_chart([], LABELS, chart_id="c", title="t"),
        lambda: trend_chart([("即办件", [])], [], chart_id="c", title="t"),
    ],
)
def test_empty_input_says_there_is_no_data(render):
    root = parse(render())
    assert texts(root) == ["暂无数据"]
    assert desc(root) == "暂无数据"
    assert not data_circles(root)


def test_trend_chart_breaks_lines_at_missing_values():
    series = [
        ("不见面审批", [10.0, 20.0, None, 40.0, 50.0]),
        ("即办件", [30.0, 35.5, 40.0, 45.0, 52.76]),
    ]
    root = parse(trend_chart(series, LABELS, chart_id="trend", title="t"))
    polylines = elements(root, "polyline")
    point_counts = sorted(len(line.get("points").split()) for line in polylines)
    assert point_counts == [2, 2, 5]
    assert len(data_circles(root)) == sum(
        value is not None for _, values in series for value in values
    )
    strokes = {line.get("stroke") for line in polylines}
    dashes = {line.get("stroke-dasharray") for line in polylines}
    assert len(strokes) == 2 and len(dashes) == 2  # not colour only
    assert (
        desc(root)
        == "不见面审批：2020-12 10.00% → 2022-12 50.00%；即办件：2020-12 30.00% → 2022-12 52.76%"
    )
    assert set(LABELS) <= set(texts(root))


def test_trend_chart_y_axis_runs_from_0_to_100_percent():
    root = parse(trend_chart([("a", [0.0, 50.0, 100.0])], LABELS[:3], chart_id="trend", title="t"))
    y = [float(circle.get("cy")) for circle in data_circles(root)]
    assert y[0] > y[1] > y[2]
    assert y[0] - y[1] == pytest.approx(y[1] - y[2])
    assert {"0%", "100%"} <= set(texts(root))


def test_trend_chart_with_one_snapshot_draws_points_only():
    series = [("不见面审批", [90.95]), ("即办件", [None])]
    root = parse(trend_chart(series, ["2021-06"], chart_id="trend", title="t"))
    assert not elements(root, "polyline")
    circles = data_circles(root)
    assert len(circles) == 1
    assert circles[0].find(f"{SVG}title").text == "不见面审批：2021-06，90.95%"
    assert desc(root) == "不见面审批：2021-06 90.95%；即办件：无数据"


def test_trend_chart_refuses_series_that_do_not_match_the_labels():
    with pytest.raises(ValueError):
        trend_chart([("a", [1.0, 2.0])], LABELS, chart_id="trend", title="t")


def text_extents(root: ET.Element) -> list[tuple[str, float, float]]:
    """Each text's left and right edge, estimated as the charts estimate widths, in viewBox
    units (a <g transform> shifts vertically only, so x is unchanged)."""
    from catalog.reports.charts import _text_width

    extents = []
    for text in elements(root, "text"):
        content, x = "".join(text.itertext()), float(text.get("x"))
        width = _text_width(content, float(text.get("font-size")))
        anchor = text.get("text-anchor")
        left = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
        extents.append((content, left, left + width))
    return extents


@pytest.mark.parametrize("width", [WIDTH, NARROW])
def test_every_label_stays_inside_the_drawing_at_both_widths(width):
    """The narrow drawing (a phone's) is its own layout, not the wide one squeezed: its text is
    as large in viewBox units and every label still fits inside it."""
    for chart in (
        limits_chart(POINTS, chart_id="limits", title="t", width=width),
        share_bars(
            [("不见面审批占比", 181, 199, 90.95), ("时限压缩比", 2138, 2438, 87.69)],
            chart_id="shares",
            title="t",
            width=width,
        ),
        trend_chart(
            [(name, [50.0, 60.0, 70.0]) for name in ("不见面审批占比", "即办件占比", "时限压缩比")],
            LABELS[:3],
            chart_id="trend",
            title="t",
            width=width,
        ),
    ):
        root = parse(chart)
        assert root.get("viewBox").split()[2] == str(width)
        for content, left, right in text_extents(root):
            assert left >= -1 and right <= width + 1, (content, left, right)
        assert min(float(text.get("font-size")) for text in elements(root, "text")) >= 11
