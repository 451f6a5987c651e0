"""Check results in the Great Expectations result shape, and their home: ``audit.check_results``."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb

from wup_pipeline.checks.expectations import Kind, Severity

RESULT_KEYS = ("element_count", "missing_count", "unexpected_count", "unexpected_percent",
               "partial_unexpected_list", "observed_value")

CHECK_RESULTS_DDL = """
create table if not exists audit.check_results (
    run_id varchar,
    checked_at timestamp,             -- UTC
    table_name varchar,
    snapshot_id varchar,              -- snapshot ids (sha256) behind a raw table, comma-separated
    source_version varchar,
    source_dataset varchar,           -- datasets behind a raw table (row counts compare within the same ones)
    suite varchar,
    check_name varchar,
    expectation_type varchar,
    kwargs_json varchar,              -- the expectation's arguments as evaluated (run-time values filled in)
    severity varchar,                 -- ERROR blocks downstream, WARN annotates
    kind varchar,                     -- row (failing rows can be quarantined) or table
    engine varchar,                   -- great_expectations (pandas) or duckdb_sql
    element_count bigint,             -- rows of the checked table
    unexpected_count bigint,          -- rows failing a row-by-row expectation
    unexpected_percent double,        -- of the non-missing rows, as GX computes it
    observed_value varchar,           -- JSON, for table-level expectations
    passed boolean,                   -- the expectation itself held
    outcome varchar,                  -- passed, failed, quarantined (rows moved), warned, not_run
    details_json varchar              -- sample of unexpected values, missing count, error message
)"""


def jsonable(value: Any) -> Any:
    """Plain JSON values from numpy/pandas/duckdb scalars, dates and tuples."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, int):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().isoformat()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat() if value.tzinfo is None else value.isoformat()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day).isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    if hasattr(value, "item"):  # numpy scalar, incl. numpy.datetime64
        item = value.item()
        if isinstance(item, int) and type(value).__name__.startswith("datetime64"):
            return jsonable(dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=item // 1000))
        return jsonable(item)
    return str(value)


@dataclass
class CheckResult:
    """One evaluated expectation, shaped like a GX ExpectationValidationResult."""

    name: str
    expectation_type: str
    kwargs: dict[str, Any]  # JSON-able, run-time values filled in
    severity: Severity
    kind: Kind
    success: bool
    result: dict[str, Any]  # RESULT_KEYS
    exception: str | None = None

    @property
    def unexpected_count(self) -> int | None:
        return self.result.get("unexpected_count")

    def to_gx_dict(self) -> dict[str, Any]:
        return {
            "expectation_type": self.expectation_type,
            "kwargs": self.kwargs,
            "success": self.success,
            "result": self.result,
            "exception_info": {"raised_exception": self.exception is not None, "exception_message": self.exception},
            "meta": {"check_name": self.name, "severity": str(self.severity), "kind": str(self.kind)},
        }

    def summary(self) -> str:
        if self.exception:
            return f"{self.name}: {self.exception}"
        if self.result.get("unexpected_count") is not None:
            sample = ", ".join(repr(v) for v in (self.result.get("partial_unexpected_list") or [])[:5])
            return (f"{self.name}: {self.result['unexpected_count']} of {self.result.get('element_count')} rows "
                    f"({self.expectation_type})" + (f", e.g. {sample}" if sample else ""))
        return f"{self.name}: observed {self.result.get('observed_value')!r} ({self.expectation_type})"


@dataclass
class SuiteResult:
    table_name: str
    suite: str
    engine: str  # great_expectations | duckdb_sql | none (table missing)
    element_count: int
    checked_at: dt.datetime  # UTC, naive
    results: list[CheckResult] = field(default_factory=list)
    provenance: Provenance | None = None  # looked up once per run, also for recording

    def failed(self, severity: Severity | None = None, kind: Kind | None = None) -> list[CheckResult]:
        return [r for r in self.results if not r.success and (severity is None or r.severity == severity)
                and (kind is None or r.kind == kind)]

    def result(self, name: str) -> CheckResult:
        for candidate in self.results:
            if candidate.name == name:
                return candidate
        raise KeyError(f"no result for {name!r} in suite {self.suite}")

    def to_gx_dict(self) -> dict[str, Any]:
        return {"success": not self.failed(), "results": [r.to_gx_dict() for r in self.results],
                "meta": {"table_name": self.table_name, "suite": self.suite, "engine": self.engine,
                         "checked_at": self.checked_at.isoformat()}}


def ensure_check_results_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists audit")
    con.execute(CHECK_RESULTS_DDL)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(table: str) -> str:
    schema, _, name = table.rpartition(".")
    return f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """Column name -> DuckDB type, in table order, of a table or view; None if there is none.

    DESCRIBE costs well under a millisecond; ``duckdb_tables()`` sizes every table of the warehouse on each
    call (5-20 ms on a one-gemeente warehouse), and the checks ask a few hundred times per run. A catalog
    error does not abort an open transaction, so quarantine can ask inside one.
    """
    try:
        rows = con.execute(f"describe {qualified(table)}").fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
    return {row[0]: row[1] for row in rows}


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table_columns(con, table) is not None


RESULT_COLUMNS = (
    "run_id", "checked_at", "table_name", "snapshot_id", "source_version", "source_dataset", "suite", "check_name",
    "expectation_type", "kwargs_json", "severity", "kind", "engine", "element_count", "unexpected_count",
    "unexpected_percent", "observed_value", "passed", "outcome", "details_json",
)


@dataclass(frozen=True)
class Provenance:
    """The snapshots behind a raw table, from audit.snapshots (all None for models)."""

    snapshot_id: str | None = None  # sha256 ids, comma-separated
    source_version: str | None = None
    dataset: str | None = None  # e.g. 85984NED/TypedDataSet/GM9999, comma-separated


def provenance_of(con: duckdb.DuckDBPyConnection, table_name: str) -> Provenance:
    if not table_exists(con, "audit.snapshots"):
        return Provenance()
    row = con.execute(
        "select string_agg(distinct snapshot_id, ',' order by snapshot_id), "
        "string_agg(distinct source_version, ' | ' order by source_version), "
        "string_agg(distinct dataset, ',' order by dataset) "
        "from audit.snapshots where raw_table = ?",
        [table_name],
    ).fetchone()
    return Provenance(*row) if row else Provenance()


def record_results(
    con: duckdb.DuckDBPyConnection,
    results: SuiteResult,
    run_id: str,
    snapshot_id: str | None = None,
    *,
    source_version: str | None = None,
    source_dataset: str | None = None,
    outcomes: dict[str, str] | None = None,
) -> int:
    """Append one row per expectation to audit.check_results (created if missing); returns rows written.

    ``outcomes`` overrides the per-check outcome (e.g. "quarantined" when failing rows were moved).
    """
    ensure_check_results_table(con)
    outcomes = outcomes or {}
    rows = []
    for r in results.results:
        default = "passed" if r.success else ("failed" if r.severity == Severity.ERROR else "warned")
        details = {"missing_count": r.result.get("missing_count"),
                   "partial_unexpected_list": r.result.get("partial_unexpected_list"),
                   "exception": r.exception}
        rows.append((
            run_id, results.checked_at, results.table_name, snapshot_id, source_version, source_dataset,
            results.suite, r.name, r.expectation_type, json.dumps(jsonable(r.kwargs), sort_keys=True),
            str(r.severity), str(r.kind), results.engine, r.result.get("element_count"),
            r.result.get("unexpected_count"), r.result.get("unexpected_percent"),
            json.dumps(jsonable(r.result.get("observed_value"))), r.success,
            outcomes.get(r.name, default), json.dumps(jsonable(details), sort_keys=True),
        ))
    if rows:
        # One INSERT with one VALUES tuple per row: executemany runs (and commits) a statement per row,
        # ~0.25 s for a 35-expectation suite on a warehouse file, against ~5 ms for this.
        placeholders = "(" + ", ".join(["?"] * len(RESULT_COLUMNS)) + ")"
        con.execute(
            f"insert into audit.check_results ({', '.join(RESULT_COLUMNS)}) values "
            + ", ".join([placeholders] * len(rows)),
            [value for row in rows for value in row],
        )
    return len(rows)


def previous_row_count(con: duckdb.DuckDBPyConnection, table_name: str, check_name: str, run_id: str | None,
                       source_dataset: str | None = None) -> int | None:
    """Row count seen by the last passing run of this check on the same table and source datasets.

    Same datasets: a new CBS table year or another gemeente is a different source, not a jump.
    """
    if not table_exists(con, "audit.check_results"):
        return None
    row = con.execute(
        "select observed_value from audit.check_results where table_name = ? and check_name = ? and passed "
        "and run_id is distinct from ? and source_dataset is not distinct from ? "
        "order by checked_at desc limit 1",
        [table_name, check_name, run_id, source_dataset],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    value = json.loads(row[0])
    return int(value) if isinstance(value, (int, float)) else None
