"""The reform report document: the figures as the JSON the CLI, API and pages share."""

from __future__ import annotations

from typing import Any

from catalog import measures
from catalog.enums import REPORTED_TYPES
from catalog.ratios import CatalogFigures, PolicyRule, Ratio

# (key in the document, Chinese name, attribute of CatalogFigures), in report order: the shares
# of catalog.measures, whose measures define their numerators.
SHARES: tuple[tuple[str, str, str], ...] = tuple(
    (share.key, share.label, share.attribute) for share in measures.SHARES
)

DEFINITIONS = {
    **{share.key: share.definition for share in measures.SHARES},
    "compression": measures.COMPRESSION_DEFINITION,
}


def _percent(ratio: Ratio) -> float | None:
    value = ratio.percent
    return None if value is None else float(value)


def _share(ratio: Ratio) -> dict[str, Any]:
    return {"count": ratio.numerator, "total": ratio.denominator, "percent": _percent(ratio)}


def report_document(
    figures: CatalogFigures, exceptions: dict[PolicyRule, list[str]] | None
) -> dict[str, Any]:
    """The report as plain JSON-ready data; percentages are exact two-decimal values. Without
    `exceptions` (None), the figures alone: the report's headline."""
    document: dict[str, Any] = {
        "items": {
            "total": figures.items_total,
            "by_type": {
                item_type.value: figures.items_by_type[item_type] for item_type in REPORTED_TYPES
            },
        },
        "handling_items": {
            "total": figures.handling_items,
            "with_statutory_limit": figures.limited_handling_items,
        },
    }
    for key, _label, attribute in SHARES:
        document[key] = _share(getattr(figures, attribute))
    document["compression"] = {
        "statutory_days": figures.statutory_days,
        "promised_days": figures.promised_days,
        "handling_items": figures.limited_handling_items,
        "percent": _percent(figures.compression),
    }
    if exceptions is not None:
        document["policy_exceptions"] = {
            rule.value: {"count": len(codes), "handling_items": codes}
            for rule, codes in exceptions.items()
        }
    return document


def format_percent(value: float | None) -> str:
    return "—（无数据）" if value is None else f"{value:.2f}%"


def render_text(document: dict[str, Any]) -> str:
    """The report as plain text for a terminal."""
    from catalog.enums import ItemType

    by_type = document["items"]["by_type"]
    lines = [
        "许昌市交通运输局 审批事项改革指标",
        f"审批事项：{document['items']['total']} 项（"
        + "，".join(f"{ItemType(key).label} {count}" for key, count in by_type.items())
        + "）",
        f"业务办理项：{document['handling_items']['total']} 项",
    ]
    for key, label, _attribute in SHARES:
        share = document[key]
        lines.append(
            f"{label}：{share['count']} / {share['total']} = {format_percent(share['percent'])}"
        )
    compression = document["compression"]
    lines.append(
        f"时限压缩比：（{compression['statutory_days']} − {compression['promised_days']}）"
        f" / {compression['statutory_days']} = {format_percent(compression['percent'])}"
        f"（{compression['handling_items']} 个有法定时限的业务办理项）"
    )
    lines.append("政策例外：")
    for rule in PolicyRule:
        entry = document["policy_exceptions"][rule.value]
        codes = "、".join(entry["handling_items"]) or "无"
        lines.append(f"  {rule.label}：{entry['count']} 项（{codes}）")
    return "\n".join(lines)
