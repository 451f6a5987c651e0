"""The outputs of one demo run: audit.figures, the HTML pages, the workbook, the GeoPackage, the Parquet files,
the lineage manifests, and the privacy rules in all of them.

The demo run is shared by test_reports_*.py, test_trace.py and test_browser_report.py (one run per test session:
``demo_outputs()``), because a run takes most of a minute. ``second_demo_run()`` is an independent second run in a
subprocess (started at the same time, so the two overlap) for the reproducibility test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from wup_pipeline.assets import outputs
from wup_pipeline.definitions import build_definitions
from wup_pipeline.demo.area import write_demo_area
from wup_pipeline.demo.generator import DEMO_GEMEENTE
from wup_pipeline.reports import geopackage, privacy
from wup_pipeline.resources.settings import ProjectPaths
from wup_pipeline.resources.warehouse import load_spatial

BINNENSTAD, SMALL_BUURT = "BU99990101", "BU99990104"  # 1,600 dwellings; 7 dwellings (suppressed at k = 10)


def output_definitions(paths: ProjectPaths, mirror: Path, settings: dict) -> dg.Definitions:
    """The project's Definitions with this module's output assets (whether or not definitions.py has them yet)."""
    base = build_definitions(paths, mirror_dir=str(mirror), settings=settings)
    mine = {key for asset in outputs.ASSETS for key in asset.keys}
    kept = [a for a in base.assets if not any(k.path[0] == "outputs" or k in mine for k in a.keys)]
    assets = [*kept, *outputs.ASSETS]
    upstream = [key for asset in assets for key in asset.keys]
    return dg.Definitions(assets=[*assets, outputs.published_warehouse_asset(upstream)],
                          asset_checks=base.asset_checks, jobs=base.jobs, resources=base.resources,
                          executor=dg.in_process_executor)


def run_demo_outputs(root: Path) -> tuple[ProjectPaths, dg.ExecuteInProcessResult, dict]:
    paths = ProjectPaths(root=root, published_warehouse=root / "published" / "wup.duckdb")
    area = write_demo_area(paths.demo_area)
    defs = output_definitions(paths, paths.demo_mirror, area.settings)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("wup_all").execute_in_process(instance=instance, raise_on_error=False)
    return paths, result, area.settings


@dataclass
class DemoOutputs:
    paths: ProjectPaths
    run_id: str
    settings: dict
    seconds: float

    @property
    def gemeente(self) -> Path:
        return self.paths.outputs / DEMO_GEMEENTE

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.paths.published_warehouse), read_only=True)


_SHARED: dict = {}
SECOND_RUN_TEST = "test_two_runs_give_identical_table_hashes"


def start_second_run(tmp_path_factory) -> None:
    """An independent second demo run in a subprocess, so that it overlaps with whatever runs meanwhile."""
    if "second" in _SHARED:
        return
    root = tmp_path_factory.mktemp("second_demo_run")
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1"}
    with open(root / "run.log", "wb") as log:  # a file, not a pipe: Dagster logs a lot
        process = subprocess.Popen(
            [sys.executable, "-m", "wup_pipeline_tests.test_reports_demo", str(root / "root")],
            cwd=Path(__file__).resolve().parents[1], env=env, stdout=log, stderr=subprocess.STDOUT)
    _SHARED["second"] = (process, root)


def second_demo_run(tmp_path_factory) -> ProjectPaths:
    """Wait for the independent second run (starting it now if nobody did) and return its paths."""
    start_second_run(tmp_path_factory)
    process, root = _SHARED["second"]
    process.wait(timeout=900)
    log = (root / "run.log").read_text(encoding="utf-8", errors="replace")
    assert process.returncode == 0, log[-4000:]
    return ProjectPaths(root=root / "root", published_warehouse=root / "root" / "published" / "wup.duckdb")


def demo_outputs(tmp_path_factory, request=None) -> DemoOutputs:
    """One demo run for the whole test session; when the session also has the reproducibility test, its second
    run starts first, in a subprocess, and runs alongside."""
    if "run" not in _SHARED:
        if request is not None and any(item.name == SECOND_RUN_TEST for item in request.session.items):
            start_second_run(tmp_path_factory)
        started = time.monotonic()
        paths, result, settings = run_demo_outputs(tmp_path_factory.mktemp("demo_outputs"))
        failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
        assert result.success, failures
        _SHARED["run"] = DemoOutputs(paths, result.run_id, settings, time.monotonic() - started)
    return _SHARED["run"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory, request) -> DemoOutputs:
    return demo_outputs(tmp_path_factory, request)


def figure(con, figure_id: str) -> dict:
    cursor = con.execute("select * from audit.figures where figure_id = ?", [figure_id])
    row = cursor.fetchone()
    assert row is not None, figure_id
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


# ---------------------------------------------------------------------------------------------------------------


def test_audit_figures_have_unique_stable_ids_and_the_mart_values(demo):
    with demo.connect() as con:
        ids = con.execute("select count(*), count(distinct figure_id) from audit.figures").fetchone()
        dwellings = figure(con, f"factscan/{BINNENSTAD}/dwellings")
        gas = figure(con, f"energie/{BINNENSTAD}/modelled_gas_m3_avg")
        mart_gas = con.execute("select modelled_gas_m3_avg from marts.energy_use_buurt where buurt_code = ?",
                               [BINNENSTAD]).fetchone()[0]
        sections = dict(con.execute("select section, count(*) from audit.figures group by 1").fetchall())
        runs = con.execute("select distinct run_id, code_version from audit.figures").fetchall()
    assert ids[0] == ids[1] > 1000
    assert dwellings["value_number"] == 1600 and dwellings["mart_table"] == "marts.factscan_buurt"
    assert dwellings["output"][0] == "factscan_html" and "factscan_excel" in dwellings["output"]
    assert dwellings["joins"] == ["staging.stg_cbs__kwb", "staging.stg_pdok__buurten"]
    assert dwellings["source_tables"] == ["raw.cbs_kwb"]
    assert "marts.factscan_buurt.dwellings" in dwellings["source_note"] and "85984NED" in dwellings["source_note"]
    assert gas["value_number"] == pytest.approx(mart_gas)
    assert "raw.param_energy_conversion" in gas["source_tables"] and "raw.bag_verblijfsobjecten" in gas["source_tables"]
    assert {"factscan", "woningvoorraad", "sociaal", "energie", "koppelkansen", "participatie", "overzicht",
            "kaart"} <= set(sections)
    assert runs == [(demo.run_id, runs[0][1])] and "sql " in runs[0][1] and "parameters " in runs[0][1]


def test_small_buurt_is_suppressed_in_every_output(demo):
    """BU99990104 has 7 dwellings: nothing but its code, name and the reason anywhere."""
    with demo.connect() as con:
        counts = con.execute("select count(*), count(value_text), bool_and(suppressed), any_value(suppression_reason) "
                             "from audit.figures where buurt_code = ?", [SMALL_BUURT]).fetchone()
        mart_dwellings = con.execute("select dwellings from marts.housing_stock_buurt where buurt_code = ?",
                                     [SMALL_BUURT]).fetchone()[0]
    assert mart_dwellings == 7  # the warehouse keeps it; the outputs do not show it
    assert counts[0] > 100 and counts[1] == 0 and counts[2] and counts[3] == "minder dan 10 woningen"
    html = (demo.gemeente / "factscan" / f"{SMALL_BUURT}.html").read_text(encoding="utf-8")
    assert 'id="privacy-suppressed"' in html and "minder dan 10 woningen" in html
    assert f'data-figure-id="woningvoorraad/{SMALL_BUURT}/dwellings"' in html
    assert ">7<" not in html  # the count itself is not shown
    parquet = pl.read_parquet(demo.gemeente / "parquet" / "housing_stock_buurt.parquet")
    row = parquet.filter(pl.col("buurt_code") == SMALL_BUURT).row(0, named=True)
    assert row["privacy_suppressed"] and row["dwellings"] is None and row["n_label_a"] is None
    assert row["buurt_name"]  # identity stays
    big = parquet.filter(pl.col("buurt_code") == BINNENSTAD).row(0, named=True)
    assert not big["privacy_suppressed"] and big["dwellings"] == 1600
    gpkg = geopackage_layers(demo)["buurten"]
    small = gpkg[gpkg["buurt_code"] == SMALL_BUURT].iloc[0]
    assert bool(small["privacy_suppressed"]) and small["dwellings"] != small["dwellings"]  # NaN
    from openpyxl import load_workbook

    sheet = load_workbook(demo.gemeente / f"factscan_{DEMO_GEMEENTE}.xlsx", read_only=True)["housing_stock_buurt"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    small_row = next(r for r in rows[1:] if r[0] == SMALL_BUURT)
    assert small_row[header.index("dwellings")] is None and small_row[header.index("privacy_suppressed")] is True


def test_participation_small_cells_stay_blank(demo):
    with demo.connect() as con:
        rows = con.execute("select figure_id, value_text from audit.figures where section = 'participatie' and "
                           "column_name = 'share_willing_yes' and buurt_code in (select buurt_code from "
                           "marts.participation_buurt where small_cell)").fetchall()
    assert rows and all(value is None for _, value in rows)


def test_html_pages_follow_the_wup_steps_and_show_audit_values(demo):
    pages = demo.gemeente / "factscan"
    assert len(list(pages.glob("BU*.html"))) == 12
    html = (pages / f"{BINNENSTAD}.html").read_text(encoding="utf-8")
    for heading in ("1 Verkenning", "2 Koppelkansen", "3 De balans", "4 Participatie", "5 Bronnen en kwaliteit"):
        assert heading in html
    assert "Nog niet berekend." not in html and "Kosten en CO₂ per strategie" in html  # the cost model's marts
    assert f'data-figure-id="balans/{BINNENSTAD}/S1a/national_extra_cost_eur_per_weq"' in html
    assert "Betaalbaarheid per eigenaarstype" in html and 'data-figure-id="gevoeligheid/' in html
    assert f'data-figure-id="factscan/{BINNENSTAD}/dwellings"' in html and "1\u2009600" in html
    assert html.count('class="map"') == 2 and html.count('class="chart"') >= 6
    assert 'class="cell" data-figure-id="kaart/' in html
    assert "85984NED" in html and "CC-BY 4.0" in html  # sources with version and licence
    assert "http://" not in html and "https://" not in html.replace("https://opendata.cbs.nl", "")
    index = (pages / "index.html").read_text(encoding="utf-8")
    assert 'id="ranking"' in index and f'href="{BINNENSTAD}.html"' in index and "gewicht" in index
    assert "nog niet berekend" not in index  # the cost criterion has its mart


def test_every_figure_id_on_a_page_is_in_audit_figures_with_the_same_value(demo):
    html = (demo.gemeente / "factscan" / f"{BINNENSTAD}.html").read_text(encoding="utf-8")
    shown = set(re.findall(r'data-figure-id="([^"]+)"', html))
    with demo.connect() as con:
        known = {r[0] for r in con.execute("select figure_id from audit.figures where list_contains(output, "
                                           "'factscan_html')").fetchall()}
        woz = figure(con, f"factscan/{BINNENSTAD}/avg_woz_eur")
    assert len(shown) > 100 and shown <= known
    assert f'data-figure-id="{woz["figure_id"]}" title="' in html and "399\u2009000" in html


def test_workbook_has_a_sheet_per_mart_and_documents_every_column(demo):
    from openpyxl import load_workbook

    book = load_workbook(demo.gemeente / f"factscan_{DEMO_GEMEENTE}.xlsx", read_only=True)
    with demo.connect() as con:
        marts = [t for (t,) in con.execute("select table_name from information_schema.tables where table_schema = "
                                           "'marts' order by 1").fetchall()]
    assert set(marts) <= set(book.sheetnames) and {"Toelichting", "Kolommen", "prioriteit"} <= set(book.sheetnames)
    docs = list(book["Kolommen"].iter_rows(values_only=True))
    assert docs[0] == ("sheet", "kolom", "omschrijving", "eenheid", "type", "tabel", "figure_id")
    documented = {(r[0], r[1]): r for r in docs[1:]}
    for name in marts:
        header = next(book[name].iter_rows(max_row=1, values_only=True))
        assert all((name, column) in documented for column in header), name
        assert all(documented[(name, c)][2] != "(niet gedocumenteerd)" for c in header), name
    assert documented[("factscan_buurt", "avg_gas_m3")][3] == "m3 per dwelling per year"
    assert documented[("infrastructure_buurt", "n_plans")][6] == "koppelkansen/{buurt_code}/{asset}/n_plans"
    frame = pl.read_excel(demo.gemeente / f"factscan_{DEMO_GEMEENTE}.xlsx", sheet_name="factscan_buurt",
                          engine="openpyxl")
    assert frame.filter(pl.col("buurt_code") == BINNENSTAD)["dwellings"].to_list() == [1600]


def geopackage_layers(demo) -> dict:
    import geopandas as gpd
    import pyogrio

    path = demo.gemeente / f"factscan_{DEMO_GEMEENTE}.gpkg"
    layers = {name: None for name, _ in pyogrio.list_layers(path)}
    return {name: gpd.read_file(path, layer=name) if name != geopackage.COLUMNS_LAYER
            else pyogrio.read_dataframe(path, layer=name) for name in layers}


def test_geopackage_has_documented_buurt_columns_and_no_addresses_by_default(demo):
    layers = geopackage_layers(demo)
    assert set(layers) == {"buurten", "kolommen"}  # publish_address_level is off
    buurten = layers["buurten"]
    assert buurten.crs.to_epsg() == 28992 and len(buurten) == 12
    assert list(buurten.columns) == [c.name for c in geopackage.BUURT_COLUMNS] + ["geometry"]
    assert set(buurten.geom_type) <= {"Polygon", "MultiPolygon"}
    row = buurten[buurten["buurt_code"] == BINNENSTAD].iloc[0]
    assert row["dwellings"] == 1600 and row["inhabitants"] == 2735 and row["priority_score"] >= 0
    documented = layers["kolommen"]
    assert list(documented[documented["layer"] == "buurten"]["column"]) == [c.name for c in geopackage.BUURT_COLUMNS]


def test_address_level_layer_has_public_attributes_only(demo, tmp_path):
    """With publish_address_level on: BAG fields and registered labels, never estimated labels or owner types."""
    import shutil

    import geopandas as gpd

    build = tmp_path / "build.duckdb"
    shutil.copyfile(demo.paths.published_warehouse, build)
    path = tmp_path / "out.gpkg"
    with duckdb.connect(str(build)) as con:
        load_spatial(con)
        policy = privacy.PrivacyPolicy(k=10, publish_address_level=True)
        privacy.create_suppression_table(con, policy, DEMO_GEMEENTE)
        counts = geopackage.write_geopackage(con, path, gemeente_code=DEMO_GEMEENTE, policy=policy)
        registered = con.execute("select count(*) from intermediate.int_dwellings where label_source = 'registered'"
                                 ).fetchone()[0]
        dwellings = con.execute("select count(*) from intermediate.int_dwellings").fetchone()[0]
    woningen = gpd.read_file(path, layer="woningen")
    assert counts["woningen"] == len(woningen) == dwellings
    assert list(woningen.columns) == [*privacy.ADDRESS_LEVEL_COLUMNS, "buurt_code", "geometry"]
    assert not {"energy_label", "label_class", "owner_type", "corporation", "label_source"} & set(woningen.columns)
    assert woningen["registered_label"].notna().sum() == registered < dwellings


def test_a_lineage_manifest_lies_next_to_every_output(demo):
    files = [p for p in demo.gemeente.rglob("*") if p.is_file() and not p.name.endswith(".lineage.json")
             and p.name != "lineage_manifest.json"]
    assert len(files) >= 12 + 1 + 2 + 7
    for path in files:
        assert path.stat().st_mode & 0o444 == 0o444, path  # readable by whoever publishes it
        manifest = json.loads(path.with_name(path.name + ".lineage.json").read_text(encoding="utf-8"))
        assert manifest["run_id"] == demo.run_id and manifest["snapshots"], path
        assert manifest["column_lineage"] and manifest["privacy"]["k"] == 10
    page = json.loads((demo.gemeente / "factscan" / f"{BINNENSTAD}.html.lineage.json").read_text(encoding="utf-8"))
    assert f"factscan/{BINNENSTAD}/dwellings" in page["figure_ids"]
    assert any(p["table"] == "raw.param_energy_conversion" and p["sha256"] for p in page["parameters"])
    overall = json.loads((demo.gemeente / "lineage_manifest.json").read_text(encoding="utf-8"))
    assert {f["path"] for f in overall["files"]} == {str(p.relative_to(demo.gemeente)) for p in files}
    assert overall["figures_per_output"]["factscan_html"] > 1000 and overall["table_hashes"]


def test_outputs_render_a_hand_made_route_cost_mart(demo, tmp_path):
    """The colleague's marts.route_costs_buurt does not exist yet: a hand-made one in a copy of the warehouse goes
    through audit.figures, De balans, the priority score and the workbook."""
    import shutil

    from openpyxl import load_workbook

    from wup_pipeline.resources.pipeline_settings import PipelineSettings
    from wup_pipeline.resources.warehouse import Warehouse

    build = tmp_path / "build.duckdb"
    shutil.copyfile(demo.paths.published_warehouse, build)
    with duckdb.connect(str(build)) as con:
        con.execute("""
            create or replace table marts.route_costs_buurt as
            select h.buurt_code, s.strategy,
                   1000.0 * h.dwellings * s.factor as national_cost_eur_per_year,
                   400.0 * h.dwellings * s.factor as national_extra_cost_eur_per_year,
                   400.0 * s.factor + length(h.buurt_code) as national_extra_cost_eur_per_weq,
                   2.0 * h.dwellings as co2_reduction_ton_per_year,
                   200.0 * s.factor as national_extra_cost_eur_per_ton_co2,
                   300.0 * s.factor as end_user_extra_cost_eur_per_dwelling_year,
                   250.0 * s.factor as end_user_extra_cost_owner_occupier_eur_per_dwelling_year,
                   350.0 * s.factor as end_user_extra_cost_private_tenant_eur_per_dwelling_year,
                   150.0 * s.factor as end_user_extra_cost_corporation_tenant_eur_per_dwelling_year,
                   0.04 * s.factor as extra_cost_share_of_household_income,
                   12.5 * s.factor as grid_excess_kw
            from marts.housing_stock_buurt h
            cross join (values ('all_electric', 1.0), ('heat_network_mt', 0.8)) s(strategy, factor)""")
    settings = PipelineSettings(**{**demo.settings, "gemeente_code": DEMO_GEMEENTE, "year": 2024,
                                   "snapshot_dir": str(tmp_path / "snapshots"), "outputs_dir": str(tmp_path / "out"),
                                   "publish_address_level": True})
    result = dg.materialize(
        [outputs.table_hashes, outputs.figures, outputs.factscan_html, outputs.factscan_excel],
        resources={"warehouse": Warehouse(build_path=str(build), published_path=str(tmp_path / "wup.duckdb")),
                   "settings": settings})
    assert result.success
    html = (tmp_path / "out" / DEMO_GEMEENTE / "factscan" / f"{BINNENSTAD}.html").read_text(encoding="utf-8")
    assert "Nog niet berekend." not in html and "Kosten en CO₂ per strategie" in html
    assert "Meerkosten huurder bij corporatie" in html and "blad route_costs_buurt" in html
    assert f'data-figure-id="balans/{BINNENSTAD}/heat_network_mt/national_extra_cost_eur_per_weq"' in html
    with duckdb.connect(str(build), read_only=True) as con:
        margin = figure(con, f"overzicht/{BINNENSTAD}/kostenmarge/value")
        small = figure(con, f"balans/{SMALL_BUURT}/all_electric/co2_reduction_ton_per_year")
        hashed = con.execute("select count(*) from audit.table_hashes where table_name = 'marts.route_costs_buurt' "
                             "and run_id = ?", [result.run_id]).fetchone()[0]
    assert margin["value_number"] == pytest.approx(0.8 * 400 + 10)  # the cheaper strategy
    assert sorted(margin["depends_on"]) == [f"balans/{BINNENSTAD}/{s}/national_extra_cost_eur_per_weq"
                                            for s in ("all_electric", "heat_network_mt")]
    assert small["suppressed"] and small["value_number"] is None and hashed == 1
    # address level on: one dot per dwelling on the label map, coloured only by a registered label
    dots = re.findall(r'<circle [^>]*fill="(#[0-9a-f]{6})"', html)
    with duckdb.connect(str(build), read_only=True) as con:
        registered = dict(con.execute("select label_source = 'registered', count(*) from intermediate.int_dwellings "
                                      "where buurt_code = ? group by 1", [BINNENSTAD]).fetchall())
    assert len(dots) == registered[True] + registered[False]
    assert dots.count("#7d8a94") == registered[False]  # grey: no registered label, the estimate is not shown
    index = (tmp_path / "out" / DEMO_GEMEENTE / "factscan" / "index.html").read_text(encoding="utf-8")
    assert "nog niet berekend" not in index
    book = load_workbook(tmp_path / "out" / DEMO_GEMEENTE / f"factscan_{DEMO_GEMEENTE}.xlsx", read_only=True)
    header = next(book["route_costs_buurt"].iter_rows(max_row=1, values_only=True))
    assert header[:2] == ("buurt_code", "strategy") and header[-1] == "privacy_suppressed"


if __name__ == "__main__":
    # the second, independent run of demo_outputs(): python -m wup_pipeline_tests.test_reports_demo <root>
    _, second_result, _ = run_demo_outputs(Path(sys.argv[1]))
    if not second_result.success:
        raise SystemExit("second demo run failed: " + "; ".join(
            e.event_specific_data.error.message for e in second_result.all_events if e.is_step_failure))
