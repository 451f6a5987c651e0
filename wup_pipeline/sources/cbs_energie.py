"""CBS energy use and main heating installations of dwellings per buurt (StatLine OData v3).

Two table series, one table per year, each with a plain dimension next to ``WijkenEnBuurten``:

* "Energieverbruik particuliere woningen; woningtype, wijken en buurten" (``ENERGY_TABLES``): average gas
  and electricity delivery per dwelling and the district-heating share, for every member of the
  ``Woningkenmerken`` dimension (all dwellings, five dwelling types, owner-occupied and rented);
* "Woningen; hoofdverwarmingsinstallaties, wijken en buurten" (``HEATING_TABLES``): the percentage of dwellings
  per ``TypeVerwarmingsinstallatie`` member. The series stopped after 2022 (85677NED description).

Measures are resolved through DataProperties like ``cbs_kwb`` does (key stem, suffixes drift per year) and
their units are checked. Dimension members are mapped by their CBS code; the member lists
(``/<table>/<dimension>``) are fetched and kept as snapshots so the titles behind every code can be
audited. Column names, units and the sources of the code meanings: docs/sources/cbs-energie.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.paging import PayloadError
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore
from wup_pipeline.sources.cbs_kwb import (
    DEFAULT_BASE_URL,
    SUPPRESSED,
    ColumnResolutionError,
    KwbColumn,
    ODataTable,
    ResolvedColumn,
    fetch_odata_table,
    keep_gemeente_rows,
    region_filter,
    resolve_columns,
)

SOURCE_ID = "cbs_energie"
LICENCE = "CC-BY 4.0 (CBS)"

# Table ids as found in ../shared/data/cbs_energie (TableInfos "Identifier" and "Period" of each file); 84950NED
# (2017) is only known from the links in the 84948NED and 85677NED table descriptions.
ENERGY_TABLES = {
    2019: "84837NED",
    2020: "85126NED",
    2021: "85359NED",
    2022: "85697NED",
    2023: "85999NED",
    2024: "86159NED",
}
HEATING_TABLES = {
    2017: "84950NED",
    2018: "84949NED",
    2019: "84983NED",
    2020: "85080NED",
    2021: "85337NED",
    2022: "85677NED",
}

ENERGY_DIMENSION = "Woningkenmerken"
HEATING_DIMENSION = "TypeVerwarmingsinstallatie"

# The measures; "Gemiddeld elektriciteitsverbruik" was renamed "Gemiddelde elektriciteitslevering" in 2021
# (85359NED ExplanatoryText), so both stems are listed.
ENERGY_COLUMNS: tuple[KwbColumn, ...] = (
    KwbColumn("avg_gas_m3", ("GemiddeldAardgasverbruik",), required=True),
    KwbColumn("avg_electricity_kwh", ("GemiddeldeElektriciteitslevering", "GemiddeldElektriciteitsverbruik"),
              required=True),
    KwbColumn("avg_net_electricity_kwh", ("GemiddeldeNettoElektriciteitslevering",)),
    KwbColumn("pct_district_heating", ("Stadsverwarming",)),
)
HEATING_COLUMNS: tuple[KwbColumn, ...] = (KwbColumn("pct_dwellings", ("Woningen",), required=True),)

# Accepted units (lower case, any one must occur in the DataProperties Unit) per resolved column.
EXPECTED_UNITS = {
    "avg_gas_m3": ("m³", "m3"),
    "avg_electricity_kwh": ("kwh",),
    "avg_net_electricity_kwh": ("kwh",),
    "pct_district_heating": ("%", "procent"),
    "pct_dwellings": ("%", "procent"),
}

# Woningkenmerken codes -> (dwelling_type, ownership). Codes as in CBS 81528NED (../shared/data/cbs_energie/
# 81528NED_full_data.csv) and in the DefaultSelection of 85697NED (the five dwelling types and the total).
WONINGKENMERKEN = {
    "T001100": ("total", "total"),
    "ZW25810": ("apartment", "total"),
    "ZW25805": ("terraced", "total"),
    "ZW25806": ("corner", "total"),
    "ZW10300": ("semi_detached", "total"),
    "ZW10320": ("detached", "total"),
    "1014800": ("total", "owner_occupied"),
    "1014850": ("total", "rented"),
}
# Fallback for a code not listed above: words in the member title (first match wins).
WONINGKENMERKEN_TITLES = (
    ("totaal", ("total", "total")),
    ("appartement", ("apartment", "total")),
    ("tussenwoning", ("terraced", "total")),
    ("hoekwoning", ("corner", "total")),
    ("twee-onder-een-kap", ("semi_detached", "total")),
    ("2-onder-1-kap", ("semi_detached", "total")),
    ("vrijstaand", ("detached", "total")),
    ("eigen woning", ("total", "owner_occupied")),
    ("koopwoning", ("total", "owner_occupied")),
    ("huurwoning", ("total", "rented")),
)

# TypeVerwarmingsinstallatie codes -> output column (% of dwellings). Meanings: see docs/sources/cbs-energie.md
# (84948NED arithmetic in ../shared: A052175 = A050116 + A050119, the other nine add up to 100).
HEATING_KINDS = {
    "A050112": "pct_individual_gas_boiler",
    "A050113": "pct_block_heating",
    "A050114": "pct_district_heating_high_gas",
    "A050115": "pct_district_heating_low_gas",
    "A050116": "pct_district_heating_no_gas",
    "A050117": "pct_hybrid_heat_pump",
    "A050118": "pct_electric_low_gas",
    "A050119": "pct_electric_no_gas",
    "A050120": "pct_unknown",
    "A052175": "pct_gas_free",
}

REGION_KINDS = {"NL": "Land", "GM": "Gemeente", "WK": "Wijk", "BU": "Buurt"}


@dataclass
class EnergyExtract:
    """Energy use per region and Woningkenmerken member.

    ``frame``: year, table_id, region_code, region_kind, woningkenmerk_code, dwelling_type, ownership,
    avg_gas_m3 (m3 per dwelling per year), avg_electricity_kwh, avg_net_electricity_kwh (kWh per dwelling per
    year), pct_district_heating (% of dwellings). ``members``: code, title, dwelling_type, ownership.
    """

    table_id: str
    year: int
    modified: str | None
    frame: pl.DataFrame
    columns: list[ResolvedColumn]
    members: pl.DataFrame
    snapshots: list[SnapshotRecord]
    reused: bool


@dataclass
class HeatingExtract:
    """Main heating installations per region: one % column per installation kind (``HEATING_KINDS``).

    ``frame``: year, table_id, region_code, region_kind, then the ``HEATING_KINDS`` columns (% of dwellings).
    ``members``: code, title, column.
    """

    table_id: str
    year: int
    modified: str | None
    frame: pl.DataFrame
    columns: list[ResolvedColumn]
    members: pl.DataFrame
    snapshots: list[SnapshotRecord]
    reused: bool


# --- fetch --------------------------------------------------------------------------------------------


def fetch_energy(
    client: HttpClient, store: SnapshotStore, gemeente_code: str, year: int, base_url: str = DEFAULT_BASE_URL
) -> EnergyExtract:
    """Energy use of the dwellings of one gemeente, its wijken and buurten, for a year (``ENERGY_TABLES``)."""
    table_id = _table(ENERGY_TABLES, year, "energy use per buurt")
    table = _fetch(client, store, table_id, gemeente_code, base_url)
    frame, resolved, members = energy_frame(table, year, gemeente_code)
    return EnergyExtract(table_id, year, table.modified, frame, resolved, members, table.snapshots, table.reused)


def fetch_heating(
    client: HttpClient, store: SnapshotStore, gemeente_code: str, year: int, base_url: str = DEFAULT_BASE_URL
) -> HeatingExtract:
    """Main heating installations of one gemeente, its wijken and buurten, for a year (``HEATING_TABLES``)."""
    table_id = _table(HEATING_TABLES, year, "main heating installations per buurt")
    table = _fetch(client, store, table_id, gemeente_code, base_url)
    frame, resolved, members = heating_frame(table, year, gemeente_code)
    return HeatingExtract(table_id, year, table.modified, frame, resolved, members, table.snapshots, table.reused)


def _table(tables: dict[int, str], year: int, what: str) -> str:
    if year not in tables:
        raise ValueError(f"no CBS table of {what} known for {year}: {sorted(tables)}")
    return tables[year]


def _fetch(client: HttpClient, store: SnapshotStore, table_id: str, gemeente_code: str, base_url: str) -> ODataTable:
    return fetch_odata_table(
        client, store, source_id=SOURCE_ID, table_id=table_id, row_filter=region_filter(gemeente_code),
        dataset_suffix=gemeente_code, base_url=base_url, licence=LICENCE,
    )


# --- parse --------------------------------------------------------------------------------------------


def energy_frame(
    table: ODataTable, year: int, gemeente_code: str | None = None
) -> tuple[pl.DataFrame, list[ResolvedColumn], pl.DataFrame]:
    """The energy table as (frame, resolved measures, member list); see ``EnergyExtract``."""
    resolved = resolve_measures(table.properties, table.table_id, ENERGY_COLUMNS)
    members = _energy_members(table)
    rows = _long_rows(table, ENERGY_DIMENSION, resolved, gemeente_code)
    mapping = members.select(pl.col("code").alias("woningkenmerk_code"), "dwelling_type", "ownership")
    frame = (
        rows.rename({"member_code": "woningkenmerk_code"})
        .join(mapping, on="woningkenmerk_code", how="left", maintain_order="left")
        .select(
            pl.lit(year, dtype=pl.Int64).alias("year"), pl.lit(table.table_id).alias("table_id"), "region_code",
            "region_kind", "woningkenmerk_code", "dwelling_type", "ownership",
            *[c.name for c in ENERGY_COLUMNS],
        )
    )
    return frame, resolved, members


def heating_frame(
    table: ODataTable, year: int, gemeente_code: str | None = None
) -> tuple[pl.DataFrame, list[ResolvedColumn], pl.DataFrame]:
    """The heating table as (wide frame, resolved measure, member list); see ``HeatingExtract``."""
    resolved = resolve_measures(table.properties, table.table_id, HEATING_COLUMNS)
    members = _dimension_members(table, HEATING_DIMENSION)
    unknown = members.filter(~pl.col("code").is_in(list(HEATING_KINDS)))
    if unknown.height:
        listed = ", ".join(f"{c} ({t})" for c, t in unknown.select("code", "title").iter_rows())
        raise ColumnResolutionError(
            f"CBS {table.table_id} {HEATING_DIMENSION}: unknown installation kind(s) {listed}; "
            f"known codes: {sorted(HEATING_KINDS)}"
        )
    members = members.with_columns(pl.col("code").replace_strict(HEATING_KINDS).alias("column"))
    rows = _long_rows(table, HEATING_DIMENSION, resolved, gemeente_code)
    stray = rows.filter(~pl.col("member_code").is_in(list(HEATING_KINDS)))
    if stray.height:
        raise PayloadError(
            f"CBS {table.table_id} TypedDataSet: {HEATING_DIMENSION} '{stray['member_code'][0]}' "
            f"(region {stray['region_code'][0]}) is not in the dimension's member list"
        )
    duplicated = rows.filter(pl.struct("region_code", "member_code").is_duplicated())
    if duplicated.height:
        raise PayloadError(
            f"CBS {table.table_id} TypedDataSet: region {duplicated['region_code'][0]} has installation kind "
            f"{duplicated['member_code'][0]} more than once"
        )
    regions = rows.select("region_code", "region_kind").unique(maintain_order=True)
    if rows.height:
        wide = rows.with_columns(pl.col("member_code").replace_strict(HEATING_KINDS).alias("column")).pivot(
            on="column", index="region_code", values="pct_dwellings"
        )
        regions = regions.join(wide, on="region_code", how="left", maintain_order="left")
    frame = regions.with_columns(
        [pl.lit(None, dtype=pl.Float64).alias(c) for c in HEATING_KINDS.values() if c not in regions.columns]
    ).select(
        pl.lit(year, dtype=pl.Int64).alias("year"), pl.lit(table.table_id).alias("table_id"), "region_code",
        "region_kind", *[pl.col(c).cast(pl.Float64) for c in HEATING_KINDS.values()],
    )
    return frame, resolved, members


def resolve_measures(properties: list[dict], table_id: str, columns: tuple[KwbColumn, ...]) -> list[ResolvedColumn]:
    """Resolve measure keys through DataProperties and check that each carries the unit we document."""
    resolved = resolve_columns(properties, table_id, columns)
    for column in resolved:
        accepted = EXPECTED_UNITS.get(column.name)
        if column.key is None or not accepted or not column.unit:
            continue
        if not any(token in column.unit.lower() for token in accepted):
            raise ColumnResolutionError(
                f"CBS {table_id} DataProperties: '{column.key}' ({column.name}) has unit '{column.unit}', "
                f"expected one of {accepted}"
            )
    return resolved


def _dimension_members(table: ODataTable, dimension: str) -> pl.DataFrame:
    declared = [p.get("Key") for p in table.properties if p.get("Type") == "Dimension"]
    if dimension not in table.dimensions:
        raise ColumnResolutionError(
            f"CBS {table.table_id} DataProperties: dimension '{dimension}' not found (dimensions: {declared})"
        )
    members = table.dimensions[dimension]
    for index, member in enumerate(members):
        if not isinstance(member, dict) or not str(member.get("Key") or "").strip():
            raise PayloadError(f"CBS {table.table_id}/{dimension} record {index}: member without a 'Key'")
    return pl.DataFrame(
        {"code": [str(m["Key"]).strip() for m in members],
         "title": [str(m.get("Title") or "").strip() for m in members]},
        schema={"code": pl.String, "title": pl.String},
    )


def _energy_members(table: ODataTable) -> pl.DataFrame:
    members = _dimension_members(table, ENERGY_DIMENSION)
    pairs = []
    for code, title in members.iter_rows():  # a handful of members, not data rows
        pair = WONINGKENMERKEN.get(code)
        if pair is None:
            pair = next((p for word, p in WONINGKENMERKEN_TITLES if word in title.lower()), (None, None))
        pairs.append(pair)
    return members.with_columns(
        pl.Series("dwelling_type", [p[0] for p in pairs], dtype=pl.String),
        pl.Series("ownership", [p[1] for p in pairs], dtype=pl.String),
    )


_MISSING = object()


def _long_rows(
    table: ODataTable, dimension: str, resolved: list[ResolvedColumn], gemeente_code: str | None
) -> pl.DataFrame:
    """region_code, region_kind, member_code and one column per resolved measure (nulls where suppressed)."""
    pages = keep_gemeente_rows(table.pages, gemeente_code) if gemeente_code else table.pages
    where = [(path, index) for path, rows in pages for index in range(len(rows))]
    rows = [row for _, page_rows in pages for row in page_rows]

    def column(key: str, label: str) -> list:
        values = [row.get(key, _MISSING) if isinstance(row, dict) else _MISSING for row in rows]
        missing = next((i for i, v in enumerate(values) if v is _MISSING), None)
        if missing is not None:
            path, index = where[missing]
            raise PayloadError(f"{path} record {index}: field '{key}' ({label}) is missing")
        return values

    data = {
        "region_code": _text(column("WijkenEnBuurten", "region"), where, "WijkenEnBuurten"),
        "member_code": _text(column(dimension, "dimension"), where, dimension),
    }
    for measure in resolved:
        if measure.key is None:
            data[measure.name] = pl.Series(measure.name, [None] * len(rows), dtype=pl.Float64)
        else:
            data[measure.name] = _number(column(measure.key, measure.name), where, measure.key)
    frame = pl.DataFrame(data)
    return frame.with_columns(
        pl.col("region_code").str.slice(0, 2).replace_strict(REGION_KINDS, default=None).alias("region_kind")
    ).select("region_code", "region_kind", "member_code", *[m.name for m in resolved])


def _text(values: list, where: list[tuple[str, int]], key: str) -> pl.Series:
    bad = next((i for i, v in enumerate(values) if not isinstance(v, str) or not v.strip()), None)
    if bad is not None:
        path, index = where[bad]
        raise PayloadError(f"{path} record {index} field '{key}': expected a code, got {values[bad]!r}")
    return pl.Series(values, dtype=pl.String).str.strip_chars()


def _number(values: list, where: list[tuple[str, int]], key: str) -> pl.Series:
    """Typed numbers pass; padded strings (UntypedDataSet) are trimmed; CBS suppression marks become null."""
    if not any(isinstance(v, bool | str) for v in values):
        try:
            return pl.Series(values, dtype=pl.Float64, strict=True)
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            pass  # something else than numbers: found below
    text = [v if isinstance(v, str) else None if v is None or isinstance(v, bool) else str(v) for v in values]
    checked = pl.DataFrame({"text": pl.Series(text, dtype=pl.String), "given": [v is not None for v in values]})
    checked = checked.with_columns(pl.col("text").str.strip_chars()).with_columns(
        pl.when(pl.col("text").is_in(list(SUPPRESSED))).then(None).otherwise(pl.col("text"))
        .cast(pl.Float64, strict=False).alias("number"),
        pl.col("text").is_in(list(SUPPRESSED)).fill_null(False).alias("suppressed"),
    )
    failed = checked.with_row_index().filter(pl.col("given") & ~pl.col("suppressed") & pl.col("number").is_null())
    if failed.height:
        first = failed["index"][0]
        path, index = where[first]
        raise PayloadError(f"{path} record {index} field '{key}': value {values[first]!r} is not a number")
    return checked["number"]
