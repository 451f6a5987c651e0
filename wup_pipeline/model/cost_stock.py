"""Building groups for the cost model: from buurt totals or from dwelling groups to rows of
(buurt, sector, Vesta building type, build-year class, label) with a number of objects and floor area.

A buurt summary says how many dwellings have each label, not which types and periods they are. The
mix is filled in from the national stock (``costs_building_stock.csv``): where a buurt's own
dwelling-type or build-period counts are given they rake the national mix (iterative proportional
fitting), and dwellings with a known label are spread over types and periods in proportion to how
likely that label is there (Bayes with the label shares of ``label_distribution.csv``):

    P(type, period | label, buurt) ~ P(label | type, period) x P(type, period | buurt)

Dwellings without a label count keep P(type, period | buurt) and use Vesta's N row ('Geen label').
Utility floor area is spread over the national utility mix (industry excluded, as in the
Startanalyse) and gets the default label of its type and period. Method: docs/cost-model.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import polars as pl

from wup_pipeline.model.cost_parameters import CostParameters
from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.errors import InputError

LABELS = ("A", "B", "C", "D", "E", "F", "G")
HEAT_LABELS = ("N", *LABELS)
LABEL_RANK = {label: rank for rank, label in enumerate(LABELS, start=1)}
NO_LABEL = "N"
APARTMENT_TYPES = ("meergezins: laag en midden", "meergezins: hoog")

# Buurt columns with dwelling-type and build-period counts (marts.housing_stock_buurt) and the Vesta
# types / build-year classes they cover.
TYPE_COLUMNS = {
    "n_detached": ("vrijstaand",),
    "n_semi_detached": ("2 onder 1 kap",),
    "n_corner": ("rijwoning hoek",),
    "n_terraced": ("rijwoning tussen",),
    "n_apartment": APARTMENT_TYPES,
}
PERIOD_COLUMNS = {
    "n_built_before_1945": ("voor 1930", "1930 - 1945"),
    "n_built_1945_1974": ("1946 - 1964", "1965 - 1974"),
    "n_built_1975_1991": ("1975 - 1991",),
    "n_built_1992_2005": ("1992 - 1995", "1996 - 1999", "2000 - 2005"),
    "n_built_since_2006": ("2006 - 2010", "2011 - 2014", "2015 - 2020"),
}
RAKING_ITERATIONS = 20
GROUP_KEYS = ("buurt_code", "sector", "building_type", "build_year_class", "label")


def _require(frame: pl.DataFrame, columns: Sequence[str], where: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise InputError(where, "column is missing", field=column)


def check_numbers(frame: pl.DataFrame, columns: Sequence[str], where: str, key: str = "buurt_code") -> None:
    """Every listed column that is present must be a non-negative number; errors name the record."""
    for column in columns:
        if column not in frame.columns:
            continue
        values = frame[column]
        if not values.dtype.is_numeric():
            cast = values.cast(pl.Float64, strict=False)
            bad = frame.filter(cast.is_null() & values.is_not_null())
            if bad.height:
                raise InputError(where, f"not a number: {bad[column][0]!r}", record=bad[key][0], field=column)
            values = cast
        bad = frame.filter(values < 0)
        if bad.height:
            raise InputError(where, f"negative value {bad[column][0]}", record=bad[key][0], field=column)


def kentallen_wide(p: CostParameters) -> pl.DataFrame:
    """One row per (sector, building type, build-year class) with the demand kentallen as columns:
    space_fixed_<L>/space_per_m2_<L> per label row, hot water, ventilation, appliances, default label."""
    k = p.kentallen
    keys = ["sector", "building_type", "build_year_class"]
    space = (
        k.filter(pl.col("name").str.starts_with("space_heating_"))
        .with_columns(
            (pl.col("name").str.replace("space_heating_", "space_") + "_" + pl.col("label_from")).alias("column")
        )
        .pivot(on="column", index=keys, values="value")
    )
    other = k.filter(
        pl.col("name").is_in(
            [
                "hot_water_fixed",
                "hot_water_per_m2",
                "ventilation_fixed",
                "ventilation_per_m2",
                "appliances_fixed",
                "appliances_per_m2",
            ]
        )
    ).pivot(on="name", index=keys, values="value")
    default = k.filter(pl.col("name") == "default_label").select(*keys, pl.col("label_from").alias("default_label"))
    wide = space.join(other, on=keys, how="left").join(default, on=keys, how="left")
    for label in HEAT_LABELS:
        for part in ("fixed", "per_m2"):
            if f"space_{part}_{label}" not in wide.columns:
                wide = wide.with_columns(pl.lit(None, pl.Float64).alias(f"space_{part}_{label}"))
    return wide.with_columns(pl.col(pl.Float64).fill_null(0.0))


def insulation_steps(p: CostParameters) -> pl.DataFrame:
    """(sector, type, build-year class, label_from, label_to) -> step_fixed (EUR per object) and
    step_per_m2 (EUR per m2), as published (excl. VAT, before the learning curve)."""
    return (
        p.kentallen.filter(pl.col("name").str.starts_with("insulation_step_"))
        .pivot(
            on="name", index=["sector", "building_type", "build_year_class", "label_from", "label_to"], values="value"
        )
        .rename({"insulation_step_fixed": "step_fixed", "insulation_step_per_m2": "step_per_m2"})
        .with_columns(pl.col("step_fixed", "step_per_m2").fill_null(0.0))
    )


def national_mix(p: CostParameters, sector: str) -> pl.DataFrame:
    """Shares of the national stock per (building type, build-year class) of a sector (sum 1)."""
    stock = p.stock.filter(pl.col("sector") == sector)
    return stock.select(
        "building_type", "build_year_class", (pl.col("value") / pl.col("value").sum()).alias("share")
    ).filter(pl.col("share") > 0)


def _label_likelihood() -> pl.DataFrame:
    """P(label | Vesta type, build-year class) from the housing model's label shares."""
    shares = load_parameters("label_distribution")
    types = load_parameters("dwelling_type_classes").select(
        "dwelling_type_class", pl.col("vesta_type").alias("building_type")
    )
    return shares.join(types, on="dwelling_type_class", how="inner").select(
        "building_type", "build_year_class", "label", pl.col("value").alias("likelihood")
    )


def _raked_mix(buurten: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """P(type, period | buurt): the national mix, raked to the buurt's type and period counts where
    those columns are given (iterative proportional fitting; a margin without counts is left alone)."""
    mix = buurten.select("buurt_code").join(national_mix(p, "dwelling"), how="cross")
    margins = []
    for columns, key in ((TYPE_COLUMNS, "building_type"), (PERIOD_COLUMNS, "build_year_class")):
        present = [c for c in columns if c in buurten.columns]
        if not present:
            continue
        mapping = pl.DataFrame(
            [(column, member) for column in present for member in columns[column]],
            schema=["_margin", key],
            orient="row",
        )
        targets = (
            buurten.select("buurt_code", *present)
            .unpivot(index="buurt_code", variable_name="_margin", value_name="_target")
            .with_columns(pl.col("_target").cast(pl.Float64))
        )
        totals = targets.group_by("buurt_code").agg(pl.col("_target").sum().alias("_margin_total"))
        targets = (
            targets.join(totals, on="buurt_code")
            .filter(pl.col("_margin_total") > 0)
            .with_columns((pl.col("_target") / pl.col("_margin_total")).alias("_target"))
        )
        margins.append((mapping, targets.select("buurt_code", "_margin", "_target")))
    if not margins:
        return mix
    mix = mix.with_columns(pl.col("share").alias("_weight"))
    for _ in range(RAKING_ITERATIONS):
        for mapping, targets in margins:
            mix = mix.join(mapping, on=mapping.columns[1], how="left")
            current = mix.group_by("buurt_code", "_margin").agg(pl.col("_weight").sum().alias("_current"))
            mix = (
                mix.join(current, on=["buurt_code", "_margin"], how="left")
                .join(targets, on=["buurt_code", "_margin"], how="left")
                .with_columns(
                    pl.when(pl.col("_target").is_not_null() & (pl.col("_current") > 0))
                    .then(pl.col("_weight") * pl.col("_target") / pl.col("_current"))
                    .otherwise(pl.col("_weight"))
                    .alias("_weight")
                )
                .drop("_margin", "_current", "_target")
            )
    total = pl.col("_weight").sum().over("buurt_code")
    return mix.with_columns(
        pl.when(total > 0).then(pl.col("_weight") / total).otherwise(pl.col("share")).alias("share")
    ).drop("_weight")


BUURT_COLUMNS = (
    "buurt_code",
    "dwellings",
    "utility_floor_area_m2",
    "dwelling_floor_area_m2",
    *(f"n_label_{label.lower()}" for label in LABELS),
)


def check_buurten(buurten: pl.DataFrame, where: str = "buurten") -> pl.DataFrame:
    """Validate the buurt-summary input; return it with float columns and the unknown-label count."""
    _require(buurten, BUURT_COLUMNS, where)
    missing_code = buurten.with_row_index("_row").filter(pl.col("buurt_code").is_null())
    if missing_code.height:
        raise InputError(where, "buurt code is missing", record=int(missing_code["_row"][0]), field="buurt_code")
    duplicated = buurten.filter(pl.col("buurt_code").is_duplicated())
    if duplicated.height:
        raise InputError(where, "buurt occurs more than once", record=duplicated["buurt_code"][0], field="buurt_code")
    optional = [
        *TYPE_COLUMNS,
        *PERIOD_COLUMNS,
        "utility_objects",
        "household_income_eur",
        "n_owner_occupied",
        "n_private_rent",
        "n_corporation",
        "grid_capacity_kw",
        "gas_network_length_m",
        "lv_network_length_m",
        "koppelkans_share",
        "koppelkans_assets",
    ]
    numeric = [c for c in (*BUURT_COLUMNS[1:], *optional) if c in buurten.columns]
    check_numbers(buurten, numeric, where)
    frame = buurten.with_columns([pl.col(c).cast(pl.Float64) for c in numeric])
    label_columns = [f"n_label_{label.lower()}" for label in LABELS]
    frame = frame.with_columns(
        pl.col(label_columns + ["dwellings", "utility_floor_area_m2", "dwelling_floor_area_m2"]).fill_null(0.0)
    )
    labelled = pl.sum_horizontal(label_columns)
    too_many = frame.filter(labelled > pl.col("dwellings") + 1e-9)
    if too_many.height:
        raise InputError(
            where,
            f"label counts add up to more than the {too_many['dwellings'][0]:g} dwellings",
            record=too_many["buurt_code"][0],
            field="n_label_a",
        )
    no_area = frame.filter((pl.col("dwellings") > 0) & (pl.col("dwelling_floor_area_m2") <= 0))
    if no_area.height:
        raise InputError(
            where, "dwellings without floor area", record=no_area["buurt_code"][0], field="dwelling_floor_area_m2"
        )
    if "koppelkans_share" in frame.columns:
        above = frame.filter(pl.col("koppelkans_share") > 1)
        if above.height:
            raise InputError(where, "a share above 1", record=above["buurt_code"][0], field="koppelkans_share")
    return frame.with_columns((pl.col("dwellings") - labelled).clip(lower_bound=0.0).alias("n_label_unknown"))


def dwelling_groups_from_buurten(buurten: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Dwelling groups of checked buurt rows: objects and floor area per type x period x label."""
    mix = _raked_mix(buurten, p)
    likelihood = _label_likelihood()
    label_counts = (
        buurten.select("buurt_code", *[f"n_label_{label.lower()}" for label in LABELS], "n_label_unknown")
        .unpivot(index="buurt_code", variable_name="_column", value_name="count")
        .with_columns(
            pl.col("_column")
            .str.replace("n_label_", "")
            .str.to_uppercase()
            .replace({"UNKNOWN": NO_LABEL})
            .alias("label")
        )
        .filter(pl.col("count") > 0)
        .drop("_column")
    )
    joined = (
        label_counts.join(mix, on="buurt_code", how="inner")
        .join(likelihood, on=["building_type", "build_year_class", "label"], how="left")
        .with_columns(
            pl.when(pl.col("label") == NO_LABEL)
            .then(1.0)
            .otherwise(pl.col("likelihood").fill_null(0.0))
            .alias("likelihood")
        )
    )
    posterior = pl.col("share") * pl.col("likelihood")
    total = posterior.sum().over("buurt_code", "label")
    # A label with no likelihood anywhere in the buurt's mix keeps the mix itself.
    weight = pl.when(total > 0).then(posterior / total).otherwise(pl.col("share"))
    area_per_dwelling = buurten.select(
        "buurt_code", (pl.col("dwelling_floor_area_m2") / pl.col("dwellings")).alias("_area_per_dwelling")
    )
    groups = (
        joined.with_columns((pl.col("count") * weight).alias("objects"))
        .filter(pl.col("objects") > 0)
        .join(area_per_dwelling, on="buurt_code")
        .select(
            "buurt_code",
            pl.lit("dwelling").alias("sector"),
            "building_type",
            "build_year_class",
            "label",
            "objects",
            (pl.col("objects") * pl.col("_area_per_dwelling")).alias("floor_area_m2"),
        )
    )
    return groups


def utility_groups_from_buurten(buurten: pl.DataFrame, p: CostParameters) -> pl.DataFrame:
    """Utility floor area spread over the national utility mix; label = the Vesta default label."""
    mix = national_mix(p, "utility")
    defaults = p.kentallen.filter((pl.col("sector") == "utility") & (pl.col("name") == "default_label")).select(
        "building_type", "build_year_class", pl.col("label_from").alias("label")
    )
    area_per_object = p["utility_floor_area_per_object"]
    objects = (
        pl.col("utility_objects").fill_null(pl.col("utility_floor_area_m2") / area_per_object)
        if "utility_objects" in buurten.columns
        else pl.col("utility_floor_area_m2") / area_per_object
    )
    totals = buurten.filter(pl.col("utility_floor_area_m2") > 0).select(
        "buurt_code", pl.col("utility_floor_area_m2").alias("_area"), objects.alias("_objects")
    )
    return (
        totals.join(mix, how="cross")
        .join(defaults, on=["building_type", "build_year_class"], how="left")
        .select(
            "buurt_code",
            pl.lit("utility").alias("sector"),
            "building_type",
            "build_year_class",
            "label",
            (pl.col("_objects") * pl.col("share")).alias("objects"),
            (pl.col("_area") * pl.col("share")).alias("floor_area_m2"),
        )
    )


@lru_cache(maxsize=1)
def label_likelihood_row_ids() -> tuple[str, ...]:
    """Row ids of the label shares used to place labelled dwellings (label_distribution.csv)."""
    sets = load_parameters("label_distribution")["parameter_set"].unique().sort().to_list()
    return tuple(f"label_distribution:{name}:share" for name in sets)
