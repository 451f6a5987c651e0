"""Write the SYNTHETIC demo municipality GM9999 "Demodorp (synthetisch)" into a source mirror.

The payloads are the ones the real sources serve, for exactly the URLs the connectors request
(``wup_pipeline.sources.cbs_kwb.fetch_kwb`` and ``wup_pipeline.sources.pdok_wijkenbuurten.fetch_buurten``),
each at ``mirror_path(root, url, params)``:

* CBS StatLine OData v3 feed ``{base}/{KWB_TABLES[year]}/TableInfos``, ``/DataProperties`` and
  ``/TypedDataSet`` filtered on the gemeente, paged every ``cbs_page_size`` rows with ``odata.nextLink``;
* PDOK OGC API Features ``collections/buurten/items`` (and ``wijken``) for the gemeente in EPSG:28992,
  paged every ``pdok_page_size`` features with a ``rel: next`` link carrying an opaque cursor.

Everything is derived from ``demo_population(seed)``; the same seed writes byte-identical files. Nothing
here looks like real data: the gemeente is called "Demodorp (synthetisch)" and the CBS table title and
summary say SYNTHETISCHE DEMO. The TableInfos ``Modified`` stamp encodes the seed, because ``fetch_kwb``
reuses stored snapshots whenever table and ``Modified`` are unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import shapely
from shapely.geometry import mapping

from wup_pipeline.demo import kwb
from wup_pipeline.demo.population import DEMO_GEMEENTE, DemoPopulation, demo_population
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.sources.cbs_kwb import DEFAULT_BASE_URL as CBS_BASE_URL
from wup_pipeline.sources.cbs_kwb import KWB_TABLES, region_filter
from wup_pipeline.sources.pdok_wijkenbuurten import CRS_RD, PAGE_LIMIT, collection_url

__all__ = [
    "DEMO_GEMEENTE", "DEMO_YEAR", "DemoPopulation", "DemoSummary", "demo_population", "write_demo_mirror",
]

DEMO_YEAR = 2024
# ODataFeed answers under ".../ODataFeed/OData/<table>/..." in its own links (note the capitals).
CBS_LINK_ROOT = CBS_BASE_URL.rsplit("/", 1)[0] + "/OData"
FILTER_SAFE = "(),'"  # characters CBS leaves unencoded in the $filter of a nextLink


@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo_mirror`` wrote."""

    mirror_dir: Path
    gemeente_code: str
    year: int
    n_wijken: int
    n_buurten: int
    n_dwellings: int
    files: int


def write_demo_mirror(
    mirror_dir: Path,
    seed: int = 2026,
    year: int = DEMO_YEAR,
    cbs_page_size: int = 10_000,
    pdok_page_size: int = 1_000,
) -> DemoSummary:
    """Generate the demo municipality for ``seed``; write its CBS and PDOK payloads under ``mirror_dir``."""
    if year not in KWB_TABLES:
        raise ValueError(f"no Kerncijfers wijken en buurten table known for {year}: {sorted(KWB_TABLES)}")
    if cbs_page_size < 1 or pdok_page_size < 1:
        raise ValueError(f"page sizes must be at least 1 (cbs {cbs_page_size}, pdok {pdok_page_size})")
    root = Path(mirror_dir)
    population = demo_population(seed)
    written = _write_cbs(root, population, seed, year, cbs_page_size)
    written += _write_pdok(root, population, year, pdok_page_size)
    return DemoSummary(
        mirror_dir=root,
        gemeente_code=population.gemeente_code,
        year=year,
        n_wijken=population.wijken.height,
        n_buurten=population.buurten.height,
        n_dwellings=population.dwellings.height,
        files=written,
    )


def _write(path: Path, payload: dict, indent: int | None = None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    separators = (",", ":") if indent is None else (",", ": ")
    path.write_bytes(json.dumps(payload, ensure_ascii=False, indent=indent, separators=separators).encode())
    return 1


# --- CBS StatLine OData v3 ----------------------------------------------------------------------------


def _modified(seed: int, year: int) -> str:
    """A fixed, clearly non-CBS release stamp per (seed, year): 31 December of the year plus seed seconds."""
    return (datetime(year, 12, 31) + timedelta(seconds=seed % 86_400)).isoformat(timespec="seconds")


def _table_infos(table: str, seed: int, year: int) -> dict:
    return {
        "ID": 0,
        "Title": f"Kerncijfers wijken en buurten {year} (SYNTHETISCHE DEMO)",
        "ShortTitle": f"Kerncijfers wijken en buurten {year} (SYNTHETISCHE DEMO)",
        "Identifier": table,
        "Summary": "SYNTHETISCHE DEMO: verzonnen gemeente Demodorp (GM9999), geen echte cijfers.\n"
        f"Gegenereerd door wup_pipeline.demo met seed {seed}.",
        "Modified": _modified(seed, year),
        "ReasonDelivery": "Nieuw",
        "ExplanatoryText": "",
        "Language": "nl",
        "Catalog": "CBS",
        "Frequency": "Eenmalig",
        "Period": str(year),
        "ShortDescription": "\nSYNTHETISCHE DEMO. Alle cijfers zijn verzonnen en afgeleid van een "
        "gesimuleerde woningvoorraad, met de afrondings- en geheimhoudingsregels van het CBS.\n",
        "Description": "SYNTHETISCHE DEMO\r\n\r\nDeze tabel heeft de vorm van Kerncijfers wijken en buurten, "
        "maar beschrijft de verzonnen gemeente Demodorp (synthetisch). Gebruik haar niet als bron.",
        "DefaultPresentation": "graphtype=Table&r=Topics&k=WijkenEnBuurten",
        "DefaultSelection": f"$filter=(WijkenEnBuurten eq '{DEMO_GEMEENTE.ljust(10)}')",
        "GraphTypes": "Table",
        "OutputStatus": "Regulier",
        "Source": "wup_pipeline.demo (synthetisch).",
        "MetaDataModified": _modified(seed, year),
        "SearchPriority": "2",
    }


def _write_cbs(root: Path, population: DemoPopulation, seed: int, year: int, page_size: int) -> int:
    table = KWB_TABLES[year]
    table_url = f"{CBS_BASE_URL}/{table}"
    metadata = f"{CBS_LINK_ROOT}/{table}/$metadata#Cbs.OData.WebAPI."
    json_format = {"$format": "json"}
    written = _write(mirror_path(root, f"{table_url}/TableInfos", json_format),
                     {"odata.metadata": metadata + "TableInfos", "value": [_table_infos(table, seed, year)]})
    written += _write(mirror_path(root, f"{table_url}/DataProperties", json_format),
                      {"odata.metadata": metadata + "DataProperties", "value": kwb.data_properties(year)})

    rows = kwb.typed_rows(population, year)
    filter_expr = region_filter(population.gemeente_code)
    url, params = f"{table_url}/TypedDataSet", {"$format": "json", "$filter": filter_expr}
    for start in range(0, len(rows), page_size):
        page = {"odata.metadata": metadata + "TypedDataSet", "value": rows[start:start + page_size]}
        next_start = start + page_size
        if next_start < len(rows):
            page["odata.nextLink"] = (
                f"{CBS_LINK_ROOT}/{table}/TypedDataSet/?$format=json"
                f"&$filter={quote(filter_expr, safe=FILTER_SAFE)}&$skip={next_start}"
            )
        written += _write(mirror_path(root, url, params), page)
        if "odata.nextLink" in page:
            url, params = page["odata.nextLink"], None
    return written


# --- PDOK OGC API Features ----------------------------------------------------------------------------


def _query(params: dict) -> str:
    """Query string the way gokoala writes it in its links: sorted keys, everything percent-encoded."""
    return urlencode(sorted((k, str(v)) for k, v in params.items()), quote_via=quote)


def _cursor(offset: int, params: dict) -> str:
    """An opaque cursor like gokoala's ('<position>|<filter checksum>')."""
    position = base64.urlsafe_b64encode(offset.to_bytes(4, "big")).rstrip(b"=").decode()
    checksum = base64.urlsafe_b64encode(hashlib.sha256(_query(params).encode()).digest()[:4]).rstrip(b"=")
    return f"{position}|{checksum.decode()}"


def _links(url: str, params: dict, offset: int, previous: int | None, following: int | None) -> list[dict]:
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
        {"rel": "alternate", "title": "This document as HTML", "type": "text/html",
         "href": href("html", offset)},
    ]
    if following is not None:
        links.append({"rel": "next", "title": "Next page", "type": "application/geo+json",
                      "href": href("json", following)})
    if previous is not None:
        links.append({"rel": "prev", "title": "Previous page", "type": "application/geo+json",
                      "href": href("json", previous)})
    return links


def _geometry(geom) -> dict:
    """GeoJSON MultiPolygon (as the CBS wijk- en buurtkaart has it), exterior rings counter-clockwise."""
    return mapping(shapely.orient_polygons(geom, exterior_cw=False))


def _features(population: DemoPopulation, year: int, collection: str) -> list[dict]:
    values = {r["region"]: r for r in kwb.kwb_values(population, year).iter_rows(named=True)}
    buurten = population.buurten
    if collection == "buurten":
        areas = [(r["buurt_code"], r["wijk_code"], population.geometries[r["buurt_code"]])
                 for r in buurten.iter_rows(named=True)]
    else:
        areas = []
        for wijk in population.wijken["wijk_code"]:
            codes = buurten.filter(buurten["wijk_code"] == wijk)["buurt_code"]
            merged = shapely.union_all([population.geometries[c] for c in codes], grid_size=0.001)
            areas.append((wijk, wijk, shapely.normalize(shapely.multipolygons(shapely.get_parts(merged)))))
    wijk_names = dict(population.wijken.select("wijk_code", "wijk_name").iter_rows())
    features = []
    for number, (code, wijk, geom) in enumerate(areas, start=1):
        row = values[code]
        properties = {
            "aantal_huishoudens": row["huishoudens"],
            "aantal_inwoners": row["inwoners"],
            "gemeentecode": population.gemeente_code,
            "gemeentenaam": population.gemeente_name,
            "jaar": year,
            "jaarstatcode": f"{year}{code}",
            "oppervlakte_totaal_in_ha": row["opp_totaal"],
            "water": "NEE",
            "wijkcode": wijk,
            "wijknaam": wijk_names[wijk],
            "woningvoorraad": row["woningen"],
        }
        if collection == "buurten":
            properties |= {"buurtcode": code, "buurtnaam": row["name"]}
        features.append({"type": "Feature", "properties": dict(sorted(properties.items())),
                          "geometry": _geometry(geom), "id": str(number)})
    return features


def _write_pdok(root: Path, population: DemoPopulation, year: int, page_size: int) -> int:
    written = 0
    time_stamp = f"{year + 1}-01-01T00:00:00Z"
    for collection in ("buurten", "wijken"):
        url = collection_url(year, collection)
        params = {"f": "json", "limit": PAGE_LIMIT, "crs": CRS_RD, "gemeentecode": population.gemeente_code}
        link_params = {k: v for k, v in params.items() if k != "f"}
        features = _features(population, year, collection)
        request_url, request_params = url, params
        for offset in range(0, max(len(features), 1), page_size):
            following = offset + page_size if offset + page_size < len(features) else None
            previous = max(offset - page_size, 0) if offset else None
            links = _links(url, link_params, offset, previous, following)
            chunk = features[offset:offset + page_size]
            page = {"type": "FeatureCollection", "timeStamp": time_stamp, "links": links, "features": chunk,
                    "numberReturned": len(chunk)}
            written += _write(mirror_path(root, request_url, request_params), page, indent=2)
            if following is not None:
                request_url, request_params = next(x["href"] for x in links if x["rel"] == "next"), None
    return written
