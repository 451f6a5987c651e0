"""The whole demo materialises in-process and the factscan mart holds the right figures."""

import dagster as dg
import duckdb
import polars as pl
import pytest

from wup_pipeline.definitions import build_definitions
from wup_pipeline.demo.area import write_demo_area
from wup_pipeline.demo.generator import DEMO_GEMEENTE, demo_population
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.resources.settings import ProjectPaths
from wup_pipeline.sources.cbs_kwb import DEFAULT_BASE_URL, KWB_TABLES

BINNENSTAD = "BU99990101"


def run_demo(paths: ProjectPaths, mirror, settings: dict) -> dg.ExecuteInProcessResult:
    defs = build_definitions(paths, mirror_dir=str(mirror), settings=settings)
    with dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def("wup_all").execute_in_process(instance=instance, raise_on_error=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_run")
    paths = ProjectPaths(root=root, published_warehouse=root / "published" / "wup.duckdb")
    area = write_demo_area(paths.demo_area)
    result = run_demo(paths, paths.demo_mirror, area.settings)
    assert result.success, [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    return paths, result, area


def mart(paths: ProjectPaths) -> pl.DataFrame:
    with duckdb.connect(str(paths.published_warehouse), read_only=True) as con:
        return con.execute("select * from marts.factscan_buurt").pl()


def test_factscan_has_every_demo_buurt(demo_run):
    paths, _, _ = demo_run
    frame = mart(paths)
    assert frame.height == 12
    assert frame["buurt_code"].str.contains(r"^BU9999\d{4}$").all()
    assert frame["has_kwb_figures"].all()


def test_hand_checked_buurt(demo_run):
    """Binnenstad, seed 2026: CBS figures as published by the demo, area from the polygon."""
    paths, _, _ = demo_run
    row = mart(paths).filter(pl.col("buurt_code") == BINNENSTAD).to_dicts()[0]
    assert row["dwellings"] == 1600
    assert row["inhabitants"] == 2735  # 2,736 rounded to 5 like CBS
    assert row["households"] == 1510
    assert row["avg_woz_eur"] == 399_000  # CBS publishes x 1 000 euro
    assert (row["pct_owner_occupied"], row["pct_corporation"], row["pct_private_rent"]) == (47, 20, 33)
    assert row["pct_built_before_2000"] == 89
    assert row["avg_gas_m3"] == 780 and row["avg_electricity_kwh"] == 2080
    assert row["income_per_inhabitant_eur"] == pytest.approx(30_300)
    assert row["area_ha"] == pytest.approx(27, abs=0.5)
    assert row["dwellings_per_ha"] == pytest.approx(1600 / row["area_ha"], abs=0.05)


def test_mart_agrees_with_the_ground_truth(demo_run):
    """Independent of the CBS rounding: counts and shares recomputed from the synthetic dwellings."""
    paths, _, _ = demo_run
    truth = demo_population().dwellings.group_by("buurt_code").agg(
        pl.len().alias("n"),
        (pl.col("owner_type") == "corporation").mean().alias("corporation"),
    )
    frame = mart(paths).join(truth, on="buurt_code")
    assert (frame["dwellings"] == frame["n"]).all()
    shown = frame.filter(pl.col("pct_corporation").is_not_null())
    assert ((shown["pct_corporation"] - 100 * shown["corporation"]).abs() <= 0.5 + 1e-9).all()


def test_small_buurt_income_is_suppressed_not_zero(demo_run):
    paths, _, _ = demo_run
    row = mart(paths).filter(pl.col("buurt_code") == "BU99990303").to_dicts()[0]
    assert row["income_per_inhabitant_eur"] is None
    assert row["dwellings"] == 36


def test_audit_tables_are_filled(demo_run):
    paths, _, _ = demo_run
    with duckdb.connect(str(paths.published_warehouse), read_only=True) as con:
        snapshots = con.execute(
            "select source_id, raw_table, length(sha256), bytes > 0, licence is not null from audit.snapshots"
        ).fetchall()
        lineage = con.execute(
            "select source_table, source_column from audit.column_lineage "
            "where model = 'marts.factscan_buurt' and column_name = 'avg_woz_eur'"
        ).fetchall()
        columns = dict(con.execute("select name, key from raw.cbs_kwb__columns").fetchall())
    assert {("cbs_kwb", "raw.cbs_kwb"), ("pdok_wijkenbuurten", "raw.pdok_buurten"),
            ("bag", "raw.bag_verblijfsobjecten")} <= {(s[0], s[1]) for s in snapshots}
    assert all(s[2] == 64 and s[3] and s[4] for s in snapshots)
    assert lineage == [("staging.stg_cbs__kwb", "avg_woz_eur")]
    assert columns["gemiddelde_woz_waarde"].startswith("GemiddeldeWOZWaardeVanWoningen_")


def test_column_lineage_is_in_dagster_metadata(demo_run):
    _, result, _ = demo_run
    materialization = result.asset_materializations_for_node("marts__factscan_buurt")[0]
    lineage = materialization.metadata["dagster/column_lineage"].value
    deps = lineage.deps_by_column["avg_gas_m3"]
    assert [(d.asset_key, d.column_name) for d in deps] == [
        (dg.AssetKey(["staging", "stg_cbs__kwb"]), "avg_gas_m3")
    ]
    assert materialization.metadata["dagster/row_count"].value == 12


def test_factscan_pages_are_written(demo_run):
    paths, _, _ = demo_run
    pages = paths.outputs / DEMO_GEMEENTE / "factscan"
    assert len(list(pages.glob("BU*.html"))) == 12
    html = (pages / f"{BINNENSTAD}.html").read_text(encoding="utf-8")
    assert "Synthetische demo-gemeente" in html
    assert f'data-figure-id="factscan/{BINNENSTAD}/dwellings"' in html
    assert "1\u2009600" in html  # dwellings in Dutch notation


def test_a_bad_source_stops_the_run_and_keeps_the_published_warehouse(demo_run, tmp_path):
    """Corrupt the CBS page in a copy of the mirror: the run fails, the published file is untouched."""
    import shutil

    paths, _, _ = demo_run
    before = paths.published_warehouse.read_bytes()
    mirror = tmp_path / "mirror"
    shutil.copytree(paths.demo_mirror, mirror)
    page = mirror_path(mirror, f"{DEFAULT_BASE_URL}/{KWB_TABLES[2024]}/TableInfos", {"$format": "json"})
    page.write_text('{"value": [', encoding="utf-8")
    broken = ProjectPaths(root=paths.root, published_warehouse=paths.published_warehouse)
    result = run_demo(broken, mirror, demo_run[2].settings)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "raw__cbs_kwb"
    message = failure.event_specific_data.error.message
    assert "not valid JSON" in message and str(page) in message
    # Bad input is not retried; only the failed branch and what depends on it stop.
    assert not [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert result.is_node_success("raw__pdok_buurten")
    assert paths.published_warehouse.read_bytes() == before


def test_route_costs_for_every_demo_buurt_and_wup_costs(demo_run, capsys, monkeypatch):
    paths, _, _ = demo_run
    with duckdb.connect(str(paths.published_warehouse), read_only=True) as con:
        per_buurt = con.execute(
            "select buurt_code, count(*), count(*) filter (where strategy = 'reference'), "
            "max(national_extra_cost_eur_per_year) filter (where strategy = 'reference') "
            "from marts.route_costs_buurt group by 1").fetchall()
        sensitivity = con.execute("select count(distinct buurt_code) from marts.route_sensitivity_buurt").fetchone()
    assert len(per_buurt) == 12 and all(n >= 7 and ref == 1 and extra == 0 for _, n, ref, extra in per_buurt)
    assert sensitivity[0] == 12
    from wup_pipeline.cli import main

    monkeypatch.setenv("WUP_WAREHOUSE", str(paths.published_warehouse))
    main(["costs", "--buurt", BINNENSTAD])
    out = capsys.readouterr().out
    assert f"Routes off natural gas for {BINNENSTAD}" in out and "S1a" in out and "sensitivity" in out
