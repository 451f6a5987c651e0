"""Data-quality gates: Great Expectations suites as code, two engines, quarantine, results, report.

- ``expectations``: Expectation / Suite and the builders (not_null, matches, between, ...);
- ``suites``: ``SUITES``, one suite per warehouse table;
- ``runner.run_suite``: GX over pandas for small tables, DuckDB SQL for large ones, same result shape;
- ``quarantine.apply_quarantine``: failing rows to ``quarantine.<table>``, set-based, one transaction;
- ``results.record_results``: rows in ``audit.check_results``;
- ``gate.run_gate``: all of the above for one table, and the blocking decision;
- ``dagster_checks.suite_asset_checks``: the Dagster asset checks (imports Dagster; import it directly);
- ``report.render_quality_report``: the per-run Markdown / HTML report.

Importing this package imports neither Dagster nor Great Expectations (GX loads when its engine runs).
"""
