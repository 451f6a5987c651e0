"""Asset checks from the suites block downstream assets, quarantine rows, and record every result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from wup_pipeline.checks.dagster_checks import (
    ERROR_CHECK,
    WARN_CHECK,
    asset_key_for,
    suite_asset_checks,
    suite_checks_for,
)
from wup_pipeline.checks.expectations import Severity, between, matches, not_null, required_columns, suite, unique
from wup_pipeline.checks.suites import SUITES
from wup_pipeline.resources.warehouse import Warehouse

RAW = dg.AssetKey(["raw", "meters"])
RAW_KWB = dg.AssetKey(["raw", "cbs_kwb"])
STAGED = dg.AssetKey(["staging", "stg_meters"])

METERS = suite(
    "meters", "raw.meters",
    required_columns({"meter_id": "string", "postcode": "string", "reading_kwh": "number"}),
    not_null("meter_id"),
    matches("meter_id", r"^M[0-9]{4}$"),
    unique("meter_id"),
    matches("postcode", r"^[1-9][0-9]{3}[A-Z]{2}$"),
    between("reading_kwh", 0, None, name="reading_not_negative"),
    between("reading_kwh", None, 50_000, severity=Severity.WARN, name="reading_plausible"),
    quarantine=True, max_quarantine_share=0.2, key_columns=("meter_id",),
)

CLEAN = "select printf('M%04d', i) as meter_id, '3511AB' as postcode, 100.0 + i as reading_kwh from range(20) t(i)"


@pytest.fixture(autouse=True)
def _dagster_env(monkeypatch):
    monkeypatch.setenv("DAGSTER_DISABLE_TELEMETRY", "1")


def tiny_definitions(tmp_path: Path, source_sql: str, **check_options) -> dg.Definitions:
    """raw.meters written by ``source_sql``, staging.stg_meters copying it, and the suite's checks on raw.meters."""

    @dg.asset(key=RAW)
    def raw_meters(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            con.execute(f"create or replace table raw.meters as {source_sql}")
        return dg.MaterializeResult()

    @dg.asset(key=STAGED, deps=[RAW])
    def stg_meters(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            con.execute("create or replace table staging.stg_meters as select * from raw.meters")
            rows = con.execute("select count(*) from staging.stg_meters").fetchone()[0]
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    warehouse = Warehouse(build_path=str(tmp_path / "build.duckdb"), published_path=str(tmp_path / "wup.duckdb"))
    return dg.Definitions(
        assets=[raw_meters, stg_meters],
        asset_checks=suite_asset_checks(RAW, "raw.meters", METERS, **check_options),
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())],
        resources={"warehouse": warehouse},
        executor=dg.in_process_executor,
    )


def run(defs: dg.Definitions) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def("all").execute_in_process(instance=instance, raise_on_error=False)


def evaluations(result: dg.ExecuteInProcessResult, asset: dg.AssetKey = RAW) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == asset}


def materialized(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events()}


def query(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "build.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_bad_rows_are_quarantined_and_downstream_uses_the_clean_rows(tmp_path):
    dirty = (f"{CLEAN} union all select 'M0100', '3511 AB', 5.0 union all select 'M0101', '3511AB', -3.0 "
             "union all select 'M0102', '3511AB', 90000.0")
    # gx_max_rows=0: the DuckDB SQL engine runs, as it would on a national table
    result = run(tiny_definitions(tmp_path, dirty, gx_max_rows=0))
    assert result.success
    checks = evaluations(result)
    assert checks[ERROR_CHECK].passed
    assert checks[ERROR_CHECK].metadata["engine"].value == "duckdb_sql"
    assert checks[ERROR_CHECK].metadata["quarantined_rows"].value == 2
    quarantine = checks[ERROR_CHECK].metadata["quarantine"].value
    assert quarantine["by_reason"] == {"postcode_format": 1, "reading_not_negative": 1}
    # The implausible reading is a WARN: annotated, kept, not blocking.
    assert not checks[WARN_CHECK].passed and checks[WARN_CHECK].severity == dg.AssetCheckSeverity.WARN
    assert [f["check"] for f in checks[WARN_CHECK].metadata["failed_expectations"].value] == ["reading_plausible"]
    assert materialized(result) == {RAW, STAGED}
    assert query(tmp_path, "select count(*) from staging.stg_meters") == [(21,)]
    assert query(tmp_path, "select meter_id, quarantine_reasons, run_id from quarantine.meters order by 1") == [
        ("M0100", ["postcode_format"], result.run_id), ("M0101", ["reading_not_negative"], result.run_id)]
    outcomes = dict(query(tmp_path, "select check_name, outcome from audit.check_results"))
    assert outcomes["postcode_format"] == "quarantined" and outcomes["reading_plausible"] == "warned"


def test_duplicate_ids_fail_the_blocking_check_and_downstream_does_not_run(tmp_path):
    dirty = f"{CLEAN} union all select 'M0003', '3511AB', 1.0"
    result = run(tiny_definitions(tmp_path, dirty))
    assert not result.success
    checks = evaluations(result)
    assert not checks[ERROR_CHECK].passed and checks[ERROR_CHECK].severity == dg.AssetCheckSeverity.ERROR
    assert [f["check"] for f in checks[ERROR_CHECK].metadata["failed_expectations"].value] == ["meter_id_unique"]
    assert materialized(result) == {RAW}
    assert not any(e.asset_key == STAGED for e in result.get_asset_materialization_events())
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "raw.meters" in message and "meter_id_unique: 2 of 21 rows" in message and "'M0003'" in message
    assert query(tmp_path, "select passed from audit.check_results where check_name = 'meter_id_unique'") == [
        (False,)]
    assert not query(tmp_path, "select * from duckdb_tables() where table_name = 'stg_meters'")


def test_suite_checks_for_picks_the_assets_with_a_suite():
    keys = [dg.AssetKey(["raw", "cbs_kwb"]), dg.AssetKey(["raw", "unknown"]), dg.AssetKey(["marts", "factscan_buurt"])]
    checks = suite_checks_for(keys)
    assert [c.node_def.name for c in checks] == ["raw__cbs_kwb__data_quality", "marts__factscan_buurt__data_quality"]
    mart_check = checks[1]
    spec = next(s for s in mart_check.check_specs if s.name == ERROR_CHECK)
    assert spec.blocking
    assert dg.AssetKey(["staging", "stg_pdok__buurten"]) in {d.asset_key for d in spec.additional_deps}


# --- the real pipeline: raw.cbs_kwb from the demo mirror, blocked or quarantined before staging ---


def corrupt_kwb_page(mirror: Path, change) -> None:
    """Apply ``change(rows)`` to the demo's CBS TypedDataSet page holding the buurten."""
    pages = sorted((mirror / "opendata.cbs.nl").rglob("TypedDataSet/*.json"))
    for page in pages:
        payload = json.loads(page.read_text(encoding="utf-8"))
        if any(str(r.get("WijkenEnBuurten", "")).startswith("BU") for r in payload["value"]):
            change(payload["value"])
            page.write_text(json.dumps(payload), encoding="utf-8")
            return
    raise AssertionError(f"no CBS page with buurten under {mirror}")


# The factscan branch of the demo. The BAG / label / portfolio suites are run on real BAG data in
# test_checks_engine.py (the demo's BAG branch needs the whole housing chain: slow for a unit test).
DEMO_TABLES = ("raw.cbs_kwb", "raw.pdok_buurten", "staging.stg_cbs__kwb", "staging.stg_pdok__buurten",
               "marts.factscan_buurt")


def project_with_checks(paths, mirror: Path, tables) -> dg.Definitions:
    """The project's Definitions (which wire the suites' checks) and a job over ``tables`` and their checks."""
    from wup_pipeline.definitions import build_definitions

    project = build_definitions(paths, mirror_dir=str(mirror), gemeente_code="GM9999", year=2024)
    keys = [asset_key_for(t) for t in tables]
    return dg.Definitions.merge(project, dg.Definitions(
        jobs=[dg.define_asset_job("checked", selection=dg.AssetSelection.assets(*keys))],
    ))


def run_checked(defs: dg.Definitions, gemeente: str = "GM9999") -> dg.ExecuteInProcessResult:
    """Run the job; the sources fetched per gemeente are partitioned, so for the demo gemeente's partition."""
    job = defs.resolve_job_def("checked")
    options = {"partition_key": gemeente} if job.partitions_def is not None else {}
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(instance=instance, raise_on_error=False, **options)


@pytest.fixture(scope="module")
def demo_with_checks(tmp_path_factory):
    """The demo's factscan branch with its suites' checks, as definitions.py will wire them."""
    from wup_pipeline.demo.generator import write_demo_mirror
    from wup_pipeline.resources.settings import ProjectPaths

    root = tmp_path_factory.mktemp("checks_demo")
    paths = ProjectPaths(root=root, published_warehouse=root / "published" / "wup.duckdb")
    write_demo_mirror(paths.demo_mirror)
    return paths, run_checked(project_with_checks(paths, paths.demo_mirror, DEMO_TABLES))


def test_the_demo_runs_every_suite_and_passes(demo_with_checks):
    paths, result = demo_with_checks
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {".".join(e.asset_key.path) for e in checks} == set(DEMO_TABLES)
    assert len(checks) == 2 * len(DEMO_TABLES) and all(e.passed for e in checks)
    severities = {e.check_name: e.severity for e in checks}
    assert severities == {ERROR_CHECK: dg.AssetCheckSeverity.ERROR, WARN_CHECK: dg.AssetCheckSeverity.WARN}
    kwb = next(e for e in checks if e.check_name == ERROR_CHECK and e.asset_key == dg.AssetKey(["raw", "cbs_kwb"]))
    assert kwb.metadata["engine"].value == "great_expectations" and kwb.metadata["quarantined_rows"].value == 0
    assert kwb.metadata["element_count"].value == 16
    with duckdb.connect(str(paths.build_warehouse), read_only=True) as con:
        recorded = con.execute(
            "select table_name, count(*), bool_and(passed), count(distinct run_id), any_value(run_id) "
            "from audit.check_results group by table_name order by table_name").fetchall()
        snapshots = con.execute("select snapshot_id, source_version from audit.check_results "
                                "where table_name = 'raw.pdok_buurten' limit 1").fetchone()
    assert [(t, n) for t, n, *_ in recorded] == sorted((t, len(SUITES[t].expectations)) for t in DEMO_TABLES)
    assert all(ok and runs == 1 and run_id == result.run_id for _, _, ok, runs, run_id in recorded)
    assert len(snapshots[0]) == 64 and snapshots[1]  # the sha256 snapshot behind the raw table, its version


def test_the_demo_tables_get_the_same_verdicts_from_both_engines(demo_with_checks):
    from wup_pipeline.checks.runner import run_suite, utc_now
    from wup_pipeline.resources.warehouse import open_duckdb
    from wup_pipeline_tests.test_checks_engine import assert_same

    paths, _ = demo_with_checks
    now = utc_now()  # one moment for both engines: freshness cut-offs are part of the kwargs
    with open_duckdb(paths.build_warehouse, read_only=True) as con:
        for table in DEMO_TABLES:
            assert_same({engine: run_suite(con, SUITES[table], engine=engine, now=now)
                         for engine in ("great_expectations", "duckdb_sql")})


def run_kwb_branch(tmp_path: Path, mirror: Path) -> tuple[dg.ExecuteInProcessResult, Path]:
    """raw.cbs_kwb -> staging.stg_cbs__kwb of the real project, with the CBS suite's checks."""
    from wup_pipeline.resources.settings import ProjectPaths

    paths = ProjectPaths(root=tmp_path / "state", published_warehouse=tmp_path / "published.duckdb")
    return run_checked(project_with_checks(paths, mirror, ["raw.cbs_kwb", "staging.stg_cbs__kwb"])), (
        paths.build_warehouse)


def test_duplicate_cbs_region_blocks_staging(tmp_path, demo_with_checks):
    mirror = tmp_path / "mirror"
    shutil.copytree(demo_with_checks[0].demo_mirror, mirror)

    def duplicate_a_buurt(rows):
        rows.append(dict(next(r for r in rows if r["WijkenEnBuurten"].startswith("BU"))))

    corrupt_kwb_page(mirror, duplicate_a_buurt)
    result, build = run_kwb_branch(tmp_path, mirror)
    assert not result.success
    assert not evaluations(result, RAW_KWB)[ERROR_CHECK].passed
    assert materialized(result) == {RAW_KWB}
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "raw__cbs_kwb__data_quality"
    assert "wijken_en_buurten_unique: 2 of 17 rows" in failure.event_specific_data.error.message


def test_impossible_cbs_percentage_is_quarantined_and_staging_runs(tmp_path, demo_with_checks):
    mirror = tmp_path / "mirror"
    shutil.copytree(demo_with_checks[0].demo_mirror, mirror)

    def break_one(rows):
        buurt = next(r for r in rows if r["WijkenEnBuurten"].startswith("BU99990101"))
        key = next(k for k in buurt if k.startswith("Koopwoningen_"))
        buurt[key] = 147.0

    corrupt_kwb_page(mirror, break_one)
    result, build = run_kwb_branch(tmp_path, mirror)
    assert result.success
    checks = evaluations(result, RAW_KWB)
    assert checks[ERROR_CHECK].passed
    assert checks[ERROR_CHECK].metadata["quarantine"].value["by_reason"] == {"koopwoningen_percentage": 1}
    with duckdb.connect(str(build), read_only=True) as con:
        staged = {r for (r,) in con.execute("select region_code from staging.stg_cbs__kwb").fetchall()}
        held = con.execute("select trim(wijken_en_buurten), koopwoningen, quarantine_reasons "
                           "from quarantine.cbs_kwb").fetchall()
        snapshot_ids = con.execute("select distinct snapshot_id from audit.check_results "
                                   "where table_name = 'raw.cbs_kwb'").fetchall()
    assert len(staged) == 15 and "BU99990101" not in staged
    assert held == [("BU99990101", 147.0, ["koopwoningen_percentage"])]
    assert len(snapshot_ids) == 1 and len(snapshot_ids[0][0].split(",")) == 3  # TableInfos, DataProperties, page
