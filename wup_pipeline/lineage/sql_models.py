"""Plain DuckDB SQL models: discovery, dependencies and column lineage by parsing the SQL (sqlglot).

Knows nothing of Dagster: ``assets/sql_models.py`` turns each model into one asset.
A model file ``dbt_like_sql/<layer>/.../<name>.sql`` builds table ``<layer>.<name>``; its inputs are
the schema-qualified tables it reads; ``<name>.yml`` beside it documents the table and every column.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer import optimize

LAYERS = ("staging", "intermediate", "marts")
# libyaml's safe loader when PyYAML has it (the same documents, ~10x faster: the .yml files are read by every
# output asset); the pure-Python safe loader otherwise
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ModelError(ValueError):
    """A SQL model that cannot be parsed, documented or built; the message names the file."""


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    description: str
    unit: str | None


@dataclass(frozen=True)
class SqlModel:
    path: Path
    layer: str
    name: str
    sql: str
    description: str
    columns: tuple[ColumnDoc, ...]

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def code_version(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    @property
    def inputs(self) -> tuple[tuple[str, str], ...]:
        return model_inputs(self.sql, str(self.path))


@dataclass(frozen=True)
class LineageRow:
    model: str  # schema.table
    column: str
    source_table: str  # schema.table
    source_column: str
    expression: str  # the SQL steps from the output column down to the source column


def model_inputs(sql: str, where: str = "<sql>") -> tuple[tuple[str, str], ...]:
    """Schema-qualified tables a query reads (CTE names excluded), sorted."""
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ModelError(f"{where}: SQL does not parse: {exc}") from exc
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    found = set()
    for table in tree.find_all(exp.Table):
        if table.db:
            found.add((table.db, table.name))
        elif table.name not in ctes and not isinstance(table.this, exp.Anonymous):
            raise ModelError(f"{where}: table '{table.name}' is not schema-qualified (write raw.x, staging.x, ...)")
    return tuple(sorted(found))


def load_model(path: Path, root: Path) -> SqlModel:
    relative = path.relative_to(root)
    layer = relative.parts[0]
    if layer not in LAYERS:
        raise ModelError(f"{path}: models live under one of {LAYERS}")
    doc_path = path.with_suffix(".yml")
    if not doc_path.exists():
        raise ModelError(f"{path}: documentation file {doc_path.name} is missing")
    try:
        doc = yaml.load(doc_path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ModelError(f"{doc_path}: not valid YAML: {exc}") from exc
    columns = []
    for index, column in enumerate(doc.get("columns") or []):
        if not isinstance(column, dict) or not column.get("name") or not column.get("description"):
            raise ModelError(f"{doc_path}: column entry {index} needs 'name' and 'description'")
        columns.append(ColumnDoc(column["name"], column["description"].strip(), column.get("unit")))
    if not doc.get("description"):
        raise ModelError(f"{doc_path}: 'description' is missing")
    return SqlModel(
        path=path,
        layer=layer,
        name=path.stem,
        sql=path.read_text(encoding="utf-8").strip().rstrip(";"),
        description=doc["description"].strip(),
        columns=tuple(columns),
    )


def discover_models(root: Path) -> list[SqlModel]:
    models = [load_model(path, root) for path in sorted(root.rglob("*.sql"))]
    seen: dict[str, Path] = {}
    for model in models:
        if model.table in seen:
            raise ModelError(f"{model.path}: table {model.table} is also built by {seen[model.table]}")
        seen[model.table] = model.path
    return models


def table_schemas(con: duckdb.DuckDBPyConnection, tables: tuple[tuple[str, str], ...]) -> dict:
    """{schema: {table: {column: type}}} for sqlglot, read from the warehouse."""
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for db, name in tables:
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [db, name],
        ).fetchall()
        schema.setdefault(db, {})[name] = {column: _sqlglot_type(kind) for column, kind in rows}
    return schema


def _sqlglot_type(duckdb_type: str) -> str:
    # sqlglot does not know every DuckDB type (GEOMETRY, nested types); lineage only needs a name.
    known = ("VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP", "DECIMAL", "BLOB")
    return duckdb_type if duckdb_type.split("(")[0] in known else "VARCHAR"


def column_lineage(model_table: str, sql: str, schema: dict) -> list[LineageRow]:
    """For every output column, the source columns it is computed from and the SQL on the way.

    Depends only on the SQL text and the input schemas, so it is computed once per (table, SQL, schemas) and
    sqlglot version: kept for the process and, when a cache directory is set, on disk (``lineage_cache_dir``)."""
    key = lineage_cache_key(model_table, sql, schema)
    rows = _LINEAGE_MEMO.get(key)
    if rows is None:
        rows = _read_cached_lineage(key)
    if rows is None:
        rows = _compute_column_lineage(model_table, sql, schema)
        _write_cached_lineage(key, rows)
    _LINEAGE_MEMO[key] = rows
    return list(rows)


_LINEAGE_MEMO: dict[str, tuple[LineageRow, ...]] = {}
# Where computed lineage is kept between runs: unset, ~/.cache/wup-pipeline/sql-lineage ($XDG_CACHE_HOME is honoured);
# empty, nowhere (in memory for the process only).
LINEAGE_CACHE_ENV = "WUP_LINEAGE_CACHE_DIR"
LINEAGE_FORMAT = 1  # part of the cache key: raise it when _compute_column_lineage changes what it returns


def lineage_cache_key(model_table: str, sql: str, schema: dict) -> str:
    """sha256 over what the lineage depends on: the table, its SQL, the input schemas and the sqlglot version."""
    payload = json.dumps([LINEAGE_FORMAT, model_table, sql, schema, sqlglot.__version__], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def lineage_cache_dir() -> Path | None:
    """Read when lineage is computed, never at import."""
    value = os.environ.get(LINEAGE_CACHE_ENV)
    if value is not None:
        return Path(value) if value.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wup-pipeline" / "sql-lineage"


def _read_cached_lineage(key: str) -> tuple[LineageRow, ...] | None:
    directory = lineage_cache_dir()
    if directory is None:
        return None
    try:
        items = json.loads((directory / f"{key}.json").read_text(encoding="utf-8"))
        return tuple(LineageRow(**item) for item in items)
    except (OSError, ValueError, TypeError):  # absent, half-written by a crash or of an older layout: recompute
        return None


def _write_cached_lineage(key: str, rows: tuple[LineageRow, ...]) -> None:
    directory = lineage_cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, suffix=".tmp", delete=False) as tmp:
            json.dump([dataclasses.asdict(r) for r in rows], tmp)
        os.replace(tmp.name, directory / f"{key}.json")  # readers never see a half-written file
    except OSError:
        return  # a cache that cannot be written only costs time


def _compute_column_lineage(model_table: str, sql: str, schema: dict) -> tuple[LineageRow, ...]:
    tree = optimize(sqlglot.parse_one(sql, dialect="duckdb"), schema=schema, dialect="duckdb")
    # one qualification and scope for all columns (column=None), instead of one per column: wide marts have
    # hundreds of columns, and the per-column walk re-qualified the whole query each time
    roots = lineage(None, tree, schema=schema, dialect="duckdb")
    rows = []
    for column in tree.named_selects:
        for leaf, path in _leaves_with_paths(roots[column]):
            if not isinstance(leaf.source, exp.Table):
                continue  # a literal or a function without column input
            steps = []
            for node in path:
                text = node.expression.sql(dialect="duckdb")
                if text not in steps:
                    steps.append(text)
            rows.append(
                LineageRow(
                    model=model_table,
                    column=column,
                    source_table=f"{leaf.source.db}.{leaf.source.name}",
                    source_column=leaf.name.split(".")[-1].strip('"'),
                    expression=" <- ".join(steps[:-1]) or steps[-1],
                )
            )
    return tuple(sorted(set(rows), key=lambda r: (r.column, r.source_table, r.source_column)))


def _leaves_with_paths(root):
    stack = [(root, [root])]
    while stack:
        node, path = stack.pop()
        if not node.downstream:
            yield node, path
        for child in node.downstream:
            stack.append((child, path + [child]))


@dataclass(frozen=True)
class BuiltModel:
    row_count: int
    columns: tuple[tuple[str, str], ...]  # (name, duckdb type)
    lineage: tuple[LineageRow, ...]


def build_model(con: duckdb.DuckDBPyConnection, model: SqlModel) -> BuiltModel:
    """Create or replace the model's table and record its column lineage, in one transaction."""
    schema = table_schemas(con, model.inputs)
    for db, name in model.inputs:
        if not schema[db][name]:
            raise ModelError(f"{model.path}: input table {db}.{name} does not exist in the warehouse")
    con.execute("begin transaction")
    try:
        try:
            con.execute(f"create or replace table {model.table} as {model.sql}")
        except duckdb.Error as exc:
            raise ModelError(f"{model.path}: DuckDB could not build {model.table}: {exc}") from exc
        columns = tuple(
            (name, kind) for name, kind in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [model.layer, model.name],
            ).fetchall()
        )
        documented = {c.name for c in model.columns}
        undocumented = [name for name, _ in columns if name not in documented]
        if undocumented:
            raise ModelError(f"{model.path.with_suffix('.yml')}: columns not documented: {undocumented}")
        rows = column_lineage(model.table, model.sql, schema)
        con.execute("delete from audit.column_lineage where model = ?", [model.table])
        if rows:
            con.executemany(
                "insert into audit.column_lineage values (?, ?, ?, ?, ?, ?)",
                [(r.model, r.column, r.source_table, r.source_column, r.expression, model.code_version)
                 for r in rows],
            )
        row_count = con.execute(f"select count(*) from {model.table}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return BuiltModel(row_count=row_count, columns=columns, lineage=tuple(rows))
