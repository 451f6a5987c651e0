"""Participation records: survey answers and contact moments, aggregated per buurt.

The survey file holds personal data (respondent ids, postcodes, free-text remarks; often names and
phone numbers in extra columns). Only aggregates leave this module: ``aggregate_participation`` returns
counts per buurt. The raw rows are never returned, stored, logged or quoted in an error: an error names
the file, the row and the field, and quotes the value only for non-personal fields (a channel, a
category, a date, a buurt code). The free-text remarks are not even read into a typed column.

Privacy basis: AVG/GDPR art. 5(1)(c) data minimisation; small cells are flagged (``respondents < k``)
so reports can suppress them, the way CBS suppresses small counts in its own neighbourhood figures.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import polars as pl

from wup_pipeline.sources import tabular
from wup_pipeline.sources.tabular import SOURCE_ROW, RowInputError, TemplateColumn, raise_bad_rows

log = logging.getLogger(__name__)

CHANNELS = ("enquete", "keukentafelgesprek", "bewonersavond", "huis_aan_huis")
CHANNEL_ALIASES = {"enquête": "enquete", "survey": "enquete", "keukentafel": "keukentafelgesprek",
                   "huis_aan_huis_bezoek": "huis_aan_huis", "deur_aan_deur": "huis_aan_huis"}
WILLINGNESS = ("ja", "misschien", "nee")
WILLINGNESS_ALIASES = {"j": "ja", "yes": "ja", "n": "nee", "no": "nee", "maybe": "misschien"}
CONCERNS = ("kosten", "comfort", "overlast", "onzekerheid", "techniek", "geen", "overig")
DEFAULT_K = 10

SURVEY_COLUMNS = (
    TemplateColumn("respondent_id", "respondent_id", ("respondent", "respondentnummer"), personal=True),
    TemplateColumn("buurt_code", "buurt_code", ("buurtcode",)),
    TemplateColumn("postcode", "postcode", (), personal=True),
    TemplateColumn("date", "date", ("datum",)),
    TemplateColumn("channel", "channel", ("kanaal",)),
    TemplateColumn("willing_to_act", "willing_to_act", ("bereid", "bereidheid", "bereid_tot_actie"), required=True),
    TemplateColumn("main_concern", "main_concern", ("belangrijkste_zorg", "zorg")),
    TemplateColumn("remarks", "remarks", ("opmerkingen", "toelichting", "opmerking"), personal=True),
)
CONTACT_COLUMNS = (
    TemplateColumn("buurt_code", "buurt_code", ("buurtcode",), required=True),
    TemplateColumn("date", "date", ("datum",)),
    TemplateColumn("channel", "channel", ("kanaal",), required=True),
    TemplateColumn("households_reached", "households_reached", ("huishoudens_bereikt", "bereikt"), required=True),
)

BUURT_EXPECTED = "a CBS buurt code: BU + 8 digits, e.g. BU03630000"
POSTCODE_ANY = r"^[1-9]\d{3}([A-Z]{2})?$"  # PC6, or PC4 when a survey only asked for the digits


def aggregate_columns() -> dict[str, pl.DataType]:
    """The output schema of ``aggregate_participation``."""
    return {
        "buurt_code": pl.String,
        "contact_moments": pl.Int64,
        "households_reached": pl.Int64,
        "first_contact_date": pl.Date,
        "last_contact_date": pl.Date,
        "respondents": pl.Int64,
        "willing_yes": pl.Int64,
        "willing_maybe": pl.Int64,
        "willing_no": pl.Int64,
        "willing_unknown": pl.Int64,
        **{f"concern_{c}": pl.Int64 for c in CONCERNS},
        "concern_unknown": pl.Int64,
        "small_cell": pl.Boolean,
    }


def postcode_buurten(addresses: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Postcode (PC6 and PC4) -> the buurt holding most of its addresses (ties: lowest buurt code).

    ``addresses``: one row per address with ``postcode`` and ``buurt_code`` (or ``buurtcode``), e.g. the
    BAG verblijfsobjecten.
    """
    frame = addresses.lazy()
    names = frame.collect_schema().names()
    code = "buurt_code" if "buurt_code" in names else "buurtcode"
    if "postcode" not in names or code not in names:
        raise ValueError(f"addresses need columns postcode and buurt_code (or buurtcode); they have {names}")
    cleaned = frame.select(tabular.postcode_expr(pl.col("postcode").cast(pl.String)).alias("postcode"),
                           pl.col(code).cast(pl.String).str.strip_chars().alias("buurt_code")).drop_nulls()
    both = pl.concat([cleaned, cleaned.with_columns(pl.col("postcode").str.slice(0, 4))])
    return (
        both.group_by("postcode", "buurt_code").agg(pl.len().alias("_n"))
        .sort("postcode", pl.col("_n"), "buurt_code", descending=[False, True, False])
        .group_by("postcode", maintain_order=True).first()
        .select("postcode", pl.col("buurt_code").alias("_mapped_buurt"))
    )


def _survey_per_buurt(path: Path | str, addresses: pl.DataFrame | pl.LazyFrame | None) -> pl.DataFrame:
    table = tabular.read_table(path, SURVEY_COLUMNS, private=True)
    if not {"buurt_code", "postcode"} & table.present:
        raise RowInputError(table.where, f"needs column 'buurt_code' or 'postcode'; the header has columns "
                                         f"{list(table.found_columns)}", row=table.header_row, field="buurt_code")
    # Respondent ids are checked for repeats only; which id repeats is not said.
    repeated = pl.col("respondent_id").is_not_null() & pl.col("respondent_id").is_duplicated()
    raise_bad_rows(table, repeated, "respondent_id",
                   problem="this respondent_id occurs on more than one row; expected one row per respondent")
    raise_bad_rows(table, pl.col("buurt_code").is_null() & pl.col("postcode").is_null(), "buurt_code",
                   problem="buurt_code and postcode are both empty; expected one of them")
    postcode = tabular.postcode_expr(pl.col("postcode"))
    raise_bad_rows(table, pl.col("postcode").is_not_null() & ~postcode.str.contains(POSTCODE_ANY), "postcode",
                   "a postcode (1234 AB, or the four digits only)")
    typed = table.frame.select(
        SOURCE_ROW,
        tabular.to_code(table, "buurt_code", tabular.BUURT_CODE, BUURT_EXPECTED),
        postcode.alias("postcode"),
        tabular.to_date(table, "date"),
        tabular.to_category(table, "channel", CHANNELS, CHANNEL_ALIASES),
        tabular.to_category(table, "willing_to_act", WILLINGNESS, WILLINGNESS_ALIASES),
        tabular.to_category(table, "main_concern", CONCERNS),
    )
    needs_mapping = typed.filter(pl.col("buurt_code").is_null())
    if not needs_mapping.is_empty():
        if addresses is None:
            first = needs_mapping[SOURCE_ROW][0]
            raise RowInputError(table.where, f"{needs_mapping.height} row(s) give a postcode but no buurt_code; pass "
                                             "the addresses (BAG) to map postcodes to buurten, or fill buurt_code",
                                row=first, field="buurt_code")
        typed = typed.lazy().join(postcode_buurten(addresses), on="postcode", how="left").with_columns(
            pl.coalesce("buurt_code", "_mapped_buurt").alias("buurt_code")).collect()
        # Point at the row; only the row number and the mapped buurt travel with the check.
        mapped = dataclasses.replace(table, frame=typed.select(SOURCE_ROW, "buurt_code", "postcode"))
        raise_bad_rows(mapped, pl.col("buurt_code").is_null(), "postcode",
                       problem="this postcode maps to no buurt: no address given has it; fill buurt_code, or check "
                               "the postcode and that the addresses cover the whole gemeente")

    def count(expr: pl.Expr) -> pl.Expr:
        return expr.sum().cast(pl.Int64)

    willing, concern = pl.col("willing_to_act"), pl.col("main_concern")
    return typed.group_by("buurt_code").agg(
        pl.len().cast(pl.Int64).alias("respondents"),
        count(willing == "ja").alias("willing_yes"),
        count(willing == "misschien").alias("willing_maybe"),
        count(willing == "nee").alias("willing_no"),
        count(willing.is_null()).alias("willing_unknown"),
        *[count(concern == c).alias(f"concern_{c}") for c in CONCERNS],
        count(concern.is_null()).alias("concern_unknown"),
    )


def _contacts_per_buurt(path: Path | str) -> pl.DataFrame:
    table = tabular.read_table(path, CONTACT_COLUMNS)
    tabular.require_values(table, ["buurt_code", "channel", "households_reached"])
    typed = table.frame.select(
        tabular.to_code(table, "buurt_code", tabular.BUURT_CODE, BUURT_EXPECTED),
        tabular.to_date(table, "date"),
        tabular.to_category(table, "channel", CHANNELS, CHANNEL_ALIASES),
        tabular.to_int(table, "households_reached", 0, 1_000_000, "a number of households (a whole number >= 0)"),
    )
    return typed.group_by("buurt_code").agg(
        pl.len().cast(pl.Int64).alias("contact_moments"),
        pl.col("households_reached").sum().cast(pl.Int64),
        pl.col("date").min().alias("first_contact_date"),
        pl.col("date").max().alias("last_contact_date"),
    )


def aggregate_participation(
    survey_path: Path | str | None,
    contacts_path: Path | str | None,
    addresses: pl.DataFrame | pl.LazyFrame | None = None,
    *,
    k: int = DEFAULT_K,
    suppress_small_cells: bool = False,
) -> pl.DataFrame:
    """Participation per buurt from a survey file and a contact-moments file (CSV/XLSX; either may be None).

    Columns (``aggregate_columns()``): ``buurt_code``; from the contacts: ``contact_moments``,
    ``households_reached`` (sum over the moments; a household reached twice counts twice),
    ``first_contact_date``, ``last_contact_date``; from the survey (counts of respondents):
    ``respondents``, ``willing_yes|maybe|no|unknown``, ``concern_<category>`` for each of ``CONCERNS`` and
    ``concern_unknown``; ``small_cell`` = respondents < ``k``. With ``suppress_small_cells`` the survey
    breakdowns of small cells are null (``respondents`` stays, so the flag can be explained).
    A buurt missing from one file has zeros for that file's counts. Survey rows without a buurt_code
    are placed by postcode through ``addresses`` (see ``postcode_buurten``).
    """
    if survey_path is None and contacts_path is None:
        raise ValueError("aggregate_participation needs a survey file, a contacts file, or both")
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    schema = aggregate_columns()
    survey = (_survey_per_buurt(survey_path, addresses) if survey_path is not None
              else pl.DataFrame(schema={c: schema[c] for c in ("buurt_code", "respondents")}))
    contacts = (_contacts_per_buurt(contacts_path) if contacts_path is not None
                else pl.DataFrame(schema={c: schema[c] for c in ("buurt_code", "contact_moments")}))
    counts = [c for c, t in schema.items() if t == pl.Int64]
    result = (
        contacts.join(survey, on="buurt_code", how="full", coalesce=True)
        .with_columns(pl.col(c).fill_null(0) if c in contacts.columns or c in survey.columns else pl.lit(0).alias(c)
                      for c in counts)
        .with_columns((pl.col("respondents") < k).alias("small_cell"))
    )
    for column in ("first_contact_date", "last_contact_date"):
        if column not in result.columns:
            result = result.with_columns(pl.lit(None, dtype=pl.Date).alias(column))
    if suppress_small_cells:
        breakdown = [c for c in counts if c.startswith(("willing_", "concern_"))]
        result = result.with_columns(pl.when(~pl.col("small_cell")).then(pl.col(c)).alias(c) for c in breakdown)
    result = result.select(list(schema)).cast(schema).sort("buurt_code")
    log.info("participation aggregated: %d buurten, %d respondents, %d small cells (k=%d)", result.height,
             result["respondents"].sum(), result["small_cell"].sum(), k)
    return result
