"""Partitions: by gemeente (the CBS municipal list, plus the demo gemeente) and by year for yearly sources.

The gemeente list is data, in ``gemeenten_2024.csv`` next to this module:

* ``gemeente_code``: the 342 gemeenten that have 2024 figures in CBS StatLine 81528NED "Energieverbruik
  particuliere woningen; woningtype en regio's" (Modified 2025-09-17; read from
  ../shared/data/cbs_energie/81528NED_full_data.csv, rows ``Perioden = 2024JJ00`` with a gas or electricity
  figure). 342 is also CBS's count of gemeenten on 1 January 2023 and 2024.
* ``gemeente_name``: from CBS 86044NED "Zonnestroom; vermogen zonnepanelen woningen, wijken en buurten, 2022"
  (same folder), except GM1992 Voorne aan Zee, formed on 1 January 2023 from Brielle (GM0501), Hellevoetsluis
  (GM0530) and Westvoorne (GM0614), which is not in that 2022 table.
* ``n_buurten_2022``: the buurten of 86044NED (CBS wijk- en buurtindeling 2022, 14,317 in all) per 2024 gemeente;
  the buurten of Weesp (GM0457, part of Amsterdam GM0363 since 24 March 2022) and of the three Voorne gemeenten
  are counted with the gemeente they joined. Used by the national benchmark generator.

A year after 2024 uses the newest list up to that year (``gemeente_list``): CBS announced no municipal
reorganisation for 1 January 2025; add ``gemeenten_<year>.csv`` when the list changes.

Per-buurt outputs live inside a gemeente partition (a buurt code starts with its gemeente's digits). One
partition key per gemeente lets a backfill of all gemeenten run as ONE set-based run
(``BackfillPolicy.single_run()``: the run gets a partition key range, ``partition_gemeenten`` turns it into the
list of codes) instead of 343 runs that each open the warehouse.
"""

from __future__ import annotations

import functools
from pathlib import Path

import dagster as dg
import polars as pl

from wup_pipeline.sources.cbs_kwb import KWB_TABLES

DEMO_GEMEENTE = "GM9999"
LIST_DIR = Path(__file__).resolve().parent
GEMEENTE_LISTS = {2024: LIST_DIR / "gemeenten_2024.csv"}
PARTITION_YEAR = 2025  # the municipal list the gemeente partitions follow
SINGLE_RUN_BACKFILL = dg.BackfillPolicy.single_run()
GEMEENTE_CODE = r"^GM\d{4}$"

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class PartitionListError(ValueError):
    """The municipal list file is missing or malformed; the message names the file, row and field."""


@functools.cache
def gemeente_list(year: int = PARTITION_YEAR) -> pl.DataFrame:
    """The CBS municipal list valid for ``year``: gemeente_code, gemeente_name, n_buurten_2022, list_year."""
    usable = [y for y in GEMEENTE_LISTS if y <= year]
    if not usable:
        raise PartitionListError(f"no municipal list for {year}; lists exist for {sorted(GEMEENTE_LISTS)}")
    list_year = max(usable)
    path = GEMEENTE_LISTS[list_year]
    try:
        frame = pl.read_csv(path, schema_overrides={"gemeente_code": pl.String, "gemeente_name": pl.String,
                                                    "n_buurten_2022": pl.Int64})
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise PartitionListError(f"{path}: cannot read the municipal list: {exc}") from exc
    bad = frame.with_row_index("row", offset=2).filter(~pl.col("gemeente_code").str.contains(GEMEENTE_CODE))
    if bad.height:
        raise PartitionListError(f"{path} row {bad['row'][0]} field gemeente_code: expected GM and four digits, "
                                 f"got {bad['gemeente_code'][0]!r}")
    duplicated = frame.filter(pl.col("gemeente_code").is_duplicated())["gemeente_code"].unique().to_list()
    if duplicated:
        raise PartitionListError(f"{path} field gemeente_code: listed more than once: {sorted(duplicated)}")
    return frame.with_columns(pl.lit(list_year).alias("list_year")).sort("gemeente_code")


def gemeente_codes(year: int = PARTITION_YEAR, include_demo: bool = True) -> list[str]:
    """Sorted gemeente codes of the year's list, plus the SYNTHETIC demo gemeente GM9999 (sorts last)."""
    codes = gemeente_list(year)["gemeente_code"].to_list()
    return sorted({*codes, DEMO_GEMEENTE}) if include_demo else codes


@functools.cache
def gemeente_partitions(year: int = PARTITION_YEAR) -> dg.StaticPartitionsDefinition:
    """One partition per gemeente (343 for 2025: 342 CBS gemeenten and the demo), in code order."""
    return dg.StaticPartitionsDefinition(gemeente_codes(year))


@functools.cache
def year_partitions() -> dg.StaticPartitionsDefinition:
    """One partition per reference year CBS publishes Kerncijfers wijken en buurten for (KWB_TABLES).

    For assets that hold a yearly source for the whole country (a national KWB or energy table): the year is
    their natural unit. Per-gemeente assets keep the year as a run setting; a gemeente x year
    ``MultiPartitionsDefinition`` would break single-run backfills (a multi-partition set is no contiguous range).
    """
    return dg.StaticPartitionsDefinition([str(year) for year in sorted(KWB_TABLES)])


def partitioned_by_gemeente(asset: dg.AssetsDefinition, year: int = PARTITION_YEAR) -> dg.AssetsDefinition:
    """The asset with gemeente partitions and the single-run backfill policy (applied when the Definitions are
    built, so the municipal list is not read at import)."""
    partitions = gemeente_partitions(year)
    return asset.map_asset_specs(lambda spec: spec.replace_attributes(partitions_def=partitions)).with_attributes(
        backfill_policy=SINGLE_RUN_BACKFILL)


def partition_gemeenten(context: dg.AssetExecutionContext | dg.OpExecutionContext,
                        default: str | None = None) -> list[str]:
    """Gemeente codes of the run's partition key or key range (one, or many for a single-run backfill).

    An unpartitioned run gives ``[default]`` (e.g. ``settings.gemeente_code``), or [] without a default.
    """
    if not context.has_partition_key and not getattr(context, "has_partition_key_range", False):
        return [default] if default else []
    keys = list(context.partition_keys)
    bad = [key for key in keys if not key.startswith("GM")]
    if bad:
        raise PartitionListError(f"partition keys {bad[:5]} are not gemeente codes; is this asset year-partitioned?")
    return sorted(keys)


def partition_key_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that give one run the partition key range first..last (both included, in partition order)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def contiguous_ranges(codes: list[str], year: int = PARTITION_YEAR) -> list[tuple[str, str]]:
    """The fewest (first, last) partition ranges that cover exactly ``codes``: one run per range."""
    order = {code: index for index, code in enumerate(gemeente_codes(year))}
    unknown = sorted(set(codes) - set(order))
    if unknown:
        raise PartitionListError(f"not in the {year} gemeente partitions: {unknown[:10]}")
    indices = sorted({order[code] for code in codes})
    all_codes = gemeente_codes(year)
    ranges, start = [], None
    for position, index in enumerate(indices):
        if start is None:
            start = index
        if position + 1 == len(indices) or indices[position + 1] != index + 1:
            ranges.append((all_codes[start], all_codes[index]))
            start = None
    return ranges
