"""The one place where the Dagster Definitions are assembled."""

from __future__ import annotations

import os

import dagster as dg

from wup_pipeline.assets import outputs, raw
from wup_pipeline.assets.sql_models import sql_model_assets
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.settings import ProjectPaths, project_paths, sql_models_dir
from wup_pipeline.resources.warehouse import Warehouse

DEMO_GEMEENTE = "GM9999"
DEMO_YEAR = 2024

all_assets_job = dg.define_asset_job(
    "wup_all", selection=dg.AssetSelection.all(), description="Every source, model and output."
)


def default_resources(
    paths: ProjectPaths, mirror_dir: str | None, gemeente_code: str | None, year: int | None
) -> dict:
    return {
        "http": HttpClient(mirror_dir=mirror_dir),
        "warehouse": Warehouse(
            build_path=str(paths.build_warehouse), published_path=str(paths.published_warehouse)
        ),
        "settings": PipelineSettings(
            gemeente_code=gemeente_code or os.environ.get("WUP_GEMEENTE", DEMO_GEMEENTE),
            year=year or int(os.environ.get("WUP_YEAR", DEMO_YEAR)),
            snapshot_dir=str(paths.snapshots),
            outputs_dir=str(paths.outputs),
        ),
    }


def build_definitions(
    paths: ProjectPaths | None = None,
    mirror_dir: str | None = None,
    gemeente_code: str | None = None,
    year: int | None = None,
) -> dg.Definitions:
    """Definitions for one gemeente and year (defaults: WUP_GEMEENTE / WUP_YEAR, else the demo)."""
    paths = paths or project_paths()
    return dg.Definitions(
        assets=[
            raw.cbs_kwb_raw,
            raw.pdok_buurten_raw,
            *sql_model_assets(sql_models_dir()),
            outputs.factscan_html,
            outputs.published_warehouse,
        ],
        jobs=[all_assets_job],
        resources=default_resources(
            paths, mirror_dir or os.environ.get("WUP_SOURCE_MIRROR"), gemeente_code, year
        ),
        # Every asset writes the same DuckDB file: one process, one writer.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by `dagster dev -w workspace.yaml` (lazily, not at import)."""
    return build_definitions()
