"""Energy payloads of the SYNTHETIC demo municipality: CBS energy and heating tables, grid-operator files.

``write_energy_payloads`` writes, into a source mirror laid out by URL, the two CBS StatLine tables that
``wup_pipeline.sources.cbs_energie`` reads, aggregated from the ground truth (``population.dwellings``):

* energy use per buurt (``ENERGY_TABLES[year]``, 86159NED for 2024): per region (gemeente, wijken, buurten)
  and ``Woningkenmerken`` member (all dwellings, five dwelling types, owner-occupied, rented) the average
  gas and electricity delivery, with the KWB conventions of ``wup_pipeline.demo.kwb`` (occupied dwellings;
  gas over dwellings with a gas connection or district heating; rounded to tens; shown at 6 or more
  dwellings) and the district-heating share for the total only, at 10 or more occupied dwellings (86159NED
  table description). Net electricity delivery is not synthesised (always null).
* main heating installations per buurt, the latest table (85677NED, 2022): the percentage of the dwellings
  in the stock on 1 January 2022 (built before 2022) per installation kind, one decimal. The ground truth
  knows three heating kinds: gas boiler (-> individual gas boiler), district heating (its dwellings use no
  gas -> district heating without gas use) and heat pump (all-electric -> electric without gas use).
  Demo assumption (no published threshold found): shares are shown at 10 or more dwellings, the threshold
  CBS uses for the district-heating share in 86159NED.

Both tables use CBS's blank for nil: a zero figure is written as null (86159NED and 85677NED descriptions:
"het symbool niets (blanco) ook gebruikt voor cellen die nihil zijn").

``write_kleinverbruik_files`` writes the grid operators' small-consumer files (see its docstring).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
import polars as pl

from wup_pipeline.demo.calibration import SUPPRESSION, Suppression
from wup_pipeline.demo.kwb import _average, _half_up, _regions
from wup_pipeline.demo.population import DemoPopulation
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.sources.cbs_energie import ENERGY_TABLES, HEATING_TABLES
from wup_pipeline.sources.cbs_kwb import DEFAULT_BASE_URL, region_filter

HEATING_YEAR = max(HEATING_TABLES)  # the series stopped after 2022
# ODataFeed answers under ".../ODataFeed/OData/<table>/..." in its own links (note the capitals).
CBS_LINK_ROOT = DEFAULT_BASE_URL.rsplit("/", 1)[0] + "/OData"
FILTER_SAFE = "(),'"  # characters CBS leaves unencoded in the $filter of a nextLink

# (code, demo title, dwelling condition on the ground truth); codes as in cbs_energie.WONINGKENMERKEN.
ENERGY_MEMBERS = (
    ("T001100", "Totaal woningen", None),
    ("ZW25810", "Appartement", ("dwelling_type", "apartment")),
    ("ZW25805", "Tussenwoning", ("dwelling_type", "terraced")),
    ("ZW25806", "Hoekwoning", ("dwelling_type", "corner")),
    ("ZW10300", "2-onder-1-kapwoning", ("dwelling_type", "semi_detached")),
    ("ZW10320", "Vrijstaande woning", ("dwelling_type", "detached")),
    ("1014800", "Eigen woning", ("owned", True)),
    ("1014850", "Huurwoning", ("owned", False)),
)
# (code, title, ground-truth heating it counts); order as in 84948NED. Titles quoted in the 84948NED
# description are used as such; the others are this demo's wording of the meanings in cbs_energie.
HEATING_MEMBERS = (
    ("A050112", "Individuele cv-ketel op gas", ("gas_boiler",)),
    ("A050113", "Blokverwarming op gas", ()),
    ("A050114", "Stadsverwarming met veel gasverbruik", ()),
    ("A050115", "Stadsverwarming met weinig gasverbruik", ()),
    ("A050116", "Stadsverwarming zonder gasverbruik", ("district_heating",)),
    ("A050117", "Hybride warmtepomp", ()),
    ("A050118", "Elektrisch verwarmd met weinig gasverbruik", ()),
    ("A050119", "Elektrisch verwarmd zonder gasverbruik", ("heat_pump",)),
    ("A052175", "Totaal zonder gasverbruik (excl. onbekend)", ("district_heating", "heat_pump")),
    ("A050120", "Onbekend", ()),
)
MIN_DWELLINGS_HEATING = 10  # demo assumption, see module docstring


# --- CBS StatLine tables ------------------------------------------------------------------------------


def write_energy_payloads(
    mirror_root: Path, population: DemoPopulation, year: int, page_size: int = 10_000,
    s: Suppression = SUPPRESSION,
) -> list[Path]:
    """Write the energy table of ``year`` and the 2022 heating table for the demo gemeente; return the files."""
    if year not in ENERGY_TABLES:
        raise ValueError(f"no CBS energy-per-buurt table known for {year}: {sorted(ENERGY_TABLES)}")
    if page_size < 1:
        raise ValueError(f"page size must be at least 1, got {page_size}")
    root = Path(mirror_root)
    energy_table = ENERGY_TABLES[year]
    energy_rows = _typed_rows(population, "Woningkenmerken", energy_values(population, s), _energy_topics())
    written = _write_table(
        root, population, energy_table, year,
        f"Energieverbruik particuliere woningen; woningtype, wijken en buurten, {year}",
        _data_properties("Woningkenmerken", _energy_topics(), year),
        "Woningkenmerken", [(code, title) for code, title, _ in ENERGY_MEMBERS], energy_rows, page_size,
    )
    heating_table = HEATING_TABLES[HEATING_YEAR]
    heating_rows = _typed_rows(population, "TypeVerwarmingsinstallatie", heating_values(population),
                               _heating_topics())
    written += _write_table(
        root, population, heating_table, HEATING_YEAR,
        f"Woningen; hoofdverwarmingsinstallaties, wijken en buurten, {HEATING_YEAR}",
        _data_properties("TypeVerwarmingsinstallatie", _heating_topics(), HEATING_YEAR),
        "TypeVerwarmingsinstallatie", [(code, title) for code, title, _ in HEATING_MEMBERS], heating_rows,
        page_size,
    )
    return written


def energy_values(population: DemoPopulation, s: Suppression = SUPPRESSION) -> pl.DataFrame:
    """region, member, gas (m3), electricity (kWh), district_heating (%), CBS-rounded; null = not shown/nil."""
    d = _regions(population, population.dwellings).with_columns(
        (pl.col("owner_type") == "owner_occupied").alias("owned")
    )
    occ = pl.col("occupied")
    gas_counted = occ & (pl.col("heating") != "heat_pump")
    parts = []
    for code, _, condition in ENERGY_MEMBERS:
        subset = d if condition is None else d.filter(pl.col(condition[0]) == condition[1])
        district = None
        if condition is None:  # the district-heating share is published for all dwellings only
            district = (
                pl.when(occ.sum() >= s.min_dwellings_district_heating)
                .then(_half_up(100 * (occ & (pl.col("heating") == "district_heating")).sum() / occ.sum(), 0.1)
                      .round(1))
            )
        part = subset.group_by("region", maintain_order=True).agg(
            _average("gas_m3", gas_counted, s).cast(pl.Float64).alias("gas"),
            _average("electricity_kwh", occ, s).cast(pl.Float64).alias("electricity"),
            (district if district is not None else pl.lit(None, dtype=pl.Float64)).alias("district_heating"),
        )
        parts.append(part.with_columns(pl.lit(code).alias("member")))
    values = pl.concat(parts, how="vertical_relaxed")
    nil_to_blank = [pl.when(pl.col(c) != 0).then(pl.col(c)).alias(c) for c in ("gas", "electricity",
                                                                                "district_heating")]
    return values.with_columns(nil_to_blank).with_columns(pl.lit(None, dtype=pl.Float64).alias("net_electricity"))


def heating_values(population: DemoPopulation, min_dwellings: int = MIN_DWELLINGS_HEATING) -> pl.DataFrame:
    """region, member, share (% of the dwellings built before 2022, one decimal); null = not shown or nil."""
    stock = population.dwellings.filter(pl.col("build_year") < HEATING_YEAR)
    d = _regions(population, stock)
    parts = []
    for code, _, kinds in HEATING_MEMBERS:
        share = _half_up(100 * pl.col("heating").is_in(list(kinds)).sum() / pl.len(), 0.1).round(1)
        part = d.group_by("region", maintain_order=True).agg(
            pl.when(pl.len() >= min_dwellings).then(share).alias("share")
        )
        parts.append(part.with_columns(pl.lit(code).alias("member")))
    values = pl.concat(parts)
    return values.with_columns(pl.when(pl.col("share") != 0).then(pl.col("share")).alias("share"))


def _energy_topics() -> list[tuple[str, str, str, str, int, str | None, str]]:
    """(key, title, unit, datatype, decimals, value column, description) in position order."""
    return [
        ("Gemeentenaam_1", "Gemeentenaam", "naam", "String", 0, "gemeentenaam", ""),
        ("SoortRegio_2", "Soort regio", "omschrijving", "String", 0, "soort_regio", ""),
        ("Codering_3", "Codering", "code", "String", 0, "codering", ""),
        ("GemiddeldAardgasverbruik_4", "Gemiddeld aardgasverbruik", "m³", "Long", 0, "gas",
         "Demo: bewoonde woningen met aardgasaansluiting of stadsverwarming; afgerond op tientallen, vermeld bij "
         "zes of meer woningen."),
        ("GemiddeldeElektriciteitslevering_5", "Gemiddelde elektriciteitslevering", "kWh", "Long", 0,
         "electricity", "Demo: bewoonde woningen; afgerond op tientallen, vermeld bij zes of meer woningen."),
        ("GemiddeldeNettoElektriciteitslevering_6", "Gemiddelde netto elektriciteitslevering", "kWh", "Long", 0,
         "net_electricity", "Demo: niet gesynthetiseerd, altijd leeg."),
        ("Stadsverwarming_7", "Stadsverwarming", "%", "Double", 1, "district_heating",
         "Demo: alleen voor totaal woningen, vermeld bij tien of meer bewoonde woningen."),
        ("IndelingswijzigingWijkenEnBuurten_8", "Indelingswijziging wijken en buurten", "code", "String", 0,
         "indelingswijziging", ""),
    ]


def _heating_topics() -> list[tuple[str, str, str, str, int, str | None, str]]:
    return [
        ("Gemeentenaam_1", "Gemeentenaam", "naam", "String", 0, "gemeentenaam", ""),
        ("SoortRegio_2", "Soort regio", "omschrijving", "String", 0, "soort_regio", ""),
        ("Codering_3", "Codering", "code", "String", 0, "codering", ""),
        ("IndelingswijzigingWijkenEnBuurten_4", "Indelingswijziging wijken en buurten", "code", "String", 0,
         "indelingswijziging", ""),
        ("Woningen_5", "Woningen", "%", "Double", 1, "share",
         "Demo: percentage van de woningen in de voorraad op 1 januari, vermeld bij tien of meer woningen."),
    ]


def _data_properties(dimension: str, topics: list, year: int) -> list[dict]:
    """A dimension, the region dimension, a 'Regioaanduiding' group with the region topics, then the measures."""
    entries = [
        {"odata.type": "Cbs.OData.Dimension", "ID": 0, "Position": 0, "ParentID": None, "Type": "Dimension",
         "Key": dimension, "Title": dimension, "Description": ""},
        {"odata.type": "Cbs.OData.GeoDimension", "ID": 1, "Position": 1, "ParentID": None, "Type": "GeoDimension",
         "Key": "WijkenEnBuurten", "Title": "Wijken en buurten", "Description": "", "MapYear": year,
         "ReleasePolicy": False},
        {"odata.type": "Cbs.OData.TopicGroup", "ID": 2, "Position": None, "ParentID": None, "Type": "TopicGroup",
         "Key": "", "Title": "Regioaanduiding", "Description": ""},
    ]
    for number, (key, title, unit, datatype, decimals, _, description) in enumerate(topics, start=1):
        in_region_group = key.split("_")[0] in ("Gemeentenaam", "SoortRegio", "Codering",
                                                "IndelingswijzigingWijkenEnBuurten")
        entries.append({
            "odata.type": "Cbs.OData.Topic", "ID": 2 + number, "Position": 1 + number,
            "ParentID": 2 if in_region_group else None, "Type": "Topic", "Key": key, "Title": title,
            "Description": description, "Datatype": datatype, "Unit": unit, "Decimals": decimals,
            "Default": "Impossible", "PresentationType": "Relative" if unit == "%" else "",
        })
    return entries


def _region_order(population: DemoPopulation) -> list[str]:
    order = [population.gemeente_code]
    for wijk in population.wijken["wijk_code"]:
        order.append(wijk)
        order.extend(population.buurten.filter(pl.col("wijk_code") == wijk)["buurt_code"])
    return order


def _region_columns(population: DemoPopulation) -> dict[str, dict]:
    names = {population.gemeente_code: population.gemeente_name}
    names |= dict(population.wijken.select("wijk_code", "wijk_name").iter_rows())
    names |= dict(population.buurten.select("buurt_code", "buurt_name").iter_rows())
    kinds = {"GM": "Gemeente", "WK": "Wijk", "BU": "Buurt"}
    return {
        region: {"gemeentenaam": population.gemeente_name.ljust(40), "soort_regio": kinds[region[:2]].ljust(10),
                 "codering": region.ljust(10), "indelingswijziging": "1", "name": names[region]}
        for region in names
    }


def _typed_rows(population: DemoPopulation, dimension: str, values: pl.DataFrame, topics: list) -> list[dict]:
    """TypedDataSet 'value' rows: dimension member outermost, regions in CBS order within each member."""
    by_key = {(r["member"], r["region"]): r for r in values.iter_rows(named=True)}
    regions = _region_columns(population)
    members = list(dict.fromkeys(values["member"]))
    rows = []
    for member in members:
        for region in _region_order(population):
            record = by_key.get((member, region), {}) | regions[region]  # no such dwellings: all null
            row = {"ID": len(rows), dimension: member, "WijkenEnBuurten": region.ljust(10)}
            for key, _, _, datatype, _, column, _ in topics:
                value = record.get(column)
                row[key] = int(value) if value is not None and datatype == "Long" else value
            rows.append(row)
    return rows


def _modified(seed: int, year: int) -> str:
    """A fixed, clearly non-CBS release stamp per (seed, year): 31 December of the year plus seed seconds."""
    return (datetime(year, 12, 31) + timedelta(seconds=seed % 86_400)).isoformat(timespec="seconds")


def _write_json(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return path


def _write_table(
    root: Path, population: DemoPopulation, table: str, year: int, title: str, properties: list[dict],
    dimension: str, members: list[tuple[str, str]], rows: list[dict], page_size: int,
) -> list[Path]:
    table_url = f"{DEFAULT_BASE_URL}/{table}"
    metadata = f"{CBS_LINK_ROOT}/{table}/$metadata#Cbs.OData.WebAPI."
    json_format = {"$format": "json"}
    infos = {
        "ID": 0, "Title": f"{title} (SYNTHETISCHE DEMO)", "ShortTitle": f"{title} (SYNTHETISCHE DEMO)",
        "Identifier": table, "Modified": _modified(population.seed, year),
        "MetaDataModified": _modified(population.seed, year), "Period": str(year), "Language": "nl",
        "Catalog": "CBS", "Frequency": "Eenmalig", "ReasonDelivery": "Nieuw", "OutputStatus": "Regulier",
        "Summary": "SYNTHETISCHE DEMO: verzonnen gemeente Demodorp (GM9999), geen echte cijfers.\n"
        f"Gegenereerd door wup_pipeline.demo met seed {population.seed}.",
        "ShortDescription": "\nSYNTHETISCHE DEMO. Alle cijfers zijn afgeleid van een gesimuleerde woningvoorraad.\n",
        "Description": "SYNTHETISCHE DEMO\r\n\r\nIn deze tabel wordt het symbool niets (blanco) ook gebruikt voor "
        "cellen die nihil zijn.",
        "Source": "wup_pipeline.demo (synthetisch).",
    }
    written = [
        _write_json(mirror_path(root, f"{table_url}/TableInfos", json_format),
                    {"odata.metadata": metadata + "TableInfos", "value": [infos]}),
        _write_json(mirror_path(root, f"{table_url}/DataProperties", json_format),
                    {"odata.metadata": metadata + "DataProperties", "value": properties}),
        _write_json(mirror_path(root, f"{table_url}/{dimension}", json_format),
                    {"odata.metadata": metadata + dimension,
                     "value": [{"Key": code, "Title": member_title, "Description": "", "CategoryGroupID": None}
                               for code, member_title in members]}),
    ]
    filter_expr = region_filter(population.gemeente_code)
    url, params = f"{table_url}/TypedDataSet", {"$format": "json", "$filter": filter_expr}
    for start in range(0, len(rows), page_size):
        page = {"odata.metadata": metadata + "TypedDataSet", "value": rows[start:start + page_size]}
        if start + page_size < len(rows):
            page["odata.nextLink"] = (
                f"{CBS_LINK_ROOT}/{table}/TypedDataSet/?$format=json"
                f"&$filter={quote(filter_expr, safe=FILTER_SAFE)}&$skip={start + page_size}"
            )
        written.append(_write_json(mirror_path(root, url, params), page))
        if "odata.nextLink" in page:
            url, params = page["odata.nextLink"], None
    return written


# --- grid operators' small-consumer files -------------------------------------------------------------

MIN_CONNECTIONS = 10  # grid operators publish no range with fewer connections (PROVENANCE of the Stedin samples)
DEMO_CITY = "DEMODORP"
SMART_METER_SHARE = 0.9  # demo assumption: share of connections with a smart meter (not in the ground truth)
RNG_STREAM_METERS = 0x5EED  # own random stream: drawing meters changes no other demo figure
# Demo choice: Stedin serves postcode areas 9991 and 9992 (wijken 01 and 02), Liander 9993 (wijk 03).
OPERATOR_AREAS = {"stedin": ("9991", "9992"), "liander": ("9993",)}
DEMO_OPERATOR_CODE = {"electricity": "9999999999990", "gas": "9999999999991"}  # not real EAN codes


def write_kleinverbruik_files(
    directory: Path, population: DemoPopulation, addresses: pl.DataFrame, year: int
) -> list[Path]:
    """Stedin-style and Liander-style small-consumer files of the demo gemeente for ``year``.

    ``addresses`` are the demo's verblijfsobjecten (``demo_buildings(population)[0]``: postcode,
    openbare_ruimte_naam, dwelling_id, ...). Every dwelling has an electricity connection; dwellings heated by a
    gas boiler also have a gas connection (district-heated and heat-pump dwellings use no gas in the ground
    truth). Connections are grouped per operator and product into postcode ranges the way the operators publish
    them: consecutive postcodes (sorted) are joined until a range has at least ``MIN_CONNECTIONS``; a new range
    starts at a street change once that minimum is met; a short remainder joins the previous range. The
    annual use of a range is the mean ground-truth use (gas_m3, electricity_kwh) of its connections.

    Not in the ground truth, so demo choices: smart meters (drawn per connection, ``SMART_METER_SHARE``; the
    low-tariff share of electricity equals the smart-meter share, 0 for gas), delivery direction and physical
    status 100 % (the demo has no solar panels), connection type 3x25 for heat-pump dwellings and houses that
    are not flats or terraced, else 1x35, and G4 for gas.

    Stedin style: tab-separated, text in double quotes, decimal comma, ``SJA_*`` names and two decimals from
    2024 (``SJV_*`` and whole numbers before). Liander style: ``;``-separated, space-padded, no quotes, decimal
    comma (Liander's decimal separator is not confirmed from a real file), ``SJV_*`` names.
    """
    connections = _connections(population, addresses)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for operator, areas in OPERATOR_AREAS.items():
        served = connections.filter(pl.col("postcode").str.slice(0, 4).is_in(list(areas)))
        ranges = pl.concat([_ranges(served.filter(pl.col("product") == p), p) for p in ("electricity", "gas")])
        ranges = ranges.sort("postcode_from", "product")
        path = directory / f"{operator}_kleinverbruik_{year}.csv"
        writer = _stedin_text if operator == "stedin" else _liander_text
        path.write_bytes(writer(ranges, year).encode("utf-8"))
        written.append(path)
    return written


def _connections(population: DemoPopulation, addresses: pl.DataFrame) -> pl.DataFrame:
    """One row per connection: postcode, street, product, annual use, smart meter, connection type."""
    missing = [c for c in ("dwelling_id", "postcode", "openbare_ruimte_naam") if c not in addresses.columns]
    if missing:
        raise ValueError(f"write_kleinverbruik_files: addresses lack column(s) {missing}")
    dwellings = population.dwellings.join(
        addresses.filter(pl.col("dwelling_id").is_not_null())
        .select("dwelling_id", "postcode", pl.col("openbare_ruimte_naam").alias("street")),
        on="dwelling_id", how="inner",
    )
    if dwellings.height != population.dwellings.height:
        raise ValueError(f"write_kleinverbruik_files: {population.dwellings.height - dwellings.height} dwellings "
                         "have no address")
    dwellings = dwellings.sort("dwelling_id")
    rng = np.random.default_rng([population.seed, RNG_STREAM_METERS])
    smart = rng.random((2, dwellings.height)) < SMART_METER_SHARE
    heavy = (pl.col("heating") == "heat_pump") | ~pl.col("dwelling_type").is_in(["apartment", "terraced"])
    electricity = dwellings.select(
        "postcode", "street", pl.lit("electricity").alias("product"),
        pl.col("electricity_kwh").cast(pl.Float64).alias("use"), pl.Series("smart", smart[0]),
        pl.when(heavy).then(pl.lit("3x25")).otherwise(pl.lit("1x35")).alias("connection_type"),
    )
    gas = dwellings.with_columns(pl.Series("smart", smart[1])).filter(pl.col("heating") == "gas_boiler").select(
        "postcode", "street", pl.lit("gas").alias("product"), pl.col("gas_m3").cast(pl.Float64).alias("use"),
        "smart", pl.lit("G4").alias("connection_type"),
    )
    return pl.concat([electricity, gas])


def _ranges(connections: pl.DataFrame, product: str) -> pl.DataFrame:
    """Postcode ranges of at least MIN_CONNECTIONS connections (see write_kleinverbruik_files)."""
    per_postcode = connections.group_by("postcode", maintain_order=False).agg(
        pl.first("street"), pl.len().alias("n"), pl.col("use").sum().alias("use"),
        pl.col("smart").sum().alias("smart"), pl.col("connection_type").mode().sort().first().alias("type_mode"),
    ).sort("postcode")
    range_of, current, size = [], 0, 0
    streets, counts = per_postcode["street"].to_list(), per_postcode["n"].to_list()
    for index, n in enumerate(counts):  # a few hundred postcodes in the demo
        if size >= MIN_CONNECTIONS and (streets[index] != streets[index - 1] or size + n > 25):
            current, size = current + 1, 0
        range_of.append(current)
        size += n
    if size < MIN_CONNECTIONS and current > 0:  # a short remainder joins the previous range
        range_of = [min(r, current - 1) for r in range_of]
    per_postcode = per_postcode.with_columns(pl.Series("range", range_of, dtype=pl.Int64))
    types = connections.join(per_postcode.select("postcode", "range"), on="postcode").group_by("range").agg(
        pl.col("connection_type").mode().sort().first().alias("connection_type"),
        ((pl.col("connection_type") == pl.col("connection_type").mode().sort().first()).mean() * 100)
        .alias("connection_type_pct"),
    )
    ranges = per_postcode.group_by("range").agg(
        pl.col("postcode").min().alias("postcode_from"), pl.col("postcode").max().alias("postcode_to"),
        pl.col("street").first(), pl.col("n").sum().alias("connections"),
        (pl.col("use").sum() / pl.col("n").sum()).alias("avg_use"),
        (100 * pl.col("smart").sum() / pl.col("n").sum()).alias("smart_pct"),
    ).join(types, on="range")
    # the whole served area below the minimum: published nowhere (the operators merge or suppress it)
    ranges = ranges.filter(pl.col("connections") >= MIN_CONNECTIONS)
    return ranges.with_columns(
        pl.lit(product).alias("product"),
        pl.when(pl.lit(product) == "electricity").then(pl.col("smart_pct")).otherwise(0.0).alias("low_tariff_pct"),
    ).sort("postcode_from")


def _layout_rows(ranges: pl.DataFrame, year: int, sja: bool, area: str) -> tuple[list[str], list[list]]:
    use_name, tariff_name = ("SJA_GEMIDDELD", "SJA_LAAG_TARIEF_PERC") if sja else ("SJV_GEMIDDELD",
                                                                                     "SJV_LAAG_TARIEF_PERC")
    header = ["NETBEHEERDER", "NETGEBIED", "STRAATNAAM", "POSTCODE_VAN", "POSTCODE_TOT", "WOONPLAATS", "LANDCODE",
              "PRODUCTSOORT", "VERBRUIKSSEGMENT", "AANSLUITINGEN_AANTAL", "LEVERINGSRICHTING_PERC",
              "FYSIEKE_STATUS_PERC", "SOORT_AANSLUITING_PERC", "SOORT_AANSLUITING", use_name, tariff_name,
              "SLIMME_METER_PERC"]
    rows = []
    for r in ranges.iter_rows(named=True):  # a few hundred ranges
        use = round(r["avg_use"], 2) if sja else int(_half_up_value(r["avg_use"]))
        rows.append([
            DEMO_OPERATOR_CODE[r["product"]], area, r["street"], r["postcode_from"], r["postcode_to"], DEMO_CITY, "NL",
            "ELK" if r["product"] == "electricity" else "GAS", "KVB", r["connections"], 100.0, 100.0,
            round(r["connection_type_pct"], 2), r["connection_type"], use, round(r["low_tariff_pct"], 2),
            round(r["smart_pct"], 2),
        ])
    return header, rows


def _half_up_value(value: float) -> float:
    return float(np.floor(value + 0.5))


def _comma(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def _stedin_text(ranges: pl.DataFrame, year: int) -> str:
    header, rows = _layout_rows(ranges, year, sja=year >= 2024,
                                area="DEMODORP (SYNTHETISCH)" if year >= 2024 else "Demodorp (synthetisch)")

    def cell(value) -> str:  # text in double quotes, numbers bare with a decimal comma (the real files' style)
        return '"' + value.replace('"', '""') + '"' if isinstance(value, str) else _comma(value)

    lines = ["\t".join(header)] + ["\t".join(cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def _liander_text(ranges: pl.DataFrame, year: int) -> str:
    header, rows = _layout_rows(ranges, year, sja=False, area="Demodorp (synthetisch)")
    widths = [max(len(h), *(len(_comma(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = [";".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += [";".join(_comma(v).ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines) + "\n"
