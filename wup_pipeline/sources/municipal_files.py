"""Municipal infrastructure plans and running initiatives, from the templates in docs/templates.md.

* ``read_infra_segments``: planned works per street segment (GeoJSON lines, RD New or WGS84);
* ``read_infra_buurt``: planned works per buurt (CSV/XLSX);
* ``infra_per_buurt``: the segments cut by buurt boundaries, length per buurt;
* ``read_initiatives``: energy cooperatives, collective purchases ... per buurt or wijk (CSV/XLSX).

Every reader raises ``RowInputError`` (an ``InputError``) naming file, row or feature, and field.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pyproj
import shapely
from shapely import STRtree
from shapely.geometry import shape

from wup_pipeline.sources import tabular
from wup_pipeline.sources.tabular import SOURCE_ROW, RowInputError, TemplateColumn, raise_bad_rows

log = logging.getLogger(__name__)

RD_NEW = 28992
# RD New's domain on land and the North Sea shelf (EPSG:28992 area of use, projected).
RD_BOUNDS = (-7_000.0, 289_000.0, 300_000.0, 629_000.0)
MIN_OUTSIDE_LENGTH_M = 0.5  # a segment sticking out of every buurt by less than this is rounding, not a finding

ASSETS = ("riolering", "weg", "gasleiding", "elektriciteitsnet", "warmtenet", "water")
ASSET_ALIASES = {"riool": "riolering", "wegen": "weg", "gas": "gasleiding", "gasnet": "gasleiding",
                 "elektriciteit": "elektriciteitsnet", "stroomnet": "elektriciteitsnet",
                 "waterleiding": "water", "drinkwater": "water"}
MEASURES = ("vervanging", "renovatie", "aanleg")
MEASURE_ALIASES = {"vervangen": "vervanging", "renoveren": "renovatie", "aanleggen": "aanleg",
                   "nieuwe_aanleg": "aanleg"}

INITIATIVE_KINDS = ("energiecoöperatie", "collectieve_inkoop", "warmtenet_initiatief", "isolatieproject", "overig")
INITIATIVE_STATUSES = ("idee", "lopend", "afgerond")

_PLAN_COLUMNS = (
    TemplateColumn("asset", "asset", ("voorziening", "soort", "asset_type"), required=True),
    TemplateColumn("measure", "measure", ("maatregel",), required=True),
    TemplateColumn("planned_year", "planned_year", ("jaar", "planjaar", "year"), required=True),
    TemplateColumn("owner", "owner", ("eigenaar", "partij")),
    TemplateColumn("description", "description", ("omschrijving", "beschrijving")),
)
SEGMENT_COLUMNS = (TemplateColumn("segment_id", "segment_id", ("id", "segment")), *_PLAN_COLUMNS)
INFRA_BUURT_COLUMNS = (TemplateColumn("buurt_code", "buurt_code", ("buurtcode",), required=True), *_PLAN_COLUMNS)
INITIATIVE_COLUMNS = (
    TemplateColumn("buurt_code", "buurt_code", ("buurtcode",)),
    TemplateColumn("wijk_code", "wijk_code", ("wijkcode",)),
    TemplateColumn("party", "party", ("partij", "initiatiefnemer"), required=True),
    TemplateColumn("kind", "kind", ("soort", "type"), required=True),
    TemplateColumn("title", "title", ("titel", "naam_initiatief")),
    TemplateColumn("start_year", "start_year", ("startjaar",)),
    TemplateColumn("status", "status", (), required=True),
    TemplateColumn("households_involved", "households_involved", ("huishoudens", "aantal_huishoudens")),
)

SEGMENT_SCHEMA = {
    "segment_id": pl.String, "asset": pl.String, "measure": pl.String, "planned_year": pl.Int64,
    "owner": pl.String, "description": pl.String, "length_m": pl.Float64, "geometry_wkb": pl.Binary,
    "source_feature": pl.Int64,
}


def _plan_columns(table: tabular.Table) -> list[pl.Expr]:
    tabular.require_values(table, ["asset", "measure", "planned_year"])
    return [
        tabular.to_category(table, "asset", ASSETS, ASSET_ALIASES),
        tabular.to_category(table, "measure", MEASURES, MEASURE_ALIASES),
        tabular.to_year(table, "planned_year"),
        pl.col("owner"),
        pl.col("description"),
    ]


# --- Segments (GeoJSON) ---------------------------------------------------------------------------


def _load_feature_collection(path: Path) -> dict:
    if not path.is_file():
        raise RowInputError(str(path), "file not found")
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RowInputError(str(path), f"not valid JSON ({exc}); expected a GeoJSON FeatureCollection") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise RowInputError(str(path), f"expected a GeoJSON FeatureCollection, found type {found!r}")
    if not isinstance(document.get("features"), list):
        raise RowInputError(str(path), "the FeatureCollection has no 'features' list")
    return document


def _declared_crs(document: dict, where: str) -> pyproj.CRS | None:
    """The CRS of the (pre-RFC 7946) ``crs`` member, e.g. ``urn:ogc:def:crs:EPSG::28992``; None if absent."""
    member = document.get("crs")
    if member is None:
        return None
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    try:
        return pyproj.CRS.from_user_input(name)
    except (pyproj.exceptions.CRSError, TypeError):
        raise RowInputError(where, f"'crs' member {member!r} names no coordinate reference system PROJ knows; "
                                   "expected e.g. urn:ogc:def:crs:EPSG::28992, or leave it out for WGS84",
                            field="crs") from None


def _in_bounds(xy: np.ndarray, bounds: tuple[float, float, float, float]) -> bool:
    return bool(((xy[:, 0] >= bounds[0]) & (xy[:, 0] <= bounds[2])
                 & (xy[:, 1] >= bounds[1]) & (xy[:, 1] <= bounds[3])).all())


def _to_rd(geometries: np.ndarray, crs: pyproj.CRS | None, where: str) -> np.ndarray:
    """Reproject to EPSG:28992: from the declared CRS, else from what the coordinates look like."""
    xy = shapely.get_coordinates(geometries)
    if crs is None:
        if _in_bounds(xy, (-180, -90, 180, 90)):
            crs = pyproj.CRS.from_epsg(4326)  # RFC 7946: GeoJSON without a crs member is WGS84 lon/lat
        elif _in_bounds(xy, RD_BOUNDS):
            crs = pyproj.CRS.from_epsg(RD_NEW)
        else:
            raise RowInputError(where, f"coordinates ({_extent(xy)}) are neither WGS84 longitude/latitude nor RD New "
                                       "(EPSG:28992); add a 'crs' member naming the CRS", field="geometry")
    projected = geometries
    if crs.to_epsg() != RD_NEW:
        # always_xy: GeoJSON puts longitude first whatever the CRS's axis order says.
        # PROJ has no RDNAPTRANS grid here and falls back to a Helmert transformation; at the RD reference
        # point (Amersfoort, 52.15517440 N 5.38720621 E = 155000, 463000) it lands 0.3 m off: ample for streets.
        transformer = pyproj.Transformer.from_crs(crs, RD_NEW, always_xy=True)
        projected = shapely.transform(geometries, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1])))
    if not _in_bounds(shapely.get_coordinates(projected), RD_BOUNDS):
        raise RowInputError(where, f"coordinates ({_extent(xy)}, read as {crs.name}) do not lie in the Netherlands; "
                                   "are longitude and latitude swapped, or does the 'crs' member name the wrong "
                                   "system?", field="geometry")
    return projected


def _extent(xy: np.ndarray) -> str:
    return f"x {xy[:, 0].min():.6g}..{xy[:, 0].max():.6g}, y {xy[:, 1].min():.6g}..{xy[:, 1].max():.6g}"


def read_infra_segments(path: Path | str) -> pl.DataFrame:
    """Planned works per street segment from a GeoJSON FeatureCollection of (Multi)LineStrings.

    Properties: ``asset``, ``measure``, ``planned_year`` (required), ``owner``, ``description``, ``segment_id``
    (optional; else the feature's ``id``, else its number). Coordinates in EPSG:28992, or WGS84: taken
    from the ``crs`` member, else recognised from their range. Columns as ``SEGMENT_SCHEMA``:
    ``geometry_wkb`` in EPSG:28992, ``length_m`` in metres, ``source_feature`` 1-based.
    """
    path = Path(path)
    where = str(path)
    document = _load_feature_collection(path)
    features = document["features"]
    if not features:
        log.info("%s: no infrastructure segments", where)
        return pl.DataFrame(schema=SEGMENT_SCHEMA)
    # One pass over the features to take them apart; a gemeente's plan has thousands, not millions.
    properties, shapes, ids = [], [], []
    known = tabular.known_names(SEGMENT_COLUMNS)
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise RowInputError(where, "expected an object with \"type\": \"Feature\"", row=number, unit="feature")
        properties.append(_template_keys(feature.get("properties") or {}, known, where, number))
        shapes.append(_geometry(feature.get("geometry"), where, number))
        ids.append(None if feature.get("id") is None else str(feature["id"]))
    header = list(dict.fromkeys(key for props in properties for key in props))
    text = {f"c{i}": [_property_text(props.get(key)) for props in properties] for i, key in enumerate(header)}
    frame = pl.DataFrame(text, schema={f"c{i}": pl.String for i in range(len(header))})
    frame = frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(SOURCE_ROW))
    table = tabular.table_from_text_columns(where, header, frame, SEGMENT_COLUMNS, header_row=None, unit="feature",
                                            drop_empty=False)

    geometries = np.array(shapes, dtype=object)
    line_kinds = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)
    bad = ~np.isin(shapely.get_type_id(geometries), line_kinds) | shapely.is_empty(geometries)
    if bad.any():
        number = int(np.flatnonzero(bad)[0]) + 1
        first = geometries[number - 1]
        found = "missing" if first is None else "empty" if first.is_empty else f"a {first.geom_type}"
        more = f" ({int(bad.sum())} features with this problem)" if bad.sum() > 1 else ""
        raise RowInputError(where, f"geometry is {found}; expected a LineString or MultiLineString (a street "
                                   f"segment){more}", row=number, field="geometry", unit="feature")
    geometries = _to_rd(geometries, _declared_crs(document, where), where)

    segments = table.frame.select(
        pl.coalesce(pl.col("segment_id"), pl.Series("_id", ids, dtype=pl.String),
                    pl.col(SOURCE_ROW).cast(pl.String)).alias("segment_id"),
        *_plan_columns(table),
        pl.Series("length_m", shapely.length(geometries), dtype=pl.Float64),
        pl.Series("geometry_wkb", shapely.to_wkb(geometries), dtype=pl.Binary),
        pl.col(SOURCE_ROW).alias("source_feature"),
    ).cast(SEGMENT_SCHEMA)
    duplicated = segments.filter(pl.col("segment_id").is_duplicated())
    if not duplicated.is_empty():
        first = duplicated.row(0, named=True)
        raise RowInputError(where, f"segment_id {first['segment_id']!r} is used by more than one feature; "
                                   "expected a unique id per segment", row=first["source_feature"],
                            field="segment_id", unit="feature")
    log.info("%s: %d infrastructure segments, %.0f m", where, segments.height, segments["length_m"].sum())
    return segments


def _template_keys(properties: dict, known: dict[str, str], where: str, number: int) -> dict:
    """Properties under their template names; features may spell them differently ('Asset', 'asset')."""
    renamed: dict[str, object] = {}
    for key, value in properties.items():
        name = known.get(tabular.normalise_name(key), key)
        if name in renamed:
            raise RowInputError(where, f"property '{name}' is given twice (as {key!r} and another spelling); keep one",
                                row=number, field=name, unit="feature")
        renamed[name] = value
    return renamed


def _property_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _geometry(geometry: object, where: str, number: int) -> shapely.Geometry | None:
    if not geometry:
        return None
    try:
        return shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise RowInputError(where, f"geometry cannot be read ({type(exc).__name__}: {exc})", row=number,
                            field="geometry", unit="feature") from None


# --- Per buurt (CSV/XLSX) -------------------------------------------------------------------------

INFRA_BUURT_SCHEMA = {
    SOURCE_ROW: pl.Int64, "buurt_code": pl.String, "asset": pl.String, "measure": pl.String,
    "planned_year": pl.Int64, "owner": pl.String, "description": pl.String,
}


def read_infra_buurt(path: Path | str) -> pl.DataFrame:
    """Planned works per buurt (CSV/XLSX). Columns as ``INFRA_BUURT_SCHEMA``; ``source_row`` as in Excel."""
    table = tabular.read_table(path, INFRA_BUURT_COLUMNS)
    tabular.require_values(table, ["buurt_code"])
    frame = table.frame.select(
        SOURCE_ROW,
        tabular.to_code(table, "buurt_code", tabular.BUURT_CODE, "a CBS buurt code: BU + 8 digits, e.g. BU03630000"),
        *_plan_columns(table),
    ).cast(INFRA_BUURT_SCHEMA)
    log.info("%s: %d infrastructure plans per buurt", table.where, frame.height)
    return frame


# --- Segments x buurten ---------------------------------------------------------------------------

INFRA_PER_BUURT_SCHEMA = {
    "segment_id": pl.String, "buurt_code": pl.String, "asset": pl.String, "measure": pl.String,
    "planned_year": pl.Int64, "owner": pl.String, "description": pl.String, "length_m": pl.Float64,
    "segment_length_m": pl.Float64, "share_of_segment": pl.Float64, "is_main_buurt": pl.Boolean,
}


def infra_per_buurt(segments: pl.DataFrame, buurt_polygons: pl.DataFrame) -> pl.DataFrame:
    """Cut the segments (``read_infra_segments``) by the buurt polygons; one row per segment x buurt.

    ``buurt_polygons``: ``buurt_code`` (or ``buurtcode``) and ``geometry_wkb`` in EPSG:28992 (the PDOK
    frame fits). ``length_m`` is the length inside the buurt, ``share_of_segment`` its part of the
    segment, ``is_main_buurt`` marks the buurt holding most of it (ties: lowest code) for counting a
    segment once. A segment along a shared boundary lies in both buurten and counts in both. The
    length outside every buurt (over ``MIN_OUTSIDE_LENGTH_M``) comes as a row with a null ``buurt_code``.
    Vectorised: an STR-tree query, then one intersection per candidate pair.
    """
    code_column = "buurt_code" if "buurt_code" in buurt_polygons.columns else "buurtcode"
    if code_column not in buurt_polygons.columns or "geometry_wkb" not in buurt_polygons.columns:
        raise ValueError("buurt_polygons needs buurt_code (or buurtcode) and geometry_wkb; "
                         f"it has {buurt_polygons.columns}")
    buurt_geometries = shapely.from_wkb(buurt_polygons["geometry_wkb"].to_numpy())
    segment_geometries = shapely.from_wkb(segments["geometry_wkb"].to_numpy())
    segment_index, buurt_index = STRtree(buurt_geometries).query(segment_geometries, predicate="intersects")
    lengths = shapely.length(shapely.intersection(segment_geometries[segment_index], buurt_geometries[buurt_index]))

    pieces = pl.DataFrame({
        "_segment": segment_index.astype(np.int64),
        "buurt_code": buurt_polygons[code_column].cast(pl.String).gather(buurt_index),
        "length_m": lengths,
    }).filter(pl.col("length_m") > 0)  # touching a buurt in a point is not lying in it
    outside = (
        pl.DataFrame({"_segment": np.arange(segments.height, dtype=np.int64)})
        .join(pieces.group_by("_segment").agg(pl.col("length_m").sum().alias("_inside")), on="_segment", how="left")
        .with_columns((segments["length_m"] - pl.col("_inside").fill_null(0)).clip(0).alias("length_m"),
                      pl.lit(None, dtype=pl.String).alias("buurt_code"))
        .filter(pl.col("length_m") > MIN_OUTSIDE_LENGTH_M)
        .select(pieces.columns)
    )
    attributes = segments.select("segment_id", "asset", "measure", "planned_year", "owner", "description",
                                 pl.col("length_m").alias("segment_length_m"),
                                 pl.int_range(pl.len(), dtype=pl.Int64).alias("_segment"))
    return (
        pl.concat([pieces, outside])
        .join(attributes, on="_segment", how="left")
        .with_columns(
            (pl.col("length_m") / pl.col("segment_length_m")).alias("share_of_segment"),
            # the buurt with the longest piece; equal pieces go to the lowest code
            (pl.col("buurt_code").is_not_null()
             & (pl.col("buurt_code") == pl.col("buurt_code").sort_by(
                 pl.when(pl.col("buurt_code").is_not_null()).then(pl.col("length_m")), pl.col("buurt_code"),
                 descending=[True, False], nulls_last=True).first().over("_segment")))
            .alias("is_main_buurt"),
        )
        .sort("_segment", "buurt_code", nulls_last=True)
        .select(list(INFRA_PER_BUURT_SCHEMA))
        .cast(INFRA_PER_BUURT_SCHEMA)
    )


# --- Initiatives ----------------------------------------------------------------------------------

INITIATIVE_SCHEMA = {
    SOURCE_ROW: pl.Int64, "buurt_code": pl.String, "wijk_code": pl.String, "party": pl.String, "kind": pl.String,
    "title": pl.String, "start_year": pl.Int64, "status": pl.String, "households_involved": pl.Int64,
}


def read_initiatives(path: Path | str) -> pl.DataFrame:
    """Running initiatives per buurt or wijk (CSV/XLSX). Columns as ``INITIATIVE_SCHEMA``.

    Each row needs a ``buurt_code`` or a ``wijk_code`` (an initiative for a whole wijk has no buurt).
    """
    table = tabular.read_table(path, INITIATIVE_COLUMNS)
    if not {"buurt_code", "wijk_code"} & table.present:
        raise RowInputError(table.where, f"needs column 'buurt_code' or 'wijk_code'; the header has columns "
                                         f"{list(table.found_columns)}", row=table.header_row, field="buurt_code")
    tabular.require_values(table, ["party", "kind", "status"])
    raise_bad_rows(table, pl.col("buurt_code").is_null() & pl.col("wijk_code").is_null(), "buurt_code",
                   problem="buurt_code and wijk_code are both empty; expected a buurt_code (BU + 8 digits) or, for "
                           "an initiative covering a whole wijk, a wijk_code (WK + 6 digits)")
    frame = table.frame.select(
        SOURCE_ROW,
        tabular.to_code(table, "buurt_code", tabular.BUURT_CODE, "a CBS buurt code: BU + 8 digits, e.g. BU03630000"),
        tabular.to_code(table, "wijk_code", tabular.WIJK_CODE, "a CBS wijk code: WK + 6 digits, e.g. WK036300"),
        pl.col("party"),
        tabular.to_category(table, "kind", INITIATIVE_KINDS, {"energiecooperatie": "energiecoöperatie",
                                                               "cooperatie": "energiecoöperatie"}),
        pl.col("title"),
        tabular.to_year(table, "start_year"),
        tabular.to_category(table, "status", INITIATIVE_STATUSES, {"loopt": "lopend", "klaar": "afgerond"}),
        tabular.to_int(table, "households_involved", 0, 1_000_000, "a number of households (a whole number >= 0)"),
    ).cast(INITIATIVE_SCHEMA)
    log.info("%s: %d initiatives", table.where, frame.height)
    return frame
