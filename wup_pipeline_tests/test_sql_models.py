"""The SQL runner: discovery, dependencies parsed from SQL, building, and column lineage."""

from pathlib import Path

import duckdb
import pytest

from wup_pipeline.lineage import sql_models
from wup_pipeline.lineage.sql_models import ModelError, build_model, discover_models, model_inputs
from wup_pipeline.resources.settings import sql_models_dir
from wup_pipeline.resources.warehouse import ensure_audit_tables


def write_model(root: Path, relative: str, sql: str, columns: list[str], description: str = "A test model."):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sql, encoding="utf-8")
    doc = [f"description: {description}", "columns:"]
    doc += [f"  - {{name: {c}, description: the {c}, unit: x}}" for c in columns]
    path.with_suffix(".yml").write_text("\n".join(doc) + "\n", encoding="utf-8")


@pytest.fixture(autouse=True)
def lineage_cache(tmp_path, monkeypatch):
    """Each test its own lineage cache: on disk under tmp_path, nothing remembered from another test."""
    directory = tmp_path / "lineage-cache"
    monkeypatch.setenv(sql_models.LINEAGE_CACHE_ENV, str(directory))
    monkeypatch.setattr(sql_models, "_LINEAGE_MEMO", {})
    return directory


@pytest.fixture
def small_project(tmp_path):
    root = tmp_path / "sql"
    write_model(
        root, "staging/src/stg_src__people.sql",
        "with source as (select * from raw.people), renamed as (\n"
        "  select trim(code) as buurt_code, cast(n as bigint) as inhabitants, income * 1000 as income_eur\n"
        "  from source)\nselect * from renamed",
        ["buurt_code", "inhabitants", "income_eur"],
    )
    write_model(
        root, "staging/src/stg_src__areas.sql",
        "select code as buurt_code, ha as area_ha from raw.areas",
        ["buurt_code", "area_ha"],
    )
    write_model(
        root, "marts/density.sql",
        "with people as (select * from staging.stg_src__people), areas as (select * from staging.stg_src__areas),\n"
        "final as (select people.buurt_code, inhabitants / areas.area_ha as inhabitants_per_ha, 'x' as label\n"
        "  from people join areas using (buurt_code))\nselect * from final",
        ["buurt_code", "inhabitants_per_ha", "label"],
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for schema in ("raw", "staging", "marts", "audit"):
        con.execute(f"create schema {schema}")
    ensure_audit_tables(con)
    con.execute(
        "create table raw.people as select * from (values (' BU1', 10.0, 30.5), ('BU2', 20.0, 40.0)) t(code, n, income)"
    )
    con.execute("create table raw.areas as select * from (values ('BU1', 2.0), ('BU2', 4.0)) t(code, ha)")
    yield root, con
    con.close()


def test_dependencies_come_from_the_sql(small_project):
    root, _ = small_project
    models = {m.table: m for m in discover_models(root)}
    assert set(models) == {"staging.stg_src__people", "staging.stg_src__areas", "marts.density"}
    assert models["staging.stg_src__people"].inputs == (("raw", "people"),)
    # CTE names (people, areas, final) are not dependencies; the qualified tables are.
    assert models["marts.density"].inputs == (("staging", "stg_src__areas"), ("staging", "stg_src__people"))


def test_unqualified_table_is_refused():
    with pytest.raises(ModelError, match="not schema-qualified"):
        model_inputs("select * from people", "x.sql")


def test_build_records_lineage_through_ctes_and_models(small_project):
    root, con = small_project
    models = {m.table: m for m in discover_models(root)}
    for table in ("staging.stg_src__people", "staging.stg_src__areas", "marts.density"):
        built = build_model(con, models[table])
    assert built.row_count == 2
    assert con.execute("select inhabitants_per_ha from marts.density order by buurt_code").fetchall() == [
        (5.0,), (5.0,)
    ]
    lineage = con.execute(
        "select model, column_name, source_table, source_column from audit.column_lineage order by all"
    ).fetchall()
    assert ("staging.stg_src__people", "income_eur", "raw.people", "income") in lineage
    assert ("staging.stg_src__people", "buurt_code", "raw.people", "code") in lineage
    assert ("marts.density", "inhabitants_per_ha", "staging.stg_src__people", "inhabitants") in lineage
    assert ("marts.density", "inhabitants_per_ha", "staging.stg_src__areas", "area_ha") in lineage
    # A literal has no source column.
    assert not [row for row in lineage if row[1] == "label"]
    expression = con.execute(
        "select expression from audit.column_lineage where column_name = 'income_eur'"
    ).fetchone()[0]
    assert "1000" in expression


def test_undocumented_column_fails_and_leaves_nothing_half_built(small_project, tmp_path):
    root, con = small_project
    write_model(root, "marts/extra.sql", "select 1 as a, 2 as b from raw.areas", ["a"])
    model = {m.table: m for m in discover_models(root)}["marts.extra"]
    with pytest.raises(ModelError, match=r"not documented: \['b'\]"):
        build_model(con, model)
    assert con.execute(
        "select count(*) from information_schema.tables where table_name = 'extra'"
    ).fetchone()[0] == 0


def test_missing_input_table_is_named(small_project):
    root, con = small_project
    write_model(root, "marts/orphan.sql", "select 1 as a from raw.nothing_here", ["a"])
    model = {m.table: m for m in discover_models(root)}["marts.orphan"]
    with pytest.raises(ModelError, match="raw.nothing_here does not exist"):
        build_model(con, model)


def test_project_models_are_documented_and_parse():
    models = discover_models(sql_models_dir())
    assert {"staging.stg_cbs__kwb", "staging.stg_pdok__buurten", "marts.factscan_buurt"} <= {
        m.table for m in models
    }
    for model in models:
        assert model.inputs, f"{model.path} reads no table"
        assert len({c.name for c in model.columns}) == len(model.columns), f"{model.path}: duplicate docs"
        assert all(c.unit for c in model.columns), f"{model.path}: every column needs a unit"


PEOPLE_SQL = ("with source as (select * from raw.people) select trim(code) as buurt_code, n * 2 as doubled, "
              "'x' as label from source")
PEOPLE_SCHEMA = {"raw": {"people": {"code": "VARCHAR", "n": "DOUBLE"}}}


def test_lineage_is_computed_once_and_then_read_from_the_cache(lineage_cache, monkeypatch):
    computed = sql_models.column_lineage("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA)
    assert {(r.column, r.source_table, r.source_column) for r in computed} == {
        ("buurt_code", "raw.people", "code"), ("doubled", "raw.people", "n")}
    assert len(list(lineage_cache.glob("*.json"))) == 1

    def must_not_run(*args):
        raise AssertionError("lineage recomputed although neither SQL nor schemas changed")

    monkeypatch.setattr(sql_models, "_compute_column_lineage", must_not_run)
    assert sql_models.column_lineage("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA) == computed  # this process
    monkeypatch.setattr(sql_models, "_LINEAGE_MEMO", {})
    assert sql_models.column_lineage("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA) == computed  # a new process: disk


def test_lineage_cache_key_follows_sql_and_input_schemas(lineage_cache):
    key = sql_models.lineage_cache_key("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA)
    assert key == sql_models.lineage_cache_key("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA)
    assert key != sql_models.lineage_cache_key("staging.p", PEOPLE_SQL + " where n > 1", PEOPLE_SCHEMA)
    assert key != sql_models.lineage_cache_key("staging.q", PEOPLE_SQL, PEOPLE_SCHEMA)
    wider = {"raw": {"people": {**PEOPLE_SCHEMA["raw"]["people"], "extra": "BIGINT"}}}
    assert key != sql_models.lineage_cache_key("staging.p", PEOPLE_SQL, wider)
    # `select *` over a wider input changes the lineage, so it must not come from the old entry
    star = "select * from raw.people"
    assert {r.column for r in sql_models.column_lineage("staging.s", star, PEOPLE_SCHEMA)} == {"code", "n"}
    assert {r.column for r in sql_models.column_lineage("staging.s", star, wider)} == {"code", "n", "extra"}


def test_a_damaged_cache_entry_is_recomputed(lineage_cache):
    expected = sql_models.column_lineage("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA)
    (entry,) = lineage_cache.glob("*.json")
    entry.write_text('[{"model": "half', encoding="utf-8")
    sql_models._LINEAGE_MEMO.clear()
    assert sql_models.column_lineage("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA) == expected


def test_lineage_cache_can_be_switched_off(monkeypatch, tmp_path):
    monkeypatch.setenv(sql_models.LINEAGE_CACHE_ENV, "")
    assert sql_models.lineage_cache_dir() is None
    sql_models.column_lineage("staging.p", PEOPLE_SQL, PEOPLE_SCHEMA)
    monkeypatch.delenv(sql_models.LINEAGE_CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sql_models.lineage_cache_dir() == tmp_path / "xdg" / "wup-pipeline" / "sql-lineage"
