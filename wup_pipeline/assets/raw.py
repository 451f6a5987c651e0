"""Raw assets: download (or read from the mirror) -> immutable snapshot -> raw.* table + provenance."""


import contextlib
from collections.abc import Iterator

import dagster as dg
import duckdb
import polars as pl

from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
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

    Network trouble (SourceUnavailableError) still goes to the asset's retry policy.
    """
    try:
        yield
    except (InputError, ColumnResolutionError) as exc:
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
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="CBS Kerncijfers wijken en buurten of the gemeente (its own row, wijken, buurten), "
    "columns resolved through DataProperties; raw.cbs_kwb__columns names the CBS key behind each column.",
)
def cbs_kwb_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    store = SnapshotStore(settings.snapshot_dir)
    with bad_input_fails_without_retry():
        extract = cbs_kwb.fetch_kwb(
            http, store, settings.gemeente_code, settings.year, settings.cbs_odata_base_url
        )
    frame = extract.frame.with_columns(
        pl.lit(extract.table_id).alias("table_id"), pl.lit(extract.year).alias("period_year")
    )
    columns = pl.DataFrame(  # noqa: F841 - read by DuckDB below
        [vars(c) for c in extract.columns],
        schema={"name": pl.String, "key": pl.String, "title": pl.String, "unit": pl.String,
                "datatype": pl.String, "topic_path": pl.String},
    ).with_columns(pl.lit(extract.table_id).alias("table_id"))
    with warehouse.connect() as con:
        con.execute("begin transaction")
        con.execute("create or replace table raw.cbs_kwb as select * from frame")
        con.execute("create or replace table raw.cbs_kwb__columns as select * from columns")
        record_snapshots(con, "raw.cbs_kwb", extract.snapshots, context.run_id)
        con.execute("commit")
    missing = [c.name for c in extract.columns if c.key is None]
    context.log.info(
        f"CBS {extract.table_id} (Modified {extract.modified}): {frame.height} regions"
        + (" from unchanged snapshots, nothing downloaded" if extract.reused else "")
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": frame.height,
            "dagster/table_name": "raw.cbs_kwb",
            "cbs_table": extract.table_id,
            "reused_unchanged_snapshot": extract.reused,
            "columns_not_in_this_year": dg.MetadataValue.json(missing),
            **snapshot_metadata(extract.snapshots),
        }
    )


@dg.asset(
    key=["raw", "pdok_buurten"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="Buurt boundaries of the gemeente from PDOK CBS wijken en buurten (OGC API Features, EPSG:28992).",
)
def pdok_buurten_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    store = SnapshotStore(settings.snapshot_dir)
    with bad_input_fails_without_retry():
        extract = pdok_wijkenbuurten.fetch_buurten(
            http, store, settings.gemeente_code, settings.year, settings.pdok_base_url
        )
    frame = extract.frame  # noqa: F841 - read by DuckDB below
    with warehouse.connect() as con:
        con.execute("begin transaction")
        con.execute(
            "create or replace table raw.pdok_buurten as select * exclude (geometry_wkb), "
            f"{int(extract.year)} as geometry_year, st_geomfromwkb(geometry_wkb) as geometry from frame"
        )
        record_snapshots(con, "raw.pdok_buurten", extract.snapshots, context.run_id)
        con.execute("commit")
    context.log.info(f"PDOK wijken-en-buurten-{extract.year}: {extract.frame.height} buurten")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": extract.frame.height,
            "dagster/table_name": "raw.pdok_buurten",
            **snapshot_metadata(extract.snapshots),
        }
    )
