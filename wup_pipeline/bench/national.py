"""A SYNTHETIC national dataset in the formats of the local-files route, for the national-scale benchmark.

``write_national_dataset(out_dir, dwellings=...)`` writes, once:

* ``bag/verblijfsobjecten.csv`` and ``bag/panden.csv``: a BAG extract in the default CSV layout of
  ``sources.bag.read_bag_extract`` (the layout of ../shared/data/bag_testarea_denhaag): verblijfsobjecten with
  16-digit ids, postcode, house number, gebruiksdoel, floor area, status, RD point and buurtcode; panden with build
  year, status, footprint area and a WKT footprint (EPSG:28992);
* ``buurten.gpkg`` (layer ``buurten``): one square polygon per buurt with the PDOK wijken-en-buurten attributes
  (buurtcode, buurtnaam, wijkcode, gemeentecode, gemeentenaam) and the Kerncijfers attributes PDOK delivers
  with them (inhabitants, households, dwellings, ownership shares, ...), for ``kwb_route: buurten_file_attributes``;
* ``ep_online/labels.csv``: an EP-Online bulk label file (';'-separated, the demo's column names);
* ``manifest.json``: seed, totals, and per gemeente its buurten, dwellings, verblijfsobjecten and panden (the
  benchmark picks gemeenten from it).

Scale and calibration (the published figures are those of ``demo/calibration.py``, with their sources there):
8,125,229 dwellings (CBS 82900NED, 1 January 2023); about 9.9 million verblijfsobjecten in all (the issue's
target, i.e. 0.22 non-residential objects per dwelling); the 342 gemeenten of 2024 with their number of buurten
(CBS 86044NED, indeling 2022: 14,317; ``orchestration/gemeenten_2024.csv``); dwelling types 36 % multi-family,
42 % terraced incl. corner, 9 % semi-detached, 13 % detached (CBS 2022-08-03); 19 % built before 1945 (same
release); ownership 57.0 / 28.5 / 14.4 % (82900NED 2023); mean floor area per type from ``FLOOR_AREA_M2``;
registered labels and their classes drawn like the demo's (``demo/label_payloads.py``). Everything else (buurt
sizes, the build-year classes after 1945, the layout) is a design choice for a realistic workload, not data.

Layout: every buurt is a 2 km x 2 km square on a national grid; inside it buildings stand in slots of 40 m x 25 m.
Terraced rows (3-7 houses) and semi-detached pairs are rectangles sharing exact edges, so the adjacency step finds
real neighbours; apartment blocks hold 2+ dwellings (some with shops on the ground floor); the dwelling type is
thus derivable from geometry and unit counts as the pipeline derives it. Generation is vectorised per gemeente
(numpy/polars; a loop over the 342 gemeenten only), seeded per gemeente, and written in chunks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from wup_pipeline.demo import calibration as cal
from wup_pipeline.demo.addresses import POSTCODE_PAIRS
from wup_pipeline.demo.label_payloads import (
    EP2_BOUNDS,
    LABEL_SHIFT_BY_OWNER,
    LABEL_SHIFT_BY_TYPE,
    MEAN_LABEL_BY_YEAR,
    P_LABEL_BY_OWNER,
    P_LABEL_TYPE_FACTOR,
    VALID_YEARS,
)
from wup_pipeline.orchestration.partitions import gemeente_list
from wup_pipeline.sources.ep_online import LABEL_CLASSES

NATIONAL_DWELLINGS = 8_125_229  # CBS 82900NED, 1 January 2023 (demo/calibration.py)
NON_RESIDENTIAL_PER_DWELLING = 9.9 / 8.1 - 1  # about 9.9 million verblijfsobjecten for 8.1 million dwellings
REFERENCE_DATE = date(2026, 1, 1)  # labels valid on this date; pass as label_reference_date
MANIFEST = "manifest.json"

CELL_M, MARGIN_M, SLOT_W_M, SLOT_D_M = 2_000.0, 20.0, 40.0, 25.0
SLOTS_X = int((CELL_M - 2 * MARGIN_M) // SLOT_W_M)  # 49
SLOTS_Y = int((CELL_M - 2 * MARGIN_M) // SLOT_D_M)  # 78
GRID_X0, GRID_Y0 = 13_000.0, 306_000.0  # south-west corner of the grid in RD New (EPSG:28992)
POSTCODES_PER_PC4 = 125  # 9,000 four-digit codes x 125 > 14,400 cells x 78 slot rows
MAX_BUURT_DWELLINGS = 3_500  # keeps every buurt's buildings inside its slots
SHARE_TINY_BUURTEN = 0.06  # business parks, rural and water buurten with (almost) no dwellings

# Dwelling kinds as the geometry will make them: type shares of the stock (CBS 2022-08-03, calibration.py).
KINDS = ("apartment", "row", "semi_detached", "detached")
KIND_SHARES = np.array([cal.NATIONAL_TYPE_SHARES[k] for k in
                        ("multi_family", "terraced_incl_corner", "semi_detached", "detached")])
BUURT_TYPE_CONCENTRATION = 6.0  # Dirichlet concentration: buurten differ, the country adds up

# Build-year classes (first, last, share): 19 % before 1945 (CBS 2022-08-03); the split after 1945 is a design
# choice. A buurt draws a dominant class; 65 % of its buildings come from it, the rest from the national mix.
BUILD_YEAR_CLASSES = ((1850, 1944, 0.19), (1945, 1964, 0.14), (1965, 1974, 0.15), (1975, 1991, 0.22),
                      (1992, 2005, 0.16), (2006, 2024, 0.14))
SHARE_DOMINANT_CLASS = 0.65

OWNER_SHARES = np.array([cal.NATIONAL_OWNER_SHARES[o] for o in cal.OWNER_TYPES])
OWNER_SHARES = OWNER_SHARES / OWNER_SHARES.sum()
BUURT_OWNER_CONCENTRATION = 8.0

NON_RESIDENTIAL_USES = (("winkelfunctie", 0.30), ("kantoorfunctie", 0.30), ("industriefunctie", 0.22),
                        ("bijeenkomstfunctie", 0.10), ("gezondheidszorgfunctie", 0.05), ("onderwijsfunctie", 0.03))
SHARE_NON_RESIDENTIAL_IN_BLOCKS = 0.15  # shops and offices on the ground floor of apartment blocks
HOME_OFFICE_SHARE = 0.01  # houses registered 'woonfunctie,kantoorfunctie' (as the demo)

STATUS_VBO, STATUS_PAND = "Verblijfsobject in gebruik", "Pand in gebruik"
LABEL_COLUMNS = ("Opnamedatum", "Registratiedatum", "Geldig_tot", "Soort_opname", "Status", "Gebouwklasse",
                 "Gebouwtype", "Gebouwsubtype", "Postcode", "Huisnummer", "Huisletter", "Huisnummertoevoeging",
                 "BAGVerblijfsobjectID", "BAGPandIDs", "Bouwjaar", "Gebruiksoppervlakte_thermische_zone",
                 "Energieklasse", "PrimaireFossieleEnergie")
BUILDING_TYPE = {"apartment": "Appartement", "terraced": "Rijwoning tussen", "corner": "Rijwoning hoek",
                 "semi_detached": "2 onder 1 kap", "detached": "Vrijstaande woning"}


@dataclass(frozen=True)
class NationalDataset:
    root: Path
    verblijfsobjecten: Path
    panden: Path
    buurten: Path
    labels: Path | None
    manifest: dict

    @classmethod
    def open(cls, root: Path | str) -> NationalDataset:
        root = Path(root)
        path = root / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"no national dataset in {root} ({MANIFEST} missing): run "
                                    "`wup generate-national --out {root}` first")
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        return cls(root, root / files["verblijfsobjecten"], root / files["panden"], root / files["buurten"],
                   root / files["labels"] if files.get("labels") else None, manifest)


# --- grouping helpers (vectorised over all objects of a gemeente) ------------------------------------------------


def _runs(group: np.ndarray, p_break: float, min_size: int, max_size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Cluster ids for items sorted by ``group``: random breaks, small clusters merged, large ones split.

    Returns (cluster id per item, position of the item in its cluster). Clusters never cross groups; a group with
    fewer than ``min_size`` items forms one (too small) cluster: the caller decides what it becomes.
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.ones(n, bool)
    first[1:] = group[1:] != group[:-1]
    start = first | (rng.random(n) < p_break)
    for _ in range(20):  # merge small clusters into their predecessor (or successor) in the same group
        cid = np.cumsum(start) - 1
        size = np.bincount(cid)
        starts = np.flatnonzero(start)
        small = size < min_size
        if not small.any():
            break
        merge_back = small & ~first[starts]  # not the first cluster of its group: join the previous one
        changed = merge_back.any()
        start[starts[merge_back]] = False
        head_small = small & first[starts]  # the first cluster of a group: absorb the next one in the group
        nxt = starts[head_small] + size[head_small]
        nxt = nxt[nxt < n]
        nxt = nxt[~first[nxt]]
        if nxt.size:
            start[nxt] = False
            changed = True
        if not changed:
            break
    cid = np.cumsum(start) - 1
    size = np.bincount(cid)
    begin = np.flatnonzero(start)
    position = np.arange(n) - begin[cid]
    parts = np.maximum(1, -(-size // max_size))  # ceil: split too long clusters into near-equal parts
    part = position * parts[cid] // size[cid]
    split_start = start | ((part != np.roll(part, 1)) & ~start)
    split_start[0] = True
    cid = np.cumsum(split_start) - 1
    begin = np.flatnonzero(split_start)
    return cid, np.arange(n) - begin[cid]


def _choice(rng, options: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    names = np.array([o for o, _ in options])
    weights = np.array([w for _, w in options])
    return names[rng.choice(len(names), size=n, p=weights / weights.sum())]


def _class_factor(values: np.ndarray, bounds: tuple[tuple[int, float], ...]) -> np.ndarray:
    uppers = np.array([b for b, _ in bounds])
    factors = np.array([f for _, f in bounds])
    return factors[np.minimum(np.searchsorted(uppers, values, side="left"), len(factors) - 1)]


# --- one gemeente ------------------------------------------------------------------------------------------------


def buurt_sizes(rng, n_buurten: int, dwellings: int) -> tuple[np.ndarray, np.ndarray]:
    """(dwellings per buurt, tiny) with lognormal sizes, a few (almost) empty buurten, none above the maximum."""
    tiny = rng.random(n_buurten) < SHARE_TINY_BUURTEN
    if tiny.all():
        tiny[0] = False
    tiny_max = min(20, dwellings // max(n_buurten, 1) // 10 + 1)  # tiny stays tiny in a scaled-down country
    sizes = np.where(tiny, rng.integers(0, tiny_max, n_buurten), 0)
    weights = np.where(tiny, 0.0, rng.lognormal(0.0, 0.9, n_buurten))
    rest = max(dwellings - int(sizes.sum()), 0)
    for _ in range(10):
        share = weights / weights.sum()
        extra = np.floor(share * rest).astype(np.int64)
        extra += np.bincount(rng.choice(n_buurten, size=rest - int(extra.sum()), p=share), minlength=n_buurten)
        capped = np.minimum(sizes + extra, MAX_BUURT_DWELLINGS)
        overflow = int((sizes + extra - capped).sum())
        if overflow == 0 or (weights[capped < MAX_BUURT_DWELLINGS] == 0).all():
            return capped, tiny
        sizes, rest = capped, overflow
        weights = np.where(capped >= MAX_BUURT_DWELLINGS, 0.0, weights)
    return sizes, tiny


def generate_gemeente(code: str, name: str, n_buurten: int, dwellings: int, grid_offset: int,
                      grid_columns: int, seed: int) -> dict[str, pl.DataFrame]:
    """Verblijfsobjecten, panden, buurten (with KWB attributes) and label registrations of one gemeente."""
    digits = code.removeprefix("GM")
    rng = np.random.default_rng([seed, int(digits)])
    sizes, tiny = buurt_sizes(rng, n_buurten, dwellings)

    # dwellings: buurt, kind (as the geometry will make it), owner
    buurt = np.repeat(np.arange(n_buurten), sizes)
    type_p = rng.dirichlet(BUURT_TYPE_CONCENTRATION * KIND_SHARES, size=n_buurten)
    counts = rng.multinomial(sizes, type_p)
    kind = np.concatenate([np.repeat(np.arange(4), row) for row in counts]) if len(buurt) else np.zeros(0, np.int64)
    order = np.lexsort((kind, buurt))
    buurt, kind = buurt[order], kind[order]
    n = len(buurt)

    # houses of a row (3-7) and apartment blocks (2+); what is too small becomes a pair or a single house
    clusters = np.full(n, -1, np.int64)
    position = np.zeros(n, np.int64)
    next_cluster = 0
    for k, (p_break, min_size, max_size) in ((0, (1 / 12, 2, 48)), (1, (1 / 5, 3, 7))):
        members = np.flatnonzero(kind == k)
        cid, pos = _runs(buurt[members], p_break, min_size, max_size, rng)
        size = np.bincount(cid) if len(cid) else np.zeros(0, np.int64)
        too_small = size[cid] < min_size if len(cid) else np.zeros(0, bool)
        if k == 1:  # rows of one or two houses are pairs or detached houses
            kind[members[too_small & (size[cid] == 2)]] = 2
            kind[members[too_small & (size[cid] == 1)]] = 3
        keep = ~too_small if k == 1 else np.ones(len(cid), bool)
        clusters[members[keep]] = cid[keep] + next_cluster
        position[members[keep]] = pos[keep]
        next_cluster += int(cid.max()) + 1 if len(cid) else 0
    order = np.lexsort((clusters, kind, buurt))  # regroup after re-typing, clusters stay contiguous
    buurt, kind, clusters, position = buurt[order], kind[order], clusters[order], position[order]
    for k in (2, 3):  # pairs of semi-detached houses (an odd one out is detached), detached houses alone
        members = np.flatnonzero(kind == k)
        first = np.ones(len(members), bool)
        first[1:] = buurt[members][1:] != buurt[members][:-1]
        rank = np.arange(len(members)) - np.maximum.accumulate(np.where(first, np.arange(len(members)), 0))
        if k == 2:
            group_size = np.bincount(np.cumsum(first) - 1) if len(members) else np.zeros(0, np.int64)
            odd = (rank == group_size[np.cumsum(first) - 1] - 1) & (group_size[np.cumsum(first) - 1] % 2 == 1)
            kind[members[odd]] = 3
            pair = ~odd
            pair_id = (np.cumsum(first) - 1) * 100_000 + rank // 2  # (buurt run, pair within it)
            _, dense = np.unique(pair_id[pair], return_inverse=True)
            clusters[members[pair]] = dense + next_cluster
            position[members[pair]] = rank[pair] % 2
            next_cluster += int(dense.max()) + 1 if dense.size else 0
    members = np.flatnonzero(kind == 3)
    clusters[members] = np.arange(len(members)) + next_cluster
    position[members] = 0
    # dense cluster ids (rows re-typed above left gaps); the order, and so the grouping by buurt, is kept
    used, clusters = np.unique(clusters, return_inverse=True)
    n_clusters = len(used)
    cluster_kind = np.zeros(n_clusters, np.int64)
    cluster_kind[clusters] = kind
    cluster_buurt = np.zeros(n_clusters, np.int64)
    cluster_buurt[clusters] = buurt
    cluster_size = np.bincount(clusters, minlength=n_clusters)

    # non-residential objects: some on ground floors of blocks, the rest in their own panden (1-12 per pand)
    # (the tiny buurten are business parks: they get half an average buurt's worth of non-residential objects)
    nonres_weight = sizes + tiny * max(dwellings / n_buurten, 1.0) * 0.5
    n_nonres_buurt = rng.multinomial(round(NON_RESIDENTIAL_PER_DWELLING * dwellings),
                                     nonres_weight / nonres_weight.sum())
    nonres_buurt = np.repeat(np.arange(n_buurten), n_nonres_buurt)
    in_block = rng.random(len(nonres_buurt)) < SHARE_NON_RESIDENTIAL_IN_BLOCKS
    blocks = np.flatnonzero(cluster_kind == 0)
    block_of_buurt = np.full(n_buurten, -1)
    if blocks.size:
        block_first = blocks[np.unique(cluster_buurt[blocks], return_index=True)[1]]
        block_of_buurt[cluster_buurt[block_first]] = block_first
        # a lone flat (block of one) always gets a shop below it: a pand with two objects holds apartments
        lonely = blocks[cluster_size[blocks] == 1]
        extra_buurten = cluster_buurt[lonely]
    else:
        lonely, extra_buurten = np.zeros(0, np.int64), np.zeros(0, np.int64)
    host = np.where(in_block, block_of_buurt[nonres_buurt], -1)
    host_random = rng.integers(0, 1 << 30, len(nonres_buurt))
    if blocks.size:  # spread ground-floor units over the blocks of their buurt (blocks are sorted by buurt)
        counts_b = np.bincount(cluster_buurt[blocks], minlength=n_buurten)
        first_idx = np.searchsorted(cluster_buurt[blocks], np.arange(n_buurten))
        has = (host >= 0) & (counts_b[nonres_buurt] > 0)
        host[has] = blocks[first_idx[nonres_buurt[has]] + host_random[has] % counts_b[nonres_buurt[has]]]
    standalone = host < 0
    nonres_buurt = np.concatenate([nonres_buurt, extra_buurten])
    host = np.concatenate([host, lonely])
    standalone = np.concatenate([standalone, np.zeros(len(lonely), bool)])
    sa_idx = np.flatnonzero(standalone)
    sa_order = sa_idx[np.argsort(nonres_buurt[sa_idx], kind="stable")]
    sa_cid, _ = _runs(nonres_buurt[sa_order], 1 / 3, 1, 12, rng)
    host[sa_order] = sa_cid + n_clusters
    n_sa_clusters = int(sa_cid.max()) + 1 if sa_cid.size else 0
    all_clusters = n_clusters + n_sa_clusters
    all_kind = np.concatenate([cluster_kind, np.full(n_sa_clusters, 4)])  # 4: non-residential pand
    all_buurt = np.concatenate([cluster_buurt, np.zeros(n_sa_clusters, np.int64)])
    all_buurt[host[sa_order]] = nonres_buurt[sa_order]

    # slots: clusters in random order within their buurt
    shuffle = np.lexsort((rng.random(all_clusters), all_buurt))
    slot = np.empty(all_clusters, np.int64)
    first = np.ones(all_clusters, bool)
    first[1:] = all_buurt[shuffle][1:] != all_buurt[shuffle][:-1]
    starts = np.maximum.accumulate(np.where(first, np.arange(all_clusters), 0))
    slot[shuffle] = np.arange(all_clusters) - starts
    if all_clusters and slot.max() >= SLOTS_X * SLOTS_Y:
        raise ValueError(f"{code}: a buurt needs {slot.max() + 1} building slots, more than {SLOTS_X * SLOTS_Y}")
    grid_index = grid_offset + all_buurt
    cell_x = GRID_X0 + (grid_index % grid_columns) * CELL_M
    cell_y = GRID_Y0 + (grid_index // grid_columns) * CELL_M
    slot_x = cell_x + MARGIN_M + (slot % SLOTS_X) * SLOT_W_M
    slot_y = cell_y + MARGIN_M + (slot // SLOTS_X) * SLOT_D_M

    # build years: per cluster (a row, a pair, a block has one), from the buurt's dominant class or the country
    class_p = np.array([s for _, _, s in BUILD_YEAR_CLASSES])
    class_p = class_p / class_p.sum()
    dominant = rng.choice(len(class_p), size=n_buurten, p=class_p)
    from_dominant = rng.random(all_clusters) < SHARE_DOMINANT_CLASS
    klass = np.where(from_dominant, dominant[all_buurt], rng.choice(len(class_p), size=all_clusters, p=class_p))
    lows = np.array([a for a, _, _ in BUILD_YEAR_CLASSES])
    highs = np.array([b for _, b, _ in BUILD_YEAR_CLASSES])
    cluster_year = rng.integers(lows[klass], highs[klass] + 1)

    # floor areas of the dwellings and the non-residential objects
    type_of_kind = np.array(["apartment", "terraced", "semi_detached", "detached"])
    mean_area = np.array([cal.FLOOR_AREA_M2[t] for t in type_of_kind])[kind]
    dwelling_area = np.maximum(np.rint(mean_area * rng.lognormal(-0.02, 0.2, n)), 25).astype(np.int64)
    nonres_area = np.maximum(np.rint(rng.lognormal(np.log(120), 0.8, len(host))), 10).astype(np.int64)

    # panden: one per block, per house of a row or pair, per detached house, per non-residential pand
    is_house = np.isin(kind, (1, 2, 3))
    house_pand = np.full(n, -1, np.int64)
    house_pand[is_house] = np.arange(int(is_house.sum()))
    n_house_panden = int(is_house.sum())
    block_clusters = np.flatnonzero(all_kind == 0)
    sa_clusters = np.flatnonzero(all_kind == 4)
    pand_cluster = np.concatenate([clusters[is_house], block_clusters, sa_clusters])
    pand_position = np.concatenate([position[is_house], np.zeros(len(block_clusters) + len(sa_clusters), np.int64)])
    n_panden = len(pand_cluster)
    pand_of_cluster = np.full(all_clusters, -1, np.int64)
    pand_of_cluster[block_clusters] = n_house_panden + np.arange(len(block_clusters))
    pand_of_cluster[sa_clusters] = n_house_panden + len(block_clusters) + np.arange(len(sa_clusters))
    dwelling_pand = np.where(is_house, house_pand, pand_of_cluster[clusters])
    nonres_pand = pand_of_cluster[host]

    floor_sum = np.bincount(dwelling_pand, weights=dwelling_area, minlength=n_panden) + np.bincount(
        nonres_pand, weights=nonres_area, minlength=n_panden)
    units = np.bincount(dwelling_pand, minlength=n_panden) + np.bincount(nonres_pand, minlength=n_panden)
    pk = all_kind[pand_cluster]
    row_width = rng.uniform(5.0, 5.5, all_clusters)[pand_cluster]
    width = np.select([pk == 1, pk == 2, pk == 3], [row_width, 7.0, rng.uniform(9.0, 12.0, n_panden)], 0.0)
    depth = np.select([pk == 1, pk == 2, pk == 3], [9.5, 9.5, rng.uniform(9.0, 11.0, n_panden)], 0.0)
    storeys = np.where(pk == 0, np.clip(np.ceil(units / 4), 2, 10), np.clip(np.ceil(units / 3), 1, 3))
    footprint = floor_sum / np.maximum(storeys, 1) * 1.1
    big = (pk == 0) | (pk == 4)
    bw = np.clip(np.sqrt(footprint * 1.8), 8.0, 36.0)
    width = np.where(big, bw, width)
    depth = np.where(big, np.clip(footprint / np.maximum(bw, 1), 6.0, 20.0), depth)
    # coordinates in centimetres, as written; houses of a row share the exact edge value
    x0 = np.round(slot_x[pand_cluster] + pand_position * width, 2)
    x1 = np.round(slot_x[pand_cluster] + (pand_position + 1) * width, 2)
    y0 = np.round(slot_y[pand_cluster], 2)
    y1 = np.round(y0 + depth, 2)
    pand_year = cluster_year[pand_cluster]

    pand_ids = np.char.add(digits + "10", np.char.zfill(np.arange(1, n_panden + 1).astype(str), 10))
    panden = pl.DataFrame({
        "pand_id": pand_ids, "oorspronkelijkbouwjaar": pand_year, "status": STATUS_PAND,
        "x_rd": np.round((x0 + x1) / 2, 3), "y_rd": np.round((y0 + y1) / 2, 3),
        "footprint_area_m2": np.round((x1 - x0) * (y1 - y0), 2), "x0": x0, "y0": y0, "x1": x1, "y1": y1,
    }).with_columns(
        pl.format("POLYGON (({} {}, {} {}, {} {}, {} {}, {} {}))", "x0", "y0", "x1", "y0", "x1", "y1", "x0", "y1",
                  "x0", "y0").alias("wkt_rd")
    ).drop("x0", "y0", "x1", "y1")

    # verblijfsobjecten: dwellings, then non-residential objects
    obj_pand = np.concatenate([dwelling_pand, nonres_pand])
    obj_buurt = np.concatenate([buurt, nonres_buurt])
    n_obj = len(obj_pand)
    use = np.concatenate([
        np.where(is_house & (rng.random(n) < HOME_OFFICE_SHARE), "woonfunctie,kantoorfunctie", "woonfunctie"),
        _choice(rng, NON_RESIDENTIAL_USES, len(host))])
    area = np.concatenate([dwelling_area, nonres_area])
    pand_slot = slot[pand_cluster]
    obj_slot = pand_slot[obj_pand]
    # one postcode per row of slots: (grid cell, slot row) numbered across the country, 125 rows per 4 digits
    street = (grid_offset + obj_buurt) * SLOTS_Y + obj_slot // SLOTS_X
    postcode = np.char.add((1000 + street // POSTCODES_PER_PC4).astype(str),
                           np.array(POSTCODE_PAIRS)[street % POSTCODES_PER_PC4])
    order = np.lexsort((np.arange(n_obj), obj_pand, postcode))
    number = np.empty(n_obj, np.int64)
    same = np.ones(n_obj, bool)
    same[1:] = postcode[order][1:] != postcode[order][:-1]
    number[order] = np.arange(n_obj) - np.maximum.accumulate(np.where(same, np.arange(n_obj), 0)) + 1
    buurt_codes = np.char.add(np.char.add("BU" + digits, np.char.zfill((np.arange(n_buurten) // 10).astype(str), 2)),
                              np.char.zfill((np.arange(n_buurten) % 10).astype(str), 2))
    seq = np.char.zfill(np.arange(1, n_obj + 1).astype(str), 10)
    vbo = pl.DataFrame({
        "vbo_id": np.char.add(digits + "01", seq), "pand_id": pand_ids[obj_pand],
        "nummeraanduiding_id": np.char.add(digits + "20", seq), "postcode": postcode, "huisnummer": number,
        "huisletter": None, "huisnummertoevoeging": None, "gebruiksdoel": use, "oppervlakte_m2": area,
        "status": STATUS_VBO, "x_rd": panden["x_rd"].to_numpy()[obj_pand], "y_rd": panden["y_rd"].to_numpy()[obj_pand],
        "buurtcode": buurt_codes[obj_buurt],
    }, schema_overrides={"huisletter": pl.String, "huisnummertoevoeging": pl.String})

    # the dwelling type the geometry gives, owners (hidden truth) and registered labels
    row_size = cluster_size[clusters]
    truth = np.select([kind == 0, (kind == 1) & ((position == 0) | (position == row_size - 1)), kind == 1, kind == 2],
                      ["apartment", "corner", "terraced", "semi_detached"], "detached")
    owner_p = rng.dirichlet(BUURT_OWNER_CONCENTRATION * OWNER_SHARES, size=n_buurten)[buurt]
    affinity = np.array([cal.OWNER_AFFINITY[t] for t in cal.DWELLING_TYPES])
    type_index = _lookup({t: i for i, t in enumerate(cal.DWELLING_TYPES)}, truth)
    tilted = owner_p * affinity[type_index]
    cumulative = (tilted / tilted.sum(axis=1, keepdims=True)).cumsum(axis=1)
    owner = (rng.random(n)[:, None] > cumulative).sum(axis=1).clip(0, 2)
    owners = np.array(cal.OWNER_TYPES)[owner]

    dwelling_year = cluster_year[clusters]
    labels = _labels(rng, vbo.head(n), truth, owners, dwelling_year, dwelling_area)

    buurten = _buurt_attributes(rng, code, name, digits, buurt_codes, sizes, truth, buurt, owner, dwelling_year,
                                grid_offset, grid_columns)
    return {"verblijfsobjecten": vbo, "panden": panden, "buurten": buurten, "labels": labels}


def _lookup(mapping: dict, keys: np.ndarray) -> np.ndarray:
    """mapping[key] for an array of keys (all present), without a Python loop over the keys."""
    names = np.array(list(mapping))
    values = np.array(list(mapping.values()))
    sorter = np.argsort(names)
    return values[sorter[np.searchsorted(names, keys, sorter=sorter)]]


def _labels(rng, dwellings: pl.DataFrame, truth: np.ndarray, owners: np.ndarray, year: np.ndarray,
            area: np.ndarray) -> pl.DataFrame:
    n = dwellings.height
    p_label = _lookup(P_LABEL_BY_OWNER, owners) * _lookup(P_LABEL_TYPE_FACTOR, truth)
    chosen = np.flatnonzero(rng.random(n) < np.clip(p_label, 0, 1))
    uppers = np.array([u for u, _ in MEAN_LABEL_BY_YEAR])
    means = np.array([m for _, m in MEAN_LABEL_BY_YEAR])[np.minimum(np.searchsorted(uppers, year[chosen]),
                                                                    len(uppers) - 1)]
    score = (means + _lookup(LABEL_SHIFT_BY_TYPE, truth[chosen]) + _lookup(LABEL_SHIFT_BY_OWNER, owners[chosen])
             + rng.normal(0, 1, len(chosen)))
    index = np.clip(np.rint(score), 0, len(LABEL_CLASSES) - 1).astype(int)
    label = np.array(LABEL_CLASSES)[index]
    low = np.array([EP2_BOUNDS[c][0] for c in LABEL_CLASSES])[index]
    high = np.array([EP2_BOUNDS[c][1] for c in LABEL_CLASSES])[index]
    ep2 = low + (high - low) * rng.random(len(chosen))
    reference = np.datetime64(REFERENCE_DATE, "D")
    start = np.maximum(np.datetime64(date(REFERENCE_DATE.year - VALID_YEARS, 1, 2), "D"),
                       (np.minimum(year[chosen], REFERENCE_DATE.year - 1) - 1970).astype("datetime64[Y]")
                       .astype("datetime64[D]") + 181)
    span = np.maximum((reference - np.timedelta64(60, "D") - start).astype(int), 1)
    recorded = start + (rng.random(len(chosen)) * span).astype(int).astype("timedelta64[D]")
    registered = recorded + rng.integers(0, 31, len(chosen)).astype("timedelta64[D]")
    valid = registered + np.timedelta64(round(VALID_YEARS * 365.25), "D")
    rows = dwellings[chosen]
    return pl.DataFrame({
        "Opnamedatum": np.char.add(np.datetime_as_string(recorded), "T00:00:00"),
        "Registratiedatum": np.char.add(np.datetime_as_string(registered), "T12:00:00.000"),
        "Geldig_tot": np.char.add(np.datetime_as_string(valid), "T00:00:00"),
        "Soort_opname": "Basisopname", "Status": "Bestaand", "Gebouwklasse": "Woningbouw",
        "Gebouwtype": _lookup(BUILDING_TYPE, truth[chosen]),
        "Gebouwsubtype": None, "Postcode": rows["postcode"], "Huisnummer": rows["huisnummer"],
        "Huisletter": None, "Huisnummertoevoeging": None, "BAGVerblijfsobjectID": rows["vbo_id"],
        "BAGPandIDs": rows["pand_id"], "Bouwjaar": year[chosen],
        "Gebruiksoppervlakte_thermische_zone": np.char.replace(np.char.mod("%.2f", area[chosen].astype(float)),
                                                               ".", ","),
        "Energieklasse": label,
        "PrimaireFossieleEnergie": np.char.replace(np.char.mod("%.2f", ep2), ".", ","),
    }, schema_overrides={"Gebouwsubtype": pl.String, "Huisletter": pl.String, "Huisnummertoevoeging": pl.String})


def _buurt_attributes(rng, code, name, digits, buurt_codes, sizes, truth, buurt, owner, year, grid_offset,
                      grid_columns) -> pl.DataFrame:
    """Kerncijfers attributes per buurt as PDOK names them (suppressed below CBS's thresholds: null)."""
    n_b = len(buurt_codes)
    count = np.bincount(buurt, minlength=n_b).astype(float)
    single = np.bincount(buurt, weights=truth != "apartment", minlength=n_b)
    own = [np.bincount(buurt, weights=owner == i, minlength=n_b) for i in range(3)]
    old = np.bincount(buurt, weights=year < 2000, minlength=n_b)
    occupied = np.rint(count * (1 - cal.NATIONAL_UNOCCUPIED_SHARE))
    household_size = np.clip(rng.normal(cal.NATIONAL_HOUSEHOLD_SIZE, 0.25, n_b), 1.3, 3.2)
    households = np.rint(occupied / 5) * 5
    inhabitants = np.rint(occupied * household_size / 5) * 5
    shown = count >= cal.SUPPRESSION.min_dwellings_housing

    def pct(values):
        return np.where(shown, np.round(100 * values / np.maximum(count, 1)), np.nan)

    gas = cal.NATIONAL_GAS_ALL_M3 * np.bincount(buurt, weights=_class_factor(year, cal.GAS_AGE_FACTORS),
                                                minlength=n_b) / np.maximum(count, 1)
    grid_index = grid_offset + np.arange(n_b)
    x0 = GRID_X0 + (grid_index % grid_columns) * CELL_M
    y0 = GRID_Y0 + (grid_index // grid_columns) * CELL_M
    return pl.DataFrame({
        "buurtcode": buurt_codes, "buurtnaam": [f"{name} buurt {i + 1}" for i in range(n_b)],
        "wijkcode": np.char.add("WK" + digits, np.char.zfill((np.arange(n_b) // 10).astype(str), 2)),
        "gemeentecode": code, "gemeentenaam": name, "water": "NEE",
        "aantal_inwoners": inhabitants, "aantal_huishoudens": households,
        "gemiddelde_huishoudsgrootte": np.where(households > 0, np.round(household_size, 1), np.nan),
        "woningvoorraad": count, "gemiddelde_woningwaarde": np.where(shown, cal.NATIONAL_AVG_WOZ_EUR / 1000, np.nan),
        "percentage_eengezinswoning": pct(single), "percentage_meergezinswoning": pct(count - single),
        "percentage_koopwoningen": pct(own[0]), "percentage_huurwoningen": pct(own[1] + own[2]),
        "perc_huurwoningen_in_bezit_woningcorporaties": pct(own[1]),
        "perc_huurwoningen_in_bezit_overige_verhuurders": pct(own[2]),
        "percentage_bouwjaarklasse_tot_2000": pct(old),
        "gemiddeld_gasverbruik_woning": np.where(count >= cal.SUPPRESSION.min_dwellings_energy,
                                                 np.round(gas, -1), np.nan),
        "oppervlakte_totaal_in_ha": CELL_M * CELL_M / 10_000, "oppervlakte_land_in_ha": CELL_M * CELL_M / 10_000,
        "x0": x0, "y0": y0,
    }).with_columns(pl.col(pl.Float64).fill_nan(None))


# --- the whole country ---------------------------------------------------------------------------------------------


def gemeente_targets(dwellings: int, year: int = 2024) -> pl.DataFrame:
    """Gemeenten with their buurten and a dwelling target that sums to ``dwellings`` (in proportion to buurten)."""
    frame = gemeente_list(year).sort("gemeente_code")
    weights = frame["n_buurten_2022"].to_numpy().astype(float)
    exact = weights / weights.sum() * dwellings
    target = np.floor(exact).astype(np.int64)
    target[np.argsort(target - exact)[: dwellings - int(target.sum())]] += 1
    offsets = np.concatenate([[0], np.cumsum(frame["n_buurten_2022"].to_numpy())[:-1]])
    return frame.with_columns(pl.Series("dwelling_target", target), pl.Series("grid_offset", offsets))


def write_national_dataset(out_dir: Path | str, dwellings: int = NATIONAL_DWELLINGS, seed: int = 2026,
                           labels: bool = True, log=print, only: list[str] | None = None) -> NationalDataset:
    """Write the dataset (module docstring) into ``out_dir``; returns it. Existing files are replaced.

    ``only``: write just these gemeenten (their share of ``dwellings``, their place on the national grid).
    """
    started = time.monotonic()
    out = Path(out_dir)
    (out / "bag").mkdir(parents=True, exist_ok=True)
    (out / "ep_online").mkdir(parents=True, exist_ok=True)
    targets = gemeente_targets(dwellings)
    total_buurten = int(targets["n_buurten_2022"].sum())
    if only:
        targets = targets.filter(pl.col("gemeente_code").is_in(only))
    columns = int(np.ceil(np.sqrt(total_buurten)))
    files = {"verblijfsobjecten": "bag/verblijfsobjecten.csv", "panden": "bag/panden.csv",
             "buurten": "buurten.gpkg", "labels": "ep_online/labels.csv" if labels else None}
    handles = {k: open(out / v, "wb") for k, v in files.items() if v and k != "buurten"}  # noqa: SIM115
    per_gemeente, buurt_frames, pending = [], [], {k: [] for k in handles}
    try:
        for index, row in enumerate(targets.iter_rows(named=True)):  # one iteration per gemeente (342)
            part = generate_gemeente(row["gemeente_code"], row["gemeente_name"], row["n_buurten_2022"],
                                     row["dwelling_target"], row["grid_offset"], columns, seed)
            for key in handles:
                pending[key].append(part[key])
            buurt_frames.append(part["buurten"])
            per_gemeente.append({
                "gemeente_code": row["gemeente_code"], "gemeente_name": row["gemeente_name"],
                "buurten": part["buurten"].height,
                "dwellings": int(part["verblijfsobjecten"]["gebruiksdoel"].str.contains("woonfunctie").sum()),
                "verblijfsobjecten": part["verblijfsobjecten"].height, "panden": part["panden"].height,
                "labels": part["labels"].height,
            })
            if len(pending["panden"]) >= 25 or index == targets.height - 1:
                for key, handle in handles.items():
                    frame = pl.concat(pending[key])
                    frame.write_csv(handle, include_header=handle.tell() == 0,
                                    separator=";" if key == "labels" else ",")
                    pending[key] = []
                log(f"  {index + 1}/{targets.height} gemeenten, {time.monotonic() - started:.0f} s")
    finally:
        for handle in handles.values():
            handle.close()
    _write_buurten(pl.concat(buurt_frames), out / files["buurten"])
    totals = {key: sum(g[key] for g in per_gemeente) for key in ("buurten", "dwellings", "verblijfsobjecten",
                                                                  "panden", "labels")}
    manifest = {"seed": seed, "dwellings_requested": dwellings, "reference_date": REFERENCE_DATE.isoformat(),
                "year": 2024, "totals": totals, "files": files, "gemeenten": per_gemeente,
                "seconds": round(time.monotonic() - started, 1),
                "bytes": {k: (out / v).stat().st_size for k, v in files.items() if v}}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return NationalDataset.open(out)


def _write_buurten(frame: pl.DataFrame, path: Path) -> None:
    import geopandas as gpd
    import shapely

    x0, y0 = frame["x0"].to_numpy(), frame["y0"].to_numpy()
    geometry = shapely.multipolygons(shapely.box(x0, y0, x0 + CELL_M, y0 + CELL_M).reshape(-1, 1))
    table = gpd.GeoDataFrame(frame.drop("x0", "y0").to_pandas(), geometry=geometry, crs="EPSG:28992")
    path.unlink(missing_ok=True)
    table.to_file(path, layer="buurten", driver="GPKG")
