"""A synthetic province catalog for measuring the app at scale: 18 cities of Henan with their
counties, about 40 departments each, item names composed from real ones, the seed's
distributions of limits, visits and online depth. Deterministic for a seed number; written
with bulk inserts (Core executemany in batches), not one ORM object at a time."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from catalog.bulk_load import advance_sequences, copy_rows, insert_rows, suspend_text_indexes
from catalog.decisions import sums as decision_sums
from catalog.decisions.province import PER_LICENCE, generate_decisions
from catalog.domain import DomainError
from catalog.enums import CaseType, ItemType, Status
from catalog.extensions import db
from catalog.models import (
    ApprovalItem,
    Fee,
    HandlingItem,
    LegalBasis,
    LicenceDecision,
    Material,
    PenaltyDecision,
    SearchEntry,
    SearchPart,
    SearchPosting,
    utcnow,
)
from catalog.revision import bump
from catalog.search.changes import everything_changed
from catalog.search.index import entry_and_parts
from catalog.search.parts import PartNumbers
from catalog.search.text import pinyin_of
from catalog.seeding import read_seed

PREFIX = "HN"  # every generated item code starts with it: HN-<city><county>-<dept>-<type>-<n>
MIN_SIZE, MAX_SIZE, DEFAULT_SIZE = 1, 5_000_000, 300_000
BATCH = 5_000

# The 18 cities of Henan and their counties (districts, county-level cities), one city a line.
CITY_TABLE = """
郑州市：中原区 二七区 金水区 惠济区 新郑市 登封市 中牟县 荥阳市
开封市：龙亭区 鼓楼区 祥符区 杞县 通许县 尉氏县 兰考县
洛阳市：老城区 西工区 涧西区 偃师区 孟津区 新安县 栾川县 嵩县 汝阳县 宜阳县 洛宁县 伊川县
平顶山市：新华区 卫东区 湛河区 宝丰县 叶县 鲁山县 郏县 舞钢市 汝州市
安阳市：文峰区 北关区 殷都区 龙安区 安阳县 汤阴县 滑县 内黄县 林州市
鹤壁市：鹤山区 山城区 淇滨区 浚县 淇县
新乡市：红旗区 卫滨区 凤泉区 牧野区 新乡县 获嘉县 原阳县 延津县 封丘县 卫辉市 辉县市 长垣市
焦作市：解放区 中站区 马村区 山阳区 修武县 博爱县 武陟县 温县 沁阳市 孟州市
濮阳市：华龙区 清丰县 南乐县 范县 台前县 濮阳县
许昌市：魏都区 建安区 鄢陵县 襄城县 禹州市 长葛市
漯河市：源汇区 郾城区 召陵区 舞阳县 临颍县
三门峡市：湖滨区 陕州区 渑池县 卢氏县 义马市 灵宝市
南阳市：宛城区 卧龙区 南召县 方城县 西峡县 镇平县 内乡县 淅川县 社旗县 唐河县 新野县 桐柏县 邓州市
商丘市：梁园区 睢阳区 民权县 睢县 宁陵县 柘城县 虞城县 夏邑县 永城市
信阳市：浉河区 平桥区 罗山县 光山县 新县 商城县 固始县 潢川县 淮滨县 息县
周口市：川汇区 淮阳区 扶沟县 西华县 商水县 沈丘县 郸城县 太康县 鹿邑县 项城市
驻马店市：驿城区 西平县 上蔡县 平舆县 正阳县 确山县 泌阳县 汝南县 遂平县 新蔡县
济源示范区：沁园街道 济水街道 北海街道 天坛街道 玉泉街道
"""
CITIES: dict[str, list[str]] = {
    city: counties.split(" ")
    for city, counties in (line.split("：") for line in CITY_TABLE.strip().splitlines())
}

TRANSPORT = "交通运输局"
DEPARTMENTS = [
    TRANSPORT, "发展和改革委员会", "教育局", "科学技术局", "工业和信息化局", "民族宗教事务局",
    "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局", "自然资源和规划局",
    "生态环境局", "住房和城乡建设局", "城市管理局", "水利局", "农业农村局", "商务局",
    "文化广电和旅游局", "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局",
    "市场监督管理局", "体育局", "统计局", "医疗保障局", "林业局", "人民防空办公室",
    "粮食和物资储备局", "机关事务管理局", "政务服务和大数据管理局", "气象局", "地震局",
    "档案局", "烟草专卖局", "邮政管理局", "消防救援支队", "残疾人联合会", "供销合作社",
]  # fmt: skip

# What other departments' items are about, and how each type of power is named.
SUBJECTS = [
    "建设项目", "从业人员资格", "经营场所", "危险化学品经营", "食品经营", "药品零售",
    "特种设备使用",
    "排污", "取水", "林木采伐", "建筑施工", "户外广告设置", "城市道路占用", "民办学校设立",
    "医疗机构执业", "出版物零售", "娱乐场所经营", "旅行社设立", "烟草专卖零售", "农药经营",
    "种子生产经营", "兽药经营", "动物防疫条件", "生猪定点屠宰", "采矿", "土地使用", "临时用地",
    "乡村建设规划", "建设工程规划", "人防工程", "燃气经营", "供水", "排水", "河道采砂",
    "水土保持方案", "消防设计", "大型群众性活动", "民用爆炸物品购买", "社会团体成立",
    "民办非企业单位", "劳务派遣经营", "职业技能培训机构", "养老机构", "殡葬设施",
    "医师执业", "护士执业", "放射诊疗", "公共场所卫生", "饮用水供水单位卫生", "计量器具",
]  # fmt: skip
ACTIONS = {
    ItemType.licence: ["许可", "审批", "核准"],
    ItemType.confirmation: ["登记", "确认", "认定"],
    ItemType.reward: ["表彰奖励"],
    ItemType.adjudication: ["争议裁决"],
    ItemType.other: ["备案", "年度核验", "注销"],
}
# The seed's mix of types (142 / 37 / 1 / 1 / 9 of 190), as weights.
TYPE_WEIGHTS = {ItemType.licence: 142, ItemType.confirmation: 37, ItemType.reward: 1,
                ItemType.adjudication: 1, ItemType.other: 9}  # fmt: skip
GENERIC_MATERIALS = [
    "申请表", "营业执照", "法定代表人身份证明", "授权委托书", "经营场所使用证明", "相关资质证书",
    "安全管理制度", "技术人员资格证明", "设备清单", "可行性研究报告", "承诺书", "现场照片",
]  # fmt: skip
SITUATIONS = ["新办", "变更", "延续", "注销", "补办"]
GENERIC_FEE = {"name": "证照工本费", "standard": "按省定标准收取", "amount": Decimal("10.00"),
               "basis": "《河南省行政事业性收费目录清单》"}  # fmt: skip
FEE_SHARE = 0.05  # of other departments' handling items


class ProvinceError(DomainError):
    """A generator request that cannot be done; the message says why, in Chinese."""


@dataclass(frozen=True)
class Template:
    """A handling item of the seed, whose facts and materials a generated one copies."""

    case_type: str
    statutory_days: int | None
    promised_days: int
    visits: int
    visit_reason: str | None
    online_depth: int
    forms: tuple[str, ...]
    materials: tuple[dict[str, Any], ...]
    fees: tuple[dict[str, Any], ...]


@cache
def _seed_pool(seed_dir: Path) -> tuple[list[str], list[Template], list[tuple[str, str, str]]]:
    """Transport item names, handling templates and legal bases from the bureau's seed."""
    names, templates, bases = [], [], []
    for record in read_seed(seed_dir):
        names.append(record.data["name"])
        for basis in record.data["legal_basis"]:
            bases.append((basis["law"], basis.get("article") or "", basis.get("text") or ""))
        for handling in record.data["handling_items"]:
            fees = handling.get("fees")
            templates.append(Template(
                handling["case_type"], handling["statutory_days"], handling["promised_days"],
                handling["visits"], handling.get("visit_reason"), handling["online_depth"],
                tuple(handling.get("forms") or ["window"]),
                tuple(handling.get("materials") or ()),
                tuple(fees) if isinstance(fees, list) else (),
            ))  # fmt: skip
    return sorted(set(names)), templates, bases


# the tables the generator writes, parents first
WRITTEN = (
    ApprovalItem,
    LegalBasis,
    HandlingItem,
    Material,
    Fee,
    SearchEntry,
    SearchPart,
    SearchPosting,
)


def check_size(size: int) -> int:
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ProvinceError(f"业务办理项数须在 {MIN_SIZE} 到 {MAX_SIZE:,} 之间（收到 {size:,}）。")
    return size


def _units() -> list[tuple[int, str, str]]:
    """(unit number, implementing body, city) for every city and county level."""
    units = []
    for city_number, (city, counties) in enumerate(CITIES.items(), start=1):
        units.append((city_number * 100, city, city))
        for county_number, county in enumerate(counties, start=1):
            units.append((city_number * 100 + county_number, f"{city}{county}", city))
    return units


def _next_id(table: sa.Table) -> int:
    return (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1


def generate_province(
    size: int,
    *,
    seed_dir: Path,
    seed: int = 2020,
    decisions_per_licence: int = PER_LICENCE,
    decisions_until: date | None = None,
    progress: Callable[[int], None] | None = None,
    indexing: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Write `size` published handling items (and their items, materials, fees, legal bases
    and search entries) in batches, and about `decisions_per_licence` decision records for
    each licence handling item (catalog.decisions.province: decided in the seed's year, or
    in the 365 days up to `decisions_until`); flushes through the session's
    connection, the caller commits. `progress` hears the number of handling items written
    after each batch, `indexing` when the rows are in and the search indexes and the
    planner's statistics are being built. Returns the row counts written."""
    check_size(size)
    exists = db.session.scalar(
        sa.select(ApprovalItem.id).where(ApprovalItem.code.like(f"{PREFIX}-%")).limit(1)
    )
    if exists:
        raise ProvinceError("数据库中已有合成的省级目录（编码以 HN- 开头）；请换一个空数据库。")
    rng = random.Random(seed)
    transport_names, templates, bases = _seed_pool(seed_dir)
    tables = {model: model.__table__ for model in WRITTEN}
    connection = db.session.connection()
    ids = {model: _next_id(table) for model, table in tables.items()
           if model not in (SearchEntry, SearchPart, SearchPosting)}  # fmt: skip
    part_numbers = PartNumbers(connection)  # the entries' parts (catalog.search.parts)
    pending: dict[Any, list[dict[str, Any]]] = {model: [] for model in tables}
    counts = dict.fromkeys((model.__tablename__ for model in tables), 0)
    now = utcnow()
    types, weights = list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values())
    reading = cache(pinyin_of)
    insert = copy_rows if connection.dialect.name == "postgresql" else insert_rows

    def flush() -> None:
        pending[SearchPart] += part_numbers.take_rows()
        for model, rows in pending.items():
            if rows:
                insert(connection, tables[model], rows)
                counts[model.__tablename__] += len(rows)
                rows.clear()

    def new_id(model) -> int:
        ids[model] += 1
        return ids[model] - 1

    text_indexes = suspend_text_indexes(connection)
    written = 0
    plan = _item_plan(rng, transport_names, types, weights, size)
    for number, level, item_type, name, body, department in plan:
        item_id = new_id(ApprovalItem)
        code = f"{PREFIX}-{number}"
        basis = rng.choice(bases)
        pending[ApprovalItem].append({
            "id": item_id, "code": code, "name": name, "item_type": item_type.value,
            "implementing_body": f"{body}{department}", "handling_unit": department,
            "exercise_level": level, "power_source": "statutory",
            "service_targets": ["enterprise", "natural_person"],
            "conditions": "符合法律法规规定的条件。", "result_name": f"{name}决定",
            "result_type": "approval_document", "consultation": f"{body}{department}窗口",
            "complaint": "12345 政务服务便民热线", "location": f"{body}政务服务中心",
            "hours": "法定工作日", "status": Status.published.value, "version": 1,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
        pending[LegalBasis].append({"id": new_id(LegalBasis), "item_id": item_id, "position": 0,
                                    "law": basis[0], "article": basis[1] or None,
                                    "text": basis[2] or None})  # fmt: skip
        handling_count = 1 if rng.random() < 0.93 else rng.randint(2, 3)
        handling_count = min(handling_count, size - written)
        for position in range(handling_count):
            template = rng.choice(templates)
            handling_id = new_id(HandlingItem)
            handling_code = f"{code}-{position + 1:02d}"
            situation = SITUATIONS[position] if handling_count > 1 else "新办"
            instant = template.case_type == CaseType.instant.value
            fees = _fees(rng, template, department)
            materials = _materials(rng, template, department)
            pending[HandlingItem].append({
                "id": handling_id, "item_id": item_id, "position": position,
                "code": handling_code, "situation": situation,
                "case_type": template.case_type, "statutory_days": template.statutory_days,
                "promised_days": 0 if instant else template.promised_days,
                "visits": template.visits, "visit_reason": template.visit_reason,
                "form_window": "window" in template.forms,
                "form_online": "online" in template.forms,
                "form_express": "express" in template.forms,
                "online_depth": template.online_depth, "charges_fee": bool(fees),
                "status": Status.published.value, "version": 1,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
            for order, material in enumerate(materials):
                pending[Material].append({
                    "id": new_id(Material), "handling_item_id": handling_id, "position": order,
                    "name": material["name"], "kind": material.get("kind", "original"),
                    "form": material.get("form", "paper"), "copies": material.get("copies", 1),
                    "necessity": material.get("necessity", "required"),
                    "source": material.get("source", "applicant"),
                    "notes": material.get("notes"),
                })  # fmt: skip
            for order, fee in enumerate(fees):
                pending[Fee].append({
                    "id": new_id(Fee), "handling_item_id": handling_id, "position": order,
                    "name": fee["name"], "standard": fee["standard"],
                    "amount": fee.get("amount"), "basis": fee["basis"],
                })  # fmt: skip
            values, parts = entry_and_parts(
                item_name=name, item_code=code, result_name=f"{name}决定",
                legal_bases=[basis], handling_code=handling_code, situation=situation,
                material_names=[m["name"] for m in materials], pinyin=reading(name),
            )  # fmt: skip
            pending[SearchEntry].append({"handling_item_id": handling_id, **values})
            pending[SearchPosting] += part_numbers.postings(handling_id, parts)
            written += 1
        if len(pending[HandlingItem]) >= BATCH:
            flush()
            if progress:
                progress(written)
        if written >= size:
            break
    flush()
    if progress:
        progress(written)
    counts.update(generate_decisions(connection, insert, seed_dir=seed_dir, prefix=PREFIX,
                                     per_licence=decisions_per_licence, seed=seed,
                                     until=decisions_until))  # fmt: skip
    if indexing:
        indexing()
    for statement in text_indexes:
        connection.exec_driver_sql(statement)
    advance_sequences(connection, tables)
    # The planner needs to know what is selective, first for the report sums' rebuild below:
    # without statistics PostgreSQL joined 300,000 handling items to their items for minutes.
    connection.exec_driver_sql("ANALYZE")
    bump(connection)  # Core inserts pass the session's change listener by
    everything_changed(connection)  # and the search frame's (catalog.search.changes)
    decision_sums.rebuild(connection)  # the 双公示 report's figures (Core inserts pass them by)
    for table in ("report_item_sums", "report_group_sums", "report_exception", "search_change",
                  "decision_sums"):  # fmt: skip
        connection.exec_driver_sql(f'ANALYZE "{table}"')  # what the rebuild wrote
    return counts


def vacuum(engine: sa.Engine) -> None:
    """After the load is committed, on PostgreSQL: VACUUM the tables it wrote, which marks
    their pages all-visible, so that what an index answers alone (the search frame's reads,
    migration 0011) is read from the index without visiting the table. Autovacuum would get
    there in its own time, where it runs (the benchmark's server has it off); VACUUM cannot run
    inside the load's transaction."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("SET statement_timeout = 0")
        for model in (*WRITTEN, LicenceDecision, PenaltyDecision):
            connection.exec_driver_sql(f'VACUUM "{model.__tablename__}"')
        connection.exec_driver_sql('VACUUM "decision_sums"')  # the 双公示 report's reads


def _item_plan(rng, transport_names, types, weights, size) -> Iterator[tuple]:
    """(code number, level, type, name, body, department) for as many items as needed,
    cycling over the units and departments so every one of them gets a share."""
    pairs = [(unit, department) for unit in _units() for department in enumerate(DEPARTMENTS, 1)]
    rng.shuffle(pairs)  # every city shares even a small catalog
    serial = 0
    while True:
        for (unit_number, body, _city), (department_number, department) in pairs:
            serial += 1
            if department == TRANSPORT:
                name = rng.choice(transport_names)
                item_type = rng.choices(types, weights)[0]
            else:
                item_type = rng.choices(types, weights)[0]
                subject = SUBJECTS[(department_number * 7 + rng.randrange(6)) % len(SUBJECTS)]
                name = subject + rng.choice(ACTIONS[item_type])
            number = f"{unit_number:04d}-{department_number:02d}-{serial:07d}"
            level = "city" if unit_number % 100 == 0 else "county"
            yield number, level, item_type, name, body, department
        if serial > size * 2:  # never reached: every item has at least one handling item
            return


def _fees(rng, template: Template, department: str) -> list[dict[str, Any]]:
    if department != TRANSPORT and rng.random() < FEE_SHARE:
        return [GENERIC_FEE]
    return list(template.fees)


def _materials(rng, template: Template, department: str) -> list[dict[str, Any]]:
    if department == TRANSPORT and template.materials:
        return list(template.materials)
    count = rng.randint(1, 4)
    return [{"name": name} for name in rng.sample(GENERIC_MATERIALS, count)]
