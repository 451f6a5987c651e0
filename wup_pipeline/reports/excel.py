"""The factscan workbook of a gemeente (openpyxl): one sheet per mart table, a sheet documenting every column.

Pure: tables (after the privacy rules) and column documentation in, an .xlsx file out (written next to its final
name, then renamed into place).
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

ABOUT_SHEET = "Toelichting"
COLUMNS_SHEET = "Kolommen"
COLUMN_DOC_HEADER = ("sheet", "kolom", "omschrijving", "eenheid", "type", "tabel", "figure_id")
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE6EE")


@dataclass(frozen=True)
class Sheet:
    name: str  # at most 31 characters (Excel)
    table: str  # where it comes from, e.g. marts.factscan_buurt
    columns: list[tuple[str, str]]  # (name, DuckDB type)
    rows: list[tuple]
    figure_id_pattern: str | None = None  # e.g. woningvoorraad/{buurt_code}/{column}


def _cell_value(value):
    """openpyxl writes numbers, text, booleans and dates; everything else as text."""
    if value is None or isinstance(value, (bool, int, float, str, dt.date, dt.datetime)):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _header(ws, names) -> list[WriteOnlyCell]:
    cells = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cells.append(cell)
    return cells


def write_workbook(path: Path, *, about: list[tuple[str, str]], sheets: list[Sheet],
                   docs: dict[tuple[str, str], tuple[str, str | None]]) -> Path:
    """``docs``: (table, column) -> (description, unit). Returns the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(ABOUT_SHEET)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 110
    for key, value in about:
        label = WriteOnlyCell(ws, value=key)
        label.font = _HEADER_FONT
        text = WriteOnlyCell(ws, value=value)
        text.alignment = Alignment(wrap_text=True, vertical="top")
        ws.append([label, text])
    doc_rows = []
    for sheet in sheets:
        if len(sheet.name) > 31:
            raise ValueError(f"sheet name '{sheet.name}' is longer than Excel's 31 characters")
        ws = workbook.create_sheet(sheet.name)
        ws.freeze_panes = "B2"
        for index, (name, _) in enumerate(sheet.columns):
            ws.column_dimensions[_column_letter(index)].width = max(10, min(40, len(name) + 2))
        ws.append(_header(ws, [name for name, _ in sheet.columns]))
        for row in sheet.rows:
            ws.append([_cell_value(v) for v in row])
        for name, kind in sheet.columns:
            description, unit = docs.get((sheet.table, name), ("", None))
            pattern = sheet.figure_id_pattern.replace("{column}", name) if sheet.figure_id_pattern and \
                name not in ("buurt_code", "buurt_name", "wijk_code", "gemeente_code", "gemeente_name",
                             "privacy_suppressed") else ""
            doc_rows.append((sheet.name, name, description or "(niet gedocumenteerd)", unit or "", kind, sheet.table,
                             pattern))
    ws = workbook.create_sheet(COLUMNS_SHEET)
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (24, 34, 90, 22, 12, 30, 50), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append(_header(ws, COLUMN_DOC_HEADER))
    for row in doc_rows:
        ws.append(list(row))
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".xlsx.tmp", delete=False) as tmp:
        pass
    try:
        workbook.save(tmp.name)
        os.chmod(tmp.name, 0o644)  # a published file; tempfile makes it 0600
        os.replace(tmp.name, path)
    finally:
        if os.path.exists(tmp.name):
            os.unlink(tmp.name)
    return path


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
