"""The Great Expectations engine: the suite run by GX 1.x over a pandas copy of a small table.

GX has no Polars or DuckDB-native engine that works reliably here, so small tables (the runner
picks this engine below ``DEFAULT_GX_MAX_ROWS``) are read into pandas once and validated by an
ephemeral GX context (no files, no network). Results are converted to the same shape the SQL
engine produces.
"""

from __future__ import annotations

import warnings
from typing import Any

import duckdb

from wup_pipeline.checks.expectations import Planned, ReferenceValues
from wup_pipeline.checks.results import CheckResult, jsonable
from wup_pipeline.checks.runner import (
    SAMPLE_SIZE,
    failed_result,
    qualified,
    quote_ident,
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


def _reference_values(con: duckdb.DuckDBPyConnection, table: str, column: str, reference: ReferenceValues) -> list:
    """The referenced keys that occur in ``column``: all GX needs to judge the rows, however big the other table."""
    ref = quote_ident(reference.column)
    rows = con.execute(
        f"select distinct r.{ref} from {qualified(reference.table)} r "
        f"where r.{ref} in (select {quote_ident(column)} from {qualified(table)})"
    ).fetchall()
    return [value for (value,) in rows]


def _gx_expectation(gx, con, table: str, planned: Planned):
    kwargs: dict[str, Any] = dict(planned.kwargs)
    reference = planned.expectation.reference
    if reference is not None:
        kwargs["value_set"] = _reference_values(con, table, kwargs["column"], reference)
    cls = getattr(gx.expectations, GX_CLASSES[planned.expectation.expectation_type])
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


def _validate(gx, frame, planned: list[Planned], con, table: str, element_count: int) -> list[CheckResult]:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas("warehouse").add_dataframe_asset("table")
             .add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame}))
    suite = gx.ExpectationSuite(name="suite", expectations=[_gx_expectation(gx, con, table, p) for p in planned])
    with warnings.catch_warnings():
        # pandas' str.contains warns about groups in (a|b) alternations: GX only needs the match
        warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
        validation = batch.validate(suite, result_format={"result_format": "SUMMARY",
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
