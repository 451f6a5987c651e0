"""`wup query`: read-only SQL on the published warehouse."""

import duckdb
import pytest

from wup_pipeline.cli import main


@pytest.fixture
def published(tmp_path, monkeypatch):
    path = tmp_path / "wup.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.t as select * from (values ('BU1', 3), ('BU2', NULL)) v(code, n)")
    con.close()
    monkeypatch.setenv("WUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WUP_WAREHOUSE", str(path))
    return path


def test_query_prints_csv(published, capsys):
    main(["query", "--csv", "select code, n from marts.t order by code"])
    assert capsys.readouterr().out == "code,n\nBU1,3\nBU2,\n"


def test_query_prints_a_table(published, capsys):
    main(["query", "select count(*) as buurten from marts.t"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].strip() == "buurten" and out[2].strip() == "2" and out[-1] == "(1 row)"


@pytest.mark.parametrize(
    "sql", ["delete from marts.t", "drop table marts.t", "insert into marts.t values ('x', 1)",
            "create table marts.u as select 1", "select 1; update marts.t set n = 0"],
)
def test_write_statements_are_refused(published, capsys, sql):
    with pytest.raises(SystemExit) as exit_info:
        main(["query", sql])
    assert exit_info.value.code == 2
    assert "read-only" in capsys.readouterr().err
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("select count(*) from marts.t").fetchone()[0] == 2


def test_missing_warehouse_is_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WUP_WAREHOUSE", str(tmp_path / "absent.duckdb"))
    with pytest.raises(SystemExit):
        main(["query", "select 1"])
    assert "run `wup demo` or `wup run` first" in capsys.readouterr().err


def test_bad_sql_gives_a_message_not_a_trace(published, capsys):
    with pytest.raises(SystemExit):
        main(["query", "select nope from marts.t"])
    assert "query failed" in capsys.readouterr().err
