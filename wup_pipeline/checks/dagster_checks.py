"""Dagster asset checks from the suites: a blocking check for the ERROR part, an annotating one for WARN.

One ``multi_asset_check`` per table evaluates the suite once (one scan), quarantines failing rows of
sources, records every result in audit.check_results, and reports two checks:

- ``data_quality_errors`` (blocking, severity ERROR): when it fails, assets downstream of the table do
  not run, and the step fails with a message naming the table, rules, row counts and example values;
- ``data_quality_warnings`` (non-blocking, severity WARN): annotates the run.
"""

import time
from collections.abc import Iterable, Mapping

import dagster as dg

from wup_pipeline.checks.expectations import Suite
from wup_pipeline.checks.gate import GateOutcome, run_gate
from wup_pipeline.checks.results import CheckResult
from wup_pipeline.checks.runner import DEFAULT_GX_MAX_ROWS
from wup_pipeline.checks.suites import SUITES

ERROR_CHECK = "data_quality_errors"
WARN_CHECK = "data_quality_warnings"
WAREHOUSE_POOL = "duckdb_warehouse"  # the assets' pool (wup_pipeline.assets.raw): one DuckDB writer at a time


def asset_key_for(table_name: str) -> dg.AssetKey:
    """Asset key = warehouse table (DESIGN.md): raw.cbs_kwb -> ["raw", "cbs_kwb"]."""
    return dg.AssetKey(table_name.split("."))


def _failure_rows(failures: list[CheckResult]) -> list[dict]:
    return [{"check": r.name, "expectation_type": r.expectation_type, "unexpected_count": r.unexpected_count,
             "observed_value": r.result.get("observed_value"),
             "sample": (r.result.get("partial_unexpected_list") or [])[:5], "error": r.exception}
            for r in failures]


def _metadata(outcome: GateOutcome, severity: str) -> dict:
    result = outcome.suite_result
    part = [r for r in result.results if str(r.severity) == severity]
    failed = [r for r in part if not r.success]
    metadata = {
        "table": result.table_name,
        "suite": result.suite,
        "engine": result.engine,
        "element_count": result.element_count,
        "expectations_evaluated": len(part),
        "expectations_failed": len(failed),
        "failed_expectations": dg.MetadataValue.json(_failure_rows(failed)),
    }
    if severity == "ERROR":
        quarantine = outcome.quarantine
        metadata["quarantined_rows"] = quarantine.rows_quarantined if quarantine else 0
        metadata["quarantine"] = dg.MetadataValue.json(quarantine.as_metadata() if quarantine else {})
    return metadata


def suite_asset_checks(
    asset_key: dg.AssetKey | str | list[str],
    table_name: str,
    suite: Suite,
    warehouse_resource_key: str = "warehouse",
    *,
    gx_max_rows: int = DEFAULT_GX_MAX_ROWS,
    pool: str | None = WAREHOUSE_POOL,
) -> list[dg.AssetChecksDefinition]:
    """The blocking ERROR check and the WARN check of ``suite`` on ``table_name`` (the asset's table).

    Tables the suite references (referential integrity) become additional dependencies, so the check
    runs after them in the same run.
    """
    key = dg.AssetKey.from_coercible(asset_key) if not isinstance(asset_key, dg.AssetKey) else asset_key
    references = [asset_key_for(t) for t in suite.referenced_tables() if asset_key_for(t) != key]
    specs = [
        dg.AssetCheckSpec(ERROR_CHECK, asset=key, blocking=True, additional_deps=references,
                          description=f"ERROR expectations of suite {suite.name}: failing rows of sources go to "
                          f"quarantine.{table_name.rpartition('.')[2]}, anything else blocks downstream."),
        dg.AssetCheckSpec(WARN_CHECK, asset=key, blocking=False,
                          description=f"WARN expectations of suite {suite.name}: annotate, never block."),
    ]

    @dg.multi_asset_check(
        specs=specs,
        name=f"{'__'.join(key.path)}__data_quality",
        description=suite.description or f"Data-quality suite {suite.name}",
        required_resource_keys={warehouse_resource_key},
        pool=pool,
    )
    def _data_quality(context: dg.AssetCheckExecutionContext):
        warehouse = getattr(context.resources, warehouse_resource_key)
        run_id = context.run.run_id
        with warehouse.connect() as con:
            started = time.perf_counter()
            outcome = run_gate(con, suite, table_name, run_id=run_id, gx_max_rows=gx_max_rows)
            gate_seconds = time.perf_counter() - started
        result = outcome.suite_result
        quarantined = outcome.quarantine.rows_quarantined if outcome.quarantine else 0
        context.log.info(
            f"{table_name}: {result.element_count} rows checked by {result.engine}, "
            f"{len(result.results)} expectations, {len(result.failed())} failed, {quarantined} rows quarantined "
            f"in {gate_seconds:.2f} s"
        )
        for warning in outcome.warnings:
            context.log.warning(f"{table_name} WARN {warning.summary()}")
        yield dg.AssetCheckResult(
            check_name=WARN_CHECK, asset_key=key, passed=outcome.warnings_passed,
            severity=dg.AssetCheckSeverity.WARN, metadata=_metadata(outcome, "WARN"),
        )
        yield dg.AssetCheckResult(
            check_name=ERROR_CHECK, asset_key=key, passed=outcome.errors_passed,
            severity=dg.AssetCheckSeverity.ERROR, metadata=_metadata(outcome, "ERROR"),
            description=None if outcome.errors_passed else outcome.message(),
        )
        if not outcome.errors_passed:
            # Dagster's own message names only the check; this one names rules, counts and example values.
            raise dg.Failure(description=outcome.message(), allow_retries=False)

    return [_data_quality]


def suite_checks_for(
    asset_keys: Iterable[dg.AssetKey],
    suites: Mapping[str, Suite] | None = None,
    warehouse_resource_key: str = "warehouse",
    **options,
) -> list[dg.AssetChecksDefinition]:
    """Checks for every asset whose table has a suite (asset key = table)."""
    suites = SUITES if suites is None else suites
    checks: list[dg.AssetChecksDefinition] = []
    for key in asset_keys:
        table_name = ".".join(key.path)
        if table_name in suites:
            checks += suite_asset_checks(key, table_name, suites[table_name], warehouse_resource_key, **options)
    return checks
