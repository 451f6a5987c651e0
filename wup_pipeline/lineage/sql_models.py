"""Plain DuckDB SQL models: discovery, dependencies and column lineage by parsing the SQL (sqlglot).

Knows nothing of Dagster: ``assets/sql_models.py`` turns each model into one asset.
A model file ``dbt_like_sql/<layer>/.../<name>.sql`` builds table ``<layer>.<name>``; its inputs are
the schema-qualified tables it reads; ``<name>.yml`` beside it documents the table and every column.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer import optimize

LAYERS = ("staging", "intermediate", "marts")


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
        doc = yaml.safe_load(doc_path.read_text(encoding="utf-8")) or {}
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
    """For every output column, the source columns it is computed from and the SQL on the way."""
    tree = optimize(sqlglot.parse_one(sql, dialect="duckdb"), schema=schema, dialect="duckdb")
    rows = []
    for column in tree.named_selects:
        root = lineage(column, tree, schema=schema, dialect="duckdb")
        for leaf, path in _leaves_with_paths(root):
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
    return sorted(set(rows), key=lambda r: (r.column, r.source_table, r.source_column))


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
