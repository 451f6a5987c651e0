"""Grid operators' small-consumer data ("kleinverbruiksgegevens"): connections and annual use per postcode range.

Every Dutch grid operator publishes, per year (reference date 1 January), one row per street and postcode range
(``POSTCODE_VAN``..``POSTCODE_TOT``, at least 10 connections) and product (``ELK`` electricity, ``GAS``): the
number of connections, the average standard annual use (``SJV_GEMIDDELD``, ``SJA_GEMIDDELD`` from 2024 at
Stedin), and shares of smart meters, delivery direction, low tariff and connection type. The layouts differ
per operator and year (docs/sources/kleinverbruik.md):

* Stedin CSV: tab-separated, quoted text, decimal comma; a UTF-8 byte-order mark in 2020; 2021 is
  ``;``-separated, has NO header row and wraps text in triple quotes; 2022 (Zeeland) is a header only;
* Liander yearly CSV: ``;``-separated and space-padded (up to 2024); from 2025 tab-separated with every whole
  line wrapped in double quotes;
* Enexis WFS layers ``postcode_kleinverbruik_e`` / ``_g`` (GeoJSON), the same attributes in lower case without
  underscores (``postcodevan``, ``sjvgemiddeld``) and postcodes written ``'1234 AB'``.

``read_kleinverbruik`` detects the dialect of a file and maps columns by name; ``read_enexis_wfs`` reads the WFS
through ``HttpClient`` (mirror-able); ``map_to_buurten`` assigns the ranges to buurten through the addresses
whose postcode falls in each range (DuckDB range join).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.paging import PayloadError, parse_json
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore

LICENCE = "CC-BY 4.0 (grid operator open data)"
ENEXIS_WFS_URL = "https://opendata.enexis.nl/geoserver/wfs"
ENEXIS_LAYERS = {"electricity": "postcode_kleinverbruik_e", "gas": "postcode_kleinverbruik_g"}
MAX_WFS_PAGES = 10_000

# The common layout (header of Stedin 2013-2023; the same 17 names in Liander's classic files).
KLEINVERBRUIK_LAYOUT = (
    "NETBEHEERDER", "NETGEBIED", "STRAATNAAM", "POSTCODE_VAN", "POSTCODE_TOT", "WOONPLAATS", "LANDCODE",
    "PRODUCTSOORT", "VERBRUIKSSEGMENT", "AANSLUITINGEN_AANTAL", "LEVERINGSRICHTING_PERC", "FYSIEKE_STATUS_PERC",
    "SOORT_AANSLUITING_PERC", "SOORT_AANSLUITING", "SJV_GEMIDDELD", "SJV_LAAG_TARIEF_PERC", "SLIMME_METER_PERC",
)
# Files without a header row are read in the column order of the same operator's other years: Stedin's
# 2021 file has 17 fields per line in exactly the order of its 2013-2020 and 2023 headers.
HEADERLESS_ORDER = {"stedin": KLEINVERBRUIK_LAYOUT}

# Output column -> accepted source names (compared upper-case with everything but letters and digits removed).
FIELDS: dict[str, tuple[str, ...]] = {
    "street": ("STRAATNAAM",),
    "postcode_from": ("POSTCODE_VAN",),
    "postcode_to": ("POSTCODE_TOT",),
    "city": ("WOONPLAATS",),
    "product": ("PRODUCTSOORT",),
    "connections": ("AANSLUITINGEN_AANTAL",),
    "avg_annual_use": ("SJV_GEMIDDELD", "SJA_GEMIDDELD"),
    "smart_meter_pct": ("SLIMME_METER_PERC",),
    "delivery_direction_pct": ("LEVERINGSRICHTING_PERC",),
    "low_tariff_pct": ("SJV_LAAG_TARIEF_PERC", "SJA_LAAG_TARIEF_PERC"),
    "connection_type": ("SOORT_AANSLUITING",),
}
REQUIRED = ("postcode_from", "postcode_to", "product", "connections", "avg_annual_use")
PERCENTAGES = ("smart_meter_pct", "delivery_direction_pct", "low_tariff_pct")
PRODUCTS = {"ELK": "electricity", "ELEKTRICITEIT": "electricity", "E": "electricity", "GAS": "gas", "G": "gas"}
DELIMITERS = ("\t", ";", ",", "|")
MIN_FIELDS = 5

OUTPUT_SCHEMA = {
    "operator": pl.String,
    "year": pl.Int64,
    "postcode_from": pl.String,
    "postcode_to": pl.String,
    "street": pl.String,
    "city": pl.String,
    "product": pl.String,  # 'gas' | 'electricity'
    "connections": pl.Int64,
    "avg_annual_use": pl.Float64,  # m3 per connection per year (gas), kWh (electricity)
    "smart_meter_pct": pl.Float64,  # % of the connections
    "delivery_direction_pct": pl.Float64,  # % of the connections taking from the grid
    "low_tariff_pct": pl.Float64,
    "connection_type": pl.String,  # most common connection type, e.g. '3x25', 'G4'
    "source_record": pl.String,  # 'line <n>' of the file (header = line 1) or 'feature <n>' of a WFS page
}


def normalise_name(name: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", name.upper())


KNOWN_NAMES = {normalise_name(source): field for field, sources in FIELDS.items() for source in sources}
ALL_LAYOUT_NAMES = {normalise_name(n) for n in KLEINVERBRUIK_LAYOUT} | set(KNOWN_NAMES)


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=OUTPUT_SCHEMA)


# --- files --------------------------------------------------------------------------------------------


def read_kleinverbruik(path: Path | str, operator: str, year: int) -> pl.DataFrame:
    """One operator's file for one year as ``OUTPUT_SCHEMA`` rows; a header-only file gives an empty frame."""
    path = Path(path)
    where = str(path)
    operator = operator.strip().lower()
    if not path.is_file():
        raise InputError(where, "file not found")
    text = _decode(path.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n", 1)
    first = lines[0]
    if not first.strip():
        raise InputError(where, "the file is empty or starts with a blank line; expected a header or a data row",
                         record="line 1")
    # Liander 2025+: every whole line is wrapped in double quotes ("a<TAB>b<TAB>c").
    if len(first) > 1 and first[0] == first[-1] == '"' and '"' not in first[1:-1]:
        text = re.sub(r'(?m)^"(.*)"$', r"\1", text)
        first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)
    fields = next(csv.reader([first], delimiter=delimiter))
    if len(fields) < MIN_FIELDS:
        raise InputError(where, f"cannot find the delimiter: the first line has {len(fields)} field(s) with any of "
                                f"{[d for d in DELIMITERS]}; expected the kleinverbruik layout "
                                f"({', '.join(KLEINVERBRUIK_LAYOUT)})", record="line 1")
    names = [_clean_name(f) for f in fields]
    has_header = sum(normalise_name(n) in ALL_LAYOUT_NAMES for n in names) >= 3
    if not has_header:
        order = HEADERLESS_ORDER.get(operator)
        if order is None:
            raise InputError(where, f"the first line is not a header (none of its fields is a known column name) "
                                    f"and there is no known header-less column order for operator '{operator}' "
                                    f"(known: {sorted(HEADERLESS_ORDER)})", record="line 1")
        if len(fields) != len(order):
            raise InputError(where, f"no header row, and the first line has {len(fields)} fields where the "
                                    f"{operator} layout has {len(order)} ({', '.join(order)})", record="line 1")
        names = list(order)
    positions = _positions(names, where)
    frame = _read_cells(text, delimiter, len(names), has_header, where)
    first_line = 2 if has_header else 1
    frame = frame.with_columns(
        pl.concat_str(pl.lit("line "), pl.int_range(first_line, first_line + pl.len()).cast(pl.String))
        .alias("source_record")
    )
    # Cells: spaces (Liander pads) and the surrounding quotes of Stedin 2021's """text""" come off.
    columns = {field: _cell(pl.col(f"c{position}")) for field, position in positions.items()}
    cells = frame.select(**columns, source_record=pl.col("source_record"))
    cells = cells.filter(~pl.all_horizontal([pl.col(f).is_null() for f in positions]))  # blank lines
    labels = {field: names[position] for field, position in positions.items()}
    return normalise(cells, operator, year, where, labels)


def _decode(raw: bytes) -> str:
    """UTF-8 with or without byte-order mark, UTF-16 with one, else cp1252 (Windows exports)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _clean_name(name: str) -> str:
    return name.strip().strip('"').strip()


def _positions(names: list[str], where: str) -> dict[str, int]:
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        field = KNOWN_NAMES.get(normalise_name(name))
        if field is None:
            continue
        if field in positions:
            raise InputError(where, f"columns '{names[positions[field]]}' and '{name}' both give {field}; keep one",
                             record="line 1", field=name)
        positions[field] = position
    missing = [f for f in REQUIRED if f not in positions]
    if missing:
        raise InputError(
            where, f"required column(s) {[FIELDS[f][0] for f in missing]} not found; the header has {names}",
            record="line 1", field=FIELDS[missing[0]][0],
        )
    return positions


def _read_cells(text: str, delimiter: str, width: int, has_header: bool, where: str) -> pl.DataFrame:
    try:
        return pl.read_csv(
            io.BytesIO(text.encode("utf-8")), separator=delimiter, has_header=False, skip_rows=int(has_header),
            schema={f"c{i}": pl.String for i in range(width)}, quote_char='"', raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        # Find the line in question (only on this error path) so the message can name it.
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        for cells in reader:
            if len(cells) > width:
                raise InputError(where, f"{len(cells)} fields where the header has {width}",
                                 record=f"line {reader.line_num}") from None
        raise InputError(where, f"cannot be read as delimited text ({str(exc).splitlines()[0][:200]})") from None


def _cell(expr: pl.Expr) -> pl.Expr:
    value = expr.str.strip_chars().str.strip_chars('"').str.strip_chars()
    return pl.when(value != "").then(value)


def normalise(cells: pl.DataFrame, operator: str, year: int, where: str, labels: dict[str, str]) -> pl.DataFrame:
    """Text cells (one column per ``FIELDS`` key found, plus source_record) -> typed ``OUTPUT_SCHEMA`` rows."""
    for field in REQUIRED:
        _raise_first(cells, pl.col(field).is_null(), where, labels[field], "the value is empty")
    postcodes = {f: pl.col(f).str.to_uppercase().str.replace_all(r"\s", "") for f in ("postcode_from", "postcode_to")}
    for field, expr in postcodes.items():
        _raise_first(cells, ~expr.str.contains(r"^\d{4}[A-Z]{2}$"), where, labels[field],
                     "is not a 6-position postcode like 1234AB", show=field)
    product = pl.col("product").str.to_uppercase().replace_strict(PRODUCTS, default=None)
    _raise_first(cells, product.is_null(), where, labels["product"], f"is not one of {sorted(PRODUCTS)}",
                 show="product")
    numbers = {f: _number(pl.col(f)) for f in ("connections", "avg_annual_use", *PERCENTAGES) if f in cells.columns}
    for field, expr in numbers.items():
        _raise_first(cells, pl.col(field).is_not_null() & expr.is_null(), where, labels[field], "is not a number",
                     show=field)
    _raise_first(cells, (numbers["connections"] < 0) | (numbers["connections"] != numbers["connections"].round(0)),
                 where, labels["connections"], "is not a whole number of connections", show="connections")
    for field in PERCENTAGES:
        if field in numbers:
            _raise_first(cells, ~numbers[field].is_between(0, 100), where, labels[field],
                         "is not a percentage between 0 and 100", show=field)
    optional_text = {f: pl.col(f) if f in cells.columns else pl.lit(None, dtype=pl.String)
                     for f in ("street", "city", "connection_type")}
    optional_number = {f: numbers.get(f, pl.lit(None, dtype=pl.Float64)) for f in PERCENTAGES}
    return cells.select(
        pl.lit(operator).alias("operator"),
        pl.lit(year, dtype=pl.Int64).alias("year"),
        postcodes["postcode_from"].alias("postcode_from"),
        postcodes["postcode_to"].alias("postcode_to"),
        optional_text["street"].alias("street"),
        optional_text["city"].alias("city"),
        product.alias("product"),
        numbers["connections"].cast(pl.Int64).alias("connections"),
        numbers["avg_annual_use"].alias("avg_annual_use"),
        *[optional_number[f].alias(f) for f in PERCENTAGES],
        optional_text["connection_type"].alias("connection_type"),
        "source_record",
    ).cast(OUTPUT_SCHEMA)


def _number(expr: pl.Expr) -> pl.Expr:
    """'2579,14' (decimal comma), '1.234,5' and '2579.14' -> 2579.14; anything else -> null."""
    text = pl.when(expr.str.contains(",")).then(expr.str.replace_all(r"\.", "").str.replace(",", ".")).otherwise(expr)
    return text.cast(pl.Float64, strict=False)


def _raise_first(cells: pl.DataFrame, bad: pl.Expr, where: str, label: str, problem: str,
                 show: str | None = None) -> None:
    rows = cells.filter(bad.fill_null(False))
    if rows.is_empty():
        return
    value = f"{rows[show][0]!r} " if show else ""
    more = f" ({rows.height} records with this problem)" if rows.height > 1 else ""
    raise InputError(where, f"{value}{problem}{more}", record=rows["source_record"][0], field=label)


# --- Enexis WFS ---------------------------------------------------------------------------------------


@dataclass
class KleinverbruikExtract:
    frame: pl.DataFrame  # OUTPUT_SCHEMA
    snapshots: list[SnapshotRecord]


def read_enexis_wfs(
    client: HttpClient,
    store: SnapshotStore,
    year: int,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    srs: str = "EPSG:28992",
    base_url: str = ENEXIS_WFS_URL,
    page_size: int = 1_000,
    products: tuple[str, ...] = ("electricity", "gas"),
) -> KleinverbruikExtract:
    """Enexis kleinverbruik from its WFS: one GetFeature request per layer, paged by ``startIndex``.

    A page with fewer than ``page_size`` features, or reaching ``numberMatched`` when the server gives it, is
    the last. Every page is kept as a snapshot. ``year`` labels the rows (the layers hold one year).
    """
    if page_size < 1:
        raise ValueError(f"page size must be at least 1, got {page_size}")
    retrieval_id = uuid.uuid4().hex
    snapshots: list[SnapshotRecord] = []
    frames = []
    for product in products:
        layer = ENEXIS_LAYERS[product]
        params = {"service": "WFS", "version": "2.0.0", "request": "GetFeature", "typeName": layer,
                  "outputFormat": "application/json", "srsName": srs, "count": page_size}
        if bbox is not None:
            params["bbox"] = ",".join(f"{v:g}" for v in bbox) + f",{srs}"
        start = 0
        for page_number in range(MAX_WFS_PAGES):
            result = client.get(base_url, params={**params, "startIndex": start})
            where = result.headers.get("X-Mirror-File") or result.url
            payload = parse_json(result)
            features = payload.get("features") if isinstance(payload, dict) else None
            if not isinstance(features, list):
                raise PayloadError(f"{where}: expected a GeoJSON FeatureCollection with a 'features' list")
            snapshots.append(store.put(
                result.content, source_id="enexis_kleinverbruik", dataset=f"{layer}/{year}", url=result.url,
                rows=len(features), licence=LICENCE, source_version=payload.get("timeStamp"), etag=result.etag,
                last_modified=result.last_modified, from_mirror=result.from_mirror, page=page_number,
                retrieval_id=retrieval_id,
            ))
            frames.append(_features_frame(features, product, year, where))
            start += len(features)
            matched = payload.get("numberMatched")
            if len(features) < page_size or (isinstance(matched, int) and start >= matched):
                break
        else:
            raise PayloadError(f"{base_url} {layer}: more than {MAX_WFS_PAGES} pages")
    frame = pl.concat(frames) if frames else empty_frame()
    return KleinverbruikExtract(frame, snapshots)


def _features_frame(features: list, product: str, year: int, where: str) -> pl.DataFrame:
    if not features:
        return empty_frame()
    properties = []
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise PayloadError(f"{where} feature {index}: no 'properties' object")
        properties.append(feature["properties"])
    names = {normalise_name(k): k for p in properties[:1] for k in p}
    columns: dict[str, list] = {}
    labels: dict[str, str] = {}
    for normalised, field in KNOWN_NAMES.items():
        if normalised in names and field not in columns:
            key = names[normalised]
            labels[field] = key
            columns[field] = [None if p.get(key) is None else str(p.get(key)).strip() for p in properties]
    missing = [f for f in REQUIRED if f not in columns and f != "product"]
    if missing:
        raise PayloadError(f"{where} feature 0: attribute(s) {[FIELDS[f][0].lower() for f in missing]} missing; "
                           f"found {sorted(properties[0])}")
    if "product" not in columns:
        columns["product"] = ["ELK" if product == "electricity" else "GAS"] * len(properties)
        labels["product"] = "productsoort"
    cells = pl.DataFrame(columns, schema={f: pl.String for f in columns}).with_columns(
        pl.concat_str(pl.lit("feature "), pl.int_range(0, pl.len()).cast(pl.String)).alias("source_record")
    )
    frame = normalise(cells, "enexis", year, where, labels)
    wrong = frame.filter(pl.col("product") != product)
    if wrong.height:
        raise PayloadError(f"{where} {wrong['source_record'][0]}: productsoort is {wrong['product'][0]} in the "
                           f"{ENEXIS_LAYERS[product]} layer")
    return frame


# --- postcode ranges -> buurten -----------------------------------------------------------------------

MAP_SQL = """
with ranges as (
    select * from kleinverbruik
),
postcodes as (
    -- one row per postcode and buurt: how many addresses each buurt has in that postcode
    select upper(replace(postcode, ' ', '')) as postcode, buurt_code, count(*) as n_addresses
    from addresses
    where postcode is not null and buurt_code is not null
    group by all
),
matched as (
    select r.range_id, p.buurt_code, sum(p.n_addresses) as n_addresses
    from ranges as r
    join postcodes as p on p.postcode between r.postcode_from and r.postcode_to
    group by all
),
per_range as (
    select range_id, sum(n_addresses) as range_addresses, count(*) as n_buurten
    from matched
    group by range_id
),
assigned as (
    select
        r.year, m.buurt_code, r.product, r.connections, r.avg_annual_use, r.smart_meter_pct,
        m.n_addresses / pr.range_addresses as share,
        pr.n_buurten > 1 as is_split
    from matched as m
    join per_range as pr using (range_id)
    join ranges as r using (range_id)
),
final as (
    select
        year,
        buurt_code,
        product,
        sum(connections * share) as connections,
        sum(connections * share * avg_annual_use) as total_annual_use,
        sum(connections * share * avg_annual_use)
            / nullif(sum(connections * share) filter (where avg_annual_use is not null), 0)
            as avg_annual_use_per_connection,
        sum(connections * share * smart_meter_pct)
            / nullif(sum(connections * share) filter (where smart_meter_pct is not null), 0)
            as smart_meter_pct,
        count(*) as n_ranges,
        count(*) filter (where is_split) as n_ranges_split,
        count(*) filter (where is_split) / count(*) as share_ranges_split
    from assigned
    group by all
)
select * from final
order by year, buurt_code, product
"""

MAP_OUTPUT_SCHEMA = {
    "year": pl.Int64,
    "buurt_code": pl.String,
    "product": pl.String,
    "connections": pl.Float64,  # connections assigned to the buurt (pro rata to addresses: may be fractional)
    "total_annual_use": pl.Float64,  # m3 (gas) or kWh (electricity) per year, all assigned connections
    "avg_annual_use_per_connection": pl.Float64,
    "smart_meter_pct": pl.Float64,  # connection-weighted
    "n_ranges": pl.Int64,  # postcode ranges with at least one address in the buurt
    "n_ranges_split": pl.Int64,  # of those, ranges whose addresses lie in more than one buurt
    "share_ranges_split": pl.Float64,  # n_ranges_split / n_ranges (0-1)
}


def map_to_buurten(kleinverbruik: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    """Per year, buurt and product: the connections and annual use of the ranges whose postcodes hold the buurt's
    addresses. A range whose addresses lie in several buurten is shared pro rata to its address counts there.
    Ranges without any address in ``addresses`` are left out (see ``unmatched_ranges``).
    """
    con = _range_connection(kleinverbruik, addresses)
    try:
        return con.sql(MAP_SQL).pl().cast(MAP_OUTPUT_SCHEMA)
    finally:
        con.close()


def unmatched_ranges(kleinverbruik: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    """The ranges of ``kleinverbruik`` with no address of ``addresses`` in their postcode span."""
    con = _range_connection(kleinverbruik, addresses)
    try:
        return con.sql("""
            select k.* exclude (range_id)
            from kleinverbruik as k
            where not exists (
                select 1 from addresses as a
                where upper(replace(a.postcode, ' ', '')) between k.postcode_from and k.postcode_to
                  and a.buurt_code is not null
            )
            order by k.range_id
        """).pl()
    finally:
        con.close()


def _range_connection(kleinverbruik: pl.DataFrame, addresses: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    missing = [c for c in ("postcode", "buurt_code") if c not in addresses.columns]
    missing_kv = [c for c in ("year", "postcode_from", "postcode_to", "product", "connections", "avg_annual_use")
                  if c not in kleinverbruik.columns]
    if missing or missing_kv:
        raise ValueError(f"map_to_buurten: missing columns: addresses {missing}, kleinverbruik {missing_kv}")
    con = duckdb.connect()
    kv = kleinverbruik.with_row_index("range_id")
    if "smart_meter_pct" not in kv.columns:
        kv = kv.with_columns(pl.lit(None, dtype=pl.Float64).alias("smart_meter_pct"))
    con.register("kleinverbruik", kv.to_arrow())
    con.register("addresses", addresses.select(pl.col("postcode").cast(pl.String),
                                               pl.col("buurt_code").cast(pl.String)).to_arrow())
    return con
