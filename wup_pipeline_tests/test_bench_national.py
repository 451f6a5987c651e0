"""The synthetic national dataset: real formats (read by the real readers), calibration, geometry, sampling."""

import json

import numpy as np
import polars as pl
import pytest

from wup_pipeline.bench import national
from wup_pipeline.bench.runner import choose_gemeenten, prepare_inputs
from wup_pipeline.model.adjacency import touching_pairs
from wup_pipeline.orchestration.partitions import gemeente_codes
from wup_pipeline.sources import bag, ep_online, pdok_wijkenbuurten
from wup_pipeline.sources.cbs_kwb import kwb_from_buurt_attributes

SAMPLE = [*gemeente_codes(include_demo=False)[:12], "GM0363"]  # consecutive codes, and Amsterdam


@pytest.fixture(scope="module")
def small_country(tmp_path_factory):
    """13 gemeenten of a country of 800,000 dwellings: every code path, quickly."""
    out = tmp_path_factory.mktemp("national")
    return national.write_national_dataset(out, dwellings=800_000, seed=7, log=lambda message: None, only=SAMPLE)


def test_targets_cover_the_country_and_the_manifest_the_files(small_country):
    targets = national.gemeente_targets(national.NATIONAL_DWELLINGS)
    assert targets.height == 342 and targets["n_buurten_2022"].sum() == 14_317
    assert targets["dwelling_target"].sum() == national.NATIONAL_DWELLINGS
    totals = small_country.manifest["totals"]
    planned = national.gemeente_targets(800_000).filter(pl.col("gemeente_code").is_in(SAMPLE))
    assert len(small_country.manifest["gemeenten"]) == len(SAMPLE)
    assert totals["buurten"] == planned["n_buurten_2022"].sum()
    assert abs(totals["dwellings"] - planned["dwelling_target"].sum()) / totals["dwellings"] < 0.01
    vbo = pl.read_csv(small_country.verblijfsobjecten, infer_schema=False)
    assert vbo.height == totals["verblijfsobjecten"]
    assert 1.15 < totals["verblijfsobjecten"] / totals["dwellings"] < 1.30  # ~9.9 / 8.1 million
    assert vbo["vbo_id"].str.len_chars().unique().to_list() == [16] and vbo["vbo_id"].is_unique().all()
    assert vbo.select(pl.struct("postcode", "huisnummer").is_unique().all()).item()


def test_the_real_readers_read_it(small_country, tmp_path):
    extract = bag.read_bag_extract(small_country.verblijfsobjecten, small_country.panden)
    assert extract.verblijfsobjecten.height == small_country.manifest["totals"]["verblijfsobjecten"]
    assert extract.panden["geometry_wkt"].str.starts_with("POLYGON ((").all()
    assert extract.verblijfsobjecten["pand_id"].is_in(extract.panden["pand_id"].implode()).all()
    buurten = pdok_wijkenbuurten.read_buurten_file(small_country.buurten, gemeente_codes=["GM0363"])
    assert buurten.height == 498 and buurten["buurtcode"].str.starts_with("BU0363").all()
    kwb, _ = kwb_from_buurt_attributes(buurten, "synthetic")
    shown = kwb.filter(pl.col("woningvoorraad") >= 20)
    total = shown["koopwoningen"] + shown["huurwoningen_totaal"]
    assert shown.height and ((total - 100).abs() <= 1.01).all()  # owner + rented shares add up per buurt
    labels = ep_online.read_label_bulk(small_country.labels, national.REFERENCE_DATE)
    assert labels.labels.height == small_country.manifest["totals"]["labels"]


def test_geometry_gives_the_dwelling_types_and_touching_rows():
    row = national.gemeente_targets(8_125_229).filter(pl.col("gemeente_code") == "GM0014").row(0, named=True)
    part = national.generate_gemeente(row["gemeente_code"], row["gemeente_name"], row["n_buurten_2022"], 20_000,
                                      row["grid_offset"], 120, seed=11)
    import shapely

    panden = part["panden"]
    geometries = shapely.from_wkt(panden["wkt_rd"].to_list())
    pairs = touching_pairs(panden["pand_id"], pl.Series(shapely.to_wkb(geometries)))
    neighbours = pairs.group_by("pand_id").len()
    vbo = part["verblijfsobjecten"]
    units = vbo.group_by("pand_id").agg(pl.len().alias("units"),
                                        pl.col("gebruiksdoel").str.contains("woonfunctie").sum().alias("homes"))
    houses = units.filter((pl.col("units") == 1) & (pl.col("homes") == 1)).join(neighbours, on="pand_id", how="left")
    n = houses["len"].fill_null(0)
    homes = int(units["homes"].sum())
    apartments = int(units.filter(pl.col("units") >= 2)["homes"].sum())
    # CBS 2022-08-03: 36 % multi-family, 42 % terraced incl. corner, 9 % semi-detached, 13 % detached
    assert abs(apartments / homes - 0.36) < 0.06
    assert abs(int((n == 0).sum()) / homes - 0.13) < 0.05
    assert abs(int((n >= 1).sum()) / homes - 0.51) < 0.06  # rows and pairs
    assert n.max() <= 2  # rows are straight: no house touches more than two others
    footprints = shapely.area(geometries)
    assert (np.abs(footprints - panden["footprint_area_m2"].to_numpy()) < 0.1).all()
    years = vbo.join(panden.select("pand_id", "oorspronkelijkbouwjaar"), on="pand_id")
    homes_years = years.filter(pl.col("gebruiksdoel").str.contains("woonfunctie"))["oorspronkelijkbouwjaar"]
    assert abs((homes_years < 1945).mean() - 0.19) < 0.06  # CBS: 19 % of the stock built before 1945


def test_sample_is_consecutive_gemeenten_reaching_the_target(small_country, tmp_path):
    chosen = choose_gemeenten(small_country.manifest, 1_000, seed=3)
    codes = [g["gemeente_code"] for g in chosen]
    order = [g["gemeente_code"] for g in sorted(small_country.manifest["gemeenten"], key=lambda g: g["gemeente_code"])]
    start = order.index(codes[0])
    assert codes == order[start:start + len(codes)]
    assert sum(g["dwellings"] for g in chosen) >= 1_000 > sum(g["dwellings"] for g in chosen[:-1])
    assert len(choose_gemeenten(small_country.manifest, 10**9)) == len(SAMPLE)
    inputs = prepare_inputs(small_country, codes, tmp_path)
    vbo = pl.read_csv(inputs["vbo"], infer_schema=False)
    assert vbo.height == sum(g["verblijfsobjecten"] for g in chosen)
    assert set(vbo["buurtcode"].str.slice(2, 4)) == {c.removeprefix("GM") for c in codes}
    assert json.loads((small_country.root / national.MANIFEST).read_text())["seed"] == 7
