"""Run settings: which area and year, where snapshots and outputs go, which endpoints and local files to read.

Every source has an API route and a local-files route. A local file set here wins over the API; a source with
neither (no file and no API for it) is loaded as an empty table and the factscan says it is missing.
``wup run --config area.yml`` reads these fields from YAML; docs/local-files.md documents them.
"""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

from wup_pipeline.sources import cbs_kwb, pdok_wijkenbuurten


class GridOperatorFile(dg.Config):
    """One small-consumer file of a grid operator (annual use per postcode range)."""

    path: str
    operator: str = Field(description="stedin, liander, enexis, ...; decides the expected layout.")
    year: int


class PipelineSettings(dg.ConfigurableResource):
    gemeente_code: str = Field(description="CBS gemeente code, e.g. GM0014.", pattern=r"^GM\d{4}$")
    year: int = Field(description="Reference year of the yearly sources (CBS KWB, energy, wijk- en buurtkaart).")
    heating_year: int = Field(default=2022, description="Year of the CBS heating-installation table (up to 2022).")
    snapshot_dir: str = Field(description="Root of the immutable snapshot store.")
    outputs_dir: str = Field(description="Where reports and exports are written.")
    cbs_odata_base_url: str = cbs_kwb.DEFAULT_BASE_URL
    pdok_base_url: str = pdok_wijkenbuurten.DEFAULT_BASE_URL
    bag_base_url: str = "https://api.pdok.nl"
    ep_online_base_url: str = "https://public.ep-online.nl"

    # Local-files routes (None: use the API, where there is one).
    buurten_file: str | None = Field(
        default=None, description="GeoJSON/GeoPackage of buurt polygons with PDOK wijken-en-buurten attributes."
    )
    kwb_route: Literal["cbs_odata", "buurten_file_attributes"] = Field(
        default="cbs_odata",
        description="Where the Kerncijfers come from: CBS OData, or the KWB attributes in buurten_file.",
    )
    bag_verblijfsobjecten_file: str | None = Field(default=None, description="BAG extract: verblijfsobjecten CSV/GPKG.")
    bag_panden_file: str | None = Field(default=None, description="BAG extract: panden CSV/GPKG.")
    bag_column_map: str | None = Field(default=None, description="YAML column mapping for a custom BAG CSV layout.")
    label_bulk_file: str | None = Field(default=None, description="EP-Online bulk label file (zip or CSV).")
    label_reference_date: str | None = Field(
        default=None, description="ISO date deciding which labels are valid (default: today)."
    )
    cbs_energy: bool = Field(default=True, description="Fetch CBS energy use and heating installations per buurt.")
    kleinverbruik_files: list[GridOperatorFile] = Field(default_factory=list)
    corporation_portfolio_file: str | None = None
    infra_segments_file: str | None = None
    infra_buurt_file: str | None = None
    initiatives_file: str | None = None
    participation_survey_file: str | None = None
    participation_contacts_file: str | None = None
    privacy_k: int = Field(
        default=10, description="Aggregates over fewer than k dwellings or households are suppressed in outputs."
    )
    priority_weights: dict[str, float] = Field(
        default_factory=dict, description="Weights of the overview's priority criteria, by name; docs/outputs.md."
    )
    publish_address_level: bool = Field(
        default=False, description="Publish dwellings (public BAG attributes and registered labels only) in outputs."
    )
    cost_parameters: Literal["default", "startanalyse-2020"] = Field(
        default="default", description="Parameter set of the cost model (docs/cost-model.md)."
    )
    cost_year: int = Field(default=2030, description="Year whose prices and costs the cost model uses.")
