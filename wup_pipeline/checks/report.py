"""The data-quality report of one run: every expectation and its result, and the quarantined rows per reason.

Read from the warehouse (audit.check_results, quarantine.*), so it can be written after a failed run
too. Examples of quarantined rows show only the suite's key columns (object ids such as a BAG
vbo_id or a CBS region code), never other fields: nothing personal ends up in a report.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jinja2

from wup_pipeline.checks.expectations import Suite
from wup_pipeline.checks.quarantine import quarantine_table_name
from wup_pipeline.checks.results import qualified, quote_ident, table_exists
from wup_pipeline.checks.suites import SUITES

EXAMPLES = 3
MAX_CELL = 80


@dataclass
class CheckLine:
    check_name: str
    expectation_type: str
    severity: str
    kind: str
    passed: bool
    outcome: str
    element_count: int | None
    unexpected_count: int | None
    observed_value: str
    kwargs_json: str
    error: str | None


@dataclass
class QuarantineLine:
    reason: str
    rows: int
    examples: list[str]


@dataclass
class TableSection:
    table_name: str
    suite: str
    engine: str
    element_count: int | None
    snapshot_id: str | None
    source_version: str | None
    checks: list[CheckLine] = field(default_factory=list)
    quarantine_table: str | None = None
    quarantined_rows: int = 0
    quarantine: list[QuarantineLine] = field(default_factory=list)

    @property
    def failed_errors(self) -> int:
        return sum(1 for c in self.checks if not c.passed and c.severity == "ERROR" and c.outcome != "quarantined")

    @property
    def warnings(self) -> int:
        return sum(1 for c in self.checks if not c.passed and c.severity == "WARN")


@dataclass
class QualityReport:
    run_id: str
    checked_at: str | None
    tables: list[TableSection]

    @property
    def expectations(self) -> int:
        return sum(len(t.checks) for t in self.tables)

    @property
    def failed_errors(self) -> int:
        return sum(t.failed_errors for t in self.tables)

    @property
    def warnings(self) -> int:
        return sum(t.warnings for t in self.tables)

    @property
    def quarantined_rows(self) -> int:
        return sum(t.quarantined_rows for t in self.tables)


def _short(value: str | None, limit: int = MAX_CELL) -> str:
    if value is None or value == "null":
        return ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def collect_report(con: duckdb.DuckDBPyConnection, run_id: str,
                   suites: Mapping[str, Suite] | None = None) -> QualityReport:
    suites = SUITES if suites is None else suites
    if not table_exists(con, "audit.check_results"):
        return QualityReport(run_id, None, [])
    rows = con.execute(
        "select table_name, suite, engine, element_count, snapshot_id, source_version, check_name, "
        "expectation_type, severity, kind, passed, outcome, unexpected_count, observed_value, kwargs_json, "
        "json_extract_string(details_json, '$.exception'), checked_at "
        "from audit.check_results where run_id = ? order by checked_at, table_name, rowid",
        [run_id],
    ).fetchall()
    sections: dict[str, TableSection] = {}
    for (table, suite_name, engine, count, snapshot, version, check, kind_of, severity, kind, passed, outcome,
         unexpected, observed, kwargs_json, error, _) in rows:
        section = sections.setdefault(table, TableSection(table, suite_name, engine, count, snapshot, version))
        section.checks.append(CheckLine(check, kind_of, severity, kind, passed, outcome, count, unexpected,
                                        _short(observed), kwargs_json, error))
    for section in sections.values():
        _add_quarantine(con, section, run_id, suites.get(section.table_name))
    checked_at = rows[0][-1].isoformat(sep=" ", timespec="seconds") if rows else None
    return QualityReport(run_id, checked_at, list(sections.values()))


def _add_quarantine(con, section: TableSection, run_id: str, suite: Suite | None) -> None:
    target = quarantine_table_name(section.table_name)
    if not table_exists(con, target):
        return
    columns = {c for (c,) in con.execute(
        "select column_name from duckdb_columns() where schema_name = 'quarantine' and table_name = ?",
        [target.split(".")[1]],
    ).fetchall()}
    keys = [k for k in (suite.key_columns if suite else ()) if k in columns]
    key = ("concat_ws(' / ', " + ", ".join(f"cast({quote_ident(k)} as varchar)" for k in keys) + ")") if keys \
        else "null"
    total = con.execute(f"select count(*) from {qualified(target)} where run_id = ?", [run_id]).fetchone()[0]
    if not total:
        return
    section.quarantine_table, section.quarantined_rows = target, total
    reasons = con.execute(
        f"select reason, count(*), list(key order by key)[1:{EXAMPLES}] from ("
        f"select unnest(quarantine_reasons) as reason, {key} as key from {qualified(target)} where run_id = ?"
        ") group by reason order by count(*) desc, reason",
        [run_id],
    ).fetchall()
    section.quarantine = [QuarantineLine(r, n, [e for e in (examples or []) if e is not None])
                          for r, n, examples in reasons]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _arguments(kwargs_json: str) -> str:
    """The rule in short: regex, bounds, value set (the column is in the check name)."""
    try:
        kwargs = json.loads(kwargs_json)
    except (TypeError, ValueError):
        return ""
    shown = [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in kwargs.items()
             if k not in ("column", "strict_min", "strict_max") and v not in (None, False)]
    return _short(", ".join(shown), MAX_CELL)


def _md(value) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _result_word(check: CheckLine) -> str:
    return {"passed": "passed", "failed": "**FAILED**", "quarantined": "rows quarantined",
            "warned": "warning", "not_run": "not run"}.get(check.outcome, check.outcome)


def render_quality_report(con: duckdb.DuckDBPyConnection, run_id: str,
                          suites: Mapping[str, Suite] | None = None) -> str:
    """Markdown: per table every expectation with its result, then its quarantined rows per reason."""
    report = collect_report(con, run_id, suites)
    lines = [f"# Data-quality report, run {run_id}", ""]
    if not report.tables:
        return "\n".join(lines + ["No data-quality results were recorded for this run.", ""])
    lines += [
        f"Checked at {report.checked_at} UTC: {_plural(len(report.tables), 'table')}, "
        f"{_plural(report.expectations, 'expectation')}, {_plural(report.failed_errors, 'blocking failure')}, "
        f"{_plural(report.warnings, 'warning')}, {_plural(report.quarantined_rows, 'row')} quarantined.", "",
    ]
    for t in report.tables:
        lines += [f"## {t.table_name}", "",
                  f"Suite `{t.suite}`, {t.element_count} rows, engine `{t.engine}`"
                  + (f", source version {_md(t.source_version)}" if t.source_version else "")
                  + (f", snapshots {_md(_short(t.snapshot_id, 40))}" if t.snapshot_id else "") + ".", "",
                  "| check | expectation | rule | severity | kind | result | unexpected rows | observed |",
                  "|---|---|---|---|---|---|---:|---|"]
        for c in t.checks:
            observed = c.error or c.observed_value
            unexpected = "" if c.unexpected_count is None else f"{c.unexpected_count} of {c.element_count}"
            lines.append(f"| {_md(c.check_name)} | {_md(c.expectation_type)} | {_md(_arguments(c.kwargs_json))} | "
                         f"{c.severity} | {c.kind} | "
                         f"{_result_word(c)} | {unexpected} | {_md(observed)} |")
        lines.append("")
        if t.quarantine:
            lines += [f"Quarantined: {t.quarantined_rows} rows moved to `{t.quarantine_table}`.", "",
                      "| reason | rows | examples |", "|---|---:|---|"]
            lines += [f"| {_md(q.reason)} | {q.rows} | {_md(', '.join(q.examples))} |" for q in t.quarantine]
            lines.append("")
    return "\n".join(lines)


HTML_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string("""\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data-quality report {{ report.run_id }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
.passed{color:#176117}.failed{color:#a00;font-weight:bold}.warned{color:#8a5a00}.quarantined{color:#5a2d82}
</style></head><body>
<h1>Data-quality report, run {{ report.run_id }}</h1>
{% if not report.tables %}<p>No data-quality results were recorded for this run.</p>{% else %}
<p>Checked at {{ report.checked_at }} UTC: {{ report.tables|length }} tables, {{ report.expectations }} expectations,
{{ report.failed_errors }} blocking failures, {{ report.warnings }} warnings,
{{ report.quarantined_rows }} rows quarantined.</p>
{% for t in report.tables %}
<h2>{{ t.table_name }}</h2>
<p>Suite <code>{{ t.suite }}</code>, {{ t.element_count }} rows, engine <code>{{ t.engine }}</code>
{%- if t.source_version %}, source version {{ t.source_version }}{% endif %}.</p>
<table><tr><th>check</th><th>expectation</th><th>rule</th><th>severity</th><th>kind</th><th>result</th>
<th>unexpected rows</th><th>observed</th></tr>
{% for c in t.checks %}<tr><td>{{ c.check_name }}</td><td>{{ c.expectation_type }}</td>
<td>{{ arguments(c.kwargs_json) }}</td><td>{{ c.severity }}</td>
<td>{{ c.kind }}</td><td class="{{ c.outcome }}">{{ c.outcome }}</td>
<td>{% if c.unexpected_count is not none %}{{ c.unexpected_count }} of {{ c.element_count }}{% endif %}</td>
<td>{{ c.error or c.observed_value }}</td></tr>
{% endfor %}</table>
{% if t.quarantine %}<p>Quarantined: {{ t.quarantined_rows }} rows moved to <code>{{ t.quarantine_table }}</code>.</p>
<table><tr><th>reason</th><th>rows</th><th>examples</th></tr>
{% for q in t.quarantine %}<tr><td>{{ q.reason }}</td><td>{{ q.rows }}</td><td>{{ q.examples|join(", ") }}</td></tr>
{% endfor %}</table>{% endif %}
{% endfor %}{% endif %}
</body></html>
""")


def render_quality_report_html(con: duckdb.DuckDBPyConnection, run_id: str,
                               suites: Mapping[str, Suite] | None = None) -> str:
    return HTML_TEMPLATE.render(report=collect_report(con, run_id, suites), arguments=_arguments)


def write_quality_report(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> tuple[Path, Path]:
    """``data_quality_<run_id>.md`` and ``.html`` in ``out_dir``, each written aside and renamed into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    texts = {".md": render_quality_report(con, run_id), ".html": render_quality_report_html(con, run_id)}
    for suffix, text in texts.items():
        target = out_dir / f"data_quality_{run_id}{suffix}"
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out_dir, delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, target)
        written.append(target)
    return written[0], written[1]


def quality_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    """Counts for a factscan's data-quality section: expectations, failures, warnings, quarantined rows per table."""
    report = collect_report(con, run_id)
    return {
        "run_id": run_id,
        "expectations": report.expectations,
        "blocking_failures": report.failed_errors,
        "warnings": report.warnings,
        "quarantined_rows": report.quarantined_rows,
        "tables": {t.table_name: {"quarantined_rows": t.quarantined_rows,
                                  "by_reason": {q.reason: q.rows for q in t.quarantine}} for t in report.tables},
    }
