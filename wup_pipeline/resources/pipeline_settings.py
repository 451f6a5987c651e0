"""Run settings: which gemeente and year, where snapshots and outputs go, which endpoints to call."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from wup_pipeline.sources import cbs_kwb, pdok_wijkenbuurten


class PipelineSettings(dg.ConfigurableResource):
    gemeente_code: str = Field(description="CBS gemeente code, e.g. GM0014.", pattern=r"^GM\d{4}$")
    year: int = Field(description="Reference year of the yearly sources (CBS KWB, wijk- en buurtkaart).")
    snapshot_dir: str = Field(description="Root of the immutable snapshot store.")
    outputs_dir: str = Field(description="Where reports and exports are written.")
    cbs_odata_base_url: str = cbs_kwb.DEFAULT_BASE_URL
    pdok_base_url: str = pdok_wijkenbuurten.DEFAULT_BASE_URL
