"""Addresses and buildings of the SYNTHETIC demo municipality: BAG-like verblijfsobjecten and panden.

``demo_buildings(population)`` gives every dwelling of ``population.dwellings`` a verblijfsobject in a
pand, adds non-residential objects (shops, offices, schools, business units), and lays the panden out
inside the buurt polygons. The layout is built so that the dwelling type can be DERIVED from the
geometry and the unit counts, the way the pipeline derives it from real BAG data:

* a dwelling whose pand holds two or more verblijfsobjecten is an ``apartment``; every pand with two or
  more woonfunctie units holds apartments only (blocks of up to ``MAX_BLOCK_UNITS`` flats, some with
  shops on the ground floor);
* every other dwelling is a house: the only verblijfsobject of its pand. Panden that share a wall touch
  exactly (rectangles with a common edge); the group of panden connected by shared walls says the type:
  alone = ``detached``, two = ``semi_detached``, three or more = ``corner`` at the two ends (one wall
  neighbour) and ``terraced`` in between (two wall neighbours);
* panden that do not share a wall are at least ``MIN_GAP_M`` apart, and every pand lies at least
  ``BOUNDARY_MARGIN_M`` inside its buurt polygon.

All dwellings in one pand share the pand's ``bouwjaar``, which is their ground-truth ``build_year``, so
apartment blocks group the flats of one buurt with the same build year. Where the ground truth does not
fit this geometry, the geometry wins and ``dwelling_type_truth`` says what the geometry makes of the
dwelling (``population.dwellings.dwelling_type`` keeps the drawn type):

* a flat that is the only one of its build year in its buurt lives above a shop, office or cafe (a
  "bovenwoning": two verblijfsobjecten in the pand) and stays an ``apartment``. A derivation must therefore
  count all verblijfsobjecten of the pand, not only the woonfunctie ones (206 such flats with seed 2026).
  Because build years are drawn per dwelling, blocks are often small (median 3 units, at most 48 flats);
* a row needs two corner houses: with an odd number of corner houses in a buurt the last one becomes the
  middle house of a row (``terraced``); when a buurt has too few corner houses for rows of at most
  ``MAX_ROW`` houses, terraced houses become corners; a row with no middle house left is a pair
  (``semi_detached``), as is a row of a buurt with fewer than three terraced and corner houses;
* semi-detached houses come in pairs: an odd one out is ``detached``.

With seed 2026 this changes the type of 8 of 7,713 dwellings (3 odd corner houses become terraced, 5 odd
semi-detached houses detached); other seeds change 5 to 15. Houses of one row or pair are neighbours in
build year (sorted), so rows look coherent. Streets run west to east, one depth of building per street,
with gaps that grow with the room a buurt has (a rural buurt spreads its farms out).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely
from shapely.geometry import MultiPolygon

from wup_pipeline.demo.population import DemoPopulation

RNG_STREAM = 0xBA6  # the buildings draw from their own stream: adding them changes no other demo figure
MAX_BLOCK_UNITS = 48  # flats per block; larger same-year groups are split into several blocks
MAX_ROW = 10  # houses per terraced row, corners included
MIN_GAP_M = 3.0  # between panden that do not share a wall (the brief asks for at least 1 m)
MIN_STREET_GAP_M = 8.0  # between the fronts of one street and the backs of the next
BOUNDARY_MARGIN_M = 3.0
DENSE_GAP_M, DENSE_STREET_GAP_M = 1.5, 5.0  # the last resort when a buurt does not fit otherwise
STATUS_VBO = "Verblijfsobject in gebruik"
STATUS_PAND = "Pand in gebruik"

# Postcode letters: PostNL leaves out F, I, O, Q, U and Y and the combinations SA, SD and SS.
POSTCODE_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"
POSTCODE_PAIRS = tuple(
    a + b for a in POSTCODE_LETTERS for b in POSTCODE_LETTERS if a + b not in {"SA", "SD", "SS"}
)

# Street names: a theme per buurt (by the order of population.buurten), a suffix per street.
STREET_STEMS = (
    ("Markt", "Kerk", "Molen", "Brouwers", "Vis", "Smids", "Bakkers", "Raadhuis", "Poort", "Gasthuis", "Wevers",
     "Kaas", "Korenbeurs", "Boter"),
    ("Haven", "Scheeps", "Touw", "Zeil", "Anker", "Loods", "Kraan", "Dok", "Sluis", "Kaai", "Roeier", "Mast"),
    ("Rembrandt", "Vermeer", "Hals", "Steen", "Potter", "Ruisdael", "Hobbema", "Cuyp", "Maris", "Israëls",
     "Mesdag", "Breitner"),
    ("Ambacht", "Fabriek", "Werf", "Industrie", "Handels", "Nijverheids", "Ijzergieterij", "Smederij"),
    ("Mercurius", "Jupiter", "Saturnus", "Venus", "Mars", "Pluto", "Neptunus", "Uranus", "Orion", "Pegasus"),
    ("Tulpen", "Rozen", "Narcissen", "Lelie", "Anjer", "Dahlia", "Krokus", "Seringen", "Violier", "Irissen",
     "Goudsbloem", "Klaproos", "Madeliefjes", "Zonnebloem"),
    ("Merel", "Lijster", "Specht", "Kievit", "Reiger", "Zwaluw", "Meeuw", "Spreeuw", "Vink", "Mees", "Uil",
     "Valk"),
    ("Beuken", "Eiken", "Linden", "Kastanje", "Iepen", "Berken", "Essen", "Platanen", "Hazelaar", "Taxus"),
    ("Water", "Beek", "Kreek", "Riet", "Oever", "Vlonder", "Plas", "Steiger", "Dijk", "Gracht", "Wetering",
     "Eiland"),
    ("Akker", "Koren", "Tarwe", "Rogge", "Gerst", "Haver", "Boekweit", "Klaver", "Hooi", "Vlas"),
    ("Polder", "Hoeve", "Boerderij", "Weide", "Gaarde", "Veen", "Kampen", "Esch"),
    ("Dorps", "Pastorie", "School", "Kapel", "Brink", "Herberg", "Tol", "Wagen"),
)
STREET_SUFFIXES = ("straat", "laan", "weg", "hof", "plein", "kade", "pad", "singel", "dreef", "steeg")

# Non-residential programme per buurt kind: (gebruiksdoel, how many, floor area range m2, footprint depth m).
# A small demo choice, not calibrated; "share_mixed" is the share of flat blocks with shops below.
NON_RESIDENTIAL = {
    "pre-war inner town": {
        "share_mixed": 0.35,
        "standalone": (("winkelfunctie", 18, (60, 400), 14.0), ("kantoorfunctie", 8, (200, 1500), 14.0),
                       ("bijeenkomstfunctie", 4, (150, 800), 14.0), ("onderwijsfunctie", 1, (2000, 3500), 20.0),
                       ("gezondheidszorgfunctie", 1, (300, 900), 14.0)),
    },
    "pre-war workers' quarter": {
        "share_mixed": 0.2,
        "standalone": (("winkelfunctie", 5, (60, 250), 12.0), ("bijeenkomstfunctie", 1, (150, 500), 12.0),
                       ("onderwijsfunctie", 1, (1500, 2500), 18.0)),
    },
    "post-war apartment estate": {
        "share_mixed": 0.1,
        "standalone": (("winkelfunctie", 4, (80, 600), 14.0), ("onderwijsfunctie", 1, (1500, 3000), 20.0)),
    },
    "business park": {
        "share_mixed": 0.0,
        "standalone": (("industriefunctie", 26, (400, 3000), 30.0), ("kantoorfunctie", 6, (300, 2500), 16.0),
                       ("industriefunctie,kantoorfunctie", 5, (600, 2000), 25.0), ("winkelfunctie", 2,
                                                                                    (800, 2500), 30.0)),
    },
    "post-war high-rise estate": {
        "share_mixed": 0.1,
        "standalone": (("winkelfunctie", 6, (80, 1200), 16.0), ("sportfunctie", 1, (800, 1500), 25.0),
                       ("onderwijsfunctie", 1, (2000, 3500), 20.0)),
    },
    "1970s-80s terraced suburb": {
        "share_mixed": 0.0,
        "standalone": (("winkelfunctie", 5, (80, 1500), 18.0), ("onderwijsfunctie", 2, (1500, 2500), 20.0),
                       ("gezondheidszorgfunctie", 1, (300, 800), 14.0)),
    },
    "1975-90 terraced and semi-detached": {
        "share_mixed": 0.0,
        "standalone": (("onderwijsfunctie", 1, (1200, 2200), 20.0), ("bijeenkomstfunctie", 1, (200, 500), 14.0)),
    },
    "villa area": {"share_mixed": 0.0, "standalone": (("kantoorfunctie", 2, (200, 600), 14.0),)},
    "1990s-2000s VINEX area": {
        "share_mixed": 0.15,
        "standalone": (("winkelfunctie", 6, (100, 1800), 20.0), ("onderwijsfunctie", 2, (1800, 3000), 20.0),
                       ("gezondheidszorgfunctie", 1, (400, 1200), 16.0), ("sportfunctie", 1, (1000, 2000), 25.0)),
    },
    "new-build area": {"share_mixed": 0.0, "standalone": (("onderwijsfunctie", 1, (1500, 2500), 20.0),)},
    "rural area": {"share_mixed": 0.0, "standalone": (("industriefunctie", 3, (300, 1500), 20.0),)},
    "old village core": {
        "share_mixed": 0.2,
        "standalone": (("winkelfunctie", 4, (60, 300), 12.0), ("bijeenkomstfunctie", 2, (150, 600), 14.0),
                       ("onderwijsfunctie", 1, (1200, 2000), 18.0)),
    },
}
DEFAULT_NON_RESIDENTIAL = {"share_mixed": 0.0, "standalone": (("winkelfunctie", 2, (80, 300), 12.0),)}
GROUND_FLOOR_USES = (("winkelfunctie", 0.6), ("kantoorfunctie", 0.25), ("bijeenkomstfunctie", 0.15))
HOME_OFFICE_SHARE = 0.01  # houses registered as 'woonfunctie,kantoorfunctie' (real BAG has such objects)

# House footprints (depth in m, storeys): width = floor area / (depth x storeys), rounded to 0.1 m.
HOUSE_SHAPE = {"terraced": (9.0, 2.4), "corner": (9.0, 2.4), "semi_detached": (10.0, 2.0), "detached": (11.0, 1.7)}
HOUSE_WIDTH_M = {"terraced": (4.2, 8.0), "corner": (4.5, 9.0), "semi_detached": (6.0, 11.0), "detached": (7.0, 16.0)}


@dataclass
class Unit:
    """One verblijfsobject before it has an address."""

    gebruiksdoel: str
    area_m2: int
    dwelling_id: str | None = None
    type_truth: str | None = None


@dataclass
class Pand:
    width: float
    depth: float
    bouwjaar: int
    units: list[Unit]
    x_offset: float = 0.0  # from the left edge of its cluster


@dataclass
class Cluster:
    """Panden placed together: touching panden in a row (or a pair), or one free-standing pand."""

    panden: list[Pand]
    address_scheme: str = "house"  # house | letters | suffixes | numbers
    x: float = 0.0
    y: float = 0.0
    street: int = -1

    @property
    def width(self) -> float:
        return round(sum(p.width for p in self.panden), 3)

    @property
    def depth(self) -> float:
        return max(p.depth for p in self.panden)


def demo_buildings(population: DemoPopulation) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(verblijfsobjecten, panden) of the SYNTHETIC demo municipality, deterministic for the population's seed.

    verblijfsobjecten: vbo_id, pand_id, nummeraanduiding_id (16-digit strings), openbare_ruimte_naam,
    postcode ('NNNNLL'), huisnummer (int), huisletter, toevoeging, gebruiksdoel (comma-joined), oppervlakte_m2
    (int, m2; a dwelling's is its ground-truth floor_area_m2), status, bouwjaar (of the pand), x_rd, y_rd
    (EPSG:28992, m), buurt_code, dwelling_id (null for non-residential), dwelling_type_truth (the type the
    geometry implies; null for non-residential).
    panden: pand_id, bouwjaar, status, geometry_wkt (EPSG:28992 polygon), footprint_area_m2 (m2), n_vbo,
    buurt_code.
    """
    rng = np.random.default_rng([population.seed, RNG_STREAM])
    buurten = population.buurten.sort("buurt_code")
    by_buurt = population.dwellings.partition_by("buurt_code", as_dict=True, maintain_order=True)
    vbo_parts, pand_parts = [], []
    street_names_used: set[str] = set()
    for index, buurt in enumerate(buurten.iter_rows(named=True)):
        code = buurt["buurt_code"]
        dwellings = by_buurt.get((code,), population.dwellings.clear())
        program = NON_RESIDENTIAL.get(buurt["kind"], DEFAULT_NON_RESIDENTIAL)
        clusters = _clusters(rng, dwellings, program)
        streets = _place(rng, population.geometries[code], clusters, code)
        names = _street_names(index, streets, street_names_used)
        vbo, panden = _records(clusters, names, code)
        vbo_parts.append(vbo)
        pand_parts.append(panden)
    vbo = pl.concat(vbo_parts)
    panden = pl.concat(pand_parts)
    # the WKT as shapely writes it (153655 rather than 153655.0), so every route delivers the same text
    panden = panden.with_columns(pl.Series("geometry_wkt", shapely.to_wkt(
        shapely.from_wkt(panden["geometry_wkt"].to_numpy()), rounding_precision=3), dtype=pl.String))
    vbo = _with_ids_and_postcodes(rng, vbo, buurten)
    panden = panden.join(
        vbo.select("pand_key", "pand_id").unique("pand_key"), on="pand_key", how="left"
    )
    pand_counts = vbo.group_by("pand_id").agg(pl.len().cast(pl.Int64).alias("n_vbo"))
    panden = (
        panden.join(pand_counts, on="pand_id", how="left")
        .select("pand_id", "bouwjaar", pl.lit(STATUS_PAND).alias("status"), "geometry_wkt", "footprint_area_m2",
                "n_vbo", "buurt_code")
        .sort("pand_id")
    )
    vbo = vbo.select(
        "vbo_id", "pand_id", "nummeraanduiding_id", "openbare_ruimte_naam", "postcode", "huisnummer", "huisletter",
        "toevoeging", "gebruiksdoel", "oppervlakte_m2", pl.lit(STATUS_VBO).alias("status"), "bouwjaar", "x_rd",
        "y_rd", "buurt_code", "dwelling_id", "dwelling_type_truth",
    ).sort("vbo_id")
    return vbo, panden


# --- which dwellings share a pand, which panden share walls --------------------------------------------


def _dwelling_units(frame: pl.DataFrame, type_truth: str | None = None) -> list[Unit]:
    return [
        Unit("woonfunctie", area, dwelling_id, type_truth or drawn)
        for dwelling_id, area, drawn in frame.select("dwelling_id", "floor_area_m2", "dwelling_type").iter_rows()
    ]


def _house(rng: np.random.Generator, unit: Unit, build_year: int, kind: str) -> Pand:
    depth, storeys = HOUSE_SHAPE[kind]
    low, high = HOUSE_WIDTH_M[kind]
    width = float(np.clip(round(unit.area_m2 / (depth * storeys), 1), low, high))
    if rng.random() < HOME_OFFICE_SHARE:
        unit.gebruiksdoel = "woonfunctie,kantoorfunctie"
    return Pand(width, depth, build_year, [unit])


def _non_residential_unit(rng: np.random.Generator, use: str, area_range: tuple[int, int]) -> Unit:
    return Unit(use, int(rng.integers(area_range[0], area_range[1] + 1)))


def _block(rng: np.random.Generator, units: list[Unit], build_year: int, shops: list[Unit]) -> Cluster:
    """A block of flats of one build year, with shops (or an office, a cafe) on the ground floor."""
    n = len(units)
    # 1 flat (above a shop): 2 storeys; 2-5 flats: 3; 9: 4; 48: 10
    storeys = 2 if n == 1 else int(np.clip(round(1.4 * np.sqrt(n)), 3, 10))
    floor_area = sum(u.area_m2 for u in units) * 1.15  # stairs, galleries and walls
    depth = 12.0 if n <= 12 else 14.0
    footprint = max(floor_area / storeys, sum(s.area_m2 for s in shops), 60.0)
    width = round(max(footprint / depth, 6.0), 1)
    if n >= 25:
        scheme = "numbers"
    elif n >= 9 or shops:
        scheme = "suffixes" if rng.random() < 0.5 or n >= 9 else "letters"
    else:
        scheme = "letters"
    return Cluster([Pand(width, depth, build_year, shops + units)], address_scheme=scheme)


def _clusters(rng: np.random.Generator, dwellings: pl.DataFrame, program: dict) -> list[Cluster]:
    by_type = {
        kind: dwellings.filter(pl.col("dwelling_type") == kind).sort("build_year", "dwelling_id")
        for kind in ("apartment", "terraced", "corner", "semi_detached", "detached")
    }
    clusters: list[Cluster] = []
    years_in_buurt = dwellings["build_year"].to_numpy()

    # Flats: one block per build year (split above MAX_BLOCK_UNITS); a lone flat lives above a shop.
    for (build_year,), group in by_type["apartment"].partition_by("build_year", as_dict=True,
                                                                  maintain_order=True).items():
        units = _dwelling_units(group, "apartment")
        if len(units) == 1:
            use = _choice(rng, GROUND_FLOOR_USES)
            clusters.append(_block(rng, units, build_year, [_non_residential_unit(rng, use, (50, 150))]))
            continue
        n_blocks = -(-len(units) // MAX_BLOCK_UNITS)
        for part in np.array_split(np.arange(len(units)), n_blocks):
            block_units = [units[i] for i in part]
            shops = []
            if rng.random() < program["share_mixed"]:
                shops = [_non_residential_unit(rng, _choice(rng, GROUND_FLOOR_USES), (50, 250))
                         for _ in range(int(rng.integers(1, 3)))]
            clusters.append(_block(rng, block_units, build_year, shops))

    clusters += _rows(rng, by_type["terraced"], by_type["corner"])

    # Semi-detached pairs; an odd one out stands alone.
    semi = by_type["semi_detached"]
    pairs = semi.height // 2
    for i in range(pairs):
        pair = semi.slice(2 * i, 2)
        units = _dwelling_units(pair, "semi_detached")
        clusters.append(Cluster([_house(rng, u, y, "semi_detached") for u, y in zip(units, pair["build_year"],
                                                                                    strict=True)]))
    singles = pl.concat([semi.slice(2 * pairs), by_type["detached"]])
    for unit, build_year in zip(_dwelling_units(singles, "detached"), singles["build_year"], strict=True):
        clusters.append(Cluster([_house(rng, unit, build_year, "detached")]))

    # Free-standing non-residential buildings; their build year is that of a random dwelling of the buurt.
    for use, count, area_range, depth in program["standalone"]:
        for _ in range(count):
            unit = _non_residential_unit(rng, use, area_range)
            year = int(rng.choice(years_in_buurt)) if len(years_in_buurt) else 1980
            storeys = 1 if "industrie" in use or "sport" in use else int(rng.integers(1, 4))
            width = round(max(unit.area_m2 / storeys / depth, 6.0), 1)
            clusters.append(Cluster([Pand(width, depth, year, [unit])]))

    # Streets of one depth waste least room: order by depth, at random within a depth.
    order = np.lexsort((rng.random(len(clusters)), [-c.depth for c in clusters]))
    return [clusters[i] for i in order]


def _rows(rng: np.random.Generator, terraced: pl.DataFrame, corner: pl.DataFrame) -> list[Cluster]:
    """Rows of 3..MAX_ROW houses: two corner houses at the ends, terraced houses between them."""
    t_units = _dwelling_units(terraced, "terraced")
    t_years = terraced["build_year"].to_list()
    c_units = _dwelling_units(corner, "corner")
    c_years = corner["build_year"].to_list()
    if len(c_units) % 2:  # a row has two ends: the odd corner house becomes a middle house
        unit, year = c_units.pop(), c_years.pop()
        unit.type_truth = "terraced"
        t_units.append(unit)
        t_years.append(year)
    n_rows = len(c_units) // 2
    # Too few rows for the middle houses: promote terraced houses to corners of new rows.
    while len(t_units) > n_rows * (MAX_ROW - 2) and len(t_units) >= 3:
        for _ in range(2):
            unit = t_units.pop()
            unit.type_truth = "corner"
            c_units.append(unit)
            c_years.append(t_years.pop())
        n_rows += 1
    if n_rows == 0 and t_units:  # one or two terraced houses and no corners: a pair, or a lone house
        kind = "semi_detached" if len(t_units) == 2 else "detached"
        for unit in t_units:
            unit.type_truth = kind
        return [Cluster([_house(rng, u, y, kind) for u, y in zip(t_units, t_years, strict=True)])]

    # Middle houses per row: at least one where there are enough, the rest at random up to the maximum.
    middles = np.zeros(n_rows, dtype=int)
    middles[: min(n_rows, len(t_units))] = 1
    for _ in range(len(t_units) - int(middles.sum())):
        open_rows = np.flatnonzero(middles < MAX_ROW - 2)
        middles[rng.choice(open_rows)] += 1
    # Rows in build-year order: the houses of a row were built around the same time.
    c_order = np.argsort(np.array(c_years, dtype=np.int64), kind="stable")
    t_order = np.argsort(np.array(t_years, dtype=np.int64), kind="stable")
    rows, t_at = [], 0
    for r in range(n_rows):
        ends = [c_order[2 * r], c_order[2 * r + 1]]
        mids = t_order[t_at:t_at + middles[r]]
        t_at += middles[r]
        if not len(mids):  # two corner houses and nothing between them: a semi-detached pair
            units = [c_units[i] for i in ends]
            for unit in units:
                unit.type_truth = "semi_detached"
            rows.append(Cluster([_house(rng, u, c_years[i], "semi_detached") for u, i in zip(units, ends,
                                                                                            strict=True)]))
            continue
        panden = [_house(rng, c_units[ends[0]], c_years[ends[0]], "corner")]
        panden += [_house(rng, t_units[i], t_years[i], "terraced") for i in mids]
        panden.append(_house(rng, c_units[ends[1]], c_years[ends[1]], "corner"))
        for pand in panden:
            pand.depth = 9.0  # one depth for the whole row
        rows.append(Cluster(panden))
    return rows


def _choice(rng: np.random.Generator, weighted: tuple[tuple[str, float], ...]) -> str:
    values = [v for v, _ in weighted]
    weights = np.array([w for _, w in weighted])
    return values[int(rng.choice(len(values), p=weights / weights.sum()))]


# --- placing clusters along streets inside the buurt polygon -------------------------------------------


def _place(rng: np.random.Generator, geometry: MultiPolygon, clusters: list[Cluster], code: str) -> int:
    """Give every cluster a position: shelves (streets) from south to north, west to east along each.

    Gaps scale with the room the buurt has (a rural buurt spreads its farms out); when a buurt does not
    fit, the gaps shrink and it tries again. Returns the number of streets used.
    """
    area = shapely.buffer(geometry, -BOUNDARY_MARGIN_M)
    shapely.prepare(area)
    spacing = float(np.sqrt(0.5 * area.area / max(len(clusters), 1)))
    attempts = [
        (max(MIN_GAP_M, min(80.0, 0.3 * spacing * shrink)), max(MIN_STREET_GAP_M, min(120.0, 0.5 * spacing * shrink)))
        for shrink in (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.0)
    ]
    attempts.append((DENSE_GAP_M, DENSE_STREET_GAP_M))  # an inner town packed tight: alleys, no side paths
    for gap, street_gap in attempts:
        if _try_place(area, clusters, gap, street_gap):
            return max(c.street for c in clusters) + 1 if clusters else 0
    raise RuntimeError(f"demo layout: the {len(clusters)} building groups of {code} do not fit in the buurt")


def _try_place(area, clusters: list[Cluster], gap: float, street_gap: float) -> bool:
    xmin, ymin, xmax, ymax = area.bounds
    step = max(2.0, gap / 2)
    x, y, shelf, shelf_depth = xmin, ymin, 0, 0.0
    for cluster in clusters:
        width, depth = cluster.width, cluster.depth
        while True:
            if x + width > xmax:
                y += (shelf_depth + street_gap) if shelf_depth else step
                shelf += 1 if shelf_depth else 0
                x, shelf_depth = xmin, 0.0
                if y + depth > ymax:
                    return False
                continue
            x0, y0 = round(x, 3), round(y, 3)
            if shapely.contains(area, shapely.box(x0, y0, x0 + width, y0 + depth)):
                cluster.x, cluster.y, cluster.street = x0, y0, shelf
                x += width + gap
                shelf_depth = max(shelf_depth, depth)
                break
            x += step
    return True


def _street_names(buurt_index: int, n_streets: int, used: set[str]) -> list[str]:
    stems = STREET_STEMS[buurt_index % len(STREET_STEMS)]
    names = []
    for stem in stems:
        for suffix in STREET_SUFFIXES:
            name = stem + suffix
            if len(names) == n_streets:
                return names
            if name not in used:
                used.add(name)
                names.append(name)
    counter = 1  # more streets than themed names: numbered ones
    while len(names) < n_streets:
        name = f"{stems[0]}straat {counter}"
        counter += 1
        if name not in used:
            used.add(name)
            names.append(name)
    return names


# --- records: one row per verblijfsobject and per pand ---------------------------------------------------


def _addresses(cluster: Cluster, pand: Pand, next_number: int) -> tuple[list[tuple[int, str | None, str | None]], int]:
    """(huisnummer, huisletter, toevoeging) per unit of a pand, and the street's next free number."""
    n = len(pand.units)
    if cluster.address_scheme == "numbers":
        return [(next_number + i, None, None) for i in range(n)], next_number + n
    if cluster.address_scheme == "letters":
        letters = [None] + list(string.ascii_uppercase)
        return [(next_number, letters[i], None) for i in range(n)], next_number + 1
    if cluster.address_scheme == "suffixes":
        return [(next_number, None, None if i == 0 else str(i)) for i in range(n)], next_number + 1
    return [(next_number + i, None, None) for i in range(n)], next_number + n


def _records(clusters: list[Cluster], street_names: list[str], buurt_code: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    vbo_rows, pand_rows = [], []
    numbers = dict.fromkeys(range(len(street_names)), 1)
    # Number along each street from west to east.
    for cluster in sorted(clusters, key=lambda c: (c.street, c.x)):
        offset = 0.0
        for pand in cluster.panden:
            x0 = round(cluster.x + offset, 3)
            x1 = round(x0 + pand.width, 3)
            offset = x1 - cluster.x
            y0, y1 = cluster.y, round(cluster.y + pand.depth, 3)
            pand_key = f"{buurt_code}/{len(pand_rows)}"
            pand_rows.append({
                "pand_key": pand_key, "bouwjaar": pand.bouwjaar,
                "geometry_wkt": f"POLYGON (({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))",
                "footprint_area_m2": round((x1 - x0) * (y1 - y0), 1), "buurt_code": buurt_code,
            })
            addresses, numbers[cluster.street] = _addresses(cluster, pand, numbers[cluster.street])
            n = len(pand.units)
            for i, (unit, (number, letter, suffix)) in enumerate(zip(pand.units, addresses, strict=True)):
                vbo_rows.append({
                    "pand_key": pand_key, "openbare_ruimte_naam": street_names[cluster.street],
                    "huisnummer": number, "huisletter": letter, "toevoeging": suffix,
                    "gebruiksdoel": unit.gebruiksdoel, "oppervlakte_m2": int(unit.area_m2),
                    "bouwjaar": pand.bouwjaar,
                    # spread the points of a block over its footprint, away from the walls
                    "x_rd": round(x0 + (x1 - x0) * (i + 0.5) / n, 3),
                    "y_rd": round(y0 + (y1 - y0) * (0.35 if i % 2 else 0.65), 3),
                    "buurt_code": buurt_code, "dwelling_id": unit.dwelling_id,
                    "dwelling_type_truth": unit.type_truth,
                })
    vbo_schema = {
        "pand_key": pl.String, "openbare_ruimte_naam": pl.String, "huisnummer": pl.Int64, "huisletter": pl.String,
        "toevoeging": pl.String, "gebruiksdoel": pl.String, "oppervlakte_m2": pl.Int64, "bouwjaar": pl.Int64,
        "x_rd": pl.Float64, "y_rd": pl.Float64, "buurt_code": pl.String, "dwelling_id": pl.String,
        "dwelling_type_truth": pl.String,
    }
    pand_schema = {"pand_key": pl.String, "bouwjaar": pl.Int64, "geometry_wkt": pl.String,
                   "footprint_area_m2": pl.Float64, "buurt_code": pl.String}
    return pl.DataFrame(vbo_rows, schema=vbo_schema), pl.DataFrame(pand_rows, schema=pand_schema)


def _with_ids_and_postcodes(rng: np.random.Generator, vbo: pl.DataFrame, buurten: pl.DataFrame) -> pl.DataFrame:
    """BAG-like ids (municipality 9999, object type 01/10/20, serial) and 6-position postcodes.

    A postcode covers 10 to 25 consecutive addresses of one street, like real ones; the 4-digit area is
    one per wijk (9991, 9992, ...).
    """
    vbo = vbo.join(buurten.select("buurt_code", "wijk_code"), on="buurt_code", how="left").sort(
        "wijk_code", "buurt_code", "openbare_ruimte_naam", "huisnummer", "huisletter", "toevoeging",
        nulls_last=False,
    )
    # postcode chunks: a new one at every street change and after 10-25 addresses
    street = vbo["openbare_ruimte_naam"].to_list()
    wijk = vbo["wijk_code"].to_list()
    sizes = rng.integers(10, 26, size=len(street) + 1)
    postcodes, per_wijk, chunk_left, current = [], {}, 0, None
    for i, (name, wijk_code) in enumerate(zip(street, wijk, strict=True)):
        if i == 0 or name != street[i - 1] or chunk_left == 0:
            serial = per_wijk.get(wijk_code, 0)
            per_wijk[wijk_code] = serial + 1
            if serial >= len(POSTCODE_PAIRS):
                raise RuntimeError(f"demo layout: wijk {wijk_code} needs more than {len(POSTCODE_PAIRS)} postcodes")
            area = 9990 + int(wijk_code[-2:])
            current = f"{area}{POSTCODE_PAIRS[serial]}"
            chunk_left = int(sizes[i])
        postcodes.append(current)
        chunk_left -= 1
    vbo = vbo.with_columns(pl.Series("postcode", postcodes, dtype=pl.String))

    non_residential_serial = pl.when(pl.col("dwelling_id").is_null()).then(
        pl.col("dwelling_id").is_null().cum_sum()
    )
    vbo = vbo.with_columns(
        pl.coalesce(
            "dwelling_id",
            pl.concat_str(pl.lit("99990190"), non_residential_serial.cast(pl.String).str.zfill(8)),
        ).alias("vbo_id"),
        pl.concat_str(pl.lit("9999200"), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9)).alias(
            "nummeraanduiding_id"
        ),
    )
    pand_serial = vbo.select("pand_key").unique(maintain_order=True).with_columns(
        pl.concat_str(pl.lit("9999100"), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9)).alias("pand_id")
    )
    return vbo.join(pand_serial, on="pand_key", how="left")
