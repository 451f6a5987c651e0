"""The cost-benefit marts ("De balans"): routes off natural gas per buurt, per dwelling group, sensitivity.

The model is pure code (model/costs.py, docs/cost-model.md); these assets read the neighbourhood marts, run it,
and write the results with their column lineage and the parameter version.
"""

from collections.abc import Callable, Iterable, Iterator
from functools import partial

import dagster as dg
import polars as pl

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.lineage.sql_models import LineageRow
from wup_pipeline.model import costs
from wup_pipeline.parameters import parameter_version
from wup_pipeline.reports.privacy import policy_from_settings
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.warehouse import Warehouse

HOUSING = "marts.housing_stock_buurt"
SOCIO = "marts.socio_economic_buurt"
INFRA = "marts.infrastructure_buurt"
INPUT_COLUMNS = [(HOUSING, c) for c in ("dwellings", "total_floor_area_m2", "n_label_a", "n_label_b", "n_label_c",
                                        "n_label_d", "n_label_e", "n_label_f", "n_label_g")]
DWELLING_GROUP_BATCH_BUURTEN = 500  # bounds the group x route frames of one batch
COST_PARAMETER_TABLES = ("raw.param_costs_general", "raw.param_costs_building_kentallen",
                         "raw.param_costs_building_stock")
UPSTREAM = [dg.AssetKey(["marts", "housing_stock_buurt"]), dg.AssetKey(["marts", "socio_economic_buurt"]),
            dg.AssetKey(["marts", "infrastructure_buurt"]), dg.AssetKey(["intermediate", "int_dwellings"]),
            *[dg.AssetKey(t.split(".")) for t in COST_PARAMETER_TABLES]]


def cost_lineage(table: str, columns: list[str], extra_inputs: list[tuple[str, str]] = ()) -> list[LineageRow]:
    """Every figure depends on the buurt's stock and the cost parameter tables."""
    sources = [*INPUT_COLUMNS, *extra_inputs, *[(t, "value") for t in COST_PARAMETER_TABLES]]
    return [LineageRow(table, column, source_table, source_column, "model.costs")
            for column in columns for source_table, source_column in sources]


def read_cost_inputs(con) -> pl.DataFrame:
    # a fixed row order: the model sums floats, and a sum depends on the order it adds in
    housing = con.execute(f"select * from {HOUSING} order by buurt_code").pl()
    socio = con.execute(f"select * from {SOCIO} order by buurt_code").pl()
    infra = con.execute(f"select * from {INFRA} order by buurt_code, asset").pl()
    return costs.buurt_inputs_from_marts(housing, socio, infra)


STORED_SIGNIFICANT_DIGITS = 10


def stored_precision(frame: pl.DataFrame) -> pl.DataFrame:
    """Floats to 10 significant digits. Polars joins and aggregates in parallel, so the order in which it adds
    floats, and with it the last bits of a sum, can differ from run to run; audit.table_hashes must not. The
    model's own precision is many digits coarser."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    return frame.with_columns(pl.col(floats).round_sig_figs(STORED_SIGNIFICANT_DIGITS)) if floats else frame


def replace_table_in_batches(con, table: str, batches: Iterable[pl.DataFrame],
                             lineage: Callable[[list[str]], list[LineageRow]],
                             finish_sql: str = "select * from _staged") -> tuple[int, list[LineageRow]]:
    """Replace a table, and its column lineage rows, in one transaction, from frames handed to DuckDB one batch
    at a time via Arrow (never one national frame in Python). The batches are staged in the table ``_staged``
    (dropped before the commit); ``finish_sql`` over it shapes the final table. Returns (row count, lineage rows)."""
    con.execute("begin transaction")
    try:
        con.execute("drop table if exists _staged")
        for number, batch in enumerate(batches):
            # a relation, not con.register(): DuckDB keeps registered Arrow data until the transaction ends
            incoming = con.from_arrow(stored_precision(batch).to_arrow())
            if number:
                incoming.insert_into("_staged")
            else:
                incoming.create("_staged")
        con.execute(f"create or replace table {table} as {finish_sql}")
        con.execute("drop table _staged")
        columns = [d[0] for d in con.execute(f"select * from {table} limit 0").description]
        rows = lineage(columns)
        con.execute("delete from audit.column_lineage where model = ?", [table])
        lineage_rows = pl.DataFrame(  # noqa: F841 - read by DuckDB below; one insert, not one per row
            [(r.model, r.column, r.source_table, r.source_column, r.expression, "python") for r in rows],
            schema=["model", "column_name", "source_table", "source_column", "expression", "code_version"],
            orient="row")
        con.execute("insert into audit.column_lineage by name select * from lineage_rows")
        height = con.execute(f"select count(*) from {table}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return height, rows


def cost_metadata(frame: pl.DataFrame | int, rows: list[LineageRow], settings: PipelineSettings) -> dict:
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for row in rows:
        dep = dg.TableColumnDep(asset_key=dg.AssetKey(row.source_table.split(".")), column_name=row.source_column)
        if dep not in deps.setdefault(row.column, []):
            deps[row.column].append(dep)
    height = frame if isinstance(frame, int) else frame.height
    return {"dagster/row_count": height, "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
            "parameter_set": settings.cost_parameters, "parameter_version": parameter_version(),
            "cost_year": settings.cost_year}


@dg.asset(
    key=["marts", "route_costs_buurt"],
    deps=UPSTREAM,
    group_name="marts",
    kinds={"duckdb", "polars"},
    pool=WAREHOUSE_POOL,
    description="Buurt x route off natural gas (reference, S1a .. S4d): national costs and extra costs (per "
    "woningequivalent, per ton CO2), investments and yearly costs by component, CO2, end-user extra costs per owner "
    "type, affordability against income, koppelkansen saving, parameter rows used; docs/cost-model.md.",
    metadata={"dagster/table_name": "marts.route_costs_buurt"},
)
def route_costs_buurt(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        buurten = read_cost_inputs(con)
    # parameter_rows is the same ~9 kB text for every buurt of a route: joined in DuckDB, not repeated in Python
    results = costs.evaluate_buurten(buurten, parameters=settings.cost_parameters, year=settings.cost_year,
                                     with_parameter_rows=False)
    cheapest = costs.cheapest_routes(results)
    results = results.join(cheapest.select("buurt_code", "cheapest_route", "runner_up_route",
                                           "margin_eur_per_year", "margin_eur_per_weq"), on="buurt_code", how="left",
                           maintain_order="left").with_row_index("_row")
    route_rows = costs.route_parameter_rows(settings.cost_parameters).with_columns(
        pl.col("parameter_rows").list.join("; "))
    columns = [c for c in costs.OUTPUT_COLUMNS if c != "parameter_rows"]
    finish = (f"select {', '.join(f'r.{c}' for c in columns)}, p.parameter_rows, r.cheapest_route, "
              "r.runner_up_route, r.margin_eur_per_year, r.margin_eur_per_weq "
              "from _staged as r left join _route_rows as p using (strategy) order by r._row")
    lineage = partial(cost_lineage, "marts.route_costs_buurt",
                      extra_inputs=[(SOCIO, "income_per_inhabitant_eur"), (INFRA, "in_plan_window")])
    with warehouse.connect() as con:
        con.register("_route_rows", route_rows.to_arrow())
        height, rows = replace_table_in_batches(con, "marts.route_costs_buurt", [results], lineage, finish)
        con.unregister("_route_rows")
    context.log.info(f"route costs: {height} buurt x route rows ({settings.cost_parameters}, "
                     f"{settings.cost_year})")
    return dg.MaterializeResult(metadata=cost_metadata(height, rows, settings))


@dg.asset(
    key=["marts", "route_sensitivity_buurt"],
    deps=UPSTREAM,
    group_name="marts",
    kinds={"duckdb", "polars"},
    pool=WAREHOUSE_POOL,
    description="Per buurt and scenario (low/high energy prices, low/high investment costs): the cheapest route "
    "and whether it is the same as in the central case.",
    metadata={"dagster/table_name": "marts.route_sensitivity_buurt"},
)
def route_sensitivity_buurt(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        buurten = read_cost_inputs(con)
    frame = costs.sensitivity(buurten, settings.cost_parameters, settings.cost_year)
    with warehouse.connect() as con:
        _, rows = replace_table_in_batches(con, "marts.route_sensitivity_buurt", [frame],
                                           partial(cost_lineage, "marts.route_sensitivity_buurt"))
    changed = frame.filter(~pl.col("same_as_central")).height if "same_as_central" in frame.columns else 0
    context.log.info(f"sensitivity: {frame.height} buurt x scenario rows, {changed} with another cheapest route")
    return dg.MaterializeResult(metadata=cost_metadata(frame, rows, settings))


def dwelling_group_batches(groups: pl.DataFrame, settings: PipelineSettings) -> Iterator[pl.DataFrame]:
    """The end-user view in batches of whole buurten (groups are independent; the order is the one-call order)."""
    if groups.is_empty():
        yield costs.evaluate_dwelling_groups(groups, settings.cost_parameters, settings.cost_year)
        return
    starts = groups.with_row_index("_row").group_by("buurt_code", maintain_order=True).agg(pl.col("_row").first())
    for first in range(0, starts.height, DWELLING_GROUP_BATCH_BUURTEN):
        begin = starts["_row"][first]
        end = starts["_row"][first + DWELLING_GROUP_BATCH_BUURTEN] if first + DWELLING_GROUP_BATCH_BUURTEN < \
            starts.height else groups.height
        yield costs.evaluate_dwelling_groups(groups.slice(begin, end - begin), settings.cost_parameters,
                                             settings.cost_year)


def dwelling_group_lineage(columns: list[str]) -> list[LineageRow]:
    rows = [LineageRow("marts.route_costs_dwelling_group", column, "intermediate.int_dwellings", source,
                       "model.costs.evaluate_dwelling_groups")
            for column in columns
            for source in ("dwelling_type_class", "build_year_class", "label_class", "owner_type", "floor_area_m2")]
    return rows + [LineageRow("marts.route_costs_dwelling_group", column, table, "value", "model.costs")
                   for column in columns for table in COST_PARAMETER_TABLES]


@dg.asset(
    key=["marts", "route_costs_dwelling_group"],
    deps=UPSTREAM,
    group_name="marts",
    kinds={"duckdb", "polars"},
    pool=WAREHOUSE_POOL,
    description="The end-user view: per buurt x dwelling type x build-year class x label class x owner type and "
    "route, investment, energy cost and extra cost per dwelling for owner and occupant. Only groups of at least "
    "privacy_k dwellings (default 10): smaller groups would be blank in every output, so they are not stored.",
    metadata={"dagster/table_name": "marts.route_costs_dwelling_group"},
)
def route_costs_dwelling_group(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    # Groups of fewer than privacy_k dwellings are left out: every output blanks all their figures (only the key
    # columns would show), and at national size they are 9 in 10 groups.
    k = policy_from_settings(settings).k
    with warehouse.connect() as con:
        groups = con.execute(
            "select buurt_code, dwelling_type_class, build_year_class, label_class as energy_label_class, "
            "owner_type, count(*) as dwellings, sum(floor_area_m2) as floor_area_m2 "
            "from intermediate.int_dwellings group by all having count(*) >= ? order by all", [k]).pl()
        height, rows = replace_table_in_batches(con, "marts.route_costs_dwelling_group",
                                                dwelling_group_batches(groups, settings), dwelling_group_lineage)
    context.log.info(f"dwelling-group costs: {height} group x route rows ({groups.height} groups of at least "
                     f"{k} dwellings)")
    return dg.MaterializeResult(metadata={**cost_metadata(height, rows, settings), "privacy_k": k})


ASSETS = [route_costs_buurt, route_sensitivity_buurt, route_costs_dwelling_group]
