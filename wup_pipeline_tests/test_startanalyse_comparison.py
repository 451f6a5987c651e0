"""The cost model against PBL's Startanalyse 2020 (Vesta MAIS) for 37 buurten of Blaricum, Laren and
Weesp (../shared/reference/startanalyse_gooi_vecht_2019).

Prints the comparison figures of benchmarks/compare_startanalyse.py (run pytest with -s to see them)
and asserts only what holds and is stable; the aims (median deviation <= 10 %, rank correlation >= 0.8,
same cheapest route >= 80 % for S1a, S1b, S4a..S4d) are not all met and are not asserted. Why they
are missed: docs/cost-model.md, section 'Comparison with the Startanalyse'.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference" / "startanalyse_gooi_vecht_2019" / "startanalyse_LN"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not REFERENCE.is_dir(), reason=f"{REFERENCE} is absent (the Startanalyse reference results live in ../shared)"
    ),
]


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location(
        "compare_startanalyse", ROOT / "benchmarks" / "compare_startanalyse.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures(benchmark):
    result = benchmark.compare(SHARED, "startanalyse-2020")
    print("\n" + benchmark.report(result))
    return result


def _row(figures, strategy: str) -> dict:
    return figures["per_strategy"].filter(pl.col("strategy") == strategy).row(0, named=True)


def test_all_reference_buurten_with_dwellings_are_compared(figures, benchmark):
    per_strategy = figures["per_strategy"]
    # every strategy the model implements (S3a is not) is compared
    assert set(per_strategy["strategy"]) == set(benchmark.STRATEGY_DIRS.values()) - {"S3a"}
    assert _row(figures, "S1b")["buurten"] == 37
    assert _row(figures, "S1a")["buurten"] == 26  # H18 of S1a is empty in 11 buurten
    assert figures["cheapest"].height == 37


def test_rank_correlation_of_the_heat_pump_routes(figures):
    # the heat-pump routes rank the buurten as Vesta does (0.90 and 0.83 when written)
    for strategy in ("S1a", "S1b"):
        assert _row(figures, strategy)["spearman"] >= 0.8, strategy
    # and every route ranks them in the same direction
    assert (figures["per_strategy"]["spearman"] > 0.3).all()


def test_cheapest_route_beats_always_the_same_route(figures, benchmark):
    summary = benchmark.summary(figures)
    # 68 % same cheapest route when written, against 54 % for 'always S4d' (the most frequent winner)
    assert summary["same_cheapest"] > summary["baseline_most_common_winner"]
    # the family (S1 vs S4) is right as often as 'S4 always wins' (86 %), not more
    assert summary["model_same_family"] >= summary["baseline_s4_family_wins"] - 1e-9


def test_level_is_below_vesta_for_every_route(figures):
    """Not an aim but the main finding: the model's national extra cost per woningequivalent is below
    H18 for every route (Vesta's non-energy terms are 1.3-1.9 kEUR/WEQ/yr higher, see the docs), so the
    median deviation is far above 10 % and above the constant baseline."""
    per_strategy = figures["per_strategy"]
    assert (per_strategy["median_model_eur_per_weq"] < per_strategy["median_h18_eur_per_weq"]).all()
    assert (per_strategy["median_abs_deviation"] > per_strategy["constant_baseline_median_abs_deviation"]).all()


def test_the_gap_is_not_in_the_energy_term(figures):
    """The quantities behind the energy term are close to Vesta's (medians within 30 %) and Vesta's own
    volumes at the same prices give nearly the same energy cost (within 200 EUR/WEQ/yr), while the rest
    of H18 is higher than the model's non-energy costs in at least 90 % of the buurten."""
    quantities = figures["quantities"]
    for column in ("space_heating_demand_ratio", "electricity_ratio"):
        assert quantities[column].is_between(0.7, 1.3).all(), column
    assert quantities["gas_ratio"].drop_nulls().is_between(0.7, 1.3).all()
    assert (quantities["energy_gap_eur_per_weq"].abs() < 200).all()
    routes = quantities.filter(pl.col("strategy") != "reference")
    assert (routes["other_gap_p10_eur_per_weq"] > 0).all()
