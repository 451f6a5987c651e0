"""The one place where the Dagster Definitions are assembled."""

from __future__ import annotations

import os

import dagster as dg

from wup_pipeline.assets import cost_model, housing_model, outputs, raw, raw_energy, raw_housing, raw_municipal
from wup_pipeline.assets.parameters import parameter_assets
from wup_pipeline.assets.sql_models import sql_model_assets
from wup_pipeline.checks.dagster_checks import suite_checks_for
from wup_pipeline.orchestration import orchestration_definitions
from wup_pipeline.orchestration.automation import apply_automation
from wup_pipeline.orchestration.partitions import gemeente_codes, partitioned_by_gemeente
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.settings import ProjectPaths, project_paths, sql_models_dir
from wup_pipeline.resources.warehouse import Warehouse

DEMO_GEMEENTE = "GM9999"
DEMO_YEAR = 2024

BACKFILL_JOB = "wup_backfill"


def all_assets_jobs(gemeente_code: str) -> list[dg.UnresolvedAssetJobDefinition]:
    """``wup_all`` for the configured gemeente (its partition by default), ``wup_backfill`` for any partition key or
    key range given at launch (one set-based run for many gemeenten)."""
    default = {"dagster/partition": gemeente_code} if gemeente_code in gemeente_codes() else {}
    return [
        dg.define_asset_job("wup_all", selection=dg.AssetSelection.all(), tags=default,
                            description=f"Every source, model and output, for {gemeente_code}."),
        dg.define_asset_job(BACKFILL_JOB, selection=dg.AssetSelection.all(),
                            description="Every source, model and output for the gemeente partitions given at launch "
                            "(a key or a key range: one run)."),
    ]


def gemeente_partitioned_assets() -> list[dg.AssetsDefinition]:
    """The sources fetched per gemeente; the municipality's own files and the parameters are not partitioned."""
    return [partitioned_by_gemeente(asset) for asset in (
        raw.pdok_buurten_raw, raw.cbs_kwb_raw, raw_housing.bag_raw, raw_housing.energy_labels_raw,
        raw_energy.cbs_energie_buurt_raw, raw_energy.cbs_heating_buurt_raw)]


def default_resources(paths: ProjectPaths, mirror_dir: str | None, settings: dict) -> dict:
    settings = {
        "gemeente_code": os.environ.get("WUP_GEMEENTE", DEMO_GEMEENTE),
        "year": int(os.environ.get("WUP_YEAR", DEMO_YEAR)),
        "snapshot_dir": str(paths.snapshots),
        "outputs_dir": str(paths.outputs),
        **{key: value for key, value in settings.items() if value is not None},
    }
    api_key = dg.EnvVar("EP_ONLINE_API_KEY") if os.environ.get("EP_ONLINE_API_KEY") else None
    return {
        "http": HttpClient(mirror_dir=mirror_dir),
        "warehouse": Warehouse(
            build_path=str(paths.build_warehouse), published_path=str(paths.published_warehouse)
        ),
        "settings": PipelineSettings(**settings),
        "ep_online_api": raw_housing.EpOnlineApi(api_key=api_key),
    }


def build_definitions(
    paths: ProjectPaths | None = None,
    mirror_dir: str | None = None,
    gemeente_code: str | None = None,
    year: int | None = None,
    settings: dict | None = None,
) -> dg.Definitions:
    """Definitions for one area and year.

    Defaults: WUP_GEMEENTE / WUP_YEAR, else the demo; ``settings`` sets any other ``PipelineSettings`` field
    (local files, endpoints), as ``wup run --config`` does.
    """
    paths = paths or project_paths()
    settings = {**(settings or {}), "gemeente_code": gemeente_code, "year": year}
    partitioned = gemeente_partitioned_assets()
    unpartitioned_raw = [a for a in (*raw_housing.ASSETS, *raw_energy.ASSETS, *raw_municipal.ASSETS)
                         if not any(a.keys & p.keys for p in partitioned)]
    assets = [
        *partitioned,
        *unpartitioned_raw,
        *parameter_assets(),
        *sql_model_assets(sql_models_dir()),
        *housing_model.ASSETS,
        *cost_model.ASSETS,
        *outputs.ASSETS,
    ]
    upstream = [key for asset in assets for key in asset.keys]
    # Schedules, source sensors and refresh jobs over the gemeente partitions.
    orchestration = orchestration_definitions(partitioned=True)
    resources = default_resources(paths, mirror_dir or os.environ.get("WUP_SOURCE_MIRROR"), settings)
    return dg.Definitions(
        # Models follow their sources declaratively (AutomationCondition), with freshness policies.
        assets=apply_automation([*assets, outputs.published_warehouse_asset(upstream)]),
        # Great Expectations suites as asset checks: ERROR rules block downstream, WARN rules annotate.
        asset_checks=suite_checks_for(upstream),
        jobs=[*all_assets_jobs(resources["settings"].gemeente_code), *orchestration["jobs"]],
        schedules=orchestration["schedules"],
        sensors=orchestration["sensors"],
        resources=resources,
        # Every asset writes the same DuckDB file: one process, one writer.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by `dagster dev -w workspace.yaml` (lazily, not at import)."""
    return build_definitions()
