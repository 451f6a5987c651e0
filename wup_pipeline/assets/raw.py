"""Raw assets: download (or read from the mirror) -> immutable snapshot -> raw.* table + provenance."""


import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from wup_pipeline.orchestration.partitions import partition_gemeenten
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient, MirrorMissingError
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore
from wup_pipeline.resources.warehouse import Warehouse
from wup_pipeline.sources import cbs_kwb, pdok_wijkenbuurten
from wup_pipeline.sources.cbs_kwb import ColumnResolutionError

PARTITION_COLUMN = "partition_gemeente"  # the gemeente partition a raw row was fetched for
WAREHOUSE_POOL = "duckdb_warehouse"
INSERT_SLICE_ROWS = 1_000_000
# provenance of a raw table: per gemeente fetched, or one list for every gemeente of the run
Snapshots = list[SnapshotRecord] | dict[str, list[SnapshotRecord]]  # one writer at a time on the DuckDB file
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
    con: duckdb.DuckDBPyConnection, raw_table: str, snapshots: Snapshots, run_id: str,
    gemeenten: list[str] | None = None,
) -> None:
    """Replace the provenance rows behind a raw table, or behind its rows of ``gemeenten`` (the full history stays
    in the snapshot store). ``snapshots`` per gemeente, or one list for all (recorded for each gemeente)."""
    if gemeenten is None:
        con.execute("delete from audit.snapshots where raw_table = ?", [raw_table])
    else:
        con.execute("delete from audit.snapshots where raw_table = $1 "
                    "and (partition_gemeente is null or list_contains($2, partition_gemeente))",
                    [raw_table, gemeenten])
    by_gemeente = snapshots if isinstance(snapshots, dict) else {g: snapshots for g in gemeenten or [None]}
    rows = [{**s.as_row(), "raw_table": raw_table, "run_id": run_id, "partition_gemeente": gemeente}
            for gemeente, records in by_gemeente.items() for s in records]
    if rows:
        frame = pl.DataFrame(rows, infer_schema_length=None)  # noqa: F841 - read by DuckDB below
        con.execute("insert into audit.snapshots by name select * from frame")


def all_snapshots(snapshots: Snapshots) -> list[SnapshotRecord]:
    return [s for records in snapshots.values() for s in records] if isinstance(snapshots, dict) else snapshots


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
    with _transaction(con):
        con.register("_incoming", frame.to_arrow())
        con.execute(f"create or replace table {table} as select {select} from _incoming")
        con.unregister("_incoming")
        record_snapshots(con, table, snapshots, run_id)


def run_gemeenten(context: dg.AssetExecutionContext, settings: PipelineSettings) -> list[str]:
    """The gemeenten this run fetches: its partition key or key range, or the configured gemeente."""
    return partition_gemeenten(context, default=settings.gemeente_code)


def with_gemeenten_delivered(con: duckdb.DuckDBPyConnection, gemeenten: list[str], raw_table: str,
                             run_id: str) -> list[str]:
    """The run's gemeenten plus any other gemeente whose rows of ``raw_table`` this same run delivered (a local
    file holds the gemeenten it holds): what a source built on that table covers."""
    delivered = con.execute("select distinct partition_gemeente from audit.snapshots where raw_table = ? "
                            "and run_id = ? and partition_gemeente is not null", [raw_table, run_id]).fetchall()
    return sorted({*gemeenten, *(row[0] for row in delivered)})


def write_partition_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    gemeenten: list[str],
    snapshots: Snapshots,
    run_id: str,
    select: str = "*",
) -> None:
    """Replace the rows of ``gemeenten`` (the ``partition_gemeente`` column) and of any other gemeente the frame
    holds in a raw table, and their provenance rows, in one transaction; the rows of other gemeenten stay.

    A delivery with new columns adds them (older rows get NULL). A column whose type changed can only be
    replaced for every gemeente at once: if the table holds rows of other gemeenten, that is a clear error.
    """
    if PARTITION_COLUMN not in frame.columns:
        raise ValueError(f"{table}: the frame has no {PARTITION_COLUMN} column")
    # a local file may deliver more gemeenten than the run asked for: it replaces the rows of each
    gemeenten = sorted(set(gemeenten) | set(frame[PARTITION_COLUMN].drop_nulls().unique().to_list()))
    # In slices: converting a national frame to Arrow at once copies all its strings (~2 GB for the BAG),
    # and DuckDB keeps data registered inside a transaction until the commit.
    slices = frame.iter_slices(INSERT_SLICE_ROWS)
    with _transaction(con):
        shape = frame.head(0).to_arrow()  # noqa: F841 - the columns, read by DuckDB below
        incoming = dict(con.execute(f"select column_name, column_type from (describe select {select} "
                                    "from shape)").fetchall())
        schema, name = table.split(".")
        existing = dict(con.execute("select column_name, data_type from information_schema.columns "
                                    "where table_schema = ? and table_name = ?", [schema, name]).fetchall())
        partitioned = PARTITION_COLUMN in existing  # a table from before gemeente partitions is replaced whole
        others = con.execute(f"select count(*) from {table} where not list_contains($1, {PARTITION_COLUMN})",
                             [gemeenten]).fetchone()[0] if partitioned else 0
        changed = {c: (existing[c], t) for c, t in incoming.items() if c in existing and existing[c] != t}
        replace_whole = not partitioned or (changed and not others)
        if replace_whole:
            # created from the first slice, not from the empty frame: DuckDB 1.5.5 loses large inserts into a
            # table created from an empty Arrow scan in the same transaction (tested)
            first = next(slices, None)
            first_part = (first if first is not None else frame.head(0)).to_arrow()  # noqa: F841 - read by DuckDB
            con.execute(f"create or replace table {table} as select {select} from first_part")
        elif changed:
            column, (old, new) = next(iter(changed.items()))
            raise InputError(table, f"this delivery has {column} as {new}, but {others} rows of other gemeenten "
                             f"have {old}: refresh all gemeenten in one run (a backfill)", field=column)
        else:
            for column, column_type in incoming.items():
                if column not in existing:
                    con.execute(f'alter table {table} add column "{column}" {column_type}')
            con.execute(f"delete from {table} where list_contains($1, {PARTITION_COLUMN})", [gemeenten])
        for part in slices:
            arrow_part = part.to_arrow()  # noqa: F841 - read by DuckDB below
            con.execute(f"insert into {table} by name select {select} from arrow_part")
        record_snapshots(con, table, snapshots, run_id, gemeenten)


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("begin transaction")
    try:
        yield
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


def tag_gemeente(frame: pl.DataFrame, gemeente: str) -> pl.DataFrame:
    return frame.with_columns(pl.lit(gemeente).alias(PARTITION_COLUMN))


def gemeente_of_region(region_code: pl.Expr) -> pl.Expr:
    """GM + the four digits of a GM/WK/BU region code: the gemeente a region belongs to."""
    return pl.concat_str(pl.lit("GM"), region_code.str.slice(2, 4))


def per_gemeente(gemeenten: list[str], fetch) -> tuple[pl.DataFrame, dict[str, list[SnapshotRecord]], list]:
    """``fetch(gemeente)`` for each gemeente of the run: the frames tagged and concatenated, snapshots per gemeente,
    and the extracts."""
    extracts = [fetch(gemeente) for gemeente in gemeenten]
    frame = pl.concat([tag_gemeente(e.frame, g) for g, e in zip(gemeenten, extracts, strict=True)],
                      how="diagonal_relaxed")
    return frame, {g: e.snapshots for g, e in zip(gemeenten, extracts, strict=True)}, extracts


@dg.asset(
    key=["raw", "cbs_kwb"],
    deps=[dg.AssetKey(["raw", "pdok_buurten"])],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="CBS Kerncijfers wijken en buurten of each gemeente of the run (its own row, wijken, buurten), "
    "columns resolved through DataProperties; raw.cbs_kwb__columns names the CBS key behind each column. "
    "With kwb_route=buurten_file_attributes: the KWB attributes delivered with the buurt polygons.",
)
def cbs_kwb_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    gemeenten = run_gemeenten(context, settings)
    table_id = cbs_kwb.KWB_TABLES.get(settings.year, f"KWB {settings.year}")
    if settings.kwb_route == "buurten_file_attributes":
        with warehouse.connect() as con:
            gemeenten = with_gemeenten_delivered(con, gemeenten, "raw.pdok_buurten", context.run_id)
            buurten = con.execute(f"select buurtcode, properties_json, {PARTITION_COLUMN} from raw.pdok_buurten "
                                  f"where list_contains($1, {PARTITION_COLUMN})", [gemeenten]).pl()
        frame, columns = cbs_kwb.kwb_from_buurt_attributes(buurten.drop(PARTITION_COLUMN), table_id)
        region = pl.coalesce(pl.col("codering"), pl.col("wijken_en_buurten")).str.strip_chars()
        frame = frame.with_columns(gemeente_of_region(region).alias(PARTITION_COLUMN))
        snapshots, reused, modified = [], False, None
    else:
        store = SnapshotStore(settings.snapshot_dir)
        with bad_input_fails_without_retry():
            frame, snapshots, extracts = per_gemeente(gemeenten, lambda gemeente: cbs_kwb.fetch_kwb(
                http, store, gemeente, settings.year, settings.cbs_odata_base_url))
        columns, table_id = extracts[0].columns, extracts[0].table_id
        reused, modified = all(e.reused for e in extracts), extracts[0].modified
    frame = frame.with_columns(pl.lit(table_id).alias("table_id"), pl.lit(settings.year).alias("period_year"))
    column_frame = pl.DataFrame(
        [vars(c) for c in columns],
        schema={"name": pl.String, "key": pl.String, "title": pl.String, "unit": pl.String,
                "datatype": pl.String, "topic_path": pl.String},
    ).with_columns(pl.lit(table_id).alias("table_id"))
    with warehouse.connect() as con:
        write_partition_rows(con, "raw.cbs_kwb", frame, gemeenten, snapshots, context.run_id)
        con.register("_columns", column_frame.to_arrow())
        con.execute("create or replace table raw.cbs_kwb__columns as select * from _columns")
        con.unregister("_columns")
    missing = [c.name for c in columns if c.key is None]
    context.log.info(
        f"KWB {table_id} ({settings.kwb_route}, Modified {modified}): {frame.height} regions of "
        f"{len(gemeenten)} gemeente(n)" + (" from unchanged snapshots, nothing downloaded" if reused else "")
    )
    return dg.MaterializeResult(
        metadata=raw_table_metadata(
            "raw.cbs_kwb", frame, all_snapshots(snapshots), cbs_table=table_id, route=settings.kwb_route,
            reused_unchanged_snapshot=reused, columns_not_in_this_year=dg.MetadataValue.json(missing),
            gemeenten=dg.MetadataValue.json(gemeenten),
        )
    )


@dg.asset(
    key=["raw", "pdok_buurten"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="Buurt boundaries of each gemeente of the run: PDOK CBS wijken en buurten (OGC API Features, "
    "EPSG:28992), or a local GeoJSON/GeoPackage (buurten_file; its rows replace those of the gemeenten it holds).",
)
def pdok_buurten_raw(
    context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    gemeenten = run_gemeenten(context, settings)
    store = SnapshotStore(settings.snapshot_dir)
    with bad_input_fails_without_retry():
        if settings.buurten_file:
            path = Path(settings.buurten_file)
            snapshots = [store.put_file(path, source_id=pdok_wijkenbuurten.SOURCE_ID, dataset=path.name,
                                        licence=pdok_wijkenbuurten.LICENCE)]
            # A local file is the area: all its buurten, each under its own gemeente.
            frame = pdok_wijkenbuurten.read_buurten_file(path)
            frame = frame.with_columns(pl.coalesce(pl.col("gemeentecode"), pl.lit(gemeenten[0]))
                                       .alias(PARTITION_COLUMN))
            route = f"local file {path.name}"
        else:
            frame, snapshots, _ = per_gemeente(gemeenten, lambda gemeente: pdok_wijkenbuurten.fetch_buurten(
                http, store, gemeente, settings.year, settings.pdok_base_url))
            route = "PDOK OGC API Features"
    with warehouse.connect() as con:
        write_partition_rows(
            con, "raw.pdok_buurten", frame, gemeenten, snapshots, context.run_id,
            select=f"* exclude (geometry_wkb), {int(settings.year)} as geometry_year, "
            "st_geomfromwkb(geometry_wkb) as geometry",
        )
    context.log.info(f"buurten ({route}): {frame.height}")
    return dg.MaterializeResult(metadata=raw_table_metadata(
        "raw.pdok_buurten", frame, all_snapshots(snapshots), route=route, gemeenten=dg.MetadataValue.json(
            sorted(set(frame[PARTITION_COLUMN].to_list()) | set(gemeenten)))))
