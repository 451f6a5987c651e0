"""The DuckDB warehouse: a build file the pipeline writes, and published states analysts read.

Assets write to the build file. Only the ``published_warehouse`` asset, after every upstream asset and
blocking check succeeded, calls ``Warehouse.publish()``:

1. the build file is checkpointed (its write-ahead log folded in) and the rows of the history-keeping marts
   (``HISTORY_TABLES``) are appended to their ``audit.*_history`` tables;
2. it is copied to ``states/.<name>.tmp``, flushed to disk, opened once read-only to prove it is a whole
   DuckDB file, and renamed to ``states/<UTC timestamp>-<run id>.duckdb`` (read-only file mode);
3. a hard link to that state replaces the published path with one ``rename`` (atomic on POSIX).

The published path therefore always names one complete state. A reader that has the previous file open keeps
reading it (an open file survives its rename and unlink on POSIX; DuckDB's read-only lock sits on that old
file, so it blocks nobody); a new connection opens the new state. In one Python process DuckDB reuses an open
database instance per path: close the old connection before opening the next to see the new state.
The last ``keep_states`` states stay for ``rollback()``; older ones are pruned, never the published one.

A SIGKILL at any point leaves the published path as it was: before step 3 nothing it names has changed, and
step 3 is a single rename. Leftover ``.tmp`` files are removed at the next publish.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit")
STATE_SUFFIX = ".duckdb"
STATE_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{12}Z)-(?P<run_id>[A-Za-z0-9_.-]+)\.duckdb$")
CURRENT_FILE = "CURRENT"  # name of the published state, for file systems without hard links


class WarehouseStateError(RuntimeError):
    """Publishing or rolling back cannot be done; the message says why and what is left as it was."""


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


@dataclass(frozen=True)
class WarehouseState:
    """One published (or publishable) warehouse state kept on disk."""

    name: str
    path: Path
    created_at: datetime  # UTC, from the name
    run_id: str
    size_bytes: int
    published: bool

    def as_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "created_at": self.created_at.isoformat(),
                "run_id": self.run_id, "size_bytes": self.size_bytes, "published": self.published}


class Warehouse(dg.ConfigurableResource):
    build_path: str = Field(description="DuckDB file the pipeline writes.")
    published_path: str = Field(description="DuckDB file analysts read; replaced atomically by publish().")
    states_dir: str | None = Field(
        default=None, description="Where published states are kept (default: 'states' next to published_path)."
    )
    keep_states: int = Field(default=5, ge=1, description="Published states kept for rollback.")
    # 3 GB leaves room for the Python frames beside DuckDB within an 8 GiB run (the national run's peak, 8.05 GiB, is
    # in reading the BAG extract, not here: the same with 4 GB)
    memory_limit: str = Field(default="3GB", description="DuckDB memory limit during a run (it spills above it).")
    threads: int | None = Field(default=None, description="DuckDB threads (default: the CPUs this process may use).")

    _anchor: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Hold one connection to the build file for the run.

        DuckDB keeps a database instance per file and process while a connection is open, and every new instance
        loads the spatial extension again, checking the signature of its 80 MB file (measured 0.45-0.55 s).
        Holding one connection for the run makes every ``connect()`` of the run reuse the instance (the extension
        load is then free): `wup demo` went from 48 s to 32 s. Released at the end of the run.
        """
        self._anchor = self._open_anchor()

    def _open_anchor(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(_prepared(self.build_path)))
        load_spatial(con)
        # Instance-wide: DuckDB would take 80 % of RAM and its checkpoints fill it; above the limit it spills to
        # <build file>.tmp. Threads explicitly: a container may not report its CPU limit.
        con.execute(f"set memory_limit = '{self.memory_limit}'")
        con.execute(f"set threads = {self.threads or len(os.sched_getaffinity(0))}")
        return con

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.release()

    def release(self) -> None:
        """Close the run's held connection (the file can then be opened read-only, or replaced)."""
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None

    @property
    def states_path(self) -> Path:
        return Path(self.states_dir) if self.states_dir else Path(self.published_path).parent / "states"

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_duckdb(self.build_path) as con:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            ensure_audit_tables(con)
            yield con

    # -- publishing --------------------------------------------------------------------------------------
    def publish(self, run_id: str | None = None) -> Path:
        """Make the build file the published state (atomically) and keep it as a state; returns the path."""
        build, published, states = Path(self.build_path), Path(self.published_path), self.states_path
        if not build.is_file():
            raise WarehouseStateError(f"nothing to publish: no build file at {build}")
        states.mkdir(parents=True, exist_ok=True)
        published.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(states, published.parent)
        with open_duckdb(build) as con:
            for schema in SCHEMAS:
                con.execute(f"create schema if not exists {schema}")
            ensure_audit_tables(con)
            append_history(con, run_id or "manual")
            con.execute("checkpoint")
        wal = build.with_name(build.name + ".wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise WarehouseStateError(
                f"{build} still has a write-ahead log after checkpoint (another connection is open?); not published"
            )
        name = f"{utc_stamp()}-{_safe_run_id(run_id)}{STATE_SUFFIX}"
        state = states / name
        tmp = states / f".{name}.tmp"
        shutil.copyfile(build, tmp)
        _fsync(tmp)
        _assert_readable(tmp)
        os.chmod(tmp, 0o444)  # a kept state is not edited in place; analysts open it read-only
        os.replace(tmp, state)
        _fsync_dir(states)
        self._point_published_at(state)
        self.prune()
        return published

    def rollback(self, states_back: int = 1) -> WarehouseState:
        """Publish the state ``states_back`` places older than the one published now; returns it."""
        if states_back < 1:
            raise WarehouseStateError(f"states_back must be 1 or more, got {states_back}")
        states = self.list_states()
        current = next((i for i, s in enumerate(states) if s.published), None)
        if current is None:
            raise WarehouseStateError(
                f"the published warehouse {self.published_path} is none of the kept states in {self.states_path}; "
                "nothing to roll back from"
            )
        target = current + states_back
        if target >= len(states):
            raise WarehouseStateError(
                f"cannot go back {states_back} state(s): {len(states) - 1 - current} older state(s) kept "
                f"(keep_states={self.keep_states}); see `wup states`"
            )
        _assert_readable(states[target].path)
        self._point_published_at(states[target].path)
        return next(s for s in self.list_states() if s.name == states[target].name)

    def list_states(self) -> list[WarehouseState]:
        """Kept states, newest first; ``published`` marks the one the published path names."""
        states = self.states_path
        if not states.is_dir():
            return []
        published = Path(self.published_path)
        current_name = _read_current(states)
        found = []
        for path in states.iterdir():
            match = STATE_NAME.match(path.name)
            if not match or not path.is_file():
                continue
            stamp = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
            found.append(WarehouseState(
                name=path.name, path=path, created_at=stamp, run_id=match["run_id"],
                size_bytes=path.stat().st_size, published=_is_published(path, published, current_name),
            ))
        return sorted(found, key=lambda s: s.name, reverse=True)

    def prune(self) -> list[Path]:
        """Delete states beyond the newest ``keep_states``; the published state is always kept."""
        removed = []
        for state in self.list_states()[self.keep_states:]:
            if state.published:
                continue
            state.path.unlink(missing_ok=True)  # a reader holding it open keeps reading (POSIX)
            removed.append(state.path)
        return removed

    def reset_build(self) -> bool:
        """Start the build file from the published state (so a run that died half-way leaves nothing behind).

        Returns False when nothing is published yet (the build file is then left as it is).
        """
        published, build = Path(self.published_path), Path(self.build_path)
        if not published.is_file():
            return False
        held = self._anchor is not None
        self.release()  # an open instance would go on writing the replaced file
        build.parent.mkdir(parents=True, exist_ok=True)
        tmp = build.with_name(f".{build.name}.tmp")
        shutil.copyfile(published, tmp)
        os.chmod(tmp, 0o644)
        build.with_name(build.name + ".wal").unlink(missing_ok=True)
        os.replace(tmp, build)
        if held:
            self._anchor = self._open_anchor()
        return True

    def _point_published_at(self, state: Path) -> None:
        """Replace the published path by (a hard link to) ``state`` with one rename."""
        published = Path(self.published_path)
        tmp = published.with_name(f".{published.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(state, tmp)
        except OSError:  # another file system, or no hard links: a full copy, still renamed into place
            shutil.copyfile(state, tmp)
            _fsync(tmp)
        os.replace(tmp, published)
        _fsync_dir(published.parent)
        _write_atomic(self.states_path / CURRENT_FILE, state.name + "\n")


# --- history of marts that follow buurten over the years -----------------------------------------------------

# mart -> (history table, key columns, column that marks the rows this run computed)
HISTORY_TABLES = {
    "marts.monitoring_buurt": ("audit.monitoring_buurt_history", ("reference_year", "buurt_code"), "row_origin"),
}


def append_history(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Append the rows this run computed of every history-keeping mart to its audit history table.

    A year published again replaces that year's rows (same keys); other years stay, so yearly runs add years.
    Returns rows appended per history table.
    """
    appended = {}
    published_at = datetime.now(UTC).isoformat(timespec="seconds")
    for mart, (history, keys, origin) in HISTORY_TABLES.items():
        schema, table = mart.split(".")
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
        if not exists:
            continue
        columns = con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = ? "
            "and table_name = ? order by ordinal_position", [schema, table],
        ).fetchall()
        for column, kind in columns:  # a mart that gained a column: the history gains it too (older rows null)
            con.execute(f'alter table {history} add column if not exists "{column}" {kind}')
        same_keys = " and ".join(f"history.{key} is not distinct from mart.{key}" for key in keys)
        con.execute("begin transaction")
        try:
            con.execute(
                f"delete from {history} as history using {mart} as mart "
                f"where mart.{origin} = 'this_run' and {same_keys}"
            )
            appended[history] = con.execute(
                f"insert into {history} by name select * exclude ({origin}), ? as run_id, "
                f"?::timestamptz as published_at from {mart} where {origin} = 'this_run'",
                [run_id, published_at],
            ).fetchone()[0]
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return appended


AUDIT_DDL = (
    """create table if not exists audit.snapshots (
        snapshot_id varchar, source_id varchar, dataset varchar, url varchar, retrieved_at varchar,
        sha256 varchar, bytes bigint, path varchar, rows bigint, licence varchar, source_version varchar,
        etag varchar, last_modified varchar, from_mirror boolean, page integer, retrieval_id varchar,
        raw_table varchar, run_id varchar, partition_gemeente varchar)""",
    # build files from before gemeente partitions
    "alter table audit.snapshots add column if not exists partition_gemeente varchar",
    """create table if not exists audit.column_lineage (
        model varchar, column_name varchar, source_table varchar, source_column varchar,
        expression varchar, code_version varchar)""",
    # Rows of marts.monitoring_buurt as published, one row per buurt and reference year (the latest publish of
    # that year wins). The mart reads it back for the years this run did not compute. Columns the mart adds
    # later are added by append_history().
    """create table if not exists audit.monitoring_buurt_history (
        reference_year integer, gemeente_code varchar, wijk_code varchar, buurt_code varchar, buurt_name varchar,
        dwellings bigint, heating_year integer, pct_dwellings_gas_free double, dwellings_gas_free_estimated double,
        pct_heat_network double, heat_network_source varchar, n_label_ab bigint, n_label_cd bigint,
        n_label_eg bigint, pct_label_ab double, pct_label_cd double, pct_label_eg double,
        pct_label_estimated double, gas_year integer, avg_gas_m3 double, gas_source varchar,
        households bigint, households_reached bigint, reach_ratio double, respondents bigint,
        response_rate double, run_id varchar, published_at timestamptz)""",
)


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in AUDIT_DDL:
        con.execute(statement)


# --- helpers -----------------------------------------------------------------------------------------------


def _prepared(path: str) -> Path:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return Path(path)


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _safe_run_id(run_id: str | None) -> str:
    text = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id or "manual")
    return text[:64] or "manual"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_current(states: Path) -> str | None:
    try:
        return (states / CURRENT_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _is_published(state: Path, published: Path, current_name: str | None) -> bool:
    try:
        if os.path.samefile(state, published):
            return True
    except OSError:
        return False
    # a copied (not linked) publish: CURRENT names it, and the sizes must agree
    return state.name == current_name and state.stat().st_size == published.stat().st_size


def _assert_readable(path: Path) -> None:
    """Open the file read-only and list its tables: a truncated or foreign file fails here, not for readers."""
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            con.execute("select count(*) from information_schema.tables").fetchone()
        finally:
            con.close()
    except duckdb.Error as exc:
        raise WarehouseStateError(f"{path} is not a readable DuckDB warehouse: {exc}") from exc


def _remove_leftovers(states: Path, published_dir: Path) -> None:
    """Temporary files of a publish that was killed half-way (one writer at a time, so none is in use)."""
    for folder in (states, published_dir):
        for path in folder.glob(".*.tmp"):
            path.unlink(missing_ok=True)
