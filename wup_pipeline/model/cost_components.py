"""Building-level cost components: one function per component, over a frame of building groups x
routes (one row per group and route). Quantities first (label after the route, heat demand,
capacity, energy per carrier), then investments, then yearly national and end-user costs.

Conventions: amounts in EUR (investments) and EUR/yr (yearly costs) for the whole group; national
costs exclude VAT, energy tax, surcharges and subsidies and annualise at the national discount rate;
end-user costs include them and annualise at the owner's rate. Formulas: docs/cost-model.md.
"""

from __future__ import annotations

import polars as pl

from wup_pipeline.model.cost_parameters import CostParameters, annuity_factor, delayed_annuity_factor
from wup_pipeline.model.cost_stock import (
    APARTMENT_TYPES,
    HEAT_LABELS,
    LABEL_RANK,
    NO_LABEL,
    insulation_steps,
    kentallen_wide,
)

MJ_PER_GJ = 1000.0
KWH_PER_GJ = 1e6 / 3600.0
OWNER_TYPES = ("owner_occupier", "private_landlord", "corporation")

col = pl.col


def _rank(label: pl.Expr) -> pl.Expr:
    return label.replace_strict(LABEL_RANK, default=None, return_dtype=pl.Int64)


def _pick_by_label(label: pl.Expr, prefix: str) -> pl.Expr:
    """The column ``<prefix>_<label>`` of each row, for label in A..G or N."""
    expr = pl.lit(None, pl.Float64)
    for heat_label in reversed(HEAT_LABELS):
        expr = pl.when(label == heat_label).then(col(f"{prefix}_{heat_label}")).otherwise(expr)
    return expr


def _space_per_object(label: str) -> pl.Expr:
    area = col("floor_area_m2") / col("objects")
    return col(f"space_fixed_{label}") + col(f"space_per_m2_{label}") * area


def _no_label_bracket(frame: pl.DataFrame) -> pl.DataFrame:
    """Where a dwelling without a registered label (N) sits on the label scale (Vesta MAIS 5.0 /
    Startanalyse 2020, release notes section 1.2): its demand (the N row) lies between the demands of
    two adjacent labels; ``_from_lo`` is the worst label whose demand is at most the N demand,
    ``_from_hi`` the next worse one, ``_w_hi`` the weight of the worse one (linear in demand). A demand
    above G counts as G; below A as A. Labelled groups: their own label, weight 0."""
    d_n = _space_per_object(NO_LABEL)
    worst_first = list(reversed(LABEL_RANK))  # G, F, ..., A
    lo = pl.lit(None, pl.String)
    for label in reversed(worst_first):
        lo = pl.when(_space_per_object(label) <= d_n).then(pl.lit(label)).otherwise(lo)
    lo = lo.fill_null("A")
    hi_of = {label: worse for worse, label in zip(worst_first, worst_first[1:], strict=False)}
    hi = lo.replace_strict(hi_of, default=None, return_dtype=pl.String)
    d_lo = _pick_by_label(lo, "space_fixed") + _pick_by_label(lo, "space_per_m2") * col("floor_area_m2") / col(
        "objects"
    )
    d_hi = _pick_by_label(hi, "space_fixed") + _pick_by_label(hi, "space_per_m2") * col("floor_area_m2") / col(
        "objects"
    )
    weight = pl.when(hi.is_null() | (d_hi <= d_lo)).then(0.0).otherwise(((d_n - d_lo) / (d_hi - d_lo)).clip(0.0, 1.0))
    is_n = col("label") == NO_LABEL
    return frame.with_columns(
        pl.when(is_n).then(lo).otherwise(col("label")).alias("_from_lo"),
        pl.when(is_n).then(hi).otherwise(pl.lit(None, pl.String)).alias("_from_hi"),
        pl.when(is_n).then(weight).otherwise(0.0).alias("_w_hi"),
    )


KENTALLEN_KEYS = ("sector", "building_type", "build_year_class")
STEP_WEIGHT_COLUMNS = ("_from_lo", "_from_hi", "_weight_lo", "_weight_hi")


def with_kentallen(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """The demand kentallen of each group's type and period (Vesta) as columns."""
    frame = frame.join(kentallen_wide(p), on=list(KENTALLEN_KEYS), how="left", maintain_order="left")
    missing = frame.filter(col("default_label").is_null())
    if missing.height:
        row = missing.row(0, named=True)
        raise ValueError(f"no kentallen for {row['sector']} {row['building_type']!r} / {row['build_year_class']!r}")
    return frame


def _published_steps(p: CostParameters, side: str) -> pl.DataFrame:
    return (
        insulation_steps(p)
        .rename(
            {
                "label_from": f"_from_{side}",
                "label_to": "target_label",
                "step_fixed": f"_fixed_{side}",
                "step_per_m2": f"_per_m2_{side}",
            }
        )
        .with_columns(pl.lit(True).alias(f"_published_{side}"))
    )


def _step_costs(weight_lo: pl.Expr, weight_hi: pl.Expr) -> list[pl.Expr]:
    return [
        (weight_lo * col("_fixed_lo").fill_null(0.0) + weight_hi * col("_fixed_hi").fill_null(0.0)).alias("step_fixed"),
        (weight_lo * col("_per_m2_lo").fill_null(0.0) + weight_hi * col("_per_m2_hi").fill_null(0.0)).alias(
            "step_per_m2"
        ),
    ]


def attach_labels(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """The label after the route's shell step, and the step's investment per object and per m2.

    Needs the kentallen columns (:func:`with_kentallen`) and ``target_label``. A group steps to the
    route's target label when its label is worse. A dwelling without a label (N) is placed between two
    labels by its demand and its step cost is interpolated between the steps of those two labels
    (Vesta MAIS 5.0; the N step columns of Woningen_BAG.csv are not used). Utility buildings start at
    Vesta's default label. A step without published investment (e.g. utility to label D) is not taken:
    the group keeps its label. Keeps the step weights (STEP_WEIGHT_COLUMNS) so that
    :func:`replace_step_costs` can price the same steps with another scenario's kentallen."""
    if "_w_hi" not in frame.columns:
        frame = _no_label_bracket(frame)
    target = _rank(col("target_label"))
    for side in ("lo", "hi"):
        frame = frame.join(
            _published_steps(p, side),
            on=[*KENTALLEN_KEYS, f"_from_{side}", "target_label"],
            how="left",
            maintain_order="left",  # a fixed row order keeps the floating-point sums the same from run to run
        )
    needs_lo = target.is_not_null() & (_rank(col("_from_lo")) > target)
    needs_hi = (
        target.is_not_null() & col("_from_hi").is_not_null() & (_rank(col("_from_hi")) > target) & (col("_w_hi") > 0)
    )
    published = (~needs_lo | col("_published_lo").fill_null(False)) & (
        ~needs_hi | col("_published_hi").fill_null(False)
    )
    stepped = (needs_lo | needs_hi) & published
    frame = frame.with_columns(
        stepped.alias("insulated"),
        pl.when(stepped).then(col("target_label")).otherwise(col("label")).alias("label_after"),
        pl.when(needs_lo).then(1 - col("_w_hi")).otherwise(0.0).alias("_weight_lo"),
        pl.when(needs_hi).then(col("_w_hi")).otherwise(0.0).alias("_weight_hi"),
    )
    return frame.with_columns(_step_costs(col("_weight_lo"), col("_weight_hi"))).drop(
        "_w_hi", "_fixed_lo", "_fixed_hi", "_per_m2_lo", "_per_m2_hi", "_published_lo", "_published_hi"
    )


def replace_step_costs(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """The same shell steps as :func:`attach_labels` chose, priced with ``p``'s kentallen (the
    investment scenarios move the step costs, never which steps exist or which are taken)."""
    frame = frame.drop("step_fixed", "step_per_m2")
    for side in ("lo", "hi"):
        frame = frame.join(
            _published_steps(p, side).drop(f"_published_{side}"),
            on=[*KENTALLEN_KEYS, f"_from_{side}", "target_label"],
            how="left",
            maintain_order="left",
        )
    return frame.with_columns(_step_costs(col("_weight_lo"), col("_weight_hi"))).drop(
        "_fixed_lo", "_fixed_hi", "_per_m2_lo", "_per_m2_hi"
    )


def heat_demand(frame: pl.DataFrame) -> pl.DataFrame:
    """Functional demand of the group in GJ/yr (Vesta: fixed part per object + part per m2).

    space_heating_before/after_gj = max(0, fixed[label] x objects + per_m2[label] x floor area);
    hot_water_gj likewise (label-independent); ventilation electricity only at labels A and B
    (Vesta: V_Vent at SchilLabel <= B); appliance electricity."""

    def space(label: pl.Expr) -> pl.Expr:
        return (
            _pick_by_label(label, "space_fixed") * col("objects")
            + _pick_by_label(label, "space_per_m2") * col("floor_area_m2")
        ).clip(lower_bound=0.0)

    def ventilation(label: pl.Expr) -> pl.Expr:
        amount = col("ventilation_fixed") * col("objects") + col("ventilation_per_m2") * col("floor_area_m2")
        return pl.when(label.is_in(["A", "B"])).then(amount).otherwise(0.0)

    return frame.with_columns(
        space(col("label")).alias("space_heating_before_gj"),
        space(col("label_after")).alias("space_heating_gj"),
        (col("hot_water_fixed") * col("objects") + col("hot_water_per_m2") * col("floor_area_m2")).alias(
            "hot_water_gj"
        ),
        ventilation(col("label_after")).alias("ventilation_electricity_gj"),
        (col("appliances_fixed") * col("objects") + col("appliances_per_m2") * col("floor_area_m2")).alias(
            "appliance_electricity_gj"
        ),
    )


def capacities(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Connection capacity of the group (kW): space heating and hot water (Vesta Vermogens.dms,
    ground-level vs apartment vs utility per m2)."""
    apartment = col("building_type").is_in(list(APARTMENT_TYPES))
    dwelling = col("sector") == "dwelling"
    space = (
        pl.when(~dwelling)
        .then(p["space_heating_capacity_utility_per_m2"] * col("floor_area_m2"))
        .when(apartment)
        .then(
            p["space_heating_capacity_apartment_fixed"] * col("objects")
            + p["space_heating_capacity_apartment_per_m2"] * col("floor_area_m2")
        )
        .otherwise(
            p["space_heating_capacity_ground_level_fixed"] * col("objects")
            + p["space_heating_capacity_ground_level_per_m2"] * col("floor_area_m2")
        )
    )
    hot_water = (
        pl.when(~dwelling)
        .then(p["hot_water_capacity_utility_per_m2"] * col("floor_area_m2"))
        .when(apartment)
        .then(p["hot_water_capacity_apartment"] * col("objects"))
        .otherwise(p["hot_water_capacity_ground_level"] * col("objects"))
    )
    return frame.with_columns(
        space.alias("space_heating_capacity_kw"),
        hot_water.alias("hot_water_capacity_kw"),
        apartment.alias("is_apartment"),
    )


def _spf_by_label(prefix: str, p: CostParameters) -> pl.Expr:
    label = col("label_after")
    return (
        pl.when(label == "A")
        .then(p[f"{prefix}_a"])
        .when(label == "B")
        .then(p[f"{prefix}_b"])
        .when(label == "C")
        .then(p[f"{prefix}_c"])
        .otherwise(p[f"{prefix}_other"])
    )


def energy_use(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Final energy per carrier in GJ/yr: natural gas, green gas, building electricity, delivered heat.

    boiler:      gas = space / eta_space + hot water / eta_hot_water
    heat pump:   electricity = space / SPF(label) + hot water / SPF_hot_water
    hybrid:      electricity = s x space / SPF_hybrid; gas = (1 - s) x space / eta_space + hot water / eta_hw
    heat network: heat = space + hot water (a 50 C network adds a booster: electricity = hot water / SPF_b,
                  heat for hot water = hot water x (1 - 1 / SPF_b))
    and every route: appliances + ventilation electricity."""
    dwelling = col("sector") == "dwelling"
    heating, space, hot_water = col("heating"), col("space_heating_gj"), col("hot_water_gj")
    boiler_gas = space / p["boiler_efficiency_space"] + hot_water / p["boiler_efficiency_hot_water"]
    hp_air = (
        pl.when(dwelling)
        .then(space / _spf_by_label("heat_pump_air_spf_space", p) + hot_water / p["heat_pump_air_spf_hot_water"])
        .otherwise(space / p["heat_pump_air_spf_space_utility"] + hot_water / p["heat_pump_spf_hot_water_utility"])
    )
    hp_ground = (
        pl.when(dwelling)
        .then(space / _spf_by_label("heat_pump_ground_spf_space", p) + hot_water / p["heat_pump_ground_spf_hot_water"])
        .otherwise(space / p["heat_pump_ground_spf_space_utility"] + hot_water / p["heat_pump_spf_hot_water_utility"])
    )
    share = (
        pl.when(dwelling).then(p["hybrid_heat_pump_space_share"]).otherwise(p["hybrid_heat_pump_space_share_utility"])
    )
    hybrid_spf = (
        pl.when(dwelling)
        .then(_spf_by_label("hybrid_heat_pump_spf_space", p))
        .otherwise(p["hybrid_heat_pump_spf_space_utility"])
    )
    hybrid_electricity = share * space / hybrid_spf
    hybrid_gas = (1 - share) * space / p["boiler_efficiency_space"] + hot_water / p["boiler_efficiency_hot_water"]
    booster = (col("network_temperature") == "lt50") & dwelling
    booster_electricity = pl.when(booster).then(hot_water / p["booster_heat_pump_spf"]).otherwise(0.0)
    fuel_gas = pl.when(heating == "boiler").then(boiler_gas).when(heating == "hybrid").then(hybrid_gas).otherwise(0.0)
    heating_electricity = (
        pl.when(heating == "heat_pump_air")
        .then(hp_air)
        .when(heating == "heat_pump_ground")
        .then(hp_ground)
        .when(heating == "hybrid")
        .then(hybrid_electricity)
        .when(heating == "heat_network")
        .then(booster_electricity)
        .otherwise(0.0)
    )
    heat = pl.when(heating == "heat_network").then(space + hot_water - booster_electricity).otherwise(0.0)
    return frame.with_columns(
        pl.when(col("fuel") == "natural_gas").then(fuel_gas).otherwise(0.0).alias("natural_gas_gj"),
        pl.when(col("fuel") == "green_gas").then(fuel_gas).otherwise(0.0).alias("green_gas_gj"),
        (heating_electricity + col("appliance_electricity_gj") + col("ventilation_electricity_gj")).alias(
            "electricity_gj"
        ),
        heating_electricity.alias("heating_electricity_gj"),
        heat.alias("heat_delivered_gj"),
    )


def investments(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Investments of the group in EUR excl. VAT after the learning curve, per component:

    investment_building_shell   step[label -> target] (fixed x objects + per m2 x area) x learning(target)
    investment_installation_15  boiler / heat pump / hybrid (+ its boiler) / booster: 15-year part
    investment_installation_30  the ground loop share of a ground-source heat pump (30 years)
    investment_low_temperature_emitters   LTAS per dwelling or per m2 (30 years)
    investment_heat_building_side         connection, in-house pipes, removal, project costs (network life)
    """
    dwelling = col("sector") == "dwelling"
    objects, area, space_kw = col("objects"), col("floor_area_m2"), col("space_heating_capacity_kw")
    heating = col("heating")
    learning_shell = (
        pl.when(col("label_after") == "A")
        .then(p["learning_insulation_to_a"])
        .when(col("label_after") == "B")
        .then(p["learning_insulation_to_b"])
        .otherwise(p["learning_insulation_to_d_c"])
    )
    shell = (
        pl.when(col("insulated"))
        .then((col("step_fixed") * objects + col("step_per_m2") * area) * learning_shell)
        .otherwise(0.0)
    )
    boiler = (
        pl.when(dwelling)
        .then(p["boiler_invest_fixed"] * objects)
        .otherwise(p["boiler_invest_per_kw_utility"] * space_kw)
        * p["learning_boiler"]
    )
    hp_air = (
        pl.when(dwelling)
        .then(p["heat_pump_air_invest_fixed"] * objects + p["heat_pump_air_invest_per_kw"] * space_kw)
        .otherwise(
            p["heat_pump_air_invest_fixed_utility"] * objects + p["heat_pump_air_invest_per_kw_utility"] * space_kw
        )
        * p["learning_heat_pump_air"]
    )
    hp_ground = (
        pl.when(dwelling)
        .then(p["heat_pump_ground_invest_fixed"] * objects + p["heat_pump_ground_invest_per_kw"] * space_kw)
        .otherwise(
            p["heat_pump_ground_invest_fixed_utility"] * objects
            + p["heat_pump_ground_invest_per_kw_utility"] * space_kw
        )
        * p["learning_heat_pump_ground"]
    )
    hybrid_hp = (
        pl.when(dwelling)
        .then(
            p["hybrid_heat_pump_invest_fixed"] * objects
            + p["hybrid_heat_pump_invest_per_kw"] * p["hybrid_heat_pump_capacity_share"] * space_kw
        )
        .otherwise(
            p["heat_pump_air_invest_fixed_utility"] * objects
            + p["heat_pump_air_invest_per_kw_utility"] * p["hybrid_heat_pump_capacity_share_utility"] * space_kw
        )
        * p["learning_hybrid_heat_pump"]
    )
    booster = (
        pl.when(dwelling & (col("network_temperature") == "lt50"))
        .then(p["booster_heat_pump_invest"] * objects)
        .otherwise(0.0)
        * p["learning_heat_pump_air"]
    )
    installation = (
        pl.when(heating == "boiler")
        .then(boiler)
        .when(heating == "heat_pump_air")
        .then(hp_air)
        .when(heating == "heat_pump_ground")
        .then(hp_ground)
        .when(heating == "hybrid")
        .then(hybrid_hp + boiler)
        .otherwise(booster)
    )
    loop_share = pl.when(heating == "heat_pump_ground").then(p["ground_loop_share"]).otherwise(0.0)
    ltas = (
        pl.when(col("low_temperature_emitters"))
        .then(
            pl.when(~dwelling)
            .then(p["low_temperature_emitters_invest_utility"] * area)
            .when(col("is_apartment"))
            .then(p["low_temperature_emitters_invest_apartment"] * objects)
            .otherwise(p["low_temperature_emitters_invest_ground_level"] * objects)
            * p["learning_low_temperature_emitters"]
        )
        .otherwise(0.0)
    )
    connection = (
        pl.when(~dwelling)
        .then(p["heat_connection_utility_per_m2"] * area)
        .when(col("is_apartment"))
        .then(p["heat_connection_apartment"] * objects)
        .otherwise(p["heat_connection_ground_level"] * objects)
    ) * p["learning_heat_connections"]
    in_house = (
        pl.when(dwelling & col("is_apartment")).then(p["heat_in_house_apartment"] * objects).otherwise(0.0)
        + pl.when(dwelling)
        .then((p["heat_removal_old_installation"] + p["heat_project_costs"]) * objects)
        .otherwise(0.0)
    ) * p["learning_in_house"]
    building_side = pl.when(heating == "heat_network").then(connection + in_house).otherwise(0.0)
    return frame.with_columns(
        shell.alias("investment_building_shell"),
        (installation * (1 - loop_share)).alias("investment_installation_15"),
        (installation * loop_share).alias("investment_installation_30"),
        ltas.alias("investment_low_temperature_emitters"),
        building_side.alias("investment_heat_building_side"),
        pl.when(heating == "hybrid").then(boiler).otherwise(0.0).alias("_hybrid_boiler"),
    )


def maintenance(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Yearly maintenance (EUR/yr excl. VAT) = rate x investment (Installatie.csv R_OH; heat-network
    building side: the in-house distribution rate)."""
    dwelling = col("sector") == "dwelling"
    heating = col("heating")
    installed = col("investment_installation_15") + col("investment_installation_30")
    rate = (
        pl.when(heating == "boiler")
        .then(p["maintenance_rate_boiler"])
        .when(heating == "heat_pump_air")
        .then(
            pl.when(dwelling)
            .then(p["maintenance_rate_heat_pump_air"])
            .otherwise(p["maintenance_rate_heat_pump_utility"])
        )
        .when(heating == "heat_pump_ground")
        .then(
            pl.when(dwelling)
            .then(p["maintenance_rate_heat_pump_ground"])
            .otherwise(p["maintenance_rate_heat_pump_ground_utility"])
        )
        .when(heating == "hybrid")
        .then(p["maintenance_rate_hybrid"])
        .otherwise(p["maintenance_rate_heat_pump_air"])
    )
    return frame.with_columns(
        (installed * rate + col("investment_heat_building_side") * p["maintenance_rate_heat_in_house"]).alias(
            "maintenance_eur"
        ),
    )


def _energy_price_per_gj(p: CostParameters, carrier: str, size: str, end_user: bool) -> float:
    """EUR per GJ of a carrier ('gas', 'green_gas', 'electricity'); end-user adds energy tax and the
    SDE/ODE surcharge (green gas pays the gas rates)."""
    national = p[f"{carrier}_price_national_{size}"]
    taxed = "gas" if carrier == "green_gas" else carrier
    per_unit = national + (p[f"{taxed}_energy_tax_{size}"] + p[f"{taxed}_sde_surcharge_{size}"] if end_user else 0.0)
    if carrier == "electricity":
        return per_unit * KWH_PER_GJ
    return per_unit * MJ_PER_GJ / p["gas_lower_heating_value"]


def energy_prices(p: CostParameters) -> dict[str, float]:
    """National and end-user (excl. VAT) prices in EUR per GJ, small (dwellings) and medium (utility) users."""
    prices = {}
    for carrier in ("gas", "green_gas", "electricity"):
        for size in ("small", "medium"):
            prices[f"{carrier}_{size}_national"] = _energy_price_per_gj(p, carrier, size, end_user=False)
            prices[f"{carrier}_{size}_end_user"] = _energy_price_per_gj(p, carrier, size, end_user=True)
    for size in ("small", "medium"):
        per_kwh = p[f"green_electricity_price_national_{size}"]
        prices[f"green_electricity_{size}_national"] = per_kwh * KWH_PER_GJ
    return prices


def national_costs(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Yearly national costs of the group (EUR/yr, excl. taxes and subsidies, national discount rate):
    capital of shell (30 yr), installations (15/30 yr), LTAS (30 yr), heat-network building side
    (network annualisation, years 2-30), energy at national prices, maintenance."""
    r = p["discount_rate_national"]
    prices = energy_prices(p)
    size = pl.col("sector") == "dwelling"

    def price(carrier: str) -> pl.Expr:
        return pl.when(size).then(prices[f"{carrier}_small_national"]).otherwise(prices[f"{carrier}_medium_national"])

    network = delayed_annuity_factor(r, p["heat_network_first_year"], p["heat_network_last_year"])
    return frame.with_columns(
        (col("investment_building_shell") * annuity_factor(r, p["lifetime_building_shell"])).alias(
            "national_capital_building_shell"
        ),
        (
            col("investment_installation_15") * annuity_factor(r, p["lifetime_installation"])
            + col("investment_installation_30") * annuity_factor(r, p["lifetime_ground_loop"])
        ).alias("national_capital_installations"),
        (col("investment_low_temperature_emitters") * annuity_factor(r, p["lifetime_low_temperature_emitters"])).alias(
            "national_capital_low_temperature_emitters"
        ),
        (col("investment_heat_building_side") * network).alias("national_capital_heat_building_side"),
        (col("natural_gas_gj") * price("gas")).alias("national_energy_natural_gas"),
        (col("green_gas_gj") * price("green_gas")).alias("national_energy_green_gas"),
        (col("electricity_gj") * price("electricity")).alias("national_energy_electricity"),
    )


def _isde(frame_expr_objects: pl.Expr, heat_pump_kw: pl.Expr, p: CostParameters) -> pl.Expr:
    """ISDE purchase subsidy for the group: fixed + per kW above the threshold, per heat pump."""
    per_dwelling_kw = heat_pump_kw / frame_expr_objects
    per_unit = p["isde_heat_pump_fixed"] + p["isde_heat_pump_per_kw"] * (
        per_dwelling_kw - p["isde_heat_pump_kw_threshold"]
    ).clip(lower_bound=0.0)
    return per_unit * frame_expr_objects


def end_user_costs(frame: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Yearly end-user costs of dwelling groups (EUR/yr, incl. VAT, energy tax and subsidies):

    - the owner's capital cost per owner type (investment incl. VAT minus ISDE, annualised at the
      owner's rate over the component lifetimes; heat networks: the connection fee instead);
    - the occupant's energy bill: end-user prices incl. VAT; heat at the gas-reference price
      (NMDA: end-user gas price / boiler efficiency) plus the fixed heat charges; the fixed charges of a
      gas connection while it stays;
    - maintenance incl. VAT (paid by the owner).
    Utility groups get zeros here (the end-user view is for dwellings)."""
    dwelling = col("sector") == "dwelling"
    vat, vat_shell = p["vat_rate"], p["vat_rate_building_improvement"]
    prices = energy_prices(p)
    heating = col("heating")
    heat_pump_kw = (
        pl.when(heating.is_in(["heat_pump_air", "heat_pump_ground"]))
        .then(col("space_heating_capacity_kw"))
        .when(heating == "hybrid")
        .then(col("space_heating_capacity_kw") * p["hybrid_heat_pump_capacity_share"])
        .otherwise(0.0)
    )
    subsidy = pl.when(dwelling & (heat_pump_kw > 0)).then(_isde(col("objects"), heat_pump_kw, p)).otherwise(0.0)
    fee = pl.when(heating == "heat_network").then(p["heat_connection_fee"] * col("objects")).otherwise(0.0)
    shell = col("investment_building_shell") * (1 + vat_shell)
    install_15 = col("investment_installation_15") * (1 + vat)
    install_30 = col("investment_installation_30") * (1 + vat)
    ltas = col("investment_low_temperature_emitters") * (1 + vat)
    frame = frame.with_columns(
        pl.when(dwelling)
        .then(shell + install_15 + install_30 + ltas + fee * (1 + vat) - subsidy)
        .otherwise(0.0)
        .alias("end_user_investment"),
        pl.when(dwelling).then(subsidy).otherwise(0.0).alias("end_user_subsidy"),
    )
    for owner in OWNER_TYPES:
        rate = p[f"discount_rate_{owner}"]
        capital = (
            shell * annuity_factor(rate, p["lifetime_building_shell"])
            + (install_15 - subsidy) * annuity_factor(rate, p["lifetime_installation"])
            + install_30 * annuity_factor(rate, p["lifetime_ground_loop"])
            + ltas * annuity_factor(rate, p["lifetime_low_temperature_emitters"])
            + fee * (1 + vat) * annuity_factor(rate, p["heat_network_last_year"])
        )
        frame = frame.with_columns(pl.when(dwelling).then(capital).otherwise(0.0).alias(f"end_user_capital_{owner}"))
    gas_fixed = sum(
        p[name]
        for name in (
            "gas_fixed_charge_standing",
            "gas_fixed_charge_connection",
            "gas_fixed_charge_meter",
            "gas_fixed_charge_capacity",
            "gas_fixed_charge_supply",
        )
    )
    heat_price = prices["gas_small_end_user"] / p["boiler_efficiency_space"]
    heat_fixed = (
        pl.when(col("network_temperature") == "mt").then(p["heat_fixed_charge_mt"]).otherwise(p["heat_fixed_charge_lt"])
        + p["heat_metering_charge"]
    )
    energy = (
        col("natural_gas_gj") * prices["gas_small_end_user"]
        + col("green_gas_gj") * prices["green_gas_small_end_user"]
        + col("electricity_gj") * prices["electricity_small_end_user"]
        + col("heat_delivered_gj") * heat_price
        + pl.when(col("gas_grid_removed")).then(0.0).otherwise(gas_fixed * col("objects"))
        + pl.when(heating == "heat_network").then(heat_fixed * col("objects")).otherwise(0.0)
    ) * (1 + vat)
    return frame.with_columns(
        pl.when(dwelling).then(energy).otherwise(0.0).alias("end_user_energy"),
        pl.when(dwelling).then(col("maintenance_eur") * (1 + vat)).otherwise(0.0).alias("end_user_maintenance"),
    )


# What a group's quantities depend on besides the group: the route's shell target only.
QUANTITY_COLUMNS = (
    "target_label",
    "insulated",
    "label_after",
    "step_fixed",
    "step_per_m2",
    *STEP_WEIGHT_COLUMNS,
    "space_heating_gj",
    "hot_water_gj",
    "ventilation_electricity_gj",
    "appliance_electricity_gj",
    "space_heating_capacity_kw",
    "hot_water_capacity_kw",
    "is_apartment",
)


def group_quantities(groups: pl.DataFrame, targets: list[str | None], p: CostParameters) -> pl.DataFrame:
    """Per group and shell target (e.g. None, B, D): label after the step, step costs, heat demand and
    capacity. These do not depend on the route's installation, so a route only adds its installation;
    nor on the scenario's prices (the investment scenarios reprice the steps: :func:`replace_step_costs`)."""
    frame = _no_label_bracket(with_kentallen(groups, p))
    frame = capacities(frame, p)
    frame = frame.join(pl.DataFrame({"target_label": targets}, schema={"target_label": pl.String}), how="cross")
    frame = heat_demand(attach_labels(frame, p))
    return frame.select(*groups.columns, *QUANTITY_COLUMNS)


def route_costs(quantities: pl.DataFrame | pl.LazyFrame, routes: pl.DataFrame, p: CostParameters) -> pl.LazyFrame:
    """All building-level costs for every group x route from :func:`group_quantities` (lazy: collect
    only the columns needed, the rest is never computed)."""
    frame = quantities.lazy().join(
        routes.lazy(), on="target_label", how="inner", nulls_equal=True, maintain_order="left_right"
    )
    for step in (energy_use, investments, maintenance, national_costs, end_user_costs):
        frame = step(frame, p)
    return frame


def evaluate_groups(groups: pl.DataFrame, routes: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """All building-level quantities and costs for every group x route."""
    targets = routes["target_label"].unique(maintain_order=True).to_list()
    return route_costs(group_quantities(groups, targets, p), routes, p).collect()
