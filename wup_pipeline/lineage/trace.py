"""Every published figure's stable id, and its trace back to SQL, source columns, snapshots, parameters and checks.

Figure ids
    ``<section>/<buurt_code>[/<key>...]/<column>``: one id per value of a mart table keyed by buurt, e.g.
    ``factscan/BU99990101/avg_gas_m3`` (marts.factscan_buurt),
    ``balans/BU99990101/all_electric/co2_reduction_ton_per_year`` (marts.route_costs_buurt, key strategy),
    ``koppelkansen/BU99990101/weg/in_plan_window`` (key asset).
    Each mart table has its own section, so an id never changes meaning when another mart gains a column of the
    same name. Figures computed in the report layer have the sections ``overzicht`` (priority score and its
    criteria) and ``kaart`` (100 m map cells). ``FIGURE_TABLES`` is the registry; a new mart keyed by buurt gets
    figures automatically (section = its name without ``_buurt``), with key columns detected from its rows.

``build_figures`` writes ``audit.figures`` (one row per figure, the value as published, after privacy rules);
``trace`` walks ``audit.column_lineage`` from a figure down to raw tables and collects the snapshots, parameter
rows and check results on the way; ``format_trace`` prints it (``wup trace``). ``table_content_hash`` gives the
order-independent content hash per table that ``audit.table_hashes`` keeps per run. Knows nothing of Dagster.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from wup_pipeline.reports import privacy
from wup_pipeline.resources.settings import REPO_DIR

FIGURES_DDL = """
create table if not exists audit.figures (
    figure_id varchar,            -- <section>/<buurt_code>[/<key>...]/<column>
    output varchar[],             -- outputs showing it (factscan_html, factscan_excel, factscan_geopackage, ...)
    section varchar,
    buurt_code varchar,
    figure_key varchar,           -- strategy, asset, map cell, ... ('' for one row per buurt)
    mart_table varchar,           -- schema.table the value comes from
    column_name varchar,
    value_number double,          -- as published: null when suppressed
    value_text varchar,           -- the same value as text (categories, dates, booleans)
    unit varchar,
    suppressed boolean,           -- blanked by the privacy rules (reason below)
    suppression_reason varchar,
    expression varchar,           -- for figures computed in the report layer: how
    depends_on varchar[],         -- for those: the figure ids they are computed from
    lineage_columns varchar[],    -- schema.table.column where the lineage walk starts
    joins varchar[],              -- the tables the mart reads (its SQL inputs)
    source_tables varchar[],      -- the raw tables the lineage reaches
    source_note varchar,          -- the short source note the HTML shows
    sql_hash varchar,             -- code_version of the mart's SQL file (sha256 prefix), 'python' for Python-built
    run_id varchar,
    code_version varchar          -- git commit, SQL and parameter versions of the run
)"""

TABLE_HASHES_DDL = """
create table if not exists audit.table_hashes (
    table_name varchar,
    row_count bigint,
    column_signature varchar,     -- name:type, in order
    content_hash varchar,         -- sha256 over the signature, row count and order-independent row-hash aggregates
    run_id varchar,
    code_version varchar
)"""

KEY_CANDIDATES = ("strategy", "scenario", "variant", "parameter_set", "parameter", "sensitivity_case", "case_name",
                  "asset", "owner_type", "reference_year", "year")


@dataclass(frozen=True)
class FigureTable:
    table: str  # schema.table
    section: str
    keys: tuple[str, ...] = ()


FIGURE_TABLES: tuple[FigureTable, ...] = (
    FigureTable("marts.factscan_buurt", "factscan"),
    FigureTable("marts.housing_stock_buurt", "woningvoorraad"),
    FigureTable("marts.socio_economic_buurt", "sociaal"),
    FigureTable("marts.energy_use_buurt", "energie"),
    FigureTable("marts.infrastructure_buurt", "koppelkansen", ("asset",)),
    FigureTable("marts.initiatives_buurt", "initiatieven"),
    FigureTable("marts.participation_buurt", "participatie"),
    FigureTable("marts.route_costs_buurt", "balans", ("strategy",)),
    FigureTable("marts.route_sensitivity_buurt", "gevoeligheid", ("scenario",)),
    FigureTable("marts.route_costs_dwelling_group", "woninggroep",
                ("strategy", "dwelling_type_class", "build_year_class", "energy_label_class", "owner_type")),
    FigureTable("marts.monitoring_buurt", "monitoring", ("reference_year",)),
)
SECTION_OF = {t.table: t.section for t in FIGURE_TABLES}


def section_of(table: str) -> str:
    """The figure-id section of a mart table (a new mart: its name without _buurt)."""
    return SECTION_OF.get(table) or table.split(".")[-1].removesuffix("_buurt")
DERIVED_SECTIONS = ("overzicht", "kaart")


class FigureError(ValueError):
    """A figure id that is malformed or not in audit.figures."""


NULL_KEY = "-"  # a key value that is null (e.g. no label class)


def key_part(value) -> str:
    """A key value as it appears in a figure id ('%' and '/' escaped so the id splits unambiguously, null as '-';
    the SQL in build_figures does the same)."""
    return NULL_KEY if value is None else str(value).replace("%", "%25").replace("/", "%2F")


def figure_id(section: str, buurt_code: str, column: str, keys: Iterable = ()) -> str:
    return "/".join([section, buurt_code, *(key_part(k) for k in keys), column])


def parse_figure_id(text: str) -> tuple[str, str, tuple[str, ...], str]:
    parts = text.strip().split("/")
    if len(parts) < 3 or not all(parts):
        raise FigureError(f"'{text}' is not a figure id: expected <section>/<buurt_code>[/<key>...]/<column>, "
                          "e.g. factscan/BU99990101/avg_gas_m3")
    return parts[0], parts[1], tuple(parts[2:-1]), parts[-1]


# ---------------------------------------------------------------------------------------------------------------
# Which mart tables carry figures, and their key columns


@dataclass(frozen=True)
class ResolvedTable:
    table: str
    section: str
    keys: tuple[str, ...]
    value_columns: tuple[str, ...]


def _unique_on(con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...]) -> bool:
    cols = ", ".join(f'"{c}"' for c in ("buurt_code", *keys))
    return con.execute(f"select count(*) = count(distinct ({cols})) from {table}").fetchone()[0]


def figure_tables(con: duckdb.DuckDBPyConnection) -> tuple[list[ResolvedTable], list[str]]:
    """The mart tables keyed by buurt in the warehouse, with key and value columns; and warnings for the rest."""
    known = {t.table: t for t in FIGURE_TABLES}
    tables = [f"marts.{name}" for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
    ).fetchall()]
    resolved, warnings = [], []
    for table in sorted(tables, key=lambda t: (list(known).index(t) if t in known else len(known), t)):
        columns = [name for name, _ in privacy.table_columns(con, table)]
        if "buurt_code" not in columns:
            warnings.append(f"{table}: no buurt_code column; its values have no figure ids")
            continue
        spec = known.get(table) or FigureTable(table, section_of(table))
        keys = tuple(k for k in spec.keys if k in columns)
        for candidate in KEY_CANDIDATES:
            if _unique_on(con, table, keys):
                break
            if candidate in columns and candidate not in keys:
                keys = (*keys, candidate)
        if not _unique_on(con, table, keys):
            warnings.append(f"{table}: rows are not unique per buurt_code and {list(keys)}; no figure ids")
            continue
        values = tuple(c for c in columns if c not in privacy.IDENTITY_COLUMNS and c not in keys)
        resolved.append(ResolvedTable(table, spec.section, keys, values))
    return resolved, warnings


# ---------------------------------------------------------------------------------------------------------------
# The lineage graph (audit.column_lineage is small: one row per column edge, independent of the data size)


@dataclass(frozen=True)
class LineageStep:
    depth: int
    table: str
    column: str
    source_table: str
    source_column: str  # '*' where only table-level lineage is known
    expression: str
    code_version: str


class LineageGraph:
    def __init__(self, rows: Iterable[tuple[str, str, str, str, str, str]]):
        self.edges: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
        self.inputs: dict[str, set[str]] = {}
        self.versions: dict[str, str] = {}
        for model, column, source_table, source_column, expression, version in rows:
            self.edges.setdefault((model, column), []).append((source_table, source_column, expression or "",
                                                               version or ""))
            self.inputs.setdefault(model, set()).add(source_table)
            if version:
                self.versions[model] = version

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> LineageGraph:
        if not privacy.table_exists(con, "audit.column_lineage"):
            return cls([])
        return cls(con.execute(
            "select model, column_name, source_table, source_column, expression, code_version "
            "from audit.column_lineage order by model, column_name, source_table, source_column").fetchall())

    def steps(self, table: str, column: str) -> list[LineageStep]:
        """Depth-first from one column down to raw tables; table-level where a column has no column lineage
        (e.g. count(*))."""
        out: list[LineageStep] = []
        seen: set[tuple[str, str]] = set()

        def visit(tbl: str, col: str, depth: int) -> None:
            if (tbl, col) in seen or tbl.startswith("raw."):
                return
            seen.add((tbl, col))
            edges = self.edges.get((tbl, col)) if col != "*" else None
            if edges:
                for source_table, source_column, expression, version in edges:
                    out.append(LineageStep(depth, tbl, col, source_table, source_column, expression, version))
                    visit(source_table, source_column, depth + 1)
                return
            for source_table in sorted(self.inputs.get(tbl, ())):
                why = "table-level: this column has no column-level lineage (e.g. count(*))" if col != "*" else \
                    "table-level"
                out.append(LineageStep(depth, tbl, col, source_table, "*", why, self.versions.get(tbl, "")))
                visit(source_table, "*", depth + 1)

        visit(table, column, 0)
        return out

    def raw_tables(self, table: str, column: str) -> list[str]:
        reached = {s.source_table for s in self.steps(table, column) if s.source_table.startswith("raw.")}
        if table.startswith("raw."):
            reached.add(table)
        return sorted(reached)

    def model_inputs(self, table: str) -> list[str]:
        return sorted(self.inputs.get(table, ()))


# ---------------------------------------------------------------------------------------------------------------
# Snapshots, parameters, checks


def snapshots_for(con: duckdb.DuckDBPyConnection, raw_tables: Iterable[str]) -> list[dict]:
    tables = sorted(set(raw_tables))
    if not tables or not privacy.table_exists(con, "audit.snapshots"):
        return []
    # distinct: one file delivered for several gemeente partitions is recorded once per gemeente
    cursor = con.execute(
        "select raw_table, source_id, dataset, url, retrieved_at, sha256, source_version, licence, rows, run_id "
        "from (select distinct raw_table, source_id, dataset, url, retrieved_at, sha256, source_version, licence, "
        "rows, run_id, page from audit.snapshots where list_contains($tables, raw_table)) "
        "order by raw_table, source_id, dataset, coalesce(page, 0), retrieved_at", {"tables": tables})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def snapshot_notes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per raw table one short note: source, version and retrieval date(s)."""
    if not privacy.table_exists(con, "audit.snapshots"):
        return {}
    rows = con.execute("""
        select raw_table, string_agg(distinct source_id, ', ' order by source_id),
               string_agg(distinct source_version, ', ' order by source_version),
               min(left(retrieved_at, 10)), max(left(retrieved_at, 10))
        from audit.snapshots where raw_table is not null group by raw_table""").fetchall()
    notes = {}
    for table, sources, versions, first, last in rows:
        when = first if first == last else f"{first} t/m {last}"
        notes[table] = f"{sources}{' ' + versions if versions else ''}, opgehaald {when}"
    return notes


PARAMETER_NAME = re.compile(r"\['([A-Za-z0-9_]+)'\]")
PARAMETER_ROWS_SHOWN = 25  # a parameter table this small is shown whole when the SQL does not name its rows
PARAMETER_ROWS_KEPT = 200  # rows kept per table in a trace (a name can cover a row per type, period and label)
PARAMETER_ROWS_PRINTED = 12


@dataclass
class ParameterUse:
    table: str
    file: str
    file_sha256: str | None
    total_rows: int
    names_used: list[str]
    rows: list[dict]  # the rows used (by name), or all rows of a small table; at most PARAMETER_ROWS_KEPT
    parameter_sets: list[str]
    sources: list[str]
    rows_used: int = 0  # how many rows that is before the cap (0: the rows used are not known)


def parameter_dependencies(steps: Iterable[LineageStep]) -> dict[str, list[str]]:
    """Parameter table -> the parameter names the SQL looks up on the paths into it (map lookups
    ``by_name['x']``); an empty list means the rows used are not named in the SQL (any row may matter)."""
    steps = list(steps)
    tables = sorted({s.source_table for s in steps if s.source_table.startswith("raw.param_")})
    return {table: sorted({name for s in steps if s.source_table == table
                           for name in PARAMETER_NAME.findall(s.expression)}) for table in tables}


def row_parameter_ids(con: duckdb.DuckDBPyConnection, figure: dict) -> dict[str, list[tuple[str, str]]]:
    """Parameter table -> (parameter set, name) the figure's own mart row says it used.

    The cost model writes a ``parameter_rows`` column (ids ``<file>:<parameter set>:<name>``, docs/cost-model.md);
    where a mart row has one, the trace shows exactly those rows instead of the whole parameter table.
    """
    table = figure.get("mart_table")
    if not table or not figure.get("buurt_code") or not privacy.table_exists(con, table):
        return {}
    if "parameter_rows" not in [c for c, _ in privacy.table_columns(con, table)]:
        return {}
    spec = next((t for t in figure_tables(con)[0] if t.table == table), None)
    keys = spec.keys if spec else ()
    values = [None if v == NULL_KEY else v.replace("%2F", "/").replace("%25", "%")
              for v in (figure.get("figure_key") or "").split("/")] if keys else []
    where = " and ".join(["buurt_code = ?", *(f'cast("{k}" as varchar) is not distinct from ?' for k in keys)])
    found = con.execute(f"select parameter_rows from {table} where {where}", [figure["buurt_code"], *values]).fetchone()
    if not found or found[0] is None:
        return {}
    ids = found[0] if isinstance(found[0], list) else str(found[0]).split(";")
    used: dict[str, list[tuple[str, str]]] = {}
    for row_id in ids:
        parts = row_id.strip().split(":")
        if len(parts) == 3:
            used.setdefault(f"raw.param_{parts[0]}", []).append((parts[1], parts[2]))
    return used


def parameter_uses(con: duckdb.DuckDBPyConnection, steps: list[LineageStep],
                   exact: dict[str, list[tuple[str, str]]] | None = None) -> list[ParameterUse]:
    """The parameter tables the lineage reaches; where the SQL names the parameters, only those rows; where the
    mart row lists the rows it used (``exact``, from row_parameter_ids), exactly those."""
    from wup_pipeline.parameters import parameter_files

    files = parameter_files()
    exact = exact or {}
    uses = []
    for table, names in {**parameter_dependencies(steps), **{t: [] for t in exact}}.items():
        if not privacy.table_exists(con, table):
            continue
        columns = [c for c, _ in privacy.table_columns(con, table)]
        total = con.execute(f"select count(*) from {table}").fetchone()[0]
        if table in exact and {"parameter_set", "name"} <= set(columns):
            names = sorted({name for _, name in exact[table]})
            pairs = [f"{s}\0{n}" for s, n in exact[table]]
            cursor = con.execute(f"select * from {table} where list_contains($pairs, parameter_set || chr(0) || name) "
                                 "order by all", {"pairs": pairs})
        elif names and "name" in columns:
            cursor = con.execute(f"select * from {table} where list_contains($names, name) order by name",
                                 {"names": names})
        elif total <= PARAMETER_ROWS_SHOWN:
            cursor = con.execute(f"select * from {table}")
        else:
            cursor = None
        rows, used = [], 0
        if cursor is not None:
            header = [d[0] for d in cursor.description]
            fetched = cursor.fetchall()
            used = len(fetched)
            rows = [dict(zip(header, r, strict=True)) for r in fetched[:PARAMETER_ROWS_KEPT]]
        sets = [r[0] for r in con.execute(f"select distinct parameter_set from {table} order by 1").fetchall()] \
            if "parameter_set" in columns else []
        sources = [r[0] for r in con.execute(f"select distinct source from {table} order by 1").fetchall()] \
            if "source" in columns else []
        file_name = f"{table.removeprefix('raw.param_')}.csv"
        uses.append(ParameterUse(table, f"wup_pipeline/parameters/{file_name}", files.get(file_name), total, names,
                                 rows, sets, sources, used))
    return uses


def check_summary(con: duckdb.DuckDBPyConnection, tables: Iterable[str], run_id: str | None) -> list[dict]:
    """Per table: the checks of the figure's run (else the latest run that checked it), counted by outcome,
    with every check that did not pass."""
    tables = sorted(set(tables))
    if not tables or not privacy.table_exists(con, "audit.check_results"):
        return []
    cursor = con.execute("""
        with runs as (
            select table_name, coalesce(max(case when run_id = $run then run_id end), arg_max(run_id, checked_at))
                as run_id
            from audit.check_results where list_contains($tables, table_name) group by table_name
        )
        select c.table_name, c.run_id, count(*) as checks,
               count(*) filter (where c.outcome = 'passed') as passed,
               list(c.check_name || ': ' || c.outcome || ' (' || c.severity || ')' order by c.check_name)
                   filter (where c.outcome <> 'passed') as not_passed
        from audit.check_results c join runs using (table_name, run_id)
        group by c.table_name, c.run_id order by c.table_name""", {"tables": tables, "run": run_id})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# ---------------------------------------------------------------------------------------------------------------
# Versions and hashes


def git_version() -> str | None:
    """Commit of this checkout (read-only git calls; no index refresh), '-dirty' with uncommitted changes."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "--no-optional-locks", *args], cwd=REPO_DIR, capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{commit}-dirty" if dirty else commit


def sql_version(con: duckdb.DuckDBPyConnection) -> str:
    """One hash over the code versions (SQL file hashes) of every model in the lineage table."""
    if not privacy.table_exists(con, "audit.column_lineage"):
        return "none"
    rows = con.execute("select distinct model, code_version from audit.column_lineage order by 1, 2").fetchall()
    return hashlib.sha256("\n".join(f"{m}\0{v}" for m, v in rows).encode()).hexdigest()[:12]


def code_version(con: duckdb.DuckDBPyConnection) -> str:
    from wup_pipeline.parameters import parameter_version

    git = git_version()
    if git:
        code = f"git {git}"
    else:
        try:
            code = f"wup-pipeline {importlib.metadata.version('wup-pipeline')}"
        except importlib.metadata.PackageNotFoundError:
            code = "wup-pipeline (version unknown)"
    return f"{code}; sql {sql_version(con)}; parameters {parameter_version()[:12]}"


@dataclass(frozen=True)
class TableHash:
    table_name: str
    row_count: int
    column_signature: str
    content_hash: str


def table_content_hash(con: duckdb.DuckDBPyConnection, table: str) -> TableHash:
    """Order-independent: the sum and the xor of DuckDB's 64-bit row hashes (the sum counts duplicate rows, the
    xor guards against sums that happen to match), with the row count and column names and types."""
    signature = ",".join(f"{n}:{t}" for n, t in privacy.table_columns(con, table))
    count, total, xor = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0), coalesce(bit_xor(hash(t)), 0) from {table} as t"
    ).fetchone()
    digest = hashlib.sha256(f"{signature}|{count}|{total}|{xor}".encode()).hexdigest()
    return TableHash(table, count, signature, digest)


def write_table_hashes(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...], run_id: str,
                       version: str) -> list[TableHash]:
    con.execute(TABLE_HASHES_DDL)
    tables = [f"{s}.{t}" for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables where list_contains($schemas, table_schema) "
        "and table_type = 'BASE TABLE' order by 1, 2", {"schemas": list(schemas)}).fetchall()]
    hashes = [table_content_hash(con, t) for t in tables]
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.table_hashes where run_id = ?", [run_id])
        if hashes:
            con.executemany("insert into audit.table_hashes values (?, ?, ?, ?, ?, ?)",
                            [(h.table_name, h.row_count, h.column_signature, h.content_hash, run_id, version)
                             for h in hashes])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return hashes


# ---------------------------------------------------------------------------------------------------------------
# audit.figures


def column_docs(models_dir) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(schema.table, column) -> (description, unit) from the SQL models' .yml files."""
    from wup_pipeline.lineage.sql_models import discover_models

    return {(m.table, c.name): (c.description, c.unit) for m in discover_models(models_dir) for c in m.columns}


@dataclass
class ColumnInfo:
    unit: str | None
    joins: list[str]
    source_tables: list[str]
    source_note: str
    sql_hash: str


def column_infos(con: duckdb.DuckDBPyConnection, graph: LineageGraph, pairs: Iterable[tuple[str, str]],
                 docs: dict[tuple[str, str], tuple[str, str | None]]) -> dict[tuple[str, str], ColumnInfo]:
    notes = snapshot_notes(con)
    infos = {}
    for table, column in sorted(set(pairs)):
        raw = graph.raw_tables(table, column)
        described = [notes.get(r) or (f"parameters {r.removeprefix('raw.param_')}.csv" if r.startswith("raw.param_")
                                      else r) for r in raw]
        note = f"{table}.{column}" + (f" · bron: {'; '.join(dict.fromkeys(described))}" if described else "")
        infos[(table, column)] = ColumnInfo(
            unit=(docs.get((table, column)) or (None, None))[1],
            joins=graph.model_inputs(table),
            source_tables=raw,
            source_note=note,
            sql_hash=graph.versions.get(table, ""),
        )
    return infos


DERIVED_SCHEMA = {
    "figure_id": pl.String, "section": pl.String, "buurt_code": pl.String, "figure_key": pl.String,
    "mart_table": pl.String, "column_name": pl.String, "value_number": pl.Float64, "value_text": pl.String,
    "unit": pl.String, "suppressed": pl.Boolean, "suppression_reason": pl.String, "expression": pl.String,
    "depends_on": pl.List(pl.String), "lineage_columns": pl.List(pl.String), "output": pl.List(pl.String),
}
# the column order of the union in build_figures
DERIVED_COLUMN_ORDER = ("figure_id", "section", "buurt_code", "figure_key", "mart_table", "column_name", "value_number",
                        "value_text", "unit", "suppressed", "suppression_reason", "expression", "depends_on",
                        "lineage_columns", "output")


STAGED_FIGURES = "staged_figures"  # temp table: this run's mart figures, before the derived ones are added


def build_figures(
    con: duckdb.DuckDBPyConnection,
    *,
    gemeente_code: str,
    policy: privacy.PrivacyPolicy,
    run_id: str,
    version: str,
    docs: dict[tuple[str, str], tuple[str, str | None]],
    outputs_for: Callable[[str, str], list[str]],
    derive: Callable[[duckdb.DuckDBPyConnection], pl.DataFrame] | None = None,
) -> tuple[int, list[str]]:
    """Replace audit.figures with this run's figures of the gemeente; returns (rows, warnings).

    ``outputs_for(table, column)`` names the outputs that show a mart column. ``derive(con)`` computes the figures
    of the report layer (DERIVED_SCHEMA) from the staged mart figures (temp table ``staged_figures``, already
    after the privacy rules) and the warehouse.
    """
    privacy.create_suppression_table(con, policy, gemeente_code)
    tables, warnings = figure_tables(con)
    graph = LineageGraph.load(con)
    selects = []
    for t in tables:
        names = [n for n, _ in privacy.table_columns(con, t.table)]
        value_sql = []
        for c in t.value_columns:
            blank = privacy.blank_condition(c, names, policy.k)
            value_sql.append(f'case when {blank} then null else cast(t."{c}" as varchar) end as "{c}__v", '
                             f'({blank}) as "{c}__s"')
        keys_sql = ", ".join(f'cast(t."{k}" as varchar) as "{k}"' for k in t.keys)
        key_expr = " || '/' || ".join(
            f"coalesce(replace(replace(\"{k}\", '%', '%25'), '/', '%2F'), '{NULL_KEY}')" for k in t.keys) or "''"
        id_expr = f"'{t.section}/' || buurt_code || '/' || " + (f"{key_expr} || '/' || " if t.keys else "") + \
            "column_name"
        in_list = ", ".join(f'("{c}__v", "{c}__s") as \'{c}\'' for c in t.value_columns)
        selects.append(f"""
            select {id_expr} as figure_id, '{t.section}' as section, buurt_code,
                   {key_expr if t.keys else "''"} as figure_key,
                   '{t.table}' as mart_table, column_name,
                   try_cast(value_text as double) as value_number, value_text, null::varchar as unit, suppressed,
                   case when suppressed then coalesce(reason, 'minder dan {policy.k} woningen van deze eigenaarsgroep')
                   end as suppression_reason,
                   null::varchar as expression, []::varchar[] as depends_on,
                   ['{t.table}.' || column_name] as lineage_columns, null::varchar[] as output
            from (
                select t.buurt_code, {keys_sql + ", " if keys_sql else ""}s.reason, {", ".join(value_sql)}
                from {t.table} as t
                inner join {privacy.SUPPRESSION_TABLE} as s on s.buurt_code = t.buurt_code
            ) unpivot include nulls ((value_text, suppressed) for column_name in ({in_list}))""")
    empty = pl.DataFrame(schema=DERIVED_SCHEMA).select(DERIVED_COLUMN_ORDER)
    con.register("_no_figures", empty.to_arrow())
    selects.append(f"select {', '.join(DERIVED_COLUMN_ORDER)} from _no_figures")
    con.execute(f"create or replace temp table {STAGED_FIGURES} as {' union all '.join(selects)}")
    con.unregister("_no_figures")
    derived = derive(con) if derive else empty
    con.register("_derived_figures", derived.select(list(DERIVED_SCHEMA)).cast(DERIVED_SCHEMA)
                 .select(DERIVED_COLUMN_ORDER).to_arrow())
    pairs = [(t.table, c) for t in tables for c in t.value_columns]
    pairs += [tuple(lc.rsplit(".", 1)) for lcs in derived["lineage_columns"].to_list() for lc in lcs or []]
    infos = column_infos(con, graph, pairs, docs)
    meta = pl.DataFrame(
        [{"mart_table": t, "column_name": c, "unit": i.unit, "output": outputs_for(t, c), "joins": i.joins,
          "source_tables": i.source_tables, "source_note": i.source_note, "sql_hash": i.sql_hash}
         for (t, c), i in infos.items()],
        schema={"mart_table": pl.String, "column_name": pl.String, "unit": pl.String, "output": pl.List(pl.String),
                "joins": pl.List(pl.String), "source_tables": pl.List(pl.String), "source_note": pl.String,
                "sql_hash": pl.String})
    con.register("_figure_meta", meta.to_arrow())
    con.execute(FIGURES_DDL)
    con.execute("begin transaction")
    try:
        con.execute("delete from audit.figures")
        con.execute(f"""
            insert into audit.figures
            select f.figure_id, coalesce(f.output, m.output, []), f.section, f.buurt_code, f.figure_key,
                   f.mart_table, f.column_name, f.value_number, f.value_text, coalesce(f.unit, m.unit),
                   f.suppressed, f.suppression_reason, f.expression, f.depends_on, f.lineage_columns,
                   coalesce(m.joins, []), coalesce(m.source_tables, []), m.source_note, m.sql_hash,
                   $run_id, $version
            from (select * from {STAGED_FIGURES} union all by name select * from _derived_figures) as f
            left join _figure_meta m on m.mart_table = f.mart_table and m.column_name = f.column_name
            """, {"run_id": run_id, "version": version})
        # no `order by figure_id`: row order is not part of the table (every reader orders itself), and sorting
        # the wide rows (five list columns) took half of this insert (8 of 16 s for 820,000 figures)
        rows = con.execute("select count(*) from audit.figures").fetchone()[0]
        duplicates = con.execute(
            "select figure_id from audit.figures group by figure_id having count(*) > 1 limit 3").fetchall()
        if duplicates:
            raise FigureError(f"figure ids are not unique, e.g. {[d[0] for d in duplicates]}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_figure_meta")
        con.unregister("_derived_figures")
    return rows, warnings


# ---------------------------------------------------------------------------------------------------------------
# trace


@dataclass
class Trace:
    figure: dict
    steps: list[LineageStep] = field(default_factory=list)
    raw_tables: list[str] = field(default_factory=list)
    snapshots: list[dict] = field(default_factory=list)
    parameters: list[ParameterUse] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    model_versions: dict[str, str] = field(default_factory=dict)
    table_hashes: list[dict] = field(default_factory=list)


def figure_row(con: duckdb.DuckDBPyConnection, figure: str) -> dict:
    parse_figure_id(figure)
    if not privacy.table_exists(con, "audit.figures"):
        raise FigureError("this warehouse has no audit.figures: run the pipeline with the output assets first")
    cursor = con.execute("select * from audit.figures where figure_id = ?", [figure.strip()])
    row = cursor.fetchone()
    if row is None:
        close = con.execute(
            "select figure_id from audit.figures order by jaro_winkler_similarity(figure_id, ?) desc limit 3",
            [figure]).fetchall()
        raise FigureError(f"no figure '{figure}' in audit.figures; closest: {', '.join(c[0] for c in close)}")
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def trace(con: duckdb.DuckDBPyConnection, figure: str) -> Trace:
    """The whole chain behind one figure, read from the warehouse (read-only)."""
    row = figure_row(con, figure)
    graph = LineageGraph.load(con)
    steps: list[LineageStep] = []
    for start in row["lineage_columns"] or []:
        table, column = start.rsplit(".", 1)
        for step in graph.steps(table, column):
            if step not in steps:
                steps.append(step)
    starts = [s.rsplit(".", 1)[0] for s in row["lineage_columns"] or []]
    raw = sorted({s.source_table for s in steps if s.source_table.startswith("raw.")})
    visited = sorted({*starts, *(s.table for s in steps), *raw})
    hashes = []
    if privacy.table_exists(con, "audit.table_hashes"):
        cursor = con.execute("select table_name, row_count, content_hash, run_id from audit.table_hashes "
                             "where run_id = ? and list_contains(?, table_name) order by 1", [row["run_id"], visited])
        hashes = [dict(zip([d[0] for d in cursor.description], r, strict=True)) for r in cursor.fetchall()]
    return Trace(
        figure=row,
        steps=steps,
        raw_tables=raw,
        snapshots=snapshots_for(con, raw),
        parameters=parameter_uses(con, steps, row_parameter_ids(con, row)),
        checks=check_summary(con, visited, row["run_id"]),
        model_versions={t: graph.versions[t] for t in visited if t in graph.versions},
        table_hashes=hashes,
    )


def _value_text(row: dict) -> str:
    if row["suppressed"]:
        return f"(onderdrukt: {row['suppression_reason']})"
    if row["value_text"] is None:
        return "(leeg: niet gepubliceerd of niet te berekenen)"
    return f"{row['value_text']} {row['unit'] or ''}".strip()


def format_trace(t: Trace) -> str:
    f = t.figure
    lines = [
        f"figure      {f['figure_id']}",
        f"value       {_value_text(f)}",
        f"outputs     {', '.join(f['output'] or []) or '-'}",
        f"from        {f['mart_table']}.{f['column_name']}   (sql {f['sql_hash'] or '-'}; joins "
        f"{', '.join(f['joins'] or []) or '-'})",
    ]
    if f["expression"]:
        lines.append(f"computed    {f['expression']}")
    if f["depends_on"]:
        lines.append(f"from figures {', '.join(f['depends_on'])}")
    lines += [f"run         {f['run_id']}", f"code        {f['code_version']}", "",
              "lineage (column <- source column: SQL)"]
    printed: dict[tuple[str, str], str] = {}
    for s in t.steps:
        indent = "  " * (s.depth + 1)
        lines.append(f"{indent}{s.table}.{s.column} <- {s.source_table}.{s.source_column}")
        if printed.get((s.table, s.column)) != s.expression:  # the same SQL for several source columns: once
            printed[(s.table, s.column)] = s.expression
            expression = s.expression if len(s.expression) <= 400 else s.expression[:397] + "..."
            lines.append(f"{indent}    {expression}")
    if not t.steps:
        lines.append("  (no lineage recorded)")
    lines += ["", "source snapshots"]
    for s in t.snapshots:
        lines.append(f"  {s['raw_table']}  {s['source_id']} {s['dataset']}")
        lines.append(f"      url {s['url']}")
        lines.append(f"      retrieved_at {s['retrieved_at']}  sha256 {s['sha256']}  "
                     f"version {s['source_version'] or '-'}  licence {s['licence'] or '-'}")
    if not t.snapshots:
        lines.append("  (none reached)")
    lines += ["", "parameters"]
    for p in t.parameters:
        lines.append(f"  {p.table}  file {p.file} sha256 {p.file_sha256 or '-'}  ({p.total_rows} rows; sets "
                     f"{', '.join(p.parameter_sets) or '-'})")
        if p.names_used:
            lines.append(f"      names used: {', '.join(p.names_used)}")
        for r in p.rows[:PARAMETER_ROWS_PRINTED]:
            shown = {k: v for k, v in r.items() if k not in ("source", "note") and v is not None}
            lines.append(f"      {json.dumps(shown, default=str, ensure_ascii=False)}")
            if r.get("source"):
                lines.append(f"        source: {r['source']}")
        if p.rows_used > PARAMETER_ROWS_PRINTED:
            lines.append(f"      ... and {p.rows_used - PARAMETER_ROWS_PRINTED} more rows (a name can have a row per "
                         f"dwelling type, period, label or year); `wup trace --json` lists up to {PARAMETER_ROWS_KEPT}")
        if not p.rows:
            lines.append(f"      rows depend on each dwelling's class; published sources: {'; '.join(p.sources[:3])}")
    if not t.parameters:
        lines.append("  (none reached)")
    lines += ["", "checks on these tables"]
    for c in t.checks:
        extra = f"; not passed: {', '.join(c['not_passed'])}" if c["not_passed"] else ""
        lines.append(f"  {c['table_name']}: {c['passed']}/{c['checks']} passed (run {c['run_id']}){extra}")
    if not t.checks:
        lines.append("  (no check results recorded)")
    if t.model_versions:
        lines += ["", "model code versions (SQL file sha256 prefix)"]
        lines += [f"  {table}: {version}" for table, version in sorted(t.model_versions.items())]
    if t.table_hashes:
        lines += ["", "content hashes of this run (audit.table_hashes)"]
        lines += [f"  {h['table_name']}: {h['content_hash'][:16]} ({h['row_count']} rows)" for h in t.table_hashes]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Lineage manifests written next to outputs


def lineage_manifest(con: duckdb.DuckDBPyConnection, *, output: str, files: list[str], columns: Iterable[str],
                     run_id: str, version: str, privacy_policy: privacy.PrivacyPolicy,
                     figure_ids: list[str] | None = None) -> dict:
    """What an output was made from: its figures (or mart columns), the column lineage down to raw tables, the
    snapshots, parameter files and content hashes; JSON-ready."""
    graph = LineageGraph.load(con)
    unique: dict[LineageStep, None] = {}  # first occurrence order, without a quadratic `in list` test
    for qualified in sorted(set(columns)):
        table, column = qualified.rsplit(".", 1)
        unique.update(dict.fromkeys(graph.steps(table, column)))
    steps = list(unique)
    raw = sorted({s.source_table for s in steps if s.source_table.startswith("raw.")})
    tables = sorted({c.rsplit(".", 1)[0] for c in columns} | {s.table for s in steps} | set(raw))
    hashes = []
    if privacy.table_exists(con, "audit.table_hashes"):
        hashes = [dict(zip(("table", "rows", "content_hash"), r, strict=True)) for r in con.execute(
            "select table_name, row_count, content_hash from audit.table_hashes where run_id = ? "
            "and list_contains(?, table_name) order by 1", [run_id, tables]).fetchall()]
    return {
        "output": output,
        "files": files,
        "run_id": run_id,
        "code_version": version,
        "privacy": {"k": privacy_policy.k, "publish_address_level": privacy_policy.publish_address_level},
        "figure_ids": figure_ids or [],
        "columns": sorted(set(columns)),
        "column_lineage": [
            {"table": s.table, "column": s.column, "source_table": s.source_table, "source_column": s.source_column,
             "expression": s.expression, "code_version": s.code_version} for s in steps],
        "model_code_versions": {t: graph.versions[t] for t in tables if t in graph.versions},
        "snapshots": [{k: v for k, v in s.items()} for s in snapshots_for(con, raw)],
        "parameters": [{"table": p.table, "file": p.file, "sha256": p.file_sha256, "rows": p.total_rows,
                        "parameter_sets": p.parameter_sets, "sources": p.sources}
                       for p in parameter_uses(con, steps)],
        "table_hashes": hashes,
        "how_to_trace": "wup trace <figure-id>; every figure id is a row of audit.figures in the published warehouse",
    }


def write_json(path: str | Path, payload: dict) -> None:
    write_json_members(path, json_members(payload))


def json_members(payload: dict) -> dict[str, str]:
    """Each top-level member of ``payload`` encoded as write_json writes it. Manifests of one output share most
    members (the column lineage); encoding those once instead of once per page saves most of the JSON time."""
    members = {}
    for key, value in payload.items():
        text = json.dumps(value, indent=1, sort_keys=True, default=str, ensure_ascii=False)
        # one level deeper than on its own; JSON text never has a raw newline inside a string
        members[key] = json.dumps(key, ensure_ascii=False) + ": " + text.replace("\n", "\n ")
    return members


def write_json_members(path: str | Path, members: dict[str, str]) -> None:
    """Write the object of these encoded members: the same bytes as json.dumps(indent=1, sort_keys=True)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "{\n " + ",\n ".join(members[key] for key in sorted(members)) + "\n}" if members else "{}"
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
        tmp.write(text + "\n")
    os.chmod(tmp.name, 0o644)  # next to published outputs; tempfile makes files 0600
    os.replace(tmp.name, path)
