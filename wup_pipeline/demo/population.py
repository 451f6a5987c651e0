"""The ground truth of the SYNTHETIC demo municipality: every dwelling, every buurt, every boundary.

``demo_population(seed)`` draws it with ``numpy.random.default_rng(seed)``; the same seed gives the
same population bit for bit. Calibration sources and design choices are in
``wup_pipeline.demo.calibration``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import shapely
from shapely.geometry import MultiPolygon, Polygon

from wup_pipeline.demo import calibration as cal

DEMO_GEMEENTE = "GM9999"
DEMO_GEMEENTE_NAME = "Demodorp (synthetisch)"


@dataclass(frozen=True, eq=False)
class DemoPopulation:
    """What the demo payloads are aggregated from, so tests can compare the pipeline with the truth.

    ``dwellings``: one row per dwelling (dwelling_id, buurt_code, wijk_code, build_year, dwelling_type,
    floor_area_m2, owner_type, woz_eur, heating, occupied, household_size, gas_m3, electricity_kwh).
    ``buurten``: one row per buurt (codes, names, kind, n_dwellings, households, inhabitants,
    income_per_inhabitant_eur, pct_low_income_households, area_m2, area_ha); counts unrounded.
    ``geometries``: buurt code -> MultiPolygon in EPSG:28992 (coordinates as written to the payloads).
    """

    seed: int
    gemeente_code: str
    gemeente_name: str
    wijken: pl.DataFrame
    buurten: pl.DataFrame
    dwellings: pl.DataFrame
    geometries: dict[str, MultiPolygon] = field(repr=False)


def buurt_code(spec: cal.BuurtSpec, gemeente_code: str = DEMO_GEMEENTE) -> str:
    return "BU" + gemeente_code.removeprefix("GM") + spec.code


def wijk_code(spec: cal.BuurtSpec, gemeente_code: str = DEMO_GEMEENTE) -> str:
    return "WK" + gemeente_code.removeprefix("GM") + spec.code[:2]


def _classes(values: np.ndarray, bounds: tuple[tuple[int, float], ...]) -> np.ndarray:
    """Factor of the first (upper bound, factor) class a value falls in."""
    uppers = np.array([b for b, _ in bounds])
    factors = np.array([f for _, f in bounds])
    return factors[np.searchsorted(uppers, values, side="left")]


def _draw_buurt(rng: np.random.Generator, spec: cal.BuurtSpec) -> dict[str, np.ndarray]:
    n = spec.n_dwellings
    ranges = np.array([(a, b) for a, b, _ in spec.build_years])
    weights = np.array([w for _, _, w in spec.build_years])
    which = rng.choice(len(ranges), size=n, p=weights / weights.sum())
    build_year = rng.integers(ranges[which, 0], ranges[which, 1] + 1)

    type_p = np.array(spec.types) / sum(spec.types)
    type_index = rng.choice(len(cal.DWELLING_TYPES), size=n, p=type_p)
    dwelling_type = np.array(cal.DWELLING_TYPES)[type_index]

    # Ownership: the buurt mix, tilted per dwelling type (detached houses are rarely rented).
    affinity = np.array([cal.OWNER_AFFINITY[t] for t in cal.DWELLING_TYPES]) * np.array(spec.owners)
    affinity = affinity / affinity.sum(axis=1, keepdims=True)
    cumulative = affinity[type_index].cumsum(axis=1)
    owner_index = (rng.random(n)[:, None] > cumulative).sum(axis=1).clip(0, len(cal.OWNER_TYPES) - 1)
    owner_type = np.array(cal.OWNER_TYPES)[owner_index]

    mean_area = np.array([cal.FLOOR_AREA_M2[t] for t in cal.DWELLING_TYPES])[type_index]
    small_old_flat = (dwelling_type == "apartment") & (build_year < 1945)
    floor_area = mean_area * np.where(small_old_flat, 0.85, 1.0) * rng.lognormal(-0.02, 0.2, n)
    floor_area = np.maximum(np.rint(floor_area), 25).astype(np.int64)

    occupied = rng.random(n) >= spec.unoccupied
    household_size = np.where(occupied, 1 + rng.poisson(spec.household_size - 1, n), 0)

    new_all_electric = build_year >= cal.NO_GAS_CONNECTION_FROM_YEAR
    on_district_heating = (rng.random(n) < spec.district_heating) & ~new_all_electric
    heating = np.where(new_all_electric, "heat_pump", np.where(on_district_heating, "district_heating",
                                                               "gas_boiler"))

    gas_base = np.array([cal.NATIONAL_GAS_M3[t] for t in cal.DWELLING_TYPES])[type_index]
    gas = (gas_base * _classes(build_year, cal.GAS_AGE_FACTORS) * (floor_area / mean_area) ** 0.6
           * rng.lognormal(-0.03, 0.25, n) * np.where(occupied, 1.0, 0.3))
    gas = np.where(heating == "gas_boiler", np.rint(gas), 0).astype(np.int64)

    electricity_base = np.array([cal.NATIONAL_ELECTRICITY_KWH[t] for t in cal.DWELLING_TYPES])[type_index]
    people = np.maximum(household_size, 1) / cal.NATIONAL_HOUSEHOLD_SIZE
    electricity = (electricity_base * people**0.3 * rng.lognormal(-0.02, 0.2, n)
                   + np.where(heating == "heat_pump", cal.HEAT_PUMP_EXTRA_KWH, 0))
    electricity = np.rint(electricity * np.where(occupied, 1.0, 0.25)).astype(np.int64)

    woz_type = np.array([cal.WOZ_TYPE_FACTORS[t] for t in cal.DWELLING_TYPES])[type_index]
    woz_owner = np.array([cal.WOZ_OWNER_FACTORS[o] for o in cal.OWNER_TYPES])[owner_index]
    woz_raw = (floor_area * woz_type * woz_owner * _classes(build_year, cal.WOZ_AGE_FACTORS)
               * spec.woz_factor * rng.lognormal(0.0, 0.15, n))
    return {
        "build_year": build_year.astype(np.int64),
        "dwelling_type": dwelling_type,
        "floor_area_m2": floor_area,
        "owner_type": owner_type,
        "woz_raw": woz_raw,
        "heating": heating,
        "occupied": occupied,
        "household_size": household_size.astype(np.int64),
        "gas_m3": gas,
        "electricity_kwh": electricity,
    }


def _layout(rng: np.random.Generator) -> dict[str, MultiPolygon]:
    """Buurt boundaries: an irregular grid (jittered vertices and edge midpoints) whose cells are
    unioned per buurt, so the buurten tile the municipality without gaps or overlaps."""
    xs = cal.GRID_X0 + np.concatenate([[0.0], np.cumsum(cal.GRID_WIDTHS)])
    ys = cal.GRID_Y0 + np.concatenate([[0.0], np.cumsum(cal.GRID_HEIGHTS)])
    nx, ny = len(xs), len(ys)
    jitter = cal.GRID_JITTER_M
    vx = xs[:, None] + rng.uniform(-jitter, jitter, (nx, ny))
    vy = ys[None, :] + rng.uniform(-jitter, jitter, (nx, ny))
    # Midpoints of horizontal edges (i, j)-(i+1, j) and vertical edges (i, j)-(i, j+1), moved sideways.
    h_mid = np.stack([(vx[:-1, :] + vx[1:, :]) / 2, (vy[:-1, :] + vy[1:, :]) / 2 + rng.uniform(
        -jitter, jitter, (nx - 1, ny))], axis=-1)
    v_mid = np.stack([(vx[:, :-1] + vx[:, 1:]) / 2 + rng.uniform(-jitter, jitter, (nx, ny - 1)),
                      (vy[:, :-1] + vy[:, 1:]) / 2], axis=-1)

    def cell(i: int, j: int) -> Polygon:
        ring = [
            (vx[i, j], vy[i, j]), tuple(h_mid[i, j]), (vx[i + 1, j], vy[i + 1, j]), tuple(v_mid[i + 1, j]),
            (vx[i + 1, j + 1], vy[i + 1, j + 1]), tuple(h_mid[i, j + 1]), (vx[i, j + 1], vy[i, j + 1]),
            tuple(v_mid[i, j]),
        ]
        return Polygon(np.round(np.array(ring, dtype=float), 3))

    ex = cal.EXCLAVE
    exclave = shapely.box(ex["x"], ex["y"], ex["x"] + ex["width"], ex["y"] + ex["height"])
    exclave = Polygon(np.round(np.array(exclave.exterior.coords) + rng.uniform(-jitter, jitter, 2), 3))
    shapes = {}
    for spec in cal.BUURTEN:
        parts = [cell(i, j) for i, j in spec.cells]
        if spec.code == ex["buurt"]:
            parts.append(exclave)
        merged = shapely.union_all(parts, grid_size=0.001)
        polygons = list(merged.geoms) if isinstance(merged, MultiPolygon) else [merged]
        shapes[buurt_code(spec)] = shapely.normalize(MultiPolygon(polygons))
    return shapes


def _round_half_up(values: np.ndarray, step: float = 1.0) -> np.ndarray:
    return np.floor(np.asarray(values, dtype=float) / step + 0.5) * step


def demo_population(seed: int = 2026) -> DemoPopulation:
    """Draw the demo municipality's dwellings, households, incomes and boundaries for a seed."""
    rng = np.random.default_rng(seed)
    geometries = _layout(rng)

    parts, rows = [], []
    for spec in cal.BUURTEN:
        drawn = _draw_buurt(rng, spec)
        parts.append(pl.DataFrame({"buurt_code": buurt_code(spec), "wijk_code": wijk_code(spec), **drawn}))
        households = int(drawn["occupied"].sum())
        income = cal.NATIONAL_INCOME_PER_INHABITANT_EUR * spec.income_factor * rng.lognormal(0.0, 0.03)
        low_income = (cal.NATIONAL_LOW_INCOME_HOUSEHOLDS_PCT * spec.income_factor**-2.5
                      * rng.lognormal(0.0, 0.1))
        area_m2 = geometries[buurt_code(spec)].area
        rows.append({
            "buurt_code": buurt_code(spec), "buurt_name": spec.name, "wijk_code": wijk_code(spec),
            "wijk_name": cal.WIJKEN[spec.code[:2]], "kind": spec.kind, "n_dwellings": spec.n_dwellings,
            "households": households, "inhabitants": int(drawn["household_size"].sum()),
            "income_per_inhabitant_eur": float(_round_half_up(income, 10)),
            "pct_low_income_households": float(_round_half_up(low_income, 0.1).round(1)),
            "area_m2": area_m2, "area_ha": int(_round_half_up(area_m2 / 10_000)),
        })

    dwellings = pl.concat(parts)
    # Scale WOZ values so the municipality's average equals the national average of 2024.
    scale = cal.NATIONAL_AVG_WOZ_EUR / dwellings["woz_raw"].mean()
    # A BAG-like 16-digit id: municipality 9999, object type 01 (verblijfsobject), serial number.
    serial = pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(10)
    dwellings = dwellings.select(
        pl.concat_str(pl.lit("999901"), serial).alias("dwelling_id"),
        "buurt_code", "wijk_code", "build_year", "dwelling_type", "floor_area_m2", "owner_type",
        (((pl.col("woz_raw") * scale / 1000) + 0.5).floor() * 1000).cast(pl.Int64).alias("woz_eur"),
        "heating", "occupied", "household_size", "gas_m3", "electricity_kwh",
    )
    buurten = pl.DataFrame(rows)
    wijken = (
        buurten.group_by("wijk_code", maintain_order=True)
        .agg(pl.first("wijk_name"), pl.len().alias("n_buurten"))
    )
    return DemoPopulation(seed, DEMO_GEMEENTE, DEMO_GEMEENTE_NAME, wijken, buurten, dwellings, geometries)
