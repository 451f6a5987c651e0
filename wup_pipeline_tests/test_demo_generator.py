"""The SYNTHETIC demo municipality: deterministic, read by the real connectors, true to its ground truth."""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl
import pytest
import shapely

from wup_pipeline.demo.generator import (
    DEMO_GEMEENTE,
    DEMO_YEAR,
    DemoSummary,
    demo_population,
    write_demo_mirror,
)
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.sources.cbs_kwb import DEFAULT_BASE_URL, KWB_TABLES, fetch_kwb
from wup_pipeline.sources.pdok_wijkenbuurten import fetch_buurten

SMALL_BUURT = "BU99990303"  # Buitengebied: 36 dwellings, under 100 inhabitants
BUSINESS_PARK = "BU99990104"  # 7 dwellings


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def population():
    return demo_population()


@pytest.fixture(scope="module")
def extracts(tmp_path_factory):
    """fetch_kwb / fetch_buurten over a mirror with small pages, so paging is exercised."""
    root = tmp_path_factory.mktemp("demo")
    summary = write_demo_mirror(root / "mirror", cbs_page_size=5, pdok_page_size=5)
    client = HttpClient(mirror_dir=str(root / "mirror"))
    store = SnapshotStore(root / "snapshots")
    kwb = fetch_kwb(client, store, DEMO_GEMEENTE, DEMO_YEAR)
    buurten = fetch_buurten(client, store, DEMO_GEMEENTE, DEMO_YEAR)
    frame = kwb.frame.with_columns(pl.col("wijken_en_buurten").str.strip_chars().alias("code"))
    return summary, kwb, buurten, frame


def test_same_seed_gives_byte_identical_trees_and_another_seed_differs(tmp_path):
    first = write_demo_mirror(tmp_path / "a", seed=11)
    write_demo_mirror(tmp_path / "b", seed=11)
    write_demo_mirror(tmp_path / "c", seed=12)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b
    assert len(a) == first.files
    assert a != c
    assert demo_population(11).dwellings.equals(demo_population(11).dwellings)
    assert not demo_population(11).dwellings.equals(demo_population(12).dwellings)


def test_summary_and_speed(tmp_path):
    start = time.perf_counter()
    summary = write_demo_mirror(tmp_path)
    assert time.perf_counter() - start < 5
    assert isinstance(summary, DemoSummary)
    assert (summary.gemeente_code, summary.year) == ("GM9999", 2024)
    assert (summary.n_wijken, summary.n_buurten) == (3, 12)
    assert 5_000 <= summary.n_dwellings <= 8_000
    assert summary.files == 5  # TableInfos, DataProperties, one TypedDataSet page, buurten and wijken pages


@pytest.mark.parametrize("cbs_page_size, pdok_page_size", [(10_000, 1_000), (5, 5), (1, 12)])
def test_connectors_follow_every_page(tmp_path, cbs_page_size, pdok_page_size):
    write_demo_mirror(tmp_path / "mirror", cbs_page_size=cbs_page_size, pdok_page_size=pdok_page_size)
    client = HttpClient(mirror_dir=str(tmp_path / "mirror"))
    store = SnapshotStore(tmp_path / "snapshots")
    kwb = fetch_kwb(client, store, DEMO_GEMEENTE, DEMO_YEAR)
    buurten = fetch_buurten(client, store, DEMO_GEMEENTE, DEMO_YEAR)
    assert kwb.frame.height == 1 + 3 + 12
    assert len(kwb.snapshots) == 2 + -(-16 // cbs_page_size)
    assert buurten.frame.height == 12
    assert len(buurten.snapshots) == -(-12 // pdok_page_size)
    assert sorted(buurten.frame["buurtcode"]) == [f"BU9999{w}{b}" for w, b in (
        ("01", "01"), ("01", "02"), ("01", "03"), ("01", "04"), ("02", "01"), ("02", "02"), ("02", "03"),
        ("02", "04"), ("03", "01"), ("03", "02"), ("03", "03"), ("03", "04"))]
    assert all(c.key for c in kwb.columns), [c.name for c in kwb.columns if not c.key]


def test_page_links_look_like_the_real_services(tmp_path):
    root = tmp_path / "mirror"
    write_demo_mirror(root, cbs_page_size=10, pdok_page_size=10)
    filter_ = "startswith(WijkenEnBuurten,'GM9999') or startswith(WijkenEnBuurten,'WK9999') or " \
              "startswith(WijkenEnBuurten,'BU9999')"
    table = KWB_TABLES[DEMO_YEAR]
    first = json.loads(mirror_path(root, f"{DEFAULT_BASE_URL}/{table}/TypedDataSet",
                                   {"$format": "json", "$filter": filter_}).read_bytes())
    link = first["odata.nextLink"]
    assert link.startswith(f"https://opendata.cbs.nl/ODataFeed/OData/{table}/TypedDataSet/?$format=json&$filter=")
    assert link.endswith("&$skip=10")
    last = json.loads(mirror_path(root, link).read_bytes())
    assert "odata.nextLink" not in last and len(first["value"]) + len(last["value"]) == 16

    pages = [p for p in root.rglob("*.json") if "/collections/buurten/" in str(p)]
    payloads = [json.loads(p.read_bytes()) for p in pages]
    assert len(payloads) == 2
    for payload in payloads:
        assert list(payload) == ["type", "timeStamp", "links", "features", "numberReturned"]
        assert payload["numberReturned"] == len(payload["features"])
    nexts = [lk["href"] for p in payloads for lk in p["links"] if lk["rel"] == "next"]
    assert len(nexts) == 1
    assert "cursor=" in nexts[0] and "gemeentecode=GM9999" in nexts[0] and "limit=1000" in nexts[0]
    assert "crs=http%3A%2F%2Fwww.opengis.net%2Fdef%2Fcrs%2FEPSG%2F0%2F28992" in nexts[0]


def test_kwb_dwellings_and_gas_columns_match_the_ground_truth(extracts, population):
    _, kwb, _, frame = extracts
    counts = population.dwellings.group_by("buurt_code").len()
    joined = frame.join(counts, left_on="code", right_on="buurt_code")
    assert joined.height == 12
    assert (joined["woningvoorraad"] == joined["len"]).all()

    keys = {c.name: c.key for c in kwb.columns}
    assert keys["aardgas_appartement"] != keys["elektriciteit_appartement"]
    apartments = population.dwellings.filter(pl.col("occupied"), pl.col("dwelling_type") == "apartment")
    has_gas = pl.col("heating") != "heat_pump"
    truth = apartments.group_by("buurt_code").agg(
        ((pl.col("gas_m3").filter(has_gas).mean() / 10 + 0.5).floor() * 10).alias("gas"),
        ((pl.col("electricity_kwh").mean() / 10 + 0.5).floor() * 10).alias("elec"),
        has_gas.sum().alias("n_gas"),
        pl.len().alias("n"),
    )
    both = frame.join(truth, left_on="code", right_on="buurt_code").filter(pl.col("n_gas") >= 6)
    assert both.height >= 8
    assert (both["aardgas_appartement"] == both["gas"]).all()
    assert (both["elektriciteit_appartement"] == both["elec"]).all()
    assert (both["aardgas_appartement"] != both["elektriciteit_appartement"]).all()


def test_cbs_suppression(extracts, population):
    _, _, _, frame = extracts
    row = {r["code"]: r for r in frame.iter_rows(named=True)}
    assert row[SMALL_BUURT]["aantal_inwoners"] < 100
    assert row[SMALL_BUURT]["gemiddeld_inkomen_per_inwoner"] is None
    assert row[SMALL_BUURT]["huishoudens_met_laag_inkomen"] is None
    assert row[SMALL_BUURT]["gemiddelde_woz_waarde"] is not None  # 36 dwellings: 20 or more
    assert row[BUSINESS_PARK]["gemiddelde_woz_waarde"] is None
    assert row[BUSINESS_PARK]["koopwoningen"] is None
    assert row[DEMO_GEMEENTE]["gemiddeld_inkomen_per_inwoner"] is not None
    assert row[DEMO_GEMEENTE]["gem_gestandaardiseerd_inkomen_huishouden"] is None  # never synthesised
    for code, r in row.items():
        if code.startswith(("WK", "BU")):
            assert r["aantal_inwoners"] % 5 == 0 and r["huishoudens_totaal"] % 5 == 0


def test_gemeente_and_wijk_rows_aggregate_dwellings_not_percentages(extracts, population):
    _, _, _, frame = extracts
    d = population.dwellings
    row = {r["code"]: r for r in frame.iter_rows(named=True)}
    owners = (d["owner_type"] == "owner_occupied").sum()
    assert row[DEMO_GEMEENTE]["koopwoningen"] == int(100 * owners / d.height + 0.5)
    assert row[DEMO_GEMEENTE]["woningvoorraad"] == d.height
    assert row[DEMO_GEMEENTE]["aantal_inwoners"] == d["household_size"].sum()
    assert row[DEMO_GEMEENTE]["gemiddelde_woz_waarde"] == int(d["woz_eur"].mean() / 1000 + 0.5)
    wijk = d.filter(pl.col("wijk_code") == "WK999901")
    assert row["WK999901"]["woningvoorraad"] == wijk.height
    assert row["WK999901"]["bouwjaar_voor_2000"] == int(100 * (wijk["build_year"] < 2000).mean() + 0.5)


def test_geometry_tiles_the_municipality_and_matches_kwb_area(extracts):
    _, _, buurten, frame = extracts
    geoms = {r["buurtcode"]: shapely.from_wkb(r["geometry_wkb"]) for r in buurten.frame.iter_rows(named=True)}
    assert all(g.is_valid and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms.values())
    union = shapely.union_all(list(geoms.values()))
    assert union.area == pytest.approx(sum(g.area for g in geoms.values()), rel=1e-9)  # no overlaps
    minx, miny, maxx, maxy = union.bounds
    assert 150_000 <= minx and maxx <= 160_000 and 450_000 <= miny and maxy <= 460_000
    areas_ha = {code: g.area / 10_000 for code, g in geoms.items()}
    assert 10 <= areas_ha["BU99990101"] <= 30
    assert areas_ha[SMALL_BUURT] >= 200
    kwb_area = dict(frame.select("code", "oppervlakte_totaal").iter_rows())
    for code, ha in areas_ha.items():
        assert kwb_area[code] == int(ha + 0.5)


def test_totals_and_shares_are_near_the_national_figures(population):
    d = population.dwellings
    assert 5_000 <= d.height <= 8_000
    shares = d["owner_type"].value_counts(normalize=True)
    share = dict(shares.iter_rows())
    assert 0.47 <= share["owner_occupied"] <= 0.67  # national 57 % (82900NED, 2023)
    assert 0.20 <= share["corporation"] <= 0.38  # national 28.5 %
    assert 0.08 <= share["private_rent"] <= 0.22  # national 14.4 %
    assert 0.25 <= (d["dwelling_type"] == "apartment").mean() <= 0.50  # national 36 % multi-family
    occupied = d.filter("occupied")
    assert 1.9 <= occupied["household_size"].mean() <= 2.4  # national 2.1
    assert 330_000 <= d["woz_eur"].mean() <= 430_000  # national EUR 379,000 (2024)
    boilers = occupied.filter(pl.col("heating") == "gas_boiler")
    gas = dict(boilers.group_by("dwelling_type").agg(pl.col("gas_m3").mean()).iter_rows())
    assert 350 <= gas["apartment"] < gas["terraced"] < gas["detached"] <= 2_200
    assert 1_500 <= occupied["electricity_kwh"].mean() <= 3_500
    buurten = population.buurten
    inhabitants = buurten["inhabitants"]
    income = (buurten["income_per_inhabitant_eur"] * inhabitants).sum() / inhabitants.sum()
    assert 27_000 <= income <= 40_000  # national EUR 32,500 per inhabitant
    assert buurten.filter(pl.col("buurt_code") == SMALL_BUURT)["n_dwellings"].item() < 50
    assert buurten.filter(pl.col("buurt_code") == BUSINESS_PARK)["n_dwellings"].item() < 10


def test_everything_is_labelled_synthetic(extracts, tmp_path):
    _, kwb, buurten, frame = extracts
    assert set(frame["gemeentenaam"].str.strip_chars()) == {"Demodorp (synthetisch)"}
    assert set(buurten.frame["gemeentenaam"]) == {"Demodorp (synthetisch)"}
    write_demo_mirror(tmp_path)
    infos = json.loads(mirror_path(tmp_path, f"{DEFAULT_BASE_URL}/{KWB_TABLES[DEMO_YEAR]}/TableInfos",
                                   {"$format": "json"}).read_bytes())["value"][0]
    assert "SYNTHETISCHE DEMO" in infos["Title"] and "SYNTHETISCHE DEMO" in infos["Summary"]
    assert kwb.modified == infos["Modified"]


def test_hand_checked_figures_of_binnenstad_for_the_default_seed(extracts):
    """Pinned figures of BU99990101 (seed 2026); they change only if the generator changes."""
    _, _, _, frame = extracts
    row = frame.filter(pl.col("code") == "BU99990101").row(0, named=True)
    assert row["woningvoorraad"] == 1600
    assert row["aantal_inwoners"] == 2735
    assert row["huishoudens_totaal"] == 1510
    assert row["gemiddelde_woz_waarde"] == 399
    assert row["koopwoningen"] == 47
    assert row["in_bezit_woningcorporatie"] == 20
    assert row["bouwjaar_voor_2000"] == 89
    assert row["gemiddeld_aardgasverbruik"] == 780
    assert row["gemiddeld_elektriciteitsverbruik"] == 2080
    assert row["gemiddeld_inkomen_per_inwoner"] == 30.3
    assert row["oppervlakte_totaal"] == 27
