"""The whole SYNTHETIC demo area: source payloads in a URL mirror, plus the local files a gemeente keeps.

``write_demo_area(root)`` writes
* ``root/mirror``: CBS (KWB, energy per buurt, heating installations), PDOK buurten and BAG pages, exactly as
  the connectors request them;
* ``root/files``: what has no API: the EP-Online bulk label file, the grid operators' small-consumer files,
  the housing corporation's portfolio and the municipality's infrastructure, initiative and participation
  files.
``DemoArea.settings`` are the ``PipelineSettings`` fields that point the pipeline at these files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wup_pipeline.demo.addresses import demo_buildings
from wup_pipeline.demo.bag_payloads import write_bag_payloads
from wup_pipeline.demo.energy_payloads import write_energy_payloads, write_kleinverbruik_files
from wup_pipeline.demo.generator import DEMO_YEAR, DemoSummary, write_demo_mirror
from wup_pipeline.demo.label_payloads import write_label_bulk
from wup_pipeline.demo.municipal_payloads import write_municipal_files
from wup_pipeline.demo.population import demo_population
from wup_pipeline.sources.cbs_energie import HEATING_TABLES

DEMO_HEATING_YEAR = max(HEATING_TABLES)  # the heating table write_energy_payloads writes


@dataclass(frozen=True)
class DemoArea:
    root: Path
    summary: DemoSummary
    settings: dict = field(default_factory=dict)  # PipelineSettings fields for the local files
    files: int = 0


def write_demo_area(root: Path, seed: int = 2026, year: int = DEMO_YEAR) -> DemoArea:
    root = Path(root)
    mirror, files = root / "mirror", root / "files"
    summary = write_demo_mirror(mirror, seed=seed, year=year)
    population = demo_population(seed)
    buildings = demo_buildings(population)
    written = summary.files
    written += write_bag_payloads(mirror, population, buildings=buildings)
    written += len(write_energy_payloads(mirror, population, year))  # and the newest heating table
    labels = write_label_bulk(files / "ep_online", population, buildings)
    grid = write_kleinverbruik_files(files / "kleinverbruik", population, buildings[0], year)
    municipal = write_municipal_files(files / "municipal", population)
    written += 1 + len(grid) + len(municipal)
    settings = {
        "label_bulk_file": str(labels),
        "kleinverbruik_files": [
            {"path": str(p), "operator": p.name.split("_")[0], "year": year} for p in grid
        ],
        "heating_year": DEMO_HEATING_YEAR,
        "corporation_portfolio_file": str(municipal["corporation_portfolio"]),
        "infra_segments_file": str(municipal["infra_segments"]),
        "infra_buurt_file": str(municipal["infra_buurt"]),
        "initiatives_file": str(municipal["initiatives"]),
        "participation_survey_file": str(municipal["survey"]),
        "participation_contacts_file": str(municipal["contacts"]),
    }
    return DemoArea(root=root, summary=summary, settings=settings, files=written)
