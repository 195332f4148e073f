"""Importing the online address and the FAQ (issue 23 part 2): every refusal names its sheet,
row and column, and nothing is imported; the FAQ sheet is found by its headers whatever its
name, and a bureau's own spellings of its columns are read."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from catalog.importing import SpreadsheetError, parse_rows, plan_import, read_file
from catalog.spreadsheets import FAQ_SHEET, ITEM_SHEET, export_data, to_xlsx
from tests.factories import SAMPLE_FAQ, handling_item_data, item_data, publish


@pytest.fixture
def exported(db):
    publish(db, item_data(handling_item_data(code="F-01"), code="F", faq=SAMPLE_FAQ),
            item_data(code="G"))  # fmt: skip
    return to_xlsx(export_data())


def edited(content: bytes, change) -> bytes:
    book = load_workbook(io.BytesIO(content))
    change(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def problems_of(content: bytes) -> list[str]:
    with pytest.raises(SpreadsheetError) as caught:
        plan_import(parse_rows(*read_file("x.xlsx", content)))
    return [str(problem) for problem in caught.value.problems]


def _set_address(value: str):
    def change(book):
        sheet = book[ITEM_SHEET]
        headers = [cell.value for cell in sheet[1]]
        sheet.cell(row=2, column=headers.index("在线办理地址") + 1).value = value

    return change


@pytest.mark.parametrize(
    ("address", "message"),
    [("ftp://x.cn/", "在线办理地址须以 http:// 或 https:// 开头。"),
     ("https://a:b@x.cn/", "在线办理地址不能包含用户名或密码。"),
     ("https://x.cn/a b", "在线办理地址不能包含空格、换行或控制字符。"),
     ("https://x.cn/" + "a" * 500, "在线办理地址不能超过500个字符。")],
)  # fmt: skip
def test_a_bad_address_cell_is_refused_by_its_row_and_column(exported, address, message):
    problems = problems_of(edited(exported, _set_address(address)))
    assert problems == [f"{ITEM_SHEET} 第2行「在线办理地址」：{message}"]


def _faq_rows(*rows):
    def change(book):
        sheet = book[FAQ_SHEET]
        sheet.delete_rows(2, sheet.max_row)
        for row in rows:
            sheet.append(list(row))

    return change


def test_a_faq_row_naming_no_item_of_the_file_is_refused_by_its_row(exported):
    content = edited(exported, _faq_rows(
        ["F", "可以委托吗？", "可以。"],
        ["H", "没有这个事项？", "是的。"],
        [None, "没有事项编码？", "是的。"],
    ))  # fmt: skip
    assert problems_of(content) == [
        f"{FAQ_SHEET} 第3行「事项编码」：事项表中没有事项“H”。",
        f"{FAQ_SHEET} 第4行「事项编码」：不能为空。",
    ]


def test_a_faq_row_without_its_question_or_answer_is_refused_by_its_cell(exported):
    content = edited(exported, _faq_rows(
        ["F", "可以委托吗？", "可以。"],
        ["F", "", "只有解答"],
        ["G", "只有问题", None],
    ))  # fmt: skip
    assert sorted(problems_of(content)) == [
        f"{FAQ_SHEET} 第3行「问题」：不能为空。",
        f"{FAQ_SHEET} 第4行「解答」：不能为空。",
    ]


def test_more_than_thirty_questions_for_an_item_are_refused(exported):
    rows = [["G", f"问题{number}？", "解答。"] for number in range(31)]
    assert problems_of(edited(exported, _faq_rows(*rows))) == [
        f"{FAQ_SHEET} 第32行：常见问题最多30条。"
    ]


def test_the_faq_sheet_is_found_by_its_headers_under_any_name(exported):
    def renamed(book):
        sheet = book[FAQ_SHEET]
        sheet.title = "附件3 问答"
        sheet.insert_rows(1)
        sheet["A1"] = "某某县交通运输局 常见问题"
        sheet["A2"], sheet["B2"], sheet["C2"] = "基本编码", "常见问题", "回答"
        sheet.append(["G", "需要预约吗？", "不需要。"])

    plan = plan_import(parse_rows(*read_file("x.xlsx", edited(exported, renamed))))
    [(parsed, _data, changes)] = plan.changed
    assert parsed.code == "G"
    assert changes == {"faq": (None, [{"question": "需要预约吗？", "answer": "不需要。"}])}


def test_two_faq_sheets_are_refused(exported):
    def doubled(book):
        book.copy_worksheet(book[FAQ_SHEET]).title = "常见问题2"

    assert problems_of(edited(exported, doubled)) == [
        f"文件：工作表“{FAQ_SHEET}”、“常见问题2”都像常见问题表，请只保留一个。"
    ]
