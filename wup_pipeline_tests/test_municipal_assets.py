"""The municipality's own files end to end: infrastructure plans, initiatives and participation -> raw -> staging ->
intermediate.int_infra_buurt -> marts.infrastructure_buurt / participation_buurt / initiatives_buurt, run as Dagster
assets on the SYNTHETIC demo area, checked against its ground truth, the source modules and hand computations, with
the privacy rules of docs/templates.md (section 5) checked on the warehouse, the snapshot store and the logs."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import shapely

from wup_pipeline.assets import raw_municipal
from wup_pipeline.assets.raw_energy import param_energy_conversion_raw
from wup_pipeline.demo.municipal_payloads import REMARKS, SURVEY_BUURTEN, THROUGH_ROAD
from wup_pipeline.demo.population import demo_population
from wup_pipeline.sources.municipal_files import SEGMENT_SCHEMA, infra_per_buurt, read_infra_segments
from wup_pipeline.sources.participation import aggregate_columns
from wup_pipeline_tests.test_energy_assets import (
    build_sql_on,
    demo_area_once,
    invoke,
    metadata,
    query,
    resources_for,
    run_assets,
    sql_assets,
    warehouse_with_stand_ins,
)

MUNICIPAL_MODELS = ("stg_municipal__infra_segments", "stg_municipal__infra_buurt", "stg_municipal__initiatives",
                    "stg_participation__buurt", "int_infra_buurt", "infrastructure_buurt", "participation_buurt",
                    "initiatives_buurt")
SMALL_CELL_BUURT = "BU99990204"  # 6 respondents in the demo survey, under k = 10
CENTRUM = ("BU99990101", "BU99990102", "BU99990103", "BU99990104")  # the buurten of wijk WK999901


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root, settings = demo_area_once(tmp_path_factory)
    return root, settings, demo_population()


@pytest.fixture(scope="module")
def municipal_run(demo, tmp_path_factory):
    root, settings, population = demo
    warehouse = warehouse_with_stand_ins(tmp_path_factory, population, tmp_path_factory.mktemp("municipal"))
    result = run_assets([*raw_municipal.ASSETS, param_energy_conversion_raw, *sql_assets(MUNICIPAL_MODELS)],
                        resources_for(root, warehouse, **settings))
    return warehouse, result


def test_segments_are_stored_as_rd_geometry(demo, municipal_run):
    _, settings, _ = demo
    warehouse, _ = municipal_run
    kinds = dict(query(warehouse, "select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'raw' and table_name = 'infra_segments'").iter_rows())
    assert kinds["geometry"] == "GEOMETRY" and "geometry_wkb" not in kinds
    frame = query(warehouse, "select segment_id, length_m, st_length(geometry) as measured, st_xmin(geometry) as x, "
                             "st_ymin(geometry) as y from raw.infra_segments", spatial=True)
    assert frame.height == read_infra_segments(settings["infra_segments_file"]).height == 19
    assert ((frame["length_m"] - frame["measured"]).abs() < 1e-6).all()
    # RD New metres, not degrees
    assert frame["x"].is_between(0, 300_000).all() and frame["y"].is_between(289_000, 629_000).all()


def test_segment_lengths_per_buurt_by_hand_and_by_the_source_module(demo, municipal_run):
    _, settings, population = demo
    warehouse, _ = municipal_run
    rows = query(warehouse, "select * from intermediate.int_infra_buurt where plan_source = 'segment'")
    # the source module's shapely implementation on the same inputs
    segments = read_infra_segments(settings["infra_segments_file"])
    polygons = pl.DataFrame({"buurt_code": list(population.geometries),
                             "geometry_wkb": [g.wkb for g in population.geometries.values()]})
    expected = infra_per_buurt(segments, polygons).filter(pl.col("buurt_code").is_not_null())
    key = ["segment_id", "buurt_code"]
    joined = expected.join(rows, on=key, how="full", suffix="_sql")
    assert joined.height == rows.height == expected.height == 20
    assert ((joined["length_m"] - joined["length_m_sql"]).abs() < 1e-6).all()
    assert (joined["is_main_buurt"] == joined["is_main_buurt_sql"]).all()
    # by hand: the through road from Binnenstad to Havenkwartier is cut at the buurt boundary
    first, second = THROUGH_ROAD[:2]
    road_id = segments.filter(pl.col("description") == THROUGH_ROAD[-1])["segment_id"].item()
    road = shapely.from_wkb(segments.filter(pl.col("segment_id") == road_id)["geometry_wkb"].item())
    pieces = rows.filter(pl.col("segment_id") == road_id).sort("buurt_code")
    assert pieces["buurt_code"].to_list() == [first, second]
    by_hand = [shapely.intersection(road, population.geometries[code]).length for code in (first, second)]
    assert pieces["length_m"].to_list() == pytest.approx(by_hand, abs=1e-6)
    assert sum(by_hand) == pytest.approx(road.length, abs=1e-6)  # the buurten tile the gemeente: nothing outside
    assert pieces["is_main_buurt"].to_list() == [by_hand[0] > by_hand[1], by_hand[1] > by_hand[0]]
    # the mart: Havenkwartier's road works are its own street segments plus its piece of the through road
    mart = query(warehouse, "select * from marts.infrastructure_buurt")
    weg = mart.filter((pl.col("buurt_code") == second) & (pl.col("asset") == "weg")).to_dicts()[0]
    own = rows.filter((pl.col("buurt_code") == second) & (pl.col("asset") == "weg") & (pl.col("segment_id") != road_id))
    assert weg["total_length_m"] == pytest.approx(own["length_m"].sum() + by_hand[1])
    assert (weg["n_segments"], weg["earliest_planned_year"], weg["latest_planned_year"]) == (own.height + 1, 2027, 2030)
    assert weg["in_plan_window"] and (weg["plan_window_start_year"], weg["plan_window_end_year"]) == (2026, 2035)
    assert weg["n_assets_in_window"] == 2  # riolering and weg
    heat = mart.filter((pl.col("buurt_code") == "BU99990103") & (pl.col("asset") == "warmtenet")).to_dicts()[0]
    assert (heat["earliest_planned_year"], heat["n_segments"], heat["total_length_m"]) == (2029, 0, None)
    assert heat["owners"] == "Gemeente Demodorp (synthetisch)"  # from the per-buurt CSV (cp1252, ';')


def test_the_plan_window_comes_from_the_parameter_rows(municipal_run, tmp_path):
    """A window of 2029-2031 instead of the default 2026-2035, by hand per buurt and asset."""
    warehouse, _ = municipal_run
    copy = tmp_path / "window.duckdb"
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("update raw.param_energy_conversion set value = 2029 where name = 'plan_window_start_year'")
        con.execute("update raw.param_energy_conversion set value = 3 where name = 'plan_window_years'")
    build_sql_on(copy, ("infrastructure_buurt",))
    mart = query(copy, "select * from marts.infrastructure_buurt")
    flags = {(r["buurt_code"], r["asset"]): r for r in mart.to_dicts()}
    assert {(r["plan_window_start_year"], r["plan_window_end_year"]) for r in flags.values()} == {(2029, 2031)}
    sewer = flags[("BU99990102", "riolering")]  # 2027: before the window
    assert (sewer["in_plan_window"], sewer["earliest_year_in_window"], sewer["length_in_window_m"]) == (False, None,
                                                                                                       None)
    road = flags[("BU99990102", "weg")]  # street works 2027 (outside) and the through road 2030 (inside)
    pieces = query(copy, "select length_m from intermediate.int_infra_buurt where buurt_code = 'BU99990102' "
                         "and asset = 'weg' and planned_year = 2030")
    assert road["in_plan_window"] and road["earliest_year_in_window"] == 2030
    assert road["length_in_window_m"] == pytest.approx(pieces["length_m"].sum())
    assert not flags[("BU99990103", "gasleiding")]["in_plan_window"]  # 2028
    assert flags[("BU99990103", "warmtenet")]["in_plan_window"]  # 2029
    assert not flags[("BU99990302", "riolering")]["in_plan_window"]  # 2033
    assert flags[("BU99990103", "warmtenet")]["n_assets_in_window"] == 1


def test_participation_small_cells_are_suppressed(demo, municipal_run):
    _, settings, population = demo
    warehouse, result = municipal_run
    raw = query(warehouse, "select * from raw.participation_buurt")
    by_buurt = {r["buurt_code"]: r for r in raw.to_dicts()}
    # every respondent is placed in the buurt the demo drew them from, also those given by postcode only
    assert {code: by_buurt[code]["respondents"] for code in SURVEY_BUURTEN} == {
        code: count for code, (count, _) in SURVEY_BUURTEN.items()}
    breakdown = [c for c in aggregate_columns() if c.startswith(("willing_", "concern_"))]
    small = by_buurt[SMALL_CELL_BUURT]
    assert small["small_cell"] and small["respondents"] == 6
    assert all(small[c] is None for c in breakdown)  # blanked before the warehouse
    for row in raw.filter(~pl.col("small_cell")).to_dicts():
        assert sum(row[c] for c in breakdown if c.startswith("willing_")) == row["respondents"]
        assert sum(row[c] for c in breakdown if c.startswith("concern_")) == row["respondents"]
    contacts = pl.read_csv(settings["participation_contacts_file"]).group_by("buurt_code").agg(
        pl.col("households_reached").sum(), pl.len().alias("moments"))
    for code, reached, moments in contacts.iter_rows():
        assert (by_buurt[code]["households_reached"], by_buurt[code]["contact_moments"]) == (reached, moments)
    assert by_buurt["BU99990101"]["respondents"] == 0 and by_buurt["BU99990101"]["small_cell"]  # contacts only
    mart = {r["buurt_code"]: r for r in query(warehouse, "select * from marts.participation_buurt").to_dicts()}
    shares = [c for c in next(iter(mart.values())) if c.startswith("share_")]
    assert all(mart[SMALL_CELL_BUURT][c] is None for c in shares)
    households = dict(population.buurten.select("buurt_code", "households").iter_rows())
    haven = mart["BU99990102"]
    assert (haven["households"], haven["households_source"]) == (households["BU99990102"], "cbs_kwb")
    assert haven["share_willing_yes"] == pytest.approx(by_buurt["BU99990102"]["willing_yes"] / 120)
    assert haven["response_rate"] == pytest.approx(120 / households["BU99990102"])
    assert haven["reach_ratio"] == pytest.approx(by_buurt["BU99990102"]["households_reached"]
                                                 / households["BU99990102"])
    assert metadata(result, "raw__participation_buurt")["small_cells"] == 3
    assert metadata(result, "raw__participation_buurt")["privacy_k"] == 10


def test_no_personal_data_enters_the_warehouse_the_snapshot_store_or_the_logs(demo, municipal_run):
    _, settings, _ = demo
    warehouse, result = municipal_run
    survey = Path(settings["participation_survey_file"])
    content = survey.read_bytes()
    assert b"Bewoner 00001" in content and b"R00001" in content  # the personal columns are really there
    provenance = query(warehouse, "select dataset, sha256, bytes, path from audit.snapshots "
                                  "where raw_table = 'raw.participation_buurt' order by dataset")
    files = [Path(settings["participation_contacts_file"]), survey]
    assert provenance["sha256"].to_list() == [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    assert provenance["bytes"].to_list() == [f.stat().st_size for f in files]
    assert provenance["path"].to_list() == ["", ""]
    # no copy in the snapshot store, under its checksum or otherwise
    stored = [p for p in (warehouse.parent / "snap").rglob("*") if p.is_file()]
    assert stored and not any(hashlib.sha256(content).hexdigest() in p.name for p in stored)
    assert not any(b"Bewoner 0" in p.read_bytes() for p in stored)
    # no name, respondent id or remark in any text column of the warehouse
    with duckdb.connect(str(warehouse), read_only=True) as con:
        text_columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                                   "where data_type = 'VARCHAR'").fetchall()
        for schema, table, column in text_columns:
            hits = con.execute(
                f'select count(*) from "{schema}"."{table}" where "{column}" like \'%Bewoner 0%\' '
                f'or regexp_matches("{column}", \'R\\d{{5}}\') or "{column}" in (select unnest(?))', [list(REMARKS)]
            ).fetchone()[0]
            assert hits == 0, (schema, table, column)
    messages = " ".join(e.message or "" for e in result.all_events)
    assert "Bewoner 0" not in messages and "R00001" not in messages


def test_initiatives_per_buurt_include_those_of_the_whole_wijk(municipal_run):
    warehouse, _ = municipal_run
    mart = {r["buurt_code"]: r for r in query(warehouse, "select * from marts.initiatives_buurt").to_dicts()}
    assert set(CENTRUM) <= set(mart) and "BU99990202" not in mart and len(mart) == 8
    assert all(mart[code]["n_wijk_wide"] == 1 for code in CENTRUM)
    haven = mart["BU99990102"]
    assert (haven["n_initiatives"], haven["n_running"], haven["n_idea"], haven["households_involved"]) == (2, 1, 1, 140)
    assert haven["kinds"] == "energiecoöperatie, warmtenet_initiatief"
    assert mart["BU99990101"]["households_involved"] is None  # a wijk-wide initiative's households are not split
    assert mart["BU99990204"]["n_completed"] == 1


def test_files_not_configured_give_empty_tables_and_the_marts_still_build(demo, tmp_path_factory, tmp_path):
    root, _, population = demo
    warehouse = warehouse_with_stand_ins(tmp_path_factory, population, tmp_path)
    resources = resources_for(root, warehouse)
    results = {a.key.path[-1]: invoke(a, resources) for a in [*raw_municipal.ASSETS, param_energy_conversion_raw]}
    for table in ("infra_segments", "infra_buurt", "initiatives", "participation_buurt"):
        assert query(warehouse, f"select count(*) as n from raw.{table}")["n"][0] == 0
        assert "not configured" in results[table].metadata["route"]
    kinds = dict(query(warehouse, "select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'raw' and table_name = 'infra_segments'").iter_rows())
    assert list(kinds) == [c for c in SEGMENT_SCHEMA if c != "geometry_wkb"] + ["geometry"]
    assert kinds["geometry"] == "GEOMETRY"
    assert query(warehouse, "select * from raw.participation_buurt").columns == list(aggregate_columns())
    build_sql_on(warehouse, MUNICIPAL_MODELS)
    for mart in ("infrastructure_buurt", "participation_buurt", "initiatives_buurt"):
        assert query(warehouse, f"select count(*) as n from marts.{mart}")["n"][0] == 0


def test_bad_or_missing_files_fail_clearly_without_retry(demo, tmp_path):
    root, _, _ = demo
    bad = tmp_path / "infra_buurt.csv"
    bad.write_text("buurt_code;asset;measure;planned_year\nBU99990101;riool;vervanging;2030\n"
                   "BU99990102;kabel;vervanging;2031\n", encoding="utf-8")
    with pytest.raises(dg.Failure, match=r"infra_buurt\.csv row 3 field 'asset'") as failure:
        invoke(raw_municipal.infra_buurt_raw, resources_for(root, tmp_path / "w.duckdb", infra_buurt_file=str(bad)))
    assert failure.value.allow_retries is False
    missing = str(tmp_path / "survey.csv")
    with pytest.raises(dg.Failure, match=r"survey\.csv: file not found \(configured as participation_survey_file\)"):
        invoke(raw_municipal.participation_buurt_raw,
               resources_for(root, tmp_path / "w.duckdb", participation_survey_file=missing))
