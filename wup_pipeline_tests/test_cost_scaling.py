"""The cost model's shortcuts for national size give the same figures as the plain computation.

- routes that differ only outside the buildings (S2a/S2b, S3b/S3c/S3e, ...) share one building-level run;
- the sensitivity computes groups, labels, demand and capacities once and only reprices them per scenario;
- the dwelling-group mart is written in batches of buurten.
"""

from __future__ import annotations

import polars as pl
import pytest

from wup_pipeline.assets.cost_model import stored_precision
from wup_pipeline.model import costs
from wup_pipeline.model.cost_components import evaluate_groups
from wup_pipeline.model.cost_parameters import SCENARIOS, load_cost_parameters
from wup_pipeline.model.cost_routes import routes_frame
from wup_pipeline.model.cost_stock import check_buurten

LABELS = "abcdefg"


def buurten() -> pl.DataFrame:
    """Three buurten that differ in labels, types, periods and size (one with utility floor area)."""
    rows = []
    for i, (dwellings, labels, extra) in enumerate(
        [
            (120.0, {"c": 30.0, "e": 40.0, "g": 20.0}, {"n_terraced": 80.0, "n_apartment": 40.0}),
            (60.0, {"a": 10.0, "b": 40.0}, {"n_built_since_2006": 50.0, "n_built_1975_1991": 10.0}),
            (300.0, {"d": 100.0, "f": 120.0}, {"n_detached": 100.0, "n_semi_detached": 200.0}),
        ]
    ):
        counts = {f"n_label_{label}": labels.get(label, 0.0) for label in LABELS}
        rows.append(
            {
                "buurt_code": f"BU0000000{i}",
                "dwellings": dwellings,
                "utility_floor_area_m2": 5000.0 if i == 2 else 0.0,
                "dwelling_floor_area_m2": dwellings * (90.0 + 20 * i),
                **counts,
                **extra,
            }
        )
    return pl.DataFrame(rows).fill_null(0.0)


def close(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns and a.height == b.height
    for column in a.columns:
        if a[column].dtype.is_float():
            assert (a[column].is_null() == b[column].is_null()).all(), column
            scale = b[column].abs().fill_null(0.0) + 1.0
            assert ((a[column] - b[column]).abs().fill_null(0.0) / scale).max() < 1e-9, column
        else:
            assert a[column].equals(b[column]), column


def test_building_configurations_cover_every_route_once():
    routes = routes_frame()
    configs, with_config = costs.building_configurations(routes)
    assert with_config.height == routes.height and with_config["_config"].null_count() == 0
    assert configs.height == 12  # 18 routes: heat sources do not change the buildings
    same = with_config.filter(pl.col("strategy").is_in(["S2a", "S2b"]))["_config"]
    assert same[0] == same[1]


def test_scenarios_move_no_quantity_parameter():
    """Labels, demand, capacity and energy use are computed once for all scenarios: no scenario may move a
    parameter they read."""
    central = load_cost_parameters("default", 2030)
    quantity_parameters = [n for n in central.scalars if "efficiency" in n or "spf" in n or "capacity" in n
                           or "space_share" in n or "utility_floor_area_per_object" in n]
    quantity_parameters = [n for n in quantity_parameters if not n.startswith(("grid_", "heat_"))]
    assert "boiler_efficiency_space" in quantity_parameters
    for scenario in SCENARIOS:
        varied = load_cost_parameters("default", 2030, scenario)
        assert {n: varied[n] for n in quantity_parameters} == {n: central[n] for n in quantity_parameters}
        demand = varied.kentallen.filter(~pl.col("name").str.starts_with("insulation_step"))
        assert demand.equals(central.kentallen.filter(~pl.col("name").str.starts_with("insulation_step")))


@pytest.mark.parametrize("parameter_set", ["default", "startanalyse-2020"])
def test_sensitivity_reusing_the_central_quantities_equals_full_reruns(parameter_set):
    frame = buurten()
    national = costs._national_costs_per_scenario(frame, parameter_set, 2030, SCENARIOS, None)
    for scenario in SCENARIOS:
        full = costs.evaluate_buurten(frame, parameter_set, 2030, scenario=scenario).sort("buurt_code", "strategy")
        close(national[scenario], full.select(national[scenario].columns))
    result = costs.sensitivity(frame, parameter_set, 2030)
    for scenario in costs.SENSITIVITY_SCENARIOS:
        best = costs.cheapest_routes(costs.evaluate_buurten(frame, parameter_set, 2030, scenario=scenario))
        mine = result.filter(pl.col("scenario") == scenario).sort("buurt_code")
        assert mine["cheapest_route"].to_list() == best["cheapest_route"].to_list()
        close(mine.select("cheapest_national_extra_cost_eur_per_weq", "margin_eur_per_weq"),
              best.select("cheapest_national_extra_cost_eur_per_weq", "margin_eur_per_weq"))
    # the investment scenarios really reprice the insulation steps
    low = national["low_investment"]["national_cost_eur_per_year"]
    assert (low < national["central"]["national_cost_eur_per_year"]).any()


def test_shared_building_run_equals_one_run_per_route():
    p = load_cost_parameters("default", 2030)
    groups = costs._buurt_groups(check_buurten(buurten()), p)
    per_route = evaluate_groups(groups, routes_frame(), p)
    sums = per_route.group_by("buurt_code", "strategy").agg(
        pl.col("national_capital_building_shell", "national_energy_electricity", "end_user_energy").sum()
    ).sort("buurt_code", "strategy")
    result = costs.evaluate_buurten(buurten(), "default", 2030).sort("buurt_code", "strategy")
    close(result.select(pl.col("national_capital_building_shell_eur_per_year").alias("national_capital_building_shell")),
          sums.select("national_capital_building_shell"))
    # S2a and S2b have the same buildings: the same building-level figures
    s2 = result.filter(pl.col("strategy").is_in(["S2a", "S2b"]))
    assert s2["investment_building_shell_eur"].n_unique() == s2["buurt_code"].n_unique()


def test_without_parameter_rows_is_the_same_table_minus_that_column():
    full = costs.evaluate_buurten(buurten(), "default", 2030)
    lean = costs.evaluate_buurten(buurten(), "default", 2030, with_parameter_rows=False)
    assert lean.columns == [c for c in full.columns if c != "parameter_rows"]
    close(lean, full.drop("parameter_rows"))
    rows = costs.route_parameter_rows("default")
    joined = full.select("strategy", "parameter_rows").join(rows, on="strategy", how="left", suffix="_route")
    assert (joined["parameter_rows"] == joined["parameter_rows_route"]).all()


def test_the_stored_figures_are_the_same_bits_every_run():
    """audit.table_hashes compares runs bit for bit. Polars adds floats in parallel, in an order that can change
    from run to run (the last bits of a sum move); the marts store 10 significant digits, which absorbs that."""
    many = pl.concat([buurten().with_columns(pl.col("buurt_code").str.replace("BU0000", f"BU{n:04d}"))
                      for n in range(60)])
    runs = [costs.evaluate_buurten(many, parameters="default", year=2030).sort("buurt_code", "strategy")
            for _ in range(4)]
    stored = [stored_precision(run) for run in runs]
    assert all(frame.equals(stored[0]) for frame in stored[1:])
    close(stored[0], runs[0])  # and rounding changes nothing that matters
