"""Versioned parameter tables (kentallen) shipped as package data, one value per row with its source.

``load_parameters("heat_demand_dwellings")`` reads ``heat_demand_dwellings.csv`` from this package,
checks every column against the file's schema and returns typed columns; a bad value raises
``InputError`` naming the file, the line (the header is line 1) and the column.
``parameter_version()`` is a sha256 over all parameter files, to record with every result that
used them. How the housing tables were derived from their published sources: ``derive.py`` and
docs/housing-model.md.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from importlib import resources

import polars as pl

from wup_pipeline.resources.errors import InputError

PACKAGE = "wup_pipeline.parameters"
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
    ),
}


def _file_name(name: str) -> str:
    return name if name.endswith(".csv") else f"{name}.csv"


def _read_bytes(file_name: str) -> bytes:
    resource = resources.files(PACKAGE).joinpath(file_name)
    if not resource.is_file():
        raise InputError(f"{PACKAGE}/{file_name}", f"no such parameter file (known: {', '.join(sorted(SCHEMAS))})")
    return resource.read_bytes()


def _validate(raw: pl.DataFrame, schema: Schema, where: str) -> pl.DataFrame:
    columns = {**_COMMON, **schema.columns}
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


def load_parameters(name: str, parameter_set: str | None = None) -> pl.DataFrame:
    """A parameter table by name (``"heat_demand_dwellings"`` or ``"heat_demand_dwellings.csv"``),
    validated and typed; optionally only the rows of one ``parameter_set``."""
    file_name = _file_name(name)
    stem = file_name.removesuffix(".csv")
    where = f"{PACKAGE}/{file_name}"
    if stem not in SCHEMAS:
        raise InputError(where, f"unknown parameter table (known: {', '.join(sorted(SCHEMAS))})")
    data = _read_bytes(file_name)
    try:
        raw = pl.read_csv(io.BytesIO(data), infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise InputError(where, f"not a readable CSV file: {exc}") from exc
    frame = _validate(raw, SCHEMAS[stem], where)
    if parameter_set is not None:
        frame = frame.filter(pl.col("parameter_set") == parameter_set)
        if frame.is_empty():
            raise InputError(where, f"no rows for parameter_set {parameter_set!r}", field="parameter_set")
    return frame


def parameter_files() -> dict[str, str]:
    """sha256 (hex) of every parameter file in this package, by file name."""
    root = resources.files(PACKAGE)
    names = sorted(entry.name for entry in root.iterdir() if entry.name.endswith(".csv"))
    return {name: hashlib.sha256(root.joinpath(name).read_bytes()).hexdigest() for name in names}


def parameter_version() -> str:
    """One sha256 over all parameter files (names and contents): changes when any value changes."""
    digest = hashlib.sha256()
    for name, file_hash in parameter_files().items():
        digest.update(f"{name}\0{file_hash}\n".encode())
    return digest.hexdigest()


__all__ = ["SCHEMAS", "load_parameters", "parameter_files", "parameter_version"]
