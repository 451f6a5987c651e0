"""PDOK CBS wijken en buurten over OGC API Features: buurt boundaries in EPSG:28992."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import shapely
from shapely.geometry import shape

from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.paging import PayloadError, iter_pages, ogc_next_link
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore

SOURCE_ID = "pdok_wijkenbuurten"
LICENCE = "CC-BY 4.0 (CBS, Kadaster)"
DEFAULT_BASE_URL = "https://api.pdok.nl"
CRS_RD = "http://www.opengis.net/def/crs/EPSG/0/28992"
PAGE_LIMIT = 1000  # PDOK caps limit at 1,000 silently

# Properties every buurt feature must carry; the rest is kept as JSON.
BUURT_FIELDS = ("buurtcode", "buurtnaam", "wijkcode", "gemeentecode", "gemeentenaam")


def collection_url(year: int, collection: str, base_url: str = DEFAULT_BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/cbs/wijken-en-buurten-{year}/ogc/v1/collections/{collection}/items"


@dataclass
class BuurtenExtract:
    year: int
    frame: pl.DataFrame  # one row per buurt; geometry as WKB in EPSG:28992
    snapshots: list[SnapshotRecord]


def features_to_frame(features: list[dict], where: str) -> pl.DataFrame:
    import json

    rows = []
    for index, feature in enumerate(features):
        record = f"{where} feature {index}"
        props = feature.get("properties")
        if not isinstance(props, dict):
            raise PayloadError(f"{record}: 'properties' is missing")
        for field in BUURT_FIELDS:
            if props.get(field) in (None, ""):
                raise PayloadError(f"{record} (id {feature.get('id')}): field '{field}' is missing")
        geometry = feature.get("geometry")
        if not geometry:
            raise PayloadError(f"{record} ({props['buurtcode']}): field 'geometry' is missing")
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise PayloadError(f"{record} ({props['buurtcode']}): field 'geometry' is invalid: {exc}") from exc
        rows.append(
            {
                **{field: str(props[field]) for field in BUURT_FIELDS},
                "water": props.get("water"),
                "properties_json": json.dumps(props, sort_keys=True, ensure_ascii=False),
                "geometry_wkb": shapely.to_wkb(geom),
            }
        )
    schema = {f: pl.String for f in BUURT_FIELDS} | {
        "water": pl.String, "properties_json": pl.String, "geometry_wkb": pl.Binary,
    }
    return pl.DataFrame(rows, schema=schema)


def fetch_buurten(
    client: HttpClient,
    store: SnapshotStore,
    gemeente_code: str,
    year: int,
    base_url: str = DEFAULT_BASE_URL,
) -> BuurtenExtract:
    """All buurten of one gemeente, paged through ``rel: next`` links, geometry in RD New.

    The first page is requested conditionally (ETag / Last-Modified of the previous retrieval);
    on 304 Not Modified the stored pages are used and nothing else is downloaded.
    """
    url = collection_url(year, "buurten", base_url)
    params = {"f": "json", "limit": PAGE_LIMIT, "crs": CRS_RD, "gemeentecode": gemeente_code}
    dataset = f"wijken-en-buurten-{year}/buurten/{gemeente_code}"
    previous = store.latest_retrieval(SOURCE_ID, dataset)
    # an interrupted retrieval stored only its first pages: its last page still links onward
    complete = bool(previous) and ogc_next_link(json.loads(store.read(previous[-1]))) is None
    probe = None
    if complete and (previous[0].etag or previous[0].last_modified) and not client.mirror_dir:
        probe = client.get(url, params=params, etag=previous[0].etag, last_modified=previous[0].last_modified)
        if probe.not_modified:
            pages = [(r.path, _features(store.read(r), r.path)) for r in previous]
            frame = pl.concat([features_to_frame(f, p) for p, f in pages])
            return BuurtenExtract(year, frame, previous)
        # Changed: the probe's answer is the first page of the new retrieval.

    retrieval_id = uuid.uuid4().hex
    snapshots, frames = [], []
    def store_page(result, number: int, page: dict | None = None, rows: int | None = None):
        # Every page is kept as delivered, also one that does not parse (nothing a source sent is lost).
        return store.put(
            result.content, source_id=SOURCE_ID, dataset=dataset, url=result.url, rows=rows,
            licence=LICENCE, source_version=(page or {}).get("timeStamp"), etag=result.etag,
            last_modified=result.last_modified, from_mirror=result.from_mirror, page=number,
            retrieval_id=retrieval_id,
        )

    pages = iter_pages(client, url, params, ogc_next_link, first=probe, on_bad_page=store_page)
    for number, (result, page) in enumerate(pages):
        features = page.get("features")
        record = store_page(result, number, page, len(features) if isinstance(features, list) else None)
        if not isinstance(features, list):
            raise PayloadError(f"{result.url}: OGC API page has no 'features' list")
        snapshots.append(record)
        frames.append(features_to_frame(features, record.path))
    frame = pl.concat(frames) if frames else features_to_frame([], url)
    duplicated = frame.filter(pl.col("buurtcode").is_duplicated())["buurtcode"].unique().to_list()
    if duplicated:
        raise PayloadError(f"{url}: buurtcode delivered more than once: {sorted(duplicated)[:10]}")
    return BuurtenExtract(year, frame, snapshots)


def _features(content: bytes, where: str) -> list[dict]:
    import json

    try:
        return json.loads(content)["features"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise PayloadError(f"{where}: not an OGC API feature page ({exc})") from exc


def read_buurten_file(path: str | Path, gemeente_codes: list[str] | None = None) -> pl.DataFrame:
    """Buurt polygons from a local GeoJSON or GeoPackage with the PDOK wijken-en-buurten attributes.

    Reprojected to EPSG:28992 (a GeoJSON without a ``crs`` member is WGS84, as RFC 7946 says); the same
    frame as ``features_to_frame``. ``gemeente_codes`` keeps only those gemeenten.
    """
    import json

    import geopandas as gpd

    path = Path(path)
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputError(str(path), f"not a readable GeoJSON/GeoPackage: {exc}") from exc
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    frame = frame.to_crs("EPSG:28992")
    missing = [f for f in BUURT_FIELDS if f not in frame.columns]
    if missing:
        raise InputError(str(path), f"columns {missing} are missing; found {list(frame.columns)}")
    features = []
    for index, row in enumerate(frame.to_dict("records")):
        geometry = row.pop("geometry")
        properties = {k: (None if v != v else v) for k, v in row.items()}  # NaN -> null
        features.append({"id": index, "properties": properties,
                         "geometry": json.loads(json.dumps(shapely.geometry.mapping(geometry)))})
    result = features_to_frame(features, str(path))
    if gemeente_codes:
        result = result.filter(pl.col("gemeentecode").is_in(gemeente_codes))
    return result
