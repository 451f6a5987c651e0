"""The cost-benefit marts ("De balans"): routes off natural gas per buurt, per dwelling group, sensitivity.

The model is pure code (model/costs.py, docs/cost-model.md); these assets read the neighbourhood marts, run it,
and write the results with their column lineage and the parameter version.
"""

import dagster as dg
import polars as pl

from wup_pipeline.assets.housing_model import replace_table_with_lineage
from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.lineage.sql_models import LineageRow
from wup_pipeline.model import costs
from wup_pipeline.parameters import parameter_version
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.warehouse import Warehouse

HOUSING = "marts.housing_stock_buurt"
SOCIO = "marts.socio_economic_buurt"
INFRA = "marts.infrastructure_buurt"
INPUT_COLUMNS = [(HOUSING, c) for c in ("dwellings", "total_floor_area_m2", "n_label_a", "n_label_b", "n_label_c",
                                        "n_label_d", "n_label_e", "n_label_f", "n_label_g")]
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
    housing = con.execute(f"select * from {HOUSING}").pl()
    socio = con.execute(f"select * from {SOCIO}").pl()
    infra = con.execute(f"select * from {INFRA}").pl()
    return costs.buurt_inputs_from_marts(housing, socio, infra)


def cost_metadata(frame: pl.DataFrame, rows: list[LineageRow], settings: PipelineSettings) -> dict:
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for row in rows:
        dep = dg.TableColumnDep(asset_key=dg.AssetKey(row.source_table.split(".")), column_name=row.source_column)
        if dep not in deps.setdefault(row.column, []):
            deps[row.column].append(dep)
    return {"dagster/row_count": frame.height, "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
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
    results = costs.evaluate_buurten(buurten, parameters=settings.cost_parameters, year=settings.cost_year)
    cheapest = costs.cheapest_routes(results)
    results = results.join(cheapest.select("buurt_code", "cheapest_route", "runner_up_route",
                                           "margin_eur_per_year", "margin_eur_per_weq"), on="buurt_code", how="left")
    results = results.with_columns(
        pl.col("parameter_rows").list.join("; ") if results.schema.get("parameter_rows") == pl.List(pl.String)
        else pl.col("parameter_rows"))
    rows = cost_lineage("marts.route_costs_buurt", results.columns,
                        [(SOCIO, "income_per_inhabitant_eur"), (INFRA, "in_plan_window")])
    with warehouse.connect() as con:
        replace_table_with_lineage(con, "marts.route_costs_buurt", results, rows)
    context.log.info(f"route costs: {results.height} buurt x route rows ({settings.cost_parameters}, "
                     f"{settings.cost_year})")
    return dg.MaterializeResult(metadata=cost_metadata(results, rows, settings))


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
    rows = cost_lineage("marts.route_sensitivity_buurt", frame.columns)
    with warehouse.connect() as con:
        replace_table_with_lineage(con, "marts.route_sensitivity_buurt", frame, rows)
    changed = frame.filter(~pl.col("same_as_central")).height if "same_as_central" in frame.columns else 0
    context.log.info(f"sensitivity: {frame.height} buurt x scenario rows, {changed} with another cheapest route")
    return dg.MaterializeResult(metadata=cost_metadata(frame, rows, settings))


@dg.asset(
    key=["marts", "route_costs_dwelling_group"],
    deps=UPSTREAM,
    group_name="marts",
    kinds={"duckdb", "polars"},
    pool=WAREHOUSE_POOL,
    description="The end-user view: per buurt x dwelling type x build-year class x label class x owner type and "
    "route, investment, energy cost and extra cost per dwelling for owner and occupant.",
    metadata={"dagster/table_name": "marts.route_costs_dwelling_group"},
)
def route_costs_dwelling_group(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        groups = con.execute(
            "select buurt_code, dwelling_type_class, build_year_class, label_class as energy_label_class, "
            "owner_type, count(*) as dwellings, sum(floor_area_m2) as floor_area_m2 "
            "from intermediate.int_dwellings group by all order by all").pl()
    frame = costs.evaluate_dwelling_groups(groups, settings.cost_parameters, settings.cost_year)
    rows = [LineageRow("marts.route_costs_dwelling_group", column, "intermediate.int_dwellings", source,
                       "model.costs.evaluate_dwelling_groups")
            for column in frame.columns
            for source in ("dwelling_type_class", "build_year_class", "label_class", "owner_type", "floor_area_m2")]
    rows += [LineageRow("marts.route_costs_dwelling_group", column, table, "value", "model.costs")
             for column in frame.columns for table in COST_PARAMETER_TABLES]
    with warehouse.connect() as con:
        replace_table_with_lineage(con, "marts.route_costs_dwelling_group", frame, rows)
    context.log.info(f"dwelling-group costs: {frame.height} group x route rows")
    return dg.MaterializeResult(metadata=cost_metadata(frame, rows, settings))


ASSETS = [route_costs_buurt, route_sensitivity_buurt, route_costs_dwelling_group]
