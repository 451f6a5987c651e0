"""CBS Kerncijfers wijken en buurten (KWB) over StatLine OData v3.

CBS renumbers column keys every year (``GemiddeldAardgasverbruikTotaal_55`` becomes ``_61``) and
the same stem occurs under several topics (``Appartement_54`` is electricity, ``Appartement_62``
gas). Columns are therefore resolved through ``DataProperties``: by key stem, and where the stem
repeats, by a topic group the column must sit under. Some stems were renamed between years; a
column lists every stem it has had.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.paging import PayloadError, iter_pages, odata_next_link, parse_json
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore

SOURCE_ID = "cbs_kwb"
LICENCE = "CC-BY 4.0 (CBS)"
DEFAULT_BASE_URL = "https://opendata.cbs.nl/ODataFeed/odata"

# Kerncijfers wijken en buurten, one StatLine table per year.
KWB_TABLES = {
    2019: "84583NED",
    2020: "84799NED",
    2021: "85039NED",
    2022: "85318NED",
    2023: "85618NED",
    2024: "85984NED",
    2025: "86165NED",
}


@dataclass(frozen=True)
class KwbColumn:
    """A logical KWB column: the stems it has carried over the years, and where it sits."""

    name: str
    stems: tuple[str, ...]
    under: str | None = None  # text in the title of an ancestor topic group, when stems repeat
    required: bool = False


KWB_COLUMNS: tuple[KwbColumn, ...] = (
    KwbColumn("gemeentenaam", ("Gemeentenaam",), required=True),
    KwbColumn("soort_regio", ("SoortRegio",), required=True),
    KwbColumn("codering", ("Codering",), required=True),
    KwbColumn("aantal_inwoners", ("AantalInwoners",), required=True),
    KwbColumn("huishoudens_totaal", ("HuishoudensTotaal",)),
    KwbColumn("gemiddelde_huishoudensgrootte", ("GemiddeldeHuishoudensgrootte",)),
    KwbColumn("woningvoorraad", ("Woningvoorraad",), required=True),
    KwbColumn("gemiddelde_woz_waarde", ("GemiddeldeWOZWaardeVanWoningen", "GemiddeldeWoningwaarde")),
    KwbColumn("percentage_eengezinswoning", ("PercentageEengezinswoning",)),
    KwbColumn("percentage_meergezinswoning", ("PercentageMeergezinswoning",)),
    KwbColumn("koopwoningen", ("Koopwoningen",)),
    KwbColumn("huurwoningen_totaal", ("HuurwoningenTotaal",)),
    KwbColumn("in_bezit_woningcorporatie", ("InBezitWoningcorporatie",)),
    KwbColumn("in_bezit_overige_verhuurders", ("InBezitOverigeVerhuurders",)),
    KwbColumn("bouwjaar_voor_2000", ("BouwjaarVoor2000",)),
    KwbColumn("bouwjaar_vanaf_2000", ("BouwjaarVanaf2000",)),
    KwbColumn("bouwjaar_meer_dan_tien_jaar_geleden", ("BouwjaarMeerDanTienJaarGeleden",)),
    KwbColumn("bouwjaar_afgelopen_tien_jaar", ("BouwjaarAfgelopenTienJaar",)),
    KwbColumn(
        "gemiddeld_elektriciteitsverbruik",
        ("GemiddeldeElektriciteitsleveringTotaal", "GemiddeldElektriciteitsverbruikTotaal"),
    ),
    KwbColumn("gemiddeld_aardgasverbruik", ("GemiddeldAardgasverbruikTotaal",)),
    KwbColumn("aardgas_appartement", ("Appartement",), under="aardgas"),
    KwbColumn("aardgas_tussenwoning", ("Tussenwoning",), under="aardgas"),
    KwbColumn("aardgas_hoekwoning", ("Hoekwoning",), under="aardgas"),
    KwbColumn("aardgas_twee_onder_een_kap", ("TweeOnderEenKapWoning",), under="aardgas"),
    KwbColumn("aardgas_vrijstaand", ("VrijstaandeWoning",), under="aardgas"),
    KwbColumn("elektriciteit_appartement", ("Appartement",), under="elektriciteit"),
    KwbColumn("percentage_woningen_met_stadsverwarming", ("PercentageWoningenMetStadsverwarming",)),
    KwbColumn("gemiddeld_inkomen_per_inwoner", ("GemiddeldInkomenPerInwoner",)),
    KwbColumn("gem_gestandaardiseerd_inkomen_huishouden", ("GemGestandaardiseerdInkomenVanHuish",)),
    KwbColumn("huishoudens_met_laag_inkomen", ("HuishoudensMetEenLaagInkomen",)),
    KwbColumn("huishoudens_tot_110_van_sociaal_minimum", ("HuishoudensTot110VanSociaalMinimum",)),
    KwbColumn("oppervlakte_totaal", ("OppervlakteTotaal",)),
    KwbColumn("oppervlakte_land", ("OppervlakteLand",)),
)

SUFFIX = re.compile(r"^(?P<stem>.+)_(?P<n>\d+)$")
SUPPRESSED = {"", ".", "x", "-", "?"}


class ColumnResolutionError(ValueError):
    """DataProperties do not identify a column unambiguously."""


@dataclass(frozen=True)
class ResolvedColumn:
    name: str
    key: str | None
    title: str | None
    unit: str | None
    datatype: str | None
    topic_path: str | None


def key_stem(key: str) -> str:
    match = SUFFIX.match(key)
    return match.group("stem") if match else key


def resolve_columns(
    data_properties: list[dict], table_id: str, columns: Iterable[KwbColumn] = KWB_COLUMNS
) -> list[ResolvedColumn]:
    """Map each logical column to this table's key by stem and ancestor topic group."""
    by_id = {p.get("ID"): p for p in data_properties}

    def ancestors(prop: dict) -> list[str]:
        titles, parent = [], prop.get("ParentID")
        while parent is not None and parent in by_id:
            titles.append(str(by_id[parent].get("Title") or "").strip())
            parent = by_id[parent].get("ParentID")
        return titles[::-1]

    topics = [p for p in data_properties if p.get("Type") == "Topic" and p.get("Key")]
    resolved = []
    for column in columns:
        candidates = []
        for stem in column.stems:
            candidates = [p for p in topics if key_stem(p["Key"]) == stem]
            if column.under:
                candidates = [
                    p for p in candidates if any(column.under in t.lower() for t in ancestors(p))
                ]
            if candidates:
                break
        if len(candidates) > 1:
            keys = ", ".join(f"{p['Key']} ({' > '.join(ancestors(p))})" for p in candidates)
            raise ColumnResolutionError(
                f"CBS {table_id} DataProperties: column '{column.name}' (stems {column.stems}, "
                f"under {column.under!r}) matches several keys: {keys}"
            )
        if not candidates:
            if column.required:
                raise ColumnResolutionError(
                    f"CBS {table_id} DataProperties: required column '{column.name}' not found "
                    f"(looked for key stems {column.stems}"
                    + (f" under a topic containing '{column.under}'" if column.under else "")
                    + ")"
                )
            resolved.append(ResolvedColumn(column.name, None, None, None, None, None))
            continue
        prop = candidates[0]
        resolved.append(
            ResolvedColumn(
                name=column.name,
                key=prop["Key"],
                title=str(prop.get("Title") or "").strip(),
                unit=prop.get("Unit"),
                datatype=prop.get("Datatype"),
                topic_path=" > ".join(ancestors(prop)),
            )
        )
    return resolved


def clean_value(value, datatype: str | None, where: str):
    """Typed values pass; padded strings are trimmed; CBS suppression marks become null."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if datatype in ("Long", "Double", "Float", "Integer"):
            if value in SUPPRESSED:
                return None
            try:
                return float(value)
            except ValueError as exc:
                raise PayloadError(f"{where}: value {value!r} is not a number") from exc
        return value
    if datatype == "String":
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{where}: value {value!r} has unexpected type {type(value).__name__}")
    return float(value)


def rows_to_frame(rows: list[dict], resolved: list[ResolvedColumn], where: str) -> pl.DataFrame:
    """Keep the region code (as delivered, padded) and the resolved logical columns."""
    data: dict[str, list] = {"wijken_en_buurten": []}
    for column in resolved:
        data[column.name] = []
    for index, row in enumerate(rows):
        record_where = f"{where} record {index}"
        if "WijkenEnBuurten" not in row:
            raise PayloadError(f"{record_where}: field 'WijkenEnBuurten' is missing")
        data["wijken_en_buurten"].append(row["WijkenEnBuurten"])
        for column in resolved:
            value = None
            if column.key is not None:
                if column.key not in row:
                    raise PayloadError(f"{record_where}: field '{column.key}' ({column.name}) is missing")
                value = clean_value(row[column.key], column.datatype, f"{record_where} field '{column.key}'")
            data[column.name].append(value)
    schema = {"wijken_en_buurten": pl.String}
    for column in resolved:
        schema[column.name] = pl.String if column.datatype == "String" else pl.Float64
    return pl.DataFrame(data, schema=schema)


@dataclass
class KwbExtract:
    table_id: str
    year: int
    modified: str | None
    frame: pl.DataFrame
    columns: list[ResolvedColumn]
    snapshots: list[SnapshotRecord]
    reused: bool  # True when the source was unchanged and nothing was downloaded


def region_filter(gemeente_code: str) -> str:
    digits = gemeente_code.removeprefix("GM")
    return " or ".join(f"startswith(WijkenEnBuurten,'{p}{digits}')" for p in ("GM", "WK", "BU"))


def fetch_kwb(
    client: HttpClient,
    store: SnapshotStore,
    gemeente_code: str,
    year: int,
    base_url: str = DEFAULT_BASE_URL,
) -> KwbExtract:
    """Fetch the KWB rows of one gemeente (its own row, its wijken and buurten) for a year."""
    if year not in KWB_TABLES:
        raise ValueError(f"no Kerncijfers wijken en buurten table known for {year}: {sorted(KWB_TABLES)}")
    table_id = KWB_TABLES[year]
    fetched = fetch_odata_table(
        client, store, source_id=SOURCE_ID, table_id=table_id, row_filter=region_filter(gemeente_code),
        dataset_suffix=gemeente_code, base_url=base_url, licence=LICENCE,
    )
    resolved = resolve_columns(fetched.properties, table_id)
    pages = keep_gemeente_rows(fetched.pages, gemeente_code)
    frames = [rows_to_frame(rows, resolved, f"{path}") for path, rows in pages]
    frame = pl.concat(frames) if frames else rows_to_frame([], resolved, table_id)
    return KwbExtract(table_id, year, fetched.modified, frame, resolved, fetched.snapshots, reused=fetched.reused)


def keep_gemeente_rows(pages: list[tuple[str, list[dict]]], gemeente_code: str) -> list[tuple[str, list[dict]]]:
    """Only this gemeente's regions, also if a server ignored the $filter."""
    prefixes = tuple(f"{p}{gemeente_code.removeprefix('GM')}" for p in ("GM", "WK", "BU"))
    return [(path, [r for r in rows if str(r.get("WijkenEnBuurten", "")).startswith(prefixes)])
            for path, rows in pages]


# Dimensions whose members are listed by their own entity set (``/<table>/<Key>``); the region and period
# dimensions are left out: their members are the rows themselves.
LISTED_DIMENSION_TYPES = {"Dimension"}


@dataclass
class ODataTable:
    """One StatLine table as fetched: metadata, the TypedDataSet pages, and the members of its dimensions."""

    table_id: str
    modified: str | None
    properties: list[dict]
    pages: list[tuple[str, list[dict]]]  # (snapshot path, rows) per TypedDataSet page
    dimensions: dict[str, list[dict]]  # dimension key -> its members (Key, Title, ...)
    snapshots: list[SnapshotRecord]
    reused: bool  # True when the table was unchanged and nothing but TableInfos was downloaded


def listed_dimensions(properties: list[dict]) -> list[str]:
    return [p["Key"] for p in properties if p.get("Type") in LISTED_DIMENSION_TYPES and p.get("Key")]


def fetch_odata_table(
    client: HttpClient,
    store: SnapshotStore,
    *,
    source_id: str,
    table_id: str,
    row_filter: str | None,
    dataset_suffix: str,
    base_url: str = DEFAULT_BASE_URL,
    licence: str = LICENCE,
) -> ODataTable:
    """TableInfos, DataProperties, the member list of every plain dimension, and the TypedDataSet pages.

    Every payload becomes a snapshot with provenance. When TableInfos ``Modified`` is unchanged since the
    last complete retrieval from the same server, the stored snapshots are used instead of downloading.
    """
    table_url = f"{base_url.rstrip('/')}/{table_id}"
    retrieval_id = uuid.uuid4().hex
    snapshots: list[SnapshotRecord] = []

    def keep(result, dataset: str, rows: int | None, version: str | None, page: int = 0) -> SnapshotRecord:
        record = store.put(
            result.content, source_id=source_id, dataset=dataset, url=result.url, rows=rows,
            licence=licence, source_version=version, etag=result.etag,
            last_modified=result.last_modified, from_mirror=result.from_mirror, page=page,
            retrieval_id=retrieval_id,
        )
        snapshots.append(record)
        return record

    @contextlib.contextmanager
    def kept_when_bad(result, dataset: str, version: str | None = None, page: int = 0):
        """A payload that fails to parse is stored all the same: nothing a source delivered is lost."""
        try:
            yield
        except PayloadError:
            keep(result, dataset, None, version, page)
            raise

    infos_result = client.get(f"{table_url}/TableInfos", params={"$format": "json"})
    with kept_when_bad(infos_result, f"{table_id}/TableInfos"):
        infos = parse_json(infos_result)
    infos = (infos.get("value") if isinstance(infos, dict) else None) or [{}]
    modified = infos[0].get("Modified")
    version = f"{table_id} Modified {modified}"
    keep(infos_result, f"{table_id}/TableInfos", len(infos), version)

    properties_dataset = f"{table_id}/DataProperties"
    data_dataset = f"{table_id}/TypedDataSet/{dataset_suffix}"
    previous_props = store.latest_retrieval(source_id, properties_dataset)
    previous_data = store.latest_retrieval(source_id, data_dataset)
    unchanged = bool(
        modified is not None
        # a mirror is read every time (it is local); reuse saves network calls to the same server only
        and not client.mirror_dir
        and previous_props
        and previous_props[0].url.startswith(table_url)
        and previous_data
        and previous_props[0].source_version == version
        and previous_data[0].source_version == version
        # an interrupted retrieval stored only its first pages: its last page still links onward
        and odata_next_link(json.loads(store.read(previous_data[-1]))) is None
    )
    dimensions: dict[str, list[dict]] = {}
    if unchanged:
        properties = _value_list(store.read(previous_props[0]), previous_props[0].path)
        previous_dims = {key: store.latest(source_id, f"{table_id}/{key}") for key in listed_dimensions(properties)}
        unchanged = all(r is not None and r.source_version == version for r in previous_dims.values())
        if unchanged:
            snapshots.extend(previous_props + list(previous_dims.values()) + previous_data)
            dimensions = {key: _value_list(store.read(r), r.path) for key, r in previous_dims.items()}
            pages = [(r.path, _value_list(store.read(r), r.path)) for r in previous_data]
    if not unchanged:
        props_result = client.get(f"{table_url}/DataProperties", params={"$format": "json"})
        with kept_when_bad(props_result, properties_dataset, version):
            properties = _value_list(props_result.content, props_result.url)
        keep(props_result, properties_dataset, len(properties), version)
        for key in listed_dimensions(properties):
            result = client.get(f"{table_url}/{key}", params={"$format": "json"})
            with kept_when_bad(result, f"{table_id}/{key}", version):
                dimensions[key] = _value_list(result.content, result.headers.get("X-Mirror-File") or result.url)
            keep(result, f"{table_id}/{key}", len(dimensions[key]), version)
        pages = []
        params = {"$format": "json"}
        if row_filter:
            params["$filter"] = row_filter
        for number, (result, page) in enumerate(
            iter_pages(client, f"{table_url}/TypedDataSet", params, odata_next_link,
                       on_bad_page=lambda bad, n: keep(bad, data_dataset, None, version, page=n))
        ):
            rows = page.get("value")
            if not isinstance(rows, list):
                keep(result, data_dataset, None, version, page=number)
                raise PayloadError(f"{result.url}: OData page has no 'value' list")
            record = keep(result, data_dataset, len(rows), version, page=number)
            pages.append((record.path, rows))
    return ODataTable(table_id, modified, properties, pages, dimensions, snapshots, reused=unchanged)


def _value_list(content: bytes, where: str) -> list[dict]:
    import json

    try:
        payload = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PayloadError(f"{where}: not valid JSON ({exc})") from exc
    values = payload.get("value") if isinstance(payload, dict) else payload
    if not isinstance(values, list):
        raise PayloadError(f"{where}: expected an OData 'value' list")
    return values


# The KWB figures PDOK's wijken-en-buurten layer carries as attributes (names vary by year; first found wins).
BUURT_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "gemeentenaam": ("gemeentenaam",),
    "aantal_inwoners": ("aantal_inwoners",),
    "huishoudens_totaal": ("aantal_huishoudens",),
    "gemiddelde_huishoudensgrootte": ("gemiddelde_huishoudsgrootte", "gemiddelde_huishoudensgrootte"),
    "woningvoorraad": ("woningvoorraad", "aantal_woningen"),
    "gemiddelde_woz_waarde": ("gemiddelde_woningwaarde", "gemiddelde_woz_waarde_woning"),
    "percentage_eengezinswoning": ("percentage_eengezinswoning",),
    "percentage_meergezinswoning": ("percentage_meergezinswoning",),
    "koopwoningen": ("percentage_koopwoningen",),
    "huurwoningen_totaal": ("percentage_huurwoningen",),
    "in_bezit_woningcorporatie": ("perc_huurwoningen_in_bezit_woningcorporaties",),
    "in_bezit_overige_verhuurders": ("perc_huurwoningen_in_bezit_overige_verhuurders",),
    "gemiddeld_aardgasverbruik": ("gemiddeld_gasverbruik_woning", "gemiddeld_gasverbruik_totaal"),
    "gemiddeld_elektriciteitsverbruik": ("gemiddeld_elektriciteitsverbruik_woning",
                                         "gemiddeld_elektriciteitsverbruik_totaal"),
    "gemiddeld_inkomen_per_inwoner": ("gemiddeld_inkomen_inwoner", "gemiddeld_inkomen_per_inwoner"),
    "oppervlakte_totaal": ("oppervlakte_totaal_in_ha",),
    "oppervlakte_land": ("oppervlakte_land_in_ha",),
}
NEGATIVE_IS_SUPPRESSED = -99_999_999  # PDOK writes CBS's secrecy marks as large negative numbers


def kwb_from_buurt_attributes(buurten: pl.DataFrame, table_id: str) -> tuple[pl.DataFrame, list[ResolvedColumn]]:
    """KWB buurt rows from the attributes PDOK delivers with the buurt polygons (``properties_json``).

    Gives the raw.cbs_kwb layout; columns the layer does not carry are null. For areas where the polygons come
    from a local file and CBS OData is not wanted (e.g. a test area cut out of a municipality).
    """
    import json

    properties = [json.loads(text) for text in buurten["properties_json"]]
    data: dict[str, list] = {"wijken_en_buurten": buurten["buurtcode"].to_list(),
                             "soort_regio": ["Buurt"] * buurten.height,
                             "codering": buurten["buurtcode"].to_list()}
    resolved = []
    for column in KWB_COLUMNS:
        if column.name in ("soort_regio", "codering"):
            continue
        names = BUURT_ATTRIBUTES.get(column.name, ())
        found = next((n for n in names if any(n in p for p in properties)), None)
        values = []
        for p in properties:
            value = p.get(found) if found else None
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= NEGATIVE_IS_SUPPRESSED:
                value = None
            values.append(value)
        data[column.name] = values
        resolved.append(ResolvedColumn(column.name, found, found, None, "String" if column.name == "gemeentenaam"
                                       else "Double", f"PDOK wijken-en-buurten attribute ({table_id})"))
    schema = {name: (pl.String if name in ("wijken_en_buurten", "soort_regio", "codering", "gemeentenaam")
                     else pl.Float64) for name in data}
    frame = pl.DataFrame(data, schema=schema, strict=False)
    return frame.select("wijken_en_buurten", *[c.name for c in KWB_COLUMNS]), resolved
