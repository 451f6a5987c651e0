"""One Dagster asset per SQL file in dbt_like_sql; dependencies come from the SQL itself."""


from pathlib import Path

import dagster as dg

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.lineage.sql_models import BuiltModel, SqlModel, build_model, discover_models
from wup_pipeline.resources.warehouse import Warehouse


def column_metadata(model: SqlModel, built: BuiltModel) -> dict:
    deps_by_column: dict[str, list[dg.TableColumnDep]] = {}
    for row in built.lineage:
        schema, table = row.source_table.split(".")
        dep = dg.TableColumnDep(asset_key=dg.AssetKey([schema, table]), column_name=row.source_column)
        deps = deps_by_column.setdefault(row.column, [])
        if dep not in deps:  # one source column can reach an output by two paths
            deps.append(dep)
    return {
        "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps_by_column),
        "dagster/row_count": built.row_count,
        "dagster/table_name": model.table,
        "sql_file": dg.MetadataValue.path(str(model.path)),
        "sql": dg.MetadataValue.md(f"```sql\n{model.sql}\n```"),
    }


def column_schema(model: SqlModel) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=c.name, type=c.unit or "", description=c.description) for c in model.columns
        ]
    )


def sql_model_asset(model: SqlModel) -> dg.AssetsDefinition:
    @dg.asset(
        key=[model.layer, model.name],
        deps=[dg.AssetKey(list(table)) for table in model.inputs],
        group_name=model.layer,
        kinds={"duckdb", "sql"},
        code_version=model.code_version,
        description=model.description,
        pool=WAREHOUSE_POOL,
        metadata={"dagster/column_schema": column_schema(model), "dagster/table_name": model.table},
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            built = build_model(con, model)
        context.log.info(f"{model.table}: {built.row_count} rows")
        return dg.MaterializeResult(metadata=column_metadata(model, built))

    return _asset


def sql_model_assets(models_dir: Path) -> list[dg.AssetsDefinition]:
    return [sql_model_asset(model) for model in discover_models(models_dir)]
