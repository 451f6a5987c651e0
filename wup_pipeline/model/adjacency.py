"""Which building footprints touch: pairs of panden within a small distance (pure; shapely STRtree).

For the whole country (5.9 M panden, about 0.4 KB per shapely polygon) the panden are taken strip by strip
(``strips``): the panden whose bounding-box centre lies in a strip are queried against a tree of every pand
whose box reaches into the strip widened by the distance, so only one strip's geometries are in memory and
every pair is still found exactly once per direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely

# PBL Vesta buffers each pand by 0.2 m before testing for touching neighbours, i.e. panden within 0.4 m touch.
TOUCH_DISTANCE_M = 0.4


def touching_pairs(pand_ids: pl.Series, geometries_wkb: pl.Series, distance: float = TOUCH_DISTANCE_M,
                   query: pl.Series | None = None) -> pl.DataFrame:
    """Every ordered pair (pand_id, neighbour_id) of different panden whose footprints lie within ``distance``.

    One bulk query on an STRtree: O(n log n), no per-pand Python loop. Panden without geometry have no pairs.
    ``query`` (booleans, one per pand): only pairs whose first pand is marked; the others serve as neighbours.
    Sorted by pand_id, neighbour_id.
    """
    has_geometry = geometries_wkb.is_not_null()
    ids = pand_ids.filter(has_geometry).cast(pl.String)
    geometries = shapely.from_wkb(geometries_wkb.filter(has_geometry).to_numpy())
    if len(geometries) == 0:
        return pl.DataFrame(schema={"pand_id": pl.String, "neighbour_id": pl.String})
    tree = shapely.STRtree(geometries)
    queried = np.arange(len(geometries)) if query is None else np.flatnonzero(query.filter(has_geometry).to_numpy())
    left, right = tree.query(geometries[queried], predicate="dwithin", distance=distance)
    left = queried[left]  # back to positions in the tree
    keep = left != right
    return pl.DataFrame({
        "pand_id": ids.gather(left[keep]),
        "neighbour_id": ids.gather(right[keep]),
    }).sort("pand_id", "neighbour_id")


@dataclass(frozen=True)
class Strip:
    """Panden with bounding-box centre x in [centre_min, centre_max) are queried; every pand whose box overlaps
    [reach_min, reach_max] in x can be their neighbour. None: unbounded."""

    centre_min: float | None
    centre_max: float | None
    reach_min: float
    reach_max: float


def strips(x_min: np.ndarray, x_max: np.ndarray, panden_per_strip: int,
           distance: float = TOUCH_DISTANCE_M) -> list[Strip]:
    """Cut panden (their bounding boxes' x extents) into north-south strips of about ``panden_per_strip`` by
    box centre. A pand within ``distance`` of another has its box within ``distance`` of the other's box, so
    each strip's reach is the x extent of its own panden widened by ``distance``."""
    if panden_per_strip < 1:
        raise ValueError(f"panden_per_strip must be 1 or more, got {panden_per_strip}")
    centre = (x_min + x_max) / 2
    if len(centre) == 0:
        return []
    cuts = np.unique(np.sort(centre)[::panden_per_strip])  # equal centres stay in one strip
    strip_of = np.searchsorted(cuts, centre, side="right") - 1
    reach_min = np.full(len(cuts), np.inf)
    reach_max = np.full(len(cuts), -np.inf)
    np.minimum.at(reach_min, strip_of, x_min)
    np.maximum.at(reach_max, strip_of, x_max)
    return [Strip(centre_min=None if i == 0 else float(cuts[i]),
                  centre_max=None if i == len(cuts) - 1 else float(cuts[i + 1]),
                  reach_min=float(reach_min[i]) - distance, reach_max=float(reach_max[i]) + distance)
            for i in range(len(cuts))]


__all__ = ["TOUCH_DISTANCE_M", "Strip", "strips", "touching_pairs"]
