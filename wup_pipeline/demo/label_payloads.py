"""Registered energy labels of the SYNTHETIC demo municipality, as EP-Online serves them.

``demo_registered_labels(population, buildings)`` is the ground truth: every registration (one row each)
and which one a connector must choose on the reference date. ``write_label_payloads`` writes the API v5
answers into a mirror (``.../PandEnergielabel/AdresseerbaarObject/{vbo_id}``, one JSON array per
verblijfsobject); ``write_label_bulk`` writes the same registrations as a bulk CSV.

Objects without a registered label get an empty array ``[]`` rather than no file. The real API answers 404
for them (the connector treats 404 and ``[]`` alike: no label); an empty array keeps the mirror complete, so
a missing mirror file stays an error instead of silently meaning "no label".

Who has a label (published figures, then demo choices):
* CLO indicator nl0556-08 "Energielabels van woningen, 2010-2019" (PBL/CBS, 2020): on 1 January 2020 3.8 of
  7.9 million dwellings (48 %) had a valid label; multi-family dwellings 64 %, single-family 40 %; all
  housing-corporation rentals had a label. The label is valid for ten years (same source).
* Dashboard Klimaatbeleid (PBL/TNO), "Gebouwde omgeving - woning", 2022: about 58 % of dwellings have a
  registered label.
The demo aims at about half: corporation 95 %, private rent 50 %, owner-occupied 28 %, flats a little more
often than houses. Labels get worse with age (a demo choice by build-year class, with type and owner shifts);
the primary fossil energy (kWh/m2 per year) is drawn inside the class bounds for dwellings of the
"Regeling energieprestatie gebouwen" (NTA 8800 label classes, 2021). About 12 % of labelled dwellings have an
older, worse second registration (the newest valid one wins), and about 4 % only an expired one.
Gebouwtype/Gebouwsubtype names are illustrative, not taken from a real file.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from wup_pipeline.demo.population import DemoPopulation
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.sources.ep_online import DEFAULT_BASE_URL, LABEL_CLASSES

RNG_STREAM = 0xE7A  # own stream: labels change no other demo figure
DEMO_REFERENCE_DATE = date(2026, 1, 1)
FIRST_RECORDING = date(2013, 1, 1)
VALID_YEARS = 10  # CLO nl0556-08: a label is valid for ten years

P_LABEL_BY_OWNER = {"corporation": 0.95, "private_rent": 0.50, "owner_occupied": 0.28}
P_LABEL_TYPE_FACTOR = {"apartment": 1.10, "terraced": 0.95, "corner": 0.95, "semi_detached": 0.90,
                       "detached": 0.85}
SHARE_SECOND_REGISTRATION = 0.12
SHARE_EXPIRED_ONLY = 0.04

# Mean label index (0 = A++++ ... 10 = G) by build year (upper bound of the class) - demo choice.
MEAN_LABEL_BY_YEAR = ((1944, 8.0), (1964, 7.3), (1974, 6.8), (1991, 5.8), (2005, 4.8), (2014, 4.0), (2020, 2.8),
                      (9999, 1.6))
LABEL_SHIFT_BY_TYPE = {"apartment": -0.4, "terraced": 0.0, "corner": 0.3, "semi_detached": 0.4, "detached": 0.6}
LABEL_SHIFT_BY_OWNER = {"corporation": -0.5, "private_rent": 0.3, "owner_occupied": 0.0}
# Primary fossil energy bounds per class for dwellings, kWh/m2 per year (NTA 8800 label classes, 2021).
EP2_BOUNDS = {"A++++": (-20.0, 0.0), "A+++": (0.01, 50.0), "A++": (50.01, 75.0), "A+": (75.01, 105.0),
              "A": (105.01, 160.0), "B": (160.01, 190.0), "C": (190.01, 250.0), "D": (250.01, 290.0),
              "E": (290.01, 335.0), "F": (335.01, 380.0), "G": (380.01, 520.0)}
BUILDING_TYPE = {"apartment": "Appartement", "terraced": "Rijwoning tussen", "corner": "Rijwoning hoek",
                 "semi_detached": "2 onder 1 kap", "detached": "Vrijstaande woning"}
APARTMENT_SUBTYPES = ("Galerijwoning", "Portiekwoning", "Tussenverdieping", "Bovenwoning")

BULK_COLUMNS = ("Opnamedatum", "Registratiedatum", "Geldig_tot", "Soort_opname", "Status", "Gebouwklasse",
                "Gebouwtype", "Gebouwsubtype", "Postcode", "Huisnummer", "Huisletter", "Huisnummertoevoeging",
                "BAGVerblijfsobjectID", "BAGPandIDs", "Bouwjaar", "Gebruiksoppervlakte_thermische_zone",
                "Energieklasse", "PrimaireFossieleEnergie")


def demo_registered_labels(population: DemoPopulation, buildings: tuple[pl.DataFrame, pl.DataFrame],
                           reference_date: date = DEMO_REFERENCE_DATE) -> pl.DataFrame:
    """Every label registration of the demo's dwellings, and the one a connector must choose.

    Columns: vbo_id, postcode, huisnummer, huisletter, toevoeging, pand_id, build_year, floor_area_m2,
    dwelling_type, owner_type, energy_label, primary_fossil_kwh_m2, registration_at (datetime),
    recording_date, valid_until, building_type, building_subtype, n_registrations, chosen (bool),
    label_choice (what the connector says for the chosen one).
    """
    rng = np.random.default_rng([population.seed, RNG_STREAM])
    vbo, _ = buildings
    dwellings = (
        vbo.filter(pl.col("dwelling_id").is_not_null())
        .join(population.dwellings.select("dwelling_id", "owner_type"), on="dwelling_id")
        .sort("vbo_id")
    )
    n = dwellings.height
    owner = dwellings["owner_type"].to_numpy()
    kind = dwellings["dwelling_type_truth"].to_numpy()
    year = dwellings["bouwjaar"].to_numpy()
    p_label = np.array([P_LABEL_BY_OWNER[o] for o in owner]) * np.array([P_LABEL_TYPE_FACTOR[k] for k in kind])
    labelled = rng.random(n) < np.clip(p_label, 0, 1)

    uppers = np.array([u for u, _ in MEAN_LABEL_BY_YEAR])
    means = np.array([m for _, m in MEAN_LABEL_BY_YEAR])[np.searchsorted(uppers, year, side="left")]
    score = (means + np.array([LABEL_SHIFT_BY_TYPE[k] for k in kind])
             + np.array([LABEL_SHIFT_BY_OWNER[o] for o in owner]) + rng.normal(0.0, 1.0, n))
    label_index = np.clip(np.rint(score), 0, len(LABEL_CLASSES) - 1).astype(int)

    # Recording dates: within the ten years before the reference date (or from completion), so the label is
    # still valid; a month before the reference date at the latest.
    reference = np.datetime64(reference_date, "D")
    first_valid = max(FIRST_RECORDING, _add_years(reference_date, -VALID_YEARS) + timedelta(days=1))
    start = np.maximum(np.datetime64(first_valid, "D"),
                       np.array([np.datetime64(date(min(int(y), reference_date.year - 1), 7, 1), "D")
                                 for y in year]))
    span = np.maximum((reference - np.timedelta64(30, "D") - start).astype(int), 1)
    recorded = start + (rng.random(n) * span).astype(int).astype("timedelta64[D]")
    expired_only = labelled & (rng.random(n) < SHARE_EXPIRED_ONLY)
    old_start = np.datetime64(date(reference_date.year - VALID_YEARS - 5, 1, 1), "D")
    old_end = reference - np.timedelta64(VALID_YEARS * 366 + 30, "D")
    old_recorded = old_start + (rng.random(n) * (old_end - old_start).astype(int)).astype(int).astype("timedelta64[D]")
    recorded = np.where(expired_only, old_recorded, recorded)
    second = labelled & ~expired_only & (rng.random(n) < SHARE_SECOND_REGISTRATION)
    earlier = recorded - (rng.uniform(3 * 365, 8 * 365, n)).astype(int).astype("timedelta64[D]")
    earlier_index = np.clip(label_index + rng.integers(1, 4, n), 0, len(LABEL_CLASSES) - 1)

    subtype = np.where(kind == "apartment", np.array(APARTMENT_SUBTYPES)[rng.integers(0, 4, n)], None)
    delay_days = rng.integers(0, 61, n)
    delay_seconds = rng.integers(8 * 3600, 18 * 3600, n)
    earlier_delay = rng.integers(0, 61, n)
    ep2_draw = rng.random(n)
    ep2_draw_earlier = rng.random(n)

    rows = []
    fields = dwellings.select("vbo_id", "postcode", "huisnummer", "huisletter", "toevoeging", "pand_id", "bouwjaar",
                              "oppervlakte_m2", "dwelling_type_truth", "owner_type").rows()
    for i in np.flatnonzero(labelled):
        base = dict(zip(("vbo_id", "postcode", "huisnummer", "huisletter", "toevoeging", "pand_id", "build_year",
                         "floor_area_m2", "dwelling_type", "owner_type"), fields[i], strict=True))
        base |= {"building_type": BUILDING_TYPE[kind[i]], "building_subtype": subtype[i]}
        registrations = [(recorded[i], int(label_index[i]), int(delay_days[i]), ep2_draw[i])]
        if second[i]:
            registrations.append((earlier[i], int(earlier_index[i]), int(earlier_delay[i]), ep2_draw_earlier[i]))
        for when, index, delay, draw in registrations:
            recording = when.astype(date)
            registered = datetime.combine(recording + timedelta(days=delay), datetime.min.time()) + timedelta(
                seconds=int(delay_seconds[i]), microseconds=int(draw * 1000) * 1000)
            label = LABEL_CLASSES[index]
            low, high = EP2_BOUNDS[label]
            rows.append(base | {
                "energy_label": label, "primary_fossil_kwh_m2": round(low + (high - low) * draw, 2),
                "registration_at": registered, "recording_date": recording,
                "valid_until": _add_years(registered.date(), VALID_YEARS),
            })
    schema = {
        "vbo_id": pl.String, "postcode": pl.String, "huisnummer": pl.Int64, "huisletter": pl.String,
        "toevoeging": pl.String, "pand_id": pl.String, "build_year": pl.Int64, "floor_area_m2": pl.Int64,
        "dwelling_type": pl.String, "owner_type": pl.String, "building_type": pl.String,
        "building_subtype": pl.String, "energy_label": pl.String, "primary_fossil_kwh_m2": pl.Float64,
        "registration_at": pl.Datetime("us"), "recording_date": pl.Date, "valid_until": pl.Date,
    }
    frame = pl.DataFrame(rows, schema=schema)
    valid = pl.col("valid_until") >= reference_date
    newest_valid = pl.col("registration_at") == pl.col("registration_at").filter(valid).max().over("vbo_id")
    newest = pl.col("registration_at") == pl.col("registration_at").max().over("vbo_id")
    any_valid = valid.any().over("vbo_id")
    return frame.with_columns(
        pl.len().over("vbo_id").cast(pl.Int64).alias("n_registrations"),
        pl.when(any_valid).then(newest_valid & valid).otherwise(newest).alias("chosen"),
    ).with_columns(
        pl.when(~any_valid).then(pl.lit("newest_expired"))
        .when(pl.col("n_registrations") == 1).then(pl.lit("only_valid"))
        .otherwise(pl.lit("newest_valid")).alias("label_choice"),
    ).sort("vbo_id", "registration_at")


def write_label_payloads(
    mirror_root: Path,
    population: DemoPopulation,
    buildings: tuple[pl.DataFrame, pl.DataFrame],
    reference_date: date = DEMO_REFERENCE_DATE,
    api_key_placeholder: str | None = None,
) -> int:
    """One API v5 answer per verblijfsobject of the demo (``[]`` where no label); returns files written.

    ``api_key_placeholder`` is accepted for symmetry with the live route and deliberately unused: a mirror is
    keyed by URL only and holds no credentials.
    """
    del api_key_placeholder  # never written anywhere
    registrations = demo_registered_labels(population, buildings, reference_date)
    by_vbo: dict[str, list[dict]] = {}
    for row in registrations.sort("vbo_id", "registration_at", descending=[False, True]).iter_rows(named=True):
        by_vbo.setdefault(row["vbo_id"], []).append(_api_registration(row))
    written, made = 0, set()
    for vbo_id in buildings[0]["vbo_id"].sort():
        path = mirror_path(Path(mirror_root), f"{DEFAULT_BASE_URL}/PandEnergielabel/AdresseerbaarObject/{vbo_id}")
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(json.dumps(by_vbo.get(vbo_id, []), ensure_ascii=False).encode())
        written += 1
    return written


def write_label_bulk(directory: Path, population: DemoPopulation, buildings: tuple[pl.DataFrame, pl.DataFrame],
                     reference_date: date = DEMO_REFERENCE_DATE) -> Path:
    """The same registrations as a ';'-separated bulk CSV with the API-style column names."""
    registrations = demo_registered_labels(population, buildings, reference_date)
    lines = [";".join(BULK_COLUMNS)]
    for row in registrations.iter_rows(named=True):
        record = _api_registration(row)
        values = {**record, "BAGPandIDs": ",".join(record["BAGPandIDs"]),
                  "Gebruiksoppervlakte_thermische_zone": _decimal_comma(record["Gebruiksoppervlakte_thermische_zone"]),
                  "PrimaireFossieleEnergie": _decimal_comma(record["PrimaireFossieleEnergie"])}
        lines.append(";".join("" if values[c] is None else str(values[c]) for c in BULK_COLUMNS))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"v{reference_date:%Y%m%d}_demo_csv.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _api_registration(row: dict) -> dict:
    """A registration with the field names and value shapes of the API v5 answer."""
    return {
        "Registratiedatum": row["registration_at"].isoformat(timespec="milliseconds"),
        "Opnamedatum": f"{row['recording_date']:%Y-%m-%d}T00:00:00",
        "Geldig_tot": f"{row['valid_until']:%Y-%m-%d}T00:00:00",
        "Soort_opname": "Basisopname",
        "Status": "Bestaand",
        "Gebouwklasse": "Woningbouw",
        "Gebouwtype": row["building_type"],
        "Gebouwsubtype": row["building_subtype"],
        "Postcode": row["postcode"],
        "Huisnummer": row["huisnummer"],
        "Huisletter": row["huisletter"],
        "Huisnummertoevoeging": row["toevoeging"],
        "BAGVerblijfsobjectID": row["vbo_id"],
        "BAGPandIDs": [row["pand_id"]],
        "Bouwjaar": row["build_year"],
        "Gebruiksoppervlakte_thermische_zone": float(row["floor_area_m2"]),
        "Energieklasse": row["energy_label"],
        "Energiebehoefte": None,
        "PrimaireFossieleEnergie": row["primary_fossil_kwh_m2"],
        "Aandeel_hernieuwbare_energie": None,
        "BerekendeCO2Emissie": None,
        "BerekendeEnergieverbruik": None,
    }


def _decimal_comma(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}".replace(".", ",")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
