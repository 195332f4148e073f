"""The national elements of an item (../shared/DOMAIN.md) that may be missing, and which ones an
item lacks.

What the ratios read is required everywhere (item code, name and type; per handling item its code,
case type, statutory and promised limits and visits): the services refuse an item without it.
Every other element may be missing, as it is in many a bureau's spreadsheet: such an item is kept
with its gaps listed, may be published, shows "暂未提供" for each gap on the guide, and counts
against the report's 要素完整率. This module is the one list of those elements, read by the
importer's preview, the staff pages, the guide, the report and the export; each element's
`missing` has its SQL twin beside the other measures in catalog.measures (the report's
data-quality counts), and tests/test_measures.py holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NOT_PROVIDED = "暂未提供"  # what the guide shows for a missing element


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return False


@dataclass(frozen=True)
class Element:
    """One element that may be missing: its key (a name of the item's or handling item's data,
    as services.item_data() shapes it), its national name, and when it counts as missing."""

    key: str
    label: str
    missing: Callable[[Mapping[str, Any]], bool]


def _field(key: str, label: str) -> Element:
    return Element(key, label, lambda data: _blank(data.get(key)))


ITEM_ELEMENTS: tuple[Element, ...] = (
    _field("implementing_body", "实施主体"),
    _field("handling_unit", "承办机构"),
    _field("exercise_level", "行使层级"),
    _field("power_source", "权力来源"),
    _field("service_targets", "服务对象"),
    _field("legal_basis", "设定依据"),
    _field("conditions", "受理条件"),
    Element("result.name", "审批结果", lambda data: _blank((data.get("result") or {}).get("name"))),
    Element(
        "result.type", "审批结果类型", lambda data: _blank((data.get("result") or {}).get("type"))
    ),
    _field("consultation", "咨询方式"),
    _field("complaint", "监督投诉方式"),
    _field("location", "办理地点"),
    _field("hours", "办理时间"),
)
HANDLING_ELEMENTS: tuple[Element, ...] = (
    _field("situation", "办理项名称"),
    # a reason is an element only where there is a visit
    Element(
        "visit_reason",
        "必须现场办理原因说明",
        lambda data: (data.get("visits") or 0) > 0 and _blank(data.get("visit_reason")),
    ),
    _field("forms", "办理形式"),
    _field("online_depth", "网上办理深度"),
    _field("fees", "是否收费"),  # None: not provided; "none" (不收费) or a list: provided
    _field("materials", "申请材料"),
    _field("steps", "办理流程"),
    # Not elements (issue 23 part 2, docs/guide.md): the 在线办理地址 of a handling item that
    # lists 网上办理, and an item's 常见问题. The 2020 catalog has neither (197 of its 199
    # handling items list 网上办理, with no address), and no data frozen before 0019 says
    # either: counted, the 要素完整率 would fall to about 1 % overnight with no data worse
    # than before, and measure one field nobody has filled yet instead of the catalog's
    # quality. Each is shown where given; the export and the API say which are set.
)
ELEMENTS: tuple[Element, ...] = (*ITEM_ELEMENTS, *HANDLING_ELEMENTS)
LABELS = {element.key: element.label for element in ELEMENTS}


def missing_item_elements(item: Mapping[str, Any]) -> list[str]:
    """The keys of the item-level elements `item` (services.item_data shape) lacks, in order."""
    return [element.key for element in ITEM_ELEMENTS if element.missing(item)]


def missing_handling_elements(handling: Mapping[str, Any]) -> list[str]:
    """The keys of the elements one handling item (as data) lacks, in order."""
    return [element.key for element in HANDLING_ELEMENTS if element.missing(handling)]


@dataclass(frozen=True)
class Gaps:
    """What an item lacks: its own elements, and each handling item's (by code; complete ones
    left out)."""

    item: list[str]
    handling_items: dict[str, list[str]]

    @property
    def complete(self) -> bool:
        return not self.item and not self.handling_items

    def of(self, code: str) -> list[str]:
        """Every element one handling item's row lacks: the item's and its own."""
        return [*self.item, *self.handling_items.get(code, [])]

    def labels(self) -> list[str]:
        """The national names of every element missing anywhere in the item, each once."""
        keys = [*self.item, *(key for keys in self.handling_items.values() for key in keys)]
        return [LABELS[key] for key in dict.fromkeys(keys)]


def gaps(item: Mapping[str, Any]) -> Gaps:
    by_code = {h["code"]: missing_handling_elements(h) for h in item["handling_items"]}
    return Gaps(missing_item_elements(item), {code: keys for code, keys in by_code.items() if keys})


def describe(gaps: Gaps) -> str:
    """The gaps in one line of Chinese, for the preview, the audit reason and the staff pages."""
    return "缺少要素：" + "、".join(gaps.labels()) if not gaps.complete else "要素齐全"
