"""Gemeente partitions on the raw sources: a run replaces the rows of its gemeenten and keeps everyone else's."""

import json
import os

import dagster as dg
import duckdb
import polars as pl
import pytest

from wup_pipeline.assets import raw
from wup_pipeline.assets.raw import PARTITION_COLUMN, write_partition_rows
from wup_pipeline.definitions import BACKFILL_JOB, build_definitions
from wup_pipeline.orchestration import partitions as parts
from wup_pipeline.resources.errors import InputError
from wup_pipeline.resources.http import HttpClient
from wup_pipeline.resources.pipeline_settings import PipelineSettings
from wup_pipeline.resources.settings import ProjectPaths
from wup_pipeline.resources.snapshots import SnapshotRecord
from wup_pipeline.resources.warehouse import Warehouse, ensure_audit_tables

PER_GEMEENTE = {"raw/pdok_buurten", "raw/cbs_kwb", "raw/bag_verblijfsobjecten", "raw/bag_panden",
                "raw/energy_labels", "raw/cbs_energie_buurt", "raw/cbs_heating_buurt"}


def snapshot(name: str) -> SnapshotRecord:
    return SnapshotRecord(snapshot_id=name, source_id="test", dataset=name, url=f"file:///{name}",
                          retrieved_at="2026-11-26T00:00:00+00:00", sha256=name, bytes=1, path="")


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_the_project_partitions_the_sources_fetched_per_gemeente(tmp_path):
    paths = ProjectPaths(root=tmp_path, published_warehouse=tmp_path / "wup.duckdb")
    defs = build_definitions(paths, gemeente_code="GM0014", year=2024)
    graph = defs.resolve_asset_graph()
    partitioned = {key.to_user_string() for key in graph.get_all_asset_keys()
                   if graph.get(key).partitions_def is not None}
    assert partitioned == PER_GEMEENTE  # the municipality's own files, parameters and models are not
    for key in PER_GEMEENTE:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.partitions_def == parts.gemeente_partitions()
        assert node.backfill_policy == parts.SINGLE_RUN_BACKFILL
    assert defs.resolve_job_def("wup_all").tags["dagster/partition"] == "GM0014"  # the configured gemeente
    assert "dagster/partition" not in defs.resolve_job_def(BACKFILL_JOB).tags  # key or range given at launch


def test_a_write_replaces_only_its_gemeenten_rows_and_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(raw, "INSERT_SLICE_ROWS", 1)  # every row its own slice: slices add up to the frame
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in ("raw", "audit"):
        con.execute(f"create schema {schema}")
    ensure_audit_tables(con)

    def write(frame: dict | pl.DataFrame, gemeenten: list[str], snapshots) -> None:
        write_partition_rows(con, "raw.t", pl.DataFrame(frame), gemeenten, snapshots, run_id="r")

    write({"id": [1, 2, 3], "v": [1.0, 2.0, 3.0], PARTITION_COLUMN: ["GM0014", "GM0014", "GM0034"]},
          ["GM0014"], [snapshot("file")])  # a file that also holds GM0034: replaces both
    write({"id": [4], "v": [4.0], PARTITION_COLUMN: ["GM0037"]}, ["GM0037"], {"GM0037": [snapshot("api37")]})
    assert rows(con, f"select {PARTITION_COLUMN}, count(*) from raw.t group by 1 order by 1") == [
        ("GM0014", 2), ("GM0034", 1), ("GM0037", 1)]
    assert rows(con, "select partition_gemeente, dataset from audit.snapshots order by 1") == [
        ("GM0014", "file"), ("GM0034", "file"), ("GM0037", "api37")]

    # GM0014 again, with a new column: GM0034 and GM0037 keep their rows and provenance, the column is added
    write({"id": [5], "v": [5.0], "extra": ["x"], PARTITION_COLUMN: ["GM0014"]}, ["GM0014"],
          {"GM0014": [snapshot("api14")]})
    assert rows(con, f"select id, extra, {PARTITION_COLUMN} from raw.t order by id") == [
        (3, None, "GM0034"), (4, None, "GM0037"), (5, "x", "GM0014")]
    assert rows(con, "select partition_gemeente, dataset from audit.snapshots order by 1") == [
        ("GM0014", "api14"), ("GM0034", "file"), ("GM0037", "api37")]

    # an empty delivery (source not configured) empties the gemeente's rows
    write(pl.DataFrame(schema={"id": pl.Int64, "v": pl.Float64, PARTITION_COLUMN: pl.String}), ["GM0037"], [])
    assert rows(con, f"select distinct {PARTITION_COLUMN} from raw.t order by 1") == [("GM0014",), ("GM0034",)]

    # a changed column type cannot be mixed with other gemeenten' rows: clear error, table untouched
    with pytest.raises(InputError, match=r"raw.t field 'v'.*VARCHAR.*DOUBLE.*backfill"):
        write({"id": [6], "v": ["six"], PARTITION_COLUMN: ["GM0014"]}, ["GM0014"], [])
    assert rows(con, "select count(*) from raw.t") == [(2,)]
    # ... but a run over every gemeente in the table may change it
    write({"id": [7], "v": ["seven"], PARTITION_COLUMN: ["GM0014"]}, ["GM0014", "GM0034"], [])
    assert rows(con, f"select id, v, {PARTITION_COLUMN} from raw.t") == [(7, "seven", "GM0014")]


def buurten_file(path, buurten: list[tuple[str, str]]) -> str:
    """A GeoJSON (EPSG:28992) with the PDOK wijken-en-buurten attributes: one 100 m square per buurt."""
    features = []
    for index, (buurt, name) in enumerate(buurten):
        x, y = 100_000 + index * 200, 450_000
        features.append({"type": "Feature", "properties": {
            "buurtcode": buurt, "buurtnaam": name, "wijkcode": "WK" + buurt[2:8], "gemeentecode": "GM" + buurt[2:6],
            "gemeentenaam": "Test", "water": "NEE"},
            "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 100, y], [x + 100, y + 100],
                                                             [x, y + 100], [x, y]]]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features,
                                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}}))
    return str(path)


def test_partition_runs_of_the_buurt_boundaries_keep_the_other_gemeenten(tmp_path):
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    warehouse = Warehouse(build_path=str(tmp_path / "build.duckdb"), published_path=str(tmp_path / "wup.duckdb"))
    asset = parts.partitioned_by_gemeente(raw.pdok_buurten_raw)

    def run(partition: str, buurten: list[tuple[str, str]]) -> None:
        settings = PipelineSettings(gemeente_code="GM0014", year=2024, snapshot_dir=str(tmp_path / "snap"),
                                    outputs_dir=str(tmp_path / "out"),
                                    buurten_file=buurten_file(tmp_path / f"{partition}.geojson", buurten))
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.materialize([asset], instance=instance, partition_key=partition, resources={
                "http": HttpClient(), "warehouse": warehouse, "settings": settings})
        assert result.success

    run("GM0014", [("BU00140001", "Oud"), ("BU00140002", "Oud")])
    run("GM0034", [("BU00340001", "Almere 1")])
    run("GM0014", [("BU00140001", "Nieuw")])  # GM0014 again: its rows replaced, GM0034 kept
    with duckdb.connect(str(tmp_path / "build.duckdb"), read_only=True) as con:
        assert rows(con, f"select buurtcode, buurtnaam, {PARTITION_COLUMN} from raw.pdok_buurten order by 1") == [
            ("BU00140001", "Nieuw", "GM0014"), ("BU00340001", "Almere 1", "GM0034")]
        assert rows(con, "select partition_gemeente, dataset from audit.snapshots order by 1") == [
            ("GM0014", "GM0014.geojson"), ("GM0034", "GM0034.geojson")]


@pytest.mark.parametrize("first_rows", [0, 300_000])
def test_large_writes_in_slices_are_all_visible(tmp_path, monkeypatch, first_rows):
    """DuckDB 1.5.5 hides large inserts into a table created from an EMPTY Arrow scan in the same transaction
    (a file database; the rows reappear only in a new process). Every slice must be visible at once."""
    monkeypatch.setattr(raw, "INSERT_SLICE_ROWS", 150_000)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in ("raw", "audit"):
        con.execute(f"create schema {schema}")
    ensure_audit_tables(con)

    def frame(n: int, gemeente: str) -> pl.DataFrame:
        return pl.DataFrame({"id": range(n), PARTITION_COLUMN: [gemeente] * n},
                            schema={"id": pl.Int64, PARTITION_COLUMN: pl.String})

    write_partition_rows(con, "raw.big", frame(first_rows, "GM0014"), ["GM0014"], [], run_id="r")  # created
    assert rows(con, "select count(*) from raw.big") == [(first_rows,)]
    write_partition_rows(con, "raw.big", frame(450_000, "GM0034"), ["GM0034"], [], run_id="r")  # added
    assert rows(con, f"select {PARTITION_COLUMN}, count(*) from raw.big group by 1 order by 1") == (
        [("GM0014", first_rows)] if first_rows else []) + [("GM0034", 450_000)]
