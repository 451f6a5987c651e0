"""The routes off natural gas, with the codes of PBL's Startanalyse 2020 (strategieen.xlsx,
Technische toelichting Startanalyse 2020, table of variants).

A route says what happens in every building of the buurt: the target shell label (B or D; better
labels stay), the heating system, the fuel, whether low-temperature emitters are needed and
whether the gas grid goes. Heat-network routes also name the network temperature and the source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl


@dataclass(frozen=True)
class Route:
    strategy: str
    name: str
    family: str
    target_label: str | None  # None: no insulation (the reference)
    heating: str  # boiler | heat_pump_air | heat_pump_ground | hybrid | heat_network
    fuel: str  # natural_gas | green_gas | electricity | heat
    low_temperature_emitters: bool
    gas_grid_removed: bool
    network_temperature: str | None = None  # mt (70 C) | lt70 (LT source lifted to 70 C) | lt50
    heat_source: str | None = None  # residual_heat | geothermal | lt_residual | wko | teo_wko


REFERENCE = "reference"

ROUTES: tuple[Route, ...] = (
    Route(
        REFERENCE,
        "Referentie: HR-ketel op aardgas, geen maatregelen",
        "reference",
        None,
        "boiler",
        "natural_gas",
        False,
        False,
    ),
    Route("S1a", "Individuele luchtwarmtepomp, schillabel B", "S1", "B", "heat_pump_air", "electricity", True, True),
    Route("S1b", "Individuele bodemwarmtepomp, schillabel B", "S1", "B", "heat_pump_ground", "electricity", True, True),
    Route(
        "S2a",
        "MT-warmtenet op restwarmte, schillabel B",
        "S2",
        "B",
        "heat_network",
        "heat",
        False,
        True,
        "mt",
        "residual_heat",
    ),
    Route(
        "S2b",
        "MT-warmtenet op geothermie, schillabel B",
        "S2",
        "B",
        "heat_network",
        "heat",
        False,
        True,
        "mt",
        "geothermal",
    ),
    Route(
        "S2d",
        "MT-warmtenet op restwarmte, schillabel D",
        "S2",
        "D",
        "heat_network",
        "heat",
        False,
        True,
        "mt",
        "residual_heat",
    ),
    Route(
        "S2e",
        "MT-warmtenet op geothermie, schillabel D",
        "S2",
        "D",
        "heat_network",
        "heat",
        False,
        True,
        "mt",
        "geothermal",
    ),
    Route(
        "S3b",
        "LT-warmtebron 30 C, collectieve warmtepomp, levering 70 C, schillabel B",
        "S3",
        "B",
        "heat_network",
        "heat",
        False,
        True,
        "lt70",
        "lt_residual",
    ),
    Route(
        "S3c",
        "Buurt-WKO, collectieve warmtepomp, levering 70 C, schillabel B",
        "S3",
        "B",
        "heat_network",
        "heat",
        False,
        True,
        "lt70",
        "wko",
    ),
    Route(
        "S3d",
        "WKO, levering 50 C met boosterwarmtepomp voor tapwater, schillabel B",
        "S3",
        "B",
        "heat_network",
        "heat",
        True,
        True,
        "lt50",
        "wko",
    ),
    Route(
        "S3e",
        "TEO + WKO, collectieve warmtepomp, levering 70 C, schillabel B",
        "S3",
        "B",
        "heat_network",
        "heat",
        False,
        True,
        "lt70",
        "teo_wko",
    ),
    Route(
        "S3f",
        "LT-warmtebron 30 C, collectieve warmtepomp, levering 70 C, schillabel D",
        "S3",
        "D",
        "heat_network",
        "heat",
        False,
        True,
        "lt70",
        "lt_residual",
    ),
    Route(
        "S3g",
        "Buurt-WKO, collectieve warmtepomp, levering 70 C, schillabel D",
        "S3",
        "D",
        "heat_network",
        "heat",
        False,
        True,
        "lt70",
        "wko",
    ),
    Route(
        "S3h",
        "TEO + WKO, collectieve warmtepomp, levering 70 C, schillabel D",
        "S3",
        "D",
        "heat_network",
        "heat",
        False,
        True,
        "lt70",
        "teo_wko",
    ),
    Route("S4a", "Hybride warmtepomp op groen gas, schillabel B", "S4", "B", "hybrid", "green_gas", False, False),
    Route("S4b", "HR-ketel op groen gas, schillabel B", "S4", "B", "boiler", "green_gas", False, False),
    Route("S4c", "Hybride warmtepomp op groen gas, schillabel D", "S4", "D", "hybrid", "green_gas", False, False),
    Route("S4d", "HR-ketel op groen gas, schillabel D", "S4", "D", "boiler", "green_gas", False, False),
)
ROUTE_CODES = tuple(route.strategy for route in ROUTES)
# The routes the comparison with the Startanalyse measures against the aim.
BUILDING_ROUTES = ("S1a", "S1b", "S4a", "S4b", "S4c", "S4d")


def routes_frame(strategies: tuple[str, ...] | None = None) -> pl.DataFrame:
    """The routes as a frame (one row each), optionally only the given codes (reference always kept)."""
    chosen = [r for r in ROUTES if strategies is None or r.strategy in strategies or r.strategy == REFERENCE]
    frame = pl.DataFrame(
        [asdict(r) for r in chosen],
        schema={
            "strategy": pl.String,
            "name": pl.String,
            "family": pl.String,
            "target_label": pl.String,
            "heating": pl.String,
            "fuel": pl.String,
            "low_temperature_emitters": pl.Boolean,
            "gas_grid_removed": pl.Boolean,
            "network_temperature": pl.String,
            "heat_source": pl.String,
        },
    )
    return frame.rename({"name": "route_name"})
