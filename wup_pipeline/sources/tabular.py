"""Reading user-filled templates (CSV, XLSX): forgiving about form, strict about content.

Municipal advisors and asset managers fill these files in Excel, so the reader accepts what Excel
and people do harmlessly: column names in any case or with spaces (``Bag VBO-id``), UTF-8 with or
without byte-order mark, cp1252 (Excel's "CSV (gescheiden door lijstscheidingsteken)"), ``;``, ``,``
or tab as delimiter, title rows above the header, empty rows, spaces around values, non-breaking
spaces. Real problems (a missing column, a value that is not what the template allows) raise a
``RowInputError`` that names the file, the row number as Excel shows it, and the field.

Every value is read as text; the template modules turn columns into types with the set-based
helpers below (``to_int``, ``to_date``, ``to_category``, ...), which check a whole column at once
and report the first bad rows. A table carries ``source_row``: the spreadsheet row of each record.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

from wup_pipeline.resources.errors import InputError

log = logging.getLogger(__name__)

SOURCE_ROW = "source_row"
HEADER_SEARCH_ROWS = 30  # title rows a header may sit below
DELIMITERS = (";", ",", "\t")
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
MAX_ROWS_LISTED = 10  # rows named in one error message
MAX_VALUE_SHOWN = 40  # characters of a bad value quoted in an error message


class RowInputError(InputError):
    """An ``InputError`` whose record is a spreadsheet row: ``<file> row <n> field '<name>': <problem>``."""

    def __init__(self, file: str, problem: str, row: int | None = None, field: str | None = None, unit: str = "row"):
        super().__init__(file, problem, record=row, field=field)
        where = self.file
        if row is not None:
            where += f" {unit} {row}"
        if field is not None:
            where += f" field '{field}'"
        self.args = (f"{where}: {problem}",)
        self.unit = unit

    def __reduce__(self):  # picklable across processes, like any exception should be
        return type(self), (self.file, self.problem, self.record, self.field, self.unit)


@dataclass(frozen=True)
class TemplateColumn:
    """A column of a template: the name users see, other names accepted, and the name in the frame."""

    name: str
    output: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    personal: bool = False  # never quoted in messages or logs


@dataclass(frozen=True)
class Table:
    """A template read as text: one String column per template column found (by template ``name``),
    missing optional columns as nulls, and ``source_row`` (Int64) as Excel shows the row."""

    frame: pl.DataFrame
    where: str  # file name, plus the sheet for workbooks; used in every message
    header_row: int | None
    found_columns: tuple[str, ...]  # header cells as written in the file
    present: frozenset[str]  # template columns the file has
    personal_fields: frozenset[str]
    unit: str = "row"  # what ``source_row`` counts: spreadsheet rows, or GeoJSON features


def normalise_name(name: object) -> str:
    """``' Bag VBO-id '`` -> ``'bag_vbo_id'``: lower case, accents off, runs of other characters -> ``_``."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _cell_text(value: object) -> str | None:
    """An XLSX cell as the text the user typed: 12.0 -> '12', dates as ISO, empty -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "WAAR" if value else "ONWAAR"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), else cp1252 (Excel's CSV)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; latin-1 maps them, so decoding never fails here.
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def known_names(columns: Sequence[TemplateColumn]) -> dict[str, str]:
    """Normalised accepted name -> template name."""
    known = {}
    for column in columns:
        for accepted in (column.name, column.output, *column.aliases):
            known[normalise_name(accepted)] = column.name
    return known


def _header_score(cells: Sequence[object], known: dict[str, str], required: set[str]) -> tuple[int, int]:
    names = {known.get(normalise_name(c)) for c in cells} - {None}
    return len(names & required), len(names)


def _pick_header(rows: list[list[object]], known: dict[str, str], required: set[str]) -> int:
    """Index of the first row holding every required column; else the row with most template columns."""
    best, best_score = None, (-1, -1)
    for index, cells in enumerate(rows):
        if not any(c not in (None, "") for c in cells):
            continue
        score = _header_score(cells, known, required)
        if score[0] == len(required) and score[1] > 0:
            return index
        if score > best_score:
            best, best_score = index, score
    return best if best is not None else 0


def _csv_head(text: str, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """The first records of a CSV text and the physical line each one ends on."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows, ends = [], []
    for cells in reader:
        rows.append(cells)
        ends.append(reader.line_num)
        if len(rows) >= HEADER_SEARCH_ROWS:
            break
    return rows, ends


def _read_csv(path: Path, columns: Sequence[TemplateColumn], private: bool) -> tuple[list[str], pl.DataFrame, int, str]:
    where = str(path)
    text = _decode(path.read_bytes())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    known = known_names(columns)
    required = {c.name for c in columns if c.required}
    best = None
    for delimiter in DELIMITERS:
        try:
            rows, ends = _csv_head(text, delimiter)
        except csv.Error:
            continue
        if not rows:
            raise RowInputError(where, "the file is empty; expected a header row with the template's columns")
        index = _pick_header(rows, known, required)
        key = (*_header_score(rows[index], known, required), len(rows[index]))
        if best is None or key > best[0]:
            best = (key, delimiter, rows, ends, index)
    if best is None:
        raise RowInputError(where, "cannot read this as CSV (unbalanced quotes?); save it again as CSV or XLSX")
    _, delimiter, rows, ends, index = best
    header = [str(c) for c in rows[index]]
    lines_before_header = ends[index - 1] if index > 0 else 0
    width = len(header)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=delimiter, has_header=True, skip_lines=lines_before_header,
            infer_schema=False, truncate_ragged_lines=True, raise_if_empty=False,
            new_columns=[f"c{i}" for i in range(width)],
        )
    except pl.exceptions.PolarsError:
        # Polars refuses a stray quote inside a field (Zei "misschien"); Python's csv module reads it the way
        # Excel does. Its row loop is acceptable for a hand-filled file, and only runs for such files.
        frame = _read_csv_leniently(text, delimiter, index, width, where, private)
    frame = frame.select([c for c in frame.columns[: len(header)]])
    # Excel shows one row per record, blank lines included, so record i sits on header row + 1 + i.
    return header, frame, index + 1, where


def _read_csv_leniently(text: str, delimiter: str, header_index: int, width: int, where: str,
                        private: bool) -> pl.DataFrame:
    failed = None
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delimiter))[header_index + 1:]
    except csv.Error as exc:
        # Parser messages can quote the offending text; personal files must not leak it.
        failed = "the CSV is malformed" + ("" if private else f" ({exc})")
    if failed:
        raise RowInputError(where, f"{failed}; check quotes and delimiters, or save it as XLSX")
    padded = [(r + [""] * width)[:width] for r in records]
    return pl.DataFrame(padded, schema={f"c{i}": pl.String for i in range(width)}, orient="row")


def _read_xlsx(path: Path, columns: Sequence[TemplateColumn]) -> tuple[list[str], pl.DataFrame, int, str]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException ... on a bad file
        raise RowInputError(str(path), f"cannot open as an Excel workbook ({type(exc).__name__}); "
                                       "save it as .xlsx or CSV") from None
    known = known_names(columns)
    required = {c.name for c in columns if c.required}
    try:
        best = None
        for sheet in workbook.worksheets:
            head = [list(r) for _, r in zip(range(HEADER_SEARCH_ROWS), sheet.iter_rows(values_only=True), strict=False)]
            if not head:
                continue
            index = _pick_header(head, known, required)
            score = _header_score(head[index], known, required)
            if best is None or score > best[0]:
                best = (score, sheet, index, head[index])
            if score[0] == len(required) and score[1] > 0:
                break
        if best is None:
            raise RowInputError(str(path), "the workbook has no rows; expected a header row with the template's "
                                           "columns")
        _, sheet, index, header_cells = best
        header = [_cell_text(c) or "" for c in header_cells]
        width = len(header)
        # openpyxl hands out cells row by row; a workbook is at most 1,048,576 rows, so this loop is bounded.
        data, numbers = [], []
        for number, cells in enumerate(sheet.iter_rows(min_row=index + 2, values_only=True), start=index + 2):
            texts = [_cell_text(c) for c in cells[:width]]
            if any(t is not None and t.strip() for t in texts):
                data.append(texts + [None] * (width - len(texts)))
                numbers.append(number)
    finally:
        workbook.close()
    frame = pl.DataFrame(data, schema={f"c{i}": pl.String for i in range(width)}, orient="row")
    frame = frame.with_columns(pl.Series(SOURCE_ROW, numbers, dtype=pl.Int64))
    where = f"{path} sheet '{sheet.title}'" if len(workbook.sheetnames) > 1 else str(path)
    return header, frame, index + 1, where


def read_table(path: Path | str, columns: Sequence[TemplateColumn], *, private: bool = False) -> Table:
    """Read a CSV or XLSX template into text columns named by the template (see module docstring).

    ``private``: the file holds personal data; parser messages that could quote a line are dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise RowInputError(str(path), "file not found")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        header, frame, header_row, where = _read_xlsx(path, columns)
    elif suffix in CSV_SUFFIXES:
        header, frame, header_row, where = _read_csv(path, columns, private)
        frame = frame.with_columns(pl.int_range(header_row + 1, header_row + 1 + pl.len(), dtype=pl.Int64)
                                   .alias(SOURCE_ROW))
    elif suffix == ".xls":
        raise RowInputError(str(path), "old Excel format (.xls) is not read; save it as .xlsx or CSV")
    else:
        raise RowInputError(str(path), f"unknown file type '{suffix}'; expected .csv or .xlsx")

    return table_from_text_columns(where, header, frame, columns, header_row=header_row)


def table_from_text_columns(
    where: str,
    header: Sequence[str],
    frame: pl.DataFrame,
    columns: Sequence[TemplateColumn],
    *,
    header_row: int | None,
    unit: str = "row",
    drop_empty: bool = True,
) -> Table:
    """Name, clean and check the columns of a text frame (``c0``.. in ``header`` order, plus ``source_row``).

    ``header_row`` is None for files without a header row (GeoJSON properties).
    """
    noun, nouns = ("column", "columns") if unit == "row" else ("property", "properties")
    found_phrase = (f"the header (row {header_row}) has columns" if header_row is not None
                    else f"the {unit}s have properties")
    known = known_names(columns)
    positions: dict[str, list[int]] = {}
    for position, cell in enumerate(header):
        name = known.get(normalise_name(cell))
        if name is not None:
            positions.setdefault(name, []).append(position)
    for name, where_found in positions.items():
        if len(where_found) > 1:
            letters = ", ".join(repr(header[p]) if header_row is None else "column " + _column_letter(p)
                                for p in where_found)
            raise RowInputError(where, f"{noun} '{name}' appears more than once ({letters}); keep one",
                                row=header_row, field=name)
    found = tuple(h for h in header if h.strip())
    missing = [c.name for c in columns if c.required and c.name not in positions]
    if missing:
        raise RowInputError(
            where, f"missing required {nouns} {missing}; {found_phrase} "
                   f"{list(found)}. Expected the template's {noun} names: {[c.name for c in columns]}",
            row=header_row, field=missing[0],
        )
    unknown = [h for h in found if normalise_name(h) not in known]
    if unknown:
        log.info("%s: ignoring columns that are not in the template: %s", where, unknown)

    cleaned = []
    for column in columns:
        if column.name in positions:
            source = pl.col(f"c{positions[column.name][0]}")
            # Excel pads with (non-breaking) spaces; an empty cell and a blank cell mean the same.
            value = source.str.replace_all("\u00a0", " ").str.strip_chars()
            cleaned.append(pl.when(value != "").then(value).alias(column.name))
        else:
            cleaned.append(pl.lit(None, dtype=pl.String).alias(column.name))
    frame = frame.select(*cleaned, SOURCE_ROW)
    template_names = [c.name for c in columns]
    # Rows that are empty in every template column (Excel's trailing ';;;;' rows) are not records.
    if drop_empty:
        frame = frame.filter(~pl.all_horizontal(pl.col(template_names).is_null()))
    personal = frozenset(c.name for c in columns if c.personal)
    return Table(frame, where, header_row, found, frozenset(positions), personal, unit)


def _column_letter(position: int) -> str:
    letters, n = "", position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- Set-based checks and conversions --------------------------------------------------------------


def raise_bad_rows(table: Table, bad: pl.Expr, field: str, expected: str = "", *, problem: str | None = None) -> None:
    """Raise for the rows where ``bad`` holds, naming the first and counting the rest.

    The message is ``problem`` when given, else ``'<value>' is not valid; expected <expected>``; the value is
    quoted only when the field is not personal.
    """
    rows = table.frame.filter(bad).select(SOURCE_ROW, pl.col(field).alias("value"))
    if rows.is_empty():
        return
    first_row, value = rows.row(0)
    if problem is None:
        if field in table.personal_fields:
            problem = f"the value (not shown: personal data) is not valid; expected {expected}"
        else:
            shown = value if value is None or len(value) <= MAX_VALUE_SHOWN else value[:MAX_VALUE_SHOWN] + "..."
            problem = f"{shown!r} is not valid; expected {expected}"
    if rows.height > 1:
        listed = rows[SOURCE_ROW].head(MAX_ROWS_LISTED).to_list()
        more = ", ..." if rows.height > MAX_ROWS_LISTED else ""
        problem += (f" ({rows.height} {table.unit}s with this problem in '{field}': "
                    f"{table.unit}s {', '.join(map(str, listed))}{more})")
    raise RowInputError(table.where, problem, row=first_row, field=field, unit=table.unit)


def require_values(table: Table, fields: Iterable[str]) -> None:
    """Every row must fill each of ``fields``."""
    place = "cell" if table.unit == "row" else "property"
    for field in fields:
        raise_bad_rows(table, pl.col(field).is_null(), field, problem=f"the {place} is empty; expected a value")


def category_key(expr: pl.Expr) -> pl.Expr:
    """How categories are compared (as ``normalise_name``): lower case, accents off, other characters -> '_'."""
    return (expr.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
            .str.replace_all(r"[^0-9a-z]+", "_").str.strip_chars("_"))


def to_category(table: Table, field: str, allowed: Sequence[str], aliases: dict[str, str] | None = None) -> pl.Expr:
    """The column as one of ``allowed`` (the canonical spelling); raises on anything else."""
    mapping = {normalise_name(a): a for a in allowed}
    mapping |= {normalise_name(k): v for k, v in (aliases or {}).items()}
    converted = category_key(pl.col(field)).replace_strict(mapping, default=None, return_dtype=pl.String)
    raise_bad_rows(table, pl.col(field).is_not_null() & converted.is_null(), field, f"one of {list(allowed)}")
    return converted.alias(field)


def whole_number(expr: pl.Expr) -> pl.Expr:
    """Text -> Int64 for whole numbers ('2027', '2027.0', ' 12 '); anything else -> null."""
    text = expr.str.replace(r"^([+-]?\d+)[.,]0*$", "$1")
    return pl.when(text.str.contains(r"^[+-]?\d{1,18}$")).then(text).cast(pl.Int64, strict=False)


def to_int(table: Table, field: str, low: int, high: int, expected: str) -> pl.Expr:
    converted = whole_number(pl.col(field))
    bad = pl.col(field).is_not_null() & (converted.is_null() | ~converted.is_between(low, high))
    raise_bad_rows(table, bad, field, expected)
    return converted.alias(field)


YEAR_RANGE = (1990, 2100)


def to_year(table: Table, field: str, low: int = YEAR_RANGE[0], high: int = YEAR_RANGE[1]) -> pl.Expr:
    return to_int(table, field, low, high, f"a year between {low} and {high} written as four digits, e.g. 2028")


DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y")


def to_date(table: Table, field: str) -> pl.Expr:
    """ISO dates and Dutch day-month-year dates (1-5-2024, 01/05/2024, 1.5.2024); a time part is ignored."""
    text = pl.col(field).str.replace(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?.*$", "")
    parsed = pl.coalesce([text.str.to_date(f, strict=False) for f in DATE_FORMATS])
    bad = pl.col(field).is_not_null() & (parsed.is_null() | ~text.str.contains(r"\d{4}"))
    raise_bad_rows(table, bad, field, "a date as day-month-year (31-12-2024) or year-month-day (2024-12-31)")
    return parsed.alias(field)


def to_code(table: Table, field: str, pattern: str, expected: str) -> pl.Expr:
    """Upper-cased, space-free codes that must match ``pattern`` (e.g. BU + 8 digits)."""
    converted = pl.col(field).str.to_uppercase().str.replace_all(r"\s", "")
    raise_bad_rows(table, pl.col(field).is_not_null() & ~converted.str.contains(pattern), field, expected)
    return converted.alias(field)


BUURT_CODE = r"^BU\d{8}$"
WIJK_CODE = r"^WK\d{6}$"
POSTCODE = r"^[1-9]\d{3}[A-Z]{2}$"


def postcode_expr(expr: pl.Expr) -> pl.Expr:
    """'1234 ab' -> '1234AB'."""
    return expr.str.to_uppercase().str.replace_all(r"\s", "")
