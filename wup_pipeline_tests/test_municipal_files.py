"""Municipal infrastructure plans (GeoJSON segments, per-buurt CSV) and running initiatives."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point, box, mapping

from wup_pipeline.demo.municipal_payloads import write_municipal_files
from wup_pipeline.demo.population import demo_population
from wup_pipeline.resources.errors import InputError
from wup_pipeline.sources.municipal_files import (
    infra_per_buurt,
    read_infra_buurt,
    read_infra_segments,
    read_initiatives,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "docs" / "templates"
X0, Y0 = 155_000.0, 463_000.0  # Amersfoort, the origin of RD New's false easting/northing
RD_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}


def feature(geometry, feature_id=None, **properties) -> dict:
    found = {"type": "Feature", "properties": properties, "geometry": mapping(geometry) if geometry else None}
    if feature_id is not None:
        found["id"] = feature_id
    return found


def write_geojson(path: Path, features: list[dict], crs: dict | None = RD_CRS) -> Path:
    document = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        document["crs"] = crs
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def plan(**overrides) -> dict:
    return {"asset": "riolering", "measure": "vervanging", "planned_year": 2028, "owner": "Gemeente",
            "description": "Vervanging riool"} | overrides


def test_segments_in_rd_with_crs_member(tmp_path):
    features = [
        feature(LineString([(X0, Y0), (X0 + 120, Y0)]), "riool-1", **plan()),
        feature(MultiLineString([[(X0, Y0 + 10), (X0, Y0 + 40)], [(X0 + 5, Y0), (X0 + 5, Y0 + 10)]]),
                **{"Asset": " Weg ", "MEASURE": "Renovatie", "Planned Year": "2031.0"}),
    ]
    segments = read_infra_segments(write_geojson(tmp_path / "plan.geojson", features))
    assert segments["segment_id"].to_list() == ["riool-1", "2"]  # feature id, else its number
    assert segments["asset"].to_list() == ["riolering", "weg"]
    assert segments["measure"].to_list() == ["vervanging", "renovatie"]
    assert segments["planned_year"].to_list() == [2028, 2031]
    assert segments["owner"].to_list() == ["Gemeente", None]
    assert segments["length_m"].to_list() == [120.0, 40.0]
    assert segments["source_feature"].to_list() == [1, 2]
    first = shapely.from_wkb(segments["geometry_wkb"][0])
    assert first.equals(LineString([(X0, Y0), (X0 + 120, Y0)]))


def test_wgs84_segments_are_reprojected_to_rd(tmp_path):
    to_wgs84 = pyproj.Transformer.from_crs(28992, 4326, always_xy=True)
    rd_line = LineString([(X0, Y0), (X0 + 300, Y0 + 400)])  # 500 m
    lon, lat = to_wgs84.transform(*np.array(rd_line.coords).T)
    wgs84_line = LineString(list(zip(lon, lat, strict=True)))
    for crs in (None, {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}):
        path = write_geojson(tmp_path / "wgs84.geojson", [feature(wgs84_line, **plan())], crs=crs)
        segments = read_infra_segments(path)
        assert segments["length_m"][0] == pytest.approx(500.0, abs=0.01)
        back = shapely.from_wkb(segments["geometry_wkb"][0])
        assert np.allclose(np.array(back.coords), np.array(rd_line.coords), atol=0.01)


def test_rd_coordinates_without_crs_member_are_recognised(tmp_path):
    path = write_geojson(tmp_path / "rd.geojson", [feature(LineString([(X0, Y0), (X0, Y0 + 75)]), **plan())],
                         crs=None)
    assert read_infra_segments(path)["length_m"].to_list() == [75.0]


def test_swapped_latitude_longitude_and_unknown_ranges_are_refused(tmp_path):
    swapped = LineString([(52.15, 5.38), (52.16, 5.39)])  # lat, lon
    path = write_geojson(tmp_path / "swapped.geojson", [feature(swapped, **plan())], crs=None)
    with pytest.raises(InputError, match="swapped"):
        read_infra_segments(path)
    nowhere = LineString([(1_000_000, 5_000_000), (1_000_100, 5_000_000)])
    path = write_geojson(tmp_path / "nowhere.geojson", [feature(nowhere, **plan())], crs=None)
    with pytest.raises(InputError, match="neither WGS84 longitude/latitude nor RD New"):
        read_infra_segments(path)
    path = write_geojson(tmp_path / "badcrs.geojson", [feature(LineString([(X0, Y0), (X0, Y0 + 1)]), **plan())],
                         crs={"type": "name", "properties": {"name": "EPSG:9999999"}})
    with pytest.raises(InputError, match="'crs' member"):
        read_infra_segments(path)


def test_a_point_instead_of_a_line_names_the_feature(tmp_path):
    features = [feature(LineString([(X0, Y0), (X0, Y0 + 10)]), **plan()), feature(Point(X0, Y0), **plan())]
    path = write_geojson(tmp_path / "point.geojson", features)
    with pytest.raises(InputError) as caught:
        read_infra_segments(path)
    assert str(path) in str(caught.value)
    assert "feature 2 field 'geometry'" in str(caught.value)
    assert "a Point; expected a LineString or MultiLineString" in str(caught.value)
    features[1]["geometry"] = None
    with pytest.raises(InputError, match="feature 2 field 'geometry': geometry is missing"):
        read_infra_segments(write_geojson(path, features))


def test_bad_segment_properties(tmp_path):
    line = LineString([(X0, Y0), (X0, Y0 + 10)])
    path = tmp_path / "plan.geojson"
    with pytest.raises(InputError) as caught:
        read_infra_segments(write_geojson(path, [feature(line, **plan()), feature(line, **plan(asset="fietspad"))]))
    assert "feature 2 field 'asset'" in str(caught.value) and "'fietspad'" in str(caught.value)
    for allowed in ("riolering", "weg", "gasleiding", "elektriciteitsnet", "warmtenet", "water"):
        assert allowed in str(caught.value)
    with pytest.raises(InputError, match=r"feature 1 field 'planned_year': '2O28' is not valid; expected a year"):
        read_infra_segments(write_geojson(path, [feature(line, **plan(planned_year="2O28"))]))
    with pytest.raises(InputError) as caught:
        read_infra_segments(write_geojson(path, [feature(line, type_werk="riool", jaar=2029)]))
    message = str(caught.value)
    assert "missing required properties ['asset', 'measure']" in message
    assert "'type_werk'" in message and "'planned_year'" in message  # 'jaar' is accepted for planned_year
    with pytest.raises(InputError, match="feature 1 field 'measure': the property is empty"):
        read_infra_segments(write_geojson(path, [feature(line, **plan(measure=""))]))
    with pytest.raises(InputError, match="segment_id 'a' is used by more than one feature"):
        read_infra_segments(write_geojson(path, [feature(line, "a", **plan()), feature(line, "a", **plan())]))


def test_not_a_feature_collection(tmp_path):
    path = tmp_path / "plan.geojson"
    path.write_text('{"type": "Feature"}')
    with pytest.raises(InputError, match="expected a GeoJSON FeatureCollection, found type 'Feature'"):
        read_infra_segments(path)
    path.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(InputError, match="not valid JSON"):
        read_infra_segments(path)
    path.write_text('{"type": "FeatureCollection", "features": []}')  # no plans: an empty frame
    empty = read_infra_segments(path)
    assert empty.is_empty() and "geometry_wkb" in empty.columns
    assert infra_per_buurt(empty, buurten(("BU1", box(X0, Y0, X0 + 1, Y0 + 1)))).is_empty()


# --- segments x buurten -----------------------------------------------------------------------------------

def buurten(*cells: tuple[str, shapely.Geometry]) -> pl.DataFrame:
    return pl.DataFrame({"buurtcode": [c for c, _ in cells], "geometry_wkb": [shapely.to_wkb(g) for _, g in cells]})


def test_infra_per_buurt_on_hand_made_geometry(tmp_path):
    west = box(X0, Y0, X0 + 100, Y0 + 100)
    east = box(X0 + 100, Y0, X0 + 200, Y0 + 100)
    features = [
        feature(LineString([(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50)]), "across", **plan()),  # 50 | 50
        feature(LineString([(X0 + 150, Y0 + 20), (X0 + 300, Y0 + 20)]), "out", **plan()),  # 50 in east, 100 out
        feature(LineString([(X0 + 100, Y0 + 10), (X0 + 100, Y0 + 60)]), "border", **plan()),  # on the shared edge
        feature(MultiLineString([[(X0 + 10, Y0 + 10), (X0 + 40, Y0 + 10)], [(X0 + 110, Y0 + 90),
                                                                            (X0 + 190, Y0 + 90)]]), "multi",
                **plan()),  # 30 west, 80 east
        feature(LineString([(X0 + 500, Y0), (X0 + 500, Y0 + 20)]), "far", **plan()),  # outside both
    ]
    segments = read_infra_segments(write_geojson(tmp_path / "plan.geojson", features))
    result = infra_per_buurt(segments, buurten(("BU2", east), ("BU1", west)))
    got = {(r["segment_id"], r["buurt_code"]): (round(r["length_m"], 6), r["is_main_buurt"])
           for r in result.iter_rows(named=True)}
    assert got == {
        ("across", "BU1"): (50.0, True),  # a tie goes to the lowest code
        ("across", "BU2"): (50.0, False),
        ("out", "BU2"): (50.0, True),  # most of it lies outside, yet BU2 holds the biggest piece
        ("out", None): (100.0, False),
        ("border", "BU1"): (50.0, True),
        ("border", "BU2"): (50.0, False),
        ("multi", "BU1"): (30.0, False),
        ("multi", "BU2"): (80.0, True),
        ("far", None): (20.0, False),
    }
    shares = dict(result.filter(pl.col("segment_id") == "multi").select("buurt_code", "share_of_segment")
                  .iter_rows())
    assert shares == pytest.approx({"BU1": 30 / 110, "BU2": 80 / 110})
    assert result.filter(pl.col("segment_id") == "across")["segment_length_m"].to_list() == [100.0, 100.0]
    assert result.schema["planned_year"] == pl.Int64 and result["asset"].unique().to_list() == ["riolering"]


def test_infra_per_buurt_at_the_size_of_a_large_gemeente():
    """400 buurten and 5,000 segments: lengths add up and it stays fast."""
    rng = np.random.default_rng(1)
    cells = [(f"BU{i:08d}", box(X0 + 250 * (i % 20), Y0 + 250 * (i // 20), X0 + 250 * (i % 20 + 1),
                                Y0 + 250 * (i // 20 + 1))) for i in range(400)]
    starts = rng.uniform(0, 5000, (5000, 2)) + (X0, Y0)
    ends = np.clip(starts + rng.normal(0, 300, (5000, 2)), (X0, Y0), (X0 + 5000, Y0 + 5000))
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    segments = pl.DataFrame({
        "segment_id": [str(i) for i in range(5000)], "asset": "weg", "measure": "renovatie", "planned_year": 2030,
        "owner": None, "description": None, "length_m": shapely.length(lines),
        "geometry_wkb": shapely.to_wkb(lines),
    }, schema_overrides={"owner": pl.String, "description": pl.String})
    started = time.perf_counter()
    result = infra_per_buurt(segments, buurten(*cells))
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"{elapsed:.1f} s"
    per_segment = result.group_by("segment_id").agg(pl.col("length_m").sum(), pl.col("is_main_buurt").sum())
    joined = per_segment.join(segments.select("segment_id", pl.col("length_m").alias("total")), on="segment_id")
    assert joined.height == 5000 and result["buurt_code"].null_count() == 0
    assert np.allclose(joined["length_m"], joined["total"], rtol=1e-9)
    assert (joined["is_main_buurt"] == 1).all()


# --- per buurt CSV and initiatives --------------------------------------------------------------------------

def test_infra_buurt_from_cp1252_csv_with_title_row(tmp_path):
    path = tmp_path / "infra.csv"
    path.write_bytes((
        "Plannen openbare ruimte;;;;;\r\n"
        "Buurtcode;Asset;Measure;Planned_Year;Owner;Description\r\n"
        "bu99990101;Riool;vervangen;2029;Gemeente;Vervanging riool – fase 1\r\n"
        "BU99990102 ;elektriciteitsnet;aanleg;2031;;\r\n"
    ).encode("cp1252"))
    frame = read_infra_buurt(path)
    assert frame["source_row"].to_list() == [3, 4]
    assert frame["buurt_code"].to_list() == ["BU99990101", "BU99990102"]
    assert frame["asset"].to_list() == ["riolering", "elektriciteitsnet"]
    assert frame["measure"].to_list() == ["vervanging", "aanleg"]
    assert frame["description"].to_list() == ["Vervanging riool – fase 1", None]


def test_infra_buurt_bad_rows(tmp_path):
    path = tmp_path / "infra.csv"
    path.write_text("buurt_code,asset,measure,planned_year\nBU1234,weg,renovatie,2030\n")
    with pytest.raises(InputError, match=r"row 2 field 'buurt_code': 'BU1234' is not valid; expected a CBS buurt"):
        read_infra_buurt(path)
    path.write_text("buurt_code,asset,planned_year\nBU00000001,weg,2030\n")
    with pytest.raises(InputError, match=r"missing required columns \['measure'\]; the header \(row 1\) has columns"):
        read_infra_buurt(path)


def write_initiatives_xlsx(path: Path, rows: list[list]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Toelichting"
    workbook.active.append(["Vul het tabblad Initiatieven in"])
    sheet = workbook.create_sheet("Initiatieven")
    sheet.append(["Lopende initiatieven Demodorp"])
    sheet.append(["buurt_code", "wijk_code", "party", "kind", "title", "start_year", "status",
                  "households_involved"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_initiatives_from_a_workbook_with_an_explanation_sheet(tmp_path):
    path = write_initiatives_xlsx(tmp_path / "initiatieven.xlsx", [
        ["BU99990102", None, "Energiecoöperatie Haven", "Energiecooperatie", "Zon op daken", 2021, "Lopend", 140],
        [None, "wk999903", "Bewoners Zuid", "collectieve inkoop", "Samen isoleren", 2025.0, "idee", None],
    ])
    frame = read_initiatives(path)
    assert frame["source_row"].to_list() == [3, 4]
    assert frame["kind"].to_list() == ["energiecoöperatie", "collectieve_inkoop"]
    assert frame["wijk_code"].to_list() == [None, "WK999903"]
    assert frame["start_year"].to_list() == [2021, 2025]
    assert frame["status"].to_list() == ["lopend", "idee"]
    assert frame["households_involved"].to_list() == [140, None]


def test_initiatives_bad_rows(tmp_path):
    def error(rows: list[list]) -> str:
        with pytest.raises(InputError) as caught:
            read_initiatives(write_initiatives_xlsx(tmp_path / "i.xlsx", rows))
        assert "sheet 'Initiatieven'" in str(caught.value)
        return str(caught.value)

    good = ["BU99990102", None, "Coöperatie", "overig", "t", 2021, "lopend", 10]
    message = error([good, [None, None, *good[2:]]])
    assert "row 4 field 'buurt_code'" in message and "both empty" in message
    message = error([good, good[:3] + ["buurtbus"] + good[4:]])
    assert "row 4 field 'kind'" in message and "energiecoöperatie" in message and "isolatieproject" in message
    assert "'idee', 'lopend', 'afgerond'" in error([good[:6] + ["gestopt"] + good[7:]])
    assert "whole number >= 0" in error([good[:7] + [-5]])


def test_template_files_read():
    assert read_infra_buurt(TEMPLATES / "infra_buurt.csv").height == 2
    initiatives = read_initiatives(TEMPLATES / "initiatives.csv")
    assert initiatives["kind"].to_list() == ["energiecoöperatie", "collectieve_inkoop"]


# --- the demo files --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    population = demo_population()
    return population, write_municipal_files(tmp_path_factory.mktemp("municipal"), population)


def test_demo_infrastructure_lies_in_the_demo_buurten(demo):
    population, paths = demo
    segments = read_infra_segments(paths["infra_segments"])
    polygons = pl.DataFrame({"buurt_code": list(population.geometries),
                             "geometry_wkb": [shapely.to_wkb(g) for g in population.geometries.values()]})
    per_buurt = infra_per_buurt(segments, polygons)
    assert per_buurt["buurt_code"].null_count() == 0  # every segment lies inside the municipality

    sewer = per_buurt.filter((pl.col("asset") == "riolering") & (pl.col("measure") == "vervanging"))
    assert 2 <= sewer["buurt_code"].n_unique() <= 3
    assert sewer["planned_year"].is_between(2026, 2032).all()
    assert per_buurt.filter(pl.col("asset") == "gasleiding").height > 0
    assert per_buurt.filter(pl.col("asset") == "weg")["buurt_code"].n_unique() >= 2
    crossing = per_buurt.filter(pl.col("share_of_segment") < 0.99)
    assert crossing["segment_id"].n_unique() >= 1 and crossing["buurt_code"].n_unique() == 2

    plans = read_infra_buurt(paths["infra_buurt"])
    initiatives = read_initiatives(paths["initiatives"])
    known = set(population.buurten["buurt_code"])
    assert set(plans["buurt_code"]) <= known
    assert set(initiatives["buurt_code"].drop_nulls()) <= known
    assert set(initiatives["wijk_code"].drop_nulls()) <= set(population.wijken["wijk_code"])
    assert plans["description"].str.contains("–").any()  # the cp1252 en dash came through
