"""The housing chain at national size is built in batches (dwellings by vbo_id range, panden by strip); the
tables must not depend on the batch size, and a failed batch must leave the old table in place."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
import shapely

from wup_pipeline.assets import housing_model as hm
from wup_pipeline.model import adjacency, housing
from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.warehouse import SCHEMAS, ensure_audit_tables, load_spatial

BUURTEN = ["BU05180001", "BU05180002", "BU05990001", "BU05990002"]


def _dwelling_inputs(n: int = 400) -> pl.DataFrame:
    """Dwellings of four buurten (one without KWB shares) plus some without buurt, in shuffled order; every
    buurt spans many vbo_id batches, some registered labels and portfolio dwellings."""
    i = pl.int_range(0, n, eager=True)
    types = ["terraced", "corner", "detached", "apartment_low_mid", "apartment_high", "semi_detached"]
    frame = pl.DataFrame({
        "vbo_id": i.map_elements(lambda k: f"0518010000{k * 7919 % 1_000_000:06d}", return_dtype=pl.String),
        "pand_id": i.map_elements(lambda k: f"0518100000{k // 3:06d}", return_dtype=pl.String),
        "buurt_code": pl.Series([None if k % 37 == 0 else BUURTEN[k % 4] for k in range(n)], dtype=pl.String),
        "buurt_source": "bag", "postcode": "2500AA", "house_number": i.cast(pl.Int32) + 1,
        "house_letter": pl.Series([None] * n, dtype=pl.String),
        "house_number_addition": pl.Series([None] * n, dtype=pl.String),
        "build_year": pl.Series([1900 + k * 3 % 125 if k % 29 else None for k in range(n)], dtype=pl.Int32),
        "floor_area_m2": pl.Series([40 + k % 140 for k in range(n)], dtype=pl.Int32),
        "dwelling_type": pl.Series([types[k % 6].removesuffix("_low_mid").removesuffix("_high") for k in range(n)]),
        "dwelling_type_class": pl.Series([types[k % 6] for k in range(n)]),
        "dwelling_type_method": "touching_neighbours",
        "registered_label": pl.Series([["A++", "C", "G"][k % 3] if k % 5 == 0 else None for k in range(n)],
                                      dtype=pl.String),
        "registered_label_date": pl.Series([None] * n, dtype=pl.Date),
        "in_corporation_portfolio": pl.Series([k % 6 == 1 for k in range(n)]),
        "corporation": pl.Series(["Woonstad" if k % 6 == 1 else None for k in range(n)], dtype=pl.String),
        "planned_renovation_year": pl.Series([None] * n, dtype=pl.Int32),
        "planned_measure": pl.Series([None] * n, dtype=pl.String),
    })
    return frame.with_columns(registered_label_date=pl.when(pl.col("registered_label").is_not_null())
                              .then(pl.date(2020, 3, 1))).sample(fraction=1.0, shuffle=True, seed=1)


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    for schema in SCHEMAS:
        con.execute(f"create schema {schema}")
    ensure_audit_tables(con)
    con.from_arrow(_dwelling_inputs().to_arrow()).create(hm.INPUTS)
    kwb = pl.DataFrame({"region_code": [*BUURTEN[:3], "GM0518"], "region_type": ["buurt"] * 3 + ["gemeente"],
                        "pct_owner_occupied": [55.0, 30.0, 62.0, 50.0], "pct_corporation": [25.0, 60.0, 8.0, 30.0],
                        "pct_private_rent": [20.0, 10.0, 30.0, 20.0]})
    con.from_arrow(kwb.to_arrow()).create(hm.KWB)
    for name in hm.PARAMETERS:
        con.from_arrow(load_parameters(name).to_arrow()).create(f"raw.param_{name}")
    yield con
    con.close()


def _build(con, batch_rows: int) -> pl.DataFrame:
    kwb, params = hm.read_model_inputs(con)
    written = hm.write_table_with_lineage(con, hm.TABLE, hm.dwelling_batches(con, kwb, params, batch_rows),
                                          hm.lineage_rows())
    table = con.execute(f"select * from {hm.TABLE}").pl()  # stored order
    assert written == table.height
    return table


def test_int_dwellings_do_not_depend_on_the_batch_size(warehouse):
    kwb, params = hm.read_model_inputs(warehouse)
    inputs = warehouse.execute(f"select * from {hm.INPUTS} order by vbo_id").pl()
    in_one_frame = hm.build_dwellings(inputs, kwb, params)  # the model over all dwellings at once, as before
    in_one_batch = _build(warehouse, 1_000_000)
    in_tiny_batches = _build(warehouse, 37)  # 11 batches: every buurt is split over all of them
    assert in_one_batch.equals(in_one_frame)
    assert in_tiny_batches.equals(in_one_frame)
    assert len(hm.batch_starts(warehouse, hm.INPUTS, 37)) == 11
    # The estimates are really there, so equality means something.
    assert set(in_tiny_batches["label_source"]) == {"registered", "estimated", "none"}
    assert set(in_tiny_batches["owner_source"]) == {"corporation_portfolio", "estimated_from_buurt_shares", "none"}
    lineage = warehouse.execute("select count(*) from audit.column_lineage where model = ?", [hm.TABLE]).fetchone()
    assert lineage[0] == len(hm.lineage_rows())


def test_owner_estimate_of_a_batch_needs_the_whole_buurts_counts(warehouse):
    kwb, params = hm.read_model_inputs(warehouse)
    inputs = warehouse.execute(f"select * from {hm.INPUTS} order by vbo_id").pl()
    whole = hm.build_dwellings(inputs, kwb, params)
    batch = inputs.head(40)
    counts = hm.read_buurt_counts(warehouse)
    assert counts.sort("buurt_code").equals(housing.buurt_dwelling_counts(inputs).sort("buurt_code"))
    with_counts = hm.build_dwellings(batch, kwb, params, counts)
    assert with_counts.equals(whole.head(40))
    # Counted within the batch only, the method text (and the probabilities) of the buurt would differ.
    assert not hm.build_dwellings(batch, kwb, params)["owner_method"].equals(whole.head(40)["owner_method"])


def test_repeated_or_missing_ids_are_reported_over_all_batches(warehouse):
    first, last = warehouse.execute(f"select min(vbo_id), max(vbo_id) from {hm.INPUTS}").fetchone()
    warehouse.execute(f"update {hm.INPUTS} set vbo_id = ? where vbo_id = ?", [first, last])
    with pytest.raises(InputError, match="more than once") as error:
        hm.batch_starts(warehouse, hm.INPUTS, 3)
    assert error.value.record == first
    warehouse.execute(f"update {hm.INPUTS} set vbo_id = null where vbo_id = ?", [first])
    with pytest.raises(InputError, match="id is missing"):
        hm.batch_starts(warehouse, hm.INPUTS, 3)


def test_a_failing_batch_leaves_the_old_table_and_lineage(warehouse):
    before = _build(warehouse, 100)

    def batches():
        yield before.head(10)
        raise RuntimeError("batch 2 failed")

    with pytest.raises(RuntimeError, match="batch 2 failed"):
        hm.write_table_with_lineage(warehouse, hm.TABLE, batches(), hm.lineage_rows())
    assert warehouse.execute(f"select * from {hm.TABLE}").pl().equals(before)
    lineage = warehouse.execute("select count(*) from audit.column_lineage where model = ?", [hm.TABLE]).fetchone()
    assert lineage[0] == len(hm.lineage_rows())


def test_replace_table_with_lineage_still_takes_one_frame(warehouse):
    frame = pl.DataFrame({"pand_id": ["1", "2"], "neighbour_id": ["2", "1"]})
    hm.replace_table_with_lineage(warehouse, hm.NEIGHBOURS, frame, hm.pand_neighbour_lineage_rows())
    assert warehouse.execute(f"select * from {hm.NEIGHBOURS}").pl().equals(frame)
    hm.replace_table_with_lineage(warehouse, hm.NEIGHBOURS, frame.head(1), hm.pand_neighbour_lineage_rows())
    assert warehouse.execute(f"select count(*) from {hm.NEIGHBOURS}").fetchone()[0] == 1


def _panden() -> pl.DataFrame:
    """Rows of touching and nearly touching squares, a large pand spanning several strips, equal box centres, a
    duplicate position and panden without geometry."""
    squares = []
    for row in range(6):
        for col in range(30):
            gap = 0.3 if col % 4 == 0 else (0.5 if col % 4 == 1 else 0.0)  # within 0.4 m, beyond it, touching
            x = col * 10.0 + (gap if col % 2 else 0.0)
            squares.append(shapely.box(x, row * 25.0, x + 10.0, row * 25.0 + 8.0))
    squares.append(shapely.box(-5.0, 8.2, 320.0, 12.0))  # long shed along the first row, 0.2 m away
    squares.append(shapely.box(40.0, 200.0, 50.0, 208.0))
    squares.append(shapely.box(40.0, 200.0, 50.0, 208.0))  # same footprint twice
    wkb = [shapely.to_wkb(g) for g in squares] + [None, None]
    ids = [f"0518100000{k:06d}" for k in range(len(wkb))]
    return pl.DataFrame({"pand_id": ids, "wkb": pl.Series(wkb, dtype=pl.Binary)}).sample(fraction=1.0, seed=3,
                                                                                         shuffle=True)


def test_pand_neighbours_do_not_depend_on_the_strips():
    panden = _panden()
    con = duckdb.connect()
    load_spatial(con)
    con.execute("create schema staging")
    con.from_arrow(panden.to_arrow()).query(
        "p", "select pand_id, st_geomfromwkb(wkb) as geometry from p").create(hm.PANDEN)
    everything = adjacency.touching_pairs(panden["pand_id"], panden["wkb"])
    assert everything.height > 300  # touching rows, the shed and the twin footprints
    assert everything.filter(pl.col("pand_id") == pl.col("neighbour_id")).height == 0
    assert len(adjacency.strips(*_x_extents(con), panden_per_strip=7)) > 20
    for per_strip in (1, 7, 50, 10_000):
        assert hm.pand_neighbour_pairs(con, per_strip).equals(everything), per_strip


def _x_extents(con) -> tuple[np.ndarray, np.ndarray]:
    frame = con.execute(f"select st_xmin(geometry) as a, st_xmax(geometry) as b from {hm.PANDEN} "
                        "where geometry is not null").pl()
    return frame["a"].to_numpy(), frame["b"].to_numpy()


def test_strips_cover_every_pand_once_and_reach_its_neighbours():
    x_min = np.array([0.0, 10.0, 10.0, 10.0, 20.0, 35.0, -100.0])
    x_max = np.array([9.8, 20.0, 20.0, 20.0, 30.0, 36.0, 400.0])
    found = adjacency.strips(x_min, x_max, panden_per_strip=2)
    centre = (x_min + x_max) / 2
    members = [(centre >= (s.centre_min if s.centre_min is not None else -np.inf))
               & (centre < (s.centre_max if s.centre_max is not None else np.inf)) for s in found]
    assert (np.sum(members, axis=0) == 1).all()  # every pand queried in exactly one strip
    assert any(m[1:4].all() for m in members)  # equal centres are not split
    for strip, member in zip(found, members, strict=True):
        assert strip.reach_min == pytest.approx(x_min[member].min() - adjacency.TOUCH_DISTANCE_M)
        assert strip.reach_max == pytest.approx(x_max[member].max() + adjacency.TOUCH_DISTANCE_M)
    assert adjacency.strips(np.array([]), np.array([]), 5) == []
    with pytest.raises(ValueError, match="1 or more"):
        adjacency.strips(x_min, x_max, 0)
