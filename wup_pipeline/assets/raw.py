"""Raw assets: download (or read from the mirror) -> immutable snapshot -> raw.* table + provenance."""


import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient, MirrorMissingError
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore
from wup_pipeline.resources.warehouse import Warehouse
from wup_pipeline.sources import cbs_kwb, pdok_wijkenbuurten
from wup_pipeline.sources.cbs_kwb import ColumnResolutionError

WAREHOUSE_POOL = "duckdb_warehouse"  # one writer at a time on the DuckDB file
SOURCE_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


@contextlib.contextmanager
def bad_input_fails_without_retry() -> Iterator[None]:
    """Bad input does not get better by retrying: fail the step at once with the clear message.

    Network trouble (SourceUnavailableError) still goes to the asset's retry policy; a payload missing
    from a local mirror is a configuration problem and is not retried either.
    """
    try:
        yield
    except (InputError, ColumnResolutionError, MirrorMissingError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def record_snapshots(
    con: duckdb.DuckDBPyConnection, raw_table: str, snapshots: list[SnapshotRecord], run_id: str
) -> None:
    """Replace the provenance rows behind a raw table (the full history stays in the snapshot store)."""
    con.execute("delete from audit.snapshots where raw_table = ?", [raw_table])
    rows = [{**s.as_row(), "raw_table": raw_table, "run_id": run_id} for s in snapshots]
    if rows:
        frame = pl.DataFrame(rows, infer_schema_length=None)  # noqa: F841 - read by DuckDB below
        con.execute("insert into audit.snapshots by name select * from frame")


def write_raw_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    snapshots: list[SnapshotRecord],
    run_id: str,
    select: str = "*",
) -> None:
    """Replace a raw table and its provenance rows in one transaction (all or nothing).

    ``select`` may turn columns into DuckDB types, e.g. ``* exclude (geometry_wkb), st_geomfromwkb(...)``.
    """
    con.execute("begin transaction")
    try:
        con.register("_incoming", frame.to_arrow())
        con.execute(f"create or replace table {table} as select {select} from _incoming")
        con.unregister("_incoming")
        record_snapshots(con, table, snapshots, run_id)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def raw_table_metadata(table: str, frame: pl.DataFrame, snapshots: list[SnapshotRecord], **extra) -> dict:
    return {
        "dagster/row_count": frame.height,
        "dagster/table_name": table,
        **snapshot_metadata(snapshots),
        **extra,
    }


def snapshot_metadata(snapshots: list[SnapshotRecord]) -> dict:
    return {
        "snapshots": dg.MetadataValue.json(
            [{"url": s.url, "sha256": s.sha256, "retrieved_at": s.retrieved_at, "rows": s.rows,
              "source_version": s.source_version} for s in snapshots]
        ),
        "source_version": dg.MetadataValue.text(snapshots[0].source_version or "") if snapshots else "",
    }


@dg.asset(
    key=["raw", "cbs_kwb"],
    deps=[dg.AssetKey(["raw", "pdok_buurten"])],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="CBS Kerncijfers wijken en buurten of the gemeente (its own row, wijken, buurten), "
    "columns resolved through DataProperties; raw.cbs_kwb__columns names the CBS key behind each column. "
    "With kwb_route=buurten_file_attributes: the KWB attributes delivered with the buurt polygons.",
)
def cbs_kwb_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    table_id = cbs_kwb.KWB_TABLES.get(settings.year, f"KWB {settings.year}")
    if settings.kwb_route == "buurten_file_attributes":
        with warehouse.connect() as con:
            buurten = con.execute("select buurtcode, properties_json from raw.pdok_buurten").pl()
        frame, columns = cbs_kwb.kwb_from_buurt_attributes(buurten, table_id)
        snapshots, reused, modified = [], False, None
    else:
        store = SnapshotStore(settings.snapshot_dir)
        with bad_input_fails_without_retry():
            extract = cbs_kwb.fetch_kwb(
                http, store, settings.gemeente_code, settings.year, settings.cbs_odata_base_url
            )
        frame, columns, snapshots = extract.frame, extract.columns, extract.snapshots
        table_id, reused, modified = extract.table_id, extract.reused, extract.modified
    frame = frame.with_columns(pl.lit(table_id).alias("table_id"), pl.lit(settings.year).alias("period_year"))
    column_frame = pl.DataFrame(
        [vars(c) for c in columns],
        schema={"name": pl.String, "key": pl.String, "title": pl.String, "unit": pl.String,
                "datatype": pl.String, "topic_path": pl.String},
    ).with_columns(pl.lit(table_id).alias("table_id"))
    with warehouse.connect() as con:
        write_raw_table(con, "raw.cbs_kwb", frame, snapshots, context.run_id)
        con.register("_columns", column_frame.to_arrow())
        con.execute("create or replace table raw.cbs_kwb__columns as select * from _columns")
        con.unregister("_columns")
    missing = [c.name for c in columns if c.key is None]
    context.log.info(
        f"KWB {table_id} ({settings.kwb_route}, Modified {modified}): {frame.height} regions"
        + (" from unchanged snapshots, nothing downloaded" if reused else "")
    )
    return dg.MaterializeResult(
        metadata=raw_table_metadata(
            "raw.cbs_kwb", frame, snapshots, cbs_table=table_id, route=settings.kwb_route,
            reused_unchanged_snapshot=reused, columns_not_in_this_year=dg.MetadataValue.json(missing),
        )
    )


@dg.asset(
    key=["raw", "pdok_buurten"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="Buurt boundaries of the area: PDOK CBS wijken en buurten (OGC API Features, EPSG:28992) for "
    "the gemeente, or a local GeoJSON/GeoPackage (buurten_file).",
)
def pdok_buurten_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    store = SnapshotStore(settings.snapshot_dir)
    with bad_input_fails_without_retry():
        if settings.buurten_file:
            path = Path(settings.buurten_file)
            snapshots = [store.put_file(path, source_id=pdok_wijkenbuurten.SOURCE_ID, dataset=path.name,
                                       licence=pdok_wijkenbuurten.LICENCE)]
            frame = pdok_wijkenbuurten.read_buurten_file(path)
            route = f"local file {path.name}"
        else:
            extract = pdok_wijkenbuurten.fetch_buurten(
                http, store, settings.gemeente_code, settings.year, settings.pdok_base_url
            )
            frame, snapshots, route = extract.frame, extract.snapshots, "PDOK OGC API Features"
    with warehouse.connect() as con:
        write_raw_table(
            con, "raw.pdok_buurten", frame, snapshots, context.run_id,
            select=f"* exclude (geometry_wkb), {int(settings.year)} as geometry_year, "
            "st_geomfromwkb(geometry_wkb) as geometry",
        )
    context.log.info(f"buurten ({route}): {frame.height}")
    return dg.MaterializeResult(metadata=raw_table_metadata("raw.pdok_buurten", frame, snapshots, route=route))
