"""Which building footprints touch: pairs of panden within a small distance (pure; shapely STRtree)."""

from __future__ import annotations

import polars as pl
import shapely

# PBL Vesta buffers each pand by 0.2 m before testing for touching neighbours, i.e. panden within 0.4 m touch.
TOUCH_DISTANCE_M = 0.4


def touching_pairs(pand_ids: pl.Series, geometries_wkb: pl.Series, distance: float = TOUCH_DISTANCE_M) -> pl.DataFrame:
    """Every ordered pair (pand_id, neighbour_id) of different panden whose footprints lie within ``distance``.

    One bulk query on an STRtree: O(n log n), no per-pand Python loop. Panden without geometry have no pairs.
    """
    has_geometry = geometries_wkb.is_not_null().to_numpy()
    ids = pand_ids.to_numpy()[has_geometry]
    geometries = shapely.from_wkb(geometries_wkb.filter(geometries_wkb.is_not_null()).to_list())
    if len(geometries) == 0:
        return pl.DataFrame(schema={"pand_id": pl.String, "neighbour_id": pl.String})
    tree = shapely.STRtree(geometries)
    left, right = tree.query(geometries, predicate="dwithin", distance=distance)
    keep = left != right
    return pl.DataFrame({
        "pand_id": ids[left[keep]].astype(str),
        "neighbour_id": ids[right[keep]].astype(str),
    }).sort("pand_id", "neighbour_id")


__all__ = ["TOUCH_DISTANCE_M", "touching_pairs"]
