"""CBS KWB and PDOK connectors against the demo mirror, served over real HTTP on 127.0.0.1.

Small page sizes make the demo payloads span several pages, so paging, per-page snapshots, re-use
of unchanged sources, retries mid-paging and broken pages are all exercised.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from wup_pipeline.demo.generator import write_demo_mirror
from wup_pipeline.resources.http import HttpClient, SourceUnavailableError
from wup_pipeline.resources.mirror import mirror_path
from wup_pipeline.resources.paging import PayloadError, odata_next_link, ogc_next_link
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.sources.cbs_kwb import KWB_TABLES, fetch_kwb, region_filter
from wup_pipeline.sources.pdok_wijkenbuurten import CRS_RD, PAGE_LIMIT, collection_url, fetch_buurten

GEMEENTE, YEAR, BUURTEN = "GM9999", 2024, 12
CBS_PAGE, PDOK_PAGE = 5, 4
TABLE = KWB_TABLES[YEAR]
CBS_BASE = "https://opendata.cbs.nl/ODataFeed/odata"
CBS_TABLE_PATH = f"/opendata.cbs.nl/ODataFeed/odata/{TABLE}"
TYPED = f"{CBS_TABLE_PATH}/TypedDataSet"
PDOK_ITEMS_URL = collection_url(YEAR, "buurten")
PDOK_ITEMS = "/" + PDOK_ITEMS_URL.removeprefix("https://")
CBS_DATASET = f"{TABLE}/TypedDataSet/{GEMEENTE}"
PDOK_DATASET = f"wijken-en-buurten-{YEAR}/buurten/{GEMEENTE}"


# -- the demo mirror, read straight from disk (what the server should deliver) --------------------------
def mirror_pages(root: Path, first: Path, next_link) -> list[Path]:
    """The mirror files of a paged resource, first page first, following its next links."""
    pages = [first]
    while link := next_link(json.loads(pages[-1].read_bytes())):
        pages.append(mirror_path(root, link))
    return pages


def cbs_pages(root: Path) -> list[Path]:
    params = {"$format": "json", "$filter": region_filter(GEMEENTE)}
    return mirror_pages(root, mirror_path(root, f"{CBS_BASE}/{TABLE}/TypedDataSet", params), odata_next_link)


def pdok_pages(root: Path) -> list[Path]:
    params = {"f": "json", "limit": PAGE_LIMIT, "crs": CRS_RD, "gemeentecode": GEMEENTE}
    return mirror_pages(root, mirror_path(root, PDOK_ITEMS_URL, params), ogc_next_link)


def cbs_codes_on_disk(root: Path) -> list[str]:
    return [row["WijkenEnBuurten"] for p in cbs_pages(root) for row in json.loads(p.read_bytes())["value"]]


@pytest.fixture
def demo(loopback_mirror, mirror_root):
    """The demo mirror (GM9999) in small pages, served on loopback."""
    write_demo_mirror(mirror_root, year=YEAR, cbs_page_size=CBS_PAGE, pdok_page_size=PDOK_PAGE)
    return loopback_mirror


@pytest.fixture
def store(tmp_path) -> SnapshotStore:
    return SnapshotStore(tmp_path / "snapshots")


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(waits) -> HttpClient:
    client = HttpClient(timeout_s=2.0, max_attempts=3, backoff_base_s=0.01)
    client._sleep = waits.append  # backoff waits are recorded, not slept
    return client


def kwb(client, store, server):
    base_url = f"{server.base_url}/opendata.cbs.nl/ODataFeed/odata"
    return fetch_kwb(client, store, GEMEENTE, YEAR, base_url=base_url)


def buurten(client, store, server):
    return fetch_buurten(client, store, GEMEENTE, YEAR, base_url=server.base_url + "/api.pdok.nl")


def assert_snapshot_files_sound(records) -> None:
    for record in records:
        path = Path(record.path)
        content = path.read_bytes()
        assert path.name == hashlib.sha256(content).hexdigest() + ".json" == record.sha256 + ".json"
        assert record.bytes == len(content)
        assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), f"{path} is writable"


# -- the demo mirror itself spans several pages ---------------------------------------------------------
def test_demo_mirror_is_paged_small(demo, mirror_root):
    assert len(cbs_pages(mirror_root)) >= 3
    assert len(pdok_pages(mirror_root)) == -(-BUURTEN // PDOK_PAGE)


# -- CBS KWB -------------------------------------------------------------------------------------------
def test_kwb_delivers_every_region_across_pages(demo, mirror_root, client, store):
    extract = kwb(client, store, demo)
    pages = cbs_pages(mirror_root)
    codes = extract.frame["wijken_en_buurten"].to_list()
    assert codes == cbs_codes_on_disk(mirror_root)
    assert len(set(codes)) == len(codes)
    assert sum(code.startswith("BU9999") for code in codes) == BUURTEN
    assert [code.strip() for code in codes if code.startswith("GM")] == [GEMEENTE]
    assert any(code.startswith("WK9999") for code in codes)
    assert extract.table_id == TABLE and not extract.reused and extract.modified
    assert demo.count(TYPED) == len(pages)
    assert demo.count(f"{CBS_TABLE_PATH}/DataProperties") == 1
    # every page came through the loopback server: the absolute next links were rewritten to it
    assert [r.url.startswith(demo.base_url) for r in extract.snapshots] == [True] * len(extract.snapshots)


def test_kwb_writes_one_provenance_record_per_page(demo, mirror_root, client, store):
    extract = kwb(client, store, demo)
    records = [r for r in store.records() if r.dataset == CBS_DATASET]
    assert [r.page for r in records] == list(range(len(cbs_pages(mirror_root))))
    assert len({r.retrieval_id for r in records}) == 1
    assert sum(r.rows for r in records) == extract.frame.height
    assert all(r.url.lower().startswith((demo.base_url + TYPED).lower()) for r in records)
    datasets = {r.dataset for r in store.records()}
    assert datasets == {f"{TABLE}/TableInfos", f"{TABLE}/DataProperties", CBS_DATASET}
    assert all(r.source_version == f"{TABLE} Modified {extract.modified}" for r in store.records())
    assert_snapshot_files_sound(store.records())
    assert [Path(r.path).read_bytes() for r in records] == [
        p.read_bytes().replace(b"https://opendata.cbs.nl/", f"{demo.base_url}/opendata.cbs.nl/".encode())
        for p in cbs_pages(mirror_root)
    ]


def test_kwb_unchanged_table_is_not_downloaded_again(demo, client, store):
    infos, props = f"{CBS_TABLE_PATH}/TableInfos", f"{CBS_TABLE_PATH}/DataProperties"
    first = kwb(client, store, demo)
    typed_pages = demo.count(TYPED)
    assert typed_pages >= 3 and demo.count(infos) == demo.count(props) == 1
    second = kwb(client, store, demo)
    assert second.reused and not first.reused
    assert demo.count(infos) == 2  # only TableInfos is asked again; its Modified is unchanged
    assert demo.count(props) == 1
    assert demo.count(TYPED) == typed_pages
    assert second.frame.equals(first.frame)
    assert len([r for r in store.records() if r.dataset == CBS_DATASET]) == typed_pages  # no new pages


def test_kwb_new_release_is_downloaded_again(demo, mirror_root, client, store):
    kwb(client, store, demo)
    infos_file = mirror_path(mirror_root, f"{CBS_BASE}/{TABLE}/TableInfos", {"$format": "json"})
    infos = json.loads(infos_file.read_bytes())
    infos["value"][0]["Modified"] = "2099-01-01T02:00:00"
    infos_file.write_text(json.dumps(infos))
    pages_before = demo.count(TYPED)
    again = kwb(client, store, demo)
    assert not again.reused and again.modified == "2099-01-01T02:00:00"
    assert demo.count(TYPED) == 2 * pages_before
    assert demo.count(f"{CBS_TABLE_PATH}/DataProperties") == 2


def test_kwb_429_mid_paging_still_yields_every_row(demo, mirror_root, client, waits, store):
    demo.fail(TYPED, (429, 1), after=1)  # the second page is throttled once
    extract = kwb(client, store, demo)
    assert extract.frame["wijken_en_buurten"].to_list() == cbs_codes_on_disk(mirror_root)
    typed_outcomes = [outcome for path, _, outcome in demo.log if "/TypedDataSet" in path]
    assert typed_outcomes[:3] == [200, 429, 200]
    assert waits and waits[0] >= 1.0  # Retry-After honoured
    pages = [r.page for r in store.records() if r.dataset == CBS_DATASET]
    assert pages == list(range(len(cbs_pages(mirror_root))))


def test_kwb_malformed_page_names_the_url(demo, mirror_root, client, store):
    broken = cbs_pages(mirror_root)[1]
    broken.write_bytes(b'{"value": [{"WijkenEnBuurten": "BU99990001"')
    with pytest.raises(PayloadError) as caught:
        kwb(client, store, demo)
    message = str(caught.value)
    assert message.lower().startswith((demo.base_url + TYPED).lower()) and "not valid JSON" in message
    assert f"$skip={CBS_PAGE}" in message.split(" ")[0]  # the URL of the broken (second) page


def test_kwb_in_mirror_mode_names_the_broken_file(demo, mirror_root, store):
    broken = cbs_pages(mirror_root)[1]
    broken.write_bytes(b"<html>Service Unavailable</html>")
    with pytest.raises(PayloadError, match="not valid JSON") as caught:
        fetch_kwb(HttpClient(mirror_dir=str(mirror_root)), store, GEMEENTE, YEAR)
    assert str(broken) in str(caught.value)


def test_kwb_interrupted_retrieval_is_not_reused(demo, mirror_root, client, store):
    demo.fail(TYPED, 500, 500, 500, after=1)  # the second page fails on every attempt
    with pytest.raises(SourceUnavailableError):
        kwb(client, store, demo)
    extract = kwb(client, store, demo)  # same release, but the stored retrieval is incomplete
    assert extract.frame["wijken_en_buurten"].to_list() == cbs_codes_on_disk(mirror_root)
    assert not extract.reused


# -- PDOK wijken en buurten ----------------------------------------------------------------------------
def test_buurten_arrive_across_pages(demo, mirror_root, client, store):
    extract = buurten(client, store, demo)
    codes = extract.frame["buurtcode"].to_list()
    assert len(codes) == len(set(codes)) == BUURTEN
    assert all(code.startswith("BU9999") for code in codes)
    assert set(extract.frame["gemeentecode"]) == {GEMEENTE}
    assert extract.frame["geometry_wkb"].null_count() == 0
    pages = pdok_pages(mirror_root)
    assert demo.requests[PDOK_ITEMS] == len(pages) >= 3
    records = [r for r in store.records() if r.dataset == PDOK_DATASET]
    assert [r.page for r in records] == list(range(len(pages)))
    assert [r.rows for r in records] == [len(json.loads(p.read_bytes())["features"]) for p in pages]
    assert all(r.etag for r in records) and len({r.retrieval_id for r in records}) == 1
    assert_snapshot_files_sound(records)


def test_second_buurten_fetch_gets_304_and_downloads_nothing_else(demo, client, store):
    first = buurten(client, store, demo)
    requests_before, log_before = demo.requests[PDOK_ITEMS], len(demo.log)
    second = buurten(client, store, demo)
    assert demo.requests[PDOK_ITEMS] == requests_before + 1
    assert [outcome for _, _, outcome in demo.log[log_before:]] == [304]
    assert "If-None-Match" in demo.received_headers[-1]
    assert second.frame.equals(first.frame)
    assert [r.snapshot_id for r in second.snapshots] == [r.snapshot_id for r in first.snapshots]
    assert len(store.records()) == len(first.snapshots)  # nothing new stored


def test_buurten_429_mid_paging_still_yields_every_row(demo, client, waits, store):
    demo.fail(PDOK_ITEMS, (429, 1), after=1)
    extract = buurten(client, store, demo)
    assert extract.frame.height == BUURTEN
    assert [outcome for _, _, outcome in demo.log][:3] == [200, 429, 200]
    assert waits and waits[0] >= 1.0


def test_buurten_malformed_page_names_the_url(demo, mirror_root, client, store):
    pdok_pages(mirror_root)[2].write_bytes(b'{"type": "FeatureCollection", "features": [')
    with pytest.raises(PayloadError) as caught:
        buurten(client, store, demo)
    assert str(caught.value).startswith(demo.base_url + PDOK_ITEMS)
    assert "cursor" in str(caught.value) and "not valid JSON" in str(caught.value)


def test_buurten_interrupted_retrieval_is_not_reused(demo, client, store):
    demo.fail(PDOK_ITEMS, 503, 503, 503, after=1)
    with pytest.raises(SourceUnavailableError):
        buurten(client, store, demo)
    extract = buurten(client, store, demo)  # page 1 is unchanged (304), but pages 2.. were never stored
    assert extract.frame.height == BUURTEN


def test_connectors_read_the_demo_mirror_without_a_server(demo, mirror_root, store):
    offline = HttpClient(mirror_dir=str(mirror_root))
    assert fetch_buurten(offline, store, GEMEENTE, YEAR).frame.height == BUURTEN
    kwb_frame = fetch_kwb(offline, store, GEMEENTE, YEAR).frame
    assert kwb_frame["wijken_en_buurten"].to_list() == cbs_codes_on_disk(mirror_root)
    assert all(r.from_mirror for r in store.records())
    assert sum(demo.requests.values()) == 0
