"""Buurt-level cost components: electricity-grid reinforcement, gas-grid removal and maintenance,
heat networks (distribution, substations, transfer station, source, energy) and koppelkansen.

Input: one row per buurt x route with the sums of the building groups (capacities, connections,
delivered heat) and the reference's grid demand. Rules after the grid operators' note on E- and
G-grids in Vesta (2019) and the functional design Vesta 3.0 (heat networks); formulas in
docs/cost-model.md. Lengths of the buurt's grids are taken from optional inputs, else from the
national length per woningequivalent.
"""

from __future__ import annotations

import polars as pl

from wup_pipeline.model.cost_components import energy_prices
from wup_pipeline.model.cost_parameters import CostParameters, annuity_factor, delayed_annuity_factor

col = pl.col
KW_PER_MW = 1000.0
M_PER_KM = 1000.0
EUR_PER_MEUR = 1e6


def national_woningequivalents(p: CostParameters) -> float:
    """Dwellings + utility floor area / 130 m2 of the national stock table."""
    stock = p.stock
    dwellings = stock.filter(pl.col("sector") == "dwelling")["value"].sum()
    utility = stock.filter(pl.col("sector") == "utility")["value"].sum()
    return float(dwellings + utility / p["weq_utility_floor_area"])


def network_lengths(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Low-pressure gas grid and low-voltage grid length of the buurt (m): the given lengths, else
    the national length per woningequivalent (Infra.dms Km_lengte_LD/LS_net_NL) times the buurt's WEQ."""
    weq_nl = national_woningequivalents(p)
    gas_per_weq = p["ld_gas_network_length_nl"] * M_PER_KM / weq_nl
    lv_per_weq = p["lv_network_length_nl"] * M_PER_KM / weq_nl
    gas = col("gas_network_length_m") if "gas_network_length_m" in frame.columns else pl.lit(None, pl.Float64)
    lv = col("lv_network_length_m") if "lv_network_length_m" in frame.columns else pl.lit(None, pl.Float64)
    return frame.with_columns(
        gas.fill_null(col("woningequivalents") * gas_per_weq).alias("gas_network_length_m"),
        lv.fill_null(col("woningequivalents") * lv_per_weq).alias("lv_network_length_m"),
    )


GRID_EXCESS_TOLERANCE = 1e-6  # relative to the capacity


def grid_reinforcement(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Electricity-grid reinforcement (grid operators' note 2019):

    excess_kw = max(0, demand_after - capacity); capacity = the given MS capacity, else the
                reference demand (no headroom assumed)
    new substations = excess / 630 kVA x 70,000 EUR
    LV cables       = 110 EUR/m x LV length / reference demand x excess
    connections     = 227 EUR x all-electric dwellings x (1 - share already 3x25)
    annualised over 50 years at the national rate."""
    capacity = col("grid_capacity_kw") if "grid_capacity_kw" in frame.columns else pl.lit(None, pl.Float64)
    capacity = capacity.fill_null(col("grid_demand_kw_reference"))
    # A route that adds no load has demand == reference demand, but the two are float sums taken apart and
    # differ by rounding (~1e-14 kW): an excess under a millionth of the capacity is no excess.
    difference = col("grid_demand_kw") - capacity
    excess = pl.when(difference > capacity.abs() * GRID_EXCESS_TOLERANCE).then(difference).otherwise(0.0)
    substations = excess / p["grid_new_substation_capacity"] * p["grid_new_substation_cost"]
    relative_length = (
        pl.when(col("grid_demand_kw_reference") > 0)
        .then(col("lv_network_length_m") / col("grid_demand_kw_reference"))
        .otherwise(0.0)
    )
    cables_m = relative_length * excess
    cables = p["grid_lv_reinforcement_cost_per_m"] * cables_m
    connections = (
        p["grid_connection_upgrade_cost"] * col("all_electric_dwellings") * (1 - p["grid_share_connections_3x25"])
    )
    investment = (substations + cables + connections) * p["learning_grid"]
    return frame.with_columns(
        excess.alias("grid_excess_kw"),
        (excess / p["grid_new_substation_capacity"]).alias("grid_new_substations"),
        cables_m.alias("grid_lv_cable_m"),
        investment.alias("investment_grid_reinforcement"),
        (cables * p["learning_grid"]).alias("_investment_lv_cables"),
    )


def gas_grid(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Gas grid: removal when the route leaves gas (connections by building height and utility, LD
    mains per metre; 50 years), and the grid's maintenance while it stays (national gas-grid
    maintenance per metre of LD grid)."""
    removed = col("gas_grid_removed")
    mains = col("gas_network_length_m") * p["gas_main_removal_cost_per_m"]
    connections = (
        col("low_rise_dwellings") * p["gas_connection_removal_low_rise"]
        + col("high_rise_dwellings") * p["gas_connection_removal_high_rise"]
        + col("utility_objects") * p["gas_connection_removal_utility"]
    )
    per_m = (
        (p["gas_network_maintenance_transmission_nl"] + p["gas_network_maintenance_distribution_nl"])
        * EUR_PER_MEUR
        / (p["ld_gas_network_length_nl"] * M_PER_KM)
    )
    return frame.with_columns(
        pl.when(removed)
        .then((mains + connections) * p["learning_grid"])
        .otherwise(0.0)
        .alias("investment_gas_grid_removal"),
        pl.when(removed).then(mains * p["learning_grid"]).otherwise(0.0).alias("_investment_gas_mains"),
        pl.when(removed).then(0.0).otherwise(col("gas_network_length_m") * per_m).alias("gas_network_maintenance_eur"),
    )


def _pipe_cost_per_m(p: CostParameters) -> float:
    """FO 3.0 formula 31 at the capacity of one standard substation: mean of the minimum and maximum
    curves (the investment scenarios use one curve each)."""
    power_mw = p["heat_substation_capacity"] / KW_PER_MW
    low = p["heat_pipe_cost_min_coefficient"] * power_mw ** p["heat_pipe_cost_min_exponent"]
    high = p["heat_pipe_cost_max_coefficient"] * power_mw ** p["heat_pipe_cost_max_exponent"]
    if p.scenario == "low_investment":
        return low
    if p.scenario == "high_investment":
        return high
    return (low + high) / 2


def heat_networks(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Heat networks (routes with heating == heat_network), after the functional design 3.0:

    substation load  P_OS = sum(space kW x simultaneity + hot-water kW x simultaneity) / (1 - peak loss)
    substations      P_OS x EUR/kW
    street network   street length (the buurt's gas-grid length) x K_pipe(825 kW)
    transfer station 0.85 x P_OS x EUR/MW (sources with peak boilers)
    heat into net    delivered / (1 - network loss); the source gives the volume share, peak boilers on
                     green gas the rest (MT and LT residual heat); WKO and TEO+WKO give all of it
    source           residual heat, geothermal: EUR/kW x 0.3 P_OS; LT residual heat: that plus a collective
                     heat pump (SPF 3.5); WKO: max(minimum, EUR/kW x P_OS); TEO adds its own investment
    energy           source electricity, heat-pump electricity (green), pumps, peak-boiler green gas
    maintenance      rates on each investment; supplier administration as a share of the fixed charges
    all investments annualised over years 2-30 (delivery starts two years after the investment)."""
    r = p["discount_rate_national"]
    prices = energy_prices(p)
    network = col("heating") == "heat_network"
    source = col("heat_source")
    load_kw = col("heat_network_load_kw") / (1 - p["heat_substation_peak_loss"])
    into_network = col("heat_delivered_gj") / (1 - p["heat_network_loss"])
    has_peak = source.is_in(["residual_heat", "geothermal", "lt_residual"])
    from_source = pl.when(has_peak).then(into_network * p["heat_source_volume_share"]).otherwise(into_network)
    peak_gas = (
        pl.when(has_peak)
        .then(into_network * (1 - p["heat_source_volume_share"]) / p["heat_peak_boiler_efficiency"])
        .otherwise(0.0)
    )
    source_kw = load_kw * p["heat_source_capacity_share"]
    spf = p["collective_heat_pump_spf"]
    wko = pl.max_horizontal(pl.lit(p["wko_source_minimum_cost"]), p["wko_source_cost_per_kw"] * load_kw)
    source_investment = (
        pl.when(source == "residual_heat")
        .then(p["residual_heat_source_cost_per_kw"] * source_kw * p["learning_heat_network"])
        .when(source == "geothermal")
        .then(p["geothermal_source_cost_per_kw"] * source_kw * p["learning_geothermal"])
        .when(source == "lt_residual")
        .then(
            (p["residual_heat_source_cost_per_kw"] + p["collective_heat_pump_cost_per_kw"])
            * source_kw
            * p["learning_lt_source"]
        )
        .when(source == "wko")
        .then(wko * p["learning_lt_source"])
        .when(source == "teo_wko")
        .then((wko + p["teo_source_cost_fixed"] + p["teo_source_cost_per_kw"] * load_kw) * p["learning_lt_source"])
        .otherwise(0.0)
    )
    source_maintenance_rate = (
        pl.when(source == "residual_heat")
        .then(p["maintenance_rate_residual_heat_source"])
        .when(source == "geothermal")
        .then(p["maintenance_rate_geothermal_source"])
        .when(source == "lt_residual")
        .then(p["maintenance_rate_heat_source"])
        .otherwise(0.0)
    )
    wko_maintenance = (
        pl.when(source.is_in(["wko", "teo_wko"]))
        .then(p["wko_maintenance_per_connection"] * col("heat_connections"))
        .otherwise(0.0)
    )
    source_electricity = (
        pl.when(source == "residual_heat")
        .then(from_source * p["residual_heat_electricity_per_heat"])
        .when(source == "geothermal")
        .then(from_source * p["geothermal_electricity_per_heat"])
        .when(source.is_in(["lt_residual", "wko", "teo_wko"]))
        .then(from_source / spf)
        .otherwise(0.0)
    ) + into_network * p["heat_pump_energy_share"]
    substations = load_kw * p["heat_substation_cost_per_kw"] * p["learning_heat_network"]
    transfer = (
        pl.when(has_peak)
        .then(
            p["heat_transfer_station_capacity_share"]
            * load_kw
            / KW_PER_MW
            * p["heat_transfer_station_cost_per_mw"]
            * p["learning_heat_network"]
        )
        .otherwise(0.0)
    )
    street = col("gas_network_length_m") * _pipe_cost_per_m(p) * p["learning_heat_network"]
    distribution = substations + transfer + street
    fixed_charge = (
        pl.when(col("network_temperature") == "mt").then(p["heat_fixed_charge_mt"]).otherwise(p["heat_fixed_charge_lt"])
    )
    admin = p["heat_supplier_admin_share"] * fixed_charge * col("heat_connections") * p["learning_maintenance"]
    maintenance = (
        substations * p["maintenance_rate_heat_substation"]
        + transfer * p["maintenance_rate_heat_transfer_station"]
        + street * p["maintenance_rate_heat_network"]
        + source_investment * source_maintenance_rate
        + wko_maintenance
        + admin
    )
    energy = (
        peak_gas * prices["green_gas_medium_national"]
        + source_electricity * prices["green_electricity_medium_national"]
    )
    annualise = delayed_annuity_factor(r, p["heat_network_first_year"], p["heat_network_last_year"])

    def only(expr: pl.Expr) -> pl.Expr:
        return pl.when(network).then(expr).otherwise(0.0)

    return frame.with_columns(
        only(load_kw).alias("heat_network_capacity_kw"),
        only(street).alias("_investment_heat_street"),
        only(distribution).alias("investment_heat_network_distribution"),
        only(source_investment).alias("investment_heat_source"),
        only((distribution + source_investment) * annualise).alias("national_capital_heat_network"),
        only(energy).alias("national_energy_heat_network"),
        only(maintenance).alias("heat_network_maintenance_eur"),
        only(peak_gas).alias("heat_network_green_gas_gj"),
        only(source_electricity).alias("heat_network_electricity_gj"),
    )


def koppelkansen(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Shared trench costs: where sewer, road or gas-main works fall in the plan window, the share
    ``koppelkans_share`` of the route's trenches (gas-main removal, LV cables, heat street network)
    need not be dug again; the saving per metre is the trench cost, capped at the work's own cost."""
    if "koppelkans_share" in frame.columns:
        share = col("koppelkans_share").fill_null(0.0)
    elif "koppelkans_assets" in frame.columns:
        share = pl.when(col("koppelkans_assets").fill_null(0) > 0).then(1.0).otherwise(0.0)
    else:
        share = pl.lit(0.0)
    per_m = p["koppelkans_trench_cost_per_m"]
    r = p["discount_rate_national"]
    gas_m = pl.when(col("gas_grid_removed")).then(col("gas_network_length_m")).otherwise(0.0)
    heat_m = pl.when(col("heating") == "heat_network").then(col("gas_network_length_m")).otherwise(0.0)
    gas = pl.min_horizontal(share * gas_m * per_m, col("_investment_gas_mains"))
    cables = pl.min_horizontal(share * col("grid_lv_cable_m") * per_m, col("_investment_lv_cables"))
    heat = pl.min_horizontal(share * heat_m * per_m, col("_investment_heat_street"))
    grid_annuity = annuity_factor(r, p["lifetime_grid"])
    network_annuity = delayed_annuity_factor(r, p["heat_network_first_year"], p["heat_network_last_year"])
    return frame.with_columns(
        share.alias("koppelkans_share"),
        (gas + cables + heat).alias("koppelkans_investment_saving"),
        ((gas + cables) * grid_annuity + heat * network_annuity).alias("koppelkans_saving_eur_per_year"),
    )
