"""The demo municipality's BAG, written as the PDOK BAG OGC API v2 serves it and as a local extract.

* ``write_bag_payloads``: ``collections/verblijfsobject/items`` and ``collections/pand/items`` for the
  request ``wup_pipeline.sources.bag.fetch_bag`` makes for ``demo_bbox(population)``, paged with
  ``rel: next`` cursor links like gokoala's, at ``mirror_path(root, url, params)``. Feature shape as the
  live v2 feature in ``../shared/reference/api_samples/pdok-ogc/bag_ogc_v2_live_exploration_log_excerpt.txt``:
  a UUID feature id, the BAG id in ``identificatie``, ``pand.href`` a list of pand item URLs (UUIDs),
  ``gebruiksdoel`` comma-joined, a Point in the requested CRS. The pand properties are the ones public
  documentation shows (identificatie, bouwjaar, status, ...); the exact live set is not recorded.
* ``write_bag_extract``: the same objects as two CSV files in the default layout of
  ``read_bag_extract`` (that of ``../shared/data/bag_testarea_denhaag``).

Everything is SYNTHETIC and derived from ``demo_buildings(population)``; the same seed writes the same
bytes. UUIDs are ``uuid5`` of the BAG id, so they are stable too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

import polars as pl
import shapely
from pyproj import Transformer
from shapely.geometry import mapping

from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.population import DemoPopulation
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.sources.bag import DEFAULT_BASE_URL, bbox_params, collection_url

UUID_NAMESPACE = uuid.UUID("6f1c4b1e-2d0e-4f5e-9a57-000000009999")  # demo namespace for feature ids
TIME_STAMP = "2026-01-01T00:00:00Z"
WOONPLAATS = {"woonplaats_identificatie": "9999", "woonplaats_naam": "Demodorp", "woonplaats_status":
              "Woonplaats aangewezen"}
PROVINCIE = {"provincie_afkorting": "XX", "provincie_naam": "Demoprovincie (synthetisch)"}
DOCUMENT = {"documentdatum": "2024-01-15", "documentnummer": "DEMO-2024-001", "geconstateerd": "N"}
RDF_BASE = "http://bag.basisregistraties.overheid.nl/bag/id"


def demo_bbox(population: DemoPopulation) -> tuple[float, float, float, float]:
    """Bounding box (EPSG:28992, whole metres, rounded outwards) of the union of the demo buurt polygons."""
    minx, miny, maxx, maxy = shapely.union_all(list(population.geometries.values())).bounds
    return float(math.floor(minx)), float(math.floor(miny)), float(math.ceil(maxx)), float(math.ceil(maxy))


def feature_uuid(collection: str, bag_id: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, f"{collection}/{bag_id}"))


def write_bag_payloads(
    mirror_root: Path,
    population: DemoPopulation,
    page_size: int = 1000,
    buildings: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> int:
    """Write the demo's verblijfsobject and pand pages; returns the number of files written."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    vbo, panden = buildings if buildings is not None else demo_buildings(population)
    params = bbox_params(demo_bbox(population))
    written = 0
    for collection, features in (("verblijfsobject", _vbo_features(vbo, population)),
                                 ("pand", _pand_features(panden))):
        written += _write_pages(Path(mirror_root), collection_url(collection), params, features, page_size)
    return written


def write_bag_extract(directory: Path, population: DemoPopulation,
                      buildings: tuple[pl.DataFrame, pl.DataFrame] | None = None) -> tuple[Path, Path]:
    """The demo's BAG as extract CSVs in the default mapping of ``read_bag_extract``: (vbo csv, pand csv)."""
    vbo, panden = buildings if buildings is not None else demo_buildings(population)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    to_wgs84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(vbo["x_rd"].to_numpy(), vbo["y_rd"].to_numpy())
    vbo_csv = vbo.select(
        "vbo_id", "pand_id", "nummeraanduiding_id", "postcode", "huisnummer", "huisletter",
        pl.col("toevoeging").alias("huisnummertoevoeging"), "gebruiksdoel", "oppervlakte_m2", "status", "bouwjaar",
        "x_rd", "y_rd", pl.Series("lon", lon).round(6), pl.Series("lat", lat).round(6),
        pl.col("buurt_code").alias("buurtcode"), "openbare_ruimte_naam",
    )
    geoms = shapely.from_wkt(panden["geometry_wkt"].to_numpy())
    centroids = shapely.centroid(geoms)
    pand_csv = panden.select(
        "pand_id", pl.col("bouwjaar").alias("oorspronkelijkbouwjaar"), "status",
        pl.Series("x_rd", shapely.get_x(centroids)).round(3), pl.Series("y_rd", shapely.get_y(centroids)).round(3),
        "footprint_area_m2", pl.col("geometry_wkt").alias("wkt_rd"),
    )
    vbo_path, pand_path = directory / "bag_verblijfsobject_demo.csv", directory / "bag_pand_demo.csv"
    vbo_csv.write_csv(vbo_path)
    pand_csv.write_csv(pand_path)
    return vbo_path, pand_path


def _vbo_features(vbo: pl.DataFrame, population: DemoPopulation) -> list[dict]:
    pand_items = collection_url("pand").removesuffix("/items") + "/items/"
    street_ids = {
        name: f"9999300{i:09d}" for i, name in enumerate(sorted(set(vbo["openbare_ruimte_naam"])), start=1)
    }
    features = []
    for row in vbo.sort("vbo_id").iter_rows(named=True):
        properties = {
            "bronhouder_identificatie": population.gemeente_code.removeprefix("GM"),
            "bronhouder_naam": population.gemeente_name,
            **DOCUMENT,
            "gebruiksdoel": row["gebruiksdoel"],
            "hoofdadres_identificatie": row["nummeraanduiding_id"],
            "hoofdadres_status": "Naamgeving uitgegeven",
            "huisletter": row["huisletter"],
            "huisnummer": row["huisnummer"],
            "identificatie": row["vbo_id"],
            "openbare_ruimte_identificatie": street_ids[row["openbare_ruimte_naam"]],
            "openbare_ruimte_naam": row["openbare_ruimte_naam"],
            "openbare_ruimte_naam_kort": None,
            "openbare_ruimte_status": "Naamgeving uitgegeven",
            "oppervlakte": row["oppervlakte_m2"],
            "pand.href": [pand_items + feature_uuid("pand", row["pand_id"])],
            "postcode": row["postcode"],
            **PROVINCIE,
            "rdf_seealso": f"{RDF_BASE}/verblijfsobject/{row['vbo_id']}",
            "status": row["status"],
            "toevoeging": row["toevoeging"],
            **WOONPLAATS,
        }
        features.append({
            "type": "Feature", "properties": dict(sorted(properties.items())),
            "geometry": {"type": "Point", "coordinates": [row["x_rd"], row["y_rd"]]},
            "id": feature_uuid("verblijfsobject", row["vbo_id"]),
        })
    return features


def _pand_features(panden: pl.DataFrame) -> list[dict]:
    features = []
    for row in panden.sort("pand_id").iter_rows(named=True):
        properties = {
            "aantal_verblijfsobjecten": row["n_vbo"],
            "bouwjaar": row["bouwjaar"],
            **DOCUMENT,
            "identificatie": row["pand_id"],
            "rdf_seealso": f"{RDF_BASE}/pand/{row['pand_id']}",
            "status": row["status"],
        }
        geometry = mapping(shapely.orient_polygons(shapely.from_wkt(row["geometry_wkt"]), exterior_cw=False))
        features.append({
            "type": "Feature", "properties": dict(sorted(properties.items())),
            "geometry": {"type": geometry["type"], "coordinates": [[list(p) for p in ring]
                                                                    for ring in geometry["coordinates"]]},
            "id": feature_uuid("pand", row["pand_id"]),
        })
    return features


def _query(params: dict) -> str:
    return urlencode(sorted((k, str(v)) for k, v in params.items()), quote_via=quote)


def _cursor(offset: int, params: dict) -> str:
    """An opaque cursor like gokoala's ('<position>|<filter checksum>')."""
    position = base64.urlsafe_b64encode(offset.to_bytes(4, "big")).rstrip(b"=").decode()
    checksum = base64.urlsafe_b64encode(hashlib.sha256(_query(params).encode()).digest()[:4]).rstrip(b"=")
    return f"{position}|{checksum.decode()}"


def _links(url: str, params: dict, offset: int, following: int | None, previous: int | None) -> list[dict]:
    def href(fmt: str, at: int | None) -> str:
        query = {**params, "f": fmt}
        if at:
            query["cursor"] = _cursor(at, params)
        return f"{url}?{_query(query)}"

    links = [
        {"rel": "self", "title": "This document as GeoJSON", "type": "application/geo+json",
         "href": href("json", offset)},
        {"rel": "alternate", "title": "This document as JSON-FG", "type": "application/vnd.ogc.fg+json",
         "href": href("jsonfg", offset)},
        {"rel": "alternate", "title": "This document as HTML", "type": "text/html", "href": href("html", offset)},
    ]
    if following is not None:
        links.append({"rel": "next", "title": "Next page", "type": "application/geo+json",
                      "href": href("json", following)})
    if previous is not None:
        links.append({"rel": "prev", "title": "Previous page", "type": "application/geo+json",
                      "href": href("json", previous)})
    return links


def _write_pages(root: Path, url: str, params: dict, features: list[dict], page_size: int) -> int:
    link_params = {k: v for k, v in params.items() if k != "f"}
    request_url, request_params = url, params
    written = 0
    for offset in range(0, max(len(features), 1), page_size):
        following = offset + page_size if offset + page_size < len(features) else None
        previous = max(offset - page_size, 0) if offset else None
        links = _links(url, link_params, offset, following, previous)
        chunk = features[offset:offset + page_size]
        page = {"type": "FeatureCollection", "timeStamp": TIME_STAMP, "links": links, "features": chunk,
                "numberReturned": len(chunk)}
        path = mirror_path(root, request_url, request_params)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode())
        written += 1
        if following is not None:
            request_url, request_params = next(x["href"] for x in links if x["rel"] == "next"), None
    return written


__all__ = ["DEFAULT_BASE_URL", "demo_bbox", "feature_uuid", "write_bag_extract", "write_bag_payloads"]
