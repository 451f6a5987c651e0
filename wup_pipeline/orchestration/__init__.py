"""Orchestration: gemeente and year partitions, schedules, source sensors and declarative automation.

``orchestration_definitions()`` gives the schedules, sensors and jobs for ``definitions.build_definitions``.
Nothing here touches the network or a database at import; the sensors ask their sources when they are evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence


def orchestration_definitions(gemeenten: Sequence[str] | str | None = None, partitioned: bool = True) -> dict:
    """``{"schedules": [...], "sensors": [...], "jobs": [...]}`` to merge into the Definitions.

    ``gemeenten``: the gemeente partitions runs are requested for: None = ``PipelineSettings.gemeente_code`` at
    evaluation time, ``"all"`` = every CBS gemeente (one single-run backfill), or a list of codes.
    ``partitioned``: whether the raw assets are partitioned by gemeente (then requests carry a partition key or
    key range; otherwise they carry none).
    """
    from wup_pipeline.orchestration.schedules import refresh_jobs, source_schedules
    from wup_pipeline.orchestration.sensors import source_sensors

    return {
        "schedules": source_schedules(gemeenten, partitioned),
        "sensors": source_sensors(gemeenten, partitioned),
        "jobs": refresh_jobs(),
    }
