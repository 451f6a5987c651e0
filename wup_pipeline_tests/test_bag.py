"""BAG connector: PDOK OGC API v2 over loopback HTTP, local extracts (CSV, GeoPackage), and bad input."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import geopandas as gpd
import polars as pl
import pytest
import shapely

from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.bag_payloads import demo_bbox, feature_uuid, write_bag_extract, write_bag_payloads
from wup_pipeline.demo.population import demo_population
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.paging import PayloadError
from wup_pipeline.resources.snapshots import SnapshotStore
from wup_pipeline.sources.bag import (
    CRS_RD,
    PAND_SCHEMA,
    VBO_SCHEMA,
    bbox_params,
    collection_url,
    fetch_bag,
    format_bbox,
    read_bag_extract,
)
from wup_pipeline_tests.loopback_server import LoopbackMirror

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEN_HAAG = SHARED / "data" / "bag_testarea_denhaag"
VBO_ITEMS = "/api.pdok.nl/kadaster/bag/ogc/v2/collections/verblijfsobject/items"
PAND_ITEMS = "/api.pdok.nl/kadaster/bag/ogc/v2/collections/pand/items"
BBOX = (80000.0, 450000.0, 80100.0, 450100.0)


@pytest.fixture(scope="module")
def population():
    return demo_population(2026)


@pytest.fixture(scope="module")
def buildings(population):
    return demo_buildings(population)


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


def loopback_base(server) -> str:
    return server.base_url + "/api.pdok.nl"


# -- API route: the demo municipality over real HTTP ------------------------------------------------------
@pytest.fixture(scope="module")
def demo_mirror(tmp_path_factory, population, buildings) -> tuple[Path, int]:
    """The demo's BAG pages (1,000 features a page), written once for this module."""
    root = tmp_path_factory.mktemp("bag_mirror")
    return root, write_bag_payloads(root, population, page_size=1000, buildings=buildings)


@pytest.fixture(scope="module")
def demo_server(demo_mirror):
    with LoopbackMirror(demo_mirror[0]) as server:
        yield server


def test_demo_pages_over_loopback_give_every_object(demo_mirror, demo_server, population, buildings, client, store):
    vbo_truth, pand_truth = buildings
    vbo_pages, pand_pages = -(-vbo_truth.height // 1000), -(-pand_truth.height // 1000)
    assert demo_mirror[1] == vbo_pages + pand_pages and vbo_pages >= 5
    before = demo_server.count(VBO_ITEMS), demo_server.count(PAND_ITEMS)

    extract = fetch_bag(client, store, demo_bbox(population), base_url=loopback_base(demo_server))

    assert demo_server.count(VBO_ITEMS) - before[0] == vbo_pages
    assert demo_server.count(PAND_ITEMS) - before[1] == pand_pages
    vbo, panden = extract.verblijfsobjecten, extract.panden
    assert dict(vbo.schema) == VBO_SCHEMA and dict(panden.schema) == PAND_SCHEMA
    # the pand of each verblijfsobject came only through its pand.href UUID, joined to the pand pages
    expected = vbo_truth.select(list(VBO_SCHEMA)).with_columns(pl.lit(None, pl.String).alias("buurt_code"))
    assert vbo.sort("vbo_id").equals(expected.sort("vbo_id"))
    assert panden.sort("pand_id").equals(pand_truth.select(list(PAND_SCHEMA)).sort("pand_id"))
    # the first request is exactly the documented bbox query
    first = next(query for path, query, _ in demo_server.log if path == VBO_ITEMS)
    assert all(f"{k}=" in first for k in ("bbox", "bbox-crs", "crs", "f", "limit")) and "limit=1000" in first

    # every page snapshotted, with provenance
    records = store.records()
    assert records == extract.snapshots
    assert {r.source_id for r in records} == {"bag"} and {r.licence for r in records} == {"CC0 (Kadaster BAG)"}
    assert len({r.retrieval_id for r in records}) == 1
    for collection, frame in (("verblijfsobject", vbo), ("pand", panden)):
        pages = [r for r in records if r.dataset.startswith(f"ogc-v2/{collection}/")]
        assert [r.page for r in pages] == list(range(len(pages))) and len(pages) >= 5
        assert sum(r.rows for r in pages) == frame.height
        for record in pages:
            assert hashlib.sha256(Path(record.path).read_bytes()).hexdigest() == record.sha256
            assert record.url.startswith(demo_server.base_url + "/api.pdok.nl/kadaster/bag/ogc/v2/")


def test_throttled_page_is_retried(demo_server, population, buildings, client, store, waits):
    demo_server.fail(VBO_ITEMS, (429, 1), after=1)
    start = len(demo_server.log)
    extract = fetch_bag(client, store, demo_bbox(population), base_url=loopback_base(demo_server))
    assert extract.verblijfsobjecten.height == buildings[0].height
    assert [o for p, _, o in demo_server.log[start:] if p == VBO_ITEMS][:3] == [200, 429, 200]
    assert waits and waits[0] >= 1.0


def test_mirror_mode_reads_the_same(demo_mirror, population, buildings, store):
    extract = fetch_bag(HttpClient(mirror_dir=str(demo_mirror[0])), store, demo_bbox(population))
    assert extract.verblijfsobjecten.sort("vbo_id")["pand_id"].equals(buildings[0].sort("vbo_id")["pand_id"])
    assert all(r.from_mirror for r in extract.snapshots)


# -- API route: hand-made pages for the awkward cases ----------------------------------------------------
def vbo_feature(vbo_id, pand_href=None, **properties) -> dict:
    props = {"identificatie": vbo_id, "huisnummer": 1, "oppervlakte": 80, "gebruiksdoel": "woonfunctie",
             "status": "Verblijfsobject in gebruik", "postcode": "1234 ab", **properties}
    if pand_href:
        props["pand.href"] = [pand_href]
    return {"type": "Feature", "properties": props, "id": f"uuid-{vbo_id}",
            "geometry": {"type": "Point", "coordinates": [80050.0, 450050.0]}}


def put_pages(server, collection: str, features: list[dict]) -> None:
    server.put(collection_url(collection), {"type": "FeatureCollection", "links": [], "features": features},
               params=bbox_params(BBOX))


def test_pand_by_uuid_or_by_identificatie_and_a_missing_pand_is_kept_null(loopback_mirror, client, store, caplog):
    href = "https://api.pdok.nl/kadaster/bag/ogc/v2/collections/pand/items/0f0e-uuid"
    put_pages(loopback_mirror, "verblijfsobject", [
        vbo_feature("0001010000000001", href, huisnummer="42"),
        vbo_feature("0001010000000002", pand_identificatie="0001100000000009"),
        vbo_feature("0001010000000003", "https://api.pdok.nl/kadaster/bag/ogc/v2/collections/pand/items/gone"),
    ])
    square = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 12], [0, 12], [0, 0]]]}
    put_pages(loopback_mirror, "pand", [
        {"type": "Feature", "id": "0f0e-uuid", "geometry": square,
         "properties": {"identificatie": "0001100000000001", "bouwjaar": 1931, "status": "Pand in gebruik"}},
    ])
    with caplog.at_level(logging.WARNING):
        extract = fetch_bag(client, store, BBOX, base_url=loopback_base(loopback_mirror))
    vbo = extract.verblijfsobjecten.sort("vbo_id")
    assert vbo["pand_id"].to_list() == ["0001100000000001", "0001100000000009", None]
    assert vbo["huisnummer"].to_list() == [42, 1, 1] and vbo["postcode"][0] == "1234AB"
    assert "1 verblijfsobjecten have no pand" in caplog.text
    assert extract.panden.row(0) == ("0001100000000001", 1931, "Pand in gebruik", 120.0,
                                     "POLYGON ((0 0, 10 0, 10 12, 0 12, 0 0))")


@pytest.mark.parametrize(
    ("properties", "field", "text"),
    [
        ({"identificatie": "1234"}, "identificatie", "16 digits"),
        ({"oppervlakte": "groot"}, "oppervlakte", "not a number"),
        ({"huisnummer": 12.5}, "huisnummer", "not a whole number"),
    ],
)
def test_bad_feature_names_url_feature_and_field(loopback_mirror, client, store, properties, field, text):
    put_pages(loopback_mirror, "verblijfsobject", [vbo_feature("0001010000000001"),
                                                    vbo_feature("0001010000000002", **properties)])
    with pytest.raises(PayloadError) as caught:
        fetch_bag(client, store, BBOX, base_url=loopback_base(loopback_mirror))
    message = str(caught.value)
    assert message.startswith(loopback_mirror.base_url + VBO_ITEMS)
    assert "feature 1 " in message and f"field '{field}'" in message and text in message
    assert store.records()  # the bad page itself is kept


def test_bbox_is_validated_and_formatted():
    assert format_bbox((153000, 452000.5, 154000.125, 453000)) == "153000,452000.5,154000.125,453000"
    assert bbox_params(BBOX)["bbox-crs"] == CRS_RD == bbox_params(BBOX)["crs"]
    with pytest.raises(ValueError, match="min < max"):
        format_bbox((2, 0, 1, 1))


# -- local extract: the real Den Haag test area ---------------------------------------------------------
@pytest.mark.shared_data
def test_real_den_haag_extract(store):
    if not DEN_HAAG.is_dir():
        pytest.skip(f"needs the real BAG test area in {DEN_HAAG} (../shared/data is absent)")
    vbo_csv, pand_csv = DEN_HAAG / "bag_verblijfsobject_testarea.csv", DEN_HAAG / "bag_pand_testarea.csv"
    extract = read_bag_extract(vbo_csv, pand_csv, store=store)
    vbo, panden = extract.verblijfsobjecten, extract.panden
    assert vbo.height == 31_293 and panden.height == 15_380
    assert (vbo["gebruiksdoel"] == "woonfunctie").sum() == 27_512
    assert vbo["gebruiksdoel"].str.contains("woonfunctie").sum() == 27_725  # incl. 'woonfunctie,winkelfunctie'
    # ids keep their leading zero: Den Haag (0518) and Leidschendam-Voorburg (1916)
    assert vbo["vbo_id"].str.slice(0, 4).value_counts().sort("vbo_id").rows() == [("0518", 15_837), ("1916", 15_456)]
    assert vbo["vbo_id"].str.contains(r"^\d{16}$").all() and panden["pand_id"].str.contains(r"^\d{16}$").all()
    assert vbo["buurt_code"].n_unique() == 14 and vbo["x_rd"].is_between(80_000, 90_000).all()
    assert vbo.filter(pl.col("vbo_id") == "0518010000417296").row(0, named=True) | {} == {
        "vbo_id": "0518010000417296", "pand_id": "0518100000267536", "nummeraanduiding_id": "0518200000417295",
        "openbare_ruimte_naam": None, "postcode": "2593PJ", "huisnummer": 2, "huisletter": "J", "toevoeging": None,
        "gebruiksdoel": "woonfunctie", "oppervlakte_m2": 74, "status": "Verblijfsobject in gebruik",
        "x_rd": 83653.385, "y_rd": 455909.048, "buurt_code": "BU05182666",
    }
    assert panden["geometry_wkt"].str.starts_with("POLYGON").all() and panden["bouwjaar"].is_between(1500, 2030).all()
    # 283 verblijfsobjecten point to a pand outside the cut-out area
    assert vbo.join(panden, on="pand_id", how="anti").height == 283
    assert [r.sha256 for r in extract.snapshots] == [
        hashlib.sha256(vbo_csv.read_bytes()).hexdigest(), hashlib.sha256(pand_csv.read_bytes()).hexdigest()]
    assert {r.source_id for r in store.records()} == {"bag_extract"}


# -- local extract: layouts -------------------------------------------------------------------------------
def test_demo_extract_csv_reads_back_to_the_demo_buildings(tmp_path, population, buildings, store):
    vbo_csv, pand_csv = write_bag_extract(tmp_path, population, buildings=buildings)
    extract = read_bag_extract(vbo_csv, pand_csv, store=store)
    vbo_truth, pand_truth = buildings
    assert extract.verblijfsobjecten.sort("vbo_id").equals(vbo_truth.select(list(VBO_SCHEMA)).sort("vbo_id"))
    assert extract.panden.sort("pand_id").equals(pand_truth.select(list(PAND_SCHEMA)).sort("pand_id"))
    assert len(extract.snapshots) == 2 and all(Path(r.path).is_file() for r in extract.snapshots)


def test_custom_column_mapping_from_yaml(tmp_path, buildings):
    vbo_truth, pand_truth = buildings
    vbo_file, pand_file = tmp_path / "adressen.csv", tmp_path / "gebouwen.csv"
    vbo_truth.head(200).select(
        pl.col("vbo_id").alias("VBO"), pl.col("pand_id").alias("PND"), pl.col("postcode").alias("PC6"),
        pl.col("huisnummer").alias("NR"), pl.col("huisletter").alias("LT"), pl.col("toevoeging").alias("TV"),
        pl.col("gebruiksdoel").alias("DOEL"), pl.col("oppervlakte_m2").alias("M2"), pl.col("status").alias("ST"),
    ).write_csv(vbo_file, separator=";")
    pand_truth.select(pl.col("pand_id").alias("PND"), pl.col("bouwjaar").alias("JAAR"),
                      pl.col("status").alias("ST"), pl.col("geometry_wkt").alias("VORM")).write_csv(pand_file)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "verblijfsobject:\n  delimiter: ';'\n  columns: {vbo_id: VBO, pand_id: PND, postcode: PC6, huisnummer: NR,\n"
        "    huisletter: LT, toevoeging: TV, gebruiksdoel: DOEL, oppervlakte_m2: M2, status: ST}\n"
        "pand:\n  columns: {pand_id: PND, bouwjaar: JAAR, status: ST, geometry_wkt: VORM}\n"
    )
    extract = read_bag_extract(vbo_file, pand_file, mapping)
    got = extract.verblijfsobjecten
    assert got["vbo_id"].to_list() == vbo_truth.head(200)["vbo_id"].to_list()
    assert got["oppervlakte_m2"].to_list() == vbo_truth.head(200)["oppervlakte_m2"].to_list()
    assert got["x_rd"].is_null().all() and got["buurt_code"].is_null().all()
    # no footprint column: the area comes from the outline
    areas = extract.panden.join(pand_truth, on="pand_id")
    assert (areas["footprint_area_m2"] - areas["footprint_area_m2_right"]).abs().max() < 0.01


def test_geopackage_extract(tmp_path, buildings):
    vbo_truth, pand_truth = buildings
    path = tmp_path / "bag-light.gpkg"
    sample = vbo_truth.head(300)
    gpd.GeoDataFrame(
        sample.select(
            pl.col("vbo_id").alias("identificatie"), pl.col("pand_id").alias("pand_identificatie"),
            pl.col("nummeraanduiding_id").alias("hoofdadres_identificatie"), "postcode",
            "huisnummer", "huisletter", "toevoeging", "gebruiksdoel", pl.col("oppervlakte_m2").alias("oppervlakte"),
            "status", "openbare_ruimte_naam",
        ).to_pandas(),
        geometry=shapely.points(sample["x_rd"].to_numpy(), sample["y_rd"].to_numpy()), crs="EPSG:28992",
    ).to_file(path, layer="verblijfsobject", driver="GPKG")
    gpd.GeoDataFrame(
        pand_truth.select(pl.col("pand_id").alias("identificatie"), "bouwjaar", "status").to_pandas(),
        geometry=shapely.from_wkt(pand_truth["geometry_wkt"].to_numpy()), crs="EPSG:28992",
    ).to_file(path, layer="pand", driver="GPKG")

    extract = read_bag_extract(path, path, store=SnapshotStore(tmp_path / "snapshots"))
    expected = sample.select(list(VBO_SCHEMA)).with_columns(pl.lit(None, pl.String).alias("buurt_code"))
    assert extract.verblijfsobjecten.equals(expected)
    panden = extract.panden.sort("pand_id")
    assert panden.select("pand_id", "bouwjaar", "status").equals(pand_truth.select("pand_id", "bouwjaar", "status")
                                                                  .sort("pand_id"))
    assert (panden["footprint_area_m2"] - pand_truth.sort("pand_id")["footprint_area_m2"]).abs().max() < 0.01
    assert len(extract.snapshots) == 1  # one file, two layers


# -- local extract: bad input ---------------------------------------------------------------------------
def den_haag_like(tmp_path: Path, rows: list[str], header: str | None = None) -> tuple[Path, Path]:
    header = header or ("vbo_id,pand_id,nummeraanduiding_id,postcode,huisnummer,huisletter,huisnummertoevoeging,"
                        "gebruiksdoel,oppervlakte_m2,status,bouwjaar,x_rd,y_rd,lon,lat,buurtcode")
    vbo = tmp_path / "vbo.csv"
    vbo.write_text("\n".join([header, *rows]) + "\n")
    pand = tmp_path / "pand.csv"
    pand.write_text("pand_id,oorspronkelijkbouwjaar,status,x_rd,y_rd,footprint_area_m2,wkt_rd\n"
                    "0518100000267536,2001,Pand in gebruik,1,1,100.0,\n")
    return vbo, pand


GOOD = ("0518010000417296,0518100000267536,0518200000417295,2593PJ,2,J,,woonfunctie,74,Verblijfsobject in gebruik,"
        "2001,83653.385,455909.048,4.346214,52.086842,BU05182666")


def replace_field(row: str, index: int, value: str) -> str:
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


def test_good_minimal_extract_reads(tmp_path):
    extract = read_bag_extract(*den_haag_like(tmp_path, [GOOD]))
    assert extract.verblijfsobjecten["vbo_id"].to_list() == ["0518010000417296"]
    assert extract.panden["footprint_area_m2"].to_list() == [100.0]


def test_missing_column_is_named_with_the_columns_found(tmp_path):
    header = ("vbo_id,pand_id,nummeraanduiding_id,postcode,huisnummer,huisletter,huisnummertoevoeging,gebruiksdoel,"
              "oppervlakte,status,bouwjaar,x_rd,y_rd,lon,lat,buurtcode").replace("oppervlakte,", "opp,")
    vbo, pand = den_haag_like(tmp_path, [GOOD], header=header)
    with pytest.raises(InputError) as caught:
        read_bag_extract(vbo, pand)
    error = caught.value
    assert error.file == str(vbo) and error.field == "oppervlakte_m2"
    assert "oppervlakte_m2, oppervlakte" in str(error) and "'opp'" in str(error) and "'vbo_id'" in str(error)


@pytest.mark.parametrize(
    ("index", "value", "field", "text"),
    [
        (0, "518010000417297", "vbo_id", "16 digits"),  # a leading zero lost in a spreadsheet
        (8, "74 m2", "oppervlakte_m2", "not a whole number"),
        (4, "twee", "huisnummer", "not a whole number"),
        (11, "83653,385", "x_rd", "not a number"),
    ],
)
def test_malformed_value_names_file_record_and_field(tmp_path, index, value, field, text):
    second = replace_field(replace_field(GOOD, 0, "0518010000417297"), index, value)
    if index == 11:  # a comma inside the value needs quotes in the CSV
        second = replace_field(replace_field(GOOD, 0, "0518010000417297"), index, f'"{value}"')
    vbo, pand = den_haag_like(tmp_path, [GOOD, second])
    with pytest.raises(InputError) as caught:
        read_bag_extract(vbo, pand)
    error = caught.value
    assert (error.file, error.record, error.field) == (str(vbo), 2, field)
    assert text in error.problem and repr(value) in error.problem


def test_duplicate_vbo_id_reports_the_records(tmp_path):
    other = replace_field(GOOD, 0, "0518010000000001")
    vbo, pand = den_haag_like(tmp_path, [GOOD, other, GOOD, GOOD])
    with pytest.raises(InputError) as caught:
        read_bag_extract(vbo, pand)
    assert caught.value.field == "vbo_id" and caught.value.record == 3
    assert "0518010000417296 in records [1, 3, 4]" in str(caught.value)


def test_negative_area_and_odd_build_year_are_kept_for_quarantine(tmp_path):
    vbo, pand = den_haag_like(tmp_path, [replace_field(GOOD, 8, "-5")])
    pand.write_text("pand_id,oorspronkelijkbouwjaar,status\n0518100000267536,9999,Pand in gebruik\n")
    extract = read_bag_extract(vbo, pand)
    assert extract.verblijfsobjecten["oppervlakte_m2"].to_list() == [-5]
    assert extract.panden["bouwjaar"].to_list() == [9999] and extract.panden["geometry_wkt"].is_null().all()


def test_bad_mappings_and_formats_are_explained(tmp_path):
    vbo, pand = den_haag_like(tmp_path, [GOOD])
    with pytest.raises(InputError, match="mapped column 'identificatie' not found") as caught:
        read_bag_extract(vbo, pand, {"verblijfsobject": {"columns": {"vbo_id": "identificatie"}}})
    assert caught.value.field == "vbo_id"
    with pytest.raises(InputError, match="unknown column") as caught:
        read_bag_extract(vbo, pand, {"pand": {"columns": {"year": "bouwjaar"}}})
    assert caught.value.field == "year"
    with pytest.raises(InputError, match="unknown layer"):
        read_bag_extract(vbo, pand, {"panden": {"columns": {}}})
    with pytest.raises(InputError, match="required column cannot be mapped to nothing"):
        read_bag_extract(vbo, pand, {"verblijfsobject": {"columns": {"vbo_id": None}}})
    odd = tmp_path / "vbo.json"
    odd.write_text(json.dumps([]))
    with pytest.raises(InputError, match="unknown extract format"):
        read_bag_extract(odd, pand)
    with pytest.raises(InputError, match="file not found"):
        read_bag_extract(tmp_path / "nope.csv", pand)


def test_feature_uuids_are_stable():
    assert feature_uuid("pand", "9999100000000001") == feature_uuid("pand", "9999100000000001")
    assert feature_uuid("pand", "9999100000000001") != feature_uuid("verblijfsobject", "9999100000000001")
