"""The staff's export of the decision records the staff list shows, with its filters, as XLSX
or CSV: full records (catalog.decisions.staff_export), at most EXPORT_LIMIT of them (a 400
naming the count otherwise), each export recorded in the audit trail (who, when, which
filters, how many records) before the file is sent."""

from __future__ import annotations

import csv
import io

from flask import Response, request, stream_with_context
from flask_login import current_user
from openpyxl import Workbook

from catalog.decisions import operations, staff_export, staff_search
from catalog.decisions.columns import KIND_LABELS, LICENCE
from catalog.domain import DomainError
from catalog.edge import transaction
from catalog.public.export import safe_cell
from catalog.staff.decisions import MODELS, list_filters
from catalog.staff.permissions import can_edit, requires
from catalog.staff.views import blueprint
from catalog.templating import display_today

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv_lines(kind: str, rows) -> object:
    """The CSV as it is written, a batch of rows at a time (UTF-8 with a BOM for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(staff_export.headers(kind))
    for number, row in enumerate(rows, 1):
        writer.writerow([safe_cell(value) for value in row])
        if number % staff_export.BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx(kind: str, rows) -> bytes:
    """A write-only workbook (rows go to a temporary file as they come), one sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(KIND_LABELS[kind])
    sheet.append(staff_export.headers(kind))
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@blueprint.get("/decisions/export.<any(csv, xlsx):fmt>")
@requires(can_edit)
@transaction
def decision_export(fmt: str):
    """The list's records with its filters (kind, q, year, unit, late, item, category)."""
    kind = request.args.get("kind") if request.args.get("kind") in MODELS else LICENCE
    found, args = list_filters(kind)
    # counted up to the export's limit, through the index (staff_search): what is written
    count = staff_search.export_count(MODELS[kind], found, staff_export.EXPORT_LIMIT)
    if count > staff_export.EXPORT_LIMIT:
        raise DomainError(staff_export.too_many(KIND_LABELS[kind]))
    filters = {"kind": kind, **{name: value for name, value in args.items() if value}}
    operations.records_exported(
        kind, filters=filters, count=count, file_format=fmt, actor=current_user
    )
    rows = staff_export.rows(kind, found.counted, display_today())
    filename = f"{kind}-decisions.{fmt}"
    disposition = {"Content-Disposition": f"attachment; filename={filename}"}
    if fmt == "xlsx":
        return Response(_xlsx(kind, rows), mimetype=XLSX, headers=disposition)
    return Response(
        stream_with_context(_csv_lines(kind, rows)), mimetype="text/csv", headers=disposition
    )
