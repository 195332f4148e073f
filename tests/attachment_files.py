"""Real, minimal files of each kind a material may offer, and ones the catalog refuses, made
here byte by byte (no fixture file can hide what it holds)."""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels"'
    ' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
)
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
WORD_MACRO_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"
EXCEL_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
RELS = '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{target}"/></Relationships>'  # noqa: E501
DOCUMENT = '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'


def pdf(text: str = "blank form") -> bytes:
    """A one-page PDF with its cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n% " + text.encode() + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """The JFIF header of a JPEG (SOI, APP0) and its end (EOI)."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def _package(entries: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, body in entries.items():  # a fixed time: the same entries, the same bytes
            package.writestr(
                zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), body, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()


def docx(text: str = "申请表", *, main_type: str = WORD_MAIN, extra: dict | None = None) -> bytes:
    override = f'<Override PartName="/word/document.xml" ContentType="{main_type}"/>'
    return _package({
        "[Content_Types].xml": CONTENT_TYPES.format(overrides=override),
        "_rels/.rels": RELS.format(target="word/document.xml"),
        "word/document.xml": DOCUMENT.format(text=text),
        **(extra or {}),
    })  # fmt: skip


def docm() -> bytes:
    return docx(main_type=WORD_MACRO_MAIN, extra={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})


@functools.cache
def xlsx(value: str = "示例") -> bytes:
    """openpyxl writes the save's time into docProps/core.xml, so two saves a second apart
    differ; one package per value keeps "the same content" the same."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active["A1"] = value
    out = io.BytesIO()
    workbook.save(out)
    return _package(_entries(out.getvalue()))  # rewritten with a fixed time


def _entries(package: bytes) -> dict[str, bytes]:
    source = zipfile.ZipFile(io.BytesIO(package))
    return {info.filename: source.read(info) for info in source.infolist()}


def xlsm() -> bytes:
    """An XLSX whose main part is declared macro-enabled."""
    entries = _entries(xlsx())
    entries["[Content_Types].xml"] = entries["[Content_Types].xml"].replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        EXCEL_MACRO_MAIN.encode(),
    )
    return _package(entries)


def plain_zip() -> bytes:
    return _package({"readme.txt": "not an office document"})


def exe() -> bytes:
    """The start of a Windows executable (DOS header, PE signature)."""
    header = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    header[0x3C:0x40] = struct.pack("<I", 0x40)
    return bytes(header) + b"\x00" * (0x40 - len(header)) + b"PE\x00\x00" + b"\x00" * 64
