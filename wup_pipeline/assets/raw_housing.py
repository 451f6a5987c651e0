"""Raw assets for the address-level housing stock: BAG, energy labels, the corporation portfolio."""

import math
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import shapely

from wup_pipeline.assets.raw import (
    PARTITION_COLUMN,
    SOURCE_RETRY,
    WAREHOUSE_POOL,
    all_snapshots,
    bad_input_fails_without_retry,
    gemeente_of_region,
    raw_table_metadata,
    run_gemeenten,
    tag_gemeente,
    with_gemeenten_delivered,
    write_partition_rows,
    write_raw_table,
)
from wup_pipeline.assets.raw_municipal import snapshot_input_file
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.resources.warehouse import Warehouse
from wup_pipeline.sources import bag, corporation_portfolio, ep_online

BUURTEN = dg.AssetKey(["raw", "pdok_buurten"])
BAG_VBO = dg.AssetKey(["raw", "bag_verblijfsobjecten"])
BAG_VBO_TABLE = "raw.bag_verblijfsobjecten"


class EpOnlineApi(dg.ConfigurableResource):
    """EP-Online API access. The key is a secret: set EP_ONLINE_API_KEY; it never reaches logs or metadata."""

    api_key: str | None = None
    max_requests_per_second: float = 4.0


def area_bbox(warehouse: Warehouse, gemeente: str) -> tuple[float, float, float, float]:
    """Bounding box (EPSG:28992, whole metres, rounded outwards) of the gemeente's buurten."""
    with warehouse.connect() as con:
        blobs = con.execute(f"select st_aswkb(geometry) from raw.pdok_buurten where {PARTITION_COLUMN} = ?",
                            [gemeente]).fetchall()
    if not blobs:
        raise dg.Failure(f"raw.pdok_buurten has no buurten of {gemeente}: no area to fetch BAG objects for",
                         allow_retries=False)
    minx, miny, maxx, maxy = shapely.total_bounds(shapely.from_wkb([bytes(b[0]) for b in blobs]))
    return float(math.floor(minx)), float(math.floor(miny)), float(math.ceil(maxx)), float(math.ceil(maxy))


def located_in_gemeenten(
    warehouse: Warehouse, verblijfsobjecten: pl.DataFrame, panden: pl.DataFrame, fallback: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tag the objects of a local extract with their gemeente: from the BAG's buurt code, else the buurt polygon
    (raw.pdok_buurten) around the point, else ``fallback`` (objects outside every buurt are kept, not ours to
    drop). A pand goes with the first gemeente of its objects."""
    from_code = pl.when(pl.col("buurt_code").str.starts_with("BU")).then(gemeente_of_region(pl.col("buurt_code")))
    vbo = verblijfsobjecten.with_columns(from_code.alias(PARTITION_COLUMN))
    unplaced = vbo.filter(pl.col(PARTITION_COLUMN).is_null()).select("vbo_id", "x_rd", "y_rd")
    if unplaced.height:
        with warehouse.connect() as con:
            con.register("_unplaced", unplaced.to_arrow())
            placed = con.execute(
                "select u.vbo_id, min(b.gemeentecode) as placed from _unplaced as u join raw.pdok_buurten as b "
                "on st_contains(b.geometry, st_point(u.x_rd, u.y_rd)) group by u.vbo_id").pl()
            con.unregister("_unplaced")
        vbo = vbo.join(placed, on="vbo_id", how="left").with_columns(
            pl.coalesce(PARTITION_COLUMN, "placed").alias(PARTITION_COLUMN)).drop("placed")
    vbo = vbo.with_columns(pl.col(PARTITION_COLUMN).fill_null(fallback))
    pand_gemeente = vbo.group_by("pand_id").agg(pl.col(PARTITION_COLUMN).min())
    # only the key column goes through the join: a national panden frame with its outlines is not copied
    tags = panden.select("pand_id").join(pand_gemeente, on="pand_id", how="left", maintain_order="left")
    return vbo, panden.with_columns(tags[PARTITION_COLUMN].fill_null(fallback))


def split_by_layer(snapshots: list) -> tuple[list, list]:
    """(verblijfsobject snapshots, pand snapshots): the BAG connectors name the layer in the dataset."""
    return [s for s in snapshots if "pand" not in s.dataset], [s for s in snapshots if "pand" in s.dataset]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(BAG_VBO, deps=[BUURTEN], group_name="sources", kinds={"duckdb", "python"},
                     description="BAG verblijfsobjecten of each gemeente of the run (PDOK BAG OGC API v2 by the "
                                 "bbox of its buurten, or a local extract), normalised; see docs/sources/bag.md."),
        dg.AssetSpec(["raw", "bag_panden"], deps=[BUURTEN], group_name="sources", kinds={"duckdb", "python"},
                     description="BAG panden of the area with build year and footprint geometry (WKT, EPSG:28992)."),
    ],
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
)
def bag_raw(context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings):
    gemeenten = run_gemeenten(context, settings)
    store = SnapshotStore(settings.snapshot_dir)
    with bad_input_fails_without_retry():
        if settings.bag_verblijfsobjecten_file:
            if not settings.bag_panden_file:
                raise dg.Failure("bag_verblijfsobjecten_file is set but bag_panden_file is not", allow_retries=False)
            extract = bag.read_bag_extract(
                settings.bag_verblijfsobjecten_file, settings.bag_panden_file, settings.bag_column_map, store=store
            )
            verblijfsobjecten, panden = located_in_gemeenten(
                warehouse, extract.verblijfsobjecten, extract.panden, fallback=gemeenten[0])
            vbo_snapshots, pand_snapshots = split_by_layer(extract.snapshots)
            route = f"local extract {settings.bag_verblijfsobjecten_file}"
        else:
            extracts = {g: bag.fetch_bag(http, store, area_bbox(warehouse, g), base_url=settings.bag_base_url)
                        for g in gemeenten}
            # The boxes of neighbouring gemeenten overlap: each object once, under the first gemeente that has it.
            verblijfsobjecten = pl.concat([tag_gemeente(e.verblijfsobjecten, g) for g, e in extracts.items()],
                                          how="diagonal_relaxed").unique("vbo_id", keep="first", maintain_order=True)
            panden = pl.concat([tag_gemeente(e.panden, g) for g, e in extracts.items()],
                               how="diagonal_relaxed").unique("pand_id", keep="first", maintain_order=True)
            layers = {g: split_by_layer(e.snapshots) for g, e in extracts.items()}
            vbo_snapshots = {g: vbo for g, (vbo, _) in layers.items()}
            pand_snapshots = {g: panden for g, (_, panden) in layers.items()}
            route = "PDOK BAG OGC API v2, bbox of the buurten of " + ", ".join(gemeenten)
    with warehouse.connect() as con:
        write_partition_rows(con, BAG_VBO_TABLE, verblijfsobjecten, gemeenten, vbo_snapshots, context.run_id)
        write_partition_rows(con, "raw.bag_panden", panden, gemeenten, pand_snapshots, context.run_id)
    context.log.info(f"BAG from {route}: {verblijfsobjecten.height} verblijfsobjecten, {panden.height} panden")
    yield dg.MaterializeResult(asset_key=BAG_VBO, metadata=raw_table_metadata(
        BAG_VBO_TABLE, verblijfsobjecten, all_snapshots(vbo_snapshots), route=route))
    yield dg.MaterializeResult(asset_key=["raw", "bag_panden"], metadata=raw_table_metadata(
        "raw.bag_panden", panden, all_snapshots(pand_snapshots), route=route))


@dg.asset(
    key=["raw", "energy_labels"],
    deps=[BAG_VBO],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="Registered energy labels (EP-Online) of the dwellings of each gemeente of the run, one per "
    "verblijfsobject: the newest valid registration. "
    "From the bulk file when configured, else the per-address API when a key is set, else none.",
)
def energy_labels_raw(
    context: dg.AssetExecutionContext,
    http: HttpClient,
    warehouse: Warehouse,
    settings: PipelineSettings,
    ep_online_api: EpOnlineApi,
) -> dg.MaterializeResult:
    store = SnapshotStore(settings.snapshot_dir)
    reference = date.fromisoformat(settings.label_reference_date) if settings.label_reference_date else None
    with warehouse.connect() as con:
        gemeenten = with_gemeenten_delivered(con, run_gemeenten(context, settings), BAG_VBO_TABLE, context.run_id)
        residential = con.execute(
            f"select vbo_id, {PARTITION_COLUMN} from raw.bag_verblijfsobjecten where gebruiksdoel like '%woonfunctie%' "
            f"and list_contains($1, {PARTITION_COLUMN})", [gemeenten]).pl().unique("vbo_id", keep="first")
    vbo_ids = residential["vbo_id"].to_list()
    with bad_input_fails_without_retry():
        if settings.label_bulk_file:
            extract = ep_online.read_label_bulk(settings.label_bulk_file, reference, store=store, vbo_ids=vbo_ids)
            route = f"bulk file {Path(settings.label_bulk_file).name}"
        elif ep_online_api.api_key:
            extract = ep_online.fetch_labels_api(
                http, store, vbo_ids, ep_online_api.api_key, reference or date.today(),
                max_per_second=ep_online_api.max_requests_per_second,
                base_url=settings.ep_online_base_url + "/api/v5",
            )
            route = "EP-Online API"
        else:
            extract = ep_online.LabelExtract(pl.DataFrame(schema=ep_online.LABEL_SCHEMA), [], reference or date.today())
            route = "not configured: every label will be estimated"
    labels = extract.labels.join(residential, on="vbo_id", how="left").with_columns(
        pl.col(PARTITION_COLUMN).fill_null(gemeenten[0]))
    with warehouse.connect() as con:
        write_partition_rows(con, "raw.energy_labels", labels, gemeenten, extract.snapshots, context.run_id)
    context.log.info(f"energy labels ({route}): {extract.labels.height} of {len(vbo_ids)} dwellings")
    return dg.MaterializeResult(metadata=raw_table_metadata(
        "raw.energy_labels", extract.labels, extract.snapshots, route=route,
        reference_date=str(extract.reference_date)))


@dg.asset(
    key=["raw", "corporation_portfolio"],
    deps=[BAG_VBO],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Housing corporations' portfolio rows as delivered in the template (docs/templates.md), "
    "normalised and matched to BAG verblijfsobjecten (by id, else by address; unmatched rows say why).",
)
def corporation_portfolio_raw(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    path = settings.corporation_portfolio_file
    snapshots = []
    with bad_input_fails_without_retry():
        if path:
            snapshots = [snapshot_input_file(SnapshotStore(settings.snapshot_dir), path,
                                             source_id="corporation_portfolio", setting="corporation_portfolio_file",
                                             licence="supplied by the housing corporation; terms of the supplier")]
            portfolio = corporation_portfolio.read_corporation_portfolio(path)
        else:
            portfolio = pl.DataFrame(schema=corporation_portfolio.PORTFOLIO_SCHEMA)
    with warehouse.connect() as con:
        verblijfsobjecten = con.execute("select * from raw.bag_verblijfsobjecten").pl()
        frame = corporation_portfolio.matched_portfolio(portfolio, verblijfsobjecten)
        write_raw_table(con, "raw.corporation_portfolio", frame, snapshots, context.run_id)
    unmatched = frame.filter(pl.col("matched_vbo_id").is_null()).height
    context.log.info(f"corporation portfolio: {frame.height} rows, {unmatched} not matched to the BAG"
                     if path else "corporation portfolio: not configured")
    return dg.MaterializeResult(metadata=raw_table_metadata(
        "raw.corporation_portfolio", frame, snapshots, unmatched_rows=unmatched))


ASSETS = [bag_raw, energy_labels_raw, corporation_portfolio_raw]
