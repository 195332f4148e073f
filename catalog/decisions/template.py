"""The 双公示 import templates (/staff/decisions/template-licence.xlsx, -penalty.xlsx): one
sheet of the kind's columns (catalog.decisions.columns) with a bold frozen header, required
columns coloured, a drop-down list for each enumeration, and an instructions sheet. No example
row: a template uploaded unchanged has no data rows and imports nothing."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from catalog.decisions.columns import CHOICE, COLUMNS, DATE, KIND_LABELS
from catalog.import_headers import other_spellings
from catalog.spreadsheet_reading import MAX_ROWS, MAX_UPLOAD_BYTES

REQUIRED_FILL = PatternFill("solid", fgColor="FFF8CBAD")
OPTIONAL_FILL = PatternFill("solid", fgColor="FFDDEBF7")
ROWS_WITH_LISTS = 2000  # rows under the header that carry the drop-down lists


def template_xlsx(kind: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = KIND_LABELS[kind]
    for index, column in enumerate(COLUMNS[kind], start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True)
        cell.fill = REQUIRED_FILL if column.required else OPTIONAL_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, min(40, len(column.header) * 2 + 2))
        if column.widget == CHOICE:
            labels = ",".join(member.label for member in column.enum)
            rule = DataValidation(
                type="list", formula1=f'"{labels}"', allow_blank=True, showErrorMessage=True,
                errorTitle="无效的选项", error=f"请从列表中选择{column.header}。",
            )  # fmt: skip
            rule.add(f"{letter}2:{letter}{ROWS_WITH_LISTS + 1}")
            sheet.add_data_validation(rule)
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "是否必填", "说明"])
    others = dict(other_spellings(kind))
    for column in COLUMNS[kind]:
        choices = "、".join(m.label for m in column.enum) if column.enum else ""
        also = "、".join(others.get(column.header, ()))
        parts = (
            column.hint,
            f"可选：{choices}" if choices else "",
            f"表头也可写作：{also}" if also else "",
        )
        hint = "；".join(part for part in parts if part)
        if column.widget == DATE:
            hint = "；".join(part for part in ("日期，如 2020-05-18", hint) if part)
        notes.append([column.header, "必填" if column.required else "", hint])
    notes.append([])
    notes.append(
        [
            "导入",
            "",
            f"每行一条{KIND_LABELS[kind]}；表头须在前10行内，列的顺序不限。"
            "文书号和机关统一社会信用代码都与已有记录相同的行修改该记录："
            "留空的单元格清空该字段，文件中没有的列保持不变。也可另存为 CSV"
            f"（UTF-8 或 GB18030）。单个文件不超过 {MAX_UPLOAD_BYTES // 1024 // 1024} MB、"
            f"{MAX_ROWS} 行。导入先预览，逐格列出问题；任何一行不符合规则则全部不导入。",
        ]
    )
    for letter, width in (("A", 36), ("B", 10), ("C", 80)):
        notes.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
