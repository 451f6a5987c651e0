"""Housing-corporation portfolios: one row per dwelling, from a CSV or XLSX export (see docs/templates.md).

``read_corporation_portfolio`` checks and normalises the file; ``match_portfolio_to_bag`` links each
row to a BAG verblijfsobject, by id where the file gives one, else by address, and reports the rows
it could not link with the reason. Both are set-based: joins, no per-row Python.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from wup_pipeline.sources import tabular
from wup_pipeline.sources.tabular import SOURCE_ROW, TemplateColumn, raise_bad_rows

log = logging.getLogger(__name__)

ENERGY_LABELS = ("A++++", "A+++", "A++", "A+", "A", "B", "C", "D", "E", "F", "G")
PLANNED_MEASURES = ("isolatie", "warmtepomp", "hybride_warmtepomp", "warmtenet", "sloop_nieuwbouw", "overig")
RENT_CLASSES = ("sociaal", "middenhuur", "vrije_sector")

COLUMNS = (
    TemplateColumn("corporation", "corporation", ("corporatie", "woningcorporatie"), required=True),
    TemplateColumn("bag_vbo_id", "vbo_id", ("vbo_id", "bag_id", "verblijfsobject_id", "verblijfsobjectid")),
    TemplateColumn("postcode", "postcode"),
    TemplateColumn("huisnummer", "house_number"),
    TemplateColumn("huisletter", "house_letter"),
    TemplateColumn("toevoeging", "house_number_addition", ("huisnummertoevoeging", "huisnummer_toevoeging")),
    TemplateColumn("energy_label", "energy_label", ("energielabel", "label")),
    TemplateColumn("label_date", "label_date", ("labeldatum", "registratiedatum_label")),
    TemplateColumn("planned_renovation_year", "planned_renovation_year", ("renovatiejaar", "geplande_renovatie")),
    TemplateColumn("planned_measure", "planned_measure", ("maatregel", "geplande_maatregel")),
    TemplateColumn("rent_class", "rent_class", ("huurklasse", "huursegment")),
)

OUTPUT_SCHEMA = {
    SOURCE_ROW: pl.Int64,
    "corporation": pl.String,
    "vbo_id": pl.String,
    "postcode": pl.String,
    "house_number": pl.Int64,
    "house_letter": pl.String,
    "house_number_addition": pl.String,
    "energy_label": pl.String,
    "label_date": pl.Date,
    "planned_renovation_year": pl.Int64,
    "planned_measure": pl.String,
    "rent_class": pl.String,
}

VBO_EXPECTED = ("a BAG verblijfsobject id: 16 digits with '01' as 5th and 6th digit (e.g. 0518010000417296); "
                "format the column as Text in Excel so leading zeros stay")


def vbo_id_expr(expr: pl.Expr) -> pl.Expr:
    """Text -> 16-digit verblijfsobject id, or null when it is not one.

    Excel drops leading zeros when it takes an id for a number (0518010000417296 -> 518010000417296);
    a gemeente code has at most three of them, so 13 to 15 digits are padded back, and the object
    type (digits 5-6, '01' for a verblijfsobject in the BAG numbering) must then still be right.
    """
    digits = expr.str.replace_all(r"\s", "")
    padded = pl.when(digits.str.contains(r"^\d{13,16}$")).then(digits.str.zfill(16))
    return pl.when(padded.str.slice(4, 2) == "01").then(padded)


def read_corporation_portfolio(path: Path | str) -> pl.DataFrame:
    """Read a portfolio CSV/XLSX into one row per dwelling, columns as ``OUTPUT_SCHEMA``.

    ``source_row`` is the row in the file as Excel shows it; ``energy_label`` is normalised to
    A++++..G; years are integers; categories use the template's spelling. Raises ``RowInputError``
    (an ``InputError``) naming file, row and field on the first problem, counting the other rows.
    """
    table = tabular.read_table(path, COLUMNS)
    has_id = "bag_vbo_id" in table.present
    has_address = {"postcode", "huisnummer"} <= table.present
    if not has_id and not has_address:
        raise tabular.RowInputError(
            table.where, "needs column 'bag_vbo_id' or the address columns 'postcode' and 'huisnummer' "
                         f"(with 'huisletter', 'toevoeging'); the header has columns {list(table.found_columns)}",
            row=table.header_row, field="bag_vbo_id",
        )
    tabular.require_values(table, ["corporation"])
    no_address = pl.col("postcode").is_null() | pl.col("huisnummer").is_null()
    raise_bad_rows(table, pl.col("bag_vbo_id").is_null() & no_address, "bag_vbo_id",
                   problem="no bag_vbo_id and no address; expected a bag_vbo_id, or at least postcode and huisnummer")

    vbo = pl.col("bag_vbo_id")
    scientific = vbo.str.contains(r"(?i)^\d[.,]\d+E\+?\d+$")
    raise_bad_rows(table, scientific, "bag_vbo_id",
                   "16 digits; Excel turned the id into a number in scientific notation and lost digits. "
                   "Format the column as Text and copy the ids again from the source")
    raise_bad_rows(table, vbo.is_not_null() & vbo_id_expr(vbo).is_null(), "bag_vbo_id", VBO_EXPECTED)

    postcode = tabular.postcode_expr(pl.col("postcode"))
    raise_bad_rows(table, pl.col("postcode").is_not_null() & ~postcode.str.contains(tabular.POSTCODE), "postcode",
                   "a Dutch postcode: four digits and two letters, e.g. 1234 AB")
    house_number = tabular.to_int(table, "huisnummer", 1, 99999, "a house number (whole number 1-99999); put a letter "
                                  "in 'huisletter' and an addition in 'toevoeging'")
    house_letter = pl.col("huisletter").str.to_uppercase()
    raise_bad_rows(table, house_letter.is_not_null() & ~house_letter.str.contains(r"^[A-Z]$"), "huisletter",
                   "a single letter (A-Z) or empty")
    addition = pl.col("toevoeging").str.to_uppercase()
    raise_bad_rows(table, addition.is_not_null() & ~addition.str.contains(r"^[0-9A-Z]{1,4}$"), "toevoeging",
                   "up to four letters or digits, as in the BAG (e.g. 2, H, BIS) or empty")

    label = pl.col("energy_label").str.to_uppercase().str.replace_all(r"\s", "").str.replace(r"^(ENERGIE)?LABEL", "")
    raise_bad_rows(table, pl.col("energy_label").is_not_null() & ~label.is_in(ENERGY_LABELS), "energy_label",
                   f"an energy label, one of {list(ENERGY_LABELS)}, or empty")

    frame = table.frame.select(
        SOURCE_ROW,
        pl.col("corporation"),
        vbo_id_expr(vbo).alias("vbo_id"),
        postcode.alias("postcode"),
        house_number.alias("house_number"),
        house_letter.alias("house_letter"),
        addition.alias("house_number_addition"),
        pl.when(pl.col("energy_label").is_not_null()).then(label).alias("energy_label"),
        tabular.to_date(table, "label_date").alias("label_date"),
        tabular.to_year(table, "planned_renovation_year").alias("planned_renovation_year"),
        tabular.to_category(table, "planned_measure", PLANNED_MEASURES,
                            {"sloop/nieuwbouw": "sloop_nieuwbouw", "hybride": "hybride_warmtepomp"})
        .alias("planned_measure"),
        tabular.to_category(table, "rent_class", RENT_CLASSES, {"sociale_huur": "sociaal", "vrije sector huur":
                                                                "vrije_sector", "middeldure_huur": "middenhuur"})
        .alias("rent_class"),
    ).cast(OUTPUT_SCHEMA)
    log.info("%s: %d portfolio rows read", table.where, frame.height)
    return frame


# --- Matching to the BAG --------------------------------------------------------------------------

BAG_ALIASES = {
    "vbo_id": ("vbo_id", "identificatie", "bag_vbo_id", "verblijfsobject_id"),
    "postcode": ("postcode",),
    "house_number": ("huisnummer", "house_number"),
    "house_letter": ("huisletter", "house_letter"),
    "house_number_addition": ("toevoeging", "huisnummertoevoeging", "house_number_addition"),
}

MATCH_BY_ID, MATCH_BY_ADDRESS, MATCH_BY_ADDRESS_LOOSE = "vbo_id", "address", "address_loose"


def _bag_columns(verblijfsobjecten: pl.LazyFrame) -> dict[str, str]:
    names = verblijfsobjecten.collect_schema().names()
    resolved = {}
    for target, candidates in BAG_ALIASES.items():
        found = next((c for c in candidates if c in names), None)
        if found is None:
            raise ValueError(f"verblijfsobjecten frame has no column for {target} (tried {list(candidates)}); "
                             f"it has {names}")
        resolved[target] = found
    return resolved


def _address_keys(house_number: pl.Expr, postcode: pl.Expr, letter: pl.Expr, addition: pl.Expr) -> list[pl.Expr]:
    """Exact key (postcode|number|letter|addition) and a loose one that ignores how letter and
    addition are split (12 A + '' == 12 + 'A'), both upper-cased and trimmed."""
    def clean(expr: pl.Expr) -> pl.Expr:
        text = expr.cast(pl.String).str.strip_chars().str.to_uppercase()
        return pl.when(text != "").then(text).otherwise(pl.lit(""))

    pc = clean(postcode).str.replace_all(r"\s", "")
    nr = house_number.cast(pl.String)
    exact = pl.concat_str([pc, nr, clean(letter), clean(addition)], separator="|")
    loose_suffix = pl.concat_str([clean(letter), clean(addition)]).str.replace_all(r"[^0-9A-Z]", "")
    loose = pl.concat_str([pc, nr, loose_suffix], separator="|")
    return [exact.alias("_key_exact"), loose.alias("_key_loose")]


def match_portfolio_to_bag(
    portfolio: pl.DataFrame, verblijfsobjecten: pl.DataFrame | pl.LazyFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Link portfolio rows (``read_corporation_portfolio``) to BAG verblijfsobjecten.

    ``verblijfsobjecten`` needs an id column (``vbo_id`` or ``identificatie``) and the address
    columns (``postcode``, ``huisnummer``, ``huisletter``, ``toevoeging``/``huisnummertoevoeging``,
    or their English names); its other columns (e.g. ``buurt_code``) are carried into ``matched``.

    Order: by vbo id; else by exact address (upper-cased, trimmed, empty -> null); else by address with
    letter and addition taken together (``12`` + ``A`` vs ``12A``). Addresses that fit more than one
    verblijfsobject are not guessed. A verblijfsobject claimed by two rows is kept for the first row.

    Returns ``(matched, unmatched)``: matched = portfolio columns with ``vbo_id`` filled, ``match_method``
    (vbo_id | address | address_loose), ``address_differs`` (id match whose given address is not the
    BAG address; null without an address) and the BAG's other columns (suffix ``_bag`` on a name clash);
    unmatched = portfolio columns + ``reason``.
    """
    bag = verblijfsobjecten.lazy()
    names = _bag_columns(bag)
    extras = [c for c in bag.collect_schema().names() if c not in names.values()]
    extra_out = [f"{c}_bag" if c in portfolio.columns else c for c in extras]
    # Only the portfolio's ids and postcodes matter: a national BAG shrinks to the rows of those postcodes
    # before anything is grouped (ambiguity is counted within a postcode, so nothing relevant is lost).
    wanted_ids = portfolio["vbo_id"].drop_nulls().implode()
    wanted_postcodes = portfolio["postcode"].drop_nulls().str.to_uppercase().str.replace_all(r"\s", "").implode()
    bag = (
        bag.select(
            pl.col(names["vbo_id"]).cast(pl.String).alias("_bag_vbo_id"),
            pl.col(names["postcode"]).cast(pl.String).str.to_uppercase().str.replace_all(r"\s", "").alias("_pc"),
            pl.col(names["house_number"]).alias("_nr"),
            pl.col(names["house_letter"]).alias("_letter"),
            pl.col(names["house_number_addition"]).alias("_addition"),
            *[pl.col(c).alias(out) for c, out in zip(extras, extra_out, strict=True)],
        )
        .filter(pl.col("_bag_vbo_id").is_in(wanted_ids) | pl.col("_pc").is_in(wanted_postcodes))
        .with_columns(*_address_keys(pl.col("_nr"), pl.col("_pc"), pl.col("_letter"), pl.col("_addition")))
        .collect()  # small now, and used four times below
        .lazy()
    )

    rows = portfolio.lazy().with_columns(
        *_address_keys(pl.col("house_number"), pl.col("postcode"), pl.col("house_letter"),
                       pl.col("house_number_addition")),
        (pl.col("postcode").is_not_null() & pl.col("house_number").is_not_null()).alias("_has_address"),
    )
    exact_counts = bag.group_by("_key_exact").agg(
        pl.col("_bag_vbo_id").n_unique().alias("_n_exact"), pl.col("_bag_vbo_id").first().alias("_id_exact"))
    loose_counts = bag.group_by("_key_loose").agg(
        pl.col("_bag_vbo_id").n_unique().alias("_n_loose"), pl.col("_bag_vbo_id").first().alias("_id_loose"))
    # A BAG extract with secondary addresses (nevenadressen) lists a verblijfsobject more than once.
    first_per_id = bag.unique(subset="_bag_vbo_id", keep="first", maintain_order=True)
    ids = first_per_id.select(pl.col("_bag_vbo_id").alias("_id_found"), pl.col("_key_exact").alias("_bag_key"))

    candidates = (
        rows.join(ids, left_on="vbo_id", right_on="_id_found", how="left", coalesce=False)
        .join(exact_counts, on="_key_exact", how="left")
        .join(loose_counts, on="_key_loose", how="left")
        .with_columns(
            pl.when(pl.col("_id_found").is_not_null()).then(pl.lit(MATCH_BY_ID))
            .when(pl.col("_has_address") & (pl.col("_n_exact") == 1)).then(pl.lit(MATCH_BY_ADDRESS))
            .when(pl.col("_has_address") & pl.col("_n_exact").is_null() & (pl.col("_n_loose") == 1))
            .then(pl.lit(MATCH_BY_ADDRESS_LOOSE))
            .alias("match_method"),
        )
        .with_columns(
            pl.when(pl.col("match_method") == MATCH_BY_ID).then(pl.col("_id_found"))
            .when(pl.col("match_method") == MATCH_BY_ADDRESS).then(pl.col("_id_exact"))
            .when(pl.col("match_method") == MATCH_BY_ADDRESS_LOOSE).then(pl.col("_id_loose"))
            .alias("_matched_id"),
        )
        .with_columns(
            pl.col(SOURCE_ROW).min().over("_matched_id").alias("_first_row"),
        )
        .collect()
    )

    is_matched = pl.col("_matched_id").is_not_null()
    is_duplicate = is_matched & (pl.col("_first_row") != pl.col(SOURCE_ROW))
    kept = candidates.filter(is_matched & ~is_duplicate)
    matched = (
        kept.lazy()
        .with_columns(
            pl.col("_matched_id").alias("vbo_id"),
            pl.when((pl.col("match_method") == MATCH_BY_ID) & pl.col("_has_address"))
            .then(pl.col("_key_exact") != pl.col("_bag_key")).alias("address_differs"),
        )
        .join(first_per_id.select("_bag_vbo_id", *extra_out), left_on="vbo_id", right_on="_bag_vbo_id", how="left")
        .select(*portfolio.columns, "match_method", "address_differs", *extra_out)
        .sort(SOURCE_ROW)
        .collect()
    )

    has_id = pl.col("vbo_id").is_not_null()
    address_reason = (
        pl.when(pl.col("_n_exact") > 1)
        .then(pl.format("address matches {} verblijfsobjecten; give bag_vbo_id", pl.col("_n_exact")))
        .when(pl.col("_n_exact").is_null() & (pl.col("_n_loose") > 1))
        .then(pl.format("address (letter and addition taken together) matches {} verblijfsobjecten; give bag_vbo_id",
                        pl.col("_n_loose")))
        .otherwise(pl.lit("address not found in the BAG (postcode, huisnummer, huisletter, toevoeging)"))
    )
    reason = (
        pl.when(is_duplicate)
        .then(pl.format("same verblijfsobject as row {}", pl.col("_first_row")))
        .when(has_id & pl.col("_has_address"))
        .then(pl.concat_str(pl.lit("vbo_id not found in the BAG, and "), address_reason))
        .when(has_id)
        .then(pl.lit("vbo_id not found in the BAG"))
        .when(pl.col("_has_address"))
        .then(address_reason)
        .otherwise(pl.lit("no vbo_id and no address (postcode + huisnummer)"))
    )
    unmatched = (
        candidates.filter(~is_matched | is_duplicate)
        .with_columns(reason.alias("reason"))
        .select(*portfolio.columns, "reason")
        .sort(SOURCE_ROW)
    )
    log.info("portfolio matched to BAG: %d matched, %d unmatched", matched.height, unmatched.height)
    return matched, unmatched


PORTFOLIO_SCHEMA = {
    "source_row": pl.Int64, "corporation": pl.String, "vbo_id": pl.String, "postcode": pl.String,
    "house_number": pl.Int64, "house_letter": pl.String, "house_number_addition": pl.String,
    "energy_label": pl.String, "label_date": pl.Date, "planned_renovation_year": pl.Int64,
    "planned_measure": pl.String, "rent_class": pl.String,
}


def matched_portfolio(portfolio: pl.DataFrame, verblijfsobjecten: pl.DataFrame) -> pl.DataFrame:
    """Every portfolio row once, with ``matched_vbo_id``, ``match_method`` and ``unmatched_reason``."""
    bag_columns = ["vbo_id", "postcode", "huisnummer", "huisletter", "toevoeging"]
    matched, unmatched = match_portfolio_to_bag(portfolio, verblijfsobjecten.select(bag_columns))
    return pl.concat(
        [
            matched.select(*PORTFOLIO_SCHEMA, pl.col("vbo_id").alias("matched_vbo_id"), "match_method",
                           pl.lit(None, pl.String).alias("unmatched_reason")),
            unmatched.select(*PORTFOLIO_SCHEMA, pl.lit(None, pl.String).alias("matched_vbo_id"),
                             pl.lit(None, pl.String).alias("match_method"), pl.col("reason").alias("unmatched_reason")),
        ],
        how="vertical_relaxed",
    ).sort("source_row")
