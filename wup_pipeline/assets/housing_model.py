"""intermediate.int_dwellings: the housing model's estimates, in Polars (model/housing.py), over SQL inputs.

Label and owner estimation are clearer in Python than in SQL, so this one intermediate table is built
by a Python asset. Its column lineage is declared here (what each column is computed from) and written to
Dagster metadata and audit.column_lineage like the SQL models' lineage.

The national run has 8.1 M dwellings: they are modelled in batches of consecutive vbo_ids (the model is
per dwelling, given per-buurt counts taken once over all dwellings in SQL), each batch appended to the table
inside one transaction. The table is the same, row for row and in the same order, whatever the batch size.
"""

from collections.abc import Iterable, Iterator

import dagster as dg
import duckdb
import polars as pl

from wup_pipeline.assets.raw import WAREHOUSE_POOL
from wup_pipeline.lineage.sql_models import LineageRow
from wup_pipeline.model import adjacency, housing
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.warehouse import Warehouse

TABLE = "intermediate.int_dwellings"
INPUTS = "intermediate.int_dwelling_inputs"
KWB = "staging.stg_cbs__kwb"
PARAMETERS = ("build_year_classes", "label_distribution", "heat_demand_dwellings", "dwelling_type_classes")
# Dwellings modelled at once. Polars needs about 1.3 KB per dwelling while modelling (the method and parameter
# texts are long), so 250 k dwellings stay near 0.4 GB; larger batches are hardly faster.
BATCH_ROWS = 250_000

NEIGHBOURS = "intermediate.int_pand_neighbours"
PANDEN = "staging.stg_bag__panden"
# Panden per strip: shapely needs about 0.4 KB per footprint, so 500 k keep the geometries near 0.3 GB.
STRIP_PANDEN = 500_000
PAIRS_PER_WRITE = 1_000_000

# column: (description, unit, [(source table, source column)], how)
COLUMNS: dict[str, tuple[str, str, list[tuple[str, str]], str]] = {
    "vbo_id": ("BAG verblijfsobject id.", "id", [(INPUTS, "vbo_id")], "copied"),
    "pand_id": ("BAG pand id.", "id", [(INPUTS, "pand_id")], "copied"),
    "buurt_code": ("Buurt the dwelling lies in.", "code", [(INPUTS, "buurt_code")], "copied"),
    "buurt_source": ("How the buurt was found.", "category", [(INPUTS, "buurt_source")], "copied"),
    "postcode": ("Postcode.", "code", [(INPUTS, "postcode")], "copied"),
    "house_number": ("House number.", "number", [(INPUTS, "house_number")], "copied"),
    "house_letter": ("House letter.", "code", [(INPUTS, "house_letter")], "copied"),
    "house_number_addition": ("House number addition.", "code", [(INPUTS, "house_number_addition")], "copied"),
    "build_year": ("Original build year of the pand.", "year", [(INPUTS, "build_year")], "copied"),
    "build_year_class": (
        "Vesta build-year class; null for unknown years (<= 1000).", "category",
        [(INPUTS, "build_year"), ("raw.param_build_year_classes", "year_min"),
         ("raw.param_build_year_classes", "year_max")], "housing.build_year_class"),
    "floor_area_m2": ("Usable floor area.", "m2", [(INPUTS, "floor_area_m2")], "copied"),
    "dwelling_type": ("apartment, terraced, corner, semi_detached or detached.", "category",
                      [(INPUTS, "dwelling_type")], "copied"),
    "dwelling_type_class": ("Dwelling type with apartments split by height (Vesta types).", "category",
                            [(INPUTS, "dwelling_type_class")], "copied"),
    "dwelling_type_method": ("How the type was derived.", "category", [(INPUTS, "dwelling_type_method")], "copied"),
    "energy_label": (
        "Registered label, else the estimated label class.", "label",
        [(INPUTS, "registered_label"), (INPUTS, "vbo_id"), (INPUTS, "dwelling_type_class"),
         ("raw.param_label_distribution", "value")], "housing.estimate_labels"),
    "label_class": ("Label class A..G.", "label", [(INPUTS, "registered_label"),
                                                   ("raw.param_label_distribution", "value")],
                    "housing.estimate_labels"),
    "label_source": ("registered, estimated or none.", "category", [(INPUTS, "registered_label")],
                     "housing.estimate_labels"),
    "label_date": ("Registration date of a registered label.", "date", [(INPUTS, "registered_label_date")],
                   "housing.estimate_labels"),
    "label_method": ("How the label was found, with the distribution used.", "text",
                     [("raw.param_label_distribution", "method")], "housing.estimate_labels"),
    "owner_type": (
        "owner_occupied, private_rent or corporation.", "category",
        [(INPUTS, "in_corporation_portfolio"), (INPUTS, "vbo_id"), (KWB, "pct_owner_occupied"),
         (KWB, "pct_corporation"), (KWB, "pct_private_rent")], "housing.estimate_owner_types"),
    "owner_source": ("corporation_portfolio, estimated_from_buurt_shares or none.", "category",
                     [(INPUTS, "in_corporation_portfolio")], "housing.estimate_owner_types"),
    "owner_method": ("How the owner type was found, with the shares used.", "text",
                     [(KWB, "pct_owner_occupied")], "housing.estimate_owner_types"),
    "heat_demand_space_gj": (
        "Space-heating demand (functional, Vesta).", "GJ per year",
        [(INPUTS, "floor_area_m2"), (INPUTS, "dwelling_type_class"), ("raw.param_heat_demand_dwellings", "value")],
        "housing.heat_demand_gj"),
    "heat_demand_hot_water_gj": ("Hot-water demand (functional, Vesta).", "GJ per year",
                                 [(INPUTS, "floor_area_m2"), ("raw.param_heat_demand_dwellings", "value")],
                                 "housing.heat_demand_gj"),
    "heat_demand_gj": ("Space heating plus hot water.", "GJ per year",
                       [(INPUTS, "floor_area_m2"), ("raw.param_heat_demand_dwellings", "value")],
                       "housing.heat_demand_gj"),
    "heat_demand_params": ("The parameter rows and values used for the heat demand.", "text",
                           [("raw.param_heat_demand_dwellings", "name")], "housing.heat_demand_gj"),
    "in_corporation_portfolio": ("Listed by a housing corporation.", "boolean",
                                 [(INPUTS, "in_corporation_portfolio")], "copied"),
    "corporation": ("That corporation.", "name", [(INPUTS, "corporation")], "copied"),
    "planned_renovation_year": ("Renovation year the corporation plans.", "year",
                                [(INPUTS, "planned_renovation_year")], "copied"),
    "planned_measure": ("Measure the corporation plans.", "category", [(INPUTS, "planned_measure")], "copied"),
}


def build_dwellings(inputs: pl.DataFrame, kwb_buurten: pl.DataFrame, params: dict[str, pl.DataFrame],
                    buurt_counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Apply the housing model (pure; no Dagster, no database). ``buurt_counts``
    (``housing.buurt_dwelling_counts`` of all dwellings) when ``inputs`` is one batch of them."""
    frame = inputs.with_columns(housing.build_year_class(pl.col("build_year"), params["build_year_classes"]))
    frame = housing.estimate_labels(frame, params["label_distribution"])
    frame = housing.estimate_owner_types(frame, kwb_buurten, buurt_counts=buurt_counts)
    frame = housing.heat_demand_gj(frame, params["heat_demand_dwellings"],
                                   type_classes=params["dwelling_type_classes"])
    return frame.rename({"energy_label_class": "label_class"}).select(list(COLUMNS))


def read_model_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The KWB ownership shares per buurt and the parameter tables (small)."""
    kwb = con.execute(
        f"select region_code as buurt_code, pct_owner_occupied, pct_corporation, pct_private_rent from {KWB} "
        "where region_type = 'buurt'").pl()
    params = {name: con.execute(f"select * from raw.param_{name}").pl() for name in PARAMETERS}
    return kwb, params


def batch_starts(con: duckdb.DuckDBPyConnection, inputs_table: str, batch_rows: int) -> list[str]:
    """The first vbo_id of each batch of ``batch_rows`` dwellings in vbo_id order (empty for no dwellings).

    A missing or repeated id is reported here, over all dwellings, as the model reports it for one frame (a
    batch cannot see a repeat in another batch); the row number of a missing id is in the vbo_id-ordered input.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be 1 or more, got {batch_rows}")
    n_with_id, n_without_id = con.execute(
        f"select count(vbo_id), count(*) - count(vbo_id) from {inputs_table}").fetchone()
    if n_without_id:  # nulls sort last in the ordered input
        raise InputError("dwellings", "id is missing", record=int(n_with_id), field="vbo_id")
    starts = con.execute(
        "select vbo_id, repeated from (select vbo_id, row_number() over ordered - 1 as row_nr, "
        f"vbo_id = lead(vbo_id) over ordered as repeated from {inputs_table} window ordered as (order by vbo_id)) "
        "where row_nr % ? = 0 or repeated order by vbo_id", [batch_rows]).fetchall()
    repeated = next((vbo_id for vbo_id, is_repeated in starts if is_repeated), None)
    if repeated is not None:
        raise InputError("dwellings", "id occurs more than once", record=repeated, field="vbo_id")
    return [vbo_id for vbo_id, _ in starts]


def read_buurt_counts(con: duckdb.DuckDBPyConnection, inputs_table: str = INPUTS) -> pl.DataFrame:
    """``housing.buurt_dwelling_counts`` of all dwellings, counted in SQL."""
    return con.execute(
        f"select buurt_code, count(*) as n_dwellings, count(*) filter (where in_corporation_portfolio) "
        f"as n_known_corporation from {inputs_table} group by buurt_code").pl()


def dwelling_batches(con: duckdb.DuckDBPyConnection, kwb: pl.DataFrame, params: dict[str, pl.DataFrame],
                     batch_rows: int = BATCH_ROWS, inputs_table: str = INPUTS) -> Iterator[pl.DataFrame]:
    """int_dwellings in vbo_id order, one modelled batch at a time (read lazily: one batch in memory)."""
    buurt_counts = read_buurt_counts(con, inputs_table)
    starts = batch_starts(con, inputs_table, batch_rows)
    if not starts:  # no dwellings: one empty batch still gives the table its columns
        starts = [None]
    for start, end in zip(starts, [*starts[1:], None], strict=True):
        bounds = [b for b in (start, end) if b is not None]
        where = " and ".join(w for w, b in (("vbo_id >= ?", start), ("vbo_id < ?", end)) if b is not None) or "true"
        inputs = con.execute(f"select * from {inputs_table} where {where} order by vbo_id", bounds).pl()
        yield build_dwellings(inputs, kwb, params, buurt_counts)


def write_table_with_lineage(con: duckdb.DuckDBPyConnection, table: str, batches: Iterable[pl.DataFrame],
                             rows: list[LineageRow]) -> int:
    """Replace a table by the batches built in Python (appended in order via Arrow) and its column lineage rows,
    in one transaction: readers see the old table or the whole new one. Returns the rows written.

    ``batches`` may read from ``con`` while it is iterated (inside the transaction); at least one is needed, as
    the first gives the table its column types."""
    con.execute("begin transaction")
    try:
        written, created = 0, False
        for frame in batches:
            # A relation, not con.register(): a registered view's Arrow data stays alive until the transaction
            # ends (its drop is transactional), which kept every batch in memory (0.25 GB per 250 k dwellings).
            incoming = con.from_arrow(frame.to_arrow())
            if created:
                incoming.insert_into(table)
            else:
                con.execute(f"drop table if exists {table}")
                incoming.create(table)
                created = True
            del incoming
            written += frame.height
        if not created:
            raise ValueError(f"no batches for {table}: at least one (possibly empty) frame is needed")
        con.execute("delete from audit.column_lineage where model = ?", [table])
        con.executemany("insert into audit.column_lineage values (?, ?, ?, ?, ?, ?)",
                        [(r.model, r.column, r.source_table, r.source_column, r.expression, "python") for r in rows])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return written


def replace_table_with_lineage(con, table: str, frame: pl.DataFrame, rows: list[LineageRow]) -> None:
    """Replace a table built in Python and its column lineage rows, in one transaction."""
    write_table_with_lineage(con, table, [frame], rows)


def lineage_rows() -> list[LineageRow]:
    return [
        LineageRow(TABLE, column, table, source_column, how)
        for column, (_, _, sources, how) in COLUMNS.items()
        for table, source_column in sources
    ]


@dg.asset(
    key=["intermediate", "int_dwellings"],
    deps=[dg.AssetKey(["intermediate", "int_dwelling_inputs"]), dg.AssetKey(["staging", "stg_cbs__kwb"]),
          *[dg.AssetKey(["raw", f"param_{n}"]) for n in PARAMETERS]],
    group_name="intermediate",
    kinds={"duckdb", "polars"},
    pool=WAREHOUSE_POOL,
    description="One row per residential verblijfsobject in use: build year, floor area, dwelling type, energy "
    "label (registered, or estimated from build year x type), owner type (corporation portfolio, or estimated "
    "from the buurt's KWB shares) and heat demand; method in docs/housing-model.md.",
    metadata={"dagster/table_name": TABLE, "dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(name, type=unit, description=description)
        for name, (description, unit, _, _) in COLUMNS.items()])},
)
def int_dwellings(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    rows = lineage_rows()
    with warehouse.connect() as con:
        kwb, params = read_model_inputs(con)
        n_dwellings = write_table_with_lineage(con, TABLE, dwelling_batches(con, kwb, params), rows)
        counts = con.execute(f"select label_source, count(*) as len from {TABLE} group by 1 order by 1").pl()
        owner_counts = con.execute(f"select owner_source, count(*) as len from {TABLE} group by 1 order by 1").pl()
    context.log.info(f"{TABLE}: {n_dwellings} dwellings; labels {counts.to_dicts()}")
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for row in rows:
        deps.setdefault(row.column, []).append(
            dg.TableColumnDep(asset_key=dg.AssetKey(row.source_table.split(".")), column_name=row.source_column))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n_dwellings,
        "dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps),
        "label_sources": dg.MetadataValue.json(counts.to_dicts()),
        "owner_sources": dg.MetadataValue.json(owner_counts.to_dicts()),
    })


@dg.asset(
    key=["intermediate", "int_pand_neighbours"],
    deps=[dg.AssetKey(["staging", "stg_bag__panden"])],
    group_name="intermediate",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Pairs of BAG panden whose footprints lie within 0.4 m of each other (touching, as PBL Vesta "
    "counts neighbours), both directions; computed with a shapely STRtree.",
    metadata={"dagster/table_name": "intermediate.int_pand_neighbours", "dagster/column_schema": dg.TableSchema(
        columns=[dg.TableColumn("pand_id", "id", description="BAG pand id."),
                 dg.TableColumn("neighbour_id", "id", description="A touching pand's id.")])},
)
def int_pand_neighbours(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        n_pairs = write_pand_neighbours(con, pand_neighbour_lineage_rows())
    context.log.info(f"{n_pairs // 2} touching pairs")
    return dg.MaterializeResult(metadata={"dagster/row_count": n_pairs})


def pand_neighbour_lineage_rows() -> list[LineageRow]:
    return [LineageRow(NEIGHBOURS, column, PANDEN, source, "adjacency.touching_pairs") for column, source in
            (("pand_id", "pand_id"), ("pand_id", "geometry"), ("neighbour_id", "pand_id"),
             ("neighbour_id", "geometry"))]


def pand_neighbour_pairs(con: duckdb.DuckDBPyConnection, strip_panden: int = STRIP_PANDEN,
                         panden_table: str = PANDEN) -> pl.DataFrame:
    """All touching pairs, both directions, sorted by pand_id, neighbour_id, found strip by strip
    (``adjacency.strips``): the same pairs as one query over all panden, with one strip's shapely geometries in
    memory (the WKB of all panden, a third of their shapely size, is read once)."""
    panden = con.execute(
        f"select pand_id, st_aswkb(geometry) as wkb, st_xmin(geometry) as x_min, st_xmax(geometry) as x_max "
        f"from {panden_table} where geometry is not null and st_xmin(geometry) is not null").pl()
    centre = (pl.col("x_min") + pl.col("x_max")) / 2  # as adjacency.strips computes it
    parts = [pl.DataFrame(schema={"pand_id": pl.String, "neighbour_id": pl.String})]
    for strip in adjacency.strips(panden["x_min"].to_numpy(), panden["x_max"].to_numpy(), strip_panden):
        in_reach = panden.filter(pl.col("x_max") >= strip.reach_min, pl.col("x_min") <= strip.reach_max)
        queried = in_reach.select(
            (centre >= (strip.centre_min if strip.centre_min is not None else float("-inf")))
            & (centre < (strip.centre_max if strip.centre_max is not None else float("inf")))).to_series()
        parts.append(adjacency.touching_pairs(in_reach["pand_id"], in_reach["wkb"], query=queried))
        del in_reach  # the strip's geometries go before the next strip's are made
    return pl.concat(parts).sort("pand_id", "neighbour_id")


def write_pand_neighbours(con: duckdb.DuckDBPyConnection, rows: list[LineageRow],
                          strip_panden: int = STRIP_PANDEN) -> int:
    """Replace intermediate.int_pand_neighbours (and its lineage); returns the number of pairs written."""
    pairs = pand_neighbour_pairs(con, strip_panden)
    slices = (pairs.slice(offset, PAIRS_PER_WRITE) for offset in range(0, max(pairs.height, 1), PAIRS_PER_WRITE))
    return write_table_with_lineage(con, NEIGHBOURS, slices, rows)


ASSETS = [int_pand_neighbours, int_dwellings]
