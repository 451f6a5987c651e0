"""EP-Online: API v5 over loopback HTTP (secret, 404, 429, rate limit, newest valid label) and the bulk file."""

from __future__ import annotations

import json
import logging
import zipfile
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl

import polars as pl
import pytest

from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.label_payloads import (
    DEMO_REFERENCE_DATE,
    demo_registered_labels,
    write_label_bulk,
    write_label_payloads,
)
from wup_pipeline.demo.population import demo_population
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient, SourceUnavailableError
from wup_pipeline.resources.paging import PayloadError
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.sources.ep_online import (
    DEFAULT_BASE_URL,
    LABEL_SCHEMA,
    RateLimiter,
    fetch_labels_api,
    fetch_labels_by_address,
    read_label_bulk,
)
from wup_pipeline_tests.loopback_server import LoopbackMirror

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OLD_HEADER = SHARED / "reference" / "api_samples" / "ep-online" / "bulk_csv_header_old_format_from_code_comment.txt"
KEY = "sEcReT-ep-online-key-7f3a9c"
REF = date(2026, 1, 1)
OBJECT_PATH = "/public.ep-online.nl/api/v5/PandEnergielabel/AdresseerbaarObject"
VBO = "0363010000000001"


@pytest.fixture(scope="module")
def population():
    return demo_population(2026)


@pytest.fixture(scope="module")
def buildings(population):
    return demo_buildings(population)


@pytest.fixture(scope="module")
def subset(buildings):
    """150 demo dwellings (every 50th verblijfsobject) and the panden."""
    vbo, panden = buildings
    return vbo.sort("vbo_id").gather_every(50).head(150), panden


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, population, subset):
    root = tmp_path_factory.mktemp("ep_mirror")
    write_label_payloads(root, population, subset, DEMO_REFERENCE_DATE, api_key_placeholder=KEY)
    with LoopbackMirror(root) as server:
        server.root_dir = root
        yield server


@pytest.fixture
def store(tmp_path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(waits) -> HttpClient:
    client = HttpClient(timeout_s=2.0, max_attempts=3, backoff_base_s=0.01)
    client._sleep = waits.append
    return client


def base(server) -> str:
    return server.base_url + "/public.ep-online.nl/api/v5"


def registration(label="C", registered="2022-03-01T10:00:00.123", valid_until="2032-03-01T00:00:00", vbo=VBO,
                 **extra) -> dict:
    return {"Registratiedatum": registered, "Opnamedatum": registered[:10] + "T00:00:00", "Geldig_tot": valid_until,
            "Gebouwklasse": "Woningbouw", "Gebouwtype": "Rijwoning tussen", "Gebouwsubtype": None,
            "BAGVerblijfsobjectID": vbo, "BAGPandIDs": ["0363100000000001"], "Bouwjaar": 1965,
            "Energieklasse": label, "Postcode": "1011AB", "Huisnummer": 1, **extra}


def put_answer(server, vbo_id: str, answer) -> None:
    server.put(f"{DEFAULT_BASE_URL}/PandEnergielabel/AdresseerbaarObject/{vbo_id}", answer)


# -- API v5: the demo over real HTTP ----------------------------------------------------------------------
def test_api_labels_match_the_demo_truth(demo_server, population, subset, client, store):
    ids = subset[0]["vbo_id"].to_list()
    before = demo_server.count(OBJECT_PATH)
    extract = fetch_labels_api(client, store, ids, KEY, DEMO_REFERENCE_DATE, max_per_second=1000,
                               base_url=base(demo_server))
    labels = extract.labels
    assert dict(labels.schema) == LABEL_SCHEMA and labels["vbo_id"].to_list() == ids
    assert demo_server.count(OBJECT_PATH) - before == len(ids)
    truth = demo_registered_labels(population, subset, DEMO_REFERENCE_DATE).filter("chosen")
    got = labels.filter(pl.col("label_choice") != "none_registered").sort("vbo_id")
    assert got["vbo_id"].to_list() == truth["vbo_id"].to_list() and 0.3 < got.height / len(ids) < 0.7
    for column in ("energy_label", "label_choice", "valid_until", "recording_date", "n_registrations", "postcode"):
        assert got[column].to_list() == truth[column].to_list(), column
    assert got["registration_date"].to_list() == truth["registration_at"].dt.date().to_list()
    assert set(labels["source"]) == {"ep_online_api"}
    # one snapshot per answer (empty arrays included), no key anywhere in them
    assert len(extract.snapshots) == len(ids) and {r.source_id for r in extract.snapshots} == {"ep_online"}
    assert KEY not in store.index_path.read_text()


def test_every_request_sends_the_key_as_plain_authorization_header(demo_server, subset, client, store):
    ids = subset[0]["vbo_id"].head(3).to_list()
    start = len(demo_server.received_headers)
    fetch_labels_api(client, store, ids, KEY, REF, max_per_second=1000, base_url=base(demo_server))
    sent = demo_server.received_headers[start:]
    assert [h.get("Authorization") for h in sent] == [KEY] * 3  # no "Bearer"


def test_secret_never_leaks(tmp_path, loopback_mirror, client, store, caplog):
    put_answer(loopback_mirror, VBO, [registration()])
    put_answer(loopback_mirror, "0363010000000002", [])
    loopback_mirror.fail(f"{OBJECT_PATH}/{VBO}", (429, 0), 503)  # throttled, then a server error, then fine
    with caplog.at_level(logging.DEBUG):
        extract = fetch_labels_api(client, store, [VBO, "0363010000000002", "0363010000000404"], KEY, REF,
                                   max_per_second=1000, base_url=base(loopback_mirror))
        loopback_mirror.fail(f"{OBJECT_PATH}/0363010000000500", 500, 500, 500)
        with pytest.raises(SourceUnavailableError) as failed:
            fetch_labels_api(client, store, ["0363010000000500"], KEY, REF, max_per_second=1000,
                             base_url=base(loopback_mirror))
        loopback_mirror.fail(f"{OBJECT_PATH}/0363010000000401", 401)
        with pytest.raises(SourceUnavailableError) as refused:
            fetch_labels_api(client, store, ["0363010000000401"], KEY, REF, max_per_second=1000,
                             base_url=base(loopback_mirror))
    assert extract.labels["label_choice"].to_list() == ["only_valid", "none_registered", "none_registered"]
    assert "HTTP 429" in caplog.text and "HTTP 503" in caplog.text  # the retries were logged ...
    assert KEY not in caplog.text  # ... without the key
    assert "500" in str(failed.value) and KEY not in str(failed.value) and KEY not in repr(failed.value)
    assert "HTTP 401" in str(refused.value) and "API key (not shown)" in str(refused.value)
    assert KEY not in str(refused.value)
    assert KEY not in repr(extract) and KEY not in extract.labels.write_csv()
    for record in store.records():
        assert KEY not in json.dumps(record.as_row())
    for path in tmp_path.rglob("*"):  # snapshots, provenance.jsonl and the mirror
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_429_retry_after_is_respected(loopback_mirror, client, store, waits):
    put_answer(loopback_mirror, VBO, [registration()])
    loopback_mirror.fail(f"{OBJECT_PATH}/{VBO}", (429, 2))
    extract = fetch_labels_api(client, store, [VBO], KEY, REF, max_per_second=1000, base_url=base(loopback_mirror))
    assert extract.labels["energy_label"].to_list() == ["C"]
    assert [o for p, _, o in loopback_mirror.log] == [429, 200]
    assert waits == [pytest.approx(2.0, abs=0.5)] and waits[0] >= 2.0


def test_client_side_rate_limit():
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == [pytest.approx(0.5)] * 4  # 5 requests at 2 per second: 2 seconds in all
    now[0] += 10
    limiter.wait()
    assert len(slept) == 4  # after a pause no wait
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_fetch_uses_the_limiter_for_every_request(loopback_mirror, client, store):
    for i in range(4):
        put_answer(loopback_mirror, f"03630100000000{i:02d}", [])
    calls = []
    limiter = RateLimiter(1000)
    limiter.wait = lambda: calls.append(1)  # count, do not sleep
    fetch_labels_api(client, store, [f"03630100000000{i:02d}" for i in range(4)], KEY, REF,
                     base_url=base(loopback_mirror), limiter=limiter)
    assert len(calls) == 4


def test_newest_valid_registration_wins(loopback_mirror, client, store):
    put_answer(loopback_mirror, VBO, [
        registration("D", "2018-05-01T09:00:00.000", "2028-05-01T00:00:00"),
        registration("B", "2023-02-01T09:00:00.000", "2033-02-01T00:00:00"),
        registration("A", "2024-06-01T09:00:00.000", "2025-06-01T00:00:00"),  # newest, but expired
        registration("A++", "2024-07-01T09:00:00.000", "2034-07-01T00:00:00", vbo="0363010000009999"),  # not ours
    ])
    put_answer(loopback_mirror, "0363010000000002", [
        registration("F", "2012-01-01T09:00:00.000", "2022-01-01T00:00:00", vbo="0363010000000002"),
        registration("e ", "2014-01-01T09:00:00.000", "2024-01-01T00:00:00", vbo="0363010000000002"),
    ])
    extract = fetch_labels_api(client, store, [VBO, "0363010000000002"], KEY, REF, max_per_second=1000,
                               base_url=base(loopback_mirror))
    rows = extract.labels.select("energy_label", "registration_date", "n_registrations", "label_choice").rows()
    assert rows == [("B", date(2023, 2, 1), 3, "newest_valid"), ("E", date(2014, 1, 1), 2, "newest_expired")]


def test_bad_answers_are_named(loopback_mirror, client, store):
    put_answer(loopback_mirror, VBO, {"status": 200})
    with pytest.raises(PayloadError, match="expected a JSON array"):
        fetch_labels_api(client, store, [VBO], KEY, REF, base_url=base(loopback_mirror))
    put_answer(loopback_mirror, VBO, [registration(registered="gisteren")])
    with pytest.raises(PayloadError) as caught:
        fetch_labels_api(client, store, [VBO], KEY, REF, base_url=base(loopback_mirror))
    assert f"{VBO} registration 0 field 'Registratiedatum'" in str(caught.value) and "gisteren" in str(caught.value)
    with pytest.raises(InputError, match="16 digits"):
        fetch_labels_api(client, store, ["363010000000001"], KEY, REF, base_url=base(loopback_mirror))
    with pytest.raises(ValueError, match="no EP-Online API key"):
        fetch_labels_api(client, store, [VBO], "", REF, base_url=base(loopback_mirror))
    for odd_key in (f" {KEY}", f"{KEY}\r\nX-Injected: 1"):
        with pytest.raises(ValueError, match="value not shown") as caught:
            fetch_labels_api(client, store, [VBO], odd_key, REF, base_url=base(loopback_mirror))
        assert KEY not in str(caught.value)


def test_address_route(loopback_mirror, client, store):
    url = f"{DEFAULT_BASE_URL}/PandEnergielabel/Adres"
    loopback_mirror.put(url, [registration("A+", Huisletter="B")],
                        params={"postcode": "1011AB", "huisnummer": 1, "huisletter": "B"})
    addresses = pl.DataFrame({"postcode": ["1011 ab", "1011AB"], "huisnummer": [1, 3], "huisletter": ["B", None]})
    extract = fetch_labels_by_address(client, store, addresses, KEY, REF, max_per_second=1000,
                                      base_url=base(loopback_mirror))
    assert extract.labels.select("postcode", "huisnummer", "huisletter", "energy_label", "label_choice").rows() == [
        ("1011AB", 1, "B", "A+", "only_valid"), ("1011AB", 3, None, None, "none_registered")]
    queries = [dict(parse_qsl(q)) for _, q, _ in loopback_mirror.log]
    assert queries == [{"postcode": "1011AB", "huisnummer": "1", "huisletter": "B"},
                       {"postcode": "1011AB", "huisnummer": "3"}]


def test_mirror_mode_needs_no_key_on_disk(tmp_path, population, subset, store):
    root = tmp_path / "mirror"
    write_label_payloads(root, population, subset, DEMO_REFERENCE_DATE)
    ids = subset[0]["vbo_id"].head(20).to_list()
    extract = fetch_labels_api(HttpClient(mirror_dir=str(root)), store, ids, KEY, DEMO_REFERENCE_DATE)
    assert extract.labels.height == 20 and all(r.from_mirror for r in extract.snapshots)


# -- bulk file ------------------------------------------------------------------------------------------
def test_demo_bulk_file_gives_the_truth(tmp_path, population, buildings):
    csv = write_label_bulk(tmp_path, population, buildings, DEMO_REFERENCE_DATE)
    truth = demo_registered_labels(population, buildings, DEMO_REFERENCE_DATE).filter("chosen")
    store = SnapshotStore(tmp_path / "snapshots")
    extract = read_label_bulk(csv, DEMO_REFERENCE_DATE, store=store)
    labels = extract.labels.sort("vbo_id")
    assert labels["vbo_id"].to_list() == truth["vbo_id"].to_list()
    assert labels["energy_label"].to_list() == truth["energy_label"].to_list()
    assert labels["label_choice"].to_list() == truth["label_choice"].to_list()
    assert set(labels["source"]) == {"ep_online_bulk"} and len(extract.snapshots) == 1
    # share of dwellings with a valid registered label: about half, as CLO reports (48 % on 1-1-2020)
    valid = labels.filter(pl.col("label_choice") != "newest_expired").height / population.dwellings.height
    assert 0.44 <= valid <= 0.55
    # zipped, and filtered to a few verblijfsobjecten, it gives the same
    zipped = tmp_path / "v20260101_v4_csv.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(csv, csv.name)
    few = labels["vbo_id"].head(25).to_list()
    from_zip = read_label_bulk(zipped, DEMO_REFERENCE_DATE, vbo_ids=few)
    assert from_zip.labels.sort("vbo_id").equals(labels.head(25))


OLD_STYLE = ("Pand_opnamedatum;Pand_opnametype;Pand_status;Pand_berekeningstype;Pand_energieindex;"
             "Pand_energieklasse;Pand_gebouwklasse;Meting_geldig_tot;Pand_registratiedatum;Pand_postcode;"
             "Pand_huisnummer;Pand_huisnummer_toev;Pand_bagverblijfsobjectid;Pand_bagpandid;Pand_gebouwtype;"
             "Pand_gebouwsubtype")


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_old_column_names_dates_and_preamble(tmp_path):
    csv = write(tmp_path / "old.csv", [
        "PublicatieDatum;01-09-2026", "LaatstVerwerkteMutatievolgnummer;123", OLD_STYLE,
        "20150301;Basis;Bestaand;;1,4;a+ ;W;20250301;20150302;1011 AB;7;2;0363010000000007;0363100000000007;"
        "Rijwoning hoek;",
        "20200301;Basis;Bestaand;;1,1;B;W;20300301;20200302;1011AB;7;2;0363010000000007;0363100000000007;"
        "Rijwoning hoek;",
        "20190101;Basis;Bestaand;;0,9;A;U;20290101;20190102;1011AB;9;;;;Kantoor;",  # no vbo id: keyed by address
    ])
    extract = read_label_bulk(csv, REF)
    rows = extract.labels.select("vbo_id", "postcode", "huisnummer", "toevoeging", "energy_label",
                                 "registration_date", "valid_until", "n_registrations", "label_choice").rows()
    assert rows == [
        ("0363010000000007", "1011AB", 7, "2", "B", date(2020, 3, 2), date(2030, 3, 1), 2, "newest_valid"),
        (None, "1011AB", 9, None, "A", date(2019, 1, 2), date(2029, 1, 1), 1, "only_valid"),
    ]
    assert extract.source_version == "PublicatieDatum 01-09-2026; LaatstVerwerkteMutatievolgnummer 123"


def test_the_real_old_header_maps(tmp_path):
    if not OLD_HEADER.is_file():
        pytest.skip(f"needs {OLD_HEADER} (../shared is absent)")
    header = OLD_HEADER.read_text().strip().lstrip("#").strip()
    names = header.split(";")
    values = dict.fromkeys(names, "")
    values |= {"Pand_opnamedatum": "20210101", "Pand_registratiedatum": "20210105", "Pand_energieklasse": "A+++",
               "Meting_geldig_tot": "20310105", "Pand_postcode": "3511AA", "Pand_huisnummer": "12",
               "Pand_bagverblijfsobjectid": "0344010000000012"}
    csv = write(tmp_path / "real_header.csv", [header, ";".join(values[n] for n in names)])
    labels = read_label_bulk(csv, REF).labels
    assert labels.select("vbo_id", "energy_label", "registration_date").rows() == [
        ("0344010000000012", "A+++", date(2021, 1, 5))]


def test_missing_required_column_lists_the_columns_found(tmp_path):
    csv = write(tmp_path / "bad.csv", [OLD_STYLE.replace("Pand_energieklasse", "Klasse"), ";" * 15])
    with pytest.raises(InputError) as caught:
        read_label_bulk(csv, REF)
    assert caught.value.field == "energy_label" and caught.value.file == str(csv)
    assert "Pand_energieklasse, Energieklasse" in str(caught.value) and "'Klasse'" in str(caught.value)


def test_bad_date_names_record_and_column(tmp_path):
    good = "20200301;Basis;Bestaand;;1,1;B;W;20300301;20200302;1011AB;7;;0363010000000007;;Rijwoning hoek;"
    bad = good.replace("20200302", "2-mrt-2020").replace("0363010000000007", "0363010000000008")
    csv = write(tmp_path / "dates.csv", [OLD_STYLE, good, bad])
    with pytest.raises(InputError) as caught:
        read_label_bulk(csv, REF)
    assert (caught.value.record, caught.value.field) == (2, "Pand_registratiedatum")
    assert "'2-mrt-2020'" in caught.value.problem


def test_zip_bomb_is_refused_before_extracting(tmp_path):
    bomb = tmp_path / "labels.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.csv", OLD_STYLE + "\n" + "0" * 3_000_000)
    assert bomb.stat().st_size < 50_000
    with pytest.raises(InputError, match="zip bomb guard") as caught:
        read_label_bulk(bomb, REF, max_uncompressed_bytes=1_000_000)
    assert "labels.csv" in str(caught.value) and "1,000,000" in str(caught.value)


def test_zip_with_other_content_or_damage_is_explained(tmp_path):
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.csv", OLD_STYLE)
        archive.writestr("b.csv", OLD_STYLE)
    with pytest.raises(InputError, match=r"expected one CSV in the zip, found 2: \['a.csv', 'b.csv'\]"):
        read_label_bulk(two, REF)
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(two.read_bytes()[:-30])
    with pytest.raises(InputError):
        read_label_bulk(damaged, REF)
    with pytest.raises(InputError, match="file not found"):
        read_label_bulk(tmp_path / "none.zip", REF)


def test_windows_1252_file_is_read(tmp_path):
    row = "20200301;Basis;Bestaand;;1,1;C;W;20300301;20200302;1011AB;7;;0363010000000007;;Woning – café;Bovenwoning"
    csv = write(tmp_path / "cp1252.csv", [OLD_STYLE, row], encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        csv.read_bytes().decode("utf-8")
    labels = read_label_bulk(csv, REF).labels
    assert labels["building_type"].to_list() == ["Woning – café"]  # the en dash is 0x96 in Windows-1252
    with pytest.raises(InputError, match="cannot read"):
        read_label_bulk(csv, REF, encoding="utf-8")
