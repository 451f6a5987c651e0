"""Safe publishing: readers are never blocked nor shown a half-written state; rollback; pruning; history."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from wup_pipeline.resources.warehouse import Warehouse, WarehouseStateError, open_duckdb

# A reader in its own process, as an analyst's notebook would be. Every connection checks that the state it sees
# is whole: the row count of ``big`` equals ``meta.n`` written in the same build.
READER = textwrap.dedent("""
    import json, sys, time, duckdb
    path, mode = sys.argv[1], sys.argv[2]

    def state(con):
        n, = con.execute("select n from meta").fetchone()
        rows, total = con.execute("select count(*), sum(v) from big").fetchone()
        return {"n": n, "rows": rows, "whole": rows == n and total == n * (n - 1) // 2}

    if mode == "hold":  # keep one connection open across a publish
        con = duckdb.connect(path, read_only=True)
        print(json.dumps(state(con)), flush=True)
        sys.stdin.readline()  # the test publishes meanwhile
        t0 = time.monotonic()
        held = state(con)
        held["seconds"] = time.monotonic() - t0
        print(json.dumps(held), flush=True)
        con.close()
        fresh = duckdb.connect(path, read_only=True)
        print(json.dumps(state(fresh)), flush=True)
    else:  # open a new connection again and again until stdin closes
        import threading
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        seen, errors, slowest = [], [], 0.0
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                con = duckdb.connect(path, read_only=True)
                seen.append(state(con))
                con.close()
            except duckdb.Error as exc:
                errors.append(str(exc))
            slowest = max(slowest, time.monotonic() - t0)
        print(json.dumps({"seen": seen, "errors": errors, "slowest": slowest}), flush=True)
""")


def warehouse(tmp_path: Path, keep: int = 5) -> Warehouse:
    return Warehouse(build_path=str(tmp_path / "wh" / "build.duckdb"),
                     published_path=str(tmp_path / "wh" / "wup.duckdb"), keep_states=keep)


def build(wh: Warehouse, n: int) -> None:
    """A new build state: ``big`` with n rows and ``meta.n`` = n (together one whole state)."""
    Path(wh.build_path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(wh.build_path)  # no spatial needed here: quicker than wh.connect()
    try:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table big as select range as v, repeat('x', 40) as pad from range({n})")
        con.execute(f"create or replace table meta as select {n} as n")
    finally:
        con.close()


def published_n(wh: Warehouse) -> int:
    con = duckdb.connect(wh.published_path, read_only=True)
    try:
        return con.execute("select n from meta").fetchone()[0]
    finally:
        con.close()


def reader(path: str, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", READER, path, mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_reader_holding_the_old_state_is_not_blocked_and_sees_the_new_state_next_time(tmp_path):
    wh = warehouse(tmp_path)
    build(wh, 200_000)
    wh.publish("run-1")
    held = reader(wh.published_path, "hold")
    try:
        before = json.loads(held.stdout.readline())
        assert before == {"n": 200_000, "rows": 200_000, "whole": True}
        build(wh, 300_000)
        t0 = time.monotonic()
        wh.publish("run-2")  # while the reader holds its read-only connection on the old file
        assert time.monotonic() - t0 < 10
        held.stdin.write("go\n")
        held.stdin.flush()
        during = json.loads(held.stdout.readline())
        after = json.loads(held.stdout.readline())
    finally:
        held.stdin.close()
        held.wait(timeout=30)
    assert held.returncode == 0, held.stderr.read()
    assert during["n"] == 200_000 and during["whole"] and during["seconds"] < 5  # the old state, whole, at once
    assert after == {"n": 300_000, "rows": 300_000, "whole": True}  # the next connection sees the new state


def test_readers_during_repeated_publishes_only_ever_see_whole_states(tmp_path):
    wh = warehouse(tmp_path, keep=3)
    sizes = [100_000 + 25_000 * i for i in range(5)]
    build(wh, sizes[0])
    wh.publish("run-0")
    loop = reader(wh.published_path, "loop")
    try:
        time.sleep(0.3)
        for index, n in enumerate(sizes[1:], start=1):
            build(wh, n)
            wh.publish(f"run-{index}")
            time.sleep(0.1)
    finally:
        out, err = loop.communicate(timeout=60)  # closing stdin stops the loop
    report = json.loads(out)
    assert report["errors"] == [], report["errors"][:3]
    assert report["seen"] and all(s["whole"] for s in report["seen"])
    assert {s["n"] for s in report["seen"]} <= set(sizes)
    assert len({s["n"] for s in report["seen"]}) >= 3  # it really read across publishes
    assert report["slowest"] < 5  # never blocked
    assert [s.run_id for s in wh.list_states()] == ["run-4", "run-3", "run-2"]  # pruned to keep_states


def test_rollback_restores_the_previous_state_and_refuses_beyond_what_is_kept(tmp_path):
    wh = warehouse(tmp_path, keep=3)
    for run, n in (("a", 10), ("b", 20), ("c", 30)):
        build(wh, n)
        wh.publish(run)
    states = wh.list_states()
    assert [s.run_id for s in states] == ["c", "b", "a"] and [s.published for s in states] == [True, False, False]
    assert oct(states[0].path.stat().st_mode & 0o777) == "0o444"  # kept states are read-only files

    restored = wh.rollback()
    assert restored.run_id == "b" and published_n(wh) == 20
    assert [s.published for s in wh.list_states()] == [False, True, False]
    assert wh.rollback(states_back=1).run_id == "a" and published_n(wh) == 10
    with pytest.raises(WarehouseStateError, match="cannot go back 1 state"):
        wh.rollback()
    with pytest.raises(WarehouseStateError, match="states_back must be 1 or more"):
        wh.rollback(0)

    build(wh, 40)  # publishing after a rollback: the newest N stay, the one rolled back to is no longer special
    wh.publish("d")
    assert [s.run_id for s in wh.list_states()] == ["d", "c", "b"] and published_n(wh) == 40


def test_pruning_never_removes_the_published_state(tmp_path):
    wh = warehouse(tmp_path, keep=2)
    for run, n in (("a", 1), ("b", 2), ("c", 3)):
        build(wh, n)
        wh.publish(run)
    assert [s.run_id for s in wh.list_states()] == ["c", "b"]
    wh.rollback()  # b published
    removed = Warehouse(build_path=wh.build_path, published_path=wh.published_path, keep_states=1).prune()
    assert removed == [] and [s.run_id for s in wh.list_states()] == ["c", "b"]  # b is published: kept


def test_failed_or_killed_publish_leaves_the_published_state_alone(tmp_path):
    wh = warehouse(tmp_path)
    build(wh, 5)
    wh.publish("good")
    before = Path(wh.published_path).read_bytes()
    leftover = wh.states_path / ".20260101T000000000000Z-killed.duckdb.tmp"
    leftover.write_bytes(b"half a copy")  # what a SIGKILL during the copy leaves behind
    Path(wh.build_path).write_bytes(b"not a duckdb file at all" * 100)
    with pytest.raises((WarehouseStateError, duckdb.Error)):
        wh.publish("bad")
    assert Path(wh.published_path).read_bytes() == before and published_n(wh) == 5
    assert not leftover.exists()  # cleaned up at the next publish
    assert [s.run_id for s in wh.list_states()] == ["good"]


def test_reset_build_starts_the_next_run_from_the_published_state(tmp_path):
    wh = warehouse(tmp_path)
    assert wh.reset_build() is False  # nothing published yet
    build(wh, 7)
    wh.publish("one")
    build(wh, 8)  # a run that then died before publishing
    assert wh.reset_build() is True
    with open_duckdb(wh.build_path, read_only=True) as con:
        assert con.execute("select n from meta").fetchone()[0] == 7
    assert os.stat(wh.build_path).st_ino != os.stat(wh.published_path).st_ino  # a copy, never the published file


def test_publish_appends_monitoring_history_by_year_and_run(tmp_path):
    wh = warehouse(tmp_path)

    def mart(year: int, gas: float) -> None:
        build(wh, 1)
        with duckdb.connect(wh.build_path) as con:
            con.execute(f"""create or replace table marts.monitoring_buurt as
                select {year} as reference_year, 'BU99990101' as buurt_code, {gas} as avg_gas_m3,
                       'this_run' as row_origin
                union all select 2020, 'BU99990101', 999.0, 'history'""")

    mart(2023, 900.0)
    wh.publish("r2023")
    mart(2024, 850.0)
    wh.publish("r2024")
    mart(2024, 840.0)  # 2024 again: replaces, does not duplicate
    wh.publish("r2024b")
    con = duckdb.connect(wh.published_path, read_only=True)
    try:
        rows = con.execute("select reference_year, avg_gas_m3, run_id from audit.monitoring_buurt_history "
                           "order by reference_year").fetchall()
    finally:
        con.close()
    assert rows == [(2023, 900.0, "r2023"), (2024, 840.0, "r2024b")]  # history rows are never re-appended


def test_wup_states_and_rollback_commands(tmp_path, monkeypatch, capsys):
    import argparse

    from wup_pipeline import cli, cli_ops

    monkeypatch.setenv("WUP_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("WUP_WAREHOUSE", raising=False)
    wh = cli_ops._warehouse()
    for run, n in (("first", 1), ("second", 2)):
        build(wh, n)
        wh.publish(run)
    parser = argparse.ArgumentParser(prog="wup")
    cli_ops.register(parser.add_subparsers(dest="command", required=True))

    def wup(*argv):
        args = parser.parse_args(list(argv))
        args.func(args)
        return capsys.readouterr().out

    listed = wup("states")
    assert listed.index("second") < listed.index("first") and "(published)" in listed.splitlines()[1]
    assert "run first" in wup("rollback") and published_n(wh) == 1
    assert [s["published"] for s in json.loads(wup("states", "--json"))] == [False, True]
    with pytest.raises(cli.CliError, match="cannot go back 1 state"):
        wup("rollback", "--states-back", "1")
