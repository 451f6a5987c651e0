"""Quarantine moves exactly the failing rows, with reasons, atomically; the gate decides; the report shows it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import duckdb
import pytest

from wup_pipeline.checks.expectations import (
    Severity,
    between,
    in_set,
    matches,
    not_null,
    required_columns,
    suite,
    unique,
)
from wup_pipeline.checks.gate import run_gate
from wup_pipeline.checks.quarantine import apply_quarantine
from wup_pipeline.checks.report import quality_summary, render_quality_report, render_quality_report_html

ADDRESSES = suite(
    "addresses", "raw.addresses",
    required_columns({"vbo_id": "string", "postcode": "string", "area": "number"}),
    not_null("vbo_id"),
    matches("vbo_id", r"^[0-9]{4}01[0-9]{10}$"),
    unique("vbo_id"),
    matches("postcode", r"^[1-9][0-9]{3}[A-Z]{2}$"),
    between("area", 0, 100_000, strict_min=True),
    in_set("label", ["A", "B", "C"], severity=Severity.WARN),
    quarantine=True, max_quarantine_share=0.6, key_columns=("vbo_id",),
)

ROWS = [
    ("0518010000000001", "2593PJ", 74.0, "A", "Kerkstraat"),
    ("0518010000000002", "2593 pj", 80.0, "B", "Dorpsweg"),  # bad postcode
    ("0518010000000003", "2593PJ", -5.0, "Z", "Molenlaan"),  # bad area (and a WARN label: stays a WARN)
    ("51801000000004", "bad", 0.0, "C", "Geheimstraat"),  # three reasons
    ("0518010000000005", None, float("nan"), "A", "Stationsplein"),  # missing values are not failures
    ("0518010000000006", "1000AA", 99.5, None, "Havenkade"),
]


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        connection.execute("create schema raw")
        connection.execute("create table raw.addresses (vbo_id varchar, postcode varchar, area double, "
                           "label varchar, street varchar)")
        connection.executemany("insert into raw.addresses values (?, ?, ?, ?, ?)", ROWS)
        yield connection


def ids(con, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"select vbo_id from {table} order by vbo_id").fetchall()]


def test_failing_rows_move_with_their_reasons_and_clean_rows_stay(con):
    summary = apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-1")
    assert (summary.rows_before, summary.rows_failing, summary.rows_quarantined, summary.rows_kept) == (6, 3, 3, 3)
    assert summary.by_reason == {"vbo_id_format": 1, "postcode_format": 2, "area_range": 2}
    assert summary.examples["area_range"] == ["0518010000000003", "51801000000004"]
    assert summary.refused is None and summary.quarantine_table == "quarantine.addresses"
    assert ids(con, "raw.addresses") == ["0518010000000001", "0518010000000005", "0518010000000006"]
    held = con.execute("select vbo_id, street, quarantine_reasons, run_id, quarantined_at is not null "
                       "from quarantine.addresses order by vbo_id").fetchall()
    assert held == [
        ("0518010000000002", "Dorpsweg", ["postcode_format"], "run-1", True),
        ("0518010000000003", "Molenlaan", ["area_range"], "run-1", True),
        ("51801000000004", "Geheimstraat", ["vbo_id_format", "postcode_format", "area_range"], "run-1", True),
    ]
    columns = con.execute("select column_name, data_type from duckdb_columns() "
                          "where schema_name = 'quarantine' order by column_index").fetchall()
    assert columns[:5] == con.execute("select column_name, data_type from duckdb_columns() "
                                      "where schema_name = 'raw' order by column_index").fetchall()
    assert [c for c, _ in columns[5:]] == ["quarantine_reasons", "quarantined_at", "run_id"]


def test_a_second_pass_moves_nothing_and_history_accumulates(con):
    apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-1")
    again = apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-2")
    assert (again.rows_failing, again.rows_quarantined, again.by_reason) == (0, 0, {})
    con.execute("insert into raw.addresses values ('0518010000000009', '12345', 1.0, 'A', 'Nieuwbouw')")
    third = apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-3")
    assert third.by_reason == {"postcode_format": 1}
    assert con.execute("select run_id, count(*) from quarantine.addresses group by 1 order by 1").fetchall() == [
        ("run-1", 3), ("run-3", 1)]


def test_too_many_failing_rows_are_refused_and_nothing_moves(con):
    summary = apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-1", max_share=0.4)
    assert summary.rows_quarantined == 0 and summary.rows_failing == 3
    assert "3 of 6 rows (50.0%)" in summary.refused and "nothing was moved" in summary.refused
    assert len(ids(con, "raw.addresses")) == 6
    assert not con.execute("select * from duckdb_tables() where schema_name = 'quarantine'").fetchall()


def test_a_failure_half_way_rolls_everything_back(con):
    """The quarantine table cannot take the rows (postcode became an integer there): nothing moves."""
    con.execute("create schema quarantine")
    con.execute("create table quarantine.addresses (vbo_id varchar, postcode integer, area double, label varchar, "
                "street varchar, quarantine_reasons varchar[], quarantined_at timestamp, run_id varchar)")
    with pytest.raises(duckdb.ConversionException):
        apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-1")
    assert len(ids(con, "raw.addresses")) == 6
    assert con.execute("select count(*) from quarantine.addresses").fetchone() == (0,)


def test_a_column_added_by_a_newer_delivery_is_added_to_the_quarantine_table(con):
    apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-1")
    con.execute("alter table raw.addresses add column huisnummer integer")
    con.execute("insert into raw.addresses values ('0518010000000010', 'xx', 5.0, 'A', 'Laan', 12)")
    apply_quarantine(con, "raw.addresses", ADDRESSES, run_id="run-2")
    assert con.execute("select vbo_id, huisnummer from quarantine.addresses where run_id = 'run-2'").fetchall() == [
        ("0518010000000010", 12)]


def test_clear_errors_for_a_missing_table_or_a_bookkeeping_column(con):
    with pytest.raises(LookupError, match="raw.nowhere: the table does not exist"):
        apply_quarantine(con, "raw.nowhere", ADDRESSES)
    con.execute("alter table raw.addresses add column run_id varchar")
    with pytest.raises(ValueError, match=r"\['run_id'\], which quarantine.\* uses"):
        apply_quarantine(con, "raw.addresses", ADDRESSES)


def test_the_gate_quarantines_records_and_passes_with_warnings(con):
    outcome = run_gate(con, ADDRESSES, run_id="run-1", engine="duckdb_sql")
    assert outcome.errors_passed and not outcome.warnings_passed
    assert [w.name for w in outcome.warnings] == ["label_in_set"]
    assert outcome.outcomes["postcode_format"] == "quarantined" and outcome.outcomes["vbo_id_unique"] == "passed"
    recorded = dict(con.execute("select check_name, outcome from audit.check_results where run_id = 'run-1'")
                    .fetchall())
    assert recorded["area_range"] == "quarantined" and recorded["label_in_set"] == "warned"


def test_the_gate_blocks_a_broken_delivery_without_moving_it(con):
    strict = suite("addresses", "raw.addresses", *ADDRESSES.expectations, quarantine=True, max_quarantine_share=0.1,
                   key_columns=("vbo_id",))
    outcome = run_gate(con, strict, run_id="run-1")
    assert not outcome.errors_passed
    message = outcome.message()
    assert message.startswith("raw.addresses: blocking data-quality checks failed (suite addresses, 6 rows")
    assert "quarantine refused: 3 of 6 rows" in message and "postcode_format: 2 rows, e.g. 0518010000000002" in message
    assert len(ids(con, "raw.addresses")) == 6


def test_a_model_suite_blocks_on_bad_rows_instead_of_quarantining(con):
    model = suite("addresses", "raw.addresses", *ADDRESSES.expectations, quarantine=False)
    outcome = run_gate(con, model, run_id="run-1", engine="great_expectations")
    assert not outcome.errors_passed and outcome.quarantine is None
    assert [f.name for f in outcome.blocking_failures] == ["vbo_id_format", "postcode_format", "area_range"]
    assert "postcode_format: 2 of 6 rows (expect_column_values_to_match_regex), e.g. '2593 pj', 'bad'" in (
        outcome.message())


def test_the_report_lists_every_expectation_and_the_quarantine_without_personal_fields(con):
    con.execute("insert into raw.addresses values ('<b>0518</b>', '2593PJ', 1.0, 'A', 'Achterom')")
    run_gate(con, ADDRESSES, run_id="run-1")
    markdown = render_quality_report(con, "run-1", suites={"raw.addresses": ADDRESSES})
    for expectation in ADDRESSES.expectations:
        assert f"| {expectation.name} |" in markdown
    assert ("| postcode_format | expect_column_values_to_match_regex | regex=\"^[1-9][0-9]{3}[A-Z]{2}$\" | ERROR | row "
            "| rows quarantined | 2 of 7 |") in markdown
    assert "Quarantined: 4 rows moved to `quarantine.addresses`." in markdown
    assert "| area_range | 2 | 0518010000000003, 51801000000004 |" in markdown
    assert "| WARN | row | warning | 1 of 7 |" in markdown
    assert "0 blocking failures, 1 warning, 4 rows quarantined." in markdown
    for private in ("Geheimstraat", "Molenlaan", "Dorpsweg"):
        assert private not in markdown
    html = render_quality_report_html(con, "run-1", suites={"raw.addresses": ADDRESSES})
    assert "&lt;b&gt;0518&lt;/b&gt;" in html and "<b>0518" not in html
    assert quality_summary(con, "run-1")["tables"]["raw.addresses"]["quarantined_rows"] == 4
    assert "No data-quality results were recorded" in render_quality_report(con, "another-run")


def test_the_benchmark_prints_one_json_line(capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_checks.py"
    spec = importlib.util.spec_from_file_location("bench_checks", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--rows", "50000", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["rows"] == 50_000 and report["threads"] == 1
    assert set(report["seconds"]) == {"generate", "validate", "quarantine", "record"}
    assert report["peak_rss_mib"] > 0 and report["rows_per_second"] > 0
    # 50 bad postcodes, 25 negative areas, 1 short id and 1 point outside the Netherlands (bench_checks.py)
    assert report["quarantined_by_reason"] == {"postcode_format": 50, "oppervlakte_m2_range": 25, "vbo_id_format": 1,
                                               "x_rd_in_netherlands": 1}
