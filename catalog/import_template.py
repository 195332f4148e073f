"""The import template (/staff/template.xlsx): the export's columns (without its two computed
completeness columns) on the handling-item and materials sheets, a bold frozen header with the
required columns coloured, a drop-down list for every enumeration, an instructions sheet
(填写说明) and one example row. The example's item code (EXAMPLE_CODE) is refused by the import
(catalog.import_rows), so a template uploaded unchanged imports nothing. Nothing here reads the
catalog: the template is the same on an empty one."""

from __future__ import annotations

import io

from marshmallow import missing
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from catalog.enums import OnlineDepth
from catalog.import_headers import (
    HANDLING,
    HEADER_SEARCH_ROWS,
    MATERIAL_REFERENCES,
    MATERIALS,
    REQUIRED,
)
from catalog.schemas import MaterialSchema
from catalog.spreadsheet_reading import (
    MAX_CELL_CHARS,
    MAX_MATERIAL_ROWS,
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
)
from catalog.spreadsheets import (
    ATTACHMENT_COLUMNS,
    EXAMPLE_CODE,
    HANDLING_COLUMNS,
    ITEM_COLUMNS,
    ITEM_SHEET,
    MATERIAL_COLUMNS,
    MATERIAL_SHEET,
    NATIONAL_HEADERS,
)

INSTRUCTIONS_SHEET = "填写说明"
OPTIONS_SHEET = "选项"  # a hidden sheet, only for a list too long for a validation's formula
EXAMPLE_NAME_PREFIX = "【示例】"
MAX_LIST_FORMULA = 255  # Excel's limit for a list written in the validation itself
MULTI_VALUE = ("服务对象", "办理形式")  # several values in one cell, joined by 、
REQUIRED_FILL = PatternFill("solid", fgColor="FFF8CBAD")
OPTIONAL_FILL = PatternFill("solid", fgColor="FFDDEBF7")
EXAMPLE_FONT = Font(italic=True, color="FF7F7F7F")

# One example handling item and its material, by field (the app's own header). Valid but for
# its code: with another code it imports (tests/test_import_template.py).
EXAMPLE_ROW = {
    "事项编码": EXAMPLE_CODE,
    "事项名称": f"{EXAMPLE_NAME_PREFIX}道路货物运输经营许可（导入前请删除本行）",
    "事项类型": "行政许可",
    "实施主体": "某市交通运输局",
    "承办机构": "某市交通运输局行政审批科",
    "行使层级": "市级",
    "权力来源": "法定本级行使",
    "服务对象": "自然人、企业法人",
    "设定依据": "《中华人民共和国道路运输条例》｜第二十四条｜（条文内容）\n"
    "《某某规定》｜第十条｜（第二条依据另起一行）",
    "受理条件": "（受理条件）",
    "审批结果": "道路运输经营许可证",
    "审批结果类型": "证照",
    "咨询方式": "窗口电话：0000-00000000",
    "监督投诉方式": "12328 交通运输服务监督电话",
    "办理地点": "某市政务服务中心交通运输窗口",
    "办理时间": "工作日 9:00—12:00，13:30—17:00",
    "业务办理项编码": f"{EXAMPLE_CODE}-01",
    "办理项名称": "新办",
    "办件类型": "承诺件",
    "法定时限": "20个工作日",
    "承诺时限": "5个工作日",
    "到现场次数": 1,
    "必须现场办理原因说明": "需现场核验车辆",
    "办理形式": "窗口办理、网上办理",
    "网上办理深度": 4,
    "是否收费": "否",
    "办理流程": "受理（0）；审查（3）；决定（1）；送达（1）",
    "在线办理地址": "https://www.hnzwfw.gov.cn/",
}
EXAMPLE_MATERIAL = {
    "业务办理项编码": f"{EXAMPLE_CODE}-01",
    "材料名称": f"{EXAMPLE_NAME_PREFIX}道路货物运输经营申请表",
    "材料类型": "原件",
    "材料形式": "纸质",
    "份数": 1,
    "必要性": "必要",
    "来源渠道": "申请人自备",
    "备注": "可在窗口领取",
}

LIMIT_FORMAT = (
    "工作日数：20、20个工作日、即办（按0计）；20天、20日按20个工作日计，1个月按22个、1年按250个"
    "工作日计"
)
# What each column holds, by field; the instructions add the allowed values and the defaults.
MEANINGS = {
    "事项编码": "事项的唯一编码，如 JT-101：字母、数字、- 和 _，以字母或数字开头，最多40个字符。"
    "一个事项有几个业务办理项就填几行，每行同一编码（事项的各列可只填第一行，或合并单元格）。",
    "事项名称": "事项名称，最多200个字符。",
    "事项类型": "事项的权力类型。",
    "实施主体": "实施该事项的机关，如 某市交通运输局。",
    "承办机构": "具体承办的内设机构。",
    "行使层级": "",
    "权力来源": "",
    "服务对象": "",
    "设定依据": "每条依据一行（单元格内换行：Alt+Enter）：法律法规名称｜条款号｜条文内容，"
    "用全角竖线“｜”分隔；也可写《法规名称》第几条：条文。",
    "受理条件": "申请人应当具备的条件。",
    "审批结果": "审批结果的名称，如 道路运输经营许可证。",
    "审批结果类型": "",
    "咨询方式": "咨询电话、地址等。",
    "监督投诉方式": "投诉电话等。",
    "办理地点": "窗口地址。",
    "办理时间": "窗口办公时间。",
    "业务办理项编码": "业务办理项的唯一编码，最多50个字符。留空则按事项编码生成 -01、-02……"
    "（按行的顺序，同一文件每次生成相同的编码）。",
    "办理项名称": "办理情形，如 新办、变更、延续。",
    "办件类型": "留空则按承诺时限定：0为即办件，否则为承诺件。即办件的承诺时限须为0。",
    "法定时限": f"{LIMIT_FORMAT}；没有法定时限填“无期限”（留空也按无期限计）。",
    "承诺时限": f"{LIMIT_FORMAT}；不能为无期限，不能超过法定办结时限。",
    "到现场次数": "申请人到办事现场的次数。",
    "必须现场办理原因说明": "到现场次数不为0时，说明为何必须到现场。",
    "办理形式": "",
    "网上办理深度": "",
    "是否收费": "留空表示暂未提供。填“是”时须填收费项目名称、收费标准、收费依据。",
    "收费项目": "一项收费一行（单元格内换行），收费项目名称、收费标准、收费金额、收费依据四列的行"
    "一一对应。",
    "收费标准": "同收费项目名称，一项收费一行。",
    "收费金额": "元，数字，如 10 或 10.00；一项收费一行。",
    "收费依据": "同收费项目名称，一项收费一行。",
    "办理流程": "环节名称（工作日数），用“；”分隔，如 受理（0）；审查（3）；决定（1）。"
    "天数可省略。",
    "在线办理地址": "网上申请的网址，以 http:// 或 https:// 开头，最多500个字符，不含空格；"
    "办事指南上显示为“在线办理”链接。常见问题另见导出文件的「常见问题」工作表"
    "（事项编码、问题、解答，一行一问）。",
    "材料名称": "材料名称，最多200个字符。",
    "材料类型": "",
    "材料形式": "",
    "份数": "纸质材料份数，0到99的整数。",
    "必要性": "",
    "来源渠道": "",
    "备注": "其他说明，如 可在窗口领取。",
    # files offered beside a material (catalog.attachments): only ones the catalog holds
    "空白表格": "目录中已有的空白表格文件，写作“文件名 (sha256:64位十六进制)”，每行一个，如导出"
    "文件中那样；新文件请在工作台的编辑页面上传。留空表示没有；删去此列则保留原有文件。",
    "示例样表": "目录中已有的示例样表文件，写法同空白表格。留空表示没有；删去此列则保留原有文件。",
}
MATERIAL_MEANINGS = {
    "业务办理项编码": "材料所属的业务办理项编码，须在事项表中。事项只有一个业务办理项时，也可用"
    "“事项编码”列代替本列。",
}
WIDTHS = {
    "事项编码": 16, "事项名称": 36, "实施主体": 24, "承办机构": 26, "设定依据": 48,
    "受理条件": 32, "审批结果": 22, "咨询方式": 26, "监督投诉方式": 26, "办理地点": 30,
    "办理时间": 28, "业务办理项编码": 18, "办理项名称": 18, "必须现场办理原因说明": 28,
    "办理形式": 22, "服务对象": 22, "收费标准": 24, "收费依据": 30, "办理流程": 40,
    "材料名称": 36, "备注": 24,
}  # fmt: skip


def header_of(field: str) -> str:
    """The header the template (and the export) writes for a field."""
    return NATIONAL_HEADERS.get(field, field)


def choices() -> dict[str, list[str]]:
    """Field -> the values its drop-down list offers, each as the import reads it: the Chinese
    names of the enumerations, 是/否, the online depths 1-7, and 0/1/2 visits."""
    lists = {
        column.header: [member.label for member in column.enum]
        for column in (*ITEM_COLUMNS, *HANDLING_COLUMNS, *MATERIAL_COLUMNS)
        if column.enum
    }
    lists["是否收费"] = ["是", "否"]
    lists["网上办理深度"] = [str(depth.value) for depth in OnlineDepth]
    lists["到现场次数"] = ["0", "1", "2"]
    return lists


def _allowed(field: str) -> str:
    values = choices().get(field)
    if field == "网上办理深度":
        return "可选：" + "；".join(f"{depth.value} {depth.label}" for depth in OnlineDepth) + "。"
    if values is None:
        return ""
    if field in MULTI_VALUE:
        return f"可选：{'、'.join(values)}；可填多个，用“、”分隔。"
    return f"可选：{'、'.join(values)}。"


def _material_default(field: str) -> str:
    """What the import takes for an empty material cell (the schema's default)."""
    key = next((column.key for column in MATERIAL_COLUMNS if column.header == field), None)
    if key is None:  # 空白表格 / 示例样表: no default
        return ""
    default = MaterialSchema().fields[key].load_default
    if default is None or default is missing:
        return ""
    return f"留空按{getattr(default, 'label', f'{default}份')}计。"


def describe_column(kind: str, field: str) -> str:
    """The instructions' text for one column of a sheet."""
    meaning = (MATERIAL_MEANINGS.get(field) if kind == MATERIALS else None) or MEANINGS[field]
    text = meaning + _allowed(field)
    if kind == MATERIALS and field not in MATERIAL_REFERENCES:
        text += _material_default(field)
    return text


def is_required(kind: str, field: str) -> bool:
    """Required in the template: the import's required columns, and the materials' reference
    to their handling item (the template's one; the import also reads 事项编码 instead)."""
    return field in REQUIRED[kind] or (kind == MATERIALS and field in MATERIAL_REFERENCES)


def _validation(field: str, values: list[str], options: list[Worksheet], book: Workbook):
    """A list validation of the values: written in the formula, or on the hidden options sheet
    when the list is longer than Excel allows there (or a value holds a comma)."""
    inline = ",".join(values)
    if len(inline) <= MAX_LIST_FORMULA and not any("," in v or '"' in v for v in values):
        formula = f'"{inline}"'
    else:
        if not options:
            options.append(book.create_sheet(OPTIONS_SHEET))
            options[0].sheet_state = "hidden"
        sheet = options[0]
        column = 1 if sheet["A1"].value is None else sheet.max_column + 1
        for row, value in enumerate(values, start=1):
            sheet.cell(row=row, column=column, value=value)
        letter = get_column_letter(column)
        formula = f"{quote_sheetname(OPTIONS_SHEET)}!${letter}$1:${letter}${len(values)}"
    return DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=field not in MULTI_VALUE,  # values joined by 、 are not one of the list
        showInputMessage=True,
        promptTitle=header_of(field)[:32],
        prompt=_allowed(field)[:255],
        errorTitle=f"{header_of(field)}无效"[:32],
        error=f"请从下拉列表中选择。{_allowed(field)}"[:255],
    )


def _table(book: Workbook, title: str, kind: str, fields: list[str], example: dict, options):
    """One sheet: the header (bold, coloured, frozen), the example row, the column widths and a
    list validation on each enumeration's column, over every row an import reads."""
    sheet = book.create_sheet(title)
    sheet.append([header_of(field) for field in fields])
    sheet.append([example.get(field) for field in fields])
    lists = choices()
    for index, field in enumerate(fields, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index)
        header.font = Font(bold=True)
        header.fill = REQUIRED_FILL if is_required(kind, field) else OPTIONAL_FILL
        header.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell = sheet.cell(row=2, column=index)
        cell.font = EXAMPLE_FONT
        cell.alignment = Alignment(vertical="top", wrap_text=True)
        sheet.column_dimensions[letter].width = WIDTHS.get(field, max(10, 2 * len(field) + 4))
        if field in lists:
            validation = _validation(field, lists[field], options, book)
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"


def _instructions(sheet: Worksheet, item_fields: list[str], material_fields: list[str]) -> None:
    required = "、".join(header_of(field) for field in REQUIRED[HANDLING])
    references = "或".join(MATERIAL_REFERENCES)
    notes = [
        ("工作表", f"「{ITEM_SHEET}」一行一个业务办理项；「{MATERIAL_SHEET}」一行一份申请材料。"
         "工作表可以改名，列的顺序可以调整，表头须在前"
         f"{HEADER_SEARCH_ROWS}行内。不用的可选列可以整列删除。"),
        ("必填列", f"表头为橙色的列必填：{ITEM_SHEET}表的{required}；{MATERIAL_SHEET}表的"
         f"{'、'.join(REQUIRED[MATERIALS])}，以及{references}。其余列（蓝色表头）可不填。"),
        ("示例行", f"第2行（灰色斜体，事项编码 {EXAMPLE_CODE}，名称以{EXAMPLE_NAME_PREFIX}开头）"
         "只是示例：含有这个事项编码的文件会被整个拒绝，不导入任何内容。请先删除事项表和"
         "申请材料表中的示例行，再填写并上传。"),
        ("暂未提供", "可选列留空或整列删除，该要素即为“暂未提供”：事项照样导入，也可以发布，办事"
         "指南显示“暂未提供”，导入预览列出缺少的要素。已有的事项：文件中没有的列保持原值；有这一列"
         "但单元格为空，则清空该要素。"),
        ("下拉列表", "有下拉列表的列请从列表中选择。服务对象、办理形式可填多个值，用“、”分隔"
         "（也接受逗号、分号或换行）。"),
        ("时限", f"{LIMIT_FORMAT}；没有法定时限填“无期限”。"),
        ("多行内容", "设定依据每条一行：法律法规名称｜条款号｜条文内容；收费一项一行；"
         "办理流程如 受理（0）；审查（3）。单元格内换行用 Alt+Enter。"),
        ("大小限制", f"文件不超过{MAX_UPLOAD_BYTES // 1024 // 1024}MB；{ITEM_SHEET}表最多"
         f"{MAX_ROWS}行，{MATERIAL_SHEET}表最多{MAX_MATERIAL_ROWS}行；每个单元格最多"
         f"{MAX_CELL_CHARS}个字符。也可上传 CSV（UTF-8 或 GB18030）。"),
    ]  # fmt: skip
    sheet.append(["导入模板填写说明"])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, text in notes:
        sheet.append([label, None, text])
    sheet.append([])
    sheet.append(["列名", "必填", "填写说明"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for kind, title, fields in (
        (HANDLING, ITEM_SHEET, item_fields),
        (MATERIALS, MATERIAL_SHEET, material_fields),
    ):
        sheet.append([f"「{title}」工作表"])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        for field in fields:
            mark = "必填" if is_required(kind, field) else ""
            sheet.append([header_of(field), mark, describe_column(kind, field)])
            if mark:
                sheet.cell(row=sheet.max_row, column=1).fill = REQUIRED_FILL
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    for letter, width in (("A", 22), ("B", 8), ("C", 90)):
        sheet.column_dimensions[letter].width = width


def template_xlsx() -> bytes:
    """The template as an xlsx: 填写说明, 事项 and 申请材料 (and 选项, hidden, if a list
    needs it)."""
    book = Workbook()
    instructions = book.active
    instructions.title = INSTRUCTIONS_SHEET
    item_fields = [column.header for column in (*ITEM_COLUMNS, *HANDLING_COLUMNS)]
    material_fields = [column.header for column in (*MATERIAL_COLUMNS, *ATTACHMENT_COLUMNS)]
    options: list[Worksheet] = []  # the hidden options sheet, once a list needs it
    _table(book, ITEM_SHEET, HANDLING, item_fields, EXAMPLE_ROW, options)
    _table(book, MATERIAL_SHEET, MATERIALS, material_fields, EXAMPLE_MATERIAL, options)
    _instructions(instructions, item_fields, material_fields)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
