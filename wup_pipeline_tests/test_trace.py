"""`wup trace`: every figure of the demo traces to SQL, source snapshots and parameter sources; the marts are
reproducible (two runs, identical content hashes); changing one parameter changes exactly the figures whose trace
names it."""

from __future__ import annotations

import argparse
import functools
import shutil

import duckdb
import pytest

from wup_pipeline.assets import outputs
from wup_pipeline.cli_trace import add_trace_parser
from wup_pipeline.demo.generator import DEMO_GEMEENTE
from wup_pipeline.lineage import trace
from wup_pipeline.lineage.sql_models import build_model, discover_models
from wup_pipeline.reports import priorities, privacy
from wup_pipeline.resources.settings import sql_models_dir
from wup_pipeline.resources.warehouse import load_spatial
from wup_pipeline_tests.test_reports_demo import BINNENSTAD, demo_outputs, second_demo_run

GAS_FIGURE = f"energie/{BINNENSTAD}/modelled_gas_m3_avg"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, request):
    return demo_outputs(tmp_path_factory, request)


def run_cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="wup")
    add_trace_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.func(args)


@pytest.fixture
def published(demo, monkeypatch):
    monkeypatch.setenv("WUP_HOME", str(demo.paths.root))
    monkeypatch.setenv("WUP_WAREHOUSE", str(demo.paths.published_warehouse))
    return demo.paths.published_warehouse


def test_trace_reaches_sql_raw_columns_snapshots_parameters_and_checks(demo):
    with demo.connect() as con:
        result = trace.trace(con, GAS_FIGURE)
        mart_value = con.execute("select modelled_gas_m3_avg from marts.energy_use_buurt where buurt_code = ?",
                                 [BINNENSTAD]).fetchone()[0]
    assert result.figure["value_number"] == pytest.approx(mart_value)
    tables = {s.table for s in result.steps}
    assert {"marts.energy_use_buurt", "intermediate.int_dwellings", "intermediate.int_dwelling_inputs"} <= tables
    assert any(s.table.startswith("staging.") for s in result.steps)
    assert ("raw.bag_verblijfsobjecten", "oppervlakte_m2") in {(s.source_table, s.source_column) for s in result.steps}
    assert any("['gas_lower_heating_value']" in s.expression for s in result.steps)
    bag = [s for s in result.snapshots if s["raw_table"] == "raw.bag_verblijfsobjecten"]
    assert bag and all(len(s["sha256"]) == 64 and s["url"].startswith("https://api.pdok.nl") and s["retrieved_at"]
                       for s in bag)
    conversion = next(p for p in result.parameters if p.table == "raw.param_energy_conversion")
    assert set(conversion.names_used) == {"boiler_efficiency_hot_water", "boiler_efficiency_space_heating",
                                          "distribution_loss_hot_water", "distribution_loss_space_heating",
                                          "gas_lower_heating_value"}
    assert {r["name"] for r in conversion.rows} == set(conversion.names_used)  # not the plan-window rows
    assert all("Vesta 3.0" in r["source"] for r in conversion.rows) and len(conversion.file_sha256) == 64
    assert any(p.table == "raw.param_heat_demand_dwellings" for p in result.parameters)
    assert any(c["table_name"] == "raw.bag_verblijfsobjecten" and c["checks"] > 0 for c in result.checks)
    assert result.model_versions["marts.energy_use_buurt"] == result.figure["sql_hash"]
    assert result.table_hashes and result.figure["run_id"] == demo.run_id


def test_wup_trace_prints_the_chain(published, capsys):
    run_cli(["trace", GAS_FIGURE])
    out = capsys.readouterr().out
    for expected in (f"figure      {GAS_FIGURE}",
                     "marts.energy_use_buurt.modelled_gas_m3_avg <- intermediate.int_dwellings",
                     "source snapshots", "raw.bag_verblijfsobjecten", "sha256", "parameters",
                     "raw.param_energy_conversion", "gas_lower_heating_value", "source: PBL, Functioneel ontwerp Vesta",
                     "checks on these tables", "run ", "code        git"):
        assert expected in out, expected


def test_wup_trace_on_a_count_without_column_lineage_falls_back_to_tables(published, capsys):
    """count(*) has no source column; the trace still reaches the snapshots through the tables."""
    run_cli(["trace", f"woningvoorraad/{BINNENSTAD}/dwellings"])
    out = capsys.readouterr().out
    assert "table-level" in out and "raw.bag_verblijfsobjecten" in out


def test_every_kind_of_figure_traces(demo):
    with demo.connect() as con:
        sample = [r[0] for r in con.execute("""
            select figure_id from (
                select figure_id, row_number() over (partition by section order by hash(figure_id)) as n
                from audit.figures where not suppressed)
            where n <= 4 order by figure_id""").fetchall()]
        traced = {fid: trace.trace(con, fid) for fid in sample}
    assert {fid.split("/")[0] for fid in sample} >= {"factscan", "woningvoorraad", "overzicht", "kaart"}
    for fid, result in traced.items():
        assert result.steps, fid
        assert result.snapshots or result.parameters, fid
        assert trace.format_trace(result).startswith(f"figure      {fid}")


def test_wup_trace_lists_and_refuses_unknown_ids(published, capsys):
    run_cli(["trace", "--list", f"factscan/{BINNENSTAD}"])
    assert f"factscan/{BINNENSTAD}/dwellings" in capsys.readouterr().out
    with pytest.raises(Exception) as error:
        run_cli(["trace", f"factscan/{BINNENSTAD}/dwelings"])
    assert type(error.value).__name__ == "CliError"
    assert "no figure" in str(error.value) and f"factscan/{BINNENSTAD}/dwellings" in str(error.value)
    with pytest.raises(Exception, match="not a figure id"):
        run_cli(["trace", "nonsense"])


def test_wup_trace_needs_a_published_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("WUP_HOME", str(tmp_path))
    monkeypatch.setenv("WUP_WAREHOUSE", str(tmp_path / "missing.duckdb"))
    with pytest.raises(Exception, match="no published warehouse"):
        run_cli(["trace", GAS_FIGURE])


def downstream_models(table: str) -> list:
    """SQL models that read ``table``, directly or through other models, in build order."""
    models = discover_models(sql_models_dir())
    affected, ordered = {table}, []
    changed = True
    while changed:
        changed = False
        for model in models:
            if model not in ordered and any(f"{db}.{name}" in affected for db, name in model.inputs):
                ordered.append(model)
                affected.add(model.table)
                changed = True
    return ordered


def test_changing_one_parameter_changes_exactly_the_figures_that_depend_on_it(demo, tmp_path):
    """On a copy of the demo warehouse: raise the gas heating value, rebuild the models that read the parameter
    table, rebuild audit.figures. Every figure that changed names that parameter in its trace; the plan-window
    figures, which read the same table but other rows, do not change."""
    copy = tmp_path / "wup.duckdb"
    shutil.copyfile(demo.paths.published_warehouse, copy)
    policy = privacy.PrivacyPolicy()
    criteria = priorities.criteria_with_weights(None)
    docs = trace.column_docs(sql_models_dir())
    with duckdb.connect(str(copy)) as con:
        load_spatial(con)
        before = dict(con.execute("select figure_id, value_text from audit.figures").fetchall())
        con.execute("update raw.param_energy_conversion set value = value * 1.1 where name = 'gas_lower_heating_value'")
        models = downstream_models("raw.param_energy_conversion")
        assert {"marts.energy_use_buurt", "marts.infrastructure_buurt"} <= {m.table for m in models}
        for model in models:
            build_model(con, model)
        trace.build_figures(con, gemeente_code=DEMO_GEMEENTE, policy=policy, run_id="changed", version="test",
                            docs=docs, outputs_for=outputs.outputs_for,
                            derive=lambda c: outputs.derived_figures(c, policy, criteria))
        after = dict(con.execute("select figure_id, value_text from audit.figures").fetchall())
        graph = trace.LineageGraph.load(con)
        columns = con.execute("select figure_id, lineage_columns from audit.figures").fetchall()
        traced_value = trace.trace(con, GAS_FIGURE).parameters
    assert set(before) == set(after)
    changed = {fid for fid in after if after[fid] != before[fid]}

    @functools.cache
    def column_depends(qualified: str, column_level: bool) -> bool:
        table, column = qualified.rsplit(".", 1)
        steps = [s for s in graph.steps(table, column) if s.source_column != "*" or not column_level]
        names = trace.parameter_dependencies(steps).get("raw.param_energy_conversion")
        return names is not None and (not names or "gas_lower_heating_value" in names)

    def depends(lineage_columns: list[str], column_level: bool) -> bool:
        return any(column_depends(qualified, column_level) for qualified in lineage_columns)

    # the trace names the parameter row (column-level lineage), or the parameter table with unknown rows
    # (table-level lineage of count(*) columns): a superset
    named = {fid for fid, lineage in columns if depends(lineage, column_level=True)}
    reached = {fid for fid, lineage in columns if depends(lineage, column_level=False)}
    assert changed and changed <= named <= reached
    assert GAS_FIGURE in changed and f"energie/{BINNENSTAD}/gas_lower_heating_value_mj_per_m3" in changed
    assert not any(fid.startswith("koppelkansen/") for fid in named)  # same table, other rows
    assert f"energie/{BINNENSTAD}/boiler_efficiency_space_heating" not in named
    # named but unchanged: the count of modelled dwellings, and blanks (suppressed or no data)
    unchanged = {fid for fid in named - changed if after[fid] is not None}
    assert all(fid.endswith("/n_dwellings_modelled") for fid in unchanged), sorted(unchanged)[:5]
    conversion = next(p for p in traced_value if p.table == "raw.param_energy_conversion")
    value = next(r["value"] for r in conversion.rows if r["name"] == "gas_lower_heating_value")
    assert value == pytest.approx(31.65 * 1.1)  # the trace shows the parameter row as used


def test_two_runs_give_identical_table_hashes(demo, tmp_path_factory):
    second = second_demo_run(tmp_path_factory)
    hashes, figures, runs = [], [], []
    for paths in (demo.paths, second):
        with duckdb.connect(str(paths.published_warehouse), read_only=True) as con:
            run = con.execute("select distinct run_id from audit.figures").fetchone()[0]
            runs.append(run)
            hashes.append(dict(con.execute("select table_name, content_hash from audit.table_hashes "
                                           "where run_id = ?", [run]).fetchall()))
            figures.append(dict(con.execute("select figure_id, value_text from audit.figures").fetchall()))
    assert runs[0] != runs[1]
    assert len(hashes[0]) >= 8 and all(table.startswith("marts.") for table in hashes[0])
    assert hashes[0] == hashes[1]
    assert figures[0] == figures[1]  # and so every published figure
