"""CBS energy use and main heating installations per buurt: demo mirror over loopback, real metadata in ../shared."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import polars as pl
import pytest

from wup_pipeline.demo.energy_payloads import write_energy_payloads
from wup_pipeline.demo.population import demo_population
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.resources.paging import PayloadError, odata_next_link
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.sources.cbs_energie import (
    ENERGY_COLUMNS,
    ENERGY_TABLES,
    HEATING_COLUMNS,
    HEATING_KINDS,
    HEATING_TABLES,
    WONINGKENMERKEN,
    energy_frame,
    fetch_energy,
    fetch_heating,
    heating_frame,
)
from wup_pipeline.sources.cbs_kwb import ColumnResolutionError, ODataTable, region_filter, resolve_columns

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CBS_ENERGIE = SHARED / "data" / "cbs_energie"
needs_shared = pytest.mark.skipif(not CBS_ENERGIE.is_dir(), reason=f"{CBS_ENERGIE} not present (../shared)")

GEMEENTE, SEED, PAGE = "GM9999", 2026, 10
CBS_BASE = "https://opendata.cbs.nl/ODataFeed/odata"
N_REGIONS = 1 + 3 + 12  # gemeente, wijken, buurten


@pytest.fixture(scope="module")
def population():
    return demo_population(SEED)


@pytest.fixture
def demo(loopback_mirror, mirror_root, population):
    write_energy_payloads(mirror_root, population, 2024, page_size=PAGE)
    return loopback_mirror


@pytest.fixture
def store(tmp_path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


@pytest.fixture
def client() -> HttpClient:
    client = HttpClient(timeout_s=2.0, max_attempts=2, backoff_base_s=0.01)
    client._sleep = lambda _: None
    return client


def base(server) -> str:
    return f"{server.base_url}/opendata.cbs.nl/ODataFeed/odata"


def half_up(value: float, step: float) -> float:
    return float(int(value / step + 0.5) * step)


# -- over loopback -------------------------------------------------------------------------------------
def test_energy_table_over_loopback_spans_pages_and_keeps_every_row(demo, mirror_root, client, store):
    extract = fetch_energy(client, store, GEMEENTE, 2024, base_url=base(demo))
    table = ENERGY_TABLES[2024]
    assert table == "86159NED" and extract.table_id == table and not extract.reused
    frame = extract.frame
    assert frame.height == N_REGIONS * len(WONINGKENMERKEN)
    assert frame.select("region_code", "woningkenmerk_code").is_unique().all()
    assert frame["region_code"].str.contains(" ").sum() == 0  # padding trimmed
    assert set(frame["region_kind"]) == {"Gemeente", "Wijk", "Buurt"}
    pages = demo.count(f"/opendata.cbs.nl/ODataFeed/odata/{table}/TypedDataSet")
    assert pages == -(-frame.height // PAGE) >= 3
    assert demo.count(f"/opendata.cbs.nl/ODataFeed/odata/{table}/Woningkenmerken") == 1
    datasets = {r.dataset for r in store.records()}
    assert datasets == {f"{table}/TableInfos", f"{table}/DataProperties", f"{table}/Woningkenmerken",
                        f"{table}/TypedDataSet/{GEMEENTE}"}
    typed = [r for r in store.records() if r.dataset.endswith(GEMEENTE)]
    assert [r.page for r in typed] == list(range(pages)) and sum(r.rows for r in typed) == frame.height
    totals = frame.filter(pl.col("woningkenmerk_code") == "T001100")
    assert (totals["dwelling_type"] == "total").all() and (totals["ownership"] == "total").all()
    assert frame.filter(pl.col("woningkenmerk_code") == "1014850")["ownership"].unique().to_list() == ["rented"]
    assert dict(zip(extract.members["code"], extract.members["dwelling_type"], strict=True))["ZW10320"] == "detached"
    assert [c.key for c in extract.columns] == [
        "GemiddeldAardgasverbruik_4", "GemiddeldeElektriciteitslevering_5",
        "GemiddeldeNettoElektriciteitslevering_6", "Stadsverwarming_7",
    ]


def test_unchanged_energy_table_is_reused(demo, client, store):
    first = fetch_energy(client, store, GEMEENTE, 2024, base_url=base(demo))
    requests = sum(demo.requests.values())
    second = fetch_energy(client, store, GEMEENTE, 2024, base_url=base(demo))
    assert second.reused and second.frame.equals(first.frame) and second.members.equals(first.members)
    assert sum(demo.requests.values()) == requests + 1  # TableInfos only


def test_energy_figures_equal_the_ground_truth_of_one_buurt(demo, client, store, population):
    frame = fetch_energy(client, store, GEMEENTE, 2024, base_url=base(demo)).frame
    buurt = "BU99990202"
    d = population.dwellings.filter((pl.col("buurt_code") == buurt) & pl.col("occupied"))
    gas_dwellings = d.filter(pl.col("heating") != "heat_pump")

    def row(code: str) -> dict:
        return frame.filter((pl.col("region_code") == buurt) & (pl.col("woningkenmerk_code") == code)).row(
            0, named=True)

    total = row("T001100")
    assert total["avg_gas_m3"] == half_up(gas_dwellings["gas_m3"].mean(), 10)
    assert total["avg_electricity_kwh"] == half_up(d["electricity_kwh"].mean(), 10)
    terraced = gas_dwellings.filter(pl.col("dwelling_type") == "terraced")
    assert row("ZW25805")["avg_gas_m3"] == half_up(terraced["gas_m3"].mean(), 10)
    rented = d.filter(pl.col("owner_type") != "owner_occupied")
    assert row("1014850")["avg_electricity_kwh"] == half_up(rented["electricity_kwh"].mean(), 10)
    assert total["avg_net_electricity_kwh"] is None  # not synthesised
    assert total["pct_district_heating"] is None  # no district heating here: CBS leaves nil blank
    high_rise = frame.filter((pl.col("region_code") == "BU99990201") & (pl.col("woningkenmerk_code") == "T001100"))
    occupied = population.dwellings.filter((pl.col("buurt_code") == "BU99990201") & pl.col("occupied"))
    share = 100 * (occupied["heating"] == "district_heating").sum() / occupied.height
    assert high_rise["pct_district_heating"].item() == pytest.approx(half_up(share, 0.1))
    assert frame.filter(pl.col("woningkenmerk_code") != "T001100")["pct_district_heating"].null_count() == (
        N_REGIONS * (len(WONINGKENMERKEN) - 1))


def test_suppressed_energy_figures_are_null(demo, client, store, population):
    frame = fetch_energy(client, store, GEMEENTE, 2024, base_url=base(demo)).frame
    # the business park has 7 dwellings: fewer than 6 occupied flats, fewer than 10 occupied dwellings in all
    park = frame.filter(pl.col("region_code") == "BU99990104")
    flats = population.dwellings.filter((pl.col("buurt_code") == "BU99990104")
                                        & (pl.col("dwelling_type") == "apartment") & pl.col("occupied"))
    assert flats.height < 6
    assert park.filter(pl.col("woningkenmerk_code") == "ZW25810")["avg_electricity_kwh"].item() is None
    assert park.filter(pl.col("woningkenmerk_code") == "T001100")["avg_electricity_kwh"].item() is not None
    # the villa area has no flats at all
    villas = frame.filter((pl.col("region_code") == "BU99990204") & (pl.col("woningkenmerk_code") == "ZW25810"))
    assert villas["avg_gas_m3"].item() is None and villas["avg_electricity_kwh"].item() is None


def test_heating_table_over_loopback_equals_the_ground_truth(demo, client, store, population):
    extract = fetch_heating(client, store, GEMEENTE, 2022, base_url=base(demo))
    assert extract.table_id == HEATING_TABLES[2022] == "85677NED"
    frame = extract.frame
    assert frame.height == N_REGIONS and frame["region_code"].is_unique().all()
    assert set(HEATING_KINDS.values()) <= set(frame.columns)
    buurt = "BU99990201"
    stock = population.dwellings.filter((pl.col("buurt_code") == buurt) & (pl.col("build_year") < 2022))
    row = frame.filter(pl.col("region_code") == buurt).row(0, named=True)

    def pct(*kinds: str) -> float:
        return half_up(100 * stock["heating"].is_in(kinds).sum() / stock.height, 0.1)

    assert row["pct_individual_gas_boiler"] == pytest.approx(pct("gas_boiler"))
    assert row["pct_district_heating_no_gas"] == pytest.approx(pct("district_heating"))
    assert row["pct_gas_free"] == pytest.approx(pct("district_heating", "heat_pump"))
    assert row["pct_block_heating"] is None and row["pct_hybrid_heat_pump"] is None  # nil is blank
    park = frame.filter(pl.col("region_code") == "BU99990104")  # 7 dwellings: below the demo threshold
    assert park.select(list(HEATING_KINDS.values())).null_count().sum_horizontal().item() == len(HEATING_KINDS)
    assert dict(extract.members.select("code", "column").iter_rows())["A052175"] == "pct_gas_free"


def test_paging_in_the_mirror_is_real(demo, mirror_root):
    params = {"$format": "json", "$filter": region_filter(GEMEENTE)}
    page = mirror_path(mirror_root, f"{CBS_BASE}/{HEATING_TABLES[2022]}/TypedDataSet", params)
    link = odata_next_link(json.loads(page.read_bytes()))
    assert link and "$skip=10" in link and "/ODataFeed/OData/" in link


# -- parsing edge cases --------------------------------------------------------------------------------
def energy_table(rows: list[dict], unit: str = "m³", members: list[dict] | None = None) -> ODataTable:
    properties = [
        {"ID": 0, "Type": "Dimension", "Key": "Woningkenmerken", "Title": "Woningkenmerken", "ParentID": None},
        {"ID": 1, "Type": "GeoDimension", "Key": "WijkenEnBuurten", "Title": "Wijken en buurten", "ParentID": None},
        {"ID": 2, "Type": "Topic", "Key": "GemiddeldAardgasverbruik_4", "Unit": unit, "Datatype": "Long",
         "ParentID": None},
        {"ID": 3, "Type": "Topic", "Key": "GemiddeldElektriciteitsverbruik_5", "Unit": "kWh", "Datatype": "Long",
         "ParentID": None},
    ]
    members = members if members is not None else [{"Key": "T001100", "Title": "Totaal"},
                                                    {"Key": "X999", "Title": "Huurwoning"}]
    return ODataTable("TEST", None, properties, [("page0.json", rows)], {"Woningkenmerken": members}, [], False)


def test_untyped_strings_are_trimmed_and_suppression_marks_become_null():
    rows = [
        {"Woningkenmerken": "T001100", "WijkenEnBuurten": "BU00140000", "GemiddeldAardgasverbruik_4": "   1210",
         "GemiddeldElektriciteitsverbruik_5": "       ."},
        {"Woningkenmerken": "X999   ", "WijkenEnBuurten": "GM0014    ", "GemiddeldAardgasverbruik_4": None,
         "GemiddeldElektriciteitsverbruik_5": 2450},
    ]
    frame, resolved, members = energy_frame(energy_table(rows), 2020)
    assert resolved[1].key == "GemiddeldElektriciteitsverbruik_5"  # the pre-2021 stem
    assert frame["avg_gas_m3"].to_list() == [1210.0, None]
    assert frame["avg_electricity_kwh"].to_list() == [None, 2450.0]
    assert frame["region_code"].to_list() == ["BU00140000", "GM0014"]
    # an unknown code is mapped by its title
    assert frame.filter(pl.col("woningkenmerk_code") == "X999")["ownership"].item() == "rented"
    assert frame["avg_net_electricity_kwh"].null_count() == 2 and frame["pct_district_heating"].null_count() == 2


def test_a_non_number_names_page_record_and_field():
    rows = [{"Woningkenmerken": "T001100", "WijkenEnBuurten": "BU00140000", "GemiddeldAardgasverbruik_4": 5,
             "GemiddeldElektriciteitsverbruik_5": 1}] * 2
    rows = [rows[0], dict(rows[1], GemiddeldAardgasverbruik_4="veel")]
    with pytest.raises(PayloadError, match=r"page0\.json record 1 field 'GemiddeldAardgasverbruik_4'.*'veel'"):
        energy_frame(energy_table(rows), 2020)
    missing = [{"Woningkenmerken": "T001100", "WijkenEnBuurten": "BU00140000", "GemiddeldAardgasverbruik_4": 5}]
    with pytest.raises(PayloadError, match=r"record 0: field 'GemiddeldElektriciteitsverbruik_5'"):
        energy_frame(energy_table(missing), 2020)


def test_unexpected_unit_or_dimension_is_refused():
    row = [{"Woningkenmerken": "T001100", "WijkenEnBuurten": "BU00140000", "GemiddeldAardgasverbruik_4": 5,
            "GemiddeldElektriciteitsverbruik_5": 1}]
    with pytest.raises(ColumnResolutionError, match=r"unit 'x 1 000 m³'|unit 'GJ'"):
        energy_frame(energy_table(row, unit="GJ"), 2020)
    table = energy_table(row)
    table.dimensions = {}
    with pytest.raises(ColumnResolutionError, match="dimension 'Woningkenmerken' not found"):
        energy_frame(table, 2020)


def test_unknown_heating_kind_is_refused():
    properties = [{"ID": 0, "Type": "Dimension", "Key": "TypeVerwarmingsinstallatie", "ParentID": None},
                  {"ID": 1, "Type": "Topic", "Key": "Woningen_5", "Unit": "%", "Datatype": "Double", "ParentID": None}]
    table = ODataTable("T", None, properties, [("p", [])],
                       {"TypeVerwarmingsinstallatie": [{"Key": "A099999", "Title": "Pelletkachel"}]}, [], False)
    with pytest.raises(ColumnResolutionError, match=r"A099999 \(Pelletkachel\)"):
        heating_frame(table, 2022)


# -- real metadata and data in ../shared ----------------------------------------------------------------
def metadata_files() -> list[Path]:
    return sorted(CBS_ENERGIE.glob("*_metadata.json")) + sorted(CBS_ENERGIE.glob("metadata_buurt_tables/*.json"))


def selected_keys(info: dict) -> list[str]:
    """Topic keys in the DefaultSelection's $select (the only column keys these TableInfos files show)."""
    match = re.search(r"\$select=([^&]+)", info.get("DefaultSelection") or "")
    return [k.strip() for k in match.group(1).split(",")] if match else []


@needs_shared
def test_table_registry_matches_the_real_table_infos():
    infos = {json.loads(p.read_text())["Identifier"]: json.loads(p.read_text()) for p in metadata_files()}
    for year, table in ENERGY_TABLES.items():
        assert infos[table]["Period"] == str(year)
        assert infos[table]["Title"].startswith("Energieverbruik particuliere woningen; woningtype, wijken en buurten")
    for year, table in HEATING_TABLES.items():
        if table == "84950NED":  # 2017: only linked from the other tables' descriptions
            assert "84950NED" in infos["85677NED"]["Description"]
            continue
        assert infos[table]["Period"] == str(year)
        assert infos[table]["Title"].startswith("Woningen; hoofdverwarmingsinstallaties, wijken en buurten")


@needs_shared
def test_column_resolution_on_the_real_column_keys():
    resolved_any = 0
    for path in metadata_files():
        info = json.loads(path.read_text())
        keys = [k for k in selected_keys(info) if "_" in k]
        if info["Identifier"] in ENERGY_TABLES.values() and any(k.startswith("GemiddeldeElek") for k in keys):
            columns = ENERGY_COLUMNS
        elif info["Identifier"] in HEATING_TABLES.values() and keys:
            columns = HEATING_COLUMNS
        else:
            continue
        properties = [{"ID": i, "Type": "Topic", "Key": k, "ParentID": None} for i, k in enumerate(keys)]
        resolved = {c.name: c.key for c in resolve_columns(properties, info["Identifier"], columns)}
        if columns is ENERGY_COLUMNS:
            assert resolved == {"avg_gas_m3": "GemiddeldAardgasverbruik_4",
                                "avg_electricity_kwh": "GemiddeldeElektriciteitslevering_5",
                                "avg_net_electricity_kwh": "GemiddeldeNettoElektriciteitslevering_6",
                                "pct_district_heating": "Stadsverwarming_7"}, info["Identifier"]
        else:
            assert resolved == {"pct_dwellings": "Woningen_5"}, info["Identifier"]
        resolved_any += 1
    assert resolved_any >= 9  # 85359NED, 85697NED, 85999NED, 86159NED and the five heating tables


@needs_shared
def test_dimension_codes_match_the_real_gemeente_tables():
    with (CBS_ENERGIE / "81528NED_full_data.csv").open(encoding="utf-8") as handle:
        woningkenmerken = {row["Woningkenmerken"].strip() for row in csv.DictReader(handle)}
    assert woningkenmerken == set(WONINGKENMERKEN)
    values: dict[tuple[str, str], dict[str, float]] = {}
    with (CBS_ENERGIE / "84948NED_full_data.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Woningen_1"].strip():
                values.setdefault((row["RegioS"], row["Perioden"]), {})[row["TypeVerwarmingsinstallatie"]] = float(
                    row["Woningen_1"])
    codes = {code for found in values.values() for code in found}
    assert codes == set(HEATING_KINDS)
    complete = [v for v in values.values() if len(v) == len(HEATING_KINDS)]
    assert len(complete) > 2000
    # the basis of the code meanings: gas-free = district heating without gas + electric without gas,
    # and the other nine kinds partition the stock
    off = [v for v in complete if abs(v["A052175"] - v["A050116"] - v["A050119"]) > 0.15]
    assert len(off) <= 0.01 * len(complete)
    assert all(abs(sum(x for c, x in v.items() if c != "A052175") - 100) <= 0.5 for v in complete)
