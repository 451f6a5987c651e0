"""Schedules: monthly for the BAG and energy labels, yearly for the CBS tables and buurt boundaries.

Each schedule runs a job over the sources AND everything downstream of them, so one run refreshes the chain and
publishes once (assets downstream that the run already covered are not requested again by automation:
``eager`` ignores updates made by a run that targeted them). Sensors (``sensors.py``) start runs sooner when a
source says it changed; the schedules are the backstop for sources that cannot say so (the EP-Online
per-address API) and for a missed sensor tick.

Times (Europe/Amsterdam):
* ``monthly_bag_labels``: 03:00 on the 10th. Kadaster's LV BAG extract and RVO's EP-Online bulk file are monthly
  products released in the first days of a month; the 10th leaves margin (a choice, not a published date).
* ``yearly_cbs``: 03:00 on 1 October. CBS publishes energy use per region "in the third quarter of the year
  after the reporting year" (81528NED table description, 2025); the Kerncijfers of a year appear in stages
  during that year (85984NED TableInfos Modified 2025-03-27 for 2024). The cbs_tables_sensor catches the
  other releases as they come.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from wup_pipeline.orchestration.sensors import (
    BAG_KEYS,
    BUURTEN_KEY,
    ENERGY_KEY,
    HEATING_KEY,
    KWB_KEY,
    LABELS_KEY,
    run_requests,
)
from wup_pipeline.resources.pipeline_settings import PipelineSettings

TIMEZONE = "Europe/Amsterdam"
MONTHLY_CRON = "0 3 10 * *"
YEARLY_CRON = "0 3 1 10 *"

MONTHLY_SOURCES = (*BAG_KEYS, LABELS_KEY)
YEARLY_SOURCES = (KWB_KEY, ENERGY_KEY, HEATING_KEY, BUURTEN_KEY)


def refresh_selection(sources: Sequence[dg.AssetKey]) -> dg.AssetSelection:
    """The sources and everything downstream of them (models, outputs, the publish step)."""
    return dg.AssetSelection.assets(*sources).downstream()


def refresh_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        dg.define_asset_job("refresh_bag_labels", selection=refresh_selection(MONTHLY_SOURCES),
                            description="BAG and energy labels, and everything downstream of them."),
        dg.define_asset_job("refresh_cbs", selection=refresh_selection(YEARLY_SOURCES),
                            description="CBS Kerncijfers, energy and heating tables and the buurt boundaries, "
                            "and everything downstream of them."),
    ]


def _schedule(name: str, cron: str, job_name: str, gemeenten, partitioned: bool,
              description: str) -> dg.ScheduleDefinition:
    @dg.schedule(name=name, cron_schedule=cron, job_name=job_name, execution_timezone=TIMEZONE,
                 description=description)
    def _run(context: dg.ScheduleEvaluationContext, settings: PipelineSettings):
        stamp = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return run_requests([], f"{name}@{stamp}", gemeenten, settings, partitioned)

    return _run


def source_schedules(gemeenten: Sequence[str] | str | None = None, partitioned: bool = True) -> list:
    # RunRequests without asset_selection: the job's whole selection runs.
    return [
        _schedule("monthly_bag_labels", MONTHLY_CRON, "refresh_bag_labels", gemeenten, partitioned,
                  "Monthly: BAG verblijfsobjecten and panden, energy labels, and everything downstream."),
        _schedule("yearly_cbs", YEARLY_CRON, "refresh_cbs", gemeenten, partitioned,
                  "Yearly: CBS Kerncijfers, energy and heating tables, buurt boundaries, and everything downstream."),
    ]
