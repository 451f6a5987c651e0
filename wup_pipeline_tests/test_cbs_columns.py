"""KWB column resolution through DataProperties: key suffixes change every year, stems repeat per topic."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from wup_pipeline.sources.cbs_kwb import (
    KWB_COLUMNS,
    ColumnResolutionError,
    KwbColumn,
    resolve_columns,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CBS_SAMPLES = SHARED / "reference" / "api_samples" / "cbs-odata-v3"
KWB2024_KEYS_TSV = CBS_SAMPLES / "kwb2024_85984NED_DataProperties_keys_DERIVED.tsv"


def group(id_: int, title: str, parent: int | None = None) -> dict:
    return {"ID": id_, "ParentID": parent, "Type": "TopicGroup", "Key": "", "Title": title}


def topic(id_: int, key: str, parent: int, title: str = "", unit: str = "aantal", datatype: str = "Long"):
    return {"ID": id_, "ParentID": parent, "Type": "Topic", "Key": key, "Title": title or key.split("_")[0],
            "Unit": unit, "Datatype": datatype}


def region_and_people(woningvoorraad_key: str) -> list[dict]:
    return [
        {"ID": 0, "ParentID": None, "Type": "GeoDetail", "Key": "WijkenEnBuurten", "Title": "Wijken"},
        group(1, "Regioaanduiding"),
        topic(2, "Gemeentenaam_1", 1, "Gemeentenaam", "naam", "String"),
        topic(3, "SoortRegio_2", 1, "Soort regio", "omschrijving", "String"),
        topic(4, "Codering_3", 1, "Codering", "code", "String"),
        group(5, "Bevolking"),
        topic(6, "AantalInwoners_5", 5, "Aantal inwoners"),
        group(7, "Wonen"),
        topic(8, woningvoorraad_key, 7, "Woningvoorraad"),
    ]


# KWB 2020 (84799NED) style: the keys as that table numbers them.
PROPS_2020 = region_and_people("Woningvoorraad_34") + [
    topic(9, "GemiddeldeWoningwaarde_35", 7, "Gemiddelde woningwaarde", "x 1 000 euro"),
    group(10, "Energie"),
    group(11, "Gemiddeld elektriciteitsverbruik", 10),
    topic(12, "GemiddeldElektriciteitsverbruikTotaal_47", 11, unit="kWh"),
    topic(13, "Appartement_48", 11, "Appartement", "kWh"),
    group(14, "Gemiddeld aardgasverbruik", 10),
    topic(15, "GemiddeldAardgasverbruikTotaal_55", 14, unit="m³"),
    topic(16, "Appartement_56", 14, "Appartement", "m³"),
]

# KWB 2024 (85984NED) style: same concepts, new suffixes, renamed WOZ and electricity stems.
PROPS_2024 = region_and_people("Woningvoorraad_35") + [
    topic(9, "GemiddeldeWOZWaardeVanWoningen_39", 7, "Gemiddelde WOZ-waarde van woningen", "x 1 000 euro"),
    group(10, "Energie"),
    group(11, "Gemiddelde elektriciteitslevering", 10),
    topic(12, "GemiddeldeElektriciteitsleveringTotaal_53", 11, unit="kWh"),
    topic(13, "Appartement_54", 11, "Appartement", "kWh"),
    group(14, "Gemiddeld aardgasverbruik", 10),
    topic(15, "GemiddeldAardgasverbruikTotaal_61", 14, unit="m³"),
    topic(16, "Appartement_62", 14, "Appartement", "m³"),
]


def keys(props: list[dict], table_id: str = "T") -> dict[str, str | None]:
    return {column.name: column.key for column in resolve_columns(props, table_id)}


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (PROPS_2020, {
            "gemeentenaam": "Gemeentenaam_1", "woningvoorraad": "Woningvoorraad_34",
            "gemiddelde_woz_waarde": "GemiddeldeWoningwaarde_35",
            "gemiddeld_elektriciteitsverbruik": "GemiddeldElektriciteitsverbruikTotaal_47",
            "gemiddeld_aardgasverbruik": "GemiddeldAardgasverbruikTotaal_55",
            "elektriciteit_appartement": "Appartement_48", "aardgas_appartement": "Appartement_56",
        }),
        (PROPS_2024, {
            "gemeentenaam": "Gemeentenaam_1", "woningvoorraad": "Woningvoorraad_35",
            "gemiddelde_woz_waarde": "GemiddeldeWOZWaardeVanWoningen_39",
            "gemiddeld_elektriciteitsverbruik": "GemiddeldeElektriciteitsleveringTotaal_53",
            "gemiddeld_aardgasverbruik": "GemiddeldAardgasverbruikTotaal_61",
            "elektriciteit_appartement": "Appartement_54", "aardgas_appartement": "Appartement_62",
        }),
    ],
    ids=["2020", "2024"],
)
def test_each_logical_column_resolves_to_this_years_key(props, expected):
    resolved = keys(props)
    assert {name: resolved[name] for name in expected} == expected
    assert set(resolved) == {column.name for column in KWB_COLUMNS}
    assert resolved["aardgas_tussenwoning"] is None  # optional and absent: kept as an empty column


def test_resolved_column_carries_unit_type_and_topic_path():
    by_name = {column.name: column for column in resolve_columns(PROPS_2024, "85984NED")}
    gas = by_name["aardgas_appartement"]
    assert (gas.key, gas.unit, gas.datatype) == ("Appartement_62", "m³", "Long")
    assert gas.topic_path == "Energie > Gemiddeld aardgasverbruik"
    assert by_name["gemeentenaam"].datatype == "String"


def test_ambiguous_stem_names_every_candidate_key():
    column = KwbColumn("appartement", ("Appartement",))  # no topic given: electricity or gas?
    with pytest.raises(ColumnResolutionError) as caught:
        resolve_columns(PROPS_2024, "85984NED", [column])
    message = str(caught.value)
    assert "85984NED" in message and "'appartement'" in message
    assert "Appartement_54" in message and "Appartement_62" in message


def test_stem_repeated_under_the_same_topic_is_ambiguous():
    props = PROPS_2020 + [topic(17, "Appartement_57", 14, "Appartement", "m³")]
    with pytest.raises(ColumnResolutionError, match=r"Appartement_56.*Appartement_57"):
        resolve_columns(props, "84799NED")


def test_missing_required_column_is_named():
    props = [p for p in PROPS_2024 if not p["Key"].startswith("Woningvoorraad")]
    with pytest.raises(ColumnResolutionError) as caught:
        resolve_columns(props, "85984NED")
    message = str(caught.value)
    assert "required column 'woningvoorraad'" in message
    assert "Woningvoorraad" in message and "85984NED" in message


def test_missing_required_column_under_a_topic_names_the_topic():
    column = KwbColumn("aardgas_appartement", ("Appartement",), under="aardgas", required=True)
    props = [p for p in PROPS_2024 if p["ID"] != 16]  # only the electricity Appartement is left
    with pytest.raises(ColumnResolutionError, match="under a topic containing 'aardgas'"):
        resolve_columns(props, "85984NED", [column])


def read_keys_tsv(path: Path) -> list[dict]:
    def value(text: str):
        if text == "None":
            return None
        return int(text) if text.isdigit() else text

    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: value(v) for k, v in row.items()} for row in csv.DictReader(handle, delimiter="\t")]


def test_real_2024_data_properties_resolve():
    if not KWB2024_KEYS_TSV.is_file():
        pytest.skip(f"real CBS metadata not available: {KWB2024_KEYS_TSV} is absent (needs ../shared)")
    props = read_keys_tsv(KWB2024_KEYS_TSV)
    assert len(props) == 172
    by_name = {column.name: column for column in resolve_columns(props, "85984NED")}
    assert by_name["gemiddeld_aardgasverbruik"].key == "GemiddeldAardgasverbruikTotaal_61"
    assert by_name["aardgas_appartement"].key == "Appartement_62"
    assert by_name["elektriciteit_appartement"].key == "Appartement_54"
    assert by_name["gemiddeld_elektriciteitsverbruik"].key == "GemiddeldeElektriciteitsleveringTotaal_53"
    assert by_name["gemiddelde_woz_waarde"].key == "GemiddeldeWOZWaardeVanWoningen_39"
    assert by_name["woningvoorraad"].key == "Woningvoorraad_35"
    assert by_name["aardgas_appartement"].unit == "m³"
    assert "aardgas" in by_name["aardgas_appartement"].topic_path.lower()
    assert all(by_name[c.name].key for c in KWB_COLUMNS if c.required)
    assert by_name["bouwjaar_voor_2000"].key is None  # 2024 replaced the before/after-2000 split
    assert by_name["bouwjaar_afgelopen_tien_jaar"].key == "BouwjaarAfgelopenTienJaar_52"
