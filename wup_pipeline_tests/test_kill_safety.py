"""SIGKILL a real `wup demo` in the middle of its run: the published warehouse stays as it was; the next run completes.

Slow by nature (two real pipeline runs of the demo in subprocesses, about a minute in all).
"""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from wup_pipeline.resources.warehouse import Warehouse

# The first intermediate model logging its row count: every raw asset and the BAG staging models are written to
# the build file by then, and the run is far from publishing.
KILL_AFTER = re.compile(r" - intermediate__\w+ - intermediate\.\w+: \d+ rows")
RUN_TIMEOUT_S = 300


def wup_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("WUP_WAREHOUSE", "WUP_GEMEENTE", "WUP_YEAR", "WUP_SOURCE_MIRROR")}
    env.update(WUP_HOME=str(tmp_path / "var"), DAGSTER_HOME=str(tmp_path / "dagster_home"),
               DAGSTER_DISABLE_TELEMETRY="1", PYTHONUNBUFFERED="1")
    return env


def start_wup(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, queue.Queue]:
    wup = Path(sys.executable).with_name("wup")
    process = subprocess.Popen([str(wup), *args], cwd=tmp_path, env=wup_env(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def wait_for(lines: queue.Queue, pattern: re.Pattern, timeout: float) -> tuple[str | None, list[str]]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            return None, seen
        seen.append(line)
        if pattern.search(line):
            return line, seen
    return None, seen


def test_sigkill_mid_run_leaves_the_published_warehouse_intact_and_the_next_run_completes(tmp_path):
    var = tmp_path / "var"
    wh = Warehouse(build_path=str(var / "warehouse" / "build.duckdb"),
                   published_path=str(var / "warehouse" / "wup.duckdb"))
    (var / "warehouse").mkdir(parents=True)
    with duckdb.connect(wh.build_path) as con:  # the state analysts had before the run
        con.execute("create schema marts")
        con.execute("create table marts.before_the_run as select 42 as answer")
    wh.publish("before")
    before = Path(wh.published_path).read_bytes()
    states_before = [s.name for s in wh.list_states()]

    process, lines = start_wup(["demo"], tmp_path)
    try:
        hit, seen = wait_for(lines, KILL_AFTER, RUN_TIMEOUT_S)
        assert hit, "the run never reached an intermediate model:\n" + "".join(seen[-30:])
        os.killpg(process.pid, signal.SIGKILL)  # the process group this test started
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    written = sum(p.stat().st_size for p in Path(wh.build_path).parent.glob("build.duckdb*"))
    assert written > 1_000_000  # the killed run did write (build file and its write-ahead log)

    assert Path(wh.published_path).read_bytes() == before  # byte-identical
    assert [s.name for s in wh.list_states()] == states_before
    query = subprocess.run([str(Path(sys.executable).with_name("wup")), "query", "--csv",
                            "select answer from marts.before_the_run"], cwd=tmp_path, env=wup_env(tmp_path),
                           capture_output=True, text=True, timeout=120)
    assert query.returncode == 0 and query.stdout.splitlines() == ["answer", "42"], query.stderr

    process, lines = start_wup(["demo"], tmp_path)  # the next run, on the build file the kill left behind
    try:
        _, seen = wait_for(lines, re.compile(r"^run \S+ finished in"), RUN_TIMEOUT_S)
        assert process.wait(timeout=60) == 0, "".join(seen[-40:])
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert Path(wh.published_path).read_bytes() != before
    states = wh.list_states()
    assert len(states) == 2 and states[0].published and states[1].name == states_before[0]
    with duckdb.connect(wh.published_path, read_only=True) as con:
        assert con.execute("select count(*) from marts.housing_stock_buurt").fetchone()[0] == 12
        assert con.execute("select count(*) from marts.monitoring_buurt").fetchone()[0] == 12
