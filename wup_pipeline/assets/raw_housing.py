"""Raw assets for the address-level housing stock: BAG, energy labels, the corporation portfolio."""

import math
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import shapely

from wup_pipeline.assets.raw import (
    SOURCE_RETRY,
    WAREHOUSE_POOL,
    bad_input_fails_without_retry,
    raw_table_metadata,
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


class EpOnlineApi(dg.ConfigurableResource):
    """EP-Online API access. The key is a secret: set EP_ONLINE_API_KEY; it never reaches logs or metadata."""

    api_key: str | None = None
    max_requests_per_second: float = 4.0


def area_bbox(warehouse: Warehouse) -> tuple[float, float, float, float]:
    """Bounding box (EPSG:28992, whole metres, rounded outwards) of the area's buurten."""
    with warehouse.connect() as con:
        blobs = con.execute("select st_aswkb(geometry) from raw.pdok_buurten").fetchall()
    if not blobs:
        raise dg.Failure("raw.pdok_buurten is empty: no area to fetch BAG objects for", allow_retries=False)
    minx, miny, maxx, maxy = shapely.total_bounds(shapely.from_wkb([bytes(b[0]) for b in blobs]))
    return float(math.floor(minx)), float(math.floor(miny)), float(math.ceil(maxx)), float(math.ceil(maxy))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(BAG_VBO, deps=[BUURTEN], group_name="sources", kinds={"duckdb", "python"},
                     description="BAG verblijfsobjecten of the area (PDOK BAG OGC API v2 by bbox, or a local "
                                 "extract), normalised; see docs/sources/bag.md."),
        dg.AssetSpec(["raw", "bag_panden"], deps=[BUURTEN], group_name="sources", kinds={"duckdb", "python"},
                     description="BAG panden of the area with build year and footprint geometry (WKT, EPSG:28992)."),
    ],
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
)
def bag_raw(context: dg.AssetExecutionContext, http: HttpClient, warehouse: Warehouse, settings: PipelineSettings):
    store = SnapshotStore(settings.snapshot_dir)
    with bad_input_fails_without_retry():
        if settings.bag_verblijfsobjecten_file:
            if not settings.bag_panden_file:
                raise dg.Failure("bag_verblijfsobjecten_file is set but bag_panden_file is not", allow_retries=False)
            extract = bag.read_bag_extract(
                settings.bag_verblijfsobjecten_file, settings.bag_panden_file, settings.bag_column_map, store=store
            )
            route = f"local extract {settings.bag_verblijfsobjecten_file}"
        else:
            bbox = area_bbox(warehouse)
            extract = bag.fetch_bag(http, store, bbox, base_url=settings.bag_base_url)
            route = f"PDOK BAG OGC API v2, bbox {bag.format_bbox(bbox)}"
    with warehouse.connect() as con:
        write_raw_table(con, "raw.bag_verblijfsobjecten", extract.verblijfsobjecten,
                        [s for s in extract.snapshots if "pand" not in s.dataset], context.run_id)
        write_raw_table(con, "raw.bag_panden", extract.panden,
                        [s for s in extract.snapshots if "pand" in s.dataset], context.run_id)
    context.log.info(f"BAG from {route}: {extract.verblijfsobjecten.height} verblijfsobjecten, "
                     f"{extract.panden.height} panden")
    yield dg.MaterializeResult(asset_key=BAG_VBO, metadata=raw_table_metadata(
        "raw.bag_verblijfsobjecten", extract.verblijfsobjecten, extract.snapshots, route=route))
    yield dg.MaterializeResult(asset_key=["raw", "bag_panden"], metadata=raw_table_metadata(
        "raw.bag_panden", extract.panden, extract.snapshots, route=route))


@dg.asset(
    key=["raw", "energy_labels"],
    deps=[BAG_VBO],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=SOURCE_RETRY,
    description="Registered energy labels (EP-Online), one per verblijfsobject: the newest valid registration. "
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
        vbo_ids = [r[0] for r in con.execute(
            "select vbo_id from raw.bag_verblijfsobjecten where gebruiksdoel like '%woonfunctie%'").fetchall()]
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
    with warehouse.connect() as con:
        write_raw_table(con, "raw.energy_labels", extract.labels, extract.snapshots, context.run_id)
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
