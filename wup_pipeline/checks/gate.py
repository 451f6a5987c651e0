"""A table's data-quality gate: validate, quarantine failing rows, record, decide whether downstream may run.

Pure DuckDB + GX, no Dagster, so the asset checks, the CLI and the benchmark share it.

Decision: the ERROR part passes when every ERROR table rule holds and every ERROR row rule either
holds or (suites with ``quarantine=True``: sources) had its failing rows moved to quarantine. A
model suite (``quarantine=False``) fails on any ERROR rule: a bad row there is a bug in our SQL.
The WARN part never blocks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from wup_pipeline.checks.expectations import Kind, Severity, Suite
from wup_pipeline.checks.quarantine import QuarantineSummary, apply_quarantine
from wup_pipeline.checks.results import CheckResult, SuiteResult, provenance_of, record_results
from wup_pipeline.checks.runner import DEFAULT_GX_MAX_ROWS, run_suite


@dataclass
class GateOutcome:
    suite_result: SuiteResult
    quarantine: QuarantineSummary | None
    blocking_failures: list[CheckResult] = field(default_factory=list)
    warnings: list[CheckResult] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)  # check name -> passed/failed/quarantined/warned

    @property
    def errors_passed(self) -> bool:
        return not self.blocking_failures and not (self.quarantine and self.quarantine.refused)

    @property
    def warnings_passed(self) -> bool:
        return not self.warnings

    def message(self) -> str:
        """What failed, for a person: table, rule, how many rows, example values."""
        result = self.suite_result
        lines = [f"{result.table_name}: blocking data-quality checks failed (suite {result.suite}, "
                 f"{result.element_count} rows, engine {result.engine})"]
        lines += [f"  - {failure.summary()}" for failure in self.blocking_failures]
        if self.quarantine and self.quarantine.refused:
            lines.append(f"  - quarantine refused: {self.quarantine.refused}")
            lines += [f"    {name}: {count} rows, e.g. {', '.join(self.quarantine.examples.get(name, []))}"
                      for name, count in self.quarantine.by_reason.items()]
        return "\n".join(lines)


def run_gate(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    table: str | None = None,
    *,
    run_id: str,
    engine: str = "auto",
    gx_max_rows: int = DEFAULT_GX_MAX_ROWS,
    now: dt.datetime | None = None,
    record: bool = True,
) -> GateOutcome:
    table = table or suite.table
    result = run_suite(con, suite, table, engine=engine, gx_max_rows=gx_max_rows, run_id=run_id, now=now)
    rule_names = {e.name for e in suite.quarantine_rules}
    failing_rules = {r.name for r in result.failed(Severity.ERROR, Kind.ROW)
                     if r.name in rule_names and not r.exception}
    summary = None
    if suite.quarantine and failing_rules and result.engine != "none":
        summary = apply_quarantine(con, table, suite, run_id=run_id, max_share=suite.max_quarantine_share,
                                   now=result.checked_at)
    moved = summary is not None and summary.refused is None and summary.rows_quarantined > 0
    outcome = GateOutcome(result, summary)
    for r in result.results:
        if r.success:
            outcome.outcomes[r.name] = "passed"
        elif r.severity == Severity.WARN:
            outcome.outcomes[r.name] = "warned"
            outcome.warnings.append(r)
        elif moved and r.name in failing_rules:
            outcome.outcomes[r.name] = "quarantined"
        else:
            outcome.outcomes[r.name] = "failed"
            if not (summary and summary.refused and r.name in failing_rules):  # reported with the refusal
                outcome.blocking_failures.append(r)
    if record:
        provenance = result.provenance or provenance_of(con, table)
        record_results(con, result, run_id, provenance.snapshot_id, source_version=provenance.source_version,
                       source_dataset=provenance.dataset, outcomes=outcome.outcomes)
    return outcome
