"""Raw assets for measured energy use: CBS energy and heating per buurt, grid operators' small-consumer data,
and the conversion parameters that turn modelled heat demand into gas.

A source that is not configured (``settings.cbs_energy`` False, no ``kleinverbruik_files``) gives an EMPTY table
with the right columns, so the models downstream still build and show the measured figures as missing.
"""

import dataclasses
from importlib import resources
from pathlib import Path

import dagster as dg
import polars as pl

from wup_pipeline.assets.raw import (
    PARTITION_COLUMN,
    SOURCE_RETRY,
    WAREHOUSE_POOL,
    all_snapshots,
    bad_input_fails_without_retry,
    per_gemeente,
    raw_table_metadata,
    run_gemeenten,
    write_partition_rows,
    write_raw_table,
)
from wup_pipeline.assets.raw_municipal import snapshot_input_file
from wup_pipeline.parameters import PACKAGE, load_parameters
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.resources.warehouse import Warehouse
from wup_pipeline.sources import cbs_energie, kleinverbruik

ENERGY_SCHEMA = {
    PARTITION_COLUMN: pl.String,
    "year": pl.Int64, "table_id": pl.String, "region_code": pl.String, "region_kind": pl.String,
    "woningkenmerk_code": pl.String, "dwelling_type": pl.String, "ownership": pl.String,
    **{c.name: pl.Float64 for c in cbs_energie.ENERGY_COLUMNS},
}
HEATING_SCHEMA = {
    PARTITION_COLUMN: pl.String,
    "year": pl.Int64, "table_id": pl.String, "region_code": pl.String, "region_kind": pl.String,
    **{column: pl.Float64 for column in cbs_energie.HEATING_KINDS.values()},
}
KLEINVERBRUIK_SCHEMA = {**kleinverbruik.OUTPUT_SCHEMA, "source_file": pl.String}
ENERGY_CONVERSION = "energy_conversion"
NOT_CONFIGURED = "not configured (cbs_energy is off): empty table"


def _cbs_table(tables: dict[int, str], year: int, setting: str, what: str) -> None:
    """A year without a known CBS table is a configuration error: say which years exist, do not retry."""
    if year not in tables:
        raise dg.Failure(
            f"no CBS table of {what} is known for {setting}={year}; known years: {sorted(tables)} "
            "(set another year, or cbs_energy: false to run without CBS energy figures)",
            allow_retries=False,
        )


def _columns_metadata(extract) -> dict:
    return {
        "cbs_table": extract.table_id,
        "cbs_modified": extract.modified or "",
        "reused_unchanged_snapshot": extract.reused,
        "cbs_columns": dg.MetadataValue.json({c.name: c.key for c in extract.columns}),
        "cbs_members": dg.MetadataValue.json(extract.members.to_dicts()),
    }


def write_cbs_regions(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings, table: str, schema: dict,
    tables: dict[int, str], year: int, setting: str, what: str, fetch,
) -> dg.MaterializeResult:
    """A CBS table of regions, fetched per gemeente of the run (``fetch(gemeente)``) into its raw table; empty
    with the right columns when cbs_energy is off."""
    gemeenten = run_gemeenten(context, settings)
    snapshots, extra = [], {"route": NOT_CONFIGURED}
    frame = pl.DataFrame(schema=schema)
    if settings.cbs_energy:
        _cbs_table(tables, year, setting, what)
        with bad_input_fails_without_retry():
            frame, snapshots, extracts = per_gemeente(gemeenten, fetch)
        frame, extract = frame.cast(schema), extracts[0]
        extra = {"route": f"CBS StatLine {extract.table_id}", **_columns_metadata(extract)}
        context.log.info(f"CBS {extract.table_id} (Modified {extract.modified}): {frame.height} rows")
    else:
        context.log.warning(f"CBS {what}: cbs_energy is off; {table} is empty")
    with warehouse.connect() as con:
        write_partition_rows(con, table, frame, gemeenten, snapshots, context.run_id)
    return dg.MaterializeResult(metadata=raw_table_metadata(table, frame, all_snapshots(snapshots), **extra))


@dg.asset(
    key=["raw", "cbs_energie_buurt"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="CBS energy use of dwellings per region (gemeente, wijken, buurten) and Woningkenmerken member "
    "for settings.year of each gemeente of the run (StatLine 'Energieverbruik particuliere woningen; woningtype, "
    "wijken en buurten'); "
    "docs/sources/cbs-energie.md. Empty when cbs_energy is off.",
)
def cbs_energie_buurt_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    return write_cbs_regions(
        context, warehouse, settings, "raw.cbs_energie_buurt", ENERGY_SCHEMA, cbs_energie.ENERGY_TABLES,
        settings.year, "year", "energy use per buurt",
        lambda gemeente: cbs_energie.fetch_energy(http, SnapshotStore(settings.snapshot_dir), gemeente, settings.year,
                                                  settings.cbs_odata_base_url))


@dg.asset(
    key=["raw", "cbs_heating_buurt"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="CBS main heating installations of dwellings per region for settings.heating_year (StatLine "
    "'Woningen; hoofdverwarmingsinstallaties, wijken en buurten', series ends 2022): % of dwellings per kind; "
    "docs/sources/cbs-energie.md. Empty when cbs_energy is off.",
)
def cbs_heating_buurt_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    return write_cbs_regions(
        context, warehouse, settings, "raw.cbs_heating_buurt", HEATING_SCHEMA, cbs_energie.HEATING_TABLES,
        settings.heating_year, "heating_year", "main heating installations",
        lambda gemeente: cbs_energie.fetch_heating(http, SnapshotStore(settings.snapshot_dir), gemeente,
                                                   settings.heating_year, settings.cbs_odata_base_url))


@dg.asset(
    key=["raw", "kleinverbruik"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Grid operators' small-consumer data (connections and standard annual use per postcode range and "
    "product) from every configured file, concatenated; source_file and source_record point at the line. "
    "docs/sources/kleinverbruik.md. Empty when no file is configured.",
)
def kleinverbruik_raw(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    store = SnapshotStore(settings.snapshot_dir)
    frames, snapshots = [pl.DataFrame(schema=KLEINVERBRUIK_SCHEMA)], []
    with bad_input_fails_without_retry():
        for grid_file in settings.kleinverbruik_files:  # a handful of files, one per operator and year
            # Snapshot first: the delivered file is kept even when it turns out unreadable.
            record = snapshot_input_file(store, grid_file.path, source_id="kleinverbruik",
                                         setting="kleinverbruik_files", licence=kleinverbruik.LICENCE)
            part = kleinverbruik.read_kleinverbruik(grid_file.path, grid_file.operator, grid_file.year)
            frames.append(part.with_columns(pl.lit(Path(grid_file.path).name).alias("source_file")))
            snapshots.append(dataclasses.replace(record, rows=part.height))
            context.log.info(f"{Path(grid_file.path).name} ({grid_file.operator} {grid_file.year}): "
                             f"{part.height} postcode ranges")
    frame = pl.concat(frames).cast(KLEINVERBRUIK_SCHEMA)
    if not settings.kleinverbruik_files:
        context.log.warning("kleinverbruik: no grid operator files configured; raw.kleinverbruik is empty")
    with warehouse.connect() as con:
        write_raw_table(con, "raw.kleinverbruik", frame, snapshots, context.run_id)
    return dg.MaterializeResult(metadata=raw_table_metadata(
        "raw.kleinverbruik", frame, snapshots,
        route=f"{len(settings.kleinverbruik_files)} file(s)" if settings.kleinverbruik_files else "not configured",
        files=dg.MetadataValue.json([{"file": Path(f.path).name, "operator": f.operator, "year": f.year}
                                     for f in settings.kleinverbruik_files]),
    ))


@dg.asset(
    key=["raw", "param_energy_conversion"],
    group_name="parameters",
    kinds={"duckdb", "csv"},
    pool=WAREHOUSE_POOL,
    description="Parameters wup_pipeline/parameters/energy_conversion.csv, one value per row with unit and source: "
    "gas lower heating value, HR boiler efficiencies and pipe losses (PBL Vesta 3.0 functional design) that turn "
    "modelled heat demand into m3 gas, and the koppelkansen plan window.",
)
def param_energy_conversion_raw(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    with bad_input_fails_without_retry():
        frame = load_parameters(ENERGY_CONVERSION)
    with resources.as_file(resources.files(PACKAGE).joinpath(f"{ENERGY_CONVERSION}.csv")) as path:
        snapshots = [SnapshotStore(settings.snapshot_dir).put_file(path, source_id="parameters",
                                   dataset=path.name, rows=frame.height,
                                   licence="EUPL-1.2 (this project); values cited from their publications")]
    with warehouse.connect() as con:
        write_raw_table(con, "raw.param_energy_conversion", frame, snapshots, context.run_id)
    context.log.info(f"energy conversion parameters: {frame.height} rows")
    return dg.MaterializeResult(metadata=raw_table_metadata(
        "raw.param_energy_conversion", frame, snapshots,
        values=dg.MetadataValue.json(dict(frame.select("name", "value").iter_rows())),
    ))


ASSETS = [cbs_energie_buurt_raw, cbs_heating_buurt_raw, kleinverbruik_raw, param_energy_conversion_raw]
