"""Both engines give the same verdicts; suites, history, recording and the report behave."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from wup_pipeline.checks.expectations import (
    CurrentYear,
    DaysAgo,
    Expectation,
    Kind,
    Severity,
    between,
    fresh_column,
    fresh_snapshot,
    in_set,
    matches,
    not_before,
    not_in_set,
    not_null,
    references,
    required_columns,
    row_count_near_previous,
    suite,
    unique,
)
from wup_pipeline.checks.gate import run_gate
from wup_pipeline.checks.results import record_results, table_columns
from wup_pipeline.checks.runner import plan, run_suite
from wup_pipeline.checks.suites import SUITES
from wup_pipeline.resources.warehouse import ensure_audit_tables

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NOW = dt.datetime(2026, 6, 1, 12, 0, 0)
ENGINES = ("great_expectations", "duckdb_sql")

# Every expectation type both engines implement, with nulls, NaN, dates and a reference table.
EVERYTHING = suite(
    "everything", "raw.vbo",
    required_columns({"vbo_id": "string", "pand_id": "string", "postcode": "string", "huisnummer": "integer",
                      "area": "number", "registered": "date", "valid_until": "date", "label": "string"}),
    not_null("vbo_id"),
    matches("vbo_id", r"^[0-9]{4}01[0-9]{10}$"),
    unique("vbo_id"),
    references("pand_id", "raw.pand", mostly=0.6),
    matches("postcode", r"^[1-9][0-9]{3}[A-Z]{2}$"),
    not_null("postcode", severity=Severity.WARN),
    between("huisnummer", 1, 99_999),
    between("area", 0, 100_000, strict_min=True, strict_max=True),
    between("bouwjaar", 1000, CurrentYear(1)),
    not_in_set("bouwjaar", [1005]),
    in_set("label", ["A", "B", "C", "D", "E", "F", "G"]),
    not_before("valid_until", "registered"),
    between("registered", dt.datetime(2006, 1, 1), DaysAgo(-1)),
    fresh_column("registered", 400),
    row_count_near_previous(0.2),
    fresh_snapshot(30),
)

CLEAN_ROWS = [
    ("0518010000000001", "0518100000000001", "2593PJ", 2, 74.0, 1930, "2024-03-01", "2034-03-01", "C"),
    ("0518010000000002", "0518100000000002", "2593PK", 4, 120.5, 2001, "2025-11-02", "2035-11-02", "A"),
    ("0518010000000003", "0518100000000002", None, 6, 60.0, 1968, "2023-01-15", "2033-01-15", "B"),
    ("0518010000000004", "0518100000000003", "9999ZZ", 99_999, 99_999.9, 2027, "2026-05-01", "2036-05-01", "G"),
]
DIRTY_ROWS = CLEAN_ROWS + [
    ("518010000000005", "0518100000000009", "2593 pj", 0, -1.0, 1005, "2024-01-01", "2020-01-01", "A+"),
    ("0518010000000001", None, "1000AA", 8, float("nan"), 999, None, "2030-01-01", None),
    (None, "0518100000000001", "0999AA", 10, 100_000.0, 2040, "2027-01-01", None, "G"),
    ("0518010000000008", "0518100000000007", "2593PJ\n", 12, None, None, "2005-06-30", "2015-06-30", "c"),
]


def make_tables(con: duckdb.DuckDBPyConnection, rows, retrieved_at: dt.datetime = NOW) -> None:
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists audit")
    ensure_audit_tables(con)
    con.execute("create or replace table raw.pand as select * from (values ('0518100000000001'), "
                "('0518100000000002'), ('0518100000000003')) v(pand_id)")
    con.execute("create or replace table raw.vbo (vbo_id varchar, pand_id varchar, postcode varchar, "
                "huisnummer integer, area double, bouwjaar integer, registered date, valid_until date, label varchar)")
    if rows:
        con.executemany("insert into raw.vbo values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("delete from audit.snapshots where raw_table = 'raw.vbo'")
    con.execute("insert into audit.snapshots (snapshot_id, dataset, retrieved_at, raw_table) values "
                "('abc', 'bag/GM0518', ?, 'raw.vbo')", [retrieved_at.isoformat() + "+00:00"])


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection


def both(con, the_suite, **options):
    return {engine: run_suite(con, the_suite, engine=engine, now=NOW, **options) for engine in ENGINES}


def assert_same(results) -> None:
    gx, sql = results["great_expectations"], results["duckdb_sql"]
    assert gx.engine == "great_expectations" and sql.engine == "duckdb_sql"
    assert [r.name for r in gx.results] == [r.name for r in sql.results]
    for a, b in zip(gx.results, sql.results, strict=True):
        assert (a.name, a.success, a.exception) == (b.name, b.success, b.exception)
        for key in ("element_count", "missing_count", "unexpected_count", "observed_value"):
            assert a.result[key] == b.result[key], (a.name, key)
        assert a.result["unexpected_percent"] == pytest.approx(b.result["unexpected_percent"]), a.name
        assert sorted(map(json.dumps, a.result["partial_unexpected_list"])) == sorted(
            map(json.dumps, b.result["partial_unexpected_list"])), a.name
        assert a.kwargs == b.kwargs


def test_engines_agree_on_a_clean_table(con):
    make_tables(con, CLEAN_ROWS)
    results = both(con, EVERYTHING)
    assert_same(results)
    failed = [r.name for r in results["duckdb_sql"].results if not r.success]
    assert failed == ["postcode_not_null"]  # the one missing postcode is a WARN


def test_engines_agree_on_a_dirty_table_and_count_right(con):
    make_tables(con, DIRTY_ROWS)
    results = both(con, EVERYTHING)
    assert_same(results)
    sql = results["duckdb_sql"]
    counts = {r.name: r.unexpected_count for r in sql.results if not r.success}
    assert counts == {
        "vbo_id_not_null": 1,
        "vbo_id_format": 1,
        "vbo_id_unique": 2,  # both rows of the duplicate, as GX counts them
        "postcode_format": 2,  # '2593 pj' and '0999AA'
        "postcode_not_null": 1,
        "huisnummer_range": 1,
        "area_range": 2,  # -1 and 100000 (strict); NaN and null are missing, not unexpected
        "bouwjaar_range": 2,  # 999 and 2040; 2027 is next year, allowed
        "bouwjaar_not_in_set": 1,
        "label_in_set": 2,
        "valid_until_not_before_registered": 1,  # rows missing either date are ignored
        "registered_range": 2,
    }
    # Python's '$' (GX) also matches before a final newline; the SQL engine follows it.
    assert "2593PJ\n" not in sql.result("postcode_format").result["partial_unexpected_list"]
    reference = sql.result("pand_id_in_pand")
    assert reference.success and reference.unexpected_count == 2  # 5 of 7 known: above mostly=0.6
    assert sql.result("area_range").result["missing_count"] == 2


def test_engines_agree_on_an_empty_table(con):
    make_tables(con, [])
    results = both(con, EVERYTHING)
    assert_same(results)
    failed = [r.name for r in results["great_expectations"].results if not r.success]
    assert failed == ["registered_fresh", "row_count_vs_previous"]  # no newest date; an empty delivery


def test_a_missing_column_or_table_fails_alike_with_a_message(con):
    make_tables(con, CLEAN_ROWS)
    con.execute("alter table raw.vbo drop column label")
    results = both(con, EVERYTHING)
    assert_same(results)
    label = results["great_expectations"].result("label_in_set")
    assert not label.success and label.exception == "column 'label' missing from raw.vbo"
    assert not results["duckdb_sql"].result("columns_present").success
    gone = run_suite(con, EVERYTHING, "raw.nothing_here", now=NOW)
    assert gone.engine == "none" and all(not r.success for r in gone.results)
    assert gone.results[0].exception == "table raw.nothing_here does not exist"


def test_wrong_types_fail_in_both_engines_without_crashing_the_query(con):
    make_tables(con, CLEAN_ROWS)
    con.execute("create or replace table raw.vbo as select * replace (cast(huisnummer as varchar) as huisnummer, "
                "cast(vbo_id as bigint) as vbo_id) from raw.vbo")
    results = both(con, EVERYTHING)
    assert_same(results)
    sql = results["duckdb_sql"]
    assert not sql.result("huisnummer_type").success and sql.result("huisnummer_type").result["observed_value"] == (
        "VARCHAR")
    assert "cannot be compared" in sql.result("huisnummer_range").exception
    assert "regexes apply to strings only" in sql.result("vbo_id_format").exception
    assert sql.result("area_range").success  # the other expectations still ran


def test_a_large_reference_is_judged_alike_and_gx_gets_only_the_missing_keys(con):
    """GX copies a value set dozens of times per expectation: it is handed the few keys the other table lacks."""
    con.execute("create schema raw")
    con.execute("create table raw.pand as select printf('0518100%09d', i) as pand_id from range(5000) t(i)")
    known = [f"0518100{i:09d}" for i in range(0, 5000, 90)]
    unknown = ["0518109999999991", "0518109999999992", "0518109999999991", "0518109999999993"]
    con.execute("create table raw.vbo (pand_id varchar)")
    con.executemany("insert into raw.vbo values (?)", [[k] for k in known + unknown + [None, None]])
    referencing = suite("referencing", "raw.vbo", references("pand_id", "raw.pand", mostly=0.95))
    results = both(con, referencing)
    assert_same(results)
    check = results["great_expectations"].result("pand_id_in_pand")
    assert check.unexpected_count == 4 and check.result["missing_count"] == 2
    assert not check.success  # 56 of 60 known (93 %) is under mostly=0.95
    assert check.kwargs == {"column": "pand_id", "value_set_from": "raw.pand.pand_id", "mostly": 0.95}

    import great_expectations as gx

    from wup_pipeline.checks import gx_engine

    [planned] = plan(con, referencing, "raw.vbo", table_columns(con, "raw.vbo"), now=NOW)
    handed = gx_engine._gx_expectation(gx, con, "raw.vbo", planned)
    assert type(handed).__name__ == "ExpectColumnValuesToNotBeInSet"
    assert sorted(handed.value_set) == ["0518109999999991", "0518109999999992", "0518109999999993"]


def test_catalog_lookups_see_tables_and_views_and_leave_a_transaction_usable(con):
    make_tables(con, DIRTY_ROWS)
    con.execute("create table raw.typed (amount decimal(18, 3), reasons varchar[], seen_at timestamptz)")
    assert table_columns(con, "raw.typed") == {"amount": "DECIMAL(18,3)", "reasons": "VARCHAR[]",
                                                "seen_at": "TIMESTAMP WITH TIME ZONE"}
    con.execute("create view raw.vbo_view as select * from raw.vbo")
    assert list(table_columns(con, "raw.vbo_view")) == list(table_columns(con, "raw.vbo"))
    assert table_columns(con, "raw.nothing_here") is None and table_columns(con, "nowhere.vbo") is None
    con.execute("begin transaction")
    con.execute("insert into raw.pand values ('0518100000000099')")
    assert table_columns(con, "quarantine.vbo") is None  # quarantine asks this inside its transaction
    con.execute("commit")
    assert con.execute("select count(*) from raw.pand where pand_id = '0518100000000099'").fetchone()[0] == 1
    # A view has no row ids: the SQL engine still agrees with GX (samples compared as sets).
    on_view = both(con, EVERYTHING, table="raw.vbo_view")
    assert_same(on_view)
    assert on_view["duckdb_sql"].result("postcode_format").unexpected_count == 2


def test_engine_is_chosen_by_row_count(con):
    make_tables(con, CLEAN_ROWS)
    assert run_suite(con, EVERYTHING, now=NOW).engine == "great_expectations"
    assert run_suite(con, EVERYTHING, now=NOW, gx_max_rows=3).engine == "duckdb_sql"
    with pytest.raises(ValueError, match="unknown engine"):
        run_suite(con, EVERYTHING, engine="spark")


def test_row_count_is_compared_with_the_last_passing_run_of_the_same_source(con):
    many = [(f"05180100000{i:05d}", "0518100000000001", "2593PJ", 1, 50.0, 1950, "2025-01-01", "2035-01-01", "A")
            for i in range(100)]
    make_tables(con, many)
    first = run_gate(con, EVERYTHING, run_id="run-1", now=NOW)
    assert first.suite_result.result("row_count_vs_previous").kwargs == {"min_value": 1, "max_value": None}
    make_tables(con, many[:75])
    dropped = run_suite(con, EVERYTHING, run_id="run-2", now=NOW)
    check = dropped.result("row_count_vs_previous")
    assert not check.success and check.kwargs == {"min_value": 80, "max_value": 120}
    assert check.result["observed_value"] == 75
    make_tables(con, many[:90])
    assert run_suite(con, EVERYTHING, run_id="run-3", now=NOW).result("row_count_vs_previous").success
    # Another gemeente is another source: no baseline, only "not empty".
    con.execute("update audit.snapshots set dataset = 'bag/GM0014' where raw_table = 'raw.vbo'")
    other = run_suite(con, EVERYTHING, run_id="run-4", now=NOW).result("row_count_vs_previous")
    assert other.kwargs == {"min_value": 1, "max_value": None}


def test_stale_snapshot_and_stale_column_are_warnings(con):
    make_tables(con, CLEAN_ROWS, retrieved_at=NOW - dt.timedelta(days=45))
    results = both(con, EVERYTHING)
    assert_same(results)
    stale = results["duckdb_sql"].result("snapshot_fresh")
    assert not stale.success and stale.severity == Severity.WARN
    assert stale.result["observed_value"] == (NOW - dt.timedelta(days=45)).isoformat()
    assert results["duckdb_sql"].result("registered_fresh").success


def test_record_results_appends_rows_with_run_snapshot_and_resolved_kwargs(con):
    make_tables(con, DIRTY_ROWS)
    result = run_suite(con, EVERYTHING, engine="duckdb_sql", now=NOW)
    assert record_results(con, result, "run-x", "abc", source_version="v1") == len(EVERYTHING.expectations)
    assert record_results(con, result, "run-y", "abc") == len(EVERYTHING.expectations)
    rows = con.execute(
        "select run_id, snapshot_id, source_version, severity, kind, engine, element_count, unexpected_count, "
        "passed, outcome, kwargs_json from audit.check_results where check_name = 'bouwjaar_range' order by run_id"
    ).fetchall()
    assert [r[0] for r in rows] == ["run-x", "run-y"]
    run_x = rows[0]
    assert run_x[1:10] == ("abc", "v1", "ERROR", "row", "duckdb_sql", 8, 2, False, "failed")
    assert json.loads(run_x[10]) == {"column": "bouwjaar", "min_value": 1000, "max_value": 2027,
                                     "strict_min": False, "strict_max": False}
    reference = con.execute("select kwargs_json from audit.check_results where check_name = 'pand_id_in_pand' "
                            "limit 1").fetchone()[0]
    assert json.loads(reference) == {"column": "pand_id", "value_set_from": "raw.pand.pand_id", "mostly": 0.6}


def test_unportable_regexes_are_refused():
    with pytest.raises(ValueError, match=r"\[0-9\]"):
        matches("postcode", r"^\d{4}[A-Z]{2}$")
    with pytest.raises(ValueError, match="last character"):
        matches("code", r"^(GM$|WK)")
    with pytest.raises(ValueError, match="table-level rule"):  # duplicates are not one row's fault
        Expectation("id_unique", "expect_column_values_to_be_unique", {"column": "id"}, Severity.ERROR, Kind.ROW)
    with pytest.raises(ValueError, match="duplicate expectation names"):
        suite("s", "raw.t", not_null("id"), not_null("id"))


def test_every_registered_suite_is_well_formed():
    expected = {"raw.cbs_kwb", "raw.pdok_buurten", "staging.stg_cbs__kwb", "marts.factscan_buurt",
                "raw.bag_verblijfsobjecten", "raw.bag_panden", "raw.energy_labels", "raw.corporation_portfolio",
                "intermediate.int_dwellings"}
    assert expected <= set(SUITES)
    for table, the_suite in SUITES.items():
        assert the_suite.table == table
        assert any(e.expectation_type == "expect_table_columns_to_match_set" for e in the_suite.expectations)
        if the_suite.quarantine:
            assert table.startswith("raw.") and the_suite.key_columns and the_suite.quarantine_rules
        for reference in the_suite.referenced_tables():
            assert reference in SUITES, f"{table} references {reference}, which has no suite of its own"
    assert SUITES["raw.bag_verblijfsobjecten"].expectation("pand_id_in_bag_panden").kwargs["mostly"] == 0.99
    assert SUITES["raw.bag_panden"].expectation("bouwjaar_known").severity == Severity.WARN


@pytest.mark.shared_data
def test_real_bag_test_area_passes_the_bag_suites(con):
    """31,293 real VBO and 15,380 panden of Den Haag: no blocking failure; the known gaps are warnings."""
    folder = SHARED / "data" / "bag_testarea_denhaag"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (real BAG test area from ../shared/data)")
    con.execute("create schema raw")
    con.execute(
        "create table raw.bag_verblijfsobjecten as select vbo_id, pand_id, nummeraanduiding_id, postcode, "
        "huisnummer::integer as huisnummer, huisletter, huisnummertoevoeging as toevoeging, gebruiksdoel, "
        "oppervlakte_m2::double as oppervlakte_m2, status, x_rd::double as x_rd, y_rd::double as y_rd, "
        f"buurtcode as buurt_code from read_csv('{folder / 'bag_verblijfsobject_testarea.csv'}', all_varchar=true)")
    con.execute(
        "create table raw.bag_panden as select pand_id, oorspronkelijkbouwjaar::integer as bouwjaar, status, "
        "footprint_area_m2::double as footprint_area_m2, wkt_rd as geometry_wkt "
        f"from read_csv('{folder / 'bag_pand_testarea.csv'}', all_varchar=true)")
    for table in ("raw.bag_verblijfsobjecten", "raw.bag_panden"):
        result = run_suite(con, SUITES[table], engine="duckdb_sql")
        assert result.failed(Severity.ERROR) == [], [r.summary() for r in result.failed(Severity.ERROR)]
    vbo = run_suite(con, SUITES["raw.bag_verblijfsobjecten"], engine="duckdb_sql")
    assert vbo.result("postcode_not_null").unexpected_count == 1076
    assert vbo.result("pand_id_in_bag_panden").unexpected_count == 283  # pand outside the clip, under 1 %
