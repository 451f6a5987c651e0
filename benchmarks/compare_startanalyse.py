"""Compare the cost model with PBL's Startanalyse (Vesta MAIS, 2020 edition) for Blaricum, Laren
and Weesp: 38 buurten in ../shared/reference/startanalyse_gooi_vecht_2019, of which 37 are compared
(BU03760107 Eemmeer-Blaricum, water, has no dwellings and no woningequivalenten; the 'UITGESLOTEN'
row is not a buurt).

Inputs per buurt come from the reference's Y2019 files (the start situation): I09 dwellings, I10
utility objects, I12 dwelling floor area, I13 utility floor area, L01..L07 label counts (A+++, A, B,
C, D, E, F). Those label columns do not add up to I09; the remainder is label G plus dwellings
without a registered label (the columns stop at F). They are passed as unknown, so the model uses
Vesta's N row ('Geen label') for them. The model is run with parameters='startanalyse-2020' for
2030 and compared per strategy with H18_Nat_meerkost_WEQ of the Y2030 files (national extra cost
per woningequivalent versus the 2030 reference). The reference results are only read here; nothing
in the model is fitted to them.

    .venv/bin/python benchmarks/compare_startanalyse.py [<shared dir>] [--parameters default]

Prints per strategy: buurten compared, median absolute percentage deviation of the model and of a
constant equal to the median of H18, Spearman rank correlation across buurten, and the share of
buurten where the cheapest of S1a, S1b, S4a..S4d is the same route (with the 'S4 always wins' and
'most frequent winner' baselines).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from wup_pipeline.model.cost_components import energy_prices
from wup_pipeline.model.cost_parameters import load_cost_parameters
from wup_pipeline.model.costs import evaluate_buurten
from wup_pipeline.resources.errors import InputError

REFERENCE_DIR = Path("reference") / "startanalyse_gooi_vecht_2019" / "startanalyse_LN"
STRATEGY_DIRS = {
    "S1a_B_LuchtWP": "S1a",
    "S1b_B_BodemWP": "S1b",
    "S2a_B_Restwarmte": "S2a",
    "S2b_B_Geo_contour": "S2b",
    "S2d_D_Restwarmte": "S2d",
    "S2e_D_Geo_contour": "S2e",
    "s3a_b_lt30_30": "S3a",
    "S3b_B_LT30_70": "S3b",
    "S3c_B_BuurtWKO": "S3c",
    "S3d_B_WKO": "S3d",
    "S3e_B_TEO": "S3e",
    "S3f_D_LT30_70": "S3f",
    "S3g_D_BuurtWKO": "S3g",
    "S3h_D_TEO": "S3h",
    "S4a_GG_B_hWP": "S4a",
    "S4b_GG_B_HR": "S4b",
    "S4c_GG_D_hWP": "S4c",
    "S4d_GG_D_HR": "S4d",
}
AIM_ROUTES = ("S1a", "S1b", "S4a", "S4b", "S4c", "S4d")
AIM_MEDIAN_DEVIATION = 0.10
AIM_RANK_CORRELATION = 0.8
AIM_SAME_CHEAPEST = 0.8


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(str(path), "file not found")
    return pl.read_csv(path, separator=";", infer_schema_length=0)


def reference_inputs(shared: Path) -> pl.DataFrame:
    """The evaluate_buurten input from the Y2019 (start) file of one strategy (all carry the same I and L)."""
    frame = _read(shared / REFERENCE_DIR / "S1b_B_BodemWP" / "Y2019" / "PerPlanRegio_ESDL.csv")
    number = lambda c: pl.col(c).cast(pl.Float64)  # noqa: E731
    return (
        frame.filter(pl.col("Uitgesloten") == "False")
        .select(
            pl.col("BU_CODE").alias("buurt_code"),
            number("I09_aantal_woningen").alias("dwellings"),
            number("I13_opp_utiliteit").alias("utility_floor_area_m2"),
            number("I12_opp_woningen").alias("dwelling_floor_area_m2"),
            (number("Woning_L01_Aansl_LabelAppp") + number("Woning_L02_Aansl_LabelA")).alias("n_label_a"),
            number("Woning_L03_Aansl_LabelB").alias("n_label_b"),
            number("Woning_L04_Aansl_LabelC").alias("n_label_c"),
            number("Woning_L05_Aansl_LabelD").alias("n_label_d"),
            number("Woning_L06_Aansl_LabelE").alias("n_label_e"),
            number("Woning_L07_Aansl_LabelF").alias("n_label_f"),
            pl.lit(0.0).alias("n_label_g"),
            number("I10_aantal_utiliteit").alias("utility_objects"),
            number("I11_woningequivalenten").alias("reference_weq"),
        )
        .filter(pl.col("reference_weq") > 0)
        .sort("buurt_code")
    )


def reference_results(shared: Path) -> pl.DataFrame:
    """H18 (national extra cost per woningequivalent, 2030) per buurt and strategy."""
    frames = []
    for directory, code in STRATEGY_DIRS.items():
        path = shared / REFERENCE_DIR / directory / "Y2030" / "PerPlanRegio_ESDL.csv"
        frames.append(
            _read(path)
            .filter(pl.col("Uitgesloten") == "False")
            .select(
                pl.col("BU_CODE").alias("buurt_code"),
                pl.lit(code).alias("strategy"),
                pl.col("H18_Nat_meerkost_WEQ").cast(pl.Float64).alias("h18"),
            )
        )
    return pl.concat(frames)


def spearman(frame: pl.DataFrame, a: str, b: str) -> float | None:
    if frame.height < 3:
        return None
    ranked = frame.select(pl.col(a).rank("average").alias("_a"), pl.col(b).rank("average").alias("_b"))
    value = ranked.select(pl.corr("_a", "_b")).item()
    return None if value is None else float(value)


def compare(shared: Path, parameters: str = "startanalyse-2020") -> dict[str, pl.DataFrame]:
    """Per-strategy figures and the cheapest-route agreement."""
    inputs = reference_inputs(shared)
    model = evaluate_buurten(inputs.drop("reference_weq"), parameters, 2030)
    results = reference_results(shared)
    joined = (
        model.select("buurt_code", "strategy", "national_extra_cost_eur_per_weq", "woningequivalents")
        .join(results, on=["buurt_code", "strategy"], how="inner")
        .filter(
            pl.col("h18").is_not_null() & (pl.col("h18") != 0) & pl.col("national_extra_cost_eur_per_weq").is_not_null()
        )
    )
    rows = []
    for (strategy,), part in joined.group_by("strategy", maintain_order=True):
        median_h18 = part["h18"].median()
        deviation = (pl.col("national_extra_cost_eur_per_weq") - pl.col("h18")).abs() / pl.col("h18").abs()
        constant = (median_h18 - pl.col("h18")).abs() / pl.col("h18").abs()
        rows.append(
            {
                "strategy": strategy,
                "buurten": part.height,
                "median_h18_eur_per_weq": median_h18,
                "median_model_eur_per_weq": part["national_extra_cost_eur_per_weq"].median(),
                "median_abs_deviation": part.select(deviation.median()).item(),
                "constant_baseline_median_abs_deviation": part.select(constant.median()).item(),
                "spearman": spearman(part, "national_extra_cost_eur_per_weq", "h18"),
                "aim": strategy in AIM_ROUTES,
            }
        )
    order = {code: i for i, code in enumerate(STRATEGY_DIRS.values())}
    per_strategy = pl.DataFrame(rows).sort(pl.col("strategy").replace_strict(order, return_dtype=pl.Int64))
    cheapest = cheapest_agreement(joined)
    quantities = quantity_check(shared, model, parameters)
    return {"per_strategy": per_strategy, "cheapest": cheapest, "joined": joined, "quantities": quantities}


def quantity_check(shared: Path, model: pl.DataFrame, parameters: str = "startanalyse-2020") -> pl.DataFrame:
    """Where the difference comes from, per aim route (medians over buurten, 2030 files, dwellings +
    utility): model / Vesta for space-heating demand (H02), gas incl. green gas (H09 + H10) and
    electricity (H11); Vesta's energy volumes priced at the model's national prices minus the model's
    energy term (EUR/WEQ/yr); and the rest of the gap, H18 minus the model's extra cost minus that
    energy difference (EUR/WEQ/yr): what Vesta counts beyond energy that the model does not. The row
    'reference' compares the start situation (Y2019) with the model's reference."""
    number = lambda c: pl.col(c).cast(pl.Float64).fill_null(0.0)  # noqa: E731
    prices = energy_prices(load_cost_parameters(parameters, 2030))

    def both(column: str) -> pl.Expr:
        return number(f"Woning_{column}") + number(f"Util_{column}")

    def priced(column: str, carrier: str) -> pl.Expr:
        small, medium = prices[f"{carrier}_small_national"], prices[f"{carrier}_medium_national"]
        return number(f"Woning_{column}") * small + number(f"Util_{column}") * medium

    rows = []
    # the start situation (Y2019, the same in every strategy's folder) against the model's reference
    runs = [("S1b_B_BodemWP", "Y2019", "reference")]
    runs += [(directory, "Y2030", code) for directory, code in STRATEGY_DIRS.items() if code in AIM_ROUTES]
    for directory, year, code in runs:
        vesta = (
            _read(shared / REFERENCE_DIR / directory / year / "PerPlanRegio_ESDL.csv")
            .filter(pl.col("Uitgesloten") == "False")
            .select(
                pl.col("BU_CODE").alias("buurt_code"),
                number("H18_Nat_meerkost_WEQ").alias("h18"),
                both("H02_Vraag_Ruimteverwarming").alias("vesta_space"),
                (both("H09_Input_Aardgas") + both("H10_Input_Duurzaamgas")).alias("vesta_gas"),
                both("H11_Input_Elektriciteit").alias("vesta_electricity"),
                (
                    priced("H09_Input_Aardgas", "gas")
                    + priced("H10_Input_Duurzaamgas", "green_gas")
                    + priced("H11_Input_Elektriciteit", "electricity")
                ).alias("vesta_energy_eur"),
            )
        )
        joined = model.filter(pl.col("strategy") == code).join(vesta, on="buurt_code", how="inner")
        model_energy = (
            pl.col("national_energy_natural_gas_eur_per_year")
            + pl.col("national_energy_green_gas_eur_per_year")
            + pl.col("national_energy_electricity_eur_per_year")
        )
        energy_gap = (pl.col("vesta_energy_eur") - model_energy) / pl.col("woningequivalents")
        rest_gap = pl.col("h18") - pl.col("national_extra_cost_eur_per_weq") - energy_gap

        def ratio(model_value: pl.Expr, vesta_column: str) -> pl.Expr:
            return pl.when(pl.col(vesta_column) > 0).then(model_value / pl.col(vesta_column)).median()

        with_h18 = (pl.col("h18") != 0) & (code != "reference")
        rows.append(
            joined.select(
                pl.lit(code).alias("strategy"),
                ratio(pl.col("space_heating_demand_gj"), "vesta_space").alias("space_heating_demand_ratio"),
                ratio(pl.col("natural_gas_gj") + pl.col("green_gas_gj"), "vesta_gas").alias("gas_ratio"),
                ratio(pl.col("electricity_gj"), "vesta_electricity").alias("electricity_ratio"),
                energy_gap.median().alias("energy_gap_eur_per_weq"),
                rest_gap.filter(with_h18).median().alias("other_gap_eur_per_weq"),
                rest_gap.filter(with_h18).quantile(0.1).alias("other_gap_p10_eur_per_weq"),
                rest_gap.filter(with_h18).quantile(0.9).alias("other_gap_p90_eur_per_weq"),
            )
        )
    return pl.concat(rows)


def cheapest_agreement(joined: pl.DataFrame) -> pl.DataFrame:
    """Per buurt the cheapest of S1a, S1b, S4a..S4d in the reference and in the model, over the
    routes the reference has for that buurt (S1a is missing in 11 buurten)."""
    aim = joined.filter(pl.col("strategy").is_in(list(AIM_ROUTES)))

    def winner(value: str, name: str) -> pl.DataFrame:
        return (
            aim.sort("buurt_code", value, "strategy")
            .group_by("buurt_code", maintain_order=True)
            .agg(pl.col("strategy").first().alias(name))
        )

    return (
        winner("h18", "reference_cheapest")
        .join(winner("national_extra_cost_eur_per_weq", "model_cheapest"), on="buurt_code")
        .sort("buurt_code")
    )


def summary(figures: dict[str, pl.DataFrame]) -> dict[str, float]:
    cheapest = figures["cheapest"]
    most_common = cheapest["reference_cheapest"].mode().sort()[0]
    return {
        "buurten": float(cheapest.height),
        "same_cheapest": float((cheapest["reference_cheapest"] == cheapest["model_cheapest"]).mean()),
        "baseline_most_common_winner": float((cheapest["reference_cheapest"] == most_common).mean()),
        "baseline_s4_family_wins": float(cheapest["reference_cheapest"].str.starts_with("S4").mean()),
        "model_same_family": float(
            (cheapest["reference_cheapest"].str.slice(0, 2) == cheapest["model_cheapest"].str.slice(0, 2)).mean()
        ),
    }


def report(figures: dict[str, pl.DataFrame]) -> str:
    lines = ["strategy  buurten  median H18  median model  |dev| model  |dev| constant  spearman  aim"]
    for row in figures["per_strategy"].iter_rows(named=True):
        spearman_text = "   -   " if row["spearman"] is None else f"{row['spearman']:7.2f}"
        lines.append(
            f"{row['strategy']:<8}  {row['buurten']:>7}  {row['median_h18_eur_per_weq']:>10.0f}  "
            f"{row['median_model_eur_per_weq']:>12.0f}  {row['median_abs_deviation']:>11.1%}  "
            f"{row['constant_baseline_median_abs_deviation']:>14.1%}  {spearman_text}  "
            f"{'yes' if row['aim'] else ''}"
        )
    s = summary(figures)
    most_common = figures["cheapest"]["reference_cheapest"].mode().sort()[0]
    lines.append(
        f"cheapest of {', '.join(AIM_ROUTES)}: same route in {s['same_cheapest']:.0%} of "
        f"{int(s['buurten'])} buurten (aim {AIM_SAME_CHEAPEST:.0%}); same family {s['model_same_family']:.0%}; "
        f"baselines: always {most_common} {s['baseline_most_common_winner']:.0%}, "
        f"'S4 always wins' (family) {s['baseline_s4_family_wins']:.0%}"
    )
    counts = figures["cheapest"].group_by("reference_cheapest", "model_cheapest").len().sort("len", descending=True)
    lines.append(
        "winners (reference -> model): "
        + ", ".join(
            f"{r['reference_cheapest']}->{r['model_cheapest']} x{r['len']}" for r in counts.iter_rows(named=True)
        )
    )
    lines.append(
        "where the gap is (medians over buurten, 2030): model / Vesta for space-heating demand, gas, electricity; "
        "Vesta's energy at model prices minus the model's energy (EUR/WEQ/yr); the rest of H18 - model "
        "(EUR/WEQ/yr, p10..p90)"
    )
    for row in figures["quantities"].iter_rows(named=True):
        gas = "   -" if row["gas_ratio"] is None else f"{row['gas_ratio']:.2f}"
        rest = (
            ""
            if row["other_gap_eur_per_weq"] is None
            else f"  rest {row['other_gap_eur_per_weq']:+6.0f}"
            f" ({row['other_gap_p10_eur_per_weq']:+.0f}..{row['other_gap_p90_eur_per_weq']:+.0f})"
        )
        lines.append(
            f"  {row['strategy']:<9} {row['space_heating_demand_ratio']:.2f}  {gas}  {row['electricity_ratio']:.2f}"
            f"  energy {row['energy_gap_eur_per_weq']:+6.0f}{rest}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shared", nargs="?", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--parameters", default="startanalyse-2020", help="parameter set (default: startanalyse-2020)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(f"parameter set {args.parameters}, year 2030")
    print(report(compare(args.shared, args.parameters)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
