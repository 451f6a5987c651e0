"""Grid operators' small-consumer data: real Stedin files in ../shared, Liander layouts, Enexis WFS over loopback,
postcode ranges -> buurten, and the demo files against the ground truth."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from wup_pipeline.demo.energy_payloads import MIN_CONNECTIONS, write_kleinverbruik_files
from wup_pipeline.demo.population import demo_population
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.paging import PayloadError
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.sources.kleinverbruik import (
    ENEXIS_WFS_URL,
    OUTPUT_SCHEMA,
    map_to_buurten,
    read_enexis_wfs,
    read_kleinverbruik,
    unmatched_ranges,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "reference" / "api_samples" / "kleinverbruik"
needs_shared = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} not present (../shared)")

HEADER = ("NETBEHEERDER\tNETGEBIED\tSTRAATNAAM\tPOSTCODE_VAN\tPOSTCODE_TOT\tWOONPLAATS\tLANDCODE\tPRODUCTSOORT\t"
          "VERBRUIKSSEGMENT\tAANSLUITINGEN_AANTAL\tLEVERINGSRICHTING_PERC\tFYSIEKE_STATUS_PERC\t"
          "SOORT_AANSLUITING_PERC\tSOORT_AANSLUITING\tSJV_GEMIDDELD\tSJV_LAAG_TARIEF_PERC\tSLIMME_METER_PERC")


def stedin_line(postcode_from="4301AA", product="ELK", connections="14", use="9442", street="Poststraat") -> str:
    return (f'"8716902000001"\t"Net"\t"{street}"\t"{postcode_from}"\t"4301AD"\t"ZIERIKZEE"\t"NL"\t"{product}"\t'
            f'"KVB"\t{connections}\t100,00\t100,00\t85,71\t"3x25"\t{use}\t78,57\t10,50')


# -- the real Stedin files -----------------------------------------------------------------------------
# (file, rows, first record as (source_record, street, from, to, product, connections, use, smart %, delivery %))
STEDIN = [
    ("stedin-zeeland-2013_HEAD9.csv", 2013, 8,
     ("line 2", "Poststraat", "4301AA", "4301AA", "electricity", 14, 9442.0, 0.0, 100.0)),
    ("stedin-zeeland-2020_HEAD9.csv", 2020, 8,  # byte-order mark
     ("line 2", "Poststraat", "4301AA", "4301AA", "electricity", 14, 7774.0, 85.71, 100.0)),
    ("stedin-zeeland-2021_HEAD9.csv", 2021, 9,  # no header, ';', """text"""
     ("line 1", "Wagenaarstraat", "4351BB", "4351BB", "electricity", 11, 3100.0, 72.73, 72.73)),
    ("stedin-zeeland-2023_HEAD9.csv", 2023, 8,
     ("line 2", "Irenestraat", "4388NG", "4388NG", "electricity", 12, 2739.0, 83.33, 83.33)),
    ("stedin-zeeland-2024_HEAD9.csv", 2024, 8,  # SJA_GEMIDDELD, two decimals
     ("line 2", "Poststraat", "4301AA", "4301AA", "gas", 14, 2579.14, 100.0, 100.0)),
    ("stedin-zeeland-2025_HEAD9.csv", 2025, 8,
     ("line 2", "Poststraat", "4301AA", "4301AA", "gas", 14, 2589.79, 100.0, 100.0)),
]


@needs_shared
@pytest.mark.parametrize(("name", "year", "rows", "first"), STEDIN, ids=[s[0] for s in STEDIN])
def test_every_real_stedin_file_parses(name, year, rows, first):
    frame = read_kleinverbruik(SAMPLES / name, "stedin", year)
    assert frame.schema == pl.Schema(OUTPUT_SCHEMA)
    assert frame.height == rows
    got = frame.select("source_record", "street", "postcode_from", "postcode_to", "product", "connections",
                       "avg_annual_use", "smart_meter_pct", "delivery_direction_pct").row(0)
    assert got == first
    assert set(frame["product"]) <= {"gas", "electricity"} and (frame["year"] == year).all()
    assert frame["street"].str.contains('"').sum() == 0 and frame["city"].null_count() == 0
    assert (frame["connections"] >= MIN_CONNECTIONS).all()


@needs_shared
def test_stedin_decimal_comma_and_renamed_columns():
    frame = read_kleinverbruik(SAMPLES / "stedin-zeeland-2024_HEAD9.csv", "stedin", 2024)
    second = frame.row(1, named=True)  # "4301AB"-"4301AD" ELK 34 ... 5621,09 88,24 88,24
    assert (second["postcode_to"], second["avg_annual_use"], second["low_tariff_pct"]) == ("4301AD", 5621.09, 88.24)
    header_less = read_kleinverbruik(SAMPLES / "stedin-zeeland-2021_HEAD9.csv", "stedin", 2021)
    third = header_less.row(2, named=True)  # Kwartierstraat 4351BH-4351NA 26 ... "1x35";4338;88,46;76,92
    assert (third["postcode_to"], third["connection_type"], third["avg_annual_use"]) == ("4351NA", "1x35", 4338.0)
    assert (third["low_tariff_pct"], third["smart_meter_pct"]) == (88.46, 76.92)


@needs_shared
def test_header_only_file_gives_an_empty_frame():
    frame = read_kleinverbruik(SAMPLES / "stedin-zeeland-2022_header_only.csv", "stedin", 2022)
    assert frame.is_empty() and frame.schema == pl.Schema(OUTPUT_SCHEMA)


@needs_shared
def test_header_less_file_of_an_operator_without_known_order_fails_clearly():
    with pytest.raises(InputError, match=r"stedin-zeeland-2021_HEAD9\.csv record line 1: .*not a header.*liander"):
        read_kleinverbruik(SAMPLES / "stedin-zeeland-2021_HEAD9.csv", "liander", 2021)


# -- dialects and clear errors on hand-made files ------------------------------------------------------
def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_cp1252_file_is_decoded(tmp_path):
    path = write(tmp_path, "stedin.csv", HEADER + "\n" + stedin_line(street="Kérkstraat") + "\n", "cp1252")
    assert read_kleinverbruik(path, "stedin", 2019)["street"].to_list() == ["Kérkstraat"]


def test_unknown_layout_fails_with_file_and_line(tmp_path):
    path = write(tmp_path, "other.csv", "regio;jaar;verbruik;eenheid;bron\nBU0001;2024;1200;m3;x\n")
    with pytest.raises(InputError) as caught:
        read_kleinverbruik(path, "liander", 2024)
    assert str(caught.value).startswith(f"{path} record line 1: ")
    missing = write(tmp_path, "missing.csv", HEADER.replace("SJV_GEMIDDELD", "GEMIDDELD") + "\n")
    with pytest.raises(InputError, match=r"record line 1 field 'SJV_GEMIDDELD': required column"):
        read_kleinverbruik(missing, "stedin", 2024)
    single = write(tmp_path, "single.csv", "just some text\n")
    with pytest.raises(InputError, match="cannot find the delimiter"):
        read_kleinverbruik(single, "stedin", 2024)


@pytest.mark.parametrize(("line", "field", "problem"), [
    (stedin_line(postcode_from="43O1AA"), "POSTCODE_VAN", "'43O1AA' is not a 6-position postcode"),
    (stedin_line(product="WATER"), "PRODUCTSOORT", "'WATER' is not one of"),
    (stedin_line(use="veel"), "SJV_GEMIDDELD", "'veel' is not a number"),
    (stedin_line(connections="12,5"), "AANSLUITINGEN_AANTAL", "not a whole number"),
    (stedin_line(connections=""), "AANSLUITINGEN_AANTAL", "the value is empty"),
])
def test_bad_values_name_file_line_and_field(tmp_path, line, field, problem):
    path = write(tmp_path, "bad.csv", "\n".join([HEADER, stedin_line(), line, stedin_line()]) + "\n")
    with pytest.raises(InputError) as caught:
        read_kleinverbruik(path, "stedin", 2019)
    assert (caught.value.file, caught.value.record, caught.value.field) == (str(path), "line 3", field)
    assert problem in caught.value.problem


def test_a_line_with_extra_fields_is_named(tmp_path):
    path = write(tmp_path, "ragged.csv", "\n".join([HEADER, stedin_line(), stedin_line() + "\t1\t2"]) + "\n")
    with pytest.raises(InputError, match=r"record line 3: 19 fields where the header has 17"):
        read_kleinverbruik(path, "stedin", 2019)


def test_liander_layouts(tmp_path):
    classic = write(tmp_path, "liander.csv", (
        "NETBEHEERDER ;NETGEBIED ;STRAATNAAM   ;POSTCODE_VAN;POSTCODE_TOT;WOONPLAATS;LANDCODE;PRODUCTSOORT;"
        "VERBRUIKSSEGMENT;AANSLUITINGEN_AANTAL;LEVERINGSRICHTING_PERC;FYSIEKE_STATUS_PERC;SOORT_AANSLUITING_PERC;"
        "SOORT_AANSLUITING;SJV_GEMIDDELD;SJV_LAAG_TARIEF_PERC;SLIMME_METER_PERC\n"
        "8716948000000;Liander NB;Dorpsstraat  ;1024 AA     ;1024AC      ;AMSTERDAM ;NL      ;GAS         ;KVB  ;"
        "21                  ;100                   ;100                ;95.24 ;G4   ;1234.5       ;0      ;81.5\n"
        "\n"
    ))
    frame = read_kleinverbruik(classic, "liander", 2023)
    assert frame.select("street", "postcode_from", "product", "connections", "avg_annual_use",
                        "smart_meter_pct").row(0) == ("Dorpsstraat", "1024AA", "gas", 21, 1234.5, 81.5)
    assert frame.height == 1  # the blank line is not a record
    # 2025+: tab-separated, every whole line in double quotes, no street/city/smart-meter columns
    slim = write(tmp_path, "liander2026.csv", (
        '"POSTCODE_VAN\tPOSTCODE_TOT\tPRODUCTSOORT\tAANSLUITINGEN_AANTAL\tSOORT_AANSLUITING\tSJA_GEMIDDELD"\n'
        '"1024AA\t1024AA\tELK\t18\t1x25\t1913"\n"1024AA\t1024AB\tGAS\t12\tG4\t26"\n'
    ))
    frame = read_kleinverbruik(slim, "liander", 2026)
    assert frame.select("postcode_to", "product", "avg_annual_use").rows() == [
        ("1024AA", "electricity", 1913.0), ("1024AB", "gas", 26.0)]
    assert frame["street"].null_count() == 2 and frame["smart_meter_pct"].null_count() == 2


# -- Enexis WFS over loopback --------------------------------------------------------------------------
def feature(number: int, postcode: str, product: str, **extra) -> dict:
    properties = {"fid": number, "netbeheerder": "8716891000006", "netgebied": "ENEXIS", "straatnaam": "Markt",
                  "postcodevan": postcode, "postcodetot": postcode, "woonplaats": "EINDHOVEN", "landcode": "NL",
                  "productsoort": product, "verbruikssegment": "KVB", "aansluitingenaantal": 10 + number,
                  "leveringsrichtingperc": 100.0, "fysiekestatusperc": 100.0, "soortaansluitingperc": 80.0,
                  "soortaansluiting": "1x35" if product == "ELK" else "G4", "sjvgemiddeld": 1000.5 + number}
    if product == "ELK":
        properties |= {"sjvlaagtariefperc": 50.0, "slimmemeterperc": 90.0}
    properties |= extra
    return {"type": "Feature", "id": f"layer.{number}", "geometry": None, "properties": properties}


def wfs_params(layer: str, start: int, count: int) -> dict:
    return {"service": "WFS", "version": "2.0.0", "request": "GetFeature", "typeName": layer,
            "outputFormat": "application/json", "srsName": "EPSG:28992", "count": count, "startIndex": start}


def put_pages(server, layer: str, features: list[dict], count: int, matched: bool = True) -> None:
    for start in range(0, max(len(features), 1), count):
        page = features[start:start + count]
        payload = {"type": "FeatureCollection", "features": page, "numberReturned": len(page),
                   "timeStamp": "2026-01-01T00:00:00Z"}
        if matched:
            payload |= {"numberMatched": len(features), "totalFeatures": len(features)}
        server.put(ENEXIS_WFS_URL, payload, wfs_params(layer, start, count))


def test_enexis_wfs_over_loopback_pages_by_start_index(loopback_mirror, tmp_path):
    electricity = [feature(i, f"5611 A{c}", "ELK") for i, c in enumerate("ABCDE")]
    gas = [feature(i, f"5611 A{c}", "GAS") for i, c in enumerate("ABCD")]
    put_pages(loopback_mirror, "postcode_kleinverbruik_e", electricity, 2)
    put_pages(loopback_mirror, "postcode_kleinverbruik_g", gas, 2)
    store = SnapshotStore(tmp_path / "snapshots")
    extract = read_enexis_wfs(HttpClient(timeout_s=2, max_attempts=1), store, 2026, page_size=2,
                              base_url=f"{loopback_mirror.base_url}/opendata.enexis.nl/geoserver/wfs")
    frame = extract.frame
    assert frame.height == 9 and frame.schema == pl.Schema(OUTPUT_SCHEMA)
    assert frame.filter(pl.col("product") == "electricity")["postcode_from"].to_list() == [
        "5611AA", "5611AB", "5611AC", "5611AD", "5611AE"]
    first = frame.row(0, named=True)
    assert (first["connections"], first["avg_annual_use"], first["smart_meter_pct"]) == (10, 1000.5, 90.0)
    assert frame.filter(pl.col("product") == "gas")["smart_meter_pct"].null_count() == 4
    starts = [q for path, q, status in loopback_mirror.log if status == 200]
    # electricity: 2 + 2 + 1 features; gas: 2 + 2 and numberMatched says that was all
    assert sum("kleinverbruik_e" in q for q in starts) == 3 and sum("kleinverbruik_g" in q for q in starts) == 2
    assert [r.page for r in extract.snapshots] == [0, 1, 2, 0, 1]
    assert {r.dataset for r in store.records()} == {"postcode_kleinverbruik_e/2026", "postcode_kleinverbruik_g/2026"}


def test_enexis_wfs_bad_feature_names_page_and_feature(loopback_mirror, tmp_path):
    put_pages(loopback_mirror, "postcode_kleinverbruik_e",
              [feature(0, "5611AA", "ELK"), feature(1, "5611 A", "ELK")], 5, matched=False)
    with pytest.raises(InputError, match=r"record feature 1 field 'postcodevan': '5611 A' is not a 6-position"):
        read_enexis_wfs(HttpClient(timeout_s=2, max_attempts=1), SnapshotStore(tmp_path / "s"), 2026, page_size=5,
                        base_url=f"{loopback_mirror.base_url}/opendata.enexis.nl/geoserver/wfs",
                        products=("electricity",))
    loopback_mirror.put(ENEXIS_WFS_URL, {"type": "FeatureCollection", "features": [feature(0, "5611AA", "GAS")]},
                        wfs_params("postcode_kleinverbruik_e", 0, 7))
    with pytest.raises(PayloadError, match="productsoort is gas in the postcode_kleinverbruik_e layer"):
        read_enexis_wfs(HttpClient(timeout_s=2, max_attempts=1), SnapshotStore(tmp_path / "s"), 2026, page_size=7,
                        base_url=f"{loopback_mirror.base_url}/opendata.enexis.nl/geoserver/wfs",
                        products=("electricity",))


# -- postcode ranges -> buurten ------------------------------------------------------------------------
def test_map_to_buurten_splits_a_range_over_two_buurten_pro_rata():
    kv = pl.DataFrame({
        "year": [2024, 2024, 2024], "postcode_from": ["1000AA", "1000AD", "2000AA"],
        "postcode_to": ["1000AC", "1000AD", "2000AA"], "product": ["gas", "gas", "gas"],
        "connections": [20, 10, 12], "avg_annual_use": [1000.0, 500.0, 800.0], "smart_meter_pct": [50.0, 100.0, 0.0],
    })
    addresses = pl.DataFrame({
        # range 1 (1000AA..1000AC): 3 addresses in buurt A, 1 in buurt B; range 2 (1000AD): 2 in B
        "postcode": ["1000AA", "1000AA", "1000 ab", "1000AC", "1000AD", "1000AD", "1000AE", "1000AB"],
        "huisnummer": [1, 2, 3, 4, 5, 6, 7, 8],
        "buurt_code": ["BU_A", "BU_A", "BU_A", "BU_B", "BU_B", "BU_B", "BU_C", None],
    })
    result = map_to_buurten(kv, addresses)
    rows = {r["buurt_code"]: r for r in result.iter_rows(named=True)}
    assert set(rows) == {"BU_A", "BU_B"}  # BU_C's postcode lies in no range; 2000AA has no address
    a, b = rows["BU_A"], rows["BU_B"]
    assert a["connections"] == pytest.approx(15.0) and b["connections"] == pytest.approx(5.0 + 10.0)
    assert a["total_annual_use"] == pytest.approx(15_000.0) and b["total_annual_use"] == pytest.approx(10_000.0)
    assert b["avg_annual_use_per_connection"] == pytest.approx(10_000 / 15)
    assert (a["n_ranges"], a["n_ranges_split"], a["share_ranges_split"]) == (1, 1, 1.0)
    assert (b["n_ranges"], b["n_ranges_split"], b["share_ranges_split"]) == (2, 1, 0.5)
    assert b["smart_meter_pct"] == pytest.approx((5 * 50 + 10 * 100) / 15)
    assert unmatched_ranges(kv, addresses)["postcode_from"].to_list() == ["2000AA"]


def test_map_to_buurten_names_missing_columns():
    with pytest.raises(ValueError, match=r"addresses \['buurt_code'\]"):
        map_to_buurten(pl.DataFrame(schema=OUTPUT_SCHEMA), pl.DataFrame({"postcode": ["1000AA"]}))


# -- the demo files ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    addresses_module = pytest.importorskip("wup_pipeline.demo.addresses")
    population = demo_population(2026)
    vbo, _ = addresses_module.demo_buildings(population)
    directory = tmp_path_factory.mktemp("kleinverbruik")
    return population, vbo, write_kleinverbruik_files(directory, population, vbo, 2024)


def test_demo_files_are_read_back_and_consistent_with_the_ground_truth(demo_files):
    population, vbo, files = demo_files
    assert [f.name for f in files] == ["stedin_kleinverbruik_2024.csv", "liander_kleinverbruik_2024.csv"]
    assert "SJA_GEMIDDELD" in files[0].read_text().splitlines()[0]
    kv = pl.concat([read_kleinverbruik(files[0], "stedin", 2024), read_kleinverbruik(files[1], "liander", 2024)])
    assert (kv["connections"] >= MIN_CONNECTIONS).all()
    assert (kv["postcode_from"] <= kv["postcode_to"]).all()
    d = population.dwellings
    electricity, gas = (kv.filter(pl.col("product") == p) for p in ("electricity", "gas"))
    assert electricity["connections"].sum() == d.height
    assert gas["connections"].sum() == (d["heating"] == "gas_boiler").sum()
    total = (electricity["connections"] * electricity["avg_annual_use"]).sum()
    # the file rounds each range's average: Stedin-style to cents (SJA, 2024), Liander-style to whole units
    rounding = electricity.select(
        (pl.col("connections") * pl.when(pl.col("operator") == "stedin").then(0.005).otherwise(0.5)).sum()).item()
    assert total == pytest.approx(d["electricity_kwh"].sum(), abs=rounding)

    dwelling_addresses = vbo.filter(pl.col("dwelling_id").is_not_null())
    per_buurt = map_to_buurten(kv, dwelling_addresses)
    truth = d.group_by("buurt_code").agg(pl.len().alias("n"), pl.col("gas_m3").sum().alias("gas"),
                                         (pl.col("heating") == "gas_boiler").sum().alias("n_gas"))
    joined = per_buurt.filter(pl.col("product") == "gas").join(truth, on="buurt_code")
    assert joined.height == truth.height - joined.filter(pl.col("n_gas") == 0).height
    assert joined["connections"].sum() == pytest.approx(joined["n_gas"].sum())
    # buurten none of whose ranges is shared with another buurt get exactly their own gas use
    whole = joined.filter(pl.col("n_ranges_split") == 0)
    assert whole.height >= 1
    for row in whole.iter_rows(named=True):
        assert row["connections"] == row["n_gas"]
        assert row["total_annual_use"] == pytest.approx(row["gas"], abs=0.5 * row["connections"])
    # ranges on a buurt boundary exist and are split
    assert per_buurt["n_ranges_split"].sum() > 0
    assert unmatched_ranges(kv, dwelling_addresses).is_empty()
