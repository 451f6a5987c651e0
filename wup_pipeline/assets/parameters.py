"""Parameter tables (kentallen) in the warehouse, so every figure can join the rows it used."""

import dagster as dg

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.parameters import load_parameters, parameter_files
from wup_pipeline.resources.warehouse import Warehouse

PARAMETER_TABLES = ("build_year_classes", "dwelling_type_classes", "label_distribution", "heat_demand_dwellings",
                    "costs_general", "costs_building_kentallen", "costs_building_stock")


def parameter_asset(name: str) -> dg.AssetsDefinition:
    file_hash = parameter_files().get(f"{name}.csv")

    @dg.asset(
        key=["raw", f"param_{name}"],
        group_name="parameters",
        kinds={"duckdb", "csv"},
        pool=WAREHOUSE_POOL,
        code_version=file_hash[:16] if file_hash else None,
        description=f"Parameter table {name}.csv (wup_pipeline/parameters): one value per row with unit and "
        "published source.",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        frame = load_parameters(name)
        with warehouse.connect() as con:
            con.register("_incoming", frame.to_arrow())
            con.execute(f"create or replace table raw.param_{name} as select * from _incoming")
            con.unregister("_incoming")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": frame.height,
            "dagster/table_name": f"raw.param_{name}",
            "parameter_file_sha256": file_hash or "",
        })

    return _asset


def parameter_assets() -> list[dg.AssetsDefinition]:
    return [parameter_asset(name) for name in PARAMETER_TABLES]
