"""The Definitions load, and the asset graph is wired from the SQL."""

import dagster as dg

from wup_pipeline.definitions import build_definitions
from wup_pipeline.resources.settings import ProjectPaths


def test_definitions_load_with_the_whole_graph(tmp_path):
    paths = ProjectPaths(root=tmp_path, published_warehouse=tmp_path / "wup.duckdb")
    defs = build_definitions(paths, mirror_dir=str(tmp_path / "mirror"))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "raw/cbs_kwb", "raw/pdok_buurten", "staging/stg_cbs__kwb", "staging/stg_pdok__buurten",
        "marts/factscan_buurt", "outputs/factscan_html", "outputs/published_warehouse",
    } <= keys
    mart = graph.get(dg.AssetKey(["marts", "factscan_buurt"]))
    assert mart.parent_keys == {
        dg.AssetKey(["staging", "stg_cbs__kwb"]), dg.AssetKey(["staging", "stg_pdok__buurten"])
    }
    assert graph.get(dg.AssetKey(["staging", "stg_cbs__kwb"])).parent_keys == {dg.AssetKey(["raw", "cbs_kwb"])}
    # Publishing waits for the mart and the report.
    assert dg.AssetKey(["marts", "factscan_buurt"]) in graph.get(
        dg.AssetKey(["outputs", "published_warehouse"])
    ).parent_keys
    assert defs.resolve_job_def("wup_all") is not None


def test_workspace_module_exposes_lazy_definitions():
    import wup_pipeline.definitions as module

    # Loading the module builds nothing; Dagster calls the decorated function when it loads code.
    assert callable(module.defs)
