"""Versioned parameter tables (kentallen) shipped as package data, one value per row with its source.

``load_parameters("heat_demand_dwellings")`` reads ``heat_demand_dwellings.csv`` from this package,
checks every column against the file's schema and returns typed columns; a bad value raises
``InputError`` naming the file, the line (the header is line 1) and the column.
``parameter_version()`` is a sha256 over all parameter files, to record with every result that
used them. How the housing tables were derived from their published sources: ``derive.py`` and
docs/housing-model.md.

Every row has a ``source`` and a ``note``. A file either carries them inline or, where a few citations
repeat over thousands of rows (the tables derived cell by cell from a published table, marked by
``Schema.citation_prefix``), a ``citation_id`` column instead: ``citations.csv`` (table, citation_id,
source, note) holds the text once and the loader joins it back in place of ``citation_id``, so the
loaded table has the same columns either way.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

from wup_pipeline.resources.errors import InputError

PACKAGE = "wup_pipeline.parameters"
CITATIONS = "citations.csv"
LABELS = ("A", "B", "C", "D", "E", "F", "G")


@dataclass(frozen=True)
class Column:
    dtype: type[pl.DataType] | pl.DataType = pl.String
    required: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Schema:
    columns: dict[str, Column]
    key: tuple[str, ...]  # columns that identify a row; duplicates are an error
    description: str = ""
    # Set for tables whose file cites by id (citations.csv); the prefix starts their citation ids.
    citation_prefix: str | None = None


_COMMON = {"parameter_set": Column(), "source": Column(), "note": Column(required=False)}
_LABEL_OR_N = (*LABELS, "N")

SCHEMAS: dict[str, Schema] = {
    "build_year_classes": Schema(
        {
            "build_year_class": Column(),
            "year_min": Column(pl.Int64, required=False, minimum=1000),
            "year_max": Column(pl.Int64, required=False, minimum=1000),
            "vesta_name": Column(),
            "sort_order": Column(pl.Int64, minimum=1),
        },
        key=("parameter_set", "build_year_class"),
        description="Vesta build-year classes of existing dwellings (inclusive year bounds; empty = open)",
    ),
    "dwelling_type_classes": Schema(
        {
            "dwelling_type_class": Column(),
            "dwelling_type": Column(allowed=("detached", "semi_detached", "corner", "terraced", "apartment")),
            "vesta_type": Column(),
            "rule": Column(),
        },
        key=("parameter_set", "dwelling_type_class"),
        description="our dwelling-type classes and the Vesta type whose parameters they use",
    ),
    "heat_demand_dwellings": Schema(
        {
            "vesta_type": Column(),
            "build_year_class": Column(),
            "label": Column(required=False, allowed=_LABEL_OR_N),
            "name": Column(allowed=("space_heating_fixed", "space_heating_per_m2", "hot_water_fixed",
                                    "hot_water_per_m2")),
            "value": Column(pl.Float64),
            "unit": Column(),
            "low": Column(pl.Float64, required=False),
            "high": Column(pl.Float64, required=False),
        },
        key=("parameter_set", "vesta_type", "build_year_class", "label", "name"),
        description="Vesta functional heat demand: fixed part per dwelling + part per m2 floor area",
        citation_prefix="hd",
    ),
    "vesta_default_labels": Schema(
        {
            "vesta_type": Column(),
            "build_year_class": Column(),
            "name": Column(allowed=("default_label",)),
            "value": Column(allowed=LABELS),
            "unit": Column(),
        },
        key=("parameter_set", "vesta_type", "build_year_class", "name"),
        description="Vesta's default (start) label per dwelling type x build-year class",
        citation_prefix="dl",
    ),
    "label_distribution": Schema(
        {
            "dwelling_type_class": Column(),
            "build_year_class": Column(),
            "label": Column(allowed=LABELS),
            "name": Column(allowed=("share",)),
            "value": Column(pl.Float64, minimum=0.0, maximum=1.0),
            "unit": Column(),
            "low": Column(pl.Float64, required=False, minimum=0.0, maximum=1.0),
            "high": Column(pl.Float64, required=False, minimum=0.0, maximum=1.0),
            "method": Column(),
        },
        key=("parameter_set", "dwelling_type_class", "build_year_class", "label"),
        description="label shares for dwellings without a registered label",
        citation_prefix="ld",
    ),
    "energy_conversion": Schema(
        {
            "name": Column(allowed=("gas_lower_heating_value", "boiler_efficiency_space_heating",
                                    "boiler_efficiency_hot_water", "distribution_loss_space_heating",
                                    "distribution_loss_hot_water", "plan_window_start_year", "plan_window_years")),
            "value": Column(pl.Float64, minimum=0.0),
            "unit": Column(),
            "low": Column(pl.Float64, required=False),
            "high": Column(pl.Float64, required=False),
        },
        # One value per name: SQL models read these rows by name.
        key=("name",),
        description="heat demand -> gas use (HR boiler, lower heating value) and the koppelkansen plan window",
    ),
    # Cost model (wup_pipeline/model/costs.py, docs/cost-model.md; derived by derive_costs.py).
    "costs_general": Schema(
        {
            "name": Column(),
            "year": Column(pl.Int64, required=False, minimum=2000, maximum=2100),
            "value": Column(pl.Float64),
            "unit": Column(),
            "low": Column(pl.Float64, required=False),
            "high": Column(pl.Float64, required=False),
        },
        key=("parameter_set", "name", "year"),
        description="scalar cost-model parameters per parameter set; year-dependent ones per year (interpolated)",
    ),
    "costs_building_kentallen": Schema(
        {
            "sector": Column(allowed=("dwelling", "utility")),
            "building_type": Column(),
            "build_year_class": Column(),
            "name": Column(),
            "label_from": Column(required=False),
            "label_to": Column(required=False),
            "value": Column(pl.Float64),
            "unit": Column(),
            "low": Column(pl.Float64, required=False),
            "high": Column(pl.Float64, required=False),
        },
        key=("parameter_set", "sector", "building_type", "build_year_class", "name", "label_from", "label_to"),
        description="Vesta building kentallen per type x build-year class: demand per label, shell-step investments",
        citation_prefix="kt",
    ),
    "costs_building_stock": Schema(
        {
            "sector": Column(allowed=("dwelling", "utility")),
            "building_type": Column(),
            "build_year_class": Column(),
            "name": Column(allowed=("national_stock",)),
            "value": Column(pl.Float64, minimum=0.0),
            "unit": Column(),
        },
        key=("parameter_set", "sector", "building_type", "build_year_class", "name"),
        description="national building stock per type x build-year class: the mix used when a buurt's is unknown",
        citation_prefix="bs",
    ),
}


CITATION_SCHEMA = Schema(
    {
        "table": Column(allowed=tuple(SCHEMAS)),
        "citation_id": Column(),
        "source": Column(),
        "note": Column(required=False),
    },
    key=("citation_id",),
    description="source and note of the rows of the tables that cite by citation_id",
)


def _file_name(name: str) -> str:
    return name if name.endswith(".csv") else f"{name}.csv"


def _read_bytes(file_name: str) -> bytes:
    resource = resources.files(PACKAGE).joinpath(file_name)
    if not resource.is_file():
        raise InputError(f"{PACKAGE}/{file_name}", f"no such parameter file (known: {', '.join(sorted(SCHEMAS))})")
    return resource.read_bytes()


def _read_csv(file_name: str) -> pl.DataFrame:
    try:
        return pl.read_csv(io.BytesIO(_read_bytes(file_name)), infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{PACKAGE}/{file_name}", f"not a readable CSV file: {exc}") from exc


def _validate(raw: pl.DataFrame, schema: Schema, where: str, common: dict[str, Column] = _COMMON) -> pl.DataFrame:
    columns = {**common, **schema.columns}
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise InputError(where, "column is missing from the header", record=1, field=missing[0])
    lines = pl.int_range(2, pl.len() + 2).alias("_line")
    # Keep the file's column order (and any extra text columns); strip stray spaces around values.
    frame = raw.select(lines, pl.all().str.strip_chars())

    def fail(mask: pl.Expr, column: str, problem: str) -> None:
        bad = frame.filter(mask)
        if bad.height:
            value = bad[column][0]
            raise InputError(where, problem.format(value=value), record=int(bad["_line"][0]), field=column)

    typed = []
    for name, spec in columns.items():
        text = pl.col(name)
        if spec.required:
            fail(text.is_null() | (text == ""), name, "value is required")
        if spec.dtype == pl.String:
            value = text
        else:
            value = text.cast(spec.dtype, strict=False)
            fail(text.is_not_null() & value.is_null(), name, f"{{value!r}} is not a valid {spec.dtype}")
        if spec.allowed is not None:
            fail(text.is_not_null() & ~text.is_in(list(spec.allowed)), name,
                 f"{{value!r}} is not one of {', '.join(spec.allowed)}")
        if spec.minimum is not None:
            fail(value < spec.minimum, name, f"{{value}} is below the minimum {spec.minimum}")
        if spec.maximum is not None:
            fail(value > spec.maximum, name, f"{{value}} is above the maximum {spec.maximum}")
        typed.append(value.alias(name))
    frame = frame.with_columns(typed)
    duplicated = ~pl.struct(list(schema.key)).is_first_distinct()
    fail(duplicated, schema.key[-1], "duplicate row for key (" + ", ".join(schema.key) + "), value {value!r}")
    return frame.drop("_line")


def load_citations() -> pl.DataFrame:
    """``citations.csv``, validated: one row per citation id with the table that uses it."""
    return _validate(_read_csv(CITATIONS), CITATION_SCHEMA, f"{PACKAGE}/{CITATIONS}", common={})


def _join_citations(raw: pl.DataFrame, stem: str, where: str) -> pl.DataFrame:
    """Put ``source`` and ``note`` of ``citations.csv`` in place of a ``citation_id`` column."""
    both = [c for c in ("source", "note") if c in raw.columns]
    if both:
        raise InputError(where, "a file has either citation_id or source and note, not both", record=1,
                         field=both[0])
    citations = load_citations().filter(pl.col("table") == stem).select("citation_id", "source", "note")
    ids = pl.col("citation_id").str.strip_chars()
    bad = raw.with_row_index("_line", offset=2).filter(ids.is_null() | ~ids.is_in(citations["citation_id"]))
    if bad.height:
        value = bad["citation_id"][0]
        problem = ("value is required" if value is None or not value.strip()
                   else f"{value!r} is not a citation of {stem} in {CITATIONS}")
        raise InputError(where, problem, record=int(bad["_line"][0]), field="citation_id")
    order = [c for column in raw.columns for c in (("source", "note") if column == "citation_id" else (column,))]
    joined = raw.with_columns(ids).join(citations, on="citation_id", how="left", maintain_order="left")
    return joined.select(order)


def load_parameters(name: str, parameter_set: str | None = None) -> pl.DataFrame:
    """A parameter table by name (``"heat_demand_dwellings"`` or ``"heat_demand_dwellings.csv"``),
    validated and typed; optionally only the rows of one ``parameter_set``."""
    file_name = _file_name(name)
    stem = file_name.removesuffix(".csv")
    where = f"{PACKAGE}/{file_name}"
    if stem not in SCHEMAS:
        raise InputError(where, f"unknown parameter table (known: {', '.join(sorted(SCHEMAS))})")
    raw = _read_csv(file_name)
    if "citation_id" in raw.columns:
        raw = _join_citations(raw, stem, where)
    frame = _validate(raw, SCHEMAS[stem], where)
    if parameter_set is not None:
        frame = frame.filter(pl.col("parameter_set") == parameter_set)
        if frame.is_empty():
            raise InputError(where, f"no rows for parameter_set {parameter_set!r}", field="parameter_set")
    return frame


def parameter_files() -> dict[str, str]:
    """sha256 (hex) of every parameter file in this package (citations.csv included), by file name."""
    root = resources.files(PACKAGE)
    names = sorted(entry.name for entry in root.iterdir() if entry.name.endswith(".csv"))
    return {name: hashlib.sha256(root.joinpath(name).read_bytes()).hexdigest() for name in names}


def parameter_version() -> str:
    """One sha256 over all parameter files (names and contents): changes when any value changes."""
    digest = hashlib.sha256()
    for name, file_hash in parameter_files().items():
        digest.update(f"{name}\0{file_hash}\n".encode())
    return digest.hexdigest()


def table_files(name: str) -> dict[str, str]:
    """sha256 of the files one table is loaded from: its own file, and citations.csv if it cites by id."""
    file_name = _file_name(name)
    files = parameter_files()
    used = {file_name: files[file_name]} if file_name in files else {}
    header = pl.read_csv(io.BytesIO(_read_bytes(file_name)), n_rows=0).columns if used else []
    if "citation_id" in header and CITATIONS in files:
        used[CITATIONS] = files[CITATIONS]
    return used


# --- writing (derive.py, derive_costs.py) ----------------------------------------------------------


def citation_id(prefix: str, source: str, note: str | None) -> str:
    """A citation id from its text, so ids stay put when rows or other citations change."""
    digest = hashlib.sha256(json.dumps([source, note]).encode()).hexdigest()
    return f"{prefix}-{digest[:6]}"


def split_citations(name: str, table: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A table with ``source`` and ``note`` as derived -> (the table with ``citation_id`` in their place,
    its citations in order of first use). The loader turns the pair back into ``table``."""
    prefix = SCHEMAS[name].citation_prefix
    if prefix is None:
        raise ValueError(f"{name} does not cite by id (no citation_prefix in its schema)")
    texts = table.select(pl.col("source", "note").cast(pl.String)).unique(maintain_order=True)
    ids = [citation_id(prefix, source, note) for source, note in texts.iter_rows()]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name}: two citations hash to the same id; lengthen the id in citation_id()")
    citations = texts.select(pl.lit(name).alias("table"), pl.Series("citation_id", ids), "source", "note")
    order = ["citation_id" if column == "source" else column for column in table.columns if column != "note"]
    cited = table.with_columns(pl.col("source", "note").cast(pl.String)).join(
        citations.drop("table"), on=["source", "note"], how="left", nulls_equal=True, maintain_order="left"
    )
    return cited.select(order), citations


def write_tables(tables: dict[str, pl.DataFrame], out: Path, **csv_options) -> list[Path]:
    """Write derived tables (by name, with or without ``.csv``) to ``out``: tables with a citation prefix
    as ``citation_id`` + their rows of ``citations.csv``, where the other tables' rows are kept."""
    out.mkdir(parents=True, exist_ok=True)
    written, citations = [], {}
    for name, table in tables.items():
        stem = _file_name(name).removesuffix(".csv")
        if stem in SCHEMAS and SCHEMAS[stem].citation_prefix is not None:
            table, citations[stem] = split_citations(stem, table)
        path = out / f"{stem}.csv"
        table.write_csv(path, **csv_options)
        written.append(path)
    if citations:
        path = out / CITATIONS
        frames = [pl.read_csv(path, infer_schema_length=0).filter(~pl.col("table").is_in(list(citations)))
                  ] if path.is_file() else []
        order = {name: i for i, name in enumerate(SCHEMAS)}
        merged = pl.concat([*frames, *citations.values()]).sort(
            pl.col("table").replace_strict(order, default=len(order), return_dtype=pl.Int64), maintain_order=True
        )
        merged.write_csv(path)
        written.append(path)
    return written


__all__ = ["CITATIONS", "SCHEMAS", "load_citations", "load_parameters", "parameter_files", "parameter_version",
           "split_citations", "table_files", "write_tables"]
