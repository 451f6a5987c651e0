"""Raw assets for the municipality's own files: infrastructure plans, running initiatives, participation.

The files follow the templates of docs/templates.md and are read by ``wup_pipeline.sources.municipal_files`` and
``wup_pipeline.sources.participation``. A file that is not configured gives an EMPTY table with the template's
columns, so the models downstream still build (and say the information is missing).

Provenance: an ordinary file is copied into the snapshot store (``SnapshotStore.put_file``). The participation files are
personal data (docs/templates.md, section 5): they are NOT copied; their provenance row carries only the sha256
and the size (``personal_file_record``), and only aggregates per buurt enter the warehouse, with the survey
breakdowns of buurten under ``settings.privacy_k`` respondents blanked before they are written.
"""

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from wup_pipeline.assets.raw import WAREHOUSE_POOL, bad_input_fails_without_retry, raw_table_metadata, write_raw_table
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.snapshots import SnapshotRecord, SnapshotStore, file_sha256, utc_now
from wup_pipeline.resources.warehouse import Warehouse
from wup_pipeline.sources import municipal_files, participation

MUNICIPAL_SOURCE_ID = "municipal_files"
PARTICIPATION_SOURCE_ID = "participation"
# Addresses that place survey rows given by postcode only (participation.postcode_buurten).
VERBLIJFSOBJECTEN = dg.AssetKey(["intermediate", "int_verblijfsobjecten"])
NOT_CONFIGURED = "not configured: empty table"
# Municipal files are not open data: their terms are the supplier's.
MUNICIPAL_TERMS = "supplied by the gemeente; terms of the supplier"


def snapshot_input_file(store: SnapshotStore, path: str | Path, *, source_id: str, setting: str,
                        licence: str | None = MUNICIPAL_TERMS) -> SnapshotRecord:
    """Copy a configured local file into the snapshot store; a missing file is an ``InputError`` naming the setting."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), f"file not found (configured as {setting})")
    return store.put_file(path, source_id=source_id, dataset=path.name, licence=licence)


def personal_file_record(
    path: str | Path, *, source_id: str, setting: str
) -> SnapshotRecord:
    """A provenance record for a participation file: sha256 and size, but NO copy (``path`` is empty).

    The survey holds personal data, and the contact moments are kept with it; the files stay where the organisation
    keeps personal data, and the checksum proves which version was aggregated. Not appended to the snapshot store's
    index, whose records promise a stored copy.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), f"file not found (configured as {setting})")
    sha, size = file_sha256(path)
    return SnapshotRecord(
        snapshot_id=sha, source_id=source_id, dataset=f"{path.name} (not stored: participation record)",
        url=path.resolve().as_uri(), retrieved_at=utc_now(), sha256=sha, bytes=size, path="",
        licence="participation record (AVG/GDPR): only aggregates per buurt are kept",
    )


def _route(path: str | None) -> str:
    return f"file {Path(path).name}" if path else NOT_CONFIGURED


def _log_route(context: dg.AssetExecutionContext, what: str, path: str | None, rows: int) -> None:
    if path:
        context.log.info(f"{what}: {rows} rows from {Path(path).name}")
    else:
        context.log.warning(f"{what}: no file configured; the table is empty and the factscan says it is missing")


@dg.asset(
    key=["raw", "infra_segments"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Planned infrastructure works per street segment (municipal GeoJSON template, docs/templates.md "
    "section 2); geometry as DuckDB GEOMETRY in EPSG:28992, length in metres. Empty when not configured.",
)
def infra_segments_raw(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    path = settings.infra_segments_file
    snapshots = []
    with bad_input_fails_without_retry():
        if path:
            store = SnapshotStore(settings.snapshot_dir)
            snapshots = [snapshot_input_file(store, path, source_id=MUNICIPAL_SOURCE_ID,
                                             setting="infra_segments_file")]
            frame = municipal_files.read_infra_segments(path)
        else:
            frame = pl.DataFrame(schema=municipal_files.SEGMENT_SCHEMA)
    with warehouse.connect() as con:
        write_raw_table(con, "raw.infra_segments", frame, snapshots, context.run_id,
                        select="* exclude (geometry_wkb), st_geomfromwkb(geometry_wkb) as geometry")
    _log_route(context, "infrastructure segments", path, frame.height)
    return dg.MaterializeResult(metadata=raw_table_metadata(
        "raw.infra_segments", frame, snapshots, route=_route(path),
        total_length_m=float(frame["length_m"].sum() or 0.0)))


@dg.asset(
    key=["raw", "infra_buurt"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Planned infrastructure works per buurt (municipal CSV/XLSX template, docs/templates.md "
    "section 3). Empty when not configured.",
)
def infra_buurt_raw(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    path = settings.infra_buurt_file
    snapshots = []
    with bad_input_fails_without_retry():
        if path:
            store = SnapshotStore(settings.snapshot_dir)
            snapshots = [snapshot_input_file(store, path, source_id=MUNICIPAL_SOURCE_ID, setting="infra_buurt_file")]
            frame = municipal_files.read_infra_buurt(path)
        else:
            frame = pl.DataFrame(schema=municipal_files.INFRA_BUURT_SCHEMA)
    with warehouse.connect() as con:
        write_raw_table(con, "raw.infra_buurt", frame, snapshots, context.run_id)
    _log_route(context, "infrastructure plans per buurt", path, frame.height)
    return dg.MaterializeResult(metadata=raw_table_metadata("raw.infra_buurt", frame, snapshots,
                                                            route=_route(path)))


@dg.asset(
    key=["raw", "initiatives"],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Running initiatives per buurt or wijk (municipal CSV/XLSX template, docs/templates.md "
    "section 4). Empty when not configured.",
)
def initiatives_raw(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    path = settings.initiatives_file
    snapshots = []
    with bad_input_fails_without_retry():
        if path:
            store = SnapshotStore(settings.snapshot_dir)
            snapshots = [snapshot_input_file(store, path, source_id=MUNICIPAL_SOURCE_ID, setting="initiatives_file")]
            frame = municipal_files.read_initiatives(path)
        else:
            frame = pl.DataFrame(schema=municipal_files.INITIATIVE_SCHEMA)
    with warehouse.connect() as con:
        write_raw_table(con, "raw.initiatives", frame, snapshots, context.run_id)
    _log_route(context, "initiatives", path, frame.height)
    return dg.MaterializeResult(metadata=raw_table_metadata("raw.initiatives", frame, snapshots,
                                                            route=_route(path)))


def _addresses(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """Postcode and buurt of every verblijfsobject, when the model has built them."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'intermediate' "
        "and table_name = 'int_verblijfsobjecten'"
    ).fetchone()[0]
    if not exists:
        return None
    return con.execute(
        "select postcode, buurt_code from intermediate.int_verblijfsobjecten "
        "where postcode is not null and buurt_code is not null"
    ).pl()


@dg.asset(
    key=["raw", "participation_buurt"],
    deps=[VERBLIJFSOBJECTEN],
    group_name="sources",
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    description="Participation aggregated per buurt from the survey and contact-moment files (docs/templates.md "
    "sections 5-6). Personal data never enters the warehouse: only counts per buurt; the survey breakdowns "
    "(willingness, concerns) of buurten with fewer than privacy_k respondents are null (small_cell). "
    "The files are not copied into the snapshot store; provenance keeps their sha256 only.",
)
def participation_buurt_raw(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: PipelineSettings
) -> dg.MaterializeResult:
    survey, contacts = settings.participation_survey_file, settings.participation_contacts_file
    if settings.privacy_k < 1:
        raise dg.Failure(f"privacy_k must be at least 1, not {settings.privacy_k}", allow_retries=False)
    snapshots = []
    with bad_input_fails_without_retry():
        if survey:
            snapshots.append(personal_file_record(survey, source_id=PARTICIPATION_SOURCE_ID,
                                                  setting="participation_survey_file"))
        if contacts:
            snapshots.append(personal_file_record(contacts, source_id=PARTICIPATION_SOURCE_ID,
                                                  setting="participation_contacts_file"))
        if survey or contacts:
            addresses = None
            if survey:
                with warehouse.connect() as con:
                    addresses = _addresses(con)
            # Suppress here, before the warehouse: no table, view or later sum can then show a small cell.
            frame = participation.aggregate_participation(
                survey, contacts, addresses, k=settings.privacy_k, suppress_small_cells=True
            )
        else:
            frame = pl.DataFrame(schema=participation.aggregate_columns())
    with warehouse.connect() as con:
        write_raw_table(con, "raw.participation_buurt", frame, snapshots, context.run_id)
    if survey or contacts:
        context.log.info(
            f"participation: {frame.height} buurten, {int(frame['respondents'].sum() or 0)} respondents, "
            f"{int(frame['small_cell'].sum() or 0)} small cells (k={settings.privacy_k}) suppressed"
        )
    else:
        context.log.warning("participation: no survey or contacts file configured; the table is empty")
    return dg.MaterializeResult(metadata=raw_table_metadata(
        "raw.participation_buurt", frame, snapshots,
        route=", ".join(f"{kind} (sha256 only, not stored)" for kind, p in
                        (("survey", survey), ("contacts", contacts)) if p) or NOT_CONFIGURED,
        privacy_k=settings.privacy_k,
        small_cells=int(frame["small_cell"].sum() or 0),
    ))


ASSETS = [infra_segments_raw, infra_buurt_raw, initiatives_raw, participation_buurt_raw]
