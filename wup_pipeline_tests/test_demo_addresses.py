"""Demo addresses and buildings: deterministic, complete, and the dwelling type derivable from the geometry."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest
import shapely

from wup_pipeline.demo.addresses import MAX_ROW, demo_buildings
from wup_pipeline.demo.population import demo_population


@pytest.fixture(scope="module")
def population():
    return demo_population(2026)


@pytest.fixture(scope="module")
def buildings(population):
    started = time.perf_counter()
    vbo, panden = demo_buildings(population)
    return vbo, panden, time.perf_counter() - started


def derived_types(vbo: pl.DataFrame, panden: pl.DataFrame) -> pl.DataFrame:
    """The dwelling type from geometry and unit counts, the way the pipeline is to derive it.

    More than one verblijfsobject in the pand: apartment. Otherwise the panden connected by shared walls
    (touching with a common edge) form a group: 1 detached, 2 semi-detached, 3+ corner (one wall
    neighbour) or terraced (two).
    """
    geoms = shapely.from_wkt(panden["geometry_wkt"].to_numpy())
    left, right = shapely.STRtree(geoms).query(geoms, predicate="touches")
    shared = shapely.length(shapely.intersection(geoms[left], geoms[right])) > 0
    left, right = left[shared], right[shared]
    n = len(geoms)
    degree = np.bincount(left, minlength=n)
    # connected components of the shared-wall graph (union-find)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left, right, strict=True):
        parent[find(a)] = find(b)
    roots = np.array([find(i) for i in range(n)])
    group_size = np.bincount(roots, minlength=n)[roots]
    geometry_type = np.where(
        group_size == 1, "detached",
        np.where(group_size == 2, "semi_detached", np.where(degree == 1, "corner", "terraced")),
    )
    per_pand = pl.DataFrame({"pand_id": panden["pand_id"], "house_type": geometry_type,
                             "n_vbo": panden["n_vbo"]})
    return (
        vbo.filter(pl.col("gebruiksdoel").str.contains("woonfunctie"))
        .join(per_pand, on="pand_id", how="left")
        .with_columns(pl.when(pl.col("n_vbo") >= 2).then(pl.lit("apartment")).otherwise("house_type")
                      .alias("derived_type"))
    )


def test_same_seed_same_buildings_other_seed_differs(population, buildings):
    vbo, panden, _ = buildings
    again_vbo, again_panden = demo_buildings(demo_population(2026))
    assert vbo.equals(again_vbo) and panden.equals(again_panden)
    other_vbo, _ = demo_buildings(demo_population(7))
    assert not other_vbo.equals(vbo)


def test_runs_fast(buildings):
    assert buildings[2] < 3.0


def test_every_dwelling_has_exactly_one_verblijfsobject(population, buildings):
    vbo, _, _ = buildings
    dwellings = vbo.filter(pl.col("dwelling_id").is_not_null())
    assert sorted(dwellings["dwelling_id"].to_list()) == sorted(population.dwellings["dwelling_id"].to_list())
    assert (dwellings["vbo_id"] == dwellings["dwelling_id"]).all()
    truth = dwellings.join(population.dwellings, on="dwelling_id")
    assert (truth["oppervlakte_m2"] == truth["floor_area_m2"]).all()
    assert (truth["bouwjaar"] == truth["build_year"]).all()
    assert (truth["buurt_code"] == truth["buurt_code_right"]).all()
    assert dwellings["gebruiksdoel"].str.contains("woonfunctie").all()
    non_residential = vbo.filter(pl.col("dwelling_id").is_null())
    assert non_residential.height > 100
    assert not non_residential["gebruiksdoel"].str.contains("woonfunctie").any()
    assert non_residential["dwelling_type_truth"].is_null().all()
    assert {"winkelfunctie", "kantoorfunctie", "onderwijsfunctie", "industriefunctie"} <= set(
        non_residential["gebruiksdoel"].str.split(",").explode().to_list())


def test_ids_are_bag_like_and_unique(buildings):
    vbo, panden, _ = buildings
    for column, prefix in (("vbo_id", "999901"), ("pand_id", "9999100"), ("nummeraanduiding_id", "9999200")):
        values = vbo[column]
        assert values.str.contains(r"^\d{16}$").all(), column
        assert values.str.starts_with(prefix).all(), column
    assert vbo["vbo_id"].n_unique() == vbo.height == vbo["nummeraanduiding_id"].n_unique()
    assert panden["pand_id"].n_unique() == panden.height
    assert set(vbo["pand_id"]) == set(panden["pand_id"])
    counts = vbo.group_by("pand_id").len().join(panden, on="pand_id")
    assert (counts["len"] == counts["n_vbo"]).all()
    assert (vbo["status"] == "Verblijfsobject in gebruik").all() and (panden["status"] == "Pand in gebruik").all()


def test_postcodes_valid_and_addresses_unique(buildings):
    vbo, _, _ = buildings
    assert vbo["postcode"].str.contains(r"^[1-9]\d{3}[A-Z]{2}$").all()
    assert not vbo["postcode"].str.slice(4).is_in(["SA", "SD", "SS"]).any()
    assert vbo.select("postcode", "huisnummer", "huisletter", "toevoeging").is_unique().all()
    per_postcode = vbo.group_by("postcode").agg(pl.len(), pl.col("openbare_ruimte_naam").n_unique())
    assert (per_postcode["openbare_ruimte_naam"] == 1).all()  # a postcode never spans two streets
    assert per_postcode["len"].max() <= 25 and 10 <= per_postcode["len"].median() <= 25
    assert (vbo["huisnummer"] >= 1).all()
    assert vbo["huisletter"].drop_nulls().str.contains(r"^[A-Z]$").all()
    assert vbo["huisletter"].drop_nulls().len() > 0 and vbo["toevoeging"].drop_nulls().len() > 0


def test_points_inside_their_pand_and_buurt(population, buildings):
    vbo, panden, _ = buildings
    joined = vbo.join(panden.select("pand_id", "geometry_wkt", pl.col("buurt_code").alias("pand_buurt")),
                      on="pand_id")
    assert (joined["buurt_code"] == joined["pand_buurt"]).all()
    points = shapely.points(joined["x_rd"].to_numpy(), joined["y_rd"].to_numpy())
    assert shapely.contains(shapely.from_wkt(joined["geometry_wkt"].to_numpy()), points).all()
    buurt_shapes = np.array([population.geometries[code] for code in joined["buurt_code"]])
    assert shapely.contains(buurt_shapes, points).all()
    pand_shapes = np.array([population.geometries[code] for code in panden["buurt_code"]])
    assert shapely.contains(pand_shapes, shapely.from_wkt(panden["geometry_wkt"].to_numpy())).all()


def test_panden_do_not_overlap_and_keep_their_distance(buildings):
    _, panden, _ = buildings
    geoms = shapely.from_wkt(panden["geometry_wkt"].to_numpy())
    assert shapely.is_valid(geoms).all()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=1.0)
    pairs = left < right
    left, right = left[pairs], right[pairs]
    assert len(left) > 1000  # the rows and pairs share walls
    overlap = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    assert overlap.max() < 1e-6
    # closer than 1 m means sharing a wall: touching along an edge, not a mere corner
    assert (shapely.distance(geoms[left], geoms[right]) == 0).all()
    assert (shapely.length(shapely.intersection(geoms[left], geoms[right])) > 1).all()
    areas = panden["footprint_area_m2"].to_numpy()
    assert np.allclose(areas, shapely.area(geoms), atol=0.1)


def test_footprints_are_plausible(buildings):
    vbo, panden, _ = buildings
    typed = vbo.filter(pl.col("dwelling_type_truth").is_not_null()).join(panden, on="pand_id")
    medians = typed.group_by("dwelling_type_truth").agg(pl.col("footprint_area_m2").median())
    median = dict(medians.iter_rows())
    assert 35 <= median["terraced"] <= 70  # ~5.4 x 9 m
    assert median["terraced"] < median["semi_detached"] < median["detached"]
    assert 90 <= median["detached"] <= 200  # ~10 x 12 m
    blocks = panden.filter(pl.col("n_vbo") >= 6)
    assert blocks["footprint_area_m2"].median() > median["detached"]


def test_geometry_and_unit_counts_reproduce_dwelling_type_truth(population, buildings):
    vbo, panden, _ = buildings
    derived = derived_types(vbo, panden)
    assert derived.height == population.dwellings.height
    mismatch = derived.filter(pl.col("derived_type") != pl.col("dwelling_type_truth"))
    assert mismatch.height == 0, mismatch.head()
    # pand with >= 2 woonfunctie units: apartments only; a house is alone in its pand
    woon = derived.group_by("pand_id").agg(pl.len().alias("n_woon"), pl.col("dwelling_type_truth").unique())
    assert (woon.filter(pl.col("n_woon") >= 2)["dwelling_type_truth"].list.join(",") == "apartment").all()
    # the truth differs from the drawn type only where the geometry cannot hold the drawn counts
    changed = derived.join(population.dwellings.select("dwelling_id", "dwelling_type"), on="dwelling_id").filter(
        pl.col("dwelling_type") != pl.col("dwelling_type_truth"))
    assert changed.height <= population.buurten.height * 3
    allowed = {("corner", "terraced"), ("semi_detached", "detached"), ("terraced", "corner"),
               ("corner", "semi_detached"), ("terraced", "semi_detached"), ("terraced", "detached")}
    assert set(changed.select("dwelling_type", "dwelling_type_truth").iter_rows()) <= allowed


def test_rows_have_three_to_ten_houses_and_blocks_share_a_build_year(buildings):
    vbo, panden, _ = buildings
    derived = derived_types(vbo, panden)
    assert {"apartment", "terraced", "corner", "semi_detached", "detached"} == set(derived["derived_type"])
    per_pand = vbo.group_by("pand_id").agg(pl.col("bouwjaar").n_unique())
    assert (per_pand["bouwjaar"] == 1).all()
    corners = derived.filter(pl.col("dwelling_type_truth") == "corner").height
    terraced = derived.filter(pl.col("dwelling_type_truth") == "terraced").height
    rows = corners // 2
    assert corners % 2 == 0 and rows <= terraced <= rows * (MAX_ROW - 2)
