"""The figures behind the buurt maps: dwellings per 100 m square (as CBS vierkantstatistieken) per buurt.

Per square and buurt: dwellings, share with label E-G (of those with a label) and the share of each owner type.
A square part with fewer than k dwellings, or in a suppressed buurt, is blank (drawn hatched). These are
audit.figures rows like any other (section ``kaart``, key ``E<hm>N<hm>`` = the square's south-west corner in
hectometres, RD), so the map's numbers trace back like the tables' numbers. Set-based SQL over the warehouse.
"""

from __future__ import annotations

import duckdb
import polars as pl

from wup_pipeline.reports import privacy
from wup_pipeline.reports.factscan_html import CELL_SIZE_M

CELL_COLUMNS = {
    # figure column: (description, unit, lineage column)
    "dwellings": ("Dwellings in the square part of the buurt.", "woningen", "intermediate.int_dwellings.vbo_id"),
    "pct_label_efg": ("Share with label class E, F or G (registered or estimated), of the dwellings with a label.",
                      "% van de woningen", "intermediate.int_dwellings.label_class"),
    "pct_owner_occupied": ("Share owner-occupied.", "% van de woningen", "intermediate.int_dwellings.owner_type"),
    "pct_private_rent": ("Share rented from other landlords.", "% van de woningen",
                         "intermediate.int_dwellings.owner_type"),
    "pct_corporation": ("Share owned by a housing corporation.", "% van de woningen",
                        "intermediate.int_dwellings.owner_type"),
}
POSITION_COLUMNS = ("staging.stg_bag__verblijfsobjecten.x_rd", "staging.stg_bag__verblijfsobjecten.y_rd")


def cell_figures(con: duckdb.DuckDBPyConnection, policy: privacy.PrivacyPolicy) -> pl.DataFrame:
    """Derived figures (lineage.trace.DERIVED_SCHEMA) for every square part of every buurt of the gemeente.

    Needs ``privacy.create_suppression_table`` on the connection (it limits the buurten to the gemeente).
    """
    size, k = CELL_SIZE_M, int(policy.k)
    frame = con.execute(f"""
        with located as (
            select d.buurt_code, d.label_class, d.owner_type,
                   cast(floor(v.x_rd / {size}) as bigint) as east_hm, cast(floor(v.y_rd / {size}) as bigint) as north_hm
            from intermediate.int_dwellings as d
            inner join staging.stg_bag__verblijfsobjecten as v on v.vbo_id = d.vbo_id
            where v.x_rd is not null and v.y_rd is not null
        ),
        cells as (
            select buurt_code, east_hm, north_hm,
                   count(*) as dwellings,
                   100.0 * count(*) filter (where label_class in ('E', 'F', 'G')) / nullif(count(label_class), 0)
                       as pct_label_efg,
                   100.0 * count(*) filter (where owner_type = 'owner_occupied') / nullif(count(owner_type), 0)
                       as pct_owner_occupied,
                   100.0 * count(*) filter (where owner_type = 'private_rent') / nullif(count(owner_type), 0)
                       as pct_private_rent,
                   100.0 * count(*) filter (where owner_type = 'corporation') / nullif(count(owner_type), 0)
                       as pct_corporation
            from located group by buurt_code, east_hm, north_hm
        )
        select cells.*, s.suppressed as buurt_suppressed, s.reason as buurt_reason
        from cells inner join {privacy.SUPPRESSION_TABLE} as s on s.buurt_code = cells.buurt_code
        order by buurt_code, east_hm, north_hm
    """).pl()
    key = pl.format("E{}N{}", pl.col("east_hm").cast(pl.String).str.zfill(4),
                    pl.col("north_hm").cast(pl.String).str.zfill(4))
    hidden = pl.col("buurt_suppressed") | (pl.col("dwellings") < k)
    reason = pl.when(pl.col("buurt_suppressed")).then(pl.col("buurt_reason")).when(pl.col("dwellings") < k) \
        .then(pl.lit(f"minder dan {k} woningen in dit vierkant"))
    parts = []
    for column, (description, unit, lineage) in CELL_COLUMNS.items():
        value = pl.col(column).cast(pl.Float64)
        parts.append(frame.select(
            (pl.lit("kaart/") + pl.col("buurt_code") + pl.lit("/") + key + pl.lit(f"/{column}")).alias("figure_id"),
            pl.lit("kaart").alias("section"),
            pl.col("buurt_code"),
            key.alias("figure_key"),
            pl.lit(lineage.rsplit(".", 1)[0]).alias("mart_table"),
            pl.lit(lineage.rsplit(".", 1)[1]).alias("column_name"),
            pl.when(hidden).then(None).otherwise(value).alias("value_number"),
            pl.when(hidden).then(None).otherwise(value.cast(pl.String)).alias("value_text"),
            pl.lit(unit).alias("unit"),
            hidden.alias("suppressed"),
            reason.alias("suppression_reason"),
            pl.lit(f"{description} Square of {size} m at the RD position of the BAG verblijfsobject.")
            .alias("expression"),
            pl.lit([], dtype=pl.List(pl.String)).alias("depends_on"),
            pl.lit([lineage, *POSITION_COLUMNS], dtype=pl.List(pl.String)).alias("lineage_columns"),
            pl.lit(["factscan_html"], dtype=pl.List(pl.String)).alias("output"),
        ))
    return pl.concat(parts) if parts else pl.DataFrame()
