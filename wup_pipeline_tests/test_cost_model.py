"""The cost-benefit engine (wup_pipeline.model.costs): hand-computed figures, invariants and traceability.

Hand computations read the published values straight from the parameter CSVs, not through the model.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from wup_pipeline.model.cost_parameters import (
    PARAMETER_SETS,
    annuity_factor,
    delayed_annuity_factor,
    load_cost_parameters,
)
from wup_pipeline.model.costs import (
    OUTPUT_COLUMNS,
    ROUTE_CODES,
    buurt_inputs_from_marts,
    cheapest_routes,
    evaluate_buurten,
    evaluate_dwelling_groups,
    parameter_rows_by_column,
    sensitivity,
)
from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.errors import InputError

LABELS = "abcdefg"
SA = "startanalyse-2020"


def buurt(
    code: str = "BU00000001",
    dwellings: float = 100.0,
    area_per_dwelling: float = 100.0,
    labels: dict[str, float] | None = None,
    **extra: float,
) -> dict:
    """One buurt-summary row; ``labels`` maps a..g to counts (the rest has no registered label)."""
    counts = {f"n_label_{label}": 0.0 for label in LABELS}
    counts.update({f"n_label_{label}": value for label, value in (labels or {}).items()})
    return {
        "buurt_code": code,
        "dwellings": dwellings,
        "utility_floor_area_m2": 0.0,
        "dwelling_floor_area_m2": dwellings * area_per_dwelling,
        **counts,
        **extra,
    }


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows))


def general(name: str, parameter_set: str = SA, year: int = 2030) -> float:
    """A scalar of costs_general.csv as published (the row of ``year`` if the parameter has years)."""
    rows = load_parameters("costs_general").filter(pl.col("parameter_set") == parameter_set, pl.col("name") == name)
    dated = rows.filter(pl.col("year") == year)
    return float((dated if dated.height else rows)["value"][0])


def kental(name: str, building_type: str, period: str, label: str | None = None, parameter_set: str = SA) -> float:
    rows = load_parameters("costs_building_kentallen").filter(
        pl.col("parameter_set") == parameter_set,
        pl.col("sector") == "dwelling",
        pl.col("building_type") == building_type,
        pl.col("build_year_class") == period,
        pl.col("name") == name,
    )
    if label is not None:
        rows = rows.filter(pl.col("label_from") == label)
    assert rows.height == 1, (name, building_type, period, label)
    return float(rows["value"][0])


def route(results: pl.DataFrame, strategy: str, code: str = "BU00000001") -> dict:
    return results.filter(pl.col("buurt_code") == code, pl.col("strategy") == strategy).row(0, named=True)


# -- annualisation ------------------------------------------------------------------------------------


def test_annuity_factor_by_hand():
    # 3 %/yr over 30 years: 0.03 / (1 - 1.03^-30) = 0.0510193
    assert annuity_factor(0.03, 30) == pytest.approx(0.0510193, abs=1e-7)
    assert annuity_factor(0.0, 10) == pytest.approx(0.1)
    # the sum of the discounted payments repays the investment
    assert sum(annuity_factor(0.055, 15) / 1.055**t for t in range(1, 16)) == pytest.approx(1.0)


def test_delayed_annuity_factor_is_one_over_the_discounted_years():
    # heat networks: deliveries in years 3..30 (after two years of construction) pay back the investment
    present_value = sum(1.03**-t for t in range(3, 31))
    assert delayed_annuity_factor(0.03, 2, 30) == pytest.approx(1 / present_value)
    assert delayed_annuity_factor(0.03, 2, 30) > annuity_factor(0.03, 28)


# -- one route by hand --------------------------------------------------------------------------------


def test_green_gas_boiler_for_one_dwelling_group_by_hand():
    """S4b (HR boiler on green gas, shell label B) for terraced 1975-1991 dwellings that already have
    label B: no insulation, the same boiler, so the national extra cost is only the green-gas premium
    on the gas the boiler burns; the end user pays that premium plus VAT (energy tax is the same)."""
    area = 100.0
    groups = pl.DataFrame(
        {
            "buurt_code": ["BU00000001"],
            "dwelling_type_class": ["terraced"],
            "build_year_class": ["1975 - 1991"],
            "energy_label_class": ["B"],
            "owner_type": ["owner_occupied"],
            "dwellings": [10],
            "floor_area_m2": [10 * area],
        }
    )
    result = evaluate_dwelling_groups(groups, SA, 2030, strategies=("S4b",))
    s4b = result.filter(pl.col("strategy") == "S4b").row(0, named=True)

    space = (
        kental("space_heating_fixed", "rijwoning tussen", "1975 - 1991", "B")
        + kental("space_heating_per_m2", "rijwoning tussen", "1975 - 1991", "B") * area
    )
    hot_water = (
        kental("hot_water_fixed", "rijwoning tussen", "1975 - 1991")
        + kental("hot_water_per_m2", "rijwoning tussen", "1975 - 1991") * area
    )
    gas_gj = space / general("boiler_efficiency_space") + hot_water / general("boiler_efficiency_hot_water")
    m3_per_gj = 1000.0 / general("gas_lower_heating_value")
    premium_per_gj = (general("green_gas_price_national_small") - general("gas_price_national_small")) * m3_per_gj
    # e.g. (0.788 - 0.368) EUR/m3 x 31.6 m3/GJ = 13.3 EUR/GJ
    assert s4b["space_heating_demand_gj_per_dwelling"] == pytest.approx(space)
    assert s4b["share_insulated"] == 0.0
    assert s4b["national_extra_cost_buildings_eur_per_dwelling_year"] == pytest.approx(gas_gj * premium_per_gj)
    assert s4b["end_user_extra_cost_owner_eur_per_dwelling_year"] == pytest.approx(
        gas_gj * premium_per_gj * (1 + general("vat_rate"))
    )


def test_green_gas_route_for_one_buurt_by_hand():
    """S4b in a buurt where every dwelling has label A: national extra cost = green gas x premium."""
    results = evaluate_buurten(frame(buurt(labels={"a": 100.0})), SA, 2030, strategies=("S4b",))
    reference, s4b = route(results, "reference"), route(results, "S4b")
    premium_per_gj = (
        (general("green_gas_price_national_small") - general("gas_price_national_small"))
        * 1000.0
        / general("gas_lower_heating_value")
    )
    assert s4b["green_gas_gj"] == pytest.approx(reference["natural_gas_gj"])
    assert s4b["investment_building_shell_eur"] == 0.0
    assert s4b["national_extra_cost_eur_per_year"] == pytest.approx(s4b["green_gas_gj"] * premium_per_gj)
    assert s4b["national_extra_cost_eur_per_weq"] == pytest.approx(s4b["national_extra_cost_eur_per_year"] / 100.0)
    # all direct CO2 is avoided (green gas counts as zero)
    assert s4b["co2_reduction_ton_per_year"] == pytest.approx(reference["co2_emission_ton_per_year"])
    co2_per_gj = general("co2_gas") * 1000.0 / general("gas_lower_heating_value") / 1000.0
    assert reference["co2_emission_ton_per_year"] == pytest.approx(reference["natural_gas_gj"] * co2_per_gj)


# -- invariants ---------------------------------------------------------------------------------------

MIXED = buurt(
    labels={"a": 10, "b": 10, "c": 20, "d": 15, "e": 10, "f": 10, "g": 5},
    n_owner_occupied=50,
    n_private_rent=20,
    n_corporation=30,
    household_income_eur=40000.0,
    utility_floor_area_m2=2600.0,
)


@pytest.mark.parametrize("parameter_set", PARAMETER_SETS)
def test_reference_route_has_no_extra_cost(parameter_set):
    results = evaluate_buurten(frame(MIXED), parameter_set, 2030)
    assert set(results["strategy"]) == set(ROUTE_CODES)
    assert results.columns == list(OUTPUT_COLUMNS)
    reference = route(results, "reference")
    for column in (
        "national_extra_cost_eur_per_year",
        "national_extra_cost_eur_per_weq",
        "co2_reduction_ton_per_year",
        "end_user_extra_cost_eur_per_dwelling_year",
        "end_user_extra_cost_occupant_eur_per_dwelling_year",
        "investment_building_shell_eur",
        "warmtefonds_loan_eur_per_dwelling",
    ):
        assert reference[column] == pytest.approx(0.0, abs=1e-6), column
    assert reference["national_extra_cost_eur_per_ton_co2"] is None
    assert reference["woningequivalents"] == pytest.approx(100 + 2600 / 130)
    # every other route removes CO2 and costs something nationally in this buurt
    others = results.filter(pl.col("strategy") != "reference")
    assert (others["co2_reduction_ton_per_year"] > 0).all()
    assert others["national_extra_cost_eur_per_year"].is_not_null().all()


def test_more_insulation_steps_cost_more():
    worse = buurt("BU00000002", labels={"g": 100.0})
    better = buurt("BU00000003", labels={"c": 100.0})
    best = buurt("BU00000004", labels={"a": 100.0})
    results = evaluate_buurten(frame(worse, better, best), SA, 2030, strategies=("S4b", "S4d"))
    shell = {
        (r["buurt_code"], r["strategy"]): r["investment_building_shell_eur"] for r in results.iter_rows(named=True)
    }
    # G -> B costs more than C -> B; A needs no step
    assert shell[("BU00000002", "S4b")] > shell[("BU00000003", "S4b")] > shell[("BU00000004", "S4b")] == 0.0
    # to label B costs more than to label D; C is already better than D
    assert shell[("BU00000002", "S4b")] > shell[("BU00000002", "S4d")] > 0.0
    assert shell[("BU00000003", "S4d")] == 0.0
    insulated = {(r["buurt_code"], r["strategy"]): r["dwellings_insulated"] for r in results.iter_rows(named=True)}
    assert insulated[("BU00000002", "S4b")] == pytest.approx(100.0)
    # and the insulated dwellings need less heat
    assert (
        route(results, "S4b", "BU00000002")["space_heating_demand_gj"]
        < route(results, "S4d", "BU00000002")["space_heating_demand_gj"]
        < route(results, "reference", "BU00000002")["space_heating_demand_gj"]
    )


def test_end_user_costs_include_taxes_and_national_costs_exclude_them():
    """Same buurt, same quantities: the end-user energy bill uses energy tax, surcharges and VAT; the
    national energy cost does not."""
    results = evaluate_buurten(frame(buurt(labels={"b": 100.0})), SA, 2030, strategies=("S1a",))
    reference = route(results, "reference")
    gas_m3 = reference["natural_gas_gj"] * 1000.0 / general("gas_lower_heating_value")
    kwh = reference["electricity_gj"] * 1e6 / 3600.0
    national_energy = (
        reference["national_energy_natural_gas_eur_per_year"] + reference["national_energy_electricity_eur_per_year"]
    )
    assert national_energy == pytest.approx(
        gas_m3 * general("gas_price_national_small") + kwh * general("electricity_price_national_small")
    )
    gas_fixed = sum(
        general(f"gas_fixed_charge_{part}") for part in ("standing", "connection", "meter", "capacity", "supply")
    )
    end_user = (
        gas_m3
        * (general("gas_price_national_small") + general("gas_energy_tax_small") + general("gas_sde_surcharge_small"))
        + kwh
        * (
            general("electricity_price_national_small")
            + general("electricity_energy_tax_small")
            + general("electricity_sde_surcharge_small")
        )
        + 100 * gas_fixed
    ) * (1 + general("vat_rate"))
    assert reference["end_user_energy_cost_eur_per_dwelling_year"] == pytest.approx(end_user / 100)
    assert reference["end_user_energy_cost_eur_per_dwelling_year"] > 1.5 * national_energy / 100
    # investments: the end user pays VAT and gets the ISDE subsidy for a heat pump; national costs see neither
    s1a = route(results, "S1a")
    assert s1a["end_user_subsidy_eur_per_dwelling"] > 0
    national_investment = (
        s1a["investment_building_shell_eur"]
        + s1a["investment_installations_eur"]
        + s1a["investment_low_temperature_emitters_eur"]
    ) / 100
    assert s1a["end_user_investment_eur_per_dwelling"] == pytest.approx(
        s1a["investment_building_shell_eur"] / 100 * (1 + general("vat_rate_building_improvement"))
        + (s1a["investment_installations_eur"] + s1a["investment_low_temperature_emitters_eur"])
        / 100
        * (1 + general("vat_rate"))
        - s1a["end_user_subsidy_eur_per_dwelling"]
    )
    assert s1a["end_user_investment_eur_per_dwelling"] != pytest.approx(national_investment)


def test_koppelkansen_lower_the_cost_when_given():
    plain = buurt("BU00000005", labels={"c": 60.0, "e": 40.0})
    shared = buurt("BU00000006", labels={"c": 60.0, "e": 40.0}, koppelkans_share=0.5)
    results = evaluate_buurten(frame(plain, shared), SA, 2030, strategies=("S1a", "S2a", "S4d"))
    for strategy in ("S1a", "S2a"):  # the gas grid goes, a heat network is dug
        without, with_ = route(results, strategy, "BU00000005"), route(results, strategy, "BU00000006")
        assert without["koppelkans_saving_eur_per_year"] == 0.0
        assert with_["koppelkans_saving_eur_per_year"] > 0.0
        assert with_["national_cost_eur_per_year"] == pytest.approx(
            without["national_cost_eur_per_year"] - with_["koppelkans_saving_eur_per_year"]
        )
    # the reference and a green-gas boiler (gas grid stays, no extra grid load) dig nothing
    assert route(results, "reference", "BU00000006")["koppelkans_saving_eur_per_year"] == 0.0
    assert route(results, "S4d", "BU00000006")["koppelkans_saving_eur_per_year"] == 0.0


def test_sensitivity_detects_a_flip():
    """Label-D terraced-size dwellings, green gas with a boiler (S4d) or a hybrid heat pump (S4c): at
    central prices the boiler is cheaper; at the high green-gas price of the energy-price range the
    hybrid pays off; at low prices nothing changes."""
    buurten = frame(buurt(labels={"d": 100.0}))
    central = cheapest_routes(evaluate_buurten(buurten, "default", 2030, strategies=("S4c", "S4d")), ("S4c", "S4d"))
    assert central["cheapest_route"][0] == "S4d"
    assert central["runner_up_route"][0] == "S4c"
    assert central["margin_eur_per_weq"][0] > 0
    result = sensitivity(buurten, "default", 2030, strategies=("S4c", "S4d"))
    by_scenario = {r["scenario"]: r for r in result.iter_rows(named=True)}
    assert set(by_scenario) == {"low_energy_prices", "high_energy_prices", "low_investment", "high_investment"}
    assert by_scenario["high_energy_prices"]["cheapest_route"] == "S4c"
    assert by_scenario["high_energy_prices"]["same_as_central"] is False
    assert by_scenario["low_energy_prices"]["same_as_central"] is True
    assert all(r["central_cheapest_route"] == "S4d" for r in by_scenario.values())


def test_cheapest_routes_margin():
    results = evaluate_buurten(frame(MIXED), SA, 2030, strategies=("S1a", "S1b", "S4a", "S4b", "S4c", "S4d"))
    cheapest = cheapest_routes(results).row(0, named=True)
    costs = results.filter(pl.col("strategy") != "reference").sort("national_cost_eur_per_year")
    assert cheapest["cheapest_route"] == costs["strategy"][0]
    assert cheapest["runner_up_route"] == costs["strategy"][1]
    assert cheapest["margin_eur_per_year"] == pytest.approx(
        costs["national_cost_eur_per_year"][1] - costs["national_cost_eur_per_year"][0]
    )


def test_end_user_view_per_owner_type_and_income():
    results = evaluate_buurten(frame(MIXED), SA, 2030, strategies=("S1a",))
    s1a = route(results, "S1a")
    shares = {"owner_occupier": 0.5, "private": 0.2, "corporation": 0.3}
    tenant = s1a["end_user_extra_cost_private_tenant_eur_per_dwelling_year"]
    assert s1a["end_user_extra_cost_eur_per_dwelling_year"] == pytest.approx(
        shares["owner_occupier"] * s1a["end_user_extra_cost_owner_occupier_eur_per_dwelling_year"]
        + shares["private"] * (s1a["end_user_extra_cost_private_landlord_eur_per_dwelling_year"] + tenant)
        + shares["corporation"] * (s1a["end_user_extra_cost_corporation_eur_per_dwelling_year"] + tenant)
    )
    assert s1a["extra_cost_share_of_household_income"] == pytest.approx(
        s1a["end_user_extra_cost_occupant_eur_per_dwelling_year"] / 40000.0
    )
    # Warmtefonds: the loan covers the extra investment up to the maximum, the rest is paid up front
    extra_investment = (
        s1a["end_user_investment_eur_per_dwelling"]
        - route(results, "reference")["end_user_investment_eur_per_dwelling"]
    )
    assert s1a["warmtefonds_loan_eur_per_dwelling"] + s1a["upfront_payment_eur_per_dwelling"] == pytest.approx(
        extra_investment
    )
    assert s1a["warmtefonds_loan_eur_per_dwelling"] <= general("warmtefonds_max_loan")
    assert s1a["monthly_cost_change_owner_occupier_eur"] is not None


def test_dwelling_groups_share_the_building_code():
    groups = pl.DataFrame(
        {
            "buurt_code": ["BU00000001"] * 4,
            "dwelling_type_class": ["terraced", "terraced", "apartment_low_mid", None],
            "build_year_class": ["1946 - 1964", "1946 - 1964", "1975 - 1991", None],
            "energy_label_class": ["E", "E", None, "C"],
            "owner_type": ["owner_occupied", "corporation", "private_rent", None],
            "dwellings": [10, 20, 30, 5],
            "floor_area_m2": [1000.0, 2000.0, 2100.0, 450.0],
        }
    )
    result = evaluate_dwelling_groups(groups, "default", 2030)
    assert result.height == 4 * len(ROUTE_CODES)
    assert result.filter(pl.col("strategy") == "reference")[
        "end_user_extra_cost_owner_eur_per_dwelling_year"
    ].abs().max() == pytest.approx(0.0, abs=1e-9)
    s1a = result.filter(pl.col("strategy") == "S1a").sort("dwellings")
    owner, corporation = (
        s1a.filter(pl.col("owner_type") == "owner_occupied").row(0, named=True),
        s1a.filter(pl.col("owner_type") == "corporation").row(0, named=True),
    )
    # same dwellings: the same investment; the owner-occupier bears energy and capital, the corporation's
    # tenant only the energy change and the rent increase
    assert owner["end_user_investment_eur_per_dwelling"] == pytest.approx(
        corporation["end_user_investment_eur_per_dwelling"]
    )
    assert (
        owner["end_user_extra_cost_occupant_eur_per_dwelling_year"]
        == owner["end_user_extra_cost_owner_eur_per_dwelling_year"]
    )
    assert corporation["end_user_extra_cost_occupant_eur_per_dwelling_year"] != pytest.approx(
        corporation["end_user_extra_cost_owner_eur_per_dwelling_year"]
    )
    assert result["end_user_investment_eur_per_dwelling"].is_not_null().all()


# -- marts -> buurt inputs ----------------------------------------------------------------------------


def test_buurt_inputs_from_marts():
    housing = pl.DataFrame(
        {
            "buurt_code": ["BU1", "BU2"],
            "dwellings": [100, 50],
            "total_floor_area_m2": [9000.0, 6000.0],
            **{f"n_label_{label}": [10, 5] for label in LABELS},
            "n_apartment": [60, 0],
            "n_terraced": [40, 50],
            "n_owner_occupied": [50, 40],
            "n_private_rent": [20, 5],
            "n_corporation": [30, 5],
        }
    )
    socio = pl.DataFrame(
        {
            "buurt_code": ["BU1", "BU2"],
            "income_per_inhabitant_eur": [30000.0, 40000.0],
            "inhabitants": [220, 100],
            "households": [100, 50],
        }
    )
    infrastructure = pl.DataFrame(
        {
            "buurt_code": ["BU1", "BU1", "BU2"],
            "asset": ["riolering", "weg", "riolering"],
            "in_plan_window": [True, True, False],
            "length_in_window_m": [300.0, 100.0, 500.0],
        }
    )
    inputs = buurt_inputs_from_marts(housing, socio, infrastructure)
    row = inputs.filter(pl.col("buurt_code") == "BU1").row(0, named=True)
    assert row["dwelling_floor_area_m2"] == 9000.0
    assert row["household_income_eur"] == pytest.approx(30000.0 * 220 / 100)
    assert 0 < row["koppelkans_share"] <= 1
    assert row["koppelkans_assets"] == 2
    assert inputs.filter(pl.col("buurt_code") == "BU2")["koppelkans_share"][0] == 0.0  # outside the window
    results = evaluate_buurten(inputs, "default", 2030)
    assert results.height == 2 * len(ROUTE_CODES)
    with pytest.raises(InputError, match="column is missing"):
        buurt_inputs_from_marts(housing.drop("n_label_c"))


# -- parameters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("parameter_set", PARAMETER_SETS)
def test_both_parameter_sets_load(parameter_set):
    p = load_cost_parameters(parameter_set, 2030)
    assert 0 < p["discount_rate_national"] < 0.1
    assert p["gas_lower_heating_value"] == pytest.approx(31.65)
    assert p.kentallen.height > 1000
    assert p.stock["value"].sum() > 7e6  # dwellings alone are over 7 million
    for table in ("costs_general", "costs_building_kentallen", "costs_building_stock"):
        rows = load_parameters(table).filter(pl.col("parameter_set") == parameter_set)
        assert rows.height > 0
        assert rows["source"].is_not_null().all() and (rows["source"].str.len_chars() > 10).all(), table
        assert rows["unit"].is_not_null().all(), table


def test_parameter_sets_differ_where_documented():
    old, new = load_cost_parameters(SA, 2030), load_cost_parameters("default", 2030)
    assert old["discount_rate_national"] == pytest.approx(0.03)
    assert new["discount_rate_national"] == pytest.approx(0.0225)
    assert new["gas_energy_tax_small"] == pytest.approx(0.57816)


@pytest.mark.parametrize("parameter_set", PARAMETER_SETS)
def test_parameter_rows_are_traceable(parameter_set):
    """Every row id named for a cost column or a route exists in the parameter files."""
    tables = {
        name: load_parameters(name)
        for name in ("costs_general", "costs_building_kentallen", "costs_building_stock", "label_distribution")
    }

    def exists(row_id: str) -> bool:
        file, parameter_set_, name = row_id.split(":")
        table = tables[file]
        return table.filter(pl.col("parameter_set") == parameter_set_, pl.col("name") == name).height > 0

    by_column = parameter_rows_by_column(parameter_set)
    cost_columns = [
        c
        for c in OUTPUT_COLUMNS
        if c.startswith(
            ("national_", "gas_network", "koppelkans_saving", "co2_emission", "end_user_extra_cost_eur", "monthly_cost")
        )
    ]
    assert set(cost_columns) <= set(by_column["column"])
    missing = [row for row in by_column["parameter_row"].unique() if not exists(row)]
    assert missing == []
    results = evaluate_buurten(frame(MIXED), parameter_set, 2030)
    used = {row for rows in results["parameter_rows"] for row in rows}
    assert used and all(exists(row) for row in used)
    s1a_rows = set(route(results, "S1a")["parameter_rows"])
    assert f"costs_general:{parameter_set}:heat_pump_air_invest_fixed" in s1a_rows
    assert f"costs_general:{parameter_set}:heat_connection_ground_level" not in s1a_rows


def test_year_interpolates_published_prices():
    p2027 = load_cost_parameters(SA, 2027)
    expected = general("green_gas_price_national_small", year=2025) + 0.4 * (
        general("green_gas_price_national_small", year=2030) - general("green_gas_price_national_small", year=2025)
    )
    assert p2027["green_gas_price_national_small"] == pytest.approx(expected)
    assert math.isclose(
        load_cost_parameters(SA, 2060)["green_gas_price_national_small"],
        general("green_gas_price_national_small", year=2050),
    )


# -- bad input ----------------------------------------------------------------------------------------


def test_bad_buurt_input_is_named():
    with pytest.raises(InputError, match="column is missing") as error:
        evaluate_buurten(frame(buurt()).drop("n_label_g"))
    assert "n_label_g" in str(error.value)
    with pytest.raises(InputError, match="more than") as error:
        evaluate_buurten(frame(buurt(dwellings=10, labels={"a": 8, "b": 5})))
    assert "BU00000001" in str(error.value)
    with pytest.raises(InputError, match="negative"):
        evaluate_buurten(frame(buurt(dwellings=-1)))
    with pytest.raises(InputError, match="more than once"):
        evaluate_buurten(frame(buurt(), buurt()))
    with pytest.raises(InputError, match="unknown parameter set"):
        evaluate_buurten(frame(buurt()), "vesta-2016")
    with pytest.raises(InputError, match="unknown route"):
        evaluate_buurten(frame(buurt()), strategies=("S9z",))


def test_bad_group_input_is_named():
    groups = pl.DataFrame(
        {
            "buurt_code": ["BU1"],
            "dwelling_type_class": ["terraced"],
            "build_year_class": ["1975 - 1991"],
            "energy_label_class": ["H"],
            "owner_type": ["owner_occupied"],
            "dwellings": [3],
            "floor_area_m2": [300.0],
        }
    )
    with pytest.raises(InputError, match="not one of A..G"):
        evaluate_dwelling_groups(groups)
    with pytest.raises(InputError, match="owner type"):
        evaluate_dwelling_groups(
            groups.with_columns(pl.lit("B").alias("energy_label_class"), pl.lit("landlord").alias("owner_type"))
        )
    with pytest.raises(InputError, match="column is missing"):
        evaluate_dwelling_groups(groups.drop("floor_area_m2"))


def test_empty_input_gives_empty_output():
    empty = frame(buurt()).clear()
    assert evaluate_buurten(empty).is_empty()


# -- derivation ---------------------------------------------------------------------------------------

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.shared_data
def test_cost_parameter_files_are_derived_from_the_published_sources(tmp_path):
    """The shipped costs_*.csv are exactly what derive_costs makes of ../shared/data."""
    if not (SHARED_DATA / "vesta_startanalyse2020").is_dir() or not (SHARED_DATA / "vesta_kentallen").is_dir():
        pytest.skip(f"the Vesta parameter sources are absent from {SHARED_DATA} (../shared/data)")
    from wup_pipeline.parameters import derive_costs

    assert derive_costs.main([str(SHARED_DATA), str(tmp_path)]) == 0
    package = Path(derive_costs.__file__).parent
    for name in ("costs_general", "costs_building_kentallen", "costs_building_stock"):
        assert (tmp_path / f"{name}.csv").read_bytes() == (package / f"{name}.csv").read_bytes(), name
