"""BAG (Basisregistratie Adressen en Gebouwen): verblijfsobjecten and panden.

Two routes give the same normalised frames (``VBO_SCHEMA``, ``PAND_SCHEMA``):

* ``fetch_bag``: the PDOK BAG OGC API v2 for a bounding box in RD New, paged through ``rel: next``
  cursor links, every page snapshotted. In v2 a verblijfsobject names its pand only through
  ``pand.href``, a list of URLs ending in the pand FEATURE id (a UUID, not the BAG id; see the live
  feature in ``../shared/reference/api_samples/pdok-ogc/bag_ogc_v2_live_exploration_log_excerpt.txt``).
  So the panden of the same bbox are fetched too and joined on that UUID. A bbox query returns the
  objects that intersect the box, so the pand of every verblijfsobject in the box is among them. A
  ``pand_identificatie`` property, should a version deliver one, is used directly.
* ``read_bag_extract``: a local extract for a whole municipality or the country, as CSV (the layout of
  ``../shared/data/bag_testarea_denhaag`` is the default mapping) or as GeoPackage (layers
  ``verblijfsobject`` and ``pand``, as in PDOK's ``bag-light.gpkg``), read by DuckDB with ids as text so
  leading zeros survive. A column mapping (dict or YAML) maps other layouts.

Validation here is about form: missing columns, ids that are not 16 digits, numbers that are not numbers,
duplicate verblijfsobjecten. Values that are well-formed but implausible (negative area, build year 9999)
are kept for the quarantine checks downstream.
"""

from __future__ import annotations

import logging
import re
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import shapely
import yaml
from shapely.geometry import shape

from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.paging import PayloadError, iter_pages, ogc_next_link
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore

log = logging.getLogger(__name__)

SOURCE_ID = "bag"
EXTRACT_SOURCE_ID = "bag_extract"
EXTRACT_MEMORY_LIMIT = "2GB"  # of the scratch database that reads a local extract
LICENCE = "CC0 (Kadaster BAG)"
DEFAULT_BASE_URL = "https://api.pdok.nl"
CRS_RD = "http://www.opengis.net/def/crs/EPSG/0/28992"
PAGE_LIMIT = 1000  # PDOK caps limit at 1,000 silently
COLLECTIONS = ("verblijfsobject", "pand")
BAG_ID = re.compile(r"^\d{16}$")
ERRORS_SHOWN = 5  # offending records named in one error message

VBO_SCHEMA = {
    "vbo_id": pl.String, "pand_id": pl.String, "nummeraanduiding_id": pl.String,
    "openbare_ruimte_naam": pl.String, "postcode": pl.String, "huisnummer": pl.Int64, "huisletter": pl.String,
    "toevoeging": pl.String, "gebruiksdoel": pl.String, "oppervlakte_m2": pl.Int64, "status": pl.String,
    "x_rd": pl.Float64, "y_rd": pl.Float64, "buurt_code": pl.String,
}
PAND_SCHEMA = {
    "pand_id": pl.String, "bouwjaar": pl.Int64, "status": pl.String, "footprint_area_m2": pl.Float64,
    "geometry_wkt": pl.String,
}


@dataclass
class BagExtract:
    """Normalised BAG objects: ``verblijfsobjecten`` (VBO_SCHEMA) and ``panden`` (PAND_SCHEMA)."""

    verblijfsobjecten: pl.DataFrame
    panden: pl.DataFrame
    snapshots: list[SnapshotRecord]


# --- PDOK BAG OGC API v2 --------------------------------------------------------------------------------


def collection_url(collection: str, base_url: str = DEFAULT_BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/kadaster/bag/ogc/v2/collections/{collection}/items"


def format_bbox(bbox_rd: tuple[float, float, float, float]) -> str:
    """``minx,miny,maxx,maxy`` in metres with at most millimetre decimals (the demo mirror writes the same)."""
    values = [float(v) for v in bbox_rd]
    if len(values) != 4 or not (values[0] < values[2] and values[1] < values[3]):
        raise ValueError(f"bbox must be (minx, miny, maxx, maxy) in EPSG:28992 with min < max, got {bbox_rd}")
    return ",".join(f"{v:.3f}".rstrip("0").rstrip(".") for v in values)


def bbox_params(bbox_rd: tuple[float, float, float, float]) -> dict:
    """Query parameters of the first page of a bbox request (both collections)."""
    return {"bbox": format_bbox(bbox_rd), "bbox-crs": CRS_RD, "crs": CRS_RD, "f": "json", "limit": PAGE_LIMIT}


def fetch_bag(
    client: HttpClient,
    store: SnapshotStore,
    bbox_rd: tuple[float, float, float, float],
    base_url: str = DEFAULT_BASE_URL,
) -> BagExtract:
    """Verblijfsobjecten and panden intersecting a bbox (EPSG:28992), every page snapshotted."""
    params = bbox_params(bbox_rd)
    retrieval_id = uuid.uuid4().hex
    snapshots: list[SnapshotRecord] = []
    rows: dict[str, list[dict]] = {}
    for collection in COLLECTIONS:
        url = collection_url(collection, base_url)
        dataset = f"ogc-v2/{collection}/bbox={params['bbox']}"
        parse = _vbo_row if collection == "verblijfsobject" else _pand_row
        rows[collection] = []
        def store_page(result, number: int, page: dict | None = None, rows: int | None = None, dataset=dataset):
            # Every page is kept as delivered, also one that does not parse (nothing a source sent is lost).
            return store.put(
                result.content, source_id=SOURCE_ID, dataset=dataset, url=result.url, rows=rows,
                licence=LICENCE, source_version=(page or {}).get("timeStamp"), etag=result.etag,
                last_modified=result.last_modified, from_mirror=result.from_mirror, page=number,
                retrieval_id=retrieval_id,
            )

        pages = iter_pages(client, url, params, ogc_next_link, on_bad_page=store_page)
        for number, (result, page) in enumerate(pages):
            features = page.get("features")
            record = store_page(result, number, page, len(features) if isinstance(features, list) else None)
            if not isinstance(features, list):
                raise PayloadError(f"{result.url}: OGC API page has no 'features' list")
            snapshots.append(record)
            where = result.headers.get("X-Mirror-File") or result.url
            rows[collection] += [parse(feature, f"{where} feature {i}") for i, feature in enumerate(features)]

    panden = pl.DataFrame(rows["pand"], schema={"pand_uuid": pl.String, **PAND_SCHEMA})
    vbo = pl.DataFrame(rows["verblijfsobject"], schema={"pand_uuid": pl.String, **VBO_SCHEMA})
    _no_duplicates(panden, "pand_id", collection_url("pand", base_url))
    _no_duplicates(vbo, "vbo_id", collection_url("verblijfsobject", base_url))
    by_uuid = panden.select("pand_uuid", pl.col("pand_id").alias("pand_id_by_uuid"))
    vbo = vbo.join(by_uuid, on="pand_uuid", how="left").with_columns(
        pl.coalesce("pand_id", "pand_id_by_uuid").alias("pand_id")
    )
    missing = vbo.filter(pl.col("pand_id").is_null())
    if missing.height:
        log.warning("BAG bbox %s: %d verblijfsobjecten have no pand among the panden of the bbox (e.g. %s)",
                    params["bbox"], missing.height, missing["vbo_id"].head(3).to_list())
    return BagExtract(vbo.select(list(VBO_SCHEMA)), panden.select(list(PAND_SCHEMA)), snapshots)


def _bag_id(value, where: str, field: str, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise PayloadError(f"{where} field '{field}': missing")
        return None
    text = str(value).zfill(16) if isinstance(value, int) else str(value)
    if not BAG_ID.match(text):
        raise PayloadError(f"{where} field '{field}': a BAG id has 16 digits, got {value!r}")
    return text


def _integer(value, where: str, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PayloadError(f"{where} field '{field}': not a number: {value!r}") from None
    if number != int(number):
        raise PayloadError(f"{where} field '{field}': not a whole number: {value!r}")
    return int(number)


def _properties(feature: dict, where: str) -> dict:
    props = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(props, dict):
        raise PayloadError(f"{where}: 'properties' is missing")
    return props


def _vbo_row(feature: dict, where: str) -> dict:
    props = _properties(feature, where)
    where = f"{where} (id {feature.get('id')})"
    hrefs = props.get("pand.href") or []
    if isinstance(hrefs, str):
        hrefs = [hrefs]
    x = y = None
    geometry = feature.get("geometry")
    if geometry:
        if geometry.get("type") != "Point" or len(geometry.get("coordinates") or []) < 2:
            raise PayloadError(f"{where} field 'geometry': expected a Point, got {str(geometry)[:80]}")
        x, y = (float(c) for c in geometry["coordinates"][:2])
    return {
        # a verblijfsobject in several panden: the first one listed
        "pand_uuid": str(hrefs[0]).rstrip("/").rsplit("/", 1)[-1] if hrefs else None,
        "vbo_id": _bag_id(props.get("identificatie"), where, "identificatie"),
        "pand_id": _bag_id(props.get("pand_identificatie"), where, "pand_identificatie", required=False),
        "nummeraanduiding_id": _bag_id(props.get("hoofdadres_identificatie"), where, "hoofdadres_identificatie",
                                       required=False),
        "openbare_ruimte_naam": props.get("openbare_ruimte_naam"),
        "postcode": _postcode(props.get("postcode")),
        "huisnummer": _integer(props.get("huisnummer"), where, "huisnummer"),
        "huisletter": props.get("huisletter") or None,
        "toevoeging": props.get("toevoeging") or None,
        "gebruiksdoel": props.get("gebruiksdoel"),
        "oppervlakte_m2": _integer(props.get("oppervlakte"), where, "oppervlakte"),
        "status": props.get("status"),
        "x_rd": x,
        "y_rd": y,
        "buurt_code": None,
    }


def _pand_row(feature: dict, where: str) -> dict:
    props = _properties(feature, where)
    where = f"{where} (id {feature.get('id')})"
    wkt = area = None
    if feature.get("geometry"):
        try:
            geom = shape(feature["geometry"])
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise PayloadError(f"{where} field 'geometry': invalid: {exc}") from exc
        wkt, area = shapely.to_wkt(geom, rounding_precision=3), round(float(geom.area), 2)
    return {
        "pand_uuid": None if feature.get("id") is None else str(feature["id"]),
        "pand_id": _bag_id(props.get("identificatie"), where, "identificatie"),
        "bouwjaar": _integer(props.get("bouwjaar", props.get("oorspronkelijk_bouwjaar")), where, "bouwjaar"),
        "status": props.get("status"),
        "footprint_area_m2": area,
        "geometry_wkt": wkt,
    }


def _postcode(value) -> str | None:
    if value is None:
        return None
    return str(value).replace(" ", "").upper() or None


def _no_duplicates(frame: pl.DataFrame, column: str, where: str) -> None:
    duplicated = frame.filter(pl.col(column).is_duplicated())[column].unique().sort().to_list()
    if duplicated:
        raise PayloadError(f"{where}: {column} delivered more than once: {duplicated[:10]}")


# --- local extract: CSV or GeoPackage -------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A normalised column, the source columns it may come from (first found wins), and its type."""

    name: str
    candidates: tuple[str, ...]
    kind: str  # bag_id | text | postcode | integer | number
    required: bool = False


VBO_FIELDS = (
    Field("vbo_id", ("vbo_id", "identificatie"), "bag_id", required=True),
    Field("pand_id", ("pand_id", "pand_identificatie", "pandidentificatie"), "bag_id", required=True),
    Field("nummeraanduiding_id", ("nummeraanduiding_id", "hoofdadres_identificatie",
                                  "nummeraanduiding_hoofdadres_identificatie"), "bag_id"),
    Field("openbare_ruimte_naam", ("openbare_ruimte_naam", "openbareruimtenaam", "straatnaam"), "text"),
    Field("postcode", ("postcode",), "postcode", required=True),
    Field("huisnummer", ("huisnummer",), "integer", required=True),
    Field("huisletter", ("huisletter",), "text"),
    Field("toevoeging", ("huisnummertoevoeging", "toevoeging"), "text"),
    Field("gebruiksdoel", ("gebruiksdoel",), "text", required=True),
    Field("oppervlakte_m2", ("oppervlakte_m2", "oppervlakte"), "integer", required=True),
    Field("status", ("status",), "text", required=True),
    Field("x_rd", ("x_rd",), "number"),
    Field("y_rd", ("y_rd",), "number"),
    Field("buurt_code", ("buurtcode", "buurt_code"), "text"),
)
PAND_FIELDS = (
    Field("pand_id", ("pand_id", "identificatie"), "bag_id", required=True),
    Field("bouwjaar", ("oorspronkelijkbouwjaar", "bouwjaar", "oorspronkelijk_bouwjaar"), "integer", required=True),
    Field("status", ("status",), "text", required=True),
    Field("footprint_area_m2", ("footprint_area_m2",), "number"),
    Field("geometry_wkt", ("wkt_rd", "geometry_wkt", "wkt"), "text"),
)
LAYERS = {"verblijfsobject": VBO_FIELDS, "pand": PAND_FIELDS}
MAPPING_KEYS = {"columns", "layer", "delimiter"}
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")


def load_column_map(column_map: Mapping | str | Path | None) -> dict[str, dict]:
    """A column mapping from a dict or a YAML file, checked against the known layers and columns.

    Shape: ``{verblijfsobject: {columns: {vbo_id: identificatie, ...}, layer: ..., delimiter: ...},
    pand: {...}}``. A column mapped to null is not in the file (only allowed for optional columns).
    """
    if column_map is None:
        return {}
    where = "column mapping"
    if isinstance(column_map, str | Path):
        where = str(column_map)
        try:
            column_map = yaml.safe_load(Path(column_map).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(where, f"cannot read the column mapping: {exc}") from exc
    if not isinstance(column_map, Mapping):
        raise InputError(where, f"expected a mapping with keys {sorted(LAYERS)}, got {type(column_map).__name__}")
    checked = {}
    for layer, spec in column_map.items():
        if layer not in LAYERS:
            raise InputError(where, f"unknown layer; expected one of {sorted(LAYERS)}", record=layer)
        if not isinstance(spec, Mapping) or set(spec) - MAPPING_KEYS:
            raise InputError(where, f"expected keys among {sorted(MAPPING_KEYS)}, got {spec!r}", record=layer)
        known = {f.name for f in LAYERS[layer]}
        columns = dict(spec.get("columns") or {})
        for name in columns:
            if name not in known:
                raise InputError(where, f"unknown column; expected one of {sorted(known)}", record=layer, field=name)
        checked[layer] = {**spec, "columns": columns}
    return checked


def read_bag_extract(
    vbo_path: str | Path,
    pand_path: str | Path,
    column_map: Mapping | str | Path | None = None,
    *,
    store: SnapshotStore | None = None,
) -> BagExtract:
    """Read a local BAG extract (CSV or GeoPackage) into the normalised frames.

    With a ``store`` every input file is snapshotted (content-addressed copy + provenance record,
    source_id ``bag_extract``) and read from that copy.
    """
    mapping = load_column_map(column_map)
    snapshots = []
    sources = {}
    for layer, path in (("verblijfsobject", Path(vbo_path)), ("pand", Path(pand_path))):
        if not path.is_file():
            raise InputError(path, "file not found")
        read_from = path
        if store is not None:
            if layer == "pand" and path.resolve() == Path(vbo_path).resolve():  # one GeoPackage, two layers
                read_from = Path(snapshots[0].path)
            else:
                record = store.put_file(path, source_id=EXTRACT_SOURCE_ID, dataset=f"extract/{layer}",
                                       licence=LICENCE)
                snapshots.append(record)
                read_from = Path(record.path)
        sources[layer] = (path, read_from)
    # A national extract is gigabytes: the scratch database spills above its memory limit instead of holding
    # both layers next to the frames made from them (measured peak 8.8 GiB without the limit).
    with tempfile.TemporaryDirectory(prefix="bag_extract_") as scratch:
        con = duckdb.connect(config={"memory_limit": EXTRACT_MEMORY_LIMIT, "temp_directory": scratch})
        try:
            vbo = _read_layer(con, "verblijfsobject", *sources["verblijfsobject"], mapping.get("verblijfsobject", {}))
            panden = _read_layer(con, "pand", *sources["pand"], mapping.get("pand", {}))
        finally:
            con.close()
    return BagExtract(vbo, panden, snapshots)


def _read_layer(con: duckdb.DuckDBPyConnection, layer: str, path: Path, read_from: Path, spec: dict) -> pl.DataFrame:
    fields = LAYERS[layer]
    name = path.name.lower()
    literal = _sql_string(str(read_from))
    if name.endswith(".gpkg"):
        _load_spatial(con)
        gpkg_layer = spec.get("layer", layer)
        try:
            con.execute(f"create or replace temp view src as select * from st_read({literal}, "
                        f"layer={_sql_string(gpkg_layer)})")
        except duckdb.Error as exc:
            raise InputError(path, f"cannot read layer '{gpkg_layer}' of the GeoPackage: {exc}") from exc
        geometry = _geometry_column(con)
    elif name.endswith(CSV_SUFFIXES):
        if path.stat().st_size == 0:
            raise InputError(path, "the file is empty")
        # null_padding: a truncated last line gives nulls the checks name, not a misread header.
        options = "all_varchar=true, header=true, null_padding=true"
        if spec.get("delimiter"):
            options += f", delim={_sql_string(spec['delimiter'])}"
        try:
            con.execute(f"create or replace temp view src as select * from read_csv({literal}, {options})")
            con.execute("select count(*) from src").fetchone()
        except duckdb.Error as exc:
            raise InputError(path, f"cannot read as CSV: {exc}") from exc
        geometry = None
    else:
        raise InputError(path, "unknown extract format: expected .csv (.csv.gz, .txt, .tsv) or .gpkg")

    found = [row[0] for row in con.execute("select column_name from (describe src)").fetchall()]
    chosen = _choose_columns(path, fields, found, spec.get("columns", {}))
    selects = ["row_number() over () as record"]
    for field in fields:
        column = chosen.get(field.name)
        expression = f"nullif(trim(cast({_ident(column)} as varchar)), '')" if column else "null::varchar"
        if column is None and geometry is not None:
            # GeoPackage: the geometry supplies point coordinates, the outline and its area
            expression = {
                "x_rd": f"cast(st_x(st_centroid({_ident(geometry)})) as varchar)",
                "y_rd": f"cast(st_y(st_centroid({_ident(geometry)})) as varchar)",
                "geometry_wkt": f"st_astext({_ident(geometry)})",
            }.get(field.name, expression)
        selects.append(f"{expression} as {_ident(field.name)}")
    con.execute(f"create or replace temp table raw_{layer} as select {', '.join(selects)} from src")
    _check_values(con, f"raw_{layer}", path, fields, chosen)
    if layer == "verblijfsobject":
        _check_unique(con, f"raw_{layer}", path, "vbo_id", chosen.get("vbo_id") or "vbo_id")

    typed = []
    for field in fields:
        column = _ident(field.name)
        typed.append({
            "bag_id": column,
            "text": column,
            "postcode": f"upper(replace({column}, ' ', ''))",
            "integer": f"cast(cast({column} as double) as bigint)",
            "number": f"cast({column} as double)",
        }[field.kind] + f" as {column}")
    if layer == "pand" and "footprint_area_m2" not in chosen:
        _load_spatial(con)
        typed[[f.name for f in fields].index("footprint_area_m2")] = (
            "round(st_area(st_geomfromtext(geometry_wkt)), 2) as footprint_area_m2"
        )
    try:
        frame = con.execute(f"select {', '.join(typed)} from raw_{layer} order by record").pl()
    except duckdb.Error as exc:  # e.g. an outline that is not WKT
        raise InputError(path, f"cannot convert the values: {exc}") from exc
    con.execute(f"drop table raw_{layer}")  # the frame holds it now
    schema = VBO_SCHEMA if layer == "verblijfsobject" else PAND_SCHEMA
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


def _choose_columns(path: Path, fields: tuple[Field, ...], found: list[str], mapped: dict) -> dict[str, str]:
    """Logical name -> source column. Mapped names must exist; defaults are looked up case-insensitively."""
    by_lower = {c.lower(): c for c in found}
    chosen = {}
    for field in fields:
        if field.name in mapped:
            column = mapped[field.name]
            if column is None:
                if field.required:
                    raise InputError(path, "a required column cannot be mapped to nothing", field=field.name)
                continue
            if column not in found:
                raise InputError(path, f"mapped column '{column}' not found; columns found: {found}",
                                 field=field.name)
            chosen[field.name] = column
            continue
        column = next((by_lower[c.lower()] for c in field.candidates if c.lower() in by_lower), None)
        if column is not None:
            chosen[field.name] = column
        elif field.required:
            raise InputError(
                path, f"required column missing (looked for {', '.join(field.candidates)}); "
                f"columns found: {found}", field=field.name,
            )
    return chosen


def _check_values(con, table: str, path: Path, fields: tuple[Field, ...], chosen: dict[str, str]) -> None:
    """The first records whose value does not have the field's form, as one InputError."""
    for field in fields:
        column = _ident(field.name)
        if field.kind == "bag_id":
            bad = f"{column} is not null and not regexp_full_match({column}, '\\d{{16}}')"
            problem = "a BAG id has 16 digits"
        elif field.kind == "integer":
            bad = (f"{column} is not null and (try_cast({column} as double) is null "
                   f"or try_cast({column} as double) != floor(try_cast({column} as double)))")
            problem = "not a whole number"
        elif field.kind == "number":
            bad = f"{column} is not null and try_cast({column} as double) is null"
            problem = "not a number"
        else:
            continue
        rows = con.execute(
            f"select record, {column} from {table} where {bad} order by record limit {ERRORS_SHOWN}"
        ).fetchall()
        if rows:
            total = con.execute(f"select count(*) from {table} where {bad}").fetchone()[0]
            shown = ", ".join(f"record {r} {v!r}" for r, v in rows)
            raise InputError(
                path, f"{problem}, got {rows[0][1]!r} ({total} bad value(s): {shown})",
                record=rows[0][0], field=chosen.get(field.name, field.name),
            )


def _check_unique(con, table: str, path: Path, column: str, source_column: str) -> None:
    rows = con.execute(
        f"select {column}, list(record order by record) from {table} where {column} is not null "
        f"group by {column} having count(*) > 1 order by min(record) limit {ERRORS_SHOWN}"
    ).fetchall()
    if rows:
        shown = "; ".join(f"{value} in records {records[:5]}" for value, records in rows)
        raise InputError(path, f"duplicate {column}: {shown}", record=rows[0][1][1], field=source_column)


def _geometry_column(con) -> str | None:
    for name, kind in con.execute("select column_name, column_type from (describe src)").fetchall():
        if kind.upper().startswith("GEOMETRY"):
            return name
    return None


def _load_spatial(con) -> None:
    from wup_pipeline.resources.warehouse import load_spatial

    load_spatial(con)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- snapshots of local files ---------------------------------------------------------------------------
