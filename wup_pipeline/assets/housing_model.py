"""intermediate.int_dwellings: the housing model's estimates, in Polars (model/housing.py), over SQL inputs.

Label and owner estimation are clearer in Python than in SQL, so this one intermediate table is built
by a Python asset. Its column lineage is declared here (what each column is computed from) and written to
Dagster metadata and audit.column_lineage like the SQL models' lineage.
"""

import dagster as dg
import polars as pl

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.lineage.sql_models import LineageRow
from wup_pipeline.model import adjacency, housing
from wup_pipeline.resources.warehouse import Warehouse

TABLE = "intermediate.int_dwellings"
INPUTS = "intermediate.int_dwelling_inputs"
KWB = "staging.stg_cbs__kwb"

# column: (description, unit, [(source table, source column)], how)
COLUMNS: dict[str, tuple[str, str, list[tuple[str, str]], str]] = {
    "vbo_id": ("BAG verblijfsobject id.", "id", [(INPUTS, "vbo_id")], "copied"),
    "pand_id": ("BAG pand id.", "id", [(INPUTS, "pand_id")], "copied"),
    "buurt_code": ("Buurt the dwelling lies in.", "code", [(INPUTS, "buurt_code")], "copied"),
    "buurt_source": ("How the buurt was found.", "category", [(INPUTS, "buurt_source")], "copied"),
    "postcode": ("Postcode.", "code", [(INPUTS, "postcode")], "copied"),
    "house_number": ("House number.", "number", [(INPUTS, "house_number")], "copied"),
    "house_letter": ("House letter.", "code", [(INPUTS, "house_letter")], "copied"),
    "house_number_addition": ("House number addition.", "code", [(INPUTS, "house_number_addition")], "copied"),
    "build_year": ("Original build year of the pand.", "year", [(INPUTS, "build_year")], "copied"),
    "build_year_class": (
        "Vesta build-year class; null for unknown years (<= 1000).", "category",
        [(INPUTS, "build_year"), ("raw.param_build_year_classes", "year_min"),
         ("raw.param_build_year_classes", "year_max")], "housing.build_year_class"),
    "floor_area_m2": ("Usable floor area.", "m2", [(INPUTS, "floor_area_m2")], "copied"),
    "dwelling_type": ("apartment, terraced, corner, semi_detached or detached.", "category",
                      [(INPUTS, "dwelling_type")], "copied"),
    "dwelling_type_class": ("Dwelling type with apartments split by height (Vesta types).", "category",
                            [(INPUTS, "dwelling_type_class")], "copied"),
    "dwelling_type_method": ("How the type was derived.", "category", [(INPUTS, "dwelling_type_method")], "copied"),
    "energy_label": (
        "Registered label, else the estimated label class.", "label",
        [(INPUTS, "registered_label"), (INPUTS, "vbo_id"), (INPUTS, "dwelling_type_class"),
         ("raw.param_label_distribution", "value")], "housing.estimate_labels"),
    "label_class": ("Label class A..G.", "label", [(INPUTS, "registered_label"),
                                                   ("raw.param_label_distribution", "value")],
                    "housing.estimate_labels"),
    "label_source": ("registered, estimated or none.", "category", [(INPUTS, "registered_label")],
                     "housing.estimate_labels"),
    "label_date": ("Registration date of a registered label.", "date", [(INPUTS, "registered_label_date")],
                   "housing.estimate_labels"),
    "label_method": ("How the label was found, with the distribution used.", "text",
                     [("raw.param_label_distribution", "method")], "housing.estimate_labels"),
    "owner_type": (
        "owner_occupied, private_rent or corporation.", "category",
        [(INPUTS, "in_corporation_portfolio"), (INPUTS, "vbo_id"), (KWB, "pct_owner_occupied"),
         (KWB, "pct_corporation"), (KWB, "pct_private_rent")], "housing.estimate_owner_types"),
    "owner_source": ("corporation_portfolio, estimated_from_buurt_shares or none.", "category",
                     [(INPUTS, "in_corporation_portfolio")], "housing.estimate_owner_types"),
    "owner_method": ("How the owner type was found, with the shares used.", "text",
                     [(KWB, "pct_owner_occupied")], "housing.estimate_owner_types"),
    "heat_demand_space_gj": (
        "Space-heating demand (functional, Vesta).", "GJ per year",
        [(INPUTS, "floor_area_m2"), (INPUTS, "dwelling_type_class"), ("raw.param_heat_demand_dwellings", "value")],
        "housing.heat_demand_gj"),
    "heat_demand_hot_water_gj": ("Hot-water demand (functional, Vesta).", "GJ per year",
                                 [(INPUTS, "floor_area_m2"), ("raw.param_heat_demand_dwellings", "value")],
                                 "housing.heat_demand_gj"),
    "heat_demand_gj": ("Space heating plus hot water.", "GJ per year",
                       [(INPUTS, "floor_area_m2"), ("raw.param_heat_demand_dwellings", "value")],
                       "housing.heat_demand_gj"),
    "heat_demand_params": ("The parameter rows and values used for the heat demand.", "text",
                           [("raw.param_heat_demand_dwellings", "name")], "housing.heat_demand_gj"),
    "in_corporation_portfolio": ("Listed by a housing corporation.", "boolean",
                                 [(INPUTS, "in_corporation_portfolio")], "copied"),
    "corporation": ("That corporation.", "name", [(INPUTS, "corporation")], "copied"),
    "planned_renovation_year": ("Renovation year the corporation plans.", "year",
                                [(INPUTS, "planned_renovation_year")], "copied"),
    "planned_measure": ("Measure the corporation plans.", "category", [(INPUTS, "planned_measure")], "copied"),
}


def build_dwellings(inputs: pl.DataFrame, kwb_buurten: pl.DataFrame, params: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Apply the housing model (pure; no Dagster, no database)."""
    frame = inputs.with_columns(housing.build_year_class(pl.col("build_year"), params["build_year_classes"]))
    frame = housing.estimate_labels(frame, params["label_distribution"])
    frame = housing.estimate_owner_types(frame, kwb_buurten)
    frame = housing.heat_demand_gj(frame, params["heat_demand_dwellings"],
                                   type_classes=params["dwelling_type_classes"])
    return frame.rename({"energy_label_class": "label_class"}).select(list(COLUMNS))


def replace_table_with_lineage(con, table: str, frame: pl.DataFrame, rows: list[LineageRow]) -> None:
    """Replace a table built in Python and its column lineage rows, in one transaction."""
    con.execute("begin transaction")
    try:
        con.register("_incoming", frame.to_arrow())
        con.execute(f"create or replace table {table} as select * from _incoming")
        con.unregister("_incoming")
        con.execute("delete from audit.column_lineage where model = ?", [table])
        con.executemany("insert into audit.column_lineage values (?, ?, ?, ?, ?, ?)",
                        [(r.model, r.column, r.source_table, r.source_column, r.expression, "python") for r in rows])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def lineage_rows() -> list[LineageRow]:
    return [
        LineageRow(TABLE, column, table, source_column, how)
        for column, (_, _, sources, how) in COLUMNS.items()
        for table, source_column in sources
    ]


@dg.asset(
    key=["intermediate", "int_dwellings"],
    deps=[dg.AssetKey(["intermediate", "int_dwelling_inputs"]), dg.AssetKey(["staging", "stg_cbs__kwb"]),
          *[dg.AssetKey(["raw", f"param_{n}"]) for n in
            ("build_year_classes", "label_distribution", "heat_demand_dwellings", "dwelling_type_classes")]],
    group_name="intermediate",
    kinds={"duckdb", "polars"},
    pool=WAREHOUSE_POOL,
    description="One row per residential verblijfsobject in use: build year, floor area, dwelling type, energy "
    "label (registered, or estimated from build year x type), owner type (corporation portfolio, or estimated "
    "from the buurt's KWB shares) and heat demand; method in docs/housing-model.md.",
    metadata={"dagster/table_name": TABLE, "dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(name, type=unit, description=description)
        for name, (description, unit, _, _) in COLUMNS.items()])},
)
def int_dwellings(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        inputs = con.execute(f"select * from {INPUTS} order by vbo_id").pl()
        kwb = con.execute(
            f"select region_code as buurt_code, pct_owner_occupied, pct_corporation, pct_private_rent from {KWB} "
            "where region_type = 'buurt'").pl()
        params = {name: con.execute(f"select * from raw.param_{name}").pl() for name in
                  ("build_year_classes", "label_distribution", "heat_demand_dwellings", "dwelling_type_classes")}
    dwellings = build_dwellings(inputs, kwb, params)
    rows = lineage_rows()
    with warehouse.connect() as con:
        replace_table_with_lineage(con, TABLE, dwellings, rows)
    counts = dwellings.group_by("label_source").len().to_dicts()
    context.log.info(f"{TABLE}: {dwellings.height} dwellings; labels {counts}")
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for row in rows:
        deps.setdefault(row.column, []).append(
            dg.TableColumnDep(asset_key=dg.AssetKey(row.source_table.split(".")), column_name=row.source_column))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dwellings.height,
        "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
        "label_sources": dg.MetadataValue.json(counts),
        "owner_sources": dg.MetadataValue.json(dwellings.group_by("owner_source").len().to_dicts()),
    })


@dg.asset(
    key=["intermediate", "int_pand_neighbours"],
    deps=[dg.AssetKey(["staging", "stg_bag__panden"])],
    group_name="intermediate",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Pairs of BAG panden whose footprints lie within 0.4 m of each other (touching, as PBL Vesta "
    "counts neighbours), both directions; computed with a shapely STRtree.",
    metadata={"dagster/table_name": "intermediate.int_pand_neighbours", "dagster/column_schema": dg.TableSchema(
        columns=[dg.TableColumn("pand_id", "id", description="BAG pand id."),
                 dg.TableColumn("neighbour_id", "id", description="A touching pand's id.")])},
)
def int_pand_neighbours(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        panden = con.execute("select pand_id, st_aswkb(geometry) as wkb from staging.stg_bag__panden").pl()
    pairs = adjacency.touching_pairs(panden["pand_id"], panden["wkb"])
    rows = [LineageRow("intermediate.int_pand_neighbours", column, "staging.stg_bag__panden", source,
                       "adjacency.touching_pairs") for column, source in
            (("pand_id", "pand_id"), ("pand_id", "geometry"), ("neighbour_id", "pand_id"),
             ("neighbour_id", "geometry"))]
    with warehouse.connect() as con:
        replace_table_with_lineage(con, "intermediate.int_pand_neighbours", pairs, rows)
    context.log.info(f"{pairs.height // 2} touching pairs among {panden.height} panden")
    return dg.MaterializeResult(metadata={"dagster/row_count": pairs.height})


ASSETS = [int_pand_neighbours, int_dwellings]
