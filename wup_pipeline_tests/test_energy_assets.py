"""Measured energy use end to end: CBS energy and heating per buurt, grid operators' files and the conversion
parameters -> raw -> staging -> intermediate.int_grid_use_buurt -> marts.energy_use_buurt, run as Dagster assets on
the SYNTHETIC demo area and checked against its ground truth and against hand computations.

The upstream model tables the SQL reads (intermediate.int_verblijfsobjecten, intermediate.int_dwellings,
staging.stg_pdok__buurten, staging.stg_cbs__kwb) are stand-ins written here from the demo's buildings and ground
truth; their heat demand comes from ``wup_pipeline.model.housing.heat_demand_gj`` (Vesta rows without a label).
The helpers are shared with test_municipal_assets.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from wup_pipeline.assets import raw_energy
from wup_pipeline.assets.sql_models import sql_model_asset
from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.area import write_demo_area
from wup_pipeline.demo.population import DemoPopulation, demo_population
from wup_pipeline.lineage.sql_models import build_model, discover_models
from wup_pipeline.model.housing import build_year_class, heat_demand_gj
from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.settings import sql_models_dir
from wup_pipeline.resources.warehouse import SCHEMAS, Warehouse, ensure_audit_tables, open_duckdb
from wup_pipeline.sources.kleinverbruik import map_to_buurten

ENERGY_MODELS = ("stg_cbs__energie_buurt", "stg_cbs__heating_buurt", "stg_grid__kleinverbruik",
                 "int_grid_use_buurt", "energy_use_buurt")
KWB_GAS_BU99990101 = 777.0  # a hand-made KWB figure, to see the mart fall back to it without CBS energy


# --- helpers shared with test_municipal_assets.py ---------------------------------------------------------


def demo_area_once(tmp_path_factory) -> tuple[Path, dict]:
    """(root, settings) of one demo area per test session; both asset test modules read the same files."""
    root = tmp_path_factory.getbasetemp() / "wup_demo_area"
    done = root / "settings.json"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        area = write_demo_area(root)
        done.write_text(json.dumps(area.settings), encoding="utf-8")
    return root, json.loads(done.read_text(encoding="utf-8"))


def stand_ins_once(tmp_path_factory, population: DemoPopulation) -> Path:
    """A DuckDB file with the stand-in upstream tables, written once per session; copy it to use it."""
    path = tmp_path_factory.getbasetemp() / "wup_stand_ins" / "stand_ins.duckdb"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_stand_ins(path.with_suffix(".tmp"), population)
        path.with_suffix(".tmp").rename(path)
    return path


def warehouse_with_stand_ins(tmp_path_factory, population: DemoPopulation, directory: Path) -> Path:
    warehouse = directory / "build.duckdb"
    shutil.copyfile(stand_ins_once(tmp_path_factory, population), warehouse)
    return warehouse


def write_stand_ins(path: Path, population: DemoPopulation) -> None:
    """The upstream model tables, from the demo's buildings and ground truth, in the column contracts."""
    vbo, _ = demo_buildings(population)
    buurten = (
        pl.DataFrame({"buurt_code": list(population.geometries),
                      "wkb": [g.wkb for g in population.geometries.values()]})
        .join(population.buurten.select("buurt_code", "buurt_name", "wijk_code"), on="buurt_code")
    )
    kwb = population.buurten.select(
        pl.col("buurt_code").alias("region_code"), pl.lit("buurt").alias("region_type"),
        pl.lit(2024, dtype=pl.Int64).alias("kwb_year"), pl.col("households").cast(pl.Int64),
        pl.col("n_dwellings").cast(pl.Int64).alias("dwellings"),
        pl.when(pl.col("buurt_code") == "BU99990101").then(pl.lit(KWB_GAS_BU99990101)).alias("avg_gas_m3"),
        pl.lit(None, dtype=pl.Float64).alias("avg_electricity_kwh"),
    )
    addresses = vbo.select(
        "vbo_id", "pand_id", "postcode", pl.col("huisnummer").alias("house_number"),
        pl.col("huisletter").alias("house_letter"), pl.col("toevoeging").alias("house_number_addition"),
        pl.col("openbare_ruimte_naam").alias("street"),
        pl.col("gebruiksdoel").str.contains("woonfunctie").alias("is_residential"),
        pl.col("oppervlakte_m2").alias("floor_area_m2"), pl.col("bouwjaar").alias("build_year"), "buurt_code",
        pl.lit("bag").alias("buurt_source"), "x_rd", "y_rd", "dwelling_id",
    )
    dwellings = heat_demand_gj(
        addresses.filter(pl.col("dwelling_id").is_not_null())
        .join(population.dwellings.select("dwelling_id", "dwelling_type", "owner_type"), on="dwelling_id")
        .with_columns(
            pl.when(pl.col("dwelling_type") == "apartment").then(pl.lit("apartment_low_mid"))
            .otherwise(pl.col("dwelling_type")).alias("dwelling_type_class"),
            build_year_class(pl.col("build_year")),
            pl.lit(None, dtype=pl.String).alias("energy_label_class"),
        )
    )
    with open_duckdb(path) as con:
        for schema in SCHEMAS:
            con.execute(f"create schema if not exists {schema}")
        ensure_audit_tables(con)
        con.register("b", buurten.to_arrow())
        con.execute(
            "create or replace table staging.stg_pdok__buurten as select buurt_code, buurt_name, wijk_code, "
            "'GM9999' as gemeente_code, 'Demodorp (synthetisch)' as gemeente_name, 2024 as geometry_year, "
            "st_geomfromwkb(wkb) as geometry, st_area(st_geomfromwkb(wkb)) / 10000 as area_ha from b"
        )
        con.register("k", kwb.to_arrow())
        con.execute("create or replace table staging.stg_cbs__kwb as select * from k")
        con.register("v", addresses.drop("dwelling_id").to_arrow())
        con.execute("create or replace table intermediate.int_verblijfsobjecten as "
                    "select * exclude (x_rd, y_rd), st_point(x_rd, y_rd) as geometry from v")
        con.register("d", dwellings.to_arrow())
        con.execute(
            "create or replace table intermediate.int_dwellings as select vbo_id, pand_id, buurt_code, postcode, "
            "house_number, build_year, build_year_class, floor_area_m2, dwelling_type, dwelling_type_class, "
            "cast(null as varchar) as energy_label, cast(null as varchar) as label_class, "
            "'estimated' as label_source, owner_type, 'ground_truth' as owner_source, heat_demand_space_gj, "
            "heat_demand_hot_water_gj, heat_demand_gj, owner_type = 'corporation' as in_corporation_portfolio, "
            "cast(null as bigint) as planned_renovation_year, cast(null as varchar) as planned_measure from d"
        )


def sql_assets(names: tuple[str, ...]) -> list[dg.AssetsDefinition]:
    models = [m for m in discover_models(sql_models_dir()) if m.name in names]
    assert sorted(m.name for m in models) == sorted(names)
    return [sql_model_asset(m) for m in models]


def resources_for(root: Path, warehouse: Path, **settings) -> dict:
    return {
        "http": HttpClient(mirror_dir=str(root / "mirror")),
        "warehouse": Warehouse(build_path=str(warehouse), published_path=str(warehouse.parent / "published.duckdb")),
        "settings": PipelineSettings(**{"gemeente_code": "GM9999", "year": 2024, **settings},
                                     snapshot_dir=str(warehouse.parent / "snap"),
                                     outputs_dir=str(warehouse.parent / "out")),
    }


def run_assets(assets: list, resources: dict) -> dg.ExecuteInProcessResult:
    """The tiny Definitions: the given assets (inputs they read but do not build are the stand-ins), in-process."""
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    defs = dg.Definitions(assets=assets, resources=resources, executor=dg.in_process_executor,
                          jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())])
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("all").execute_in_process(instance=instance, raise_on_error=False)
        failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
        assert result.success, failures
    return result


def invoke(asset: dg.AssetsDefinition, resources: dict):
    """Run one asset's function directly, without a Dagster run (fast)."""
    wanted = {k: v for k, v in resources.items() if k in asset.required_resource_keys}
    with dg.build_asset_context() as context:
        return asset(context=context, **wanted)


def build_sql_on(warehouse: Path, names: tuple[str, ...]) -> None:
    """Build the named models in layer order with DuckDB alone and check every column is documented.

    For runs whose point is the data (e.g. empty inputs): column lineage depends only on the SQL and the input
    schemas, which the Dagster runs of this module already check.
    """
    order = {"staging": 0, "intermediate": 1, "marts": 2}
    models = sorted((m for m in discover_models(sql_models_dir()) if m.name in names), key=lambda m: order[m.layer])
    assert len(models) == len(names)
    with open_duckdb(warehouse) as con:
        for model in models:
            con.execute(f"create or replace table {model.table} as {model.sql}")
            built = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                [model.layer, model.name]).fetchall()]
            assert built == [c.name for c in model.columns], model.table


def query(warehouse: Path, sql: str, spatial: bool = False) -> pl.DataFrame:
    """Read the warehouse; loading DuckDB spatial costs a sixth of a second, so only when the SQL needs it."""
    if spatial:
        with open_duckdb(warehouse, read_only=True) as con:
            return con.execute(sql).pl()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).pl()


def metadata(result: dg.ExecuteInProcessResult, step: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(step)[0].metadata.items()}


# --- the demo run -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root, settings = demo_area_once(tmp_path_factory)
    return root, settings, demo_population()


@pytest.fixture(scope="module")
def energy_run(demo, tmp_path_factory):
    root, settings, population = demo
    warehouse = warehouse_with_stand_ins(tmp_path_factory, population, tmp_path_factory.mktemp("energy"))
    result = run_assets([*raw_energy.ASSETS, *sql_assets(ENERGY_MODELS)], resources_for(root, warehouse, **settings))
    return warehouse, result


def test_cbs_energy_per_buurt_agrees_with_the_ground_truth(demo, energy_run):
    """CBS convention in the demo: occupied dwellings, gas over those not on a heat pump, rounded to tens."""
    _, _, population = demo
    warehouse, _ = energy_run
    cbs = query(warehouse, "select * from staging.stg_cbs__energie_buurt where region_type = 'buurt' "
                           "and dwelling_type = 'total' and ownership = 'total'")
    regions = query(warehouse, "select region_type, count(distinct region_code) as n from "
                               "staging.stg_cbs__energie_buurt group by 1")
    assert dict(regions.iter_rows()) == {"gemeente": 1, "wijk": 3, "buurt": 12}
    truth = population.dwellings.filter(pl.col("occupied")).group_by("buurt_code").agg(
        pl.col("gas_m3").filter(pl.col("heating") != "heat_pump").mean().alias("gas"),
        pl.col("electricity_kwh").mean().alias("electricity"),
    )
    joined = cbs.join(truth, left_on="region_code", right_on="buurt_code")
    assert joined.height == 12 and set(joined["cbs_table_id"]) == {"86159NED"} and set(joined["energy_year"]) == {2024}
    assert ((joined["avg_gas_m3"] - joined["gas"]).abs() <= 5 + 1e-9).all()
    assert ((joined["avg_electricity_kwh"] - joined["electricity"]).abs() <= 5 + 1e-9).all()


def test_heating_shares_agree_with_the_ground_truth(demo, energy_run):
    _, _, population = demo
    warehouse, _ = energy_run
    heating = query(warehouse, "select * from staging.stg_cbs__heating_buurt where region_type = 'buurt'")
    stock = population.dwellings.filter(pl.col("build_year") < 2022)  # the stock on 1 January 2022
    truth = stock.group_by("buurt_code").agg(
        pl.len().alias("n"), (100 * (pl.col("heating") == "gas_boiler").mean()).alias("gas"),
        (100 * (pl.col("heating") != "gas_boiler").mean()).alias("gas_free"),
    )
    joined = heating.join(truth, left_on="region_code", right_on="buurt_code").filter(pl.col("n") >= 10)
    assert joined.height >= 11 and set(joined["heating_year"]) == {2022}
    assert ((joined["pct_individual_gas_boiler"] - joined["gas"]).abs() <= 0.05 + 1e-9).all()
    assert ((joined["pct_gas_free"].fill_null(0) - joined["gas_free"]).abs() <= 0.05 + 1e-9).all()


def test_grid_use_per_buurt_agrees_with_the_ground_truth_and_the_source_module(demo, energy_run):
    _, _, population = demo
    warehouse, _ = energy_run
    grid = query(warehouse, "select * from intermediate.int_grid_use_buurt")
    gas = grid.filter(pl.col("product") == "gas")
    truth = population.dwellings.group_by("buurt_code").agg(
        (pl.col("heating") == "gas_boiler").sum().alias("n_gas"), pl.col("gas_m3").sum().alias("gas"))
    # every published gas connection lands in a buurt, and they are the gas-heated dwellings
    assert gas["connections"].sum() == pytest.approx(truth["n_gas"].sum())
    assert gas["total_annual_use"].sum() == pytest.approx(truth["gas"].sum(), rel=1e-4)
    whole = gas.join(truth, on="buurt_code").filter(pl.col("n_ranges_split") == 0)
    assert whole.height >= 1
    for row in whole.iter_rows(named=True):
        assert row["connections"] == row["n_gas"]
        assert row["total_annual_use"] == pytest.approx(row["gas"], abs=0.5 * row["connections"])
    assert (gas["use_unit"] == "m3").all()
    assert (grid.filter(pl.col("product") == "electricity")["use_unit"] == "kWh").all()
    # the SQL model and the source module's own mapping (kleinverbruik.map_to_buurten) give the same figures
    raw = query(warehouse, "select * from raw.kleinverbruik")
    addresses = query(warehouse, "select postcode, buurt_code from intermediate.int_verblijfsobjecten")
    expected = map_to_buurten(raw, addresses).sort("buurt_code", "product")
    got = grid.sort("buurt_code", "product")
    assert got["buurt_code"].to_list() == expected["buurt_code"].to_list()
    for column in ("connections", "total_annual_use", "avg_annual_use_per_connection", "smart_meter_pct",
                   "share_ranges_split"):
        assert got[column].to_list() == pytest.approx(expected[column].to_list()), column
    assert got["n_ranges_split"].to_list() == expected["n_ranges_split"].to_list()
    assert gas["n_ranges_split"].sum() >= 1  # the demo has ranges that cross a buurt boundary


def test_a_range_split_over_two_buurten_is_assigned_pro_rata(tmp_path):
    """Hand-made: range 1 (1000AA..1000AC, 20 gas connections of 1000 m3) holds 3 addresses in BU_A and 1 in BU_B;
    range 2 (1000AD, 10 of 500 m3) 2 in BU_B; range 3 (2000AA) no address of the area."""
    models = {m.name: m for m in discover_models(sql_models_dir())}
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        for schema in SCHEMAS:
            con.execute(f"create schema {schema}")
        ensure_audit_tables(con)
        con.execute("""create table raw.kleinverbruik as select * from (values
            ('stedin', 2024, '1000AA', '1000AC', 'gas', 20, 1000.0, 50.0, 'f.csv', 'line 2'),
            ('stedin', 2024, '1000AD', '1000AD', 'gas', 10, 500.0, 100.0, 'f.csv', 'line 3'),
            ('stedin', 2024, '2000AA', '2000AA', 'gas', 12, 800.0, 0.0, 'f.csv', 'line 4'))
            t(operator, year, postcode_from, postcode_to, product, connections, avg_annual_use, smart_meter_pct,
              source_file, source_record)""")
        con.execute("""alter table raw.kleinverbruik add column street varchar;
            alter table raw.kleinverbruik add column city varchar;
            alter table raw.kleinverbruik add column delivery_direction_pct double;
            alter table raw.kleinverbruik add column low_tariff_pct double;
            alter table raw.kleinverbruik add column connection_type varchar""")
        con.execute("""create table intermediate.int_verblijfsobjecten as select * from (values
            ('1000AA', 'BU_A'), ('1000AA', 'BU_A'), ('1000 ab', 'BU_A'), ('1000AC', 'BU_B'),
            ('1000AD', 'BU_B'), ('1000AD', 'BU_B'), ('1000AE', 'BU_C'), ('1000AB', null)) t(postcode, buurt_code)""")
        build_model(con, models["stg_grid__kleinverbruik"])
        build_model(con, models["int_grid_use_buurt"])
        result = con.execute("select * from intermediate.int_grid_use_buurt").pl()
    rows = {r["buurt_code"]: r for r in result.to_dicts()}
    assert set(rows) == {"BU_A", "BU_B"}  # BU_C's postcode is in no range; 2000AA has no address
    a, b = rows["BU_A"], rows["BU_B"]
    assert a["connections"] == pytest.approx(20 * 3 / 4) and b["connections"] == pytest.approx(20 / 4 + 10)
    assert a["total_annual_use"] == pytest.approx(15 * 1000) and b["total_annual_use"] == pytest.approx(5000 + 5000)
    assert b["avg_annual_use_per_connection"] == pytest.approx(10_000 / 15)
    assert b["smart_meter_pct"] == pytest.approx((5 * 50 + 10 * 100) / 15)
    assert (a["n_ranges"], a["n_ranges_split"], a["share_ranges_split"], a["n_addresses"]) == (1, 1, 1.0, 3)
    assert (b["n_ranges"], b["n_ranges_split"], b["share_ranges_split"], b["n_addresses"]) == (2, 1, 0.5, 3)


def test_energy_use_mart_converts_heat_demand_to_gas_as_cited(energy_run):
    """Hand computation for one buurt: m3 = sum(space x 1.05 / 1.04 + hot water x 1.10 / 0.72) / 0.03165."""
    warehouse, _ = energy_run
    mart = query(warehouse, "select * from marts.energy_use_buurt")
    assert mart.height == 12
    dwellings = query(warehouse, "select heat_demand_space_gj as s, heat_demand_hot_water_gj as w "
                                 "from intermediate.int_dwellings where buurt_code = 'BU99990102'")
    gas = ((dwellings["s"] * 1.05 / 1.04 + dwellings["w"] * 1.10 / 0.72) / 0.03165)
    row = mart.filter(pl.col("buurt_code") == "BU99990102").to_dicts()[0]
    assert row["n_dwellings"] == dwellings.height == 600
    assert row["modelled_gas_m3"] == pytest.approx(gas.sum())
    assert row["modelled_gas_m3_avg"] == pytest.approx(gas.mean())
    assert row["modelled_heat_demand_gj"] == pytest.approx((dwellings["s"] + dwellings["w"]).sum())
    assert row["measured_gas_source"] == "cbs_energie" and row["measured_gas_m3_avg"] == row["cbs_avg_gas_m3"]
    assert row["ratio_modelled_to_measured_gas"] == pytest.approx(gas.mean() / row["cbs_avg_gas_m3"])
    assert row["ratio_modelled_to_grid_gas"] == pytest.approx(gas.mean() / row["grid_gas_avg_m3_per_connection"])
    assert row["gas_lower_heating_value_mj_per_m3"] == 31.65
    # the CBS energy table wins over the (hand-made) KWB figure where both exist
    binnenstad = mart.filter(pl.col("buurt_code") == "BU99990101").to_dicts()[0]
    assert binnenstad["kwb_avg_gas_m3"] == KWB_GAS_BU99990101 and binnenstad["measured_gas_source"] == "cbs_energie"
    # the heating shares of the buurt come along; where most dwellings are gas-free the ratio says so
    assert mart.filter(pl.col("pct_gas_free") > 50)["ratio_modelled_to_measured_gas"].min() > \
        mart.filter(pl.col("pct_gas_free") < 5)["ratio_modelled_to_measured_gas"].max()


def test_provenance_of_files_and_parameters(demo, energy_run):
    root, settings, _ = demo
    warehouse, result = energy_run
    snapshots = query(warehouse, "select raw_table, sha256, bytes, rows, path from audit.snapshots")
    grid = snapshots.filter(pl.col("raw_table") == "raw.kleinverbruik").sort("sha256")
    files = [Path(f["path"]) for f in settings["kleinverbruik_files"]]
    assert sorted(grid["sha256"]) == sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)
    assert grid["rows"].sum() == query(warehouse, "select count(*) as n from raw.kleinverbruik")["n"][0]
    for path, sha in grid.select("path", "sha256").iter_rows():  # the stored copies are the delivered files
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha
    cbs = snapshots.filter(pl.col("raw_table") == "raw.cbs_energie_buurt")
    assert cbs.height >= 4  # TableInfos, DataProperties, the member list and the data pages
    parameters = query(warehouse, "select * from raw.param_energy_conversion")
    assert parameters.height == load_parameters("energy_conversion").height == 7
    assert parameters["source"].null_count() == 0
    param_snapshot = snapshots.filter(pl.col("raw_table") == "raw.param_energy_conversion")
    package_file = Path(raw_energy.__file__).parents[1] / "parameters" / "energy_conversion.csv"
    assert param_snapshot["sha256"].to_list() == [hashlib.sha256(package_file.read_bytes()).hexdigest()]
    assert metadata(result, "raw__cbs_energie_buurt")["cbs_table"] == "86159NED"
    assert metadata(result, "raw__cbs_heating_buurt")["cbs_table"] == "85677NED"


def test_sources_not_configured_give_empty_tables_and_the_mart_still_builds(demo, tmp_path_factory, tmp_path):
    root, _, population = demo
    warehouse = warehouse_with_stand_ins(tmp_path_factory, population, tmp_path)
    resources = resources_for(root, warehouse, cbs_energy=False, kleinverbruik_files=[])
    results = {asset.key.path[-1]: invoke(asset, resources) for asset in raw_energy.ASSETS}
    for table, columns in (("raw.cbs_energie_buurt", raw_energy.ENERGY_SCHEMA),
                           ("raw.cbs_heating_buurt", raw_energy.HEATING_SCHEMA),
                           ("raw.kleinverbruik", raw_energy.KLEINVERBRUIK_SCHEMA)):
        frame = query(warehouse, f"select * from {table}")
        assert frame.height == 0 and frame.columns == list(columns), table
    assert "not configured" in results["cbs_energie_buurt"].metadata["route"]
    assert "not configured" in results["kleinverbruik"].metadata["route"]
    build_sql_on(warehouse, ENERGY_MODELS)
    mart = query(warehouse, "select * from marts.energy_use_buurt")
    assert mart.height == 12
    assert mart["cbs_avg_gas_m3"].null_count() == 12 and mart["grid_gas_connections"].null_count() == 12
    assert mart["modelled_gas_m3"].null_count() == 0  # the model side does not need the measurements
    binnenstad = mart.filter(pl.col("buurt_code") == "BU99990101").to_dicts()[0]
    assert (binnenstad["measured_gas_source"], binnenstad["measured_gas_m3_avg"]) == ("cbs_kwb", KWB_GAS_BU99990101)
    assert binnenstad["ratio_modelled_to_measured_gas"] == pytest.approx(
        binnenstad["modelled_gas_m3_avg"] / KWB_GAS_BU99990101)


def direct(asset, root: Path, tmp_path: Path, **settings):
    return invoke(asset, resources_for(root, tmp_path / "w.duckdb", **settings))


def test_a_year_without_a_cbs_table_fails_clearly_without_retry(demo, tmp_path):
    root, _, _ = demo
    with pytest.raises(dg.Failure, match=r"year=2031; known years: \[2019, .*2024\]") as failure:
        direct(raw_energy.cbs_energie_buurt_raw, root, tmp_path, year=2031)
    assert failure.value.allow_retries is False
    with pytest.raises(dg.Failure, match=r"heating_year=2023"):
        direct(raw_energy.cbs_heating_buurt_raw, root, tmp_path, heating_year=2023)


def test_a_bad_grid_file_names_file_line_and_field(tmp_path, demo):
    root, settings, _ = demo
    good = Path(settings["kleinverbruik_files"][0]["path"]).read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "stedin_broken.csv"
    fields = good[3].split("\t")
    fields[3] = '"99XX"'  # POSTCODE_VAN
    bad.write_text("\n".join([*good[:3], "\t".join(fields), *good[4:]]) + "\n", encoding="utf-8")
    with pytest.raises(dg.Failure, match=r"stedin_broken\.csv record line 4 field 'POSTCODE_VAN'") as failure:
        direct(raw_energy.kleinverbruik_raw, root, tmp_path,
               kleinverbruik_files=[{"path": str(bad), "operator": "stedin", "year": 2024}])
    assert failure.value.allow_retries is False
    with pytest.raises(dg.Failure, match=r"nowhere\.csv: file not found \(configured as kleinverbruik_files\)"):
        direct(raw_energy.kleinverbruik_raw, root, tmp_path,
               kleinverbruik_files=[{"path": str(tmp_path / "nowhere.csv"), "operator": "stedin", "year": 2024}])
