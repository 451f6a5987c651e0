"""The Great Expectations engine: the suite run by GX 1.x over a pandas copy of a small table.

GX has no Polars or DuckDB-native engine that works reliably here, so small tables (the runner
picks this engine below ``DEFAULT_GX_MAX_ROWS``) are read into pandas once and validated by an
ephemeral GX context (no files, no network). Results are converted to the same shape the SQL
engine produces.

Cost is mostly GX's own per-expectation bookkeeping, so: one context and batch definition per process
(building them and saving the context's config took ~0.1 s per check), and a reference is handed to GX
as the few column values the other table lacks (``expect_column_values_to_not_be_in_set``) rather than
the thousands it has: GX copies a value set dozens of times per expectation (14,454 BAG pand ids: 3.5 s
for the one expectation; the complement: milliseconds), and a value outside a set of keys is exactly a
value inside its complement, so counts, missing values, ``mostly`` and samples are the same.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import duckdb

from wup_pipeline.checks.expectations import Planned, ReferenceValues
from wup_pipeline.checks.results import CheckResult, jsonable, qualified, quote_ident
from wup_pipeline.checks.runner import (
    SAMPLE_SIZE,
    failed_result,
    reported_kwargs,
    snapshots_relation,
)

ENGINE = "great_expectations"

GX_CLASSES = {
    "expect_column_values_to_not_be_null": "ExpectColumnValuesToNotBeNull",
    "expect_column_values_to_match_regex": "ExpectColumnValuesToMatchRegex",
    "expect_column_values_to_be_between": "ExpectColumnValuesToBeBetween",
    "expect_column_values_to_be_in_set": "ExpectColumnValuesToBeInSet",
    "expect_column_values_to_not_be_in_set": "ExpectColumnValuesToNotBeInSet",
    "expect_column_values_to_be_unique": "ExpectColumnValuesToBeUnique",
    "expect_column_pair_values_a_to_be_greater_than_b": "ExpectColumnPairValuesAToBeGreaterThanB",
    "expect_table_row_count_to_be_between": "ExpectTableRowCountToBeBetween",
    "expect_column_max_to_be_between": "ExpectColumnMaxToBeBetween",
    "expect_table_columns_to_match_set": "ExpectTableColumnsToMatchSet",
}


def _frame(con: duckdb.DuckDBPyConnection, relation: str):
    frame = con.execute(f"select * from {relation}").df()
    for column in frame.columns:  # naive UTC, as the run-time bounds are
        if getattr(frame[column].dtype, "tz", None) is not None:
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def _unreferenced_values(con: duckdb.DuckDBPyConnection, table: str, column: str, reference: ReferenceValues) -> list:
    """The distinct non-null values of ``column`` missing from the referenced column (usually none or a few)."""
    mine, theirs = quote_ident(column), quote_ident(reference.column)
    rows = con.execute(
        f"select distinct t.{mine} from {qualified(table)} t where t.{mine} is not null "
        f"and not exists (select 1 from {qualified(reference.table)} r where r.{theirs} = t.{mine})"
    ).fetchall()
    return [value for (value,) in rows]


def _gx_expectation(gx, con, table: str, planned: Planned):
    kwargs: dict[str, Any] = dict(planned.kwargs)
    gx_type = planned.expectation.expectation_type
    reference = planned.expectation.reference
    if reference is not None:  # in the referenced keys <=> not among the column's values the other table lacks
        kwargs["value_set"] = _unreferenced_values(con, table, kwargs["column"], reference)
        gx_type = "expect_column_values_to_not_be_in_set"
    cls = getattr(gx.expectations, GX_CLASSES[gx_type])
    return cls(**kwargs, meta={"check_name": planned.expectation.name})


def _exception_message(info: Any) -> str | None:
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    if isinstance(info, dict):  # keyed by metric
        messages = [_exception_message(v) for v in info.values()]
        return "; ".join(m for m in messages if m) or None
    return str(info)


def _convert(planned: Planned, gx_result, element_count: int) -> CheckResult:
    e = planned.expectation
    message = _exception_message(gx_result.exception_info)
    if message:
        return failed_result(planned, element_count, f"Great Expectations raised: {message}")
    raw = gx_result.result or {}
    if e.is_map:
        result = {
            "element_count": raw.get("element_count"),
            "missing_count": None if e.expectation_type == "expect_column_values_to_not_be_null"
            else raw.get("missing_count"),
            "unexpected_count": raw.get("unexpected_count"),
            "unexpected_percent": raw.get("unexpected_percent"),
            "partial_unexpected_list": jsonable(raw.get("partial_unexpected_list") or [])[:SAMPLE_SIZE],
            "observed_value": None,
        }
    else:
        observed = raw.get("observed_value")
        if e.expectation_type == "expect_table_columns_to_match_set" and observed is not None:
            observed = sorted(observed)
        result = {"element_count": element_count, "missing_count": None, "unexpected_count": None,
                  "unexpected_percent": None, "partial_unexpected_list": [], "observed_value": jsonable(observed)}
    return CheckResult(e.name, e.expectation_type, reported_kwargs(planned), e.severity, e.kind,
                       bool(gx_result.success), result)


# The process's GX batch definition (see the module docstring). Its execution engine keeps the last frame it
# validated until the next validation replaces it: one table (<= DEFAULT_GX_MAX_ROWS rows) at most.
_whole_dataframe = None
_gx_lock = threading.Lock()  # one validation at a time on it


def _batch_definition(gx):
    global _whole_dataframe
    if _whole_dataframe is None:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        _whole_dataframe = (context.data_sources.add_pandas("warehouse").add_dataframe_asset("table")
                            .add_batch_definition_whole_dataframe("whole"))
    return _whole_dataframe


def _validate(gx, frame, planned: list[Planned], con, table: str, element_count: int) -> list[CheckResult]:
    suite = gx.ExpectationSuite(name="suite", expectations=[_gx_expectation(gx, con, table, p) for p in planned])
    with _gx_lock, warnings.catch_warnings():
        # pandas' str.contains warns about groups in (a|b) alternations: GX only needs the match
        warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
        batch = _batch_definition(gx).get_batch(batch_parameters={"dataframe": frame})
        # BASIC has every field recorded (counts, percent, partial_unexpected_list); SUMMARY adds only value
        # counts and the full unexpected index list, two more metrics per expectation that nobody reads.
        validation = batch.validate(suite, result_format={"result_format": "BASIC",
                                                          "partial_unexpected_count": SAMPLE_SIZE})
    by_name = {r.expectation_config.meta["check_name"]: r for r in validation.results}
    return [_convert(p, by_name[p.expectation.name], element_count) for p in planned]


def evaluate(con: duckdb.DuckDBPyConnection, table: str, planned: list[Planned], catalog: dict[str, str],
             element_count: int) -> list[CheckResult]:
    import great_expectations as gx

    on_table = [p for p in planned if p.expectation.target == "table"]
    on_snapshots = [p for p in planned if p.expectation.target == "snapshots"]
    results = []
    if on_table:
        results += _validate(gx, _frame(con, qualified(table)), on_table, con, table, element_count)
    if on_snapshots:
        snapshots = _frame(con, snapshots_relation(table))
        results += _validate(gx, snapshots, on_snapshots, con, table, len(snapshots))
    return results
