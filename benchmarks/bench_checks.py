"""Benchmark: the DuckDB SQL engine and quarantine on a national-size BAG verblijfsobjecten table.

Generates ``--rows`` rows shaped like raw.bag_verblijfsobjecten (plus raw.bag_panden for the
reference check) in DuckDB SQL, in a child process so its memory does not count, in a DuckDB file
in a temporary directory. Then, in this process: the suite (one aggregate query), the quarantine
(one counting query, one INSERT ... SELECT, one DELETE in a transaction) and recording the results.
Prints ONE JSON line: rows, seconds per phase, total seconds, peak RSS, rows per second.

    .venv/bin/python benchmarks/bench_checks.py --rows 10000000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

# A small, fixed share of bad rows per kind (row i is bad when i % period == offset).
BAD_POSTCODE_EVERY = 1_000  # '1234 ab': 0.1 %
BAD_AREA_EVERY = 2_000  # negative floor area: 0.05 %
BAD_ID_EVERY = 100_000  # 15-digit vbo_id (leading zero lost): 0.001 %
OUTSIDE_NL_EVERY = 50_000  # x_rd outside the Netherlands: 0.002 %


def generate(path: Path, rows: int, threads: int) -> None:
    """raw.bag_panden (rows/2) and raw.bag_verblijfsobjecten (rows), set-based in DuckDB."""
    with duckdb.connect(str(path)) as con:
        con.execute(f"set threads = {int(threads)}")
        con.execute("create schema if not exists raw")
        con.execute("create schema if not exists audit")
        # The audit.snapshots columns the checks read (provenance, freshness); the full table is in warehouse.py.
        con.execute("create table audit.snapshots (snapshot_id varchar, source_id varchar, dataset varchar, "
                    "retrieved_at varchar, source_version varchar, raw_table varchar, rows bigint)")
        con.execute(f"""
            create table raw.bag_panden as
            select printf('0518%02d%010d', 10, i) as pand_id,
                   (1850 + hash(i) % 175)::integer as bouwjaar,
                   'Pand in gebruik' as status,
                   (40 + hash(i * 7) % 400)::double as footprint_area_m2,
                   'POLYGON ((0 0, 10 0, 10 10, 0 0))' as geometry_wkt
            from range({(rows + 1) // 2}) t(i)""")
        con.execute(f"""
            create table raw.bag_verblijfsobjecten as
            select
                case when i % {BAD_ID_EVERY} = 11 then printf('518%02d%010d', 1, i)
                     else printf('0518%02d%010d', 1, i) end as vbo_id,
                printf('0518%02d%010d', 10, i // 2) as pand_id,
                printf('0518%02d%010d', 20, i) as nummeraanduiding_id,
                case when i % {BAD_POSTCODE_EVERY} = 3 then '1234 ab'
                     when i % 40 = 7 then null
                     else printf('%04d%s%s', 1000 + hash(i) % 9000, chr((65 + hash(i * 3) % 26)::integer),
                                 chr((65 + hash(i * 5) % 26)::integer)) end as postcode,
                (1 + i % 250)::integer as huisnummer,
                case when i % 9 = 0 then 'A' end as huisletter,
                case when i % 13 = 0 then '2' end as toevoeging,
                case when i % 10 < 8 then 'woonfunctie' else 'kantoorfunctie' end as gebruiksdoel,
                case when i % {BAD_AREA_EVERY} = 5 then -12.0 else (15 + hash(i * 11) % 300)::double end
                    as oppervlakte_m2,
                'Verblijfsobject in gebruik' as status,
                case when i % {OUTSIDE_NL_EVERY} = 17 then 999999.0
                     else (13000 + hash(i * 13) % 265000)::double end as x_rd,
                (307000 + hash(i * 17) % 329000)::double as y_rd,
                printf('BU0518%04d', hash(i // 400) % 10000) as buurt_code
            from range({int(rows)}) t(i)""")
        con.execute(
            "insert into audit.snapshots (snapshot_id, source_id, dataset, retrieved_at, raw_table, rows) "
            "values (?, 'bag', 'lvbag-extract/GM0518', strftime(now() at time zone 'UTC', '%Y-%m-%dT%H:%M:%S+00:00'),"
            " 'raw.bag_verblijfsobjecten', ?)",
            ["0" * 64, rows],
        )
        con.execute("checkpoint")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--generate-into", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.generate_into:
        generate(args.generate_into, args.rows, args.threads)
        return {}

    from wup_pipeline.checks.quarantine import apply_quarantine
    from wup_pipeline.checks.results import record_results
    from wup_pipeline.checks.runner import run_suite
    from wup_pipeline.checks.suites import SUITES

    suite = SUITES["raw.bag_verblijfsobjecten"]
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench_checks_") as tmp:
        path = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--generate-into", str(path),
                        "--rows", str(args.rows), "--threads", str(args.threads)], check=True)
        seconds["generate"] = time.perf_counter() - started
        with duckdb.connect(str(path)) as con:
            con.execute(f"set threads = {int(args.threads)}")
            con.execute(f"set temp_directory = '{tmp}'")
            started = time.perf_counter()
            result = run_suite(con, suite, engine="duckdb_sql", run_id="bench")
            seconds["validate"] = time.perf_counter() - started
            started = time.perf_counter()
            summary = apply_quarantine(con, suite.table, suite, run_id="bench", max_share=suite.max_quarantine_share,
                                       now=result.checked_at)
            seconds["quarantine"] = time.perf_counter() - started
            started = time.perf_counter()
            record_results(con, result, "bench", None)
            seconds["record"] = time.perf_counter() - started
    checked = seconds["validate"] + seconds["quarantine"] + seconds["record"]
    report = {
        "benchmark": "checks_duckdb_sql_engine",
        "table": suite.table,
        "rows": args.rows,
        "threads": args.threads,
        "expectations": len(result.results),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "total_seconds": round(checked, 3),  # validate + quarantine + record (generation excluded)
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rows_per_second": round(args.rows / checked),
        "quarantined_rows": summary.rows_quarantined,
        "quarantined_by_reason": summary.by_reason,
        "failed_expectations": [r.name for r in result.failed()],
        "duckdb": duckdb.__version__,
    }
    print(json.dumps(report), flush=True)
    return report


if __name__ == "__main__":
    main()
