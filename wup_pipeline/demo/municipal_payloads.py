"""Municipal and corporation files of the SYNTHETIC demo municipality, in the formats of docs/templates.md.

``write_municipal_files(directory, population)`` writes what a municipality would collect by hand, made
consistent with the demo's ground truth (``population.dwellings``, ``population.geometries``) and its
BAG-like addresses (``wup_pipeline.demo.addresses.demo_buildings``):

* ``corporation_portfolio.xlsx``: the corporations' dwellings (``owner_type == 'corporation'``), 85-95 %
  of them in every buurt, most by BAG id and some by address only; a title row sits above the header like in
  real exports, and three rows point at dwellings that are not in the BAG (sold or demolished stock,
  a typing error) so the unmatched report has something to say;
* ``infra_segments.geojson``: street segments (EPSG:28992) for sewer replacement in three buurten
  (2027-2031), road works, a gas-main replacement and one through road crossing a buurt boundary;
* ``infra_buurt.csv`` (cp1252, ``;``, as Dutch Excel saves it), ``initiatives.csv`` (UTF-8, ``,``);
* ``participation_survey.csv`` (UTF-8 with BOM, ``;``): a few hundred respondents in five buurten, one
  with fewer than 10; some rows give only a postcode; synthetic names and remarks (personal-data
  columns, which the pipeline must never pass on);
* ``participation_contacts.csv``: contact moments (residents' evenings, door-to-door rounds ...).

Every value is drawn from ``numpy.random.default_rng([population.seed, RNG_STREAM])``: the same
population writes byte-identical files (the workbook's zip timestamps and document dates are fixed).
The energy-label, plan and survey distributions are demo choices, not calibrated figures.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import shapely
from shapely.geometry import LineString, MultiLineString, mapping

from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.population import DemoPopulation

RNG_STREAM = 0x3A71  # own random stream: adding these files changes no other demo figure
FIXED_TIME = datetime(2026, 1, 1)  # stamped into the workbook so the same seed gives the same bytes

FILES = {
    "corporation_portfolio": "corporation_portfolio.xlsx",
    "infra_segments": "infra_segments.geojson",
    "infra_buurt": "infra_buurt.csv",
    "initiatives": "initiatives.csv",
    "survey": "participation_survey.csv",
    "contacts": "participation_contacts.csv",
}

MUNICIPALITY = "Gemeente Demodorp (synthetisch)"
GRID_OPERATOR = "Netbeheerder Demo (synthetisch)"
WATER_COMPANY = "Waterbedrijf Demo (synthetisch)"
CORPORATION_BY_WIJK = {
    "WK999901": "Woonstichting Demodorp (synthetisch)",
    "WK999902": "Noorderhuis Wonen (synthetisch)",
    "WK999903": "Woonstichting Demodorp (synthetisch)",
}
SECOND_CORPORATION = "Stichting Polderwoningen (synthetisch)"
SECOND_CORPORATION_SHARE = 0.15  # of the panden of a buurt
COVERAGE = (0.85, 0.95)  # share of a buurt's corporation dwellings the export lists
ADDRESS_ONLY_SHARE = 0.2  # rows that identify the dwelling by address, without BAG id
NO_LABEL_SHARE = 0.08

# Energy label by build-year period (upper bound, {label: weight}); a demo choice, not a calibration.
LABELS_BY_PERIOD = (
    (1944, {"A": 5, "B": 10, "C": 20, "D": 20, "E": 20, "F": 15, "G": 10}),
    (1974, {"A": 5, "B": 15, "C": 30, "D": 25, "E": 15, "F": 7, "G": 3}),
    (1991, {"A": 10, "B": 25, "C": 40, "D": 15, "E": 7, "F": 3}),
    (2005, {"A": 30, "B": 40, "C": 25, "D": 5}),
    (2014, {"A+": 10, "A": 60, "B": 30}),
    (9999, {"A+++": 20, "A++": 40, "A+": 30, "A": 10}),
)
PLAN_SHARE = {"D": 0.45, "E": 0.6, "F": 0.7, "G": 0.75, "C": 0.15}  # of the panden with this label
MEASURES = {"isolatie": 55, "hybride_warmtepomp": 25, "warmtepomp": 10, "overig": 5}
HEAT_NETWORK_BUURTEN = {"BU99990103"}  # where the plans of infra_buurt.csv extend the heat network
RENT_CLASSES = {"sociaal": 85, "middenhuur": 12, "vrije_sector": 3}

# Street-segment plans: (buurt, asset, measure, year, owner, streets, description).
STREET_PLANS = (
    ("BU99990102", "riolering", "vervanging", 2027, MUNICIPALITY, 4, "Vervanging gemengd riool {street}"),
    ("BU99990102", "weg", "renovatie", 2027, MUNICIPALITY, 3, "Herinrichting {street}"),
    ("BU99990201", "riolering", "vervanging", 2029, MUNICIPALITY, 3, "Vervanging riool {street}"),
    ("BU99990304", "riolering", "vervanging", 2031, MUNICIPALITY, 2, "Vervanging riool {street}"),
    ("BU99990103", "gasleiding", "vervanging", 2028, GRID_OPERATOR, 4, "Vervanging gietijzeren gasleiding {street}"),
    ("BU99990203", "weg", "renovatie", 2032, MUNICIPALITY, 2, "Groot onderhoud {street}"),
)
THROUGH_ROAD = ("BU99990101", "BU99990102", "weg", "renovatie", 2030, MUNICIPALITY,
                "Renovatie doorgaande route Binnenstad - Havenkwartier")
STREET_OFFSET_M = 2.5  # a street's axis runs this far in front of its buildings

INFRA_BUURT_ROWS = (
    ("BU99990101", "elektriciteitsnet", "vervanging", 2030, GRID_OPERATOR,
     "Verzwaring middenspanningsnet – twee nieuwe transformatorstations"),
    ("BU99990103", "warmtenet", "aanleg", 2029, MUNICIPALITY, "Uitbreiding warmtenet Oosterpark (haalbaarheidsfase)"),
    ("BU99990202", "water", "vervanging", 2028, WATER_COMPANY, "Vervanging asbestcement drinkwaterleidingen"),
    ("BU99990301", "elektriciteitsnet", "vervanging", 2027, GRID_OPERATOR, "Verzwaring laagspanningsnet"),
    ("BU99990302", "riolering", "renovatie", 2033, MUNICIPALITY, "Relining hoofdriool"),
)

INITIATIVE_ROWS = (
    ("BU99990102", "", "Energiecoöperatie Havenstroom (synthetisch)", "energiecoöperatie",
     "Zon op bedrijfsdaken Havenkwartier", 2021, "lopend", 140),
    ("BU99990301", "", "Waterrijk Duurzaam (synthetisch)", "collectieve_inkoop", "Collectieve inkoop warmtepompen",
     2024, "lopend", 65),
    ("", "WK999901", "Warmtecoöperatie Centrum (synthetisch)", "warmtenet_initiatief", "Verkenning buurtwarmte Centrum",
     2025, "idee", None),
    ("BU99990304", "", "Dorpsraad Oude Dorp (synthetisch)", "isolatieproject", "Oude Dorp isoleert", 2022, "afgerond",
     48),
    ("BU99990201", "", MUNICIPALITY, "overig", "Energiecoach aan huis", 2024, "lopend", 120),
    ("BU99990204", "", "Bewonersvereniging Beukenrode (synthetisch)", "collectieve_inkoop", "Samen zonnepanelen", 2019,
     "afgerond", 35),
)

# Survey: respondents per buurt (one buurt under the small-cell threshold of 10) and how willing they are.
SURVEY_BUURTEN = {"BU99990102": (120, 0.30), "BU99990103": (90, 0.25), "BU99990201": (70, 0.22),
                  "BU99990304": (45, 0.40), "BU99990204": (6, 0.50)}
POSTCODE_ONLY_SHARE = 0.3
SURVEY_CHANNELS = {"enquete": 70, "keukentafelgesprek": 15, "huis_aan_huis": 10, "bewonersavond": 5}
CONCERNS = {"kosten": 35, "onzekerheid": 15, "overlast": 10, "comfort": 10, "techniek": 10, "geen": 10, "overig": 5,
            "": 5}
REMARKS = (
    "Wil eerst weten wat het per maand kost",
    "Graag meer informatie over de warmtepomp",
    "Huis is al geïsoleerd",
    "Zorgen over geluid van de buitenunit",
    "Wacht af wat de buren doen",
    "Huurder: wat doet de corporatie?",
    "Liever een warmtenet dan een warmtepomp",
    "Te oud om nog te verbouwen",
)
REMARK_SHARE = 0.4


def write_municipal_files(directory: Path, population: DemoPopulation) -> dict[str, Path]:
    """Write the demo municipality's municipal files into ``directory``; returns {kind: path} (see ``FILES``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([population.seed, RNG_STREAM])
    verblijfsobjecten, panden = demo_buildings(population)
    paths = {kind: directory / name for kind, name in FILES.items()}
    _write_portfolio(paths["corporation_portfolio"], rng, population, verblijfsobjecten)
    _write_segments(paths["infra_segments"], rng, population, verblijfsobjecten, panden)
    _write_csv(paths["infra_buurt"], ["buurt_code", "asset", "measure", "planned_year", "owner", "description"],
               INFRA_BUURT_ROWS, delimiter=";", encoding="cp1252")
    _write_csv(paths["initiatives"], ["buurt_code", "wijk_code", "party", "kind", "title", "start_year", "status",
                                      "households_involved"], INITIATIVE_ROWS, delimiter=",", encoding="utf-8")
    _write_survey(paths["survey"], rng, population, verblijfsobjecten)
    _write_contacts(paths["contacts"], rng, population)
    return paths


def _pick(rng: np.random.Generator, weights: dict[str, float], size: int) -> np.ndarray:
    values = np.array(list(weights))
    p = np.array(list(weights.values()), dtype=float)
    return values[rng.choice(len(values), size=size, p=p / p.sum())]


# --- corporation portfolio --------------------------------------------------------------------------


def _portfolio_rows(rng: np.random.Generator, population: DemoPopulation, vbo: pl.DataFrame) -> pl.DataFrame:
    dwellings = (
        population.dwellings.filter(pl.col("owner_type") == "corporation")
        .join(vbo.select("dwelling_id", "pand_id", "postcode", "huisnummer", "huisletter", "toevoeging"),
              on="dwelling_id", how="inner")
        .sort("dwelling_id")
    )
    n = dwellings.height
    # Corporations own, label and plan whole buildings: draw per pand, hand to the pand's dwellings.
    panden = dwellings.select("pand_id", "buurt_code", "wijk_code", "build_year").unique("pand_id", keep="first",
                                                                                          maintain_order=True)
    m = panden.height
    labels = np.empty(m, dtype=object)
    for upper, weights in reversed(LABELS_BY_PERIOD):
        here = panden["build_year"].to_numpy() <= upper
        labels[here] = _pick(rng, weights, m)[here]
    has_label = rng.random(m) >= NO_LABEL_SHARE
    label_dates = [date(2015, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 4018, m)]
    plan_share = np.array([PLAN_SHARE.get(label, 0.0) for label in labels])
    planned = rng.random(m) < plan_share
    years = rng.integers(2026, 2035, m)
    measures = _pick(rng, MEASURES, m)
    old_and_bad = (panden["build_year"].to_numpy() < 1930) & np.isin(labels, ["F", "G"])
    measures = np.where(old_and_bad & (rng.random(m) < 0.3), "sloop_nieuwbouw", measures)
    measures = np.where(panden["buurt_code"].is_in(list(HEAT_NETWORK_BUURTEN)).to_numpy() & (rng.random(m) < 0.6),
                        "warmtenet", measures)
    second = rng.random(m) < SECOND_CORPORATION_SHARE
    corporation = np.where(second, SECOND_CORPORATION,
                           panden["wijk_code"].replace_strict(CORPORATION_BY_WIJK).to_numpy())
    per_pand = panden.select("pand_id").with_columns(
        pl.Series("corporation", corporation.tolist(), dtype=pl.String),
        pl.Series("energy_label", np.where(has_label, labels, None).tolist(), dtype=pl.String),
        pl.Series("label_date", [d if ok else None for d, ok in zip(label_dates, has_label, strict=True)],
                  dtype=pl.Date),
        pl.Series("planned_renovation_year", np.where(planned, years, 0), dtype=pl.Int64),
        pl.Series("planned_measure", np.where(planned, measures, None).tolist(), dtype=pl.String),
    ).with_columns(pl.when(pl.col("planned_renovation_year") > 0).then("planned_renovation_year")
                   .alias("planned_renovation_year"))

    # Each buurt's export lists a drawn share of its corporation dwellings: the first ones in a random order.
    coverage = {code: rng.uniform(*COVERAGE) for code in sorted(set(dwellings["buurt_code"]))}
    listed = dwellings.with_columns(pl.Series("_order", rng.random(n))).select(
        pl.col("_order").rank("ordinal").over("buurt_code")
        <= (pl.len().over("buurt_code") * pl.col("buurt_code").replace_strict(coverage)).round()
    ).to_series()
    address_only = rng.random(n) < ADDRESS_ONLY_SHARE
    # Addresses as people type them: '9991 AB' or '9991ab', a lower-case letter now and then.
    spaced = rng.random(n) < 0.5
    lower = rng.random(n) < 0.3
    rows = (
        dwellings.with_columns(
            pl.Series("_listed", listed), pl.Series("_address_only", address_only),
            pl.Series("_spaced", spaced), pl.Series("_lower", lower),
            pl.Series("rent_class", _pick(rng, RENT_CLASSES, n), dtype=pl.String),
        )
        .filter("_listed")
        .join(per_pand, on="pand_id", how="left")
    )
    postcode = pl.when("_spaced").then(pl.concat_str(pl.col("postcode").str.slice(0, 4), pl.lit(" "),
                                                     pl.col("postcode").str.slice(4)))
    postcode = postcode.otherwise(pl.col("postcode").str.to_lowercase())
    return rows.select(
        "corporation",
        pl.when(~pl.col("_address_only")).then("dwelling_id").alias("bag_vbo_id"),
        postcode.alias("postcode"),
        "huisnummer",
        pl.when("_lower").then(pl.col("huisletter").str.to_lowercase()).otherwise("huisletter").alias("huisletter"),
        "toevoeging", "energy_label", "label_date", "planned_renovation_year", "planned_measure", "rent_class",
    ).sort("corporation", "postcode", "huisnummer", "huisletter", "toevoeging", nulls_last=False)


def _not_in_bag(rng: np.random.Generator, template: pl.DataFrame) -> pl.DataFrame:
    """Three rows a real export has: two dwellings gone from the BAG, one mistyped address."""
    corporation = CORPORATION_BY_WIJK["WK999901"]
    rows = [
        (corporation, "9999010009999901", None, None, None, None, "E", None, None, None, "sociaal"),
        (corporation, "9999010009999902", None, None, None, None, None, None, 2026, "sloop_nieuwbouw", "sociaal"),
        (corporation, None, "9991 ZZ", int(rng.integers(900, 999)), None, None, "C", None, None, None, "middenhuur"),
    ]
    return pl.DataFrame(rows, schema=template.schema, orient="row")


def _write_portfolio(path: Path, rng: np.random.Generator, population: DemoPopulation, vbo: pl.DataFrame) -> None:
    import openpyxl

    rows = _portfolio_rows(rng, population, vbo)
    rows = pl.concat([rows, _not_in_bag(rng, rows)])
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Portefeuille"
    sheet.append(["Vastgoedportefeuille per 31-12-2025 - SYNTHETISCHE DEMO (Demodorp)"])
    sheet.append([])
    sheet.append(rows.columns)
    for values in rows.iter_rows():
        sheet.append(list(values))
    for cell in sheet["H"][3:]:
        cell.number_format = "DD-MM-YYYY"
    workbook.properties.creator = "wup-pipeline demo"
    workbook.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_reproducible_zip(buffer.getvalue()))


def _reproducible_zip(content: bytes) -> bytes:
    """The same workbook as bytes that do not depend on when it was saved."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6]), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# --- infrastructure ---------------------------------------------------------------------------------


def _streets(vbo: pl.DataFrame, panden: pl.DataFrame) -> pl.DataFrame:
    """Per street: the extent of its buildings (from the pand footprints), to lay its axis in front of them."""
    bounds = shapely.bounds(shapely.from_wkt(panden["geometry_wkt"].to_numpy()))
    footprints = panden.select("pand_id", pl.Series("x0", bounds[:, 0]), pl.Series("y0", bounds[:, 1]),
                               pl.Series("x1", bounds[:, 2]))
    return (
        vbo.select("pand_id", "openbare_ruimte_naam", "buurt_code").unique()
        .join(footprints, on="pand_id")
        .group_by("buurt_code", "openbare_ruimte_naam")
        .agg(pl.len().alias("panden"), pl.col("x0").min(), pl.col("x1").max(), pl.col("y0").min())
        .filter(pl.col("panden") >= 5)
        .sort("buurt_code", "y0", "openbare_ruimte_naam")
    )


def _clip(line: LineString, area) -> LineString | MultiLineString | None:
    piece = shapely.intersection(line, area)
    if piece.is_empty or piece.length < 10:
        return None
    if piece.geom_type == "GeometryCollection":
        parts = [g for g in piece.geoms if g.geom_type == "LineString"]
        piece = MultiLineString(parts) if len(parts) > 1 else parts[0]
    return shapely.set_precision(piece, 0.01)


def _feature(number: int, geometry, asset: str, measure: str, year: int, owner: str, description: str) -> dict:
    return {
        "type": "Feature",
        "id": f"SEG-{number:03d}",
        "properties": {"asset": asset, "measure": measure, "planned_year": year, "owner": owner,
                       "description": description},
        "geometry": mapping(geometry),
    }


def _write_segments(path: Path, rng: np.random.Generator, population: DemoPopulation, vbo: pl.DataFrame,
                    panden: pl.DataFrame) -> None:
    streets = _streets(vbo, panden)
    features = []
    for code, asset, measure, year, owner, count, description in STREET_PLANS:
        area = shapely.buffer(population.geometries[code], -1.0)
        candidates = streets.filter(pl.col("buurt_code") == code)
        chosen = np.sort(rng.choice(candidates.height, size=min(count, candidates.height), replace=False))
        for street in candidates[chosen].iter_rows(named=True):
            y = street["y0"] - STREET_OFFSET_M
            line = _clip(LineString([(street["x0"] - 3, y), (street["x1"] + 3, y)]), area)
            if line is not None:
                features.append(_feature(len(features) + 1, line, asset, measure, year, owner,
                                         description.format(street=street["openbare_ruimte_naam"])))
    first, second, asset, measure, year, owner, description = THROUGH_ROAD
    start = population.geometries[first].representative_point()
    end = population.geometries[second].representative_point()
    road = shapely.set_precision(LineString([start, end]), 0.01)
    features.append(_feature(len(features) + 1, road, asset, measure, year, owner, description))
    document = {
        "type": "FeatureCollection",
        "name": "infrastructuurplannen_demodorp_synthetisch",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
        "features": features,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_csv(path: Path, header: list[str], rows, *, delimiter: str, encoding: str) -> None:
    def text(value: object) -> str:
        if value is None:
            return ""
        value = str(value)
        return f'"{value}"' if delimiter in value or '"' in value else value

    lines = [delimiter.join(header)] + [delimiter.join(text(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


# --- participation ----------------------------------------------------------------------------------


def _write_survey(path: Path, rng: np.random.Generator, population: DemoPopulation, vbo: pl.DataFrame) -> None:
    homes = (
        population.dwellings.filter(pl.col("occupied"))
        .join(vbo.select("dwelling_id", "postcode"), on="dwelling_id", how="inner")
        .sort("dwelling_id")
    )
    parts, serial = [], 0
    for code, (count, willing_yes) in SURVEY_BUURTEN.items():
        buurt = homes.filter(pl.col("buurt_code") == code)
        picked = buurt[np.sort(rng.choice(buurt.height, size=min(count, buurt.height), replace=False))]
        n = picked.height
        start = date(2025, 3, 1) + timedelta(days=int(rng.integers(0, 120)))
        willing = _pick(rng, {"ja": willing_yes, "misschien": 0.35, "nee": 0.60 - willing_yes, "": 0.05}, n)
        remarks = np.where(rng.random(n) < REMARK_SHARE, np.array(REMARKS)[rng.integers(0, len(REMARKS), n)], "")
        postcode_only = rng.random(n) < POSTCODE_ONLY_SHARE
        parts.append(pl.DataFrame({
            "respondent_id": [f"R{serial + i + 1:05d}" for i in range(n)],
            "naam": [f"Bewoner {serial + i + 1:05d} (synthetisch)" for i in range(n)],
            "buurt_code": np.where(postcode_only, "", code),
            "postcode": np.where(postcode_only, picked["postcode"].to_numpy(), ""),
            "date": [(start + timedelta(days=int(d))).strftime("%d-%m-%Y") for d in rng.integers(0, 42, n)],
            "channel": _pick(rng, SURVEY_CHANNELS, n),
            "willing_to_act": willing,
            "main_concern": _pick(rng, CONCERNS, n),
            "remarks": remarks,
        }))
        serial += n
    survey = pl.concat(parts)
    _write_csv_frame(path, survey, delimiter=";", encoding="utf-8-sig")


def _write_contacts(path: Path, rng: np.random.Generator, population: DemoPopulation) -> None:
    households = dict(population.buurten.select("buurt_code", "households").iter_rows())
    rows = []
    for code in (*SURVEY_BUURTEN, "BU99990101", "BU99990301"):
        evening = date(2024, 9, 1) + timedelta(days=int(rng.integers(0, 200)))
        reached = max(10, round(households[code] * rng.uniform(0.04, 0.10)))
        rows.append((code, evening.strftime("%Y-%m-%d"), "bewonersavond", reached))
        if code in SURVEY_BUURTEN:
            door = evening + timedelta(days=int(rng.integers(20, 60)))
            rows.append((code, door.strftime("%Y-%m-%d"), "huis_aan_huis",
                         round(households[code] * rng.uniform(0.3, 0.8))))
            kitchen = door + timedelta(days=int(rng.integers(10, 40)))
            rows.append((code, kitchen.strftime("%Y-%m-%d"), "keukentafelgesprek", int(rng.integers(3, 15))))
    _write_csv(path, ["buurt_code", "date", "channel", "households_reached"], rows, delimiter=",", encoding="utf-8")


def _write_csv_frame(path: Path, frame: pl.DataFrame, *, delimiter: str, encoding: str) -> None:
    _write_csv(path, frame.columns, frame.iter_rows(), delimiter=delimiter, encoding=encoding)
