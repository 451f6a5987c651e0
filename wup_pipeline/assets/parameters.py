"""Parameter tables (kentallen) in the warehouse, so every figure can join the rows it used."""

import hashlib

import dagster as dg

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.parameters import CITATIONS, load_parameters, table_files
from wup_pipeline.resources.warehouse import Warehouse

PARAMETER_TABLES = ("build_year_classes", "dwelling_type_classes", "label_distribution", "heat_demand_dwellings",
                    "costs_general", "costs_building_kentallen", "costs_building_stock")


def parameter_asset(name: str) -> dg.AssetsDefinition:
    files = table_files(name)
    file_hash = files.get(f"{name}.csv")
    version = file_hash
    if len(files) > 1:  # a table that cites by id also changes when its citations do
        version = hashlib.sha256("".join(f"{n}\0{h}\n" for n, h in sorted(files.items())).encode()).hexdigest()

    @dg.asset(
        key=["raw", f"param_{name}"],
        group_name="parameters",
        kinds={"duckdb", "csv"},
        pool=WAREHOUSE_POOL,
        code_version=version[:16] if file_hash else None,
        description=f"Parameter table {name}.csv (wup_pipeline/parameters): one value per row with unit and "
        f"published source{' (joined from ' + CITATIONS + ')' if CITATIONS in files else ''}.",
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
            **({"citations_file_sha256": files[CITATIONS]} if CITATIONS in files else {}),
        })

    return _asset


def parameter_assets() -> list[dg.AssetsDefinition]:
    return [parameter_asset(name) for name in PARAMETER_TABLES]
