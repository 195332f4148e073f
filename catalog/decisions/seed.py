"""The modelled 2020 decision records (seed/decisions.yaml): generated from its parameters with
a fixed random seed and written through the operations, so every record passes the rules.

Modelled, not the bureau's records: only the totals (2,036 licences, 1,240 penalties) come
from its 2020 report. Loaded once, into a catalog with no decision records; a re-run leaves
the records as they are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from stdnum.cn import ric, uscc

from catalog.deadlines import add_working_days, is_workday
from catalog.decisions import operations
from catalog.decisions.periods import ensure_default_periods
from catalog.decisions.rules import add_months
from catalog.domain import DomainError
from catalog.enums import ItemType, PenaltySeverity
from catalog.extensions import db
from catalog.models import ApprovalItem, LicenceDecision, PenaltyDecision

DECISIONS_FILE = "decisions.yaml"
SEED_ACTOR = "seed"
REASON = "种子数据 decisions.yaml（模拟数据）"

PLACES = ("许昌", "禹州", "长葛", "鄢陵", "襄城", "建安")
WORDS = (
    "宏达", "顺通", "鑫源", "恒运", "通达", "兴旺", "安泰", "聚力", "华运", "众诚", "汇通",
    "盛源", "鼎盛", "金鹏", "瑞丰", "远航", "德润", "新宇", "中原", "永顺", "万通", "骏马",
)  # fmt: skip
TRADES = (
    "物流有限公司", "运输有限公司", "汽车运输有限公司", "货运有限公司", "客运有限公司",
    "汽车维修有限公司", "驾驶员培训有限公司", "公交有限公司",
)  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红卫东"
COUNTIES = ("411002", "411003", "411023", "411024", "411025", "411081", "411082")
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class DecisionSeedError(DomainError):
    def __init__(self, message: str):
        super().__init__(f"双公示种子数据有误：{message}")


@dataclass(frozen=True)
class Party:
    name: str
    party_class: str
    credit_code: str | None = None
    representative: str | None = None
    id_number: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "party_name": self.name,
            "party_class": self.party_class,
            "party_credit_code": self.credit_code,
            "legal_representative": self.representative,
            "party_id_type": "resident_id" if self.id_number else None,
            "party_id_number": self.id_number,
        }


class Model:
    """Fictitious parties and dates, all drawn from one random generator."""

    def __init__(
        self,
        rng: random.Random,
        year: int,
        organisations: int = 500,
        sole_traders: int = 200,
        name_words: int = 2,
        until: date | None = None,
    ):
        """The decision days: the working days of `year` up to 10 December, or with `until`
        those of the 365 days up to it (generate-province --decisions-until)."""
        self.rng, self.year, self.name_words = rng, year, name_words
        self.names: set[str] = set()
        self.codes: set[str] = set()
        self.organisations = [self._organisation() for _ in range(organisations)]
        self.sole_traders = [self._sole_trader() for _ in range(sole_traders)]
        first, last = (until - timedelta(days=364), until) if until else (
            date(year, 1, 1), date(year, 12, 10))  # fmt: skip
        self.days = [
            day
            for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
            if is_workday(day)
        ]

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choices(GIVEN, k=self.rng.choice((1, 2)))
        )

    def credit_code(self, prefix: str) -> str:
        while True:
            body = prefix + "".join(self.rng.choices(CODE_ALPHABET, k=17 - len(prefix)))
            code = body + uscc.calc_check_digit(body + "0")
            if code not in self.codes:
                self.codes.add(code)
                return code

    def _unique(self, make) -> str:
        for _attempt in range(1000):
            if (name := make()) not in self.names:
                self.names.add(name)
                return name
        raise DecisionSeedError("虚构名称不够用，请增加 catalog/decisions/seed.py 的词表。")

    def _organisation(self) -> Party:
        name = self._unique(
            lambda: (
                f"{self.rng.choice(PLACES)}市"
                + "".join(self.rng.choice(WORDS) for _ in range(self.name_words))
                + self.rng.choice(TRADES)
            )
        )
        return Party(name, "organisation", self.credit_code("91411000MA"), self.person())

    def _sole_trader(self) -> Party:
        name = self._unique(
            lambda: f"{self.rng.choice(PLACES)}市{self.person()}{self.rng.choice(WORDS)}货运部"
        )
        return Party(name, "sole_trader", self.credit_code("92411000MA"), self.person())

    def natural_person(self) -> Party:
        born = date(1965, 1, 1) + timedelta(days=self.rng.randrange(365 * 33))
        body = f"{self.rng.choice(COUNTIES)}{born:%Y%m%d}{self.rng.randrange(1000):03d}"
        return Party(
            self.person(), "natural_person", id_number=body + ric.calc_check_digit(body + "0")
        )

    def party(self, weights: list[int]) -> Party:
        kind = self.rng.choices(("organisation", "sole_trader", "natural_person"), weights)[0]
        if kind == "organisation":
            return self.rng.choice(self.organisations)
        if kind == "sole_trader":
            return self.rng.choice(self.sole_traders)
        return self.natural_person()

    def dates(self, late: bool, decided: date | None = None) -> tuple[date, date]:
        """A decision day (drawn, unless given) and its publication day: within 7 working
        days, or later."""
        decided = decided or self.rng.choice(self.days)
        delay = (
            self.rng.randint(8, 20)
            if late
            else self.rng.choices(range(8), (1, 8, 6, 4, 3, 2, 1, 1))[0]
        )
        return decided, add_working_days(decided, delay)


def read_parameters(seed_dir: Path) -> dict[str, Any] | None:
    path = seed_dir / DECISIONS_FILE
    if not path.exists():
        return None
    try:
        parameters = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DecisionSeedError(f"{path}: 无法读取：{exc}") from None
    if not isinstance(parameters, dict) or not parameters.get("modelled"):
        raise DecisionSeedError(f"{path}: 须为参数映射，并标明 modelled: true（模拟数据）。")
    return parameters


def _positions(rng: random.Random, total: int, late: int) -> set[int]:
    return set(rng.sample(range(total), late))


def _licences(model: Model, parameters: dict[str, Any], common: dict[str, Any]) -> list[dict]:
    settings = parameters["licence"]
    items = db.session.scalars(
        sa.select(ApprovalItem)
        .where(ApprovalItem.item_type == ItemType.licence)
        .order_by(ApprovalItem.code)
    ).all()
    if not items:
        raise DecisionSeedError("目录中没有行政许可事项，无法生成许可决定。")
    used = list(items)
    model.rng.shuffle(used)
    used = used[: max(len(used) - settings["items_without_decisions"], 1)]
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(used))]  # a few items carry most
    late = _positions(model.rng, settings["total"], settings["late"])
    records = []
    for position in range(settings["total"]):
        item = model.rng.choices(used, weights)[0]
        handling = model.rng.choice(item.handling_items)
        people = "natural_person" in (item.service_targets or [])
        party = model.party([5, 2, 4] if people else [7, 2, 0])
        decided, published = model.dates(position in late)
        months = model.rng.choice((48, 48, 48, 72, 0))
        records.append(
            {
                **common,
                **party.fields(),
                "item": item.code,
                "handling_item": handling.code,
                "category": "ordinary",
                "certificate_name": (item.result_name or "准予行政许可决定书").strip("《》"),
                "certificate_number": f"许交证〔{model.year}〕{position + 1:05d}",
                "content": f"准予{item.name}（{handling.situation}）。",
                "decided_on": decided,
                "valid_from": decided,
                "valid_until": add_months(decided, months) - timedelta(days=1) if months else None,
                "data_source_unit": item.handling_unit or common["authority"],
                "published_on": published,
            }
        )
    return records


def _penalties(model: Model, parameters: dict[str, Any], common: dict[str, Any]) -> list[dict]:
    settings = parameters["penalty"]
    late = _positions(model.rng, settings["total"], settings["late"])
    serious = _positions(model.rng, settings["total"], settings["serious"])
    return [
        {
            **common,
            **penalty_fields(model, settings, late=position in late),
            "severity": PenaltySeverity.serious if position in serious else PenaltySeverity.general,
        }
        for position in range(settings["total"])
    ]


def penalty_fields(
    model: Model, settings: dict[str, Any], *, late: bool, decided: date | None = None
) -> dict[str, Any]:
    """One modelled penalty's party, violation, fine and dates (not its severity, document
    number or authority), drawn from the `penalty` parameters of decisions.yaml; decided on
    `decided` when given."""
    violations = settings["violations"]
    violation = model.rng.choices(violations, [v["weight"] for v in violations])[0]
    party = model.party(violation["parties"])
    decided, published = model.dates(late, decided)
    low, high = (Decimal(str(bound)) for bound in violation["fine"])
    fine = None
    if high > 0:  # in hundreds of yuan, as fines are set
        fine = Decimal(model.rng.randint(int(low * 100), int(high * 100))) / 100
    content = f"罚款人民币{fine}万元。" if fine is not None else "警告。"
    if violation["category"] == "licence_suspension":
        content = "暂扣道路运输证三个月。"
    return {
        **party.fields(),
        "violation_type": violation["type"],
        "violation_facts": (
            f"{decided.month}月{decided.day}日前，当事人{violation['type']}，经调查属实。"
        ),
        "legal_basis": violation["basis"],
        "category": violation["category"],
        "content": content,
        "fine_amount": fine,
        "decided_on": decided,
        "data_source_unit": model.rng.choice(settings["units"]),
        "published_on": published,
    }


def load_decision_seed(seed_dir: Path) -> tuple[int, int] | None:
    """Write the modelled records when the catalog has none; (licences, penalties) written, or
    None when there is no decisions.yaml or records exist already. Flushes."""
    parameters = read_parameters(seed_dir)
    if parameters is None:
        return None
    ensure_default_periods()
    exists = db.session.scalar(sa.select(LicenceDecision.id).limit(1)) or db.session.scalar(
        sa.select(PenaltyDecision.id).limit(1)
    )
    if exists:
        return None
    year = int(parameters["year"])
    model = Model(random.Random(parameters["random_seed"]), year)
    common = {
        "authority": parameters["authority"],
        "authority_credit_code": parameters["authority_credit_code"],
    }
    written = []
    for kind, make, model_class in (
        ("licence", _licences, LicenceDecision),
        ("penalty", _penalties, PenaltyDecision),
    ):
        records = sorted(make(model, parameters, common), key=lambda r: r["decided_on"])
        template = parameters[kind]["document_number"]
        for number, record in enumerate(records, start=1):
            record["document_number"] = template.format(year=year, number=number)
        try:
            written.append(
                operations.create_many(model_class, records, actor=SEED_ACTOR, reason=REASON)
            )
        except DomainError as exc:
            raise DecisionSeedError(f"{kind}：{exc.message}") from None
    return written[0], written[1]
