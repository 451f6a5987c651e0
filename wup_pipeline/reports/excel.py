"""The factscan workbook of a gemeente (openpyxl): one sheet per mart table, a sheet documenting every column.

Pure: tables (after the privacy rules) and column documentation in, an .xlsx file out (written next to its final
name, then renamed into place).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

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
    fast: dict[str, list[list]] = {}  # sheet name -> data rows of plain values
    for sheet in sheets:
        if len(sheet.name) > 31:
            raise ValueError(f"sheet name '{sheet.name}' is longer than Excel's 31 characters")
        ws = workbook.create_sheet(sheet.name)
        ws.freeze_panes = "B2"
        for index, (name, _) in enumerate(sheet.columns):
            ws.column_dimensions[_column_letter(index)].width = max(10, min(40, len(name) + 2))
        ws.append(_header(ws, [name for name, _ in sheet.columns]))
        values = [[_cell_value(v) for v in row] for row in sheet.rows]
        if values and all(_is_plain(v) for row in values for v in row):
            fast[ws.title] = values  # written after saving, see _fill_rows
        else:
            for row in values:
                ws.append(row)
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
        if fast:
            _fill_rows(tmp.name, fast)
        os.chmod(tmp.name, 0o644)  # a published file; tempfile makes it 0600
        os.replace(tmp.name, path)
    finally:
        if os.path.exists(tmp.name):
            os.unlink(tmp.name)
    return path


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# ---------------------------------------------------------------------------------------------------------------
# Rows of plain values (numbers, booleans, text) are written as sheet XML directly: openpyxl builds an XML element
# per cell (~70 µs), which made a gemeente's workbook (95,000 dwelling-group rows) take 25 s. The XML is what
# openpyxl writes for those cells (test_reports_units compares both); anything else (dates, formulas, text with
# characters Excel refuses) takes openpyxl's path, sheet by sheet.

_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE
_ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


def _is_plain(value) -> bool:
    if value is None or isinstance(value, (bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):  # openpyxl turns "=..." into a formula and "#N/A" into an error cell
        return len(value) <= 32767 and not (len(value) > 1 and value.startswith("=")) \
            and value not in _ERROR_CODES and not _ILLEGAL.search(value)
    return False


def _cell_xml(ref: str, value) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}" t="n"><v>{value:.16g}</v></c>'  # openpyxl: "%.16g" % value
    if value == "":
        return f'<c r="{ref}" t="inlineStr" />'
    stripped = value.strip()
    space = ' xml:space="preserve"' if stripped and stripped != value else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'


def _rows_xml(rows: list[list], first_row: int):
    letters: list[str] = []
    for index, row in enumerate(rows, first_row):
        while len(letters) < len(row):
            letters.append(_column_letter(len(letters)))
        cells = "".join(_cell_xml(f"{letters[i]}{index}", v) for i, v in enumerate(row) if v is not None)
        yield f'<row r="{index}">{cells}</row>'


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML file in the archive (from workbook.xml and its relationships)."""
    import xml.etree.ElementTree as ET

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    targets = {r.get("Id"): r.get("Target") for r in ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))}
    paths = {}
    for sheet in ET.fromstring(archive.read("xl/workbook.xml")).iter(f"{main}sheet"):
        target = targets[sheet.get(f"{rel_ns}id")]
        paths[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return paths


def _fill_rows(path: str, rows_by_sheet: dict[str, list[list]]) -> None:
    """Put the data rows (from row 2, under the header openpyxl wrote) into the saved workbook's sheets."""
    rewritten = path + ".rows"
    try:
        _copy_with_rows(path, rewritten, rows_by_sheet)
        os.replace(rewritten, path)
    finally:
        if os.path.exists(rewritten):
            os.unlink(rewritten)


def _copy_with_rows(path: str, rewritten: str, rows_by_sheet: dict[str, list[list]]) -> None:
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
        by_path = {p: rows_by_sheet[name] for name, p in _sheet_paths(source).items() if name in rows_by_sheet}
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename not in by_path:
                target.writestr(info, data)
                continue
            head, tail = data.decode("utf-8").split("</sheetData>", 1)
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED  # a new ZipInfo would be stored uncompressed
            with target.open(entry, "w") as out:
                out.write(head.encode("utf-8"))
                chunk = []
                for line in _rows_xml(by_path[info.filename], 2):
                    chunk.append(line)
                    if len(chunk) >= 2000:
                        out.write("".join(chunk).encode("utf-8"))
                        chunk = []
                out.write(("".join(chunk) + "</sheetData>" + tail).encode("utf-8"))
