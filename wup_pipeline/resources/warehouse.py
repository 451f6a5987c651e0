"""The DuckDB warehouse: a build file the pipeline writes, and a published copy analysts read.

Assets write to the build file. Only the ``published_warehouse`` asset, after every upstream
asset and blocking check succeeded, copies it to the published path with an atomic rename, so
a reader never sees a half-written state.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit")


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB spatial from the duckdb-extension-spatial wheel (no download at run time)."""
    try:
        con.load_extension("spatial")
    except duckdb.Error:
        from duckdb_extensions import import_extension

        import_extension("spatial", con=con)
        con.load_extension("spatial")


@contextlib.contextmanager
def open_duckdb(path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        load_spatial(con)
        yield con
    finally:
        con.close()


class Warehouse(dg.ConfigurableResource):
    build_path: str = Field(description="DuckDB file the pipeline writes.")
    published_path: str = Field(description="DuckDB file analysts read; replaced atomically.")

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_duckdb(self.build_path) as con:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            ensure_audit_tables(con)
            yield con

    def publish(self) -> Path:
        """Copy the build file next to the published path, then rename it into place."""
        source, target = Path(self.build_path), Path(self.published_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open_duckdb(source) as con:
            con.execute("checkpoint")
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".duckdb.tmp", delete=False) as tmp:
            pass
        shutil.copyfile(source, tmp.name)
        os.replace(tmp.name, target)
        return target


AUDIT_DDL = (
    """create table if not exists audit.snapshots (
        snapshot_id varchar, source_id varchar, dataset varchar, url varchar, retrieved_at varchar,
        sha256 varchar, bytes bigint, path varchar, rows bigint, licence varchar, source_version varchar,
        etag varchar, last_modified varchar, from_mirror boolean, page integer, retrieval_id varchar,
        raw_table varchar, run_id varchar)""",
    """create table if not exists audit.column_lineage (
        model varchar, column_name varchar, source_table varchar, source_column varchar,
        expression varchar, code_version varchar)""",
)


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in AUDIT_DDL:
        con.execute(statement)
