"""Which buurt first: a transparent multi-criteria score for the gemeente overview.

Every criterion is one published figure per buurt (or a ratio of two), scaled 0..1 over the gemeente's buurten
(min-max; the best buurt gets 1), multiplied by its weight. The score is the weighted mean over the criteria a
buurt has a value for (so a buurt without a survey is neither helped nor hurt by it), times 100; the overview shows
how many criteria it rests on. Weights are settings (``priority_weights``); a criterion whose mart is not built yet
(the route costs) is listed as "nog niet berekend" and counts for no buurt. Pure: figures in, figures out.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Criterion:
    name: str
    label: str
    table: str
    column: str
    direction: int  # +1: a higher value makes the buurt more urgent/suitable; -1: a lower value does
    weight: float
    explanation: str
    short: str = ""  # column header in the overview table
    denominator: str | None = None  # column of the same table; the criterion is 100 * column / denominator
    aggregate: str = "first"  # how rows with a key (strategy, asset) reduce to one value per buurt: min, max, first
    exclude_keys: tuple[str, ...] = ()  # key values left out (the reference 'route' of the cost model)


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion("kostenmarge", "Laagste nationale meerkosten per woningequivalent", "marts.route_costs_buurt",
              "national_extra_cost_eur_per_weq", -1, 0.25,
              "De goedkoopste strategie van de buurt (nationale meerkosten per woningequivalent per jaar); hoe lager, "
              "hoe eerder de buurt aan de beurt kan.", short="Meerkosten per weq (€)", aggregate="min",
              exclude_keys=("reference",)),
    Criterion("koppelkansen", "Koppelkansen in de planperiode", "marts.infrastructure_buurt", "n_assets_in_window",
              +1, 0.20, "Aantal soorten infrastructuur (riool, weg, gasnet, ...) met werk in de planperiode.",
              short="Koppelkansen", aggregate="max"),
    Criterion("corporatiebezit", "Aandeel corporatiewoningen", "marts.housing_stock_buurt", "n_corporation", +1,
              0.15, "Corporaties kunnen veel woningen tegelijk aanpakken.", short="Corporatie (%)",
              denominator="dwellings"),
    Criterion("renovatieplannen", "Corporatiewoningen met renovatieplan", "marts.housing_stock_buurt",
              "n_corporation_renovation_planned", +1, 0.10,
              "Aandeel woningen waarvoor de corporatie een renovatiejaar plant.", short="Renovatieplan (%)",
              denominator="dwellings"),
    Criterion("energiearmoede", "Geschatte energiearmoede", "marts.socio_economic_buurt",
              "est_pct_households_energy_poor", +1, 0.15,
              "Aandeel huishoudens met een laag inkomen en een woning met label E-G (benadering); hulp is daar het "
              "meest nodig.", short="Energiearmoede (%)"),
    Criterion("participatie", "Bereidheid bewoners", "marts.participation_buurt", "share_willing_yes", +1, 0.15,
              "Aandeel respondenten dat wil meedoen (alleen bij genoeg respondenten).", short="Bereidheid (aandeel)"),
)


def criteria_with_weights(weights: dict[str, float] | None) -> tuple[Criterion, ...]:
    """The default criteria with weights from settings (by criterion name); unknown names are an error."""
    weights = dict(weights or {})
    unknown = sorted(set(weights) - {c.name for c in DEFAULT_CRITERIA})
    if unknown:
        raise ValueError(f"priority_weights: unknown criteria {unknown}; known: {[c.name for c in DEFAULT_CRITERIA]}")
    negative = sorted(name for name, w in weights.items() if w < 0)
    if negative:
        raise ValueError(f"priority_weights: weights must be 0 or more, not for {negative}")
    return tuple(
        Criterion(**{**c.__dict__, "weight": float(weights.get(c.name, c.weight))}) for c in DEFAULT_CRITERIA
    )


def criterion_values(figures: pl.DataFrame, criteria: tuple[Criterion, ...]) -> pl.DataFrame:
    """One row per (buurt, criterion): value and the figure ids it comes from.

    ``figures``: audit.figures rows (buurt_code, figure_id, figure_key, mart_table, column_name, value_number,
    suppressed).
    """
    parts = []
    for c in criteria:
        wanted = [c.column] + ([c.denominator] if c.denominator else [])
        rows = figures.filter((pl.col("mart_table") == c.table) & pl.col("column_name").is_in(wanted))
        if c.exclude_keys and "figure_key" in rows.columns:
            rows = rows.filter(~pl.col("figure_key").is_in(list(c.exclude_keys)))
        if rows.is_empty():
            continue
        reduce = {"min": pl.col("value_number").min(), "max": pl.col("value_number").max(),
                  "first": pl.col("value_number").first()}[c.aggregate]
        per_column = rows.group_by("buurt_code", "column_name").agg(
            reduce.alias("value"), pl.col("figure_id").sort().alias("ids"))
        numerator = per_column.filter(pl.col("column_name") == c.column).drop("column_name")
        if c.denominator:
            denominator = per_column.filter(pl.col("column_name") == c.denominator).select(
                "buurt_code", pl.col("value").alias("den"), pl.col("ids").alias("den_ids"))
            numerator = numerator.join(denominator, on="buurt_code", how="left").with_columns(
                pl.when(pl.col("den") > 0).then(100.0 * pl.col("value") / pl.col("den")).alias("value"),
                pl.concat_list("ids", "den_ids").alias("ids"),
            ).drop("den", "den_ids")
        parts.append(numerator.with_columns(pl.lit(c.name).alias("criterion")))
    schema = {"buurt_code": pl.String, "value": pl.Float64, "ids": pl.List(pl.String), "criterion": pl.String}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([p.select(list(schema)).cast(schema) for p in parts])


def score(figures: pl.DataFrame, buurten: list[str], criteria: tuple[Criterion, ...]) -> pl.DataFrame:
    """Per buurt and criterion: value, scaled (0..1), weight; and per buurt the score (0..100) and coverage.

    Returns columns buurt_code, criterion, value, scaled, weight, ids, score, n_criteria, rank.
    """
    values = criterion_values(figures, criteria)
    directions = pl.DataFrame({"criterion": [c.name for c in criteria], "direction": [c.direction for c in criteria],
                               "weight": [c.weight for c in criteria]})
    grid = pl.DataFrame({"buurt_code": buurten}).join(directions.select("criterion"), how="cross")
    frame = grid.join(values, on=["buurt_code", "criterion"], how="left").join(directions, on="criterion")
    lo, hi = pl.col("value").min().over("criterion"), pl.col("value").max().over("criterion")
    spread = hi - lo
    frame = frame.with_columns(
        pl.when(pl.col("value").is_null()).then(None)
        .when(spread == 0).then(pl.lit(1.0))  # everyone equal: no criterion to tell them apart
        .when(pl.col("direction") > 0).then((pl.col("value") - lo) / spread)
        .otherwise((hi - pl.col("value")) / spread).alias("scaled"))
    used = pl.col("scaled").is_not_null() & (pl.col("weight") > 0)
    totals = frame.group_by("buurt_code").agg(
        (pl.when(used).then(pl.col("scaled") * pl.col("weight")).sum()
         / pl.when(used).then(pl.col("weight")).sum() * 100).alias("score"),
        used.sum().alias("n_criteria"),
    ).with_columns(pl.when(pl.col("n_criteria") > 0).then(pl.col("score")).alias("score"))
    totals = totals.with_columns(pl.col("score").rank("min", descending=True).cast(pl.Int64).alias("rank"))
    return frame.join(totals, on="buurt_code").sort("buurt_code", "criterion").select(
        "buurt_code", "criterion", "value", "scaled", "weight", pl.col("ids").fill_null([]), "score", "n_criteria",
        "rank")


FIGURE_SCHEMA = {
    "figure_id": pl.String, "section": pl.String, "buurt_code": pl.String, "figure_key": pl.String,
    "mart_table": pl.String, "column_name": pl.String, "value_number": pl.Float64, "value_text": pl.String,
    "unit": pl.String, "suppressed": pl.Boolean, "suppression_reason": pl.String, "expression": pl.String,
    "depends_on": pl.List(pl.String), "lineage_columns": pl.List(pl.String), "output": pl.List(pl.String)}


def score_figures(scored: pl.DataFrame, criteria: tuple[Criterion, ...], suppressed: dict[str, str]) -> pl.DataFrame:
    """Figures of the overview (lineage.trace.DERIVED_SCHEMA), per buurt:

    ``overzicht/<buurt>/<criterion>/value`` and ``.../scaled`` per criterion, and ``overzicht/<buurt>/score``,
    ``.../rank``, ``.../n_criteria``. A suppressed buurt (``suppressed``: buurt -> reason) gets no values.
    """
    by_name = {c.name: c for c in criteria}
    total_weight = sum(c.weight for c in criteria) or 1.0
    weights = ", ".join(f"{c.name} {c.weight / total_weight:.2f}" for c in criteria)
    outputs = ["factscan_html", "factscan_excel"]
    rows = []

    def add(buurt: str, column: str, value, *, key: str = "", table: str | None = None, mart_column: str | None,
            unit: str | None, expression: str, depends_on: list[str], lineage: list[str], reason: str | None,
            out: list[str] = outputs) -> str:
        fid = "/".join(["overzicht", buurt, *([key] if key else []), column])
        shown = None if reason or value is None else float(value)
        rows.append({"figure_id": fid, "section": "overzicht", "buurt_code": buurt, "figure_key": key,
                     "mart_table": table, "column_name": mart_column or column, "value_number": shown,
                     "value_text": None if shown is None else repr(shown), "unit": unit,
                     "suppressed": reason is not None, "suppression_reason": reason, "expression": expression,
                     "depends_on": depends_on, "lineage_columns": lineage, "output": out})
        return fid

    for (buurt,), group in scored.group_by("buurt_code", maintain_order=True):
        reason = suppressed.get(buurt)
        used, lineage = [], set()
        for r in group.iter_rows(named=True):
            c = by_name[r["criterion"]]
            columns = [f"{c.table}.{c.column}"] + ([f"{c.table}.{c.denominator}"] if c.denominator else [])
            how = f"100 * {c.column} / {c.denominator}" if c.denominator else \
                f"{c.aggregate} of {c.column} over the rows of the buurt" if c.aggregate != "first" else c.column
            value_id = add(buurt, "value", r["value"], key=c.name, table=c.table, mart_column=c.column,
                           unit="% van de woningen" if c.denominator else None,
                           expression=f"criterion {c.name}: {how} ({c.table})", depends_on=r["ids"],
                           lineage=columns, reason=reason)
            scaled_id = add(buurt, "scaled", r["scaled"], key=c.name, table=c.table, mart_column=c.column,
                            unit="0-1", expression=f"min-max over the gemeente's buurten, "
                            f"{'higher' if c.direction > 0 else 'lower'} value = 1; "
                            f"weight {c.weight / total_weight:.2f}",
                            depends_on=[value_id], lineage=columns, reason=reason)
            if r["scaled"] is not None and c.weight > 0:
                used.append(scaled_id)
                lineage.update(columns)
        first = group.row(0, named=True)
        common = {"table": None, "depends_on": used, "lineage": sorted(lineage), "reason": reason}
        add(buurt, "score", first["score"], mart_column="score", unit="punten (0-100)",
            expression=f"100 * sum(weight x scaled) / sum(weight) over the {first['n_criteria']} criteria with a "
                       f"value; weights {weights}", out=[*outputs, "factscan_geopackage"], **common)
        add(buurt, "rank", first["rank"], mart_column="rank", unit="plaats",
            expression="rank of the score in the gemeente (1 = highest)", **common)
        add(buurt, "n_criteria", first["n_criteria"], mart_column="n_criteria", unit="criteria",
            expression="criteria with a value for this buurt", **common)
    return pl.DataFrame(rows, schema=FIGURE_SCHEMA)
