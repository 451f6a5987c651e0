"""The production Dagster instance: run, event log and schedule storage in PostgreSQL (dagster-postgres).

The test starts its own PostgreSQL cluster (initdb + pg_ctl from the Debian ``postgresql`` package) in a temporary
directory on a free loopback port, as the ``postgres`` user when run as root (PostgreSQL refuses to run as
root), writes the dagster.yaml of docs/operations.md, materialises a small asset job on that instance and reads the
run back. It skips, saying why, when the PostgreSQL binaries or dagster-postgres are not installed.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

PASSWORD = "wup-test-password"
DAGSTER_YAML = textwrap.dedent("""\
    # As in docs/operations.md: every storage of the instance in one PostgreSQL database.
    storage:
      postgres:
        postgres_db:
          username: wup
          password:
            env: DAGSTER_PG_PASSWORD
          hostname: 127.0.0.1
          db_name: dagster
          port: {port}
          # SQLAlchemy 2.1 maps postgresql:// to psycopg 3; dagster-postgres installs psycopg2
          scheme: postgresql+psycopg2
    concurrency:
      runs:
        max_concurrent_runs: 1  # one writer of the DuckDB build file at a time
      pools:
        default_limit: 1  # the duckdb_warehouse pool
    telemetry:
      enabled: false
    """)


def postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_cluster_owner() -> dict:
    """subprocess arguments that drop root to the postgres user (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return {}
    owner = pwd.getpwnam("postgres")

    def demote():
        os.setgid(owner.pw_gid)
        os.setuid(owner.pw_uid)

    return {"preexec_fn": demote, "env": {**os.environ, "HOME": owner.pw_dir}}


@pytest.fixture(scope="module")
def postgres():
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: install the Debian package `postgresql`")
    pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed (pip install dagster-postgres)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the cluster as")
    root = Path(tempfile.mkdtemp(prefix="wup-pg-"))  # not under pytest's tmp: the postgres user must reach it
    data, socket_dir, pwfile = root / "data", root / "socket", root / "pwfile"
    socket_dir.mkdir()
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (root, socket_dir, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120, **as_cluster_owner()}
    try:
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "wup", f"--pwfile={pwfile}",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"], **run)
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "60",
                        "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir} -c fsync=off", "start"], **run)
        subprocess.run([str(bin_dir / "createdb"), "-h", str(socket_dir), "-p", str(port), "-U", "wup", "dagster"],
                       **run)
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}\n{log[-2000:]}")
    try:
        yield port
    finally:
        subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, **as_cluster_owner())
        shutil.rmtree(root, ignore_errors=True)


@dg.asset(group_name="sources", kinds={"python"})
def tiny_source() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


@dg.asset(deps=[tiny_source], group_name="marts", kinds={"python"})
def tiny_mart() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 1})


def test_dagster_instance_on_postgres_runs_and_reads_back(postgres, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML.format(port=postgres), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", PASSWORD)
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    job = dg.define_asset_job("tiny_job", selection=[tiny_source.key, tiny_mart.key])
    defs = dg.Definitions(assets=[tiny_source, tiny_mart], jobs=[job])
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        result = defs.resolve_job_def("tiny_job").execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id

    with dg.DagsterInstance.get() as reopened:  # a second process would see the same: read it back
        run = reopened.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "tiny_job"
        event = reopened.get_latest_materialization_event(tiny_mart.key)
        assert event is not None and event.run_id == run_id
        assert event.asset_materialization.metadata["dagster/row_count"].value == 1
    assert time.monotonic() - started < 60

    import psycopg2

    with psycopg2.connect(host="127.0.0.1", port=postgres, user="wup", password=PASSWORD, dbname="dagster") as con:
        with con.cursor() as cursor:
            cursor.execute("select count(*) from runs where run_id = %s", (run_id,))
            assert cursor.fetchone()[0] == 1  # the run row really lives in PostgreSQL


def test_wrong_password_is_refused_by_the_cluster(postgres):
    import psycopg2

    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host="127.0.0.1", port=postgres, user="wup", password="wrong", dbname="dagster")
