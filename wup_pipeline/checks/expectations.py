"""Data-quality expectations as code: what is checked, how bad a failure is, and whether rows can be quarantined.

An :class:`Expectation` is a Great Expectations 1.x expectation (its snake_case type and kwargs)
plus our own severity (``ERROR`` blocks, ``WARN`` annotates) and kind (``row``: a rule each row
passes or fails, so failing rows can be quarantined; ``table``: a property of the whole table).
Both engines (``gx_engine`` over pandas, ``sql_engine`` over DuckDB) evaluate the same objects.

Values that depend on when or where a check runs (the current year, a freshness cut-off, the
previous snapshot's row count, the keys of another table) are markers resolved at run time, so
building a suite does nothing at import time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "ERROR"  # blocking: downstream does not run on a failure
    WARN = "WARN"  # annotates the run; downstream runs


class Kind(StrEnum):
    ROW = "row"  # each row passes or fails: failing rows can be quarantined
    TABLE = "table"  # a property of the table as a whole


# GX expectation types both engines implement; "map" types judge every row, the others the table.
MAP_TYPES = frozenset({
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_unique",
    "expect_column_pair_values_a_to_be_greater_than_b",
})
AGGREGATE_TYPES = frozenset({
    "expect_table_columns_to_match_set",
    "expect_column_values_to_be_in_type_list",
    "expect_table_row_count_to_be_between",
    "expect_column_max_to_be_between",
})
# Map types whose failing rows can be moved to quarantine (uniqueness and references stay table rules:
# which duplicate is the right one, or whether the other table is incomplete, is not a row's fault).
ROW_TYPES = MAP_TYPES - {"expect_column_values_to_be_unique"}

# DuckDB column types per logical type. Types are checked against the DuckDB catalog in both engines:
# a pandas dtype does not say what the warehouse column is (pandas 3 gives `str`, nullable ints become
# `Int64` or float64), and GX 1.24's type expectation failed on a plain `str` column here.
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                 "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
LOGICAL_TYPES: dict[str, tuple[str, ...]] = {
    "string": ("VARCHAR",),
    "integer": INTEGER_TYPES,
    "number": (*INTEGER_TYPES, "FLOAT", "DOUBLE", "DECIMAL"),
    "boolean": ("BOOLEAN",),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"),
    "temporal": ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"),
    "geometry": ("GEOMETRY",),
    "string_list": ("VARCHAR[]",),
}


def type_matches(duckdb_type: str, type_list: Sequence[str]) -> bool:
    """DECIMAL(18,3) matches DECIMAL; everything else matches by name."""
    base = duckdb_type.split("(")[0].strip().upper()
    return duckdb_type.upper() in type_list or base in type_list


# ---------------------------------------------------------------------------------------------
# Values resolved when a check runs


@dataclass(frozen=True)
class CurrentYear:
    """The calendar year at run time plus an offset (a building permit may carry next year)."""

    offset: int = 0


@dataclass(frozen=True)
class DaysAgo:
    """A UTC timestamp this many days before the run."""

    days: int


@dataclass(frozen=True)
class PreviousRowCount:
    """A bound around the row count of the last passing check of the same table (audit.check_results)."""

    max_change: float  # share, e.g. 0.2 = a drop or jump of more than 20 % fails
    bound: str  # "min" or "max"


@dataclass(frozen=True)
class ReferenceValues:
    """The values of another table's column: ``column`` must be one of them (referential integrity)."""

    table: str
    column: str

    def describe(self) -> str:
        return f"{self.table}.{self.column}"


DYNAMIC = (CurrentYear, DaysAgo, PreviousRowCount, ReferenceValues)

# Python `re` (what GX uses on pandas) and RE2 (DuckDB) agree on a plain subset. `\d`, `\w`, `\s` also
# match non-ASCII digits/letters in Python but not in RE2, and RE2 has no lookaround or backreferences.
_UNPORTABLE_REGEX = re.compile(r"\\[dDwWsSbB1-9]|\(\?[=!<]")


def check_portable_regex(regex: str) -> None:
    problem = _UNPORTABLE_REGEX.search(regex)
    if problem:
        raise ValueError(
            f"regex {regex!r}: {problem.group(0)!r} means different things in Python re (GX) and RE2 (DuckDB); "
            "write explicit classes such as [0-9]"
        )
    dollars = [m.start() for m in re.finditer(r"(?<!\\)\$", regex)]
    if dollars and dollars != [len(regex) - 1]:
        raise ValueError(f"regex {regex!r}: '$' is only supported as the last character")


# ---------------------------------------------------------------------------------------------
# Expectations


@dataclass(frozen=True)
class Expectation:
    name: str  # unique within its suite; the check name in audit.check_results
    expectation_type: str  # GX snake_case type, e.g. expect_column_values_to_match_regex
    kwargs: Mapping[str, Any]
    severity: Severity = Severity.ERROR
    kind: Kind = Kind.TABLE
    description: str = ""
    # "table": the table itself; "snapshots": its provenance rows in audit.snapshots (raw_table = table)
    target: str = "table"

    def __post_init__(self):
        if self.expectation_type not in MAP_TYPES | AGGREGATE_TYPES:
            raise ValueError(f"{self.name}: expectation type {self.expectation_type} is not supported")
        if self.kind == Kind.ROW and self.expectation_type not in ROW_TYPES:
            raise ValueError(f"{self.name}: {self.expectation_type} is a table-level rule, not a row rule")
        if self.target not in ("table", "snapshots"):
            raise ValueError(f"{self.name}: unknown target {self.target!r}")
        if "regex" in self.kwargs:
            check_portable_regex(self.kwargs["regex"])

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of the target this expectation reads."""
        return tuple(self.kwargs[k] for k in ("column", "column_A", "column_B") if k in self.kwargs)

    @property
    def is_map(self) -> bool:
        return self.expectation_type in MAP_TYPES

    @property
    def reference(self) -> ReferenceValues | None:
        value_set = self.kwargs.get("value_set")
        return value_set if isinstance(value_set, ReferenceValues) else None


def _name(name: str | None, default: str) -> str:
    return name or default


def not_null(column: str, *, severity: Severity = Severity.ERROR, kind: Kind = Kind.ROW, name: str | None = None,
             mostly: float | None = None, description: str = "") -> Expectation:
    """``column`` is filled (``mostly``: in at least this share of the rows; then a table rule)."""
    kwargs: dict[str, Any] = {"column": column}
    if mostly is not None:
        kwargs["mostly"] = mostly
        kind = Kind.TABLE
    return Expectation(_name(name, f"{column}_not_null"), "expect_column_values_to_not_be_null",
                       kwargs, severity, kind, description or f"{column} is filled")


def matches(column: str, regex: str, *, severity: Severity = Severity.ERROR, kind: Kind = Kind.ROW,
            name: str | None = None, description: str = "") -> Expectation:
    """Non-null values match ``regex`` (search semantics: anchor it with ^...$)."""
    return Expectation(_name(name, f"{column}_format"), "expect_column_values_to_match_regex",
                       {"column": column, "regex": regex}, severity, kind, description or f"{column} matches {regex}")


def between(column: str, min_value: Any = None, max_value: Any = None, *, strict_min: bool = False,
            strict_max: bool = False, severity: Severity = Severity.ERROR, kind: Kind = Kind.ROW,
            name: str | None = None, description: str = "") -> Expectation:
    if min_value is None and max_value is None:
        raise ValueError(f"{column}: between() needs a min_value or a max_value")
    kwargs = {"column": column, "min_value": min_value, "max_value": max_value,
              "strict_min": strict_min, "strict_max": strict_max}
    return Expectation(_name(name, f"{column}_range"), "expect_column_values_to_be_between", kwargs,
                       severity, kind, description or f"{column} within range")


def in_set(column: str, values: Iterable[Any], *, severity: Severity = Severity.ERROR, kind: Kind = Kind.ROW,
           name: str | None = None, description: str = "") -> Expectation:
    return Expectation(_name(name, f"{column}_in_set"), "expect_column_values_to_be_in_set",
                       {"column": column, "value_set": list(values)}, severity, kind,
                       description or f"{column} is one of the known values")


def not_in_set(column: str, values: Iterable[Any], *, severity: Severity = Severity.WARN, kind: Kind = Kind.ROW,
               name: str | None = None, description: str = "") -> Expectation:
    return Expectation(_name(name, f"{column}_not_in_set"), "expect_column_values_to_not_be_in_set",
                       {"column": column, "value_set": list(values)}, severity, kind,
                       description or f"{column} avoids placeholder values")


def not_before(column_a: str, column_b: str, *, severity: Severity = Severity.ERROR, kind: Kind = Kind.ROW,
               name: str | None = None, description: str = "") -> Expectation:
    """``column_a >= column_b`` where both are filled."""
    kwargs = {"column_A": column_a, "column_B": column_b, "or_equal": True,
              "ignore_row_if": "either_value_is_missing"}
    return Expectation(_name(name, f"{column_a}_not_before_{column_b}"),
                       "expect_column_pair_values_a_to_be_greater_than_b", kwargs, severity, kind,
                       description or f"{column_a} is not before {column_b}")


def unique(column: str, *, severity: Severity = Severity.ERROR, name: str | None = None,
           description: str = "") -> Expectation:
    return Expectation(_name(name, f"{column}_unique"), "expect_column_values_to_be_unique", {"column": column},
                       severity, Kind.TABLE, description or f"{column} identifies one row")


def references(column: str, table: str, ref_column: str | None = None, *, mostly: float | None = None,
               severity: Severity = Severity.ERROR, name: str | None = None, description: str = "") -> Expectation:
    """Every non-null ``column`` value exists in ``table.ref_column`` (``mostly``: at least this share does)."""
    kwargs: dict[str, Any] = {"column": column, "value_set": ReferenceValues(table, ref_column or column)}
    if mostly is not None:
        kwargs["mostly"] = mostly
    short = table.split(".")[-1]
    return Expectation(_name(name, f"{column}_in_{short}"), "expect_column_values_to_be_in_set", kwargs,
                       severity, Kind.TABLE, description or f"{column} exists in {table}")


def required_columns(columns: Mapping[str, str], *, severity: Severity = Severity.ERROR) -> list[Expectation]:
    """The columns exist (others may too) and each has a DuckDB type of its logical type."""
    unknown = sorted(set(columns.values()) - set(LOGICAL_TYPES))
    if unknown:
        raise ValueError(f"unknown logical types {unknown}; known: {sorted(LOGICAL_TYPES)}")
    found = [Expectation("columns_present", "expect_table_columns_to_match_set",
                         {"column_set": list(columns), "exact_match": False}, severity, Kind.TABLE,
                         "every required column is present")]
    for column, logical in columns.items():
        found.append(Expectation(f"{column}_type", "expect_column_values_to_be_in_type_list",
                                 {"column": column, "type_list": list(LOGICAL_TYPES[logical])}, severity,
                                 Kind.TABLE, f"{column} is a {logical} column"))
    return found


def row_count_near_previous(max_change: float = 0.2, *, severity: Severity = Severity.ERROR,
                            name: str = "row_count_vs_previous") -> Expectation:
    """Rows within +-max_change of the last passing check of this table; without history: at least one row."""
    kwargs = {"min_value": PreviousRowCount(max_change, "min"), "max_value": PreviousRowCount(max_change, "max")}
    return Expectation(name, "expect_table_row_count_to_be_between", kwargs, severity, Kind.TABLE,
                       f"row count within {max_change:.0%} of the previous snapshot")


def fresh_column(column: str, max_age_days: int, *, severity: Severity = Severity.WARN,
                 name: str | None = None) -> Expectation:
    """The newest ``column`` value is at most ``max_age_days`` old."""
    return Expectation(_name(name, f"{column}_fresh"), "expect_column_max_to_be_between",
                       {"column": column, "min_value": DaysAgo(max_age_days)}, severity, Kind.TABLE,
                       f"newest {column} at most {max_age_days} days old")


def fresh_snapshot(max_age_days: int, *, severity: Severity = Severity.WARN,
                   name: str = "snapshot_fresh") -> Expectation:
    """The source behind a raw table was retrieved (or confirmed unchanged) at most ``max_age_days`` ago."""
    return Expectation(name, "expect_column_max_to_be_between",
                       {"column": "retrieved_at", "min_value": DaysAgo(max_age_days)}, severity, Kind.TABLE,
                       f"source retrieved at most {max_age_days} days ago (audit.snapshots)", target="snapshots")


# ---------------------------------------------------------------------------------------------
# Suites


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # schema.table
    expectations: tuple[Expectation, ...]
    # Move rows failing ERROR row rules to quarantine.<table> (sources); models fail instead (a bug in our SQL).
    quarantine: bool = False
    # More than this share of rows failing row rules is a broken delivery, not stray rows: block, move nothing.
    max_quarantine_share: float = 0.05
    # Identifiers shown as examples in reports (object ids, never personal data).
    key_columns: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self):
        if "." not in self.table:
            raise ValueError(f"suite {self.name}: table must be schema-qualified, got {self.table!r}")
        names = [e.name for e in self.expectations]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"suite {self.name}: duplicate expectation names {duplicates}")

    @property
    def errors(self) -> tuple[Expectation, ...]:
        return tuple(e for e in self.expectations if e.severity == Severity.ERROR)

    @property
    def warnings(self) -> tuple[Expectation, ...]:
        return tuple(e for e in self.expectations if e.severity == Severity.WARN)

    @property
    def quarantine_rules(self) -> tuple[Expectation, ...]:
        return tuple(e for e in self.errors if e.kind == Kind.ROW and e.target == "table")

    def referenced_tables(self) -> tuple[str, ...]:
        return tuple(sorted({e.reference.table for e in self.expectations if e.reference}))

    def expectation(self, name: str) -> Expectation:
        for candidate in self.expectations:
            if candidate.name == name:
                return candidate
        raise KeyError(f"suite {self.name} has no expectation {name!r}")


def suite(name: str, table: str, *items: Expectation | Sequence[Expectation], **options: Any) -> Suite:
    """Build a suite from expectations and lists of expectations (as ``required_columns`` returns)."""
    flat: list[Expectation] = []
    for item in items:
        flat.extend([item] if isinstance(item, Expectation) else item)
    return Suite(name=name, table=table, expectations=tuple(flat), **options)


@dataclass(frozen=True)
class Planned:
    """An expectation with its run-time values filled in (ReferenceValues stays: each engine handles it)."""

    expectation: Expectation
    kwargs: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None  # set when it cannot run (missing column, wrong type): fails in both engines
