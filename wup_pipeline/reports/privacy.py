"""What published outputs may show: CBS-style small-cell suppression and the address-level switch.

Rules (docs/outputs.md, "Privacy"):

* A buurt with fewer than k dwellings (BAG count or CBS count, whichever is smaller) or fewer than k households
  (CBS) is *suppressed*: every figure of that buurt is blank in every output (HTML, Excel, GeoPackage, Parquet,
  ``audit.figures.value_*``); only its code and name remain, with the reason. CBS blanks figures of small areas
  the same way in the Kerncijfers wijken en buurten (statistical secrecy; its thresholds differ per variable, and
  the suppressed values arrive as null, see sources/cbs_kwb.py); here one k applies to every figure.
* A row that is about fewer than k dwellings (its ``dwellings`` column, e.g. a dwelling group of the cost model:
  buurt x type x period x label x owner type) is blank, except for its key columns.
* A figure about one owner group (a column naming ``owner_occupied``/``owner_occupier``, ``private_rent``/
  ``private_landlord``/``private_tenant`` or ``corporation``/``corporation_tenant`` that is not itself a count
  ``n_*`` or a share ``pct_*``, or a row with an ``owner_type`` key) is blank when the buurt has fewer than k
  dwellings of that owner type: an average over three private-rent dwellings describes them.
* Address-level output (the GeoPackage dwelling layer, dots on the buurt map) is off unless
  ``publish_address_level`` is set, and even then only public attributes: BAG fields, the dwelling type derived
  from BAG footprints and a *registered* EP-Online label. Estimated labels and owner types never leave the
  warehouse per address.

The rules are SQL over the warehouse (set-based, any size); this module builds that SQL and knows nothing of
Dagster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

DEFAULT_K = 10
IDENTITY_COLUMNS = ("buurt_code", "buurt_name", "wijk_code", "gemeente_code", "gemeente_name")
ROW_COUNT_COLUMNS = ("dwellings",)  # a row's own count of the dwellings it is about
OWNER_TYPES = ("owner_occupied", "private_rent", "corporation")
SUPPRESSION_TABLE = "published_suppression"  # a temp table, per connection
# column tokens naming one owner group (the cost model's groups, docs/cost-model.md section 9) -> owner type
OWNER_GROUPS = {"owner_occupied": "owner_occupied", "owner_occupier": "owner_occupied",
                "private_rent": "private_rent", "private_landlord": "private_rent", "private_tenant": "private_rent",
                "corporation": "corporation", "corporation_tenant": "corporation"}
_OWNER_COLUMN = re.compile(r"(?:^|_)(" + "|".join(sorted(OWNER_GROUPS, key=len, reverse=True)) + r")(?:_|$)")

# Public attributes per address: BAG, the type derived from BAG footprints, registered labels only.
ADDRESS_LEVEL_COLUMNS: dict[str, tuple[str, str]] = {
    "vbo_id": ("BAG verblijfsobject id.", "id"),
    "pand_id": ("BAG pand id.", "id"),
    "street": ("Street name (BAG openbare ruimte).", "name"),
    "postcode": ("Postcode (BAG).", "code"),
    "house_number": ("House number (BAG).", "number"),
    "house_letter": ("House letter (BAG).", "code"),
    "house_number_addition": ("House number addition (BAG).", "code"),
    "build_year": ("Original build year of the pand (BAG).", "year"),
    "floor_area_m2": ("Usable floor area (BAG).", "m2"),
    "dwelling_type": ("Dwelling type derived from BAG footprints (apartment, terraced, corner, semi_detached, "
                      "detached).", "category"),
    "registered_label": ("Registered EP-Online label; empty when the dwelling has none (estimated labels are "
                         "never published per address).", "label"),
    "registered_label_date": ("Registration date of that label.", "date"),
}


@dataclass(frozen=True)
class PrivacyPolicy:
    k: int = DEFAULT_K
    publish_address_level: bool = False

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"privacy_k must be at least 1, not {self.k}")


def policy_from_settings(settings) -> PrivacyPolicy:
    """From PipelineSettings; ``publish_address_level`` defaults to off where the field does not exist yet."""
    return PrivacyPolicy(
        k=int(getattr(settings, "privacy_k", DEFAULT_K)),
        publish_address_level=bool(getattr(settings, "publish_address_level", False)),
    )


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
    ).fetchone()[0] > 0


def table_columns(con: duckdb.DuckDBPyConnection, qualified: str) -> list[tuple[str, str]]:
    schema, name = qualified.split(".")
    # duckdb_columns() gives the same rows as information_schema.columns (a view over it) in a sixth of the time;
    # the outputs ask this a few hundred times per run
    return con.execute(
        "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
        "and not internal order by column_index", [schema, name]).fetchall()


def create_suppression_table(con: duckdb.DuckDBPyConnection, policy: PrivacyPolicy, gemeente_code: str) -> None:
    """Temp table ``published_suppression``: one row per buurt of the gemeente with its verdict and reason.

    Columns: buurt_code, dwellings_bag, dwellings_cbs, households, suppressed, reason, and the dwellings per
    owner type (n_owner_occupied, n_private_rent, n_corporation) the owner-type rule compares with k.
    """
    has_stock = table_exists(con, "marts.housing_stock_buurt")
    has_kwb = table_exists(con, "marts.factscan_buurt")
    stock = ("select buurt_code, dwellings, n_owner_occupied, n_private_rent, n_corporation "
             "from marts.housing_stock_buurt") if has_stock else (
        "select null::varchar as buurt_code, null::bigint as dwellings, null::bigint as n_owner_occupied, "
        "null::bigint as n_private_rent, null::bigint as n_corporation limit 0")
    kwb = ("select buurt_code, dwellings, households from marts.factscan_buurt" if has_kwb else
           "select null::varchar as buurt_code, null::bigint as dwellings, null::bigint as households limit 0")
    k = int(policy.k)
    con.execute(f"""
        create or replace temp table {SUPPRESSION_TABLE} as
        with buurten as (
            select buurt_code from staging.stg_pdok__buurten where gemeente_code = $gemeente
        ),
        stock as ({stock}),
        kwb as ({kwb}),
        counted as (
            select
                buurten.buurt_code,
                stock.dwellings as dwellings_bag,
                kwb.dwellings as dwellings_cbs,
                kwb.households,
                -- the smaller known dwelling count decides; no count at all is no evidence of k dwellings
                coalesce(least(stock.dwellings, kwb.dwellings), stock.dwellings, kwb.dwellings, 0) as dwellings_min,
                stock.n_owner_occupied,
                stock.n_private_rent,
                stock.n_corporation
            from buurten
            left join stock on stock.buurt_code = buurten.buurt_code
            left join kwb on kwb.buurt_code = buurten.buurt_code
        )
        select
            buurt_code, dwellings_bag, dwellings_cbs, households,
            dwellings_min < {k} or coalesce(households < {k}, false) as suppressed,
            case
                when dwellings_min < {k} then 'minder dan {k} woningen'
                when households < {k} then 'minder dan {k} huishoudens'
            end as reason,
            n_owner_occupied, n_private_rent, n_corporation
        from counted
    """, {"gemeente": gemeente_code})


def is_owner_type_column(column: str) -> bool:
    """A figure about one owner type (not the count or share of that type in the stock)."""
    return bool(_OWNER_COLUMN.search(column)) and not column.startswith(("n_", "pct_"))


def owner_type_of(column: str) -> str | None:
    match = _OWNER_COLUMN.search(column)
    return OWNER_GROUPS[match.group(1)] if match and is_owner_type_column(column) else None


def blank_condition(column: str, table_columns_: list[str], k: int) -> str:
    """SQL condition (over ``t`` = the table, ``s`` = the suppression row) under which a value is blanked."""
    conditions = ["coalesce(s.suppressed, true)"]
    owner = owner_type_of(column)
    if owner:
        conditions.append(f"coalesce(s.n_{owner}, 0) < {int(k)}")
    for count in ROW_COUNT_COLUMNS:  # a row that aggregates fewer than k dwellings (a dwelling group)
        if count in table_columns_:
            conditions.append(f"coalesce(t.{count}, 0) < {int(k)}")
    if "owner_type" in table_columns_ and column != "owner_type":
        counts = " ".join(f"when '{o}' then s.n_{o}" for o in OWNER_TYPES)
        conditions.append(f"coalesce(case t.owner_type {counts} end, {int(k)}) < {int(k)}")
    return " or ".join(conditions)


def published_select(con: duckdb.DuckDBPyConnection, table: str, policy: PrivacyPolicy,
                     keep: tuple[str, ...] = ()) -> str:
    """SQL for ``table`` as it may be published: rows of the gemeente's buurten, small cells blanked.

    Needs ``create_suppression_table`` on the same connection. Identity columns and ``keep`` (key columns such
    as strategy) are never blanked; a column ``privacy_suppressed`` says whether the buurt is suppressed.
    A table without buurt_code is returned whole (gemeente-level tables).
    """
    columns = table_columns(con, table)
    names = [name for name, _ in columns]
    if "buurt_code" not in names:
        return f"select * from {table}"
    select = []
    for name in names:
        quoted = f'"{name}"'
        if name in IDENTITY_COLUMNS or name in keep:
            select.append(f"t.{quoted}")
        else:
            select.append(f"case when {blank_condition(name, names, policy.k)} then null else t.{quoted} end "
                          f"as {quoted}")
    select.append("coalesce(s.suppressed, true) as privacy_suppressed")
    return (f"select {', '.join(select)} from {table} as t "
            f"inner join {SUPPRESSION_TABLE} as s on s.buurt_code = t.buurt_code")


# The public per-address attributes of the gemeente's dwellings with RD coordinates; parameter $gemeente. Only
# used when publish_address_level is on.
ADDRESS_LEVEL_SQL = """
    select
        d.vbo_id, d.pand_id, v.street, d.postcode, d.house_number, d.house_letter, d.house_number_addition,
        d.build_year, d.floor_area_m2, d.dwelling_type,
        case when d.label_source = 'registered' then d.energy_label end as registered_label,
        case when d.label_source = 'registered' then d.label_date end as registered_label_date,
        d.buurt_code,
        v.x_rd, v.y_rd
    from intermediate.int_dwellings as d
    inner join staging.stg_bag__verblijfsobjecten as v on v.vbo_id = d.vbo_id
    inner join staging.stg_pdok__buurten as b on b.buurt_code = d.buurt_code
    where b.gemeente_code = $gemeente and v.x_rd is not null
    order by d.vbo_id
"""
