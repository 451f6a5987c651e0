"""Cost-benefit engine for the routes off natural gas ("De balans opmaken").

Bottom-up: quantities (dwellings, floor area, label steps, kW, metres, GJ) times published
parameters (``wup_pipeline/parameters/costs_*.csv``, two sets: ``default`` = 2024/2025 values,
``startanalyse-2020`` = PBL Vesta as used for the Startanalyse aardgasvrije buurten 2020).
Pure functions over polars frames; method, formulas, sources and the comparison with the
Startanalyse: docs/cost-model.md.

Public API:

- :func:`evaluate_buurten` - buurt totals in, one row per buurt x route out (national and end-user
  costs, components, CO2, affordability, financing, parameter rows).
- :func:`evaluate_dwelling_groups` - the end-user view per dwelling group (type x build-year class x
  label x owner type), the same building-level cost code.
- :func:`buurt_inputs_from_marts` - marts.housing_stock_buurt (+ socio-economics, infrastructure) ->
  the input of :func:`evaluate_buurten`.
- :func:`cheapest_routes`, :func:`sensitivity`, :func:`parameter_rows_by_column`.
"""

from __future__ import annotations

import polars as pl

from wup_pipeline.model.cost_components import OWNER_TYPES, group_quantities, replace_step_costs, route_costs
from wup_pipeline.model.cost_infrastructure import (
    gas_grid,
    grid_reinforcement,
    heat_networks,
    koppelkansen,
    national_woningequivalents,
    network_lengths,
)
from wup_pipeline.model.cost_parameters import (
    GENERAL_FILE,
    KENTALLEN_FILE,
    STOCK_FILE,
    CostParameters,
    annuity_factor,
    load_cost_parameters,
)
from wup_pipeline.model.cost_routes import BUILDING_ROUTES, REFERENCE, ROUTE_CODES, ROUTES, Route, routes_frame
from wup_pipeline.model.cost_stock import (
    LABELS,
    NO_LABEL,
    check_buurten,
    check_numbers,
    dwelling_groups_from_buurten,
    label_likelihood_row_ids,
    national_mix,
    utility_groups_from_buurten,
)
from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.errors import InputError

__all__ = [
    "BUILDING_ROUTES",
    "OUTPUT_COLUMNS",
    "ROUTE_CODES",
    "buurt_inputs_from_marts",
    "cheapest_routes",
    "evaluate_buurten",
    "evaluate_dwelling_groups",
    "parameter_rows_by_column",
    "route_parameter_rows",
    "sensitivity",
]

col = pl.col
BATCH_BUURTEN = 2000  # buurten per batch: bounds memory (about 600 groups x 18 routes per buurt)
KG_PER_TON = 1000.0
MONTHS_PER_YEAR = 12

# Output columns of evaluate_buurten, in order, with their unit (documented in docs/cost-model.md).
OUTPUT_COLUMNS: dict[str, str] = {
    "buurt_code": "code",
    "strategy": "route code (reference, S1a .. S4d)",
    "route_name": "text",
    "parameter_set": "name",
    "year": "year",
    "national_cost_eur_per_year": "EUR/yr",
    "national_extra_cost_eur_per_year": "EUR/yr",
    "national_extra_cost_eur_per_weq": "EUR/yr per woningequivalent",
    "national_extra_cost_eur_per_ton_co2": "EUR per ton CO2 avoided",
    "co2_reduction_ton_per_year": "ton CO2/yr",
    "end_user_extra_cost_eur_per_dwelling_year": "EUR/yr per dwelling",
    "dwellings": "dwellings",
    "utility_objects": "utility objects",
    "utility_floor_area_m2": "m2",
    "woningequivalents": "woningequivalents",
    "dwellings_insulated": "dwellings",
    "space_heating_demand_gj": "GJ/yr",
    "hot_water_demand_gj": "GJ/yr",
    "natural_gas_gj": "GJ/yr",
    "green_gas_gj": "GJ/yr",
    "electricity_gj": "GJ/yr",
    "heat_delivered_gj": "GJ/yr",
    "co2_emission_ton_per_year": "ton CO2/yr",
    "investment_building_shell_eur": "EUR",
    "investment_installations_eur": "EUR",
    "investment_low_temperature_emitters_eur": "EUR",
    "investment_grid_reinforcement_eur": "EUR",
    "investment_gas_grid_removal_eur": "EUR",
    "investment_heat_building_side_eur": "EUR",
    "investment_heat_network_distribution_eur": "EUR",
    "investment_heat_source_eur": "EUR",
    "investment_total_eur": "EUR",
    "national_capital_building_shell_eur_per_year": "EUR/yr",
    "national_capital_installations_eur_per_year": "EUR/yr",
    "national_capital_low_temperature_emitters_eur_per_year": "EUR/yr",
    "national_capital_grid_eur_per_year": "EUR/yr",
    "national_capital_gas_grid_removal_eur_per_year": "EUR/yr",
    "national_capital_heat_network_eur_per_year": "EUR/yr",
    "national_energy_natural_gas_eur_per_year": "EUR/yr",
    "national_energy_green_gas_eur_per_year": "EUR/yr",
    "national_energy_electricity_eur_per_year": "EUR/yr",
    "national_energy_heat_network_eur_per_year": "EUR/yr",
    "national_maintenance_eur_per_year": "EUR/yr",
    "gas_network_maintenance_eur_per_year": "EUR/yr",
    "koppelkans_share": "fraction of trenches shared",
    "koppelkans_saving_eur_per_year": "EUR/yr",
    "grid_excess_kw": "kW",
    "grid_new_substations": "MS-ruimtes",
    "heat_network_capacity_kw": "kW",
    "end_user_investment_eur_per_dwelling": "EUR per dwelling (incl. VAT, after ISDE)",
    "end_user_subsidy_eur_per_dwelling": "EUR per dwelling",
    "end_user_energy_cost_eur_per_dwelling_year": "EUR/yr per dwelling (incl. taxes and VAT)",
    "end_user_extra_cost_owner_occupier_eur_per_dwelling_year": "EUR/yr per dwelling",
    "end_user_extra_cost_private_landlord_eur_per_dwelling_year": "EUR/yr per dwelling",
    "end_user_extra_cost_private_tenant_eur_per_dwelling_year": "EUR/yr per dwelling",
    "end_user_extra_cost_corporation_eur_per_dwelling_year": "EUR/yr per dwelling",
    "end_user_extra_cost_corporation_tenant_eur_per_dwelling_year": "EUR/yr per dwelling",
    "end_user_extra_cost_occupant_eur_per_dwelling_year": "EUR/yr per dwelling",
    "household_income_eur": "EUR/yr",
    "extra_cost_share_of_household_income": "fraction",
    "warmtefonds_loan_eur_per_dwelling": "EUR per dwelling",
    "upfront_payment_eur_per_dwelling": "EUR per dwelling",
    "monthly_cost_change_owner_occupier_eur": "EUR/month per dwelling",
    "parameter_rows": "list of parameter row ids",
}

# Parameter names behind each cost column (rows of costs_general unless the file is named).
LABEL_SHARES = "label_distribution:share"  # the label shares placing labelled dwellings (not a cost-file row)
_ECONOMICS = ("discount_rate_national",)
_PRICES = (
    "gas_price_national_small",
    "gas_price_national_medium",
    "green_gas_price_national_small",
    "green_gas_price_national_medium",
    "electricity_price_national_small",
    "electricity_price_national_medium",
    "gas_lower_heating_value",
)
_DEMAND = (
    f"{KENTALLEN_FILE}:space_heating_fixed",
    f"{KENTALLEN_FILE}:space_heating_per_m2",
    f"{KENTALLEN_FILE}:hot_water_fixed",
    f"{KENTALLEN_FILE}:hot_water_per_m2",
    f"{KENTALLEN_FILE}:ventilation_fixed",
    f"{KENTALLEN_FILE}:ventilation_per_m2",
    f"{KENTALLEN_FILE}:appliances_fixed",
    f"{KENTALLEN_FILE}:appliances_per_m2",
    f"{KENTALLEN_FILE}:default_label",
    f"{STOCK_FILE}:national_stock",
    LABEL_SHARES,
    "utility_floor_area_per_object",
)
_EFFICIENCY = (
    "boiler_efficiency_space",
    "boiler_efficiency_hot_water",
    "heat_pump_air_spf_space_a",
    "heat_pump_air_spf_space_b",
    "heat_pump_air_spf_space_c",
    "heat_pump_air_spf_space_other",
    "heat_pump_air_spf_hot_water",
    "heat_pump_ground_spf_space_a",
    "heat_pump_ground_spf_space_b",
    "heat_pump_ground_spf_space_c",
    "heat_pump_ground_spf_space_other",
    "heat_pump_ground_spf_hot_water",
    "hybrid_heat_pump_spf_space_a",
    "hybrid_heat_pump_spf_space_b",
    "hybrid_heat_pump_spf_space_c",
    "hybrid_heat_pump_spf_space_other",
    "hybrid_heat_pump_space_share",
    "heat_pump_air_spf_space_utility",
    "heat_pump_ground_spf_space_utility",
    "heat_pump_spf_hot_water_utility",
    "hybrid_heat_pump_spf_space_utility",
    "hybrid_heat_pump_space_share_utility",
    "booster_heat_pump_spf",
)
_CAPACITY = (
    "space_heating_capacity_ground_level_fixed",
    "space_heating_capacity_ground_level_per_m2",
    "space_heating_capacity_apartment_fixed",
    "space_heating_capacity_apartment_per_m2",
    "space_heating_capacity_utility_per_m2",
    "hot_water_capacity_ground_level",
    "hot_water_capacity_apartment",
    "hot_water_capacity_utility_per_m2",
)
_INSTALLATIONS = (
    "lifetime_installation",
    "lifetime_ground_loop",
    "boiler_invest_fixed",
    "boiler_invest_per_kw_utility",
    "heat_pump_air_invest_fixed",
    "heat_pump_air_invest_per_kw",
    "heat_pump_air_invest_fixed_utility",
    "heat_pump_air_invest_per_kw_utility",
    "heat_pump_ground_invest_fixed",
    "heat_pump_ground_invest_per_kw",
    "heat_pump_ground_invest_fixed_utility",
    "heat_pump_ground_invest_per_kw_utility",
    "hybrid_heat_pump_invest_fixed",
    "hybrid_heat_pump_invest_per_kw",
    "hybrid_heat_pump_capacity_share",
    "hybrid_heat_pump_capacity_share_utility",
    "ground_loop_share",
    "booster_heat_pump_invest",
    "learning_boiler",
    "learning_heat_pump_air",
    "learning_heat_pump_ground",
    "learning_hybrid_heat_pump",
)
_SHELL = (
    "lifetime_building_shell",
    "learning_insulation_to_d_c",
    "learning_insulation_to_b",
    "learning_insulation_to_a",
    f"{KENTALLEN_FILE}:insulation_step_fixed",
    f"{KENTALLEN_FILE}:insulation_step_per_m2",
)
_LTAS = (
    "lifetime_low_temperature_emitters",
    "low_temperature_emitters_invest_ground_level",
    "low_temperature_emitters_invest_apartment",
    "low_temperature_emitters_invest_utility",
    "learning_low_temperature_emitters",
)
_GRID = (
    "lifetime_grid",
    "grid_capacity_appliances_dwelling",
    "grid_capacity_heat_pump_dwelling",
    "grid_capacity_hybrid_dwelling",
    "grid_capacity_appliances_utility_per_m2",
    "grid_capacity_heat_pump_utility_per_m2",
    "grid_capacity_hybrid_utility_per_m2",
    "grid_simultaneity_dwelling",
    "grid_simultaneity_utility",
    "grid_new_substation_cost",
    "grid_new_substation_capacity",
    "grid_lv_reinforcement_cost_per_m",
    "grid_connection_upgrade_cost",
    "grid_share_connections_3x25",
    "lv_network_length_nl",
    "ld_gas_network_length_nl",
    "learning_grid",
    "weq_utility_floor_area",
    f"{STOCK_FILE}:national_stock",
)
_GAS_GRID = (
    "lifetime_grid",
    "gas_connection_removal_low_rise",
    "gas_connection_removal_high_rise",
    "gas_connection_removal_utility",
    "gas_main_removal_cost_per_m",
    "ld_gas_network_length_nl",
    "learning_grid",
    "weq_utility_floor_area",
    f"{STOCK_FILE}:national_stock",
)
_GAS_MAINTENANCE = (
    "gas_network_maintenance_transmission_nl",
    "gas_network_maintenance_distribution_nl",
    "ld_gas_network_length_nl",
    "weq_utility_floor_area",
    f"{STOCK_FILE}:national_stock",
)
_HEAT_NETWORK = (
    "heat_network_first_year",
    "heat_network_last_year",
    "heat_connection_ground_level",
    "heat_connection_apartment",
    "heat_in_house_apartment",
    "heat_removal_old_installation",
    "heat_project_costs",
    "heat_connection_utility_per_m2",
    "heat_substation_cost_per_kw",
    "heat_substation_peak_loss",
    "heat_substation_capacity",
    "heat_pipe_cost_min_coefficient",
    "heat_pipe_cost_min_exponent",
    "heat_pipe_cost_max_coefficient",
    "heat_pipe_cost_max_exponent",
    "heat_transfer_station_cost_per_mw",
    "heat_transfer_station_capacity_share",
    "heat_source_capacity_share",
    "heat_source_volume_share",
    "heat_network_loss",
    "heat_peak_boiler_efficiency",
    "heat_simultaneity_space_dwelling",
    "heat_simultaneity_hot_water_dwelling",
    "heat_simultaneity_space_utility",
    "heat_simultaneity_hot_water_utility",
    "residual_heat_source_cost_per_kw",
    "geothermal_source_cost_per_kw",
    "collective_heat_pump_cost_per_kw",
    "collective_heat_pump_spf",
    "wko_source_cost_per_kw",
    "wko_source_minimum_cost",
    "wko_maintenance_per_connection",
    "teo_source_cost_fixed",
    "teo_source_cost_per_kw",
    "geothermal_electricity_per_heat",
    "residual_heat_electricity_per_heat",
    "heat_pump_energy_share",
    "maintenance_rate_heat_source",
    "maintenance_rate_heat_transfer_station",
    "maintenance_rate_heat_substation",
    "maintenance_rate_heat_network",
    "maintenance_rate_heat_in_house",
    "maintenance_rate_residual_heat_source",
    "maintenance_rate_geothermal_source",
    "heat_supplier_admin_share",
    "heat_fixed_charge_mt",
    "heat_fixed_charge_lt",
    "learning_heat_network",
    "learning_in_house",
    "learning_heat_connections",
    "learning_lt_source",
    "learning_geothermal",
    "learning_maintenance",
    "green_gas_price_national_medium",
    "green_electricity_price_national_medium",
)
_MAINTENANCE = (
    "maintenance_rate_boiler",
    "maintenance_rate_heat_pump_air",
    "maintenance_rate_heat_pump_ground",
    "maintenance_rate_hybrid",
    "maintenance_rate_heat_pump_utility",
    "maintenance_rate_heat_pump_ground_utility",
    "maintenance_rate_heat_in_house",
)
_END_USER = (
    "vat_rate",
    "vat_rate_building_improvement",
    "discount_rate_owner_occupier",
    "discount_rate_private_landlord",
    "discount_rate_corporation",
    "gas_energy_tax_small",
    "gas_sde_surcharge_small",
    "electricity_energy_tax_small",
    "electricity_sde_surcharge_small",
    "gas_fixed_charge_standing",
    "gas_fixed_charge_connection",
    "gas_fixed_charge_meter",
    "gas_fixed_charge_capacity",
    "gas_fixed_charge_supply",
    "heat_fixed_charge_mt",
    "heat_fixed_charge_lt",
    "heat_metering_charge",
    "heat_connection_fee",
    "isde_heat_pump_fixed",
    "isde_heat_pump_per_kw",
    "isde_heat_pump_kw_threshold",
    "split_incentive_landlord_share",
    "rent_reduction_collective_heat",
    "rent_reduction_share",
)
_FINANCING = (
    "warmtefonds_rate",
    "warmtefonds_rate_low_income",
    "warmtefonds_income_threshold",
    "warmtefonds_max_loan",
    "warmtefonds_term",
)
_CO2 = ("co2_gas", "gas_lower_heating_value")

COLUMN_PARAMETERS: dict[str, tuple[str, ...]] = {
    "national_capital_building_shell_eur_per_year": _ECONOMICS + _SHELL + _DEMAND,
    "national_capital_installations_eur_per_year": _ECONOMICS + _INSTALLATIONS + _CAPACITY + _DEMAND,
    "national_capital_low_temperature_emitters_eur_per_year": _ECONOMICS + _LTAS + _DEMAND,
    "national_capital_grid_eur_per_year": _ECONOMICS + _GRID + _DEMAND,
    "national_capital_gas_grid_removal_eur_per_year": _ECONOMICS + _GAS_GRID + _DEMAND,
    "national_capital_heat_network_eur_per_year": _ECONOMICS + _HEAT_NETWORK + _CAPACITY + _DEMAND + _EFFICIENCY,
    "national_energy_natural_gas_eur_per_year": _PRICES + _EFFICIENCY + _DEMAND,
    "national_energy_green_gas_eur_per_year": _PRICES + _EFFICIENCY + _DEMAND,
    "national_energy_electricity_eur_per_year": _PRICES + _EFFICIENCY + _DEMAND,
    "national_energy_heat_network_eur_per_year": _HEAT_NETWORK + _EFFICIENCY + _DEMAND,
    "national_maintenance_eur_per_year": _MAINTENANCE + _INSTALLATIONS + _HEAT_NETWORK,
    "gas_network_maintenance_eur_per_year": _GAS_MAINTENANCE,
    "koppelkans_saving_eur_per_year": (
        "koppelkans_trench_cost_per_m",
        "lifetime_grid",
        "heat_network_first_year",
        "heat_network_last_year",
        *_ECONOMICS,
    ),
    "co2_emission_ton_per_year": _CO2 + _EFFICIENCY + _DEMAND,
    "end_user_extra_cost_eur_per_dwelling_year": _END_USER + _SHELL + _INSTALLATIONS + _LTAS + _PRICES + _DEMAND,
    "monthly_cost_change_owner_occupier_eur": _FINANCING + _END_USER + _PRICES,
}
for _total in (
    "national_cost_eur_per_year",
    "national_extra_cost_eur_per_year",
    "national_extra_cost_eur_per_weq",
    "national_extra_cost_eur_per_ton_co2",
):
    COLUMN_PARAMETERS[_total] = tuple(
        dict.fromkeys(
            name
            for key, names in list(COLUMN_PARAMETERS.items())
            if key.startswith(("national_", "gas_network", "koppel"))
            for name in names
        )
    )
COLUMN_PARAMETERS["national_extra_cost_eur_per_ton_co2"] += _CO2


def _row_ids(p: CostParameters, name: str) -> tuple[str, ...]:
    if name == LABEL_SHARES:
        return label_likelihood_row_ids()
    if ":" in name:
        file, short = name.split(":", 1)
        return (p.row_id(short, file),)
    return (p.row_id(name, GENERAL_FILE),)


def parameter_rows_by_column(parameters: str = "default") -> pl.DataFrame:
    """(column, parameter_row) for every cost column of :func:`evaluate_buurten`; a row id is
    ``<file>:<parameter set>:<name>``, naming every row of that name in the file."""
    p = load_cost_parameters(parameters)
    records = [
        (column, row) for column, names in COLUMN_PARAMETERS.items() for name in names for row in _row_ids(p, name)
    ]
    return pl.DataFrame(records, schema=["column", "parameter_row"], orient="row").unique(maintain_order=True)


def _route_parameter_rows(p: CostParameters, route: Route) -> list[str]:
    names: list[str] = [
        *_ECONOMICS,
        *_PRICES,
        *_DEMAND,
        *_CO2,
        *_EFFICIENCY,
        *_END_USER,
        *_FINANCING,
        *_GAS_MAINTENANCE,
        "koppelkans_trench_cost_per_m",
    ]
    if route.target_label is not None:
        names += _SHELL
    names += _INSTALLATIONS + _CAPACITY + _MAINTENANCE + _GRID
    if route.low_temperature_emitters:
        names += _LTAS
    if route.gas_grid_removed:
        names += _GAS_GRID
    if route.heating == "heat_network":
        names += _HEAT_NETWORK
    return sorted({row for name in names for row in _row_ids(p, name)})


# -----------------------------------------------------------------------------------------------
# Aggregation of building groups to buurt x route


def _group_sums(frame: pl.LazyFrame, p: CostParameters, *, end_user: bool = True) -> pl.LazyFrame:
    """Sum the group rows to buurt x building configuration (``_config``), with the per-group grid and
    heat-network loads; ``end_user=False`` leaves out the end-user sums (never computed then)."""
    dwelling = col("sector") == "dwelling"
    heating = col("heating")
    grid_dwelling = (
        pl.when(heating.is_in(["heat_pump_air", "heat_pump_ground"]))
        .then(p["grid_capacity_heat_pump_dwelling"])
        .when(heating == "hybrid")
        .then(p["grid_capacity_hybrid_dwelling"])
        .otherwise(p["grid_capacity_appliances_dwelling"])
    )
    grid_utility = (
        pl.when(heating.is_in(["heat_pump_air", "heat_pump_ground"]))
        .then(p["grid_capacity_heat_pump_utility_per_m2"])
        .when(heating == "hybrid")
        .then(p["grid_capacity_hybrid_utility_per_m2"])
        .otherwise(p["grid_capacity_appliances_utility_per_m2"])
    )
    grid_kw = (
        pl.when(dwelling)
        .then(col("objects") * grid_dwelling * p["grid_simultaneity_dwelling"])
        .otherwise(col("floor_area_m2") * grid_utility * p["grid_simultaneity_utility"])
    )
    heat_load = (
        pl.when(dwelling)
        .then(
            col("space_heating_capacity_kw") * p["heat_simultaneity_space_dwelling"]
            + col("hot_water_capacity_kw") * p["heat_simultaneity_hot_water_dwelling"]
        )
        .otherwise(
            col("space_heating_capacity_kw") * p["heat_simultaneity_space_utility"]
            + col("hot_water_capacity_kw") * p["heat_simultaneity_hot_water_utility"]
        )
    )

    def dwellings_where(condition: pl.Expr) -> pl.Expr:
        return pl.when(dwelling & condition).then(col("objects")).otherwise(0.0).sum()

    summed = [
        "space_heating_gj",
        "hot_water_gj",
        "natural_gas_gj",
        "green_gas_gj",
        "electricity_gj",
        "heat_delivered_gj",
        "investment_building_shell",
        "investment_installation_15",
        "investment_installation_30",
        "investment_low_temperature_emitters",
        "investment_heat_building_side",
        "maintenance_eur",
        "national_capital_building_shell",
        "national_capital_installations",
        "national_capital_low_temperature_emitters",
        "national_capital_heat_building_side",
        "national_energy_natural_gas",
        "national_energy_green_gas",
        "national_energy_electricity",
    ]
    if end_user:
        summed += [
            "end_user_investment",
            "end_user_subsidy",
            "end_user_energy",
            "end_user_maintenance",
            *[f"end_user_capital_{owner}" for owner in OWNER_TYPES],
        ]
    return frame.group_by("buurt_code", "_config").agg(
        *[col(c).sum() for c in summed],
        dwellings_where(pl.lit(True)).alias("dwellings"),
        dwellings_where(col("insulated")).alias("dwellings_insulated"),
        dwellings_where(~col("is_apartment")).alias("low_rise_dwellings"),
        dwellings_where(col("is_apartment")).alias("high_rise_dwellings"),
        dwellings_where(heating.is_in(["heat_pump_air", "heat_pump_ground"])).alias("all_electric_dwellings"),
        pl.when(~dwelling).then(col("objects")).otherwise(0.0).sum().alias("utility_objects"),
        pl.when(~dwelling).then(col("floor_area_m2")).otherwise(0.0).sum().alias("utility_floor_area_m2"),
        grid_kw.sum().alias("grid_demand_kw"),
        heat_load.sum().alias("heat_network_load_kw"),
        col("objects").sum().alias("heat_connections"),
    )


def _with_reference(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    reference = frame.filter(col("strategy") == REFERENCE).select(
        "buurt_code", *[col(c).alias(f"{c}_reference") for c in columns]
    )
    return frame.join(reference, on="buurt_code", how="left")


def _buurt_costs(sums: pl.DataFrame, buurten: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Buurt-level components, totals and indicators (national)."""
    optional = [
        c
        for c in (
            "grid_capacity_kw",
            "gas_network_length_m",
            "lv_network_length_m",
            "koppelkans_share",
            "koppelkans_assets",
        )
        if c in buurten.columns
    ]
    frame = sums.join(buurten.select("buurt_code", *optional), on="buurt_code", how="left").with_columns(
        (col("dwellings") + col("utility_floor_area_m2") / p["weq_utility_floor_area"]).alias("woningequivalents")
    )
    frame = _with_reference(frame, ["grid_demand_kw"])
    frame = network_lengths(frame, p)
    frame = grid_reinforcement(frame, p)
    frame = gas_grid(frame, p)
    frame = heat_networks(frame, p)
    frame = koppelkansen(frame, p)
    r = p["discount_rate_national"]
    grid_annuity = annuity_factor(r, p["lifetime_grid"])
    co2_per_gj = p["co2_gas"] / (p["gas_lower_heating_value"] / 1000.0)
    frame = frame.with_columns(
        (col("investment_grid_reinforcement") * grid_annuity).alias("national_capital_grid_eur_per_year"),
        (col("investment_gas_grid_removal") * grid_annuity).alias("national_capital_gas_grid_removal_eur_per_year"),
        (col("national_capital_heat_network") + col("national_capital_heat_building_side")).alias(
            "national_capital_heat_network_eur_per_year"
        ),
        (col("maintenance_eur") + col("heat_network_maintenance_eur")).alias("national_maintenance_eur_per_year"),
        (col("natural_gas_gj") * co2_per_gj / KG_PER_TON).alias("co2_emission_ton_per_year"),
        (col("green_gas_gj") + col("heat_network_green_gas_gj")).alias("green_gas_gj"),
        (col("electricity_gj") + col("heat_network_electricity_gj")).alias("electricity_gj"),
    ).rename(
        {
            "national_capital_building_shell": "national_capital_building_shell_eur_per_year",
            "national_capital_installations": "national_capital_installations_eur_per_year",
            "national_capital_low_temperature_emitters": "national_capital_low_temperature_emitters_eur_per_year",
            "national_energy_natural_gas": "national_energy_natural_gas_eur_per_year",
            "national_energy_green_gas": "national_energy_green_gas_eur_per_year",
            "national_energy_electricity": "national_energy_electricity_eur_per_year",
            "national_energy_heat_network": "national_energy_heat_network_eur_per_year",
            "gas_network_maintenance_eur": "gas_network_maintenance_eur_per_year",
            "space_heating_gj": "space_heating_demand_gj",
            "hot_water_gj": "hot_water_demand_gj",
        }
    )
    cost_parts = [
        "national_capital_building_shell_eur_per_year",
        "national_capital_installations_eur_per_year",
        "national_capital_low_temperature_emitters_eur_per_year",
        "national_capital_grid_eur_per_year",
        "national_capital_gas_grid_removal_eur_per_year",
        "national_capital_heat_network_eur_per_year",
        "national_energy_natural_gas_eur_per_year",
        "national_energy_green_gas_eur_per_year",
        "national_energy_electricity_eur_per_year",
        "national_energy_heat_network_eur_per_year",
        "national_maintenance_eur_per_year",
        "gas_network_maintenance_eur_per_year",
    ]
    frame = frame.with_columns(
        (pl.sum_horizontal(cost_parts) - col("koppelkans_saving_eur_per_year")).alias("national_cost_eur_per_year"),
        (col("investment_installation_15") + col("investment_installation_30")).alias("investment_installations_eur"),
    ).rename(
        {
            "investment_building_shell": "investment_building_shell_eur",
            "investment_low_temperature_emitters": "investment_low_temperature_emitters_eur",
            "investment_grid_reinforcement": "investment_grid_reinforcement_eur",
            "investment_gas_grid_removal": "investment_gas_grid_removal_eur",
            "investment_heat_building_side": "investment_heat_building_side_eur",
            "investment_heat_network_distribution": "investment_heat_network_distribution_eur",
            "investment_heat_source": "investment_heat_source_eur",
        }
    )
    frame = frame.with_columns(
        pl.sum_horizontal(
            "investment_building_shell_eur",
            "investment_installations_eur",
            "investment_low_temperature_emitters_eur",
            "investment_grid_reinforcement_eur",
            "investment_gas_grid_removal_eur",
            "investment_heat_building_side_eur",
            "investment_heat_network_distribution_eur",
            "investment_heat_source_eur",
        ).alias("investment_total_eur")
    )
    frame = _with_reference(frame, ["national_cost_eur_per_year", "co2_emission_ton_per_year"])
    extra = col("national_cost_eur_per_year") - col("national_cost_eur_per_year_reference")
    reduction = col("co2_emission_ton_per_year_reference") - col("co2_emission_ton_per_year")
    return frame.with_columns(
        extra.alias("national_extra_cost_eur_per_year"),
        pl.when(col("woningequivalents") > 0)
        .then(extra / col("woningequivalents"))
        .alias("national_extra_cost_eur_per_weq"),
        reduction.alias("co2_reduction_ton_per_year"),
        pl.when(reduction > 0).then(extra / reduction).alias("national_extra_cost_eur_per_ton_co2"),
    )


def _warmtefonds_annuity(rate: pl.Expr, term: float) -> pl.Expr:
    return pl.when(rate == 0).then(1.0 / term).otherwise(rate / (1 - (1 + rate) ** -term))


def _end_user(frame: pl.DataFrame, buurten: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Per dwelling: end-user extra cost per owner type (split incentive for rentals), the occupant's
    burden against household income, and the owner-occupier's monthly cost with a Warmtefonds loan."""
    per_dwelling = [
        "end_user_investment",
        "end_user_subsidy",
        "end_user_energy",
        "end_user_maintenance",
        *[f"end_user_capital_{owner}" for owner in OWNER_TYPES],
    ]
    frame = frame.with_columns(
        [pl.when(col("dwellings") > 0).then(col(c) / col("dwellings")).alias(c) for c in per_dwelling]
    )
    frame = _with_reference(frame, per_dwelling)

    def delta(name: str) -> pl.Expr:
        return col(name) - col(f"{name}_reference")

    energy, upkeep = delta("end_user_energy"), delta("end_user_maintenance")
    rent_increase = p["split_incentive_landlord_share"] * (-energy).clip(lower_bound=0.0)
    rent_reduction = (
        pl.when(col("heating") == "heat_network")
        .then(p["rent_reduction_collective_heat"] * p["rent_reduction_share"])
        .otherwise(0.0)
    )
    owner_occupier = delta("end_user_capital_owner_occupier") + upkeep + energy
    private_landlord = delta("end_user_capital_private_landlord") + upkeep - rent_increase + rent_reduction
    corporation = delta("end_user_capital_corporation") + upkeep - rent_increase + rent_reduction
    tenant = energy + rent_increase - rent_reduction
    owners = [c for c in ("n_owner_occupied", "n_private_rent", "n_corporation") if c in buurten.columns]
    frame = frame.join(
        buurten.select(
            "buurt_code", *owners, *(["household_income_eur"] if "household_income_eur" in buurten.columns else [])
        ),
        on="buurt_code",
        how="left",
    )
    if len(owners) == 3:
        total = (
            col("n_owner_occupied").fill_null(0)
            + col("n_private_rent").fill_null(0)
            + col("n_corporation").fill_null(0)
        )
        known = total > 0
        share_oo = pl.when(known).then(col("n_owner_occupied").fill_null(0) / total).otherwise(1.0)
        share_pr = pl.when(known).then(col("n_private_rent").fill_null(0) / total).otherwise(0.0)
        share_co = pl.when(known).then(col("n_corporation").fill_null(0) / total).otherwise(0.0)
    else:
        share_oo, share_pr, share_co = pl.lit(1.0), pl.lit(0.0), pl.lit(0.0)
    income = col("household_income_eur") if "household_income_eur" in frame.columns else pl.lit(None, pl.Float64)
    frame = frame.with_columns(
        owner_occupier.alias("end_user_extra_cost_owner_occupier_eur_per_dwelling_year"),
        private_landlord.alias("end_user_extra_cost_private_landlord_eur_per_dwelling_year"),
        tenant.alias("end_user_extra_cost_private_tenant_eur_per_dwelling_year"),
        corporation.alias("end_user_extra_cost_corporation_eur_per_dwelling_year"),
        tenant.alias("end_user_extra_cost_corporation_tenant_eur_per_dwelling_year"),
        (share_oo * owner_occupier + share_pr * (private_landlord + tenant) + share_co * (corporation + tenant)).alias(
            "end_user_extra_cost_eur_per_dwelling_year"
        ),
        (share_oo * owner_occupier + (share_pr + share_co) * tenant).alias(
            "end_user_extra_cost_occupant_eur_per_dwelling_year"
        ),
        income.cast(pl.Float64).alias("household_income_eur"),
    )
    # Warmtefonds-style loan for the owner-occupier's extra upfront investment (route minus the boiler
    # of the reference); above the maximum the rest is paid up front.
    financed = delta("end_user_investment").clip(lower_bound=0.0)
    loan = pl.min_horizontal(financed, pl.lit(p["warmtefonds_max_loan"]))
    rate = (
        pl.when(
            col("household_income_eur").is_not_null()
            & (col("household_income_eur") < p["warmtefonds_income_threshold"])
        )
        .then(p["warmtefonds_rate_low_income"])
        .otherwise(p["warmtefonds_rate"])
    )
    monthly = (loan * _warmtefonds_annuity(rate, p["warmtefonds_term"]) + energy + upkeep) / MONTHS_PER_YEAR
    return frame.with_columns(
        pl.when(col("household_income_eur") > 0)
        .then(col("end_user_extra_cost_occupant_eur_per_dwelling_year") / col("household_income_eur"))
        .alias("extra_cost_share_of_household_income"),
        loan.alias("warmtefonds_loan_eur_per_dwelling"),
        (financed - loan).alias("upfront_payment_eur_per_dwelling"),
        monthly.alias("monthly_cost_change_owner_occupier_eur"),
        col("end_user_investment").alias("end_user_investment_eur_per_dwelling"),
        col("end_user_subsidy").alias("end_user_subsidy_eur_per_dwelling"),
        col("end_user_energy").alias("end_user_energy_cost_eur_per_dwelling_year"),
    ).with_columns(
        pl.when(col("dwellings") > 0).then(pl.col(c)).alias(c)
        for c in (
            "end_user_extra_cost_owner_occupier_eur_per_dwelling_year",
            "end_user_extra_cost_private_landlord_eur_per_dwelling_year",
            "end_user_extra_cost_private_tenant_eur_per_dwelling_year",
            "end_user_extra_cost_corporation_eur_per_dwelling_year",
            "end_user_extra_cost_corporation_tenant_eur_per_dwelling_year",
            "end_user_extra_cost_eur_per_dwelling_year",
            "end_user_extra_cost_occupant_eur_per_dwelling_year",
            "monthly_cost_change_owner_occupier_eur",
        )
    )


def _routes_for(strategies: tuple[str, ...] | None) -> pl.DataFrame:
    if strategies is not None:
        unknown = [s for s in strategies if s not in ROUTE_CODES]
        if unknown:
            raise InputError(
                "routes", f"unknown route {unknown[0]!r} (known: {', '.join(ROUTE_CODES)})", field="strategy"
            )
    return routes_frame(strategies)


BUILDING_ROUTE_COLUMNS = (
    "target_label",
    "heating",
    "fuel",
    "low_temperature_emitters",
    "gas_grid_removed",
    "network_temperature",
)


def building_configurations(routes: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The distinct building-level configurations of the routes (``_config``: what a route does in a
    building; S2a and S2b differ only in their source, so their buildings cost the same), and each
    route with its configuration. The building code runs once per configuration (12 for 18 routes)."""
    configs = routes.select(BUILDING_ROUTE_COLUMNS).unique(maintain_order=True).with_row_index("_config")
    with_config = routes.join(
        configs, on=list(BUILDING_ROUTE_COLUMNS), how="left", nulls_equal=True, maintain_order="left"
    )
    return configs, with_config


def _buurt_groups(batch: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    return pl.concat([dwelling_groups_from_buurten(batch, p), utility_groups_from_buurten(batch, p)])


def _buurt_route_sums(
    quantities: pl.DataFrame, routes: pl.DataFrame, p: CostParameters, *, end_user: bool = True
) -> pl.DataFrame:
    """Building-level sums per buurt x route: computed per building configuration, then given to each
    route of that configuration."""
    configs, with_config = building_configurations(routes)
    sums = _group_sums(route_costs(quantities, configs, p), p, end_user=end_user).collect()
    return sums.join(with_config, on="_config", how="inner").drop("_config")


def route_parameter_rows(parameters: str = "default") -> pl.DataFrame:
    """Per route (``strategy``) the parameter row ids its figures use (``parameter_rows``)."""
    p = load_cost_parameters(parameters)
    return pl.DataFrame(
        {"strategy": [r.strategy for r in ROUTES], "parameter_rows": [_route_parameter_rows(p, r) for r in ROUTES]}
    )


def _evaluate(
    buurten: pl.DataFrame, p: CostParameters, strategies: tuple[str, ...] | None, with_parameter_rows: bool = True
) -> pl.DataFrame:
    routes = _routes_for(strategies)
    targets = routes["target_label"].unique(maintain_order=True).to_list()
    results = []
    for start in range(0, buurten.height, BATCH_BUURTEN):
        batch = buurten.slice(start, BATCH_BUURTEN)
        groups = _buurt_groups(batch, p)
        if groups.is_empty():
            continue
        sums = _buurt_route_sums(group_quantities(groups, targets, p), routes, p)
        frame = _buurt_costs(sums, batch, p)
        frame = _end_user(frame, batch, p)
        results.append(frame)
    order = {code: i for i, code in enumerate(ROUTE_CODES)}
    if not results:
        return pl.DataFrame(schema={c: pl.Float64 for c in OUTPUT_COLUMNS})
    frame = (
        pl.concat(results, how="diagonal_relaxed")
        .with_columns(pl.lit(p.parameter_set).alias("parameter_set"), pl.lit(p.year).alias("year"))
    )
    frame = frame.sort("buurt_code", col("strategy").replace_strict(order, return_dtype=pl.Int64))
    if not with_parameter_rows:
        return frame.select(c for c in OUTPUT_COLUMNS if c != "parameter_rows")
    route_rows = pl.DataFrame(
        {"strategy": [r.strategy for r in ROUTES], "parameter_rows": [_route_parameter_rows(p, r) for r in ROUTES]}
    )
    return frame.join(route_rows, on="strategy", how="left", maintain_order="left").select(*OUTPUT_COLUMNS)


def evaluate_buurten(
    buurten: pl.DataFrame,
    parameters: str = "default",
    year: int = 2030,
    *,
    scenario: str = "central",
    strategies: tuple[str, ...] | None = None,
    with_parameter_rows: bool = True,
) -> pl.DataFrame:
    """National and end-user costs of every route (and the reference) for each buurt.

    Input, one row per buurt: ``buurt_code``, ``dwellings``, ``utility_floor_area_m2``,
    ``dwelling_floor_area_m2``, ``n_label_a`` .. ``n_label_g`` (dwellings without a count have no
    registered label). Optional: dwelling-type counts (``n_detached``, ``n_semi_detached``,
    ``n_corner``, ``n_terraced``, ``n_apartment``), build-period counts (``n_built_before_1945``,
    ``n_built_1945_1974``, ``n_built_1975_1991``, ``n_built_1992_2005``, ``n_built_since_2006``),
    ``utility_objects``, owner counts (``n_owner_occupied``, ``n_private_rent``, ``n_corporation``),
    ``household_income_eur``, ``grid_capacity_kw``, ``gas_network_length_m``, ``lv_network_length_m``,
    ``koppelkans_share`` (0..1) or ``koppelkans_assets``.

    Output: one row per buurt x route with :data:`OUTPUT_COLUMNS` (units there and in
    docs/cost-model.md); ``parameter_rows`` lists the parameter rows the route's figures use
    (``with_parameter_rows=False`` leaves that column out: it is the same long list for every buurt of a
    route, :func:`route_parameter_rows`)."""
    p = load_cost_parameters(parameters, year, scenario)
    checked = check_buurten(buurten)
    return _evaluate(checked, p, strategies, with_parameter_rows)


def cheapest_routes(results: pl.DataFrame, strategies: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Per buurt the route with the lowest national cost (the reference excluded), the runner-up and
    the margin between them (EUR/yr and EUR/yr per woningequivalent)."""
    for column in ("buurt_code", "strategy", "national_cost_eur_per_year", "national_extra_cost_eur_per_weq"):
        if column not in results.columns:
            raise InputError("route results", "column is missing", field=column)
    candidates = results.filter((col("strategy") != REFERENCE) & col("national_cost_eur_per_year").is_not_null())
    if strategies is not None:
        candidates = candidates.filter(col("strategy").is_in(list(strategies)))
    ranked = candidates.sort("buurt_code", "national_cost_eur_per_year", "strategy").with_columns(
        pl.int_range(pl.len()).over("buurt_code").alias("_rank")
    )
    first = ranked.filter(col("_rank") == 0).select(
        "buurt_code",
        col("strategy").alias("cheapest_route"),
        col("national_cost_eur_per_year").alias("cheapest_national_cost_eur_per_year"),
        col("national_extra_cost_eur_per_weq").alias("cheapest_national_extra_cost_eur_per_weq"),
    )
    second = ranked.filter(col("_rank") == 1).select(
        "buurt_code",
        col("strategy").alias("runner_up_route"),
        col("national_cost_eur_per_year").alias("_second_cost"),
        col("national_extra_cost_eur_per_weq").alias("_second_weq"),
    )
    return (
        first.join(second, on="buurt_code", how="left")
        .with_columns(
            (col("_second_cost") - col("cheapest_national_cost_eur_per_year")).alias("margin_eur_per_year"),
            (col("_second_weq") - col("cheapest_national_extra_cost_eur_per_weq")).alias("margin_eur_per_weq"),
        )
        .drop("_second_cost", "_second_weq")
        .sort("buurt_code")
    )


SENSITIVITY_SCENARIOS = ("low_energy_prices", "high_energy_prices", "low_investment", "high_investment")


def _national_costs_per_scenario(
    buurten: pl.DataFrame, parameters: str, year: int, scenarios: tuple[str, ...], strategies: tuple[str, ...] | None
) -> dict[str, pl.DataFrame]:
    """National cost per buurt x route for each scenario. The building groups, labels, demand and
    capacities do not depend on the scenario: they are computed once per batch, and each scenario only
    reprices them (its step costs, installations, energy, grids and heat networks). Gives the same
    figures as :func:`evaluate_buurten` per scenario (pinned by the tests)."""
    routes = _routes_for(strategies)
    targets = routes["target_label"].unique(maintain_order=True).to_list()
    checked = check_buurten(buurten)
    central = load_cost_parameters(parameters, year)
    varied = {scenario: load_cost_parameters(parameters, year, scenario) for scenario in scenarios}
    parts: dict[str, list[pl.DataFrame]] = {scenario: [] for scenario in scenarios}
    for start in range(0, checked.height, BATCH_BUURTEN):
        batch = checked.slice(start, BATCH_BUURTEN)
        groups = _buurt_groups(batch, central)
        if groups.is_empty():
            continue
        quantities = group_quantities(groups, targets, central)
        for scenario, p in varied.items():
            priced = quantities if scenario == "central" else replace_step_costs(quantities, p)
            sums = _buurt_route_sums(priced, routes, p, end_user=False)
            parts[scenario].append(
                _buurt_costs(sums, batch, p).select(
                    "buurt_code", "strategy", "national_cost_eur_per_year", "national_extra_cost_eur_per_weq"
                )
            )
    empty = pl.DataFrame(
        schema={
            "buurt_code": pl.String,
            "strategy": pl.String,
            "national_cost_eur_per_year": pl.Float64,
            "national_extra_cost_eur_per_weq": pl.Float64,
        }
    )
    return {
        scenario: pl.concat(frames).sort("buurt_code", "strategy") if frames else empty
        for scenario, frames in parts.items()
    }


def sensitivity(
    buurten: pl.DataFrame, parameters: str = "default", year: int = 2030, *, strategies: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """Per buurt and scenario (low/high energy prices, low/high investments: the low/high columns of
    the parameter files), the cheapest route and whether it is the central one."""
    national = _national_costs_per_scenario(
        buurten, parameters, year, ("central", *SENSITIVITY_SCENARIOS), strategies
    )
    central = cheapest_routes(national["central"], strategies)
    rows = []
    for scenario in SENSITIVITY_SCENARIOS:
        varied = cheapest_routes(national[scenario], strategies)
        rows.append(
            varied.select(
                "buurt_code",
                pl.lit(scenario).alias("scenario"),
                "cheapest_route",
                "cheapest_national_extra_cost_eur_per_weq",
                "margin_eur_per_weq",
            )
        )
    frame = pl.concat(rows).join(
        central.select("buurt_code", col("cheapest_route").alias("central_cheapest_route")), on="buurt_code", how="left"
    )
    return frame.with_columns((col("cheapest_route") == col("central_cheapest_route")).alias("same_as_central")).sort(
        "buurt_code", "scenario"
    )


# -----------------------------------------------------------------------------------------------
# Dwelling groups (address-level pipeline)

GROUP_COLUMNS = (
    "buurt_code",
    "dwelling_type_class",
    "build_year_class",
    "energy_label_class",
    "owner_type",
    "dwellings",
    "floor_area_m2",
)
OWNER_TYPE_VALUES = ("owner_occupied", "private_rent", "corporation")


def _expand_unknown(groups: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Groups with an unknown Vesta type or build-year class are spread over the national mix of
    what is unknown (conditional on what is known)."""
    mix = national_mix(p, "dwelling")
    known = groups.filter(col("building_type").is_not_null() & col("build_year_class").is_not_null())
    parts = [known]
    for unknown_type, unknown_period in ((True, False), (False, True), (True, True)):
        subset = groups.filter(
            col("building_type").is_null() == unknown_type, col("build_year_class").is_null() == unknown_period
        )
        if subset.is_empty():
            continue
        if unknown_type and unknown_period:
            weights = mix.rename({"building_type": "_type", "build_year_class": "_period"})
            joined = subset.join(weights, how="cross")
        elif unknown_type:
            weights = mix.with_columns(
                (col("share") / col("share").sum().over("build_year_class")).alias("share")
            ).rename({"building_type": "_type"})
            joined = subset.join(weights, on="build_year_class", how="inner").with_columns(
                col("build_year_class").alias("_period")
            )
        else:
            weights = mix.with_columns((col("share") / col("share").sum().over("building_type")).alias("share")).rename(
                {"build_year_class": "_period"}
            )
            joined = subset.join(weights, on="building_type", how="inner").with_columns(
                col("building_type").alias("_type")
            )
        parts.append(
            joined.with_columns(
                col("_type").alias("building_type"),
                col("_period").alias("build_year_class"),
                (col("objects") * col("share")).alias("objects"),
                (col("floor_area_m2") * col("share")).alias("floor_area_m2"),
            ).select(known.columns)
        )
    return pl.concat(parts)


def evaluate_dwelling_groups(
    groups: pl.DataFrame, parameters: str = "default", year: int = 2030, *, strategies: tuple[str, ...] | None = None
) -> pl.DataFrame:
    """The end-user view per dwelling group and route (same building-level code as the buurten).

    Input, one row per group: ``buurt_code``, ``dwelling_type_class`` (the housing model's class:
    detached .. apartment_high), ``build_year_class`` (Vesta class), ``energy_label_class`` (A..G,
    null = no registered label), ``owner_type`` (owner_occupied | private_rent | corporation | null),
    ``dwellings`` (count) and ``floor_area_m2`` (total of the group). Unknown type or build-year class
    is spread over the national mix.

    Output, one row per group x route: the group keys, ``strategy``, per dwelling:
    ``end_user_investment_eur_per_dwelling``, ``end_user_energy_cost_eur_per_dwelling_year``,
    ``end_user_extra_cost_owner_eur_per_dwelling_year`` (the owner's extra cost: owner-occupier, or the
    landlord after the rent increase), ``end_user_extra_cost_occupant_eur_per_dwelling_year`` (the
    tenant's, equal to the owner's for owner-occupiers), ``national_extra_cost_buildings_eur_per_dwelling_year``
    (building-level national costs only: grids and heat networks are buurt-level),
    ``space_heating_demand_gj_per_dwelling`` and ``insulated``."""
    where = "dwelling groups"
    for column in GROUP_COLUMNS:
        if column not in groups.columns:
            raise InputError(where, "column is missing", field=column)
    keyed = groups.with_row_index("_group")
    check_numbers(
        keyed.with_columns(col("_group").cast(pl.String).alias("_key")),
        ["dwellings", "floor_area_m2"],
        where,
        key="_key",
    )
    bad_label = keyed.filter(col("energy_label_class").is_not_null() & ~col("energy_label_class").is_in(list(LABELS)))
    if bad_label.height:
        raise InputError(
            where,
            f"label {bad_label['energy_label_class'][0]!r} is not one of A..G",
            record=int(bad_label["_group"][0]),
            field="energy_label_class",
        )
    bad_owner = keyed.filter(col("owner_type").is_not_null() & ~col("owner_type").is_in(list(OWNER_TYPE_VALUES)))
    if bad_owner.height:
        raise InputError(
            where,
            f"owner type {bad_owner['owner_type'][0]!r} is not one of {', '.join(OWNER_TYPE_VALUES)}",
            record=int(bad_owner["_group"][0]),
            field="owner_type",
        )
    p = load_cost_parameters(parameters, year)
    types = load_parameters("dwelling_type_classes").select(
        "dwelling_type_class", col("vesta_type").alias("building_type")
    )
    unknown_type = keyed.filter(
        col("dwelling_type_class").is_not_null()
        & ~col("dwelling_type_class").is_in(types["dwelling_type_class"].to_list())
    )
    if unknown_type.height:
        raise InputError(
            where,
            f"unknown dwelling type class {unknown_type['dwelling_type_class'][0]!r}",
            record=int(unknown_type["_group"][0]),
            field="dwelling_type_class",
        )
    prepared = (
        keyed.join(types, on="dwelling_type_class", how="left")
        .select(
            "_group",
            "buurt_code",
            pl.lit("dwelling").alias("sector"),
            "building_type",
            "build_year_class",
            col("energy_label_class").fill_null(NO_LABEL).alias("label"),
            col("dwellings").cast(pl.Float64).alias("objects"),
            col("floor_area_m2").cast(pl.Float64).alias("floor_area_m2"),
        )
        .filter(col("objects") > 0)
    )
    expanded = _expand_unknown(prepared, p)
    routes = _routes_for(strategies)
    configs, with_config = building_configurations(routes)
    targets = routes["target_label"].unique(maintain_order=True).to_list()
    frame = route_costs(group_quantities(expanded, targets, p), configs, p)
    national = [
        "national_capital_building_shell",
        "national_capital_installations",
        "national_capital_low_temperature_emitters",
        "national_capital_heat_building_side",
        "national_energy_natural_gas",
        "national_energy_green_gas",
        "national_energy_electricity",
        "maintenance_eur",
    ]
    summed = [
        "objects",
        "space_heating_gj",
        "end_user_investment",
        "end_user_energy",
        "end_user_maintenance",
        *[f"end_user_capital_{o}" for o in OWNER_TYPES],
        *national,
    ]
    per_group = (
        frame.group_by("_group", "_config")
        .agg(
            *[col(c).sum() for c in summed],
            (pl.when(col("insulated")).then(col("objects")).otherwise(0.0).sum()).alias("_insulated"),
        )
        .collect()
        .join(with_config.select("_config", "strategy", "heating"), on="_config", how="inner")
        .drop("_config")
        .with_columns(pl.sum_horizontal(national).alias("_national"))
    )
    per_group = per_group.with_columns(
        [(col(c) / col("objects")).alias(c) for c in summed if c != "objects"]
        + [(col("_national") / col("objects")).alias("_national")]
    )
    reference = per_group.filter(col("strategy") == REFERENCE).select(
        "_group",
        *[
            col(c).alias(f"{c}_reference")
            for c in (
                "end_user_energy",
                "end_user_maintenance",
                "_national",
                *[f"end_user_capital_{o}" for o in OWNER_TYPES],
            )
        ],
    )
    joined = per_group.join(reference, on="_group", how="left").join(
        keyed.select("_group", *[c for c in GROUP_COLUMNS if c not in ("dwellings", "floor_area_m2")]), on="_group"
    )
    energy = col("end_user_energy") - col("end_user_energy_reference")
    upkeep = col("end_user_maintenance") - col("end_user_maintenance_reference")
    owner_key = (
        pl.when(col("owner_type") == "private_rent")
        .then(pl.lit("private_landlord"))
        .when(col("owner_type") == "corporation")
        .then(pl.lit("corporation"))
        .otherwise(pl.lit("owner_occupier"))
    )
    capital = pl.lit(0.0)
    for owner in OWNER_TYPES:
        capital = (
            pl.when(owner_key == owner)
            .then(col(f"end_user_capital_{owner}") - col(f"end_user_capital_{owner}_reference"))
            .otherwise(capital)
        )
    rented = col("owner_type").is_in(["private_rent", "corporation"]).fill_null(False)
    rent_increase = (
        pl.when(rented).then(p["split_incentive_landlord_share"] * (-energy).clip(lower_bound=0.0)).otherwise(0.0)
    )
    rent_reduction = (
        pl.when(rented & (col("heating") == "heat_network"))
        .then(p["rent_reduction_collective_heat"] * p["rent_reduction_share"])
        .otherwise(0.0)
    )
    owner_cost = (
        pl.when(rented).then(capital + upkeep - rent_increase + rent_reduction).otherwise(capital + upkeep + energy)
    )
    occupant_cost = pl.when(rented).then(energy + rent_increase - rent_reduction).otherwise(owner_cost)
    order = {code: i for i, code in enumerate(ROUTE_CODES)}
    return (
        joined.select(
            *[c for c in GROUP_COLUMNS if c not in ("dwellings", "floor_area_m2")],
            col("objects").alias("dwellings"),
            "strategy",
            col("end_user_investment").alias("end_user_investment_eur_per_dwelling"),
            col("end_user_energy").alias("end_user_energy_cost_eur_per_dwelling_year"),
            owner_cost.alias("end_user_extra_cost_owner_eur_per_dwelling_year"),
            occupant_cost.alias("end_user_extra_cost_occupant_eur_per_dwelling_year"),
            (col("_national") - col("_national_reference")).alias(
                "national_extra_cost_buildings_eur_per_dwelling_year"
            ),
            col("space_heating_gj").alias("space_heating_demand_gj_per_dwelling"),
            (col("_insulated") / col("objects").clip(lower_bound=1e-12)).alias("share_insulated"),
            "_group",
        )
        .sort("_group", col("strategy").replace_strict(order, return_dtype=pl.Int64))
        .drop("_group")
    )


# -----------------------------------------------------------------------------------------------
# From the marts of the address-level pipeline

KOPPELKANS_ASSETS = ("riolering", "weg", "gasleiding")


def buurt_inputs_from_marts(
    housing_stock: pl.DataFrame, socio: pl.DataFrame | None = None, infrastructure: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The input of :func:`evaluate_buurten` from marts.housing_stock_buurt, with household income
    from marts.socio_economic_buurt (income per inhabitant x inhabitants / households) and the
    koppelkans share from marts.infrastructure_buurt (sewer, road and gas-main works in the plan
    window: the length in the window over the buurt's gas-grid length, or 1 where a plan covers the
    buurt without segments).

    The address-level marts have no utility floor area: ``utility_floor_area_m2`` is 0 unless the
    housing-stock frame carries that column."""
    where = "marts.housing_stock_buurt"
    needed = ("buurt_code", "dwellings", "total_floor_area_m2", *(f"n_label_{label.lower()}" for label in LABELS))
    for column in needed:
        if column not in housing_stock.columns:
            raise InputError(where, "column is missing", field=column)
    passthrough = [
        c
        for c in (
            "n_detached",
            "n_semi_detached",
            "n_corner",
            "n_terraced",
            "n_apartment",
            "n_built_before_1945",
            "n_built_1945_1974",
            "n_built_1975_1991",
            "n_built_1992_2005",
            "n_built_since_2006",
            "n_owner_occupied",
            "n_private_rent",
            "n_corporation",
            "utility_objects",
            "grid_capacity_kw",
            "gas_network_length_m",
            "lv_network_length_m",
        )
        if c in housing_stock.columns
    ]
    utility = (
        col("utility_floor_area_m2").cast(pl.Float64)
        if "utility_floor_area_m2" in housing_stock.columns
        else pl.lit(0.0)
    )
    frame = housing_stock.select(
        "buurt_code",
        col("dwellings").cast(pl.Float64),
        utility.fill_null(0.0).alias("utility_floor_area_m2"),
        col("total_floor_area_m2").cast(pl.Float64).alias("dwelling_floor_area_m2"),
        *[col(f"n_label_{label.lower()}").cast(pl.Float64) for label in LABELS],
        *[col(c).cast(pl.Float64) for c in passthrough],
    )
    if socio is not None:
        for column in ("buurt_code", "income_per_inhabitant_eur", "inhabitants", "households"):
            if column not in socio.columns:
                raise InputError("marts.socio_economic_buurt", "column is missing", field=column)
        income = socio.select(
            "buurt_code",
            pl.when(col("households") > 0)
            .then(
                col("income_per_inhabitant_eur").cast(pl.Float64)
                * col("inhabitants").cast(pl.Float64)
                / col("households").cast(pl.Float64)
            )
            .alias("household_income_eur"),
        )
        frame = frame.join(income, on="buurt_code", how="left")
    if infrastructure is not None:
        for column in ("buurt_code", "asset", "in_plan_window", "length_in_window_m"):
            if column not in infrastructure.columns:
                raise InputError("marts.infrastructure_buurt", "column is missing", field=column)
        works = infrastructure.filter(
            col("asset").is_in(list(KOPPELKANS_ASSETS)) & col("in_plan_window").fill_null(False)
        )
        per_buurt = works.group_by("buurt_code").agg(
            col("length_in_window_m").cast(pl.Float64).max().alias("_length_in_window_m"),
            col("length_in_window_m").is_null().any().alias("_plan_without_segments"),
            col("asset").n_unique().alias("koppelkans_assets"),
        )
        frame = frame.join(per_buurt, on="buurt_code", how="left")
        p = load_cost_parameters("default")
        gas_per_weq = p["ld_gas_network_length_nl"] * 1000.0 / national_woningequivalents(p)
        weq = col("dwellings") + col("utility_floor_area_m2") / p["weq_utility_floor_area"]
        street = col("gas_network_length_m") if "gas_network_length_m" in frame.columns else weq * gas_per_weq
        share = (
            pl.when(col("_plan_without_segments").fill_null(False))
            .then(1.0)
            .when(street > 0)
            .then((col("_length_in_window_m").fill_null(0.0) / street).clip(upper_bound=1.0))
            .otherwise(0.0)
        )
        frame = frame.with_columns(
            share.alias("koppelkans_share"), col("koppelkans_assets").fill_null(0).cast(pl.Int64)
        ).drop("_length_in_window_m", "_plan_without_segments")
    return frame
