"""The housing model: build-year classes, deterministic label and owner estimates that follow their
distributions in aggregate and never overwrite known values, and heat demand from Vesta parameters."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from wup_pipeline.model.housing import (
    LABEL_SALT,
    LABELS,
    OWNER_SALT,
    build_year_class,
    estimate_labels,
    estimate_owner_types,
    expected_label_counts,
    expected_owner_counts,
    heat_demand_gj,
    label_class,
    stable_uniform,
    uniform_sql,
)
from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"0518010000{i:06d}" for i in range(start, start + n)]


def _unlabelled(n: int, type_class: str = "terraced", build_year_class_: str = "1965 - 1974") -> pl.DataFrame:
    return pl.DataFrame({
        "vbo_id": _ids(n), "dwelling_type_class": type_class, "build_year_class": build_year_class_,
        "registered_label": pl.Series([None] * n, dtype=pl.String),
    })


def _shares(type_class: str, build_year_class_: str) -> dict[str, float]:
    distribution = load_parameters("label_distribution")
    rows = distribution.filter((pl.col("dwelling_type_class") == type_class)
                               & (pl.col("build_year_class") == build_year_class_))
    return dict(rows.select("label", "value").iter_rows())


@pytest.mark.parametrize(
    ("year", "expected"),
    [(1005, "voor 1930"), (1929, "voor 1930"), (1930, "1930 - 1945"), (1945, "1930 - 1945"), (1946, "1946 - 1964"),
     (1974, "1965 - 1974"), (1975, "1975 - 1991"), (1992, "1992 - 1995"), (2014, "2011 - 2014"),
     (2015, "2015 - 2020"), (2024, "2015 - 2020"), (1000, None), (None, None)],
)
def test_build_year_class_follows_vesta_class_breaks(year, expected):
    frame = pl.DataFrame({"build_year": [year]}, schema={"build_year": pl.Int64})
    assert frame.select(build_year_class(pl.col("build_year")))["build_year_class"][0] == expected


def test_label_class_collapses_a_plus_labels_and_rejects_the_rest():
    labels = pl.Series(["A++++", " a+ ", "A", "b", "G", "H", "", None])
    assert pl.select(label_class(pl.lit(labels))).to_series().to_list() == ["A", "A", "A", "B", "G", None, None, None]


def test_stable_uniform_is_md5_based_and_matches_its_sql():
    ids = pl.Series(_ids(5) + [None])
    expected = [int(hashlib.md5(f"{LABEL_SALT}:{i}".encode()).hexdigest()[:12], 16) / 16**12 for i in _ids(5)]
    assert stable_uniform(ids, LABEL_SALT).to_list() == expected + [None]
    with duckdb.connect() as con:
        sql_value = con.execute(f"select {uniform_sql('?', OWNER_SALT)}", [_ids(1)[0]]).fetchone()[0]
    assert sql_value == stable_uniform(pl.Series(_ids(1)), OWNER_SALT)[0]
    assert stable_uniform(pl.Series(_ids(1)), OWNER_SALT)[0] != stable_uniform(pl.Series(_ids(1)), LABEL_SALT)[0]
    with pytest.raises(ValueError, match="salt"):
        stable_uniform(ids, "x'; drop table t; --")


_SUBPROCESS_SCRIPT = """
import json, polars as pl
from wup_pipeline.model.housing import estimate_labels, estimate_owner_types
ids = [f"0518010000{i:06d}" for i in range(300)]
frame = pl.DataFrame({"vbo_id": ids, "dwelling_type_class": "corner", "build_year_class": "voor 1930",
                      "registered_label": pl.Series([None] * 300, dtype=pl.String), "buurt_code": "BU1",
                      "in_corporation_portfolio": False})
shares = pl.DataFrame({"buurt_code": ["BU1"], "pct_owner_occupied": [50.0], "pct_corporation": [30.0],
                       "pct_private_rent": [20.0]})
print(json.dumps({"labels": estimate_labels(frame)["energy_label"].to_list(),
                  "owners": estimate_owner_types(frame, shares)["owner_type"].to_list()}))
"""


def test_estimates_are_the_same_in_a_new_process():
    frame = _unlabelled(300, "corner", "voor 1930").with_columns(buurt_code=pl.lit("BU1"),
                                                                  in_corporation_portfolio=pl.lit(False))
    shares = pl.DataFrame({"buurt_code": ["BU1"], "pct_owner_occupied": [50.0], "pct_corporation": [30.0],
                           "pct_private_rent": [20.0]})
    here = {"labels": estimate_labels(frame)["energy_label"].to_list(),
            "owners": estimate_owner_types(frame, shares)["owner_type"].to_list()}
    env = dict(os.environ, PYTHONHASHSEED="12345")  # a different str hash seed must not matter
    done = subprocess.run([sys.executable, "-c", _SUBPROCESS_SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == here
    assert len(set(here["labels"])) > 3  # a real spread, not one label for all


def test_estimated_labels_follow_the_distribution_in_aggregate():
    n = 10_000
    estimated = estimate_labels(_unlabelled(n))
    shares = _shares("terraced", "1965 - 1974")
    assigned = estimated["energy_label_class"].value_counts()
    for label, count in assigned.iter_rows():
        assert abs(count / n - shares[label]) < 0.02, label
    assert set(estimated["label_source"]) == {"estimated"}
    assert estimated["label_date"].null_count() == n
    assert estimated["label_method"][0].startswith("estimated: u = md5('wup-label-v1:' || vbo_id)")
    assert "terraced / 1965 - 1974" in estimated["label_method"][0]

    counts = expected_label_counts(estimated.with_columns(buurt_code=pl.lit("BU1")))
    assert counts["label"].to_list() == list(LABELS)
    for label, expected in counts.select("label", "estimated_expected_count").iter_rows():
        assert expected == pytest.approx(n * shares[label])
    assert counts["estimated_assigned_count"].sum() == n and counts["registered_count"].sum() == 0


def test_registered_labels_are_never_overwritten():
    frame = _unlabelled(2000, "semi_detached", "1946 - 1964").with_columns(
        registered_label=pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("A++")).otherwise(None),
        registered_label_date=pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.date(2021, 5, 1)),
    )
    result = estimate_labels(frame)
    assert result["vbo_id"].to_list() == frame["vbo_id"].to_list()  # row order kept
    registered = result.filter(pl.col("registered_label").is_not_null())
    assert registered["energy_label"].unique().to_list() == ["A++"]
    assert registered["energy_label_class"].unique().to_list() == ["A"]
    assert registered["label_source"].unique().to_list() == ["registered"]
    assert registered["label_date"].unique().to_list() == [datetime.date(2021, 5, 1)]
    assert registered["label_uniform"].null_count() == registered.height
    # Unregistered dwellings are estimated, and mostly not A for this group.
    unregistered = result.filter(pl.col("registered_label").is_null())
    assert unregistered["label_source"].unique().to_list() == ["estimated"]
    assert (unregistered["energy_label_class"] == "A").mean() < 0.1
    counts = expected_label_counts(result.with_columns(buurt_code=pl.lit("BU1")))
    a_row = counts.filter(pl.col("label") == "A").row(0, named=True)
    assert a_row["registered_count"] == 1000


def test_label_estimation_rejects_bad_input_and_marks_unknown_groups():
    frame = _unlabelled(3).with_columns(registered_label=pl.Series(["B", "Z", None]))
    with pytest.raises(InputError) as error:
        estimate_labels(frame)
    assert (error.value.record, error.value.field) == (_ids(3)[1], "registered_label")
    with pytest.raises(InputError, match="more than once"):
        estimate_labels(pl.concat([_unlabelled(2), _unlabelled(1)]))
    unknown = estimate_labels(_unlabelled(2).with_columns(build_year_class=pl.Series(["1965 - 1974", None])))
    assert unknown["label_source"].to_list() == ["estimated", "none"]
    assert unknown["energy_label"][1] is None
    bad = pl.DataFrame({"dwelling_type_class": ["terraced"] * 2, "build_year_class": ["1965 - 1974"] * 2,
                        "label": ["A", "B"], "value": [0.5, 0.4]})
    with pytest.raises(InputError, match="add up to 0.9"):
        estimate_labels(_unlabelled(2), bad)


def _owner_frame(n_per_buurt: int, known: dict[str, int]) -> pl.DataFrame:
    parts = []
    for b, (buurt, n_known) in enumerate(known.items()):
        ids = _ids(n_per_buurt, start=b * n_per_buurt)
        parts.append(pl.DataFrame({"vbo_id": ids, "buurt_code": buurt,
                                   "in_corporation_portfolio": [i < n_known for i in range(n_per_buurt)]}))
    return pl.concat(parts)


def test_owner_estimates_keep_portfolio_dwellings_and_follow_buurt_shares():
    n = 5000
    dwellings = _owner_frame(n, {"BU1": 600, "BU2": 2000, "BU3": 0})
    shares = pl.DataFrame({"buurt_code": ["BU1", "BU2", "BU3"], "pct_owner_occupied": [55.0, 50.0, 60.0],
                           "pct_corporation": [25.0, 30.0, 20.0], "pct_private_rent": [20.0, 20.0, None]})
    result = estimate_owner_types(dwellings, shares)
    known = result.filter("in_corporation_portfolio")
    assert known["owner_type"].unique().to_list() == ["corporation"]
    assert known["owner_source"].unique().to_list() == ["corporation_portfolio"]

    # BU1: 600 known of a 1250 target; the rest is drawn so the buurt ends near 55/25/20.
    bu1 = result.filter(pl.col("buurt_code") == "BU1")["owner_type"].value_counts()
    for owner, target in {"owner_occupied": 0.55, "corporation": 0.25, "private_rent": 0.20}.items():
        assert abs(bu1.filter(pl.col("owner_type") == owner)["count"].item() / n - target) < 0.02, owner
    # BU2: 2000 known exceed the 30% target (1500): no further corporation dwellings are drawn.
    bu2 = result.filter((pl.col("buurt_code") == "BU2") & ~pl.col("in_corporation_portfolio"))
    assert "corporation" not in bu2["owner_type"].to_list()
    assert abs((bu2["owner_type"] == "owner_occupied").mean() - 50 / 70) < 0.02
    # BU3: suppressed KWB share -> no estimate.
    bu3 = result.filter(pl.col("buurt_code") == "BU3")
    assert bu3["owner_source"].unique().to_list() == ["none"] and bu3["owner_type"].null_count() == n

    counts = expected_owner_counts(result, shares).filter(pl.col("buurt_code") == "BU1")
    corporation = counts.filter(pl.col("owner_type") == "corporation").row(0, named=True)
    assert corporation["known_count"] == 600
    assert corporation["total_expected_count"] == pytest.approx(1250)
    assert corporation["kwb_target_count"] == pytest.approx(1250)
    assert counts["total_assigned_count"].sum() == n


def test_owner_estimation_rejects_bad_shares():
    dwellings = _owner_frame(3, {"BU1": 1})
    with pytest.raises(InputError) as error:
        estimate_owner_types(dwellings, pl.DataFrame({"buurt_code": ["BU1"], "pct_owner_occupied": [120.0],
                                                      "pct_corporation": [0.0], "pct_private_rent": [0.0]}))
    assert (error.value.record, error.value.field) == ("BU1", "pct_owner_occupied")
    with pytest.raises(InputError, match="more than once"):
        estimate_owner_types(dwellings, pl.DataFrame({"buurt_code": ["BU1", "BU1"], "pct_owner_occupied": [1.0, 1.0],
                                                      "pct_corporation": [1.0, 1.0], "pct_private_rent": [1.0, 1.0]}))


def test_heat_demand_of_hand_computed_dwellings():
    dwellings = pl.DataFrame({
        "vbo_id": ["t", "d", "a", "n", "s"],
        "dwelling_type_class": ["terraced", "detached", "apartment_low_mid", "detached", "terraced"],
        "build_year_class": ["1965 - 1974", "voor 1930", "1975 - 1991", "voor 1930", "2015 - 2020"],
        "floor_area_m2": [110, 180, 75, 180, 5],
        "energy_label_class": ["D", "F", "C", None, "A"],
    })
    result = heat_demand_gj(dwellings)
    # PBL Vesta MAIS, Woningen_BAG.csv 2024-10-16: Vrv_<label>_asl + Vrv_<label>_opp x m2, plus Vww_asl.
    space = [14.87112155 + 0.192738372 * 110, 36.91448137 + 0.137664785 * 180, 9.297724204 + 0.172438032 * 75,
             37.73234704 + 0.130946973 * 180, 0.0]
    water = [7.7, 8.5, 7.3, 8.5, 7.7]  # Vww_asl; Vww_opp is 0 everywhere
    assert result["heat_demand_space_gj"].to_list() == pytest.approx(space)
    assert result["heat_demand_hot_water_gj"].to_list() == pytest.approx(water)
    assert result["heat_demand_gj"].to_list() == pytest.approx([s + w for s, w in zip(space, water, strict=True)])
    assert 30 <= result["heat_demand_space_gj"][0] <= 45  # the 1970s terraced house at label D
    assert result["heat_demand_params"][0] == (
        "heat_demand_dwellings.csv [pbl_vesta_mais_20241016] rijwoning tussen / 1965 - 1974 / label D: "
        "space 14.87112155 + 0.192738372 x m2; hot water 7.7 + 0.0 x m2")
    assert "/ label N:" in result["heat_demand_params"][3]  # no label -> Vesta's no-label row
    assert result["vbo_id"].to_list() == ["t", "d", "a", "n", "s"]


def test_heat_demand_options_and_missing_inputs():
    dwellings = pl.DataFrame({
        "dwelling_type_class": ["terraced", "terraced", None, "terraced"],
        "build_year_class": ["1965 - 1974", "1965 - 1974", "1965 - 1974", "1965 - 1974"],
        "floor_area_m2": [110, None, 100, 110], "energy_label_class": ["D", "D", "D", "D"],
        "label_source": ["registered", "registered", "registered", "estimated"],
    })
    plain = heat_demand_gj(dwellings)
    assert plain["heat_demand_gj"][1] is None and plain["heat_demand_params"][1] is None
    assert plain["heat_demand_gj"][2] is None
    assert plain["heat_demand_gj"][3] == pytest.approx(plain["heat_demand_gj"][0])
    no_label_row = heat_demand_gj(dwellings, estimated_use_no_label_row=True)
    assert no_label_row["heat_demand_space_gj"][3] == pytest.approx(12.65862207 + 0.207105895 * 110)
    assert no_label_row["heat_demand_space_gj"][0] == pytest.approx(plain["heat_demand_space_gj"][0])
    with pytest.raises(InputError, match="column is missing"):
        heat_demand_gj(dwellings.drop("floor_area_m2"))
