"""Address-level housing model: build-year class, energy label, owner type and heat demand per dwelling.

Pure, set-based functions over polars frames (no Dagster, no warehouse). Method, formulas, sources
and limitations: docs/housing-model.md. Parameters come from ``wup_pipeline.parameters``.

Estimates are deterministic per dwelling: a dwelling's uniform number u in [0, 1) is the first 12
hex digits of md5('<salt>:' || vbo_id) divided by 16^12, the same in every process, version and
engine (``uniform_sql`` gives the identical DuckDB expression). Labels and owner types use
different salts, so the two draws are independent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from wup_pipeline.parameters import load_parameters
from wup_pipeline.resources.errors import InputError

LABELS = ("A", "B", "C", "D", "E", "F", "G")
NO_LABEL = "N"  # Vesta's parameter row for dwellings without a registered label
OWNER_TYPES = ("owner_occupied", "private_rent", "corporation")
LABEL_SALT = "wup-label-v1"
OWNER_SALT = "wup-owner-v1"
_HEX_DIGITS = 12
_UNIFORM_DENOMINATOR = 16**_HEX_DIGITS  # 281474976710656
_SHARE_TOLERANCE = 1e-6


def uniform_sql(id_sql: str, salt: str) -> str:
    """DuckDB expression for a dwelling's uniform number; equals ``stable_uniform`` bit for bit."""
    _check_salt(salt)
    return (f"(('0x' || substr(md5('{salt}:' || CAST({id_sql} AS VARCHAR)), 1, {_HEX_DIGITS}))::UBIGINT"
            f" / {_UNIFORM_DENOMINATOR}.0)")


def _check_salt(salt: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", salt):
        raise ValueError(f"salt {salt!r} must be letters, digits, '_', '.' or '-'")


def stable_uniform(ids: pl.Series, salt: str) -> pl.Series:
    """u = int(first 12 hex digits of md5('<salt>:<id>'), 16) / 16^12 per id (null id -> null).

    md5 runs in an in-memory DuckDB over Arrow (polars has no stable string hash: its ``hash()`` may
    change between versions), so it is vectorised and stays fast for national-size frames."""
    import duckdb

    _check_salt(salt)
    table = pl.DataFrame({"row_nr": pl.int_range(0, ids.len(), dtype=pl.Int64, eager=True),
                          "id": ids.cast(pl.String)}).to_arrow()
    with duckdb.connect() as con:
        relation = con.from_arrow(table)
        result = relation.query("ids", f"select {uniform_sql('id', salt)} as u from ids order by row_nr").pl()
    return result["u"].alias("u")


def build_year_class(build_year: pl.Expr, classes: pl.DataFrame | None = None) -> pl.Expr:
    """Vesta build-year class (e.g. ``'1965 - 1974'``) of a build year, named ``build_year_class``;
    null for unknown years.

    Years <= 1000 count as unknown, as in Vesta (bag.dms: bouwjaar_gecorrigeerd). Vesta itself puts
    unknown years in 'voor 1930'; we leave them null so the caller decides and can count them."""
    classes = load_parameters("build_year_classes") if classes is None else classes
    rows = classes.sort("sort_order").select("build_year_class", "year_min", "year_max").iter_rows()
    expr = pl.when(build_year.is_null() | (build_year <= 1000)).then(pl.lit(None, pl.String))
    for name, year_min, year_max in rows:
        condition = pl.lit(True)
        if year_min is not None:
            condition = condition & (build_year >= year_min)
        if year_max is not None:
            condition = condition & (build_year <= year_max)
        expr = expr.when(condition).then(pl.lit(name))
    return expr.otherwise(pl.lit(None, pl.String)).alias("build_year_class")


def label_class(label: pl.Expr) -> pl.Expr:
    """A..G class of a label as registered ('A++++'..'A+' count as A); null for anything else."""
    text = label.str.strip_chars().str.to_uppercase()
    return (
        pl.when(text.str.contains(r"^A\+*$")).then(pl.lit("A"))
        .when(text.is_in(list(LABELS[1:]))).then(text)
        .otherwise(pl.lit(None, pl.String))
        .alias("energy_label_class")
    )


def _require(frame: pl.DataFrame, columns: Sequence[str], source_name: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise InputError(source_name, "column is missing", field=column)


def _check_ids(frame: pl.DataFrame, id_column: str, source_name: str) -> None:
    nulls = frame.with_row_index("_row").filter(pl.col(id_column).is_null())
    if nulls.height:
        raise InputError(source_name, "id is missing", record=int(nulls["_row"][0]), field=id_column)
    duplicated = frame.filter(pl.col(id_column).is_duplicated())
    if duplicated.height:
        raise InputError(source_name, "id occurs more than once", record=duplicated[id_column][0], field=id_column)


def _check_distribution(distribution: pl.DataFrame) -> pl.DataFrame:
    """Long (type class, build-year class, label, share) with shares summing to 1 per group."""
    where = "label_distribution"
    _require(distribution, ("dwelling_type_class", "build_year_class", "label", "value"), where)
    bad_label = distribution.filter(~pl.col("label").is_in(list(LABELS)))
    if bad_label.height:
        raise InputError(where, f"label {bad_label['label'][0]!r} is not one of A..G", field="label")
    sums = distribution.group_by("dwelling_type_class", "build_year_class").agg(pl.col("value").sum().alias("total"))
    off = sums.filter((pl.col("total") - 1.0).abs() > _SHARE_TOLERANCE)
    if off.height:
        row = off.row(0, named=True)
        raise InputError(where, f"shares add up to {row['total']:.6f}, not 1",
                         record=f"{row['dwelling_type_class']} / {row['build_year_class']}", field="value")
    return distribution


def estimate_labels(
    dwellings: pl.DataFrame,
    distribution: pl.DataFrame | None = None,
    *,
    id_column: str = "vbo_id",
    source_name: str = "dwellings",
) -> pl.DataFrame:
    """Registered label where there is one, else a deterministic draw from the label distribution.

    Input columns: ``id_column``, ``dwelling_type_class``, ``build_year_class``, ``registered_label``
    (null when none; 'A+++' etc. allowed) and optionally ``registered_label_date``.
    Adds: ``energy_label`` (as registered, or the estimated class), ``energy_label_class`` (A..G),
    ``label_source`` ('registered' | 'estimated' | 'none': no distribution for the dwelling's group),
    ``label_date`` (registered only), ``label_method`` (where the label came from) and
    ``label_uniform`` (the dwelling's u, estimated rows only). Row order is kept.
    """
    _require(dwellings, (id_column, "dwelling_type_class", "build_year_class", "registered_label"), source_name)
    _check_ids(dwellings, id_column, source_name)
    distribution = _check_distribution(load_parameters("label_distribution") if distribution is None
                                       else distribution)
    frame = dwellings.with_columns(label_class(pl.col("registered_label")).alias("_registered_class"))
    invalid = frame.filter(pl.col("registered_label").is_not_null() & pl.col("_registered_class").is_null())
    if invalid.height:
        raise InputError(source_name, f"registered label {invalid['registered_label'][0]!r} is not A++++..G",
                         record=invalid[id_column][0], field="registered_label")

    keys = ["dwelling_type_class", "build_year_class"]
    set_column = "parameter_set" if "parameter_set" in distribution.columns else None
    method_column = "method" if "method" in distribution.columns else None
    cumulative = (
        distribution.pivot(on="label", index=keys, values="value", aggregate_function="sum")
        .with_columns(pl.col(label).fill_null(0.0) if label in distribution["label"].unique() else
                      pl.lit(0.0).alias(label) for label in LABELS)
        .select(*keys, *[pl.sum_horizontal(LABELS[: i + 1]).alias(f"_cum_{label}")
                         for i, label in enumerate(LABELS[:-1])])
    )
    described = distribution.group_by(keys).agg(
        (pl.first(set_column) if set_column else pl.lit("custom")).alias("_set"),
        (pl.first(method_column) if method_column else pl.lit("custom")).alias("_method"),
    )
    cumulative = cumulative.join(described, on=keys, how="left")

    frame = frame.with_columns(stable_uniform(frame[id_column], LABEL_SALT).alias("_u"))
    frame = frame.join(cumulative, on=keys, how="left", maintain_order="left")
    registered = pl.col("_registered_class").is_not_null()
    has_distribution = pl.col("_cum_A").is_not_null()
    drawn_index = pl.sum_horizontal((pl.col("_u") >= pl.col(f"_cum_{label}")).cast(pl.Int8) for label in LABELS[:-1])
    drawn = drawn_index.replace_strict(dict(enumerate(LABELS)), return_dtype=pl.String)
    label_date = (pl.col("registered_label_date") if "registered_label_date" in frame.columns
                  else pl.lit(None, pl.Date))
    result = frame.with_columns(
        pl.when(registered).then(pl.col("registered_label").str.strip_chars().str.to_uppercase())
        .when(has_distribution).then(drawn).alias("energy_label"),
        pl.when(registered).then(pl.col("_registered_class"))
        .when(has_distribution).then(drawn).alias("energy_label_class"),
        pl.when(registered).then(pl.lit("registered"))
        .when(has_distribution).then(pl.lit("estimated")).otherwise(pl.lit("none")).alias("label_source"),
        pl.when(registered).then(label_date).alias("label_date"),
        pl.when(registered).then(pl.lit("registered label (input column registered_label)"))
        .when(has_distribution).then(pl.concat_str(
            pl.lit("estimated: u = md5('" + LABEL_SALT + ":' || " + id_column + ") against cumulative shares of "
                   "label_distribution.csv ["), pl.col("_set"), pl.lit("] "), pl.col("dwelling_type_class"),
            pl.lit(" / "), pl.col("build_year_class"), pl.lit(" ("), pl.col("_method"), pl.lit(")")))
        .otherwise(pl.lit("no label: no distribution for this dwelling type class / build-year class"))
        .alias("label_method"),
        pl.when(~registered & has_distribution).then(pl.col("_u")).alias("label_uniform"),
    )
    return result.drop("_registered_class", "_u", "_set", "_method", *[f"_cum_{label}" for label in LABELS[:-1]])


def expected_label_counts(
    estimated: pl.DataFrame,
    distribution: pl.DataFrame | None = None,
    by: Sequence[str] = ("buurt_code",),
) -> pl.DataFrame:
    """Per group in ``by`` and label A..G: registered, assigned-by-estimate and expected-by-estimate
    counts (the expected count is the sum of the distribution's shares over the group's dwellings
    without a registered label: fractional, free of the draw's sampling noise)."""
    by = list(by)
    _require(estimated, (*by, "dwelling_type_class", "build_year_class", "energy_label_class", "label_source"),
             "estimated labels")
    distribution = _check_distribution(load_parameters("label_distribution") if distribution is None
                                       else distribution)
    keys = ["dwelling_type_class", "build_year_class"]
    counted = (estimated.filter(pl.col("label_source").is_in(["registered", "estimated"]))
               .group_by(*by, "energy_label_class")
               .agg((pl.col("label_source") == "registered").sum().alias("registered_count"),
                    (pl.col("label_source") == "estimated").sum().alias("estimated_assigned_count"))
               .rename({"energy_label_class": "label"}))
    expected = (estimated.filter(pl.col("label_source") == "estimated").group_by(*by, *keys).len("n")
                .join(distribution.select(*keys, "label", "value"), on=keys, how="inner")
                .group_by(*by, "label").agg((pl.col("n") * pl.col("value")).sum().alias("estimated_expected_count")))
    grid = estimated.select(by).unique().join(pl.DataFrame({"label": list(LABELS)}), how="cross")
    return (
        grid.join(counted, on=[*by, "label"], how="left").join(expected, on=[*by, "label"], how="left")
        .with_columns(pl.col("registered_count", "estimated_assigned_count").fill_null(0).cast(pl.Int64),
                      pl.col("estimated_expected_count").fill_null(0.0))
        .with_columns((pl.col("registered_count") + pl.col("estimated_assigned_count")).alias("total_assigned_count"),
                      (pl.col("registered_count") + pl.col("estimated_expected_count")).alias("total_expected_count"))
        .sort(*by, "label")
    )


_SHARE_COLUMNS = {"owner_occupied": "pct_owner_occupied", "private_rent": "pct_private_rent",
                  "corporation": "pct_corporation"}


def buurt_dwelling_counts(dwellings: pl.DataFrame) -> pl.DataFrame:
    """Per buurt: ``n_dwellings`` and ``n_known_corporation`` (dwellings in a corporation portfolio), the two
    counts the owner estimate needs. Batched callers compute them once over all dwellings (e.g. in SQL, same
    columns) and pass them to ``estimate_owner_types(..., buurt_counts=...)``."""
    return dwellings.group_by("buurt_code").agg(
        pl.len().cast(pl.Int64).alias("n_dwellings"),
        pl.col("in_corporation_portfolio").sum().cast(pl.Int64).alias("n_known_corporation"),
    )


def _owner_probabilities(dwellings: pl.DataFrame, buurt_shares: pl.DataFrame,
                         buurt_counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per buurt: dwellings, known corporation dwellings, KWB targets and the probabilities for the
    dwellings whose owner is unknown (corporation target minus known corporation dwellings, clipped
    at 0, then all three renormalised). ``buurt_counts`` (from ``buurt_dwelling_counts``) replaces
    counting ``dwellings``, so a batch of a buurt's dwellings gets the probabilities of the whole buurt."""
    where = "buurt_shares"
    _require(buurt_shares, ("buurt_code", *_SHARE_COLUMNS.values()), where)
    duplicated = buurt_shares.filter(pl.col("buurt_code").is_duplicated())
    if duplicated.height:
        raise InputError(where, "buurt occurs more than once", record=duplicated["buurt_code"][0], field="buurt_code")
    for column in _SHARE_COLUMNS.values():
        bad = buurt_shares.filter((pl.col(column) < 0) | (pl.col(column) > 100))
        if bad.height:
            raise InputError(where, f"percentage {bad[column][0]} is outside 0..100", record=bad["buurt_code"][0],
                             field=column)
    if buurt_counts is None:
        counts = buurt_dwelling_counts(dwellings)
    else:
        _require(buurt_counts, ("buurt_code", "n_dwellings", "n_known_corporation"), "buurt_counts")
        counts = buurt_counts.select("buurt_code", pl.col("n_dwellings", "n_known_corporation").cast(pl.Int64))
    shares = buurt_shares.select("buurt_code", *[pl.col(c).cast(pl.Float64) for c in _SHARE_COLUMNS.values()])
    total = pl.sum_horizontal(_SHARE_COLUMNS.values())
    complete = pl.all_horizontal(pl.col(c).is_not_null() for c in _SHARE_COLUMNS.values()) & (total > 0)
    frame = counts.join(shares, on="buurt_code", how="left").with_columns(
        *[pl.when(complete).then(pl.col(c) / total).alias(f"share_{owner}") for owner, c in _SHARE_COLUMNS.items()]
    ).with_columns(
        *[(pl.col(f"share_{owner}") * pl.col("n_dwellings")).alias(f"target_{owner}") for owner in OWNER_TYPES]
    ).with_columns(
        remaining_corporation=(pl.col("target_corporation") - pl.col("n_known_corporation")).clip(lower_bound=0.0),
    )
    remaining = [pl.col("target_owner_occupied"), pl.col("target_private_rent"), pl.col("remaining_corporation")]
    denominator = pl.sum_horizontal(remaining)
    return frame.with_columns(
        *[pl.when(denominator > 0).then(value / denominator).alias(f"p_{owner}")
          for owner, value in zip(OWNER_TYPES, remaining, strict=True)]
    )


def estimate_owner_types(
    dwellings: pl.DataFrame,
    buurt_shares: pl.DataFrame,
    *,
    id_column: str = "vbo_id",
    source_name: str = "dwellings",
    buurt_counts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Known corporation dwellings keep 'corporation'; the others get owner-occupied, private rent or
    corporation by a deterministic draw with the buurt's KWB shares after subtracting the known
    corporation dwellings.

    ``dwellings``: ``id_column``, ``buurt_code``, ``in_corporation_portfolio`` (bool).
    ``buurt_shares``: ``buurt_code``, ``pct_owner_occupied``, ``pct_corporation``, ``pct_private_rent``
    (KWB percentages 0..100; null = suppressed). Adds ``owner_type``, ``owner_source``
    ('corporation_portfolio' | 'estimated_from_buurt_shares' | 'none'), ``owner_method`` and
    ``owner_uniform``. No tilt by dwelling type (no cited source for one). Row order is kept.
    ``buurt_counts``: the per-buurt counts of all dwellings (``buurt_dwelling_counts``) when ``dwellings``
    is one batch of them; by default they are counted in ``dwellings``.
    """
    _require(dwellings, (id_column, "buurt_code", "in_corporation_portfolio"), source_name)
    _check_ids(dwellings, id_column, source_name)
    missing_flag = dwellings.filter(pl.col("in_corporation_portfolio").is_null())
    if missing_flag.height:
        raise InputError(source_name, "flag is missing (true/false)", record=missing_flag[id_column][0],
                         field="in_corporation_portfolio")
    probabilities = _owner_probabilities(dwellings, buurt_shares, buurt_counts)
    method = pl.concat_str(
        pl.lit("estimated: u = md5('" + OWNER_SALT + ":' || " + id_column + ") against KWB shares of buurt "),
        pl.col("buurt_code"),
        pl.lit(" (owner-occupied "), pl.col("share_owner_occupied").mul(100).round(1).cast(pl.String),
        pl.lit("%, private rent "), pl.col("share_private_rent").mul(100).round(1).cast(pl.String),
        pl.lit("%, corporation "), pl.col("share_corporation").mul(100).round(1).cast(pl.String),
        pl.lit("%) less "), pl.col("n_known_corporation").cast(pl.String),
        pl.lit(" portfolio dwellings: p = ("), pl.col("p_owner_occupied").round(4).cast(pl.String), pl.lit(", "),
        pl.col("p_private_rent").round(4).cast(pl.String), pl.lit(", "),
        pl.col("p_corporation").round(4).cast(pl.String), pl.lit(")"),
    )
    per_buurt = probabilities.select(
        "buurt_code", "p_owner_occupied", "p_private_rent", "p_corporation", method.alias("_method")
    )
    frame = dwellings.with_columns(stable_uniform(dwellings[id_column], OWNER_SALT).alias("_u")).join(
        per_buurt, on="buurt_code", how="left", maintain_order="left"
    )
    known = pl.col("in_corporation_portfolio")
    has_shares = pl.col("p_owner_occupied").is_not_null()
    first = pl.col("p_owner_occupied")
    second = first + pl.col("p_private_rent")
    drawn = (pl.when(pl.col("_u") < first).then(pl.lit("owner_occupied"))
             .when(pl.col("_u") < second).then(pl.lit("private_rent")).otherwise(pl.lit("corporation")))
    result = frame.with_columns(
        pl.when(known).then(pl.lit("corporation")).when(has_shares).then(drawn).alias("owner_type"),
        pl.when(known).then(pl.lit("corporation_portfolio"))
        .when(has_shares).then(pl.lit("estimated_from_buurt_shares")).otherwise(pl.lit("none")).alias("owner_source"),
        pl.when(known).then(pl.lit("in a housing corporation's portfolio"))
        .when(has_shares).then(pl.col("_method"))
        .otherwise(pl.lit("no owner type: the buurt has no complete KWB ownership shares")).alias("owner_method"),
        pl.when(~known & has_shares).then(pl.col("_u")).alias("owner_uniform"),
    )
    return result.drop("_u", "p_owner_occupied", "p_private_rent", "p_corporation", "_method")


def expected_owner_counts(estimated: pl.DataFrame, buurt_shares: pl.DataFrame) -> pl.DataFrame:
    """Per buurt and owner type: the KWB target (share x dwellings), known portfolio dwellings, and
    the expected and assigned counts of the estimate."""
    _require(estimated, ("buurt_code", "in_corporation_portfolio", "owner_type", "owner_source"), "estimated owners")
    probabilities = _owner_probabilities(estimated, buurt_shares)
    assigned = (estimated.filter(pl.col("owner_source") == "estimated_from_buurt_shares")
                .group_by("buurt_code", "owner_type").len("estimated_assigned_count"))
    rows = []
    for owner in OWNER_TYPES:
        known = pl.col("n_known_corporation") if owner == "corporation" else pl.lit(0, pl.UInt32)
        rows.append(probabilities.select(
            "buurt_code", pl.lit(owner).alias("owner_type"), pl.col(f"target_{owner}").alias("kwb_target_count"),
            known.cast(pl.Int64).alias("known_count"),
            ((pl.col("n_dwellings") - pl.col("n_known_corporation")) * pl.col(f"p_{owner}"))
            .alias("estimated_expected_count"),
        ))
    return (
        pl.concat(rows).join(assigned, on=["buurt_code", "owner_type"], how="left")
        .with_columns(pl.col("estimated_assigned_count").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("known_count") + pl.col("estimated_assigned_count")).alias("total_assigned_count"),
                      (pl.col("known_count") + pl.col("estimated_expected_count")).alias("total_expected_count"))
        .sort("buurt_code", "owner_type")
    )


def heat_demand_gj(
    dwellings: pl.DataFrame,
    params: pl.DataFrame | None = None,
    *,
    type_classes: pl.DataFrame | None = None,
    estimated_use_no_label_row: bool = False,
) -> pl.DataFrame:
    """Functional heat demand per dwelling in GJ/yr (Vesta MAIS, Woningen_BAG.csv 2024-10-16).

    space heating = max(0, Vrv_<label>_asl + Vrv_<label>_opp x floor_area_m2); hot water =
    Vww_asl + Vww_opp x floor_area_m2; the label row is ``energy_label_class`` (A..G), or N ('no
    registered label') when it is null, or, with ``estimated_use_no_label_row``, for estimated labels
    (Vesta's own treatment of unlabelled dwellings). Input: ``dwelling_type_class``,
    ``build_year_class``, ``floor_area_m2``, ``energy_label_class`` (and ``label_source`` for the
    option). Adds ``heat_demand_space_gj``, ``heat_demand_hot_water_gj``, ``heat_demand_gj`` (GJ/yr)
    and ``heat_demand_params`` (the parameter rows and values used). Null when the type class,
    build-year class or floor area (> 0) is missing. Row order is kept.
    """
    needed = ["dwelling_type_class", "build_year_class", "floor_area_m2", "energy_label_class"]
    if estimated_use_no_label_row:
        needed.append("label_source")
    _require(dwellings, needed, "dwellings")
    params = load_parameters("heat_demand_dwellings") if params is None else params
    type_classes = load_parameters("dwelling_type_classes") if type_classes is None else type_classes
    _require(params, ("parameter_set", "vesta_type", "build_year_class", "label", "name", "value"),
             "heat_demand_params")

    # Internal names start with '_' so they never clash with the caller's columns.
    params = params.rename({"vesta_type": "_vesta_type", "parameter_set": "_heat_set"})
    keys = ["_vesta_type", "build_year_class"]
    space = (params.filter(pl.col("name").str.starts_with("space_heating_"))
             .pivot(on="name", index=["_heat_set", *keys, "label"], values="value")
             .rename({"label": "_heat_label", "space_heating_fixed": "_space_fixed",
                      "space_heating_per_m2": "_space_per_m2"}))
    water = (params.filter(pl.col("name").str.starts_with("hot_water_"))
             .pivot(on="name", index=keys, values="value")
             .rename({"hot_water_fixed": "_water_fixed", "hot_water_per_m2": "_water_per_m2"}))
    label = pl.col("energy_label_class").fill_null(pl.lit(NO_LABEL))
    if estimated_use_no_label_row:
        label = pl.when(pl.col("label_source") == "estimated").then(pl.lit(NO_LABEL)).otherwise(label)
    frame = (
        dwellings.with_columns(label.alias("_heat_label"))
        .join(type_classes.select("dwelling_type_class", pl.col("vesta_type").alias("_vesta_type")),
              on="dwelling_type_class", how="left", maintain_order="left")
        .join(space, on=[*keys, "_heat_label"], how="left", maintain_order="left")
        .join(water, on=keys, how="left", maintain_order="left")
    )
    area = pl.when(pl.col("floor_area_m2") > 0).then(pl.col("floor_area_m2").cast(pl.Float64))
    space_gj = (pl.col("_space_fixed") + pl.col("_space_per_m2") * area).clip(lower_bound=0.0)
    water_gj = pl.col("_water_fixed") + pl.col("_water_per_m2") * area
    trace = pl.concat_str(
        pl.lit("heat_demand_dwellings.csv ["), pl.col("_heat_set"), pl.lit("] "), pl.col("_vesta_type"),
        pl.lit(" / "), pl.col("build_year_class"), pl.lit(" / label "), pl.col("_heat_label"),
        pl.lit(": space "), pl.col("_space_fixed").cast(pl.String), pl.lit(" + "),
        pl.col("_space_per_m2").cast(pl.String), pl.lit(" x m2; hot water "), pl.col("_water_fixed").cast(pl.String),
        pl.lit(" + "), pl.col("_water_per_m2").cast(pl.String), pl.lit(" x m2"),
    )
    result = frame.with_columns(
        space_gj.alias("heat_demand_space_gj"),
        water_gj.alias("heat_demand_hot_water_gj"),
    ).with_columns(
        (pl.col("heat_demand_space_gj") + pl.col("heat_demand_hot_water_gj")).alias("heat_demand_gj"),
        pl.when(area.is_not_null()).then(trace).alias("heat_demand_params"),
    )
    return result.drop("_heat_label", "_vesta_type", "_heat_set", "_space_fixed", "_space_per_m2",
                       "_water_fixed", "_water_per_m2")
